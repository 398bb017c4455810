/* probe.c — the collector behind `layerlab probe`: engine tap callbacks that keep one sample's hidden
 * states, attention-row statistics and MLP gate statistics. Reductions over samples live in the CLI
 * (src/cli/cmd_probe.c); everything here is per sample. */
#include "probe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

struct ll_probe {
    const ll_model *m;
    ll_probe_opts o;
    int E, M, H, D, F, max_T, T;
    bool causal;           /* the model's attention: a query at position p sees p + 1 keys, else all T */
    int *members;          /* [E] */
    int *layer_of;         /* [E][M]: layer id, or -1 */
    float *states;         /* [E+1][max_T][D] */
    int nq;                /* query rows per sample (1 or max_T) */
    int n_q_used;          /* rows of this sample (1 or T) */
    int *qpos;             /* [nq] positions */
    int *qidx;             /* [max_T]: query index of a position, or -1 */
    double *counts;        /* [n_eps][E][M][H][nq] */
    double *entropy, *maxw;/* [E][M][H][nq] */
    float *rows;           /* [E][M][H][nq][max_T] (keep_raw) */
    double *pos_frac, *closest; /* [E][M][max_T] */
    uint8_t *signs;        /* [E][M][max_T][F] */
    float *gates;          /* [E][M][max_T][F] (keep_raw) */
    double *norms;         /* [n_layer][F], computed for the layers used */
};

static size_t amh(const ll_probe *p, int entry, int member, int head) {
    return (((size_t)entry * p->M + member) * p->H + head) * (size_t)p->nq;
}

static void tap_hidden(void *ctx, int entry, const float *x, int T, int pos0) {
    ll_probe *p = ctx;
    if (!p->o.states) return;
    float *dst = p->states + ((size_t)(entry + 1) * p->max_T + pos0) * p->D;
    memcpy(dst, x, (size_t)T * p->D * sizeof(float));
}

static bool tap_want(void *ctx, int pos) {
    ll_probe *p = ctx;
    return p->o.attention && pos < p->max_T && p->qidx[pos] >= 0;
}

static void tap_attn(void *ctx, int entry, int member, int head, int pos, int k0, int k1, const float *w) {
    ll_probe *p = ctx;
    int q = p->qidx[pos], n = k1 - k0;
    size_t at = amh(p, entry, member, head) + (size_t)q;
    double mx = 0, ent = 0;
    for (int j = 0; j < n; j++) {
        if (w[j] > mx) mx = w[j];
        if (w[j] > 0) ent -= (double)w[j] * log((double)w[j]);
    }
    size_t per_eps = (size_t)p->E * p->M * p->H * p->nq;
    for (int k = 0; k < p->o.n_eps; k++) {
        double tau = p->o.relative && !(p->o.abs_mask >> k & 1u) ? p->o.eps[k] * mx : p->o.eps[k];
        int c = 0;
        for (int j = 0; j < n; j++) c += (double)w[j] > tau;
        p->counts[k * per_eps + at] = c;
    }
    p->entropy[at] = ent;
    p->maxw[at] = mx;
    if (p->rows) {
        float *r = p->rows + at * (size_t)p->max_T;
        int end = k1 < p->max_T ? k1 : p->max_T;   /* the row over key positions, zero where not attended */
        memset(r, 0, (size_t)p->max_T * sizeof(float));
        if (end > k0) memcpy(r + k0, w, (size_t)(end - k0) * sizeof(float));
    }
}

static void tap_gate(void *ctx, int entry, int member, const float *g, int T, int pos0) {
    ll_probe *p = ctx;
    if (!p->o.gates) return;
    int F = p->F, layer = p->layer_of[entry * p->M + member];
    const double *nrm = p->norms + (size_t)layer * F;
    size_t em = (size_t)entry * p->M + member;
    for (int t = 0; t < T; t++) {
        const float *gr = g + (size_t)t * F;
        int pos = pos0 + t;
        uint8_t *sg = p->signs + (em * p->max_T + pos) * (size_t)F;
        int npos = 0;
        double best = INFINITY;
        for (int k = 0; k < F; k++) {
            sg[k] = gr[k] > 0;
            npos += sg[k];
            double d = fabs((double)gr[k]) / nrm[k];
            if (d < best) best = d;
        }
        p->pos_frac[em * p->max_T + pos] = (double)npos / F;
        p->closest[em * p->max_T + pos] = best;
        if (p->gates) memcpy(p->gates + (em * p->max_T + pos) * (size_t)F, gr, (size_t)F * sizeof(float));
    }
}

