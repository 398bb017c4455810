/* dtype_x86.c — AVX2/FMA/F16C kernels for the type table (plus AVX-512 and VNNI where the build has
 * them). Every function here has a scalar twin in dtype.c that is the reference: dequantizers and
 * quantizers must agree with it bit for bit, dot products up to float summation order
 * (tests/test_vecdot.c checks both).
 *
 * Integer dot products of a block: weight quants are made unsigned (0..63) or handled with the sign
 * trick (|a| * sign(b, a)), then u8 x s8 pairs are summed with vpdpbusd (VNNI) or vpmaddubsw +
 * vpmaddwd. vpmaddubsw saturates int16 pair sums: fine for 6-bit weights (2*63*128 < 32767) and for
 * q8_0 x q8_0 (2*128*127 < 32767) — but the sign trick cannot negate -128, so the activation side of
 * q8_0 x q8_0 must lie in [-127, 127], which every layerlab/ggml quantizer guarantees.
 */
#include "tensor/dtype_impl.h"

#if defined(LL_HAVE_X86)
#include <immintrin.h>

#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define LL_VNNI 1
#define DPBUSD(acc, u, s) _mm256_dpbusd_epi32(acc, u, s)
#define DPWSSD(acc, a, b) _mm256_dpwssd_epi32(acc, a, b)
#elif defined(__AVXVNNI__)
#define LL_VNNI 1
#define DPBUSD(acc, u, s) _mm256_dpbusd_avx_epi32(acc, u, s)
#define DPWSSD(acc, a, b) _mm256_dpwssd_avx_epi32(acc, a, b)
#endif


/* ---------------------------------------------------------------- helpers ---------------------- */

static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* Two consecutive fp16 at p as [a, b, 0, 0] (one load, one conversion). */
static inline __m128 h2_pair(const uint8_t *p) { return _mm_cvtph_ps(_mm_cvtsi32_si128((int)ll_ld_u32(p))); }
static inline __m128 h1(const uint8_t *p) { return _mm_cvtph_ps(_mm_cvtsi32_si128(ll_ld_u16(p))); }
static inline float h1f(const uint8_t *p) { return _mm_cvtss_f32(h1(p)); }

static inline __m128i ld128(const uint8_t *p) { return _mm_loadu_si128((const __m128i *)(const void *)p); }
static inline __m256i ld256(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)(const void *)p); }
static inline void st256(uint8_t *p, __m256i v) { _mm256_storeu_si256((__m256i *)(void *)p, v); }

/* Sums of 4 adjacent u8*s8 products, 8 int32. */
static inline __m256i dot_u8s8(__m256i u, __m256i s) {
#if defined(LL_VNNI)
    return DPBUSD(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

/* acc + pairwise int16 products summed to int32. */
static inline __m256i madd_acc(__m256i acc, __m256i a, __m256i b) {
#if defined(LL_VNNI)
    return DPWSSD(acc, a, b);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

/* 16 bytes of nibbles -> 32 bytes: the low nibbles (elements 0..15) then the high ones (16..31). */
static inline __m256i nibbles32(const uint8_t *p) {
    /* broadcast load (no shuffle uop) + per-quadword shift: 0 for the low lane, 4 for the high one */
    const __m256i q = _mm256_broadcastsi128_si256(ld128(p));
    return _mm256_and_si256(_mm256_srlv_epi64(q, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(15));
}

/* Byte j = 0xff where bit j of v is set. */
static inline __m256i bits32(uint32_t v) {
    const __m256i shuf = _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL, 0x0303030303030303LL);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)v), shuf);
    return _mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit);
}

/* Bytes [lo..lo+7] of a 32-byte vector, sign- or zero-extended to 8 int32 and converted to float. */
static inline void i8x32_to_f32(__m256i q, __m256 out[4]) {
    __m128i a = _mm256_castsi256_si128(q), b = _mm256_extracti128_si256(q, 1);
    out[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(a));
    out[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(a, 8)));
    out[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
    out[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8)));
}

/* For 16 scales in a 128-bit register: int16 vector [s[2k] x8 | s[2k+1] x8] (the scales of the two
 * 16-element halves of 32 consecutive elements). */
static const uint8_t k_pair_shuf[8][16] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5},
    {6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9},
    {10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13},
    {14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};
static inline __m256i scale_pair(__m128i sc8, int k) {
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, ld128(k_pair_shuf[k])));
}

/* ---------------------------------------------------------------- float rows ------------------- */

void ll_x86_vec_dot_f32(int64_t n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy; /* only used through unaligned loads */
    int64_t i = 0;
#if defined(LL_AVX512)
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), a3);
    }
    for (; i + 16 <= n; i += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), a1);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
#else
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) sum += ll_ld_f32((const uint8_t *)vx + 4 * i) * ll_ld_f32((const uint8_t *)vy + 4 * i);
    *s = sum;
#endif
}

void ll_x86_vec_dot_f16(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    int64_t i = 0;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (; i + 32 <= n; i += 32) {
        const uint8_t *px = x + 2 * i, *py = y + 2 * i;
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(ld128(px)), _mm256_cvtph_ps(ld128(py)), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(ld128(px + 16)), _mm256_cvtph_ps(ld128(py + 16)), a1);
        a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(ld128(px + 32)), _mm256_cvtph_ps(ld128(py + 32)), a2);
        a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(ld128(px + 48)), _mm256_cvtph_ps(ld128(py + 48)), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(ld128(x + 2 * i)), _mm256_cvtph_ps(ld128(y + 2 * i)), a0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) sum += h1f(x + 2 * i) * h1f(y + 2 * i);
    *s = sum;
}

static inline __m256 bf16x8(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(ld128(p)), 16));
}

void ll_x86_vec_dot_bf16(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    int64_t i = 0;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (; i + 32 <= n; i += 32) {
        const uint8_t *px = x + 2 * i, *py = y + 2 * i;
        a0 = _mm256_fmadd_ps(bf16x8(px), bf16x8(py), a0);
        a1 = _mm256_fmadd_ps(bf16x8(px + 16), bf16x8(py + 16), a1);
        a2 = _mm256_fmadd_ps(bf16x8(px + 32), bf16x8(py + 32), a2);
        a3 = _mm256_fmadd_ps(bf16x8(px + 48), bf16x8(py + 48), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(bf16x8(x + 2 * i), bf16x8(y + 2 * i), a0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) sum += ll_bf16_to_fp32(ll_ld_u16(x + 2 * i)) * ll_bf16_to_fp32(ll_ld_u16(y + 2 * i));
    *s = sum;
}

/* ---------------------------------------------------------------- 32-element blocks ------------ */

/* q4_0 and q5_0 blocks' 32 signed quants (the exact-mode decoders use them) */
static inline __m256i unpack_q4_0(const uint8_t *w) { return _mm256_sub_epi8(nibbles32(w + 2), _mm256_set1_epi8(8)); }
/* q5_0: the fifth bit clear means q - 16 < 0, i.e. the nibble with 0xf0 or'ed in. */
static inline __m256i unpack_q5_0(const uint8_t *w) {
    __m256i hb = bits32(ll_ld_u32(w + 2));
    return _mm256_or_si256(nibbles32(w + 6), _mm256_andnot_si256(hb, _mm256_set1_epi8((char)0xf0)));
}

static inline __m256 blk_q5_1(const uint8_t *x, const uint8_t *y, __m256 acc, __m128 *ms) {
    __m128 p = _mm_mul_ps(h2_pair(x), h2_pair(y));
    *ms = _mm_add_ps(*ms, p);
    __m256i hb = bits32(ll_ld_u32(x + 4));
    __m256i qx = _mm256_or_si256(nibbles32(x + 8), _mm256_and_si256(hb, _mm256_set1_epi8(0x10)));
    __m256 f = _mm256_cvtepi32_ps(dot_u8s8(qx, ld256(y + 4)));
    return _mm256_fmadd_ps(_mm256_broadcastss_ps(p), f, acc);
}

void ll_x86_vec_dot_q5_1(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / LL_QK;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m128 m0 = _mm_setzero_ps(), m1 = _mm_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2, x += 2 * LL_Q5_1_SIZE, y += 2 * LL_Q8_1_SIZE) {
        a0 = blk_q5_1(x, y, a0, &m0);
        a1 = blk_q5_1(x + LL_Q5_1_SIZE, y + LL_Q8_1_SIZE, a1, &m1);
    }
    if (i < nb) a0 = blk_q5_1(x, y, a0, &m0);
    m0 = _mm_add_ps(m0, m1);
    *s = hsum_ps(_mm256_add_ps(a0, a1)) + _mm_cvtss_f32(_mm_shuffle_ps(m0, m0, 1));
}

/* ---------------------------------------------------------------- K-quants x q8_K -------------- */

static inline __m256i q8k(const uint8_t *y, int off) { return ld256(y + LL_Q8_K_QS + off); }
static inline __m256i q8k_bsums(const uint8_t *y) { return ld256(y + LL_Q8_K_BSUMS); }

/* q4_K: 8 sub-blocks of 32, 6-bit scale and min each. Per super-block:
 * d*dy * sum_j sc_j * sum(q*y)  -  dmin*dy * sum_j mn_j * (bsum_2j + bsum_2j+1). */
void ll_x86_vec_dot_q4_K(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / LL_QK_K;
    const __m256i m4 = _mm256_set1_epi8(15);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++, x += LL_Q4_K_SIZE, y += LL_Q8_K_SIZE) {
        const float dy = ll_ld_f32(y);
        __m128 dd = _mm_mul_ps(h2_pair(x), _mm_set1_ps(dy)); /* [d*dy, dmin*dy] */
        const uint32_t s0 = ll_ld_u32(x + 4), s1 = ll_ld_u32(x + 8), s2 = ll_ld_u32(x + 12);
        const uint32_t sc_lo = s0 & 0x3f3f3f3fu, sc_hi = (s2 & 0x0f0f0f0fu) | ((s0 >> 2) & 0x30303030u);
        const uint32_t mn_lo = s1 & 0x3f3f3f3fu, mn_hi = ((s2 >> 4) & 0x0f0f0f0fu) | ((s1 >> 2) & 0x30303030u);

        const __m128i mn16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn_hi, (int)mn_lo));
        const __m256i bs = q8k_bsums(y);
        const __m128i bs8 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m128 mins = _mm_cvtepi32_ps(_mm_madd_epi16(mn16, bs8));
        accm = _mm_fmadd_ps(_mm_shuffle_ps(dd, dd, 0x55), mins, accm);

        const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc_hi, (int)sc_lo)));
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q4 = ld256(x + 16 + 32 * j);
            const __m256i lo = _mm256_and_si256(q4, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), m4);
            const __m256i plo = _mm256_maddubs_epi16(lo, q8k(y, 64 * j));
            const __m256i phi = _mm256_maddubs_epi16(hi, q8k(y, 64 * j + 32));
            const __m256i slo = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j))));
            const __m256i shi = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j + 1))));
            sumi = madd_acc(sumi, plo, slo);
            sumi = madd_acc(sumi, phi, shi);
        }
        acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd), _mm256_cvtepi32_ps(sumi), acc);
    }
    accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
    accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
    *s = hsum_ps(acc) - _mm_cvtss_f32(accm);
}

