/* geometry.c — the geometric paper's experiment (geometry.h): prompts, the resumable run, the export. */
#include "study/geometry.h"
#include "study/shard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eval/eval.h"
#include "io/files.h"
#include "probe/probe.h"
#include "run/engine.h"
#include "study/geo_stats.h"
#include "study/study.h"
#include "tokenizer/tokenizer.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/pyrandom.h"

const char *const ll_geo_condition_names[LL_GEO_N_CONDITIONS] = {"fixed", "random", "noise", "permuted"};

void ll_geometry_default_opts(ll_geometry_opts *o) {
    memset(o, 0, sizeof *o);
    o->task = "gsm8k";
    o->limit = -1;
    static const int shots[] = {0, 1, 2, 4, 8, 10};
    o->n_shots = 6;
    memcpy(o->shots, shots, sizeof shots);
    o->conditions = LL_GEO_FIXED | LL_GEO_RANDOM | LL_GEO_NOISE | LL_GEO_PERMUTED;
    o->eps = 0.1;
    o->max_gen = 256;
    o->n_threads = 2;
    o->exact = true;
}

char *ll_geometry_params_json(const ll_geometry_opts *o) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "task", o->task);
    cJSON_AddNumberToObject(j, "limit", (double)o->limit);
    cJSON_AddNumberToObject(j, "sample", (double)o->sample);
    cJSON_AddNumberToObject(j, "sample_seed", (double)o->sample_seed);
    cJSON_AddItemToObject(j, "shots", cJSON_CreateIntArray(o->shots, o->n_shots));
    cJSON *c = cJSON_AddArrayToObject(j, "conditions");
    for (int i = 0; i < LL_GEO_N_CONDITIONS; i++)
        if (o->conditions & (1 << i)) cJSON_AddItemToArray(c, cJSON_CreateString(ll_geo_condition_names[i]));
    cJSON_AddNumberToObject(j, "eps", o->eps);
    cJSON_AddNumberToObject(j, "seed", (double)o->seed);
    cJSON_AddNumberToObject(j, "max_gen", o->max_gen);
    cJSON_AddBoolToObject(j, "bos", o->bos);
    cJSON_AddStringToObject(j, "compute", o->exact ? "exact" : "llamacpp");
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) ll_fail("out of memory");
    return s;
}

/* ---- prompts ---- */

/* One unit of work: base question `item` with k examples under condition cond (-1: the base prompt, k = 0). */
typedef struct {
    int item, k, cond;
    char plan[32];
    int32_t *ids;            /* the prompt, BOS first when asked */
    int n;
    ll_eval_toks *req;       /* multiple choice: every choice's context (= ids) and continuation */
    int n_req;
} prompt_t;

typedef struct {
    ll_model *m;
    const ll_geometry_opts *o;
    const ll_eval_task *t;
    bool gen;                /* gsm8k */
    int *base;               /* the base questions' item indices */
    int n_base;
    int *fixed;              /* the fixed examples (multiple choice: items that are no base question; gsm8k: train) */
    int k_max;
    int32_t *normal;         /* the normal token ids (noise draws from them) */
    int n_normal;
    prompt_t *P;
    int n_prompts, cap;
} build_t;

static void prompt_free(prompt_t *p) {
    free(p->ids);
    for (int r = 0; r < p->n_req; r++) ll_eval_toks_free(&p->req[r]);
    free(p->req);
}

/* A CPython random.Random per (condition, question, k), so that every draw is reproducible alone. */
static void rng_for(ll_pyrng *r, uint64_t seed, int cond, int item, int k) {
    ll_pyrng_seed(r, ((seed * 8 + (uint64_t)cond) * 10000000ULL + (uint64_t)item) * 100 + (uint64_t)k);
}

typedef struct {
    char *s;
    size_t n, cap;
    int err;
} sb_t;

