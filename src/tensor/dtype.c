/* dtype.c — the tensor type table, fp16/bf16 conversion, and the scalar reference kernels.
 *
 * Dequantizers reproduce gguf-py's numpy dequantize (gguf/quants.py) bit for bit: every value is
 * computed in float32 with the same operations in the same order, e.g. q4_1 is (d*q) + m and q4_K is
 * (d*sc)*q - (dmin*m), each product and sum rounded separately. That needs the compiler not to fuse
 * a*b + c into an FMA: the build compiles ISO C (-std=c11), where GCC's default is -ffp-contract=off,
 * and tests/test_dequant.sh checks the result against numpy bit for bit.
 *
 * Activation quantizers (q8_0, q8_1, q8_K) follow ggml's reference versions (quantize_row_*_ref):
 * q8_0/q8_1 round with roundf (halves away from zero), q8_K rounds to nearest even.
 *
 * Dot products pair as ggml's CPU backend does: q4_0, q5_0, q8_0 with q8_0; q4_1, q5_1 with q8_1;
 * the K-quants with q8_K; f16 with f16; bf16 with bf16; f32 with f32. The scalar versions here are the
 * reference: exact integer sums per block, then a float sum over blocks.
 */
#include "tensor/dtype.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tensor/dtype_impl.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

/* ---------------------------------------------------------------- fp16 / bf16 ------------------ */

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* Exact. NaN payloads are kept as numpy keeps them (a signalling NaN stays signalling). */
float ll_fp16_to_fp32(uint16_t h) {
#if defined(__F16C__)
    if ((h & 0x7c00u) != 0x7c00u) return _cvtsh_ss(h); /* exact; only NaN handling differs */
#endif
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in float */
        float v = (float)man * 0x1p-24f;
        return bits_f32(sign | f32_bits(v));
    }
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

/* Round to nearest even, overflow to inf, subnormal halves produced exactly. NaN becomes a quiet NaN
 * keeping the top payload bits (what the F16C instruction vcvtps2ph does). */
uint16_t ll_fp32_to_fp16(float f) {
#if defined(__F16C__)
    return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); /* the same function, in hardware */
#else
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to inf (and inf) */
    uint32_t e = ax >> 23;
    if (e < 113) {
        /* below 2^-14: a subnormal half (or zero); count of 2^-24 units = mant >> (126 - e) */
        if (e < 102) return sign; /* < 2^-25: rounds to zero */
        uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t h = ((e - 112) << 10) | ((ax & 0x7fffffu) >> 13);
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* a carry moves into the exponent */
    return (uint16_t)(sign | h);
#endif
}

float ll_bf16_to_fp32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

/* As ggml (ggml_compute_fp32_to_bf16): NaN forced quiet, otherwise round to nearest even. */
uint16_t ll_fp32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

/* ---------------------------------------------------------------- dequantization (reference) --- */

static void deq_f32(const void *vx, float *y, int64_t n) { memcpy(y, vx, (size_t)n * sizeof(float)); }

static void deq_f16(const void *vx, float *y, int64_t n) {
    const uint8_t *x = vx;
    for (int64_t i = 0; i < n; i++) y[i] = ll_ld_f16(x + 2 * i);
}

static void deq_bf16(const void *vx, float *y, int64_t n) {
    const uint8_t *x = vx;
    for (int64_t i = 0; i < n; i++) y[i] = ll_bf16_to_fp32(ll_ld_u16(x + 2 * i));
}

static void deq_q4_0(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK; i++, b += LL_Q4_0_SIZE, y += LL_QK) {
        const float d = ll_ld_f16(b);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)((b[2 + j] & 15) - 8);
            y[j + 16] = d * (float)((b[2 + j] >> 4) - 8);
        }
    }
}

static void deq_q4_1(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK; i++, b += LL_Q4_1_SIZE, y += LL_QK) {
        const float d = ll_ld_f16(b), m = ll_ld_f16(b + 2);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)(b[4 + j] & 15) + m;
            y[j + 16] = d * (float)(b[4 + j] >> 4) + m;
        }
    }
}

static void deq_q5_0(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK; i++, b += LL_Q5_0_SIZE, y += LL_QK) {
        const float d = ll_ld_f16(b);
        const uint32_t qh = ll_ld_u32(b + 2);
        for (int j = 0; j < 16; j++) {
            int q0 = (b[6 + j] & 15) | (int)(((qh >> j) & 1) << 4);
            int q1 = (b[6 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)(q0 - 16);
            y[j + 16] = d * (float)(q1 - 16);
        }
    }
}

static void deq_q5_1(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK; i++, b += LL_Q5_1_SIZE, y += LL_QK) {
        const float d = ll_ld_f16(b), m = ll_ld_f16(b + 2);
        const uint32_t qh = ll_ld_u32(b + 4);
        for (int j = 0; j < 16; j++) {
            int q0 = (b[8 + j] & 15) | (int)(((qh >> j) & 1) << 4);
            int q1 = (b[8 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)q0 + m;
            y[j + 16] = d * (float)q1 + m;
        }
    }
}

