/* cmd_bench.c — `layerlab bench`: parses options, runs ll_bench_run (src/run/bench.c) on the engine of the
 * chosen mode, plan and threads, prints llama-bench's table (or JSON / CSV). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "model/model.h"
#include "run/bench.h"
#include "run/engine.h"
#include "run/machine.h"
#include "tensor/pool.h"

static const char *USAGE =
    "usage: layerlab bench MODEL [-p N] [-n M] [-r R] [-t THREADS] [--plan SPEC] [--exact|--llamacpp]\n"
    "                      [-o md|json|csv] [--no-warmup] [--quiet]\n"
    "Forward-pass throughput as llama-bench measures it: pp N = one batched forward over N prompt tokens\n"
    "(default 512) from an empty cache; tg M = M single-token forwards from position 0 (default 128); each\n"
    "repeated R times (-r, --reps; default 5) after one untimed warm-up. Prints tokens/s, mean ± sd over the\n"
    "repetitions (and the median), tokenizing and sampling excluded (fixed pseudo-random token ids). -p 0 or\n"
    "-n 0 leaves that test out. --plan measures a plan's own speed; --json is -o json. Progress on stderr.\n"
    "       layerlab bench --machine [-t THREADS] [-r R] [-o md|json]\n"
    "What the machine allows, no model: read bandwidth over a 1 GiB buffer (GB/s, each thread reading its\n"
    "share) and peak fp32 FMA throughput in 8-lane FMAs (GFLOP/s), median and max of R repetitions.\n";

typedef struct {
    bool quiet;
} bench_prog;

static void progress(void *ctx, const char *test, int rep, int reps, double secs) {
    bench_prog *p = ctx;
    if (p->quiet) return;
    if (rep == 0) fprintf(stderr, "layerlab: bench %s warm-up: %.3f s\n", test, secs);
    else fprintf(stderr, "layerlab: bench %s run %d/%d: %.3f s\n", test, rep, reps, secs);
}

static void machine_progress(void *ctx, const char *what, int rep, int reps) {
    bench_prog *p = ctx;
    if (!p->quiet) fprintf(stderr, "layerlab: bench --machine %s %d/%d\n", what, rep, reps);
}

static int run_machine(const cli_common *c, int reps, bench_prog *bp, const char *fmt) {
    if (!strcmp(fmt, "csv")) return cli_error("bench --machine: -o csv is not offered; use md or json");
    ll_machine_opts mo;
    ll_machine_default_opts(&mo);
    if (reps > 0) mo.reps = reps;
    mo.progress = machine_progress;
    mo.progress_ctx = bp;
    ll_pool *pool = ll_pool_new(c->threads);
    if (!pool) return cli_lib_error(), 1;
    ll_machine_results r;
    int rc = ll_machine_measure(pool, &mo, &r);
    ll_pool_free(pool);
    if (rc) return cli_lib_error(), 1;
    if (!strcmp(fmt, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "threads", r.threads);
        cJSON_AddStringToObject(j, "kernels", r.kernels);
        cJSON_AddNumberToObject(j, "read_bytes", (double)mo.bytes);
        cJSON_AddNumberToObject(j, "reps", mo.reps);
        cJSON_AddNumberToObject(j, "read_gbs_median", r.read_gbs_median);
        cJSON_AddNumberToObject(j, "read_gbs_max", r.read_gbs_max);
        cJSON_AddNumberToObject(j, "fma_gflops_median", r.fma_gflops_median);
        cJSON_AddNumberToObject(j, "fma_gflops_max", r.fma_gflops_max);
        if (cli_print_json(j)) return 1;
    } else {
        printf("| threads | kernels | read GB/s (median) | read GB/s (max) | fp32 FMA GFLOP/s (median) | (max) |\n");
        printf("|---:|---|---:|---:|---:|---:|\n");
        printf("| %d | %s | %.2f | %.2f | %.1f | %.1f |\n", r.threads, r.kernels, r.read_gbs_median, r.read_gbs_max,
               r.fma_gflops_median, r.fma_gflops_max);
    }
    return fflush(stdout) == 0 ? 0 : cli_error("error writing stdout");
}

static void test_name(char *buf, size_t n, const char *kind, int tokens) { snprintf(buf, n, "%s%d", kind, tokens); }

int cmd_bench(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    ll_bench_opts o;
    ll_bench_default_opts(&o);
    bench_prog bp = {false};
    o.progress = progress;
    o.progress_ctx = &bp;
    const char *fmt = NULL;
    bool machine = false, reps_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long long x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "-p") || !strcmp(a, "-n") || !strcmp(a, "-r") || !strcmp(a, "--reps")) {
            bool reps = a[1] == 'r' || a[2] == 'r';
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, reps ? 1 : 0, reps ? 1000 : 1 << 20, &x)) return 1;
            if (reps) o.reps = (int)x, reps_set = true;
            else if (a[1] == 'p') o.n_prompt = (int)x;
            else o.n_gen = (int)x;
            continue;
        }
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(v = cli_value(argc, argv, &i))) return 1;
            if (strcmp(v, "md") && strcmp(v, "json") && strcmp(v, "csv"))
                return cli_error("bench: -o: expected md, json or csv, got '%s'", v);
            fmt = v;
            continue;
        }
        if (!strcmp(a, "--no-warmup")) { o.warmup = false; continue; }
        if (!strcmp(a, "--machine")) { machine = true; continue; }
        if (!strcmp(a, "--quiet")) { bp.quiet = true; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("bench: unknown option '%s'\n%s", a, USAGE);
    }
    if (!fmt) fmt = c.json ? "json" : "md";
    if (machine) {
        if (c.model) return cli_error("bench --machine measures the machine, not a model: leave out '%s'", c.model);
        return run_machine(&c, reps_set ? o.reps : 0, &bp, fmt);
    }
    if (!o.n_prompt && !o.n_gen) return cli_error("bench: -p 0 and -n 0 leave nothing to measure");
    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int rc = 1, n = o.n_prompt > o.n_gen ? o.n_prompt : o.n_gen;
    ll_engine *e = NULL;
    ll_bench_results R = {0};
    if (n > m->n_ctx_train) { cli_error("bench: %d tokens exceed the model's context %d", n, m->n_ctx_train); goto done; }
    if (!(e = cli_engine(&c, m, n))) goto done;
    if (ll_bench_run(e, m->n_vocab, &o, &R)) { cli_lib_error(); goto done; }
    struct stat st;
    long long size = stat(m->path, &st) == 0 ? (long long)st.st_size : -1;
    const char *name = strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
    const char *mode = c.exact ? "exact" : "llamacpp", *plan = c.plan ? c.plan : "full";
    const ll_bench_test *tests[2] = {&R.pp, &R.tg};
    const char *kinds[2] = {"pp", "tg"};
    char tn[32];
    if (!strcmp(fmt, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", name);
        cJSON_AddNumberToObject(j, "model_bytes", (double)size);
        cJSON_AddNumberToObject(j, "n_params", (double)m->n_params);
        cJSON_AddStringToObject(j, "mode", mode);
        cJSON_AddNumberToObject(j, "threads", c.threads);
        cJSON_AddStringToObject(j, "plan", plan);
        cJSON_AddBoolToObject(j, "warmup", o.warmup);
        cJSON *arr = cJSON_AddArrayToObject(j, "tests");
        for (int k = 0; k < 2; k++) {
            const ll_bench_test *t = tests[k];
            if (!t->n_tokens) continue;
            cJSON *x = cJSON_CreateObject();
            test_name(tn, sizeof tn, kinds[k], t->n_tokens);
            cJSON_AddStringToObject(x, "test", tn);
            cJSON_AddNumberToObject(x, "n_prompt", k == 0 ? t->n_tokens : 0);
            cJSON_AddNumberToObject(x, "n_gen", k == 1 ? t->n_tokens : 0);
            cJSON_AddNumberToObject(x, "reps", t->reps);
            cJSON_AddNumberToObject(x, "avg_ts", t->mean_ts);
            cJSON_AddNumberToObject(x, "stddev_ts", t->sd_ts);
            cJSON_AddNumberToObject(x, "median_ts", t->median_ts);
            cJSON_AddNumberToObject(x, "min_ts", t->min_ts);
            cJSON_AddNumberToObject(x, "max_ts", t->max_ts);
            cJSON_AddItemToObject(x, "samples_s", cJSON_CreateDoubleArray(t->secs, t->reps));
            cJSON_AddItemToArray(arr, x);
        }
        cli_provenance(j, m, false, n, n);
        if (cli_print_json(j)) goto done;
    } else if (!strcmp(fmt, "csv")) {
        printf("model,model_bytes,n_params,mode,threads,plan,test,n_tokens,reps,avg_ts,stddev_ts,median_ts,min_ts,max_ts\n");
        for (int k = 0; k < 2; k++) {
            const ll_bench_test *t = tests[k];
            if (!t->n_tokens) continue;
            test_name(tn, sizeof tn, kinds[k], t->n_tokens);
            printf("\"%s\",%lld,%lld,%s,%d,\"%s\",%s,%d,%d,%.4f,%.4f,%.4f,%.4f,%.4f\n", name, size, (long long)m->n_params, mode,
                   c.threads, plan, tn, t->n_tokens, t->reps, t->mean_ts, t->sd_ts, t->median_ts, t->min_ts, t->max_ts);
        }
    } else {
        printf("| model | size | params | mode | threads | plan | test | t/s | median t/s |\n");
        printf("|---|---:|---:|---|---:|---|---:|---:|---:|\n");
        for (int k = 0; k < 2; k++) {
            const ll_bench_test *t = tests[k];
            if (!t->n_tokens) continue;
            test_name(tn, sizeof tn, kinds[k], t->n_tokens);
            printf("| %s | %.2f MiB | %.2f M | %s | %d | %s | %s | %.2f ± %.2f | %.2f |\n", name, (double)size / 1048576.0,
                   (double)m->n_params / 1e6, mode, c.threads, plan, tn, t->mean_ts, t->sd_ts, t->median_ts);
        }
    }
    rc = fflush(stdout) == 0 ? 0 : cli_error("error writing stdout");
done:
    ll_bench_results_free(&R);
    ll_engine_free(e);
    ll_model_free(m);
    return rc;
}
