/* painters.h — "Transformer Layers as Painters" (Sun et al., arXiv 2407.09298) as one resumable study.
 *
 * The grid: every variant (skip, middle_repeat, reverse, random with seeds 0..n-1, parallel,
 * looped_parallel with k loops) at every start s (layers 0..s and L-s..L-1 run, M = L - 2s - 1 middle
 * layers affected), plus the full model, on every task, item by item (src/eval, scored as lm-eval scores
 * them). Analyses: single-layer skip and adjacent switch on lambada_openai (the paper's Fig. 2); the
 * looped-parallel grid M x k (Fig. 10); cosine matrices of the full model and of skip / middle_repeat at one
 * s (Fig. 3, A.4), flattened and per token, with and without the first position. Every finished item is a
 * transaction in the store (store.h); the same call continues where a killed one stopped.
 */
#ifndef LL_STUDY_PAINTERS_H
#define LL_STUDY_PAINTERS_H
#include <stdbool.h>
#include <stdint.h>

#include "eval/eval.h"
#include "study/store.h"

enum { LL_PAINTERS_MAX_TASKS = 16, LL_PAINTERS_MAX_STARTS = 256 };
enum { LL_PAINTERS_A_COSINE = 1, LL_PAINTERS_A_SINGLE = 2, LL_PAINTERS_A_LOOPS = 4 };

typedef struct {
    int n_tasks;
    const char *tasks[LL_PAINTERS_MAX_TASKS];      /* task names */
    const char *data[LL_PAINTERS_MAX_TASKS];       /* their data files */
    const char *fewshot[LL_PAINTERS_MAX_TASKS];    /* gsm8k's train file (else NULL) */
    const char *lambada_data;                      /* lambada_openai's file, for the analyses */
    long limit;                 /* the first N items of each task (-1 = all) */
    long sample;                /* > 0: a seeded subset of that many items instead (CPython random.sample) */
    uint64_t sample_seed;
    int variants;               /* bits 1 << LL_PV_* */
    int n_starts;
    int starts[LL_PAINTERS_MAX_STARTS];   /* empty: L/2 - 1 down to 0 */
    int seeds;                  /* random: seeds 0..seeds-1 (10) */
    int loops;                  /* looped_parallel: k (3) */
    int loops_grid;             /* the M x k grid: k = 1..loops_grid (default loops + 2) */
    int analyses;               /* LL_PAINTERS_A_* bits (default all) */
    long cosine_samples;        /* lambada items for the cosine matrices (100) */
    int single_limit;           /* lambada items for single skip / switch (default = limit) */
    const char *ppl_file;       /* also each plan's perplexity on this text (NULL: none) */
    int ppl_ctx;                /* its window (1024) */
    long ppl_tokens;            /* tokens of it scored (8192) */
    int max_gen;                /* gsm8k max_gen_toks (256) */
    bool bos;
    int n_threads;
    bool exact;
    bool reuse;                 /* compute the layers plans share with the full model once per item (true) */
    struct ll_shard *shard;     /* the MPI job this rank is part of (study/shard.h), or NULL: one process */
    /* progress: units of work (items x plans) done / total, with what runs now */
    void (*progress)(void *ctx, long done, long total, const char *what);
    void (*layer_progress)(void *ctx, int done, int total);
    void *progress_ctx;
} ll_painters_opts;

enum { LL_PV_SKIP = 0, LL_PV_MIDDLE_REPEAT, LL_PV_REVERSE, LL_PV_RANDOM, LL_PV_PARALLEL, LL_PV_LOOPED, LL_PV_COUNT };
extern const char *const ll_painters_variant_names[LL_PV_COUNT];

void ll_painters_default_opts(ll_painters_opts *o);
/* The tasks a study runs when none are named: the paper's five, or the quick profile's four. */
const char *ll_painters_default_tasks(bool quick);
/* `--quick`: the small profile (minutes; README says what it leaves out) for what the caller left at its default:
 * the first 10 items (unless have_limit or a sample), 2 random seeds, 16 cosine samples, 4 LAMBADA items for the
 * single runs, the cosine and single analyses (unless analyses_set), and five starts spread over the sweep of an
 * n_layer model (when none are given). */
void ll_painters_apply_quick(ll_painters_opts *o, int n_layer, bool have_limit, bool analyses_set);
/* Checks the options against a model of n_layer layers (every start leaves a middle) before anything is
 * stored. 0, or -1 with the error set. */
int ll_painters_validate(const ll_painters_opts *o, int n_layer);
/* The parameters that define the study (the store refuses to mix runs of different ones), as canonical JSON. */
char *ll_painters_params_json(const ll_painters_opts *o, int n_layer);
/* What one run computed: token x layer passes, against computing every plan's every entry (the results it
 * stored; with reuse the reference runs of the full model count in `computed` too). */
typedef struct {
    long long passes_computed, passes_naive;
} ll_painters_stats;

/* Runs (or continues) the study on m into the store; stats (may be NULL) gets what this call computed.
 * 0, or -1 with the error set (what was committed stays). */
int ll_painters_run(ll_model *m, const ll_painters_opts *o, ll_store *s, ll_painters_stats *stats);

/* One row of the scores: a metric of a plan on a task, or an aggregate over tasks (task "median"/"mean"). */
typedef struct {
    char plan[64], variant[24], grp[16], task[32], metric[40];
    int s, m, seed, k;
    double value, stderr_, chance, normalised;
    int n;
    bool flagged;               /* the full model is within 2 standard errors of chance on this task */
} ll_score_row;

/* A whole study, as `layerlab study painters` runs it: the options checked, the store opened (under the MPI job in
 * o->shard: a copy per rank), the run, the ranks' stores gathered and, on rank 0 (is_main), the export and the report
 * (command: the command line it shows). 0, or -1 with the error set (what was committed stays). */
typedef struct {
    ll_painters_stats stats;    /* this rank's layer passes */
    double run_seconds;         /* the run alone */
    double seconds;             /* from the store's opening to the report */
    bool is_main;               /* rank 0 (or one process): it exported and reported */
} ll_painters_study_result;
int ll_painters_study(ll_model *m, const ll_painters_opts *o, const char *dir, const char *command,
                      ll_painters_study_result *r);

/* Every score from the store's item results (aggregates recomputed with ll_eval_aggregate). */
int ll_painters_scores(ll_store *s, ll_score_row **rows, int *n_rows);
/* The grid's variants compared: for each, the mean over M of its median normalised score (random: the mean
 * over seeds at each M), as the report's verdicts use it, with standard errors from a paired bootstrap over
 * items (iters resamples of every unflagged task's items, the same draw for every plan). Plans without all
 * the full model's items are left out. mean[v] is NAN for a variant not in the store. */
typedef struct {
    double mean[LL_PV_COUNT], se[LL_PV_COUNT];
    double diff_se[LL_PV_COUNT][LL_PV_COUNT];   /* of mean[a] - mean[b] */
    int iters, n_tasks;
} ll_painters_cmp;
int ll_painters_compare(ll_store *s, int iters, uint64_t seed, ll_painters_cmp *out);
/* DIR/scores.csv, DIR/scores.json and DIR/items.csv (written through temporary files). */
int ll_painters_export(ll_store *s, const char *dir);
/* DIR/report.html and every figure as DIR/figures/NAME.svg. */
int ll_painters_report(ll_store *s, const char *dir, const char *command, double elapsed);

#endif
