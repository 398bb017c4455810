/* test_vecdot.c — the type table's kernels against their scalar references and against float64.
 *
 * For every type layerlab computes with:
 *   - to_float of the table (SIMD where built) equals the scalar reference bit for bit, on random
 *     blocks whose fp16 scales are arbitrary bit patterns (subnormal, inf, NaN included);
 *   - from_float of each activation type equals its scalar reference bit for bit;
 *   - vec_dot (SIMD) agrees with the scalar reference vec_dot, and both agree with a float64 dot of
 *     the dequantized operands, within 1e-5 of the sum of |terms| (see dot_tolerance below).
 * Plus fp16/bf16 conversion checks, ll_vec_dot_f32 vs float64, and a throughput print (no assertion)
 * for the q4_1 and q8_0 dot products.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "tensor/dtype.h"
#include "tensor/matmul.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) {
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double urand(void) { return (double)(rnd() >> 11) * 0x1p-53; } /* [0, 1) */
static float gauss(void) {
    double u = urand() + 1e-300, v = urand();
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* A sane fp16 scale: random sign, magnitude in [2^-10, 2^-4). */
static uint16_t sane_scale(void) {
    float v = ldexpf((float)(1.0 + urand()), -10 + (int)(rnd() % 6));
    return ll_fp32_to_fp16(rnd() & 1 ? -v : v);
}

/* Offsets of the fp16 scales in each block (-1 ends the list), and the byte range of the quants. */
typedef struct {
    uint32_t type;
    int scales[3];
    int q0, q1;      /* quant bytes [q0, q1) of a block; zeroing them leaves only the min offset */
    int has_min;     /* value = d*q + offset (q4_1, q5_1) or - dmin*m (q2_K, q4_K, q5_K) */
} qinfo;

static const qinfo k_quants[] = {
    {LL_TYPE_Q4_0, {0, -1}, 2, 18, 0},
    {LL_TYPE_Q4_1, {0, 2, -1}, 4, 20, 1},
    {LL_TYPE_Q5_0, {0, -1}, 2, 22, 0},
    {LL_TYPE_Q5_1, {0, 2, -1}, 4, 24, 1},
    {LL_TYPE_Q8_0, {0, -1}, 2, 34, 0},
    {LL_TYPE_Q2_K, {80, 82, -1}, 16, 80, 1},
    {LL_TYPE_Q3_K, {108, -1}, 0, 96, 0},
    {LL_TYPE_Q4_K, {0, 2, -1}, 16, 144, 1},
    {LL_TYPE_Q5_K, {0, 2, -1}, 16, 176, 1},
    {LL_TYPE_Q6_K, {208, -1}, 0, 192, 0},
};
#define N_QUANTS (sizeof k_quants / sizeof k_quants[0])

/* Random weight row: random bytes, then sane fp16 scales. */
static void random_weights(const qinfo *qi, uint8_t *x, int64_t n) {
    const ll_type_traits *t = ll_type_get(qi->type);
    size_t bytes = ll_row_size(qi->type, n);
    for (size_t i = 0; i < bytes; i++) x[i] = (uint8_t)rnd();
    for (int64_t b = 0; b < n / t->blck; b++)
        for (int k = 0; k < 3 && qi->scales[k] >= 0; k++) put16(x + (size_t)b * t->type_size + qi->scales[k], sane_scale());
}

static void random_floats(float *v, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) v[i] = scale * gauss();
    /* a few outliers, as real activations have */
    for (int k = 0; k < 3 && n > 8; k++) v[rnd() % (uint64_t)n] *= 20.0f;
}

/* ------------------------------------------------------------------ fp16 / bf16 --------------- */

/* fp32 -> fp16 the slow, obvious way in double: round to nearest even at the half's precision. NaN:
 * quiet, keeping the top 10 payload bits (as vcvtps2ph). */
static uint16_t oracle_fp16(float f) {
    uint32_t u = fbits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    if (isnan(f)) return (uint16_t)(sign | 0x7e00 | ((u >> 13) & 0x3ff));
    double a = fabs((double)f);
    if (a < 0x1p-14) return (uint16_t)(sign | (uint16_t)nearbyint(a * 0x1p24)); /* 1024 = smallest normal */
    int e;
    double m = frexp(a, &e); /* a = m * 2^e, m in [0.5, 1) */
    double q = nearbyint((2.0 * m - 1.0) * 1024.0);
    e -= 1;
    if (q == 1024.0) q = 0.0, e++;
    if (e + 15 >= 31) return (uint16_t)(sign | 0x7c00);
    return (uint16_t)(sign | ((e + 15) << 10) | (int)q);
}

