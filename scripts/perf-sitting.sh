#!/usr/bin/env bash
# One quiet performance sitting (issue 23): two throughput binaries (before / after a
# change) and PyTorch, interleaved, two rounds, then (b)'s GFLOP/s against the peak.
#   per round: BEFORE (a,b,c,integ) → AFTER (a,b,c,integ) → PyTorch plain/zuko/zuko_cpl
#              (a,b,c) → PyTorch jobs (integ); every run `--windows 5 --window-s 1.0`
#              (SITTING_FLAGS overrides it, for a smoke run), `uptime` before each;
#              the npe job (6–7× PyTorch in the last sitting) is left out for time;
#   then scripts/gflops.sh OUTDIR/gflops, and the tables: ../shared/bench/ratios.py
#   (AFTER against PyTorch, goal 1.5×) and scripts/perf_sitting_table.py (every figure,
#   before / after / PyTorch, run 1 / run 2).
# Runtime about 12 minutes on the 2-core host: each flowinfer run ~75 s, PyTorch's flows
# ~2–2.5 min and its integ row ~20 s per round, gflops.sh ~1.5 min (docs/PERFORMANCE.md).
# usage: scripts/perf-sitting.sh BEFORE_BIN AFTER_BIN OUTDIR
#   BEFORE_BIN / AFTER_BIN: `target/release/deps/throughput-*` of `cargo bench --bench
#   throughput --no-run`, copied aside; TORCH_PYTHON: python with torch + zuko (default
#   python3); BENCH_DIR: default ../shared/bench. Nothing else should run meanwhile.
set -u
BEFORE=${1:?usage: perf-sitting.sh BEFORE_BIN AFTER_BIN OUTDIR}
AFTER=${2:?}
OUT=${3:?}
mkdir -p "$OUT"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${TORCH_PYTHON:-python3}
BENCH_DIR=${BENCH_DIR:-$ROOT/../shared/bench}
export OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
W=${SITTING_FLAGS:---windows 5 --window-s 1.0}
log() { echo "$(date -u +%T) $*" | tee -a "$OUT/sitting.log"; }
start=$(date +%s)
(cd "$ROOT" && cargo build --release --example fma_peak --example gemm_gflops) \
  >"$OUT/build.log" 2>&1 || { echo "example build failed: $OUT/build.log"; exit 1; }
for r in 1 2; do
  log "round $r before   $(uptime)"
  "$BEFORE" --configs a,b,c,integ $W --json "$OUT/before-$r.json" >"$OUT/before-$r.log" 2>&1
  log "round $r after    $(uptime)"
  "$AFTER" --configs a,b,c,integ $W --json "$OUT/fi-$r.json" >"$OUT/fi-$r.log" 2>&1
  log "round $r pytorch  $(uptime)"
  "$PY" "$BENCH_DIR/pytorch_flows_bench.py" $W --max-wait-s 40 --impls plain,zuko,zuko_cpl \
    --json "$OUT/pt-$r.json" >"$OUT/pt-$r.log" 2>&1
  log "round $r pt-jobs  $(uptime)"
  "$PY" "$ROOT/scripts/pytorch_jobs_bench.py" --configs integ $W --json "$OUT/ptjobs-$r.json" >"$OUT/ptjobs-$r.log" 2>&1
done
log "gflops   $(uptime)"
NO_BUILD=1 TORCH_PYTHON="$PY" BENCH_DIR="$BENCH_DIR" "$ROOT/scripts/gflops.sh" "$OUT/gflops" >"$OUT/gflops.log" 2>&1
log "end      $(uptime); $(( $(date +%s) - start )) s in all"
python3 "$ROOT/scripts/perf_sitting_table.py" "$OUT" | tee "$OUT/table.md"
cat "$OUT/gflops/summary.txt"
python3 "$BENCH_DIR/ratios.py" "$OUT" | tee "$OUT/ratios.txt"
