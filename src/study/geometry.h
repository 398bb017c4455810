/* geometry.h — "Reasoning in Large Language Models: A Geometric Perspective" (Cosentino & Shekkizhar,
 * arXiv 2407.02678) as one resumable study (protocol: ../shared/papers/geometric-protocol.md).
 *
 * For each base question of a task, prompts with k = 0 and every k of `shots` examples before it, under
 * each condition: fixed (the same first k examples for every question), random (k examples drawn per
 * question), and the paper's ablations, each as long in tokens as the fixed prompt with k examples: noise
 * (the example block replaced by uniformly drawn normal token ids) and permuted (the fixed block's words
 * shuffled). Per prompt: its token ids; the attention-ID (Eq. 8) at its last token for every layer, with a
 * relative and an absolute threshold ε; the last token's hidden state after every layer; and the model's
 * answer scored as lm-eval scores it (multiple choice: acc; gsm8k: greedy generation, strict and flexible
 * match). Each prompt with its answer is one transaction of the store (store.h): killed, the same call
 * continues where it stopped.
 */
#ifndef LL_STUDY_GEOMETRY_H
#define LL_STUDY_GEOMETRY_H
#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"
#include "study/store.h"

enum { LL_GEO_FIXED = 1, LL_GEO_RANDOM = 2, LL_GEO_NOISE = 4, LL_GEO_PERMUTED = 8 };
enum { LL_GEO_N_CONDITIONS = 4, LL_GEO_MAX_SHOTS = 16 };
extern const char *const ll_geo_condition_names[LL_GEO_N_CONDITIONS];   /* fixed, random, noise, permuted */

typedef struct {
    const char *task;           /* gsm8k (default) or a multiple-choice task whose choices share one context */
    const char *data;           /* its data file */
    const char *fewshot;        /* gsm8k: the train split the examples come from */
    long limit;                 /* the first N items are the base questions (-1 = all) */
    long sample;                /* > 0: a seeded subset of that many instead (CPython random.sample) */
    uint64_t sample_seed;
    int n_shots;
    int shots[LL_GEO_MAX_SHOTS];   /* k values; 0 is always run (the base prompt) */
    int conditions;             /* LL_GEO_* bits (default all) */
    double eps;                 /* ε (0.1) */
    uint64_t seed;              /* random, noise and permuted draws */
    int max_gen;                /* gsm8k max_gen_toks (256) */
    bool bos;
    int n_threads;
    bool exact;
    struct ll_shard *shard;     /* the MPI job this rank is part of (study/shard.h), or NULL: one process */
    void (*progress)(void *ctx, long done, long total, const char *what);
    void (*layer_progress)(void *ctx, int done, int total);
    void *progress_ctx;
} ll_geometry_opts;

void ll_geometry_default_opts(ll_geometry_opts *o);
/* `--quick`: arc_easy (unless have_task), 50 questions (unless have_limit or a sample), shots 0,1,2,4 (unless
 * have_shots), every condition. */
void ll_geometry_apply_quick(ll_geometry_opts *o, bool have_task, bool have_limit, bool have_shots);
/* The parameters that define the study, as canonical JSON (the store refuses other ones). */
char *ll_geometry_params_json(const ll_geometry_opts *o);
/* Runs (or continues) the study on m into the store. 0, or -1 with the error set (what was committed stays). */
int ll_geometry_run(ll_model *m, const ll_geometry_opts *o, ll_store *s);
/* DIR/prompts.csv: one row per prompt (task, item, k, condition, n_tokens, ids, correct / strict / flexible,
 * id_0.. relative, abs_id_0.. absolute) and DIR/analysis.json (geo_stats.h), written through temporary
 * files. */
int ll_geometry_export(ll_store *s, const char *dir);
/* DIR/report.html (one self-contained page: inline SVG, no scripts) and every figure as DIR/figures/NAME.svg. */
int ll_geometry_report(ll_store *s, const char *dir, const char *command);
/* A whole study, as `layerlab study geometry` runs it: the store opened (under the MPI job in o->shard), the run,
 * the ranks' stores gathered and, on rank 0 (*is_main, may be NULL), the export and the report. 0 or -1. */
int ll_geometry_study(ll_model *m, const ll_geometry_opts *o, const char *dir, const char *command, bool *is_main);

#endif