static void test_half(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = ll_fp16_to_fp32((uint16_t)h);
        uint32_t e = (h >> 10) & 31, m = h & 1023;
        if (e == 31 && m) {
            /* NaN: payload kept, signalling stays signalling (as numpy) */
            uint32_t want = ((h & 0x8000u) << 16) | 0x7f800000u | (m << 13);
            if (fbits(f) != want) bad++;
            continue;
        }
        double want = (e == 0 ? ldexp((double)m, -24) : e == 31 ? INFINITY : ldexp(1024.0 + m, (int)e - 25));
        if (h & 0x8000) want = -want;
        if ((double)f != want || !!signbit(f) != !!(h & 0x8000)) bad++;
        if (ll_fp32_to_fp16(f) != h) bad++; /* every half round-trips */
    }
    CHECK(bad == 0, "fp16 -> fp32 exact and round-tripping for all 65536 halves (%d bad)", bad);

    /* float -> half against an independent float64 oracle (and the F16C instruction where built),
     * over a spread of all float bit patterns and every float near the subnormal, normal and overflow
     * boundaries */
    bad = 0;
    int bad_hw = 0;
    const uint32_t edges[] = {0x33000000u, 0x33400000u, 0x387fc000u, 0x38800000u, 0x477fe000u, 0x477ff000u};
    for (int pass = 0; pass < 2; pass++) {
        uint64_t lo = 0, hi = 1ULL << 32, step = 65521;
        for (size_t k = 0; k < (pass ? sizeof edges / sizeof edges[0] : 1); k++) {
            if (pass) lo = edges[k] - 4096, hi = edges[k] + 4096, step = 1;
            for (uint64_t u = lo; u < hi; u += step)
                for (uint32_t sgn = 0; sgn < 2; sgn++) {
                    float f = bitsf((uint32_t)u ^ (sgn << 31));
                    uint16_t got = ll_fp32_to_fp16(f);
                    if (got != oracle_fp16(f)) bad++;
#if defined(__F16C__)
                    if (got != (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)) bad_hw++;
#endif
                }
        }
    }
    CHECK(bad == 0, "fp32 -> fp16 matches the float64 oracle (%d bad)", bad);
    CHECK(bad_hw == 0, "fp32 -> fp16 matches vcvtps2ph (%d bad)", bad_hw);
    CHECK(ll_fp32_to_fp16(65519.0f) == 0x7bff && ll_fp32_to_fp16(65520.0f) == 0x7c00, "fp16 overflow threshold");
    CHECK(ll_fp32_to_fp16(0x1p-25f) == 0 && ll_fp32_to_fp16(0x1.000002p-25f) == 1, "fp16 smallest subnormal rounding");

    /* ll_round_f16 (8 at a time where F16C is built, then one by one) is the scalar round trip for every
     * non-NaN float of the spread and the boundaries above, at every offset within a vector */
    bad = 0;
    {
        enum { NB = 4099 };
        static float buf[NB];
        int nbuf = 0;
        for (int pass = 0; pass < 2; pass++) {
            uint64_t lo = 0, hi = 1ULL << 32, step = pass ? 1 : 65521;
            for (size_t k = 0; k < (pass ? sizeof edges / sizeof edges[0] : 1); k++) {
                if (pass) lo = edges[k] - 4096, hi = edges[k] + 4096;
                for (uint64_t u = lo; u <= hi; u += step) {
                    float f = bitsf((uint32_t)u);
                    if (isnan(f)) continue;
                    buf[nbuf++] = (u & 1) ? -f : f;
                    if (nbuf == NB || u + step > hi) {
                        float got[NB];
                        memcpy(got, buf, sizeof(float) * (size_t)nbuf);
                        ll_round_f16(got, (size_t)nbuf);
                        for (int i = 0; i < nbuf; i++)
                            bad += fbits(got[i]) != fbits(ll_fp16_to_fp32(ll_fp32_to_fp16(buf[i])));
                        nbuf = 0;
                    }
                }
            }
        }
    }
    CHECK(bad == 0, "ll_round_f16 equals the scalar fp16 round trip (%d bad)", bad);

    /* bf16: widening is exact; narrowing rounds to nearest even, NaN forced quiet */
    CHECK(fbits(ll_bf16_to_fp32(0x3f80)) == 0x3f800000u, "bf16 1.0");
    CHECK(ll_fp32_to_bf16(bitsf(0x3f808000u)) == 0x3f80, "bf16 tie to even (down)");
    CHECK(ll_fp32_to_bf16(bitsf(0x3f818000u)) == 0x3f82, "bf16 tie to even (up)");
    CHECK(ll_fp32_to_bf16(bitsf(0x3f808001u)) == 0x3f81, "bf16 above tie");
    CHECK(ll_fp32_to_bf16(bitsf(0x7f800001u)) == 0x7fc0, "bf16 signalling NaN made quiet");
    CHECK(ll_fp32_to_bf16(bitsf(0x7f7fffffu)) == 0x7f80, "bf16 overflow to inf");
}

/* ------------------------------------------------------------------ table rows ---------------- */

