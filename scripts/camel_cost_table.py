#!/usr/bin/env python3
"""Summarise scripts/camel-cost.sh: per camel and seed the rel. std with the defaults and
with the defensive fractions and the collapse guard off, their ratio (the cost), and per
camel the mean and range of the ratios over the seeds that have both runs, their geometric
mean, and the ratio of the two runs' median rel. std. The two runs of a seed do not share
their random streams (the defensive fraction's uniform draws shift them from the first
step), so a per-seed ratio is as noisy as a ratio between two seeds; the medians over the
seeds are the steadier comparison."""
import json
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


def main(out):
    out = Path(out)
    print("| camel | seed | rel. std, defaults | rel. std, off | cost (defaults / off) | k̂ defaults / off | "
          "trusted defaults / off | collapses (defaults) |")
    print("|---|---|---|---|---|---|---|---|")
    summary = []
    for d in sorted({p.name.rsplit("-", 1)[0] for p in out.glob("camel-*d-defaults")},
                    key=lambda n: int(n.split("-")[1][:-1])):
        ratios, rel_a, rel_b = [], [], []
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
            print(f"| {d} | {sd.name[4:]} | {a['rel_std']:.4f} | {b['rel_std']:.4f} | {r:.3f} | "
                  f"{k(a)} / {k(b)} | {a['trusted']} / {b['trusted']} | {coll} |")
        if ratios:
            summary.append((d, ratios, rel_a, rel_b))
    for d, r, ra, rb in summary:
        print(f"\n{d}: {len(r)} paired seeds, cost mean {st.mean(r):.3f} "
              f"(min {min(r):.3f}, max {max(r):.3f}), geometric mean {st.geometric_mean(r):.3f}; "
              f"median rel. std defaults {st.median(ra):.4f}, off {st.median(rb):.4f}, "
              f"ratio of medians {st.median(ra) / st.median(rb):.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/camel-cost")
