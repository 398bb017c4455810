/* tensors.c — each architecture's tensors, one table per architecture (in the manner of llama.cpp's name
 * tables): the GGUF name llama.cpp's converter writes, the Hugging Face name it reads, whether the tensor is
 * required, where it goes, its shape in symbols, and the transformation the converter applies on the way. */
#include <stddef.h>
#include <string.h>

#include "model/model_impl.h"

#define L_(f) offsetof(ll_layer, f)
#define M_(f) offsetof(ll_model, f)
#define MAT(g, h, fl, f, c, r) {g, h, (fl) | TS_MAT, L_(f), c, r}
#define VEC(g, h, fl, f, n) {g, h, (fl), L_(f), n, 0}
#define GMAT(g, h, fl, f, c, r) {g, h, (fl) | TS_MAT | TS_MODEL, M_(f), c, r}
#define GVEC(g, h, fl, f, n) {g, h, (fl) | TS_MODEL, M_(f), n, 0}

/* rows the llama family shares: embeddings, an optional untied head, the final norm; Q/K/V/O (with the converter's
 * RoPE permutation flags for Q and K); the attention and MLP pre-norms; the SwiGLU MLP */
#define DECODER_MODEL_ROWS                                                                  \
    GMAT("token_embd.weight", "model.embed_tokens.weight", TS_REQ, tok_embd, SYM_D, SYM_V), \
    GMAT("output.weight", "lm_head.weight", 0, output, SYM_D, SYM_V),                       \
    GVEC("output_norm.weight", "model.norm.weight", TS_REQ, output_norm, SYM_D)
#define DECODER_QKVO(permq, permk)                                                               \
    MAT("attn_q.weight", "self_attn.q_proj.weight", TS_REQ | (permq), wq, SYM_D, SYM_Q),         \
    MAT("attn_k.weight", "self_attn.k_proj.weight", TS_REQ | (permk), wk, SYM_D, SYM_KV),        \
    MAT("attn_v.weight", "self_attn.v_proj.weight", TS_REQ, wv, SYM_D, SYM_KV),                  \
    MAT("attn_output.weight", "self_attn.o_proj.weight", TS_REQ, wo, SYM_Q, SYM_D)
#define DECODER_NORMS                                                              \
    VEC("attn_norm.weight", "input_layernorm.weight", TS_REQ, attn_norm, SYM_D), \
    VEC("ffn_norm.weight", "post_attention_layernorm.weight", TS_REQ, ffn_norm, SYM_D)
#define SWIGLU_MLP                                                                 \
    MAT("ffn_gate.weight", "mlp.gate_proj.weight", TS_REQ, w_gate, SYM_D, SYM_F), \
    MAT("ffn_up.weight", "mlp.up_proj.weight", TS_REQ, w_up, SYM_D, SYM_F),       \
    MAT("ffn_down.weight", "mlp.down_proj.weight", TS_REQ, w_down, SYM_F, SYM_D)

/* Llama, Mistral, SmolLM, TinyLlama: the converter permutes Q and K rows for llama.cpp's adjacent-pair RoPE;
 * biases are optional (attention_bias). */
static const ll_tspec k_llama[] = {
    DECODER_MODEL_ROWS,
    GVEC("rope_freqs.weight", NULL, 0, rope_factors, SYM_R2),
    DECODER_NORMS,
    DECODER_QKVO(HF_PERM, HF_PERM_KV),
    VEC("attn_q.bias", "self_attn.q_proj.bias", HF_PERM, bq, SYM_Q),
    VEC("attn_k.bias", "self_attn.k_proj.bias", HF_PERM_KV, bk, SYM_KV),
    VEC("attn_v.bias", "self_attn.v_proj.bias", 0, bv, SYM_KV),
    VEC("attn_output.bias", "self_attn.o_proj.bias", 0, bo, SYM_D),
    SWIGLU_MLP,
};

/* Qwen2: llama's layer with Q/K/V biases; NeoX RoPE, so no permutation. */
static const ll_tspec k_qwen2[] = {
    DECODER_MODEL_ROWS,
    DECODER_NORMS,
    DECODER_QKVO(0, 0),
    VEC("attn_q.bias", "self_attn.q_proj.bias", TS_REQ, bq, SYM_Q),
    VEC("attn_k.bias", "self_attn.k_proj.bias", TS_REQ, bk, SYM_KV),
    VEC("attn_v.bias", "self_attn.v_proj.bias", TS_REQ, bv, SYM_KV),
    SWIGLU_MLP,
};

