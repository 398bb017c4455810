#!/usr/bin/env python3
"""check_geo_stats.py DIR — recomputes a geometry study's analysis.json from its results.sqlite with
independent references and compares: point-biserial r (scipy.stats.pointbiserialr), the logistic regression
of correctness on standardized ΔID and Δtokens (scikit-learn's unpenalized LogisticRegression for the
coefficients, the inverse Hessian at its solution in numpy for the standard errors), the partial correlation
(correlation of the residuals of both on Δtokens), the quintile bins, mean ΔID of correct/wrong with their 95%
intervals, accuracies, and TwoNN of the last-token states (scikit-dimension's TwoNN). Prints what it checked;
exits 1 on the first disagreement."""
import json
import math
import sqlite3
import sys
import warnings

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression
import skdim

d = sys.argv[1]
A = json.load(open(d + "/analysis.json"))
db = sqlite3.connect(d + "/results.sqlite")
L = A["layers"]
P = {}
for task, item, plan, k, cond, n, rel, ab, ns, dim, st in db.execute(
        "SELECT task, item, plan, k, cond, n_tokens, id_rel, id_abs, n_states, dim, states FROM prompts"):
    acc, emf = db.execute("SELECT acc, em_flexible FROM items WHERE task=? AND item=? AND plan=?", (task, item, plan)).fetchone()
    correct = emf if task == "gsm8k" else acc
    P[(item, plan)] = dict(k=k, cond=cond, n=n, rel=np.array(json.loads(rel)), abs=np.array(json.loads(ab)),
                           states=np.frombuffer(st, dtype=np.float32).reshape(ns, dim).astype(np.float64), y=correct)
checked = {"r": 0, "logit": 0, "partial": 0, "bins": 0, "means": 0, "twonn": 0, "acc": 0}


def close(a, b, tol, what):
    if a is None and (b is None or not np.isfinite(b)):
        return
    if a is None or b is None or not math.isclose(a, b, rel_tol=tol, abs_tol=tol):
        sys.exit(f"FAIL {what}: layerlab {a}, reference {b}")


items = sorted({i for i, _ in P})
for cond, C in A["conditions"].items():
    for e in C["by_k"]:
        sel = [P[(i, f"{cond}:{e['k']}")] for i in items if (i, f"{cond}:{e['k']}") in P]
        close(e["accuracy"], float(np.mean([p["y"] for p in sel])), 1e-12, f"{cond}:{e['k']} accuracy")
        checked["acc"] += 1
        for s in range(L + 1):
            X = np.array([p["states"][s] for p in sel])
            Xu = np.unique(X, axis=0)
            if len(Xu) < 4:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = skdim.id.TwoNN(discard_fraction=0.1).fit(Xu).dimension_
            close(e["twonn"][s], float(ref), 1e-9, f"{cond}:{e['k']} TwoNN of state {s}")   # same formula, same points
            checked["twonn"] += 1
    for B in C["analyses"]:
        thr = "rel" if B["threshold"] == "relative" else "abs"
        xs, ts, ys = [], [], []
        for i in items:
            base = P.get((i, "base:0"))
            if base is None or (B["questions"] == "wrong_at_0_shots" and base["y"] > 0.5):
                continue
            for (j, plan), p in P.items():
                if j == i and p["cond"] == cond:
                    xs.append(p[thr] - base[thr]); ts.append(p["n"] - base["n"]); ys.append(p["y"])
        X, T, Y = np.array(xs), np.array(ts, dtype=float), np.array(ys)
        assert len(Y) == B["n"], (len(Y), B["n"])
        for l in range(L):
            x = X[:, l]
            if np.std(x) > 0 and 0 < Y.sum() < len(Y):
                close(B["r"][l], stats.pointbiserialr(Y, x)[0], 1e-10, f"{cond} {thr} {B['questions']} r layer {l}")
                checked["r"] += 1
            yc, yw = x[Y > 0.5], x[Y < 0.5]
            if len(yc):
                close(B["delta_id_correct"][l], float(yc.mean()), 1e-12, "mean ΔID correct")
            if len(yc) > 1:
                close(B["ci95_correct"][l], 1.96 * yc.std(ddof=1) / math.sqrt(len(yc)), 1e-9, "CI correct")
            if len(yw) > 1:
                close(B["ci95_wrong"][l], 1.96 * yw.std(ddof=1) / math.sqrt(len(yw)), 1e-9, "CI wrong")
            checked["means"] += 1
            if np.std(x) > 0 and np.std(T) > 0 and 0 < Y.sum() < len(Y):
                Z = np.column_stack([(x - x.mean()) / x.std(ddof=1), (T - T.mean()) / T.std(ddof=1)])
                m = LogisticRegression(penalty=None, tol=1e-12, max_iter=10000).fit(Z, Y)
                b = np.concatenate([m.intercept_, m.coef_[0]])
                if B["logit_b_delta_id"][l] is None:   # layerlab gave up: the reference must show why (huge |b|)
                    assert np.max(np.abs(b)) > 10, (cond, l, b)
                    continue
                Xd = np.column_stack([np.ones(len(Y)), Z])
                pr = 1 / (1 + np.exp(-Xd @ b))
                se = np.sqrt(np.diag(np.linalg.inv(Xd.T @ (Xd * (pr * (1 - pr))[:, None]))))
                # two optimizers, one optimum: agreement to ~1e-6 (sklearn's lbfgs stops at its tolerance)
                close(B["logit_b_delta_id"][l], b[1], 1e-5, f"logit b ΔID layer {l}")
                close(B["logit_b_delta_tokens"][l], b[2], 1e-5, f"logit b Δtokens layer {l}")
                close(B["logit_se_delta_id"][l], se[1], 1e-5, f"logit se ΔID layer {l}")
                close(B["logit_p_delta_id"][l], 2 * stats.norm.sf(abs(b[1] / se[1])), 1e-4, f"logit p ΔID layer {l}")
                checked["logit"] += 1
                rx = x - np.polyval(np.polyfit(T, x, 1), T)
                ry = Y - np.polyval(np.polyfit(T, Y, 1), T)
                close(B["partial_r_given_tokens"][l], float(np.corrcoef(rx, ry)[0, 1]), 1e-9, f"partial r layer {l}")
                checked["partial"] += 1
        for w in B["bins"]:
            x = X[:, w["layer"]]
            xs_ = np.sort(x)
            n = len(x)
            edges = [xs_[n - 1 if e == 5 else e * n // 5] for e in range(6)]
            assert w["edges"] == [float(v) for v in edges], (w["edges"], edges)
            b = np.zeros(5, int); c = np.zeros(5, int)
            for xi, yi in zip(x, Y):
                k = 0
                while k < 4 and xi >= edges[k + 1]:
                    k += 1
                b[k] += 1; c[k] += yi > 0.5
            assert w["count"] == b.tolist() and w["correct"] == c.tolist(), (w, b, c)
            checked["bins"] += 1
print("ok: analysis.json agrees with the references:", ", ".join(f"{k} {v}" for k, v in checked.items()))
