/* pyrandom.c — CPython's `random` module, as far as random.seed(int) + random.shuffle need it:
 * MT19937 seeded by init_by_array with the seed's 32-bit words, getrandbits(k) for k ≤ 32, and
 * _randbelow by rejection. Written from the MT19937 paper and CPython's documented behaviour. */
#include <stdint.h>

#include "plan/plan.h"

enum { MT_N = 624, MT_M = 397 };

typedef struct {
    uint32_t s[MT_N];
    int i;
} mt19937;

static void mt_init(mt19937 *m, uint32_t seed) {
    m->s[0] = seed;
    for (int i = 1; i < MT_N; i++) m->s[i] = 1812433253u * (m->s[i - 1] ^ (m->s[i - 1] >> 30)) + (uint32_t)i;
    m->i = MT_N;
}

static void mt_init_by_array(mt19937 *m, const uint32_t *key, int len) {
    mt_init(m, 19650218u);
    int i = 1, j = 0;
    for (int k = MT_N > len ? MT_N : len; k; k--) {
        m->s[i] = (m->s[i] ^ ((m->s[i - 1] ^ (m->s[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= MT_N) { m->s[0] = m->s[MT_N - 1]; i = 1; }
        if (j >= len) j = 0;
    }
    for (int k = MT_N - 1; k; k--) {
        m->s[i] = (m->s[i] ^ ((m->s[i - 1] ^ (m->s[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= MT_N) { m->s[0] = m->s[MT_N - 1]; i = 1; }
    }
    m->s[0] = 0x80000000u;
}

static uint32_t mt_next(mt19937 *m) {
    if (m->i >= MT_N) {
        for (int k = 0; k < MT_N; k++) {
            uint32_t y = (m->s[k] & 0x80000000u) | (m->s[(k + 1) % MT_N] & 0x7fffffffu);
            m->s[k] = m->s[(k + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        m->i = 0;
    }
    uint32_t y = m->s[m->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* random._randbelow(n) for 1 ≤ n < 2^31: getrandbits(n.bit_length()) until below n */
static uint32_t randbelow(mt19937 *m, uint32_t n) {
    int k = 0;
    while (k < 32 && (n >> k)) k++;
    for (;;) {
        uint32_t r = mt_next(m) >> (32 - k);
        if (r < n) return r;
    }
}

void ll_py_shuffle(uint64_t seed, int *x, int n) {
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    mt19937 m;
    mt_init_by_array(&m, key, key[1] ? 2 : 1);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)randbelow(&m, (uint32_t)i + 1);
        int t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}
