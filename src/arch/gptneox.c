/* gptneox.c — GPT-NeoX (Pythia): token embedding; per layer LayerNorm → fused Q/K/V with biases (split at load) →
 * RoPE on the first rotary_pct of each head (NeoX halves) → attention → output projection with bias, and a plain
 * MLP (up projection, GELU, down projection, with biases) of its own LayerNorm; with the parallel residual
 * (use_parallel_residual, Pythia's) both read the layer's input, out = x + attn(ln1(x)) + mlp(ln2(x)), else
 * h = x + attn(ln1(x)), out = h + mlp(ln2(h)); the final LayerNorm; an untied head. */
#include "arch/arch.h"

static int neox_embed(ll_engine *e, const int32_t *tokens, int T, int pos0, float *x) {
    (void)pos0;
    return ll_op_embed_tokens(e, tokens, T, x);
}

static int neox_layer(ll_engine *e, int layer, int slot, const float *in, float *out, int T, int pos0) {
    const ll_model *m = e->m;
    const ll_layer *L = &m->layers[layer];
    const size_t n = (size_t)T * m->n_embd;
    if (ll_op_qkv(e, L, in, T)) return -1;
    ll_op_rope(e, layer, e->q, T, pos0, m->n_head);
    ll_op_rope(e, layer, e->k, T, pos0, m->n_head_kv);
    ll_op_attention(e, slot, T, pos0);
    if (ll_op_attn_out(e, L, T)) return -1;
    if (m->parallel_residual) {   /* h = in + attn; the MLP reads ln2(in) */
        for (size_t i = 0; i < n; i++) e->h[i] = in[i] + e->tmp[i];
        ll_op_norm(m, e->xn, in, L->ffn_norm, L->ffn_norm_b, T);
    } else {
        for (size_t i = 0; i < n; i++) e->h[i] = in[i] + e->tmp[i];
        ll_op_norm(m, e->xn, e->h, L->ffn_norm, L->ffn_norm_b, T);
    }
    if (ll_op_plain_mlp(e, L, e->xn, T, pos0)) return -1;
    for (size_t i = 0; i < n; i++) out[i] = e->h[i] + e->tmp[i];
    return 0;
}

static void neox_final_norm(const ll_engine *e, float *out, const float *x, int T) {
    ll_op_norm(e->m, out, x, e->m->output_norm, e->m->output_norm_b, T);
}

const ll_arch ll_arch_gptneox = {"gptneox", neox_embed, neox_layer, neox_final_norm};
