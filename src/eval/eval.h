/* eval.h — benchmarks scored as lm-evaluation-harness 0.4.x scores them (docs/EVAL.md).
 *
 * A task is a list of items read from ../shared/data's files (tasks.c). An item is either
 *  - a set of loglikelihood requests (context, continuation): one per choice for multiple choice, one
 *    per context option for winogrande (partial scoring), one for lambada_openai; or
 *  - a generation prompt (gsm8k: five shots drawn with CPython's random.Random(1234).sample).
 * score.c runs the requests through an engine the way lm-eval's `hf` backend does (trailing context
 * whitespace moved into the continuation; continuation tokens = encode(ctx + cont)[len(encode(ctx)):];
 * one forward over the prefix the requests of an item share), generates greedily, extracts and
 * normalises answers, and aggregates metrics with lm-eval's standard errors.
 */
#ifndef LL_EVAL_H
#define LL_EVAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerlab.h"
#include "util/pyrandom.h"

struct ll_engine;
struct ll_model;
struct ll_tokenizer;

/* ---- tasks (tasks.c) ---- */
enum ll_eval_kind { LL_EVAL_MC = 1, LL_EVAL_LOGLIK = 2, LL_EVAL_GEN = 3 };

typedef struct {
    char *ctx;    /* the context as lm-eval builds it */
    char *cont;   /* the continuation, with lm-eval's target delimiter " " */
} ll_eval_req;

typedef struct {
    long line;            /* 1-based line of the item in its file (first line for hellaswag) */
    int n_req;
    ll_eval_req *req;
    int n_choices;        /* multiple choice: lm-eval's doc_to_choice (lengths normalise acc_norm) */
    char **choices;
    int gold;             /* gold index (multiple choice); -1 otherwise */
    char *question;       /* gsm8k: the question */
    char *target;         /* gsm8k: the answer (doc_to_target); lambada: the last word */
} ll_eval_item;

typedef struct {
    char name[32];
    char *path;           /* the data file (names it in messages) */
    int kind;             /* enum ll_eval_kind */
    bool has_acc_norm;    /* lm-eval reports acc_norm for this task */
    int n_items;
    ll_eval_item *items;
    /* gsm8k: the few-shot pool (train split) */
    int n_shots_pool;
    char **shot_q, **shot_a;
    int num_fewshot;
} ll_eval_task;

/* The data file a task reads by default (under the data directory), or NULL for an unknown task. */
const char *ll_eval_default_file(const char *task);
/* Every task name, NULL-terminated. */
extern const char *const ll_eval_task_names[];
/* Reads a task's items from path (fewshot_path: gsm8k's train file). Errors are "file:line: ..." with
 * the field; the whole file is validated. Returns 0 or -1. */
int ll_eval_load(const char *task, const char *path, const char *fewshot_path, ll_eval_task *out);
/* The items of task from the bytes of a data file (buf[0..len) is modified; name labels messages):
 * what ll_eval_load does after reading, without the few-shot pool. 0, or -1 with the error set. */
int ll_eval_parse(const char *task, const char *name, char *buf, size_t len, ll_eval_task *out);
void ll_eval_task_free(ll_eval_task *t);
/* An empty task of that name with its kind and has_acc_norm set (what scoring stored results needs). */
void ll_eval_task_shape(const char *task, ll_eval_task *out);
/* gsm8k: the prompts of items 0..n-1 (malloc'ed strings), drawing shots with one random.Random(seed)
 * running through the items in order, as lm-eval's ContextSampler does. */
int ll_eval_fewshot_prompts(const ll_eval_task *t, int n, uint64_t seed, char ***prompts);

/* ---- text helpers (score.c) ---- */
size_t ll_utf8_len(const char *s);                        /* Python len(): code points */
size_t ll_py_rstrip_len(const char *s, size_t n);         /* length of s[0..n) after str.rstrip() */
size_t ll_py_lstrip_off(const char *s, size_t n);         /* bytes str.lstrip() removes from s[0..n) */
/* HellaSwag's preprocess() (lm-eval tasks/hellaswag/utils.py), malloc'ed */
char *ll_hellaswag_preprocess(const char *s);

/* ---- scoring (score.c) ---- */
/* -log softmax(row)[target] in double (also `ppl`'s per-token loss); *is_max (may be NULL) = target is the
 * first maximum, as torch.argmax */
double ll_nll_row(const float *row, int n, int target, bool *is_max);

typedef struct {
    int32_t *ctx;  int n_ctx;   /* context tokens (BOS first when asked) */
    int32_t *cont; int n_cont;  /* continuation tokens */
} ll_eval_toks;

/* lm-eval's loglikelihood() + _encode_pair for one request. */
int ll_eval_encode(const struct ll_tokenizer *tok, bool bos, const ll_eval_req *r, ll_eval_toks *out);
void ll_eval_toks_free(ll_eval_toks *t);

/* Scores n (<= 64) requests that belong together: one forward over their shared token prefix, then the
 * requests' remaining tokens, all in one tree forward (ll_engine_forward_tree) when they fit in cap_rows
 * logits rows and the engine's context, else one request at a time; both give the same bits.
 * ll[i] = summed log-probability of the continuation tokens, greedy[i] = every continuation token is the
 * argmax. logits_buf holds cap_rows × n_vocab floats, cap_rows >= the longest request input. */
