/* painters.c — the Painters study: plans, the resumable run, the scores and their export (painters.h). */
#include "study/painters.h"
#include "study/study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "io/files.h"
#include "io/json.h"
#include "model/model.h"
#include "plan/plan.h"
#include "probe/run.h"
#include "run/embed.h"
#include "run/engine.h"
#include "study/linprobe.h"
#include "study/shard.h"
#include "tokenizer/tokenizer.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/pyrandom.h"

const char *const ll_painters_variant_names[LL_PV_COUNT] = {"skip", "middle_repeat", "reverse", "random", "parallel",
                                                            "looped_parallel"};

void ll_painters_default_opts(ll_painters_opts *o) {
    memset(o, 0, sizeof *o);
    o->limit = -1;
    o->variants = (1 << LL_PV_COUNT) - 1;
    o->seeds = 10;
    o->loops = 3;
    o->analyses = LL_PAINTERS_A_COSINE | LL_PAINTERS_A_SINGLE | LL_PAINTERS_A_LOOPS;
    o->cosine_samples = 100;
    o->single_limit = -1;
    o->ppl_ctx = 1024;
    o->ppl_tokens = 8192;
    o->max_gen = 256;
    o->n_threads = 2;
    o->exact = true;
    o->reuse = true;
}

const char *ll_painters_default_tasks(bool quick) {
    return quick ? "arc_easy,hellaswag,piqa,lambada_openai" : "arc_challenge,hellaswag,winogrande,lambada_openai,gsm8k";
}

void ll_painters_apply_quick(ll_painters_opts *o, int n_layer, bool have_limit, bool analyses_set) {
    if (!have_limit && !o->sample) o->limit = 10;
    if (o->seeds == 10) o->seeds = 2;
    if (o->cosine_samples == 100) o->cosine_samples = 16;
    if (o->single_limit < 0) o->single_limit = 4;
    if (!analyses_set) o->analyses = LL_PAINTERS_A_COSINE | LL_PAINTERS_A_SINGLE;
    if (!o->n_starts)
        for (int k = 0; k < 5 && n_layer / 2 - 1 - 2 * k >= 0; k++) o->starts[o->n_starts++] = n_layer / 2 - 1 - 2 * k;
}

/* ---- the plans ---- */

typedef struct {
    char spec[64], variant[24], grp[16];
    int s, m, seed, k;
    bool lambada_only;     /* single skip / switch: run on lambada_openai only */
} plan_t;

typedef struct {
    plan_t *v;
    int n, cap;
} plans_t;

static int plans_add(plans_t *P, const char *spec, const char *variant, const char *grp, int s, int m, int seed, int k,
                     bool lambada_only) {
    for (int i = 0; i < P->n; i++)
        if (!strcmp(P->v[i].spec, spec)) return 0;   /* one plan, one run: e.g. looped_parallel:s:3 in the grid too */
    if (P->n == P->cap) {
        int cap = P->cap ? P->cap * 2 : 64;
        plan_t *nv = ll_realloc(P->v, (size_t)cap * sizeof *nv);
        if (!nv) return -1;
        P->v = nv;
        P->cap = cap;
    }
    plan_t *p = &P->v[P->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->spec, sizeof p->spec, "%s", spec);
    snprintf(p->variant, sizeof p->variant, "%s", variant);
    snprintf(p->grp, sizeof p->grp, "%s", grp);
    p->s = s, p->m = m, p->seed = seed, p->k = k, p->lambada_only = lambada_only;
    return 0;
}

static int starts_of(const ll_painters_opts *o, int L, int *out) {
    int n = 0;
    if (o->n_starts)
        for (int i = 0; i < o->n_starts; i++) out[n++] = o->starts[i];
    else
        for (int s = L / 2 - 1; s >= 0; s--) out[n++] = s;
    return n;
}

static int make_plans(const ll_painters_opts *o, int L, plans_t *P) {
    char spec[64];
    int starts[LL_PAINTERS_MAX_STARTS], ns = starts_of(o, L, starts);
    if (plans_add(P, "full", "full", "grid", -1, 0, -1, 0, false)) return -1;
    for (int i = 0; i < ns; i++) {
        int s = starts[i], m = L - 2 * s - 1;
        if (m < 1) return ll_fail("--starts: s = %d leaves no middle layer for a %d-layer model (s <= %d)", s, L, L / 2 - 1);
        for (int v = 0; v < LL_PV_COUNT; v++) {
            if (!(o->variants & (1 << v))) continue;
            const char *name = ll_painters_variant_names[v];
            if (v == LL_PV_RANDOM) {
                for (int seed = 0; seed < o->seeds; seed++) {
                    snprintf(spec, sizeof spec, "random:%d:%d", s, seed);
                    if (plans_add(P, spec, name, "grid", s, m, seed, 0, false)) return -1;
                }
                continue;
            }
            if (v == LL_PV_LOOPED) snprintf(spec, sizeof spec, "looped_parallel:%d:%d", s, o->loops);
            else snprintf(spec, sizeof spec, "%s:%d", name, s);
            if (plans_add(P, spec, name, "grid", s, m, -1, v == LL_PV_LOOPED ? o->loops : 0, false)) return -1;
        }
    }
    if (o->analyses & LL_PAINTERS_A_LOOPS) {
        int K = o->loops_grid > 0 ? o->loops_grid : o->loops + 2;
        for (int i = 0; i < ns; i++)
            for (int k = 2; k <= K; k++) {   /* k = 1 is parallel:s, run in the grid */
                snprintf(spec, sizeof spec, "looped_parallel:%d:%d", starts[i], k);
                if (plans_add(P, spec, "looped_parallel", "loops", starts[i], L - 2 * starts[i] - 1, -1, k, false)) return -1;
            }
    }
    if (o->analyses & LL_PAINTERS_A_SINGLE) {
        for (int i = 0; i < L; i++) {
            snprintf(spec, sizeof spec, "skip_one:%d", i);
            if (plans_add(P, spec, "skip_one", "single", i, 1, -1, 0, true)) return -1;
        }
        for (int i = 0; i + 1 < L; i++) {
            snprintf(spec, sizeof spec, "switch:%d", i);
            if (plans_add(P, spec, "switch", "single", i, 2, -1, 0, true)) return -1;
        }
    }
    return 0;
}

