/* idim.c — intrinsic-dimension estimators (TwoNN, TwoNN-ML, Levina–Bickel MLE, Fukunaga–Olsen PCA,
 * participation ratio) over a point cloud, with brute-force nearest neighbours and a symmetric eigensolver
 * (Householder tridiagonalization + implicit QL). Definitions: idim.h.
 *
 * Numerics. The data are centred first (distances and covariance do not change; cancellation shrinks).
 * Neighbour candidates come from d² = |x|² + |y|² - 2 x·y over a blocked matrix product; the k + 8 best
 * candidates of each point are then re-measured exactly as sqrt(Σ (x_t - y_t)²) on the input rows and
 * re-sorted, so the distances the estimators see are exact to rounding whatever the scale of the data.
 * The covariance (or, when N < D, the Gram matrix of the centred points, which has the same nonzero
 * eigenvalues) is accumulated in double. */
#include "idim.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

#define MM_JB 512 /* columns of Q per block: a row segment of C stays in L1 */
#define MM_TB 64  /* rows of Q per block: MM_TB x MM_JB doubles (256 KiB) stay in L2 */
#define KNN_MARGIN 8

static long long min_ll(long long a, long long b) { return a < b ? a : b; }

/* C[m×p] = P[m×n] · Q[n×p], row-major with row strides ldp, ldq, ldc. With upper, only what the upper
 * triangle (j ≥ i) needs is guaranteed: column blocks that lie wholly left of the diagonal are skipped. */
static void matmul(const double *restrict P, long long m, long long n, long long ldp, const double *restrict Q,
                   long long p, long long ldq, double *restrict C, long long ldc, int upper) {
    for (long long i = 0; i < m; i++) memset(C + i * ldc, 0, (size_t)p * sizeof *C);
    for (long long jb = 0; jb < p; jb += MM_JB) {
        long long je = min_ll(jb + MM_JB, p);
        long long iend = upper ? min_ll(je, m) : m;
        for (long long tb = 0; tb < n; tb += MM_TB) {
            long long te = min_ll(tb + MM_TB, n);
            long long i = 0;
            /* two rows of C and four rows of Q per pass over a segment: each q[j] loaded serves two rows, each
             * c[j] load/store four products, and the loop over j has no reduction, so it vectorizes without
             * reassociating anything (the sums are formed in the same order as one row at a time) */
            for (; i + 2 <= iend; i += 2) {
                double *restrict c0 = C + i * ldc, *restrict c1 = c0 + ldc;
                const double *a = P + i * ldp, *b = a + ldp;
                long long t = tb;
                for (; t + 4 <= te; t += 4) {
                    const double a0 = a[t], a1 = a[t + 1], a2 = a[t + 2], a3 = a[t + 3];
                    const double b0 = b[t], b1 = b[t + 1], b2 = b[t + 2], b3 = b[t + 3];
                    const double *restrict q0 = Q + t * ldq, *restrict q1 = q0 + ldq, *restrict q2 = q1 + ldq,
                                           *restrict q3 = q2 + ldq;
                    for (long long j = jb; j < je; j++) {
                        const double x0 = q0[j], x1 = q1[j], x2 = q2[j], x3 = q3[j];
                        c0[j] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
                        c1[j] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3;
                    }
                }
                for (; t < te; t++) {
                    const double a0 = a[t], b0 = b[t];
                    const double *restrict q0 = Q + t * ldq;
                    for (long long j = jb; j < je; j++) {
                        c0[j] += a0 * q0[j];
                        c1[j] += b0 * q0[j];
                    }
                }
            }
            for (; i < iend; i++) {
                double *restrict c = C + i * ldc;
                const double *a = P + i * ldp;
                for (long long t = tb; t < te; t++) {
                    const double a0 = a[t];
                    const double *restrict q0 = Q + t * ldq;
                    for (long long j = jb; j < je; j++) c[j] += a0 * q0[j];
                }
            }
        }
    }
}

/* Lexicographic order of rows a and b (by value: -0.0 equals 0.0). */
static int row_cmp(const double *X, long long D, long long a, long long b) {
    const double *x = X + a * D, *y = X + b * D;
    for (long long t = 0; t < D; t++) {
        if (x[t] < y[t]) return -1;
        if (x[t] > y[t]) return 1;
    }
    return 0;
}

