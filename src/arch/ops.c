/* ops.c — the operations architectures share: RMSNorm and LayerNorm, biases, RoPE (adjacent pairs or NeoX
 * halves, partial, per-layer base), attention over a KV cache slot (causal, bidirectional, or a tree forward's
 * ranges), gated (SwiGLU, GeGLU) and plain (GELU) MLPs. */
#include <math.h>
#include <string.h>

#include "arch/arch.h"
#include "tensor/dtype.h"

/* out[t] = x[t] / sqrt(mean(x[t]²) + eps) * w */
void ll_op_rmsnorm(float *out, const float *x, const float *w, int T, int D, float eps) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * D;
        float *o = out + (size_t)t * D;
        double ss = 0;
        for (int i = 0; i < D; i++) ss += (double)xr[i] * xr[i];
        float scale = (float)(1.0 / sqrt(ss / D + eps));
        for (int i = 0; i < D; i++) o[i] = xr[i] * scale * w[i];
    }
}

int ll_op_embed_tokens(const ll_engine *e, const int32_t *tokens, int T, float *x) {
    const ll_model *m = e->m;
    for (int t = 0; t < T; t++)
        if (ll_mat_row(&m->tok_embd, tokens[t], x + (size_t)t * m->n_embd)) return -1;
    return 0;
}

/* out[t] = (x[t] - mean) / sqrt(var + eps) * w + b (b may be NULL) */
void ll_op_layernorm(float *out, const float *x, const float *w, const float *b, int T, int D, float eps) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * D;
        float *o = out + (size_t)t * D;
        double sum = 0, ss = 0;
        for (int i = 0; i < D; i++) sum += xr[i];
        double mean = sum / D;
        for (int i = 0; i < D; i++) {
            double d = xr[i] - mean;
            ss += d * d;
        }
        float scale = (float)(1.0 / sqrt(ss / D + eps)), mf = (float)mean;
        for (int i = 0; i < D; i++) o[i] = (xr[i] - mf) * scale * w[i] + (b ? b[i] : 0.0f);
    }
}

void ll_op_norm(const ll_model *m, float *out, const float *x, const float *w, const float *b, int T) {
    if (m->norm == LL_NORM_LAYER) ll_op_layernorm(out, x, w, b, T, m->n_embd, m->rms_eps);
    else ll_op_rmsnorm(out, x, w, T, m->n_embd, m->rms_eps);
}

void ll_op_bias(float *x, const float *b, int T, int n) {
    if (!b) return;
    for (int t = 0; t < T; t++) {
        float *r = x + (size_t)t * n;
        for (int i = 0; i < n; i++) r[i] += b[i];
    }
}

/* Rotates the first rope_dim dims of each head: adjacent pairs (x[2i], x[2i+1]), or with NeoX's layout
 * (x[i], x[i + rope_dim/2]); token t at position pos0 + t, or at the tree's position. Layer `layer` takes the
 * sliding-window RoPE base where the model has one for it. */
void ll_op_rope(const ll_engine *e, int layer, float *x, int T, int pos0, int n_heads) {
    const ll_model *m = e->m;
    int half = m->rope_dim / 2, hd = m->head_dim;
    if (!half) return;
    const bool swa = m->swa_pattern && (layer + 1) % m->swa_pattern != 0;
    const float *ct = swa ? e->rope_cos_swa : e->rope_cos, *st = swa ? e->rope_sin_swa : e->rope_sin;
    const int stride = m->rope_neox ? 1 : 2, off = m->rope_neox ? half : 1;
    for (int t = 0; t < T; t++) {
        int p = ll_eng_pos(e, pos0, t);
        const float *c = ct + (size_t)p * half, *s = st + (size_t)p * half;
        for (int h = 0; h < n_heads; h++) {
            float *v = x + ((size_t)t * n_heads + h) * hd;
            for (int i = 0; i < half; i++) {
                float *pa = v + i * stride, *pb = pa + off;
                float a = *pa, b = *pb;
                *pa = a * c[i] - b * s[i];
                *pb = a * s[i] + b * c[i];
            }
        }
    }
}

typedef struct {
    ll_engine *e;
    int T, pos0, slot;
} attn_job;