int ll_eval_score(struct ll_engine *e, int n_vocab, const ll_eval_toks *t, int n, float *logits_buf, int cap_rows,
                  double *ll, bool *greedy);

/* Several items' requests in one forward (issue 13 §4): item j's shared prefix, then its requests' remaining
 * tokens, each item confined to its own tokens (its slots, its positions from 0), logits only on the rows
 * that score a continuation token. Every ll and greedy is bit for bit ll_eval_score's on the item alone.
 * ll_eval_batch_cost: the tokens (cache slots) and logits rows one item takes in a batch. */
void ll_eval_batch_cost(const ll_eval_toks *t, int n, int *tokens, int *rows);
/* items[j] = item j's n_req[j] requests; ll[j], greedy[j] receive its n_req[j] results. logits_buf holds
 * (Σ rows) × n_vocab floats; the engine's context holds Σ tokens. */
int ll_eval_score_batch(struct ll_engine *e, int n_vocab, const ll_eval_toks *const *items, const int *n_req, int n_items,
                        float *logits_buf, double *const *ll, bool *const *greedy);

/* Greedy generation from prompt tokens (positions 0..), at most max_new tokens, stopping at the EOS id
 * (eos < 0: none) or when the decoded text (special tokens rendered) contains a stop string. *text is the
 * decoded continuation without special tokens, cut before the first stop string (lm-eval's
 * postprocess_generated_text); *n_gen the tokens generated. */
int ll_eval_generate(struct ll_engine *e, const struct ll_tokenizer *tok, int n_vocab, const int32_t *prompt,
                     int n_prompt, int max_new, int32_t eos, const char *const *stops, int n_stops,
                     float *logits_buf, char **text, int *n_gen);

/* gsm8k filters and normalisation */
char *ll_gsm8k_strict(const char *response);      /* "#### (\-?[0-9\.\,]+)", first match, or "[invalid]" */
char *ll_gsm8k_flexible(const char *response);    /* "(-?[$0-9.,]{2,})|(-?[0-9]+)", last match */
char *ll_gsm8k_normalize(const char *s);          /* regexes_to_ignore + ignore_case */

/* ---- aggregation (score.c), lm-eval's api/metrics.py ---- */
double ll_py_mean(const double *x, int n);               /* sum(arr) / len(arr), left to right */
double ll_py_sample_stddev(const double *x, int n);
double ll_mean_stderr(const double *x, int n);           /* NAN when n < 2 ("N/A") */
/* bootstrap_stderr(perplexity, lls, iters): chunks of min(1000, iters) resamples, chunk i drawn with
 * random.Random(i).choices; NAN when n < 2. */
double ll_perplexity_bootstrap_stderr(const double *ll, int n, int iters);

/* ---- running a task (run.c) ---- */

/* How a task runs (ll_eval_default_opts: lm-eval's defaults, all items, all layers, 2 threads, exact). */
typedef struct {
    long limit;                /* the first N items; -1 = all */
    bool bos;                  /* prepend BOS (lm-eval's hf backend with add_bos_token=False: no) */
    int max_len;               /* lm-eval's max_length: longer requests keep their last max_len + 1 tokens;
                                  0 = the model's trained context */
    int max_gen;               /* gsm8k: max_gen_toks (256) */
    int bootstrap_iters;       /* lambada_openai: perplexity stderr resamples (100000) */
    const ll_order *order;     /* the layer plan; NULL = every layer in order */
    int n_threads;
    bool exact;                /* fp32 against dequantized weights (true) or llama.cpp's numerics */
    bool parallel_kv_mean;
    int batch_tokens;          /* loglikelihood tasks: consecutive items share one forward up to this many
                                  tokens (default 512; 0 or 1: one item per forward); the same bits either way */
    /* progress: after each item (extra: "acc 0.5000"), and after each entry of every forward; may be NULL */
    void (*progress)(void *ctx, long done, long total, const char *extra);
    void (*layer_progress)(void *ctx, int done, int total);
    void *progress_ctx;
} ll_eval_opts;

void ll_eval_default_opts(ll_eval_opts *o);

/* One item's result. Loglikelihood tasks: ll, greedy, n_cont per request; multiple choice also pred,
 * pred_norm (argmax of ll / characters of the choice); acc (and acc_norm) 0 or 1. gsm8k: the response
 * (cut at the first stop string), its strict and flexible extractions, the normalised gold answer, exact
 * matches, tokens generated. */
typedef struct {
    int n_req;
    double *ll;
    bool *greedy;
    int *n_cont;
    int pred, pred_norm;
    double acc, acc_norm;
    char *response, *strict, *flexible, *gold;
    double em_strict, em_flexible;
    int n_gen;
} ll_eval_item_result;

