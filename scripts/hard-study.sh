#!/bin/sh
# Seed study of the hard integrands (docs/INTEGRATION.md, "Hard integrands"): every
# shipped hard spec run with SEEDS seeds (default 20), then a table per integrand of
# the pulls (mean, standard deviation, largest |pull|), how many runs were trusted,
# how many reported an error more than 4× smaller than their actual error
# (|pull| > 4), and the median rel. std, ESS fraction and k̂ (scripts/hard_study.py).
# Usage: scripts/hard-study.sh [OUT_DIR] [EXTRA OPTIONS...]
#   e.g. scripts/hard-study.sh runs/hard --steps 150 --eval-samples 20000
# Each run is `flowinfer integrate --spec models/NAME.toml --seed S --accept-untrusted
# EXTRA`; the VEGAS row of each integrand is one --compare-vegas run at seed 1.
set -eu
out=${1:-runs/hard}
[ $# -gt 0 ] && shift
seeds=${SEEDS:-20}
# FLOWINFER=path uses an existing binary instead of building the release one.
if [ -z "${FLOWINFER:-}" ]; then
    cargo build --release --quiet
fi
f=${FLOWINFER:-target/release/flowinfer}
for spec in needle-4d needle-8d needle-16d shell breit-wigner two-needles; do
    s=1
    while [ "$s" -le "$seeds" ]; do
        "$f" integrate --spec "models/$spec.toml" --seed "$s" --accept-untrusted --quiet \
            "$@" --out "$out/$spec/seed$s" > /dev/null 2> "$out.$spec.$s.log" || {
            echo "run $spec seed $s failed: see $out.$spec.$s.log" >&2
        }
        s=$((s + 1))
    done
    "$f" integrate --spec "models/$spec.toml" --seed 1 --accept-untrusted --quiet \
        --compare-vegas "$@" --out "$out/$spec/vegas" > /dev/null 2>&1 || true
done
python3 scripts/hard_study.py "$out"
