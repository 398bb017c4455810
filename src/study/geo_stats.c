/* geo_stats.c — the geometry study's analyses (geo_stats.h). */
#include "study/geo_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eval/eval.h"
#include "io/files.h"
#include "io/json.h"
#include "probe/idim.h"
#include "util/err.h"
#include "util/pyrandom.h"

/* ---- statistics ---- */

double ll_stat_pearson(const double *x, const double *y, int n) {
    if (n < 2) return NAN;
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= n, my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b, sxx += a * a, syy += b * b;
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

/* Inverts the p x p matrix a (row-major) in place by Gauss–Jordan with partial pivoting; -1 if singular. */
static int invert(double *a, int p) {
    double inv[16] = {0};
    for (int i = 0; i < p; i++) inv[i * p + i] = 1;
    for (int c = 0; c < p; c++) {
        int piv = c;
        for (int r = c + 1; r < p; r++)
            if (fabs(a[r * p + c]) > fabs(a[piv * p + c])) piv = r;
        if (!(fabs(a[piv * p + c]) > 1e-300)) return -1;
        for (int j = 0; j < p; j++) {
            double t = a[c * p + j]; a[c * p + j] = a[piv * p + j]; a[piv * p + j] = t;
            t = inv[c * p + j]; inv[c * p + j] = inv[piv * p + j]; inv[piv * p + j] = t;
        }
        double d = a[c * p + c];
        for (int j = 0; j < p; j++) a[c * p + j] /= d, inv[c * p + j] /= d;
        for (int r = 0; r < p; r++) {
            if (r == c) continue;
            double f = a[r * p + c];
            for (int j = 0; j < p; j++) a[r * p + j] -= f * a[c * p + j], inv[r * p + j] -= f * inv[c * p + j];
        }
    }
    memcpy(a, inv, (size_t)p * p * sizeof *a);
    return 0;
}

int ll_stat_logistic(const double *const *x, int p, const double *y, int n, double *b, double *se) {
    int q = p + 1;
    for (int j = 0; j < q; j++) b[j] = 0, se[j] = NAN;
    if (p < 0 || p > 3 || n <= q) goto fail;
    for (int it = 0; it < 100; it++) {
        double H[16] = {0}, g[4] = {0};
        for (int i = 0; i < n; i++) {
            double row[4] = {1, 0, 0, 0}, eta = b[0];
            for (int j = 0; j < p; j++) row[j + 1] = x[j][i], eta += b[j + 1] * x[j][i];
            double pr = 1 / (1 + exp(-eta)), w = pr * (1 - pr);
            for (int a = 0; a < q; a++) {
                g[a] += row[a] * (y[i] - pr);
                for (int c = 0; c < q; c++) H[a * q + c] += w * row[a] * row[c];
            }
        }
        if (invert(H, q)) goto fail;
        double step = 0;
        for (int a = 0; a < q; a++) {
            double d = 0;
            for (int c = 0; c < q; c++) d += H[a * q + c] * g[c];
            b[a] += d;
            step = fabs(d) > step ? fabs(d) : step;
        }
        for (int a = 0; a < q; a++)
            if (!isfinite(b[a]) || fabs(b[a]) > 50) goto fail;   /* separation: the likelihood has no maximum */
        if (step < 1e-10) {
            /* the standard errors at the optimum */
            double H2[16] = {0};
            for (int i = 0; i < n; i++) {
                double row[4] = {1, 0, 0, 0}, eta = b[0];
                for (int j = 0; j < p; j++) row[j + 1] = x[j][i], eta += b[j + 1] * x[j][i];
                double pr = 1 / (1 + exp(-eta)), w = pr * (1 - pr);
                for (int a = 0; a < q; a++)
                    for (int c = 0; c < q; c++) H2[a * q + c] += w * row[a] * row[c];
            }
            if (invert(H2, q)) goto fail;
            for (int a = 0; a < q; a++) se[a] = sqrt(H2[a * q + a]);
            return 0;
        }
    }
fail:
    for (int j = 0; j < q && j < 4; j++) b[j] = NAN, se[j] = NAN;
    return -1;
}

static double mean_of(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return n ? s / n : NAN;
}

/* the standardized copy of v (NULL when v is constant) */
static double *zscore(const double *v, int n) {
    double m = mean_of(v, n), ss = 0;
    for (int i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    double sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
    if (!(sd > 0)) return NULL;
    double *z = ll_malloc((size_t)n * sizeof *z);
    if (z)
        for (int i = 0; i < n; i++) z[i] = (v[i] - m) / sd;
    return z;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- the data ---- */

typedef struct {
    int item, k, cond;        /* cond -1: the base prompt */
    int n_tokens;
    double *rel, *abs_;       /* [L] */
    float *states;            /* [L + 1][D] */
    double correct;
} obs_t;

typedef struct {
    ll_store *s;
    obs_t *v;
    int n, cap, L, D;
} load_t;

static int cond_index(const char *c) {
    for (int i = 0; i < LL_GEO_N_CONDITIONS; i++)
        if (!strcmp(c, ll_geo_condition_names[i])) return i;
    return -1;
}

static int load_cb(void *ctx, const ll_store_prompt *p) {
    load_t *L = ctx;
    if (L->n == L->cap) {
        int cap = L->cap ? L->cap * 2 : 256;
        obs_t *nv = ll_realloc(L->v, (size_t)cap * sizeof *nv);
        if (!nv) return -1;
        L->v = nv, L->cap = cap;
    }
    if (L->L && (p->n_layers != L->L || p->dim != L->D)) return ll_fail("prompts of different shapes in one store");
    L->L = p->n_layers, L->D = p->dim;
    obs_t *o = &L->v[L->n];
    memset(o, 0, sizeof *o);
    o->item = p->item, o->k = p->k, o->n_tokens = p->n_tokens;
    o->cond = strcmp(p->cond, "base") ? cond_index(p->cond) : -1;
    if (strcmp(p->cond, "base") && o->cond < 0) return ll_fail("prompt %s: unknown condition '%s'", p->plan, p->cond);
    size_t ns = (size_t)p->n_states * p->dim;
    if (!(o->rel = ll_malloc((size_t)p->n_layers * sizeof *o->rel)) || !(o->abs_ = ll_malloc((size_t)p->n_layers * sizeof *o->abs_)) ||
        !(o->states = ll_malloc(ns * sizeof *o->states))) {
        free(o->rel);
        free(o->abs_);
        return -1;
    }
    memcpy(o->rel, p->id_rel, (size_t)p->n_layers * sizeof *o->rel);
    memcpy(o->abs_, p->id_abs, (size_t)p->n_layers * sizeof *o->abs_);
    memcpy(o->states, p->states, ns * sizeof *o->states);
    ll_eval_item_result ir;
    if (ll_store_get_items(L->s, p->task, p->plan, &p->item, 1, &ir)) return -1;
    ll_eval_task shape;
    ll_eval_task_shape(p->task, &shape);
    o->correct = shape.kind == LL_EVAL_GEN ? ir.em_flexible : ir.acc;
    ll_eval_item_result_free(&ir);
    L->n++;
    return 0;
}

void ll_geo_analysis_free(ll_geo_analysis *a) {
    for (int b = 0; a->blocks && b < a->n_blocks; b++) {
        ll_geo_block *k = &a->blocks[b];
        double *all[] = {k->mean_c, k->ci_c, k->mean_w, k->ci_w, k->r, k->r_lo, k->r_hi, k->b_id, k->se_id, k->p_id,
                         k->b_tok, k->se_tok, k->p_tok, k->partial};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    }
    free(a->blocks);
    free(a->profile_base);
    free(a->profile);
    free(a->twonn_base);
    free(a->twonn);
    memset(a, 0, sizeof *a);
}

/* One block's statistics over the observations obs[0..n) (their ΔID per layer dx[i][L], Δtokens dt[i]). */
static int block_stats(ll_geo_block *B, int L, double *const *dx, const double *dt, const double *y, int n, int iters,
                       uint64_t seed) {
    double **arrs[] = {&B->mean_c, &B->ci_c, &B->mean_w, &B->ci_w, &B->r, &B->r_lo, &B->r_hi, &B->b_id, &B->se_id,
                       &B->p_id, &B->b_tok, &B->se_tok, &B->p_tok, &B->partial};
    for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++) {
        if (!(*arrs[i] = ll_malloc((size_t)L * sizeof(double)))) return -1;
        for (int l = 0; l < L; l++) (*arrs[i])[l] = NAN;
    }
    B->n = n;
    B->n_correct = 0;
    for (int i = 0; i < n; i++) B->n_correct += y[i] > 0.5;
    B->r_tokens = ll_stat_pearson(dt, y, n);
    double *x = ll_malloc((size_t)(n ? n : 1) * sizeof *x), *rb = ll_malloc((size_t)(iters > 0 ? iters : 1) * L * sizeof *rb);
    double *xb = ll_malloc((size_t)(n ? n : 1) * sizeof *xb), *yb = ll_malloc((size_t)(n ? n : 1) * sizeof *yb);
    int *idx = ll_malloc((size_t)(n ? n : 1) * sizeof *idx);
    double *ztok = zscore(dt, n);
    int rc = x && rb && xb && yb && idx ? 0 : -1;
    for (int l = 0; !rc && l < L; l++) {
        for (int i = 0; i < n; i++) x[i] = dx[i][l];
        double sc = 0, sw = 0, qc = 0, qw = 0;
        int nc = 0, nw = 0;
        for (int i = 0; i < n; i++) {
            if (y[i] > 0.5) sc += x[i], qc += x[i] * x[i], nc++;
            else sw += x[i], qw += x[i] * x[i], nw++;
        }
        if (nc) B->mean_c[l] = sc / nc;
        if (nw) B->mean_w[l] = sw / nw;
        if (nc > 1) B->ci_c[l] = 1.96 * sqrt(fmax(0, (qc - sc * sc / nc) / (nc - 1)) / nc);
        if (nw > 1) B->ci_w[l] = 1.96 * sqrt(fmax(0, (qw - sw * sw / nw) / (nw - 1)) / nw);
        B->r[l] = ll_stat_pearson(x, y, n);
        double *zx = zscore(x, n);
        if (zx && ztok) {
            const double *cols[2] = {zx, ztok};
            double b[3], se[3];
            if (!ll_stat_logistic(cols, 2, y, n, b, se)) {
                B->b_id[l] = b[1], B->se_id[l] = se[1], B->p_id[l] = erfc(fabs(b[1] / se[1]) / sqrt(2.0));
                B->b_tok[l] = b[2], B->se_tok[l] = se[2], B->p_tok[l] = erfc(fabs(b[2] / se[2]) / sqrt(2.0));
            }
            double rxy = B->r[l], rxz = ll_stat_pearson(x, dt, n), ryz = B->r_tokens;
            double den = sqrt((1 - rxz * rxz) * (1 - ryz * ryz));
            if (den > 0) B->partial[l] = (rxy - rxz * ryz) / den;
        }
        free(zx);
    }
    /* bootstrap: the same resample of observations for every layer */
    ll_pyrng g;
    ll_pyrng_seed(&g, seed);
    for (int b = 0; !rc && b < iters && n > 1; b++) {
        for (int i = 0; i < n; i++) idx[i] = (int)ll_pyrng_randbelow(&g, (uint32_t)n);
        for (int l = 0; l < L; l++) {
            for (int i = 0; i < n; i++) xb[i] = dx[idx[i]][l], yb[i] = y[idx[i]];
            rb[(size_t)l * iters + b] = ll_stat_pearson(xb, yb, n);
        }
    }
    for (int l = 0; !rc && l < L && iters > 0 && n > 1; l++) {
        double *v = rb + (size_t)l * iters;
        int m = 0;
        for (int b = 0; b < iters; b++)
            if (isfinite(v[b])) v[m++] = v[b];   /* a resample with one class only has no correlation */
        if (m < iters / 2) continue;
        qsort(v, (size_t)m, sizeof *v, cmp_d);
        B->r_lo[l] = v[(int)floor(0.025 * (m - 1))];
        B->r_hi[l] = v[(int)ceil(0.975 * (m - 1))];
    }
    /* % correct per ΔID bin at the last layer and at L-2 (0-based: the penultimate layer): quintile edges */
    for (int w = 0; !rc && w < 2; w++) {
        int l = L - 1 - w;
        if (l < 0) l = 0;
        B->bin_layer[w] = l;
        for (int i = 0; i < n; i++) x[i] = dx[i][l];
        memcpy(xb, x, (size_t)n * sizeof *x);
        qsort(xb, (size_t)n, sizeof *xb, cmp_d);
        for (int e = 0; e <= LL_GEO_BINS; e++) B->edges[w][e] = n ? xb[e == LL_GEO_BINS ? n - 1 : (int)((long)e * n / LL_GEO_BINS)] : NAN;
        for (int i = 0; i < n; i++) {
            int bin = 0;
            while (bin < LL_GEO_BINS - 1 && x[i] >= B->edges[w][bin + 1]) bin++;
            B->count[w][bin]++;
            B->n_right[w][bin] += y[i] > 0.5;
        }
    }
    free(x);
    free(rb);
    free(xb);
    free(yb);
    free(idx);
    free(ztok);
    return rc;
}

/* TwoNN of the last-token states after entry e over the observations obs[sel[0..n)] */
static double twonn_of(const obs_t *obs, const int *sel, int n, int e, int D) {
    if (n < 4) return NAN;
    double *X = ll_malloc((size_t)n * D * sizeof *X);
    if (!X) return NAN;
    for (int i = 0; i < n; i++)
        for (int d = 0; d < D; d++) X[(size_t)i * D + d] = obs[sel[i]].states[(size_t)e * D + d];
    ll_idim r;
    int k = n - 2 < 20 ? n - 2 : 20;
    double v = ll_idim_compute(X, n, D, k, 0.05, &r) ? NAN : r.twonn;
    if (!isfinite(v)) ll_clear_error();
    free(X);
    return v;
}

int ll_geometry_analyze(ll_store *s, int iters, uint64_t seed, ll_geo_analysis *a) {
    memset(a, 0, sizeof *a);
    a->iters = iters, a->seed = seed;
    load_t Ld = {s, NULL, 0, 0, 0, 0};
    int rc = ll_store_each_prompt(s, true, load_cb, &Ld);
    obs_t *O = Ld.v;
    int N = Ld.n, L = Ld.L, D = Ld.D;
    int *base = NULL, *sel = NULL;
    double **dx = NULL, *dt = NULL, *y = NULL;
    if (rc) goto done;
    if (!N) { rc = ll_fail("the store holds no prompts yet"); goto done; }
    a->L = L, a->D = D;
    /* the base prompt of each observation (the rows come ordered by item, k: base first) */
    rc = -1;
    if (!(base = ll_malloc((size_t)N * sizeof *base)) || !(sel = ll_malloc((size_t)N * sizeof *sel)) ||
        !(dx = ll_calloc((size_t)N, sizeof *dx)) || !(dt = ll_malloc((size_t)N * sizeof *dt)) || !(y = ll_malloc((size_t)N * sizeof *y)))
        goto done;
    int last_base = -1;
    for (int i = 0; i < N; i++) {
        if (O[i].cond < 0) last_base = i, a->n_questions++, a->n_wrong0 += O[i].correct < 0.5;
        base[i] = last_base >= 0 && O[last_base].item == O[i].item ? last_base : -1;
        if (O[i].cond >= 0) {
            bool have = false;
            for (int q = 0; q < a->n_k; q++) have |= a->ks[q] == O[i].k;
            if (!have && a->n_k < LL_GEO_MAX_K) a->ks[a->n_k++] = O[i].k;
        }
    }
    for (int i = 1; i < a->n_k; i++)
        for (int j = i; j > 0 && a->ks[j] < a->ks[j - 1]; j--) { int t = a->ks[j]; a->ks[j] = a->ks[j - 1]; a->ks[j - 1] = t; }
    int K = a->n_k;
    /* accuracy, tokens, ID profile per (condition, k) */
    if (!(a->profile_base = ll_calloc((size_t)L, sizeof(double))) || !(a->profile = ll_calloc((size_t)4 * (K ? K : 1) * L, sizeof(double))) ||
        !(a->twonn_base = ll_malloc((size_t)(L + 1) * sizeof(double))) || !(a->twonn = ll_malloc((size_t)4 * (K ? K : 1) * (L + 1) * sizeof(double))))
        goto done;
    for (int c = 0; c < 4; c++)
        for (int q = 0; q < K; q++) {
            int n = 0;
            double acc = 0, tok = 0;
            for (int i = 0; i < N; i++) {
                if (O[i].cond != c || O[i].k != a->ks[q]) continue;
                sel[n++] = i;
                acc += O[i].correct, tok += O[i].n_tokens;
                for (int l = 0; l < L; l++) a->profile[((size_t)c * K + q) * L + l] += O[i].rel[l];
            }
            a->n_acc[c][q] = n;
            a->acc[c][q] = n ? acc / n : NAN;
            a->tokens[c][q] = n ? tok / n : NAN;
            for (int l = 0; l < L; l++) a->profile[((size_t)c * K + q) * L + l] = n ? a->profile[((size_t)c * K + q) * L + l] / n : NAN;
            for (int e = 0; e <= L; e++) a->twonn[((size_t)c * K + q) * (L + 1) + e] = twonn_of(O, sel, n, e, D);
        }
    {
        int n = 0;
        double acc = 0, tok = 0;
        for (int i = 0; i < N; i++)
            if (O[i].cond < 0) {
                sel[n++] = i, acc += O[i].correct, tok += O[i].n_tokens;
                for (int l = 0; l < L; l++) a->profile_base[l] += O[i].rel[l];
            }
        a->base_acc = n ? acc / n : NAN;
        a->base_tokens = n ? tok / n : NAN;
        for (int l = 0; l < L; l++) a->profile_base[l] = n ? a->profile_base[l] / n : NAN;
        for (int e = 0; e <= L; e++) a->twonn_base[e] = twonn_of(O, sel, n, e, D);
    }
    /* the blocks: condition x threshold x (all questions, wrong at 0 shots) */
    if (!(a->blocks = ll_calloc(16, sizeof *a->blocks))) goto done;
    for (int i = 0; i < N; i++)
        if (!(dx[i] = ll_malloc((size_t)L * sizeof **dx))) goto done;
    for (int c = 0; c < 4; c++)
        for (int thr = 0; thr < 2; thr++)
            for (int sub = 0; sub < 2; sub++) {
                int n = 0;
                for (int i = 0; i < N; i++) {
                    if (O[i].cond != c || base[i] < 0) continue;
                    const obs_t *b = &O[base[i]];
                    if (sub && b->correct > 0.5) continue;
                    for (int l = 0; l < L; l++) dx[n][l] = thr ? O[i].abs_[l] - b->abs_[l] : O[i].rel[l] - b->rel[l];
                    dt[n] = O[i].n_tokens - b->n_tokens;
                    y[n] = O[i].correct;
                    n++;
                }
                if (!n) continue;
                ll_geo_block *B = &a->blocks[a->n_blocks++];
                B->cond = c, B->thr = thr, B->subset = sub;
                if (block_stats(B, L, dx, dt, y, n, iters, seed + (uint64_t)(c * 4 + thr * 2 + sub))) goto done;
            }
    rc = 0;
done:
    for (int i = 0; i < N; i++) {
        free(O[i].rel);
        free(O[i].abs_);
        free(O[i].states);
        if (dx) free(dx[i]);
    }
    free(O);
    free(base);
    free(sel);
    free(dx);
    free(dt);
    free(y);
    if (rc) ll_geo_analysis_free(a);
    return rc;
}

/* ---- JSON ---- */

static cJSON *arr(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

int ll_geometry_write_analysis(const ll_geo_analysis *a, const char *dir) {
    int L = a->L, K = a->n_k;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "layers", L);
    cJSON_AddNumberToObject(j, "questions", a->n_questions);
    cJSON_AddNumberToObject(j, "wrong_at_0_shots", a->n_wrong0);
    cJSON_AddItemToObject(j, "shots", cJSON_CreateIntArray(a->ks, K));
    cJSON_AddNumberToObject(j, "bootstrap_iters", a->iters);
    cJSON *base = cJSON_AddObjectToObject(j, "base");
    cJSON_AddNumberToObject(base, "accuracy", a->base_acc);
    cJSON_AddNumberToObject(base, "tokens", a->base_tokens);
    cJSON_AddItemToObject(base, "id_profile", arr(a->profile_base, L));
    cJSON_AddItemToObject(base, "twonn", arr(a->twonn_base, L + 1));
    cJSON *conds = cJSON_AddObjectToObject(j, "conditions");
    for (int c = 0; c < 4; c++) {
        bool any = false;
        for (int q = 0; q < K; q++) any |= a->n_acc[c][q] > 0;
        if (!any) continue;
        cJSON *o = cJSON_AddObjectToObject(conds, ll_geo_condition_names[c]);
        cJSON *ks = cJSON_AddArrayToObject(o, "by_k");
        for (int q = 0; q < K; q++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "k", a->ks[q]);
            cJSON_AddNumberToObject(e, "prompts", a->n_acc[c][q]);
            cJSON_AddItemToObject(e, "accuracy", isfinite(a->acc[c][q]) ? cJSON_CreateNumber(a->acc[c][q]) : cJSON_CreateNull());
            cJSON_AddItemToObject(e, "tokens", isfinite(a->tokens[c][q]) ? cJSON_CreateNumber(a->tokens[c][q]) : cJSON_CreateNull());
            cJSON_AddItemToObject(e, "id_profile", arr(a->profile + ((size_t)c * K + q) * L, L));
            cJSON_AddItemToObject(e, "twonn", arr(a->twonn + ((size_t)c * K + q) * (L + 1), L + 1));
            cJSON_AddItemToArray(ks, e);
        }
        cJSON *bl = cJSON_AddArrayToObject(o, "analyses");
        for (int b = 0; b < a->n_blocks; b++) {
            const ll_geo_block *B = &a->blocks[b];
            if (B->cond != c) continue;
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "threshold", B->thr ? "absolute" : "relative");
            cJSON_AddStringToObject(e, "questions", B->subset ? "wrong_at_0_shots" : "all");
            cJSON_AddNumberToObject(e, "n", B->n);
            cJSON_AddNumberToObject(e, "correct", B->n_correct);
            cJSON_AddItemToObject(e, "r_tokens", isfinite(B->r_tokens) ? cJSON_CreateNumber(B->r_tokens) : cJSON_CreateNull());
            const char *names[] = {"delta_id_correct", "ci95_correct", "delta_id_wrong", "ci95_wrong", "r", "r_lo", "r_hi",
                                   "logit_b_delta_id", "logit_se_delta_id", "logit_p_delta_id", "logit_b_delta_tokens",
                                   "logit_se_delta_tokens", "logit_p_delta_tokens", "partial_r_given_tokens"};
            const double *vals[] = {B->mean_c, B->ci_c, B->mean_w, B->ci_w, B->r, B->r_lo, B->r_hi, B->b_id, B->se_id,
                                    B->p_id, B->b_tok, B->se_tok, B->p_tok, B->partial};
            for (size_t i = 0; i < sizeof names / sizeof *names; i++) cJSON_AddItemToObject(e, names[i], arr(vals[i], L));
            cJSON *bins = cJSON_AddArrayToObject(e, "bins");
            for (int w = 0; w < 2; w++) {
                cJSON *bw = cJSON_CreateObject();
                cJSON_AddNumberToObject(bw, "layer", B->bin_layer[w]);
                cJSON_AddItemToObject(bw, "edges", arr(B->edges[w], LL_GEO_BINS + 1));
                cJSON_AddItemToObject(bw, "count", cJSON_CreateIntArray(B->count[w], LL_GEO_BINS));
                cJSON_AddItemToObject(bw, "correct", cJSON_CreateIntArray(B->n_right[w], LL_GEO_BINS));
                cJSON_AddItemToArray(bins, bw);
            }
            cJSON_AddItemToArray(bl, e);
        }
    }
    char *txt = ll_json_exact_numbers(j) ? NULL : cJSON_Print(j);
    cJSON_Delete(j);
    if (!txt) return ll_fail("out of memory");
    char path[4200];
    snprintf(path, sizeof path, "%s/analysis.json", dir);
    ll_out o;
    int rc = ll_out_open(&o, path, false);
    if (!rc) {
        fputs(txt, o.f);
        fputc('\n', o.f);
        rc = ll_out_close(&o, true);
    }
    free(txt);
    return rc;
}
