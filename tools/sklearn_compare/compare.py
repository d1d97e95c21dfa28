#!/usr/bin/env python3
"""Fit scikit-learn's HistGradientBoostingClassifier on the rows that
tools/sklearn_compare (Go) exported, time the fit on one thread, and compare
its test PR-AUC (average precision) with Metastation's GBT scores (ours.csv)
by a paired bootstrap of the difference, resampling test rows and, because
fraud labels run over a card's or account's rows, resampling customers.

    OMP_NUM_THREADS=1 /usr/bin/python3 tools/sklearn_compare/compare.py DIR \
        [--iters 300] [--lr 0.05] [--repeat 3] [--boot 1000] [--json OUT]
"""
import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402


def load(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2:]


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bootstrap(y, ours, theirs, groups, n, rng):
    """Percentile interval of AP(ours) - AP(theirs) over n resamples of the
    groups (each row its own group for a row bootstrap)."""
    uniq, inv = np.unique(groups, return_inverse=True)
    diffs = np.empty(n)
    for b in range(n):
        counts = np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))
        w = counts[inv].astype(float)
        keep = w > 0
        diffs[b] = average_precision_score(y[keep], ours[keep], sample_weight=w[keep]) - \
            average_precision_score(y[keep], theirs[keep], sample_weight=w[keep])
    return float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5)), float(np.mean(diffs > 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--leaves", type=int, default=31)
    ap.add_argument("--min-leaf", type=int, default=20)
    ap.add_argument("--l2", type=float, default=0.0)
    ap.add_argument("--early-stopping", default="auto", help="auto, on or off")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--json")
    a = ap.parse_args()

    _, ytr, xtr = load(os.path.join(a.dir, "train.csv"))
    cust, yte, xte = load(os.path.join(a.dir, "test.csv"))
    ours = np.loadtxt(os.path.join(a.dir, "ours.csv"), skiprows=1)
    with open(os.path.join(a.dir, "ours.json")) as f:
        go = json.load(f)
    es = {"auto": "auto", "on": True, "off": False}[a.early_stopping]
    walls, cpus = [], []
    for _ in range(a.repeat):
        clf = HistGradientBoostingClassifier(max_iter=a.iters, learning_rate=a.lr, max_leaf_nodes=a.leaves,
                                             min_samples_leaf=a.min_leaf, l2_regularization=a.l2,
                                             early_stopping=es, random_state=0)
        c0, t0 = cpu(), time.perf_counter()
        clf.fit(xtr, ytr)
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu() - c0)
    theirs = clf.predict_proba(xte)[:, 1]
    ap_ours, ap_theirs = average_precision_score(yte, ours), average_precision_score(yte, theirs)
    rng = np.random.default_rng(0)
    res = {
        "sklearn": __import__("sklearn").__version__,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "train_rows": len(ytr), "test_rows": len(yte), "test_frauds": int(yte.sum()),
        "params": {"max_iter": a.iters, "learning_rate": a.lr, "max_leaf_nodes": a.leaves,
                   "min_samples_leaf": a.min_leaf, "l2_regularization": a.l2, "early_stopping": a.early_stopping},
        "sklearn_iters": int(clf.n_iter_),
        "sklearn_pr_auc": ap_theirs, "sklearn_roc_auc": roc_auc_score(yte, theirs),
        "sklearn_train_s": walls, "sklearn_train_cpu_s": cpus,
        "ours_trees": go["trees"], "ours_pr_auc": ap_ours, "ours_pr_auc_go": go["pr_auc"],
        "ours_roc_auc": roc_auc_score(yte, ours),
        "ours_train_s": go["train_s"], "ours_train_cpu_s": go["train_cpu_s"],
        "diff": ap_ours - ap_theirs,
    }
    lo, hi, p = bootstrap(yte, ours, theirs, np.arange(len(yte)), a.boot, rng)
    res["diff_ci95_rows"], res["share_ours_better_rows"] = [lo, hi], p
    lo, hi, p = bootstrap(yte, ours, theirs, cust, a.boot, rng)
    res["diff_ci95_customers"], res["share_ours_better_customers"] = [lo, hi], p
    out = json.dumps(res, indent=2)
    print(out)
    if a.json:
        with open(a.json, "w") as f:
            f.write(out + "\n")
    if abs(ap_ours - go["pr_auc"]) > 1e-6:
        print(f"ours: Go's PR-AUC {go['pr_auc']:.6f} differs from scikit-learn's {ap_ours:.6f}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
