/* bench.h — forward-pass throughput as llama-bench measures it: a prompt-processing test (one batched
 * forward over n_prompt tokens from an empty cache) and a generation test (n_gen single-token forwards from
 * position 0), each repeated, after one untimed warm-up run. Token ids are fixed pseudo-random ids (no
 * tokenizer, no sampling in the timing). Runs on the caller's engine: its order, threads and compute mode
 * are what is measured. */
#ifndef LL_BENCH_H
#define LL_BENCH_H
#include <stdbool.h>

#include "run/engine.h"

typedef struct {
    int n_prompt;    /* tokens of the pp test; 0 leaves it out */
    int n_gen;       /* tokens of the tg test; 0 leaves it out */
    int reps;        /* timed repetitions of each test */
    bool warmup;     /* one untimed run of each test first */
    /* called after each run: test "pp" or "tg", repetition done (0 = the warm-up) of reps, its seconds */
    void (*progress)(void *ctx, const char *test, int rep, int reps, double secs);
    void *progress_ctx;
} ll_bench_opts;

/* n_prompt 512, n_gen 128, reps 5, warmup on (llama-bench's defaults). */
void ll_bench_default_opts(ll_bench_opts *o);

typedef struct {
    int n_tokens, reps;   /* n_tokens 0: the test was not run */
    double *secs;         /* [reps] seconds of each timed repetition */
    /* tokens/s over the repetitions (each repetition's n_tokens / secs): mean, sample sd (n − 1), median,
     * min, max */
    double mean_ts, sd_ts, median_ts, min_ts, max_ts;
} ll_bench_test;

typedef struct {
    ll_bench_test pp, tg;
} ll_bench_results;

/* The engine's context must hold max(n_prompt, n_gen) tokens. 0, or -1 with the error set. */
int ll_bench_run(ll_engine *e, int n_vocab, const ll_bench_opts *o, ll_bench_results *r);
void ll_bench_results_free(ll_bench_results *r);
/* Sorts v[0..n) ascending (n >= 1) and returns its median (the mean of the middle two for even n). */
double ll_bench_sort_median(double *v, int n);

#endif