/* Stable bottom-up merge sort of row indices; tmp has n entries. */
static void sort_rows(const double *X, long long D, long long *idx, long long *tmp, long long n) {
    long long *src = idx, *dst = tmp;
    for (long long w = 1; w < n; w *= 2) {
        for (long long lo = 0; lo < n; lo += 2 * w) {
            long long mid = min_ll(lo + w, n), hi = min_ll(lo + 2 * w, n);
            long long a = lo, b = mid, o = lo;
            while (a < mid && b < hi) dst[o++] = row_cmp(X, D, src[b], src[a]) < 0 ? src[b++] : src[a++];
            while (a < mid) dst[o++] = src[a++];
            while (b < hi) dst[o++] = src[b++];
        }
        long long *s = src;
        src = dst;
        dst = s;
    }
    if (src != idx) memcpy(idx, src, (size_t)n * sizeof *idx);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double d;
    long long j;
} nbr;

/* Inserts (d, j) into the ascending list c of *cnt entries (capacity cap), dropping the largest if full. */
static void nbr_insert(nbr *c, int *cnt, int cap, double d, long long j) {
    int pos;
    if (*cnt < cap) {
        pos = (*cnt)++;
    } else {
        if (!(d < c[cap - 1].d)) return;
        pos = cap - 1;
    }
    while (pos > 0 && (c[pos - 1].d > d || (c[pos - 1].d == d && c[pos - 1].j > j))) {
        c[pos] = c[pos - 1];
        pos--;
    }
    c[pos].d = d;
    c[pos].j = j;
}

static double exact_dist2(const double *x, const double *y, long long D) {
    double s = 0;
    for (long long t = 0; t < D; t++) {
        double u = x[t] - y[t];
        s += u * u;
    }
    return s;
}

/* The k nearest neighbours (self excluded) of each of the n points: dist[i*k + r] ascending, idx likewise.
 * Xc is the centred n×D data, XT its transpose, X/rows the input rows for the exact distances.
 * Each pair is measured once: a chunk of rows I against the columns j ≥ min(I), and each product feeds
 * the candidate lists of both of its points. */
static int knn(const double *X, const long long *rows, const double *Xc, const double *XT, long long n, long long D,
               int k, double *dist, long long *idx) {
    int cap = (int)min_ll(k + KNN_MARGIN, n - 1);
    long long R = (32LL << 20) / (8 * n); /* rows per chunk: about 32 MiB of products */
    if (R < 32) R = 32;
    if (R > 512) R = 512;
    R = min_ll(R, n);
    double *sq = ll_malloc((size_t)n * sizeof *sq);
    double *G = ll_malloc((size_t)R * (size_t)n * sizeof *G);
    nbr *cand = ll_malloc(((size_t)n + 1) * (size_t)cap * sizeof *cand);
    int *cnt = ll_calloc((size_t)n, sizeof *cnt);
    if (!sq || !G || !cand || !cnt) {
        free(sq), free(G), free(cand), free(cnt);
        return -1;
    }
    nbr *exact = cand + (size_t)n * (size_t)cap;
    for (long long i = 0; i < n; i++) {
        const double *x = Xc + i * D;
        double s = 0;
        for (long long t = 0; t < D; t++) s += x[t] * x[t];
        sq[i] = s;
    }
    for (long long r0 = 0; r0 < n; r0 += R) {
        long long rn = min_ll(R, n - r0), w = n - r0;
        matmul(Xc + r0 * D, rn, D, D, XT + r0, w, n, G, w, 0);
        for (long long r = 0; r < rn; r++) {
            long long i = r0 + r;
            const double *g = G + r * w; /* g[j - r0] = x_i · x_j for j ≥ r0 */
            nbr *ci = cand + i * cap;
            for (long long j = i + 1; j < n; j++) {
                double d2 = sq[i] + sq[j] - 2 * g[j - r0];
                nbr_insert(ci, &cnt[i], cap, d2, j);
                nbr_insert(cand + j * cap, &cnt[j], cap, d2, i);
            }
        }
    }
    /* re-measure the candidates exactly on the input rows and keep the k nearest */
    for (long long i = 0; i < n; i++) {
        const double *xi = X + rows[i] * D;
        const nbr *ci = cand + i * cap;
        int cnt2 = 0;
        for (int c = 0; c < cnt[i]; c++)
            nbr_insert(exact, &cnt2, cap, exact_dist2(xi, X + rows[ci[c].j] * D, D), ci[c].j);
        for (int c = 0; c < k; c++) {
            dist[i * k + c] = sqrt(exact[c].d);
            idx[i * k + c] = exact[c].j;
        }
    }
    free(sq), free(G), free(cand), free(cnt);
    return 0;
}

