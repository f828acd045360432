#!/usr/bin/env python3
"""Table of scripts/auger-conditional.sh: per energy bin (equal-count bins of the test
split, so the bin edges move with the seed's split), mean ± std over seeds of the KDE
overlap of xmax and the angles (generated at the bin's energies vs the bin's real events)
and of the bin's real-vs-real ceiling; then the unbinned test figures.
Usage: auger_conditional_table.py OUT SEEDS"""
import json, statistics, sys

out, seeds = sys.argv[1], int(sys.argv[2])
cols = ["xmax", "theta", "phi", "l", "b", "ra", "dec", "totalEnergy"]


def ms(v):
    return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"


reps = [json.load(open(f"{out}/s{s}/report.json")) for s in range(seeds)]
names = reps[0]["conditional"]["columns"]
print(f"| energy bin (EeV, seed 0 edges) | events | " + " | ".join(f"{c} overlap (ceiling)" for c in cols) + " |")
print("|---|---|" + "---|" * len(cols))
for k in range(3):
    b0 = reps[0]["conditional"]["bins"][k]
    cells = []
    for c in cols:
        j = names.index(c)
        o = [r["conditional"]["bins"][k]["overlap"][j] for r in reps]
        ce = [r["conditional"]["bins"][k]["ceiling"][j] for r in reps]
        cells.append(f"{ms(o)} ({statistics.mean(ce):.3f})")
    print(f"| {b0['range'][0]:.2f}–{b0['range'][1]:.2f} | {b0['events']} | " + " | ".join(cells) + " |")
print()
print(f"test NLL of p(rest | energy): {ms([r['test']['nll'] for r in reps])} nats/event; "
      f"mean KDE overlap (one event per test energy) {ms([r['test']['kde_overlap']['mean'] for r in reps])} "
      f"(ceiling {ms([r['kde_overlap_ceiling']['mean'] for r in reps])}); "
      f"C2ST on (event, energy) accuracy {ms([r['test']['c2st']['accuracy'] for r in reps])}")