static void sb_add(sb_t *b, const char *s, size_t n) {
    if (b->err) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *ns = ll_realloc(b->s, cap);
        if (!ns) { b->err = 1; return; }
        b->s = ns, b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_str(sb_t *b, const char *s) { sb_add(b, s, strlen(s)); }

/* The example block of examples ex[0..k): lm-eval's few-shot format, each example followed by "\n\n". */
static char *block_text(const build_t *B, const int *ex, int k) {
    sb_t b = {0};
    sb_add(&b, "", 0);
    for (int i = 0; i < k; i++) {
        if (B->gen) {
            sb_str(&b, "Question: ");
            sb_str(&b, B->t->shot_q[ex[i]]);
            sb_str(&b, "\nAnswer: ");
            sb_str(&b, B->t->shot_a[ex[i]]);
        } else {   /* doc_to_text + target delimiter + the gold choice: the gold request's context + continuation */
            const ll_eval_item *it = &B->t->items[ex[i]];
            sb_str(&b, it->req[it->gold].ctx);
            sb_str(&b, it->req[it->gold].cont);
        }
        sb_str(&b, "\n\n");
    }
    if (b.err) { free(b.s); ll_fail("out of memory"); return NULL; }
    return b.s;
}

static int tokenize(const build_t *B, const char *text, bool bos, int32_t **ids, int *n) {
    size_t len;
    if (ll_tokenize(B->m->tok, text, strlen(text), bos, true, ids, &len)) return -1;
    *n = (int)len;
    return 0;
}

/* The prompt of item with the example block `block` as text (fixed, random; NULL: the base prompt). */
static int prompt_from_text(const build_t *B, int item, const char *block, prompt_t *p) {
    const ll_eval_item *it = &B->t->items[item];
    bool bos = B->o->bos;
    if (B->gen) {
        sb_t b = {0};
        sb_add(&b, "", 0);
        if (block) sb_str(&b, block);
        sb_str(&b, "Question: ");
        sb_str(&b, it->question);
        sb_str(&b, "\nAnswer:");
        if (b.err) { free(b.s); return ll_fail("out of memory"); }
        int rc = tokenize(B, b.s, bos, &p->ids, &p->n);
        free(b.s);
        return rc;
    }
    if (!(p->req = ll_calloc((size_t)it->n_req, sizeof *p->req))) return -1;
    p->n_req = it->n_req;
    for (int r = 0; r < it->n_req; r++) {
        ll_eval_req q = it->req[r];
        char *ctx = NULL;
        if (block) {
            size_t a = strlen(block), c = strlen(q.ctx);
            if (!(ctx = ll_malloc(a + c + 1))) return -1;
            memcpy(ctx, block, a);
            memcpy(ctx + a, q.ctx, c + 1);
            q.ctx = ctx;
        }
        int rc = ll_eval_encode(B->m->tok, bos, &q, &p->req[r]);
        free(ctx);
        if (rc) return -1;
        const ll_eval_toks *x = &p->req[r], *x0 = &p->req[0];
        if (r && (x->n_ctx != x0->n_ctx || memcmp(x->ctx, x0->ctx, (size_t)x->n_ctx * sizeof *x->ctx)))
            return ll_fail("%s item %d: its choices do not share one context (partial scoring, as winogrande's, has no "
                           "single prompt to measure)", B->t->name, item);
    }
    if (!(p->ids = ll_malloc((size_t)(p->req[0].n_ctx ? p->req[0].n_ctx : 1) * sizeof *p->ids))) return -1;
    memcpy(p->ids, p->req[0].ctx, (size_t)p->req[0].n_ctx * sizeof *p->ids);
    p->n = p->req[0].n_ctx;
    return 0;
}

/* The prompt made of the base prompt `base` with block[0..nb) token ids put after its BOS (noise, permuted):
 * the question's tokens are exactly the base prompt's. */
static int prompt_from_ids(const build_t *B, const prompt_t *base, const int32_t *block, int nb, prompt_t *p) {
    int lead = B->o->bos ? 1 : 0;
    p->n = base->n + nb;
    if (!(p->ids = ll_malloc((size_t)p->n * sizeof *p->ids))) return -1;
    memcpy(p->ids, base->ids, (size_t)lead * sizeof *p->ids);
    memcpy(p->ids + lead, block, (size_t)nb * sizeof *p->ids);
    memcpy(p->ids + lead + nb, base->ids + lead, (size_t)(base->n - lead) * sizeof *p->ids);
    if (B->gen) return 0;
    if (!(p->req = ll_calloc((size_t)base->n_req, sizeof *p->req))) return -1;
    p->n_req = base->n_req;
    for (int r = 0; r < base->n_req; r++) {
        ll_eval_toks *x = &p->req[r];
        const ll_eval_toks *b = &base->req[r];
        if (!(x->ctx = ll_malloc((size_t)p->n * sizeof *x->ctx)) || !(x->cont = ll_malloc((size_t)(b->n_cont ? b->n_cont : 1) * sizeof *x->cont)))
            return -1;
        memcpy(x->ctx, p->ids, (size_t)p->n * sizeof *x->ctx);
        x->n_ctx = p->n;
        memcpy(x->cont, b->cont, (size_t)b->n_cont * sizeof *x->cont);
        x->n_cont = b->n_cont;
    }
    return 0;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* The fixed block's words (str.split()) shuffled with random.shuffle, joined by spaces, then "\n\n"; its
 * tokens cut (from the start) or repeated to exactly n. */
static int permuted_block(const build_t *B, const char *text, int item, int k, int n, int32_t **out) {
    int nw = 0;
    for (size_t i = 0; text[i]; i++)
        if (!is_space(text[i]) && (i == 0 || is_space(text[i - 1]))) nw++;
    const char **w = ll_malloc((size_t)(nw ? nw : 1) * sizeof *w);
    size_t *wl = ll_malloc((size_t)(nw ? nw : 1) * sizeof *wl);
    int *perm = ll_malloc((size_t)(nw ? nw : 1) * sizeof *perm);
    if (!w || !wl || !perm) { free(w); free(wl); free(perm); return -1; }
    int j = 0;
    for (size_t i = 0; text[i]; i++)
        if (!is_space(text[i]) && (i == 0 || is_space(text[i - 1]))) {
            size_t e = i;
            while (text[e] && !is_space(text[e])) e++;
            w[j] = text + i, wl[j++] = e - i;
        }
    for (int i = 0; i < nw; i++) perm[i] = i;
    ll_pyrng r;
    rng_for(&r, B->o->seed, 3, item, k);
    ll_pyrng_shuffle(&r, perm, nw);
    sb_t b = {0};
    sb_add(&b, "", 0);
    for (int i = 0; i < nw; i++) {
        if (i) sb_add(&b, " ", 1);
        sb_add(&b, w[perm[i]], wl[perm[i]]);
    }
    sb_add(&b, "\n\n", 2);
    free(w);
    free(wl);
    free(perm);
    if (b.err) { free(b.s); return ll_fail("out of memory"); }
    int32_t *ids;
    int m;
    int rc = tokenize(B, b.s, false, &ids, &m);
    free(b.s);
    if (rc) return -1;
    if (!(*out = ll_malloc((size_t)(n ? n : 1) * sizeof **out))) { free(ids); return -1; }
    for (int i = 0; i < n; i++) (*out)[i] = m ? ids[(m - n % m + i) % m] : 0;   /* the last n of ids repeated */
    free(ids);
    return 0;
}

static prompt_t *add_prompt(build_t *B) {
    if (B->n_prompts == B->cap) {
        int cap = B->cap ? B->cap * 2 : 256;
        prompt_t *np = ll_realloc(B->P, (size_t)cap * sizeof *np);
        if (!np) return NULL;
        B->P = np, B->cap = cap;
    }
    prompt_t *p = &B->P[B->n_prompts++];
    memset(p, 0, sizeof *p);
    return p;
}

/* Every prompt of every base question. */
static int build_prompts(build_t *B) {
    const ll_geometry_opts *o = B->o;
    int kmax = 0;
    for (int i = 0; i < o->n_shots; i++) kmax = o->shots[i] > kmax ? o->shots[i] : kmax;
    B->k_max = kmax;
    int pool = B->gen ? B->t->n_shots_pool : B->t->n_items;
    if (B->gen && kmax > pool) return ll_fail("%s: %d examples asked, the train split has %d", B->t->name, kmax, pool);
    /* the fixed examples: gsm8k's first train items; multiple choice: the first items that are no base question */
    if (!(B->fixed = ll_malloc((size_t)(kmax ? kmax : 1) * sizeof *B->fixed))) return -1;
    for (int i = 0, c = 0; c < kmax; i++) {
        if (i >= pool) return ll_fail("%s: %d items leave fewer than %d for the fixed examples", B->t->name, pool, kmax);
        bool is_base = false;
        for (int q = 0; !B->gen && q < B->n_base && !is_base; q++) is_base = B->base[q] == i;
        if (!is_base) B->fixed[c++] = i;
    }
    if (!B->gen && kmax >= B->t->n_items) return ll_fail("%s: %d examples need more than %d items", B->t->name, kmax, B->t->n_items);
    int32_t nv = ll_tok_n_vocab(B->m->tok);
    if (!(B->normal = ll_malloc((size_t)nv * sizeof *B->normal))) return -1;
    for (int32_t id = 0; id < nv; id++)
        if (ll_tok_type(B->m->tok, id) == LL_TOKTYPE_NORMAL) B->normal[B->n_normal++] = id;
    if (B->n_normal < 1) return ll_fail("the vocabulary has no normal tokens to draw noise from");
    int *ex = ll_malloc((size_t)(kmax ? kmax : 1) * sizeof *ex), *draw = ll_malloc((size_t)(pool ? pool : 1) * sizeof *draw);
    int rc = ex && draw ? 0 : -1;
    for (int q = 0; !rc && q < B->n_base; q++) {
        int item = B->base[q];
        prompt_t *base = add_prompt(B);
        if (!base) { rc = -1; break; }
        int base_at = B->n_prompts - 1;
        base->item = item, base->k = 0, base->cond = -1;
        snprintf(base->plan, sizeof base->plan, "base:0");
        if ((rc = prompt_from_text(B, item, NULL, base))) break;
        /* random: one draw of k_max examples per question; each k takes its first k */
        ll_pyrng r;
        rng_for(&r, o->seed, 1, item, 0);
        int n_pool = B->gen ? pool : pool - 1;
        if (kmax > n_pool) { rc = ll_fail("%s: %d examples asked, %d items to draw from", B->t->name, kmax, n_pool); break; }
        if (kmax && ll_pyrng_sample(&r, n_pool, kmax, draw)) { rc = ll_fail("drawing examples failed"); break; }
        for (int i = 0; !B->gen && i < kmax; i++) draw[i] += draw[i] >= item;   /* never the question itself */
        for (int s = 0; !rc && s < o->n_shots; s++) {
            int k = o->shots[s];
            if (k == 0) continue;
            char *fixed_text = block_text(B, B->fixed, k);
            if (!fixed_text) { rc = -1; break; }
            prompt_t fixed_p;
            memset(&fixed_p, 0, sizeof fixed_p);
            rc = prompt_from_text(B, item, fixed_text, &fixed_p);
            int n_block = fixed_p.n - B->P[base_at].n;   /* noise and permuted are this long */
            if (!rc && n_block < 1) rc = ll_fail("%s item %d: %d examples add no tokens", B->t->name, item, k);
            for (int c = 0; !rc && c < LL_GEO_N_CONDITIONS; c++) {
                if (!(o->conditions & (1 << c))) continue;
                prompt_t *p = add_prompt(B);
                if (!p) { rc = -1; break; }
                p->item = item, p->k = k, p->cond = c;
                snprintf(p->plan, sizeof p->plan, "%s:%d", ll_geo_condition_names[c], k);
                const prompt_t *bp = &B->P[base_at];
                if (c == 0) {   /* fixed: the prompt made above */
                    p->ids = fixed_p.ids, p->n = fixed_p.n, p->req = fixed_p.req, p->n_req = fixed_p.n_req;
                    memset(&fixed_p, 0, sizeof fixed_p);
                    continue;
                }
                if (c == 1) {
                    for (int i = 0; i < k; i++) ex[i] = draw[i];
                    char *txt = block_text(B, ex, k);
                    rc = txt ? prompt_from_text(B, item, txt, p) : -1;
                    free(txt);
                    continue;
                }
                int32_t *blk = NULL;
                if (c == 2) {   /* noise: uniform over the normal tokens */
                    if (!(blk = ll_malloc((size_t)n_block * sizeof *blk))) { rc = -1; break; }
                    ll_pyrng nr;
                    rng_for(&nr, o->seed, 2, item, k);
                    for (int i = 0; i < n_block; i++) blk[i] = B->normal[ll_pyrng_randbelow(&nr, (uint32_t)B->n_normal)];
                } else if ((rc = permuted_block(B, fixed_text, item, k, n_block, &blk))) {
                    break;
                }
                rc = prompt_from_ids(B, bp, blk, n_block, p);
                free(blk);
            }
            prompt_free(&fixed_p);
            free(fixed_text);
        }
        if (rc) ll_fail_prefix("%s item %d: ", B->t->name, item);
    }
    free(ex);
    free(draw);
    return rc;
}

/* ---- the run ---- */

void ll_geometry_apply_quick(ll_geometry_opts *o, bool have_task, bool have_limit, bool have_shots) {
    if (!have_task) o->task = "arc_easy";
    if (!have_limit && !o->sample) o->limit = 50;
    if (!have_shots) {
        static const int qs[] = {0, 1, 2, 4};
        memcpy(o->shots, qs, sizeof qs);
        o->n_shots = 4;
    }
}

int ll_geometry_study(ll_model *m, const ll_geometry_opts *o, const char *dir, const char *command, bool *is_main) {
    const bool main_rank = ll_shard_rank(o->shard) == 0;
    if (is_main) *is_main = main_rank;
    char *params = ll_geometry_params_json(o);
    ll_store *s = params ? ll_study_store_open(o->shard, dir, "geometry", params, ll_model_sha256(m)) : NULL;
    free(params);
    if (!s) return -1;
    int rc = ll_geometry_run(m, o, s);
    if (rc) ll_fail_prefix("study geometry: ");
    else if (!(rc = ll_study_store_gather(o->shard, dir, &s, 0)) && main_rank)
        rc = ll_geometry_export(s, dir) || ll_geometry_report(s, dir, command) ? -1 : 0;
    ll_store_close(s);
    return rc;
}

int ll_geometry_run(ll_model *m, const ll_geometry_opts *o, ll_store *s) {
    if (!m->tok) return ll_fail("%s: a llama2.c checkpoint needs a tokenizer", m->path);
    if (o->bos && ll_tok_bos(m->tok) < 0) return ll_fail("--bos: the model has no BOS token");
    if (o->n_shots < 1) return ll_fail("no shots given");
    ll_eval_task t;
    memset(&t, 0, sizeof t);
    if (ll_eval_load(o->task, o->data, o->fewshot, &t)) return -1;
    build_t B = {.m = m, .o = o, .t = &t, .gen = t.kind == LL_EVAL_GEN};
    int rc = -1, L = m->n_layer, D = m->n_embd;
    ll_engine *e = NULL;
    ll_probe *pr = NULL;
    ll_reuse *rec = NULL;
    float *logits = NULL, *states = NULL;
    double *idr = NULL, *ida = NULL;
    ll_order full = {0, NULL, 0};
    if (t.kind == LL_EVAL_LOGLIK) { ll_fail("%s has no answer choices to be right or wrong about; use a multiple-choice task or gsm8k", t.name); goto done; }
    if (ll_study_choose_items(&t, o->limit, o->sample, o->sample_seed, &B.base, &B.n_base)) goto done;
    if (build_prompts(&B)) goto done;
    /* the engine: the longest prompt plus its answer */
    int n_ctx = 1, rows = 1;
    for (int i = 0; i < B.n_prompts; i++) {
        const prompt_t *p = &B.P[i];
        int need = p->n + (B.gen ? o->max_gen : 0), sum = 0;
        for (int r = 0; r < p->n_req; r++) {
            int in = p->req[r].n_ctx + p->req[r].n_cont - 1;
            need = in > need ? in : need;
            sum += in - p->n;
        }
        if (need > m->n_ctx_train) {
            ll_fail("%s item %d with %d examples (%s): %d tokens are beyond the model's context of %d; use fewer shots",
                    t.name, p->item, p->k, p->plan, need, m->n_ctx_train);
            goto done;
        }
        n_ctx = need > n_ctx ? need : n_ctx;
        rows = sum > rows ? sum : rows;
        rows = p->n > rows ? p->n : rows;
    }
    if (rows > 1024) rows = 1024;
    if (rows < n_ctx && !B.gen) {
        int longest = 1;
        for (int i = 0; i < B.n_prompts; i++)
            for (int r = 0; r < B.P[i].n_req; r++) {
                int in = B.P[i].req[r].n_ctx + B.P[i].req[r].n_cont - 1;
                longest = in > longest ? in : longest;
            }
        rows = rows > longest ? rows : longest;
    }
    ll_engine_opts eo = {.n_ctx = n_ctx, .n_threads = o->n_threads, .exact = o->exact};
    if (!(e = ll_engine_new(m, NULL, &eo)) || ll_order_full(&full, L)) goto done;
    if (o->layer_progress) ll_engine_set_progress(e, o->layer_progress, o->progress_ctx);
    int max_T = 1;
    for (int i = 0; i < B.n_prompts; i++) max_T = B.P[i].n > max_T ? B.P[i].n : max_T;
    ll_probe_opts po;
    memset(&po, 0, sizeof po);
    po.states = true;
    po.attention = true;
    po.position = -1;
    po.relative = true;
    po.n_eps = 2;
    po.eps[0] = po.eps[1] = o->eps;
    po.abs_mask = 2;   /* eps[1]: the absolute threshold */
    if (!(pr = ll_probe_new(m, &full, &po, max_T)) || !(rec = ll_reuse_new())) goto done;
    size_t lrows = B.gen ? 1 : (size_t)rows;
    if (!(logits = ll_malloc(lrows * (size_t)m->n_vocab * sizeof *logits)) ||
        !(states = ll_malloc((size_t)(L + 1) * D * sizeof *states)) || !(idr = ll_malloc((size_t)L * sizeof *idr)) ||
        !(ida = ll_malloc((size_t)L * sizeof *ida)))
        goto done;
    long done_n = ll_store_count_items(s, t.name, NULL);
    if (done_n < 0) goto done;
    {   /* the totals, for `study status` */
        char key[64];
        snprintf(key, sizeof key, "total:%s", t.name);
        if (ll_store_set_progress(s, "total_items", B.n_prompts) || ll_store_set_progress(s, key, B.n_prompts)) goto done;
    }
    char what[160];
    if (o->progress) {
        snprintf(what, sizeof what, "%ld of %d prompts in the store", done_n, B.n_prompts);
        o->progress(o->progress_ctx, done_n, B.n_prompts, what);
    }
    /* the prompts: in order in one process; with MPI ranks, each takes the next one left when it is free */
    ll_shard_iter it = ll_shard_phase(o->shard);
    for (long i = ll_shard_next(&it, B.n_prompts); i < B.n_prompts; i = ll_shard_next(&it, B.n_prompts)) {
        const prompt_t *p = &B.P[i];
        int h = ll_store_has_item(s, t.name, p->item, p->plan);
        if (h < 0) goto done;
        if (h) continue;
        if (o->progress) {
            snprintf(what, sizeof what, "%s item %d, %s (%d tokens)", t.name, p->item, p->plan, p->n);
            o->progress(o->progress_ctx, done_n, B.n_prompts, what);
        }
        double t0 = ll_now();
        /* the prompt's forward, tapped: attention rows of its last token, the states; recorded, so that the
         * answer's forward over the same tokens starts at the last layer */
        ll_eval_item_result ir;
        memset(&ir, 0, sizeof ir);
        int frc = ll_probe_begin(pr, p->n);
        if (!frc) {
            ll_probe_attach(pr, e);
            frc = ll_engine_record(e, rec);
            if (!frc) frc = ll_engine_forward(e, p->ids, p->n, 0, NULL, LL_LOGITS_NONE);
            ll_engine_record(e, NULL);
            ll_engine_set_tap(e, NULL);
        }
        if (!frc) {
            for (int l = 0; l < L; l++) idr[l] = ll_probe_attn_id(pr, 0, l), ida[l] = ll_probe_attn_id(pr, 1, l);
            for (int st = 0; st <= L; st++) memcpy(states + (size_t)st * D, ll_probe_state(pr, st) + (size_t)(p->n - 1) * D, (size_t)D * sizeof *states);
            ll_engine_reuse(e, rec);
            if (B.gen) {
                frc = ll_eval_gen_answer(e, m->tok, m->n_vocab, p->ids, p->n, o->max_gen, t.items[p->item].target, logits, &ir);
            } else {
                double ll[64];
                bool greedy[64];
                frc = ll_eval_score(e, m->n_vocab, p->req, p->n_req, logits, rows, ll, greedy);
                if (!frc) {
                    ir.n_req = p->n_req;
                    if (!(ir.ll = ll_calloc((size_t)p->n_req, sizeof *ir.ll)) || !(ir.greedy = ll_calloc((size_t)p->n_req, sizeof *ir.greedy)) ||
                        !(ir.n_cont = ll_calloc((size_t)p->n_req, sizeof *ir.n_cont)))
                        frc = -1;
                    for (int r = 0; !frc && r < p->n_req; r++) ir.ll[r] = ll[r], ir.greedy[r] = greedy[r], ir.n_cont[r] = p->req[r].n_cont;
                    if (!frc) frc = ll_eval_item_score(&t, p->item, &ir);
                }
            }
            ll_engine_reuse(e, NULL);
        }
        if (frc) {
            ll_eval_item_result_free(&ir);
            ll_fail_prefix("%s item %d (%s:%ld), %s: ", t.name, p->item, t.path, t.items[p->item].line, p->plan);
            goto done;
        }
        double dt = ll_now() - t0;
        ll_store_prompt sp;
        memset(&sp, 0, sizeof sp);
        snprintf(sp.task, sizeof sp.task, "%s", t.name);
        snprintf(sp.plan, sizeof sp.plan, "%s", p->plan);
        snprintf(sp.cond, sizeof sp.cond, "%s", p->cond < 0 ? "base" : ll_geo_condition_names[p->cond]);
        sp.item = p->item, sp.k = p->k, sp.n_tokens = p->n, sp.ids = p->ids;
        sp.n_layers = L, sp.id_rel = idr, sp.id_abs = ida, sp.n_states = L + 1, sp.dim = D, sp.states = states;
        int src = ll_store_begin(s);
        if (!src) src = ll_store_put_item(s, t.name, p->item, p->plan, &ir, dt);
        if (!src) src = ll_store_put_prompt(s, &sp);
        if (!src) src = ll_store_add_progress(s, "seconds", dt);
        if (!src) src = ll_store_commit(s);
        if (src) ll_store_rollback(s);
        ll_eval_item_result_free(&ir);
        if (src) goto done;
        done_n++;
    }
    if (o->progress) o->progress(o->progress_ctx, B.n_prompts, B.n_prompts, "done");
    rc = 0;
done:
    for (int i = 0; i < B.n_prompts; i++) prompt_free(&B.P[i]);
    free(B.P);
    free(B.base);
    free(B.fixed);
    free(B.normal);
    ll_engine_free(e);
    ll_probe_free(pr);
    ll_reuse_free(rec);
    ll_order_free(&full);
    free(logits);
    free(states);
    free(idr);
    free(ida);
    ll_eval_task_free(&t);
    return rc;
}

/* ---- export ---- */

typedef struct {
    ll_store *s;
    FILE *f;
    bool header;
    int rc;
} exp_t;

static int export_row(void *ctx, const ll_store_prompt *p) {
    exp_t *x = ctx;
    if (!x->header) {
        fputs("task,item,k,condition,plan,n_tokens,ids,correct,exact_match_strict,exact_match_flexible", x->f);
        for (int l = 0; l < p->n_layers; l++) fprintf(x->f, ",id_%d", l);
        for (int l = 0; l < p->n_layers; l++) fprintf(x->f, ",abs_id_%d", l);
        fputc('\n', x->f);
        x->header = true;
    }
    ll_eval_item_result ir;
    if (ll_store_get_items(x->s, p->task, p->plan, &p->item, 1, &ir)) return -1;
    ll_eval_task shape;
    ll_eval_task_shape(p->task, &shape);
    bool gen = shape.kind == LL_EVAL_GEN;
    fprintf(x->f, "%s,%d,%d,%s,%s,%d,", p->task, p->item, p->k, p->cond, p->plan, p->n_tokens);
    for (int i = 0; i < p->n_tokens; i++) fprintf(x->f, i ? " %d" : "%d", (int)p->ids[i]);
    if (gen) fprintf(x->f, ",%d,%d,%d", (int)ir.em_flexible, (int)ir.em_strict, (int)ir.em_flexible);
    else fprintf(x->f, ",%d,,", (int)ir.acc);
    for (int l = 0; l < p->n_layers; l++) fprintf(x->f, ",%.17g", p->id_rel[l]);
    for (int l = 0; l < p->n_layers; l++) fprintf(x->f, ",%.17g", p->id_abs[l]);
    fputc('\n', x->f);
    ll_eval_item_result_free(&ir);
    return 0;
}

int ll_geometry_export(ll_store *s, const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/prompts.csv", dir);
    ll_out o;
    if (ll_out_open(&o, path, false)) return -1;
    exp_t x = {s, o.f, false, 0};
    int rc = ll_store_each_prompt(s, false, export_row, &x);
    if (ll_out_close(&o, rc == 0) || rc) return -1;
    ll_geo_analysis a;
    if (ll_geometry_analyze(s, 1000, 0, &a)) return -1;
    rc = ll_geometry_write_analysis(&a, dir);
    ll_geo_analysis_free(&a);
    return rc;
}
