#!/usr/bin/env python3
"""Append one finished run of scripts/hard-study.sh to a CSV (header written when the file is new).
Usage: scripts/hard_study_row.py CSV SPEC SEED RUN_DIR"""
import csv
import json
import sys
from pathlib import Path

FIELDS = ["spec", "seed", "estimate", "std_error", "exact", "pull", "rel_std", "ess_fraction",
          "pareto_k", "trusted", "reasons", "unweighting_efficiency_bootstrap", "seconds"]


def main(path, spec, seed, run):
    r = json.loads((Path(run) / "result.json").read_text())
    row = {k: r.get(k) for k in FIELDS}
    row.update(spec=spec, seed=seed, trusted=r.get("trusted", True),
               reasons="; ".join(r.get("reasons", [])))
    new = not Path(path).exists()
    with open(path, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            w.writeheader()
        w.writerow(row)


if __name__ == "__main__":
    main(*sys.argv[1:5])
