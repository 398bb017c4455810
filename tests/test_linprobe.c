/* test_linprobe.c — src/study/linprobe.c.
 *
 * Without arguments (the ctest test): self-contained checks — the A.9 defaults, the first AdamW step against
 * its closed form, determinism, stratified folds, standardisation, progress, every validation message.
 *
 * With arguments it is the driver of tests/test_linprobe_ref.sh, which compares it with scikit-learn and a
 * numpy transcription of torch.optim.AdamW (scripts/check_linprobe.py):
 *     test_linprobe train X.npy y.npy OUTDIR [key=value ...]   -> OUTDIR/prob.npy W.npy b.npy, JSON on stdout
 *     test_linprobe cv    X.npy y.npy OUTDIR [key=value ...]   -> OUTDIR/prob.npy fold.npy fold_acc.npy, JSON
 * X.npy: float32/64 n × d (used as float32); y.npy: n labels as float32/64 integers. Keys: lr batch epochs
 * beta1 beta2 eps wd dropout init_std l2 standardize folds seed classes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/npy.h"
#include "study/linprobe.h"
#include "util/clock.h"
#include "util/err.h"

/* ---- driver mode ---- */

static int set_opt(ll_linprobe_opts *o, int *classes, const char *kv) {
    const char *eq = strchr(kv, '=');
    if (!eq) return ll_fail("expected key=value, got '%s'", kv);
    size_t kl = (size_t)(eq - kv);
    const char *v = eq + 1;
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end) return ll_fail("'%s': not a number", kv);
#define KEY(s) (kl == strlen(s) && !strncmp(kv, s, kl))
    if (KEY("lr")) o->lr = x;
    else if (KEY("batch")) o->batch_size = (int)x;
    else if (KEY("epochs")) o->epochs = (int)x;
    else if (KEY("beta1")) o->beta1 = x;
    else if (KEY("beta2")) o->beta2 = x;
    else if (KEY("eps")) o->eps = x;
    else if (KEY("wd")) o->weight_decay = x;
    else if (KEY("dropout")) o->dropout = x;
    else if (KEY("init_std")) o->init_std = x;
    else if (KEY("l2")) o->l2 = x;
    else if (KEY("standardize")) o->standardize = x != 0;
    else if (KEY("folds")) o->folds = (int)x;
    else if (KEY("seed")) o->seed = (uint64_t)x;
    else if (KEY("classes")) *classes = (int)x;
    else return ll_fail("unknown key in '%s'", kv);
#undef KEY
    return 0;
}

static int write_f64(const char *dir, const char *name, const double *a, int64_t r, int64_t c) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int64_t shape[2] = {r, c};
    return ll_npy_write(path, "<f8", shape, c ? 2 : 1, a);
}

