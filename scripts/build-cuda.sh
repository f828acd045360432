#!/usr/bin/env bash
# Build flowinfer with `--features cuda` on a machine WITHOUT a GPU or CUDA toolkit, and pack
# the executables into one small archive to carry to a GPU machine. See docs/CUDA.md.
#
# Follows the measured recipe of ../shared/cuda/README.md: CUDA 13.0 nvcc and libraries from
# pinned NVIDIA wheels in a venv, unversioned .so links, a link-time libcuda stub (never
# carried), CUDA_COMPUTE_CAP=90 (sm_90a: H100/H200 only), a separate CARGO_TARGET_DIR.
#
# Usage: scripts/build-cuda.sh [--no-tests] [--no-bench] [--no-pack]
# Idempotent: the toolkit venv, the stub, target/cuda and the compressed executables are
# reused when up to date. Environment overrides (defaults relative to the MAIN checkout, so
# that a `git worktree` of this repository shares the toolkit and the build cache):
#   CUDA_TOOLS_DIR    toolkit venv            (default <main>/.cuda-toolkit)
#   CARGO_TARGET_DIR  cargo target dir        (default <main>/target/cuda)
#   CUDA_CARRY_DIR    archive output folder   (default <main>/target/cuda-carry)
#   CUDA_COMPUTE_CAP  GPU compute capability  (default 90)
#   CARGO_BUILD_JOBS, CUDAFORGE_THREADS       (default: nproc)
set -euo pipefail

BUILD_TESTS=1 BUILD_BENCH=1 PACK=1
for a in "$@"; do
  case "$a" in
    --no-tests) BUILD_TESTS=0 ;;
    --no-bench) BUILD_BENCH=0 ;;
    --no-pack) PACK=0 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "build-cuda.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)            # this checkout (or worktree)
if GCD=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null); then
  MAIN=$(cd "$GCD/.." && pwd)   # the main checkout, also when ROOT is a git worktree
else
  MAIN=$ROOT
