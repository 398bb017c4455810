/* dtype_impl.h — what dtype.c (table, scalar reference kernels) and dtype_x86.c (SIMD kernels) share.
 *
 * Blocks are read through byte pointers and memcpy loads: GGUF rows are only as aligned as the
 * tensor start (32 bytes) plus a multiple of the block size, and activation rows come from callers'
 * buffers, so nothing here assumes more than byte alignment.
 *
 * Block layouts (ggml-common.h), offsets in bytes:
 *   q4_0  (32, 18): d f16 @0, qs[16] @2        element j<16: qs[j]&15, j>=16: qs[j-16]>>4; value d*(q-8)
 *   q4_1  (32, 20): d @0, m @2, qs[16] @4      value d*q + m
 *   q5_0  (32, 22): d @0, qh u32 @2, qs[16] @6 fifth bit of element j is bit j of qh; value d*(q-16)
 *   q5_1  (32, 24): d @0, m @2, qh @4, qs @8   value d*q + m
 *   q8_0  (32, 34): d @0, qs[32] int8 @2
 *   q8_1  (32, 36): d @0, s @2 (= fp16(d * sum(qs))), qs[32] @4
 *   q2_K (256, 84): scales[16] @0 (lo nibble scale, hi nibble min), qs[64] @16, d @80, dmin @82
 *   q3_K (256,110): hmask[32] @0, qs[64] @32, scales[12] @96 (16 6-bit, -32), d @108
 *   q4_K (256,144): d @0, dmin @2, scales[12] @4 (8 6-bit scales + 8 6-bit mins), qs[128] @16
 *   q5_K (256,176): d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48
 *   q6_K (256,210): ql[128] @0, qh[64] @128, scales[16] int8 @192, d @208
 *   q8_K (256,292): d f32 @0, qs[256] int8 @4, bsums[16] int16 @260 (sums of 16 consecutive qs)
 */
#ifndef LL_DTYPE_IMPL_H
#define LL_DTYPE_IMPL_H
#include <stdint.h>
#include <string.h>

#include "tensor/dtype.h"

#define LL_QK 32

enum {
    LL_Q4_0_SIZE = 18, LL_Q4_1_SIZE = 20, LL_Q5_0_SIZE = 22, LL_Q5_1_SIZE = 24,
    LL_Q8_0_SIZE = 34, LL_Q8_1_SIZE = 36,
    LL_Q2_K_SIZE = 84, LL_Q3_K_SIZE = 110, LL_Q4_K_SIZE = 144, LL_Q5_K_SIZE = 176,
    LL_Q6_K_SIZE = 210, LL_Q8_K_SIZE = 292
};
#define LL_Q8_K_QS 4
#define LL_Q8_K_BSUMS 260

static inline uint16_t ll_ld_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ll_ld_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline int16_t ll_ld_i16(const uint8_t *p) { int16_t v; memcpy(&v, p, 2); return v; }
static inline float ll_ld_f32(const uint8_t *p) { float v; memcpy(&v, p, 4); return v; }
static inline float ll_ld_f16(const uint8_t *p) { return ll_fp16_to_fp32(ll_ld_u16(p)); }