int ll_painters_validate(const ll_painters_opts *o, int n_layer) {
    plans_t P = {0};
    int rc = make_plans(o, n_layer, &P);
    free(P.v);
    if (!rc && o->n_tasks < 1) rc = ll_fail("no task given");
    return rc;
}

char *ll_painters_params_json(const ll_painters_opts *o, int n_layer) {
    cJSON *j = cJSON_CreateObject();
    cJSON *t = cJSON_AddArrayToObject(j, "tasks");
    for (int i = 0; i < o->n_tasks; i++) cJSON_AddItemToArray(t, cJSON_CreateString(o->tasks[i]));
    cJSON_AddNumberToObject(j, "limit", (double)o->limit);
    cJSON_AddNumberToObject(j, "sample", (double)o->sample);
    cJSON_AddNumberToObject(j, "sample_seed", (double)o->sample_seed);
    cJSON *v = cJSON_AddArrayToObject(j, "variants");
    for (int i = 0; i < LL_PV_COUNT; i++)
        if (o->variants & (1 << i)) cJSON_AddItemToArray(v, cJSON_CreateString(ll_painters_variant_names[i]));
    int starts[LL_PAINTERS_MAX_STARTS], ns = starts_of(o, n_layer, starts);
    cJSON_AddItemToObject(j, "starts", cJSON_CreateIntArray(starts, ns));
    cJSON_AddNumberToObject(j, "seeds", o->seeds);
    cJSON_AddNumberToObject(j, "loops", o->loops);
    cJSON_AddNumberToObject(j, "loops_grid", o->loops_grid > 0 ? o->loops_grid : o->loops + 2);
    cJSON_AddNumberToObject(j, "analyses", o->analyses);
    cJSON_AddNumberToObject(j, "cosine_samples", (double)o->cosine_samples);
    cJSON_AddNumberToObject(j, "single_limit", o->single_limit);
    cJSON_AddStringToObject(j, "ppl_file", o->ppl_file ? o->ppl_file : "");
    cJSON_AddNumberToObject(j, "ppl_ctx", o->ppl_ctx);
    cJSON_AddNumberToObject(j, "ppl_tokens", (double)o->ppl_tokens);
    cJSON_AddNumberToObject(j, "max_gen", o->max_gen);
    cJSON_AddBoolToObject(j, "bos", o->bos);
    cJSON_AddStringToObject(j, "compute", o->exact ? "exact" : "llamacpp");
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) ll_fail("out of memory");
    return s;
}

typedef struct {
    const ll_painters_opts *o;
    long done, total;
    long long passes_computed, passes_naive;
    char what[256];
} prog_t;

static void say(prog_t *g) {
    if (g->o->progress) g->o->progress(g->o->progress_ctx, g->done, g->total, g->what);
}

/* Where each plan's forwards start from, with reuse. The full model is recorded on every item; so is, at
 * every s, the looped_parallel plan with the most loops (itself starting from the full model's layers 0..s):
 * parallel:s and the looped plans with fewer loops share all of it but the last layers, and compute only those.
 * src[i]: -1 for the full model's recording, else the plan whose recording plan i starts from. */
static void reuse_sources(const plan_t *const *plans, const ll_order *ords, const ll_order *full, int np, int *src,
                          bool *is_src) {
    for (int i = 0; i < np; i++) {
        src[i] = -1;
        is_src[i] = false;
    }
    for (int i = 0; i < np; i++) {   /* the sources: the most loops at each s */
        if (strcmp(plans[i]->variant, "looped_parallel")) continue;
        bool best = true;
        for (int c = 0; c < np && best; c++)
            if (c != i && !strcmp(plans[c]->variant, "looped_parallel") && plans[c]->s == plans[i]->s && plans[c]->k > plans[i]->k)
                best = false;
        is_src[i] = best;
    }
    for (int i = 0; i < np; i++) {
        if (is_src[i]) continue;
        int best = ll_order_shared(full, &ords[i]);
        for (int c = 0; c < np; c++)
            if (is_src[c] && ll_order_shared(&ords[c], &ords[i]) > best) {
                best = ll_order_shared(&ords[c], &ords[i]);
                src[i] = c;
            }
    }
}

/* ---- the driver: units of work (an item, a perplexity window) under every plan, with reuse ---- */

/* What a kind of unit supplies. todo: 1 when plan i has unit u left, 0 when done, -1 on error. engine: the
 * engine the units run on (made on first use). run: plan i's unit u on e (i = -1: the full model as a
 * reference only, when "full" is not among the plans); store says whether to keep the result (else it only
 * feeds a recording). */
typedef struct {
    int (*todo)(void *ctx, int i, int u);
    ll_engine *(*engine)(void *ctx);
    int (*run)(void *ctx, int i, int u, ll_engine *e, bool store);
    void *ctx;
    const long *order;   /* the order units are taken in (NULL: 0, 1, 2, ...) */
} unit_kind;

