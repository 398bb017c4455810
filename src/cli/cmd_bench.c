/* cmd_bench.c — `layerlab bench`: prompt-processing and generation throughput, as llama-bench measures
 * them: pp = one batched forward over N prompt tokens; tg = M single-token forwards after it. Token ids
 * are fixed and deterministic (no tokenizer in the timing); the best of --reps runs is reported. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "model/model.h"
#include "run/engine.h"

static const char *USAGE =
    "usage: layerlab bench MODEL [-p N] [-n M] [--reps R] [--threads T] [--plan SPEC] [--exact|--llamacpp] [--json]\n"
    "Measures prompt processing (one batched forward over N tokens, default 256) and generation (M\n"
    "single-token forwards after the prompt, default 128) in tokens/s; best of R runs (default 3).\n";


int cmd_bench(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    long long np = 256, ng = 128, reps = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "-p")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 1 << 20, &np)) return 1; continue; }
        if (!strcmp(a, "-n")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 0, 1 << 20, &ng)) return 1; continue; }
        if (!strcmp(a, "--reps")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 100, &reps)) return 1; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("bench: unknown option '%s'\n%s", a, USAGE);
    }
    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int rc = 1;
    ll_engine *e = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    if (np + ng > m->n_ctx_train) { cli_error("bench: -p + -n = %lld exceeds the model's context %d", np + ng, m->n_ctx_train); goto done; }
    if (!(e = cli_engine(&c, m, (int)(np + ng)))) goto done;
    ids = malloc((size_t)(np + ng) * sizeof *ids);
    logits = malloc((size_t)m->n_vocab * sizeof *logits);
    if (!ids || !logits) { cli_error("out of memory"); goto done; }
    uint32_t s = 12345;
    for (long long i = 0; i < np + ng; i++) {
        s = s * 1664525u + 1013904223u;
        ids[i] = (int32_t)((s >> 8) % (uint32_t)m->n_vocab);
    }
    double best_pp = 1e30, best_tg = 1e30;
    for (long long r = 0; r < reps; r++) {
        double t0 = cli_now();
        if (ll_engine_forward(e, ids, (int)np, 0, logits, LL_LOGITS_LAST)) { cli_lib_error(); goto done; }
        double t1 = cli_now();
        for (long long g = 0; g < ng; g++)
            if (ll_engine_forward(e, ids + np + g, 1, (int)(np + g), logits, LL_LOGITS_LAST)) { cli_lib_error(); goto done; }
        double t2 = cli_now();
        if (t1 - t0 < best_pp) best_pp = t1 - t0;
        if (t2 - t1 < best_tg) best_tg = t2 - t1;
        fprintf(stderr, "layerlab: bench run %lld/%lld: pp %.1f tok/s, tg %.1f tok/s\n", r + 1, reps,
                (double)np / (t1 - t0), ng ? (double)ng / (t2 - t1) : 0.0);
    }
    double pp = (double)np / best_pp, tg = ng ? (double)ng / best_tg : 0;
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "pp_tokens", (double)np);
        cJSON_AddNumberToObject(o, "tg_tokens", (double)ng);
        cJSON_AddNumberToObject(o, "pp_tok_s", pp);
        cJSON_AddNumberToObject(o, "tg_tok_s", tg);
        cJSON_AddNumberToObject(o, "threads", c.threads);
        cJSON_AddStringToObject(o, "mode", c.exact ? "exact" : "llamacpp");
        cli_provenance(o, m, false, np + ng, np + ng);
        if (cli_print_json(o)) goto done;
    } else {
        printf("pp%lld %.1f tok/s\ntg%lld %.1f tok/s\n", np, pp, ng, tg);
    }
    rc = 0;
done:
    ll_engine_free(e);
    free(ids);
    free(logits);
    ll_model_free(m);
    return rc;
}
