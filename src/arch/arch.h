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

extern const ll_arch ll_arch_llama;
extern const ll_arch ll_arch_gemma3;

/* ---- ops.c: what architectures share ---- */
/* out[t] = x[t] / sqrt(mean(x[t]²) + eps) * w */
void ll_op_rmsnorm(float *out, const float *x, const float *w, int T, int D, float eps);
/* rotates the first rope_dim dims of each of n_heads heads of x (T rows): adjacent pairs, or NeoX's halves
 * (m->rope_neox); layer selects the sliding-window RoPE base where the model has one */
void ll_op_rope(const ll_engine *e, int layer, float *x, int T, int pos0, int n_heads);
/* attention of e->q (T rows of n_head heads) over cache slot `slot`, after storing e->k / e->v there at
 * positions pos0..: causal, or the tree's ranges; fp16 rounding of K, V, Q and the weights in --llamacpp mode;
 * the attention tap. The result in e->att. */
void ll_op_attention(ll_engine *e, int slot, int T, int pos0);
/* e->q, e->k, e->v = the layer's Q/K/V projections of RMSNorm(in) with its attn_norm (T rows) */
int ll_op_qkv(ll_engine *e, const ll_layer *L, const float *in, int T);
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