/* Runs units 0..n_units-1 of the plans, unit by unit. With reuse (rec[0], rec[1] not NULL), the full model
 * runs first on each unit with work left and records its forwards, then each source plan (reuse_sources)
 * records its own while reusing the full model's, and every plan starts at its first entry that differs from
 * its source. */
static int run_units(ll_model *m, ll_store *s, const plan_t *const *plans, int np, long n_units, ll_reuse *const *rec,
                     prog_t *g, const unit_kind *K, ll_shard *sh) {
    ll_order *ords = ll_calloc((size_t)(np ? np : 1), sizeof *ords);
    bool *todo = ll_calloc((size_t)(np ? np : 1), sizeof *todo), *is_src = ll_calloc((size_t)(np ? np : 1), sizeof *is_src);
    int *src = ll_calloc((size_t)(np ? np : 1), sizeof *src), *seq = ll_calloc((size_t)np + 1, sizeof *seq);
    ll_order full = {0, NULL, 0};
    int rc = !ords || !todo || !is_src || !src || !seq || ll_order_full(&full, m->n_layer) ? -1 : 0, bad = -1, full_at = -1;
    for (int i = 0; !rc && i < np; i++) {
        if ((rc = ll_plan_parse(plans[i]->spec, m->n_layer, &ords[i]))) bad = i;
        if (!strcmp(plans[i]->spec, "full")) full_at = i;
    }
    /* the order of runs on a unit: the full model; the plans that start from it; each source, then the
     * plans that start from that source */
    int nseq = 0;
    if (!rc) {
        reuse_sources(plans, ords, &full, np, src, is_src);
        seq[nseq++] = -1;
        for (int i = 0; i < np; i++)
            if (i != full_at && !is_src[i] && src[i] < 0) seq[nseq++] = i;
        for (int c = 0; c < np; c++) {
            if (!is_src[c]) continue;
            seq[nseq++] = c;
            for (int i = 0; i < np; i++)
                if (src[i] == c) seq[nseq++] = i;
        }
    }
    /* the units: 0, 1, 2, ... in one process; with MPI ranks, each takes the next one left when it is free */
    ll_shard_iter it = ll_shard_phase(sh);
    for (long uk = rc ? n_units : ll_shard_next(&it, n_units); !rc && uk < n_units; uk = ll_shard_next(&it, n_units)) {
        const long u = K->order ? K->order[uk] : uk;
        int nt = 0;
        for (int i = 0; !rc && i < np; i++) {
            int h = K->todo(K->ctx, i, (int)u);
            if (h < 0) rc = -1;
            todo[i] = h == 1;
            nt += todo[i];
        }
        if (rc || !nt) continue;   /* g->done started at what the store held */
        ll_engine *e = K->engine(K->ctx);
        if (!e) { rc = -1; break; }
        for (int q = 0; !rc && q < nseq; q++) {
            int i = seq[q] < 0 ? full_at : seq[q];
            bool store = i >= 0 && todo[i], record = false;
            if (rec && seq[q] < 0) record = true;   /* the full model: the reference of every unit */
            if (rec && seq[q] >= 0 && is_src[i])
                for (int c = 0; c < np && !record; c++) record = src[c] == i && todo[c];
            if (!store && !record) continue;
            if ((rc = ll_engine_set_order(e, i >= 0 ? &ords[i] : &full))) { bad = i; break; }
            if (record) rc = ll_engine_record(e, rec[seq[q] < 0 ? 0 : 1]);
            if (rec && seq[q] >= 0) ll_engine_reuse(e, rec[is_src[i] || src[i] < 0 ? 0 : 1]);
            long long c0, n0, c1, n1;
            ll_engine_passes(e, &c0, &n0);
            if (!rc && (rc = K->run(K->ctx, i, (int)u, e, store))) bad = i;
            if (rc) break;
            ll_engine_passes(e, &c1, &n1);
            if (record) ll_engine_record(e, NULL);
            if (store) rc = ll_store_add_progress(s, "passes_naive", (double)(n1 - n0));
            if (!rc) rc = ll_store_add_progress(s, "passes_computed", (double)(c1 - c0));
            g->passes_computed += c1 - c0;
            g->passes_naive += store ? n1 - n0 : 0;
        }
    }
    if (ords)
        for (int i = 0; i < np; i++) ll_order_free(&ords[i]);
    ll_order_free(&full);
    free(ords);
    free(todo);
    free(is_src);
    free(src);
    free(seq);
    if (rc && bad >= 0) ll_fail_prefix("plan %s: ", plans[bad]->spec);
    return rc;
}

/* ---- items of a task ---- */

typedef struct {
    ll_model *m;
    const ll_painters_opts *o;
    ll_store *s;
    const ll_eval_task *t;
    const int *items;
    int n;
    const plan_t *const *plans;
    ll_order full;
    ll_eval_session *S;
    prog_t *g;
} items_ctx;

static int items_todo(void *ctx, int i, int k) {
    items_ctx *c = ctx;
    int h = ll_store_has_item(c->s, c->t->name, c->items[k], c->plans[i]->spec);
    return h < 0 ? -1 : !h;
}

