/* engine.c — the forward pass, generic over architectures: embedding → entries of the order (each a layer or a
 * parallel group) → final norm → output head, with KV slots per pass, taps, reuse of recorded entries and the
 * non-finite checks. What a layer computes is the architecture's (src/arch/). */
#include "engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "run/engine_impl.h"
#include "tensor/dtype.h"
#include "tensor/matmul.h"
#include "tensor/pool.h"
#include "util/err.h"

/* One recorded forward: its inputs, the residual stream after each of the first J entries, and the K/V
 * those entries' passes wrote. */
typedef struct {
    int T, pos0;
    bool tree;
    size_t cap_tok, cap_tt, cap_h, cap_k, cap_v;   /* capacities, in elements */
    int32_t *tokens;
    ll_tree_tok *tt;
    float *hidden;            /* [J][T][n_embd] */
    float *k, *v;             /* [passes of the first J entries][T][kv_dim] */
} rec_call;

struct ll_reuse {
    const ll_model *m;
    ll_order order;           /* the recorded order */
    int J, P;                 /* entries whose output is kept, and their passes */
    bool exact, kv_mean;
    rec_call *calls;
    int n_calls, cap_calls;
};

int ll_order_full(ll_order *o, int n_layer) {
    o->entries = ll_calloc((size_t)n_layer, sizeof *o->entries);
    if (!o->entries) return -1;
    o->n_entries = n_layer;
    o->n_passes = n_layer;
    for (int i = 0; i < n_layer; i++) {
        o->entries[i].n = 1;
        o->entries[i].layers = ll_malloc(sizeof(int));
        if (!o->entries[i].layers) { ll_order_free(o); return -1; }
        o->entries[i].layers[0] = i;
    }
    return 0;
}

void ll_order_free(ll_order *o) {
    if (!o->entries) return;
    for (int i = 0; i < o->n_entries; i++) free(o->entries[i].layers);
    free(o->entries);
    o->entries = NULL;
    o->n_entries = o->n_passes = 0;
}

static int copy_order(ll_order *dst, const ll_order *src, int n_layer) {
    memset(dst, 0, sizeof *dst);
    dst->entries = ll_calloc((size_t)src->n_entries, sizeof *dst->entries);
    if (!dst->entries) return -1;
    dst->n_entries = src->n_entries;
    dst->n_passes = 0;
    for (int i = 0; i < src->n_entries; i++) {
        const ll_entry *e = &src->entries[i];
        if (e->n < 1) return ll_fail("order entry %d is empty", i);
        dst->entries[i].n = e->n;
        dst->entries[i].layers = ll_malloc((size_t)e->n * sizeof(int));
        if (!dst->entries[i].layers) return -1;
        for (int j = 0; j < e->n; j++) {
            if (e->layers[j] < 0 || e->layers[j] >= n_layer)
                return ll_fail("order entry %d names layer %d; the model has layers 0..%d", i, e->layers[j], n_layer - 1);
            dst->entries[i].layers[j] = e->layers[j];
        }
        dst->n_passes += e->n;
    }
    return 0;
}

