#!/bin/sh
# What the defensive mixture and the collapse guard cost on the camels (issue 21: at most
# 20 % in rel. std on camel d = 8 and 16). For every seed, each camel spec runs twice:
# as shipped (the defaults) and with both defensive fractions 0 and the collapse guard
# off ([train] defensive = 0, collapse_guard = false; [eval] defensive = 0); the specs'
# VEGAS comparison is switched off in both (it does not change the flow's figures).
# Then scripts/camel_cost_table.py prints the paired table (rel. std of each, their
# ratio per seed, the mean ratio).
# Usage: scripts/camel-cost.sh [OUT_DIR] [EXTRA OPTIONS...]
# Environment: SEEDS (default "1 2 3"), DIMS (default "8 16"), FLOWINFER=path to use an
# existing binary instead of building the release one.
set -eu
out=${1:-runs/camel-cost}
[ $# -gt 0 ] && shift
seeds=${SEEDS:-1 2 3}
dims=${DIMS:-8 16}
if [ -z "${FLOWINFER:-}" ]; then
    cargo build --release --quiet
fi
f=${FLOWINFER:-target/release/flowinfer}
here=$(dirname "$0")
mkdir -p "$out/specs"
for d in $dims; do
    sed -e 's/^vegas = true/vegas = false/' -e 's/^compare_vegas = true/vegas = false/' \
        "models/camel-${d}d.toml" > "$out/specs/camel-${d}d-defaults.toml"
    sed -e 's/^\[train\]$/[train]\ndefensive = 0.0\ncollapse_guard = false/' \
        -e 's/^\[eval\]$/[eval]\ndefensive = 0.0/' \
        "$out/specs/camel-${d}d-defaults.toml" > "$out/specs/camel-${d}d-off.toml"
done
for s in $seeds; do
    for d in $dims; do
        for v in defaults off; do
            run="$out/camel-${d}d-$v/seed$s"
            "$f" integrate --spec "$out/specs/camel-${d}d-$v.toml" --seed "$s" --accept-untrusted \
                --quiet "$@" --out "$run" > /dev/null 2> "$out/camel-${d}d-$v.$s.log" \
                || echo "run camel-${d}d-$v seed $s failed: see $out/camel-${d}d-$v.$s.log" >&2
        done
    done
done
python3 "$here/camel_cost_table.py" "$out"