static int driver(int argc, char **argv) {
    if (argc < 5 || (strcmp(argv[1], "train") && strcmp(argv[1], "cv"))) {
        fprintf(stderr, "usage: test_linprobe train|cv X.npy y.npy OUTDIR [key=value ...]\n");
        return 2;
    }
    int cv = !strcmp(argv[1], "cv");
    ll_linprobe_opts o = ll_linprobe_default_opts();
    int classes = 0;
    double *Xd = NULL, *yd = NULL;
    float *X = NULL;
    int *y = NULL;
    int64_t n, d, yr, yc;
    int rc = 1;
    for (int i = 5; i < argc; i++)
        if (set_opt(&o, &classes, argv[i])) goto fail;
    if (ll_npy_read_f64(argv[2], &Xd, &n, &d) || ll_npy_read_f64(argv[3], &yd, &yr, &yc)) goto fail;
    if (yr * yc != n) {
        ll_fail("%s has %lld labels for %lld rows", argv[3], (long long)(yr * yc), (long long)n);
        goto fail;
    }
    X = malloc((size_t)(n * d) * sizeof *X);
    y = malloc((size_t)n * sizeof *y);
    if (!X || !y) { ll_fail("out of memory"); goto fail; }
    for (int64_t i = 0; i < n * d; i++) X[i] = (float)Xd[i];
    int maxy = 0;
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int)yd[i];
        if ((double)y[i] != yd[i]) { ll_fail("label %lld is not an integer", (long long)i); goto fail; }
        if (y[i] > maxy) maxy = y[i];
    }
    if (!classes) classes = maxy + 1;
    const char *dir = argv[4];
    double t0 = ll_now();
    if (!cv) {
        ll_linprobe_model m;
        if (ll_linprobe_train(X, y, (int)n, (int)d, classes, &o, &m)) goto fail;
        double secs = ll_now() - t0;
        double *prob = malloc((size_t)n * classes * sizeof *prob);
        int bad = !prob || ll_linprobe_predict(&m, X, (int)n, prob) || write_f64(dir, "prob.npy", prob, n, classes) ||
                  write_f64(dir, "W.npy", m.W, classes, d) || write_f64(dir, "b.npy", m.b, classes, 0);
        if (!bad)
            printf("{\"steps\": %d, \"final_loss\": %.17g, \"seconds\": %.6f}\n", m.steps, m.final_loss, secs);
        free(prob);
        ll_linprobe_model_free(&m);
        if (bad) goto fail;
    } else {
        ll_linprobe_cv_result r;
        if (ll_linprobe_cv(X, y, (int)n, (int)d, classes, &o, &r)) goto fail;
        double secs = ll_now() - t0;
        char path[4096];
        snprintf(path, sizeof path, "%s/fold.npy", dir);
        int64_t shape[1] = {n};
        int bad = ll_npy_write(path, "<i4", shape, 1, r.fold) || write_f64(dir, "prob.npy", r.prob, n, classes) ||
                  write_f64(dir, "fold_acc.npy", r.fold_acc, r.folds, 0);
        if (!bad)
            printf("{\"mean_acc\": %.17g, \"std_acc\": %.17g, \"pooled_acc\": %.17g, \"seconds\": %.6f}\n",
                   r.mean_acc, r.std_acc, r.pooled_acc, secs);
        ll_linprobe_cv_free(&r);
        if (bad) goto fail;
    }
    rc = 0;
fail:
    if (rc) fprintf(stderr, "test_linprobe: %s\n", ll_errmsg());
    free(Xd);
    free(yd);
    free(X);
    free(y);
    return rc;
}

/* ---- self-contained checks ---- */

/* deterministic test data: K Gaussian-ish blobs (sums of uniforms) in d dims, centres sep apart */
static uint64_t lcg_state = 12345;
static double lcg_u(void) {
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) * 0x1.0p-53;
}
static void blobs(float *X, int *y, int n, int d, int K, double sep) {
    for (int i = 0; i < n; i++) {
        y[i] = i % K;
        for (int j = 0; j < d; j++) {
            double noise = lcg_u() + lcg_u() + lcg_u() - 1.5;
            X[(size_t)i * d + j] = (float)(noise + (j % K == y[i] ? sep : 0.0));
        }
    }
}

typedef struct { int calls, last_done, last_total, monotone; } prog;
static void on_progress(void *ctx, int done, int total) {
    prog *p = ctx;
    if (done <= p->last_done) p->monotone = 0;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
}

#define EXPECT_FAIL(call, substr) do { ll_clear_error(); int rc_ = (call); \
    CHECK(rc_ == -1 && strstr(ll_errmsg(), substr), "%s: rc %d, message '%s' (want '%s')", #call, rc_, \
          ll_errmsg(), substr); } while (0)

static void check_defaults(void) {
    ll_linprobe_opts o = ll_linprobe_default_opts();
    /* A.9 / HF run_glue.py: lr 3e-2, batch 32, 3 epochs, AdamW(0.9, 0.999, 1e-8), wd 0, dropout 0.1,
     * init N(0, 0.02^2); plus 5 folds, no standardisation, no L2 */
    CHECK(o.lr == 3e-2 && o.batch_size == 32 && o.epochs == 3, "lr/batch/epochs");
    CHECK(o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8 && o.weight_decay == 0, "AdamW");
    CHECK(o.dropout == 0.1 && o.init_std == 0.02 && o.l2 == 0 && !o.standardize && o.folds == 5, "rest");
    CHECK(o.progress == NULL && o.progress_ctx == NULL, "progress");
}