ll_engine *ll_engine_new(ll_model *m, const ll_order *order, const ll_engine_opts *opts) {
    if (!m->layers) { ll_fail("%s: the model has no weights to run", m->path); return NULL; }
    int n_ctx = opts->n_ctx;
    if (n_ctx < 1) { ll_fail("context length must be at least 1 (got %d)", n_ctx); return NULL; }
    if (n_ctx > m->n_ctx_train) {
        ll_fail("context of %d tokens is beyond the model's trained context of %d", n_ctx, m->n_ctx_train);
        return NULL;
    }
    if (m->sliding_window > 0 && n_ctx > m->sliding_window) {
        ll_fail("context of %d tokens is beyond the model's sliding attention window of %d; layerlab computes "
                "full attention only within the window", n_ctx, m->sliding_window);
        return NULL;
    }
    const ll_arch *arch = ll_arch_find(m->arch);
    if (!arch) { ll_fail("%s: architecture '%s' has no forward pass in layerlab", m->path, m->arch); return NULL; }
    if (!opts->exact && ll_model_pack(m)) return NULL;
    ll_engine *e = ll_calloc(1, sizeof *e);
    if (!e) return NULL;
    e->m = m;
    e->arch = arch;
    e->n_ctx = n_ctx;
    e->exact = opts->exact;
    e->parallel_kv_mean = opts->parallel_kv_mean;
    int rc = order ? copy_order(&e->order, order, m->n_layer) : ll_order_full(&e->order, m->n_layer);
    if (rc) goto fail;
    if (e->order.n_passes < 0 || e->order.n_passes > 1 << 16) { ll_fail("order has too many passes"); goto fail; }
    if (!(e->pool = ll_pool_new(opts->n_threads))) goto fail;
    size_t kvd = (size_t)m->n_head_kv * m->head_dim;
    size_t cache = (size_t)e->order.n_passes * (size_t)n_ctx * kvd;
    if (!(e->kcache = ll_calloc(cache, sizeof(float))) || !(e->vcache = ll_calloc(cache, sizeof(float)))) goto fail;
    e->kv_passes = e->order.n_passes;
    int half = m->rope_dim / 2;
    for (int table = 0; table < (m->swa_pattern ? 2 : 1); table++) {
        size_t tab = (size_t)n_ctx * half + 1;   /* + 1: models without RoPE (bert) still get a table */
        float *c = ll_malloc(tab * sizeof(float)), *s = ll_malloc(tab * sizeof(float));
        if (table) e->rope_cos_swa = c, e->rope_sin_swa = s;
        else e->rope_cos = c, e->rope_sin = s;
        if (!c || !s) goto fail;
        double base = table ? m->rope_base_swa : m->rope_base;
        for (int p = 0; p < n_ctx; p++) {
            for (int i = 0; i < half; i++) {
                double inv_freq = pow(base, -2.0 * i / m->rope_dim);
                if (m->rope_factors) inv_freq /= m->rope_factors[i];
                double theta = (double)p * m->rope_pos_scale * inv_freq;
                c[(size_t)p * half + i] = (float)cos(theta);
                s[(size_t)p * half + i] = (float)sin(theta);
            }
        }
    }
    if (!(e->scores = ll_malloc((size_t)ll_pool_size(e->pool) * ATTN_QB * n_ctx * sizeof(float)))) goto fail;
    return e;
fail:
    ll_engine_free(e);
    return NULL;
}

static void free_buffers(ll_engine *e) {
    float **bufs[] = {&e->x, &e->xn, &e->h, &e->q, &e->k, &e->v, &e->att, &e->tmp, &e->g, &e->u, &e->acc, &e->mo};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) {
        free(*bufs[i]);
        *bufs[i] = NULL;
    }
    free(e->attn_want);
    e->attn_want = NULL;
    e->cap = 0;
}

void ll_engine_free(ll_engine *e) {
    if (!e) return;
    free_buffers(e);
    ll_order_free(&e->order);
    ll_pool_free(e->pool);
    ll_workspace_free(&e->ws);
    free(e->kcache);
    free(e->vcache);
    free(e->rope_cos);
    free(e->rope_sin);
    free(e->rope_cos_swa);
    free(e->rope_sin_swa);
    free(e->scores);
    free(e->gather);
    free(e);
}

int ll_engine_n_ctx(const ll_engine *e) { return e->n_ctx; }

ll_engine_opts ll_engine_default_opts(void) {
    ll_engine_opts o = {.n_ctx = 512, .n_threads = 2, .exact = true, .parallel_kv_mean = false};
    return o;
}

const ll_order *ll_engine_order(const ll_engine *e) { return &e->order; }

