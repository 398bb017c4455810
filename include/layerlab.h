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

/* A plan (docs/PLANS.md: a preset such as "skip:13", or a list such as "0-3,[4,5]*2,6") as the order of a model of
 * n_layer layers; free with ll_order_free. 0, or -1 with the error set. */
int ll_plan_parse(const char *spec, int n_layer, ll_order *out);
void ll_order_free(ll_order *o);

/* n_ctx 512, 2 threads, exact numerics, no K/V averaging. */
ll_engine_opts ll_engine_default_opts(void);
/* order NULL = every layer in order. NULL on error. */
ll_engine *ll_engine_new(ll_model *m, const ll_order *order, const ll_engine_opts *opts);
void ll_engine_free(ll_engine *e);
/* tokens[0..T) at positions pos0.. (earlier positions are in the cache); logits [T or 1][n_vocab] per mode */
int ll_engine_forward(ll_engine *e, const int32_t *tokens, int T, int pos0, float *logits, int mode);
/* the same forward writing the final norm's output [T][n_embd] (an encoder's hidden states) instead of logits */
int ll_engine_forward_hidden(ll_engine *e, const int32_t *tokens, int T, int pos0, float *hidden);
/* Changes the order the engine runs (the caches grow if needed). 0 or -1. */
int ll_engine_set_order(ll_engine *e, const ll_order *order);

/* Taps: read-only views into a forward, for probes. Every callback may be NULL. `attn` runs on the worker threads,
 * once per (pass, query position, head): writes to disjoint places need no lock; the others on the calling
 * thread. Entries count from 0 in the order (-1: the embedding output); a member is a position in a parallel
 * group (0 for a single layer). */
typedef struct ll_tap {
    void *ctx;
    /* the residual stream after entry `entry`: x[T][n_embd], positions pos0.. */
    void (*hidden)(void *ctx, int entry, const float *x, int T, int pos0);
    /* whether the attention rows of query position pos are wanted; called once per forward and position */
    bool (*want_attn)(void *ctx, int pos);
    /* w[0..k1-k0): the softmax attention of query `pos`, head `head`, over the keys at positions k0..k1-1 (causal:
     * 0..pos; an encoder: every position of the forward) */
    void (*attn)(void *ctx, int entry, int member, int head, int pos, int k0, int k1, const float *w);
    /* the MLP's pre-activations g[T][n_ff]: the gate (gated MLPs) or the up projection + bias (plain MLPs) */
    void (*gate)(void *ctx, int entry, int member, const float *g, int T, int pos0);
} ll_tap;
/* Installs (copies) a tap; NULL removes it. */
void ll_engine_set_tap(ll_engine *e, const ll_tap *tap);

/* ---- memory and version ---- */
/* Frees memory the library handed over (token ids, text, sample arrays from the functions below). */
void ll_free(void *p);
const char *ll_version(void);   /* "0.1.0" */

/* ---- model information ---- */
const char *ll_model_arch(const ll_model *m);   /* "llama", "qwen2", "qwen3", "gemma3", "gptneox", "bert" */
const char *ll_model_path(const ll_model *m);
int ll_model_n_head(const ll_model *m);
int ll_model_n_head_kv(const ll_model *m);
int ll_model_n_ff(const ll_model *m);
bool ll_model_has_head(const ll_model *m);      /* false for encoders (no logits) */
bool ll_model_causal(const ll_model *m);

/* ======================================================================================================
 * Foreign-function entry points (src/api/ffi.c). They take only scalars, pointers and a JSON object of
 * options (NULL or "" = every default), so that a binding such as Python's ctypes needs no struct mirrors.
 * An unknown key or a value of the wrong type or range fails with a message naming it. Every function
 * returns 0 / a handle, or -1 / NULL with the message in ll_errmsg() (thread-local: read it on the thread
 * that called).
 *
 * Run options (every function that runs the model):
 *   "plan": SPEC (docs/PLANS.md; default "full"), "threads": N (2), "exact": bool (true; false = llama.cpp's
 *   numerics), "parallel_kv": "own" | "mean" (own)
 * ====================================================================================================== */

