#!/bin/bash
# Degenerate SIR (docs/SURJECTIVE.md): plain NPE vs the slice bottleneck at the same
# reduced budget. Usage: scripts/survae_sir.sh [OUTDIR] (default /tmp/survae-sir).
set -euo pipefail
out=${1:-/tmp/survae-sir}
bin=${FLOWINFER:-target/debug/flowinfer}
for m in sir-degenerate sir-degenerate-bottleneck; do
  nice -n 10 "$bin" sbi --spec "models/$m.toml" --simulations 3000 --epochs 60 --quiet --out "$out/$m"
  nice -n 10 "$bin" diagnose --run "$out/$m" --sbc-runs 100 --sbc-samples 200 --predictive-draws 50
done
