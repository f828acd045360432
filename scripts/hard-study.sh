#!/bin/sh
# Seed study of the hard integrands (docs/HARD_INTEGRANDS.md, "Seed study"): every
# shipped hard spec run with SEEDS seeds (default 20), then a table per integrand of
# the pulls (mean, standard deviation, largest |pull|), how many runs were trusted,
# how many reported an error more than 4× smaller than their actual error
# (|pull| > 4), and the median rel. std, ESS fraction and k̂ (scripts/hard_study.py).
# Every finished seed appends one row to OUT_DIR/seeds.csv at once
# (scripts/hard_study_row.py), so a study stopped midway is still usable.
# Usage: scripts/hard-study.sh [OUT_DIR] [EXTRA OPTIONS...]
#   e.g. scripts/hard-study.sh runs/hard --steps 150 --eval-samples 20000
# Environment: SEEDS (default 20), SPECS (the specs in order, cheapest first by
# default), VEGAS=0 to skip the one --compare-vegas run per integrand at seed 1,
# FLOWINFER=path to use an existing binary instead of building the release one,
# SEED_FROM (default 1) to start at a later seed (e.g. to finish a stopped study into
# the same OUT_DIR: the rows already in seeds.csv stay).
# Each run is `flowinfer integrate --spec models/NAME.toml --seed S --accept-untrusted
# EXTRA`.
set -eu
out=${1:-runs/hard}
[ $# -gt 0 ] && shift
seeds=${SEEDS:-20}
specs=${SPECS:-needle-4d breit-wigner shell two-needles needle-8d needle-16d}
if [ -z "${FLOWINFER:-}" ]; then
    cargo build --release --quiet
fi
f=${FLOWINFER:-target/release/flowinfer}
here=$(dirname "$0")
mkdir -p "$out"
for spec in $specs; do
    s=${SEED_FROM:-1}
    while [ "$s" -le "$seeds" ]; do
        if "$f" integrate --spec "models/$spec.toml" --seed "$s" --accept-untrusted --quiet \
            "$@" --out "$out/$spec/seed$s" > /dev/null 2> "$out/$spec.$s.log"; then
            python3 "$here/hard_study_row.py" "$out/seeds.csv" "$spec" "$s" "$out/$spec/seed$s"
        else
            echo "run $spec seed $s failed: see $out/$spec.$s.log" >&2
        fi
        s=$((s + 1))
    done
    if [ "${VEGAS:-1}" != 0 ]; then
        "$f" integrate --spec "models/$spec.toml" --seed 1 --accept-untrusted --quiet \
            --compare-vegas "$@" --out "$out/$spec/vegas" > /dev/null 2>&1 || true
    fi
done
python3 "$here/hard_study.py" "$out"
