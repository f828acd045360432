#!/usr/bin/env bash
# Achieved GFLOP/s of config (b) against this host's fp32 peak, in one command:
#   (i)   the peak: cores × clock × FMA pipes × fp32 lanes × 2, as derived from lscpu and
#         /proc/cpuinfo (printed with its assumptions), and the measured FMA-loop peak
#         (examples/fma_peak.rs);
#   (ii)  GEMM alone at (b)'s evaluation shapes (10,000 × {6→256, 256→256, 256→12}):
#         flowinfer's fused linear (the gemm crate as flowinfer calls it) and torch.matmul,
#         each at 1 and 2 threads;
#   (iii) (b)'s log_prob at batch 10,000: FLOPs per event from the layer shapes × events/s,
#         for flowinfer and plain PyTorch, as a fraction of the peak.
# usage: scripts/gflops.sh OUTDIR        (run from the repository root; ../shared/bench beside it)
# env:   TORCH_PYTHON  python with torch (default python3), BENCH_DIR (default ../shared/bench),
#        NO_BUILD=1    use the examples already in target/release/examples
# Runtime about 1.5 minutes after the build (2-core host).
set -eu
OUT=${1:?usage: scripts/gflops.sh OUTDIR}
mkdir -p "$OUT"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${TORCH_PYTHON:-python3}
BENCH_DIR=${BENCH_DIR:-$ROOT/../shared/bench}
cd "$ROOT"
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release --example fma_peak --example gemm_gflops >"$OUT/build.log" 2>&1 \
    || { echo "build failed, see $OUT/build.log"; exit 1; }
fi
EX=$ROOT/target/release/examples
{
  echo "date: $(date -u '+%F %T') UTC"
  echo "uptime: $(uptime)"
  lscpu | grep -E '^(Model name|Vendor ID|CPU family|Model|CPU\(s\)|Thread|CPU max MHz|CPU min MHz|L1d|L2|L3)' || true
  echo "cpuinfo MHz: $(grep -m1 'cpu MHz' /proc/cpuinfo | awk -F: '{print $2}' | tr -d ' ')"
  echo "avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"
  echo "nproc: $(nproc)"
} >"$OUT/host.txt"
echo "== host"; cat "$OUT/host.txt"
echo "== (i) FMA loop"
"$EX/fma_peak" | tee "$OUT/fma_peak.txt"
for t in 1 2; do
  echo "== (ii)+(iii) flowinfer, $t thread(s)"
  RAYON_NUM_THREADS=$t "$EX/gemm_gflops" | tee "$OUT/flowinfer-$t.txt"
  echo "== (ii)+(iii) PyTorch, $t thread(s)"
  "$PY" "$ROOT/scripts/torch_gemm_timing.py" --threads "$t" --bench-dir "$BENCH_DIR" | tee "$OUT/pytorch-$t.txt"
done
echo "uptime after: $(uptime)" | tee -a "$OUT/host.txt"
echo "== summary"
python3 "$ROOT/scripts/gflops_table.py" "$OUT" | tee "$OUT/summary.txt"