static void test_table(void) {
    static const struct { uint32_t id; int64_t blck; size_t size; const char *name; } rows[] = {
        {0, 1, 4, "f32"}, {1, 1, 2, "f16"}, {2, 32, 18, "q4_0"}, {3, 32, 20, "q4_1"}, {6, 32, 22, "q5_0"},
        {7, 32, 24, "q5_1"}, {8, 32, 34, "q8_0"}, {9, 32, 36, "q8_1"}, {10, 256, 84, "q2_K"},
        {11, 256, 110, "q3_K"}, {12, 256, 144, "q4_K"}, {13, 256, 176, "q5_K"}, {14, 256, 210, "q6_K"},
        {15, 256, 292, "q8_K"}, {16, 256, 66, "iq2_xxs"}, {17, 256, 74, "iq2_xs"}, {18, 256, 98, "iq3_xxs"},
        {19, 256, 50, "iq1_s"}, {20, 32, 18, "iq4_nl"}, {21, 256, 110, "iq3_s"}, {22, 256, 82, "iq2_s"},
        {23, 256, 136, "iq4_xs"}, {24, 1, 1, "i8"}, {25, 1, 2, "i16"}, {26, 1, 4, "i32"}, {27, 1, 8, "i64"},
        {28, 1, 8, "f64"}, {29, 256, 56, "iq1_m"}, {30, 1, 2, "bf16"}, {34, 256, 54, "tq1_0"},
        {35, 256, 66, "tq2_0"}, {39, 32, 17, "mxfp4"},
    };
    int known = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const ll_type_traits *t = ll_type_get(rows[i].id);
        CHECK(t && t->blck == rows[i].blck && t->type_size == rows[i].size && !strcmp(t->name, rows[i].name),
              "row %u (%s)", rows[i].id, rows[i].name);
    }
    for (uint32_t id = 0; id < 64; id++) known += ll_type_get(id) != NULL;
    CHECK(known == (int)(sizeof rows / sizeof rows[0]), "exactly the standard ids are known (%d)", known);
    CHECK(!ll_type_get(4) && !ll_type_get(5) && !ll_type_get(31) && !ll_type_get(40), "removed ids are unknown");
    CHECK(!strcmp(ll_type_name(99), "type 99"), "unknown name: %s", ll_type_name(99));
    CHECK(ll_row_size(LL_TYPE_Q4_K, 512) == 288 && ll_row_size(LL_TYPE_Q4_K, 100) == 0, "row size");
    static const uint32_t pairs[][2] = {
        {LL_TYPE_F32, LL_TYPE_F32}, {LL_TYPE_F16, LL_TYPE_F16}, {LL_TYPE_BF16, LL_TYPE_BF16},
        {LL_TYPE_Q4_0, LL_TYPE_Q8_0}, {LL_TYPE_Q4_1, LL_TYPE_Q8_1}, {LL_TYPE_Q5_0, LL_TYPE_Q8_0},
        {LL_TYPE_Q5_1, LL_TYPE_Q8_1}, {LL_TYPE_Q8_0, LL_TYPE_Q8_0}, {LL_TYPE_Q2_K, LL_TYPE_Q8_K},
        {LL_TYPE_Q3_K, LL_TYPE_Q8_K}, {LL_TYPE_Q4_K, LL_TYPE_Q8_K}, {LL_TYPE_Q5_K, LL_TYPE_Q8_K},
        {LL_TYPE_Q6_K, LL_TYPE_Q8_K},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const ll_type_traits *t = ll_type_get(pairs[i][0]), *r = ll_type_get_ref(pairs[i][0]);
        CHECK(t->to_float && t->vec_dot && t->vec_dot_type == pairs[i][1] && ll_type_get(pairs[i][1])->from_float,
              "%s computes, paired with %s", t->name, ll_type_name(pairs[i][1]));
        CHECK(r->to_float && r->vec_dot && r->vec_dot_type == t->vec_dot_type, "%s reference row", t->name);
    }
}

/* ------------------------------------------------------------------ dequantization ------------ */

/* The table's to_float against the reference, bit for bit, on unaligned input: random blocks with
 * fully random scale bits (so subnormal, inf and NaN scales occur), then random blocks with sane ones. */
static void test_to_float(void) {
    const int64_t n = 8192;
    uint8_t *buf = malloc(ll_row_size(LL_TYPE_F32, n) + 1);
    float *a = malloc((size_t)n * sizeof(float)), *b = malloc((size_t)n * sizeof(float));
    for (size_t q = 0; q < N_QUANTS + 3; q++) {
        uint32_t type = q < N_QUANTS ? k_quants[q].type : (uint32_t[]){LL_TYPE_F16, LL_TYPE_BF16, LL_TYPE_Q8_K}[q - N_QUANTS];
        const ll_type_traits *t = ll_type_get(type), *r = ll_type_get_ref(type);
        size_t bytes = ll_row_size(type, n);
        for (int round = 0; round < 2; round++) {
            uint8_t *x = buf + 1; /* deliberately misaligned */
            for (size_t i = 0; i < bytes; i++) x[i] = (uint8_t)rnd();
            if (round == 1 && q < N_QUANTS) random_weights(&k_quants[q], x, n);
            t->to_float(x, a, n);
            r->to_float(x, b, n);
            CHECK(memcmp(a, b, (size_t)n * sizeof(float)) == 0, "%s to_float bit-exact vs reference (%s scales)",
                  t->name, round ? "sane" : "random-bit");
        }
    }
    /* a few exact values */
    uint8_t blk[34] = {0};
    put16(blk, 0x3c00); /* d = 1 */
    blk[2] = (uint8_t)-3;
    blk[33] = 127;
    ll_type_get(LL_TYPE_Q8_0)->to_float(blk, a, 32);
    CHECK(a[0] == -3.0f && a[31] == 127.0f && a[1] == 0.0f, "q8_0 known values");
    free(buf);
    free(a);
    free(b);
}

/* ------------------------------------------------------------------ activation quantizers ----- */

