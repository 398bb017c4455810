/* cmd_study.c — `layerlab study painters MODEL --out DIR`, `study status DIR`, `study export DIR`, `study report
 * DIR`: options in, the library's study (src/study/) called, a summary out. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval/eval.h"
#include "model/model.h"
#include "study/geometry.h"
#include "study/painters.h"
#include "study/shard.h"
#include "study/store.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab study painters MODEL --out DIR [options]   run (or continue) the Painters study\n"
    "       layerlab study geometry MODEL --out DIR [options]   the geometric paper's study (its own --help)\n"
    "       layerlab study status DIR                           done / total per task and plan group, elapsed\n"
    "       layerlab study export DIR                           DIR/scores.csv, scores.json, items.csv\n"
    "       layerlab study report DIR                           DIR/report.html and DIR/figures/*.svg\n"
    "painters options (docs/STUDIES.md):\n"
    "  --tasks LIST        default arc_challenge,hellaswag,winogrande,lambada_openai,gsm8k\n"
    "  --limit N           the first N items of each task (default all)\n"
    "  --sample N --seed S a seeded random subset of N items instead (CPython random.sample)\n"
    "  --variants LIST     skip,middle_repeat,reverse,random,parallel,looped_parallel (default all)\n"
    "  --starts LIST|a..b[:step]  the starts s (default L/2-1 down to 0); M = L - 2s - 1 layers are affected\n"
    "  --seeds N           random order seeds 0..N-1 (default 10)\n"
    "  --loops K           looped_parallel loops (default 3); --loops-grid K: the M x k grid, k = 1..K (default K+2)\n"
    "  --analyses LIST     cosine,single,loops or none (default all): cosine matrices (lambada, padded batches\n"
    "                      of 8, flattened and per token, with and without position 0) of full, skip and\n"
    "                      middle_repeat at s = L/2-3; single-layer skip and adjacent switch on lambada_openai;\n"
    "                      the looped-parallel grid\n"
    "  --cosine-samples N  lambada items for the cosine matrices (default 100); --single-limit N lambada items\n"
    "                      for single skip / switch (default --limit)\n"
    "  --ppl FILE          also each grid plan's perplexity on FILE (--ppl-ctx 1024, --ppl-tokens 8192)\n"
    "  --max-gen-toks N    gsm8k (default 256)\n"
    "  --quick             a small profile that finishes in minutes (README: what it leaves out)\n"
    "  --no-reuse          compute every plan from its first layer (by default the layers a plan shares with\n"
    "                      the full model are computed once per item; the results are bit for bit the same)\n"
    "  --quiet             no progress\n"
    "  --threads N, --exact|--llamacpp, --tokenizer TOK.bin, --bos\n"
    "Every finished item is committed to DIR/results.sqlite; the same command run again continues where it\n"
    "stopped. A DIR made with another model or other parameters is refused.\n"
    "MPI: `mpirun -n N layerlab study painters|geometry ...` shares the units of work among N ranks (--threads\n"
    "per rank; built with OpenMPI when present); the store and exports equal one process's (docs/SCALING.md).\n";

static int split_list(const char *s, char out[][40], int max, const char *opt) {
    int n = 0;
    const char *p = s;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (!l || l >= 40) return cli_error("%s: bad list '%s'", opt, s), -1;
        if (n == max) return cli_error("%s: at most %d entries", opt, max), -1;
        memcpy(out[n], p, l);
        out[n][l] = 0;
        n++;
        p += l + (c ? 1 : 0);
        if (c && !*p) return cli_error("%s: bad list '%s'", opt, s), -1;
    }
    return n;
}

/* "13,11,9" or "14..0" or "14..0:2" */
static int parse_starts(const char *v, ll_painters_opts *o) {
    const char *dots = strstr(v, "..");
    if (dots) {
        char a[32], b[32];
        const char *colon = strchr(dots + 2, ':');
        size_t la = (size_t)(dots - v), lb = colon ? (size_t)(colon - dots - 2) : strlen(dots + 2);
        if (la >= sizeof a || lb >= sizeof b) return cli_error("--starts: bad range '%s'", v), -1;
        memcpy(a, v, la), a[la] = 0;
        memcpy(b, dots + 2, lb), b[lb] = 0;
        long long x, y, st = 1;
        if (cli_parse_int("--starts", a, 0, 4096, &x) || cli_parse_int("--starts", b, 0, 4096, &y)) return -1;
        if (colon && cli_parse_int("--starts", colon + 1, 1, 4096, &st)) return -1;
        o->n_starts = 0;
        for (long long s = x; x >= y ? s >= y : s <= y; s += x >= y ? -st : st) {
            if (o->n_starts == LL_PAINTERS_MAX_STARTS) return cli_error("--starts: too many"), -1;
            o->starts[o->n_starts++] = (int)s;
        }
        return 0;
    }
    char items[LL_PAINTERS_MAX_STARTS][40];
    int n = split_list(v, items, LL_PAINTERS_MAX_STARTS, "--starts");
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
        long long x;
        if (cli_parse_int("--starts", items[i], 0, 4096, &x)) return -1;
        o->starts[i] = (int)x;
    }
    o->n_starts = n;
    return 0;
}

