/* scores.c — the Painters study's scores, recomputed from the store's item results, and their export. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "io/files.h"
#include "io/json.h"
#include "study/painters.h"
#include "util/err.h"
#include "util/pyrandom.h"

/* The metric the aggregates over tasks use. */
static const char *primary_metric(const ll_eval_task *t) {
    return t->kind == LL_EVAL_GEN ? "exact_match_flexible" : "acc";
}

typedef struct {
    ll_score_row *v;
    int n, cap;
} rows_t;

static ll_score_row *row_add(rows_t *R) {
    if (R->n == R->cap) {
        int cap = R->cap ? R->cap * 2 : 256;
        ll_score_row *nv = ll_realloc(R->v, (size_t)cap * sizeof *nv);
        if (!nv) return NULL;
        R->v = nv;
        R->cap = cap;
    }
    ll_score_row *r = &R->v[R->n++];
    memset(r, 0, sizeof *r);
    r->value = r->stderr_ = r->chance = r->normalised = NAN;
    return r;
}

static void row_plan(ll_score_row *r, const ll_store_plan *p) {
    snprintf(r->plan, sizeof r->plan, "%s", p->plan);
    snprintf(r->variant, sizeof r->variant, "%s", p->variant);
    snprintf(r->grp, sizeof r->grp, "%s", p->grp);
    r->s = p->s, r->m = p->m, r->seed = p->seed, r->k = p->k;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* the median of v[0..n) (sorted in place), NAN when n == 0 */
static double median(double *v, int n) {
    if (!n) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const ll_score_row *find(const rows_t *R, const char *plan, const char *task, const char *metric) {
    for (int i = 0; i < R->n; i++)
        if (!strcmp(R->v[i].plan, plan) && !strcmp(R->v[i].task, task) && !strcmp(R->v[i].metric, metric)) return &R->v[i];
    return NULL;
}

typedef struct {
    const char *name;
    double v, se;
    bool normalise;
} metric_t;

int ll_painters_scores(ll_store *s, ll_score_row **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    ll_store_plan *plans = NULL;
    char **tasks = NULL;
    int np = 0, nt = 0, rc = -1;
    rows_t R = {0};
    if (ll_store_list_plans(s, &plans, &np) || ll_store_list_tasks(s, &tasks, &nt)) goto done;
    /* 1. every metric of every (plan, task) with results */
    for (int p = 0; p < np; p++) {
        for (int t = 0; t < nt; t++) {
            int *ids = NULL, n = 0;
            if (ll_store_item_ids(s, tasks[t], plans[p].plan, &ids, &n)) goto done;
            if (!n) { free(ids); continue; }
            ll_eval_task shape;
            ll_eval_task_shape(tasks[t], &shape);
            ll_eval_results r;
            memset(&r, 0, sizeof r);
            r.n = n;
            if (!(r.items = ll_calloc((size_t)n, sizeof *r.items)) ||
                ll_store_get_items(s, tasks[t], plans[p].plan, ids, n, r.items)) {
                free(r.items);
                free(ids);
                goto done;
            }
            double chance = 0;
            if (shape.kind == LL_EVAL_MC) {
                for (int i = 0; i < n; i++) chance += r.items[i].n_req > 0 ? 1.0 / r.items[i].n_req : 0;
                chance /= n;
            }
            int arc = ll_eval_aggregate(&shape, &r, 100000);
            ll_eval_results agg = r;   /* the aggregates; the items go now */
            agg.items = NULL;
            ll_eval_results_free(&r);
            free(ids);
            if (arc) goto done;
            r = agg;
            metric_t ms[3];
            int nm = 0;
            if (shape.kind == LL_EVAL_GEN) {
                ms[nm++] = (metric_t){"exact_match_strict", r.em_strict, r.em_strict_stderr, true};
                ms[nm++] = (metric_t){"exact_match_flexible", r.em_flexible, r.em_flexible_stderr, true};
            } else {
                ms[nm++] = (metric_t){"acc", r.acc, r.acc_stderr, true};
                if (shape.has_acc_norm) ms[nm++] = (metric_t){"acc_norm", r.acc_norm, r.acc_norm_stderr, true};
                if (shape.kind == LL_EVAL_LOGLIK) ms[nm++] = (metric_t){"perplexity", r.ppl, r.ppl_stderr, false};
            }
            for (int k = 0; k < nm; k++) {
                ll_score_row *row = row_add(&R);
                if (!row) goto done;
                row_plan(row, &plans[p]);
                snprintf(row->task, sizeof row->task, "%s", tasks[t]);
                snprintf(row->metric, sizeof row->metric, "%s", ms[k].name);
                row->value = ms[k].v;
                row->stderr_ = ms[k].se;
                row->chance = ms[k].normalise ? chance : NAN;
                row->n = n;
            }
        }
    }
    /* 2. normalised against the full model; a task on which the full model is within 2 standard errors of
     * chance is flagged (its normalised score means nothing) */
    for (int i = 0; i < R.n; i++) {
        ll_score_row *row = &R.v[i];
        const ll_score_row *full = find(&R, "full", row->task, row->metric);
        ll_eval_task shape;
        ll_eval_task_shape(row->task, &shape);
        const ll_score_row *fp = find(&R, "full", row->task, primary_metric(&shape));
        if (fp) {
            double se = isfinite(fp->stderr_) ? fp->stderr_ : 0;
            row->flagged = fabs(fp->value - fp->chance) <= 2 * se;
        }
        if (full && isfinite(row->chance) && full->value != row->chance)
            row->normalised = (row->value - row->chance) / (full->value - row->chance);
    }
    /* 3. per plan: median and mean over the tasks that are not flagged, of the primary metric normalised */
    int n_base = R.n;
    for (int p = 0; p < np; p++) {
        double v[LL_PAINTERS_MAX_TASKS * 4];
        int k = 0;
        for (int i = 0; i < n_base; i++) {
            const ll_score_row *row = &R.v[i];
            ll_eval_task shape;
            ll_eval_task_shape(row->task, &shape);
            if (strcmp(row->plan, plans[p].plan) || strcmp(row->metric, primary_metric(&shape)) || row->flagged ||
                !isfinite(row->normalised) || k >= (int)(sizeof v / sizeof *v))
                continue;
            v[k++] = row->normalised;
        }
        if (!k) continue;
        double mean = 0;
        for (int i = 0; i < k; i++) mean += v[i];
        mean /= k;
        const char *names[2] = {"median", "mean"};
        double vals[2] = {median(v, k), mean};
        for (int a = 0; a < 2; a++) {
            ll_score_row *row = row_add(&R);
            if (!row) goto done;
            row_plan(row, &plans[p]);
            snprintf(row->task, sizeof row->task, "%s", names[a]);
            snprintf(row->metric, sizeof row->metric, "normalised");
            row->value = row->normalised = vals[a];
            row->n = k;
        }
    }
    /* 4. random order: the mean over seeds of each plan-level aggregate, with its min and max */
    int n_agg = R.n;
    for (int p = 0; p < np; p++) {
        if (strcmp(plans[p].variant, "random") || plans[p].seed != 0) continue;
        for (int a = 0; a < 2; a++) {
            const char *agg = a ? "mean" : "median";
            double sum = 0, mn = INFINITY, mx = -INFINITY;
            int k = 0;
            for (int i = 0; i < n_agg; i++) {
                const ll_score_row *row = &R.v[i];
                if (strcmp(row->variant, "random") || row->s != plans[p].s || strcmp(row->task, agg)) continue;
                sum += row->value;
                mn = row->value < mn ? row->value : mn;
                mx = row->value > mx ? row->value : mx;
                k++;
            }
            if (!k) continue;
            const char *mnames[3] = {"normalised", "normalised_min", "normalised_max"};
            double mv[3] = {sum / k, mn, mx};
            for (int q = 0; q < 3; q++) {
                ll_score_row *row = row_add(&R);
                if (!row) goto done;
                row_plan(row, &plans[p]);
                snprintf(row->plan, sizeof row->plan, "random:%d:mean", plans[p].s);
                row->seed = -1;
                snprintf(row->task, sizeof row->task, "%s", agg);
                snprintf(row->metric, sizeof row->metric, "%s", mnames[q]);
                row->value = row->normalised = mv[q];
                row->n = k;
            }
        }
    }
    *out = R.v;
    *n_out = R.n;
    R.v = NULL;
    rc = 0;
done:
    free(R.v);
    free(plans);
    for (int t = 0; t < nt; t++) free(tasks[t]);
    free(tasks);
    return rc;
}

/* ---- variants compared, with a paired bootstrap over items ---- */

/* One grid plan's primary metric per item of each unflagged task, aligned with the full model's items. */
typedef struct {
    int v, s;                 /* variant index, start */
    double *x[LL_PAINTERS_MAX_TASKS];
} cmp_plan;

int ll_painters_compare(ll_store *s, int iters, uint64_t seed, ll_painters_cmp *out) {
    memset(out, 0, sizeof *out);
    for (int v = 0; v < LL_PV_COUNT; v++) {
        out->mean[v] = out->se[v] = NAN;
        for (int w = 0; w < LL_PV_COUNT; w++) out->diff_se[v][w] = NAN;
    }
    out->iters = iters;
    ll_score_row *rows = NULL;
    ll_store_plan *plans = NULL;
    int nr = 0, np = 0, rc = -1, nt = 0, ncp = 0;
    char task[LL_PAINTERS_MAX_TASKS][32];
    int n_of[LL_PAINTERS_MAX_TASKS] = {0}, *ids[LL_PAINTERS_MAX_TASKS] = {0};
    double chance[LL_PAINTERS_MAX_TASKS], *fullx[LL_PAINTERS_MAX_TASKS] = {0};
    cmp_plan *cp = NULL;
    double *rep = NULL;
    if (ll_painters_scores(s, &rows, &nr) || ll_store_list_plans(s, &plans, &np)) goto done;
    /* the tasks the aggregates use: the full model's primary-metric rows that are not flagged */
    for (int i = 0; i < nr && nt < LL_PAINTERS_MAX_TASKS; i++) {
        const ll_score_row *r = &rows[i];
        ll_eval_task shape;
        if (strcmp(r->plan, "full") || r->flagged || !isfinite(r->chance)) continue;
        ll_eval_task_shape(r->task, &shape);
        if (strcmp(r->metric, primary_metric(&shape)) || !(r->value != r->chance)) continue;
        snprintf(task[nt], sizeof task[nt], "%s", r->task);
        chance[nt++] = r->chance;
    }
    if (!nt) { rc = 0; goto done; }
    if (!(cp = ll_calloc((size_t)np, sizeof *cp))) goto done;
    /* item values: the full model's, then every grid plan's that has all of the full model's items */
    for (int p = -1; p < np; p++) {
        const char *plan = p < 0 ? "full" : plans[p].plan;
        int v = -1;
        if (p >= 0) {
            if (strcmp(plans[p].grp, "grid")) continue;
            for (int q = 0; q < LL_PV_COUNT; q++)
                if (!strcmp(plans[p].variant, ll_painters_variant_names[q])) v = q;
            if (v < 0) continue;
        }
        cmp_plan *c = p >= 0 ? &cp[ncp] : NULL;
        bool complete = true;
        for (int t = 0; t < nt && complete; t++) {
            if (p < 0 && ll_store_item_ids(s, task[t], "full", &ids[t], &n_of[t])) goto done;
            int n = n_of[t];
            double *x = ll_malloc((size_t)(n ? n : 1) * sizeof *x);
            ll_eval_item_result *ir = ll_calloc((size_t)(n ? n : 1), sizeof *ir);
            if (!x || !ir) { free(x); free(ir); goto done; }
            ll_eval_task shape;
            ll_eval_task_shape(task[t], &shape);
            long have = ll_store_count_items(s, task[t], plan);
            if (have < n || ll_store_get_items(s, task[t], plan, ids[t], n, ir)) {
                complete = false;   /* a plan still running: left out of the comparison */
                ll_clear_error();
            } else
                for (int i = 0; i < n; i++) x[i] = shape.kind == LL_EVAL_GEN ? ir[i].em_flexible : ir[i].acc;
            for (int i = 0; i < n; i++) ll_eval_item_result_free(&ir[i]);
            free(ir);
            if (p < 0) fullx[t] = x;
            else c->x[t] = x;
        }
        if (p >= 0 && complete) {
            c->v = v;
            c->s = plans[p].s;
            ncp++;
        } else if (p >= 0)
            for (int t = 0; t < nt; t++) { free(c->x[t]); c->x[t] = NULL; }
    }
    /* replicate 0 is the data itself; the others draw every task's items with replacement, the same draw for
     * every plan (the plans ran on the same items: differences are paired) */
    int B = iters > 0 ? iters : 0;
    if (!(rep = ll_malloc((size_t)(B + 1) * LL_PV_COUNT * sizeof *rep))) goto done;
    int *w[LL_PAINTERS_MAX_TASKS] = {0};
    for (int t = 0; t < nt; t++)
        if (!(w[t] = ll_malloc((size_t)(n_of[t] ? n_of[t] : 1) * sizeof *w[t]))) {
            for (int u = 0; u < t; u++) free(w[u]);
            goto done;
        }
    ll_pyrng g;
    ll_pyrng_seed(&g, seed);
    for (int b = 0; b <= B; b++) {
        double fullv[LL_PAINTERS_MAX_TASKS];
        for (int t = 0; t < nt; t++) {
            int n = n_of[t];
            for (int i = 0; i < n; i++) w[t][i] = b ? 0 : 1;
            for (int i = 0; b && i < n; i++) w[t][ll_pyrng_randbelow(&g, (uint32_t)n)]++;
            double sum = 0;
            for (int i = 0; i < n; i++) sum += w[t][i] * fullx[t][i];
            fullv[t] = n ? sum / n : NAN;
        }
        /* per plan: the median over tasks of the normalised score; per (variant, s): random's mean over seeds;
         * per variant: the mean over s */
        double vsum[LL_PV_COUNT] = {0};
        int vn[LL_PV_COUNT] = {0};
        for (int v = 0; v < LL_PV_COUNT; v++) {
            for (int q = 0; q < ncp; q++) {
                if (cp[q].v != v) continue;
                bool first = true;   /* the first plan of this (v, s): do the s once */
                for (int r = 0; r < q; r++) first &= !(cp[r].v == v && cp[r].s == cp[q].s);
                if (!first) continue;
                double at_s = 0;
                int k = 0;
                for (int r = q; r < ncp; r++) {
                    if (cp[r].v != v || cp[r].s != cp[q].s) continue;
                    double nv[LL_PAINTERS_MAX_TASKS];
                    int m = 0;
                    for (int t = 0; t < nt; t++) {
                        double sum = 0;
                        for (int i = 0; i < n_of[t]; i++) sum += w[t][i] * cp[r].x[t][i];
                        double den = fullv[t] - chance[t];
                        if (den != 0) nv[m++] = (sum / n_of[t] - chance[t]) / den;
                    }
                    if (m) at_s += median(nv, m), k++;
                }
                if (k) vsum[v] += at_s / k, vn[v]++;
            }
            rep[(size_t)b * LL_PV_COUNT + v] = vn[v] ? vsum[v] / vn[v] : NAN;
        }
    }
    for (int t = 0; t < nt; t++) free(w[t]);
    for (int v = 0; v < LL_PV_COUNT; v++) {
        out->mean[v] = rep[v];
        for (int u = 0; u < LL_PV_COUNT && B > 1; u++) {
            double m1 = 0, m2 = 0;
            int k = 0;
            for (int b = 1; b <= B; b++) {
                double d = rep[(size_t)b * LL_PV_COUNT + v] - (u == v ? 0 : rep[(size_t)b * LL_PV_COUNT + u]);
                if (!isfinite(d)) continue;
                m1 += d, m2 += d * d, k++;
            }
            if (k < 2) continue;
            double var = (m2 - m1 * m1 / k) / (k - 1);
            double sd = sqrt(var > 0 ? var : 0);
            if (u == v) out->se[v] = sd;
            else out->diff_se[v][u] = sd;
        }
    }
    out->n_tasks = nt;
    rc = 0;
done:
    for (int t = 0; t < nt; t++) {
        free(ids[t]);
        free(fullx[t]);
    }
    for (int q = 0; cp && q < np; q++)
        for (int t = 0; t < nt; t++) free(cp[q].x[t]);
    free(cp);
    free(rep);
    free(rows);
    free(plans);
    return rc;
}

/* ---- export ---- */

static void csv_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.17g", v);
}

static void csv_str(FILE *f, const char *s) {
    if (!s) return;
    bool quote = strpbrk(s, ",\"\n\r") != NULL;
    if (!quote) { fputs(s, f); return; }
    fputc('"', f);
    for (const char *c = s; *c; c++) {
        if (*c == '"') fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

int ll_painters_export(ll_store *s, const char *dir) {
    ll_score_row *rows;
    int n;
    if (ll_painters_scores(s, &rows, &n)) return -1;
    char path[4200];
    ll_out o;
    int rc = 0;
    snprintf(path, sizeof path, "%s/scores.csv", dir);
    if ((rc = ll_out_open(&o, path, false))) goto done;
    fputs("plan,variant,group,s,M,seed,k,task,metric,value,stderr,chance,normalised,n,flagged\n", o.f);
    for (int i = 0; i < n; i++) {
        const ll_score_row *r = &rows[i];
        csv_str(o.f, r->plan);
        fprintf(o.f, ",%s,%s,%d,%d,%d,%d,%s,%s,", r->variant, r->grp, r->s, r->m, r->seed, r->k, r->task, r->metric);
        csv_num(o.f, r->value);
        fputc(',', o.f);
        csv_num(o.f, r->stderr_);
        fputc(',', o.f);
        csv_num(o.f, r->chance);
        fputc(',', o.f);
        csv_num(o.f, r->normalised);
        fprintf(o.f, ",%d,%d\n", r->n, r->flagged);
    }
    if ((rc = ll_out_close(&o, true))) goto done;

    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        const ll_score_row *r = &rows[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "plan", r->plan);
        cJSON_AddStringToObject(j, "variant", r->variant);
        cJSON_AddStringToObject(j, "group", r->grp);
        cJSON_AddNumberToObject(j, "s", r->s);
        cJSON_AddNumberToObject(j, "M", r->m);
        cJSON_AddNumberToObject(j, "seed", r->seed);
        cJSON_AddNumberToObject(j, "k", r->k);
        cJSON_AddStringToObject(j, "task", r->task);
        cJSON_AddStringToObject(j, "metric", r->metric);
        cJSON_AddItemToObject(j, "value", num_or_null(r->value));
        cJSON_AddItemToObject(j, "stderr", num_or_null(r->stderr_));
        cJSON_AddItemToObject(j, "chance", num_or_null(r->chance));
        cJSON_AddItemToObject(j, "normalised", num_or_null(r->normalised));
        cJSON_AddNumberToObject(j, "n", r->n);
        cJSON_AddBoolToObject(j, "flagged", r->flagged);
        cJSON_AddItemToArray(a, j);
    }
    char *txt = ll_json_exact_numbers(a) ? NULL : cJSON_Print(a);
    cJSON_Delete(a);
    if (!txt) { rc = ll_fail("out of memory"); goto done; }
    snprintf(path, sizeof path, "%s/scores.json", dir);
    if (!(rc = ll_out_open(&o, path, false))) {
        fputs(txt, o.f);
        fputc('\n', o.f);
        rc = ll_out_close(&o, true);
    }
    free(txt);
    if (rc) goto done;

    /* the per-item rows */
    ll_store_plan *plans = NULL;
    char **tasks = NULL;
    int np = 0, nt = 0;
    if ((rc = ll_store_list_plans(s, &plans, &np)) || (rc = ll_store_list_tasks(s, &tasks, &nt))) goto items_done;
    snprintf(path, sizeof path, "%s/items.csv", dir);
    if ((rc = ll_out_open(&o, path, false))) goto items_done;
    fputs("task,item,plan,n_req,loglikelihoods,is_greedy,pred,pred_norm,acc,acc_norm,exact_match_strict,"
          "exact_match_flexible,n_generated,response\n", o.f);
    for (int p = 0; p < np && !rc; p++)
        for (int t = 0; t < nt && !rc; t++) {
            int *ids = NULL, k = 0;
            if ((rc = ll_store_item_ids(s, tasks[t], plans[p].plan, &ids, &k))) break;
            ll_eval_item_result *it = k ? ll_calloc((size_t)k, sizeof *it) : NULL;
            if (k && (!it || (rc = ll_store_get_items(s, tasks[t], plans[p].plan, ids, k, it)))) {
                if (!it) rc = -1;
                free(it);
                free(ids);
                break;
            }
            for (int i = 0; i < k; i++) {
                const ll_eval_item_result *r = &it[i];
                fprintf(o.f, "%s,%d,", tasks[t], ids[i]);
                csv_str(o.f, plans[p].plan);
                fprintf(o.f, ",%d,\"", r->n_req);
                for (int q = 0; q < r->n_req; q++) fprintf(o.f, "%s%.17g", q ? " " : "", r->ll[q]);
                fputs("\",\"", o.f);
                for (int q = 0; q < r->n_req; q++) fprintf(o.f, "%s%d", q ? " " : "", r->greedy[q]);
                fprintf(o.f, "\",%d,%d,%g,%g,%g,%g,%d,", r->pred, r->pred_norm, r->acc, r->acc_norm, r->em_strict,
                        r->em_flexible, r->n_gen);
                csv_str(o.f, r->response);
                fputc('\n', o.f);
                ll_eval_item_result_free(&it[i]);
            }
            free(it);
            free(ids);
        }
    if (rc) ll_out_close(&o, false);
    else rc = ll_out_close(&o, true);
items_done:
    free(plans);
    for (int t = 0; t < nt; t++) free(tasks[t]);
    free(tasks);
done:
    free(rows);
    return rc;
}
