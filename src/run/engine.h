/* engine.h — runs a model's layers in a given order over a batch of tokens, with a KV cache slot per
 * layer pass.
 *
 * An order is a list of entries; an entry is one layer or a parallel group of layers (all members read
 * the same input h; the entry's output is the mean of the members' outputs, residual included). Every
 * member of every entry is one pass and owns one KV slot, so a layer that runs twice caches twice.
 * RoPE positions are the token positions, whatever the order. The final norm and the output head run
 * after the last entry.
 */
#ifndef LL_ENGINE_H
#define LL_ENGINE_H
#include <stdbool.h>
#include <stdint.h>

#include "layerlab.h"
#include "model/model.h"

/* ll_entry, ll_order, ll_engine_opts and the LL_LOGITS_* modes are public: include/layerlab.h. */

/* The identity order 0..n_layer-1 (caller frees with ll_order_free). */
int ll_order_full(ll_order *o, int n_layer);
void ll_order_free(ll_order *o);

/* order NULL = full. Copies the order. NULL on error (context too long, no memory, bad layer id). */
ll_engine *ll_engine_new(ll_model *m, const ll_order *order, const ll_engine_opts *opts);
void ll_engine_free(ll_engine *e);

/* Processes tokens[0..T) at positions pos0..pos0+T-1 (the cache must hold positions < pos0 from earlier
 * calls). Writes logits [T or 1][n_vocab] per mode. Returns 0 or -1 with the error set. */
int ll_engine_forward(ll_engine *e, const int32_t *tokens, int T, int pos0, float *logits, int mode);
int ll_engine_n_ctx(const ll_engine *e);
/* The same forward, writing the final norm's output (the hidden states the head would read; an encoder's output)
 * [T][n_embd] instead of logits. Works for models with and without a head. */
enum { LL_HIDDEN = 4 };   /* ll_engine_forward_hidden (include/layerlab.h) */

/* A token of a tree forward: its RoPE position, and the cache slots it attends to: [a0, a1), then [b0, its
 * own slot] (a0 <= a1 <= b0 <= own slot). */
typedef struct {
    int pos, a0, a1, b0;
} ll_tree_tok;

/* Processes tokens[0..T) into cache slots base..base+T-1 (token t in slot base + t), token t at position
 * tt[t].pos attending to the slots tt[t] names; the slots below base hold earlier tokens. This runs several
 * continuations of one cached prefix in one pass: continuation r's tokens at positions P, P+1, ... attend
 * to [0, P) and to their own earlier tokens. Each token's result is bit for bit what a causal forward
 * over the same keys at the same positions gives. Logits per mode, as ll_engine_forward; no taps. */
int ll_engine_forward_tree(ll_engine *e, const int32_t *tokens, const ll_tree_tok *tt, int T, int base, float *logits,
                           int mode);

/* A tree forward that computes logits only for rows[0..n_rows) (indices into tokens, each in [0, T)):
 * logits[k] is row rows[k], bit for bit what LL_LOGITS_ALL gives for it (the head is row-independent).
 * This runs several independent items in one pass without the head's cost on their prompt rows. */
enum { LL_LOGITS_ROWS = 3 };
int ll_engine_forward_tree_rows(ll_engine *e, const int32_t *tokens, const ll_tree_tok *tt, int T, int base,
                                const int *rows, int n_rows, float *logits);

/* Taps (ll_tap, ll_engine_set_tap) are public: include/layerlab.h. */

/* Called after each entry of every forward with (entries done, entries in the order), on the calling
 * thread: progress inside one long forward. NULL removes it. */
void ll_engine_set_progress(ll_engine *e, void (*fn)(void *ctx, int done, int total), void *ctx);

/* Every forward checks its values: a NaN or an infinity in the embedding, after an entry, after the final
 * norm or in the logits fails the forward (-1) with a message naming that stage and the position. */

/* ll_engine_set_order (include/layerlab.h) replaces the order (copied; NULL = full), keeping the engine's context,
 * threads and buffers; the caches grow when the new order has more passes. Ends any recording or reuse. */

/* Reuse of shared leading entries. Two orders that begin with the same entries compute the same residual
 * stream and the same K/V there, for the same inputs. An engine recording into r keeps, for each forward
 * (its tokens, positions, tree), the output of every entry but the last and the K/V of their passes. An
 * engine reusing r (another order, the same model, numerics and parallel-K/V setting) starts its n-th
 * forward after the item began at its first entry that differs from the recorded order, when its first n
 * forwards had the same inputs as the recorded ones; otherwise it computes everything. The results are bit
 * for bit those of computing every entry: the same code runs on the same values. Forwards with taps always
 * compute everything. */
typedef struct ll_reuse ll_reuse;
ll_reuse *ll_reuse_new(void);
void ll_reuse_free(ll_reuse *r);
/* Starts a recording of e's forwards into r (what r held is dropped); NULL stops recording. 0 or -1. An
 * engine can record while it reuses another recording (record first, then reuse). */
int ll_engine_record(ll_engine *e, ll_reuse *r);
/* Starts reusing r, from the next forward on (call it at the start of each item); NULL stops. Returns the
 * number of leading entries shared with the recorded order (0: nothing can be reused). */
int ll_engine_reuse(ll_engine *e, const ll_reuse *r);
/* The leading entries of o a recording of order rec can give: equal entries, at most all but rec's last. */
int ll_order_shared(const ll_order *rec, const ll_order *o);
/* Token x layer passes computed by e's forwards so far, and what computing every entry would have cost. */
void ll_engine_passes(const ll_engine *e, long long *computed, long long *naive);


const ll_order *ll_engine_order(const ll_engine *e);

#endif