static void deq_q8_0(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK; i++, b += LL_Q8_0_SIZE, y += LL_QK) {
        const float d = ll_ld_f16(b);
        for (int j = 0; j < LL_QK; j++) y[j] = (float)(int8_t)b[2 + j] * d;
    }
}

/* q8_1 is an activation type: d times the quants (s, the block sum, is not a value). */
static void deq_q8_1(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK; i++, b += LL_Q8_1_SIZE, y += LL_QK) {
        const float d = ll_ld_f16(b);
        for (int j = 0; j < LL_QK; j++) y[j] = (float)(int8_t)b[4 + j] * d;
    }
}

static void deq_q2_K(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK_K; i++, b += LL_Q2_K_SIZE, y += LL_QK_K) {
        const float d = ll_ld_f16(b + 80), dmin = ll_ld_f16(b + 82);
        const uint8_t *sc = b, *qs = b + 16;
        /* element 128h + 32s + l: bits 2s..2s+1 of qs[32h + l]; sub-block of 16 = (128h + 32s + l) / 16 */
        for (int h = 0; h < 2; h++)
            for (int s = 0; s < 4; s++)
                for (int half = 0; half < 2; half++) {
                    const int g = 8 * h + 2 * s + half;
                    const float dl = d * (float)(sc[g] & 15), ml = dmin * (float)(sc[g] >> 4);
                    const uint8_t *q = qs + 32 * h + 16 * half;
                    float *o = y + 16 * g;
                    for (int l = 0; l < 16; l++) o[l] = dl * (float)((q[l] >> (2 * s)) & 3) - ml;
                }
    }
}

static void deq_q3_K(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK_K; i++, b += LL_Q3_K_SIZE, y += LL_QK_K) {
        const float d = ll_ld_f16(b + 108);
        int8_t sc[16];
        ll_k3_scales(b + 96, sc);
        const uint8_t *hm = b, *qs = b + 32;
        /* element 128h + 32s + l: bits 2s..2s+1 of qs[32h + l], minus 4 unless bit 4h+s of hmask[l] */
        for (int h = 0; h < 2; h++)
            for (int s = 0; s < 4; s++)
                for (int half = 0; half < 2; half++) {
                    const int g = 8 * h + 2 * s + half;
                    const float dl = d * (float)sc[g];
                    const uint8_t *q = qs + 32 * h + 16 * half, *m = hm + 16 * half;
                    float *o = y + 16 * g;
                    for (int l = 0; l < 16; l++) {
                        int v = ((q[l] >> (2 * s)) & 3) - (((m[l] >> (4 * h + s)) & 1) ? 0 : 4);
                        o[l] = dl * (float)v;
                    }
                }
    }
}

static void deq_q4_K(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK_K; i++, b += LL_Q4_K_SIZE, y += LL_QK_K) {
        const float d = ll_ld_f16(b), dmin = ll_ld_f16(b + 2);
        uint8_t sc[8], mn[8];
        ll_k4_scale_min(b + 4, sc, mn);
        const uint8_t *qs = b + 16;
        for (int j = 0; j < 8; j++) {
            const float dl = d * (float)sc[j], ml = dmin * (float)mn[j];
            const uint8_t *q = qs + 32 * (j >> 1);
            const int sh = 4 * (j & 1);
            for (int l = 0; l < 32; l++) y[32 * j + l] = dl * (float)((q[l] >> sh) & 15) - ml;
        }
    }
}

static void deq_q5_K(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK_K; i++, b += LL_Q5_K_SIZE, y += LL_QK_K) {
        const float d = ll_ld_f16(b), dmin = ll_ld_f16(b + 2);
        uint8_t sc[8], mn[8];
        ll_k4_scale_min(b + 4, sc, mn);
        const uint8_t *qh = b + 16, *qs = b + 48;
        for (int j = 0; j < 8; j++) {
            const float dl = d * (float)sc[j], ml = dmin * (float)mn[j];
            const uint8_t *q = qs + 32 * (j >> 1);
            const int sh = 4 * (j & 1);
            for (int l = 0; l < 32; l++) {
                int v = ((q[l] >> sh) & 15) | (((qh[l] >> j) & 1) << 4);
                y[32 * j + l] = dl * (float)v - ml;
            }
        }
    }
}