/* The entries of a plan (opts_json's "plan"; default the full model) for m: returns their number, and
 * members[i] = the layers of entry i for i < cap (members may be NULL). */
int ll_ffi_plan(const ll_model *m, const char *opts_json, int *members, int cap);

/* logits [T][n_vocab] (float32) of ids[0..T) at positions 0..T-1 into out: `layerlab logits --ids`. */
int ll_ffi_logits(ll_model *m, const int32_t *ids, int T, const char *opts_json, float *out);

/* Activations of one forward, under TransformerLens-style names (L = the entry of the plan's order,
 * 0-based; for the full model, the layer; n = the members of entry L: 1 unless it is a parallel group):
 *   hook_embed                   [T][n_embd]     the embedding output (the residual stream before entry 0)
 *   blocks.L.hook_resid_pre      [T][n_embd]     the residual stream entering entry L
 *   blocks.L.hook_resid_post     [T][n_embd]     the residual stream after entry L (before the final norm)
 *   blocks.L.attn.hook_pattern   [H][T][T]       softmax attention (query row, key column; zero where a query
 *                                ([n][H][T][T])  does not attend: above the diagonal in causal models)
 *   blocks.L.mlp.hook_pre        [T][n_ff]       the MLP pre-activation (the gate before its activation;
 *                                ([n][T][n_ff])  plain MLPs: the up projection + bias)
 *   logits                       [T][n_vocab]    (models with a head)
 * These are the values `layerlab probe --dump` writes (sampleN_hidden / _attn / _gates), bit for bit.
 * ll_ffi_cache_shape: the shape of `name` for T tokens under the plan in opts_json; returns the number of
 * dimensions (shape[0..ndim)), or -1 for an unknown name or an entry outside the plan. */
int ll_ffi_cache_shape(const ll_model *m, int T, const char *opts_json, const char *name, int64_t shape[4]);
/* One forward over ids[0..T); bufs[i] (float32, of ll_ffi_cache_shape(names[i])) receives names[i]. */
int ll_ffi_cache(ll_model *m, const int32_t *ids, int T, const char *opts_json, const char *const *names, int n_names,
                 float *const *bufs);

/* Samples for the probes: the token ids lm-eval feeds the model for the items of a task (docs/PROBES.md,
 * `probe --task`). opts: "limit" (all), "bos" (the model's BOS rule, as probe), "data" (the task's file),
 * "fewshot" (gsm8k's train file), "data_dir" (where the default file is when "data" is absent; default
 * $LAYERLAB_DATA). *ids = every sample's ids concatenated, *lens[i] = sample i's length (free both with
 * ll_free). */
int ll_ffi_task_samples(const ll_model *m, const char *task, const char *opts_json, int32_t **ids, int64_t **lens,
                        int *n);

/* The probes of docs/PROBES.md over n samples (sample i = the next lens[i] ids of ids), as `layerlab probe
 * KINDS`. kinds: comma-separated cosine, block-influence, attention-id, mlp-regions, intrinsic-dim, none.
 * cmp_ids/cmp_lens/n_cmp: mlp-regions' --compare samples (NULL, NULL, 0: none). opts: the run options and
 * "pad", "first_position", "span", "eps", "threshold" ("relative" | "absolute"), "position" (-1 = last),
 * "all_positions", "eps_sweep" (an array), "entry" (-1 = last), "points" ("tokens" | "prompts"). */
typedef struct ll_probe_out ll_probe_out;
ll_probe_out *ll_ffi_probe(ll_model *m, const char *kinds, const int32_t *ids, const int64_t *lens, int n,
                           const int32_t *cmp_ids, const int64_t *cmp_lens, int n_cmp, const char *opts_json);
void ll_probe_out_free(ll_probe_out *r);
/* A result array (float64, row-major, rows × cols; rows = 1 for a vector), owned by r: cos_flat, cos_token,
 * cos_last [S][S]; variance [S]; block_influence [E]; angular [S - span]; attn_id [n_eps][E]; per_head [E][H];
 * density, entropy, max_weight, hamming, hamming_compare [E]; features [E][7]; points [n_points][D];
 * members [E]. -1 for an unknown name or a probe that did not run. */
