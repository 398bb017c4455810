/* cmd_tokenize.c — `layerlab tokenize` and `layerlab detokenize`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

static const char *USAGE_TOK =
    "usage: layerlab tokenize MODEL (--text STR | --file F) [--bos|--no-bos] [--no-special] [--tokenizer TOK.bin]\n"
    "Prints the token ids, space-separated, on one line. Special tokens written in the text are recognised\n"
    "unless --no-special. Works on vocabulary-only GGUF files.\n";
static const char *USAGE_DETOK =
    "usage: layerlab detokenize MODEL --ids \"1 2 3\" [--tokenizer TOK.bin]\n";

int cmd_tokenize(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    const char *text = NULL, *file = NULL;
    bool special = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return fputs(USAGE_TOK, stdout), 0;
        if (!strcmp(argv[i], "--text")) { if (!(text = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(argv[i], "--file")) { if (!(file = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(argv[i], "--no-special")) { special = false; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("tokenize: unknown option '%s'\n%s", argv[i], USAGE_TOK);
    }
    if (!text == !file) return cli_error("tokenize: give exactly one of --text or --file");
    ll_model *m = cli_open_model(&c, true);
    if (!m) return 1;
    if (!m->tok) { ll_model_free(m); return cli_error("%s: a llama2.c checkpoint needs --tokenizer TOK.bin", c.model); }
    size_t len;
    char *buf = NULL;
    if (file) {
        if (!(buf = cli_read_file(file, &len))) { ll_model_free(m); return 1; }
        text = buf;
    } else {
        len = strlen(text);
    }
    int32_t *ids;
    size_t n;
    int rc = 0;
    if (ll_tokenize(m->tok, text, len, cli_bos(&c, m), special, &ids, &n)) {
        rc = cli_lib_error();
    } else {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
        free(ids);
    }
    free(buf);
    ll_model_free(m);
    return rc;
}

int cmd_detokenize(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    const char *ids_s = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return fputs(USAGE_DETOK, stdout), 0;
        if (!strcmp(argv[i], "--ids")) { if (!(ids_s = cli_value(argc, argv, &i))) return 1; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("detokenize: unknown option '%s'\n%s", argv[i], USAGE_DETOK);
    }
    if (!ids_s) return cli_error("detokenize: --ids is required\n%s", USAGE_DETOK);
    int32_t *ids;
    size_t n;
    if (cli_parse_ids(ids_s, &ids, &n)) return 1;
    ll_model *m = cli_open_model(&c, true);
    if (!m) { free(ids); return 1; }
    int rc = 0;
    if (!m->tok) {
        rc = cli_error("%s: a llama2.c checkpoint needs --tokenizer TOK.bin", c.model);
    } else {
        size_t len;
        char *s = ll_detokenize(m->tok, ids, n, false, &len);
        if (!s) rc = cli_lib_error();
        else {
            fwrite(s, 1, len, stdout);
            fputc('\n', stdout);
            free(s);
        }
    }
    free(ids);
    ll_model_free(m);
    return rc;
}