static void deq_q6_K(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK_K; i++, b += LL_Q6_K_SIZE, y += LL_QK_K) {
        const float d = ll_ld_f16(b + 208);
        const int8_t *sc = (const int8_t *)(b + 192);
        /* element 128h + 32s + l: low 4 bits from nibble s>>1 of ql[64h + 32(s&1) + l], high 2 bits
         * from bits 2s..2s+1 of qh[32h + l] */
        for (int h = 0; h < 2; h++)
            for (int s = 0; s < 4; s++)
                for (int half = 0; half < 2; half++) {
                    const int g = 8 * h + 2 * s + half;
                    const float dl = d * (float)sc[g];
                    const uint8_t *ql = b + 64 * h + 32 * (s & 1) + 16 * half, *qh = b + 128 + 32 * h + 16 * half;
                    float *o = y + 16 * g;
                    for (int l = 0; l < 16; l++) {
                        int v = ((ql[l] >> (4 * (s >> 1))) & 15) | (((qh[l] >> (2 * s)) & 3) << 4);
                        o[l] = dl * (float)(v - 32);
                    }
                }
    }
}

static void deq_q8_K(const void *vx, float *y, int64_t n) {
    const uint8_t *b = vx;
    for (int64_t i = 0; i < n / LL_QK_K; i++, b += LL_Q8_K_SIZE, y += LL_QK_K) {
        const float d = ll_ld_f32(b);
        for (int j = 0; j < LL_QK_K; j++) y[j] = d * (float)(int8_t)b[LL_Q8_K_QS + j];
    }
}

/* ---------------------------------------------------------------- quantization (reference) ----- */

static void quant_f32(const float *x, void *y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }

static void quant_f16(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = ll_fp32_to_fp16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

void ll_round_f16(float *x, size_t n) {
    size_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
    /* the same rounding as ll_fp32_to_fp16 and back, 8 at a time (finite values and infinities alike) */
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
#endif
    for (; i < n; i++) x[i] = ll_fp16_to_fp32(ll_fp32_to_fp16(x[i]));
}

static void quant_bf16(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = ll_fp32_to_bf16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

static void quant_q8_0(const float *x, void *vy, int64_t n) {
    uint8_t *b = vy;
    for (int64_t i = 0; i < n / LL_QK; i++, b += LL_Q8_0_SIZE, x += LL_QK) {
        float amax = 0.0f;
        for (int j = 0; j < LL_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t hd = ll_fp32_to_fp16(d);
        memcpy(b, &hd, 2);
        for (int j = 0; j < LL_QK; j++) b[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
    }
}

static void quant_q8_1(const float *x, void *vy, int64_t n) {
    uint8_t *b = vy;
    for (int64_t i = 0; i < n / LL_QK; i++, b += LL_Q8_1_SIZE, x += LL_QK) {
        float amax = 0.0f;
        for (int j = 0; j < LL_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < LL_QK; j++) {
            int8_t q = (int8_t)roundf(x[j] * id);
            b[4 + j] = (uint8_t)q;
            sum += q;
        }
        uint16_t hd = ll_fp32_to_fp16(d), hs = ll_fp32_to_fp16((float)sum * d);
        memcpy(b, &hd, 2);
        memcpy(b + 2, &hs, 2);
    }
}

/* Round to nearest, ties to even, independent of the FP environment (|v| < 2^22). */
static inline int nearest_even(float v) {
    float t = v + 12582912.0f; /* 1.5 * 2^23: the integer part lands in the low mantissa bits */
    return (int)(f32_bits(t) & 0x7fffffu) - 0x400000;
}

static void quant_q8_K(const float *x, void *vy, int64_t n) {
    uint8_t *b = vy;
    for (int64_t i = 0; i < n / LL_QK_K; i++, b += LL_Q8_K_SIZE, x += LL_QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < LL_QK_K; j++) {
            float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0.0f) {
            memset(b, 0, LL_Q8_K_SIZE);
            continue;
        }
        const float iscale = -127.0f / max;
        int8_t *q = (int8_t *)(b + LL_Q8_K_QS);
        for (int j = 0; j < LL_QK_K; j++) {
            int v = nearest_even(iscale * x[j]);
            q[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += q[16 * g + j];
            int16_t s16 = (int16_t)s;
            memcpy(b + LL_Q8_K_BSUMS + 2 * g, &s16, 2);
        }
        const float d = 1.0f / iscale;
        memcpy(b, &d, 4);
    }
}

/* ---------------------------------------------------------------- dot products (reference) ------ */

/* Rows of any alignment (a GGUF f32 row is 4-aligned, but the table's contract is bytes). */
static void dot_f32(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) acc += (double)ll_ld_f32(x + 4 * i) * (double)ll_ld_f32(y + 4 * i);
    *s = (float)acc;
}

static void dot_f16(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) acc += (double)ll_ld_f16(x + 2 * i) * (double)ll_ld_f16(y + 2 * i);
    *s = (float)acc;
}

static void dot_bf16(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++)
        acc += (double)ll_bf16_to_fp32(ll_ld_u16(x + 2 * i)) * (double)ll_bf16_to_fp32(ll_ld_u16(y + 2 * i));
    *s = (float)acc;
}

static void dot_q4_0(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LL_QK; i++, x += LL_Q4_0_SIZE, y += LL_Q8_0_SIZE) {
        const int8_t *q8 = (const int8_t *)(y + 2);
        int isum = 0;
        for (int j = 0; j < 16; j++)
            isum += ((x[2 + j] & 15) - 8) * q8[j] + ((x[2 + j] >> 4) - 8) * q8[j + 16];
        sum += (float)isum * (ll_ld_f16(x) * ll_ld_f16(y));
    }
    *s = sum;
}

