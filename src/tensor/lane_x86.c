/* lane_x86.c — the --llamacpp mode's quantized products on AVX-512 VNNI builds, with one output per vector lane.
 *
 * The arithmetic (q4_0, q5_0, q8_0 × q8_0 and q4_1 × q8_1), for one weight row and one token:
 *     acc = 0; for each block b in order: acc = fma(dw_b · dy_b, (float) Σ_i w_i·y_i, acc)
 *                                          [q4_1: then acc = fma(m_b, s_b, acc)]
 * where Σ w·y is the block's exact integer dot product (w the signed weight quants: q − 8, q − 16, or the
 * q8_0 quants; q4_1's unsigned nibbles). Every path here computes exactly that, so vec_dot (one pair) and the
 * packed GEMM (16 rows × any number of tokens) agree bit for bit, and a token's result never depends on its
 * batch.
 *
 * The packed GEMM reads weights repacked at load (ll_lane_pack) in groups of 16 rows: per group and block, the
 * 16 rows' scales as fp16, then the quants interleaved so that 32-bit lane r of a 64-byte vector holds 4
 * consecutive quants of row r. One vpdpbusd then adds 4 products to each of the 16 rows' sums, against 4
 * activation bytes broadcast to every lane; 8 of them cover the block, and the conversion, the scale product
 * and the FMA are one instruction each for 16 (row, token) pairs. Unsigned weight bytes times signed
 * activations: q8_0's quants are stored + 128 and q4_0's / q5_0's as their unsigned q, and the sum starts from
 * −C · Σ y (C = 128, 8, 16: taken once per activation block, ll_lane_prep), which gives Σ w·y exactly. q5_0's
 * fifth bits are stored as byte masks (bit 4r + i of mask j: quant 4j + i of row r has it).
 *
 * q6_K × q8_K takes the same path with 256-element blocks: per 16-element sub-block j the exact Σ (q − 32)·y
 * (started from −32 · the activation's bsum), times the row's 6-bit scale in 32-bit integer lanes, summed over
 * the block; then acc = fma(dw · dy, (float) Σ_j sc_j · Σ_j, acc). Its record: the 16 fp16 d, the scales as
 * [sub-block][row] bytes, 32 vectors of low-nibble pairs (chunk n and n + 32), 16 vectors of the high 2 bits
 * (chunks m, m + 16, m + 32, m + 48 in bits 0-1, 2-3, 4-5, 6-7).
 *
 * A record (16 rows, one block) has exactly the bytes of the 16 rows' blocks in their GGUF layout.
 */
#include "tensor/dtype_impl.h"

#if defined(LL_LANE)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define G LL_LANE_ROWS

static inline float h2f(const uint8_t *p) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(ll_ld_u16(p)))); }

/* bytes of one record, and where its quants start */
static size_t rec_bytes(uint32_t type) {
    switch (type) {
    case LL_TYPE_Q8_0: return G * LL_Q8_0_SIZE;
    case LL_TYPE_Q4_0: return G * LL_Q4_0_SIZE;
    case LL_TYPE_Q5_0: return G * LL_Q5_0_SIZE;
    case LL_TYPE_Q4_1: return G * LL_Q4_1_SIZE;
    case LL_TYPE_Q6_K: return G * LL_Q6_K_SIZE;
    default: return 0;
    }
}

/* the 32-element types: the offset C their quants are stored with (w + C, unsigned), the activation block's
 * bytes and where its quants start in it (q8_1 for q4_1, else q8_0) */
static inline int wt_offset(uint32_t type) {
    return type == LL_TYPE_Q8_0 ? 128 : type == LL_TYPE_Q4_0 ? 8 : type == LL_TYPE_Q5_0 ? 16 : 0;
}
static inline size_t act_bytes(uint32_t type) { return type == LL_TYPE_Q4_1 ? LL_Q8_1_SIZE : LL_Q8_0_SIZE; }
static inline size_t act_qoff(uint32_t type) { return type == LL_TYPE_Q4_1 ? 4 : 2; }

static int64_t blck(uint32_t type) { return type == LL_TYPE_Q6_K ? LL_QK_K : LL_QK; }