static void test_from_float(void) {
    const int64_t n = 4096;
    float *x = malloc((size_t)n * sizeof(float));
    uint8_t *a = malloc((size_t)n * 4 + 64), *b = malloc((size_t)n * 4 + 64);
    const uint32_t types[] = {LL_TYPE_Q8_0, LL_TYPE_Q8_1, LL_TYPE_Q8_K, LL_TYPE_F16, LL_TYPE_BF16, LL_TYPE_F32};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const ll_type_traits *t = ll_type_get(types[k]), *r = ll_type_get_ref(types[k]);
        for (int round = 0; round < 4; round++) {
            random_floats(x, n, round == 0 ? 1.0f : round == 1 ? 1e-3f : 40.0f);
            if (round == 3) {
                /* ties, zero blocks, sign-of-max cases, huge and tiny values */
                for (int64_t i = 0; i < n; i++) x[i] = (float)((int64_t)(rnd() % 255) - 127) * 0.5f;
                for (int64_t i = 0; i < 256; i++) x[i] = 0.0f;
                x[300] = 5.0f; x[301] = -5.0f; x[600] = -7.0f; x[601] = 7.0f;
                if (types[k] == LL_TYPE_F16 || types[k] == LL_TYPE_BF16) {
                    x[1000] = INFINITY; x[1001] = -INFINITY; x[1002] = NAN; x[1003] = 1e-40f;
                    x[1004] = 65519.0f; x[1005] = 65520.0f; x[1006] = 3e38f; x[1007] = -0.0f;
                    x[1008] = bitsf(0x7f800001u); x[1009] = 0x1p-25f;
                }
            }
            size_t bytes = ll_row_size(types[k], n);
            memset(a, 0xAA, bytes);
            memset(b, 0x55, bytes);
            t->from_float(x, a + 1, n); /* misaligned output */
            r->from_float(x, b, n);
            CHECK(memcmp(a + 1, b, bytes) == 0, "%s from_float bit-exact vs reference (round %d)", t->name, round);
        }
    }
    /* q8_0 reference semantics: roundf (halves away from zero), d = amax/127 */
    float v[32] = {0};
    v[0] = 127.0f; v[1] = 2.5f; v[2] = -2.5f; v[3] = 0.49999997f; v[4] = -126.5f;
    ll_type_get(LL_TYPE_Q8_0)->from_float(v, a, 32);
    CHECK((int8_t)a[2] == 127 && (int8_t)a[3] == 3 && (int8_t)a[4] == -3 && (int8_t)a[5] == 0 && (int8_t)a[6] == -127,
          "q8_0 rounding: %d %d %d %d %d", (int8_t)a[2], (int8_t)a[3], (int8_t)a[4], (int8_t)a[5], (int8_t)a[6]);
    /* q8_K: the first element of largest magnitude maps to -127; round half to even */
    float w[256] = {0};
    w[0] = 2.0f; w[5] = 127.0f; w[6] = -127.0f; w[7] = 0.5f; w[8] = 1.5f;
    ll_type_get(LL_TYPE_Q8_K)->from_float(w, a, 256);
    const int8_t *qk = (const int8_t *)(a + 4);
    float dk;
    memcpy(&dk, a, 4);
    CHECK(qk[5] == -127 && qk[6] == 127 && qk[0] == -2 && qk[7] == 0 && qk[8] == -2 && dk == -1.0f,
          "q8_K: %d %d %d %d %d d=%g", qk[5], qk[6], qk[0], qk[7], qk[8], dk);
    free(x);
    free(a);
    free(b);
}

/* ------------------------------------------------------------------ dot products -------------- */

/* Tolerance, relative to S = sum over elements of |x_i*y_i| (using |d*q| + |offset| for x when the
 * type has a min/offset term, since the kernels sum those parts separately before they cancel):
 * every kernel computes each block's (or sub-block's) integer dot exactly, then rounds a handful of
 * times per block and sums blocks in float32. With at most 128 blocks summed per lane group for the
 * lengths here, the worst-case relative error of a float32 sum of k terms, about k * 2^-24, stays
 * below 128 * 6e-8 ~= 7.6e-6 < 1e-5. The same holds between the kernels and the float64 dot of the
 * dequantized rows, whose values are exact products of the same scales and quants (up to one rounding
 * each for q8_K's fp32 scale and for the affine types' subtraction). */
#define REL_TOL 1e-5

typedef struct {
    double ref64;   /* float64 dot of dequantized rows (corrected for q8_1's rounded block sums) */
    double mag;     /* S above */
} dot64;

static dot64 float64_dot(uint32_t type, const qinfo *qi, const uint8_t *x, const uint8_t *yq, int64_t n) {
    const ll_type_traits *t = ll_type_get_ref(type), *dt = ll_type_get_ref(t->vec_dot_type);
    float *xf = malloc((size_t)n * sizeof(float)), *yf = malloc((size_t)n * sizeof(float));
    float *off = calloc((size_t)n, sizeof(float));
    t->to_float(x, xf, n);
    dt->to_float(yq, yf, n);
    if (qi && qi->has_min) {
        /* the offset part alone: dequantize with all quants zeroed */
        size_t bytes = ll_row_size(type, n);
        uint8_t *z = malloc(bytes);
        memcpy(z, x, bytes);
        for (int64_t b = 0; b < n / t->blck; b++) memset(z + (size_t)b * t->type_size + qi->q0, 0, (size_t)(qi->q1 - qi->q0));
        t->to_float(z, off, n);
        free(z);
    }
    dot64 r = {0, 0};
    for (int64_t i = 0; i < n; i++) {
        r.ref64 += (double)xf[i] * yf[i];
        double mx = qi && qi->has_min ? fabs((double)xf[i] - off[i]) + fabs((double)off[i]) : fabs((double)xf[i]);
        r.mag += mx * fabs((double)yf[i]);
    }
    if (t->vec_dot_type == LL_TYPE_Q8_1) {
        /* the kernel uses m * s with s = fp16(dy * sum(qy)) as stored; the float64 dot has m * dy*sum(qy) */
        for (int64_t b = 0; b < n / 32; b++) {
            const uint8_t *xb = x + (size_t)b * t->type_size, *yb = yq + (size_t)b * 36;
            uint16_t hm, hd, hs;
            memcpy(&hm, xb + 2, 2);
            memcpy(&hd, yb, 2);
            memcpy(&hs, yb + 2, 2);
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += (int8_t)yb[4 + j];
            double dy = ll_fp16_to_fp32(hd);
            r.ref64 += (double)ll_fp16_to_fp32(hm) * ((double)ll_fp16_to_fp32(hs) - dy * sum);
        }
    }
    free(xf);
    free(yf);
    free(off);
    return r;
}

