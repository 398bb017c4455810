/* matmul.h — y = x · Wᵀ for a weight matrix in any supported type, over a batch of activation rows,
 * split across the thread pool by weight rows.
 *
 * Two modes. Default (as llama.cpp): activations are converted to the weight type's vec_dot_type
 * (Q8_0, Q8_1, Q8_K, F16, ...) and the quantized dot product runs. Exact: weight rows are
 * dequantized to fp32 and dotted with the fp32 activations (what PyTorch does with dequantized weights).
 */
#ifndef LL_MATMUL_H
#define LL_MATMUL_H
#include <stddef.h>
#include <stdint.h>

#include "tensor/pool.h"

/* A 2-D weight: nrows rows of ncols elements, row-major (ggml: ne0 = ncols, ne1 = nrows). */
typedef struct {
    uint32_t type;
    const void *data;
    int64_t ncols, nrows;
    size_t row_bytes;
    const void *pack;   /* the rows repacked for the --llamacpp mode's lane kernels (ll_lane_pack), or NULL */
} ll_mat;

/* Grows on demand; one per engine. */
typedef struct {
    void *buf;
    size_t size;
} ll_workspace;

void ll_workspace_free(ll_workspace *ws);

/* y[t*nrows + r] = Σ_k W[r,k]·x[t*ncols + k], t < T. Returns 0 or -1 (unsupported type, no memory). */
int ll_matmul(ll_pool *pool, ll_workspace *ws, const ll_mat *W, const float *x, int64_t T, float *y, int exact);
/* Row r of W dequantized into out[ncols]. */
int ll_mat_row(const ll_mat *W, int64_t r, float *out);

#endif
