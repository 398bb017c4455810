/* matmul.c — batched matrix × weight-matrix products over the thread pool. */
#include "matmul.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/dtype.h"
#include "util/err.h"

#define TILE_ROWS 16
#define EXACT_TILE 16    /* rows: the unit of the threads' shares in exact mode */
/* Rows dequantized together (at most): the many-token GEMM then runs every 8-token panel of activations over all
 * of them while it is in L1, where 16-row blocks read each panel from L2/L3 four times as often (SmolLM2 exact
 * pp512 and eval about 10% faster on Zen 5). */
#define EXACT_BLOCK 64
/* Up to this many tokens the exact mode dequantizes in L1-sized chunks as it multiplies (ll_gemm_deq: the
 * weights are dequantized once per 3 tokens); more tokens share one dequantized 16-row tile. Both give every
 * element the same summation sequence, so the switch does not change a bit. */
#define EXACT_FEW_TOKENS 3

void ll_workspace_free(ll_workspace *ws) {
    free(ws->buf);
    ws->buf = NULL;
    ws->size = 0;
}

/* 64-byte aligned (a zmm load that crosses a cache line costs two): the buffer is realigned on every growth, its
 * contents are not kept. */
static void *ws_get(ll_workspace *ws, size_t n) {
    if (ws->size < n) {
        free(ws->buf);
        ws->buf = NULL;
        ws->size = 0;
        void *p = NULL;
        if (posix_memalign(&p, 64, n) != 0 || !p) {
            ll_fail("out of memory (%zu bytes of matmul workspace)", n);
            return NULL;
        }
        ws->buf = p;
        ws->size = n;
    }
    return ws->buf;
}

int ll_mat_row(const ll_mat *W, int64_t r, float *out) {
    const ll_type_traits *tt = ll_type_get(W->type);
    if (!tt || !tt->to_float) return ll_fail("tensor type %s is not supported for computation", ll_type_name(W->type));
    tt->to_float((const char *)W->data + (size_t)r * W->row_bytes, out, W->ncols);
    return 0;
}

typedef struct {
    const ll_mat *W;
    const ll_type_traits *tt;
    const void *xq;        /* activations in vec_dot_type (or fp32 for exact) */
    size_t xq_row;         /* bytes per activation row */
    int64_t T;
    float *y;
    float *scratch;        /* exact mode: EXACT_BLOCK * ncols floats per thread */
    const float *x;        /* fp32 activations, for quantizing */
    float *xpack;          /* exact mode, many tokens: room for the packed activations */
    const float *xp;       /* the packed activations, or NULL: ll_gemm_f32 on x */
    void *xq_out;
    const ll_type_traits *dt;
    int64_t row0;          /* quantized mode: rows before it run through the lane kernels, the rest by vec_dot */
    char *aux;             /* W->pack: the lane kernels' per-block activation values, or NULL */
    size_t aux_row;        /* their bytes per token */
} mm_job;

/* Each token's activations in vec_dot_type, and where the lane kernels run (aux set) the values they take per
 * block, in the same pass. */
static void quantize_rows(void *a, int ith, int nth) {
    mm_job *j = a;
    const int64_t K = j->W->ncols;
    for (int64_t t = ith; t < j->T; t += nth) {
        char *xq = (char *)j->xq_out + (size_t)t * j->xq_row;
        j->dt->from_float(j->x + t * K, xq, K);
        if (j->aux) ll_lane_prep(j->W->type, K, xq, j->xq_row, 1, j->aux + (size_t)t * j->aux_row);
    }
}

/* Each thread a contiguous run of LL_LANE_ROWS-row groups, every token. */
static void mm_lane(void *a, int ith, int nth) {
    mm_job *j = a;
    const ll_mat *W = j->W;
    const int64_t ng = W->nrows / LL_LANE_ROWS, g0 = ng * ith / nth, g1 = ng * (ith + 1) / nth;
    if (g1 > g0) ll_lane_gemm(W->type, W->ncols, W->pack, g0, g1, j->xq, j->xq_row, j->aux, j->T, j->y, W->nrows);
}

/* Rows row0.. (those no lane kernel takes): one vec_dot per (row, token), tiles of rows split across threads. */
static void mm_quant(void *a, int ith, int nth) {
    mm_job *j = a;
    const ll_mat *W = j->W;
    int64_t n_tiles = (W->nrows - j->row0 + TILE_ROWS - 1) / TILE_ROWS;
    int64_t t0 = n_tiles * ith / nth, t1 = n_tiles * (ith + 1) / nth;
    for (int64_t tile = t0; tile < t1; tile++) {
        int64_t r0 = j->row0 + tile * TILE_ROWS, r1 = r0 + TILE_ROWS < W->nrows ? r0 + TILE_ROWS : W->nrows;
        for (int64_t t = 0; t < j->T; t++) {
            const void *xr = (const char *)j->xq + (size_t)t * j->xq_row;
            float *yr = j->y + t * W->nrows;
            for (int64_t r = r0; r < r1; r++) {
                const char *wr = (const char *)W->data + (size_t)r * W->row_bytes;
                if (j->T == 1) /* as the lane kernels do for one token (LL_PREFETCH_AHEAD) */
                    for (size_t o = 0; o < W->row_bytes; o += 64) __builtin_prefetch(wr + LL_PREFETCH_AHEAD + o);
                j->tt->vec_dot(W->ncols, &yr[r], wr, xr);
            }
        }
    }
}