static void check_dot(uint32_t type, const qinfo *qi, int64_t n) {
    const ll_type_traits *t = ll_type_get(type), *r = ll_type_get_ref(type);
    const ll_type_traits *dt = ll_type_get(t->vec_dot_type);
    size_t xb = ll_row_size(type, n), yb = ll_row_size(t->vec_dot_type, n);
    uint8_t *x = malloc(xb + 3), *yq = malloc(yb + 3);
    float *act = malloc((size_t)n * sizeof(float));
    for (int trial = 0; trial < 8; trial++) {
        uint8_t *xp = x + (trial & 3), *yp = yq + ((trial >> 1) & 3); /* unaligned rows */
        if (qi) {
            random_weights(qi, xp, n);
        } else {
            float *w = malloc((size_t)n * sizeof(float));
            random_floats(w, n, 0.05f);
            ll_type_get(type)->from_float(w, xp, n);
            free(w);
        }
        random_floats(act, n, trial & 1 ? 1.0f : 0.02f);
        dt->from_float(act, yp, n);
        float fast = NAN, ref = NAN;
        t->vec_dot(n, &fast, xp, yp);
        r->vec_dot(n, &ref, xp, yp);
        dot64 d = float64_dot(type, qi, xp, yp, n);
        double tol = REL_TOL * d.mag + 1e-30;
        CHECK(fabs((double)fast - ref) <= tol, "%s n=%lld: simd %.9g vs scalar %.9g (tol %.3g)", t->name,
              (long long)n, fast, ref, tol);
        CHECK(fabs((double)ref - d.ref64) <= tol, "%s n=%lld: scalar %.9g vs float64 %.12g (tol %.3g)", t->name,
              (long long)n, ref, d.ref64, tol);
        CHECK(fabs((double)fast - d.ref64) <= tol, "%s n=%lld: simd %.9g vs float64 %.12g (tol %.3g)", t->name,
              (long long)n, fast, d.ref64, tol);
    }
    free(x);
    free(yq);
    free(act);
}

static void test_vec_dot(void) {
    static const int64_t lens32[] = {32, 64, 96, 576, 1536, 4096};
    static const int64_t lensK[] = {256, 512, 1536, 4096};
    static const int64_t lens1[] = {1, 7, 31, 33, 100, 576, 1000, 4096};
    for (size_t q = 0; q < N_QUANTS; q++) {
        const ll_type_traits *t = ll_type_get(k_quants[q].type);
        const int64_t *lens = t->blck == 32 ? lens32 : lensK;
        size_t nl = t->blck == 32 ? sizeof lens32 / sizeof lens32[0] : sizeof lensK / sizeof lensK[0];
        for (size_t k = 0; k < nl; k++) check_dot(k_quants[q].type, &k_quants[q], lens[k]);
    }
    const uint32_t ftypes[] = {LL_TYPE_F32, LL_TYPE_F16, LL_TYPE_BF16};
    for (size_t f = 0; f < 3; f++)
        for (size_t k = 0; k < sizeof lens1 / sizeof lens1[0]; k++) check_dot(ftypes[f], NULL, lens1[k]);

    /* ll_vec_dot_f32 against float64, all lengths 0..300 and some long ones, unaligned */
    float *a = malloc(8200 * sizeof(float)), *b = malloc(8200 * sizeof(float));
    random_floats(a, 8200, 1.0f);
    random_floats(b, 8200, 1.0f);
    int bad = 0;
    for (int64_t n = 0; n <= 8192; n = n < 300 ? n + 1 : n * 2 + 7) {
        if (n > 8192) break;
        double ref = 0, mag = 0;
        for (int64_t i = 0; i < n; i++) {
            ref += (double)a[i + 1] * b[i + 3];
            mag += fabs((double)a[i + 1] * b[i + 3]);
        }
        float s = NAN;
        ll_vec_dot_f32(n, &s, a + 1, b + 3);
        /* up to n/64+6 float32 roundings per lane chain (AVX-512: 4 x 16 lanes) */
        if (!(fabs((double)s - ref) <= REL_TOL * mag + 1e-30)) bad++;
    }
    CHECK(bad == 0, "ll_vec_dot_f32 vs float64 (%d bad lengths)", bad);
    free(a);
    free(b);
}

/* ------------------------------------------------------------------ throughput ---------------- */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void bench(uint32_t type, int64_t ncols, size_t weight_bytes, int ref) {
    const ll_type_traits *t = ref ? ll_type_get_ref(type) : ll_type_get(type);
    const ll_type_traits *dt = ll_type_get(t->vec_dot_type);
    size_t row = ll_row_size(type, ncols);
    int64_t nrows = (int64_t)(weight_bytes / row);
    uint8_t *w = malloc(row * (size_t)nrows), *yq = malloc(ll_row_size(t->vec_dot_type, ncols));
    float *act = malloc((size_t)ncols * sizeof(float)), *out = malloc((size_t)nrows * sizeof(float));
    const qinfo *qi = NULL;
    for (size_t q = 0; q < N_QUANTS; q++)
        if (k_quants[q].type == type) qi = &k_quants[q];
    for (int64_t r = 0; r < nrows; r++) random_weights(qi, w + (size_t)r * row, ncols);
    random_floats(act, ncols, 1.0f);
    dt->from_float(act, yq, ncols);
    double best = 1e30;
    int reps = weight_bytes > (64u << 20) ? 3 : 1;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        int iters = 0;
        do {
            for (int k = 0; k < reps; k++)
                for (int64_t r = 0; r < nrows; r++) t->vec_dot(ncols, &out[r], w + (size_t)r * row, yq);
            iters += reps;
        } while (now() - t0 < 0.05);
        double dt_s = (now() - t0) / iters;
        if (dt_s < best) best = dt_s;
    }
    printf("  %-5s x %-5s %s n=%-5lld %7.1f MB weights: %6.2f GB/s\n", t->name, ll_type_name(t->vec_dot_type),
           ref ? "scalar" : "table ", (long long)ncols, (double)(row * (size_t)nrows) / 1e6,
           (double)(row * (size_t)nrows) / best / 1e9);
    free(w);
    free(yq);
    free(act);
    free(out);
}

