/* cmd_ppl.c — `layerlab ppl`: perplexity over consecutive windows.
 * tokens = [BOS] + encode(file), cut to --max-tokens, split into consecutive windows of --ctx tokens;
 * within a window each token after the first is predicted from the tokens before it in that window. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "eval/eval.h"
#include "model/model.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab ppl MODEL FILE [--ctx N] [--max-tokens N] [--json] [--bos|--no-bos] [--plan SPEC] [--exact|--llamacpp]\n"
    "                    [--threads N] [--tokenizer TOK.bin]\n"
    "tokens = BOS (by the model's rule) + encode(FILE), cut to --max-tokens, split into consecutive windows\n"
    "of --ctx tokens (default: the model's context); each token is predicted from the tokens before it in\n"
    "its window. Prints tokens_scored, mean_nll and ppl.\n";

int cmd_ppl(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    const char *file = NULL;
    long long ctx = 0, max_tokens = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "--ctx")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 2, 1 << 24, &ctx)) return 1; continue; }
        if (!strcmp(a, "--max-tokens")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 2, INT32_MAX, &max_tokens)) return 1;
            continue;
        }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) {
            if (a[0] != '-' && !file) { file = a; continue; }
            return cli_error("ppl: unknown option '%s'\n%s", a, USAGE);
        }
    }
    if (!file) return cli_error("ppl: FILE is required\n%s", USAGE);
    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int rc = 1;
    int32_t *ids = NULL;
    float *logits = NULL;
    ll_engine *e = NULL;
    size_t n;
    bool bos = cli_bos(&c, m);
    if (cli_text_ids(&c, m, file, max_tokens, bos, &ids, &n)) goto done;
    if (ctx == 0) ctx = m->n_ctx_train;
    if (ctx > m->n_ctx_train) { cli_error("ppl: --ctx %lld is beyond the model's context of %d", ctx, m->n_ctx_train); goto done; }
    if (n < 2) { cli_error("ppl: %s has fewer than 2 tokens", file); goto done; }
    int W = (int)(ctx < (long long)n ? ctx : (long long)n);
    if (!(e = cli_engine(&c, m, W))) goto done;
    logits = malloc((size_t)W * (size_t)m->n_vocab * sizeof *logits);
    if (!logits) { cli_error("out of memory for %d x %d logits", W, m->n_vocab); goto done; }
    double total = 0;
    long long scored = 0;
    size_t n_windows = (n + (size_t)W - 1) / (size_t)W;
    cli_progress pg;
    cli_progress_start(&pg, "ppl windows", (long)n_windows, e);
    for (size_t w = 0; w < n_windows; w++) {
        size_t start = w * (size_t)W, len_w = n - start < (size_t)W ? n - start : (size_t)W;
        if (len_w < 2) break;
        if (ll_engine_forward(e, ids + start, (int)len_w, 0, logits, LL_LOGITS_ALL)) {
            ll_fail_prefix("ppl: window %zu of %zu (tokens %zu..%zu): ", w + 1, n_windows, start, start + len_w - 1);
            cli_lib_error();
            goto done;
        }
        for (size_t t = 0; t + 1 < len_w; t++) total += ll_nll_row(logits + t * (size_t)m->n_vocab, m->n_vocab, ids[start + t + 1], NULL);
        scored += (long long)len_w - 1;
        char ex[64];
        snprintf(ex, sizeof ex, "ppl so far %.4f", exp(total / (double)scored));
        cli_progress_update(&pg, (long)(w + 1), ex);
    }
    cli_progress_stop(&pg);
    double mean = total / (double)scored;
    if (cli_print_ppl(NULL, c.json, scored, mean, W, (long long)n_windows, file, NULL, m, bos, (long long)n)) goto done;
    rc = 0;
done:
    ll_engine_free(e);
    free(logits);
    free(ids);
    ll_model_free(m);
    return rc;
}