/* Attention for every (token, head) pair, split across workers. Token t sits in cache slot p = pos0 + t and
 * attends to slots 0..p (causal), or, in a tree forward, to [a0, a1) then [b0, p]: those K and V rows are
 * first copied into one contiguous list, so the kernels see the same rows in the same order as a causal
 * forward over the same keys would, and compute the same bits. */
/* sc[0..n): scores over keys k0..k0+n-1 -> softmax weights (scaled, max-subtracted, exp, summed in double,
 * normalised), handed to the tap, then rounded to fp16 in llama.cpp mode as it multiplies V by fp16 weights */
static void attn_softmax(const ll_engine *e, float *sc, int n, float scale, int t, int h, int p, int k0) {
    float mx = -INFINITY;
    for (int s = 0; s < n; s++) {
        sc[s] *= scale;
        if (sc[s] > mx) mx = sc[s];
    }
    double sum = 0;
    for (int s = 0; s < n; s++) {
        sc[s] = expf(sc[s] - mx);
        sum += sc[s];
    }
    float inv = (float)(1.0 / sum);
    for (int s = 0; s < n; s++) sc[s] *= inv;
    if (e->has_tap && e->attn_want[t] && e->tap.attn) e->tap.attn(e->tap.ctx, e->cur_entry, e->cur_member, h, p, k0, k0 + n, sc);
    if (!e->exact)
        ll_round_f16(sc, (size_t)n);
}

/* Causal attention of query block (h, t0..t0+nq-1): the queries share each pass over their head's K and V
 * rows (ll_dot_rows_multi_f32, ll_axpy_rows_multi_f32), every value bit for bit that of one query alone. */
static void attn_block(const attn_job *j, int ith, int h, int t0, int nq) {
    ll_engine *e = j->e;
    const ll_model *m = e->m;
    int H = m->n_head, hd = m->head_dim, kvh = h / (m->n_head / m->n_head_kv);
    size_t kvd = (size_t)m->n_head_kv * hd;
    const float *K = e->kcache + (size_t)j->slot * e->n_ctx * kvd + (size_t)kvh * hd;
    const float *V = e->vcache + (size_t)j->slot * e->n_ctx * kvd + (size_t)kvh * hd;
    const float *qp[ATTN_QB];
    float *sc[ATTN_QB], *out[ATTN_QB];
    int64_t cnt[ATTN_QB];
    for (int q = 0; q < nq; q++) {
        int t = t0 + q;
        qp[q] = e->q + ((size_t)t * H + h) * hd;
        sc[q] = e->scores + ((size_t)ith * ATTN_QB + q) * e->n_ctx;
        out[q] = e->att + ((size_t)t * H + h) * hd;
        cnt[q] = m->causal ? j->pos0 + t + 1 : j->pos0 + j->T;   /* keys: slots 0..p, or every slot of the forward */
    }
    ll_dot_rows_multi_f32(hd, nq, qp, K, (int64_t)kvd, cnt, sc);
    float scale = 1.0f / sqrtf((float)hd);
    for (int q = 0; q < nq; q++) attn_softmax(e, sc[q], (int)cnt[q], scale, t0 + q, h, j->pos0 + t0 + q, 0);
    ll_axpy_rows_multi_f32(hd, nq, (const float *const *)sc, V, (int64_t)kvd, cnt, out);
}

/* A tree forward's token t, head h: its keys [a0, a1) then [b0, p], gathered into one contiguous list when
 * they are two ranges, so the kernels see the rows a causal forward over the same keys would. */
