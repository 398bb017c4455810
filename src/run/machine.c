/* machine.c — read bandwidth and peak FMA throughput of the machine, measured on the thread pool. */
#include "run/machine.h"

#include "run/bench.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/dtype.h"
#include "util/clock.h"
#include "util/err.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

void ll_machine_default_opts(ll_machine_opts *o) {
    memset(o, 0, sizeof *o);
    o->bytes = (size_t)1 << 30;
    o->reps = 5;
}

typedef struct {
    const uint8_t *buf;
    size_t bytes;
    uint64_t sink[64];     /* one slot per thread, so the reads cannot be optimised away */
    long iters;
} mach_job;

/* Thread ith reads its contiguous share of the buffer with 4 independent vector accumulators. */
static void read_share(void *a, int ith, int nth) {
    mach_job *j = a;
    size_t chunk = j->bytes / (size_t)nth & ~(size_t)255;
    const uint8_t *p = j->buf + chunk * (size_t)ith, *end = p + chunk;
#if defined(__AVX2__)
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (; p < end; p += 128) {
        a0 = _mm256_xor_si256(a0, _mm256_load_si256((const __m256i *)(const void *)p));
        a1 = _mm256_xor_si256(a1, _mm256_load_si256((const __m256i *)(const void *)(p + 32)));
        a2 = _mm256_xor_si256(a2, _mm256_load_si256((const __m256i *)(const void *)(p + 64)));
        a3 = _mm256_xor_si256(a3, _mm256_load_si256((const __m256i *)(const void *)(p + 96)));
    }
    __m256i x = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    uint64_t v[4];
    memcpy(v, &x, sizeof v);
    j->sink[ith & 63] = v[0] ^ v[1] ^ v[2] ^ v[3];
#else
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (; p < end; p += 32) {
        uint64_t w[4];
        memcpy(w, p, 32);
        s0 ^= w[0], s1 ^= w[1], s2 ^= w[2], s3 ^= w[3];
    }
    j->sink[ith & 63] = s0 ^ s1 ^ s2 ^ s3;
#endif
}

/* 12 independent FMA chains (enough to cover the FMA latency on two pipes) per thread. */
static void fma_share(void *a, int ith, int nth) {
    (void)nth;
    mach_job *j = a;
#if defined(__AVX2__) && defined(__FMA__)
    __m256 acc[12];
    for (int k = 0; k < 12; k++) acc[k] = _mm256_set1_ps(1.0f + (float)k * 1e-3f);
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < j->iters; it++)
        for (int k = 0; k < 12; k++) acc[k] = _mm256_fmadd_ps(acc[k], m, c);
    __m256 s = acc[0];
    for (int k = 1; k < 12; k++) s = _mm256_add_ps(s, acc[k]);
    float f[8];
    _mm256_storeu_ps(f, s);
    uint32_t u;
    memcpy(&u, &f[0], 4);
    j->sink[ith & 63] = u;
#else
    float acc[12][8];
    for (int k = 0; k < 12; k++)
        for (int l = 0; l < 8; l++) acc[k][l] = 1.0f + (float)k * 1e-3f;
    for (long it = 0; it < j->iters; it++)
        for (int k = 0; k < 12; k++)
            for (int l = 0; l < 8; l++) acc[k][l] = acc[k][l] * 0.999999f + 1e-7f;
    uint32_t u;
    memcpy(&u, &acc[0][0], 4);
    j->sink[ith & 63] = u;
#endif
}

int ll_machine_measure(ll_pool *pool, const ll_machine_opts *o, ll_machine_results *r) {
    memset(r, 0, sizeof *r);
    int nth = ll_pool_size(pool), reps = o->reps > 0 ? o->reps : 1;
    r->threads = nth;
    r->kernels = ll_type_kernels();
    size_t bytes = o->bytes < ((size_t)1 << 20) ? (size_t)1 << 20 : o->bytes & ~(size_t)4095;
    uint8_t *buf = NULL;
    double *t = ll_calloc((size_t)reps, sizeof *t);
    if (!t || posix_memalign((void **)&buf, 4096, bytes)) {
        free(t);
        return ll_fail("out of memory for a %zu-byte bandwidth buffer", bytes);
    }
    for (size_t i = 0; i < bytes; i += 4096) buf[i] = (uint8_t)(i >> 12); /* fault every page in */
    mach_job j = {.buf = buf, .bytes = bytes};
    size_t read = (bytes / (size_t)nth & ~(size_t)255) * (size_t)nth;
    ll_pool_run(pool, read_share, &j); /* untimed */
    for (int k = 0; k < reps; k++) {
        double t0 = ll_now();
        ll_pool_run(pool, read_share, &j);
        t[k] = (double)read / (ll_now() - t0) / 1e9;
        if (o->progress) o->progress(o->progress_ctx, "read bandwidth", k + 1, reps);
    }
    r->read_gbs_median = ll_bench_sort_median(t, reps);
    r->read_gbs_max = t[reps - 1];
    free(buf);
    /* FMA: about 0.1 s per repetition at two 8-lane FMAs per cycle and 3 GHz */
    j.iters = 50000000;
    ll_pool_run(pool, fma_share, &j);
    for (int k = 0; k < reps; k++) {
        double t0 = ll_now();
        ll_pool_run(pool, fma_share, &j);
        t[k] = (double)j.iters * 12.0 * 8.0 * 2.0 * nth / (ll_now() - t0) / 1e9;
        if (o->progress) o->progress(o->progress_ctx, "fma peak", k + 1, reps);
    }
    r->fma_gflops_median = ll_bench_sort_median(t, reps);
    r->fma_gflops_max = t[reps - 1];
    free(t);
    return 0;
}