/* q5_K: as q4_K with a fifth bit per element (bit j of qh[l] for sub-block j). */
void ll_x86_vec_dot_q5_K(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / LL_QK_K;
    const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1), two = _mm256_set1_epi8(2);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++, x += LL_Q5_K_SIZE, y += LL_Q8_K_SIZE) {
        const float dy = ll_ld_f32(y);
        __m128 dd = _mm_mul_ps(h2_pair(x), _mm_set1_ps(dy));
        const uint32_t s0 = ll_ld_u32(x + 4), s1 = ll_ld_u32(x + 8), s2 = ll_ld_u32(x + 12);
        const uint32_t sc_lo = s0 & 0x3f3f3f3fu, sc_hi = (s2 & 0x0f0f0f0fu) | ((s0 >> 2) & 0x30303030u);
        const uint32_t mn_lo = s1 & 0x3f3f3f3fu, mn_hi = ((s2 >> 4) & 0x0f0f0f0fu) | ((s1 >> 2) & 0x30303030u);

        const __m128i mn16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn_hi, (int)mn_lo));
        const __m256i bs = q8k_bsums(y);
        const __m128i bs8 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m128 mins = _mm_cvtepi32_ps(_mm_madd_epi16(mn16, bs8));
        accm = _mm_fmadd_ps(_mm_shuffle_ps(dd, dd, 0x55), mins, accm);

        const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc_hi, (int)sc_lo)));
        __m256i hb = ld256(x + 16);
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q4 = ld256(x + 48 + 32 * j);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(q4, m4),
                                               _mm256_slli_epi16(_mm256_and_si256(hb, one), 4));
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4, 4), m4),
                                               _mm256_slli_epi16(_mm256_and_si256(hb, two), 3));
            hb = _mm256_srli_epi16(hb, 2);
            const __m256i plo = _mm256_maddubs_epi16(lo, q8k(y, 64 * j));
            const __m256i phi = _mm256_maddubs_epi16(hi, q8k(y, 64 * j + 32));
            const __m256i slo = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j))));
            const __m256i shi = _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j + 1))));
            sumi = madd_acc(sumi, plo, slo);
            sumi = madd_acc(sumi, phi, shi);
        }
        acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd), _mm256_cvtepi32_ps(sumi), acc);
    }
    accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
    accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
    *s = hsum_ps(acc) - _mm_cvtss_f32(accm);
}

/* q2_K: 16 sub-blocks of 16, 4-bit scale and min each, 2-bit quants. */
void ll_x86_vec_dot_q2_K(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / LL_QK_K;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(15);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, x += LL_Q2_K_SIZE, y += LL_Q8_K_SIZE) {
        const float dy = ll_ld_f32(y);
        const __m128 dd = _mm_mul_ps(h2_pair(x + 80), _mm_set1_ps(dy));
        const __m128i raw = ld128(x);
        const __m128i sc8 = _mm_and_si128(raw, m4);
        const __m128i mn8 = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
        const __m256i mins = _mm256_madd_epi16(_mm256_cvtepu8_epi16(mn8), q8k_bsums(y));
        accm = _mm256_fmadd_ps(_mm256_broadcastss_ps(_mm_shuffle_ps(dd, dd, 0x55)), _mm256_cvtepi32_ps(mins), accm);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i qb = ld256(x + 16 + 32 * h);
            for (int k = 0; k < 4; k++) {
                const __m256i q = _mm256_and_si256(_mm256_srli_epi16(qb, 2 * k), m3);
                sumi = madd_acc(sumi, _mm256_maddubs_epi16(q, q8k(y, 128 * h + 32 * k)), scale_pair(sc8, 4 * h + k));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(acc) - hsum_ps(accm);
}

/* q3_K: 16 sub-blocks of 16 with 6-bit signed scales; q = low2 - (hbit ? 0 : 4). Computed as
 * (q + 4) = low2 | hbit<<2 in 0..7, minus 4 * sum sc*bsum. */
void ll_x86_vec_dot_q3_K(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / LL_QK_K;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, x += LL_Q3_K_SIZE, y += LL_Q8_K_SIZE) {
        const float d = h1f(x + 108) * ll_ld_f32(y);
        const uint32_t a0 = ll_ld_u32(x + 96), a1 = ll_ld_u32(x + 100), a2 = ll_ld_u32(x + 104);
        const uint32_t w0 = (a0 & 0x0f0f0f0fu) | ((a2 & 0x03030303u) << 4);
        const uint32_t w1 = (a1 & 0x0f0f0f0fu) | (((a2 >> 2) & 0x03030303u) << 4);
        const uint32_t w2 = ((a0 >> 4) & 0x0f0f0f0fu) | (((a2 >> 4) & 0x03030303u) << 4);
        const uint32_t w3 = ((a1 >> 4) & 0x0f0f0f0fu) | (((a2 >> 6) & 0x03030303u) << 4);
        const __m128i sc8 = _mm_sub_epi8(_mm_set_epi32((int)w3, (int)w2, (int)w1, (int)w0), _mm_set1_epi8(32));
        const __m256i corr = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8), q8k_bsums(y));
        __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(corr, 2));
        __m256i hm = ld256(x);
        for (int h = 0; h < 2; h++) {
            const __m256i qb = ld256(x + 32 + 32 * h);
            for (int k = 0; k < 4; k++) {
                const __m256i hi = _mm256_and_si256(_mm256_slli_epi16(hm, 2), four);
                hm = _mm256_srli_epi16(hm, 1);
                const __m256i q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 2 * k), m3), hi);
                sumi = madd_acc(sumi, _mm256_maddubs_epi16(q, q8k(y, 128 * h + 32 * k)), scale_pair(sc8, 4 * h + k));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(acc);
}

