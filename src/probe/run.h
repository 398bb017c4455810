/* run.h — probes over a set of samples: the forwards, the collector (probe.h) and the reductions of
 * docs/PROBES.md, returned as arrays. The `probe` command and the studies call ll_probe_run; nothing here
 * prints. */
#ifndef LL_PROBE_RUN_H
#define LL_PROBE_RUN_H
#include <stdbool.h>
#include <stdint.h>

#include "eval/eval.h"
#include "probe/probe.h"

enum { LL_PROBE_COSINE = 1, LL_PROBE_BI = 2, LL_PROBE_ATTN = 4, LL_PROBE_MLP = 8, LL_PROBE_IDIM = 16,
       LL_PROBE_NONE = 32 };

/* One sample: token ids (owned by its set). */
typedef struct {
    int32_t *ids;
    int n;
} ll_probe_sample;

typedef struct {
    ll_probe_sample *s;
    int n, cap;
} ll_probe_samples;

void ll_probe_samples_free(ll_probe_samples *ss);
/* Appends a copy of ids[0..n) (nothing when n == 0). */
int ll_probe_samples_add(ll_probe_samples *ss, const int32_t *ids, int n);
/* One sample per item of an lm-eval task (the first limit items; -1 = all), as lm-eval feeds the model:
 * multiple choice: the context the choices share; winogrande: the gold option's request input;
 * lambada_openai: context + continuation without its last token; gsm8k: "Question: ...\nAnswer:". */
int ll_probe_task_samples(const struct ll_tokenizer *tok, bool bos, const ll_eval_task *t, long limit,
                          ll_probe_samples *out);
/* One sample per non-empty line of buf[0..len): token ids separated by spaces (the `ids` column of a
 * study's prompts.csv), each checked against the vocabulary; at most limit samples (-1 = all). Errors name
 * name:line. */
int ll_probe_samples_parse_ids(const char *name, const char *buf, size_t len, int32_t n_vocab, long limit,
                               ll_probe_samples *out);
/* The Painters harness's batches: groups of 8 consecutive samples right-padded with id 0 to the longest. */
int ll_probe_samples_pad8(ll_probe_samples *ss);

typedef struct {
    int kinds;                 /* LL_PROBE_* bits */
    bool pad;                  /* cosine: samples come in padded batches of 8 (batch means, then the mean) */
    int first_position;        /* cosine, variance, block-influence: positions before it are left out (0 = none;
                                  1 leaves out the attention sink's token) */
    int span;                  /* block-influence: angular distance between states span apart (0 = none) */
    int entry_k;               /* intrinsic-dim: the state after entry k (0 = embeddings, -1 = last) */
    bool points_prompts;       /* intrinsic-dim: last token of each sample (true) or every token */
    ll_probe_opts tap;         /* what the collector keeps (states/attention/gates are set from kinds) */
    const ll_order *order;     /* NULL = every layer in order */
    int n_threads;
    bool exact;
    bool parallel_kv_mean;
    const ll_probe_samples *compare;   /* mlp-regions: Hamming distance to sample i of this set */
    /* called after sample i's forward with the collector (raw dumps); nonzero stops the run */
    int (*on_sample)(void *ctx, const ll_probe *p, int i, const ll_probe_sample *s);
    void *sample_ctx;
    void (*progress)(void *ctx, long done, long total, const char *extra);
    void (*layer_progress)(void *ctx, int done, int total);
    void *progress_ctx;
} ll_probe_run_opts;

void ll_probe_run_default_opts(ll_probe_run_opts *o);

/* Results (arrays row-major; NULL when the probe did not run). States 0..E, E = entries of the order. */
typedef struct {
    int S, E, H, M, D;          /* states, entries, heads, largest group, hidden size */
    int *members;               /* [E] layers per entry */
    int n_samples, max_T;
    long long n_tokens;
    double seconds;
    double *cos_flat, *cos_token, *cos_last, *variance;   /* [S][S] x3, [S] */
    double *block_influence;    /* [E] */
    double *angular;            /* [S - span] */
    int n_eps;
    double *attn_id;            /* [n_eps][E] */
    double *per_head;           /* [E][H] */
    double *density, *entropy, *max_weight;               /* [E] */
    double *features;           /* [E][7]: pos_frac mean/min/max/std, closest min/mean/std */
    double *hamming, *hamming_compare;                    /* [E] */
    double *points;             /* intrinsic-dim points [n_points][D] */
    long long n_points;
} ll_probe_results;

/* Runs every sample through m under opts->order with the collector attached and reduces. 0, or -1 with the
 * error set (naming the sample). */
int ll_probe_run(ll_model *m, const ll_probe_samples *ss, const ll_probe_run_opts *opts, ll_probe_results *r);
void ll_probe_results_free(ll_probe_results *r);

#endif
