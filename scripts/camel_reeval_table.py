#!/usr/bin/env python3
"""Summarise `examples/defensive_cost` run over the flows of scripts/camel-cost.sh
(scripts/camel-cost-reeval.sh writes its output to OUT_DIR/reeval.md).

Every flow was re-evaluated with many more draws than its run had, the rel. std of the
flow alone and of the defensive mixture taken from the same draws. Printed per camel:

* the evaluation mixture's own cost: mixture / flow rel. std on the same flow (median,
  range, how many flows above 1.2) — it does not depend on how the flow was trained;
* the training fraction's cost: the median over seeds of the mixture rel. std of the
  flows trained with the defaults against those trained with both fractions 0 and the
  guard off, their ratio, and a 90 % bootstrap interval of that ratio (seeds resampled
  within each variant, 20,000 resamples, fixed seed);
* the same for the median over a flow's blocks of the rel. std of the flow alone (what
  a typical run of BLOCK draws would print; less swayed by the rare huge weight than
  the pooled figure);
* the shipped comparison: defaults (mixture) against "off" (the flow alone).

Usage: scripts/camel_reeval_table.py OUT_DIR/reeval.md"""
import random
import re
import statistics as st
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from camel_cost_table import ratio_interval  # noqa: E402  (the same bootstrap interval)

ROW = re.compile(r"^\| (\S*?(camel-\d+d)-(defaults|off)/seed(\d+)) \|")


def parse(path):
    flows = {}
    for line in open(path, encoding="utf-8"):
        m = ROW.match(line)
        if not m:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        camel, variant, seed = m.group(2), m.group(3), int(m.group(4))
        flows.setdefault(camel, {}).setdefault(variant, {})[seed] = {
            "flow": float(cells[5]),
            "mixture": float(cells[6]),
            "ratio": float(cells[7]),
            "typical": float(cells[9].split("/")[1]),
        }
    return flows


def main(path):
    rng = random.Random(2026)
    flows = parse(path)
    if not flows:
        sys.exit(f"{path}: no rows of examples/defensive_cost found")
    for camel in sorted(flows, key=lambda c: int(c.split("-")[1][:-1])):
        v = flows[camel]
        seeds = sorted(set(v.get("defaults", {})) | set(v.get("off", {})))
        print(f"\n{camel}\n")
        print("| seed | defaults: flow alone | defaults: mixture | defaults: typical block | "
              "off: flow alone | off: mixture | off: typical block |")
        print("|---|---|---|---|---|---|---|")
        cell = lambda var, s, key: f"{v[var][s][key]:.4f}" if s in v.get(var, {}) else "–"
        for s in seeds:
            print(f"| {s} | {cell('defaults', s, 'flow')} | {cell('defaults', s, 'mixture')} | "
                  f"{cell('defaults', s, 'typical')} | {cell('off', s, 'flow')} | "
                  f"{cell('off', s, 'mixture')} | {cell('off', s, 'typical')} |")
        ratios = [f["ratio"] for var in v.values() for f in var.values()]
        print(f"\nevaluation mixture on the same flow ({len(ratios)} flows): mixture / flow "
              f"rel. std median {st.median(ratios):.3f}, min {min(ratios):.3f}, "
              f"max {max(ratios):.3f}; above 1.2: {sum(r > 1.2 for r in ratios)}")
        if "defaults" in v and "off" in v:
            a = [f["mixture"] for f in v["defaults"].values()]
            b = [f["mixture"] for f in v["off"].values()]
            lo, hi = ratio_interval(a, b, rng)
            print(f"training fraction (both evaluated with the mixture): median rel. std "
                  f"defaults {st.median(a):.4f} ({len(a)} seeds), off {st.median(b):.4f} "
                  f"({len(b)} seeds), ratio {st.median(a) / st.median(b):.3f}, "
                  f"90 % bootstrap interval {lo:.3f}–{hi:.3f}")
            ta = [f["typical"] for f in v["defaults"].values()]
            tb = [f["typical"] for f in v["off"].values()]
            lo, hi = ratio_interval(ta, tb, rng)
            print(f"training fraction (typical block, flow alone): median defaults "
                  f"{st.median(ta):.4f}, off {st.median(tb):.4f}, ratio "
                  f"{st.median(ta) / st.median(tb):.3f}, 90 % bootstrap interval {lo:.3f}–{hi:.3f}")
            b_flow = [f["flow"] for f in v["off"].values()]
            lo, hi = ratio_interval(a, b_flow, rng)
            print(f"as shipped against all off (defaults with the mixture, off with the flow "
                  f"alone): ratio of medians {st.median(a) / st.median(b_flow):.3f}, "
                  f"90 % bootstrap interval {lo:.3f}–{hi:.3f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