ll_probe *ll_probe_new(const ll_model *m, const ll_order *order, const ll_probe_opts *o, int max_T) {
    if (o->n_eps < 1 || o->n_eps > LL_PROBE_MAX_EPS) { ll_fail("between 1 and %d thresholds are supported", LL_PROBE_MAX_EPS); return NULL; }
    if (max_T < 1) { ll_fail("no tokens to probe"); return NULL; }
    ll_probe *p = ll_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->m = m;
    p->o = *o;
    p->E = order->n_entries;
    p->H = m->n_head;
    p->causal = m->causal;
    p->D = m->n_embd;
    p->F = m->n_ff;
    p->max_T = max_T;
    p->M = 1;
    for (int i = 0; i < p->E; i++)
        if (order->entries[i].n > p->M) p->M = order->entries[i].n;
    size_t EM = (size_t)p->E * p->M;
    if (!(p->members = ll_malloc((size_t)p->E * sizeof(int))) || !(p->layer_of = ll_malloc(EM * sizeof(int)))) goto fail;
    for (int i = 0; i < p->E; i++) {
        p->members[i] = order->entries[i].n;
        for (int j = 0; j < p->M; j++) p->layer_of[i * p->M + j] = j < order->entries[i].n ? order->entries[i].layers[j] : -1;
    }
    if (o->states && !(p->states = ll_calloc((size_t)(p->E + 1) * max_T * p->D, sizeof(float)))) goto fail;
    p->nq = o->all_positions ? max_T : 1;
    if (!(p->qpos = ll_malloc((size_t)p->nq * sizeof(int))) || !(p->qidx = ll_malloc((size_t)max_T * sizeof(int)))) goto fail;
    if (o->attention) {
        size_t n = EM * p->H * p->nq;
        if (!(p->counts = ll_calloc(n * o->n_eps, sizeof(double))) || !(p->entropy = ll_calloc(n, sizeof(double))) ||
            !(p->maxw = ll_calloc(n, sizeof(double))))
            goto fail;
        if (o->keep_raw && !(p->rows = ll_calloc(n * max_T, sizeof(float)))) goto fail;
    }
    if (o->gates) {
        size_t n = EM * max_T;
        if (!(p->pos_frac = ll_calloc(n, sizeof(double))) || !(p->closest = ll_calloc(n, sizeof(double))) ||
            !(p->signs = ll_calloc(n * p->F, 1)) || !(p->norms = ll_calloc((size_t)m->n_layer * p->F, sizeof(double))))
            goto fail;
        if (o->keep_raw && !(p->gates = ll_calloc(n * p->F, sizeof(float)))) goto fail;
        float *row = ll_malloc((size_t)p->D * sizeof(float));
        char *done = ll_calloc((size_t)m->n_layer, 1);
        if (!row || !done) { free(row); free(done); goto fail; }
        for (size_t i = 0; i < EM; i++) {
            int l = p->layer_of[i];
            if (l < 0 || done[l]) continue;
            done[l] = 1;
            for (int k = 0; k < p->F; k++) {
                /* the rows of the matrix whose pre-activations the MLP tap reports: the gate (gated MLPs) or the
                 * up projection (plain MLPs: gptneox, bert) */
                const ll_mat *W = m->layers[l].w_gate.data ? &m->layers[l].w_gate : &m->layers[l].w_up;
                if (ll_mat_row(W, k, row)) { free(row); free(done); goto fail; }
                double ss = 0;
                for (int c = 0; c < p->D; c++) ss += (double)row[c] * row[c];
                p->norms[(size_t)l * p->F + k] = sqrt(ss);
            }
        }
        free(row);
        free(done);
    }
    return p;
fail:
    ll_probe_free(p);
    return NULL;
}