/* Qwen3: llama's layer with an RMSNorm of each query and key head before RoPE (NeoX). */
static const ll_tspec k_qwen3[] = {
    DECODER_MODEL_ROWS,
    DECODER_NORMS,
    DECODER_QKVO(0, 0),
    VEC("attn_q_norm.weight", "self_attn.q_norm.weight", TS_REQ, attn_q_norm, SYM_HD),
    VEC("attn_k_norm.weight", "self_attn.k_norm.weight", TS_REQ, attn_k_norm, SYM_HD),
    SWIGLU_MLP,
};

/* Gemma 3: QK-norm, norms before and after attention and MLP, GeGLU, tied head; Hugging Face's norm weights w
 * multiply by 1 + w, which the converter stores. */
static const ll_tspec k_gemma3[] = {
    GMAT("token_embd.weight", "model.embed_tokens.weight", TS_REQ, tok_embd, SYM_D, SYM_V),
    GMAT("output.weight", NULL, 0, output, SYM_D, SYM_V),
    GVEC("output_norm.weight", "model.norm.weight", TS_REQ | HF_PLUS1, output_norm, SYM_D),
    VEC("attn_norm.weight", "input_layernorm.weight", TS_REQ | HF_PLUS1, attn_norm, SYM_D),
    DECODER_QKVO(0, 0),
    VEC("attn_q_norm.weight", "self_attn.q_norm.weight", TS_REQ | HF_PLUS1, attn_q_norm, SYM_HD),
    VEC("attn_k_norm.weight", "self_attn.k_norm.weight", TS_REQ | HF_PLUS1, attn_k_norm, SYM_HD),
    VEC("post_attention_norm.weight", "post_attention_layernorm.weight", TS_REQ | HF_PLUS1, post_attn_norm, SYM_D),
    VEC("ffn_norm.weight", "pre_feedforward_layernorm.weight", TS_REQ | HF_PLUS1, ffn_norm, SYM_D),
    VEC("post_ffw_norm.weight", "post_feedforward_layernorm.weight", TS_REQ | HF_PLUS1, post_ffn_norm, SYM_D),
    SWIGLU_MLP,   /* the same three projections; gemma3.c applies GeGLU */
};

/* GPT-NeoX (Pythia): LayerNorms with biases, fused Q/K/V (the converter regroups its rows), biases everywhere,
 * a plain GELU MLP, an untied head. */
static const ll_tspec k_gptneox[] = {
    GMAT("token_embd.weight", "gpt_neox.embed_in.weight", TS_REQ, tok_embd, SYM_D, SYM_V),
    GMAT("output.weight", "embed_out.weight", 0, output, SYM_D, SYM_V),
    GVEC("output_norm.weight", "gpt_neox.final_layer_norm.weight", TS_REQ, output_norm, SYM_D),
    GVEC("output_norm.bias", "gpt_neox.final_layer_norm.bias", TS_REQ, output_norm_b, SYM_D),
    VEC("attn_norm.weight", "input_layernorm.weight", TS_REQ, attn_norm, SYM_D),
    VEC("attn_norm.bias", "input_layernorm.bias", TS_REQ, attn_norm_b, SYM_D),
    MAT("attn_qkv.weight", "attention.query_key_value.weight", TS_REQ | TS_QKV | HF_QKV_HEADS, wq, SYM_D, SYM_QKV),
    VEC("attn_qkv.bias", "attention.query_key_value.bias", TS_REQ | TS_QKV | HF_QKV_HEADS, bq, SYM_QKV),
    MAT("attn_output.weight", "attention.dense.weight", TS_REQ, wo, SYM_Q, SYM_D),
    VEC("attn_output.bias", "attention.dense.bias", TS_REQ, bo, SYM_D),
    VEC("ffn_norm.weight", "post_attention_layernorm.weight", TS_REQ, ffn_norm, SYM_D),
    VEC("ffn_norm.bias", "post_attention_layernorm.bias", TS_REQ, ffn_norm_b, SYM_D),
    MAT("ffn_up.weight", "mlp.dense_h_to_4h.weight", TS_REQ, w_up, SYM_D, SYM_F),
    VEC("ffn_up.bias", "mlp.dense_h_to_4h.bias", TS_REQ, b_up, SYM_F),
    MAT("ffn_down.weight", "mlp.dense_4h_to_h.weight", TS_REQ, w_down, SYM_F, SYM_D),
    VEC("ffn_down.bias", "mlp.dense_4h_to_h.bias", TS_REQ, b_down, SYM_D),
};

/* BERT: word + position + token-type embeddings and a LayerNorm; post-LayerNorm layers (attn_norm is the
 * LayerNorm after attention, ffn_norm the one after the MLP), biases everywhere, a plain GELU MLP, no head. */