size_t ll_x86_lane_pack_size(uint32_t type, int64_t nrows, int64_t K) {
    if (!rec_bytes(type) || nrows < G || K <= 0 || K % blck(type)) return 0;
    return (size_t)(nrows / G) * (size_t)(K / blck(type)) * rec_bytes(type);
}

/* per token and block: the activation's scale, q8_1's s, and where each integer sum starts */
typedef struct {
    float d, s;
    int32_t bias, pad;
} aux32;
typedef struct {
    float d;
    int32_t pad[3];
    int32_t bias[16];   /* −32 · Σ y of sub-block j */
} aux6k;

size_t ll_x86_lane_aux_bytes(uint32_t type, int64_t K) {
    return (size_t)(K / blck(type)) * (type == LL_TYPE_Q6_K ? sizeof(aux6k) : sizeof(aux32));
}

/* q6_K: the 256 unsigned 6-bit quants of one block (element 128h + 32s + l, as deq_q6_K) */
static void q6k_quants(const uint8_t *b, uint8_t q[256]) {
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++)
            for (int l = 0; l < 32; l++) {
                const uint8_t ql = b[64 * h + 32 * (s & 1) + l], qh = b[128 + 32 * h + l];
                q[128 * h + 32 * s + l] = (uint8_t)(((ql >> (4 * (s >> 1))) & 15) | (((qh >> (2 * s)) & 3) << 4));
            }
}

static void pack_q6_K(const uint8_t *w, size_t wrow, int64_t nrows, int64_t K, uint8_t *o) {
    for (int64_t g = 0; g < nrows / G; g++)
        for (int64_t b = 0; b < K / LL_QK_K; b++, o += G * LL_Q6_K_SIZE) {
            uint8_t q[G][256];
            for (int r = 0; r < G; r++) {
                const uint8_t *blk = w + (size_t)(g * G + r) * wrow + (size_t)b * LL_Q6_K_SIZE;
                memcpy(o + 2 * r, blk + 208, 2);
                for (int j = 0; j < 16; j++) o[2 * G + j * G + r] = blk[192 + j];
                q6k_quants(blk, q[r]);
            }
            uint8_t *nib = o + 2 * G + 16 * G, *hb = nib + 32 * 64;
            for (int r = 0; r < G; r++)
                for (int i = 0; i < 4; i++) {
                    for (int n = 0; n < 32; n++)
                        nib[(n * G + r) * 4 + i] = (uint8_t)((q[r][4 * n + i] & 15) | ((q[r][4 * (n + 32) + i] & 15) << 4));
                    for (int m = 0; m < 16; m++) {
                        int v = 0;
                        for (int k = 0; k < 4; k++) v |= (q[r][4 * (m + 16 * k) + i] >> 4) << (2 * k);
                        hb[(m * G + r) * 4 + i] = (uint8_t)v;
                    }
                }
        }
}

/* The signed quants of one weight block as bytes (q8_0: w; q4_0, q5_0: unsigned q; q4_1: nibble). */
static void block_quants(uint32_t type, const uint8_t *b, uint8_t q[32]) {
    switch (type) {
    case LL_TYPE_Q8_0:
        for (int i = 0; i < 32; i++) q[i] = (uint8_t)(b[2 + i] ^ 0x80);   /* w + 128 */
        break;
    case LL_TYPE_Q4_0:
    case LL_TYPE_Q4_1: {
        const uint8_t *qs = b + (type == LL_TYPE_Q4_0 ? 2 : 4);
        for (int i = 0; i < 16; i++) q[i] = qs[i] & 15, q[i + 16] = qs[i] >> 4;
        break;
    }
    case LL_TYPE_Q5_0: {
        uint32_t qh = ll_ld_u32(b + 2);
        for (int i = 0; i < 16; i++) {
            q[i] = (uint8_t)((b[6 + i] & 15) | (((qh >> i) & 1) << 4));
            q[i + 16] = (uint8_t)((b[6 + i] >> 4) | (((qh >> (i + 16)) & 1) << 4));
        }
        break;
    }
    }
}

