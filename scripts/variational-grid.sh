#!/bin/sh
# The classic figure grid of docs/VARIATIONAL.md, measured: planar (K = 2, 8, 32), radial
# (K = 8), Sylvester (K = 8), RealNVP, NSF and IAF (4 blocks, width 64) on Rezende &
# Mohamed's energy functions u1–u4, plus a 10-D IAF on the 10-D Gaussian. Every run has
# the same budget (3000 steps × 256 draws, lr 3e-3 cosine, f32, seed 0; evaluation as
# the [eval] defaults: 20 000 draws of (1 − 0.1) q + 0.1 g). Prints the markdown table
# (scripts/variational_table.py); each run directory keeps its plots (density.png: q's
# draws over the target's density).
# Usage: scripts/variational-grid.sh [OUT_DIR] (default runs/vi-grid); FLOWINFER as in
# scripts/variational-table.sh; TARGETS="u1 u2" and FAMILIES="planar2 nsf" pick a subset.
set -eu
out=${1:-runs/vi-grid}
if [ -z "${FLOWINFER:-}" ]; then
    cargo build --release --quiet
    FLOWINFER=target/release/flowinfer
fi
targets=${TARGETS:-u1 u2 u3 u4}
families=${FAMILIES:-planar2 planar8 planar32 radial8 sylvester8 realnvp nsf iaf}
flow_args() {
    case $1 in
        planar*) echo "--flow planar --blocks ${1#planar}" ;;
        radial*) echo "--flow radial --blocks ${1#radial}" ;;
        sylvester*) echo "--flow sylvester --blocks ${1#sylvester}" ;;
        realnvp | nsf | iaf) echo "--flow $1 --blocks 4 --hidden 64" ;;
        *) echo "unknown family $1" >&2; exit 2 ;;
    esac
}
run() {
    name=$1; shift
    # shellcheck disable=SC2046
    "$FLOWINFER" variational "$@" --steps 3000 --samples 256 --lr 3e-3 --seed 0 \
        --accept-untrusted --quiet --out "$out/$name" > /dev/null
}
names=""
for t in $targets; do
    for f in $families; do
        # shellcheck disable=SC2046
        run "$t-$f" --target "$t" $(flow_args "$f")
        names="$names $t-$f"
    done
done
if [ -z "${TARGETS:-}" ]; then
    run gaussian10-iaf --target gaussian --dim 10 --flow iaf --blocks 4 --hidden 64
    names="$names gaussian10-iaf"
fi
# shellcheck disable=SC2086
python3 scripts/variational_table.py "$out" $names