/* Householder reduction of the symmetric n×n matrix A (full storage, destroyed) to tridiagonal form:
 * diagonal d[0..n-1], off-diagonal e[0..n-2] (e[i] couples i and i+1), e[n-1] = 0. v, w: n scratch each. */
static void tridiagonalize(double *A, long long n, double *d, double *e, double *v, double *w) {
    for (long long k = 0; k + 2 < n; k++) {
        long long m = n - k - 1;                /* the part below the diagonal in column k (= row k, right) */
        const double *x = A + k * n + k + 1;
        d[k] = A[k * n + k];
        double scale = 0;
        for (long long i = 0; i < m; i++) scale = fmax(scale, fabs(x[i]));
        if (scale == 0) {
            e[k] = 0;
            continue;
        }
        double ss = 0;
        for (long long i = 0; i < m; i++) {
            v[i] = x[i] / scale;
            ss += v[i] * v[i];
        }
        double nrm = sqrt(ss);
        double alpha = v[0] > 0 ? -nrm : nrm; /* H x = alpha e1, sign chosen against cancellation */
        e[k] = alpha * scale;
        v[0] -= alpha;
        double vtv = 0;
        for (long long i = 0; i < m; i++) vtv += v[i] * v[i];
        double beta = 2 / vtv;
        /* S <- H S H with H = I - beta v vᵀ: p = beta S v, w = p - (beta/2)(vᵀp) v, S -= v wᵀ + w vᵀ */
        double *S = A + (k + 1) * n + (k + 1);
        for (long long i = 0; i < m; i++) w[i] = 0;
        for (long long j = 0; j < m; j++) { /* S v as Σ_j v_j S[j][·] (S is symmetric): no reduction */
            const double vj = v[j];
            const double *restrict sj = S + j * n;
            if (vj == 0) continue;
            for (long long i = 0; i < m; i++) w[i] += vj * sj[i];
        }
        double vp = 0;
        for (long long i = 0; i < m; i++) {
            w[i] *= beta;
            vp += v[i] * w[i];
        }
        double K = 0.5 * beta * vp;
        for (long long i = 0; i < m; i++) w[i] -= K * v[i];
        for (long long i = 0; i < m; i++) {
            const double vi = v[i], wi = w[i];
            double *restrict si = S + i * n;
            for (long long j = 0; j < m; j++) si[j] -= vi * w[j] + wi * v[j];
        }
    }
    if (n >= 2) {
        d[n - 2] = A[(n - 2) * n + (n - 2)];
        e[n - 2] = A[(n - 1) * n + (n - 2)];
    }
    d[n - 1] = A[(n - 1) * n + (n - 1)];
    e[n - 1] = 0;
}

/* Eigenvalues of the symmetric tridiagonal (d, e) into d, by the implicit QL method with Wilkinson-type
 * shifts: each step chases a bulge up from the bottom of the unreduced block starting at l.
 * An off-diagonal element counts as zero when it is below eps times its two diagonal neighbours or below
 * eps times the norm of the whole matrix: the second keeps a block of rounding-level entries (the null
 * space of a low-rank covariance) from iterating forever against noise from the large entries, and
 * moves an eigenvalue by no more than the Householder reduction already may (eps·‖A‖). */
