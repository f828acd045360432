#!/usr/bin/env python3
"""Every figure of a scripts/perf-sitting.sh folder as a Markdown table: before, after and
PyTorch (plain; zuko / zuko_cpl for (c)), run 1 / run 2, and after ÷ before and
after ÷ plain (mean of the runs). usage: python3 scripts/perf_sitting_table.py OUTDIR"""
import glob, json, statistics as st, sys

o = sys.argv[1]
load = lambda pat: [json.load(open(p)) for p in sorted(glob.glob(f"{o}/{pat}"))]
before, after = load("before-*.json"), load("fi-*.json")
pt = load("pt-*.json") + load("ptjobs-*.json")
pt_runs = [a + b for a, b in zip(load("pt-*.json"), load("ptjobs-*.json"))] or pt


def vals(runs, cfg, m, impl=None):
    return [r[m] for run in runs for r in run
            if r["config"] == cfg and (impl is None or r.get("impl") == impl) and r[m] > 0]


def fmt(v):
    return " / ".join(f"{x/1e3:.0f}k" if x >= 1e4 else f"{x:.1f}" for x in v) or "–"


def ratio(a, b):
    return f"{st.mean(a) / st.mean(b):.2f}" if a and b else "–"


print("| config | measure | before | after | PyTorch plain | zuko (cpl for c) | after/before | after/plain |")
print("|---|---|---|---|---|---|---|---|")
for cfg in ["a", "b", "c", "npe", "integ"]:
    for m, name in [("train_steps_s", "train steps/s"), ("logprob_ev_s", "log_prob ev/s"),
                    ("sample_ev_s", "sample ev/s")]:
        b, a = vals(before, cfg, m), vals(after, cfg, m)
        p = vals(pt_runs, cfg, m, "plain")
        z = vals(pt_runs, cfg, m, "zuko_cpl" if cfg == "c" else "zuko")
        if not (a or b):
            continue
        print(f"| ({cfg}) | {name} | {fmt(b)} | {fmt(a)} | {fmt(p)} | {fmt(z)} | {ratio(a, b)} | {ratio(a, p)} |")