/* One full-batch step from W = 0, b = 0: p = 1/K for every item, so g_W[k] = mean_i (1/K - [y_i = k]) x_i,
 * and AdamW's first step (m-hat = g, v-hat = g^2, decay irrelevant at W = 0) is -lr g / (|g| + eps).
 * Tolerance 1e-12: the same few double operations in a different order. */
static void check_first_step(void) {
    enum { n = 40, d = 6, K = 3 };
    float X[n * d];
    int y[n];
    blobs(X, y, n, d, K, 1.0);
    ll_linprobe_opts o = ll_linprobe_default_opts();
    o.init_std = 0;
    o.dropout = 0;
    o.batch_size = n;
    o.epochs = 1;
    o.weight_decay = 0.3;
    o.lr = 0.05;
    ll_linprobe_model m;
    CHECK(ll_linprobe_train(X, y, n, d, K, &o, &m) == 0, "%s", ll_errmsg());
    CHECK(m.steps == 1, "steps %d", m.steps);
    double maxdiff = 0;
    for (int k = 0; k < K; k++) {
        double gb = 0;
        for (int i = 0; i < n; i++) gb += (1.0 / K - (y[i] == k)) / n;
        double want_b = -o.lr * gb / (fabs(gb) + o.eps);
        maxdiff = fmax(maxdiff, fabs(m.b[k] - want_b));
        for (int j = 0; j < d; j++) {
            double g = 0;
            for (int i = 0; i < n; i++) g += (1.0 / K - (y[i] == k)) * X[i * d + j] / n;
            maxdiff = fmax(maxdiff, fabs(m.W[k * d + j] - (-o.lr * g / (fabs(g) + o.eps))));
        }
    }
    CHECK(maxdiff <= 1e-12, "first AdamW step: max |diff| %.3g", maxdiff);
    /* the loss of that step at W = 0 is log K exactly */
    CHECK_NEAR(m.final_loss, log((double)K), 1e-12, "loss at W = 0");
    ll_linprobe_model_free(&m);
}

/* Dropout, statistically. One feature x = 1, two classes (a quarter of class 1), W0 ~ N(0, 1) so the two
 * logits differ, lr 1e-300 so W stays W0, one full-batch step: the step's loss (computed before the update)
 * is (1/n) sum_i [m_i CE_i(W0 / (1-p)) + (1 - m_i) log 2] with m_i ~ Bernoulli(1 - p) — torch.nn.Dropout's
 * drop probability p and its 1/(1-p) scaling of kept features. Its mean and standard deviation follow in
 * closed form; the check allows 5 standard deviations, and first asserts that a wrong rate (p/2) or no
 * scaling would sit more than 10 standard deviations away, so the check can tell them apart. */
