/* gemma3.c — Gemma 3 (transformers' Gemma3ForCausalLM, llama.cpp's gemma3): token embeddings scaled by
 * sqrt(n_embd); per layer RMSNorm → Q/K/V → RMSNorm of each query and key head → RoPE (NeoX halves; base 10000
 * on the sliding-window layers, the file's base on every 6th, global, layer) → grouped-query attention →
 * output projection → RMSNorm → residual, then RMSNorm → GeGLU MLP (gelu, tanh approximation) → RMSNorm →
 * residual; the final RMSNorm; the head tied to the embeddings. The norms' weights are stored as 1 + w (as
 * llama.cpp's converter writes them), so every norm is ll_op_rmsnorm. Contexts stay within the sliding window
 * (ll_engine_new refuses longer ones), where local and global layers attend alike. */
#include "arch/arch.h"

static int gemma3_embed(ll_engine *e, const int32_t *tokens, int T, int pos0, float *x) {
    (void)pos0;
    const ll_model *m = e->m;
    const size_t D = (size_t)m->n_embd;
    for (int t = 0; t < T; t++) {
        float *row = x + (size_t)t * D;
        if (ll_mat_row(&m->tok_embd, tokens[t], row)) return -1;
        for (size_t i = 0; i < D; i++) row[i] *= m->embd_scale;
    }
    return 0;
}

static int gemma3_layer(ll_engine *e, int layer, int slot, const float *in, float *out, int T, int pos0) {
    const ll_model *m = e->m;
    const ll_layer *L = &m->layers[layer];
    int D = m->n_embd, H = m->n_head, Hkv = m->n_head_kv, hd = m->head_dim, F = m->n_ff;
    ll_pool *P = e->pool;
    ll_workspace *W = &e->ws;
    int ex = e->exact;

    ll_op_rmsnorm(e->xn, in, L->attn_norm, T, D, m->rms_eps);
    if (ll_matmul(P, W, &L->wq, e->xn, T, e->q, ex) || ll_matmul(P, W, &L->wk, e->xn, T, e->k, ex) ||
        ll_matmul(P, W, &L->wv, e->xn, T, e->v, ex))
        return -1;
    ll_op_rmsnorm(e->q, e->q, L->attn_q_norm, T * H, hd, m->rms_eps);
    ll_op_rmsnorm(e->k, e->k, L->attn_k_norm, T * Hkv, hd, m->rms_eps);
    ll_op_rope(e, layer, e->q, T, pos0, H);
    ll_op_rope(e, layer, e->k, T, pos0, Hkv);
    ll_op_attention(e, slot, T, pos0);
    if (ll_matmul(P, W, &L->wo, e->att, T, e->tmp, ex)) return -1;
    ll_op_rmsnorm(e->tmp, e->tmp, L->post_attn_norm, T, D, m->rms_eps);
    for (size_t i = 0; i < (size_t)T * D; i++) e->h[i] = in[i] + e->tmp[i];

    ll_op_rmsnorm(e->xn, e->h, L->ffn_norm, T, D, m->rms_eps);
    if (ll_matmul(P, W, &L->w_gate, e->xn, T, e->g, ex) || ll_matmul(P, W, &L->w_up, e->xn, T, e->u, ex)) return -1;
    if (e->has_tap && e->tap.gate) e->tap.gate(e->tap.ctx, e->cur_entry, e->cur_member, e->g, T, pos0);
    ll_op_geglu_tanh(e->g, e->u, (size_t)T * F, !ex);
    if (ll_matmul(P, W, &L->w_down, e->g, T, e->tmp, ex)) return -1;
    ll_op_rmsnorm(e->tmp, e->tmp, L->post_ffn_norm, T, D, m->rms_eps);
    for (size_t i = 0; i < (size_t)T * D; i++) out[i] = e->h[i] + e->tmp[i];
    return 0;
}

static void gemma3_final_norm(const ll_engine *e, float *out, const float *x, int T) {
    ll_op_rmsnorm(out, x, e->m->output_norm, T, e->m->n_embd, e->m->rms_eps);
}

const ll_arch ll_arch_gemma3 = {"gemma3", gemma3_embed, gemma3_layer, gemma3_final_norm};