int ll_engine_set_order(ll_engine *e, const ll_order *order) {
    ll_order o;
    int rc = order ? copy_order(&o, order, e->m->n_layer) : ll_order_full(&o, e->m->n_layer);
    if (rc) { ll_order_free(&o); return -1; }
    if (o.n_passes > 1 << 16) { ll_order_free(&o); return ll_fail("order has too many passes"); }
    if (o.n_passes > e->kv_passes) {   /* grow the caches; what they held is not needed by a new order */
        size_t kvd = (size_t)e->m->n_head_kv * e->m->head_dim, cache = (size_t)o.n_passes * (size_t)e->n_ctx * kvd;
        float *k = ll_calloc(cache, sizeof(float)), *v = k ? ll_calloc(cache, sizeof(float)) : NULL;
        if (!v) { free(k); ll_order_free(&o); return -1; }
        free(e->kcache);
        free(e->vcache);
        e->kcache = k, e->vcache = v, e->kv_passes = o.n_passes;
    }
    ll_order_free(&e->order);
    e->order = o;
    e->src = NULL;   /* a reuse source was matched against the old order, a recording holds it */
    e->rec = NULL;
    return 0;
}

void ll_engine_passes(const ll_engine *e, long long *computed, long long *naive) {
    if (computed) *computed = e->passes_run;
    if (naive) *naive = e->passes_naive;
}

/* ---- reuse ---- */

ll_reuse *ll_reuse_new(void) { return ll_calloc(1, sizeof(ll_reuse)); }

void ll_reuse_free(ll_reuse *r) {
    if (!r) return;
    for (int i = 0; i < r->cap_calls; i++) {
        rec_call *c = &r->calls[i];
        free(c->tokens);
        free(c->tt);
        free(c->hidden);
        free(c->k);
        free(c->v);
    }
    free(r->calls);
    ll_order_free(&r->order);
    free(r);
}

int ll_engine_record(ll_engine *e, ll_reuse *r) {
    e->rec = NULL;
    if (!r) return 0;
    ll_order_free(&r->order);
    if (copy_order(&r->order, &e->order, e->m->n_layer)) { ll_order_free(&r->order); return -1; }
    r->m = e->m;
    r->J = e->order.n_entries - 1;   /* an order that shares every entry is the same order */
    r->P = 0;
    for (int i = 0; i < r->J; i++) r->P += e->order.entries[i].n;
    r->exact = e->exact;
    r->kv_mean = e->parallel_kv_mean;
    r->n_calls = 0;
    e->rec = r;
    if (e->src == r) e->src = NULL;
    return 0;
}

static bool same_entry(const ll_entry *a, const ll_entry *b) {
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++)
        if (a->layers[i] != b->layers[i]) return false;
    return true;
}

int ll_order_shared(const ll_order *rec, const ll_order *o) {
    int j = 0;
    while (j < rec->n_entries - 1 && j < o->n_entries && same_entry(&rec->entries[j], &o->entries[j])) j++;
    return j;
}

int ll_engine_reuse(ll_engine *e, const ll_reuse *r) {
    e->src = NULL;
    if (!r || r == e->rec || r->m != e->m || r->exact != e->exact || r->kv_mean != e->parallel_kv_mean) return 0;
    int j = ll_order_shared(&r->order, &e->order);
    if (j == 0) return 0;
    e->src = r;
    e->reuse_j = j;
    e->reuse_call = 0;
    e->reuse_ok = true;
    return j;
}

