#!/usr/bin/env bash
# Bayesian flows on the Auger events (docs/BAYES.md): the maximum-likelihood baseline,
# SVI, SGLD and a deep ensemble on the same split; bands of the test split with pulls.
# Usage: scripts/bayes-auger.sh [OUT] (default runs/bayes-auger)
set -euo pipefail
out=${1:-runs/bayes-auger}
bin=./target/release/flowinfer
mkdir -p "$out"
for s in auger-nsf auger-bayes-svi auger-sgld auger-ensemble; do
  /usr/bin/time -f "$s: %e s" $bin fit --spec models/$s.toml --out "$out/$s" --quiet
done
for s in auger-bayes-svi auger-sgld auger-ensemble; do
  $bin bands --run "$out/$s" --test --out "$out/$s/bands" -n 20000 --bins 10 --pair-bins 5
done