void ll_x86_lane_pack(uint32_t type, const void *vw, size_t wrow, int64_t nrows, int64_t K, void *vout) {
    const uint8_t *w = vw;
    uint8_t *o = vout;
    if (type == LL_TYPE_Q6_K) {
        pack_q6_K(w, wrow, nrows, K, o);
        return;
    }
    const int64_t nb = K / LL_QK;
    const size_t bsz = rec_bytes(type) / G;
    for (int64_t g = 0; g < nrows / G; g++)
        for (int64_t b = 0; b < nb; b++, o += rec_bytes(type)) {
            uint8_t q[G][32];
            for (int r = 0; r < G; r++) {
                const uint8_t *blk = w + (size_t)(g * G + r) * wrow + (size_t)b * bsz;
                memcpy(o + 2 * r, blk, 2);                                  /* d */
                if (type == LL_TYPE_Q4_1) memcpy(o + 2 * G + 2 * r, blk + 2, 2);   /* m */
                block_quants(type, blk, q[r]);
            }
            if (type == LL_TYPE_Q8_0) {   /* 8 vectors: quants 4j..4j+3 of each row */
                uint8_t *p = o + 2 * G;
                for (int j = 0; j < 8; j++)
                    for (int r = 0; r < G; r++) memcpy(p + (j * G + r) * 4, &q[r][4 * j], 4);
                continue;
            }
            /* 4 vectors of nibble pairs: byte i of lane r in vector c = quant 4c+i (low) | quant 16+4c+i (high) */
            uint8_t *p = o + (type == LL_TYPE_Q4_1 ? 4 * G : type == LL_TYPE_Q5_0 ? 2 * G + 64 : 2 * G);
            for (int c = 0; c < 4; c++)
                for (int r = 0; r < G; r++)
                    for (int i = 0; i < 4; i++)
                        p[(c * G + r) * 4 + i] = (uint8_t)((q[r][4 * c + i] & 15) | ((q[r][16 + 4 * c + i] & 15) << 4));
            if (type == LL_TYPE_Q5_0) {   /* masks 0..3: quants 4c+i; 4..7: quants 16+4c+i */
                uint8_t *mk = o + 2 * G;
                for (int j = 0; j < 8; j++) {
                    uint64_t m = 0;
                    const int e0 = j < 4 ? 4 * j : 16 + 4 * (j - 4);
                    for (int r = 0; r < G; r++)
                        for (int i = 0; i < 4; i++)
                            if (q[r][e0 + i] & 16) m |= 1ull << (4 * r + i);
                    memcpy(mk + 8 * j, &m, 8);
                }
            }
        }
}

/* Σ of 32 signed bytes */
static inline int sum_i8x32(const uint8_t *p) {
    int s = 0;
    for (int i = 0; i < 32; i++) s += (int8_t)p[i];
    return s;
}

/* Per activation block: its scale, q8_1's s, and where the integer sums start (−C · Σ y). */
void ll_x86_lane_prep(uint32_t type, int64_t K, const void *vx, size_t xrow, int64_t nt, void *vaux) {
    if (type == LL_TYPE_Q6_K) {
        aux6k *aux = vaux;
        const int64_t nb = K / LL_QK_K;
        for (int64_t t = 0; t < nt; t++) {
            const uint8_t *x = (const uint8_t *)vx + (size_t)t * xrow;
            for (int64_t b = 0; b < nb; b++, x += LL_Q8_K_SIZE) {
                aux6k *a = &aux[t * nb + b];
                memset(a, 0, sizeof *a);
                memcpy(&a->d, x, 4);
                for (int j = 0; j < 16; j++) {   /* bsums are this program's quantizer's, but recounted: cheap */
                    int sy = 0;
                    for (int l = 0; l < 16; l++) sy += (int8_t)x[LL_Q8_K_QS + 16 * j + l];
                    a->bias[j] = -32 * sy;
                }
            }
        }
        return;
    }
    aux32 *aux = vaux;
    const int64_t nb = K / LL_QK;
    const int C = wt_offset(type);
    const size_t bsz = act_bytes(type), qo = act_qoff(type);
    for (int64_t t = 0; t < nt; t++) {
        const uint8_t *x = (const uint8_t *)vx + (size_t)t * xrow;
        for (int64_t b = 0; b < nb; b++, x += bsz) {
            aux32 *a = &aux[t * nb + b];
            a->d = h2f(x);
            a->s = type == LL_TYPE_Q4_1 ? h2f(x + 2) : 0.0f;
            a->bias = -C * sum_i8x32(x + qo);
            a->pad = 0;
        }
    }
}

