/* engine_impl.h — the engine's state, shared by the engine (src/run/engine.c: the order loop, reuse, taps, the
 * head) and the architectures (src/arch/: one layer's forward, the embedding, the final norm) with their shared
 * operations (src/arch/ops.c). Nothing outside src/run and src/arch includes it. */
#ifndef LL_ENGINE_IMPL_H
#define LL_ENGINE_IMPL_H
#include "run/engine.h"
#include "tensor/matmul.h"
#include "tensor/pool.h"

struct ll_arch;

enum { ATTN_QB = 4 };   /* causal queries of one head that share a pass over its keys and values */

struct ll_engine {
    ll_model *m;
    const struct ll_arch *arch;   /* the model's architecture: embedding, layer forward, final norm */
    ll_order order;
    int n_ctx;
    bool exact;
    bool parallel_kv_mean;
    ll_pool *pool;
    ll_workspace ws;
    float *kcache, *vcache;   /* [n_passes][n_ctx][kv_dim] */
    float *rope_cos, *rope_sin; /* [n_ctx][rope_dim/2] */
    float *rope_cos_swa, *rope_sin_swa; /* the same for the sliding-window layers' RoPE base, or NULL */
    /* activation buffers for up to cap tokens */
    int cap;
    float *x, *xn, *h, *q, *k, *v, *att, *tmp, *g, *u, *acc, *mo;
    float *scores;            /* [n_threads][ATTN_QB][n_ctx] */
    float *gather;            /* [n_threads][2][n_ctx][head_dim]: a tree token's K and V rows, made contiguous */
    const ll_tree_tok *tree;  /* the current forward's per-token attention ranges (NULL: causal) */
    const int *rows;          /* LL_LOGITS_ROWS: the rows whose logits are wanted, n_rows of them */
    int n_rows;
    /* probes */
    bool has_tap;
    ll_tap tap;
    bool *attn_want;          /* [cap]: query rows the tap wants in this forward */
    void (*progress)(void *ctx, int done, int total);   /* after each entry of a forward */
    void *progress_ctx;
    int cur_entry, cur_member;
    int kv_passes;            /* passes the caches hold (>= order.n_passes) */
    /* reuse: this engine records its forwards into rec, or starts them from src's first `reuse_j` entries */
    ll_reuse *rec;
    const ll_reuse *src;
    int reuse_j, reuse_call;
    bool reuse_ok;
    long long passes_run, passes_naive;   /* token x layer passes computed / an order's full count */
};

/* the position of token t of the current forward (a tree forward gives each token its own) */
static inline int ll_eng_pos(const ll_engine *e, int pos0, int t) { return e->tree ? e->tree[t].pos : pos0 + t; }

#endif