static void dot_q4_1(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LL_QK; i++, x += LL_Q4_1_SIZE, y += LL_Q8_1_SIZE) {
        const int8_t *q8 = (const int8_t *)(y + 4);
        int isum = 0;
        for (int j = 0; j < 16; j++) isum += (x[4 + j] & 15) * q8[j] + (x[4 + j] >> 4) * q8[j + 16];
        sum += (ll_ld_f16(x) * ll_ld_f16(y)) * (float)isum + ll_ld_f16(x + 2) * ll_ld_f16(y + 2);
    }
    *s = sum;
}

static void dot_q5_0(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LL_QK; i++, x += LL_Q5_0_SIZE, y += LL_Q8_0_SIZE) {
        const int8_t *q8 = (const int8_t *)(y + 2);
        const uint32_t qh = ll_ld_u32(x + 2);
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = ((x[6 + j] & 15) | (int)(((qh >> j) & 1) << 4)) - 16;
            int q1 = ((x[6 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - 16;
            isum += q0 * q8[j] + q1 * q8[j + 16];
        }
        sum += (float)isum * (ll_ld_f16(x) * ll_ld_f16(y));
    }
    *s = sum;
}

static void dot_q5_1(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LL_QK; i++, x += LL_Q5_1_SIZE, y += LL_Q8_1_SIZE) {
        const int8_t *q8 = (const int8_t *)(y + 4);
        const uint32_t qh = ll_ld_u32(x + 4);
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (x[8 + j] & 15) | (int)(((qh >> j) & 1) << 4);
            int q1 = (x[8 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            isum += q0 * q8[j] + q1 * q8[j + 16];
        }
        sum += (ll_ld_f16(x) * ll_ld_f16(y)) * (float)isum + ll_ld_f16(x + 2) * ll_ld_f16(y + 2);
    }
    *s = sum;
}

static void dot_q8_0(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LL_QK; i++, x += LL_Q8_0_SIZE, y += LL_Q8_0_SIZE) {
        const int8_t *a = (const int8_t *)(x + 2), *c = (const int8_t *)(y + 2);
        int isum = 0;
        for (int j = 0; j < LL_QK; j++) isum += a[j] * c[j];
        sum += (float)isum * (ll_ld_f16(x) * ll_ld_f16(y));
    }
    *s = sum;
}

/* K-quants: per super-block, sum_j scale_j * sum(q*y) and sum_j min_j * sum(y) as exact integers
 * (the q8_K block sums give sum(y) per 16), then one float multiply-add each with d*dy, dmin*dy. */
static inline int16_t q8k_bsum(const uint8_t *y, int g) { return ll_ld_i16(y + LL_Q8_K_BSUMS + 2 * g); }

static void dot_q2_K(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LL_QK_K; i++, x += LL_Q2_K_SIZE, y += LL_Q8_K_SIZE) {
        const int8_t *q8 = (const int8_t *)(y + LL_Q8_K_QS);
        int isum = 0, imin = 0;
        for (int g = 0; g < 16; g++) { /* sub-block g = 8h + 2s + half, as in deq_q2_K */
            const int h = g >> 3, sh = (g >> 1) & 3, half = g & 1;
            const uint8_t *q = x + 16 + 32 * h + 16 * half;
            int gs = 0;
            for (int l = 0; l < 16; l++) gs += ((q[l] >> (2 * sh)) & 3) * q8[16 * g + l];
            isum += (x[g] & 15) * gs;
            imin += (x[g] >> 4) * q8k_bsum(y, g);
        }
        const float dy = ll_ld_f32(y);
        sum += (ll_ld_f16(x + 80) * dy) * (float)isum - (ll_ld_f16(x + 82) * dy) * (float)imin;
    }
    *s = sum;
}

static void dot_q3_K(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LL_QK_K; i++, x += LL_Q3_K_SIZE, y += LL_Q8_K_SIZE) {
        const int8_t *q8 = (const int8_t *)(y + LL_Q8_K_QS);
        int8_t sc[16];
        ll_k3_scales(x + 96, sc);
        int isum = 0;
        for (int g = 0; g < 16; g++) { /* as in deq_q3_K */
            const int h = g >> 3, sh = (g >> 1) & 3, half = g & 1;
            const uint8_t *q = x + 32 + 32 * h + 16 * half, *m = x + 16 * half;
            int gs = 0;
            for (int l = 0; l < 16; l++)
                gs += (((q[l] >> (2 * sh)) & 3) - (((m[l] >> (4 * h + sh)) & 1) ? 0 : 4)) * q8[16 * g + l];
            isum += sc[g] * gs;
        }
        sum += (ll_ld_f16(x + 108) * ll_ld_f32(y)) * (float)isum;
    }
    *s = sum;
}

