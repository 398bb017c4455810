/* store.h — a study's results store: DIR/results.sqlite (SQLite, WAL journal, synchronous=FULL).
 *
 * Every finished unit of work is one transaction, so a run killed at any moment loses at most the unit in
 * flight, and the same command run again continues where it stopped. The store records the study's
 * parameters; opening it with other parameters is refused naming the first that differs. Schema
 * (docs/STUDIES.md):
 *   meta(key TEXT PRIMARY KEY, value TEXT)             kind, params (canonical JSON), model_sha256,
 *                                                      tool, version, created
 *   plans(plan TEXT PRIMARY KEY, variant, s, m, seed, k, grp)   every plan of the study
 *   items(task, item, plan, n_req, ll, greedy, n_cont, pred, pred_norm, acc, acc_norm, response, strict,
 *         flexible, gold, em_strict, em_flexible, n_gen, seconds, PRIMARY KEY(task, item, plan))
 *   ppl(plan TEXT PRIMARY KEY, tokens, windows, mean_nll, ppl, seconds)
 *   analyses(name TEXT PRIMARY KEY, value TEXT)        JSON results of the analyses
 *   progress(key TEXT PRIMARY KEY, value REAL)         elapsed seconds, layer passes computed
 * ll, greedy and n_cont are JSON arrays; numbers are written with 17 significant digits, so values read back
 * are the values written.
 */
#ifndef LL_STUDY_STORE_H
#define LL_STUDY_STORE_H
#include <stdbool.h>
#include <stdint.h>

#include "eval/eval.h"

typedef struct ll_store ll_store;

/* Opens (creating DIR and the store if absent) DIR/results.sqlite for a study of `kind` whose parameters
 * are the canonical JSON object params_json (compared key by key with a stored one) on the model with that
 * sha256. A file that is not SQLite, an SQLite file that is no layerlab store, another kind, model or
 * parameters: NULL with a message saying what differs; the file is never modified then. */
ll_store *ll_store_open(const char *dir, const char *kind, const char *params_json, const char *model_sha256);
/* Opens an existing store read-only (status, export); NULL with the error set. */
ll_store *ll_store_open_existing(const char *dir);
void ll_store_close(ll_store *s);

const char *ll_store_meta(ll_store *s, const char *key);   /* static until the next call; NULL if absent */

int ll_store_put_plan(ll_store *s, const char *plan, const char *variant, int start, int m, int seed, int k,
                      const char *grp);
/* 1 if the item's result for plan is stored, 0 if not, -1 on error. */
int ll_store_has_item(ll_store *s, const char *task, int item, const char *plan);
/* Stores one item's result (one transaction). */
int ll_store_put_item(ll_store *s, const char *task, int item, const char *plan, const ll_eval_item_result *r,
                      double seconds);
/* The stored results of plan on task for items[0..n): r[k] filled (free each with ll_eval_item_result_free);
 * an item not stored is an error. */
int ll_store_get_items(ll_store *s, const char *task, const char *plan, const int *items, int n, ll_eval_item_result *r);
/* Number of stored items of (task, plan); plan or task NULL counts over all. */
long ll_store_count_items(ll_store *s, const char *task, const char *plan);
/* the committed perplexity windows (all plans), and the analyses whose name begins with prefix; -1 on error */
long ll_store_count_ppl_windows(ll_store *s);
long ll_store_count_analyses(ll_store *s, const char *prefix);

/* The plans in the order they were recorded. */
typedef struct {
    char plan[64], variant[24], grp[16];
    int s, m, seed, k;
} ll_store_plan;
int ll_store_list_plans(ll_store *s, ll_store_plan **out, int *n);
/* The tasks that have results, by name (malloc'ed array of malloc'ed names). */
int ll_store_list_tasks(ll_store *s, char ***out, int *n);
/* The item indices stored for (task, plan), ascending (malloc'ed). */
int ll_store_item_ids(ll_store *s, const char *task, const char *plan, int **out, int *n);

int ll_store_put_ppl(ll_store *s, const char *plan, long long tokens, long long windows, double mean_nll, double ppl,
                     double seconds);
/* An explicit transaction, for units of work that write several rows (the geometry study's prompt and its
 * answer): every row between begin and commit lands, or none. */
/* Sharded runs (study/shard.h): each rank but 0 writes DIR/results.rank-K.sqlite, a copy of the main store made
 * at the start with the added counters (seconds, passes) zeroed; rank 0 merges them into the main store at the
 * end, and any left by a killed run at the next start. */
int ll_store_make_rank_copy(ll_store *s, const char *dir, int rank);
ll_store *ll_store_open_rank(const char *dir, int rank);
/* Merges every DIR/results.rank-*.sqlite into s (results replace, added counters add; one transaction each) and
 * removes it. *n_merged (may be NULL): how many. 0 or -1. */
int ll_store_merge_ranks(ll_store *s, const char *dir, int *n_merged);
int ll_store_begin(ll_store *s);
int ll_store_commit(ll_store *s);
void ll_store_rollback(ll_store *s);

/* The geometry study's prompt: its token ids, the attention-ID at its last token for every layer (relative
 * and absolute threshold), and the last token's hidden state after every entry (state 0 = embedding). */
typedef struct {
    char task[32], plan[32], cond[16];
    int item, k;
    int n_tokens;
    int32_t *ids;
    int n_layers;
    double *id_rel, *id_abs;    /* [n_layers] */
    int n_states, dim;          /* n_layers + 1, n_embd */
    float *states;              /* [n_states][dim] (NULL: not stored / not read) */
} ll_store_prompt;
int ll_store_put_prompt(ll_store *s, const ll_store_prompt *p);
/* Calls fn for every stored prompt in (task, item, k, cond) order, with the hidden states when `states`;
 * fn's nonzero return stops and is returned. */
int ll_store_each_prompt(ll_store *s, bool states, int (*fn)(void *ctx, const ll_store_prompt *p), void *ctx);
void ll_store_prompt_free(ll_store_prompt *p);

/* A plan's perplexity window by window: the running total of token nlls and tokens scored after window w
 * (0-based); the last one stored (1, 0 when none, -1 on error), with the seconds of all of them. */
int ll_store_put_ppl_window(ll_store *s, const char *plan, long long window, double total, long long scored,
                            double seconds);
int ll_store_last_ppl_window(ll_store *s, const char *plan, long long *window, double *total, long long *scored,
                             double *seconds);
/* A plan's running total after window w: 1 and the values if stored, 0 if not, -1 on error. */
int ll_store_get_ppl_window(ll_store *s, const char *plan, long long window, double *total, long long *scored);
/* 1 and the values if stored, 0 if not, -1 on error. */
int ll_store_get_ppl(ll_store *s, const char *plan, double *mean_nll, double *ppl, long long *tokens);

int ll_store_put_analysis(ll_store *s, const char *name, const char *json);
/* malloc'ed JSON text, or NULL (absent: *found = false; error: the error is set). */
char *ll_store_get_analysis(ll_store *s, const char *name, bool *found);

/* Adds to a progress counter (elapsed seconds, layer passes); set replaces it (totals). */
int ll_store_add_progress(ll_store *s, const char *key, double v);
int ll_store_set_progress(ll_store *s, const char *key, double v);
double ll_store_get_progress(ll_store *s, const char *key);

#endif
