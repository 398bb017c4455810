/* cmd_geometry.c — `layerlab study geometry MODEL --out DIR`: options in, the library's study
 * (src/study/geometry.c) called, where the results are out. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/model.h"
#include "study/geometry.h"
#include "study/shard.h"
#include "study/store.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab study geometry MODEL --out DIR [options]   run (or continue) the geometric paper's study\n"
    "  --task NAME         gsm8k (default) or a multiple-choice task (arc_easy, arc_challenge, hellaswag, piqa)\n"
    "  --data F            its data file (default: eval's); --fewshot F gsm8k's train split\n"
    "  --limit N           the first N items are the base questions (default all); --sample N --seed S a seeded\n"
    "                      random subset instead\n"
    "  --shots LIST        numbers of examples before the question (default 0,1,2,4,8,10; 0 is always run)\n"
    "  --conditions LIST   fixed,random,noise,permuted (default all): the same first k examples for every\n"
    "                      question; k drawn per question; the fixed block replaced by random normal tokens, or\n"
    "                      by its words shuffled (both as many tokens as the fixed block)\n"
    "  --eps E             the attention-ID threshold (0.1), counted relative to each row's maximum and absolute\n"
    "  --prompt-seed S     the draws of random, noise and permuted (default 0)\n"
    "  --max-gen-toks N    gsm8k (default 256)\n"
    "  --quick             a small profile (README): arc_easy, 50 questions, shots 0,1,2,4, every condition\n"
    "  --quiet             no progress\n"
    "  --threads N, --exact|--llamacpp, --tokenizer TOK.bin, --bos\n"
    "Every prompt is committed to DIR/results.sqlite with its answer; the same command run again continues\n"
    "where it stopped. DIR/report.html, prompts.csv and analysis.json are written at the end (`study report|export DIR` again). docs/STUDIES.md.\n";

static int parse_int_list(const char *opt, const char *v, int *out, int max, int lo, int hi) {
    int n = 0;
    const char *p = v;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        char buf[32];
        if (!l || l >= sizeof buf) return cli_error("%s: bad list '%s'", opt, v), -1;
        if (n == max) return cli_error("%s: at most %d entries", opt, max), -1;
        memcpy(buf, p, l);
        buf[l] = 0;
        long long x;
        if (cli_parse_int(opt, buf, lo, hi, &x)) return -1;
        for (int i = 0; i < n; i++)
            if (out[i] == (int)x) return cli_error("%s: %lld given twice", opt, x), -1;
        out[n++] = (int)x;
        p += l + (c ? 1 : 0);
        if (c && !*p) return cli_error("%s: bad list '%s'", opt, v), -1;
    }
    return n;
}

int cmd_study_geometry(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    ll_geometry_opts o;
    ll_geometry_default_opts(&o);
    const char *out = NULL, *data = NULL, *fewshot = NULL;
    bool quiet = false, quick = false, have_task = false, have_limit = false, have_shots = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long long x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
#define VAL() if (!(v = cli_value(argc, argv, &i))) return 1
#define INT(lo, hi) if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, lo, hi, &x)) return 1
        if (!strcmp(a, "--out") || !strcmp(a, "-o")) { VAL(); out = v; continue; }
        if (!strcmp(a, "--task")) { VAL(); o.task = v; have_task = true; continue; }
        if (!strcmp(a, "--data")) { VAL(); data = v; continue; }
        if (!strcmp(a, "--fewshot")) { VAL(); fewshot = v; continue; }
        if (!strcmp(a, "--limit")) { INT(1, 1 << 30); o.limit = (long)x; have_limit = true; continue; }
        if (!strcmp(a, "--sample")) { INT(1, 1 << 30); o.sample = (long)x; continue; }
        if (!strcmp(a, "--seed")) { INT(0, 1LL << 40); o.sample_seed = (uint64_t)x; continue; }
        if (!strcmp(a, "--prompt-seed")) { INT(0, 1LL << 40); o.seed = (uint64_t)x; continue; }
        if (!strcmp(a, "--max-gen-toks")) { INT(1, 1 << 20); o.max_gen = (int)x; continue; }
        if (!strcmp(a, "--eps")) { VAL(); if (cli_parse_float(a, v, 0, 1, &o.eps)) return 1; continue; }
        if (!strcmp(a, "--shots")) {
            VAL();
            int n = parse_int_list(a, v, o.shots, LL_GEO_MAX_SHOTS, 0, 64);
            if (n < 0) return 1;
            o.n_shots = n;
            have_shots = true;
            continue;
        }
        if (!strcmp(a, "--conditions")) {
            VAL();
            int bits = 0;
            char buf[128];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                int b = -1;
                for (int q = 0; q < LL_GEO_N_CONDITIONS; q++)
                    if (!strcmp(tok, ll_geo_condition_names[q])) b = 1 << q;
                if (b < 0) return cli_error("--conditions: unknown '%s' (fixed, random, noise, permuted)", tok);
                bits |= b;
            }
            if (!bits) return cli_error("--conditions: none given");
            o.conditions = bits;
            continue;
        }
        if (!strcmp(a, "--quiet")) { quiet = true; continue; }
        if (!strcmp(a, "--quick")) { quick = true; continue; }
#undef VAL
#undef INT
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("study geometry: unknown option '%s'\n%s", a, USAGE);
    }
    if (!c.model) return cli_error("study geometry: MODEL is required\n%s", USAGE);
    if (!out) return cli_error("study geometry: --out DIR is required\n%s", USAGE);
    if (quick) ll_geometry_apply_quick(&o, have_task, have_limit, have_shots);   /* minutes, not hours */
    char *path = NULL, *few = NULL;
    if (cli_task_files("study geometry", o.task, data, fewshot, &path, &few)) return 1;
    o.data = path;
    o.fewshot = few;
    o.bos = c.bos == 1;
    o.n_threads = c.threads;
    o.exact = c.exact;
    int rc = 1;
    ll_model *m = NULL;
    ll_shard *sh = NULL;   /* under mpirun: this rank of the job (study/shard.h) */
    if (ll_shard_init(&sh)) { cli_lib_error(); goto done; }
    const int rank = ll_shard_rank(sh);
    if (rank > 0) quiet = true;
    o.shard = sh;
    if (!(m = cli_open_model(&c, false))) goto done;
    if (!m->tok) { cli_error("%s: a llama2.c checkpoint needs --tokenizer TOK.bin", c.model); goto done; }
    char cmdline[2048] = "layerlab study";
    for (int i = 0; i < argc; i++)
        snprintf(cmdline + strlen(cmdline), sizeof cmdline - strlen(cmdline), " %s", argv[i]);
    cli_progress pg;
    cli_progress_study(&pg, "geometry", quiet, &o.progress, &o.layer_progress, &o.progress_ctx);
    double t0 = cli_now();
    bool is_main = true;
    int grc = ll_geometry_study(m, &o, out, cmdline, &is_main);
    cli_progress_stop(&pg);
    if (grc) { cli_lib_error(); goto done; }
    if (!is_main) { rc = 0; goto done; }   /* rank 0 reports */
    fprintf(stderr, "layerlab: study geometry: done in %.0f s; results in %s/results.sqlite, prompts in %s/prompts.csv, "
            "analysis in %s/analysis.json\n", cli_now() - t0, out, out, out);
    printf("%s/report.html\n", out);
    rc = 0;
done:
    free(path);
    free(few);
    ll_model_free(m);
    if (rc && ll_shard_size(sh) > 1) ll_shard_abort(sh, 1);
    ll_shard_finalize(sh);
    return rc;
}