static ll_engine *items_engine(void *ctx) {
    items_ctx *c = ctx;
    if (!c->S) {   /* the session holds every item, as `eval --limit N` does: the same sizes, the same bits */
        const ll_painters_opts *o = c->o;
        ll_eval_opts eo;
        ll_eval_default_opts(&eo);
        eo.bos = o->bos;
        eo.max_gen = o->max_gen;
        eo.order = &c->full;
        eo.n_threads = o->n_threads;
        eo.exact = o->exact;
        /* the paper's generation code averages a parallel group's K/V for later tokens; its loglikelihoods
         * come from one forward over the whole sequence, where every token uses its own */
        eo.parallel_kv_mean = c->t->kind == LL_EVAL_GEN;
        eo.batch_tokens = 0;   /* items run one at a time, each under every plan (reuse is per item) */
        eo.layer_progress = o->layer_progress;
        eo.progress_ctx = o->progress_ctx;
        if (!(c->S = ll_eval_begin(c->m, c->t, c->items, c->n, &eo))) return NULL;
    }
    return ll_eval_session_engine(c->S);
}

static int items_run(void *ctx, int i, int k, ll_engine *e, bool store) {
    (void)e;
    items_ctx *c = ctx;
    const char *spec = i >= 0 ? c->plans[i]->spec : "full";
    prog_t *g = c->g;
    snprintf(g->what, sizeof g->what, "%s on %s item %d%s", spec, c->t->name, c->items[k], store ? "" : " (reference)");
    say(g);
    double t0 = ll_now();
    ll_eval_item_result r;
    if (ll_eval_run_item(c->S, k, &r)) return -1;
    double dt = ll_now() - t0;
    int rc = store ? ll_store_put_item(c->s, c->t->name, c->items[k], spec, &r, dt) : 0;
    if (!rc) rc = ll_store_add_progress(c->s, "seconds", dt);
    if (store) g->done++;
    ll_eval_item_result_free(&r);
    return rc;
}

/* Runs the plans on the items of t, item by item, committing each (plan, item) result; what the store
 * has is skipped. */
static int run_items(ll_model *m, const ll_painters_opts *o, ll_store *s, const ll_eval_task *t, const int *items, int n,
                     const plan_t *const *plans, int np, ll_reuse *const *rec, prog_t *g) {
    items_ctx c = {m, o, s, t, items, n, plans, {0, NULL, 0}, NULL, g};
    if (ll_order_full(&c.full, m->n_layer)) return -1;
    unit_kind K = {items_todo, items_engine, items_run, &c, NULL};
    long *order = NULL;
    if (ll_shard_size(o->shard) > 1 && (order = ll_malloc((size_t)(n ? n : 1) * sizeof *order))) {
        /* ranks take the longest items first, so the phase ends on short ones (text length as the cost) */
        double *cost = ll_malloc((size_t)(n ? n : 1) * sizeof *cost);
        if (cost) {
            for (int k = 0; k < n; k++) {
                const ll_eval_item *it = &t->items[items[k]];
                double c0 = it->question ? (double)strlen(it->question) + 4.0 * o->max_gen : 0;
                for (int r = 0; r < it->n_req; r++) c0 += (double)(strlen(it->req[r].ctx) + strlen(it->req[r].cont));
                cost[k] = c0;
                order[k] = k;
            }
            for (int a = 1; a < n; a++) {   /* insertion sort, descending cost, ties by index: the same on every rank */
                long v = order[a];
                int b = a;
                while (b > 0 && cost[order[b - 1]] < cost[v]) { order[b] = order[b - 1]; b--; }
                order[b] = v;
            }
            K.order = order;
            free(cost);
        }
    }
    int rc = run_units(m, s, plans, np, n, rec, g, &K, o->shard);
    free(order);
    ll_eval_end(c.S);
    ll_order_free(&c.full);
    return rc;
}

/* ---- encoders: the frozen-encoder probe (the paper's A.9) under every plan ---- */

/* An encoder has no LM head: each plan's score on sst2 is the frozen-encoder probe's (ll_linprobe_cv on each
 * sentence's pooled output under the plan, as `layerlab glue`), and each item's result is its held-out
 * prediction (n_req 2: the log-probabilities of the two classes; acc 1 when right). A plan is one unit: the
 * cross-validation needs all its sentences, so its items are committed together, and a killed run redoes at
 * most the plan it was in. */
