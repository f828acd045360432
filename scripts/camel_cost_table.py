#!/usr/bin/env python3
"""Summarise scripts/camel-cost.sh: per camel and seed the rel. std with the defaults and
with the defensive fractions and the collapse guard off, their ratio (the cost), and per
camel the mean and range of the ratios over the seeds that have both runs."""
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
        ratios = []
        for sd in sorted((out / f"{d}-defaults").glob("seed*"), key=lambda p: int(p.name[4:])):
            a = load(sd)
            b = load(out / f"{d}-off" / sd.name)
            if not (a and b):
                continue
            rep = json.loads((sd / "report.json").read_text())
            coll = len(rep.get("training", {}).get("collapses", []))
            r = a["rel_std"] / b["rel_std"]
            ratios.append(r)
            print(f"| {d} | {sd.name[4:]} | {a['rel_std']:.4f} | {b['rel_std']:.4f} | {r:.3f} | "
                  f"{k(a)} / {k(b)} | {a['trusted']} / {b['trusted']} | {coll} |")
        if ratios:
            summary.append((d, ratios))
    for d, r in summary:
        print(f"\n{d}: {len(r)} paired seeds, cost mean {st.mean(r):.3f} "
              f"(min {min(r):.3f}, max {max(r):.3f})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/camel-cost")
