/* bench.c — see bench.h. */
#include "run/bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/err.h"

void ll_bench_default_opts(ll_bench_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_prompt = 512;
    o->n_gen = 128;
    o->reps = 5;
    o->warmup = true;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double ll_bench_sort_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int summarise(ll_bench_test *t) {
    double *ts = malloc((size_t)t->reps * sizeof *ts);
    if (!ts) return ll_fail("out of memory");
    double sum = 0, sq = 0;
    for (int k = 0; k < t->reps; k++) {
        ts[k] = t->secs[k] > 0 ? t->n_tokens / t->secs[k] : 0;
        sum += ts[k];
    }
    t->mean_ts = sum / t->reps;
    for (int k = 0; k < t->reps; k++) sq += (ts[k] - t->mean_ts) * (ts[k] - t->mean_ts);
    t->sd_ts = t->reps > 1 ? sqrt(sq / (t->reps - 1)) : 0;
    t->median_ts = ll_bench_sort_median(ts, t->reps);
    t->min_ts = ts[0];
    t->max_ts = ts[t->reps - 1];
    free(ts);
    return 0;
}

/* one run of a test: pp = one forward over n tokens at position 0; tg = n one-token forwards from 0 */
static int run_once(ll_engine *e, const int32_t *ids, int n, bool pp, float *logits, double *secs) {
    double t0 = ll_now();
    if (pp) {
        if (ll_engine_forward(e, ids, n, 0, logits, LL_LOGITS_LAST)) return -1;
    } else {
        for (int g = 0; g < n; g++)
            if (ll_engine_forward(e, ids + g, 1, g, logits, LL_LOGITS_LAST)) return -1;
    }
    *secs = ll_now() - t0;
    return 0;
}

static int run_test(ll_engine *e, const int32_t *ids, int n, bool pp, const ll_bench_opts *o, float *logits,
                    ll_bench_test *t) {
    t->n_tokens = n;
    t->reps = o->reps;
    if (!(t->secs = calloc((size_t)o->reps, sizeof *t->secs))) return ll_fail("out of memory");
    char name[32];
    snprintf(name, sizeof name, "%s%d", pp ? "pp" : "tg", n);
    double s;
    if (o->warmup) {
        if (run_once(e, ids, n, pp, logits, &s)) return -1;
        if (o->progress) o->progress(o->progress_ctx, name, 0, o->reps, s);
    }
    for (int k = 0; k < o->reps; k++) {
        if (run_once(e, ids, n, pp, logits, &t->secs[k])) return -1;
        if (o->progress) o->progress(o->progress_ctx, name, k + 1, o->reps, t->secs[k]);
    }
    return summarise(t);
}

int ll_bench_run(ll_engine *e, int n_vocab, const ll_bench_opts *o, ll_bench_results *r) {
    memset(r, 0, sizeof *r);
    if (o->reps < 1) return ll_fail("bench: reps must be at least 1 (got %d)", o->reps);
    if (o->n_prompt < 0 || o->n_gen < 0 || (!o->n_prompt && !o->n_gen))
        return ll_fail("bench: give a prompt test, a generation test or both (n_prompt %d, n_gen %d)", o->n_prompt, o->n_gen);
    int n = o->n_prompt > o->n_gen ? o->n_prompt : o->n_gen;
    if (n > ll_engine_n_ctx(e)) return ll_fail("bench: %d tokens exceed the engine's context of %d", n, ll_engine_n_ctx(e));
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    int rc = -1;
    if (!ids || !logits) { ll_fail("out of memory"); goto done; }
    uint32_t s = 12345;   /* a fixed LCG: the same ids on every run and machine */
    for (int i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        ids[i] = (int32_t)((s >> 8) % (uint32_t)n_vocab);
    }
    if (o->n_prompt && run_test(e, ids, o->n_prompt, true, o, logits, &r->pp)) goto done;
    if (o->n_gen && run_test(e, ids, o->n_gen, false, o, logits, &r->tg)) goto done;
    rc = 0;
done:
    free(ids);
    free(logits);
    if (rc) ll_bench_results_free(r);
    return rc;
}

void ll_bench_results_free(ll_bench_results *r) {
    free(r->pp.secs);
    free(r->tg.secs);
    memset(r, 0, sizeof *r);
}
