/* cmd_logits.c — `layerlab logits`: float32 logits [T, n_vocab] for every position, as .npy. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/npy.h"
#include "model/model.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"

static const char *USAGE =
    "usage: layerlab logits MODEL (--text STR | --file F | --ids \"1 2 3\") --out FILE.npy\n"
    "                       [--bos|--no-bos] [--plan SPEC] [--exact|--llamacpp] [--threads N] [--tokenizer TOK.bin]\n"
    "                       [--incremental] [--parallel-kv mean]\n"
    "Writes float32 logits [T, n_vocab] for every position. --ids takes token ids as they are (no BOS is\n"
    "added); --text/--file are tokenized with the BOS rule (--bos/--no-bos override it). --incremental\n"
    "feeds the tokens one at a time through the KV cache (as generation does) instead of as one batch.\n";

int cmd_logits(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    const char *text = NULL, *file = NULL, *ids_s = NULL, *out = NULL;
    bool incremental = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "--text")) { if (!(text = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--file")) { if (!(file = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--ids")) { if (!(ids_s = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--out") || !strcmp(a, "-o")) { if (!(out = cli_out_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--incremental")) { incremental = true; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("logits: unknown option '%s'\n%s", a, USAGE);
    }
    if ((text != NULL) + (file != NULL) + (ids_s != NULL) != 1) return cli_error("logits: give exactly one of --text, --file, --ids");
    if (!out) return cli_error("logits: --out FILE.npy is required");
    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int rc = 1;
    int32_t *ids = NULL;
    size_t n = 0;
    char *buf = NULL;
    float *logits = NULL;
    ll_engine *e = NULL;
    if (ids_s) {
        if (cli_parse_ids(ids_s, &ids, &n)) goto done;
    } else {
        if (!m->tok) { cli_error("%s: a llama2.c checkpoint needs --tokenizer TOK.bin", c.model); goto done; }
        size_t len;
        if (file) {
            if (!(buf = cli_read_file(file, &len))) goto done;
            text = buf;
        } else {
            len = strlen(text);
        }
        if (ll_tokenize(m->tok, text, len, cli_bos(&c, m), true, &ids, &n)) { cli_lib_error(); goto done; }
    }
    if (n == 0) { cli_error("logits: no tokens"); goto done; }
    if ((long long)n > m->n_ctx_train) { cli_error("logits: %zu tokens exceed the model's context of %d", n, m->n_ctx_train); goto done; }
    if (!(e = cli_engine(&c, m, (int)n))) goto done;
    logits = malloc(n * (size_t)m->n_vocab * sizeof *logits);
    if (!logits) { cli_error("out of memory for %zu x %d logits", n, m->n_vocab); goto done; }
    if (!incremental) {
        if (ll_engine_forward(e, ids, (int)n, 0, logits, LL_LOGITS_ALL)) { cli_lib_error(); goto done; }
    } else {
        for (size_t t = 0; t < n; t++)
            if (ll_engine_forward(e, ids + t, 1, (int)t, logits + t * (size_t)m->n_vocab, LL_LOGITS_LAST)) {
                cli_lib_error();
                goto done;
            }
    }
    int64_t shape[2] = {(int64_t)n, m->n_vocab};
    if (ll_npy_write(out, "<f4", shape, 2, logits)) { cli_lib_error(); goto done; }
    fprintf(stderr, "layerlab: wrote logits [%zu, %d] to %s\n", n, m->n_vocab, out);
    rc = 0;
done:
    ll_engine_free(e);
    free(logits);
    free(ids);
    free(buf);
    ll_model_free(m);
    return rc;
}