/* ---------------------------------------------------------------- dequantization --------------- */
/* Same operations as the scalar reference, 8 lanes at a time: bit-identical results. */

void ll_x86_to_float_f16(const void *vx, float *y, int64_t n) {
    const uint8_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_cvtph_ps(ld128(x + 2 * i));
        if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))) {
            /* F16C quiets signalling NaNs; keep their exact bits as the reference does */
            for (int k = 0; k < 8; k++) y[i + k] = ll_fp16_to_fp32(ll_ld_u16(x + 2 * (i + k)));
        } else {
            _mm256_storeu_ps(y + i, v);
        }
    }
    for (; i < n; i++) y[i] = ll_fp16_to_fp32(ll_ld_u16(x + 2 * i));
}

/* One 32-element block as 4 x 8 floats, exactly the reference's values (d*q, or d*q then + m): the
 * dequantizers store them, the fused exact-mode GEMM multiplies them straight away. With fused set,
 * d*q + m is one FMA: d*q is exact in fp32 (an fp16 times an integer below 2^6: at most 17 significant bits),
 * so rounding d*q + m once is rounding the rounded product plus m — the same value, one instruction fewer
 * (only a NaN's payload can differ, when d and m are both NaN). */
static inline __m256 affine(__m256 d, __m256 q, __m256 m, int fused) {
    return fused ? _mm256_fmadd_ps(d, q, m) : _mm256_add_ps(_mm256_mul_ps(d, q), m);
}
static inline void dec_scaled(__m256i qx, float d, __m256 w[4]) {
    __m256 q[4];
    i8x32_to_f32(qx, q);
    const __m256 vd = _mm256_set1_ps(d);
    for (int k = 0; k < 4; k++) w[k] = _mm256_mul_ps(vd, q[k]);
}
static inline void dec_affine(__m256i qx, float d, float m, __m256 w[4], int fused) {
    __m256 q[4];
    i8x32_to_f32(qx, q);
    const __m256 vd = _mm256_set1_ps(d), vm = _mm256_set1_ps(m);
    for (int k = 0; k < 4; k++) w[k] = affine(vd, q[k], vm, fused);
}
static inline void dec_q4_0(const uint8_t *b, __m256 w[4], int fused) {
    (void)fused;
    dec_scaled(unpack_q4_0(b), h1f(b), w);
}
/* 16 bytes of unsigned 4-bit pairs (element j: low nibble of byte j, element j+16: its high nibble) as 4 x 8
 * floats: each group of 8 is one byte shuffle into the low bytes of 8 dwords (zero-extended), converted. */
static inline void nib_to_f32(const uint8_t *p, __m256 out[4]) {
    const __m256i v = _mm256_broadcastsi128_si256(ld128(p)), m4 = _mm256_set1_epi8(15);
    const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    const __m256i s0 = _mm256_setr_epi8(0, -1, -1, -1, 1, -1, -1, -1, 2, -1, -1, -1, 3, -1, -1, -1,  /* bytes 0..3 */
                                        4, -1, -1, -1, 5, -1, -1, -1, 6, -1, -1, -1, 7, -1, -1, -1); /* 4..7 */
    const __m256i s1 = _mm256_add_epi8(s0, _mm256_setr_epi8(8, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 8, 0,
                                                            0, 0, 8, 0, 0, 0, 8, 0, 0, 0));
    out[0] = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(lo, s0));
    out[1] = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(lo, s1));
    out[2] = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(hi, s0));
    out[3] = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(hi, s1));
}

static inline void dec_q4_1(const uint8_t *b, __m256 w[4], int fused) {
    __m256 q[4];
    nib_to_f32(b + 4, q);
    const __m128 dm = h2_pair(b); /* [d, m, 0, 0] */
    const __m256 vd = _mm256_broadcastss_ps(dm), vm = _mm256_broadcastss_ps(_mm_movehdup_ps(dm));
    for (int k = 0; k < 4; k++) w[k] = affine(vd, q[k], vm, fused);
}
static inline void dec_q5_0(const uint8_t *b, __m256 w[4], int fused) {
    (void)fused;
    dec_scaled(unpack_q5_0(b), h1f(b), w);
}
static inline void dec_q5_1(const uint8_t *b, __m256 w[4], int fused) {
    __m256i hb = bits32(ll_ld_u32(b + 4));
    dec_affine(_mm256_or_si256(nibbles32(b + 8), _mm256_and_si256(hb, _mm256_set1_epi8(0x10))), h1f(b), h1f(b + 2), w, fused);
}
static inline void dec_q8_0(const uint8_t *b, __m256 w[4], int fused) {
    (void)fused;
    const __m256 vd = _mm256_set1_ps(h1f(b)); /* each group of 8 sign-extended straight from memory */
    for (int k = 0; k < 4; k++)
        w[k] = _mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(b + 2 + 8 * k)))));
}

#define TO_FLOAT_32(TY, BSZ)                                                                           \
    void ll_x86_to_float_##TY(const void *vx, float *y, int64_t n) {                                   \
        const uint8_t *b = vx;                                                                         \
        for (int64_t i = 0; i < n / LL_QK; i++, b += BSZ, y += LL_QK) {                                \
            __m256 w[4];                                                                               \
            dec_##TY(b, w, 0);                                                                         \
            for (int k = 0; k < 4; k++) _mm256_storeu_ps(y + 8 * k, w[k]);                             \
        }                                                                                              \
    }
TO_FLOAT_32(q4_0, LL_Q4_0_SIZE)
TO_FLOAT_32(q4_1, LL_Q4_1_SIZE)
TO_FLOAT_32(q5_0, LL_Q5_0_SIZE)
TO_FLOAT_32(q5_1, LL_Q5_1_SIZE)
TO_FLOAT_32(q8_0, LL_Q8_0_SIZE)

/* The 256-element K blocks as 8 groups of 32: kprep_* reads a block's scales once (into kst), kdec_*
 * gives group g as 4 x 8 floats with the reference's values (dl*q - ml, or d*sc*q; each product rounded). */
typedef struct {
    float dl[8], ml[8];
} kst;

static inline void kdec_min(__m256i q, float dl, float ml, __m256 w[4], int fused) {
    __m256 f[4];
    i8x32_to_f32(q, f); /* q < 64: sign extension is zero extension */
    const __m256 vd = _mm256_set1_ps(dl), vm = _mm256_set1_ps(ml);
    for (int k = 0; k < 4; k++) /* dl*q exact (dl: fp16 x 6 bits, q: 5 bits), as affine() */
        w[k] = fused ? _mm256_fmsub_ps(vd, f[k], vm) : _mm256_sub_ps(_mm256_mul_ps(vd, f[k]), vm);
}

static inline void kprep_q4_K(const uint8_t *b, kst *s) {
    const float d = h1f(b), dmin = h1f(b + 2);
    uint8_t sc[8], mn[8];
    ll_k4_scale_min(b + 4, sc, mn);
    for (int g = 0; g < 8; g++) {
        s->dl[g] = d * (float)sc[g];
        s->ml[g] = dmin * (float)mn[g];
    }
}
#define kprep_q5_K kprep_q4_K

static inline void kdec_q4_K(const uint8_t *b, const kst *s, int g, __m256 w[4], int fused) {
    const __m256i q4 = ld256(b + 16 + 32 * (g >> 1));
    const __m256i q = _mm256_and_si256(g & 1 ? _mm256_srli_epi16(q4, 4) : q4, _mm256_set1_epi8(15));
    kdec_min(q, s->dl[g], s->ml[g], w, fused);
}

/* q5_K: group g's fifth bits are bit g of the 32 bytes at b + 16. */
static inline void kdec_q5_K(const uint8_t *b, const kst *s, int g, __m256i hb, __m256 w[4], int fused) {
    const __m256i q4 = ld256(b + 48 + 32 * (g >> 1));
    const __m256i lo = _mm256_and_si256(g & 1 ? _mm256_srli_epi16(q4, 4) : q4, _mm256_set1_epi8(15));
    const __m256i h = _mm256_and_si256(_mm256_srli_epi16(hb, g), _mm256_set1_epi8(1));
    kdec_min(_mm256_or_si256(lo, _mm256_slli_epi16(h, 4)), s->dl[g], s->ml[g], w, fused);
}