static void check_dropout(void) {
    enum { n = 100000, K = 2 };
    static float X[n];
    static int y[n];
    for (int i = 0; i < n; i++) X[i] = 1.0f, y[i] = i % 4 == 0;
    ll_linprobe_opts o = ll_linprobe_default_opts();
    o.init_std = 1.0;
    o.lr = 1e-300;
    o.epochs = 1;
    o.batch_size = n;
    o.dropout = 0.3;
    ll_linprobe_model m;
    CHECK(ll_linprobe_train(X, y, n, 1, K, &o, &m) == 0, "%s", ll_errmsg());
    double p = o.dropout;
    /* mean loss and its standard deviation for drop rate q and kept-feature scale s */
    double mean[3], sd = 0;
    double q[3] = {p, p / 2, p}, sc[3] = {1 / (1 - p), 1 / (1 - p / 2), 1.0};
    for (int h = 0; h < 3; h++) {
        double z0 = m.W[0] * sc[h], z1 = m.W[1] * sc[h];
        double lse = fmax(z0, z1) + log(exp(z0 - fmax(z0, z1)) + exp(z1 - fmax(z0, z1)));
        double ce[2] = {lse - z0, lse - z1}, e = 0, v = 0;
        for (int c = 0; c < 2; c++) {
            double frac = c ? 0.25 : 0.75;
            e += frac * ((1 - q[h]) * ce[c] + q[h] * log(2.0));
            v += frac * q[h] * (1 - q[h]) * (ce[c] - log(2.0)) * (ce[c] - log(2.0));
        }
        mean[h] = e;
        if (h == 0) sd = sqrt(v / n);
    }
    CHECK(fabs(mean[1] - mean[0]) > 10 * sd && fabs(mean[2] - mean[0]) > 10 * sd,
          "dropout check cannot separate the hypotheses (%g, %g, %g, sd %g)", mean[0], mean[1], mean[2], sd);
    CHECK(fabs(m.final_loss - mean[0]) <= 5 * sd, "dropout: loss %.6f, expected %.6f +- %.2g (5 sd)", m.final_loss,
          mean[0], 5 * sd);
    ll_linprobe_model_free(&m);
}

static void check_cv(void) {
    enum { n = 203, d = 5, K = 3 };
    static float X[n * d];
    int y[n];
    blobs(X, y, n, d, K, 3.0);
    ll_linprobe_opts o = ll_linprobe_default_opts();
    prog pg = {0, 0, 0, 1};
    o.progress = on_progress;
    o.progress_ctx = &pg;
    ll_linprobe_cv_result a, b, c;
    CHECK(ll_linprobe_cv(X, y, n, d, K, &o, &a) == 0, "%s", ll_errmsg());
    CHECK(pg.calls == 15 && pg.last_done == 15 && pg.last_total == 15 && pg.monotone, "progress %d calls, %d/%d",
          pg.calls, pg.last_done, pg.last_total);
    o.progress = NULL;
    CHECK(ll_linprobe_cv(X, y, n, d, K, &o, &b) == 0, "%s", ll_errmsg());
    CHECK(!memcmp(a.prob, b.prob, sizeof(double) * n * K) && !memcmp(a.fold, b.fold, sizeof(int) * n) &&
          !memcmp(a.fold_acc, b.fold_acc, sizeof(double) * 5), "same seed, same bits");
    o.seed = 7;
    CHECK(ll_linprobe_cv(X, y, n, d, K, &o, &c) == 0, "%s", ll_errmsg());
    CHECK(memcmp(a.fold, c.fold, sizeof(int) * n) != 0, "another seed, other folds");
    /* stratification: class c has 68 or 67 items -> 13 or 14 per fold; fold sizes 40 or 41 */
    int cnt[5][K] = {{0}}, size[5] = {0};
    for (int i = 0; i < n; i++) {
        CHECK(a.fold[i] >= 0 && a.fold[i] < 5, "fold %d", a.fold[i]);
        cnt[a.fold[i]][y[i]]++;
        size[a.fold[i]]++;
    }
    for (int f = 0; f < 5; f++) {
        CHECK(size[f] == 40 || size[f] == 41, "fold %d has %d items", f, size[f]);
        for (int k = 0; k < K; k++) CHECK(cnt[f][k] == 13 || cnt[f][k] == 14, "fold %d class %d: %d", f, k, cnt[f][k]);
    }
    /* well-separated blobs (3 units apart, noise within +-1.5): every fold classifies all correctly */
    CHECK(a.mean_acc == 1.0 && a.pooled_acc == 1.0 && a.std_acc == 0.0, "blob accuracy %g", a.mean_acc);
    /* summary statistics recomputed from the per-fold values and held-out predictions */
    double s = 0, ss = 0;
    for (int f = 0; f < 5; f++) s += c.fold_acc[f];
    for (int f = 0; f < 5; f++) ss += (c.fold_acc[f] - s / 5) * (c.fold_acc[f] - s / 5);
    CHECK_NEAR(c.mean_acc, s / 5, 1e-15, "mean");
    CHECK_NEAR(c.std_acc, sqrt(ss / 4), 1e-15, "sample std");
    int correct = 0;
    for (int i = 0; i < n; i++) {
        double t = 0;
        for (int k = 0; k < K; k++) t += c.prob[i * K + k];
        CHECK_NEAR(t, 1.0, 1e-12, "held-out probabilities sum to 1");
        correct += c.pred[i] == y[i];
    }
    CHECK_NEAR(c.pooled_acc, (double)correct / n, 1e-15, "pooled accuracy");
    ll_linprobe_cv_free(&a);
    ll_linprobe_cv_free(&b);
    ll_linprobe_cv_free(&c);
}