#if defined(LL_LANE512)
static inline __m512i bcast4(const uint8_t *p) { return _mm512_set1_epi32((int)ll_ld_u32(p)); }

/* NT tokens against one group of 16 rows, every block: y[t*ldy + r] for r < 16. */
static inline __attribute__((always_inline)) void lane_tile(uint32_t type, int64_t nb, const uint8_t *rec,
                                                            const uint8_t *x, size_t xrow, const aux32 *aux,
                                                            int NT, float *y, int64_t ldy) {
    __m512 acc[8];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    const size_t rb = rec_bytes(type), ybsz = act_bytes(type), qo = act_qoff(type);
    const __m512i lo4 = _mm512_set1_epi8(15), b16 = _mm512_set1_epi8(16);
    for (int64_t b = 0; b < nb; b++, rec += rb) {
        if (NT <= 2) /* few tokens: bound by the weight stream */
            for (size_t o = 0; o < rb; o += 64) _mm_prefetch((const char *)rec + LL_PREFETCH_AHEAD + o, _MM_HINT_T0);
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)rec));
        __m512 mw = _mm512_setzero_ps();
        __m512i q[8];   /* vector j: quants 4j..4j+3 of each row */
        if (type == LL_TYPE_Q8_0) {
            for (int j = 0; j < 8; j++) q[j] = _mm512_loadu_si512((const void *)(rec + 2 * G + 64 * j));
        } else {
            const uint8_t *p = rec + (type == LL_TYPE_Q4_1 ? 4 * G : type == LL_TYPE_Q5_0 ? 2 * G + 64 : 2 * G);
            for (int c = 0; c < 4; c++) {
                const __m512i v = _mm512_loadu_si512((const void *)(p + 64 * c));
                q[c] = _mm512_and_si512(v, lo4);
                q[c + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
            }
            if (type == LL_TYPE_Q5_0)
                for (int j = 0; j < 8; j++) {
                    uint64_t m;
                    memcpy(&m, rec + 2 * G + 8 * j, 8);
                    q[j] = _mm512_mask_add_epi8(q[j], (__mmask64)m, q[j], b16);
                }
            if (type == LL_TYPE_Q4_1)
                mw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(rec + 2 * G)));
        }
        for (int t = 0; t < NT; t++) {
            const uint8_t *yq = x + (size_t)t * xrow + (size_t)b * ybsz + qo;
            const aux32 *a = &aux[t * nb + b];
            __m512i s = _mm512_set1_epi32(a->bias);
            for (int j = 0; j < 4; j++) s = _mm512_dpbusd_epi32(s, q[j], bcast4(yq + 4 * j));
            for (int j = 0; j < 4; j++) s = _mm512_dpbusd_epi32(s, q[j + 4], bcast4(yq + 16 + 4 * j));
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(a->d)), _mm512_cvtepi32_ps(s), acc[t]);
            if (type == LL_TYPE_Q4_1) acc[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(a->s), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

/* q6_K: NT tokens against one group of 16 rows, every 256-element block */
static inline __attribute__((always_inline)) void lane_tile_q6_K(int64_t nb, const uint8_t *rec, const uint8_t *x,
                                                                 size_t xrow, const aux6k *aux, int NT, float *y,
                                                                 int64_t ldy) {
    __m512 acc[8];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    const __m512i lo4 = _mm512_set1_epi8(15), hb2 = _mm512_set1_epi8(0x30);
    for (int64_t b = 0; b < nb; b++, rec += G * LL_Q6_K_SIZE) {
        if (NT <= 2)
            for (size_t o = 0; o < G * LL_Q6_K_SIZE; o += 64)
                _mm_prefetch((const char *)rec + LL_PREFETCH_AHEAD + o, _MM_HINT_T0);
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)rec));
        const uint8_t *sc = rec + 2 * G, *nib = sc + 16 * G, *hb = nib + 32 * 64;
        __m512i isum[8];
        for (int t = 0; t < NT; t++) isum[t] = _mm512_setzero_si512();
        for (int j = 0; j < 16; j++) {   /* sub-block j: chunks 4j..4j+3 */
            __m512i q[4];
            for (int k = 0; k < 4; k++) {
                const int c = 4 * j + k, n = c & 31, m = c & 15, sh = c >> 4;
                const __m512i N = _mm512_loadu_si512((const void *)(nib + 64 * n));
                const __m512i H = _mm512_loadu_si512((const void *)(hb + 64 * m));
                const __m512i lo = c < 32 ? _mm512_and_si512(N, lo4) : _mm512_and_si512(_mm512_srli_epi16(N, 4), lo4);
                const __m512i hi = sh == 0   ? _mm512_slli_epi16(H, 4)
                                   : sh == 1 ? _mm512_slli_epi16(H, 2)
                                   : sh == 2 ? H
                                             : _mm512_srli_epi16(H, 2);
                q[k] = _mm512_ternarylogic_epi32(lo, hi, hb2, 0xF8);   /* lo | (hi & 0x30) */
            }
            const __m512i scj = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(sc + 16 * j)));
            for (int t = 0; t < NT; t++) {
                const uint8_t *yq = x + (size_t)t * xrow + (size_t)b * LL_Q8_K_SIZE + LL_Q8_K_QS + 16 * j;
                __m512i sj = _mm512_set1_epi32(aux[t * nb + b].bias[j]);
                for (int k = 0; k < 4; k++) sj = _mm512_dpbusd_epi32(sj, q[k], bcast4(yq + 4 * k));
                isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(sj, scj));
            }
        }
        for (int t = 0; t < NT; t++)
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(aux[t * nb + b].d)), _mm512_cvtepi32_ps(isum[t]),
                                     acc[t]);
    }
    for (int t = 0; t < NT; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

#else
/* AVX2 (and AVX-512 without VNNI): each group as two halves of 8 rows, one ymm lane per row; 4 products per lane
 * by vpmaddubsw (u8 × s8 pairs to int16) and vpmaddwd against ones, several chunks' int16 pairs added first
 * where they cannot overflow (|u·y + u·y| ≤ 2 · 15 · 128 for 4-bit quants: 8 chunks; 5-bit 4; 6-bit 2). q8_0
 * takes the sign trick (|w| · sign(y, w): w itself is the stored byte ^ 0x80), one chunk per vpmaddwd. */
static inline __m256i bc4(const uint8_t *p) { return _mm256_set1_epi32((int)ll_ld_u32(p)); }

/* bits 32h..32h+31 of a q5_0 mask (bit 4r + i: quant i of lane r) as 0x10 in the bytes whose bit is set */
static inline __m256i q5_bits(const uint8_t *mk, int h) {
    const __m256i shuf = _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL, 0x0303030303030303LL);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)ll_ld_u32(mk + 4 * h)), shuf);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(16));
}

