/* pyrandom.h — CPython's `random` module, the parts layerlab reproduces bit for bit: random.Random(int)
 * seeding, getrandbits, _randbelow, random(), shuffle (Layer plans' `random:s:seed`), sample and choices
 * (lm-eval's few-shot draws and bootstrap). One generator state, owned by the caller. */
#ifndef LL_PYRANDOM_H
#define LL_PYRANDOM_H
#include <stdint.h>

typedef struct {
    uint32_t mt[624];
    int idx;
} ll_pyrng;

void ll_pyrng_seed(ll_pyrng *r, uint64_t seed);          /* random.Random(seed), seed ≥ 0 */
uint32_t ll_pyrng_u32(ll_pyrng *r);                      /* one MT19937 output (getrandbits(32)) */
double ll_pyrng_random(ll_pyrng *r);                     /* random.random() */
uint32_t ll_pyrng_randbelow(ll_pyrng *r, uint32_t n);    /* random._randbelow(n) */
/* random.shuffle(x) on n ints in place */
void ll_pyrng_shuffle(ll_pyrng *r, int *x, int n);
/* random.sample(range(n), k) as indices into the population, in CPython's order. */
int ll_pyrng_sample(ll_pyrng *r, int n, int k, int *out);
/* one draw of random.choices(population of n) */
int ll_pyrng_choice_index(ll_pyrng *r, int n);

#endif
