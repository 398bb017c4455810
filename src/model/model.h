/* model.h — a loaded model: hyperparameters, weights bound in place (mmap), tokenizer.
 *
 * Three inputs feed the same struct: GGUF files (llama.cpp's names), Hugging Face model directories
 * (config.json + model.safetensors, their names mapped to GGUF's, with the tensor transformations llama.cpp's
 * converter applies), and llama2.c legacy checkpoints (fp32, with a separate tokenizer.bin). Architectures:
 * llama (and mistral), qwen2, qwen3, gemma3, gptneox, bert; each one's tensors are one table in
 * src/model/tensors.c. Every shape is checked against the hyperparameters at load; anything the engine would not
 * compute correctly (another architecture, a RoPE scaling type, an unknown tensor) is refused with a message
 * naming it.
 */
#ifndef LL_MODEL_H
#define LL_MODEL_H
#include <stdbool.h>
#include <stdint.h>

#include "tensor/matmul.h"

struct ll_gguf;
struct ll_tokenizer;

enum ll_model_format { LL_FORMAT_GGUF = 1, LL_FORMAT_LLAMA2C = 2, LL_FORMAT_HF = 3 };
enum ll_norm_kind { LL_NORM_RMS = 0, LL_NORM_LAYER = 1 };   /* RMSNorm, or LayerNorm (mean removed, with a bias) */
enum ll_pool_kind { LL_POOL_NONE = 0, LL_POOL_MEAN = 1, LL_POOL_CLS = 2 };

/* One layer's weights. Which of them a layer has, and what its norms mean, is its architecture's (see
 * src/model/tensors.c and src/arch/): bert's attn_norm / ffn_norm are its post-attention and output LayerNorms. */
typedef struct {
    ll_mat wq;        /* [n_head*head_dim rows, n_embd cols] */
    ll_mat wk;        /* [n_head_kv*head_dim, n_embd] */
    ll_mat wv;        /* [n_head_kv*head_dim, n_embd] */
    ll_mat wo;        /* [n_embd, n_head*head_dim] */
    ll_mat w_gate;    /* [n_ff, n_embd]; absent (data NULL) in plain MLPs (gptneox, bert) */
    ll_mat w_up;      /* [n_ff, n_embd] */
    ll_mat w_down;    /* [n_embd, n_ff] */
    float *attn_norm; /* [n_embd], owned fp32 copy */
    float *ffn_norm;  /* [n_embd] */
    float *attn_norm_b, *ffn_norm_b;   /* LayerNorm biases [n_embd], or NULL */
    float *bq, *bk, *bv, *bo;          /* projection biases (qwen2, gptneox, bert; optional in llama), or NULL */
    float *b_up, *b_down;              /* MLP biases (gptneox, bert), or NULL */
    float *attn_q_norm, *attn_k_norm;  /* [head_dim]: RMSNorm of each query / key head (gemma3, qwen3) */
    /* gemma3 (NULL elsewhere) */
    float *post_attn_norm, *post_ffn_norm; /* [n_embd]: RMSNorm of the attention / MLP output */
} ll_layer;

typedef struct ll_model {
    char *path;
    int format;                  /* enum ll_model_format */
    char arch[32];
    int n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx_train;
    int rope_dim;                /* dimensions rotated per head (≤ head_dim) */
    int sliding_window;          /* 0: none */
    float rms_eps;               /* the norms' epsilon (RMSNorm or LayerNorm) */
    int norm;                    /* enum ll_norm_kind */
    bool causal;                 /* false: every token attends to every token of its forward (encoders) */
    bool parallel_residual;      /* gptneox: out = x + attn(norm1(x)) + mlp(norm2(x)) */
    bool has_head;               /* an LM head (output): false for encoders, whose output is the hidden state */
    int pooling;                 /* enum ll_pool_kind: the model's own sentence pooling (encoders) */
    int max_seq_len;             /* sentence-transformers' max_seq_length (texts are truncated to it), 0: none */
    bool pool_normalize;         /* sentence-transformers' Normalize module follows the pooling */
    int n_tok_types;             /* bert: rows of tok_types */
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
    float *output_norm;          /* [n_embd]; NULL for bert (post-norm layers) */
    float *output_norm_b;        /* LayerNorm bias, or NULL */
    ll_mat pos_embd;             /* bert: [n_ctx_train rows, n_embd] absolute position embeddings */
    ll_mat tok_types;            /* bert: [n_tok_types, n_embd] */
    float *embd_norm, *embd_norm_b; /* bert: the LayerNorm after the embeddings */
    ll_layer *layers;            /* [n_layer] */
    int64_t n_params;
    struct ll_gguf *gguf;        /* GGUF: the open file (weights point into it) */
    struct ll_st *st;            /* Hugging Face: the open model.safetensors (weights point into it) */
    void **owned;                /* allocations the model owns (norm copies, transformed tensors) */
    int n_owned, cap_owned;
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

/* Opens a GGUF file, a Hugging Face model (a directory with config.json and model.safetensors, or the
 * .safetensors file with config.json beside it; the tokenizer from tokenizer.json there when it is WordPiece,
 * else none) or a llama2.c checkpoint (told apart by the magic). tokenizer_path is required for llama2.c
 * checkpoints that will tokenize (NULL: model->tok stays NULL) and refused for GGUF. */
ll_model *ll_model_open(const char *path, const char *tokenizer_path);
/* Only the tokenizer (and the header's hyperparameters when present): works on vocabulary-only GGUF
 * files; weights are not bound (n_layer may be 0, layers NULL). */
ll_model *ll_model_open_vocab(const char *path, const char *tokenizer_path);
void ll_model_free(ll_model *m);
const char *ll_model_sha256(ll_model *m);   /* hex digest of the model file (computed once) */

#endif
