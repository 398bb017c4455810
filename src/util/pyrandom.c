/* pyrandom.c — the parts of CPython's `random` module that layer plans and lm-evaluation-harness rely on:
 * random.Random(int) seeding (MT19937 init_by_array over the seed's 32-bit words), getrandbits(k ≤ 32),
 * _randbelow (rejection on getrandbits(bit_length(n))), random() (53 bits from two outputs),
 * sample(population, k) (both of CPython's branches: the pool for small populations, the rejection
 * set for large ones) and choices(population, k) (floor(random() * n)).
 *
 * shuffle(x) (for i from n-1 down to 1: swap x[i] with x[_randbelow(i+1)]). The caller owns the generator
 * state, because lm-eval runs one generator through many calls. Written from
 * the MT19937 paper (Matsumoto & Nishimura 1998) and the documented behaviour of CPython 3.x. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/pyrandom.h"
#include "util/err.h"

enum { N_ = 624, M_ = 397 };

static void seed_scalar(ll_pyrng *r, uint32_t s) {
    r->mt[0] = s;
    for (int i = 1; i < N_; i++) r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->idx = N_;
}

void ll_pyrng_seed(ll_pyrng *r, uint64_t seed) {
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    int len = key[1] ? 2 : 1;  /* CPython: as many 32-bit words as the integer needs, at least one */
    seed_scalar(r, 19650218u);
    int i = 1, j = 0;
    for (int k = N_ > len ? N_ : len; k > 0; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        if (++i >= N_) { r->mt[0] = r->mt[N_ - 1]; i = 1; }
        if (++j >= len) j = 0;
    }
    for (int k = N_ - 1; k > 0; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        if (++i >= N_) { r->mt[0] = r->mt[N_ - 1]; i = 1; }
    }
    r->mt[0] = 0x80000000u;
    r->idx = N_;
}

uint32_t ll_pyrng_u32(ll_pyrng *r) {
    if (r->idx >= N_) {
        int k = 0;
        for (; k < N_ - M_; k++) {
            uint32_t y = (r->mt[k] & 0x80000000u) | (r->mt[k + 1] & 0x7fffffffu);
            r->mt[k] = r->mt[k + M_] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        for (; k < N_ - 1; k++) {
            uint32_t y = (r->mt[k] & 0x80000000u) | (r->mt[k + 1] & 0x7fffffffu);
            r->mt[k] = r->mt[k + M_ - N_] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        uint32_t y = (r->mt[N_ - 1] & 0x80000000u) | (r->mt[0] & 0x7fffffffu);
        r->mt[N_ - 1] = r->mt[M_ - 1] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        r->idx = 0;
    }
    uint32_t y = r->mt[r->idx++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

double ll_pyrng_random(ll_pyrng *r) {
    uint32_t a = ll_pyrng_u32(r) >> 5, b = ll_pyrng_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

uint32_t ll_pyrng_randbelow(ll_pyrng *r, uint32_t n) {
    if (n == 0) return 0;
    int k = 0;
    while (k < 32 && (n >> k)) k++;   /* n.bit_length() */
    for (;;) {
        uint32_t v = ll_pyrng_u32(r) >> (32 - k);  /* getrandbits(k) for 1 ≤ k ≤ 32 */
        if (v < n) return v;
    }
}

int ll_pyrng_sample(ll_pyrng *r, int n, int k, int *out) {
    if (n < 0 || k < 0 || k > n) return ll_fail("sample: k = %d out of range for a population of %d", k, n);
    long long setsize = 21;
    if (k > 5) {
        /* 4 ** ceil(log(3k, 4)), with math.log(x, base) = log(x) / log(base) as CPython computes it */
        double e = ceil(log((double)k * 3.0) / log(4.0));
        long long p = 1;
        for (int i = 0; i < (int)e; i++) p *= 4;
        setsize += p;
    }
    if ((long long)n <= setsize) {
        int *pool = ll_malloc((size_t)(n ? n : 1) * sizeof *pool);
        if (!pool) return -1;
        for (int i = 0; i < n; i++) pool[i] = i;
        for (int i = 0; i < k; i++) {
            int j = (int)ll_pyrng_randbelow(r, (uint32_t)(n - i));
            out[i] = pool[j];
            pool[j] = pool[n - i - 1];
        }
        free(pool);
    } else {
        for (int i = 0; i < k; i++) {
            int j;
            bool seen;
            do {  /* k is small on this branch: a linear scan is the set */
                j = (int)ll_pyrng_randbelow(r, (uint32_t)n);
                seen = false;
                for (int q = 0; q < i; q++) seen |= out[q] == j;
            } while (seen);
            out[i] = j;
        }
    }
    return 0;
}

int ll_pyrng_choice_index(ll_pyrng *r, int n) { return (int)floor(ll_pyrng_random(r) * (double)n); }

void ll_pyrng_shuffle(ll_pyrng *r, int *x, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ll_pyrng_randbelow(r, (uint32_t)i + 1);
        int t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}
