#!/usr/bin/env bash
# Calibration of Bayesian-flow bands on a toy with an exact density (docs/BAYES.md):
# for N = 10k and 100k training events, fit SVI, SGLD and an ensemble, draw bands of
# the marginals and compare them with the exact marginal bin masses.
# Usage: scripts/bayes-calibration.sh [OUT] (default runs/bayes-calib)
set -euo pipefail
out=${1:-runs/bayes-calib}
bin=./target/release/flowinfer
ngen=200000
mkdir -p "$out"
for n in 10000 100000; do
  python3 scripts/bayes_toy.py gen $n 1 "$out/toy-$n.csv"
  epochs=40; [ $n = 100000 ] && epochs=15
  for m in svi sgld ensemble; do
    run="$out/$m-$n"
    /usr/bin/time -f "$m N=$n fit %e s" $bin fit --spec models/toy-calib-$m.toml \
      --data "$out/toy-$n.csv" --epochs $epochs --out "$run" --quiet > "$run.log"
    $bin bands --run "$run" --out "$run-bands" -n $ngen --bins 20 --pair-bins 0 \
      --seed 3 --independent-latents --data "$out/toy-$n.csv" >> "$run.log"
    echo "$m N=$n: $(python3 scripts/bayes_toy.py pulls "$run-bands/bands.json" $ngen)"
  done
done