static inline __attribute__((always_inline)) void lane_tile(uint32_t type, int64_t nb, const uint8_t *rec,
                                                            const uint8_t *x, size_t xrow, const aux32 *aux,
                                                            int NT, float *y, int64_t ldy) {
    const size_t rb = rec_bytes(type), ybsz = act_bytes(type), qo = act_qoff(type);
    const int cpm = type == LL_TYPE_Q8_0 ? 1 : type == LL_TYPE_Q5_0 ? 4 : 8;   /* chunks per vpmaddwd */
    const __m256i lo4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    for (int h = 0; h < 2; h++) {
        __m256 acc[4];
        for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps();
        const uint8_t *rc = rec;
        for (int64_t b = 0; b < nb; b++, rc += rb) {
            if (NT <= 2 && h == 0)
                for (size_t o = 0; o < rb; o += 64) _mm_prefetch((const char *)rc + LL_PREFETCH_AHEAD + o, _MM_HINT_T0);
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(rc + 16 * h)));
            __m256 mw = _mm256_setzero_ps();
            __m256i q[8], aw[8];
            if (type == LL_TYPE_Q8_0) {
                for (int j = 0; j < 8; j++) {
                    const __m256i u = _mm256_loadu_si256((const __m256i *)(const void *)(rc + 2 * G + 64 * j + 32 * h));
                    q[j] = _mm256_xor_si256(u, _mm256_set1_epi8((char)0x80));
                    aw[j] = _mm256_sign_epi8(q[j], q[j]);
                }
            } else {
                const uint8_t *p = rc + (type == LL_TYPE_Q4_1 ? 4 * G : type == LL_TYPE_Q5_0 ? 2 * G + 64 : 2 * G);
                for (int c = 0; c < 4; c++) {
                    const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + 64 * c + 32 * h));
                    q[c] = _mm256_and_si256(v, lo4);
                    q[c + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
                }
                if (type == LL_TYPE_Q5_0)
                    for (int j = 0; j < 8; j++) q[j] = _mm256_or_si256(q[j], q5_bits(rc + 2 * G + 8 * j, h));
                if (type == LL_TYPE_Q4_1)
                    mw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(rc + 2 * G + 16 * h)));
            }
            for (int t = 0; t < NT; t++) {
                const uint8_t *yq = x + (size_t)t * xrow + (size_t)b * ybsz + qo;
                const aux32 *a = &aux[t * nb + b];
                /* q8_0: the sign trick sums w·y itself (the bias is for the offset quants of the VNNI kernel) */
                __m256i s = _mm256_set1_epi32(type == LL_TYPE_Q8_0 ? 0 : a->bias), pr = _mm256_setzero_si256();
                for (int j = 0; j < 8; j++) {
                    const __m256i pj = type == LL_TYPE_Q8_0
                                           ? _mm256_maddubs_epi16(aw[j], _mm256_sign_epi8(bc4(yq + 4 * j), q[j]))
                                           : _mm256_maddubs_epi16(q[j], bc4(yq + 4 * j));
                    pr = j % cpm == 0 ? pj : _mm256_add_epi16(pr, pj);
                    if (j % cpm == cpm - 1) s = _mm256_add_epi32(s, _mm256_madd_epi16(pr, ones));
                }
                acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(a->d)), _mm256_cvtepi32_ps(s), acc[t]);
                if (type == LL_TYPE_Q4_1) acc[t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(a->s), acc[t]);
            }
        }
        for (int t = 0; t < NT; t++) _mm256_storeu_ps(y + t * ldy + 8 * h, acc[t]);
    }
}