/* A run: per-item results and lm-eval's aggregates (NAN where a metric does not apply or n < 2). */
typedef struct {
    int n;
    ll_eval_item_result *items;
    char **prompts;                    /* gsm8k: the 5-shot prompts [n] */
    double acc, acc_stderr, acc_norm, acc_norm_stderr, ppl, ppl_stderr;
    double em_strict, em_strict_stderr, em_flexible, em_flexible_stderr;
    long long n_tokens;                /* loglikelihood tasks: model input tokens */
    long long n_truncated;             /* requests left-truncated to max_len */
    long long generated_tokens;        /* gsm8k */
    int n_ctx;                         /* longest model input (gsm8k: longest prompt + max_gen) */
    int max_len;                       /* the max_length in force */
    double seconds;
} ll_eval_results;

/* A session: the given items of t (indices into t->items) tokenized and an engine sized for them, so that
 * items can run one at a time (a study stores each as it finishes). */
typedef struct ll_eval_session ll_eval_session;
ll_eval_session *ll_eval_begin(ll_model *m, const ll_eval_task *t, const int *items, int n, const ll_eval_opts *opts);
/* gsm8k's answer to a prompt: greedy generation from ids (positions 0..) with lm-eval's stop strings and
 * the model's EOS, at most max_gen tokens, then the strict and flexible extractions and exact matches
 * against target (the item's answer), into r (free with ll_eval_item_result_free). logits holds n_vocab
 * floats. 0, or -1 with the error set. */
int ll_eval_gen_answer(struct ll_engine *e, const struct ll_tokenizer *tok, int n_vocab, const int32_t *ids, int n,
                       int max_gen, const char *target, float *logits, ll_eval_item_result *r);
/* Runs the session's k-th item into r (free with ll_eval_item_result_free). 0, or -1 naming the item. */
int ll_eval_run_item(ll_eval_session *s, int k, ll_eval_item_result *r);
/* Runs items k, k+1, ... (at most max_n, at least 1) that fit one batched forward (opts.batch_tokens) into
 * r[0..*n_done); each result bit for bit ll_eval_run_item's. gsm8k: one item. 0, or -1 naming the item. */
int ll_eval_run_batch(ll_eval_session *s, int k, int max_n, ll_eval_item_result *r, int *n_done);
const char *ll_eval_session_prompt(const ll_eval_session *s, int k);   /* gsm8k: the item's prompt */
/* The session's engine: a study switches its order between items (ll_engine_set_order) and reuses shared
 * leading entries across orders (ll_engine_record / ll_engine_reuse). */
struct ll_engine *ll_eval_session_engine(ll_eval_session *s);
void ll_eval_session_info(const ll_eval_session *s, long long *n_tokens, long long *n_truncated, int *n_ctx,
                          int *max_len);
void ll_eval_end(ll_eval_session *s);
/* pred, pred_norm, acc, acc_norm of item i from its loglikelihoods (what ll_eval_item does after scoring;
 * a study calls it on stored loglikelihoods). */
int ll_eval_item_score(const ll_eval_task *t, int i, ll_eval_item_result *r);
void ll_eval_item_result_free(ll_eval_item_result *r);

/* Runs the first opts->limit items of t on m (an engine made for them, with opts->order) and aggregates.
 * Errors name the item and its file:line. 0, or -1 with the error set (r is then empty). */
int ll_eval_run(ll_model *m, const ll_eval_task *t, const ll_eval_opts *opts, ll_eval_results *r);
/* (Re)computes r's aggregates from r->items[0..r->n) — what a study does with stored item results. */
int ll_eval_aggregate(const ll_eval_task *t, ll_eval_results *r, int bootstrap_iters);
void ll_eval_results_free(ll_eval_results *r);

/* Perplexity of a token stream. windows (llamacpp false, `layerlab ppl`): consecutive windows of ctx
 * tokens, every token after a window's first scored. llamacpp: llama.cpp's perplexity tool — n / ctx
 * windows, the first token of each replaced by bos_id when bos, only the second half of each scored. */
typedef struct {
    int ctx;                  /* window length (512) */
    bool llamacpp;
    bool bos;
    int32_t bos_id;
    void (*progress)(void *ctx, long done, long total, const char *extra);
    void *progress_ctx;
} ll_ppl_opts;

typedef struct {
    long long scored, windows;
    double mean_nll, ppl;
} ll_ppl_result;

void ll_ppl_default_opts(ll_ppl_opts *o);
/* e must hold at least opts->ctx positions. 0, or -1 with the error set (naming the window). */
int ll_ppl_run(ll_engine *e, int n_vocab, const int32_t *ids, size_t n, const ll_ppl_opts *opts, ll_ppl_result *r);
/* The windows ll_ppl_run scores (0 when the text is too short for the protocol). */
long long ll_ppl_n_windows(size_t n, const ll_ppl_opts *opts);
/* Window w (0-based) alone: its token nlls added to *total one by one, in ll_ppl_run's order (so a caller
 * that runs the windows in order, resuming from a stored *total, gets ll_ppl_run's bits), *scored counted.
 * logits holds opts->ctx x n_vocab floats. */
int ll_ppl_window(struct ll_engine *e, int n_vocab, const int32_t *ids, size_t n, const ll_ppl_opts *opts, long long w,
                  float *logits, double *total, long long *scored);

#endif
