#!/usr/bin/env bash
# Column domains on the Auger events (docs/GENERATION.md): the shipped auger-nsf spec
# with its [data.domains] ("after") and the same spec with that table removed
# ("before"), over seeds 0..N-1 (`--seed`, which re-seeds split, initialisation and
# minibatches alike); then 10⁶ events of the seed-0 "after" run checked against the
# domains, and the table (scripts/auger_domains_table.py).
# Usage: scripts/auger-domains-study.sh [OUT] [SEEDS] (default runs/auger-domains 5);
# BIN=path/to/flowinfer overrides ./target/release/flowinfer; DATA=FILE fits another table
# (e.g. DATA=data/auger/auger_events.csv, the seed's matrix) instead of the spec's.
set -euo pipefail
out=${1:-runs/auger-domains}
seeds=${2:-5}
bin=${BIN:-./target/release/flowinfer}
data=()
if [ -n "${DATA:-}" ]; then data=(--data "$DATA"); fi
mkdir -p "$out"
# "before": the same spec without its [data.domains] table.
awk '/^\[data\.domains\]/{skip=1; next} /^\[/{skip=0} !skip' models/auger-nsf.toml > "$out/before.toml"
cp models/auger-nsf.toml "$out/after.toml"
for s in $(seq 0 $((seeds - 1))); do
  for v in before after; do
    if [ ! -f "$out/$v-s$s/report.json" ]; then
      /usr/bin/time -f "$v seed $s: %e s" $bin fit --spec "$out/$v.toml" --seed "$s" "${data[@]}" --out "$out/$v-s$s" --quiet > "$out/$v-s$s.log"
    fi
  done
done
$bin sample --run "$out/after-s0" -n 1000000 --seed 1 --out "$out/after-s0-1e6.csv"
$bin sample --run "$out/before-s0" -n 1000000 --seed 1 --out "$out/before-s0-1e6.csv"
python3 scripts/auger_domains_table.py "$out" "$seeds"
