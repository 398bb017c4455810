/* geo_report.c — the geometry study's report: DIR/report.html and DIR/figures/NAME.svg (geometry.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "probe/idim.h"
#include "study/geo_stats.h"
#include "study/geometry.h"
#include "study/page.h"
#include "util/err.h"


/* fewer correct (or wrong) answers than this: no correlation or regression verdict is drawn */
enum { GEO_MIN_CLASS = 5 };
static const ll_geo_block *block(const ll_geo_analysis *a, int cond, int thr, bool subset) {
    for (int b = 0; b < a->n_blocks; b++)
        if (a->blocks[b].cond == cond && a->blocks[b].thr == thr && a->blocks[b].subset == subset) return &a->blocks[b];
    return NULL;
}

static double at(const double *v, int i) { return v ? v[i] : NAN; }

/* mean ΔID over all of a block's observations at layer l */
static double mean_of_all(const ll_geo_block *B, int l) {
    int nc = B->n_correct, nw = B->n - B->n_correct;
    double s = (nc ? B->mean_c[l] * nc : 0) + (nw ? B->mean_w[l] * nw : 0);
    return B->n ? s / B->n : NAN;
}

/* accuracy of a condition over all its k > 0 prompts */
static double pooled_acc(const ll_geo_analysis *a, int c) {
    double s = 0;
    int n = 0;
    for (int q = 0; q < a->n_k; q++)
        if (a->n_acc[c][q]) s += a->acc[c][q] * a->n_acc[c][q], n += a->n_acc[c][q];
    return n ? s / n : NAN;
}

/* the figures of one condition: ΔID by layer for correct vs wrong, % correct per ΔID bin */
static void condition_figs(ll_page *P, const ll_geo_analysis *a, int c, const double *layers) {
    const char *cn = ll_geo_condition_names[c];
    int L = a->L;
    const ll_geo_block *B = block(a, c, 0, false), *Bs = block(a, c, 0, true);
    if (!B) return;
    char name[64], title[160], cap[512];
    double *lo[2], *hi[2];
    for (int w = 0; w < 2; w++) {
        lo[w] = malloc((size_t)L * sizeof(double));
        hi[w] = malloc((size_t)L * sizeof(double));
    }
    if (lo[0] && lo[1] && hi[0] && hi[1]) {
        for (int l = 0; l < L; l++) {
            lo[0][l] = B->mean_c[l] - B->ci_c[l], hi[0][l] = B->mean_c[l] + B->ci_c[l];
            lo[1][l] = B->mean_w[l] - B->ci_w[l], hi[1][l] = B->mean_w[l] + B->ci_w[l];
        }
        ll_series se[2] = {{"correct", layers, B->mean_c, L, lo[0], hi[0]}, {"wrong", layers, B->mean_w, L, lo[1], hi[1]}};
        snprintf(name, sizeof name, "delta-id-%s", cn);
        snprintf(title, sizeof title, "ΔID by layer, %s examples (the paper's Fig. 8)", cn);
        snprintf(cap, sizeof cap, "Mean ΔID = ID(k examples, %s) − ID(0 examples) at the last prompt token, per layer, "
                                  "for prompts answered correctly (%d) and wrongly (%d), k > 0 pooled; bars: 95%% "
                                  "intervals (1.96 standard errors). Relative threshold.", cn, B->n_correct, B->n - B->n_correct);
        ll_page_lines(P, name, title, "layer", "ΔID", se, 2, cap, NAN, NAN);
    }
    for (int w = 0; w < 2; w++) free(lo[w]), free(hi[w]);
    /* bins: the paper's subset (wrong at 0 shots) when it has observations, else all questions */
    const ll_geo_block *G = Bs && Bs->n ? Bs : B;
    for (int w = 0; w < 2; w++) {
        const char *labels[LL_GEO_BINS], *notes[LL_GEO_BINS];
        char lb[LL_GEO_BINS][48], nb[LL_GEO_BINS][24];
        double pct[LL_GEO_BINS];
        for (int k = 0; k < LL_GEO_BINS; k++) {
            snprintf(lb[k], sizeof lb[k], "%s%g..%g%s", k ? "[" : "[", G->edges[w][k], G->edges[w][k + 1], k == LL_GEO_BINS - 1 ? "]" : ")");
            snprintf(nb[k], sizeof nb[k], "n=%d", G->count[w][k]);
            labels[k] = lb[k], notes[k] = nb[k];
            pct[k] = G->count[w][k] ? 100.0 * G->n_right[w][k] / G->count[w][k] : NAN;
        }
        ll_sbuf b = {0};
        snprintf(title, sizeof title, "%% correct per ΔID bin, layer %d, %s", G->bin_layer[w], cn);
        ll_svg_bars(&b, title, "ΔID bin (quintiles of the observations)", "% correct", labels, pct, notes, LL_GEO_BINS, 0, 100);
        snprintf(name, sizeof name, "bins-%s-layer%d", cn, G->bin_layer[w]);
        snprintf(cap, sizeof cap, "The paper's Fig. %s: %% of prompts answered correctly per ΔID bin at layer %d (%s), over %s "
                                  "(%d prompts); n above each bar. Bin edges are the quintiles of the observed ΔID.",
                 c == 0 ? "6" : "7", G->bin_layer[w], w ? "L−2, the penultimate" : "the last layer",
                 G == Bs ? "the questions answered wrongly at 0 shots" : "all questions", G->n);
        ll_page_figure(P, name, cap, &b);
    }
}

