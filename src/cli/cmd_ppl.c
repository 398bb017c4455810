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
    ll_engine *e = NULL;
    size_t n;
    bool bos = cli_bos(&c, m);
    if (cli_text_ids(&c, m, file, max_tokens, bos, &ids, &n)) goto done;
    if (ctx == 0) ctx = m->n_ctx_train;
    if (ctx > m->n_ctx_train) { cli_error("ppl: --ctx %lld is beyond the model's context of %d", ctx, m->n_ctx_train); goto done; }
    if (n < 2) { cli_error("ppl: %s has fewer than 2 tokens", file); goto done; }
    int W = (int)(ctx < (long long)n ? ctx : (long long)n);
    if (!(e = cli_engine(&c, m, W))) goto done;
    size_t n_windows = (n + (size_t)W - 1) / (size_t)W;
    cli_progress pg;
    cli_progress_start(&pg, "ppl windows", (long)n_windows, e);
    ll_ppl_opts po;
    ll_ppl_default_opts(&po);
    po.ctx = W;
    po.progress = cli_progress_cb;
    po.progress_ctx = &pg;
    ll_ppl_result pr;
    int prc = ll_ppl_run(e, m->n_vocab, ids, n, &po, &pr);
    cli_progress_stop(&pg);
    if (prc) {
        ll_fail_prefix("ppl: ");
        cli_lib_error();
        goto done;
    }
    if (cli_print_ppl(NULL, c.json, pr.scored, pr.mean_nll, W, pr.windows, file, NULL, m, bos, (long long)n)) goto done;
    rc = 0;
done:
    ll_engine_free(e);
    free(ids);
    ll_model_free(m);
    return rc;
}
