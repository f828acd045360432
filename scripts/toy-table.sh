#!/bin/sh
# Reproduce the 2-D toy table of the README: three built-in sets × three flow families,
# each through the same pipeline as a data file (`fit --toy NAME --spec models/moons.toml`:
# 6,000 events, seeded 70/15/15 split, 6 blocks of width 64, 60 epochs at most with early
# stopping), test NLL / KDE overlap / C2ST from each run's report.json, and the best
# Gaussian's test NLL. Usage: scripts/toy-table.sh [OUT_DIR] [BINARY] (default runs/toy,
# target/release/flowinfer after a release build); a few minutes on 2 cores.
set -eu
out=${1:-runs/toy}
f=${2:-}
if [ -z "$f" ]; then
    cargo build --release --quiet
    f=target/release/flowinfer
fi
for set in two-moons checkerboard spiral; do
    for kind in realnvp nsf maf; do
        "$f" fit --toy "$set" --spec models/moons.toml --flow "$kind" --blocks 6 --quiet \
            --out "$out/$set-$kind" > /dev/null
    done
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("| data set | RealNVP | NSF | MAF | best Gaussian |")
print("|---|---|---|---|---|")
for s in ["two-moons", "checkerboard", "spiral"]:
    cells, gauss = [], None
    for k in ["realnvp", "nsf", "maf"]:
        r = json.load(open(f"{out}/{s}-{k}/report.json"))
        c = r["test"]["c2st"]["accuracy"]
        cells.append(f'{r["test"]["nll"]:.3f} / {r["test"]["kde_overlap"]["mean"]:.3f} / {c:.3f}')
        gauss = r["gaussian_test_nll"]
    print(f"| {s} | " + " | ".join(cells) + f" | {gauss:.3f} |")
PY
