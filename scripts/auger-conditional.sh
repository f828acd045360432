#!/usr/bin/env bash
# Conditional generation on the Auger events (docs/GENERATION.md): the auger-nsf spec
# (with its domains) fitted as p(other columns | energy) over seeds 0..N-1; each run's
# report.json holds the per-column overlaps in 3 equal-count energy bins of the test
# split (plots/condition_bin{1,2,3}.png); then 1000 events at energy = 10 EeV.
# Usage: scripts/auger-conditional.sh [OUT] [SEEDS] (default runs/auger-conditional 3);
# BIN=path/to/flowinfer overrides ./target/release/flowinfer.
set -euo pipefail
out=${1:-runs/auger-conditional}
seeds=${2:-3}
bin=${BIN:-./target/release/flowinfer}
mkdir -p "$out"
for s in $(seq 0 $((seeds - 1))); do
  if [ ! -f "$out/s$s/report.json" ]; then
    /usr/bin/time -f "seed $s: %e s" $bin fit --spec models/auger-nsf.toml --condition energy \
      --seed "$s" --out "$out/s$s" --quiet > "$out/s$s.log"
  fi
done
$bin sample --run "$out/s0" --condition energy=10 -n 1000 --out "$out/s0-energy10.csv"
python3 scripts/auger_conditional_table.py "$out" "$seeds"
