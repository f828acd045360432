#!/usr/bin/env python3
"""Summarise scripts/camel-cost.sh: per camel and seed the rel. std with the defaults and
with the defensive fractions and the collapse guard off, their ratio (the cost), and per
camel the mean and range of the ratios over the seeds that have both runs, their geometric
mean, and the ratio of the two runs' median rel. std. The two runs of a seed do not share
their random streams (the defensive fraction's uniform draws shift them from the first
step), so a per-seed ratio is as noisy as a ratio between two seeds; the medians over the
seeds are the steadier comparison.

Each run's own training history gives a second, much less noisy figure: the median
over the last 100 steps of the batch rel. std (4096 points each, flow alone once the
training fraction has decayed to 0, as it has by then in both variants). A single
evaluation's rel. std is swayed by the rare huge weight when k̂ is near 0.7; the
median of 100 batches is what the flow does typically. Its ratio of medians comes with
a 90 % bootstrap interval (seeds resampled within each variant)."""
import csv
import json
import random
import statistics as st
import sys
from pathlib import Path


def load(p):
    try:
        return json.loads((p / "result.json").read_text())
    except (OSError, ValueError):
        return None


def k(r):
    return "–" if r.get("pareto_k") is None else f"{r['pareto_k']:.2f}"


def late_batch_rel_std(run, last=100):
    """Median batch rel. std of the last `last` training steps, or None."""
    try:
        with open(run / "history.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        vals = [float(r["rel_std"]) for r in rows[-last:] if r["rel_std"] not in ("", "nan")]
        return st.median(vals) if vals else None
    except (OSError, KeyError, ValueError):
        return None


def ratio_interval(a, b, rng, n=20_000):
    """90 % bootstrap interval of median(a)/median(b), each list resampled on its own."""
    rs = sorted(st.median(rng.choices(a, k=len(a))) / st.median(rng.choices(b, k=len(b)))
                for _ in range(n))
    return rs[int(0.05 * n)], rs[int(0.95 * n) - 1]


def main(out):
    out = Path(out)
    print("| camel | seed | rel. std, defaults | rel. std, off | cost (defaults / off) | k̂ defaults / off | "
          "trusted defaults / off | collapses (defaults) |")
    print("|---|---|---|---|---|---|---|---|")
    summary = []
    for d in sorted({p.name.rsplit("-", 1)[0] for p in out.glob("camel-*d-defaults")},
                    key=lambda n: int(n.split("-")[1][:-1])):
        ratios, rel_a, rel_b, late_a, late_b = [], [], [], [], []
        for sd in sorted((out / f"{d}-defaults").glob("seed*"), key=lambda p: int(p.name[4:])):
            a = load(sd)
            b = load(out / f"{d}-off" / sd.name)
            if not (a and b):
                continue
            rep = json.loads((sd / "report.json").read_text())
            coll = len(rep.get("training", {}).get("collapses", []))
            r = a["rel_std"] / b["rel_std"]
            ratios.append(r)
            rel_a.append(a["rel_std"])
            rel_b.append(b["rel_std"])
            la, lb = late_batch_rel_std(sd), late_batch_rel_std(out / f"{d}-off" / sd.name)
            if la is not None and lb is not None:
                late_a.append(la)
                late_b.append(lb)
            print(f"| {d} | {sd.name[4:]} | {a['rel_std']:.4f} | {b['rel_std']:.4f} | {r:.3f} | "
                  f"{k(a)} / {k(b)} | {a['trusted']} / {b['trusted']} | {coll} |")
        if ratios:
            summary.append((d, ratios, rel_a, rel_b, late_a, late_b))
    rng = random.Random(2026)
    for d, r, ra, rb, la, lb in summary:
        print(f"\n{d}: {len(r)} paired seeds, cost mean {st.mean(r):.3f} "
              f"(min {min(r):.3f}, max {max(r):.3f}), geometric mean {st.geometric_mean(r):.3f}; "
              f"median rel. std defaults {st.median(ra):.4f}, off {st.median(rb):.4f}, "
              f"ratio of medians {st.median(ra) / st.median(rb):.3f}")
        if la:
            lo, hi = ratio_interval(la, lb, rng)
            worse = sum(x > y for x, y in zip(la, lb))
            print(f"{d}, training history (median batch rel. std of the last 100 steps): "
                  f"median defaults {st.median(la):.4f}, off {st.median(lb):.4f}, ratio of medians "
                  f"{st.median(la) / st.median(lb):.3f}, 90 % bootstrap interval {lo:.3f}–{hi:.3f}; "
                  f"defaults above off at {worse} of {len(la)} seeds")
    # Other variants trained into the same directory (camel-Nd-NAME/seedS, e.g. a spec
    # with another [train] setting): their training-history figure against "off".
    for p in sorted(out.glob("camel-*d-*")):
        d, variant = p.name.rsplit("-", 1)
        if not p.is_dir() or variant in ("defaults", "off"):
            continue
        runs = sorted(p.glob("seed*"), key=lambda q: int(q.name[4:]))
        vals = {q.name: late_batch_rel_std(q) for q in runs if load(q)}
        vals = {k_: v for k_, v in vals.items() if v is not None}
        off = [late_batch_rel_std(out / f"{d}-off" / q) for q in vals]
        pairs = [(v, o) for v, o in zip(vals.values(), off) if o is not None]
        if not pairs:
            continue
        va, vo = [a for a, _ in pairs], [o for _, o in pairs]
        lo, hi = ratio_interval(va, vo, rng)
        rel = [load(p / q)["rel_std"] for q in vals]
        print(f"{d}-{variant}, training history: median {st.median(va):.4f} over seeds "
              f"{', '.join(q[4:] for q in vals)}; off at the same seeds {st.median(vo):.4f}, "
              f"ratio of medians {st.median(va) / st.median(vo):.3f}, 90 % bootstrap interval "
              f"{lo:.3f}–{hi:.3f}; above off at {sum(a > o for a, o in pairs)} of {len(pairs)} "
              f"seeds; its runs' rel. std median {st.median(rel):.4f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/camel-cost")
