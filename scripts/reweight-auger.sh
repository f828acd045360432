#!/bin/sh
# Reproduce the DCTR table of docs/GENERATION.md: the Auger NSF run of the
# README (models/auger-nsf.toml) and deliberately weakened copies (1, 3, 8 epochs),
# each reweighted against the whole Auger file with seeds 0–4; plus a real-vs-real
# control (one half of the file weighted against the other). Prints the markdown table
# (scripts/reweight_table.py).
# Usage: scripts/reweight-auger.sh [OUT_DIR] (default runs/reweight-auger); run from the
# repository root. FLOWINFER=path/to/flowinfer uses that binary instead of building.
set -eu
out=${1:-runs/reweight-auger}
data=data/auger/auger_events_aligned.csv
if [ -z "${FLOWINFER:-}" ]; then
    cargo build --release --quiet
    FLOWINFER=target/release/flowinfer
fi
mkdir -p "$out"
"$FLOWINFER" fit --spec models/auger-nsf.toml --out "$out/auger-nsf" --quiet > /dev/null
for e in 1 3 8; do
    "$FLOWINFER" fit --spec models/auger-nsf.toml --epochs $e --out "$out/auger-nsf-${e}ep" --quiet > /dev/null
done
# Real-vs-real control: odd and even data rows.
awk 'NR == 1 || NR % 2 == 0' "$data" > "$out/half-a.csv"
awk 'NR == 1 || NR % 2 == 1' "$data" > "$out/half-b.csv"
for s in 0 1 2 3 4; do
    for r in auger-nsf auger-nsf-8ep auger-nsf-3ep auger-nsf-1ep; do
        "$FLOWINFER" reweight --run "$out/$r" --data "$data" --out "$out/rw-$r-s$s" --seed $s > /dev/null
    done
    "$FLOWINFER" reweight --run "$out/auger-nsf" --data "$out/half-b.csv" \
        --generated "$out/half-a.csv" --out "$out/rw-null-s$s" --seed $s > /dev/null
done
python3 scripts/reweight_table.py "$out"