/* q6_K: group g = 4h + k; its two halves of 16 have scales d*sc[2g], d*sc[2g+1]. */
static inline void kprep_q6_K(const uint8_t *b, kst *s) {
    const float d = h1f(b + 208);
    const int8_t *sc = (const int8_t *)(b + 192);
    for (int g = 0; g < 8; g++) {
        s->dl[g] = d * (float)sc[2 * g];
        s->ml[g] = d * (float)sc[2 * g + 1];
    }
}

static inline void kdec_q6_K(const uint8_t *b, const kst *s, int g, __m256 w[4]) {
    const int h = g >> 2, k = g & 3;
    const __m256i ql = ld256(b + 64 * h + 32 * (k & 1)), qh = ld256(b + 128 + 32 * h);
    const __m256i lo = _mm256_and_si256(k & 2 ? _mm256_srli_epi16(ql, 4) : ql, _mm256_set1_epi8(15));
    /* the two high bits: qh bits 2k, 2k+1 moved to bits 4, 5 */
    const __m256i hi = _mm256_and_si256(k >= 2 ? _mm256_srli_epi16(qh, 2 * k - 4) : _mm256_slli_epi16(qh, 4 - 2 * k),
                                        _mm256_set1_epi8(0x30));
    __m256 f[4];
    i8x32_to_f32(_mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(32)), f);
    const __m256 d0 = _mm256_set1_ps(s->dl[g]), d1 = _mm256_set1_ps(s->ml[g]);
    w[0] = _mm256_mul_ps(d0, f[0]);
    w[1] = _mm256_mul_ps(d0, f[1]);
    w[2] = _mm256_mul_ps(d1, f[2]);
    w[3] = _mm256_mul_ps(d1, f[3]);
}

/* KHB: the value kdec's extra argument needs (q5_K's high-bit bytes; unused otherwise). */
#define KHB_q4_K(b) _mm256_setzero_si256()
#define KHB_q5_K(b) ld256((b) + 16)
#define KHB_q6_K(b) _mm256_setzero_si256()
#define KDEC(TY, b, s, g, hb, w, fused) KDEC_##TY(b, s, g, hb, w, fused)
#define KDEC_q4_K(b, s, g, hb, w, fused) kdec_q4_K(b, s, g, w, fused)
#define KDEC_q5_K(b, s, g, hb, w, fused) kdec_q5_K(b, s, g, hb, w, fused)
#define KDEC_q6_K(b, s, g, hb, w, fused) kdec_q6_K(b, s, g, w)

#define TO_FLOAT_K(TY, BSZ)                                                                            \
    void ll_x86_to_float_##TY(const void *vx, float *y, int64_t n) {                                   \
        const uint8_t *b = vx;                                                                         \
        for (int64_t i = 0; i < n / LL_QK_K; i++, b += BSZ, y += LL_QK_K) {                            \
            kst s;                                                                                     \
            kprep_##TY(b, &s);                                                                         \
            const __m256i hb = KHB_##TY(b);                                                            \
            (void)hb;                                                                                  \
            for (int g = 0; g < 8; g++) {                                                              \
                __m256 w[4];                                                                           \
                KDEC(TY, b, &s, g, hb, w, 0);                                                             \
                for (int k = 0; k < 4; k++) _mm256_storeu_ps(y + 32 * g + 8 * k, w[k]);                \
            }                                                                                          \
        }                                                                                              \
    }
TO_FLOAT_K(q4_K, LL_Q4_K_SIZE)
TO_FLOAT_K(q5_K, LL_Q5_K_SIZE)
TO_FLOAT_K(q6_K, LL_Q6_K_SIZE)

/* ---------------------------------------------------------------- activation quantizers -------- */

void ll_x86_from_float_f16(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(void *)(y + 2 * i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) {
        uint16_t h = ll_fp32_to_fp16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

void ll_x86_from_float_bf16(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    const __m256i absm = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i one = _mm256_set1_epi32(1), r = _mm256_set1_epi32(0x7fff), q = _mm256_set1_epi32(64);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i out[2];
        for (int k = 0; k < 2; k++) {
            const __m256i u = _mm256_castps_si256(_mm256_loadu_ps(x + i + 8 * k));
            const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absm), inf);
            const __m256i hi = _mm256_srli_epi32(u, 16);
            const __m256i rne = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(r, _mm256_and_si256(hi, one))), 16);
            out[k] = _mm256_blendv_epi8(rne, _mm256_or_si256(hi, q), nan);
        }
        /* packus works per 128-bit lane: [a0 b0 a1 b1] -> reorder quadwords to [a0 a1 b0 b1] */
        st256(y + 2 * i, _mm256_permute4x64_epi64(_mm256_packus_epi32(out[0], out[1]), 0xd8));
    }
    for (; i < n; i++) {
        uint16_t h = ll_fp32_to_bf16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

/* roundf (halves away from zero) of 8 floats of magnitude < 2^23. */
static inline __m256 roundf_ps(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 step = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(up, step));
}

static inline float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* 4 int32 vectors (32 values in [-128, 127]) -> 32 int8 in order. */
static inline __m256i pack_i32x32(const __m256i v[4]) {
    const __m256i a = _mm256_packs_epi32(v[0], v[1]), b = _mm256_packs_epi32(v[2], v[3]);
    return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(a, b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* One q8_0/q8_1 block: quants (as ggml's quantize_row_q8_0_ref), returns d; *sum = sum of quants. */
static inline float q8_block(const float *x, uint8_t *qs, int *sum) {
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 v[4], mx = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        mx = _mm256_max_ps(_mm256_and_ps(v[k], absm), mx); /* NaN lanes ignored, as fmaxf */
    }
    const float amax = hmax_ps(mx);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; k++) q[k] = _mm256_cvttps_epi32(roundf_ps(_mm256_mul_ps(v[k], vid)));
    st256(qs, pack_i32x32(q));
    *sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    return d;
}

void ll_x86_from_float_q8_0(const float *x, void *vy, int64_t n) {
    uint8_t *b = vy;
    for (int64_t i = 0; i < n / LL_QK; i++, b += LL_Q8_0_SIZE, x += LL_QK) {
        int sum;
        const uint16_t hd = ll_fp32_to_fp16(q8_block(x, b + 2, &sum));
        memcpy(b, &hd, 2);
    }
}

void ll_x86_from_float_q8_1(const float *x, void *vy, int64_t n) {
    uint8_t *b = vy;
    for (int64_t i = 0; i < n / LL_QK; i++, b += LL_Q8_1_SIZE, x += LL_QK) {
        int sum;
        const float d = q8_block(x, b + 4, &sum);
        const uint16_t hd = ll_fp32_to_fp16(d), hs = ll_fp32_to_fp16((float)sum * d);
        memcpy(b, &hd, 2);
        memcpy(b + 2, &hs, 2);
    }
}

/* As ggml's quantize_row_q8_K_ref: scale from the first element of largest magnitude, so that it
 * maps to -127; round to nearest even (vcvtps2dq in the default rounding mode). */
void ll_x86_from_float_q8_K(const float *x, void *vy, int64_t n) {
    uint8_t *b = vy;
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t i = 0; i < n / LL_QK_K; i++, b += LL_Q8_K_SIZE, x += LL_QK_K) {
        __m256 mx = _mm256_setzero_ps();
        for (int k = 0; k < 32; k++) mx = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * k), absm), mx);
        const float amax = hmax_ps(mx);
        if (amax == 0.0f) {
            memset(b, 0, LL_Q8_K_SIZE);
            continue;
        }
        const __m256 va = _mm256_set1_ps(amax);
        float max = amax;
        for (int k = 0; k < 32; k++) {
            int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * k), absm), va, _CMP_EQ_OQ));
            if (m) {
                max = x[8 * k + __builtin_ctz((unsigned)m)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 vs = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127);
        for (int g = 0; g < 8; g++) { /* 32 values per step: bsums of 2 groups of 16 */
            __m256i q[4];
            for (int k = 0; k < 4; k++)
                q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(vs, _mm256_loadu_ps(x + 32 * g + 8 * k))), lim);
            st256(b + LL_Q8_K_QS + 32 * g, pack_i32x32(q));
            const int16_t s0 = (int16_t)hsum_epi32(_mm256_add_epi32(q[0], q[1]));
            const int16_t s1 = (int16_t)hsum_epi32(_mm256_add_epi32(q[2], q[3]));
            memcpy(b + LL_Q8_K_BSUMS + 4 * g, &s0, 2);
            memcpy(b + LL_Q8_K_BSUMS + 4 * g + 2, &s1, 2);
        }
        const float d = 1.0f / iscale;
        memcpy(b, &d, 4);
    }
}