static int run_encoder(ll_model *m, const ll_painters_opts *o, ll_store *s, const ll_eval_task *t, const int *items, int n,
                       const plan_t *const *plans, int np, prog_t *g) {
    if (strcmp(t->name, "sst2") != 0)
        return ll_fail("%s: an encoder (%s) runs the painters study on sst2 (the frozen-encoder probe), not on %s", m->path,
                       m->arch, t->name);
    const char **texts = ll_malloc((size_t)(n ? n : 1) * sizeof *texts);
    int *labels = ll_malloc((size_t)(n ? n : 1) * sizeof *labels), rc = texts && labels ? 0 : -1;
    for (int k = 0; !rc && k < n; k++) {
        texts[k] = t->items[items[k]].question;
        labels[k] = t->items[items[k]].gold;
    }
    ll_shard_iter it = ll_shard_phase(o->shard);   /* a plan is a unit: ranks take the next plan left */
    for (long i = rc ? np : ll_shard_next(&it, np); !rc && i < np; i = ll_shard_next(&it, np)) {
        const char *spec = plans[i]->spec;
        long have = ll_store_count_items(s, t->name, spec);
        if (have < 0) { rc = -1; break; }
        if (have >= n) continue;
        ll_order ord = {0, NULL, 0};
        if ((rc = ll_plan_parse(spec, m->n_layer, &ord))) break;
        snprintf(g->what, sizeof g->what, "%s on %s: %d sentences, then %d-fold probe", spec, t->name, n, 5);
        say(g);
        double t0 = ll_now();
        ll_embed_opts eo = ll_embed_default_opts();
        eo.order = &ord;
        eo.exact = o->exact;
        eo.n_threads = o->n_threads;
        ll_embed_result emb;
        ll_linprobe_cv_result cv;
        memset(&cv, 0, sizeof cv);
        rc = ll_embed_texts(m, texts, n, &eo, &emb);
        ll_order_free(&ord);
        if (!rc) {
            ll_linprobe_opts po = ll_linprobe_default_opts();
            rc = ll_linprobe_cv(emb.vec, labels, n, emb.dim, 2, &po, &cv);
            ll_embed_result_free(&emb);
        }
        double dt = ll_now() - t0;
        if (!rc) rc = ll_store_begin(s);
        for (int k = 0; !rc && k < n; k++) {
            double ll[2] = {log(cv.prob[2 * k]), log(cv.prob[2 * k + 1])};
            bool greedy[2] = {false, false};
            int ncont[2] = {1, 1};
            ll_eval_item_result r;
            memset(&r, 0, sizeof r);
            r.n_req = 2, r.ll = ll, r.greedy = greedy, r.n_cont = ncont;
            r.pred = r.pred_norm = cv.pred[k];
            r.acc = r.acc_norm = cv.pred[k] == labels[k];
            rc = ll_store_put_item(s, t->name, items[k], spec, &r, dt / n);
        }
        if (!rc) rc = ll_store_add_progress(s, "seconds", dt);
        if (!rc) rc = ll_store_commit(s);
        else ll_store_rollback(s);
        ll_linprobe_cv_free(&cv);
        if (rc) ll_fail_prefix("plan %s: ", spec);
        else g->done += n;
    }
    free(texts);
    free(labels);
    return rc;
}

/* ---- perplexity windows ---- */

typedef struct {
    ll_model *m;
    const ll_painters_opts *o;
    ll_store *s;
    const int32_t *ids;
    size_t n;
    ll_ppl_opts po;
    long long nw;
    const plan_t *const *plans;
    long long *next, *scored;   /* per plan: the next window to run (nw: done), tokens scored so far */
    double *total, *secs;       /* the running nll sum, seconds so far */
    ll_engine *e;
    float *logits;
    prog_t *g;
} ppl_ctx;

static int ppl_todo(void *ctx, int i, int w) {
    ppl_ctx *c = ctx;
    return c->next[i] == w;
}

static ll_engine *ppl_engine(void *ctx) {
    ppl_ctx *c = ctx;
    if (!c->e) {
        ll_engine_opts eo = {.n_ctx = c->po.ctx, .n_threads = c->o->n_threads, .exact = c->o->exact};
        if (!(c->e = ll_engine_new(c->m, NULL, &eo))) return NULL;
        if (c->o->layer_progress) ll_engine_set_progress(c->e, c->o->layer_progress, c->o->progress_ctx);
        if (!(c->logits = ll_malloc((size_t)c->po.ctx * (size_t)c->m->n_vocab * sizeof *c->logits))) return NULL;
    }
    return c->e;
}

static int ppl_finish(ppl_ctx *c, int i) {
    double mean = c->total[i] / (double)c->scored[i];
    return ll_store_put_ppl(c->s, c->plans[i]->spec, c->scored[i], (long long)((c->n + (size_t)c->po.ctx - 1) / (size_t)c->po.ctx),
                            mean, exp(mean), c->secs[i]);
}

static int ppl_run_window(void *ctx, int i, int w, ll_engine *e, bool store) {
    ppl_ctx *c = ctx;
    prog_t *g = c->g;
    snprintf(g->what, sizeof g->what, "%s: perplexity window %d of %lld%s", i >= 0 ? c->plans[i]->spec : "full", w + 1,
             c->nw, store ? "" : " (reference)");
    say(g);
    double total = store ? c->total[i] : 0, t0 = ll_now();
    long long scored = store ? c->scored[i] : 0;
    if (ll_ppl_window(e, c->m->n_vocab, c->ids, c->n, &c->po, w, c->logits, &total, &scored))
        return ll_fail_prefix("perplexity: ");
    double dt = ll_now() - t0;
    int rc = ll_store_add_progress(c->s, "seconds", dt);
    if (!store || rc) return rc;
    if ((rc = ll_store_put_ppl_window(c->s, c->plans[i]->spec, w, total, scored, dt))) return rc;
    c->total[i] = total, c->scored[i] = scored, c->secs[i] += dt, c->next[i] = w + 1;
    g->done++;
    return c->next[i] == c->nw ? ppl_finish(c, i) : 0;
}

/* Each plan's perplexity over the windows of ids, window by window across the plans (so the windows reuse
 * the shared layers as items do); every window's running sum is committed, so a killed run resumes inside
 * a plan's windows and gets the bits of one uninterrupted `ll_ppl_run`. */
