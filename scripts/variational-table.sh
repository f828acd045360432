#!/bin/sh
# Reproduce the results table of docs/VARIATIONAL.md: every built-in target with its
# shipped spec (models/vi-*.toml), plus mean-field Gaussian VI on the logistic regression.
# Prints the markdown table (scripts/variational_table.py).
# Usage: scripts/variational-table.sh [OUT_DIR] (default runs/vi). Run from the repository
# root (the logistic regression and gaussian_linear read ../shared/data).
# FLOWINFER=path/to/flowinfer uses that binary instead of building the release one.
# DEFENSIVE=A (and INFLATION=F) evaluate with the broad fraction A of the proposal
# (and covariance factor F) instead of the specs' (default 0.1 and 4): DEFENSIVE=0 is
# the flow alone.
set -eu
out=${1:-runs/vi}
if [ -z "${FLOWINFER:-}" ]; then
    cargo build --release --quiet
    FLOWINFER=target/release/flowinfer
fi
# --accept-untrusted: the table shows every row, trusted or not (the untrusted ones say so).
run() { name=$1; shift; "$FLOWINFER" variational "$@" --accept-untrusted --quiet --out "$out/$name" > /dev/null; }
mkdir -p "$out"
for t in u1 u2 u3 u4 banana mixture sine funnel gaussian gaussian-linear logistic-iris logistic-iris-mean-field; do
    spec="models/vi-$t.toml"
    if [ -n "${DEFENSIVE:-}${INFLATION:-}" ]; then
        # The specs' [eval] section, when they have one, is their last.
        spec="$out/$t.spec.toml"
        cp "models/vi-$t.toml" "$spec"
        grep -q '^\[eval\]' "$spec" || printf '\n[eval]\n' >> "$spec"
        [ -z "${DEFENSIVE:-}" ] || echo "defensive = $DEFENSIVE" >> "$spec"
        [ -z "${INFLATION:-}" ] || echo "defensive_inflation = $INFLATION" >> "$spec"
    fi
    run "$t" --spec "$spec"
done
python3 scripts/variational_table.py "$out" u1 u2 u3 u4 banana mixture sine funnel gaussian \
    gaussian-linear logistic-iris logistic-iris-mean-field