/* ---------------------------------------------------------------- f32 GEMM tile ----------------- */

/* Every element y[t][r] is computed by the same sequence whatever the tile shape: one 8-lane FMA
 * accumulator over k in steps of 8, hsum_ps, then the scalar tail. So a token's result does not depend
 * on how many tokens share its batch (batch and one-by-one decoding agree bit for bit). */
#define GEMM_TILE(NR, NT)                                                                              \
    static void gemm_##NR##x##NT(int64_t K, const float *w, const float *x, float *y, int64_t ldy) {  \
        __m256 acc[NR][NT];                                                                            \
        for (int r = 0; r < NR; r++)                                                                   \
            for (int t = 0; t < NT; t++) acc[r][t] = _mm256_setzero_ps();                              \
        int64_t k = 0;                                                                                 \
        for (; k + 8 <= K; k += 8) {                                                                   \
            __m256 xv[NT];                                                                             \
            for (int t = 0; t < NT; t++) xv[t] = _mm256_loadu_ps(x + t * K + k);                       \
            for (int r = 0; r < NR; r++) {                                                             \
                __m256 wv = _mm256_loadu_ps(w + r * K + k);                                            \
                for (int t = 0; t < NT; t++) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);        \
            }                                                                                          \
        }                                                                                              \
        for (int r = 0; r < NR; r++)                                                                   \
            for (int t = 0; t < NT; t++) {                                                             \
                float sum = hsum_ps(acc[r][t]);                                                        \
                for (int64_t i = k; i < K; i++) sum += w[r * K + i] * x[t * K + i];                    \
                y[t * ldy + r] = sum;                                                                  \
            }                                                                                          \
    }
GEMM_TILE(4, 3)
GEMM_TILE(1, 3)
GEMM_TILE(4, 1)
GEMM_TILE(1, 1)

void ll_x86_gemm_f32(int64_t K, const float *w, int64_t nr, const float *x, int64_t nt, float *y, int64_t ldy) {
    int64_t t = 0;
    for (; t + 3 <= nt; t += 3) {
        int64_t r = 0;
        for (; r + 4 <= nr; r += 4) gemm_4x3(K, w + r * K, x + t * K, y + t * ldy + r, ldy);
        for (; r < nr; r++) gemm_1x3(K, w + r * K, x + t * K, y + t * ldy + r, ldy);
    }
    for (; t < nt; t++) {
        int64_t r = 0;
        for (; r + 4 <= nr; r += 4) gemm_4x1(K, w + r * K, x + t * K, y + t * ldy + r, ldy);
        for (; r < nr; r++) gemm_1x1(K, w + r * K, x + t * K, y + t * ldy + r, ldy);
    }
}

#if defined(LL_AVX512)
/* The same GEMM over activations packed in token pairs (ll_x86_gemm_f32_pack): one zmm holds the 8-lane
 * accumulators of two tokens for one row, its halves exactly GEMM_TILE's ymm accumulators (same FMAs lane
 * for lane, hsum_ps per half), so results are bit for bit ll_x86_gemm_f32's while each FMA does twice the
 * work and each weight load (a 256-bit broadcast to both halves) feeds two tokens. Needs K % 8 == 0. */
void ll_x86_gemm_f32_pack(int64_t K, const float *x, int64_t nt, float *xp) {
    const int64_t KB = K / 8;
    for (int64_t p = 0; p < (nt + 1) / 2; p++)
        for (int64_t kb = 0; kb < KB; kb++)
            for (int h = 0; h < 2; h++) {
                float *d = xp + (p * KB + kb) * 16 + h * 8;
                const int64_t t = 2 * p + h;
                if (t < nt)
                    memcpy(d, x + t * K + kb * 8, 8 * sizeof(float));
                else
                    memset(d, 0, 8 * sizeof(float));
            }
}

/* Four rows' accumulators for one token pair, reduced together: per 128-bit lane the same additions as
 * hsum_ps (lo + hi, then lanes 0+2 and 1+3, then their sum, each with hsum_ps's first operand first), done as
 * a transpose so that each token's four row sums come out in one xmm, stored at once (y[t][r..r+3]). */
static inline void gemmz_store4(__m512 a0, __m512 a1, __m512 a2, __m512 a3, float *y, int64_t ldy, int both) {
    const __m512 u0 = _mm512_add_ps(a0, _mm512_shuffle_f32x4(a0, a0, _MM_SHUFFLE(2, 3, 0, 1)));
    const __m512 u1 = _mm512_add_ps(a1, _mm512_shuffle_f32x4(a1, a1, _MM_SHUFFLE(2, 3, 0, 1)));
    const __m512 u2 = _mm512_add_ps(a2, _mm512_shuffle_f32x4(a2, a2, _MM_SHUFFLE(2, 3, 0, 1)));
    const __m512 u3 = _mm512_add_ps(a3, _mm512_shuffle_f32x4(a3, a3, _MM_SHUFFLE(2, 3, 0, 1)));
    const __m512 w01 = _mm512_add_ps(_mm512_shuffle_ps(u0, u1, 0x44), _mm512_shuffle_ps(u0, u1, 0xEE));
    const __m512 w23 = _mm512_add_ps(_mm512_shuffle_ps(u2, u3, 0x44), _mm512_shuffle_ps(u2, u3, 0xEE));
    const __m512 s = _mm512_add_ps(_mm512_shuffle_ps(w01, w23, 0x88), _mm512_shuffle_ps(w01, w23, 0xDD));
    _mm_storeu_ps(y, _mm512_castps512_ps128(s));
    if (both) _mm_storeu_ps(y + ldy, _mm512_extractf32x4_ps(s, 2));
}
#define GEMMZ_EPI_4(NP)                                                                                \
    for (int p = 0; p < NP; p++)                                                                       \
        gemmz_store4(acc[0][p], acc[1][p], acc[2][p], acc[3][p], y + 2 * p * ldy, ldy, 2 * p + 1 < nt);
#define GEMMZ_EPI_1(NP)                                                                                \
    for (int p = 0; p < NP; p++) {                                                                     \
        y[2 * p * ldy] = hsum_ps(_mm512_castps512_ps256(acc[0][p]));                                   \
        if (2 * p + 1 < nt) y[(2 * p + 1) * ldy] = hsum_ps(_mm512_extractf32x8_ps(acc[0][p], 1));      \
    }

/* Keeps a loaded vector in its register: without it the compiler folds the load into every FMA that uses it,
 * and a 4 x 4 tile then issues 20 loads per 16 FMAs instead of 8 (load-bound: 200 against 250+ GFLOP/s per
 * core on Zen 5). */
#define REG_BARRIER(v) __asm__("" : "+v"(v))

/* A tile over k blocks [k0, k1) of 8: its accumulators start at zero (first) or from part, and end reduced into
 * y (last) or stored back to part — floats stored and reloaded exactly, so splitting k changes no bit. */
#define GEMMZ_TILE(NR, NP)                                                                             \
    static void gemmz_##NR##x##NP(int64_t K, int64_t k0, int64_t k1, const float *w, const float *xp, float *y, \
                                  int64_t ldy, int64_t nt, __m512 *part, int first, int last) {         \
        const int64_t KB = K / 8;                                                                      \
        __m512 acc[NR][NP];                                                                            \
        for (int r = 0; r < NR; r++)                                                                   \
            for (int p = 0; p < NP; p++) acc[r][p] = first ? _mm512_setzero_ps() : part[r * NP + p];   \
        for (int64_t kb = k0; kb < k1; kb++) {                                                         \
            __m512 xv[NP];                                                                             \
            for (int p = 0; p < NP; p++) {                                                             \
                xv[p] = _mm512_loadu_ps(xp + (p * KB + kb) * 16);                                      \
                REG_BARRIER(xv[p]);                                                                    \
            }                                                                                          \
            for (int r = 0; r < NR; r++) {                                                             \
                const __m512 wv = _mm512_broadcast_f32x8(_mm256_loadu_ps(w + r * K + kb * 8));         \
                for (int p = 0; p < NP; p++) acc[r][p] = _mm512_fmadd_ps(wv, xv[p], acc[r][p]);        \
            }                                                                                          \
        }                                                                                              \
        if (!last) {                                                                                   \
            for (int r = 0; r < NR; r++)                                                               \
                for (int p = 0; p < NP; p++) part[r * NP + p] = acc[r][p];                             \
            return;                                                                                    \
        }                                                                                              \
        GEMMZ_EPI_##NR(NP)                                                                             \
    }