/* With standardize, an affine rescaling of every feature (x -> 100 x + 7) leaves the model's probabilities
 * unchanged up to the float32 rounding of the rescaled inputs (relative 6e-8 on values up to ~1e3, i.e.
 * ~1e-7 on the standardized features): tolerance 1e-5 on the probabilities. */
static void check_standardize(void) {
    enum { n = 120, d = 4, K = 2 };
    float X[n * d], X2[n * d];
    int y[n];
    blobs(X, y, n, d, K, 0.8);
    for (int i = 0; i < n * d; i++) X2[i] = 100.0f * X[i] + 7.0f;
    ll_linprobe_opts o = ll_linprobe_default_opts();
    o.standardize = true;
    ll_linprobe_model m1, m2;
    CHECK(ll_linprobe_train(X, y, n, d, K, &o, &m1) == 0, "%s", ll_errmsg());
    CHECK(ll_linprobe_train(X2, y, n, d, K, &o, &m2) == 0, "%s", ll_errmsg());
    CHECK(m1.mean && m1.scale, "mean/scale kept");
    double p1[n * K], p2[n * K], maxdiff = 0;
    CHECK(ll_linprobe_predict(&m1, X, n, p1) == 0 && ll_linprobe_predict(&m2, X2, n, p2) == 0, "%s", ll_errmsg());
    for (int i = 0; i < n * K; i++) maxdiff = fmax(maxdiff, fabs(p1[i] - p2[i]));
    CHECK(maxdiff <= 1e-5, "standardized: affine rescaling changed probabilities by %.3g", maxdiff);
    /* a constant feature is only centred, never divided by 0 */
    for (int i = 0; i < n; i++) X[i * d + 2] = 5.0f;
    ll_linprobe_model m3;
    CHECK(ll_linprobe_train(X, y, n, d, K, &o, &m3) == 0, "%s", ll_errmsg());
    CHECK(m3.scale[2] == 1.0 && m3.mean[2] == 5.0, "constant feature: scale %g mean %g", m3.scale[2], m3.mean[2]);
    ll_linprobe_model_free(&m1);
    ll_linprobe_model_free(&m2);
    ll_linprobe_model_free(&m3);
}

