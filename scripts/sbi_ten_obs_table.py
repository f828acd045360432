#!/usr/bin/env python3
"""Ten-observation table of issue 19 (docs/SBI.md, "Ten observations: NPE, TSNPE, SNLE
and sbi 0.27"): mean C2ST over the sbibm reference observations for flowinfer's
amortised NPE, TSNPE and SNLE and sbi 0.27's NPE, under both C2ST codes (ours and
scikit-learn's, sbibm's protocol), with wall and CPU seconds for all ten observations.

Layout under RUNS (per TASK):
  fi-TASK/     `sbibm_compare npe` (timing.json, samples_<k>.csv, c2st_flowinfer.csv,
               c2st_sklearn.csv from scripts/sbibm_c2st.py)
  sbi-TASK/    scripts/sbi_baseline.py (timing.json, samples, c2st_*.csv)
  tsnpe-TASK/  `SBIBM_OUT=… tsnpe_sbibm` (rows.csv; tsnpe/samples_<k>.csv, tsnpe/c2st_*.csv)
  snle-TASK/   `SBIBM_OUT=… nle_sbibm`   (rows.csv; snle/samples_<k>.csv, snle/c2st_*.csv)
Our C2ST of a sequential method is rows.csv's (seed 1 + k) or, where that is NaN
(C2ST_EPOCHS=0), tsnpe/c2st_flowinfer.csv of `sbibm_compare c2st` (seed k).
A sequential method runs once per observation, so its time is the sum over the
observations it finished; amortised NPE's is one simulation + training + ten samplings.
Every time names the build it comes from (dev and release differ severalfold): the
"profile" of timing.json, else the file `profile` in the run folder (written by the
examples; for runs made before they wrote it, by hand from the run's log), else "profile
not recorded". sbi's rows say "sbi 0.27, N torch thread(s)" from its timing.json.

Usage: python3 scripts/sbi_ten_obs_table.py RUNS [TASK ...]   (plain Python 3)
"""

import csv
import glob
import json
import os
import sys

# sbibm (Lueckmann et al. 2021) at 10^4 simulations, as quoted in issue 19 and
# scripts/sbi_compare_table.py: NPE per task; the best published figure (the goal).
PUBLISHED_NPE = {"two_moons": 0.61, "gaussian_linear": 0.55, "sir": 0.68}
GOAL = {"two_moons": 0.55, "gaussian_linear": 0.54, "sir": 0.56}


def scores(pattern):
    """{observation: accuracy} from every file matching pattern."""
    out = {}
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            for row in csv.DictReader(f):
                out[int(row["observation"])] = float(row["accuracy"])
    return out


def mean(s):
    if not s:
        return "–"
    m = sum(s.values()) / len(s)
    if len(s) == 10:
        return f"**{m:.3f}**"
    return f"{m:.3f} ({len(s)} of 10: obs. {','.join(str(k) for k in sorted(s))})"


def profile(run, timing=None):
    """The build a folder's timings come from (see the module doc)."""
    timing = timing or {}
    if str(timing.get("tool", "")).startswith("sbi"):
        n = timing.get("threads", "?")
        return f"sbi {timing['tool'].split()[-1]}, {n} torch thread{'s' if n != 1 else ''}"
    if "profile" in timing:
        n = timing.get("rayon_threads")
        threads = f", {n} rayon thread{'s' if n != 1 else ''}" if n else ""
        return f"{timing['profile']} build{threads}"
    path = os.path.join(run, "profile")
    if os.path.isfile(path):
        return f"{open(path).read().strip()} build"
    return "profile not recorded"


def amortised(run, fi):
    """(ours, sklearn, seconds text) of an sbibm_compare / sbi_baseline folder."""
    t = json.load(open(os.path.join(run, "timing.json")))
    sim = json.load(open(os.path.join(fi, "timing.json")))
    wall = sim["simulate_s"] + t["train_s"] + t["sample_s"]
    cpu = sim.get("simulate_cpu_s", 0) + t.get("train_cpu_s", 0) + t.get("sample_cpu_s", 0)
    secs = f"{wall:.1f} s wall, {cpu:.1f} s CPU (sim. + training + 10 × sampling; {profile(run, t)})"
    return scores(os.path.join(run, "c2st_flowinfer.csv")), scores(
        os.path.join(run, "c2st_sklearn*.csv")
    ), secs


def sequential(run, method):
    """(ours, sklearn, seconds text) of a tsnpe_sbibm / nle_sbibm SBIBM_OUT folder."""
    ours, wall, cpu = {}, 0.0, 0.0
    with open(os.path.join(run, "rows.csv")) as f:
        for row in csv.DictReader(f):
            if row["method"] == method:
                ours[int(row["observation"])] = float(row["c2st_flowinfer"])
                wall += float(row["wall_s"])
                cpu += float(row["cpu_s"])
    secs = f"{wall:.1f} s wall, {cpu:.1f} s CPU ({len(ours)} runs, one per observation; {profile(run)})"
    # Runs with C2ST_EPOCHS=0 leave NaN: then our C2ST comes from `sbibm_compare c2st`.
    ours = {k: v for k, v in ours.items() if v == v}
    ours.update(scores(os.path.join(run, method, "c2st_flowinfer.csv")))
    return ours, scores(os.path.join(run, method, "c2st_sklearn*.csv")), secs


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs = sys.argv[1]
    tasks = sys.argv[2:] or ["two_moons", "gaussian_linear", "sir"]
    print("| task | method | mean C2ST, scikit-learn | mean C2ST, ours | ours, flowinfer NPE on the same observations | ours per observation 1 … 10 | time | goal (best published 10k) | published NPE |")
    print("|---|---|---|---|---|---|---|---|---|")
    for task in tasks:
        fi = os.path.join(runs, f"fi-{task}")
        rows = []
        if os.path.isfile(os.path.join(fi, "timing.json")):
            rows.append(("flowinfer NPE", *amortised(fi, fi)))
        for method in ("tsnpe", "snle"):
            run = os.path.join(runs, f"{method}-{task}")
            if os.path.isfile(os.path.join(run, "rows.csv")):
                rows.append((f"flowinfer {method.upper()}", *sequential(run, method)))
        sbi = os.path.join(runs, f"sbi-{task}")
        if os.path.isfile(os.path.join(sbi, "timing.json")):
            rows.append(("sbi 0.27 NPE", *amortised(sbi, fi)))
        npe = rows[0][1] if rows and rows[0][0] == "flowinfer NPE" else {}
        for name, ours, sk, secs in rows:
            per = " ".join(f"{ours[k]:.3f}" if k in ours else "–" for k in range(1, 11))
            same = {k: npe[k] for k in ours if k in npe}
            paired = mean(same) if same and len(same) == len(ours) else "–"
            print(f"| {task} | {name} | {mean(sk)} | {mean(ours)} | {paired} | {per} | {secs} | ≤ {GOAL[task]} | {PUBLISHED_NPE[task]} |")


if __name__ == "__main__":
    main()