static void attn_tree(const attn_job *j, int ith, int t, int h) {
    ll_engine *e = j->e;
    const ll_model *m = e->m;
    int H = m->n_head, hd = m->head_dim, kvh = h / (m->n_head / m->n_head_kv), p = j->pos0 + t;
    size_t kvd = (size_t)m->n_head_kv * hd;
    const float *Kr = e->kcache + (size_t)j->slot * e->n_ctx * kvd + (size_t)kvh * hd;
    const float *Vr = e->vcache + (size_t)j->slot * e->n_ctx * kvd + (size_t)kvh * hd;
    float *sc = e->scores + (size_t)ith * ATTN_QB * e->n_ctx;
    float *gk = e->gather + (size_t)ith * 2 * e->n_ctx * hd, *gv = gk + (size_t)e->n_ctx * hd;
    const float *q = e->q + ((size_t)t * H + h) * hd;
    int64_t stride = (int64_t)kvd;
    int n;
    const ll_tree_tok *tt = &e->tree[t];
    if (tt->a1 == tt->b0) {                    /* one range [a0, p] */
        Kr += (size_t)tt->a0 * kvd;
        Vr += (size_t)tt->a0 * kvd;
        n = p + 1 - tt->a0;
    } else {                                   /* [a0, a1) then [b0, p], gathered */
        int na = tt->a1 - tt->a0, nb = p + 1 - tt->b0;
        for (int s = 0; s < na + nb; s++) {
            size_t src = ((size_t)(s < na ? tt->a0 + s : tt->b0 + s - na)) * kvd;
            memcpy(gk + (size_t)s * hd, Kr + src, (size_t)hd * sizeof(float));
            memcpy(gv + (size_t)s * hd, Vr + src, (size_t)hd * sizeof(float));
        }
        Kr = gk;
        Vr = gv;
        stride = hd;
        n = na + nb;
    }
    ll_dot_rows_f32(hd, q, Kr, stride, n, sc);
    attn_softmax(e, sc, n, 1.0f / sqrtf((float)hd), t, h, p, tt->a1 == tt->b0 ? tt->a0 : -1);
    ll_axpy_rows_f32(hd, sc, Vr, stride, n, e->att + ((size_t)t * H + h) * hd);
}

/* Attention for every (token, head) pair, split across workers. Causal: blocks of ATTN_QB consecutive
 * queries of one head, in head-major order, each worker a contiguous run of blocks of about equal cost (keys
 * summed), so a head's K and V stay in cache across its blocks and the heads that share them. Tree forwards:
 * one (token, head) at a time. Which worker computes a value never changes it. */
static void attn_worker(void *arg, int ith, int nth) {
    attn_job *j = arg;
    ll_engine *e = j->e;
    int H = e->m->n_head, T = j->T;
    if (e->tree) {
        for (int w = ith; w < T * H; w += nth) attn_tree(j, ith, w / H, w % H);
        return;
    }
    int nb = (T + ATTN_QB - 1) / ATTN_QB;
    /* the cost of a head: sum over its queries of their keys; block b of a head costs its queries' keys */
    const bool causal = e->m->causal;
    double per_head = causal ? (double)T * j->pos0 + (double)T * (T + 1) / 2 : (double)T * (j->pos0 + T);
    double total = per_head * H, cum = 0;
    for (int h = 0; h < H; h++)
        for (int b = 0; b < nb; b++) {
            int t0 = b * ATTN_QB, nq = T - t0 < ATTN_QB ? T - t0 : ATTN_QB;
            double c = causal ? (double)nq * (j->pos0 + t0) + (double)nq * (nq + 1) / 2 : (double)nq * (j->pos0 + T);
            int owner = (int)(cum * nth / total);
            cum += c;
            if (owner >= nth) owner = nth - 1;
            if (owner == ith) attn_block(j, ith, h, t0, nq);
        }
}

void ll_op_attention(ll_engine *e, int slot, int T, int pos0) {
    const ll_model *m = e->m;
    size_t kvd = (size_t)m->n_head_kv * m->head_dim;
    float *Kc = e->kcache + ((size_t)slot * e->n_ctx + pos0) * kvd;
    float *Vc = e->vcache + ((size_t)slot * e->n_ctx + pos0) * kvd;
    memcpy(Kc, e->k, (size_t)T * kvd * sizeof(float));
    memcpy(Vc, e->v, (size_t)T * kvd * sizeof(float));
    if (!e->exact) { /* llama.cpp's default KV cache and attention inputs are fp16: round as it does */
        ll_round_f16(Kc, (size_t)T * kvd);
        ll_round_f16(Vc, (size_t)T * kvd);
        ll_round_f16(e->q, (size_t)T * m->n_head * m->head_dim);
    }
    attn_job aj = {e, T, pos0, slot};
    ll_pool_run(e->pool, attn_worker, &aj);
}

/* ggml's CPU gelu: outside (-10, 10) 0 or x; inside, x rounded to fp16, gelu of it (tanh form, ggml's formula)
 * rounded to fp16 — its table of every half */