/* ll_lane_gemm over weights repacked by ll_lane_pack (AVX-512 VNNI builds: q4_0, q4_1, q5_0, q8_0, q6_K): every (row,
 * token) bit for bit what vec_dot gives for the pair, for 1..19 tokens (every remainder of the 8-token tiles),
 * both 16-row groups and each alone, unaligned row strides; rows outside the groups asked for stay untouched. */
static void test_gemm_lane(void) {
    for (size_t q = 0; q < N_QUANTS; q++) {
        uint32_t type = k_quants[q].type;
        const int64_t NR = 2 * LL_LANE_ROWS, NT = 19, K = ll_type_get(type)->blck == 32 ? 160 : 512;
        const size_t psz = ll_lane_pack_size(type, NR, K);
        if (!psz) continue;
        CHECK(ll_lane_pack_size(type, NR + 5, K) == psz && ll_lane_pack_size(type, LL_LANE_ROWS - 1, K) == 0 &&
                  ll_lane_pack_size(type, NR, K + 16) == 0,
              "%s: rows after the last whole group are left out, shapes the lane kernels cannot take refused",
              ll_type_name(type));
        const ll_type_traits *t = ll_type_get(type), *dt = ll_type_get(t->vec_dot_type);
        const size_t wrow = ll_row_size(type, K) + 3, xrow = ll_row_size(t->vec_dot_type, K) + 5;
        uint8_t *w = malloc(wrow * NR), *x = malloc(xrow * NT), *pk = malloc(psz);
        float *act = malloc((size_t)K * sizeof(float)), *y = malloc(sizeof(float) * NR * NT),
              *want = malloc(sizeof(float) * NR * NT);
        void *aux = malloc(ll_lane_aux_bytes(type, K) * NT);
        for (int r = 0; r < NR; r++) random_weights(&k_quants[q], w + (size_t)r * wrow, K);
        for (int i = 0; i < NT; i++) {
            random_floats(act, K, i % 3 == 0 ? 1.0f : i % 3 == 1 ? 0.05f : 30.0f);
            dt->from_float(act, x + (size_t)i * xrow, K);
        }
        ll_lane_pack(type, w, wrow, NR, K, pk);
        ll_lane_prep(type, K, x, xrow, NT, aux);
        for (int i = 0; i < NT; i++)
            for (int r = 0; r < NR; r++) t->vec_dot(K, &want[i * NR + r], w + (size_t)r * wrow, x + (size_t)i * xrow);
        int bad = 0, touched = 0;
        for (int g0 = 0; g0 < 2; g0++)
            for (int g1 = g0 + 1; g1 <= 2; g1++)
                for (int nt = 1; nt <= NT; nt++) {
                    for (int k = 0; k < NR * NT; k++) y[k] = -7.0f;
                    ll_lane_gemm(type, K, pk, g0, g1, x, xrow, aux, nt, y, NR);
                    for (int i = 0; i < NT; i++)
                        for (int r = 0; r < NR; r++) {
                            bool in = i < nt && r >= g0 * LL_LANE_ROWS && r < g1 * LL_LANE_ROWS;
                            if (in) bad += fbits(y[i * NR + r]) != fbits(want[i * NR + r]);
                            else touched += y[i * NR + r] != -7.0f;
                        }
                }
        CHECK(bad == 0, "%s lane gemm vs vec_dot: %d elements differ in their bits", t->name, bad);
        CHECK(touched == 0, "%s lane gemm wrote %d elements outside its rows and tokens", t->name, touched);
        free(w), free(x), free(pk), free(act), free(y), free(want), free(aux);
    }
}

/* ll_matmul in --llamacpp mode over a matrix whose rows end in a partial group (37 = 2 x 16 + 5): the groups go
 * through the lane kernels, the last 5 rows through vec_dot, and every (row, token) is bit for bit vec_dot on the
 * activations quantized as the matmul does, for 1, 2 and 3 threads and 1..9 tokens. */
