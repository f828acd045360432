#!/bin/sh
# Re-evaluate every flow that scripts/camel-cost.sh trained (OUT_DIR/camel-*d-*/seed*)
# with examples/defensive_cost: the rel. std of the flow alone and of the evaluation
# mixture from the same BLOCKS × BLOCK flow draws, so that the mixture's own cost and the
# training fraction's cost can be told apart (docs/INTEGRATION.md, "camel cost"). Writes
# OUT_DIR/reeval.md (flows already in it are not evaluated again: new seeds are
# appended) and prints scripts/camel_reeval_table.py's summary.
# Usage: scripts/camel-cost-reeval.sh [OUT_DIR]
# Environment: BLOCK (default 1000000), BLOCKS (default 6), ALPHA (default 0.005, the
# shipped evaluation fraction), DEFENSIVE_COST=path to an existing build of the example.
set -eu
out=${1:-runs/camel-cost}
if [ -z "${DEFENSIVE_COST:-}" ]; then
    cargo build --release --quiet --example defensive_cost
fi
bin=${DEFENSIVE_COST:-target/release/examples/defensive_cost}
here=$(dirname "$0")
all=$(ls -d "$out"/camel-*d-defaults/seed* "$out"/camel-*d-off/seed* 2>/dev/null || true)
[ -n "$all" ] || { echo "no runs of scripts/camel-cost.sh under $out" >&2; exit 1; }
runs=""
for r in $all; do
    [ -f "$r/result.json" ] || continue
    if [ -f "$out/reeval.md" ] && grep -qF "| $r |" "$out/reeval.md"; then continue; fi
    runs="$runs $r"
done
if [ -n "$runs" ]; then
    # shellcheck disable=SC2086
    "$bin" --block "${BLOCK:-1000000}" --blocks "${BLOCKS:-6}" --alpha "${ALPHA:-0.005}" $runs \
        > "$out/reeval.md.part"
    touch "$out/reeval.md"
    cat "$out/reeval.md.part" >> "$out/reeval.md"
    rm "$out/reeval.md.part"
fi
python3 "$here/camel_reeval_table.py" "$out/reeval.md"
