/* report.c — the Painters study's report: DIR/report.html (one self-contained page, inline SVG, no scripts)
 * and every figure as DIR/figures/NAME.svg, all from the store. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "io/files.h"
#include "study/painters.h"
#include "study/page.h"
#include "study/svg.h"
#include "util/err.h"

typedef struct {
    ll_score_row *rows;
    int n;
} scores_t;

static const char *const GRID_VARIANTS[] = {"skip", "middle_repeat", "reverse", "random", "parallel", "looped_parallel"};
enum { N_GV = 6 };

/* the value of (variant, s, task, metric) for grid plans; random: the seed mean row for aggregates */
static const ll_score_row *get(const scores_t *S, const char *grp, const char *variant, int s, int seed, int k,
                               const char *task, const char *metric) {
    for (int i = 0; i < S->n; i++) {
        const ll_score_row *r = &S->rows[i];
        if (strcmp(r->grp, grp) || strcmp(r->variant, variant) || r->s != s || strcmp(r->task, task) ||
            strcmp(r->metric, metric))
            continue;
        if (seed != -2 && r->seed != seed) continue;
        if (k >= 0 && r->k != k) continue;
        return r;
    }
    return NULL;
}

/* the distinct s of the grid, descending (M ascending) */
static int grid_starts(const scores_t *S, int *out, int max) {
    int n = 0;
    for (int i = 0; i < S->n; i++) {
        const ll_score_row *r = &S->rows[i];
        if (strcmp(r->grp, "grid") || r->s < 0) continue;
        bool have = false;
        for (int j = 0; j < n; j++) have |= out[j] == r->s;
        if (!have && n < max) out[n++] = r->s;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && out[j] > out[j - 1]; j--) { int t = out[j]; out[j] = out[j - 1]; out[j - 1] = t; }
    return n;
}

static int m_of(int L, int s) { return L - 2 * s - 1; }

/* The aggregate (median / mean normalised) of a grid variant at s; random: the mean over seeds. */
static double agg(const scores_t *S, const char *variant, int s, const char *which) {
    const ll_score_row *r = strcmp(variant, "random") ? get(S, "grid", variant, s, -2, -1, which, "normalised")
                                                     : get(S, "grid", "random", s, -1, -1, which, "normalised");
    return r ? r->value : NAN;
}

static int n_layers_of(ll_store *s) {
    ll_store_plan *plans;
    int np, L = 0;
    if (ll_store_list_plans(s, &plans, &np)) return 0;
    for (int i = 0; i < np; i++) {
        if (!strcmp(plans[i].grp, "grid") && plans[i].s >= 0 && plans[i].m > 0) L = plans[i].m + 2 * plans[i].s + 1;
        if (!strcmp(plans[i].variant, "skip_one") && plans[i].s + 1 > L) L = plans[i].s + 1;
    }
    free(plans);
    return L;
}

/* mean over the grid's s of a variant's median normalised score */
static double mean_over_m(const scores_t *S, const char *variant, const int *starts, int ns) {
    double sum = 0;
    int k = 0;
    for (int i = 0; i < ns; i++) {
        double v = agg(S, variant, starts[i], "median");
        if (isfinite(v)) sum += v, k++;
    }
    return k ? sum / k : NAN;
}

/* How variant a's value compares with b's: ">" or "<" when they are more than two standard errors of their
 * difference apart (paired bootstrap, ll_painters_compare), else "≈"; with the difference and its error. */
static const char *rel(const ll_painters_cmp *C, int a, int b, char *buf, size_t n) {
    double d = C->mean[a] - C->mean[b], se = C->diff_se[a][b];
    if (!isfinite(d)) return "?";
    const char *op = !isfinite(se) ? (d > 0 ? ">" : "<") : fabs(d) <= 2 * se ? "≈" : d > 0 ? ">" : "<";
    if (isfinite(se)) snprintf(buf, n, "%s (difference %+.3f ± %.3f)", op, d, se);
    else snprintf(buf, n, "%s", op);
    return buf;
}

