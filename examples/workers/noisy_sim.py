#!/usr/bin/env python3
"""A flowinfer simulator worker in plain Python (stdlib only): x = (θ₁ + ε₁, …,
θ_p + ε_p, Σθ) with ε ~ N(0, 0.1²) from a generator seeded by the batch seed, so a
batch gives the same numbers in one-shot and persistent mode.

  * one-shot (FLOWINFER_MODE unset or "oneshot"): rows on stdin, the seed in
    FLOWINFER_SEED;
  * persistent (FLOWINFER_MODE=persistent): "BATCH <rows> <cols> <seed> <batch>" +
    rows, answered by "OK <rows> <cols+1>" + rows.
SLEEP_PER_CALL (seconds, default 0) sleeps that long per row: a stand-in for an
expensive model in the scaling measurements of docs/CLUSTER.md.
"""
import os
import random
import sys
import time

SLEEP = float(os.environ.get("SLEEP_PER_CALL", "0"))


def simulate(lines, seed):
    rng = random.Random(seed)
    out = []
    for line in lines:
        theta = [float(v) for v in line.split(",")]
        if SLEEP > 0:
            time.sleep(SLEEP)
        x = [t + rng.gauss(0.0, 0.1) for t in theta] + [sum(theta)]
        out.append(",".join(repr(v) for v in x))
    return out


def persistent():
    while True:
        header = sys.stdin.readline()
        if not header:
            return
        words = header.split()
        if len(words) != 5 or words[0] != "BATCH":
            sys.stdout.write("ERR expected BATCH <rows> <cols> <seed> <batch>\n")
            sys.stdout.flush()
            continue
        rows, cols, seed = int(words[1]), int(words[2]), int(words[3])
        lines = [sys.stdin.readline() for _ in range(rows)]
        out = simulate(lines, seed)
        sys.stdout.write("OK %d %d\n" % (rows, cols + 1))
        sys.stdout.write("".join(line + "\n" for line in out))
        sys.stdout.flush()


if __name__ == "__main__":
    if os.environ.get("FLOWINFER_MODE") == "persistent":
        persistent()
    else:
        rows = [line for line in sys.stdin if line.strip()]
        out = simulate(rows, int(os.environ.get("FLOWINFER_SEED", "0")))
        sys.stdout.write("".join(line + "\n" for line in out))
