/* idim.h — intrinsic dimension of a point cloud, five estimators, each defined as scikit-dimension 0.5.0
 * computes it (checked by scripts/ref_idim.py):
 *   twonn     TwoNN (Facco et al. 2017): mu_i = r2/r1 over the distances to the first and second nearest
 *             neighbours; mu sorted, the largest 10% discarded (n_keep = int(N * (1 - 0.1))), F_i = i/N
 *             (i = 1..n_keep, N = all points), least-squares slope through the origin of -log(1 - F_i)
 *             against log mu_(i)  — skdim TwoNN(discard_fraction=0.1)
 *   twonn_ml  (N - 1) / sum_i log mu_i over all points (the unbiased Pareto-shape MLE)
 *             — skdim TwoNN(discard_fraction=0, method='mle')
 *   mle       Levina–Bickel with k neighbours, the point itself excluded: m_i = (k - 1) / sum_{j=1..k}
 *             log(T_k / T_j), combined as the harmonic mean 1 / mean(1 / m_i)
 *             — skdim MLE() (unbiased=False, dnoise=None) fitted with n_neighbors=k, comb='mle'
 *   pca       Fukunaga–Olsen on the global covariance: the number of eigenvalues > alpha * the largest
 *             — skdim lPCA(ver='FO', alphaFO=alpha)
 *   pr        participation ratio (sum lambda)^2 / sum lambda^2 of the same covariance, unrounded
 * Neighbours are found by brute force over exact Euclidean distances. */
#ifndef LL_IDIM_H
#define LL_IDIM_H

typedef struct {
    double twonn, twonn_ml, mle, pca, pr;
    long long n_points;      /* distinct rows, the points every estimator sees */
    long long n_duplicates;  /* rows dropped because an earlier row is exactly equal */
} ll_idim;

#define LL_IDIM_TWONN_DISCARD 0.1

/* X is N×D row-major float64. Duplicate rows are removed first (exact equality, the first kept) and
 * counted. Needs mle_k ≥ 2, 0 < pca_alpha < 1, finite values, and at least mle_k + 2 distinct points.
 * An estimator that is undefined for the data (e.g. every mu_i = 1 on a regular grid) is NaN or inf.
 * Returns 0, or -1 with the error set. */
int ll_idim_compute(const double *X, long long N, long long D, int mle_k, double pca_alpha, ll_idim *out);

/* The hyperplane-arrangement bounds of the geometric paper (its Fig. 3): log10 R(N,d), R(N,d) = sum_{i<=d}
 * C(N,i), the regions of N hyperplanes in general position in R^d, and log10 R0(N,d), R0 = 2 sum_{i<d}
 * C(N-1,i), a central arrangement (bias-free layers such as Llama's MLP gates; -inf when empty). Computed
 * in logs (lgamma, log-sum-exp), so N and d may be large. */
void ll_regions_bound(long long N, long long d, double *log10_r, double *log10_r0);

#endif