static void dot_q4_K(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LL_QK_K; i++, x += LL_Q4_K_SIZE, y += LL_Q8_K_SIZE) {
        const int8_t *q8 = (const int8_t *)(y + LL_Q8_K_QS);
        uint8_t sc[8], mn[8];
        ll_k4_scale_min(x + 4, sc, mn);
        int isum = 0, imin = 0;
        for (int j = 0; j < 8; j++) {
            const uint8_t *q = x + 16 + 32 * (j >> 1);
            const int sh = 4 * (j & 1);
            int gs = 0;
            for (int l = 0; l < 32; l++) gs += ((q[l] >> sh) & 15) * q8[32 * j + l];
            isum += sc[j] * gs;
            imin += mn[j] * (q8k_bsum(y, 2 * j) + q8k_bsum(y, 2 * j + 1));
        }
        const float dy = ll_ld_f32(y);
        sum += (ll_ld_f16(x) * dy) * (float)isum - (ll_ld_f16(x + 2) * dy) * (float)imin;
    }
    *s = sum;
}

static void dot_q5_K(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LL_QK_K; i++, x += LL_Q5_K_SIZE, y += LL_Q8_K_SIZE) {
        const int8_t *q8 = (const int8_t *)(y + LL_Q8_K_QS);
        uint8_t sc[8], mn[8];
        ll_k4_scale_min(x + 4, sc, mn);
        const uint8_t *qh = x + 16;
        int isum = 0, imin = 0;
        for (int j = 0; j < 8; j++) {
            const uint8_t *q = x + 48 + 32 * (j >> 1);
            const int sh = 4 * (j & 1);
            int gs = 0;
            for (int l = 0; l < 32; l++)
                gs += (((q[l] >> sh) & 15) | (((qh[l] >> j) & 1) << 4)) * q8[32 * j + l];
            isum += sc[j] * gs;
            imin += mn[j] * (q8k_bsum(y, 2 * j) + q8k_bsum(y, 2 * j + 1));
        }
        const float dy = ll_ld_f32(y);
        sum += (ll_ld_f16(x) * dy) * (float)isum - (ll_ld_f16(x + 2) * dy) * (float)imin;
    }
    *s = sum;
}

static void dot_q6_K(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / LL_QK_K; i++, x += LL_Q6_K_SIZE, y += LL_Q8_K_SIZE) {
        const int8_t *q8 = (const int8_t *)(y + LL_Q8_K_QS);
        const int8_t *sc = (const int8_t *)(x + 192);
        int isum = 0;
        for (int g = 0; g < 16; g++) { /* as in deq_q6_K */
            const int h = g >> 3, sh = (g >> 1) & 3, half = g & 1;
            const uint8_t *ql = x + 64 * h + 32 * (sh & 1) + 16 * half, *qh = x + 128 + 32 * h + 16 * half;
            int gs = 0;
            for (int l = 0; l < 16; l++) {
                int v = ((ql[l] >> (4 * (sh >> 1))) & 15) | (((qh[l] >> (2 * sh)) & 3) << 4);
                gs += (v - 32) * q8[16 * g + l];
            }
            isum += sc[g] * gs;
        }
        sum += (ll_ld_f16(x + 208) * ll_ld_f32(y)) * (float)isum;
    }
    *s = sum;
}

/* ---------------------------------------------------------------- the tables ------------------- */

#define ROW(id, nm, bl, sz) [id] = {.name = nm, .blck = bl, .type_size = sz, .vec_dot_type = id}
#define CROW(id, nm, bl, sz, tf, ff, vdt, vd) \
    [id] = {.name = nm, .blck = bl, .type_size = sz, .to_float = tf, .from_float = ff, .vec_dot_type = vdt, .vec_dot = vd}

/* Rows every standard ggml id 0..39 has, whether or not layerlab computes with it. Removed ids (4, 5,
 * 31-33, 36-38) stay empty. Sizes follow ggml (q8_1 is 36 bytes: fp16 d and s; gguf-py 0.19's table
 * still says 40, the old fp32 layout). */
#define SIZE_ONLY_ROWS                                                          \
    ROW(16, "iq2_xxs", LL_QK_K, 66), ROW(17, "iq2_xs", LL_QK_K, 74),           \
    ROW(18, "iq3_xxs", LL_QK_K, 98), ROW(19, "iq1_s", LL_QK_K, 50),            \
    ROW(20, "iq4_nl", 32, 18), ROW(21, "iq3_s", LL_QK_K, 110),                 \
    ROW(22, "iq2_s", LL_QK_K, 82), ROW(23, "iq4_xs", LL_QK_K, 136),            \
    ROW(LL_TYPE_I8, "i8", 1, 1), ROW(LL_TYPE_I16, "i16", 1, 2),                 \
    ROW(LL_TYPE_I32, "i32", 1, 4), ROW(LL_TYPE_I64, "i64", 1, 8),               \
    ROW(LL_TYPE_F64, "f64", 1, 8), ROW(29, "iq1_m", LL_QK_K, 56),              \
    ROW(34, "tq1_0", LL_QK_K, 54), ROW(35, "tq2_0", LL_QK_K, 66),              \
    ROW(39, "mxfp4", 32, 17)

