/* embed.h — sentence embeddings: each text through the model (under any layer order), its final hidden states
 * pooled (mean over its tokens, or the first token's), optionally L2-normalised; as sentence-transformers computes
 * them for BERT encoders ([CLS] text [SEP], truncated to the model's max_seq_length). Works for decoders too
 * (their final-norm outputs, the text tokenized with the model's BOS rule). */
#ifndef LL_EMBED_H
#define LL_EMBED_H
#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"
#include "run/engine.h"

typedef struct {
    int pool;             /* enum ll_pool_kind; -1 (default): the model's own (sentence-transformers' pooling
                             config), else mean */
    int normalize;        /* 1: L2-normalise each embedding, 0: not, -1 (default): as the model's modules say */
    int max_len;          /* tokens per text, special tokens included; 0 (default): max_seq_length, else the
                             model's context */
    const ll_order *order;/* NULL: every layer in order */
    bool exact;           /* default true */
    int n_threads;        /* default 2 */
    void (*progress)(void *ctx, long done, long total, const char *extra);
    void *progress_ctx;
} ll_embed_opts;

ll_embed_opts ll_embed_default_opts(void);

typedef struct {
    int n, dim;           /* texts, embedding size */
    float *vec;           /* [n][dim] */
    int *n_tokens;        /* [n]: tokens each text ran as (after truncation) */
    int n_truncated;      /* texts cut to max_len */
    int pool;             /* the pooling used */
    bool normalized;
} ll_embed_result;

/* Embeds texts[0..n). 0, or -1 with the error set (a text with no tokens, a model without tokenizer). */
int ll_embed_texts(ll_model *m, const char *const *texts, int n, const ll_embed_opts *o, ll_embed_result *r);
/* The token ids a text runs as (special tokens added, truncated); *ids malloc'ed. 0 or -1. */
int ll_embed_ids(const ll_model *m, const char *text, int max_len, int32_t **ids, int *n, bool *truncated);
/* Pools hidden[T][D] into out[D] (LL_POOL_MEAN / LL_POOL_CLS), then normalises it when asked. */
void ll_embed_pool(const float *hidden, int T, int D, int pool, bool normalize, float *out);
void ll_embed_result_free(ll_embed_result *r);

#endif
