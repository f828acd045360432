#!/usr/bin/env python3
"""Where gaussian_linear posterior draws go wrong: their mean and spread against the exact
posterior, which sbibm's gaussian_linear task has in closed form (prior N(0, 0.1·I),
x ~ N(θ, 0.1·I), so θ | x_o ~ N(x_o / 2, 0.05·I)).

For each folder of samples_<k>.csv (k = 1 … 10) and each observation: the error of the
draws' mean as a 10-D norm in posterior standard deviations (|bias|), its component along
x_o / 2 (negative: shrunk toward the prior mean 0), and the draws' standard deviation over
the exact one (mean over the 10 parameters). The reference posterior samples are scored
too, as the floor (10,000 draws: |bias| ≈ √(10 / 10,000) ≈ 0.03). C2ST is most sensitive to
the mean error, so this says whether a method loses by bias, spread or neither.

Usage: python3 scripts/gl_posterior_moments.py TASK_DIR NAME=SAMPLES_DIR [NAME=DIR ...]
  (TASK_DIR: ../shared/data/sbibm/gaussian_linear; needs numpy)
"""

import csv
import os
import sys

import numpy as np

POSTERIOR_SD = np.sqrt(0.05)


def read(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return np.array(rows[1:], dtype=np.float64)


def moments(draws, x_o):
    """(|bias|, bias along x_o / 2, sd ratio) in posterior standard deviations."""
    mu = x_o / 2
    bias = (draws.mean(axis=0) - mu) / POSTERIOR_SD
    along = float(bias @ mu / np.linalg.norm(mu))
    ratio = float((draws.std(axis=0, ddof=1) / POSTERIOR_SD).mean())
    return float(np.linalg.norm(bias)), along, ratio


def main():
    if len(sys.argv) < 3 or any("=" not in a for a in sys.argv[2:]):
        sys.exit(__doc__)
    task = sys.argv[1]
    folders = [("reference", None)] + [tuple(a.split("=", 1)) for a in sys.argv[2:]]
    print("| draws | \\|bias\\| per observation 1 … 10 | mean \\|bias\\| | mean bias along x_o | mean sd ratio |")
    print("|---|---|---|---|---|")
    for name, folder in folders:
        rows = []
        for k in range(1, 11):
            obs_dir = os.path.join(task, f"num_observation_{k}")
            x_o = read(os.path.join(obs_dir, "observation.csv"))[0]
            path = (
                os.path.join(obs_dir, "reference_posterior_samples.csv")
                if folder is None
                else os.path.join(folder, f"samples_{k}.csv")
            )
            if not os.path.isfile(path):
                sys.exit(f"{path}: missing (expected samples of observation {k})")
            draws = read(path)
            if draws.ndim != 2 or draws.shape[1] != x_o.size:
                sys.exit(f"{path}: expected {x_o.size} columns, found {draws.shape}")
            rows.append(moments(draws, x_o))
        r = np.array(rows)
        per = " ".join(f"{v:.2f}" for v in r[:, 0])
        print(f"| {name} | {per} | {r[:, 0].mean():.3f} | {r[:, 1].mean():+.3f} | {r[:, 2].mean():.3f} |")


if __name__ == "__main__":
    main()