static inline __attribute__((always_inline)) void lane_tile_q6_K(int64_t nb, const uint8_t *rec, const uint8_t *x,
                                                                 size_t xrow, const aux6k *aux, int NT, float *y,
                                                                 int64_t ldy) {
    const __m256i lo4 = _mm256_set1_epi8(15), hb2 = _mm256_set1_epi8(0x30), ones = _mm256_set1_epi16(1);
    for (int h = 0; h < 2; h++) {
        __m256 acc[4];
        for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps();
        const uint8_t *rc = rec;
        for (int64_t b = 0; b < nb; b++, rc += G * LL_Q6_K_SIZE) {
            if (NT <= 2 && h == 0)
                for (size_t o = 0; o < G * LL_Q6_K_SIZE; o += 64)
                    _mm_prefetch((const char *)rc + LL_PREFETCH_AHEAD + o, _MM_HINT_T0);
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(rc + 16 * h)));
            const uint8_t *sc = rc + 2 * G, *nib = sc + 16 * G, *hb = nib + 32 * 64;
            __m256i isum[4];
            for (int t = 0; t < NT; t++) isum[t] = _mm256_setzero_si256();
            for (int j = 0; j < 16; j++) {
                __m256i q[4];
                for (int k = 0; k < 4; k++) {
                    const int c = 4 * j + k, n = c & 31, m = c & 15, sh = c >> 4;
                    const __m256i N = _mm256_loadu_si256((const __m256i *)(const void *)(nib + 64 * n + 32 * h));
                    const __m256i H = _mm256_loadu_si256((const __m256i *)(const void *)(hb + 64 * m + 32 * h));
                    const __m256i lo = c < 32 ? _mm256_and_si256(N, lo4) : _mm256_and_si256(_mm256_srli_epi16(N, 4), lo4);
                    const __m256i hi = sh == 0   ? _mm256_slli_epi16(H, 4)
                                       : sh == 1 ? _mm256_slli_epi16(H, 2)
                                       : sh == 2 ? H
                                                 : _mm256_srli_epi16(H, 2);
                    q[k] = _mm256_or_si256(lo, _mm256_and_si256(hi, hb2));
                }
                const __m256i scj = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(sc + 16 * j + 8 * h)));
                for (int t = 0; t < NT; t++) {
                    const uint8_t *yq = x + (size_t)t * xrow + (size_t)b * LL_Q8_K_SIZE + LL_Q8_K_QS + 16 * j;
                    const __m256i p01 = _mm256_add_epi16(_mm256_maddubs_epi16(q[0], bc4(yq)), _mm256_maddubs_epi16(q[1], bc4(yq + 4)));
                    const __m256i p23 = _mm256_add_epi16(_mm256_maddubs_epi16(q[2], bc4(yq + 8)), _mm256_maddubs_epi16(q[3], bc4(yq + 12)));
                    __m256i sj = _mm256_add_epi32(_mm256_set1_epi32(aux[t * nb + b].bias[j]), _mm256_madd_epi16(p01, ones));
                    sj = _mm256_add_epi32(sj, _mm256_madd_epi16(p23, ones));
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_mullo_epi32(sj, scj));
                }
            }
            for (int t = 0; t < NT; t++)
                acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(aux[t * nb + b].d)), _mm256_cvtepi32_ps(isum[t]),
                                         acc[t]);
        }
        for (int t = 0; t < NT; t++) _mm256_storeu_ps(y + t * ldy + 8 * h, acc[t]);
    }
}
#endif