static const ll_type_traits g_ref[LL_TYPE_COUNT] = {
    CROW(LL_TYPE_F32, "f32", 1, 4, deq_f32, quant_f32, LL_TYPE_F32, dot_f32),
    CROW(LL_TYPE_F16, "f16", 1, 2, deq_f16, quant_f16, LL_TYPE_F16, dot_f16),
    CROW(LL_TYPE_BF16, "bf16", 1, 2, deq_bf16, quant_bf16, LL_TYPE_BF16, dot_bf16),
    CROW(LL_TYPE_Q4_0, "q4_0", 32, LL_Q4_0_SIZE, deq_q4_0, NULL, LL_TYPE_Q8_0, dot_q4_0),
    CROW(LL_TYPE_Q4_1, "q4_1", 32, LL_Q4_1_SIZE, deq_q4_1, NULL, LL_TYPE_Q8_1, dot_q4_1),
    CROW(LL_TYPE_Q5_0, "q5_0", 32, LL_Q5_0_SIZE, deq_q5_0, NULL, LL_TYPE_Q8_0, dot_q5_0),
    CROW(LL_TYPE_Q5_1, "q5_1", 32, LL_Q5_1_SIZE, deq_q5_1, NULL, LL_TYPE_Q8_1, dot_q5_1),
    CROW(LL_TYPE_Q8_0, "q8_0", 32, LL_Q8_0_SIZE, deq_q8_0, quant_q8_0, LL_TYPE_Q8_0, dot_q8_0),
    CROW(LL_TYPE_Q8_1, "q8_1", 32, LL_Q8_1_SIZE, deq_q8_1, quant_q8_1, LL_TYPE_Q8_1, NULL),
    CROW(LL_TYPE_Q2_K, "q2_K", LL_QK_K, LL_Q2_K_SIZE, deq_q2_K, NULL, LL_TYPE_Q8_K, dot_q2_K),
    CROW(LL_TYPE_Q3_K, "q3_K", LL_QK_K, LL_Q3_K_SIZE, deq_q3_K, NULL, LL_TYPE_Q8_K, dot_q3_K),
    CROW(LL_TYPE_Q4_K, "q4_K", LL_QK_K, LL_Q4_K_SIZE, deq_q4_K, NULL, LL_TYPE_Q8_K, dot_q4_K),
    CROW(LL_TYPE_Q5_K, "q5_K", LL_QK_K, LL_Q5_K_SIZE, deq_q5_K, NULL, LL_TYPE_Q8_K, dot_q5_K),
    CROW(LL_TYPE_Q6_K, "q6_K", LL_QK_K, LL_Q6_K_SIZE, deq_q6_K, NULL, LL_TYPE_Q8_K, dot_q6_K),
    CROW(LL_TYPE_Q8_K, "q8_K", LL_QK_K, LL_Q8_K_SIZE, deq_q8_K, quant_q8_K, LL_TYPE_Q8_K, NULL),
    SIZE_ONLY_ROWS,
};

