#!/bin/sh
# Reproduce the results table of docs/INTEGRATION.md: every built-in integrand with the
# default settings or the shipped spec, 10^6 fresh evaluation samples, VEGAS side by side
# at the same number of integrand calls. Prints the markdown table (scripts/integrate_table.py).
# Usage: scripts/integrate-table.sh [OUT_DIR] (default runs/int); ~30 minutes on 2 cores.
set -eu
out=${1:-runs/int}
cargo build --release --quiet
f=target/release/flowinfer
common="--compare-vegas --eval-samples 1000000 --quiet"
# --accept-untrusted: the table shows every row, trusted or not (the untrusted ones say so).
run() { name=$1; shift; "$f" integrate "$@" --accept-untrusted --out "$out/$name" > /dev/null; }
run camel2 --integrand camel --dim 2 --seed 1 $common
run camel4 --spec models/camel-4d.toml --quiet
run camel8 --spec models/camel-8d.toml --quiet
run camel16 --spec models/camel-16d.toml --quiet
run camel16-noanneal --spec models/camel-16d.toml --anneal 0 --quiet
run camel4-buffered --integrand camel --dim 4 --mode buffered --reuse 4 --steps 2000 --seed 1 $common
run camel4-warm --integrand camel --dim 4 --vegas-warm-start --seed 1 $common
run gauss8 --integrand gaussian --dim 8 --seed 1 $common
run poly8 --integrand polynomial --dim 8 --seed 1 $common
run annulus --spec models/annulus.toml --quiet
run circles --integrand entangled_circles --seed 1 $common
run eeqqg --spec models/eeqqg-rambo.toml --quiet
run eeqqg-kl --spec models/eeqqg-rambo.toml --loss kl --quiet
python3 scripts/integrate_table.py \
    "camel, α=0.2=$out/camel2" "camel, α=0.2 (spec)=$out/camel4" "camel, α=0.2 (spec)=$out/camel8" \
    "camel, α=0.2 (spec)=$out/camel16" "camel, α=0.2, --anneal 0=$out/camel16-noanneal" \
    "camel, buffered ×4=$out/camel4-buffered" "camel, VEGAS warm start=$out/camel4-warm" \
    "gaussian, α=0.2=$out/gauss8" "polynomial=$out/poly8" "annulus (spec)=$out/annulus" \
    "entangled circles=$out/circles" "e⁺e⁻→qq̄g, y=0.01 (spec)=$out/eeqqg" \
    "e⁺e⁻→qq̄g, y=0.01, spec with KL loss=$out/eeqqg-kl"