int ll_geometry_report(ll_store *s, const char *dir, const char *command) {
    ll_geo_analysis a;
    if (ll_geometry_analyze(s, 1000, 0, &a)) return -1;
    char fdir[4200];
    snprintf(fdir, sizeof fdir, "%s/figures", dir);
    if (mkdir(fdir, 0777) != 0 && errno != EEXIST) {
        ll_geo_analysis_free(&a);
        return ll_fail("cannot create '%s': %s", fdir, strerror(errno));
    }
    int L = a.L, K = a.n_k;
    ll_page P = {{0}, dir, 0, 0};
    double *layers = malloc((size_t)(L + 1) * sizeof *layers), kx[LL_GEO_MAX_K + 1];
    if (!layers) { ll_geo_analysis_free(&a); return ll_fail("out of memory"); }
    for (int l = 0; l <= L; l++) layers[l] = l;
    kx[0] = 0;
    for (int q = 0; q < K; q++) kx[q + 1] = a.ks[q];
    ll_page_begin(&P, "Reasoning in LLMs: A Geometric Perspective: layerlab report", "Reasoning in Large Language Models: A Geometric Perspective &mdash; with layerlab");
    ll_page_provenance(&P, s, command);
    ll_sb_printf(&P.html, "<tr><th>layers</th><td style=\"text-align:left\">%d</td></tr>"
                          "<tr><th>compute</th><td style=\"text-align:left\">%.0f s over %ld prompts</td></tr>"
                          "<tr><th>base questions</th><td style=\"text-align:left\">%d (%d answered wrongly at 0 shots)</td></tr></table>\n",
                 L, ll_store_get_progress(s, "seconds"), ll_store_count_items(s, NULL, NULL), a.n_questions, a.n_wrong0);
    /* accuracy and tokens */
    ll_sb_printf(&P.html, "<h2>Accuracy and prompt length</h2><table><tr><th>condition</th><th>k</th><th>prompts</th>"
                          "<th>accuracy</th><th>mean tokens</th></tr><tr><td>base</td><td>0</td><td>%d</td><td>%.4f</td><td>%.1f</td></tr>",
                 a.n_questions, a.base_acc, a.base_tokens);
    for (int c = 0; c < 4; c++)
        for (int q = 0; q < K; q++)
            if (a.n_acc[c][q])
                ll_sb_printf(&P.html, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%.4f</td><td>%.1f</td></tr>", ll_geo_condition_names[c],
                             a.ks[q], a.n_acc[c][q], a.acc[c][q], a.tokens[c][q]);
    ll_sb_printf(&P.html, "</table>\n<h2>Figures</h2>\n");
    /* accuracy vs k */
    {
        double ys[4][LL_GEO_MAX_K + 1];
        ll_series se[4];
        int n = 0;
        for (int c = 0; c < 4; c++) {
            bool any = false;
            ys[c][0] = a.base_acc;
            for (int q = 0; q < K; q++) ys[c][q + 1] = a.acc[c][q], any |= a.n_acc[c][q] > 0;
            if (any) se[n++] = (ll_series){ll_geo_condition_names[c], kx, ys[c], K + 1, NULL, NULL};
        }
        ll_page_lines(&P, "accuracy", "Accuracy against the number of examples", "k (examples before the question)",
                      "accuracy", se, n, "Accuracy of the answers per condition and k (k = 0: the base prompt).", NAN, NAN);
    }
    /* the ID profile: base and fixed k */
    {
        ll_series se[LL_GEO_MAX_K + 1];
        char nm[LL_GEO_MAX_K + 1][32];
        se[0] = (ll_series){"0 examples", layers, a.profile_base, L, NULL, NULL};
        int n = 1;
        for (int q = 0; q < K && a.n_acc[0][q]; q++) {
            snprintf(nm[n], sizeof nm[n], "%d fixed examples", a.ks[q]);
            se[n] = (ll_series){nm[n], layers, a.profile + (size_t)q * L, L, NULL, NULL};
            n++;
        }
        ll_page_lines(&P, "id-profile", "Attention-ID at the last prompt token, by layer", "layer", "ID (Eq. 8, relative ε)",
                      se, n, "Mean over the questions of the attention-ID (keys above ε × the row maximum, summed over heads) "
                             "at the prompt's last token. The authors' pattern: layer 0 near-uniform (high), later layers far lower.",
                      0, NAN);
    }
    for (int c = 0; c < 4; c++) condition_figs(&P, &a, c, layers);
    /* r by layer */
    {
        ll_series se[4];
        int n = 0;
        for (int c = 0; c < 4; c++) {
            const ll_geo_block *B = block(&a, c, 0, false);
            if (B) se[n++] = (ll_series){ll_geo_condition_names[c], layers, B->r, L, B->r_lo, B->r_hi};
        }
        ll_page_lines(&P, "r-by-layer", "Correlation of ΔID with a correct answer, by layer", "layer", "point-biserial r",
                      se, n, "Point-biserial r between ΔID and correctness per layer (all questions, k > 0 pooled), with "
                             "percentile bootstrap 95% intervals (1000 resamples). The paper reports no correlation.", NAN, NAN);
    }
    /* the length control */
    {
        double y[4][512];
        ll_series se[4];
        int n = 0;
        for (int c = 0; c < 4 && L <= 512; c++) {
            const ll_geo_block *B = block(&a, c, 0, false);
            if (!B) continue;
            bool any = false;
            for (int l = 0; l < L; l++) y[c][l] = B->b_id[l], any |= isfinite(B->b_id[l]);
            if (any) se[n++] = (ll_series){ll_geo_condition_names[c], layers, y[c], L, NULL, NULL};
        }
        ll_page_lines(&P, "length-control", "ΔID's effect with prompt length held fixed", "layer",
                      "logistic coefficient of z(ΔID)", se, n,
                      "Coefficient of standardized ΔID in a logistic regression of correctness on z(ΔID) and z(Δtokens), "
                      "per layer. A condition whose prompts all add the same number of tokens (one k) has no Δtokens "
                      "variation and no line.", NAN, NAN);
    }
    /* TwoNN */
    {
        ll_series se[LL_GEO_MAX_K + 1];
        char nm[LL_GEO_MAX_K + 1][32];
        se[0] = (ll_series){"0 examples", layers, a.twonn_base, L + 1, NULL, NULL};
        int n = 1;
        for (int q = 0; q < K && a.n_acc[0][q]; q++) {
            snprintf(nm[n], sizeof nm[n], "%d fixed examples", a.ks[q]);
            se[n] = (ll_series){nm[n], layers, a.twonn + (size_t)q * (L + 1), L + 1, NULL, NULL};
            n++;
        }
        ll_page_lines(&P, "twonn", "Manifold view: TwoNN dimension of the last-token states", "state (0 = embedding)",
                      "TwoNN intrinsic dimension", se, n,
                      "TwoNN (Facco et al.; 10% discarded) of the last prompt token's hidden state after each entry, over the "
                      "questions' prompts with the same k (fixed). State 0, the embedding of the prompts' common last token, "
                      "has one distinct point and no dimension.", NAN, NAN);
    }
    /* the region bound of Fig. 3 */
    {
        enum { ND = 64 };
        double dx[ND], r[3][ND];
        const int Ns[3] = {50, 100, 500};
        for (int i = 0; i < ND; i++) {
            dx[i] = i + 1;
            for (int q = 0; q < 3; q++) {
                double lr, lr0;
                ll_regions_bound(Ns[q], i + 1, &lr, &lr0);
                r[q][i] = lr;
            }
        }
        ll_series se[3] = {{"N = 50", dx, r[0], ND, NULL, NULL}, {"N = 100", dx, r[1], ND, NULL, NULL}, {"N = 500", dx, r[2], ND, NULL, NULL}};
        ll_page_lines(&P, "regions-bound", "Regions of a one-hidden-layer MLP (the paper's Fig. 3)", "input intrinsic dimension d",
                      "log10 R(N, d)", se, 3, "Upper bound on the regions N hyperplanes in general position cut R^d into, "
                      "R(N,d) = Σ_{i≤d} C(N,i) (N neurons; the paper plots it without a formula).", NAN, NAN);
    }
    /* the table at the last layer */
    ll_sb_printf(&P.html, "<h2>At the last layer (%d)</h2><table><tr><th>condition</th><th>threshold</th><th>questions</th>"
                          "<th>n</th><th>correct</th><th>mean ΔID correct</th><th>mean ΔID wrong</th><th>r [95%%]</th>"
                          "<th>b ΔID (se, p)</th><th>b Δtokens (se, p)</th><th>partial r | Δtokens</th><th>r(Δtokens, correct)</th></tr>",
                 L - 1);
    for (int b = 0; b < a.n_blocks; b++) {
        const ll_geo_block *B = &a.blocks[b];
        int l = L - 1;
        ll_sb_printf(&P.html, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%.2f</td><td>%.2f</td>"
                              "<td>%.3f [%.3f, %.3f]</td><td>%.3f (%.3f, %.3g)</td><td>%.3f (%.3f, %.3g)</td><td>%.3f</td><td>%.3f</td></tr>",
                     ll_geo_condition_names[B->cond], B->thr ? "absolute" : "relative", B->subset ? "wrong at 0" : "all", B->n,
                     B->n_correct, at(B->mean_c, l), at(B->mean_w, l), at(B->r, l), at(B->r_lo, l), at(B->r_hi, l),
                     at(B->b_id, l), at(B->se_id, l), at(B->p_id, l), at(B->b_tok, l), at(B->se_tok, l), at(B->p_tok, l),
                     at(B->partial, l), B->r_tokens);
    }
    ll_sb_printf(&P.html, "</table><p>nan: not defined for these data (one class only, or Δtokens constant).</p>\n");
    /* the paper's claims */
    ll_sb_printf(&P.html, "<h2>The paper's claims, checked on this model</h2><ol>\n");
    const ll_geo_block *F = block(&a, 0, 0, false), *Fs = block(&a, 0, 0, true), *N = block(&a, 2, 0, false),
                       *Pm = block(&a, 3, 0, false);
    int l = L - 1;
    ll_sb_printf(&P.html, "<li>");
    if (F) {
        double m = mean_of_all(F, l);
        ll_page_para(&P, "Examples raise the attention-ID at the last layer: mean ΔID at layer %d with fixed examples %.2f "
                         "(%s).", l, m, m > 0 ? "yes, it rises" : "no, it does not rise here");
    } else ll_page_para(&P, "Examples raise the attention-ID at the last layer: not measured (no fixed condition).");
    ll_sb_printf(&P.html, "</li><li>");
    const ll_geo_block *Y = Fs && Fs->n_correct >= GEO_MIN_CLASS && Fs->n - Fs->n_correct >= GEO_MIN_CLASS ? Fs : F;
    if (Y && (Y->n_correct < GEO_MIN_CLASS || Y->n - Y->n_correct < GEO_MIN_CLASS))
        ll_page_para(&P, "The larger ΔID, the likelier a correct answer (%s): not testable in this run: %d of %d answers "
                         "correct (r = %.3f at layer %d; a correlation or its bootstrap interval needs at least %d of each).",
                     Y == Fs ? "questions wrong at 0 shots" : "all questions", Y->n_correct, Y->n, Y->r[l], l, GEO_MIN_CLASS);
    else if (Y && isfinite(Y->r[l]))
        ll_page_para(&P, "The larger ΔID, the likelier a correct answer (%s): r = %.3f [%.3f, %.3f] at layer %d, %d of %d "
                         "correct: %s.", Y == Fs ? "questions wrong at 0 shots" : "all questions", Y->r[l], Y->r_lo[l],
                     Y->r_hi[l], l, Y->n_correct, Y->n,
                     Y->r_lo[l] > 0 ? "yes, the interval is above 0" : Y->r_hi[l] < 0 ? "no, the correlation is negative"
                                                                          : "not shown: the interval includes 0");
    else ll_page_para(&P, "The larger ΔID, the likelier a correct answer: undefined here (every answer right, or every one wrong).");
    ll_sb_printf(&P.html, "</li><li>");
    if (F && (N || Pm)) {
        double fm = mean_of_all(F, l), nm = N ? mean_of_all(N, l) : NAN, pm = Pm ? mean_of_all(Pm, l) : NAN;
        bool less = (!isfinite(nm) || fm > nm) && (!isfinite(pm) || fm > pm);
        ll_page_para(&P, "Random tokens and shuffled text raise the last-layer ID less than real examples: mean ΔID at layer %d: "
                         "fixed %.2f, noise %.2f, permuted %.2f; accuracy (pooled k) fixed %.3f, noise %.3f, permuted %.3f: %s.",
                     l, fm, nm, pm, pooled_acc(&a, 0), pooled_acc(&a, 2), pooled_acc(&a, 3),
                     less ? "yes, as the paper reports" : "no, not on this model");
    } else ll_page_para(&P, "Random tokens and shuffled text: not measured (run the noise and permuted conditions).");
    ll_sb_printf(&P.html, "</li><li>");
    if (F || N) {
        const ll_geo_block *Z = N ? N : F;
        ll_page_para(&P, "Any prepended tokens raise the first layer's ID (a near-uniform graph): mean ΔID at layer 0 with %s "
                         "%.2f; mean ID at layer 0 for the base prompt %.1f vs %.1f at the last layer.",
                     N ? "noise" : "fixed examples", mean_of_all(Z, 0), a.profile_base[0], a.profile_base[L - 1]);
    }
    ll_sb_printf(&P.html, "</li><li>");
    {
        const ll_geo_block *R = NULL, *few = NULL;
        for (int c = 0; c < 4 && !R; c++) {
            const ll_geo_block *B = block(&a, c, 0, false);
            if (B && (B->n_correct < GEO_MIN_CLASS || B->n - B->n_correct < GEO_MIN_CLASS)) {
                if (!few) few = B;
                continue;
            }
            if (B && isfinite(B->p_id[l])) R = B;
        }
        if (!R && few)
            ll_page_para(&P, "Does ΔID predict correctness beyond prompt length? Not testable in this run: %d of %d answers "
                             "correct (%s), too few for a regression.", few->n_correct, few->n, ll_geo_condition_names[few->cond]);
        else if (R)
            ll_page_para(&P, "Does ΔID predict correctness beyond prompt length (the confound the paper left)? %s, layer %d: "
                             "ΔID's coefficient %.3f (se %.3f, p %.3g) with Δtokens in the model (its coefficient %.3f, p %.3g); "
                             "partial r given Δtokens %.3f: %s.", ll_geo_condition_names[R->cond], l, R->b_id[l], R->se_id[l],
                         R->p_id[l], R->b_tok[l], R->p_tok[l], R->partial[l],
                         R->p_id[l] < 0.05 ? "yes, beyond length" : "no evidence beyond length");
        else
            ll_page_para(&P, "Does ΔID predict correctness beyond prompt length? Not testable in this run: the conditions' prompts "
                             "add a constant number of tokens (one k), so Δtokens does not vary; run several k.");
    }
    ll_sb_printf(&P.html, "</li></ol>\n<p>Every number here is in <code>analysis.json</code> and <code>prompts.csv</code>, "
                          "recomputed from <code>results.sqlite</code> by <code>layerlab study export</code>.</p></body></html>\n");
    int rc = P.err || P.html.err ? ll_fail("out of memory or write error making the report") : 0;
    if (!rc) {
        char path[4300];
        snprintf(path, sizeof path, "%s/report.html", dir);
        rc = ll_page_write(path, P.html.s);
    }
    ll_sb_free(&P.html);
    free(layers);
    ll_geo_analysis_free(&a);
    return rc;
}