/* Grows *p to hold n elements of size sz (keeps capacity in *cap). */
static int grow(void *pp, size_t *cap, size_t n, size_t sz) {
    void **p = pp;
    if (n <= *cap) return 0;
    void *q = ll_realloc(*p, n * sz);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* Starts recording one forward: its inputs. NULL on no memory. */
static rec_call *rec_begin(ll_engine *e, const int32_t *tokens, int T, int pos0) {
    ll_reuse *r = e->rec;
    if (r->n_calls == r->cap_calls) {
        int cap = r->cap_calls ? r->cap_calls * 2 : 16;
        rec_call *nc = ll_realloc(r->calls, (size_t)cap * sizeof *nc);
        if (!nc) return NULL;
        memset(nc + r->cap_calls, 0, (size_t)(cap - r->cap_calls) * sizeof *nc);
        r->calls = nc;
        r->cap_calls = cap;
    }
    rec_call *c = &r->calls[r->n_calls];
    size_t D = (size_t)e->m->n_embd, kvd = (size_t)e->m->n_head_kv * e->m->head_dim, t = (size_t)T;
    if (grow(&c->tokens, &c->cap_tok, t, sizeof *c->tokens) || (e->tree && grow(&c->tt, &c->cap_tt, t, sizeof *c->tt)) ||
        grow(&c->hidden, &c->cap_h, (size_t)r->J * t * D, sizeof(float)) ||
        grow(&c->k, &c->cap_k, (size_t)r->P * t * kvd, sizeof(float)) ||
        grow(&c->v, &c->cap_v, (size_t)r->P * t * kvd, sizeof(float)))
        return NULL;
    c->T = T, c->pos0 = pos0, c->tree = e->tree != NULL;
    memcpy(c->tokens, tokens, t * sizeof *tokens);
    if (e->tree) memcpy(c->tt, e->tree, t * sizeof *c->tt);
    return c;
}

/* The K/V rows the first P passes wrote at positions pos0..pos0+T-1, into (rec) or out of (!rec) a call. */
static void kv_copy(ll_engine *e, rec_call *c, int P, bool rec) {
    size_t kvd = (size_t)e->m->n_head_kv * e->m->head_dim, n = (size_t)c->T * kvd;
    for (int s = 0; s < P; s++) {
        float *kc = e->kcache + ((size_t)s * e->n_ctx + c->pos0) * kvd, *vc = e->vcache + ((size_t)s * e->n_ctx + c->pos0) * kvd;
        float *kr = c->k + (size_t)s * n, *vr = c->v + (size_t)s * n;
        if (rec) {
            memcpy(kr, kc, n * sizeof(float));
            memcpy(vr, vc, n * sizeof(float));
        } else {
            memcpy(kc, kr, n * sizeof(float));
            memcpy(vc, vr, n * sizeof(float));
        }
    }
}

/* The recorded call this forward can start from, or NULL: every call of the item so far matched. */
static rec_call *reuse_match(ll_engine *e, const int32_t *tokens, int T, int pos0) {
    const ll_reuse *r = e->src;
    int c = e->reuse_call++;
    if (!e->reuse_ok || e->has_tap || c >= r->n_calls) { e->reuse_ok = false; return NULL; }
    rec_call *rc = &r->calls[c];
    bool same = rc->T == T && rc->pos0 == pos0 && rc->tree == (e->tree != NULL) &&
                !memcmp(rc->tokens, tokens, (size_t)T * sizeof *tokens) &&
                (!e->tree || !memcmp(rc->tt, e->tree, (size_t)T * sizeof *e->tree));
    if (!same) e->reuse_ok = false;   /* later calls attend to this one's K/V: none of them can reuse */
    return same ? rc : NULL;
}

void ll_engine_set_progress(ll_engine *e, void (*fn)(void *ctx, int done, int total), void *ctx) {
    e->progress = fn;
    e->progress_ctx = ctx;
}

void ll_engine_set_tap(ll_engine *e, const ll_tap *tap) {
    e->has_tap = tap != NULL;
    if (tap) e->tap = *tap;
}

static int ensure_buffers(ll_engine *e, int T) {
    if (T <= e->cap) return 0;
    free_buffers(e);
    const ll_model *m = e->m;
    size_t D = (size_t)m->n_embd, Q = (size_t)m->n_head * m->head_dim, KV = (size_t)m->n_head_kv * m->head_dim;
    size_t F = (size_t)m->n_ff, t = (size_t)T;
    if (!(e->x = ll_malloc(t * D * 4)) || !(e->xn = ll_malloc(t * (D > Q ? D : Q) * 4)) || !(e->h = ll_malloc(t * D * 4)) ||
        !(e->q = ll_malloc(t * Q * 4)) || !(e->k = ll_malloc(t * KV * 4)) || !(e->v = ll_malloc(t * KV * 4)) ||
        !(e->att = ll_malloc(t * Q * 4)) || !(e->tmp = ll_malloc(t * D * 4)) || !(e->g = ll_malloc(t * F * 4)) ||
        !(e->u = ll_malloc(t * F * 4)) || !(e->acc = ll_malloc(t * D * 4)) || !(e->mo = ll_malloc(t * D * 4)) ||
        !(e->attn_want = ll_calloc(t, sizeof(bool)))) {
        free_buffers(e);
        return -1;
    }
    e->cap = T;
    return 0;
}

/* --parallel-kv mean (the Painters paper's generation code): after a group has run over positions
 * pos0..pos0+T-1, every member's slot holds the mean of the members' K and V there, so later tokens
 * read the mean; the tokens just processed attended with their own K/V. */
static void mean_group_kv(ll_engine *e, int first_slot, int n, int T, int pos0) {
    size_t kvd = (size_t)e->m->n_head_kv * e->m->head_dim, len = (size_t)T * kvd;
    float *caches[2] = {e->kcache, e->vcache};
    for (int c = 0; c < 2; c++) {
        float *base = caches[c] + ((size_t)first_slot * e->n_ctx + pos0) * kvd;
        size_t stride = (size_t)e->n_ctx * kvd;
        for (size_t i = 0; i < len; i++) {
            double sum = 0;
            for (int j = 0; j < n; j++) sum += base[j * stride + i];
            float mean = (float)(sum / n);
            for (int j = 0; j < n; j++) base[j * stride + i] = mean;
        }
    }
}

/* The first row (of T rows of D floats) holding a NaN or an infinity, or -1. Exponent bits all ones
 * means not finite; the test on the bits also holds under -ffast-math. */
static int first_nonfinite_row(const float *x, int T, int D) {
    for (int t = 0; t < T; t++) {
        const uint32_t *u = (const uint32_t *)(const void *)(x + (size_t)t * D);
        uint32_t bad = 0;
        for (int i = 0; i < D; i++) bad |= (u[i] & 0x7f800000u) == 0x7f800000u;
        if (bad) return t;
    }
    return -1;
}


/* Fails naming where a forward's values first went non-finite: which stage, which position. */
static int check_finite(const ll_engine *e, const float *x, int T, int D, int pos0, int row0, int entry) {
    int t = first_nonfinite_row(x, T, D);
    if (t < 0) return 0;
    int pos = ll_eng_pos(e, pos0, row0 + t);
    if (entry >= 0) {
        const ll_entry *en = &e->order.entries[entry];
        if (en->n == 1)
            return ll_fail("non-finite value (NaN or infinity) at position %d: first in the output of layer %d "
                           "(entry %d of the order; its input was finite)", pos, en->layers[0], entry);
        char list[256] = "";
        for (int j = 0; j < en->n && strlen(list) < sizeof list - 16; j++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", j ? "," : "", en->layers[j]);
        return ll_fail("non-finite value (NaN or infinity) at position %d: first in the output of the parallel "
                       "group of layers %s (entry %d of the order; its input was finite)", pos, list, entry);
    }
    if (entry == -2)
        return ll_fail("non-finite value (NaN or infinity) at position %d: first in the final %s "
                       "(output_norm.weight); the output of every layer was finite", pos,
                       e->m->norm == LL_NORM_LAYER ? "LayerNorm" : "RMSNorm");
    return ll_fail("non-finite value (NaN or infinity) at position %d: first in the logits (output head, "
                   "output.weight); every layer and the final norm were finite", pos);
}

static int forward(ll_engine *e, const int32_t *tokens, int T, int pos0, float *logits, int mode) {
    const ll_model *m = e->m;
    if (T < 1) return ll_fail("no tokens to process");
    if (mode == LL_LOGITS_ROWS && !e->rows) return ll_fail("LL_LOGITS_ROWS needs ll_engine_forward_tree_rows");
    if (!m->has_head && mode != LL_LOGITS_NONE && mode != LL_HIDDEN)
        return ll_fail("%s: a %s model is an encoder without an LM head: it gives hidden states (`layerlab embed`), "
                       "not logits", m->path, m->arch);
    if (pos0 < 0 || pos0 + T > e->n_ctx)
        return ll_fail("positions %d..%d exceed the context of %d tokens", pos0, pos0 + T - 1, e->n_ctx);
    if (ensure_buffers(e, T)) return -1;
    int D = m->n_embd;
    /* reuse: a recorded forward over the same inputs gives the first entries' output and K/V */
    rec_call *from = e->src ? reuse_match(e, tokens, T, pos0) : NULL, *rec = NULL;
    if (e->rec && !(rec = rec_begin(e, tokens, T, pos0))) return ll_fail("out of memory recording a forward of %d tokens", T);
    int start = from ? e->reuse_j : 0, slot = 0;
    for (int i = 0; i < start; i++) slot += e->order.entries[i].n;
    e->passes_naive += (long long)T * e->order.n_passes;
    e->passes_run += (long long)T * (e->order.n_passes - slot);
    for (int t = 0; t < T; t++)
        if (tokens[t] < 0 || tokens[t] >= m->n_vocab)
            return ll_fail("token id %d at position %d is outside the vocabulary (0..%d)", tokens[t], pos0 + t, m->n_vocab - 1);
    if (!from) {
        if (e->arch->embed(e, tokens, T, pos0, e->x)) return -1;
        int t = first_nonfinite_row(e->x, T, D);
        if (t >= 0)
            return ll_fail("non-finite value (NaN or infinity) at position %d: in the token embedding "
                           "(token_embd.weight row %d)", ll_eng_pos(e, pos0, t), tokens[t]);
    }
    bool tap = e->has_tap;
    for (int t = 0; t < T; t++) e->attn_want[t] = tap && e->tap.want_attn && e->tap.want_attn(e->tap.ctx, pos0 + t);
    if (tap && e->tap.hidden) e->tap.hidden(e->tap.ctx, -1, e->x, T, pos0);
    if (from) {
        memcpy(e->x, from->hidden + (size_t)(start - 1) * T * D, (size_t)T * D * sizeof(float));
        kv_copy(e, from, slot, false);
        if (rec)   /* recording while reusing: the reused entries' outputs are part of this recording too */
            memcpy(rec->hidden, from->hidden, (size_t)(start < e->rec->J ? start : e->rec->J) * T * D * sizeof(float));
        if (e->progress) e->progress(e->progress_ctx, start, e->order.n_entries);
    }
    for (int i = start; i < e->order.n_entries; i++) {
        const ll_entry *en = &e->order.entries[i];
        e->cur_entry = i;
        e->cur_member = 0;
        if (en->n == 1) {
            if (e->arch->layer(e, en->layers[0], slot++, e->x, e->x, T, pos0)) return -1;
        } else { /* parallel group: every member reads x; the entry's output is the mean of their outputs */
            memset(e->acc, 0, (size_t)T * D * sizeof(float));
            int first_slot = slot;
            for (int j = 0; j < en->n; j++) {
                e->cur_member = j;
                if (e->arch->layer(e, en->layers[j], slot++, e->x, e->mo, T, pos0)) return -1;
                for (size_t k = 0; k < (size_t)T * D; k++) e->acc[k] += e->mo[k];
            }
            if (e->parallel_kv_mean) mean_group_kv(e, first_slot, en->n, T, pos0);
            float inv = 1.0f / (float)en->n;
            for (size_t k = 0; k < (size_t)T * D; k++) e->x[k] = e->acc[k] * inv;
        }
        if (check_finite(e, e->x, T, D, pos0, 0, i)) return -1;
        if (rec && i < e->rec->J) memcpy(rec->hidden + (size_t)i * T * D, e->x, (size_t)T * D * sizeof(float));
        if (tap && e->tap.hidden) e->tap.hidden(e->tap.ctx, i, e->x, T, pos0);
        if (e->progress) e->progress(e->progress_ctx, i + 1, e->order.n_entries);
    }
    if (rec) {
        kv_copy(e, rec, e->rec->P, true);
        e->rec->n_calls++;
    }
    if (mode == LL_LOGITS_ROWS) {   /* the listed rows only: each row's norm and logits are those of ALL */
        for (int k = 0; k < e->n_rows; k++) {
            e->arch->final_norm(e, e->xn + (size_t)k * D, e->x + (size_t)e->rows[k] * D, 1);
            if (check_finite(e, e->xn + (size_t)k * D, 1, D, pos0, e->rows[k], -2)) return -1;
        }
        if (ll_matmul(e->pool, &e->ws, &m->output, e->xn, e->n_rows, logits, e->exact)) return -1;
        for (int k = 0; k < e->n_rows; k++)
            if (check_finite(e, logits + (size_t)k * m->n_vocab, 1, m->n_vocab, pos0, e->rows[k], -3)) return -1;
        return 0;
    }
    if (mode == LL_HIDDEN) {   /* the final norm of every row is the output */
        e->arch->final_norm(e, logits, e->x, T);
        return check_finite(e, logits, T, D, pos0, 0, -2);
    }
    /* without logits the final norm of the last position still runs, only to check it (D values) */
    int first = mode == LL_LOGITS_ALL ? 0 : T - 1, n = T - first;
    e->arch->final_norm(e, e->xn, e->x + (size_t)first * D, n);
    if (check_finite(e, e->xn, n, D, pos0, first, -2)) return -1;
    if (mode == LL_LOGITS_NONE) return 0;
    if (ll_matmul(e->pool, &e->ws, &m->output, e->xn, n, logits, e->exact)) return -1;
    return check_finite(e, logits, n, m->n_vocab, pos0, first, -3);
}

int ll_engine_forward(ll_engine *e, const int32_t *tokens, int T, int pos0, float *logits, int mode) {
    e->tree = NULL;
    return forward(e, tokens, T, pos0, logits, mode);
}

int ll_engine_forward_hidden(ll_engine *e, const int32_t *tokens, int T, int pos0, float *hidden) {
    e->tree = NULL;
    return forward(e, tokens, T, pos0, hidden, LL_HIDDEN);
}

int ll_engine_forward_tree(ll_engine *e, const int32_t *tokens, const ll_tree_tok *tt, int T, int base, float *logits,
                           int mode) {
    if (e->has_tap) return ll_fail("a tree forward does not run with probe taps");
    if (base < 0 || T < 1 || base + T > e->n_ctx)
        return ll_fail("tree forward: slots %d..%d exceed the context of %d tokens", base, base + T - 1, e->n_ctx);
    for (int t = 0; t < T; t++) {
        const ll_tree_tok *k = &tt[t];
        if (k->pos < 0 || k->pos >= e->n_ctx || k->a0 < 0 || k->a1 < k->a0 || k->b0 < k->a1 || k->b0 > base + t)
            return ll_fail("tree forward: token %d has position %d and key ranges [%d, %d) + [%d, %d]", t, k->pos,
                           k->a0, k->a1, k->b0, base + t);
    }
    if (!e->gather) {
        size_t n = (size_t)ll_pool_size(e->pool) * 2 * (size_t)e->n_ctx * (size_t)e->m->head_dim;
        if (!(e->gather = ll_malloc(n * sizeof(float)))) return -1;
    }
    e->tree = tt;
    int rc = forward(e, tokens, T, base, logits, mode);
    e->tree = NULL;
    return rc;
}

int ll_engine_forward_tree_rows(ll_engine *e, const int32_t *tokens, const ll_tree_tok *tt, int T, int base,
                                const int *rows, int n_rows, float *logits) {
    if (n_rows < 1 || n_rows > T) return ll_fail("tree forward: %d logits rows of %d tokens", n_rows, T);
    for (int k = 0; k < n_rows; k++)
        if (rows[k] < 0 || rows[k] >= T) return ll_fail("tree forward: logits row %d is outside 0..%d", rows[k], T - 1);
    e->rows = rows;
    e->n_rows = n_rows;
    int rc = ll_engine_forward_tree(e, tokens, tt, T, base, logits, LL_LOGITS_ROWS);
    e->rows = NULL;
    e->n_rows = 0;
    return rc;
}
