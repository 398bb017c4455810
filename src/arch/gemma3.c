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
    const int D = m->n_embd, hd = m->head_dim;
    const size_t n = (size_t)T * D;
    if (ll_op_qkv(e, L, in, T)) return -1;
    ll_op_rmsnorm(e->q, e->q, L->attn_q_norm, T * m->n_head, hd, m->rms_eps);
    ll_op_rmsnorm(e->k, e->k, L->attn_k_norm, T * m->n_head_kv, hd, m->rms_eps);
    ll_op_rope(e, layer, e->q, T, pos0, m->n_head);
    ll_op_rope(e, layer, e->k, T, pos0, m->n_head_kv);
    ll_op_attention(e, slot, T, pos0);
    if (ll_matmul(e->pool, &e->ws, &L->wo, e->att, T, e->tmp, e->exact)) return -1;
    ll_op_rmsnorm(e->tmp, e->tmp, L->post_attn_norm, T, D, m->rms_eps);
    for (size_t i = 0; i < n; i++) e->h[i] = in[i] + e->tmp[i];

    ll_op_rmsnorm(e->xn, e->h, L->ffn_norm, T, D, m->rms_eps);
    if (ll_op_gated_mlp(e, L, e->xn, T, pos0, LL_ACT_GELU_TANH)) return -1;
    ll_op_rmsnorm(e->tmp, e->tmp, L->post_ffn_norm, T, D, m->rms_eps);
    for (size_t i = 0; i < n; i++) out[i] = e->h[i] + e->tmp[i];
    return 0;
}

static void gemma3_final_norm(const ll_engine *e, float *out, const float *x, int T) {
    ll_op_rmsnorm(out, x, e->m->output_norm, T, e->m->n_embd, e->m->rms_eps);
}

const ll_arch ll_arch_gemma3 = {"gemma3", gemma3_embed, gemma3_layer, gemma3_final_norm};
