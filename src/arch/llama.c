/* llama.c — the llama architecture (Llama 1/2/3, Mistral, SmolLM, TinyLlama, llama2.c's stories) and its two
 * close relatives: token embedding, pre-norm layers of RMSNorm → Q/K/V (qwen2: with biases) → RMSNorm of each
 * query and key head (qwen3) → RoPE (llama: adjacent pairs; qwen: NeoX halves, set by the loader) →
 * grouped-query attention → output projection → residual, RMSNorm → SwiGLU MLP → residual, and the final
 * RMSNorm. */
#include <string.h>

#include "arch/arch.h"

static int llama_embed(ll_engine *e, const int32_t *tokens, int T, int pos0, float *x) {
    (void)pos0;
    return ll_op_embed_tokens(e, tokens, T, x);
}

/* One layer pass: out = in + attn(in) ; out += ffn(out). `in` and `out` may be the same buffer. */
static int llama_layer(ll_engine *e, int layer, int slot, const float *in, float *out, int T, int pos0) {
    const ll_model *m = e->m;
    const ll_layer *L = &m->layers[layer];
    const size_t n = (size_t)T * m->n_embd;
    if (ll_op_qkv(e, L, in, T)) return -1;
    if (L->attn_q_norm) {   /* qwen3 */
        ll_op_rmsnorm(e->q, e->q, L->attn_q_norm, T * m->n_head, m->head_dim, m->rms_eps);
        ll_op_rmsnorm(e->k, e->k, L->attn_k_norm, T * m->n_head_kv, m->head_dim, m->rms_eps);
    }
    ll_op_rope(e, layer, e->q, T, pos0, m->n_head);
    ll_op_rope(e, layer, e->k, T, pos0, m->n_head_kv);
    ll_op_attention(e, slot, T, pos0);
    if (ll_op_attn_out(e, L, T)) return -1;
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
const ll_arch ll_arch_qwen2 = {"qwen2", llama_embed, llama_layer, llama_final_norm};
const ll_arch ll_arch_qwen3 = {"qwen3", llama_embed, llama_layer, llama_final_norm};

const ll_arch *ll_arch_find(const char *name) {
    static const ll_arch *const all[] = {&ll_arch_llama, &ll_arch_qwen2, &ll_arch_qwen3, &ll_arch_gemma3, &ll_arch_gptneox,
                                         &ll_arch_bert};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (!strcmp(all[i]->name, name)) return all[i];
    return NULL;
}
