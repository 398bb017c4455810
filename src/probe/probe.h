/* probe.h — measurements taken inside the forward pass, one sample at a time, through the engine's taps.
 *
 * A collector is attached to an engine; after each sample's forward it holds that sample's tapped
 * tensors (hidden states per entry, attention statistics for the wanted query rows, MLP gate signs and
 * per-token statistics) and folds them into running sums. The reductions follow docs/PROBES.md exactly:
 * states are indexed 0..E (0 = the embedding output, e = the output of entry e, before the final
 * norm); a per-layer quantity of a parallel group entry is the mean over its members.
 */
#ifndef LL_PROBE_H
#define LL_PROBE_H
#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"
#include "run/engine.h"

#define LL_PROBE_MAX_EPS 16

typedef struct {
    bool states;          /* keep hidden states (cosine, block-influence, intrinsic-dim) */
    bool attention;       /* attention-id statistics */
    bool gates;           /* mlp-regions statistics */
    int position;         /* attention query position: -1 = the last token of each sample, else ≥ 0 */
    bool all_positions;   /* every query position (averaged) instead of one */
    bool relative;        /* τ = ε·max_j A[i,j] (true) or τ = ε */
    unsigned abs_mask;    /* bit k: eps[k] is absolute even when relative (both kinds in one forward) */
    int n_eps;
    double eps[LL_PROBE_MAX_EPS]; /* eps[0] is the main ε */
    bool keep_raw;        /* keep raw attention rows and gate pre-activations (for --dump) */
} ll_probe_opts;

typedef struct ll_probe ll_probe;

/* A collector for model m running under the engine's order, for samples of up to max_T tokens. */
ll_probe *ll_probe_new(const ll_model *m, const ll_order *order, const ll_probe_opts *o, int max_T);
void ll_probe_free(ll_probe *p);
/* Installs the collector's tap on e. */
void ll_probe_attach(ll_probe *p, ll_engine *e);
/* Call before each sample's forward (T tokens at positions 0..T-1); checks the query position. */
int ll_probe_begin(ll_probe *p, int T);

int ll_probe_n_states(const ll_probe *p);     /* E + 1 */
int ll_probe_max_members(const ll_probe *p);
/* Storage dimensions of the raw buffers: query rows per (entry, member, head) and tokens per row. */
void ll_probe_dims(const ll_probe *p, int *nq_store, int *max_T);
/* The last sample's tensors (valid until the next ll_probe_begin). */
const float *ll_probe_state(const ll_probe *p, int s);   /* [T][D] of state s */
int ll_probe_T(const ll_probe *p);
int ll_probe_n_queries(const ll_probe *p);                /* query rows: 1, or T with all_positions */
int ll_probe_query_pos(const ll_probe *p, int q);
/* the keys query q attended to in the current sample: its position + 1 (causal), or every token (encoders) */
int ll_probe_query_keys(const ll_probe *p, int q);
/* Attention statistics of the last sample: value at [entry][member][head][query] for eps index k;
 * entropy and max weight likewise. Members beyond an entry's size are unused. */
double ll_probe_attn_count(const ll_probe *p, int k, int entry, int member, int head, int q);
/* The attention-ID (the geometric paper's Eq. 8) of the last sample at entry `entry` for eps index k: the
 * counts summed over heads, averaged over the entry's members and the query rows (`probe attention-id`). */
double ll_probe_attn_id(const ll_probe *p, int k, int entry);
double ll_probe_attn_entropy(const ll_probe *p, int entry, int member, int head, int q);
double ll_probe_attn_max(const ll_probe *p, int entry, int member, int head, int q);
/* Raw rows [E][M][H][nq][T] (keep_raw) and gate pre-activations [E][M][T][F] (keep_raw). */
const float *ll_probe_attn_rows(const ll_probe *p);
const float *ll_probe_gates(const ll_probe *p);
/* Gate statistics of the last sample for entry/member: pos_frac[T], closest[T], sign codes [T][F] (0/1). */
const double *ll_probe_pos_frac(const ll_probe *p, int entry, int member);
const double *ll_probe_closest(const ll_probe *p, int entry, int member);
const uint8_t *ll_probe_signs(const ll_probe *p, int entry, int member);
/* ‖w_k‖₂ of the gate rows of the layer at entry/member: [F]. */
const double *ll_probe_gate_norms(const ll_probe *p, int entry, int member);

#endif