static int painters(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    ll_painters_opts o;
    ll_painters_default_opts(&o);
    const char *out = NULL, *tasks = ll_painters_default_tasks(false);
    bool quiet = false, quick = false, have_limit = false, analyses_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long long x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
#define VAL() if (!(v = cli_value(argc, argv, &i))) return 1
#define INT(lo, hi) if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, lo, hi, &x)) return 1
        if (!strcmp(a, "--out") || !strcmp(a, "-o")) { VAL(); out = v; continue; }
        if (!strcmp(a, "--tasks")) { VAL(); tasks = v; continue; }
        if (!strcmp(a, "--limit")) { INT(1, 1 << 30); o.limit = (long)x; have_limit = true; continue; }
        if (!strcmp(a, "--sample")) { INT(1, 1 << 30); o.sample = (long)x; continue; }
        if (!strcmp(a, "--seed")) { INT(0, 1LL << 40); o.sample_seed = (uint64_t)x; continue; }
        if (!strcmp(a, "--seeds")) { INT(1, 1000); o.seeds = (int)x; continue; }
        if (!strcmp(a, "--loops")) { INT(1, 1000); o.loops = (int)x; continue; }
        if (!strcmp(a, "--loops-grid")) { INT(1, 1000); o.loops_grid = (int)x; continue; }
        if (!strcmp(a, "--cosine-samples")) { INT(1, 1 << 20); o.cosine_samples = (long)x; continue; }
        if (!strcmp(a, "--single-limit")) { INT(1, 1 << 20); o.single_limit = (int)x; continue; }
        if (!strcmp(a, "--ppl")) { VAL(); o.ppl_file = v; continue; }
        if (!strcmp(a, "--ppl-ctx")) { INT(2, 1 << 20); o.ppl_ctx = (int)x; continue; }
        if (!strcmp(a, "--ppl-tokens")) { INT(2, 1LL << 40); o.ppl_tokens = (long)x; continue; }
        if (!strcmp(a, "--max-gen-toks")) { INT(1, 1 << 20); o.max_gen = (int)x; continue; }
        if (!strcmp(a, "--starts")) { VAL(); if (parse_starts(v, &o)) return 1; continue; }
        if (!strcmp(a, "--quiet")) { quiet = true; continue; }
        if (!strcmp(a, "--no-reuse")) { o.reuse = false; continue; }
        if (!strcmp(a, "--quick")) { quick = true; continue; }
        if (!strcmp(a, "--variants") || !strcmp(a, "--analyses")) {
            VAL();
            char items[16][40];
            int n = split_list(v, items, 16, a);
            if (n < 0) return 1;
            int bits = 0;
            for (int k = 0; k < n; k++) {
                int b = -1;
                if (!strcmp(a, "--variants")) {
                    for (int q = 0; q < LL_PV_COUNT; q++)
                        if (!strcmp(items[k], ll_painters_variant_names[q])) b = 1 << q;
                } else {
                    b = !strcmp(items[k], "cosine") ? LL_PAINTERS_A_COSINE : !strcmp(items[k], "single") ? LL_PAINTERS_A_SINGLE
                        : !strcmp(items[k], "loops") ? LL_PAINTERS_A_LOOPS : !strcmp(items[k], "none") ? 0 : -1;
                }
                if (b < 0)
                    return cli_error("%s: unknown '%s' (%s)", a, items[k], !strcmp(a, "--variants")
                                     ? "skip, middle_repeat, reverse, random, parallel, looped_parallel" : "cosine, single, loops, none");
                bits |= b;
            }
            if (!strcmp(a, "--variants")) o.variants = bits;
            else o.analyses = bits, analyses_set = true;
            continue;
        }
#undef VAL
#undef INT
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("study painters: unknown option '%s'\n%s", a, USAGE);
    }
    if (!out) return cli_error("study painters: --out DIR is required\n%s", USAGE);
    if (quick) {   /* the README's main command: minutes, not hours (what it leaves out: README) */
        if (!strcmp(tasks, ll_painters_default_tasks(false))) tasks = ll_painters_default_tasks(true);
        ll_painters_apply_quick(&o, 0, have_limit, analyses_set);   /* the starts once the model is open */
    }
    char names[LL_PAINTERS_MAX_TASKS][40];
    int nt = split_list(tasks, names, LL_PAINTERS_MAX_TASKS, "--tasks");
    if (nt <= 0) return nt < 0 ? 1 : cli_error("--tasks: no task given");
    char *paths[LL_PAINTERS_MAX_TASKS] = {0}, *fews[LL_PAINTERS_MAX_TASKS] = {0}, *lam = NULL, *lam_few = NULL;
    int rc = 1;
    ll_model *m = NULL;
    ll_shard *sh = NULL;   /* under mpirun: this rank of the job (study/shard.h) */
    if (ll_shard_init(&sh)) { cli_lib_error(); goto done; }
    const int rank = ll_shard_rank(sh);
    if (rank > 0) quiet = true;   /* rank 0 shows the progress */
    o.shard = sh;
    for (int t = 0; t < nt; t++) {
        if (cli_task_files("study", names[t], NULL, NULL, &paths[t], &fews[t])) goto done;
        o.tasks[t] = names[t];
        o.data[t] = paths[t];
        o.fewshot[t] = fews[t];
    }
    o.n_tasks = nt;
    if ((o.analyses & (LL_PAINTERS_A_COSINE | LL_PAINTERS_A_SINGLE)) &&
        cli_task_files("study", "lambada_openai", NULL, NULL, &lam, &lam_few))
        goto done;
    o.lambada_data = lam;
    o.bos = c.bos == 1;
    o.n_threads = c.threads;
    o.exact = c.exact;
    if (!(m = cli_open_model(&c, false))) goto done;
    if (!m->tok) { cli_error("%s: a llama2.c checkpoint needs --tokenizer TOK.bin", c.model); goto done; }
    if (quick) ll_painters_apply_quick(&o, m->n_layer, true, true);   /* five starts spread over the sweep */
    char cmdline[2048] = "layerlab study";
    for (int i = 0; i < argc; i++)
        snprintf(cmdline + strlen(cmdline), sizeof cmdline - strlen(cmdline), " %s", argv[i]);
    cli_progress pg;
    cli_progress_study(&pg, "painters", quiet, &o.progress, &o.layer_progress, &o.progress_ctx);
    ll_painters_study_result res;
    int prc = ll_painters_study(m, &o, out, cmdline, &res);
    cli_progress_stop(&pg);
    if (prc) { cli_lib_error(); goto done; }
    if (!res.is_main) { rc = 0; goto done; }   /* rank 0 reports */
    if (res.stats.passes_naive > 0)
        fprintf(stderr, "layerlab: study painters: %lld token-layer passes computed for results that take %lld computed "
                "from scratch (%.2fx fewer%s), %.0f s\n", res.stats.passes_computed, res.stats.passes_naive,
                res.stats.passes_computed ? (double)res.stats.passes_naive / (double)res.stats.passes_computed : 0.0,
                o.reuse ? ", reuse on" : ", --no-reuse", res.run_seconds);
    fprintf(stderr, "layerlab: study painters: done in %.0f s; results in %s/results.sqlite, scores in %s/scores.csv\n",
            res.seconds, out, out);
    printf("%s/report.html\n", out);
    rc = 0;