/* +1: a beats b beyond two standard errors; -1: the reverse; 0: not told apart */
static int beats(const ll_painters_cmp *C, int a, int b) {
    double d = C->mean[a] - C->mean[b], se = C->diff_se[a][b];
    if (!isfinite(d)) return 0;
    if (isfinite(se) && fabs(d) <= 2 * se) return 0;
    return d > 0 ? 1 : -1;
}

static void cosine_figs(ll_page *P, ll_store *s, int L) {
    int s0 = L / 2 - 3 > 0 ? L / 2 - 3 : 0;
    char plans[3][32];
    snprintf(plans[0], sizeof plans[0], "full");
    snprintf(plans[1], sizeof plans[1], "skip:%d", s0);
    snprintf(plans[2], sizeof plans[2], "middle_repeat:%d", s0);
    ll_series var[6];
    double *vx[6] = {0}, *vy[6] = {0};
    int nv = 0;
    char vnames[6][160];
    for (int p = 0; p < 3; p++) {
        char name[160];
        snprintf(name, sizeof name, "cosine:%s", plans[p]);
        bool found;
        char *txt = ll_store_get_analysis(s, name, &found);
        if (!found) continue;
        cJSON *j = cJSON_Parse(txt);
        free(txt);
        if (!j) continue;
        const char *parts[2] = {"all_positions", "without_first"}, *kinds[2] = {"flat", "token"};
        const cJSON *src = cJSON_GetObjectItem(j, "source");   /* absent: the decoders' LAMBADA batches */
        const char *source = cJSON_IsString(src) ? src->valuestring : "first LAMBADA items in right-padded batches of 8";
        for (int a = 0; a < 2; a++) {
            cJSON *v = cJSON_GetObjectItem(j, parts[a]);
            if (!v) continue;
            for (int k = 0; k < 2; k++) {
                cJSON *mat = cJSON_GetObjectItem(v, kinds[k]);
                int S = cJSON_GetArraySize(mat);
                if (S <= 0) continue;
                double *m = calloc((size_t)S * S, sizeof *m), *ax = calloc((size_t)S, sizeof *ax);
                if (!m || !ax) { free(m); free(ax); continue; }
                for (int r = 0; r < S; r++) {
                    ax[r] = r;
                    cJSON *row = cJSON_GetArrayItem(mat, r);
                    for (int c = 0; c < S; c++) {
                        cJSON *x = cJSON_GetArrayItem(row, c);
                        m[(size_t)r * S + c] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
                    }
                }
                char fname[160], title[200], cap[512];
                snprintf(fname, sizeof fname, "cosine_%s_%s_%s", plans[p], kinds[k], a ? "nofirst" : "all");
                for (char *c = fname; *c; c++) if (*c == ':') *c = '_';
                snprintf(title, sizeof title, "Cosine similarity (%s, %s%s)", plans[p], kinds[k], a ? ", position 0 left out" : "");
                snprintf(cap, sizeof cap, "Mean cosine similarity between hidden states (0 = embedding output, e = after "
                         "entry e), %s; %s; %s.", source,
                         k ? "per token, averaged over tokens" : "each sample's states flattened (the paper's recipe)",
                         a ? "the first position (the attention sink) left out" : "all positions");
                ll_sbuf b = {0};
                ll_svg_heatmap(&b, title, "state", "state", m, S, S, NAN, 1.0, ax, ax);
                ll_page_figure(P, fname, cap, &b);
                free(m);
                free(ax);
            }
            cJSON *vv = cJSON_GetObjectItem(v, "variance");
            int S = cJSON_GetArraySize(vv);
            if (S > 0 && nv < 6) {
                vx[nv] = calloc((size_t)S, sizeof(double));
                vy[nv] = calloc((size_t)S, sizeof(double));
                if (vx[nv] && vy[nv]) {
                    for (int i = 0; i < S; i++) {
                        vx[nv][i] = i;
                        cJSON *x = cJSON_GetArrayItem(vv, i);
                        vy[nv][i] = cJSON_IsNumber(x) && x->valuedouble > 0 ? log10(x->valuedouble) : NAN;
                    }
                    snprintf(vnames[nv], sizeof vnames[nv], "%s%s", plans[p], a ? " (no pos 0)" : "");
                    var[nv] = (ll_series){vnames[nv], vx[nv], vy[nv], S, NULL, NULL};
                    nv++;
                }
            }
        }
        cJSON_Delete(j);
    }
    if (nv)
        ll_page_lines(P, "variance", "Hidden-state variance per state", "state", "log10 variance", var, nv,
                  "Variance of the hidden state over all positions and dimensions, per state (the paper's A.4).", NAN, NAN);
    for (int i = 0; i < nv; i++) { free(vx[i]); free(vy[i]); }
}