/* q4_K / q5_K: the 8 6-bit scales and 8 6-bit mins packed in 12 bytes. */
static inline void ll_k4_scale_min(const uint8_t *s, uint8_t sc[8], uint8_t mn[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (uint8_t)((s[j + 8] & 15) | ((s[j] >> 6) << 4));
        mn[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
}

/* q3_K: the 16 6-bit scales packed in 12 bytes, returned with the -32 offset applied. */
static inline void ll_k3_scales(const uint8_t *s, int8_t sc[16]) {
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? (s[j] & 15) : (s[j - 8] >> 4);
        int hi = (s[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
        sc[j] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

/* The x86 kernels (dtype_x86.c). Compiled when the build targets AVX2 + FMA + F16C (-march=native on
 * any x86 from 2013 on); otherwise the table uses the scalar reference for everything. */
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define LL_HAVE_X86 1
void ll_x86_vec_dot_f32(int64_t n, float *s, const void *x, const void *y);
void ll_x86_dot_rows_f32(int64_t n, const float *q, const float *K, int64_t stride, int64_t count, float *out);
void ll_x86_axpy_rows_f32(int64_t n, const float *a, const float *V, int64_t stride, int64_t count, float *out);
void ll_x86_dot_rows_multi_f32(int64_t n, int nq, const float *const *q, const float *K, int64_t stride,
                               const int64_t *count, float *const *out);
void ll_x86_axpy_rows_multi_f32(int64_t n, int nq, const float *const *a, const float *V, int64_t stride,
                                const int64_t *count, float *const *out);
void ll_x86_gemm_f32(int64_t K, const float *w, int64_t nr, const float *x, int64_t nt, float *y, int64_t ldy);
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#define LL_AVX512 1
void ll_x86_gemm_f32_pack(int64_t K, const float *x, int64_t nt, float *xp);
void ll_x86_gemm_f32_packed(int64_t K, const float *w, int64_t nr, const float *xp, int64_t nt, float *y, int64_t ldy);
#endif
void ll_x86_gemm_deq(uint32_t type, ll_to_float_fn tf, int64_t blck, size_t bsz, int64_t K, const void *w, size_t wrow,
                     int64_t nr, const float *x, int64_t nt, float *y, int64_t ldy, float *buf);
void ll_x86_vec_dot_f16(int64_t n, float *s, const void *x, const void *y);
void ll_x86_vec_dot_bf16(int64_t n, float *s, const void *x, const void *y);
/* lane_x86.c: --llamacpp mode's q4_0 / q4_1 / q5_0 / q8_0 / q6_K products with one output row per vector lane
 * (weights repacked in groups of LL_LANE_ROWS rows; zmm and vpdpbusd with AVX-512 VNNI, else two ymm halves and
 * vpmaddubsw); x86 builds use its vec_dot for those types. */
#define LL_LANE 1
#if defined(LL_AVX512) && defined(__AVX512VNNI__)
#define LL_LANE512 1
#endif
size_t ll_x86_lane_pack_size(uint32_t type, int64_t nrows, int64_t K);
void ll_x86_lane_pack(uint32_t type, const void *w, size_t wrow, int64_t nrows, int64_t K, void *out);
size_t ll_x86_lane_aux_bytes(uint32_t type, int64_t K);
void ll_x86_lane_prep(uint32_t type, int64_t K, const void *x, size_t xrow, int64_t nt, void *aux);
void ll_x86_lane_gemm(uint32_t type, int64_t K, const void *pack, int64_t g0, int64_t g1, const void *x, size_t xrow,
                      const void *aux, int64_t nt, float *y, int64_t ldy);
void ll_x86_lane_vec_dot_q6_K(int64_t n, float *s, const void *x, const void *y);
void ll_x86_lane_vec_dot_q8_0(int64_t n, float *s, const void *x, const void *y);
void ll_x86_lane_vec_dot_q4_0(int64_t n, float *s, const void *x, const void *y);
void ll_x86_lane_vec_dot_q5_0(int64_t n, float *s, const void *x, const void *y);
void ll_x86_lane_vec_dot_q4_1(int64_t n, float *s, const void *x, const void *y);
void ll_x86_vec_dot_q5_1(int64_t n, float *s, const void *x, const void *y);
void ll_x86_vec_dot_q2_K(int64_t n, float *s, const void *x, const void *y);
void ll_x86_vec_dot_q3_K(int64_t n, float *s, const void *x, const void *y);
void ll_x86_vec_dot_q4_K(int64_t n, float *s, const void *x, const void *y);
void ll_x86_vec_dot_q5_K(int64_t n, float *s, const void *x, const void *y);

void ll_x86_to_float_f16(const void *x, float *y, int64_t n);
void ll_x86_to_float_q4_0(const void *x, float *y, int64_t n);
void ll_x86_to_float_q4_1(const void *x, float *y, int64_t n);
void ll_x86_to_float_q5_0(const void *x, float *y, int64_t n);
void ll_x86_to_float_q5_1(const void *x, float *y, int64_t n);
void ll_x86_to_float_q8_0(const void *x, float *y, int64_t n);
void ll_x86_to_float_q4_K(const void *x, float *y, int64_t n);
void ll_x86_to_float_q5_K(const void *x, float *y, int64_t n);
void ll_x86_to_float_q6_K(const void *x, float *y, int64_t n);

void ll_x86_from_float_f16(const float *x, void *y, int64_t n);
void ll_x86_from_float_bf16(const float *x, void *y, int64_t n);
void ll_x86_from_float_q8_0(const float *x, void *y, int64_t n);
void ll_x86_from_float_q8_1(const float *x, void *y, int64_t n);
void ll_x86_from_float_q8_K(const float *x, void *y, int64_t n);
#endif

#endif