done:
    for (int t = 0; t < nt; t++) { free(paths[t]); free(fews[t]); }
    free(lam);
    free(lam_few);
    ll_model_free(m);
    /* an error on one rank ends the job (the others would wait for it); what every rank committed is merged
     * when the study runs again */
    if (rc && ll_shard_size(sh) > 1) ll_shard_abort(sh, 1);
    ll_shard_finalize(sh);
    return rc;
}

static int status(const char *dir) {
    ll_store *s = ll_store_open_existing(dir);
    if (!s) return cli_lib_error();
    ll_store_plan *plans = NULL;
    char **tasks = NULL;
    int np = 0, nt = 0, rc = 1;
    if (ll_store_list_plans(s, &plans, &np) || ll_store_list_tasks(s, &tasks, &nt)) { cli_lib_error(); goto done; }
    /* ll_store_meta's text lives until its next call: one at a time */
    const char *keys[4] = {"kind", "model_sha256", "version", "params"};
    for (int k = 0; k < 4; k++) {
        const char *v = ll_store_meta(s, keys[k]);
        printf("%-13s %s\n", keys[k], v ? v : "");
    }
    double secs = ll_store_get_progress(s, "seconds"), total = ll_store_get_progress(s, "total_items");
    long total_done = ll_store_count_items(s, NULL, NULL);
    printf("%-16s %10s %10s\n", "task", "done", "total");
    for (int t = 0; t < nt; t++) {
        char key[64];
        snprintf(key, sizeof key, "total:%s", tasks[t]);
        printf("%-16s %10ld %10.0f\n", tasks[t], ll_store_count_items(s, tasks[t], NULL), ll_store_get_progress(s, key));
    }
    double per = total_done ? secs / (double)total_done : 0;
    const char *kind = ll_store_meta(s, "kind");
    if (kind && !strcmp(kind, "geometry")) printf("prompts %ld / %.0f; compute %.0f s (%.3f s per prompt)", total_done, total, secs, per);
    else printf("items %ld / %.0f over %d plans; compute %.0f s (%.3f s per item)", total_done, total, np, secs, per);
    if (total > total_done && per > 0) printf("; ETA %.0f s at that rate", (total - (double)total_done) * per);
    printf("\n");
    double tw = ll_store_get_progress(s, "total_ppl_windows"), tc = ll_store_get_progress(s, "total_cosine");
    if (tw > 0) printf("perplexity windows %ld / %.0f\n", ll_store_count_ppl_windows(s), tw);
    if (tc > 0) printf("cosine runs %ld / %.0f\n", ll_store_count_analyses(s, "cosine:"), tc);
    double pc = ll_store_get_progress(s, "passes_computed"), pn = ll_store_get_progress(s, "passes_naive");
    if (pc > 0 && pn > 0)
        printf("token-layer passes computed %.0f for results that take %.0f from scratch (%.2fx fewer)\n", pc, pn, pn / pc);
    rc = 0;
done:
    free(plans);
    for (int t = 0; t < nt; t++) free(tasks[t]);
    free(tasks);
    ll_store_close(s);
    return rc;
}

