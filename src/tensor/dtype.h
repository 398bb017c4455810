/* dtype.h — the tensor type table: one row per ggml type id.
 *
 * Block layouts follow ggml (ggml-common.h) so GGUF tensors are used in place. For each type the
 * table gives its block size and bytes per block (known for every standard ggml id, so the GGUF
 * reader can size any tensor), and where layerlab computes with it: a dequantizer (to_float), the
 * activation type its dot product wants (vec_dot_type), and the dot product itself.
 *
 * Pairing as ggml's CPU backend: q4_0, q5_0, q8_0 -> q8_0; q4_1, q5_1 -> q8_1; q2_K..q6_K -> q8_K;
 * f16 -> f16; bf16 -> bf16; f32 -> f32. q8_1 and q8_K are activation-only (no vec_dot).
 * to_float equals gguf-py's numpy dequantize bit for bit (NaN payloads included); from_float of
 * q8_0/q8_1/q8_K equals ggml's quantize_row_*_ref. Rows need no alignment. x86 builds with AVX2+FMA+F16C
 * use SIMD kernels (VNNI where available); ll_type_get_ref gives the portable scalar reference.
 */
#ifndef LL_DTYPE_H
#define LL_DTYPE_H
#include <stddef.h>
#include <stdint.h>

enum ll_type {
    LL_TYPE_F32 = 0, LL_TYPE_F16 = 1, LL_TYPE_Q4_0 = 2, LL_TYPE_Q4_1 = 3,
    LL_TYPE_Q5_0 = 6, LL_TYPE_Q5_1 = 7, LL_TYPE_Q8_0 = 8, LL_TYPE_Q8_1 = 9,
    LL_TYPE_Q2_K = 10, LL_TYPE_Q3_K = 11, LL_TYPE_Q4_K = 12, LL_TYPE_Q5_K = 13,
    LL_TYPE_Q6_K = 14, LL_TYPE_Q8_K = 15,
    LL_TYPE_I8 = 24, LL_TYPE_I16 = 25, LL_TYPE_I32 = 26, LL_TYPE_I64 = 27, LL_TYPE_F64 = 28,
    LL_TYPE_BF16 = 30,
    LL_TYPE_COUNT = 40
};

#define LL_QK_K 256

typedef void (*ll_to_float_fn)(const void *x, float *y, int64_t n);

typedef struct {
    const char *name;        /* ggml's name: "f32", "q4_K", ... ; NULL for an unknown id */
    int64_t blck;            /* elements per block */
    size_t type_size;        /* bytes per block */
    /* Dequantize n elements (n a multiple of blck). NULL: layerlab cannot compute with this type. */
    void (*to_float)(const void *x, float *y, int64_t n);
    /* Quantize n floats into this type (used for activation types and the tests). NULL if absent. */
    void (*from_float)(const float *x, void *y, int64_t n);
    uint32_t vec_dot_type;   /* the type activations are converted to for vec_dot */
    /* *s = dot(x[0..n), y[0..n)), x a row of this type, y a row of vec_dot_type. */
    void (*vec_dot)(int64_t n, float *s, const void *x, const void *y);
} ll_type_traits;

/* NULL when the id is not a ggml type id layerlab knows the size of. */
const ll_type_traits *ll_type_get(uint32_t type);
const char *ll_type_name(uint32_t type);        /* "type 99" style for unknown ids (static buffer) */
/* Bytes for a row of n elements; 0 if n is not a multiple of the block size or the type is unknown. */
size_t ll_row_size(uint32_t type, int64_t n);

/* The same table with only the portable scalar kernels: the reference the SIMD kernels are tested
 * against (identical rows, sizes and vec_dot_type pairing; slower). */
const ll_type_traits *ll_type_get_ref(uint32_t type);
/* Which kernels ll_type_get's table uses, e.g. "avx2+fma+f16c, vnni, avx512" or "scalar". */
const char *ll_type_kernels(void);

/* *s = dot(x[0..n), y[0..n)) of two float rows (any n; FMA with several accumulators when available,
 * else a scalar loop accumulating in double). Used by the exact matmul mode. */
void ll_vec_dot_f32(int64_t n, float *s, const float *x, const float *y);
/* Attention helpers over rows at a stride: out[s] = dot(q, K + s*stride) for s < count; and
 * out[0..n) = Σ_s a[s]·V[s*stride..]. */
void ll_dot_rows_f32(int64_t n, const float *q, const float *K, int64_t stride, int64_t count, float *out);
void ll_axpy_rows_f32(int64_t n, const float *a, const float *V, int64_t stride, int64_t count, float *out);
/* The same for nq queries over the same key / value rows (query j: rows 0..count[j]-1), sharing their loads;
 * out[j] is bit for bit what the single-query call gives. */
void ll_dot_rows_multi_f32(int64_t n, int nq, const float *const *q, const float *K, int64_t stride, const int64_t *count,
                           float *const *out);
void ll_axpy_rows_multi_f32(int64_t n, int nq, const float *const *a, const float *V, int64_t stride, const int64_t *count,
                            float *const *out);
