/* llama.c — the llama architecture (Llama 1/2/3, Mistral, SmolLM, TinyLlama, llama2.c's stories): token
 * embedding, pre-norm layers of RMSNorm → Q/K/V → RoPE (adjacent pairs) → grouped-query attention → output
 * projection → residual, RMSNorm → SwiGLU MLP → residual, and the final RMSNorm. */
#include <string.h>

#include "arch/arch.h"

static int llama_embed(ll_engine *e, const int32_t *tokens, int T, int pos0, float *x) {
    (void)pos0;
    const ll_model *m = e->m;
    for (int t = 0; t < T; t++)
        if (ll_mat_row(&m->tok_embd, tokens[t], x + (size_t)t * m->n_embd)) return -1;
    return 0;
}

/* One layer pass: out = in + attn(in) ; out += ffn(out). `in` and `out` may be the same buffer. */
static int llama_layer(ll_engine *e, int layer, int slot, const float *in, float *out, int T, int pos0) {
    const ll_model *m = e->m;
    const ll_layer *L = &m->layers[layer];
    const size_t n = (size_t)T * m->n_embd;
    if (ll_op_qkv(e, L, in, T)) return -1;
    ll_op_rope(e, layer, e->q, T, pos0, m->n_head);
    ll_op_rope(e, layer, e->k, T, pos0, m->n_head_kv);
    ll_op_attention(e, slot, T, pos0);
    if (ll_matmul(e->pool, &e->ws, &L->wo, e->att, T, e->tmp, e->exact)) return -1;
    for (size_t i = 0; i < n; i++) e->h[i] = in[i] + e->tmp[i];

    ll_op_rmsnorm(e->xn, e->h, L->ffn_norm, T, m->n_embd, m->rms_eps);
    if (ll_op_gated_mlp(e, L, e->xn, T, pos0, LL_ACT_SILU)) return -1;
    for (size_t i = 0; i < n; i++) out[i] = e->h[i] + e->tmp[i];
    return 0;
}

static void llama_final_norm(const ll_engine *e, float *out, const float *x, int T) {
    ll_op_rmsnorm(out, x, e->m->output_norm, T, e->m->n_embd, e->m->rms_eps);
}

const ll_arch ll_arch_llama = {"llama", llama_embed, llama_layer, llama_final_norm};

const ll_arch *ll_arch_find(const char *name) {
    static const ll_arch *const all[] = {&ll_arch_llama, &ll_arch_gemma3};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (!strcmp(all[i]->name, name)) return all[i];
    return NULL;
}