int cmd_study(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2;
    }
    if (!strcmp(argv[1], "painters")) return painters(argc - 1, argv + 1);
    if (!strcmp(argv[1], "geometry")) return cmd_study_geometry(argc - 1, argv + 1);
    if (!strcmp(argv[1], "status") || !strcmp(argv[1], "export") || !strcmp(argv[1], "report")) {
        if (argc != 3) return cli_error("study %s: give the study's DIR\n%s", argv[1], USAGE);
        if (!strcmp(argv[1], "status")) return status(argv[2]);
        ll_store *s = ll_store_open_existing(argv[2]);
        if (!s) return cli_lib_error();
        const char *kind = ll_store_meta(s, "kind");
        bool geo = kind && !strcmp(kind, "geometry");
        int rc;
        bool exp = !strcmp(argv[1], "export");
        if (geo) rc = exp ? ll_geometry_export(s, argv[2]) : ll_geometry_report(s, argv[2], "layerlab study report");
        else rc = exp ? ll_painters_export(s, argv[2]) : ll_painters_report(s, argv[2], "layerlab study report", NAN);
        ll_store_close(s);
        if (rc) return cli_lib_error();
        printf("%s/%s\n", argv[2], exp ? (geo ? "prompts.csv" : "scores.csv") : "report.html");
        return 0;
    }
    return cli_error("study: unknown study or action '%s'\n%s", argv[1], USAGE);
}
