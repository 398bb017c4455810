/* arch.h — the seam between the engine and an architecture.
 *
 * The engine (src/run/engine.c) decides which layer runs when: entries of the order, parallel groups, the KV
 * slot of each pass, taps, reuse of recorded entries, the output head. An architecture is one file of
 * src/arch/ that supplies what a model of it computes: the embedding of a batch of tokens, one layer's forward
 * over the residual stream, and the norm before the head. It knows no plans. The operations architectures
 * share (norms, RoPE, attention over a KV slot, activations) are in ops.c.
 */
#ifndef LL_ARCH_H
#define LL_ARCH_H
#include "run/engine_impl.h"

typedef struct ll_arch {
    const char *name;   /* general.architecture */
    /* x[t] (n_embd floats) for tokens[0..T) at positions ll_eng_pos(e, pos0, t); token ids are in range */
    int (*embed)(ll_engine *e, const int32_t *tokens, int T, int pos0, float *x);
    /* out = layer `layer` applied to in (T rows of n_embd; in and out may be the same buffer), writing its K/V
     * to cache slot `slot` at positions pos0.. and attending over that slot */
    int (*layer)(ll_engine *e, int layer, int slot, const float *in, float *out, int T, int pos0);
    /* out[t] = the final norm of x[t] */
    void (*final_norm)(const ll_engine *e, float *out, const float *x, int T);
} ll_arch;

/* The architecture named name, or NULL. */
const ll_arch *ll_arch_find(const char *name);

extern const ll_arch ll_arch_llama;   /* also qwen2 (Q/K/V biases) and qwen3 (QK-norm): the same file */
extern const ll_arch ll_arch_qwen2;
extern const ll_arch ll_arch_qwen3;
extern const ll_arch ll_arch_gemma3;
extern const ll_arch ll_arch_gptneox;
extern const ll_arch ll_arch_bert;

/* ---- ops.c: what architectures share ---- */
/* x[t] = the token embedding row of tokens[t] (T rows of n_embd) */
int ll_op_embed_tokens(const ll_engine *e, const int32_t *tokens, int T, float *x);
/* out[t] = x[t] / sqrt(mean(x[t]²) + eps) * w */
void ll_op_rmsnorm(float *out, const float *x, const float *w, int T, int D, float eps);
/* out[t] = (x[t] - mean(x[t])) / sqrt(var(x[t]) + eps) * w + b (b may be NULL); mean and variance in double */
void ll_op_layernorm(float *out, const float *x, const float *w, const float *b, int T, int D, float eps);
/* the model's norm (RMSNorm, or LayerNorm with bias b) of T rows of n_embd */
void ll_op_norm(const ll_model *m, float *out, const float *x, const float *w, const float *b, int T);
/* x[t] += b for T rows of n (b NULL: nothing) */
void ll_op_bias(float *x, const float *b, int T, int n);
/* rotates the first rope_dim dims of each of n_heads heads of x (T rows): adjacent pairs, or NeoX's halves
 * (m->rope_neox); layer selects the sliding-window RoPE base where the model has one */
void ll_op_rope(const ll_engine *e, int layer, float *x, int T, int pos0, int n_heads);
/* attention of e->q (T rows of n_head heads) over cache slot `slot`, after storing e->k / e->v there at
 * positions pos0..: causal, bidirectional over the forward's slots 0..pos0+T-1 (!m->causal), or the tree's ranges;
 * fp16 rounding of K, V, Q and the weights in --llamacpp mode; the attention tap, told the key range. The result in
 * e->att. */
void ll_op_attention(ll_engine *e, int slot, int T, int pos0);
/* e->q, e->k, e->v = the layer's Q/K/V projections (and biases) of x (T rows) */
int ll_op_proj_qkv(ll_engine *e, const ll_layer *L, const float *x, int T);
/* the same of the model's norm of in with the layer's attn_norm (and attn_norm_b), into e->xn first */
int ll_op_qkv(ll_engine *e, const ll_layer *L, const float *in, int T);
/* e->tmp = the output projection (and bias) of e->att */
int ll_op_attn_out(ll_engine *e, const ll_layer *L, int T);
/* the plain MLP of x (T rows, already normed) into e->tmp: up projection and bias, the MLP tap on those
 * pre-activations, GELU (PyTorch's erf form; --llamacpp: ggml's fp16 table), down projection and bias */
int ll_op_plain_mlp(ll_engine *e, const ll_layer *L, const float *x, int T, int pos0);
/* GELU in place: erf form in exact mode, ggml's fp16-table tanh form when llamacpp */
void ll_op_gelu(float *x, size_t n, bool llamacpp);
/* the gated MLP of x (T rows, already normed): gate and up projections, the MLP tap on the gate pre-activations,
 * act (ll_op_swiglu or the exact / --llamacpp GeGLU), the down projection into e->tmp */
enum { LL_ACT_SILU, LL_ACT_GELU_TANH };
int ll_op_gated_mlp(ll_engine *e, const ll_layer *L, const float *x, int T, int pos0, int act);
/* g[i] = silu(g[i]) * u[i] */
void ll_op_swiglu(float *g, const float *u, size_t n);
/* g[i] = gelu_tanh(g[i]) * u[i]: PyTorch's approximate='tanh' in fp32, or (llamacpp) as ggml computes it through
 * its fp16 table */
void ll_op_geglu_tanh(float *g, const float *u, size_t n, bool llamacpp);

#endif