GEMMZ_TILE(4, 4)
GEMMZ_TILE(1, 4)
GEMMZ_TILE(4, 1)
GEMMZ_TILE(1, 1)

/* Token pairs in groups of 4 (8 tokens), rows in groups of 16, k in passes of GEMMZ_KB blocks of 8: an 8-token
 * panel of one pass (24 KiB) stays in L1 while the 16 rows take it, where at K = 1536 a whole panel (48 KiB)
 * did not. The partial accumulators of one group (16 rows x 4 pairs) wait on the stack between passes. */
#define GEMMZ_KB 96
void ll_x86_gemm_f32_packed(int64_t K, const float *w, int64_t nr, const float *xp, int64_t nt, float *y, int64_t ldy) {
    const int64_t KB = K / 8, np = (nt + 1) / 2;
    __m512 part[16 * 4];
    for (int64_t p = 0; p < np;) {
        const int wide = np - p >= 4;
        const float *xq = xp + p * KB * 16;
        float *yq = y + 2 * p * ldy;
        const int64_t left = nt - 2 * p;
        for (int64_t r0 = 0; r0 < nr; r0 += 16) {
            const int64_t r1 = r0 + 16 < nr ? r0 + 16 : nr;
            for (int64_t k0 = 0; k0 < KB; k0 += GEMMZ_KB) {
                const int64_t k1 = k0 + GEMMZ_KB < KB ? k0 + GEMMZ_KB : KB;
                const int first = k0 == 0, last = k1 == KB;
                int64_t r = r0;
                for (; r + 4 <= r1; r += 4)
                    (wide ? gemmz_4x4 : gemmz_4x1)(K, k0, k1, w + r * K, xq, yq + r, ldy, left, part + (r - r0) * 4, first,
                                                   last);
                for (; r < r1; r++)
                    (wide ? gemmz_1x4 : gemmz_1x1)(K, k0, k1, w + r * K, xq, yq + r, ldy, left, part + (r - r0) * 4, first,
                                                   last);
            }
        }
        p += wide ? 4 : 1;
    }
}
#endif

/* The exact-mode GEMM fused with the dequantizer: each block's weights are decoded into registers (the
 * dequantizer's own values, dec_* / kdec_*) and multiplied at once, never stored. A block of QK elements per
 * row has its scales read once (kprep), then its QK/32 groups of 32 decoded (KDEC); the 32-element types are
 * blocks of one group with nothing to prepare. Every element sees GEMM_TILE's sequence (one 8-lane FMA
 * accumulator over k in steps of 8, hsum_ps; K is a multiple of 32, so no tail): bit for bit to_float
 * followed by ll_x86_gemm_f32. */
