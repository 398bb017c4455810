/* linprobe.c — the A.9 linear probe: softmax regression trained by AdamW with a linear schedule, and its
 * stratified k-fold cross-validation (linprobe.h has the objective and the exact update). */
#include "linprobe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

#define LINPROBE_DEFAULT_SEED 20240917u

ll_linprobe_opts ll_linprobe_default_opts(void) {
    ll_linprobe_opts o;
    memset(&o, 0, sizeof o);
    o.lr = 3e-2;
    o.batch_size = 32;
    o.epochs = 3;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    o.weight_decay = 0.0;
    o.dropout = 0.1;
    o.init_std = 0.02;
    o.l2 = 0.0;
    o.standardize = false;
    o.folds = 5;
    o.seed = LINPROBE_DEFAULT_SEED;
    o.progress = NULL;
    o.progress_ctx = NULL;
    return o;
}

/* ---- splitmix64: the only source of randomness ---- */

typedef struct { uint64_t s; } rng64;

static uint64_t rng_next(rng64 *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A stream for (seed, stream id): the seed and the id mixed through one splitmix64 output each. */
static rng64 rng_stream(uint64_t seed, uint64_t stream) {
    rng64 a = {stream};
    rng64 r = {seed ^ rng_next(&a)};
    (void)rng_next(&r);
    return r;
}

#define STREAM_FOLDS 0x466F6C6473ull /* "Folds" */
#define STREAM_TRAIN 0x547261696Eull /* "Train"; fold f of CV uses STREAM_TRAIN + 1 + f */

/* uniform in [0, 1) with 53 random bits */
static double rng_uniform(rng64 *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* standard normal by Box–Muller (the cosine branch only; u1 in (0, 1]) */
static double rng_normal(rng64 *r) {
    double u1 = (double)((rng_next(r) >> 11) + 1) * 0x1.0p-53;
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* uniform in 0..bound-1 without modulo bias (bound >= 1) */
static uint64_t rng_below(rng64 *r, uint64_t bound) {
    uint64_t threshold = (0 - bound) % bound; /* 2^64 mod bound */
    uint64_t x;
    do x = rng_next(r); while (x < threshold);
    return x % bound;
}

static void shuffle_int(rng64 *r, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ---- validation ---- */

static int check_opts(const ll_linprobe_opts *o, bool cv) {
    if (!o) return ll_fail("linprobe: options are NULL (use ll_linprobe_default_opts())");
    if (!(isfinite(o->lr) && o->lr > 0)) return ll_fail("linprobe: lr must be finite and > 0 (got %g)", o->lr);
    if (o->batch_size < 1) return ll_fail("linprobe: batch_size must be >= 1 (got %d)", o->batch_size);
    if (o->epochs < 1) return ll_fail("linprobe: epochs must be >= 1 (got %d)", o->epochs);
    if (!(o->beta1 >= 0 && o->beta1 < 1)) return ll_fail("linprobe: beta1 must be in [0, 1) (got %g)", o->beta1);
    if (!(o->beta2 >= 0 && o->beta2 < 1)) return ll_fail("linprobe: beta2 must be in [0, 1) (got %g)", o->beta2);
    if (!(isfinite(o->eps) && o->eps > 0)) return ll_fail("linprobe: eps must be finite and > 0 (got %g)", o->eps);
    if (!(isfinite(o->weight_decay) && o->weight_decay >= 0))
        return ll_fail("linprobe: weight_decay must be finite and >= 0 (got %g)", o->weight_decay);
    if (!(o->dropout >= 0 && o->dropout < 1)) return ll_fail("linprobe: dropout must be in [0, 1) (got %g)", o->dropout);
    if (!(isfinite(o->init_std) && o->init_std >= 0))
        return ll_fail("linprobe: init_std must be finite and >= 0 (got %g)", o->init_std);
    if (!(isfinite(o->l2) && o->l2 >= 0)) return ll_fail("linprobe: l2 must be finite and >= 0 (got %g)", o->l2);
    if (cv && o->folds < 2) return ll_fail("linprobe: folds must be >= 2 (got %d)", o->folds);
    return 0;
}

static int check_X(const float *X, int n, int d) {
    if (!X) return ll_fail("linprobe: X is NULL");
    for (long long i = 0; i < n; i++)
        for (long long j = 0; j < d; j++) {
            float v = X[i * d + j];
            if (!isfinite(v))
                return ll_fail("linprobe: X row %lld (0-based), column %lld is %s; features must be finite", i, j,
                               isnan(v) ? "NaN" : "infinite");
        }
    return 0;
}

/* Checks shapes, labels and X; counts[c] = items of class c (every class must be present). */
static int check_data(const float *X, const int *y, int n, int d, int n_classes, int *counts) {
    if (n < 1) return ll_fail("linprobe: need at least one item (n = %d)", n);
    if (d < 1) return ll_fail("linprobe: need at least one feature (d = %d)", d);
    if (n_classes < 2) return ll_fail("linprobe: need at least 2 classes (n_classes = %d)", n_classes);
    if ((size_t)n * (size_t)d > ((size_t)1 << 40) || (size_t)n_classes * (size_t)d > ((size_t)1 << 36))
        return ll_fail("linprobe: problem too large (n = %d, d = %d, n_classes = %d)", n, d, n_classes);
    if (!y) return ll_fail("linprobe: labels are NULL");
    for (int c = 0; c < n_classes; c++) counts[c] = 0;
    for (int i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= n_classes)
            return ll_fail("linprobe: label of item %d (0-based) is %d, outside 0..%d (n_classes = %d)", i, y[i],
                           n_classes - 1, n_classes);
        counts[y[i]]++;
    }
    for (int c = 0; c < n_classes; c++)
        if (counts[c] == 0)
            return ll_fail("linprobe: class %d has no items; every class 0..%d must be present", c, n_classes - 1);
    return check_X(X, n, d);
}

/* ---- training ---- */

void ll_linprobe_model_free(ll_linprobe_model *m) {
    if (!m) return;
    free(m->W);
    free(m->b);
    free(m->mean);
    free(m->scale);
    memset(m, 0, sizeof *m);
}

/* logits of one (already transformed) feature row, then probabilities in place; returns log-sum-exp */
static double softmax_row(const ll_linprobe_model *m, const double *x, double *p) {
    int K = m->n_classes, d = m->d;
    double mx = -INFINITY;
    for (int k = 0; k < K; k++) {
        const double *w = m->W + (size_t)k * d;
        double z = m->b[k];
        for (int j = 0; j < d; j++) z += w[j] * x[j];
        p[k] = z;
        if (z > mx) mx = z;
    }
    double s = 0;
    for (int k = 0; k < K; k++) s += exp(p[k] - mx);
    double lse = mx + log(s);
    for (int k = 0; k < K; k++) p[k] = exp(p[k] - lse);
    return lse;
}

/* the row x' = (x - mean) / scale of a trained model (or x itself), in double */
static void transform_row(const ll_linprobe_model *m, const float *x, double *out) {
    for (int j = 0; j < m->d; j++)
        out[j] = m->mean ? ((double)x[j] - m->mean[j]) / m->scale[j] : (double)x[j];
}

typedef struct {
    void (*progress)(void *ctx, int done, int total);
    void *ctx;
    int base, total;
} progress_span;

/* Trains on the rows idx[0..n_idx-1] of X (all validated). */
static int train_rows(const float *X, const int *y, const int *idx, int n_idx, int d, int K,
                      const ll_linprobe_opts *o, rng64 rng, progress_span ps, ll_linprobe_model *out) {
    memset(out, 0, sizeof *out);
    out->d = d;
    out->n_classes = K;
    size_t nw = (size_t)K * d;
    int B = o->batch_size < n_idx ? o->batch_size : n_idx;
    int nb = (n_idx + B - 1) / B;
    if ((long long)nb * o->epochs > 2000000000LL)
        return ll_fail("%d epochs of %d batches is too many steps", o->epochs, nb);
    long long T = (long long)nb * o->epochs;
    double *mW = NULL, *vW = NULL, *gW = NULL, *mb = NULL, *vb = NULL, *gb = NULL, *x = NULL, *p = NULL;
    int *perm = NULL;
    int rc = -1;
    out->W = ll_calloc(nw, sizeof *out->W);
    out->b = ll_calloc((size_t)K, sizeof *out->b);
    mW = ll_calloc(nw, sizeof *mW);
    vW = ll_calloc(nw, sizeof *vW);
    gW = ll_malloc(nw * sizeof *gW);
    mb = ll_calloc((size_t)K, sizeof *mb);
    vb = ll_calloc((size_t)K, sizeof *vb);
    gb = ll_malloc((size_t)K * sizeof *gb);
    x = ll_malloc((size_t)d * sizeof *x);
    p = ll_malloc((size_t)K * sizeof *p);
    perm = ll_malloc((size_t)n_idx * sizeof *perm);
    if (!out->W || !out->b || !mW || !vW || !gW || !mb || !vb || !gb || !x || !p || !perm) goto done;

    if (o->standardize) {
        out->mean = ll_calloc((size_t)d, sizeof *out->mean);
        out->scale = ll_calloc((size_t)d, sizeof *out->scale);
        if (!out->mean || !out->scale) goto done;
        for (int r = 0; r < n_idx; r++) {
            const float *row = X + (size_t)idx[r] * d;
            for (int j = 0; j < d; j++) out->mean[j] += row[j];
        }
        for (int j = 0; j < d; j++) out->mean[j] /= n_idx;
        for (int r = 0; r < n_idx; r++) {
            const float *row = X + (size_t)idx[r] * d;
            for (int j = 0; j < d; j++) {
                double c = row[j] - out->mean[j];
                out->scale[j] += c * c;
            }
        }
        for (int j = 0; j < d; j++) {
            double s = sqrt(out->scale[j] / n_idx);
            out->scale[j] = s > 0 ? s : 1.0; /* a constant feature is only centred (as StandardScaler) */
        }
    }

    for (size_t i = 0; i < nw; i++) out->W[i] = o->init_std > 0 ? o->init_std * rng_normal(&rng) : 0.0;
    for (int r = 0; r < n_idx; r++) perm[r] = idx[r];

    const double keep = 1.0 - o->dropout, inv_keep = 1.0 / keep;
    long long t = 0;
    for (int e = 0; e < o->epochs; e++) {
        shuffle_int(&rng, perm, n_idx);
        double loss_sum = 0;
        for (int s = 0; s < nb; s++) {
            int lo = s * B, hi = lo + B < n_idx ? lo + B : n_idx;
            double inv_bs = 1.0 / (hi - lo);
            memset(gW, 0, nw * sizeof *gW);
            memset(gb, 0, (size_t)K * sizeof *gb);
            double loss = 0;
            for (int r = lo; r < hi; r++) {
                int i = perm[r];
                transform_row(out, X + (size_t)i * d, x);
                if (o->dropout > 0)
                    for (int j = 0; j < d; j++) x[j] = rng_uniform(&rng) < o->dropout ? 0.0 : x[j] * inv_keep;
                double lse = softmax_row(out, x, p);
                /* -log p_y = lse - z_y, with z_y = lse + log p_y recomputed from the logit itself */
                double zy = out->b[y[i]];
                const double *wy = out->W + (size_t)y[i] * d;
                for (int j = 0; j < d; j++) zy += wy[j] * x[j];
                loss += lse - zy;
                for (int k = 0; k < K; k++) {
                    double dz = (p[k] - (k == y[i] ? 1.0 : 0.0)) * inv_bs;
                    double *g = gW + (size_t)k * d;
                    for (int j = 0; j < d; j++) g[j] += dz * x[j];
                    gb[k] += dz;
                }
            }
            loss *= inv_bs;
            if (o->l2 > 0) {
                double sq = 0;
                for (size_t q = 0; q < nw; q++) {
                    sq += out->W[q] * out->W[q];
                    gW[q] += o->l2 * out->W[q];
                }
                loss += 0.5 * o->l2 * sq;
            }
            loss_sum += loss;

            /* torch.optim.AdamW (single-tensor path): decay, lerp'd first moment, second moment, bias
             * corrections, step; lr_t from the linear schedule (LambdaLR, stepped after each step) */
            t++;
            double lr_t = o->lr * (double)(T - t + 1) / (double)T;
            double bc1 = 1.0 - pow(o->beta1, (double)t);
            double bc2_sqrt = sqrt(1.0 - pow(o->beta2, (double)t));
            double step_size = lr_t / bc1;
            double decay = 1.0 - lr_t * o->weight_decay;
            for (size_t q = 0; q < nw; q++) {
                double g = gW[q];
                out->W[q] *= decay;
                mW[q] += (1.0 - o->beta1) * (g - mW[q]);
                vW[q] = o->beta2 * vW[q] + (1.0 - o->beta2) * g * g;
                out->W[q] -= step_size * mW[q] / (sqrt(vW[q]) / bc2_sqrt + o->eps);
            }
            for (int k = 0; k < K; k++) {
                double g = gb[k];
                mb[k] += (1.0 - o->beta1) * (g - mb[k]);
                vb[k] = o->beta2 * vb[k] + (1.0 - o->beta2) * g * g;
                out->b[k] -= step_size * mb[k] / (sqrt(vb[k]) / bc2_sqrt + o->eps);
            }
        }
        out->final_loss = loss_sum / nb;
        bool finite = isfinite(out->final_loss);
        for (size_t q = 0; finite && q < nw; q++) finite = isfinite(out->W[q]);
        for (int k = 0; finite && k < K; k++) finite = isfinite(out->b[k]);
        if (!finite) {
            ll_fail("the training loss or weights became non-finite in epoch %d (lr %g too large?)", e + 1, o->lr);
            goto done;
        }
        if (ps.progress) ps.progress(ps.ctx, ps.base + e + 1, ps.total);
    }
    out->steps = (int)t;
    rc = 0;
done:
    free(mW);
    free(vW);
    free(gW);
    free(mb);
    free(vb);
    free(gb);
    free(x);
    free(p);
    free(perm);
    if (rc) ll_linprobe_model_free(out);
    return rc;
}

int ll_linprobe_train(const float *X, const int *y, int n, int d, int n_classes, const ll_linprobe_opts *o,
                      ll_linprobe_model *out) {
    if (!out) return ll_fail("linprobe: output model is NULL");
    memset(out, 0, sizeof *out);
    if (check_opts(o, false)) return -1;
    if (n_classes < 2 || n_classes > (1 << 20))
        return ll_fail("linprobe: n_classes must be in 2..%d (got %d)", 1 << 20, n_classes);
    int *counts = ll_malloc((size_t)n_classes * sizeof *counts);
    if (!counts) return -1;
    int rc = check_data(X, y, n, d, n_classes, counts);
    free(counts);
    if (rc) return -1;
    int *idx = ll_malloc((size_t)n * sizeof *idx);
    if (!idx) return -1;
    for (int i = 0; i < n; i++) idx[i] = i;
    progress_span ps = {o->progress, o->progress_ctx, 0, o->epochs};
    rc = train_rows(X, y, idx, n, d, n_classes, o, rng_stream(o->seed, STREAM_TRAIN), ps, out);
    free(idx);
    if (rc) ll_fail_prefix("linprobe: ");
    return rc;
}

int ll_linprobe_predict(const ll_linprobe_model *m, const float *X, int n, double *probs) {
    if (!m || !m->W || !m->b) return ll_fail("linprobe: predict needs a trained model");
    if (!probs) return ll_fail("linprobe: probs is NULL");
    if (n < 0) return ll_fail("linprobe: n must be >= 0 (got %d)", n);
    if (check_X(X, n, m->d)) return -1;
    double *x = ll_malloc((size_t)m->d * sizeof *x);
    if (!x) return -1;
    for (int i = 0; i < n; i++) {
        transform_row(m, X + (size_t)i * m->d, x);
        softmax_row(m, x, probs + (size_t)i * m->n_classes);
    }
    free(x);
    return 0;
}

/* ---- cross-validation ---- */

void ll_linprobe_cv_free(ll_linprobe_cv_result *r) {
    if (!r) return;
    free(r->fold_acc);
    free(r->fold);
    free(r->prob);
    free(r->pred);
    memset(r, 0, sizeof *r);
}

int ll_linprobe_cv(const float *X, const int *y, int n, int d, int n_classes, const ll_linprobe_opts *o,
                   ll_linprobe_cv_result *r) {
    if (!r) return ll_fail("linprobe: output result is NULL");
    memset(r, 0, sizeof *r);
    if (check_opts(o, true)) return -1;
    if (n_classes < 2 || n_classes > (1 << 20))
        return ll_fail("linprobe: n_classes must be in 2..%d (got %d)", 1 << 20, n_classes);
    if (n >= 1 && n < o->folds) return ll_fail("linprobe: %d items are fewer than the %d folds", n, o->folds);
    int K = n_classes, k = o->folds;
    int *counts = ll_malloc((size_t)K * sizeof *counts);
    int *order = NULL, *train_idx = NULL, *test_idx = NULL;
    ll_linprobe_model m = {0};
    if (!counts) return -1;
    int rc = -1;
    if (check_data(X, y, n, d, K, counts)) goto done;
    for (int c = 0; c < K; c++)
        if (counts[c] < k) {
            ll_fail("linprobe: class %d has %d item%s, fewer than the %d folds; stratified CV needs one in every "
                    "fold", c, counts[c], counts[c] == 1 ? "" : "s", k);
            goto done;
        }
    r->n = n;
    r->n_classes = K;
    r->folds = k;
    r->fold_acc = ll_calloc((size_t)k, sizeof *r->fold_acc);
    r->fold = ll_malloc((size_t)n * sizeof *r->fold);
    r->prob = ll_malloc((size_t)n * K * sizeof *r->prob);
    r->pred = ll_malloc((size_t)n * sizeof *r->pred);
    order = ll_malloc((size_t)n * sizeof *order);
    train_idx = ll_malloc((size_t)n * sizeof *train_idx);
    test_idx = ll_malloc((size_t)n * sizeof *test_idx);
    if (!r->fold_acc || !r->fold || !r->prob || !r->pred || !order || !train_idx || !test_idx) goto done;

    /* fold assignment: class by class, that class's items (in index order) shuffled, then dealt round-robin
     * with one counter running over all classes */
    rng64 frng = rng_stream(o->seed, STREAM_FOLDS);
    long long dealt = 0;
    for (int c = 0; c < K; c++) {
        int m_c = 0;
        for (int i = 0; i < n; i++)
            if (y[i] == c) order[m_c++] = i;
        shuffle_int(&frng, order, m_c);
        for (int q = 0; q < m_c; q++) r->fold[order[q]] = (int)(dealt++ % k);
    }

    long long n_correct = 0;
    for (int f = 0; f < k; f++) {
        int ntr = 0, nte = 0;
        for (int i = 0; i < n; i++) {
            if (r->fold[i] == f) test_idx[nte++] = i;
            else train_idx[ntr++] = i;
        }
        progress_span ps = {o->progress, o->progress_ctx, f * o->epochs, k * o->epochs};
        if (train_rows(X, y, train_idx, ntr, d, K, o, rng_stream(o->seed, STREAM_TRAIN + 1 + (uint64_t)f), ps,
                       &m)) {
            ll_fail_prefix("linprobe: fold %d of %d: ", f + 1, k); /* "linprobe: fold 2 of 5: why" */
            goto done;
        }
        double *x = ll_malloc((size_t)d * sizeof *x);
        if (!x) goto done;
        int correct = 0;
        for (int q = 0; q < nte; q++) {
            int i = test_idx[q];
            double *p = r->prob + (size_t)i * K;
            transform_row(&m, X + (size_t)i * d, x);
            softmax_row(&m, x, p);
            int best = 0;
            for (int c = 1; c < K; c++)
                if (p[c] > p[best]) best = c;
            r->pred[i] = best;
            correct += best == y[i];
        }
        free(x);
        ll_linprobe_model_free(&m);
        r->fold_acc[f] = (double)correct / nte;
        n_correct += correct;
    }
    double s = 0;
    for (int f = 0; f < k; f++) s += r->fold_acc[f];
    r->mean_acc = s / k;
    double ss = 0;
    for (int f = 0; f < k; f++) ss += (r->fold_acc[f] - r->mean_acc) * (r->fold_acc[f] - r->mean_acc);
    r->std_acc = sqrt(ss / (k - 1));
    r->pooled_acc = (double)n_correct / n;
    rc = 0;
done:
    free(counts);
    free(order);
    free(train_idx);
    free(test_idx);
    ll_linprobe_model_free(&m);
    if (rc) ll_linprobe_cv_free(r);
    return rc;
}
