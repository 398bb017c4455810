/* layerlab.h — the public C API of liblayerlab.
 *
 * Opaque handles, `ll_` prefix. Every function that can fail returns NULL or -1 and leaves a message
 * (what, where, what was expected) for ll_errmsg(); model files are treated as untrusted input.
 *
 *   ll_model *m = ll_model_open("model.gguf", NULL);          // or a llama2.c .bin + its tokenizer.bin
 *   int32_t *ids; size_t n;
 *   ll_tokenize(ll_model_tokenizer(m), "Hello", 5, true, false, &ids, &n);
 *   ll_engine_opts o = {.n_ctx = 512, .n_threads = 2, .exact = false};
 *   ll_engine *e = ll_engine_new(m, NULL, &o);                // NULL order = all layers in order
 *   float *logits = malloc(sizeof(float) * n * ll_model_n_vocab(m));
 *   ll_engine_forward(e, ids, (int)n, 0, logits, LL_LOGITS_ALL);
 */
#ifndef LAYERLAB_H
#define LAYERLAB_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ll_model ll_model;
typedef struct ll_tokenizer ll_tokenizer;
typedef struct ll_engine ll_engine;

/* ---- errors ---- */
const char *ll_errmsg(void);

/* ---- models ---- */
ll_model *ll_model_open(const char *path, const char *tokenizer_path);
ll_model *ll_model_open_vocab(const char *path, const char *tokenizer_path);
void ll_model_free(ll_model *m);
const char *ll_model_sha256(ll_model *m);
int ll_model_n_layer(const ll_model *m);
int ll_model_n_embd(const ll_model *m);
int ll_model_n_vocab(const ll_model *m);
int ll_model_n_ctx(const ll_model *m);
ll_tokenizer *ll_model_tokenizer(const ll_model *m);

/* ---- tokenizers ---- */
int ll_tokenize(const ll_tokenizer *t, const char *text, size_t len, bool add_bos, bool parse_special,
                int32_t **ids, size_t *n);
char *ll_detokenize(const ll_tokenizer *t, const int32_t *ids, size_t n, bool render_special, size_t *len);
bool ll_tok_default_bos(const ll_tokenizer *t);

/* ---- running: an order of entries (a layer, or a parallel group of layers) ---- */
typedef struct {
    int n;            /* members: 1 = a single layer */
    int *layers;      /* [n] */
} ll_entry;

typedef struct {
    int n_entries;
    ll_entry *entries;
    int n_passes;
} ll_order;

typedef struct {
    int n_ctx;             /* positions the KV cache holds */
    int n_threads;
    bool exact;            /* fp32 activations x dequantized weights (else llama.cpp's numerics) */
    bool parallel_kv_mean; /* parallel groups store the mean of their members' K/V for later tokens */
} ll_engine_opts;

enum { LL_LOGITS_NONE = 0, LL_LOGITS_LAST = 1, LL_LOGITS_ALL = 2 };

ll_engine *ll_engine_new(ll_model *m, const ll_order *order, const ll_engine_opts *opts);
void ll_engine_free(ll_engine *e);
int ll_engine_forward(ll_engine *e, const int32_t *tokens, int T, int pos0, float *logits, int mode);

#ifdef __cplusplus
}
#endif
#endif
