#!/usr/bin/env python3
"""sbibm's C2ST (sbibm/metrics/c2st.py, with scikit-learn) of posterior sample files
against the sbibm reference posteriors, for the side-by-side in docs/SBI.md.

For each SAMPLES_DIR/samples_<k>.csv: X = the 10,000 reference samples of observation k,
Y = the samples; both z-scored by X's mean and standard deviation (torch.std, n − 1);
MLPClassifier(relu, hidden (10·dim, 10·dim), adam, max_iter 10000, random_state seed,
all other settings scikit-learn's defaults: alpha 1e-4, batch min(200, n), lr 1e-3,
tol 1e-4, n_iter_no_change 10, no early-stopping split); KFold(5, shuffle=True,
random_state seed); the mean of cross_val_score's accuracies. seed = 1 (sbibm's default).
Writes SAMPLES_DIR/c2st_sklearn.csv (observation, accuracy, iterations per fold).

Usage: /tmp/sbienv/bin/python scripts/sbibm_c2st.py TASK_DIR SAMPLES_DIR [--seed 1]
       [--max-iter 10000] [--obs 1,2,3]
(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 is much faster on a shared 2-core host.)
"""

import argparse
import csv
import glob
import os
import re

import numpy as np
from sklearn.model_selection import KFold, cross_validate
from sklearn.neural_network import MLPClassifier


def read(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return np.array(rows[1:], dtype=np.float64)


def c2st(X, Y, seed=1, n_folds=5, max_iter=10000):
    """sbibm's c2st: returns (mean accuracy, iterations of each fold's classifier)."""
    mean, std = X.mean(axis=0), X.std(axis=0, ddof=1)
    X = ((X - mean) / std).astype(np.float32)
    Y = ((Y - mean) / std).astype(np.float32)
    ndim = X.shape[1]
    clf = MLPClassifier(
        activation="relu",
        hidden_layer_sizes=(10 * ndim, 10 * ndim),
        max_iter=max_iter,
        solver="adam",
        random_state=seed,
    )
    data = np.concatenate((X, Y))
    target = np.concatenate((np.zeros(X.shape[0]), np.ones(Y.shape[0])))
    shuffle = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    r = cross_validate(clf, data, target, cv=shuffle, scoring="accuracy", return_estimator=True)
    return float(np.mean(r["test_score"])), [e.n_iter_ for e in r["estimator"]]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("task_dir")
    p.add_argument("samples_dir")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-iter", type=int, default=10000)
    p.add_argument("--obs", help="comma-separated observation numbers (default: every file)")
    a = p.parse_args()
    files = glob.glob(os.path.join(a.samples_dir, "samples_*.csv"))
    ks = sorted(int(re.search(r"samples_(\d+)\.csv$", f).group(1)) for f in files)
    if a.obs:
        ks = [k for k in ks if k in {int(v) for v in a.obs.split(",")}]
    if not ks:
        raise SystemExit(f"no samples_<k>.csv in {a.samples_dir}")
    name = "c2st_sklearn.csv" if not a.obs else f"c2st_sklearn_{a.obs.replace(',', '_')}.csv"
    out, accs = [], []
    for k in ks:
        ref = read(os.path.join(a.task_dir, f"num_observation_{k}", "reference_posterior_samples.csv"))
        s = read(os.path.join(a.samples_dir, f"samples_{k}.csv"))
        acc, iters = c2st(ref, s, seed=a.seed, max_iter=a.max_iter)
        print(f"observation {k:2}: C2ST {acc:.4f} (iterations {iters})", flush=True)
        out.append((k, acc, " ".join(map(str, iters))))
        accs.append(acc)
        write(a.samples_dir, name, out)  # after every observation: a stopped run keeps its rows
    print(f"mean C2ST over {len(accs)} observations: {np.mean(accs):.4f}")


def write(samples_dir, name, rows):
    """Write the rows so far through a temporary file and a rename (never half-written)."""
    path = os.path.join(samples_dir, name)
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["observation", "accuracy", "iterations"])
        w.writerows(rows)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
