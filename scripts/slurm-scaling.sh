#!/bin/sh
# The scaling table of docs/CLUSTER.md: seconds to simulate N rows with a simulator
# that sleeps SLEEP_PER_CALL seconds per row (examples/workers/noisy_sim.py), in
# batches of B rows, by the Slurm executor with 1 and 2 array tasks at once and by
# the local executor with 1 and 2 batches at once. Needs a cluster
# (scripts/slurm-local.sh start) and a built `flowinfer` (cargo build --release).
#
#   scripts/slurm-scaling.sh [N] [B] [SLEEP_PER_CALL]     # defaults 400 20 0.02
set -eu
n=${1:-400}
b=${2:-20}
export SLEEP_PER_CALL=${3:-0.02}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FLOWINFER:-$root/target/release/flowinfer}
dir=$(mktemp -d /tmp/flowinfer-scaling.XXXXXX)
cat >"$dir/spec.toml" <<SPEC
[simulator]
name = "external"
[simulator.external]
command = ["python3", "$root/examples/workers/noisy_sim.py"]
param_names = ["a", "b"]
prior = [{ type = "uniform", low = 0.0, high = 1.0 }, { type = "uniform", low = 0.0, high = 1.0 }]
obs_dim = 3
batch_size = $b
parallel = 1
[npe]
simulations = $n
[flow]
blocks = 1
hidden = 8
[train]
epochs = 1
SPEC
echo "$n simulations × ${SLEEP_PER_CALL} s sleep, batches of $b rows ($((n / b)) batches)"
echo
echo "| executor | at once | simulation s |"
echo "|---|---:|---:|"
for kind in slurm local; do
    for w in 1 2; do
        if [ $kind = slurm ]; then opts="--array-width $w"; else opts=""; fi
        sed "s/^parallel = 1/parallel = $w/" "$dir/spec.toml" >"$dir/spec-$w.toml"
        "$bin" sbi --quiet --spec "$dir/spec-$w.toml" --out "$dir/run-$kind-$w" \
            --executor $kind $opts >"$dir/out-$kind-$w.txt"
        s=$(grep -o '"simulation_seconds": [0-9.]*' "$dir/run-$kind-$w/sbi.json" | awk '{ print $2 }')
        printf '| %s | %d | %.1f |\n' "$kind" "$w" "$s"
    done
done
rm -rf "$dir"