static const ll_tspec k_bert[] = {
    GMAT("token_embd.weight", "embeddings.word_embeddings.weight", TS_REQ, tok_embd, SYM_D, SYM_V),
    GMAT("position_embd.weight", "embeddings.position_embeddings.weight", TS_REQ, pos_embd, SYM_D, SYM_CTX),
    GMAT("token_types.weight", "embeddings.token_type_embeddings.weight", TS_REQ, tok_types, SYM_D, SYM_TT),
    GVEC("token_embd_norm.weight", "embeddings.LayerNorm.weight", TS_REQ, embd_norm, SYM_D),
    GVEC("token_embd_norm.bias", "embeddings.LayerNorm.bias", TS_REQ, embd_norm_b, SYM_D),
    MAT("attn_q.weight", "attention.self.query.weight", TS_REQ, wq, SYM_D, SYM_Q),
    VEC("attn_q.bias", "attention.self.query.bias", TS_REQ, bq, SYM_Q),
    MAT("attn_k.weight", "attention.self.key.weight", TS_REQ, wk, SYM_D, SYM_KV),
    VEC("attn_k.bias", "attention.self.key.bias", TS_REQ, bk, SYM_KV),
    MAT("attn_v.weight", "attention.self.value.weight", TS_REQ, wv, SYM_D, SYM_KV),
    VEC("attn_v.bias", "attention.self.value.bias", TS_REQ, bv, SYM_KV),
    MAT("attn_output.weight", "attention.output.dense.weight", TS_REQ, wo, SYM_Q, SYM_D),
    VEC("attn_output.bias", "attention.output.dense.bias", TS_REQ, bo, SYM_D),
    VEC("attn_output_norm.weight", "attention.output.LayerNorm.weight", TS_REQ, attn_norm, SYM_D),
    VEC("attn_output_norm.bias", "attention.output.LayerNorm.bias", TS_REQ, attn_norm_b, SYM_D),
    MAT("ffn_up.weight", "intermediate.dense.weight", TS_REQ, w_up, SYM_D, SYM_F),
    VEC("ffn_up.bias", "intermediate.dense.bias", TS_REQ, b_up, SYM_F),
    MAT("ffn_down.weight", "output.dense.weight", TS_REQ, w_down, SYM_F, SYM_D),
    VEC("ffn_down.bias", "output.dense.bias", TS_REQ, b_down, SYM_D),
    VEC("layer_output_norm.weight", "output.LayerNorm.weight", TS_REQ, ffn_norm, SYM_D),
    VEC("layer_output_norm.bias", "output.LayerNorm.bias", TS_REQ, ffn_norm_b, SYM_D),
};

static const char *const k_ign_decoder[] = {"rotary_emb.inv_freq", NULL};
static const char *const k_ign_gptneox[] = {"rotary_emb.inv_freq", "attention.bias", "attention.masked_bias", NULL};
/* the pooler (a tanh layer over [CLS] for next-sentence prediction) is not part of the encoder's hidden states;
 * llama.cpp's converter drops it too */
static const char *const k_ign_bert[] = {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias", NULL};

#define N(a) (int)(sizeof a / sizeof *a)
static const ll_arch_desc k_archs[] = {
    {"llama", ARCH_LLAMA, k_llama, N(k_llama), "model.layers.%d.", k_ign_decoder},
    {"qwen2", ARCH_QWEN2, k_qwen2, N(k_qwen2), "model.layers.%d.", k_ign_decoder},
    {"qwen3", ARCH_QWEN3, k_qwen3, N(k_qwen3), "model.layers.%d.", k_ign_decoder},
    {"gemma3", ARCH_GEMMA3, k_gemma3, N(k_gemma3), "model.layers.%d.", k_ign_decoder},
    {"gptneox", ARCH_GPTNEOX, k_gptneox, N(k_gptneox), "gpt_neox.layers.%d.", k_ign_gptneox},
    {"bert", ARCH_BERT, k_bert, N(k_bert), "encoder.layer.%d.", k_ign_bert},
};

const ll_arch_desc *ll_arch_desc_find(const char *name) {
    for (int i = 0; i < N(k_archs); i++)
        if (!strcmp(k_archs[i].name, name)) return &k_archs[i];
    return NULL;
}

const ll_arch_desc *ll_arch_desc_by_id(int id) {
    for (int i = 0; i < N(k_archs); i++)
        if (k_archs[i].id == id) return &k_archs[i];
    return NULL;
}

const char *ll_arch_names(void) { return "llama, qwen2, qwen3, gemma3, gptneox, bert"; }