static int run_ppl(ll_model *m, const ll_painters_opts *o, ll_store *s, const int32_t *ids, size_t n,
                   const plan_t *const *plans, int np, ll_reuse *const *rec, prog_t *g, bool sharded) {
    ppl_ctx c = {.m = m, .o = o, .s = s, .ids = ids, .n = n, .plans = plans, .g = g};
    ll_ppl_default_opts(&c.po);
    c.po.ctx = o->ppl_ctx < (int)n ? o->ppl_ctx : (int)n;
    c.nw = ll_ppl_n_windows(n, &c.po);
    int rc = -1;
    if (!(c.next = ll_calloc((size_t)np + 1, sizeof *c.next)) || !(c.scored = ll_calloc((size_t)np + 1, sizeof *c.scored)) ||
        !(c.total = ll_calloc((size_t)np + 1, sizeof *c.total)) || !(c.secs = ll_calloc((size_t)np + 1, sizeof *c.secs)))
        goto done;
    for (int i = 0; i < np; i++) {
        int h = ll_store_get_ppl(s, plans[i]->spec, NULL, NULL, NULL);
        if (h < 0) goto done;
        if (h) { c.next[i] = c.nw; continue; }
        long long w;
        int k = ll_store_last_ppl_window(s, plans[i]->spec, &w, &c.total[i], &c.scored[i], &c.secs[i]);
        if (k < 0) goto done;
        c.next[i] = k ? w + 1 : 0;
        if (c.next[i] >= c.nw && ppl_finish(&c, i)) goto done;   /* killed between its last window and its row */
    }
    unit_kind K = {ppl_todo, ppl_engine, ppl_run_window, &c, NULL};
    rc = run_units(m, s, plans, np, (long)c.nw, rec, g, &K, sharded ? o->shard : NULL);
done:
    ll_engine_free(c.e);
    free(c.logits);
    free(c.next);
    free(c.scored);
    free(c.total);
    free(c.secs);
    return rc;
}

/* cosine matrices for one plan: flattened and per token, with and without position 0 (one analysis row) */
static int run_cosine(ll_model *m, const ll_painters_opts *o, ll_store *s, const ll_probe_samples *ss, const char *spec,
                      prog_t *g) {
    const bool pad = m->causal;   /* the paper pads decoders' batches (no mask); an encoder would attend to pads */
    char name[96];
    snprintf(name, sizeof name, "cosine:%s", spec);
    bool found;
    char *have = ll_store_get_analysis(s, name, &found);
    free(have);
    if (found) return 0;
    ll_order ord = {0, NULL, 0};
    if (ll_plan_parse(spec, m->n_layer, &ord)) return -1;
    cJSON *j = cJSON_CreateObject();
    if (!pad) cJSON_AddStringToObject(j, "source", "the first SST-2 sentences as the encoder reads them ([CLS] ... [SEP]), unpadded");
    int rc = 0;
    for (int first = 0; first <= 1 && !rc; first++) {
        ll_probe_run_opts ro;
        ll_probe_run_default_opts(&ro);
        ro.kinds = LL_PROBE_COSINE | LL_PROBE_BI;
        ro.pad = pad;
        ro.first_position = first;
        ro.order = &ord;
        ro.n_threads = o->n_threads;
        ro.exact = o->exact;
        ro.layer_progress = o->layer_progress;
        ro.progress_ctx = o->progress_ctx;
        ll_probe_results R;
        if ((rc = ll_probe_run(m, ss, &ro, &R))) break;
        cJSON *v = cJSON_AddObjectToObject(j, first ? "without_first" : "all_positions");
        cJSON *fl = cJSON_AddArrayToObject(v, "flat"), *tk = cJSON_AddArrayToObject(v, "token");
        for (int a = 0; a < R.S; a++) {
            cJSON_AddItemToArray(fl, cJSON_CreateDoubleArray(R.cos_flat + (size_t)a * R.S, R.S));
            cJSON_AddItemToArray(tk, cJSON_CreateDoubleArray(R.cos_token + (size_t)a * R.S, R.S));
        }
        cJSON_AddItemToObject(v, "variance", cJSON_CreateDoubleArray(R.variance, R.S));
        cJSON_AddNumberToObject(v, "n_samples", R.n_samples);
        ll_probe_results_free(&R);
    }
    ll_order_free(&ord);
    char *txt = rc || ll_json_exact_numbers(j) ? NULL : cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!rc && !txt) rc = ll_fail("out of memory");
    if (!rc) rc = ll_store_put_analysis(s, name, txt);
    free(txt);
    if (rc) ll_fail_prefix("cosine analysis of plan %s: ", spec);
    else g->done++;
    return rc;
}

int ll_painters_study(ll_model *m, const ll_painters_opts *o, const char *dir, const char *command,
                      ll_painters_study_result *r) {
    memset(r, 0, sizeof *r);
    r->is_main = ll_shard_rank(o->shard) == 0;
    if (ll_painters_validate(o, m->n_layer)) return ll_fail_prefix("study painters: ");
    char *params = ll_painters_params_json(o, m->n_layer);
    ll_store *s = params ? ll_study_store_open(o->shard, dir, "painters", params, ll_model_sha256(m)) : NULL;
    free(params);
    if (!s) return -1;
    double t0 = ll_now();
    int rc = ll_painters_run(m, o, s, &r->stats);
    r->run_seconds = ll_now() - t0;
    if (rc) ll_fail_prefix("study painters: ");
    /* the ranks' stores into the main one; only rank 0 goes on to the export and the report */
    else if (!(rc = ll_study_store_gather(o->shard, dir, &s, 0)) && r->is_main)
        rc = ll_painters_export(s, dir) || ll_painters_report(s, dir, command, ll_now() - t0) ? -1 : 0;
    r->seconds = ll_now() - t0;
    ll_store_close(s);
    return rc;
}