void ll_probe_free(ll_probe *p) {
    if (!p) return;
    void *bufs[] = {p->members, p->layer_of, p->states, p->qpos, p->qidx, p->counts, p->entropy, p->maxw,
                    p->rows, p->pos_frac, p->closest, p->signs, p->gates, p->norms};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    free(p);
}

void ll_probe_attach(ll_probe *p, ll_engine *e) {
    ll_tap t = {.ctx = p, .hidden = tap_hidden, .want_attn = tap_want, .attn = tap_attn, .gate = tap_gate};
    ll_engine_set_tap(e, &t);
}

int ll_probe_begin(ll_probe *p, int T) {
    if (T < 1 || T > p->max_T) return ll_fail("a sample of %d tokens does not fit the probe's %d", T, p->max_T);
    p->T = T;
    for (int i = 0; i < p->max_T; i++) p->qidx[i] = -1;
    if (p->o.all_positions) {
        p->n_q_used = T;
        for (int i = 0; i < T; i++) p->qpos[i] = i, p->qidx[i] = i;
    } else {
        int pos = p->o.position < 0 ? T - 1 : p->o.position;
        if (pos >= T) return ll_fail("--position %d is beyond a sample of %d tokens", p->o.position, T);
        p->n_q_used = 1;
        p->qpos[0] = pos;
        p->qidx[pos] = 0;
    }
    return 0;
}

int ll_probe_n_states(const ll_probe *p) { return p->E + 1; }

double ll_probe_attn_id(const ll_probe *p, int k, int entry) {
    int M = p->members[entry], nq = ll_probe_n_queries(p);   /* this sample's query rows (p->nq: their storage) */
    double s = 0;
    for (int j = 0; j < M; j++)
        for (int h = 0; h < p->H; h++)
            for (int q = 0; q < nq; q++) s += ll_probe_attn_count(p, k, entry, j, h, q);
    return s / (M * nq);
}
int ll_probe_max_members(const ll_probe *p) { return p->M; }
void ll_probe_dims(const ll_probe *p, int *nq_store, int *max_T) {
    *nq_store = p->nq;
    *max_T = p->max_T;
}
int ll_probe_T(const ll_probe *p) { return p->T; }
int ll_probe_n_queries(const ll_probe *p) { return p->n_q_used; }
int ll_probe_query_pos(const ll_probe *p, int q) { return p->qpos[q]; }

int ll_probe_query_keys(const ll_probe *p, int q) { return p->causal ? p->qpos[q] + 1 : p->T; }

const float *ll_probe_state(const ll_probe *p, int s) { return p->states + (size_t)s * p->max_T * p->D; }

double ll_probe_attn_count(const ll_probe *p, int k, int entry, int member, int head, int q) {
    size_t per_eps = (size_t)p->E * p->M * p->H * p->nq;
    return p->counts[k * per_eps + amh(p, entry, member, head) + q];
}
double ll_probe_attn_entropy(const ll_probe *p, int entry, int member, int head, int q) {
    return p->entropy[amh(p, entry, member, head) + q];
}
double ll_probe_attn_max(const ll_probe *p, int entry, int member, int head, int q) {
    return p->maxw[amh(p, entry, member, head) + q];
}
const float *ll_probe_attn_rows(const ll_probe *p) { return p->rows; }
const float *ll_probe_gates(const ll_probe *p) { return p->gates; }

const double *ll_probe_pos_frac(const ll_probe *p, int entry, int member) {
    return p->pos_frac + ((size_t)entry * p->M + member) * p->max_T;
}
const double *ll_probe_closest(const ll_probe *p, int entry, int member) {
    return p->closest + ((size_t)entry * p->M + member) * p->max_T;
}
const uint8_t *ll_probe_signs(const ll_probe *p, int entry, int member) {
    return p->signs + ((size_t)entry * p->M + member) * p->max_T * (size_t)p->F;
}
const double *ll_probe_gate_norms(const ll_probe *p, int entry, int member) {
    return p->norms + (size_t)p->layer_of[entry * p->M + member] * p->F;
}