/* y[t*ldy + r] = dot(w row r, x row t) for r < nr, t < nt; rows of K floats. Register-tiled; every
 * element is summed in the same order whatever nr and nt, so results do not depend on batch size. */
void ll_gemm_f32(int64_t K, const float *w, int64_t nr, const float *x, int64_t nt, float *y, int64_t ldy);
/* ll_gemm_f32 for many tokens against many weight tiles: the activations are packed once (ll_gemm_f32_pack
 * fills xp, LL_GEMM_XPACK_FLOATS(K, nt) floats, and returns it; or returns x itself where the build has no
 * packed kernel or K % 8 != 0), then ll_gemm_f32_packed takes the returned pointer in place of x. Bit for bit
 * ll_gemm_f32 (x86 with AVX-512: two tokens per zmm, each half one of ll_gemm_f32's accumulators). */
#define LL_GEMM_XPACK_FLOATS(K, nt) ((((nt) + 1) / 2) * 2 * (K))
int ll_gemm_f32_packs(int64_t K); /* whether ll_gemm_f32_pack packs rows of K (else it returns x) */
const float *ll_gemm_f32_pack(int64_t K, const float *x, int64_t nt, float *xp);
void ll_gemm_f32_packed(int64_t K, const float *w, int64_t nr, const float *xp, int64_t nt, float *y, int64_t ldy);

/* ll_gemm_f32 with the weights still in their stored type (rows of K elements, wrow bytes apart): bit for bit
 * what dequantizing the rows with the type's to_float and calling ll_gemm_f32 gives, but each row is dequantized
 * in registers (x86: q4_0, q4_1, q5_0, q5_1, q8_0, q4_K, q5_K, q6_K) or LL_DEQ_CHUNK elements at a time into scratch and used
 * while it is in L1 — the exact mode's path for few tokens, where a whole dequantized tile would be written
 * out and read back once. The type must have a to_float. scratch holds
 * LL_GEMM_DEQ_SCRATCH(K) floats. */
#define LL_DEQ_CHUNK 256
#define LL_GEMM_DEQ_SCRATCH(K) ((K) > 4 * LL_DEQ_CHUNK ? (K) : 4 * LL_DEQ_CHUNK)
void ll_gemm_deq(uint32_t type, int64_t K, const void *w, size_t wrow, int64_t nr, const float *x, int64_t nt,
                 float *y, int64_t ldy, float *scratch);

/* Weights repacked at load for the --llamacpp mode (x86 builds: q4_0, q4_1, q5_0, q8_0, q6_K): groups of
 * LL_LANE_ROWS rows whose quants are interleaved so that each vector lane computes one row's product
 * (src/tensor/lane_x86.c has the layout and the arithmetic). In such builds these types' vec_dot computes per
 * block the exact integer dot product and acc = fma(dw·dy, Σ, acc) (q4_1: then acc = fma(m, s, acc)), and
 * ll_lane_gemm gives bit for bit vec_dot for every (row, token).
 * ll_lane_pack_size: the packed bytes of the first nrows / LL_LANE_ROWS groups (the rows after them stay with
 * vec_dot), 0 where this build has no packed kernel for the type or the shape (fewer than LL_LANE_ROWS rows, K
 * not a multiple of the block size). ll_lane_pack fills them from rows wrow bytes apart.
 * ll_lane_prep: per activation block (rows in the type's vec_dot_type) the values the kernel needs,
 * ll_lane_aux_bytes(type, K) per token. ll_lane_gemm: y[t*ldy + r] for the rows of groups g0..g1-1 and nt
 * tokens. */
#define LL_LANE_ROWS 16
size_t ll_lane_pack_size(uint32_t type, int64_t nrows, int64_t K);
void ll_lane_pack(uint32_t type, const void *w, size_t wrow, int64_t nrows, int64_t K, void *out);
size_t ll_lane_aux_bytes(uint32_t type, int64_t K);
void ll_lane_prep(uint32_t type, int64_t K, const void *x, size_t xrow, int64_t nt, void *aux);
void ll_lane_gemm(uint32_t type, int64_t K, const void *pack, int64_t g0, int64_t g1, const void *x, size_t xrow,
                  const void *aux, int64_t nt, float *y, int64_t ldy);

/* One token's matrix-vector product streams every weight from memory once: its kernels prefetch each row this
 * many bytes ahead (several tiles of rows further on), which keeps enough misses in flight for the read
 * bandwidth (docs/PERFORMANCE.md: 4-16 KiB alike, 1 KiB half the gain). A prefetch never faults. */
#define LL_PREFETCH_AHEAD 4096

/* fp16 / bf16 conversion helpers (exact, round-to-nearest-even for the float->half direction). */
float ll_fp16_to_fp32(uint16_t h);
/* x[i] = the nearest fp16 of x[i], back in fp32 (llama.cpp's fp16 KV cache and attention weights). */
void ll_round_f16(float *x, size_t n);
uint16_t ll_fp32_to_fp16(float f);
float ll_bf16_to_fp32(uint16_t h);
uint16_t ll_fp32_to_bf16(float f);

#endif
