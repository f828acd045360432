#!/usr/bin/env python3
"""Table of scripts/auger-domains-study.sh: per variant (before/after the column domains),
mean ± std over seeds of the test-split NLL (original units), mean KDE overlap, the
per-column overlap of the angles and energies, the largest shortfall of a column below
its real-vs-real ceiling, and C2ST; then the events outside their domains in 10⁶ draws.
Usage: auger_domains_table.py OUT SEEDS"""
import csv, json, statistics, sys, tomllib

out, seeds = sys.argv[1], int(sys.argv[2])
cols = ["energy", "totalEnergy", "theta", "phi", "l", "b", "ra", "dec"]


def ms(v):
    return f"{statistics.mean(v):.4f} ± {statistics.stdev(v):.4f}" if len(v) > 1 else f"{v[0]:.4f}"


names = json.load(open(f"{out}/after-s0/run.json"))["columns"]
rows = {}
for v in ["before", "after"]:
    r = {k: [] for k in ["nll", "mean", "ceil", "short", "c2st", "auc"] + cols}
    for s in range(seeds):
        rep = json.load(open(f"{out}/{v}-s{s}/report.json"))
        t, c = rep["test"], rep["kde_overlap_ceiling"]
        r["nll"].append(t["nll"])
        r["mean"].append(t["kde_overlap"]["mean"])
        r["ceil"].append(c["mean"])
        r["short"].append(max(cc - o for cc, o in zip(c["per_column"], t["kde_overlap"]["per_column"])))
        r["c2st"].append(t["c2st"]["accuracy"])
        r["auc"].append(t["c2st"]["auc"])
        for k in cols:
            j = names.index(k)
            r[k].append(t["kde_overlap"]["per_column"][j])
    rows[v] = r
ceil = {k: [] for k in cols}
for s in range(seeds):
    c = json.load(open(f"{out}/after-s{s}/report.json"))["kde_overlap_ceiling"]["per_column"]
    for k in cols:
        ceil[k].append(c[names.index(k)])
print(f"| figure ({seeds} seeds, mean ± std) | before (no domains) | after (domains) | real-vs-real ceiling |")
print("|---|---|---|---|")
ceil["mean"] = rows["after"]["ceil"]
labels = [("nll", "test NLL (nats/event, original units)"), ("mean", "mean KDE overlap"),
          ("short", "largest column shortfall below its ceiling")] + \
         [(k, f"overlap {k}") for k in cols] + [("c2st", "C2ST accuracy"), ("auc", "C2ST AUC")]
for k, label in labels:
    c = ms(ceil[k]) if k in ceil else ""
    print(f"| {label} | {ms(rows['before'][k])} | {ms(rows['after'][k])} | {c} |")

spec = tomllib.load(open(f"{out}/after.toml", "rb"))["data"]["domains"]


def outside(name, x):
    d = spec[name]
    if d == "positive":
        return x <= 0
    if d == "real":
        return False
    (kind, (a, b)), = d.items()
    return not (a <= x <= b) if kind == "interval" else not (a <= x < b)


for v in ["before", "after"]:
    path = f"{out}/{v}-s0-1e6.csv"
    bad = {n: 0 for n in names}
    total = 0
    with open(path) as f:
        for row in csv.DictReader(f):
            total += 1
            for n in names:
                if outside(n, float(row[n])):
                    bad[n] += 1
    print(f"\n{v}, seed 0: events outside their column's domain in {total} draws: " +
          ", ".join(f"{n} {k}" for n, k in bad.items()) + f" (any column: {sum(bad.values())} cells)")