static size_t exact_per_thread(int64_t K) {
    size_t per = (size_t)EXACT_BLOCK * (size_t)K;
    return per < (size_t)LL_GEMM_DEQ_SCRATCH(K) ? (size_t)LL_GEMM_DEQ_SCRATCH(K) : per;
}

/* Each thread packs its share of the token pairs (the packed layout is pair-major, so shares are contiguous). */
static void mm_pack(void *a, int ith, int nth) {
    mm_job *j = a;
    const int64_t K = j->W->ncols, np = (j->T + 1) / 2, p0 = np * ith / nth, p1 = np * (ith + 1) / nth;
    const int64_t n = (2 * p1 < j->T ? 2 * p1 : j->T) - 2 * p0;
    if (n > 0) ll_gemm_f32_pack(K, j->x + 2 * p0 * K, n, j->xpack + 2 * p0 * K);
}

static void mm_exact(void *a, int ith, int nth) {
    mm_job *j = a;
    const ll_mat *W = j->W;
    int64_t K = W->ncols;
    float *buf = j->scratch + (size_t)ith * exact_per_thread(K);
    int64_t n_tiles = (W->nrows + EXACT_TILE - 1) / EXACT_TILE;
    int64_t t0 = n_tiles * ith / nth, t1 = n_tiles * (ith + 1) / nth;
    const int64_t end = t1 * EXACT_TILE < W->nrows ? t1 * EXACT_TILE : W->nrows;
    for (int64_t r0 = t0 * EXACT_TILE; r0 < end; r0 += EXACT_BLOCK) {
        int64_t r1 = r0 + EXACT_BLOCK < end ? r0 + EXACT_BLOCK : end;
        const float *rows;
        if (W->type != LL_TYPE_F32 && j->T <= EXACT_FEW_TOKENS) {
            ll_gemm_deq(W->type, K, (const char *)W->data + (size_t)r0 * W->row_bytes, W->row_bytes, r1 - r0, j->x, j->T,
                        j->y + r0, W->nrows, buf);
            continue;
        }
        if (W->type == LL_TYPE_F32) {
            rows = (const float *)((const char *)W->data + (size_t)r0 * W->row_bytes);
        } else {
            for (int64_t r = r0; r < r1; r++)
                j->tt->to_float((const char *)W->data + (size_t)r * W->row_bytes, buf + (r - r0) * K, K);
            rows = buf;
        }
        if (j->xp)
            ll_gemm_f32_packed(K, rows, r1 - r0, j->xp, j->T, j->y + r0, W->nrows);
        else
            ll_gemm_f32(K, rows, r1 - r0, j->x, j->T, j->y + r0, W->nrows);
    }
}

int ll_matmul(ll_pool *pool, ll_workspace *ws, const ll_mat *W, const float *x, int64_t T, float *y, int exact) {
    const ll_type_traits *tt = ll_type_get(W->type);
    if (!tt || !tt->to_float || !tt->vec_dot)
        return ll_fail("tensor type %s is not supported for computation", ll_type_name(W->type));
    mm_job j = {.W = W, .tt = tt, .T = T, .y = y, .x = x};
    int nth = ll_pool_size(pool);
    if (exact) {
        const size_t per = (size_t)nth * exact_per_thread(W->ncols);
        const size_t npack = T > EXACT_FEW_TOKENS ? (size_t)LL_GEMM_XPACK_FLOATS(W->ncols, T) : 0;
        j.scratch = ws_get(ws, (per + npack) * sizeof(float));
        if (!j.scratch) return -1;
        if (npack) {
            j.xpack = j.scratch + per;
            if (ll_gemm_f32_packs(W->ncols)) {
                ll_pool_run(pool, mm_pack, &j);
                j.xp = j.xpack;
            }
        }
        ll_pool_run(pool, mm_exact, &j);
        return 0;
    }
    const ll_type_traits *dt = ll_type_get(tt->vec_dot_type);
    if (tt->vec_dot_type == LL_TYPE_F32) {
        j.xq = x;
        j.xq_row = (size_t)W->ncols * sizeof(float);
    } else {
        if (!dt || !dt->from_float) return ll_fail("no activation conversion for %s", ll_type_name(W->type));
        j.xq_row = ll_row_size(tt->vec_dot_type, W->ncols);
        if (!j.xq_row) return ll_fail("row of %lld elements does not fit type %s blocks", (long long)W->ncols,
                                      ll_type_name(tt->vec_dot_type));
        const bool lane = W->pack != NULL;
        const size_t xq_bytes = (j.xq_row * (size_t)T + 63) / 64 * 64;
        j.aux_row = lane ? ll_lane_aux_bytes(W->type, W->ncols) : 0;
        j.xq_out = ws_get(ws, xq_bytes + j.aux_row * (size_t)T);
        if (!j.xq_out) return -1;
        j.dt = dt;
        if (lane) j.aux = (char *)j.xq_out + xq_bytes;
        ll_pool_run(pool, quantize_rows, &j);
        j.xq = j.xq_out;
        if (lane) {
            ll_pool_run(pool, mm_lane, &j);
            j.row0 = W->nrows / LL_LANE_ROWS * LL_LANE_ROWS;
            if (j.row0 == W->nrows) return 0;
        }
    }
    ll_pool_run(pool, mm_quant, &j);
    return 0;
}