static float gelu_ggml(float x) {
    const float k = 0.7978845608028654f;   /* sqrt(2 / pi) */
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    float h = ll_fp16_to_fp32(ll_fp32_to_fp16(x));
    return ll_fp16_to_fp32(ll_fp32_to_fp16(0.5f * h * (1.0f + tanhf(k * h * (1.0f + 0.044715f * h * h)))));
}

void ll_op_gelu(float *x, size_t n, bool llamacpp) {
    if (llamacpp) {
        for (size_t i = 0; i < n; i++) x[i] = gelu_ggml(x[i]);
        return;
    }
    for (size_t i = 0; i < n; i++)   /* PyTorch's gelu (erf), in double then rounded */
        x[i] = (float)(0.5 * x[i] * (1.0 + erf(x[i] * 0.7071067811865476)));
}

void ll_op_geglu_tanh(float *g, const float *u, size_t n, bool llamacpp) {
    const float k = 0.7978845608028654f;   /* sqrt(2 / pi) */
    if (!llamacpp) {   /* PyTorch's gelu(approximate='tanh') in fp32 */
        for (size_t i = 0; i < n; i++) {
            float x = g[i];
            g[i] = 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x))) * u[i];
        }
        return;
    }
    for (size_t i = 0; i < n; i++) g[i] = gelu_ggml(g[i]) * u[i];   /* ggml's CPU geglu */
}

int ll_op_proj_qkv(ll_engine *e, const ll_layer *L, const float *x, int T) {
    const ll_model *m = e->m;
    if (ll_matmul(e->pool, &e->ws, &L->wq, x, T, e->q, e->exact) || ll_matmul(e->pool, &e->ws, &L->wk, x, T, e->k, e->exact) ||
        ll_matmul(e->pool, &e->ws, &L->wv, x, T, e->v, e->exact))
        return -1;
    int q = m->n_head * m->head_dim, kv = m->n_head_kv * m->head_dim;
    ll_op_bias(e->q, L->bq, T, q);
    ll_op_bias(e->k, L->bk, T, kv);
    ll_op_bias(e->v, L->bv, T, kv);
    return 0;
}

int ll_op_qkv(ll_engine *e, const ll_layer *L, const float *in, int T) {
    ll_op_norm(e->m, e->xn, in, L->attn_norm, L->attn_norm_b, T);
    return ll_op_proj_qkv(e, L, e->xn, T);
}

int ll_op_attn_out(ll_engine *e, const ll_layer *L, int T) {
    if (ll_matmul(e->pool, &e->ws, &L->wo, e->att, T, e->tmp, e->exact)) return -1;
    ll_op_bias(e->tmp, L->bo, T, e->m->n_embd);
    return 0;
}

int ll_op_plain_mlp(ll_engine *e, const ll_layer *L, const float *x, int T, int pos0) {
    const ll_model *m = e->m;
    if (ll_matmul(e->pool, &e->ws, &L->w_up, x, T, e->g, e->exact)) return -1;
    ll_op_bias(e->g, L->b_up, T, m->n_ff);
    if (e->has_tap && e->tap.gate) e->tap.gate(e->tap.ctx, e->cur_entry, e->cur_member, e->g, T, pos0);
    ll_op_gelu(e->g, (size_t)T * m->n_ff, !e->exact);
    if (ll_matmul(e->pool, &e->ws, &L->w_down, e->g, T, e->tmp, e->exact)) return -1;
    ll_op_bias(e->tmp, L->b_down, T, m->n_embd);
    return 0;
}

int ll_op_gated_mlp(ll_engine *e, const ll_layer *L, const float *x, int T, int pos0, int act) {
    const size_t n = (size_t)T * e->m->n_ff;
    if (ll_matmul(e->pool, &e->ws, &L->w_gate, x, T, e->g, e->exact) ||
        ll_matmul(e->pool, &e->ws, &L->w_up, x, T, e->u, e->exact))
        return -1;
    if (e->has_tap && e->tap.gate) e->tap.gate(e->tap.ctx, e->cur_entry, e->cur_member, e->g, T, pos0);
    if (act == LL_ACT_SILU) ll_op_swiglu(e->g, e->u, n);
    else ll_op_geglu_tanh(e->g, e->u, n, !e->exact);
    return ll_matmul(e->pool, &e->ws, &L->w_down, e->g, T, e->tmp, e->exact);
}

void ll_op_swiglu(float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = g[i];
        g[i] = x / (1.0f + expf(-x)) * u[i];
    }
}
