#!/usr/bin/env python3
"""Markdown table of the flowinfer-vs-sbi NPE side-by-side (docs/SBI.md, "NPE beside sbi")
from the run folders of scripts/sbi-compare.sh: for each task, each tool's C2ST per
reference observation under both C2ST implementations (c2st_flowinfer.csv from
`sbibm_compare c2st`, c2st_sklearn*.csv from scripts/sbibm_c2st.py), their means, and the
wall times in timing.json.

Usage: python3 scripts/sbi_compare_table.py RUNS [TASK ...]   (plain Python 3, no packages)
"""

import csv
import glob
import json
import os
import sys

PUBLISHED_NPE = {"two_moons": 0.61, "gaussian_linear": 0.55, "sir": 0.68}


def scores(run, pattern):
    """{observation: accuracy} from every file matching pattern in run."""
    out = {}
    for path in sorted(glob.glob(os.path.join(run, pattern))):
        with open(path) as f:
            for row in csv.DictReader(f):
                out[int(row["observation"])] = float(row["accuracy"])
    return out


def fmt(s, ks):
    vals = " ".join(f"{s[k]:.3f}" if k in s else "–" for k in ks)
    full = all(k in s for k in ks)
    mean = sum(s[k] for k in ks if k in s) / max(1, sum(k in s for k in ks))
    m = f"**{mean:.3f}**" if full else (f"{mean:.3f} ({sum(k in s for k in ks)} obs.)" if s else "–")
    return vals, m


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs = sys.argv[1]
    tasks = sys.argv[2:] or ["two_moons", "gaussian_linear", "sir"]
    print("| task | tool | C2ST code | per observation 1 … 10 | mean | published NPE | sim + train + sample |")
    print("|---|---|---|---|---|---|---|")
    for task in tasks:
        fi = os.path.join(runs, f"fi-{task}")
        for tool, run in (("flowinfer", fi), ("sbi", os.path.join(runs, f"sbi-{task}"))):
            if not os.path.isfile(os.path.join(run, "timing.json")):
                continue
            t = json.load(open(os.path.join(run, "timing.json")))
            sim_s = json.load(open(os.path.join(fi, "timing.json")))["simulate_s"]
            wall = f"{sim_s + t['train_s'] + t['sample_s']:.1f} s ({t['epochs']} epochs)"
            ks = list(range(1, 11))
            for code, pat in (("flowinfer", "c2st_flowinfer.csv"), ("sklearn", "c2st_sklearn*.csv")):
                s = scores(run, pat)
                vals, mean = fmt(s, ks)
                print(f"| {task} | {tool} | {code} | {vals} | {mean} | {PUBLISHED_NPE[task]} | {wall} |")


if __name__ == "__main__":
    main()
