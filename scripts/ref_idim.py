#!/usr/bin/env python3
"""ref_idim.py — scikit-dimension as the reference for `layerlab probe intrinsic-dim`.

Point clouds of known intrinsic dimension d in {2, 5, 10, 20}: N = 2000 points uniform in [0, 1]^d,
zero-padded to D in {64, 768} coordinates and rotated by a random orthogonal matrix (QR of a Gaussian
D x D matrix, signs fixed so it is Haar-distributed), each from its own fixed numpy seed. Every cloud is
written as float64 OUTDIR/cloud_d{d}_D{D}.npy and measured three ways:
  * layerlab:  `$LAYERLAB probe intrinsic-dim --input F --json --k 20 --alpha 0.05`
  * skdim:     TwoNN(discard_fraction=0.1), MLE() fitted with n_neighbors=20, comb='mle' (the default,
               noiseless path: neighbours exclude the point itself, (k-1)/sum log(T_k/T_j), harmonic
               mean; MLE's K argument is used only with neighborhood_based=False, so it is not the
               neighbour count here), lPCA(ver='FO', alphaFO=0.05) on all points
  * numpy:     the closed forms TwoNN-ML = (N-1)/sum log(r2/r1) (neighbours from sklearn's
               NearestNeighbors) and participation ratio = (sum l)^2/sum l^2 over the eigenvalues of
               np.cov(X)
It prints a table (markdown; --record FILE also writes it, with the versions, for docs/PROBES.md) and
exits 1 unless every value agrees within the tolerance written beside its check.

Usage: python3 scripts/ref_idim.py OUTDIR [--layerlab build/layerlab] [--record FILE]
Needs numpy and scikit-dimension (scripts/requirements-test.txt); tests/test_idim.sh runs it.
"""
import argparse, json, os, subprocess, sys, time, warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

N = 2000
DIMS = (2, 5, 10, 20)
AMBIENT = (64, 768)
K = 20
ALPHA = 0.05


def make_cloud(d, D):
    """N points uniform in [0,1]^d, zero-padded to D and rotated; seed fixed per (d, D)."""
    rng = np.random.default_rng(1000 * d + D)
    Y = np.zeros((N, D))
    Y[:, :d] = rng.uniform(size=(N, d))
    q, r = np.linalg.qr(rng.standard_normal((D, D)))
    q *= np.sign(np.diag(r))  # Haar: without this, QR's sign convention biases the rotation
    return Y @ q.T


def skdim_refs(X):
    import skdim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twonn = skdim.id.TwoNN(discard_fraction=0.1).fit(X).dimension_
        mle = skdim.id.MLE().fit(X, n_neighbors=K, comb="mle").dimension_
        pca = skdim.id.lPCA(ver="FO", alphaFO=ALPHA).fit(X).dimension_
    return float(twonn), float(mle), float(pca)


def numpy_refs(X):
    from sklearn.neighbors import NearestNeighbors
    dist, _ = NearestNeighbors(n_neighbors=2).fit(X).kneighbors()  # the point itself excluded
    mu = dist[:, 1] / dist[:, 0]
    twonn_ml = (len(X) - 1) / np.sum(np.log(mu))
    ev = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    pr = ev.sum() ** 2 / np.sum(ev ** 2)
    return float(twonn_ml), float(pr)


def layerlab(exe, path):
    t0 = time.perf_counter()
    p = subprocess.run([exe, "probe", "intrinsic-dim", "--input", path, "--json", "--k", str(K), "--alpha",
                        str(ALPHA)], capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"layerlab failed on {path} (exit {p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout), secs


def rel(a, b):
    return abs(a - b) / abs(b) if b != 0 else abs(a - b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--layerlab", default=os.environ.get("LAYERLAB", os.path.join(ROOT, "build", "layerlab")))
    ap.add_argument("--record", help="also write the table (markdown) to this file")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)

    import skdim, sklearn
    head = ("| d | D | TwoNN layerlab | TwoNN skdim | MLE layerlab | MLE skdim | PCA layerlab | PCA skdim "
            "| TwoNN-ML layerlab | TwoNN-ML numpy | PR layerlab | PR numpy | max rel. diff | layerlab s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    failures = []
    for D in AMBIENT:
        for d in DIMS:
            X = make_cloud(d, D)
            path = os.path.join(args.outdir, f"cloud_d{d}_D{D}.npy")
            np.save(path, X)
            got, secs = layerlab(args.layerlab, path)
            twonn, mle, pca = skdim_refs(X)
            twonn_ml, pr = numpy_refs(X)
            name = f"d={d} D={D}"
            checks = [
                # same definition as skdim, only the rounding of the distances differs (layerlab re-measures
                # its neighbours exactly, sklearn uses |x|²+|y|²-2x·y): expected ~1e-10; 1% also covers a
                # reordering of near-equal ratios at the 10% cut
                ("twonn", got["twonn"], twonn, 1e-2),
                # same definition as skdim (k-1, self excluded, harmonic mean): rounding only, as above
                ("mle", got["mle"], mle, 1e-2),
                # an integer count: 1% of d <= 20 is < 1, so this demands the same count
                ("pca", got["pca"], pca, 1e-2),
                # closed forms over the same distances / the same covariance: rounding only (distances
                # ~1e-12 relative, eigenvalues ~1e-15 of the largest), far below 1e-6
                ("twonn_ml", got["twonn_ml"], twonn_ml, 1e-6),
                ("participation_ratio", got["participation_ratio"], pr, 1e-6),
            ]
            worst = 0.0
            for key, a, b, tol in checks:
                r = rel(a, b) if a is not None else float("inf")
                if key != "pca":
                    worst = max(worst, r)
                if not r <= tol:
                    failures.append(f"{name} {key}: layerlab {a!r}, reference {b!r} (rel. diff {r:.3g} > {tol:g})")
            if got["n_points"] != N or got["n_duplicates"] != 0:
                failures.append(f"{name}: n_points {got['n_points']}, n_duplicates {got['n_duplicates']} "
                                f"(want {N}, 0)")
            lines.append(f"| {d} | {D} | {got['twonn']:.6f} | {twonn:.6f} | {got['mle']:.6f} | {mle:.6f} "
                         f"| {got['pca']:.0f} | {pca:.0f} | {got['twonn_ml']:.6f} | {twonn_ml:.6f} "
                         f"| {got['participation_ratio']:.6f} | {pr:.6f} | {worst:.1e} | {secs:.2f} |")
            print(lines[-1], flush=True)
    prov = (f"N = {N} points per cloud, k = {K}, alpha = {ALPHA}; scikit-dimension {skdim.__version__}, "
            f"scikit-learn {sklearn.__version__}, numpy {np.__version__}. "
            "max rel. diff is over TwoNN, MLE, TwoNN-ML and PR (the PCA counts must be equal); "
            "layerlab s is the wall time of one `probe intrinsic-dim` run (N x D read, all five estimators).")
    table = "\n".join(lines)
    print("\n" + table + "\n\n" + prov)
    if args.record:
        with open(args.record, "w") as f:
            f.write("Produced by `python3 scripts/ref_idim.py OUTDIR --record FILE`.\n\n" + table + "\n\n" + prov + "\n")
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    if failures:
        return 1
    print(f"ref_idim: all {len(DIMS) * len(AMBIENT)} clouds agree with scikit-dimension and the closed forms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
