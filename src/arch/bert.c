/* bert.c — BERT encoders (transformers' BertModel, llama.cpp's bert; all-MiniLM, BGE): word + absolute position
 * + token-type (type 0) embeddings and a LayerNorm; per layer bidirectional attention with biases → output
 * projection with bias → residual → LayerNorm (post-norm), then a plain GELU MLP with biases → residual →
 * LayerNorm. No final norm and no head: the output is the last layer's hidden states, which `embed` pools. */
#include <string.h>

#include "arch/arch.h"

static int bert_embed(ll_engine *e, const int32_t *tokens, int T, int pos0, float *x) {
    const ll_model *m = e->m;
    const size_t D = (size_t)m->n_embd;
    float *r = e->tmp;   /* one row of scratch (e->tmp holds T rows) */
    for (int t = 0; t < T; t++) {
        float *row = x + (size_t)t * D;
        /* as transformers adds them: word + token type (0: one segment), then + position */
        if (ll_mat_row(&m->tok_embd, tokens[t], row) || ll_mat_row(&m->tok_types, 0, r)) return -1;
        for (size_t i = 0; i < D; i++) row[i] += r[i];
        if (ll_mat_row(&m->pos_embd, ll_eng_pos(e, pos0, t), r)) return -1;
        for (size_t i = 0; i < D; i++) row[i] += r[i];
    }
    ll_op_layernorm(x, x, m->embd_norm, m->embd_norm_b, T, (int)D, m->rms_eps);
    return 0;
}

static int bert_layer(ll_engine *e, int layer, int slot, const float *in, float *out, int T, int pos0) {
    const ll_model *m = e->m;
    const ll_layer *L = &m->layers[layer];
    const int D = m->n_embd;
    const size_t n = (size_t)T * D;
    if (ll_op_proj_qkv(e, L, in, T)) return -1;
    ll_op_attention(e, slot, T, pos0);
    if (ll_op_attn_out(e, L, T)) return -1;
    for (size_t i = 0; i < n; i++) e->h[i] = in[i] + e->tmp[i];
    ll_op_layernorm(e->h, e->h, L->attn_norm, L->attn_norm_b, T, D, m->rms_eps);
    if (ll_op_plain_mlp(e, L, e->h, T, pos0)) return -1;
    for (size_t i = 0; i < n; i++) out[i] = e->h[i] + e->tmp[i];
    ll_op_layernorm(out, out, L->ffn_norm, L->ffn_norm_b, T, D, m->rms_eps);
    return 0;
}

static void bert_final_norm(const ll_engine *e, float *out, const float *x, int T) {
    memmove(out, x, (size_t)T * e->m->n_embd * sizeof(float));
}

const ll_arch ll_arch_bert = {"bert", bert_embed, bert_layer, bert_final_norm};