static inline void kprep_none(const uint8_t *b, kst *s) {
    (void)b;
    (void)s;
}
#define kprep_q4_0 kprep_none
#define kprep_q4_1 kprep_none
#define kprep_q5_0 kprep_none
#define kprep_q5_1 kprep_none
#define kprep_q8_0 kprep_none
#define KHB_q4_0(b) _mm256_setzero_si256()
#define KHB_q4_1(b) _mm256_setzero_si256()
#define KHB_q5_0(b) _mm256_setzero_si256()
#define KHB_q5_1(b) _mm256_setzero_si256()
#define KHB_q8_0(b) _mm256_setzero_si256()
#define KDEC_q4_0(b, s, g, hb, w, fused) dec_q4_0(b, w, fused)
#define KDEC_q4_1(b, s, g, hb, w, fused) dec_q4_1(b, w, fused)
#define KDEC_q5_0(b, s, g, hb, w, fused) dec_q5_0(b, w, fused)
#define KDEC_q5_1(b, s, g, hb, w, fused) dec_q5_1(b, w, fused)
#define KDEC_q8_0(b, s, g, hb, w, fused) dec_q8_0(b, w, fused)
#define FUSED_TILE(TY, BSZ, QK, NR, NT)                                                                         \
    static void fz_##TY##_##NR##x##NT(int64_t nb, const uint8_t *w, size_t wrow, const float *x, int64_t K,   \
                                      float *y, int64_t ldy) {                                                \
        __m256 acc[NR][NT];                                                                                   \
        for (int r = 0; r < NR; r++)                                                                          \
            for (int t = 0; t < NT; t++) acc[r][t] = _mm256_setzero_ps();                                     \
        for (int64_t i = 0; i < nb; i++) {                                                                    \
            for (int r = 0; r < NR; r++) {                                                                    \
                const uint8_t *b = w + r * wrow + (size_t)i * BSZ;                                            \
                _mm_prefetch((const char *)b + LL_PREFETCH_AHEAD, _MM_HINT_T0);                               \
                kst s;                                                                                        \
                kprep_##TY(b, &s);                                                                            \
                const __m256i hb = KHB_##TY(b);                                                               \
                (void)hb;                                                                                     \
                for (int g = 0; g < QK / 32; g++) {                                                           \
                    __m256 wv[4];                                                                             \
                    KDEC(TY, b, &s, g, hb, wv, 1);                                                            \
                    const float *xg = x + QK * i + 32 * g;                                                    \
                    for (int t = 0; t < NT; t++)                                                              \
                        for (int q = 0; q < 4; q++)                                                           \
                            acc[r][t] = _mm256_fmadd_ps(wv[q], _mm256_loadu_ps(xg + t * K + 8 * q), acc[r][t]); \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
        for (int r = 0; r < NR; r++)                                                                          \
            for (int t = 0; t < NT; t++) y[t * ldy + r] = hsum_ps(acc[r][t]);                                 \
    }

#define FUSED_GEMM(TY, BSZ, QK)                                                                        \
    FUSED_TILE(TY, BSZ, QK, 4, 1)                                                                             \
    FUSED_TILE(TY, BSZ, QK, 4, 2)                                                                             \
    FUSED_TILE(TY, BSZ, QK, 2, 3)                                                                             \
    FUSED_TILE(TY, BSZ, QK, 1, 1)                                                                             \
    FUSED_TILE(TY, BSZ, QK, 1, 2)                                                                             \
    FUSED_TILE(TY, BSZ, QK, 1, 3)                                                                             \
    static void fz_##TY(int64_t K, const void *w, size_t wrow, int64_t nr, const float *x, int64_t nt, float *y, \
                        int64_t ldy) {                                                                        \
        const uint8_t *wb = w;                                                                                \
        const int64_t nb = K / QK;                                                                            \
        for (int64_t t = 0; t < nt; t += 3) {                                                                 \
            const int64_t m = nt - t < 3 ? nt - t : 3;                                                        \
            const float *xt = x + t * K;                                                                      \
            float *yt = y + t * ldy;                                                                          \
            int64_t r = 0;                                                                                    \
            if (m == 1)                                                                                       \
                for (; r + 4 <= nr; r += 4) fz_##TY##_4x1(nb, wb + (size_t)r * wrow, wrow, xt, K, yt + r, ldy); \
            else if (m == 2)                                                                                  \
                for (; r + 4 <= nr; r += 4) fz_##TY##_4x2(nb, wb + (size_t)r * wrow, wrow, xt, K, yt + r, ldy); \
            else                                                                                              \
                for (; r + 2 <= nr; r += 2) fz_##TY##_2x3(nb, wb + (size_t)r * wrow, wrow, xt, K, yt + r, ldy); \
            for (; r < nr; r++) {                                                                             \
                const uint8_t *wr = wb + (size_t)r * wrow;                                                    \
                if (m == 1) fz_##TY##_1x1(nb, wr, wrow, xt, K, yt + r, ldy);                                  \
                else if (m == 2) fz_##TY##_1x2(nb, wr, wrow, xt, K, yt + r, ldy);                             \
                else fz_##TY##_1x3(nb, wr, wrow, xt, K, yt + r, ldy);                                         \
            }                                                                                                 \
        }                                                                                                     \
    }
FUSED_GEMM(q4_0, LL_Q4_0_SIZE, LL_QK)
FUSED_GEMM(q4_1, LL_Q4_1_SIZE, LL_QK)
FUSED_GEMM(q5_0, LL_Q5_0_SIZE, LL_QK)
FUSED_GEMM(q5_1, LL_Q5_1_SIZE, LL_QK)
FUSED_GEMM(q8_0, LL_Q8_0_SIZE, LL_QK)
FUSED_GEMM(q4_K, LL_Q4_K_SIZE, LL_QK_K)
FUSED_GEMM(q5_K, LL_Q5_K_SIZE, LL_QK_K)
FUSED_GEMM(q6_K, LL_Q6_K_SIZE, LL_QK_K)

/* ll_gemm_f32 over weights still in their stored type: each row is dequantized LL_DEQ_CHUNK elements at a
 * time into scratch (NR rows x LL_DEQ_CHUNK floats, L1-resident) and consumed there, with the accumulators
 * carried across chunks. The chunk is a multiple of 8, so every element sees GEMM_TILE's sequence exactly
 * (one 8-lane FMA accumulator over k in steps of 8, hsum_ps, the scalar tail) and the result is bit for bit
 * to_float into a buffer followed by ll_x86_gemm_f32. */
#define DEQ_TILE(NR, NT)                                                                                       \
    static void deq_##NR##x##NT(ll_to_float_fn tf, int64_t blck, size_t bsz, int64_t K, const uint8_t *w,    \
                                size_t wrow, const float *x, float *y, int64_t ldy, float *buf) {              \
        __m256 acc[NR][NT];                                                                                    \
        for (int r = 0; r < NR; r++)                                                                           \
            for (int t = 0; t < NT; t++) acc[r][t] = _mm256_setzero_ps();                                      \
        int64_t c0 = 0, n = 0, k = 0;                                                                          \
        for (; c0 < K; c0 += LL_DEQ_CHUNK) {                                                                   \
            n = K - c0 < LL_DEQ_CHUNK ? K - c0 : LL_DEQ_CHUNK;                                                 \
            const uint8_t *src = w + (size_t)(c0 / blck) * bsz;                                                \
            for (int r = 0; r < NR; r++) tf(src + r * wrow, buf + r * LL_DEQ_CHUNK, n);                        \
            for (k = 0; k + 8 <= n; k += 8) {                                                                  \
                __m256 xv[NT];                                                                                 \
                for (int t = 0; t < NT; t++) xv[t] = _mm256_loadu_ps(x + t * K + c0 + k);                      \
                for (int r = 0; r < NR; r++) {                                                                 \
                    __m256 wv = _mm256_loadu_ps(buf + r * LL_DEQ_CHUNK + k);                                   \
                    for (int t = 0; t < NT; t++) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);            \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
        c0 -= LL_DEQ_CHUNK; /* the last chunk: its tail k..n is the row's tail */                              \
        for (int r = 0; r < NR; r++)                                                                           \
            for (int t = 0; t < NT; t++) {                                                                     \
                float sum = hsum_ps(acc[r][t]);                                                                \
                for (int64_t i = k; i < n; i++) sum += buf[r * LL_DEQ_CHUNK + i] * x[t * K + c0 + i];          \
                y[t * ldy + r] = sum;                                                                          \
            }                                                                                                  \
    }
DEQ_TILE(4, 3)
DEQ_TILE(4, 2)
DEQ_TILE(4, 1)
DEQ_TILE(1, 3)
DEQ_TILE(1, 2)
DEQ_TILE(1, 1)

void ll_x86_gemm_deq(uint32_t type, ll_to_float_fn tf, int64_t blck, size_t bsz, int64_t K, const void *w, size_t wrow,
                     int64_t nr, const float *x, int64_t nt, float *y, int64_t ldy, float *buf) {
    switch (type) {
    case LL_TYPE_Q4_0: fz_q4_0(K, w, wrow, nr, x, nt, y, ldy); return;
    case LL_TYPE_Q4_1: fz_q4_1(K, w, wrow, nr, x, nt, y, ldy); return;
    case LL_TYPE_Q5_0: fz_q5_0(K, w, wrow, nr, x, nt, y, ldy); return;
    case LL_TYPE_Q5_1: fz_q5_1(K, w, wrow, nr, x, nt, y, ldy); return;
    case LL_TYPE_Q8_0: fz_q8_0(K, w, wrow, nr, x, nt, y, ldy); return;
    case LL_TYPE_Q4_K: fz_q4_K(K, w, wrow, nr, x, nt, y, ldy); return;
    case LL_TYPE_Q5_K: fz_q5_K(K, w, wrow, nr, x, nt, y, ldy); return;
    case LL_TYPE_Q6_K: fz_q6_K(K, w, wrow, nr, x, nt, y, ldy); return;
    default: break;
    }
    const uint8_t *wb = w;
    for (int64_t t = 0; t < nt; t += 3) {
        const int64_t m = nt - t < 3 ? nt - t : 3;
        const float *xt = x + t * K;
        float *yt = y + t * ldy;
        int64_t r = 0;
        for (; r + 4 <= nr; r += 4) {
            const uint8_t *wr = wb + (size_t)r * wrow;
            if (m == 3) deq_4x3(tf, blck, bsz, K, wr, wrow, xt, yt + r, ldy, buf);
            else if (m == 2) deq_4x2(tf, blck, bsz, K, wr, wrow, xt, yt + r, ldy, buf);
            else deq_4x1(tf, blck, bsz, K, wr, wrow, xt, yt + r, ldy, buf);
        }
        for (; r < nr; r++) {
            const uint8_t *wr = wb + (size_t)r * wrow;
            if (m == 3) deq_1x3(tf, blck, bsz, K, wr, wrow, xt, yt + r, ldy, buf);
            else if (m == 2) deq_1x2(tf, blck, bsz, K, wr, wrow, xt, yt + r, ldy, buf);
            else deq_1x1(tf, blck, bsz, K, wr, wrow, xt, yt + r, ldy, buf);
        }
    }
}

/* ---------------------------------------------------------------- attention rows ---------------- */

/* out[s] = dot(q, K + s*stride) for s0 <= s < count (s0 a multiple of 4), n % 8 == 0 and n ≤ 128 (q held in
 * registers). Keys go in blocks of 4 from s = 0 (one hadd reduction each), the last count % 4 one by one
 * (hsum_ps): a key's result depends only on its index and count, whichever s0 a caller starts from. */
static void dot_rows_from(int64_t n, const float *q, const float *K, int64_t stride, int64_t s, int64_t count, float *out) {
    __m256 qv[16];
    int nv = (int)(n / 8);
    for (int i = 0; i < nv; i++) qv[i] = _mm256_loadu_ps(q + 8 * i);
    for (; s + 4 <= count; s += 4) {
        const float *k0 = K + s * stride, *k1 = k0 + stride, *k2 = k1 + stride, *k3 = k2 + stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        for (int i = 0; i < nv; i++) {
            a0 = _mm256_fmadd_ps(qv[i], _mm256_loadu_ps(k0 + 8 * i), a0);
            a1 = _mm256_fmadd_ps(qv[i], _mm256_loadu_ps(k1 + 8 * i), a1);
            a2 = _mm256_fmadd_ps(qv[i], _mm256_loadu_ps(k2 + 8 * i), a2);
            a3 = _mm256_fmadd_ps(qv[i], _mm256_loadu_ps(k3 + 8 * i), a3);
        }
        __m256 h01 = _mm256_hadd_ps(a0, a1), h23 = _mm256_hadd_ps(a2, a3), h = _mm256_hadd_ps(h01, h23);
        _mm_storeu_ps(out + s, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
    for (; s < count; s++) {
        const float *k0 = K + s * stride;
        __m256 a0 = _mm256_setzero_ps();
        for (int i = 0; i < nv; i++) a0 = _mm256_fmadd_ps(qv[i], _mm256_loadu_ps(k0 + 8 * i), a0);
        out[s] = hsum_ps(a0);
    }
}

void ll_x86_dot_rows_f32(int64_t n, const float *q, const float *K, int64_t stride, int64_t count, float *out) {
    dot_rows_from(n, q, K, stride, 0, count, out);
}

/* ll_x86_dot_rows_f32 for nq queries over the same keys (query j: keys 0..count[j]-1): the blocks of 4 keys
 * all queries have are loaded once for all of them (q from L1 instead of registers: the same FMAs in the same
 * order), the rest per query. Each out[j] is bit for bit the single-query result. */
#if defined(LL_AVX512)
/* Two queries per zmm (qa in the low half, qb in the high), each key row broadcast to both halves: every half
 * runs the ymm kernel's FMAs lane for lane and the same hadd reduction, so out is bit for bit the same. */
static void dot_rows_pair(int nv, const float *qa, const float *qb, const float *K, int64_t stride, int64_t c4,
                          float *oa, float *ob) {
    __m512 qv[16];
    for (int i = 0; i < nv; i++)
        qv[i] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(qa + 8 * i)), _mm256_loadu_ps(qb + 8 * i), 1);
    for (int64_t s = 0; s < c4; s += 4) {
        const float *k0 = K + s * stride, *k1 = k0 + stride, *k2 = k1 + stride, *k3 = k2 + stride;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        for (int i = 0; i < nv; i++) {
            a0 = _mm512_fmadd_ps(qv[i], _mm512_broadcast_f32x8(_mm256_loadu_ps(k0 + 8 * i)), a0);
            a1 = _mm512_fmadd_ps(qv[i], _mm512_broadcast_f32x8(_mm256_loadu_ps(k1 + 8 * i)), a1);
            a2 = _mm512_fmadd_ps(qv[i], _mm512_broadcast_f32x8(_mm256_loadu_ps(k2 + 8 * i)), a2);
            a3 = _mm512_fmadd_ps(qv[i], _mm512_broadcast_f32x8(_mm256_loadu_ps(k3 + 8 * i)), a3);
        }
        for (int half = 0; half < 2; half++) {
            const __m256 b0 = half ? _mm512_extractf32x8_ps(a0, 1) : _mm512_castps512_ps256(a0);
            const __m256 b1 = half ? _mm512_extractf32x8_ps(a1, 1) : _mm512_castps512_ps256(a1);
            const __m256 b2 = half ? _mm512_extractf32x8_ps(a2, 1) : _mm512_castps512_ps256(a2);
            const __m256 b3 = half ? _mm512_extractf32x8_ps(a3, 1) : _mm512_castps512_ps256(a3);
            __m256 h01 = _mm256_hadd_ps(b0, b1), h23 = _mm256_hadd_ps(b2, b3), h = _mm256_hadd_ps(h01, h23);
            _mm_storeu_ps((half ? ob : oa) + s, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
        }
    }
}
#endif

void ll_x86_dot_rows_multi_f32(int64_t n, int nq, const float *const *q, const float *K, int64_t stride,
                               const int64_t *count, float *const *out) {
    int64_t cmin = count[0];
    for (int j = 1; j < nq; j++) cmin = count[j] < cmin ? count[j] : cmin;
    int64_t c4 = cmin & ~(int64_t)3;
    int nv = (int)(n / 8);
    int j0 = 0;
#if defined(LL_AVX512)
    for (; j0 + 2 <= nq; j0 += 2) dot_rows_pair(nv, q[j0], q[j0 + 1], K, stride, c4, out[j0], out[j0 + 1]);
#endif
    for (int64_t s = 0; s < c4; s += 4) {
        const float *k0 = K + s * stride, *k1 = k0 + stride, *k2 = k1 + stride, *k3 = k2 + stride;
        for (int j = j0; j < nq; j++) {
            const float *qj = q[j];
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
            for (int i = 0; i < nv; i++) {
                __m256 qv = _mm256_loadu_ps(qj + 8 * i);
                a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 8 * i), a0);
                a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + 8 * i), a1);
                a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + 8 * i), a2);
                a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + 8 * i), a3);
            }
            __m256 h01 = _mm256_hadd_ps(a0, a1), h23 = _mm256_hadd_ps(a2, a3), h = _mm256_hadd_ps(h01, h23);
            _mm_storeu_ps(out[j] + s, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
        }
    }
    for (int j = 0; j < nq; j++) dot_rows_from(n, q[j], K, stride, c4, count[j], out[j]);
}