static void test_matmul_lane_tail(void) {
    for (size_t q = 0; q < N_QUANTS; q++) {
        uint32_t type = k_quants[q].type;
        const ll_type_traits *t = ll_type_get(type), *dt = ll_type_get(t->vec_dot_type);
        const int64_t NR = 37, NT = 9, K = t->blck == 32 ? 96 : 256;
        if (!ll_lane_pack_size(type, NR, K)) continue;
        const size_t wrow = ll_row_size(type, K), xrow = ll_row_size(t->vec_dot_type, K);
        uint8_t *w = malloc(wrow * NR), *xq = malloc(xrow * NT);
        void *pk = malloc(ll_lane_pack_size(type, NR, K));
        float *x = malloc(sizeof(float) * (size_t)(K * NT)), *y = malloc(sizeof(float) * NR * NT),
              *want = malloc(sizeof(float) * NR * NT);
        for (int r = 0; r < NR; r++) random_weights(&k_quants[q], w + (size_t)r * wrow, K);
        random_floats(x, K * NT, 1.0f);
        ll_lane_pack(type, w, wrow, NR, K, pk);
        for (int i = 0; i < NT; i++) dt->from_float(x + i * K, xq + (size_t)i * xrow, K);
        for (int i = 0; i < NT; i++)
            for (int r = 0; r < NR; r++) t->vec_dot(K, &want[i * NR + r], w + (size_t)r * wrow, xq + (size_t)i * xrow);
        ll_mat W = {type, w, K, NR, wrow, pk};
        int bad = 0;
        for (int nth = 1; nth <= 3; nth++) {
            ll_pool *pool = ll_pool_new(nth);
            ll_workspace ws = {0};
            for (int nt = 1; nt <= NT; nt++) {
                if (ll_matmul(pool, &ws, &W, x, nt, y, 0)) { bad++; continue; }
                for (int k = 0; k < nt * NR; k++) bad += fbits(y[k]) != fbits(want[k]);
            }
            ll_workspace_free(&ws);
            ll_pool_free(pool);
        }
        CHECK(bad == 0, "%s matmul over lane groups and vec_dot rows: %d elements differ in their bits", t->name, bad);
        free(w), free(xq), free(pk), free(x), free(y), free(want);
    }
}

/* The exact mode's few-token GEMM straight from the stored type (fused in registers, or through L1 chunks)
 * against dequantizing whole rows and ll_gemm_f32: bit for bit, for every tile and remainder shape and for
 * rows that cross chunk boundaries or end in a tail shorter than 8. */
static void test_gemm_deq(void) {
    for (size_t q = 0; q < N_QUANTS + 2; q++) {
        uint32_t type = q < N_QUANTS ? k_quants[q].type : (uint32_t[]){LL_TYPE_F16, LL_TYPE_BF16}[q - N_QUANTS];
        const ll_type_traits *t = ll_type_get(type);
        const int64_t Ks[2] = {t->blck == 1 ? 19 : t->blck == 32 ? 96 : 512, t->blck == 1 ? 600 : t->blck == 32 ? 576 : 768};
        for (int ki = 0; ki < 2; ki++) {
            const int64_t K = Ks[ki];
            const size_t wrow = ll_row_size(type, K) + 3;
            uint8_t *w = malloc(wrow * 9);
            float *deq = malloc((size_t)K * 9 * sizeof(float)), *x = malloc((size_t)K * 5 * sizeof(float));
            float *scratch = malloc((size_t)LL_GEMM_DEQ_SCRATCH(K) * sizeof(float)), y[45], want[45];
            for (int r = 0; r < 9; r++) {
                if (q < N_QUANTS) {
                    random_weights(&k_quants[q], w + (size_t)r * wrow, K);
                } else {
                    random_floats(x, K, 0.3f);
                    t->from_float(x, w + (size_t)r * wrow, K);
                }
                t->to_float(w + (size_t)r * wrow, deq + (size_t)r * K, K);
            }
            random_floats(x, K * 5, 1.0f);
            ll_gemm_f32(K, deq, 9, x, 5, want, 9);
            int bad = 0;
            for (int nr = 1; nr <= 9; nr++)
                for (int nt = 1; nt <= 5; nt++) {
                    ll_gemm_deq(type, K, w, wrow, nr, x, nt, y, 9, scratch);
                    for (int i = 0; i < nt; i++)
                        for (int r = 0; r < nr; r++) bad += fbits(y[i * 9 + r]) != fbits(want[i * 9 + r]);
                }
            CHECK(bad == 0, "%s K=%lld gemm_deq vs to_float + gemm_f32: %d elements differ in their bits", t->name,
                  (long long)K, bad);
            free(w);
            free(deq);
            free(x);
            free(scratch);
        }
    }
}

/* ll_gemm_f32 against a double-precision dot product (float rounding of K-term sums: |error| well under
 * 1e-4 relative to sum |w x| for K <= 600), its tiles against its one-token path bit for bit, and the packed
 * path (ll_gemm_f32_pack + ll_gemm_f32_packed: AVX-512 token pairs) bit for bit against ll_gemm_f32, for every
 * tile edge (nr 1..9, nt 1..11) and K with and without a tail shorter than 8. */
static void test_gemm_f32(void) {
    const int64_t Ks[4] = {96, 100, 576, 1600}; /* 1600: the packed path's k passes of 768 (768, 768, 64) */
    for (int ki = 0; ki < 4; ki++) {
        const int64_t K = Ks[ki];
        float *w = malloc((size_t)K * 9 * sizeof(float)), *x = malloc((size_t)K * 11 * sizeof(float));
        float *xp = malloc((size_t)LL_GEMM_XPACK_FLOATS(K, 11) * sizeof(float)), y[99], one[99];
        random_floats(w, K * 9, 1.0f);
        random_floats(x, K * 11, 1.0f);
        int far = 0, bad = 0, badp = 0;
        for (int t = 0; t < 11; t++) {
            ll_gemm_f32(K, w, 9, x + t * K, 1, one + t * 9, 9);
            for (int r = 0; r < 9; r++) {
                double s = 0, sa = 0;
                for (int64_t k = 0; k < K; k++) {
                    s += (double)w[r * K + k] * x[t * K + k];
                    sa += fabs((double)w[r * K + k] * x[t * K + k]);
                }
                far += fabs(one[t * 9 + r] - s) > 1e-4 * sa;
            }
        }
        for (int nr = 1; nr <= 9; nr++)
            for (int nt = 1; nt <= 11; nt++) {
                ll_gemm_f32(K, w, nr, x, nt, y, 9);
                for (int i = 0; i < nt; i++)
                    for (int r = 0; r < nr; r++) bad += fbits(y[i * 9 + r]) != fbits(one[i * 9 + r]);
                const float *p = ll_gemm_f32_pack(K, x, nt, xp);
                badp += (p == xp) != ll_gemm_f32_packs(K); /* packed exactly where the predicate says */
                ll_gemm_f32_packed(K, w, nr, p, nt, y, 9);
                for (int i = 0; i < nt; i++)
                    for (int r = 0; r < nr; r++) badp += fbits(y[i * 9 + r]) != fbits(one[i * 9 + r]);
            }
        CHECK(far == 0, "K=%lld gemm_f32 vs double: %d elements outside 1e-4 of sum |w x|", (long long)K, far);
        CHECK(bad == 0, "K=%lld gemm_f32 tiles vs one token: %d elements differ in their bits", (long long)K, bad);
        CHECK(badp == 0, "K=%lld gemm_f32_packed vs gemm_f32: %d elements differ in their bits", (long long)K, badp);
        free(w);
        free(x);
        free(xp);
    }
}