static void check_errors(void) {
    enum { n = 20, d = 3, K = 2 };
    float X[n * d];
    int y[n];
    blobs(X, y, n, d, K, 1.0);
    ll_linprobe_opts o = ll_linprobe_default_opts();
    ll_linprobe_model m;
    ll_linprobe_cv_result r;
    int ybad[n];
    memcpy(ybad, y, sizeof y);
    ybad[7] = 2;
    EXPECT_FAIL(ll_linprobe_train(X, ybad, n, d, K, &o, &m), "label of item 7 (0-based) is 2, outside 0..1");
    ybad[7] = -1;
    EXPECT_FAIL(ll_linprobe_cv(X, ybad, n, d, K, &o, &r), "label of item 7 (0-based) is -1");
    for (int i = 0; i < n; i++) ybad[i] = 0;
    EXPECT_FAIL(ll_linprobe_train(X, ybad, n, d, K, &o, &m), "class 1 has no items");
    EXPECT_FAIL(ll_linprobe_train(X, y, n, d, 1, &o, &m), "n_classes must be in 2..");
    float Xbad[n * d];
    memcpy(Xbad, X, sizeof X);
    Xbad[5 * d + 1] = NAN;
    EXPECT_FAIL(ll_linprobe_train(Xbad, y, n, d, K, &o, &m), "X row 5 (0-based), column 1 is NaN");
    Xbad[5 * d + 1] = -INFINITY;
    EXPECT_FAIL(ll_linprobe_cv(Xbad, y, n, d, K, &o, &r), "X row 5 (0-based), column 1 is infinite");
    EXPECT_FAIL(ll_linprobe_cv(X, y, 4, d, K, &o, &r), "4 items are fewer than the 5 folds");
    for (int i = 0; i < n; i++) ybad[i] = i < 3 ? 1 : 0;
    EXPECT_FAIL(ll_linprobe_cv(X, ybad, n, d, K, &o, &r), "class 1 has 3 items, fewer than the 5 folds");
    EXPECT_FAIL(ll_linprobe_train(X, y, 0, d, K, &o, &m), "need at least one item");
    EXPECT_FAIL(ll_linprobe_train(X, y, n, 0, K, &o, &m), "need at least one feature");
    EXPECT_FAIL(ll_linprobe_train(NULL, y, n, d, K, &o, &m), "X is NULL");
    EXPECT_FAIL(ll_linprobe_train(X, NULL, n, d, K, &o, &m), "labels are NULL");
    EXPECT_FAIL(ll_linprobe_train(X, y, n, d, K, NULL, &m), "options are NULL");
    ll_linprobe_opts b = o;
    b.lr = 0;
    EXPECT_FAIL(ll_linprobe_train(X, y, n, d, K, &b, &m), "lr must be finite and > 0");
    b = o;
    b.dropout = 1.0;
    EXPECT_FAIL(ll_linprobe_train(X, y, n, d, K, &b, &m), "dropout must be in [0, 1)");
    b = o;
    b.batch_size = 0;
    EXPECT_FAIL(ll_linprobe_train(X, y, n, d, K, &b, &m), "batch_size must be >= 1");
    b = o;
    b.beta2 = 1.0;
    EXPECT_FAIL(ll_linprobe_train(X, y, n, d, K, &b, &m), "beta2 must be in [0, 1)");
    b = o;
    b.l2 = -1;
    EXPECT_FAIL(ll_linprobe_train(X, y, n, d, K, &b, &m), "l2 must be finite and >= 0");
    b = o;
    b.folds = 1;
    EXPECT_FAIL(ll_linprobe_cv(X, y, n, d, K, &b, &r), "folds must be >= 2");
    b = o;
    b.lr = 1e308; /* the first step moves every weight by ~lr: the logits overflow */
    EXPECT_FAIL(ll_linprobe_cv(X, y, n, d, K, &b, &r), "linprobe: fold 1 of 5: the training loss or weights became non-finite");
    EXPECT_FAIL(ll_linprobe_train(X, y, n, d, K, &b, &m), "linprobe: the training loss or weights became non-finite");
    /* a failed call leaves nothing to free, and freeing it again is harmless */
    CHECK(m.W == NULL && r.prob == NULL, "outputs zeroed after an error");
    ll_linprobe_model_free(&m);
    ll_linprobe_cv_free(&r);
    CHECK(ll_linprobe_train(X, y, n, d, K, &o, &m) == 0, "%s", ll_errmsg());
    double p[n * K];
    EXPECT_FAIL(ll_linprobe_predict(&m, Xbad, n, p), "X row 5 (0-based), column 1 is infinite");
    ll_linprobe_model_free(&m);
    EXPECT_FAIL(ll_linprobe_predict(&m, X, n, p), "needs a trained model");
}

int main(int argc, char **argv) {
    if (argc > 1) return driver(argc, argv);
    check_defaults();
    check_first_step();
    check_dropout();
    check_cv();
    check_standardize();
    check_errors();
    return CHECK_DONE();
}
