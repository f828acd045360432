#!/bin/bash
# One sitting of docs/SBI.md "Sequential methods beside sbi 0.27's own": per
# observation, flowinfer then sbi 0.27 on the same observation, SNLE on two_moons then
# TSNPE on sir, every timed run on one thread, with the load average logged at the start
# and end of each run (the log is what scripts/sbi_sequential_table.py reads).
#   cargo build --release --example tsnpe_sbibm --example nle_sbibm
#   scripts/sbi-sequential.sh RUNS "1 2" > RUNS/sitting.log 2>&1
#   (score: scripts/sbibm_c2st.py on RUNS/fi-snle-two_moons/snle, RUNS/sbi-snle-two_moons,
#    RUNS/fi-tsnpe-sir/tsnpe, RUNS/sbi-tsnpe-sir with --obs K)
#   python3 scripts/sbi_sequential_table.py RUNS RUNS/sitting.log
set -e
R=${1:?usage: sbi-sequential.sh RUNS "K1 K2 ..."}; OBS=${2:-"1 2"}
B=target/release/examples; PY=${SBI_PYTHON:-/tmp/sbienv/bin/python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
log() { echo "$(date -u +%H:%M:%S) $* | $(uptime | sed 's/.*load/load/')"; }
for K in $OBS; do
  log "start fi snle two_moons $K"
  RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1 C2ST_EPOCHS=0 SKIP_NPE=1 SKIP_NLE=1 SBIBM_OUT=$R/fi-snle-two_moons \
    $B/nle_sbibm models/sbibm-two_moons.toml $K 4
  log "end fi snle two_moons $K"
  log "start sbi snle two_moons $K"
  $PY scripts/sbi_sequential.py snle models/sbibm-two_moons.toml $R/sbi-snle-two_moons --obs $K 2>/dev/null
  log "end sbi snle two_moons $K"
  log "start fi tsnpe sir $K"
  RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1 C2ST_EPOCHS=0 SKIP_NPE=1 SBIBM_OUT=$R/fi-tsnpe-sir \
    $B/tsnpe_sbibm models/sbibm-sir.toml $K 4
  log "end fi tsnpe sir $K"
  log "start sbi tsnpe sir $K"
  $PY scripts/sbi_sequential.py tsnpe models/sbibm-sir.toml $R/sbi-tsnpe-sir --obs $K 2>/dev/null
  log "end sbi tsnpe sir $K"
done
log "sitting done"