#if defined(LL_HAVE_X86)
static const ll_type_traits g_fast[LL_TYPE_COUNT] = {
    CROW(LL_TYPE_F32, "f32", 1, 4, deq_f32, quant_f32, LL_TYPE_F32, ll_x86_vec_dot_f32),
    CROW(LL_TYPE_F16, "f16", 1, 2, ll_x86_to_float_f16, ll_x86_from_float_f16, LL_TYPE_F16, ll_x86_vec_dot_f16),
    /* bf16 -> f32 is a shift the compiler vectorizes as well as intrinsics would */
    CROW(LL_TYPE_BF16, "bf16", 1, 2, deq_bf16, ll_x86_from_float_bf16, LL_TYPE_BF16, ll_x86_vec_dot_bf16),
    CROW(LL_TYPE_Q4_0, "q4_0", 32, LL_Q4_0_SIZE, ll_x86_to_float_q4_0, NULL, LL_TYPE_Q8_0, ll_x86_lane_vec_dot_q4_0),
    CROW(LL_TYPE_Q4_1, "q4_1", 32, LL_Q4_1_SIZE, ll_x86_to_float_q4_1, NULL, LL_TYPE_Q8_1, ll_x86_lane_vec_dot_q4_1),
    CROW(LL_TYPE_Q5_0, "q5_0", 32, LL_Q5_0_SIZE, ll_x86_to_float_q5_0, NULL, LL_TYPE_Q8_0, ll_x86_lane_vec_dot_q5_0),
    CROW(LL_TYPE_Q5_1, "q5_1", 32, LL_Q5_1_SIZE, ll_x86_to_float_q5_1, NULL, LL_TYPE_Q8_1, ll_x86_vec_dot_q5_1),
    CROW(LL_TYPE_Q8_0, "q8_0", 32, LL_Q8_0_SIZE, ll_x86_to_float_q8_0, ll_x86_from_float_q8_0, LL_TYPE_Q8_0,
         ll_x86_lane_vec_dot_q8_0),
    CROW(LL_TYPE_Q8_1, "q8_1", 32, LL_Q8_1_SIZE, deq_q8_1, ll_x86_from_float_q8_1, LL_TYPE_Q8_1, NULL),
    CROW(LL_TYPE_Q2_K, "q2_K", LL_QK_K, LL_Q2_K_SIZE, deq_q2_K, NULL, LL_TYPE_Q8_K, ll_x86_vec_dot_q2_K),
    CROW(LL_TYPE_Q3_K, "q3_K", LL_QK_K, LL_Q3_K_SIZE, deq_q3_K, NULL, LL_TYPE_Q8_K, ll_x86_vec_dot_q3_K),
    CROW(LL_TYPE_Q4_K, "q4_K", LL_QK_K, LL_Q4_K_SIZE, ll_x86_to_float_q4_K, NULL, LL_TYPE_Q8_K,
         ll_x86_vec_dot_q4_K),
    CROW(LL_TYPE_Q5_K, "q5_K", LL_QK_K, LL_Q5_K_SIZE, ll_x86_to_float_q5_K, NULL, LL_TYPE_Q8_K,
         ll_x86_vec_dot_q5_K),
    CROW(LL_TYPE_Q6_K, "q6_K", LL_QK_K, LL_Q6_K_SIZE, ll_x86_to_float_q6_K, NULL, LL_TYPE_Q8_K, ll_x86_lane_vec_dot_q6_K),
    CROW(LL_TYPE_Q8_K, "q8_K", LL_QK_K, LL_Q8_K_SIZE, deq_q8_K, ll_x86_from_float_q8_K, LL_TYPE_Q8_K, NULL),
    SIZE_ONLY_ROWS,
};
#define G_FAST g_fast
#else
#define G_FAST g_ref
#endif

const ll_type_traits *ll_type_get(uint32_t type) {
    return type < LL_TYPE_COUNT && G_FAST[type].name ? &G_FAST[type] : NULL;
}

const ll_type_traits *ll_type_get_ref(uint32_t type) {
    return type < LL_TYPE_COUNT && g_ref[type].name ? &g_ref[type] : NULL;
}

const char *ll_type_name(uint32_t type) {
    static _Thread_local char buf[32];
    const ll_type_traits *t = ll_type_get(type);
    if (t) return t->name;
    snprintf(buf, sizeof buf, "type %u", type);
    return buf;
}

size_t ll_row_size(uint32_t type, int64_t n) {
    const ll_type_traits *t = ll_type_get(type);
    if (!t || n < 0 || n % t->blck != 0) return 0;
    return (size_t)(n / t->blck) * t->type_size;
}

size_t ll_lane_pack_size(uint32_t type, int64_t nrows, int64_t K) {
#if defined(LL_LANE)
    return ll_x86_lane_pack_size(type, nrows, K);
#else
    (void)type, (void)nrows, (void)K;
    return 0;
#endif
}

void ll_lane_pack(uint32_t type, const void *w, size_t wrow, int64_t nrows, int64_t K, void *out) {
#if defined(LL_LANE)
    ll_x86_lane_pack(type, w, wrow, nrows, K, out);
#else
    (void)type, (void)w, (void)wrow, (void)nrows, (void)K, (void)out;
#endif
}

size_t ll_lane_aux_bytes(uint32_t type, int64_t K) {
#if defined(LL_LANE)
    return ll_x86_lane_aux_bytes(type, K);
#else
    (void)type, (void)K;
    return 0;
#endif
}

void ll_lane_prep(uint32_t type, int64_t K, const void *x, size_t xrow, int64_t nt, void *aux) {
#if defined(LL_LANE)
    ll_x86_lane_prep(type, K, x, xrow, nt, aux);
#else
    (void)type, (void)K, (void)x, (void)xrow, (void)nt, (void)aux;
#endif
}

void ll_lane_gemm(uint32_t type, int64_t K, const void *pack, int64_t g0, int64_t g1, const void *x, size_t xrow,
                  const void *aux, int64_t nt, float *y, int64_t ldy) {
#if defined(LL_LANE)
    ll_x86_lane_gemm(type, K, pack, g0, g1, x, xrow, aux, nt, y, ldy);
#else
    (void)type, (void)K, (void)pack, (void)g0, (void)g1, (void)x, (void)xrow, (void)aux, (void)nt, (void)y, (void)ldy;
#endif
}