int ll_painters_run(ll_model *m, const ll_painters_opts *opts, ll_store *s, ll_painters_stats *stats) {
    if (stats) memset(stats, 0, sizeof *stats);
    if (!m->tok) return ll_fail("%s: the model has no tokenizer (a llama2.c checkpoint needs one)", m->path);
    /* an encoder: no lambada analyses (single skip/switch), no perplexity; its cosine matrices use sst2's sentences */
    const bool encoder = !m->has_head;
    ll_painters_opts eopts = *opts;
    if (encoder) {
        if (opts->ppl_file) return ll_fail("%s: an encoder has no perplexity (--ppl)", m->path);
        eopts.analyses &= ~LL_PAINTERS_A_SINGLE;
    }
    const ll_painters_opts *o = &eopts;
    int L = m->n_layer, rc = -1;
    plans_t P = {0};
    ll_eval_task tasks[LL_PAINTERS_MAX_TASKS], lambada;
    int *items[LL_PAINTERS_MAX_TASKS] = {0}, n_items[LL_PAINTERS_MAX_TASKS] = {0}, *lam_items = NULL, n_lam = 0;
    bool have_lambada = false;
    int32_t *ppl_ids = NULL;
    size_t n_ppl = 0;
    ll_reuse *rec[2] = {NULL, NULL};   /* the full model's recording, a source plan's */
    const plan_t **sel = NULL;
    memset(&lambada, 0, sizeof lambada);
    memset(tasks, 0, sizeof tasks);
    if (make_plans(o, L, &P)) goto done;
    for (int i = 0; i < P.n; i++)
        if (ll_store_put_plan(s, P.v[i].spec, P.v[i].variant, P.v[i].s, P.v[i].m, P.v[i].seed, P.v[i].k, P.v[i].grp)) goto done;
    for (int t = 0; t < o->n_tasks; t++) {
        if (ll_eval_load(o->tasks[t], o->data[t], o->fewshot[t], &tasks[t])) goto done;
        if (ll_study_choose_items(&tasks[t], o->limit, o->sample, o->sample_seed, &items[t], &n_items[t])) goto done;
    }
    bool want_lambada = !encoder && (o->analyses & (LL_PAINTERS_A_SINGLE | LL_PAINTERS_A_COSINE)) != 0;
    if (want_lambada) {
        if (!o->lambada_data) { ll_fail("the analyses need lambada_openai's data file"); goto done; }
        if (ll_eval_load("lambada_openai", o->lambada_data, NULL, &lambada)) goto done;
        have_lambada = true;
        long lim = o->single_limit >= 0 ? o->single_limit : o->limit;
        if (ll_study_choose_items(&lambada, lim, o->single_limit >= 0 ? 0 : o->sample, o->sample_seed, &lam_items, &n_lam)) goto done;
    }
    if (o->ppl_file) {
        size_t len;
        char *buf = ll_read_file(o->ppl_file, "perplexity text", &len);
        if (!buf) goto done;
        int trc = ll_tokenize(m->tok, buf, len, ll_tok_default_bos(m->tok), false, &ppl_ids, &n_ppl);
        free(buf);
        if (trc) goto done;
        if (o->ppl_tokens > 0 && (size_t)o->ppl_tokens < n_ppl) n_ppl = (size_t)o->ppl_tokens;
        if (n_ppl < 2) { ll_fail("%s: fewer than 2 tokens", o->ppl_file); goto done; }
    }
    /* the total work, for the progress: items x plans (single skip/switch on lambada only), perplexity
     * windows x grid plans, the three plans' cosine matrices */
    prog_t g = {.o = o};
    for (int i = 0; i < P.n; i++) {
        if (P.v[i].lambada_only) g.total += n_lam;
        else
            for (int t = 0; t < o->n_tasks; t++) g.total += n_items[t];
    }
    int enc_task = -1;   /* an encoder's cosine matrices: sst2's sentences */
    for (int t = 0; encoder && t < o->n_tasks; t++)
        if (!strcmp(o->tasks[t], "sst2")) enc_task = t;
    bool cosine = (o->analyses & LL_PAINTERS_A_COSINE) && (have_lambada || enc_task >= 0);
    long n_results = g.total, n_windows = 0, n_cosine = cosine ? 3 : 0;
    if (ppl_ids) {
        ll_ppl_opts po;
        ll_ppl_default_opts(&po);
        po.ctx = o->ppl_ctx < (int)n_ppl ? o->ppl_ctx : (int)n_ppl;
        for (int i = 0; i < P.n; i++)
            if (!strcmp(P.v[i].grp, "grid")) n_windows += (long)ll_ppl_n_windows(n_ppl, &po);
    }
    g.total += n_windows + n_cosine;
    /* the totals, for `study status` (per task: its items under every plan that runs on it) */
    if (ll_store_set_progress(s, "total_items", (double)n_results) ||
        ll_store_set_progress(s, "total_ppl_windows", (double)n_windows) ||
        ll_store_set_progress(s, "total_cosine", (double)n_cosine))
        goto done;
    for (int t = 0; t < o->n_tasks; t++) {
        char key[64];
        long tot = 0;
        for (int i = 0; i < P.n; i++) tot += P.v[i].lambada_only ? 0 : n_items[t];
        if (!strcmp(o->tasks[t], "lambada_openai"))
            for (int i = 0; i < P.n; i++) tot += P.v[i].lambada_only ? n_lam : 0;
        snprintf(key, sizeof key, "total:%s", o->tasks[t]);
        if (ll_store_set_progress(s, key, (double)tot)) goto done;
    }
    bool lam_in_tasks = false;   /* single skip/switch run on lambada even when it is not among the tasks */
    for (int t = 0; t < o->n_tasks; t++) lam_in_tasks |= !strcmp(o->tasks[t], "lambada_openai");
    if (!lam_in_tasks && have_lambada) {
        long tot = 0;
        for (int i = 0; i < P.n; i++) tot += P.v[i].lambada_only ? n_lam : 0;
        if (ll_store_set_progress(s, "total:lambada_openai", (double)tot)) goto done;
    }
    /* what the store holds already: the rate and ETA count this run's work only */
    long before = ll_store_count_items(s, NULL, NULL), wins = ll_store_count_ppl_windows(s),
         cos = ll_store_count_analyses(s, "cosine:");
    if (before < 0 || wins < 0 || cos < 0) goto done;
    g.done = before + wins + cos;
    snprintf(g.what, sizeof g.what, "in the store: %ld of %ld (plan, item) results, %ld of %ld perplexity windows, %ld of %ld cosine runs",
             before, n_results, wins, n_windows, cos, n_cosine);
    say(&g);
    if (o->reuse && (!(rec[0] = ll_reuse_new()) || !(rec[1] = ll_reuse_new()))) goto done;
    if (!(sel = ll_malloc((size_t)P.n * sizeof *sel))) goto done;
    int ns = 0, nl = 0;
    for (int i = 0; i < P.n; i++)
        if (!P.v[i].lambada_only) sel[ns++] = &P.v[i];
    /* the stages: the tasks' items, the single skip / switch runs, the cosine matrices (minutes) — then the
     * perplexity windows (hours on a large grid). MPI ranks take them in the reverse order: the few large units
     * (a cosine run, a LAMBADA item under every single plan) first, so the job ends on small ones and the ranks
     * finish together; the results do not depend on the order. */
    const bool sharded = ll_shard_size(o->shard) > 1;
    for (int stage_i = 0; stage_i < 3; stage_i++) {
        const int stage = sharded ? 2 - stage_i : stage_i;
        if (stage == 0) {
            for (int t = 0; t < o->n_tasks; t++)
                if (encoder ? run_encoder(m, o, s, &tasks[t], items[t], n_items[t], sel, ns, &g)
                            : run_items(m, o, s, &tasks[t], items[t], n_items[t], sel, ns, o->reuse ? rec : NULL, &g))
                    goto done;
        } else if (stage == 1) {
            for (int i = 0; i < P.n; i++)
                if (P.v[i].lambada_only) sel[ns + nl++] = &P.v[i];   /* after the task plans: both stay */
            if (have_lambada && nl && run_items(m, o, s, &lambada, lam_items, n_lam, sel + ns, nl, o->reuse ? rec : NULL, &g))
                goto done;
        } else {
            /* the cosine matrices (minutes) before the perplexity windows (hours on a large grid) */
            if (cosine) {
                ll_probe_samples ss = {0};
                int crc = 0;
                if (encoder) {   /* the first sentences as the encoder reads them ([CLS] ... [SEP]), unpadded */
                    const ll_eval_task *et = &tasks[enc_task];
                    for (long k = 0; !crc && k < et->n_items && k < o->cosine_samples; k++) {
                        int32_t *ids;
                        int nid;
                        if (!(crc = ll_embed_ids(m, et->items[k].question, 0, &ids, &nid, NULL))) {
                            crc = ll_probe_samples_add(&ss, ids, nid);
                            free(ids);
                        }
                    }
                } else {
                    crc = ll_probe_task_samples(m->tok, o->bos, &lambada, o->cosine_samples, &ss);
                    if (!crc) crc = ll_probe_samples_pad8(&ss);
                }
                int s0 = L / 2 - 3 > 0 ? L / 2 - 3 : 0;   /* the paper's A.4: s = 13 of 32 layers, M = 5 */
                char skip[32], rep[32];
                snprintf(skip, sizeof skip, "skip:%d", s0);
                snprintf(rep, sizeof rep, "middle_repeat:%d", s0);
                const char *specs[3] = {"full", skip, rep};
                ll_shard_iter it = ll_shard_phase(o->shard);
                for (long i = crc ? 3 : ll_shard_next(&it, 3); !crc && i < 3; i = ll_shard_next(&it, 3)) {
                    snprintf(g.what, sizeof g.what, "cosine matrices of %s", specs[i]);
                    say(&g);
                    crc = run_cosine(m, o, s, &ss, specs[i], &g);
                }
                ll_probe_samples_free(&ss);
                if (crc) goto done;
            }
        }
    }
    if (ppl_ids) {
        int ng = 0;
        for (int i = 0; i < P.n; i++)
            if (!strcmp(P.v[i].grp, "grid")) sel[ng++] = &P.v[i];
        if (ll_shard_size(o->shard) == 1) {
            if (run_ppl(m, o, s, ppl_ids, n_ppl, sel, ng, o->reuse ? rec : NULL, &g, false)) goto done;
        } else {   /* ranks take whole plans: a plan's windows add up in order, as `layerlab ppl` adds them */
            ll_shard_iter it = ll_shard_phase(o->shard);
            for (long i = ll_shard_next(&it, ng); i < ng; i = ll_shard_next(&it, ng))
                if (run_ppl(m, o, s, ppl_ids, n_ppl, &sel[i], 1, NULL, &g, false)) goto done;
        }
    }
    snprintf(g.what, sizeof g.what, "done");
    say(&g);
    rc = 0;
done:
    for (int t = 0; t < o->n_tasks; t++) {
        ll_eval_task_free(&tasks[t]);
        free(items[t]);
    }
    if (have_lambada) ll_eval_task_free(&lambada);
    free(lam_items);
    free(ppl_ids);
    free(P.v);
    free(sel);
    ll_reuse_free(rec[0]);
    ll_reuse_free(rec[1]);
    if (stats) {
        stats->passes_computed = g.passes_computed;
        stats->passes_naive = g.passes_naive;
    }
    return rc;
}