int ll_painters_report(ll_store *s, const char *dir, const char *command, double elapsed) {
    scores_t S = {0};
    if (ll_painters_scores(s, &S.rows, &S.n)) return -1;
    char fdir[4200];
    snprintf(fdir, sizeof fdir, "%s/figures", dir);
    if (mkdir(fdir, 0777) != 0 && errno != EEXIST) { free(S.rows); return ll_fail("cannot create '%s': %s", fdir, strerror(errno)); }
    ll_page P = {{0}, dir, 0, 0};
    int L = n_layers_of(s);
    int starts[256], ns = grid_starts(&S, starts, 256);
    double xs[256];
    for (int i = 0; i < ns; i++) xs[i] = m_of(L, starts[i]);
    ll_page_begin(&P, "Transformer Layers as Painters: layerlab report", "Transformer Layers as Painters &mdash; reproduced with layerlab");
    ll_page_provenance(&P, s, command);
    ll_sb_printf(&P.html, "<tr><th>layers</th><td style=\"text-align:left\">%d</td></tr>", L);
    ll_sb_printf(&P.html, "<tr><th>compute</th><td style=\"text-align:left\">%.0f s over %ld item results%s</td></tr></table>\n",
                 ll_store_get_progress(s, "seconds"), ll_store_count_items(s, NULL, NULL),
                 isfinite(elapsed) ? "" : " (report made from the store)");
    /* flagged tasks */
    ll_sb_printf(&P.html, "<h2>Tasks</h2><table><tr><th>task</th><th>full model</th><th>stderr</th><th>chance</th><th>n</th><th>used in the median</th></tr>");
    for (int i = 0; i < S.n; i++) {
        const ll_score_row *r = &S.rows[i];
        if (strcmp(r->plan, "full") || !strcmp(r->task, "median") || !strcmp(r->task, "mean") || !isfinite(r->chance)) continue;
        bool prim = !strcmp(r->metric, !strcmp(r->task, "gsm8k") ? "exact_match_flexible" : "acc");
        if (!prim) continue;
        ll_sb_printf(&P.html, "<tr><td>%s %s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%d</td><td%s>%s</td></tr>",
                     r->task, r->metric, r->value, r->stderr_, r->chance, r->n, r->flagged ? " class=\"flag\"" : "",
                     r->flagged ? "no: within 2 stderr of chance" : "yes");
    }
    ll_sb_printf(&P.html, "</table><p>Normalised score = (metric &minus; chance) / (full &minus; chance); a task on which "
                          "the full model is within 2 standard errors of chance is left out of the median and mean.</p>\n");
    /* Fig 11 */
    ll_sb_printf(&P.html, "<h2>Figures</h2>\n");
    ll_series se[N_GV + 1];
    double ys[N_GV + 1][256];
    int nse = 0;
    for (int v = 0; v < N_GV; v++) {
        bool any = false;
        for (int i = 0; i < ns; i++) {
            ys[nse][i] = agg(&S, GRID_VARIANTS[v], starts[i], "median");
            any |= isfinite(ys[nse][i]);
        }
        if (any) se[nse] = (ll_series){GRID_VARIANTS[v], xs, ys[nse], ns, NULL, NULL}, nse++;
    }
    ll_page_lines(&P, "median_vs_m", "Median normalised score vs affected layers", "number of affected layers M",
              "median normalised score", se, nse,
              "The paper's Fig. 11: median over tasks of the normalised score, one line per variant (random: mean over seeds).",
              NAN, NAN);
    /* per task */
    char **tasks = NULL;
    int nt = 0;
    ll_store_list_tasks(s, &tasks, &nt);
    for (int t = 0; t < nt; t++) {
        const char *metric = !strcmp(tasks[t], "gsm8k") ? "exact_match_flexible" : "acc";
        double yt[N_GV][256];
        ll_series st[N_GV];
        int n = 0;
        for (int v = 0; v < N_GV; v++) {
            bool any = false;
            for (int i = 0; i < ns; i++) {
                double sum = 0;
                int k = 0;
                for (int q = 0; q < S.n; q++) {
                    const ll_score_row *r = &S.rows[q];
                    if (strcmp(r->grp, "grid") || strcmp(r->variant, GRID_VARIANTS[v]) || r->s != starts[i] ||
                        strcmp(r->task, tasks[t]) || strcmp(r->metric, metric) || !isfinite(r->value))
                        continue;
                    sum += r->value;
                    k++;
                }
                yt[n][i] = k ? sum / k : NAN;
                any |= k > 0;
            }
            if (any) st[n] = (ll_series){GRID_VARIANTS[v], xs, yt[n], ns, NULL, NULL}, n++;
        }
        char name[64], title[128], cap[256];
        snprintf(name, sizeof name, "task_%s", tasks[t]);
        snprintf(title, sizeof title, "%s: %s vs affected layers", tasks[t], metric);
        const ll_score_row *full = get(&S, "grid", "full", -1, -2, -1, tasks[t], metric);
        snprintf(cap, sizeof cap, "%s %s per variant (random: mean over seeds); the full model scores %.4f%s.", tasks[t],
                 metric, full ? full->value : NAN, full && full->flagged ? " (within 2 stderr of chance)" : "");
        ll_page_lines(&P, name, title, "number of affected layers M", metric, st, n, cap, NAN, NAN);
    }
    /* single skip / switch */
    {
        double sx[2][256], sy[2][256];
        int cnt[2] = {0, 0};
        for (int q = 0; q < S.n; q++) {
            const ll_score_row *r = &S.rows[q];
            if (strcmp(r->grp, "single") || strcmp(r->task, "lambada_openai") || strcmp(r->metric, "acc")) continue;
            int v = !strcmp(r->variant, "switch");
            if (cnt[v] < 256) sx[v][cnt[v]] = r->s, sy[v][cnt[v]++] = r->value;
        }
        if (cnt[0] || cnt[1]) {
            ll_series ss[2] = {{"skip layer i", sx[0], sy[0], cnt[0], NULL, NULL}, {"switch layers i, i+1", sx[1], sy[1], cnt[1], NULL, NULL}};
            const ll_score_row *full = get(&S, "grid", "full", -1, -2, -1, "lambada_openai", "acc");
            char cap[256];
            snprintf(cap, sizeof cap, "The paper's Fig. 2: LAMBADA accuracy with one layer skipped or two adjacent layers "
                     "switched (full model: %.4f).", full ? full->value : NAN);
            ll_page_lines(&P, "single_lambada_acc", "LAMBADA accuracy: single skip and switch", "layer i", "accuracy", ss, 2, cap, NAN, NAN);
        }
    }
    /* looped-parallel grid: M x k of the median normalised score */
    {
        int K = 0;
        for (int q = 0; q < S.n; q++)
            if (!strcmp(S.rows[q].grp, "loops") && S.rows[q].k > K) K = S.rows[q].k;
        if (K > 0 && ns > 0) {
            double *g = malloc((size_t)ns * K * sizeof *g), *kv = malloc((size_t)K * sizeof *kv);
            if (g && kv) {
                for (int k = 0; k < K; k++) kv[k] = k + 1;
                for (int i = 0; i < ns; i++)
                    for (int k = 0; k < K; k++) {
                        const ll_score_row *r = get(&S, "loops", "looped_parallel", starts[i], -2, k + 1, "median", "normalised");
                        if (!r) r = get(&S, "grid", "looped_parallel", starts[i], -2, k + 1, "median", "normalised");
                        if (!r && k == 0) r = get(&S, "grid", "parallel", starts[i], -2, -1, "median", "normalised");
                        g[(size_t)i * K + k] = r ? r->value : NAN;
                    }
                ll_sbuf b = {0};
                ll_svg_heatmap(&b, "Looped parallel: median normalised score", "loops k", "affected layers M", g, ns, K, NAN, NAN,
                               kv, xs);
                ll_page_figure(&P, "looped_parallel_grid", "The paper's Fig. 10: looped parallel with k loops over M middle layers.", &b);
            }
            free(g);
            free(kv);
        }
    }
    cosine_figs(&P, s, L);
    /* the table */
    ll_sb_printf(&P.html, "<h2>Median normalised score</h2><table><tr><th>s</th><th>M</th>");
    for (int v = 0; v < N_GV; v++) ll_sb_printf(&P.html, "<th>%s</th>", GRID_VARIANTS[v]);
    ll_sb_printf(&P.html, "</tr>");
    for (int i = 0; i < ns; i++) {
        ll_sb_printf(&P.html, "<tr><td>%d</td><td>%d</td>", starts[i], m_of(L, starts[i]));
        for (int v = 0; v < N_GV; v++) {
            double x = agg(&S, GRID_VARIANTS[v], starts[i], "median");
            if (isfinite(x)) ll_sb_printf(&P.html, "<td>%.3f</td>", x);
            else ll_sb_printf(&P.html, "<td>&ndash;</td>");
        }
        ll_sb_printf(&P.html, "</tr>");
    }
    ll_sb_printf(&P.html, "</table>\n");
    /* perplexity table: the finished perplexities; while the windows still run, every plan's perplexity over
     * the windows all of them have finished (window-major order: they advance together) */
    double pp;
    long long tok, at_w = -1, n_w = 0, n_grid = 0;
    bool have_ppl = ll_store_get_ppl(s, "full", NULL, &pp, &tok) == 1;
    if (!have_ppl) {
        ll_store_plan *pl;
        int npl;
        if (!ll_store_list_plans(s, &pl, &npl)) {
            long long wmin = -2;
            for (int i = 0; i < npl; i++) {
                if (strcmp(pl[i].grp, "grid")) continue;
                n_grid++;
                long long w;
                double tt, sec;
                long long sc;
                int k = ll_store_last_ppl_window(s, pl[i].plan, &w, &tt, &sc, &sec);
                if (k != 1) { wmin = -1; break; }
                if (wmin == -2 || w < wmin) wmin = w;
            }
            free(pl);
            n_w = (long long)ll_store_get_progress(s, "total_ppl_windows");
            if (wmin >= 0) {
                double tt;
                at_w = wmin;
                have_ppl = ll_store_get_ppl_window(s, "full", at_w, &tt, &tok) == 1 && tok > 0;
                if (have_ppl) pp = exp(tt / (double)tok);
            }
        }
        ll_clear_error();
    }
    if (have_ppl) {
        ll_sb_printf(&P.html, "<h2>Perplexity</h2><p>Full model: %.4g over %lld tokens.", pp, tok);
        if (at_w >= 0)
            ll_sb_printf(&P.html, " <b>Partial:</b> every plan over the first %lld windows, the ones all plans have "
                                  "finished (%lld windows in all per plan; the study resumes the rest).", at_w + 1,
                         n_grid > 0 ? n_w / n_grid : 0);
        ll_sb_printf(&P.html, "</p><table><tr><th>s</th><th>M</th>");
        for (int v = 0; v < N_GV; v++) ll_sb_printf(&P.html, "<th>%s</th>", GRID_VARIANTS[v]);
        ll_sb_printf(&P.html, "</tr>");
        for (int i = 0; i < ns; i++) {
            ll_sb_printf(&P.html, "<tr><td>%d</td><td>%d</td>", starts[i], m_of(L, starts[i]));
            for (int v = 0; v < N_GV; v++) {
                char spec[64];
                if (v == 3) snprintf(spec, sizeof spec, "random:%d:0", starts[i]);
                else if (v == 5) {
                    const ll_score_row *r = get(&S, "grid", "looped_parallel", starts[i], -2, -1, "median", "normalised");
                    snprintf(spec, sizeof spec, "%s", r ? r->plan : "");
                } else snprintf(spec, sizeof spec, "%s:%d", GRID_VARIANTS[v], starts[i]);
                double tt, x = NAN;
                long long sc;
                if (at_w < 0 && ll_store_get_ppl(s, spec, NULL, &x, NULL) != 1) x = NAN;
                if (at_w >= 0 && (ll_store_get_ppl_window(s, spec, at_w, &tt, &sc) != 1 || sc <= 0)) x = NAN;
                else if (at_w >= 0) x = exp(tt / (double)sc);
                if (isfinite(x)) ll_sb_printf(&P.html, "<td>%.4g</td>", x);
                else ll_sb_printf(&P.html, "<td>&ndash;</td>");
            }
            ll_sb_printf(&P.html, "</tr>");
        }
        ll_sb_printf(&P.html, "</table><p>random: seed 0.</p>\n");
    }
    /* the paper's answers, from this run's data */
    ll_sb_printf(&P.html, "<h2>The paper's answers, checked on this model</h2>\n");
    ll_painters_cmp C;
    if (ll_painters_compare(s, 1000, 20240709, &C)) { free(S.rows); ll_sb_free(&P.html); return -1; }
    ll_page_para(&P, "The comparisons use each variant's median normalised score over tasks, averaged over M (random: the "
             "mean over seeds at each M). The ± is the standard error of the difference between two variants, from "
             "a paired bootstrap over items (%d resamples of each task's items, the same draw for every plan); two "
             "variants closer than two standard errors are written ≈ and are not told apart.", C.iters);
    ll_sb_printf(&P.html, "<ol>\n");
    double mv[N_GV];
    for (int v = 0; v < N_GV; v++) {
        mv[v] = mean_over_m(&S, GRID_VARIANTS[v], starts, ns);
        if (isfinite(C.mean[v])) mv[v] = C.mean[v];
        else C.mean[v] = mv[v];
    }
    char b1[96], b2[96];
    int smax = ns ? starts[0] : -1;
    double skip_small = smax >= 0 ? agg(&S, "skip", smax, "median") : NAN;
    double rep_small = smax >= 0 ? agg(&S, "middle_repeat", smax, "median") : NAN;
    ll_sb_printf(&P.html, "<li>");
    {
        const char *nm = "cosine:full";
        bool found;
        char *txt = ll_store_get_analysis(s, nm, &found);
        cJSON *j = found ? cJSON_Parse(txt) : NULL;
        free(txt);
        double in_all = NAN, in_nf = NAN;
        for (int a = 0; j && a < 2; a++) {
            cJSON *mat = cJSON_GetObjectItem(cJSON_GetObjectItem(j, a ? "without_first" : "all_positions"), "flat");
            int Sn = cJSON_GetArraySize(mat);
            double sum = 0;
            int k = 0;
            for (int r = Sn / 4; r < 3 * Sn / 4; r++)
                for (int c = Sn / 4; c < 3 * Sn / 4; c++) {
                    cJSON *x = cJSON_GetArrayItem(cJSON_GetArrayItem(mat, r), c);
                    if (cJSON_IsNumber(x) && r != c) sum += x->valuedouble, k++;
                }
            if (a) in_nf = k ? sum / k : NAN;
            else in_all = k ? sum / k : NAN;
        }
        cJSON_Delete(j);
        ll_page_para(&P, "Same representation space in the middle? Mean flattened cosine between the middle half's states: %.3f "
                 "with all positions, %.3f without position 0. %s", in_all, in_nf,
             !isfinite(in_all) ? "(no cosine analysis in this run)"
             : in_nf < in_all - 0.2 ? "The paper's recipe is dominated by the first token here; without it the middle "
                                      "states are much less alike, so the 'shared space' evidence is weaker than the "
                                      "flattened recipe suggests."
                                    : "Both views agree.");
    }
    ll_sb_printf(&P.html, "</li><li>");
    ll_page_para(&P, "All layers necessary? Skipping the %d middle layers keeps a median normalised score of %.3f: %s.",
         smax >= 0 ? m_of(L, smax) : 0, skip_small,
         !isfinite(skip_small) ? "not measured" : skip_small > 0.7 ? "no, as the paper found" : "this model needs them more than Llama2-7B does");
    ll_sb_printf(&P.html, "</li><li>");
    int mr = beats(&C, 1, 0);
    ll_page_para(&P, "Do the middle layers do the same thing? Repeating the centre layer M times scores %.3f at the smallest M "
             "(skip: %.3f); mean over M: middle_repeat %.3f %s skip %.3f: %s.", rep_small, skip_small, mv[1],
         rel(&C, 1, 0, b1, sizeof b1), mv[0],
         !isfinite(mv[1]) ? "not measured" : mr < 0 ? "no, weight sharing is worse than removing the layers, as in the paper"
         : mr == 0 ? "repeating and skipping are not told apart here; the paper found repeating clearly worse"
                   : "repeating is better than skipping here, unlike the paper");
    ll_sb_printf(&P.html, "</li><li>");
    int rr = beats(&C, 3, 2), rs = beats(&C, 2, 0);
    ll_page_para(&P, "Does the order matter? Mean over M: random %.3f %s reverse %.3f; reverse %s skip %.3f: %s.", mv[3],
         rel(&C, 3, 2, b1, sizeof b1), mv[2], rel(&C, 2, 0, b2, sizeof b2), mv[0],
         !isfinite(mv[2]) || !isfinite(mv[3]) ? "not measured"
         : rr > 0 && rs > 0 ? "somewhat; random > reverse > skip, as in the paper"
         : rr > 0 ? "somewhat; random beats reverse as in the paper, but reverse does not beat skip"
         : rr == 0 ? "random and reverse are not told apart here (the paper: random > reverse)"
                   : "the ranking differs from the paper's (random > reverse)");
    ll_sb_printf(&P.html, "</li><li>");
    int ps = beats(&C, 4, 0);
    ll_page_para(&P, "Can the middle layers run in parallel? Mean over M: parallel %.3f %s skip %.3f: %s.", mv[4],
         rel(&C, 4, 0, b1, sizeof b1), mv[0],
         !isfinite(mv[4]) ? "not measured" : ps > 0 ? "yes, better than skipping them, as in the paper"
         : ps == 0 ? "no better than skipping them here" : "worse than skipping them here, unlike the paper");
    ll_sb_printf(&P.html, "</li><li>");
    {
        /* per task, the reordered variants' normalised score averaged over M (random: over seeds too), on the
         * primary metric of the tasks the aggregates use; the lowest is where order matters most */
        char task_n[LL_PAINTERS_MAX_TASKS][32];
        double sum[LL_PAINTERS_MAX_TASKS][2] = {{0}};
        int cnt[LL_PAINTERS_MAX_TASKS][2] = {{0}}, nt = 0;
        for (int q = 0; q < S.n; q++) {
            const ll_score_row *r = &S.rows[q];
            int w = !strcmp(r->variant, "reverse") ? 0 : !strcmp(r->variant, "random") ? 1 : -1;
            if (w < 0 || strcmp(r->grp, "grid") || r->flagged || !isfinite(r->normalised) || !strcmp(r->task, "median") ||
                !strcmp(r->task, "mean") || strcmp(r->metric, !strcmp(r->task, "gsm8k") ? "exact_match_flexible" : "acc"))
                continue;
            int t = 0;
            while (t < nt && strcmp(task_n[t], r->task)) t++;
            if (t == nt) {
                if (nt == LL_PAINTERS_MAX_TASKS) continue;
                snprintf(task_n[nt++], sizeof task_n[0], "%s", r->task);
            }
            sum[t][w] += r->normalised;
            cnt[t][w]++;
        }
        char list[512] = "";
        int lo = -1, hi = -1;
        double mean_t[LL_PAINTERS_MAX_TASKS];
        for (int t = 0; t < nt; t++) {
            double a = cnt[t][0] ? sum[t][0] / cnt[t][0] : NAN, b = cnt[t][1] ? sum[t][1] / cnt[t][1] : NAN;
            mean_t[t] = isfinite(a) && isfinite(b) ? (a + b) / 2 : isfinite(a) ? a : b;
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s %.3f / %.3f", t ? ", " : "", task_n[t], a, b);
            if (!isfinite(mean_t[t])) continue;
            if (lo < 0 || mean_t[t] < mean_t[lo]) lo = t;
            if (hi < 0 || mean_t[t] > mean_t[hi]) hi = t;
        }
        bool reasoning_lo = lo >= 0 && (!strcmp(task_n[lo], "gsm8k") || !strncmp(task_n[lo], "arc_", 4));
        bool any_reasoning = false;
        for (int t = 0; t < nt; t++) any_reasoning |= !strcmp(task_n[t], "gsm8k") || !strncmp(task_n[t], "arc_", 4);
        if (lo >= 0 && nt > 1)
            ll_page_para(&P, "Does the order matter more for some tasks? Normalised score averaged over M, reverse / random: %s. "
                             "Hurt most: %s (%.3f); least: %s (%.3f). The paper: more on math and reasoning (GSM8K, ARC) than on "
                             "semantic tasks (HellaSwag, WinoGrande): %s (no error bars: a per-task difference of a few "
                             "hundredths is within the items' noise).",
                         list, task_n[lo], mean_t[lo], task_n[hi], mean_t[hi],
                         !any_reasoning ? "no reasoning task in this run to compare"
                         : reasoning_lo ? "a reasoning task is hurt most here too" : "not on this model: a reasoning task is not the one hurt most");
        else
            ll_page_para(&P, "Does the order matter more for some tasks? Needs two or more tasks above chance (have %d).", nt);
    }
    ll_sb_printf(&P.html, "</li><li>");
    int lp = beats(&C, 5, 4);
    ll_page_para(&P, "Does looping help parallel? Mean over M: looped parallel %.3f %s parallel %.3f: %s.", mv[5],
         rel(&C, 5, 4, b1, sizeof b1), mv[4],
         !isfinite(mv[5]) ? "not measured" : lp > 0 ? "yes, as in the paper"
         : lp == 0 ? "not told apart here (the paper: yes)" : "no, looping hurts here, unlike the paper");
    ll_sb_printf(&P.html, "</li><li>");
    {
        int best = -1, worst = -1;
        for (int v = 0; v < N_GV; v++) {
            if (!isfinite(mv[v])) continue;
            if (best < 0 || mv[v] > mv[best]) best = v;
            if (worst < 0 || mv[v] < mv[worst]) worst = v;
        }
        ll_page_para(&P, "Least harmful variant? Highest mean over M: %s (%.3f); lowest: %s (%.3f). The paper: repeating one layer "
                 "is worst, random order and looped parallel least damaging.", best >= 0 ? GRID_VARIANTS[best] : "-",
             best >= 0 ? mv[best] : NAN, worst >= 0 ? GRID_VARIANTS[worst] : "-", worst >= 0 ? mv[worst] : NAN);
    }
    ll_sb_printf(&P.html, "</li></ol>\n<p>Every number on this page is in <code>scores.csv</code>, recomputed from "
                          "<code>results.sqlite</code> by <code>layerlab study export</code>.</p></body></html>\n");
    int rc = P.err || P.html.err ? ll_fail("out of memory or write error making the report") : 0;
    if (!rc) {
        char path[4300];
        snprintf(path, sizeof path, "%s/report.html", dir);
        rc = ll_page_write(path, P.html.s);
    }
    ll_sb_free(&P.html);
    for (int t = 0; t < nt; t++) free(tasks[t]);
    free(tasks);
    free(S.rows);
    return rc;
}