#if defined(LL_LANE512)
#define LANE_NT 8
#else
#define LANE_NT 4
#endif

/* every token of one group: tiles of LANE_NT tokens, then 4, 2, 1 */
#define LANE_TOKENS(TILE, ...)                                                                                \
    do {                                                                                                      \
        int64_t t = 0;                                                                                        \
        for (; t + LANE_NT <= nt; t += LANE_NT)                                                               \
            TILE(__VA_ARGS__, nb, rec, x + (size_t)t * xrow, xrow, aux + t * nb, LANE_NT, y + t * ldy, ldy);  \
        if (LANE_NT > 4 && t + 4 <= nt) {                                                                     \
            TILE(__VA_ARGS__, nb, rec, x + (size_t)t * xrow, xrow, aux + t * nb, 4, y + t * ldy, ldy);        \
            t += 4;                                                                                           \
        }                                                                                                     \
        if (t + 2 <= nt) {                                                                                    \
            TILE(__VA_ARGS__, nb, rec, x + (size_t)t * xrow, xrow, aux + t * nb, 2, y + t * ldy, ldy);        \
            t += 2;                                                                                           \
        }                                                                                                     \
        if (t < nt) TILE(__VA_ARGS__, nb, rec, x + (size_t)t * xrow, xrow, aux + t * nb, 1, y + t * ldy, ldy); \
    } while (0)

#define LANE_TYPE(TY, TYPE)                                                                                   \
    static void lane_##TY(int64_t nb, const uint8_t *rec, const uint8_t *x, size_t xrow, const aux32 *aux,     \
                          int64_t nt, float *y, int64_t ldy) {                                                \
        LANE_TOKENS(lane_tile, TYPE);                                                                         \
    }
LANE_TYPE(q8_0, LL_TYPE_Q8_0)
LANE_TYPE(q4_0, LL_TYPE_Q4_0)
LANE_TYPE(q5_0, LL_TYPE_Q5_0)
LANE_TYPE(q4_1, LL_TYPE_Q4_1)

#define lane_tile_q6_K_(unused, ...) lane_tile_q6_K(__VA_ARGS__)
static void lane_q6_K(int64_t nb, const uint8_t *rec, const uint8_t *x, size_t xrow, const aux6k *aux, int64_t nt,
                      float *y, int64_t ldy) {
    LANE_TOKENS(lane_tile_q6_K_, 0);
}

