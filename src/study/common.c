/* common.c — what the studies share (study.h). */
#include "study/study.h"

#include <stdlib.h>

#include "util/err.h"
#include "util/pyrandom.h"

/* The items of a task the study scores: the first limit, or a seeded random.sample of them. */
int ll_study_choose_items(const ll_eval_task *t, long limit, long sample, uint64_t seed, int **out, int *n) {
    int N = t->n_items;
    if (sample > 0) {
        int k = sample < N ? (int)sample : N;
        if (!(*out = ll_malloc((size_t)k * sizeof **out))) return -1;
        ll_pyrng r;
        ll_pyrng_seed(&r, seed);
        if (ll_pyrng_sample(&r, N, k, *out)) return ll_fail("sample of %d of %d items failed", k, N);
        *n = k;
        return 0;
    }
    int k = limit >= 0 && limit < N ? (int)limit : N;
    if (!(*out = ll_malloc((size_t)(k ? k : 1) * sizeof **out))) return -1;
    for (int i = 0; i < k; i++) (*out)[i] = i;
    *n = k;
    return 0;
}