int ll_probe_out_array(const ll_probe_out *r, const char *name, const double **data, int64_t *rows, int64_t *cols);
/* A scalar: S, E, H, M, D, n_samples, max_T, n_tokens, n_eps, n_points, seconds. -1 for an unknown name. */
int ll_probe_out_value(const ll_probe_out *r, const char *name, double *v);

/* Intrinsic dimension of X [N][D] (float64, row-major), as `probe intrinsic-dim --input`: out[7] = twonn,
 * twonn_ml, mle, pca, pr, n_points (distinct rows), n_duplicates. */
int ll_ffi_intrinsic_dim(const double *X, int64_t N, int64_t D, int k, double alpha, double out[7]);

/* A benchmark task scored as `layerlab eval MODEL --task TASK --json` scores it (docs/EVAL.md). opts: the
 * run options and "limit", "bos" (false), "data", "fewshot", "data_dir", "batch_tokens" (512),
 * "max_length" (0 = the model's context), "max_gen_toks" (256), "bootstrap_iters" (100000).
 * progress (may be NULL) is called after each item with (ctx, done, total, text). */
typedef struct ll_eval_out ll_eval_out;
ll_eval_out *ll_ffi_eval(ll_model *m, const char *task, const char *opts_json,
                         void (*progress)(void *ctx, long done, long total, const char *text), void *ctx);
void ll_eval_out_free(ll_eval_out *r);
/* A run-level number, under the names of eval --json: n, acc, acc_stderr, acc_norm, acc_norm_stderr,
 * perplexity, perplexity_stderr, exact_match_strict(_stderr), exact_match_flexible(_stderr), limit (-1 =
 * all), num_fewshot, max_length, truncated_requests, generated_tokens, n_ctx, n_tokens, seconds, has_acc_norm,
 * n_requests, max_gen_toks, fewshot_seed. NaN where lm-eval reports N/A. -1 for an unknown name. */
int ll_eval_out_value(const ll_eval_out *r, const char *name, double *v);
/* Per-item arrays [n] (float64): acc, acc_norm, pred, pred_norm, gold, n_req, first_req, line, em_strict,
 * em_flexible, n_gen; per-request arrays [n_requests] (the items' requests in order; item i's are
 * first_req[i] .. first_req[i] + n_req[i] - 1): ll, is_greedy, n_tokens, length (characters of the choice,
 * multiple choice), item. -1 for an unknown name. */
int ll_eval_out_array(const ll_eval_out *r, const char *name, const double **data, int64_t *n);
/* Text: i = -1: task, data, kind ("multiple_choice", "loglikelihood", "generate"); item i: prompt, response,
 * strict, flexible, gold (gsm8k), target (gsm8k, lambada_openai). NULL for an unknown name or index. */
const char *ll_eval_out_text(const ll_eval_out *r, const char *name, long i);

/* A study into out_dir, as `layerlab study painters|geometry MODEL --out DIR` (docs/STUDIES.md): runs (or
 * continues) it, then writes the exports and DIR/report.html. kind: "painters" or "geometry". opts: "threads",
 * "exact", "bos", "quick", "data_dir", "command" (the line the report shows), and the study's options under
 * their CLI names with _ for - (painters: tasks, limit, sample, seed, variants, starts, seeds, loops,
 * loops_grid, analyses, cosine_samples, single_limit, ppl, ppl_ctx, ppl_tokens, max_gen_toks, reuse;
 * geometry: task, data, fewshot, limit, sample, seed, prompt_seed, shots, conditions, eps, max_gen_toks);
 * lists are JSON arrays. progress as ll_ffi_eval's (units of work). */
int ll_ffi_study(ll_model *m, const char *kind, const char *out_dir, const char *opts_json,
                 void (*progress)(void *ctx, long done, long total, const char *text), void *ctx);

#ifdef __cplusplus
}
#endif
#endif