void ll_x86_lane_gemm(uint32_t type, int64_t K, const void *pack, int64_t g0, int64_t g1, const void *x, size_t xrow,
                      const void *aux, int64_t nt, float *y, int64_t ldy) {
    const int64_t nb = K / blck(type);
    const size_t gbytes = (size_t)nb * rec_bytes(type);
    for (int64_t g = g0; g < g1; g++) {
        const uint8_t *rec = (const uint8_t *)pack + (size_t)g * gbytes;
        float *yg = y + g * G;
        switch (type) {
        case LL_TYPE_Q8_0: lane_q8_0(nb, rec, x, xrow, aux, nt, yg, ldy); break;
        case LL_TYPE_Q4_0: lane_q4_0(nb, rec, x, xrow, aux, nt, yg, ldy); break;
        case LL_TYPE_Q5_0: lane_q5_0(nb, rec, x, xrow, aux, nt, yg, ldy); break;
        case LL_TYPE_Q4_1: lane_q4_1(nb, rec, x, xrow, aux, nt, yg, ldy); break;
        case LL_TYPE_Q6_K: lane_q6_K(nb, rec, x, xrow, aux, nt, yg, ldy); break;
        }
    }
}

/* ---- vec_dot: one row, one token, the same arithmetic ---- */

/* the exact Σ w·y of one block, with the weight quants as unsigned bytes u = w + C */
static inline int block_isum(uint32_t type, const uint8_t *wb, const uint8_t *yq) {
    uint8_t q[32];
    block_quants(type, wb, q);
    const int C = wt_offset(type);
    int dot = 0;
    for (int i = 0; i < 32; i++) dot += ((int)q[i] - C) * (int8_t)yq[i];
    return dot;
}

static inline float lane_dot(uint32_t type, int64_t n, const uint8_t *w, const uint8_t *x) {
    const size_t wb = rec_bytes(type) / G, yb = act_bytes(type), qo = act_qoff(type);
    float acc = 0.0f;
    for (int64_t b = 0; b < n / LL_QK; b++, w += wb, x += yb) {
        acc = fmaf(h2f(w) * h2f(x), (float)block_isum(type, w, x + qo), acc);
        if (type == LL_TYPE_Q4_1) acc = fmaf(h2f(w + 2), h2f(x + 2), acc);
    }
    return acc;
}

/* q6_K: per block Σ_j sc_j · Σ_{i in j} (q_i − 32)·y_i in integers, then the same fma */
void ll_x86_lane_vec_dot_q6_K(int64_t n, float *s, const void *vx, const void *vy) {
    const uint8_t *w = vx, *x = vy;
    float acc = 0.0f;
    for (int64_t b = 0; b < n / LL_QK_K; b++, w += LL_Q6_K_SIZE, x += LL_Q8_K_SIZE) {
        uint8_t q[256];
        q6k_quants(w, q);
        int32_t isum = 0;
        for (int j = 0; j < 16; j++) {
            int32_t sj = 0;
            for (int l = 0; l < 16; l++) sj += ((int32_t)q[16 * j + l] - 32) * (int8_t)x[LL_Q8_K_QS + 16 * j + l];
            isum += sj * (int8_t)w[192 + j];
        }
        float dy;
        memcpy(&dy, x, 4);
        acc = fmaf(h2f(w + 208) * dy, (float)isum, acc);
    }
    *s = acc;
}

void ll_x86_lane_vec_dot_q8_0(int64_t n, float *s, const void *x, const void *y) { *s = lane_dot(LL_TYPE_Q8_0, n, x, y); }
void ll_x86_lane_vec_dot_q4_0(int64_t n, float *s, const void *x, const void *y) { *s = lane_dot(LL_TYPE_Q4_0, n, x, y); }
void ll_x86_lane_vec_dot_q5_0(int64_t n, float *s, const void *x, const void *y) { *s = lane_dot(LL_TYPE_Q5_0, n, x, y); }
void ll_x86_lane_vec_dot_q4_1(int64_t n, float *s, const void *x, const void *y) { *s = lane_dot(LL_TYPE_Q4_1, n, x, y); }

#endif