/* The attention helpers: one query's dot products and weighted sums against double precision (1e-4 of the
 * sum of magnitudes), and the multi-query forms (shared key / value loads; AVX-512: query pairs in one zmm)
 * bit for bit the single-query results, for nq 1..5, head sizes 24 / 64 / 128 and per-query counts that cross
 * the blocks of 4 keys and the 64-row chunks. */
static void test_attention_rows(void) {
    const int64_t ns[3] = {24, 64, 128}, stride = 136, rows = 150;
    float *K = malloc((size_t)(stride * rows) * sizeof(float)), *q = malloc(5 * 128 * sizeof(float));
    float *a = malloc(5 * (size_t)rows * sizeof(float)), *one = malloc((size_t)rows * sizeof(float));
    float *out = malloc(5 * (size_t)rows * sizeof(float));
    random_floats(K, stride * rows, 1.0f);
    random_floats(q, 5 * 128, 1.0f);
    random_floats(a, 5 * rows, 1.0f);
    int far = 0, bad = 0;
    for (int ni = 0; ni < 3; ni++) {
        const int64_t n = ns[ni];
        for (int nq = 1; nq <= 5; nq++)
            for (int base = 1; base <= 140; base += 23) {
                int64_t cnt[5];
                const float *qp[5], *ap[5];
                float *op[5];
                for (int j = 0; j < nq; j++) {
                    cnt[j] = base + (j * 7) % 11;
                    qp[j] = q + j * 128;
                    ap[j] = a + j * rows;
                    op[j] = out + j * rows;
                }
                ll_dot_rows_multi_f32(n, nq, qp, K, stride, cnt, op);
                for (int j = 0; j < nq; j++) {
                    ll_dot_rows_f32(n, qp[j], K, stride, cnt[j], one);
                    for (int64_t s = 0; s < cnt[j]; s++) {
                        bad += fbits(one[s]) != fbits(op[j][s]);
                        double d = 0, m = 0;
                        for (int64_t i = 0; i < n; i++) {
                            d += (double)qp[j][i] * K[s * stride + i];
                            m += fabs((double)qp[j][i] * K[s * stride + i]);
                        }
                        far += fabs(one[s] - d) > 1e-4 * m;
                    }
                }
                ll_axpy_rows_multi_f32(n, nq, ap, K, stride, cnt, op);
                for (int j = 0; j < nq; j++) {
                    ll_axpy_rows_f32(n, ap[j], K, stride, cnt[j], one);
                    for (int64_t i = 0; i < n; i++) {
                        bad += fbits(one[i]) != fbits(op[j][i]);
                        double d = 0, m = 0;
                        for (int64_t s = 0; s < cnt[j]; s++) {
                            d += (double)ap[j][s] * K[s * stride + i];
                            m += fabs((double)ap[j][s] * K[s * stride + i]);
                        }
                        far += fabs(one[i] - d) > 1e-4 * m;
                    }
                }
            }
    }
    CHECK(far == 0, "attention rows vs double: %d values outside 1e-4 of the sum of magnitudes", far);
    CHECK(bad == 0, "multi-query attention rows vs one query: %d values differ in their bits", bad);
    free(K);
    free(q);
    free(a);
    free(one);
    free(out);
}

int main(void) {
    test_half();
    test_table();
    test_to_float();
    test_from_float();
    test_vec_dot();
    test_gemm_lane();
    test_matmul_lane_tail();
    test_gemm_deq();
    test_gemm_f32();
    test_attention_rows();
    printf("vec_dot throughput, single thread, kernels: %s%s\n", ll_type_kernels(),
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
           "");
    const int full = 1;
#else
           " (unoptimized or sanitizer build: numbers not meaningful)");
    const int full = 0;
#endif
    bench(LL_TYPE_Q4_1, 576, 256 << 10, 0);
    bench(LL_TYPE_Q8_0, 576, 256 << 10, 0);
    if (full) {
        bench(LL_TYPE_Q4_1, 1536, 256 << 10, 0);
        bench(LL_TYPE_Q4_1, 576, 256 << 10, 1);
        bench(LL_TYPE_Q4_1, 576, 96 << 20, 0);
        bench(LL_TYPE_Q8_0, 576, 256 << 10, 1);
        bench(LL_TYPE_Q8_0, 576, 96 << 20, 0);
        bench(LL_TYPE_Q4_K, 1536, 256 << 10, 0);
        bench(LL_TYPE_Q5_K, 1536, 256 << 10, 0);
        bench(LL_TYPE_Q6_K, 1536, 256 << 10, 0);
    }
    return CHECK_DONE();
}
