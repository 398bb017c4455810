/* model.h — a loaded model: hyperparameters, weights bound in place (mmap), tokenizer.
 *
 * Two file formats feed the same struct: GGUF (architectures `llama` and `gemma3`) and llama2.c legacy checkpoints
 * (fp32, with a separate tokenizer.bin). Every shape is checked against the hyperparameters at load;
 * anything the engine would not compute correctly (another architecture, a RoPE scaling type, an
 * unknown tensor, a bias) is refused with a message naming it.
 */
#ifndef LL_MODEL_H
#define LL_MODEL_H
#include <stdbool.h>
#include <stdint.h>

#include "tensor/matmul.h"

struct ll_gguf;
struct ll_tokenizer;

enum ll_model_format { LL_FORMAT_GGUF = 1, LL_FORMAT_LLAMA2C = 2 };

typedef struct {
    ll_mat wq;        /* [n_head*head_dim rows, n_embd cols] */
    ll_mat wk;        /* [n_head_kv*head_dim, n_embd] */
    ll_mat wv;        /* [n_head_kv*head_dim, n_embd] */
    ll_mat wo;        /* [n_embd, n_head*head_dim] */
    ll_mat w_gate;    /* [n_ff, n_embd] */
    ll_mat w_up;      /* [n_ff, n_embd] */
    ll_mat w_down;    /* [n_embd, n_ff] */
    float *attn_norm; /* [n_embd], owned fp32 copy */
    float *ffn_norm;  /* [n_embd] */
    /* gemma3 (NULL elsewhere) */
    float *attn_q_norm, *attn_k_norm;  /* [head_dim]: RMSNorm of each query / key head */
    float *post_attn_norm, *post_ffn_norm; /* [n_embd]: RMSNorm of the attention / MLP output */
} ll_layer;

typedef struct ll_model {
    char *path;
    int format;                  /* enum ll_model_format */
    char arch[32];
    int n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx_train;
    int rope_dim;                /* dimensions rotated per head (≤ head_dim) */
    int sliding_window;          /* 0: none */
    float rms_eps;
    float rope_base;
    float rope_pos_scale;        /* linear RoPE scaling: positions are multiplied by this (1/factor) */
    float *rope_factors;         /* [rope_dim/2] Llama 3 frequency divisors, or NULL */
    bool rope_neox;              /* RoPE rotates (x[i], x[i + rope_dim/2]) (NeoX, Gemma) instead of adjacent pairs */
    int swa_pattern;             /* gemma3: layer l attends within sliding_window unless (l + 1) % swa_pattern == 0 */
    float rope_base_swa;         /* gemma3: the RoPE base of the sliding-window layers */
    float embd_scale;            /* the token embedding is multiplied by this (gemma3: sqrt(n_embd)), else 1 */
    ll_mat tok_embd;             /* [n_vocab rows, n_embd cols] */
    ll_mat output;               /* [n_vocab, n_embd]; equals tok_embd when tied */
    bool tied_output;
    float *output_norm;          /* [n_embd] */
    ll_layer *layers;            /* [n_layer] */
    int64_t n_params;
    struct ll_gguf *gguf;        /* GGUF: the open file (weights point into it) */
    void *map;                   /* llama2.c: the mapping */
    size_t map_size;
    struct ll_tokenizer *tok;    /* NULL if the model has none (llama2.c without --tokenizer) */
    char sha256[65];             /* filled by ll_model_sha256 */
    bool packed;                 /* ll_model_pack has run */
} ll_model;

/* Repacks every weight matrix that has a packed --llamacpp kernel in this build (ll_lane_pack_size > 0) into
 * memory of its own (ll_mat.pack; the mapped rows stay for everything else). Once per model, thread-safe;
 * ll_engine_new calls it for engines in --llamacpp mode. 0, or -1 (out of memory). */
int ll_model_pack(ll_model *m);

/* Opens a GGUF file or a llama2.c checkpoint (told apart by the magic). tokenizer_path is required for
 * llama2.c checkpoints that will tokenize (NULL: model->tok stays NULL) and refused for GGUF. */
ll_model *ll_model_open(const char *path, const char *tokenizer_path);
/* Only the tokenizer (and the header's hyperparameters when present): works on vocabulary-only GGUF
 * files; weights are not bound (n_layer may be 0, layers NULL). */
ll_model *ll_model_open_vocab(const char *path, const char *tokenizer_path);
void ll_model_free(ll_model *m);
const char *ll_model_sha256(ll_model *m);   /* hex digest of the model file (computed once) */

#endif