/* out[0..n) = Σ_s a[s]·V[s*stride ..] for s < count, n % 8 == 0 and n ≤ 128 (out held in registers). */
void ll_x86_axpy_rows_f32(int64_t n, const float *a, const float *V, int64_t stride, int64_t count, float *out) {
    __m256 acc[16];
    int nv = (int)(n / 8);
    for (int i = 0; i < nv; i++) acc[i] = _mm256_setzero_ps();
    for (int64_t s = 0; s < count; s++) {
        __m256 av = _mm256_set1_ps(a[s]);
        const float *v = V + s * stride;
        for (int i = 0; i < nv; i++) acc[i] = _mm256_fmadd_ps(av, _mm256_loadu_ps(v + 8 * i), acc[i]);
    }
    for (int i = 0; i < nv; i++) _mm256_storeu_ps(out + 8 * i, acc[i]);
}

/* ll_x86_axpy_rows_f32 for nq queries over the same value rows, in chunks of 64 rows that stay in L1 while
 * every query takes them; a query's accumulators go to out[j] between chunks (floats stored and reloaded
 * exactly), so each lane sums its products in the single-query order and out[j] is bit for bit the same. */
/* One query's accumulators, loaded from out and stored back, over rows s0..s1-1. */
static void axpy_one(int nv, const float *a, const float *V, int64_t stride, int64_t s0, int64_t s1, float *out) {
    if (s0 >= s1) return;
    __m256 acc[16];
    for (int i = 0; i < nv; i++) acc[i] = _mm256_loadu_ps(out + 8 * i);
    for (int64_t s = s0; s < s1; s++) {
        const __m256 av = _mm256_set1_ps(a[s]);
        const float *v = V + s * stride;
        for (int i = 0; i < nv; i++) acc[i] = _mm256_fmadd_ps(av, _mm256_loadu_ps(v + 8 * i), acc[i]);
    }
    for (int i = 0; i < nv; i++) _mm256_storeu_ps(out + 8 * i, acc[i]);
}

#if defined(LL_AVX512)
/* Two queries per zmm (oa's accumulators in the low half, ob's in the high), each value row broadcast to both:
 * lane for lane axpy_one's FMAs in the same row order. */
static void axpy_pair(int nv, const float *aa, const float *ab, const float *V, int64_t stride, int64_t s0, int64_t s1,
                      float *oa, float *ob) {
    if (s0 >= s1) return;
    __m512 acc[16];
    for (int i = 0; i < nv; i++)
        acc[i] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(oa + 8 * i)), _mm256_loadu_ps(ob + 8 * i), 1);
    for (int64_t s = s0; s < s1; s++) {
        const __m512 av = _mm512_insertf32x8(_mm512_set1_ps(aa[s]), _mm256_set1_ps(ab[s]), 1);
        const float *v = V + s * stride;
        for (int i = 0; i < nv; i++) acc[i] = _mm512_fmadd_ps(av, _mm512_broadcast_f32x8(_mm256_loadu_ps(v + 8 * i)), acc[i]);
    }
    for (int i = 0; i < nv; i++) {
        _mm256_storeu_ps(oa + 8 * i, _mm512_castps512_ps256(acc[i]));
        _mm256_storeu_ps(ob + 8 * i, _mm512_extractf32x8_ps(acc[i], 1));
    }
}
#endif

/* ll_x86_axpy_rows_f32 for nq queries over the same value rows, in chunks of 64 rows that stay in L1 while
 * every query takes them; a query's accumulators go to out[j] between chunks (floats stored and reloaded
 * exactly), so each lane sums its products in the single-query order and out[j] is bit for bit the same.
 * With AVX-512, queries go in pairs over the rows both have (axpy_pair), the rest of each one alone. */
void ll_x86_axpy_rows_multi_f32(int64_t n, int nq, const float *const *a, const float *V, int64_t stride,
                                const int64_t *count, float *const *out) {
    enum { CH = 64 };
    int nv = (int)(n / 8);
    int64_t cmax = 0;
    for (int j = 0; j < nq; j++) cmax = count[j] > cmax ? count[j] : cmax;
    for (int j = 0; j < nq; j++)
        for (int i = 0; i < nv; i++) _mm256_storeu_ps(out[j] + 8 * i, _mm256_setzero_ps());
    for (int64_t c0 = 0; c0 < cmax; c0 += CH) {
        int j = 0;
#if defined(LL_AVX512)
        for (; j + 2 <= nq; j += 2) {
            const int64_t e0 = c0 + CH < count[j] ? c0 + CH : count[j];
            const int64_t e1 = c0 + CH < count[j + 1] ? c0 + CH : count[j + 1];
            const int64_t em = e0 < e1 ? e0 : e1, sm = em > c0 ? em : c0;
            axpy_pair(nv, a[j], a[j + 1], V, stride, c0, em, out[j], out[j + 1]);
            axpy_one(nv, a[j], V, stride, sm, e0, out[j]);
            axpy_one(nv, a[j + 1], V, stride, sm, e1, out[j + 1]);
        }
#endif
        for (; j < nq; j++) axpy_one(nv, a[j], V, stride, c0, c0 + CH < count[j] ? c0 + CH : count[j], out[j]);
    }
}

#else
typedef int ll_dtype_x86_unused; /* non-x86 or no AVX2: the scalar table in dtype.c is used */
#endif
