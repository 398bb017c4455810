/* geo_stats.h — the geometry study's analyses (the paper's Figs. 6–8, the statistics it left out, and the
 * length control), recomputed from the store's prompts and answers.
 *
 * ΔID(k, condition) = ID(prompt with k examples under that condition) − ID(the same question's 0-shot
 * prompt), per layer, for the relative and the absolute threshold; Δtokens likewise. A prompt with k > 0 is
 * one observation: its ΔID and whether its answer is correct (multiple choice: acc; gsm8k: flexible match).
 * Each block of results is one (condition, threshold, question set): all base questions, or the paper's
 * subset, the questions answered wrongly at 0 shots.
 */
#ifndef LL_STUDY_GEO_STATS_H
#define LL_STUDY_GEO_STATS_H
#include <stdbool.h>
#include <stdint.h>

#include "study/geometry.h"
#include "study/store.h"

enum { LL_GEO_BINS = 5, LL_GEO_MAX_K = LL_GEO_MAX_SHOTS };

typedef struct {
    int cond;                 /* LL_GEO_* bit index (0 fixed, 1 random, 2 noise, 3 permuted) */
    int thr;                  /* 0: relative threshold, 1: absolute */
    bool subset;              /* only the questions answered wrongly at 0 shots */
    int n, n_correct;         /* observations (prompts with k > 0), correct ones */
    /* per layer [L] */
    double *mean_c, *ci_c, *mean_w, *ci_w;  /* mean ΔID of correct / wrong observations, 95% CI half-width (1.96 se) */
    double *r, *r_lo, *r_hi;                /* point-biserial r(ΔID, correct), percentile bootstrap 95% interval */
    double *b_id, *se_id, *p_id;            /* logistic regression correct ~ 1 + z(ΔID) + z(Δtokens): ΔID's */
    double *b_tok, *se_tok, *p_tok;         /*   coefficient, standard error, two-sided Wald p; Δtokens' */
    double *partial;                        /* partial correlation r(ΔID, correct | Δtokens) */
    double r_tokens;                        /* r(Δtokens, correct) */
    /* % correct per ΔID bin (the paper's Figs. 6–7) at the last layer and at L−2: quintile edges */
    int bin_layer[2];
    double edges[2][LL_GEO_BINS + 1];
    int count[2][LL_GEO_BINS], n_right[2][LL_GEO_BINS];
} ll_geo_block;

typedef struct {
    int L, D;                 /* layers, hidden size */
    int n_questions, n_wrong0;
    int n_k, ks[LL_GEO_MAX_K];                   /* the k > 0 of the run, ascending */
    int n_blocks;
    ll_geo_block *blocks;
    /* accuracy [cond][k index] (k index -1 ... stored at base_acc) and mean prompt tokens */
    double acc[4][LL_GEO_MAX_K], tokens[4][LL_GEO_MAX_K];
    int n_acc[4][LL_GEO_MAX_K];
    double base_acc, base_tokens;
    /* the per-layer ID profile: mean ID at each layer, base prompt and [cond][k] (relative threshold) */
    double *profile_base;                       /* [L] */
    double *profile;                            /* [4][n_k][L] (NAN where not run) */
    /* the manifold view: TwoNN of the last-token states after each entry (state 0 = embedding) over the
     * questions' prompts of one (condition, k); base at [0][...] of twonn_base */
    double *twonn_base;                         /* [L + 1] */
    double *twonn;                              /* [4][n_k][L + 1] */
    int iters;
    uint64_t seed;
} ll_geo_analysis;

/* Everything above from the store (bootstrap: iters resamples of the observations, seeded). 0, or -1
 * with the error set. */
int ll_geometry_analyze(ll_store *s, int iters, uint64_t seed, ll_geo_analysis *a);
void ll_geo_analysis_free(ll_geo_analysis *a);
/* DIR/analysis.json: the analysis as JSON (written through a temporary file). */
int ll_geometry_write_analysis(const ll_geo_analysis *a, const char *dir);

/* The statistics, exposed for their tests. Pearson correlation (NAN when a side is constant). */
double ll_stat_pearson(const double *x, const double *y, int n);
/* Logistic regression of y (0/1) on an intercept and the columns x[j][0..n) (p <= 3) by Newton's method:
 * coefficients b[0..p] (b[0] the intercept) and their standard errors from the inverse Hessian. -1 (with
 * NANs) when the fit does not converge (e.g. separation) or the data are degenerate. */
int ll_stat_logistic(const double *const *x, int p, const double *y, int n, double *b, double *se);

#endif