fi
TOOLS=${CUDA_TOOLS_DIR:-$MAIN/.cuda-toolkit}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$MAIN/target/cuda}
CARRY=${CUDA_CARRY_DIR:-$MAIN/target/cuda-carry}
MAX_ARCHIVE=$((64 * 1024 * 1024))   # what the device tool carries at most
log() { printf '[build-cuda %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- 1. CUDA 13.0 toolkit from pinned wheels (exactly 13.0: see docs/CUDA.md) ---------------
PINS="nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88
nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88
nvidia-cublas==13.0.2.14 nvidia-curand==10.4.0.35"
if [ ! -x "$TOOLS/venv/bin/python" ]; then
  log "creating venv $TOOLS/venv"
  mkdir -p "$TOOLS"
  python3 -m venv "$TOOLS/venv"
fi
if [ "$(cat "$TOOLS/pins.txt" 2>/dev/null)" != "$PINS" ]; then
  log "installing CUDA 13.0 wheels (~1.2 GB) into $TOOLS/venv"
  # shellcheck disable=SC2086
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check $PINS
  printf '%s' "$PINS" > "$TOOLS/pins.txt"
fi
CU=$("$TOOLS/venv/bin/python" -c 'import nvidia,os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')
[ -x "$CU/bin/nvcc" ] || { echo "no nvcc under $CU/bin" >&2; exit 1; }

# --- 2. unversioned library names for the linker (-lcublas, -lcurand, ...) -----------------
for l in cublas.so.13 cublasLt.so.13 curand.so.10 nvrtc.so.13 cudart.so.13; do
  [ -e "$CU/lib/lib$l" ] || { echo "missing $CU/lib/lib$l" >&2; exit 1; }
  ln -sfn "lib$l" "$CU/lib/lib${l%%.so*}.so"
done

# --- 3. link-time stub of the driver library (NEVER carried to a GPU machine) --------------
cd "$ROOT"
cargo fetch -q
if [ ! -f "$CU/lib/stubs/libcuda.so" ]; then
  log "building the link-time libcuda stub"
  CUDARC=$(cargo metadata -q --format-version 1 --features cuda | python3 -c '
import json, os, sys
m = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"] == "cudarc"))')
  mkdir -p "$CU/lib/stubs"
  # Every driver entry point cudarc declares; each returns 34 = CUDA_ERROR_STUB_LIBRARY.
  grep -o '^pub unsafe fn cu[A-Za-z0-9_]*' "$CUDARC/src/driver/sys/mod.rs" |
    sed 's/^pub unsafe fn //' | sort -u |
    awk '{print "int " $1 "(void) { return 34; /* CUDA_ERROR_STUB_LIBRARY */ }"}' \
      > "$CU/lib/stubs/cuda_stub.c"
  cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$CU/lib/stubs/libcuda.so.tmp" "$CU/lib/stubs/cuda_stub.c"
  mv "$CU/lib/stubs/libcuda.so.tmp" "$CU/lib/stubs/libcuda.so"
fi

# --- 4. build -------------------------------------------------------------------------------
export PATH="$CU/bin:$PATH" CUDA_HOME="$CU" CUDA_PATH="$CU"
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export CUDAFORGE_THREADS=${CUDAFORGE_THREADS:-$(nproc)}
nvcc --version | grep -q 'release 13\.0' || { echo "nvcc is not CUDA 13.0" >&2; exit 1; }
log "CARGO_TARGET_DIR=$CARGO_TARGET_DIR CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP"

# Cargo's JSON messages -> "kind<TAB>name<TAB>bin|test<TAB>path" for each executable built.
executables() {
  python3 -c '
import json, sys
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    t = m["target"]
    prof = "test" if m["profile"]["test"] else "bin"
    print("\t".join((t["kind"][0], t["name"], prof, m["executable"])))'
}

MSG=$(mktemp); trap 'rm -f "$MSG"' EXIT
t0=$(date +%s)
log "cargo build --release --features cuda"
cargo build --release --features cuda --locked --bins
log "cargo build done in $(( $(date +%s) - t0 )) s"
BIN="$CARGO_TARGET_DIR/release/flowinfer"
if [ "$BUILD_BENCH" = 1 ]; then
  log "cargo bench --no-run --features cuda --bench throughput"
  cargo bench --no-run --features cuda --locked --bench throughput --message-format=json-render-diagnostics \
    | executables >> "$MSG"
fi
if [ "$BUILD_TESTS" = 1 ]; then
  # --release: the test profile would rebuild every dependency (and re-run candle-kernels'
  # ~10 min nvcc step) for a second profile; release tests reuse the release build.
  log "cargo test --release --no-run --features cuda"
  cargo test --release --no-run --features cuda --locked --message-format=json-render-diagnostics \
    | executables >> "$MSG"
fi
log "all builds done in $(( $(date +%s) - t0 )) s"
[ "$PACK" = 1 ] || exit 0

# --- 5. pack: launcher + one solid xz payload of the executables, in one plain tar ----------
# Every CUDA executable embeds the same ~45 MB of candle kernels (PTX), so one solid xz
# stream whose dictionary (128 MiB) spans more than one executable stores them about once:
# measured ~8 MB for the first executable and ~1 MB for each further one, where compressing
# each executable on its own gives ~7 MB apiece.
STAGE="$CARRY/stage"
rm -rf "$STAGE/exe"
mkdir -p "$STAGE/exe/bin" "$STAGE/exe/bench" "$STAGE/exe/tests"
add() {  # add SRC NAME: hard link (same filesystem) or copy into the staging tree
  ln -f "$1" "$STAGE/exe/$2" 2>/dev/null || cp -p "$1" "$STAGE/exe/$2"
  echo "$2"
}
{
  add "$BIN" bin/flowinfer
  while IFS=$'\t' read -r kind name prof path; do
    case "$kind/$prof" in
      bench/*) add "$path" "bench/$name" ;;
      lib/test) add "$path" "tests/lib-$name" ;;
      bin/test) add "$path" "tests/bin-$name" ;;
      test/test) add "$path" "tests/$name" ;;
    esac
  done < "$MSG"
} | LC_ALL=C sort > "$STAGE/MANIFEST"   # cargo reports artifacts in no fixed order
{
  echo "# flowinfer CUDA build"
  echo "commit=$(git -C "$ROOT" rev-parse HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src tests benches Cargo.toml Cargo.lock || echo '+dirty')"
  echo "cuda=13.0 compute_cap=$CUDA_COMPUTE_CAP"
  echo "build_root=$ROOT"            # baked into the executables by env!(CARGO_MANIFEST_DIR)
  echo "bin_path=$BIN"               # baked into the CLI tests by env!(CARGO_BIN_EXE_flowinfer)
} > "$STAGE/BUILD_INFO"
(cd "$STAGE/exe" && xargs sha256sum < "$STAGE/MANIFEST") > "$STAGE/SUMS"
if [ -f "$STAGE/payload.tar.xz" ] && cmp -s "$STAGE/SUMS" "$STAGE/payload.sums"; then
  log "executables unchanged: reusing payload.tar.xz"
else
  log "compressing $(wc -l < "$STAGE/MANIFEST") executables ($(du -shL "$STAGE/exe" | cut -f1)) into one xz stream"
  # shellcheck disable=SC2046
  tar -C "$STAGE/exe" -cf - $(cat "$STAGE/MANIFEST") |
    xz --lzma2=preset=6,dict=128MiB -T1 -c > "$STAGE/payload.tar.xz.tmp"
  mv "$STAGE/payload.tar.xz.tmp" "$STAGE/payload.tar.xz"
  cp "$STAGE/SUMS" "$STAGE/payload.sums"
fi
cp "$STAGE/SUMS" "$STAGE/SHA256SUMS"

cat > "$STAGE/run-on-gpu.sh" <<'LAUNCHER'
#!/usr/bin/env bash
# Run one executable of the flowinfer CUDA archive on a GPU machine (see docs/CUDA.md).
#   ./run-on-gpu.sh --list                 list the executables
#   ./run-on-gpu.sh NAME [ARGS...]         NAME: bin/flowinfer, bench/throughput, tests/<t>
# Run it from the repository root (tests read models/ and data/), or set FLOWINFER_REPO.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=${FLOWINFER_REPO:-$PWD}
if [ "${1:-}" = "--list" ] || [ $# -eq 0 ]; then sed 's/^/  /' "$HERE/MANIFEST"; exit 0; fi
NAME=$1; shift
grep -qxF "$NAME" "$HERE/MANIFEST" || { echo "run-on-gpu: no $NAME (try --list)" >&2; exit 2; }
info() { sed -n "s/^$1=//p" "$HERE/BUILD_INFO"; }

# Unpack the executables once (xz, else Python's lzma) and check them.
if ! cmp -s "$HERE/SHA256SUMS" "$HERE/exe/.unpacked"; then
  rm -rf "$HERE/exe"; mkdir -p "$HERE/exe"
  if command -v xz >/dev/null; then xz -dc "$HERE/payload.tar.xz" | tar -xf - -C "$HERE/exe"
  else python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' \
         "$HERE/payload.tar.xz" "$HERE/exe"; fi
  (cd "$HERE/exe" && sha256sum -c --quiet "$HERE/SHA256SUMS") || { echo "run-on-gpu: checksum mismatch" >&2; exit 1; }
  cp "$HERE/SHA256SUMS" "$HERE/exe/.unpacked"
fi
EXE="$HERE/exe/$NAME"

# CUDA 13 libraries: PyTorch's nvidia/cu13/lib on the GPU image, then /usr/local/cuda.
L=$(python3 -c 'import nvidia,os;print(":".join(os.path.join(p,"cu13","lib") for p in nvidia.__path__))' 2>/dev/null || true)
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}${L:+$L:}/usr/local/cuda/lib64"

# The loader must find every library, and the real driver (never a stub).
LDD=$(ldd "$EXE")
if grep -q 'not found' <<<"$LDD"; then
  echo "run-on-gpu: missing libraries for $NAME (LD_LIBRARY_PATH=$LD_LIBRARY_PATH):" >&2
  grep 'not found' <<<"$LDD" >&2; exit 127
fi
if grep -E 'libcuda\.so' <<<"$LDD" | grep -q stubs; then
  echo "run-on-gpu: libcuda resolves to a stub:" >&2; grep libcuda <<<"$LDD" >&2; exit 127
fi

# Paths baked in at build time: CARGO_MANIFEST_DIR (models/, data/ in unit tests) and the
# CLI binary the integration tests start. Recreate them on this machine when possible.
BROOT=$(info build_root); BPATH=$(info bin_path)
if [ "$BROOT" != "$REPO" ] && [ ! -e "$BROOT" ]; then
  { mkdir -p "$(dirname "$BROOT")" && ln -s "$REPO" "$BROOT"; } 2>/dev/null ||
    echo "run-on-gpu: warning: cannot link $BROOT -> $REPO (tests reading models/ or data/ may fail)" >&2
fi
if ! cmp -s "$BPATH" "$HERE/exe/bin/flowinfer"; then
  { mkdir -p "$(dirname "$BPATH")" && cp "$HERE/exe/bin/flowinfer" "$BPATH"; } 2>/dev/null ||
    echo "run-on-gpu: warning: cannot place the CLI at $BPATH (CLI tests will fail)" >&2
fi
export CARGO_MANIFEST_DIR="$REPO"
cd "$REPO"
exec "$EXE" "$@"
LAUNCHER
chmod +x "$STAGE/run-on-gpu.sh"

ARCHIVE="$CARRY/flowinfer-cuda.tar"
tar -cf "$ARCHIVE.tmp" -C "$STAGE" run-on-gpu.sh BUILD_INFO MANIFEST SHA256SUMS payload.tar.xz
mv "$ARCHIVE.tmp" "$ARCHIVE"
SIZE=$(stat -c %s "$ARCHIVE")
log "archive $ARCHIVE: $(( SIZE / 1024 )) KiB, $(wc -l < "$STAGE/MANIFEST") executables"
if [ "$SIZE" -ge "$MAX_ARCHIVE" ]; then
  echo "archive is $SIZE bytes, over the 64 MiB the device tool carries" >&2; exit 1
fi