static int tridiagonal_eigenvalues(double *d, double *e, long long n) {
    double tnorm = 0;
    for (long long i = 0; i < n; i++) tnorm = fmax(tnorm, fabs(d[i]) + fabs(e[i]) + (i ? fabs(e[i - 1]) : 0));
    const double floor_abs = DBL_EPSILON * tnorm;
    for (long long l = 0; l < n; l++) {
        int iter = 0;
        for (;;) {
            long long m = l;
            while (m + 1 < n && fabs(e[m]) > DBL_EPSILON * (fabs(d[m]) + fabs(d[m + 1])) && fabs(e[m]) > floor_abs)
                m++;
            if (m == l) break; /* d[l] is an eigenvalue */
            if (++iter > 100)
                return ll_fail("intrinsic dimension: the eigenvalue iteration did not converge (block at %lld)", l);
            double g = (d[l + 1] - d[l]) / (2 * e[l]);
            double r = hypot(g, 1.0);
            g = d[m] - d[l] + e[l] / (g + copysign(r, g)); /* shift: the eigenvalue of the top 2×2 nearer d[l] */
            double s = 1, c = 1, p = 0;
            int split = 0;
            for (long long i = m - 1; i >= l; i--) {
                double f = s * e[i], b = c * e[i];
                r = hypot(f, g);
                e[i + 1] = r;
                if (r == 0) { /* the rotation underflowed: the block splits here */
                    d[i + 1] -= p;
                    e[m] = 0;
                    split = 1;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if (split) continue;
            d[l] -= p;
            e[l] = g;
            e[m] = 0;
        }
    }
    return 0;
}

/* Fukunaga–Olsen count and participation ratio of the covariance of the centred n×D points. */
static int pca_estimates(const double *Xc, const double *XT, long long n, long long D, double alpha, double *fo,
                         double *pr) {
    /* the smaller of the D×D covariance and the n×n Gram matrix: the same nonzero eigenvalues */
    long long m = D <= n ? D : n, inner = D <= n ? n : D;
    const double *P = D <= n ? XT : Xc, *Q = D <= n ? Xc : XT;
    double *C = ll_malloc((size_t)m * (size_t)m * sizeof *C);
    double *scratch = ll_malloc((size_t)m * 4 * sizeof *scratch);
    if (!C || !scratch) {
        free(C), free(scratch);
        return -1;
    }
    matmul(P, m, inner, inner, Q, m, m, C, m, 1);
    const double f = 1.0 / (double)(n - 1);
    double tr = 0, fro = 0;
    for (long long i = 0; i < m; i++) {
        C[i * m + i] *= f;
        tr += C[i * m + i];
        fro += C[i * m + i] * C[i * m + i];
        for (long long j = i + 1; j < m; j++) {
            double c = C[i * m + j] * f;
            C[i * m + j] = C[j * m + i] = c;
            fro += 2 * c * c;
        }
    }
    /* Σλ = trace, Σλ² = squared Frobenius norm: the participation ratio needs no eigenvalues */
    *pr = tr * tr / fro;
    double *d = scratch, *e = scratch + m, *v = scratch + 2 * m, *w = scratch + 3 * m;
    tridiagonalize(C, m, d, e, v, w);
    int rc = tridiagonal_eigenvalues(d, e, m);
    if (rc == 0) {
        double top = d[0];
        for (long long i = 1; i < m; i++) top = fmax(top, d[i]);
        long long count = 0;
        for (long long i = 0; i < m; i++) count += d[i] > alpha * top;
        *fo = (double)count;
    }
    free(C), free(scratch);
    return rc;
}

int ll_idim_compute(const double *X, long long N, long long D, int mle_k, double pca_alpha, ll_idim *out) {
    if (mle_k < 2) return ll_fail("intrinsic dimension: MLE needs k >= 2 neighbours, got %d", mle_k);
    if (!(pca_alpha > 0 && pca_alpha < 1))
        return ll_fail("intrinsic dimension: the PCA threshold alpha must be in (0, 1), got %g", pca_alpha);
    if (N < 0 || D < 1) return ll_fail("intrinsic dimension: bad shape %lld x %lld", N, D);
    for (long long i = 0; i < N; i++)
        for (long long t = 0; t < D; t++)
            if (!isfinite(X[i * D + t]))
                return ll_fail("intrinsic dimension: row %lld (0-based), column %lld is %s", i, t,
                               isnan(X[i * D + t]) ? "NaN" : "infinite");

    /* duplicates: sort row indices lexicographically (stable), keep the first of each run of equal rows */
    long long *order = ll_malloc((size_t)(N ? N : 1) * 2 * sizeof *order);
    unsigned char *keep = ll_calloc((size_t)(N ? N : 1), 1);
    if (!order || !keep) {
        free(order), free(keep);
        return -1;
    }
    for (long long i = 0; i < N; i++) order[i] = i;
    sort_rows(X, D, order, order + N, N);
    long long n = 0;
    for (long long r = 0; r < N; r++)
        if (r == 0 || row_cmp(X, D, order[r - 1], order[r]) != 0) keep[order[r]] = 1, n++;
    long long *rows = order; /* reused: the kept rows in input order */
    for (long long i = 0, c = 0; i < N; i++)
        if (keep[i]) rows[c++] = i;
    free(keep);
    if (n < (long long)mle_k + 2) {
        free(order);
        return ll_fail("intrinsic dimension: %lld distinct point%s (of %lld row%s) %s too few: MLE with k = %d "
                       "needs at least k + 2 = %lld",
                       n, n == 1 ? "" : "s", N, N == 1 ? "" : "s", n == 1 ? "is" : "are", mle_k, (long long)mle_k + 2);
    }

    double *Xc = ll_malloc((size_t)n * (size_t)D * sizeof *Xc);
    double *XT = ll_malloc((size_t)n * (size_t)D * sizeof *XT);
    double *mean = ll_calloc((size_t)D, sizeof *mean);
    double *dist = ll_malloc((size_t)n * (size_t)mle_k * sizeof *dist);
    long long *nidx = ll_malloc((size_t)n * (size_t)mle_k * sizeof *nidx);
    double *mu = ll_malloc((size_t)n * sizeof *mu);
    int rc = -1;
    if (!Xc || !XT || !mean || !dist || !nidx || !mu) goto done;
    for (long long i = 0; i < n; i++)
        for (long long t = 0; t < D; t++) mean[t] += X[rows[i] * D + t];
    for (long long t = 0; t < D; t++) mean[t] /= (double)n;
    for (long long i = 0; i < n; i++)
        for (long long t = 0; t < D; t++) Xc[i * D + t] = X[rows[i] * D + t] - mean[t];
    for (long long i = 0; i < n; i++)
        for (long long t = 0; t < D; t++) XT[t * n + i] = Xc[i * D + t];

    if (knn(X, rows, Xc, XT, n, D, mle_k, dist, nidx) != 0) goto done;

    /* TwoNN */
    double sum_log_mu = 0;
    for (long long i = 0; i < n; i++) {
        double r1 = dist[i * mle_k], r2 = dist[i * mle_k + 1];
        if (r1 == 0) {
            ll_fail("intrinsic dimension: rows %lld and %lld differ, but their squared distance underflows to 0",
                    rows[i], rows[nidx[i * mle_k]]);
            goto done;
        }
        mu[i] = r2 / r1;
        sum_log_mu += log(mu[i]);
    }
    out->twonn_ml = (double)(n - 1) / sum_log_mu;
    qsort(mu, (size_t)n, sizeof *mu, cmp_double);
    long long n_keep = (long long)((double)n * (1.0 - LL_IDIM_TWONN_DISCARD)); /* as int(N * (1 - f)) */
    double sxx = 0, sxy = 0;
    for (long long i = 0; i < n_keep; i++) {
        double x = log(mu[i]), y = -log(1 - (double)(i + 1) / (double)n);
        sxx += x * x;
        sxy += x * y;
    }
    out->twonn = sxx > 0 ? sxy / sxx : NAN;

    /* MLE: mean over points of 1/m_i = Σ_j log(T_k/T_j) / (k - 1), inverted */
    double inv_sum = 0;
    for (long long i = 0; i < n; i++) {
        const double *T = dist + i * mle_k;
        double s = 0;
        for (int j = 0; j < mle_k; j++) s += log(T[mle_k - 1] / T[j]);
        inv_sum += s / (double)(mle_k - 1);
    }
    out->mle = 1 / (inv_sum / (double)n);

    if (pca_estimates(Xc, XT, n, D, pca_alpha, &out->pca, &out->pr) != 0) goto done;
    out->n_points = n;
    out->n_duplicates = N - n;
    rc = 0;
done:
    free(order), free(Xc), free(XT), free(mean), free(dist), free(nidx), free(mu);
    return rc;
}

static double logadd(double a, double b) {
    if (isinf(a) && a < 0) return b;
    double hi = a > b ? a : b, lo = a > b ? b : a;
    return hi + log1p(exp(lo - hi));
}

void ll_regions_bound(long long N, long long d, double *log10_r, double *log10_r0) {
    /* log-sum-exp over log C(n,i) = lgamma(n+1) - lgamma(i+1) - lgamma(n-i+1) */
    double r = -INFINITY, r0 = -INFINITY;
    for (long long i = 0; i <= d && i <= N; i++)
        r = logadd(r, lgamma((double)N + 1) - lgamma((double)i + 1) - lgamma((double)(N - i) + 1));
    for (long long i = 0; i < d && i <= N - 1; i++)
        r0 = logadd(r0, lgamma((double)N) - lgamma((double)i + 1) - lgamma((double)(N - 1 - i) + 1));
    double l10 = log(10.0);
    *log10_r = r / l10;
    *log10_r0 = isinf(r0) ? -INFINITY : (r0 + log(2.0)) / l10;
}
