#!/bin/sh
# Reproduce the NPE C2ST table of docs/SBI.md: for each sbibm task with reference
# posteriors in ../shared/data/sbibm, train NPE at 10,000 simulations with the shipped
# spec, then run `diagnose` (SBC, coverage, predictive check and C2ST against all 10
# reference observations with the sbibm protocol, classifier trained 100 epochs).
# Usage: scripts/sbibm-c2st.sh [OUT_DIR] (default runs/sbibm); ~6 minutes on 2 cores.
set -eu
out=${1:-runs/sbibm}
cargo build --release --quiet
for task in two_moons gaussian_linear sir; do
    /usr/bin/env time -f "$task: sbi wall %e s" \
        target/release/flowinfer sbi --spec "models/sbibm-$task.toml" --out "$out/$task" --quiet
    target/release/flowinfer diagnose --run "$out/$task" --c2st-epochs 100 2>/dev/null |
        grep -E "reference C2ST mean|p = |coverage"
done
