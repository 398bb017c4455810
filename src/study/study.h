/* study.h — what the studies (painters.c, geometry.c) share. */
#ifndef LL_STUDY_STUDY_H
#define LL_STUDY_STUDY_H
#include <stdint.h>

#include "eval/eval.h"

/* The items of a task a study uses: the first `limit` (-1 = all), or, when sample > 0, a seeded
 * random.sample of that many (CPython's, so a Python user can draw the same subset). *out is malloc'ed. */
int ll_study_choose_items(const ll_eval_task *t, long limit, long sample, uint64_t seed, int **out, int *n);

#endif