const char *ll_type_kernels(void) {
#if defined(LL_HAVE_X86)
    return "avx2+fma+f16c"
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
           ", avx512-vnni"
#elif defined(__AVXVNNI__)
           ", avx-vnni"
#endif
#if defined(__AVX512F__) && defined(__AVX512BW__)
           ", avx512"
#endif
        ;
#else
    return "scalar";
#endif
}

void ll_dot_rows_f32(int64_t n, const float *q, const float *K, int64_t stride, int64_t count, float *out) {
#if defined(LL_HAVE_X86)
    if (n % 8 == 0 && n <= 128) {
        ll_x86_dot_rows_f32(n, q, K, stride, count, out);
        return;
    }
#endif
    for (int64_t s = 0; s < count; s++) ll_vec_dot_f32(n, &out[s], q, K + s * stride);
}

void ll_axpy_rows_f32(int64_t n, const float *a, const float *V, int64_t stride, int64_t count, float *out) {
#if defined(LL_HAVE_X86)
    if (n % 8 == 0 && n <= 128) {
        ll_x86_axpy_rows_f32(n, a, V, stride, count, out);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) out[i] = 0;
    for (int64_t s = 0; s < count; s++)
        for (int64_t i = 0; i < n; i++) out[i] += a[s] * V[s * stride + i];
}

void ll_dot_rows_multi_f32(int64_t n, int nq, const float *const *q, const float *K, int64_t stride, const int64_t *count,
                           float *const *out) {
#if defined(LL_HAVE_X86)
    if (n % 8 == 0 && n <= 128) {
        ll_x86_dot_rows_multi_f32(n, nq, q, K, stride, count, out);
        return;
    }
#endif
    for (int j = 0; j < nq; j++) ll_dot_rows_f32(n, q[j], K, stride, count[j], out[j]);
}

void ll_axpy_rows_multi_f32(int64_t n, int nq, const float *const *a, const float *V, int64_t stride, const int64_t *count,
                            float *const *out) {
#if defined(LL_HAVE_X86)
    if (n % 8 == 0 && n <= 128) {
        ll_x86_axpy_rows_multi_f32(n, nq, a, V, stride, count, out);
        return;
    }
#endif
    for (int j = 0; j < nq; j++) ll_axpy_rows_f32(n, a[j], V, stride, count[j], out[j]);
}

void ll_gemm_f32(int64_t K, const float *w, int64_t nr, const float *x, int64_t nt, float *y, int64_t ldy) {
#if defined(LL_HAVE_X86)
    ll_x86_gemm_f32(K, w, nr, x, nt, y, ldy);
#else
    for (int64_t t = 0; t < nt; t++)
        for (int64_t r = 0; r < nr; r++) dot_f32(K, &y[t * ldy + r], w + r * K, x + t * K);
#endif
}

int ll_gemm_f32_packs(int64_t K) {
#if defined(LL_AVX512)
    return K % 8 == 0;
#else
    (void)K;
    return 0;
#endif
}

const float *ll_gemm_f32_pack(int64_t K, const float *x, int64_t nt, float *xp) {
#if defined(LL_AVX512)
    if (ll_gemm_f32_packs(K)) {
        ll_x86_gemm_f32_pack(K, x, nt, xp);
        return xp;
    }
#endif
    (void)K, (void)nt, (void)xp;
    return x;
}

void ll_gemm_f32_packed(int64_t K, const float *w, int64_t nr, const float *xp, int64_t nt, float *y, int64_t ldy) {
#if defined(LL_AVX512)
    if (ll_gemm_f32_packs(K)) {
        ll_x86_gemm_f32_packed(K, w, nr, xp, nt, y, ldy);
        return;
    }
#endif
    ll_gemm_f32(K, w, nr, xp, nt, y, ldy);
}

void ll_gemm_deq(uint32_t type, int64_t K, const void *w, size_t wrow, int64_t nr, const float *x, int64_t nt,
                 float *y, int64_t ldy, float *scratch) {
    const ll_type_traits *tt = ll_type_get(type);
#if defined(LL_HAVE_X86)
    if (LL_DEQ_CHUNK % tt->blck == 0) {
        ll_x86_gemm_deq(type, tt->to_float, tt->blck, tt->type_size, K, w, wrow, nr, x, nt, y, ldy, scratch);
        return;
    }
#endif
    for (int64_t r = 0; r < nr; r++) {
        tt->to_float((const char *)w + (size_t)r * wrow, scratch, K);
        ll_gemm_f32(K, scratch, 1, x, nt, y + r, ldy);
    }
}

void ll_vec_dot_f32(int64_t n, float *s, const float *x, const float *y) {
#if defined(LL_HAVE_X86)
    ll_x86_vec_dot_f32(n, s, x, y);
#else
    dot_f32(n, s, x, y);
#endif
}
