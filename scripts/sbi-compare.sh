#!/bin/sh
# flowinfer NPE beside sbi's NPE on the same simulations, scored by both C2ST codes
# (docs/SBI.md, "NPE beside sbi 0.27"). Needs a Python with sbi 0.27 and scikit-learn
# (PY, default /tmp/sbienv/bin/python; see scripts/sbi_baseline.py) and the sbibm
# reference posteriors in ../shared/data/sbibm.
# Usage: scripts/sbi-compare.sh [OUT_DIR] [TASK ...]   (default runs/sbi-compare, all three)
# Per task: OUT/fi-TASK (simulations.csv, samples_<k>.csv, timing.json, c2st_*.csv) and
# OUT/sbi-TASK (samples, timing, c2st); then the markdown table.
set -eu
out=${1:-runs/sbi-compare}
[ $# -gt 0 ] && shift
tasks=${*:-two_moons gaussian_linear sir}
py=${PY:-/tmp/sbienv/bin/python}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
cargo build --release --quiet --example sbibm_compare
bin=target/release/examples/sbibm_compare
for task in $tasks; do
    ref=../shared/data/sbibm/$task
    $bin npe "models/sbibm-$task.toml" "$out/fi-$task"
    "$py" scripts/sbi_baseline.py "$task" "$out/fi-$task" "$out/sbi-$task"
    for tool in fi sbi; do
        $bin c2st "$ref" "$out/$tool-$task" 100
        "$py" scripts/sbibm_c2st.py "$ref" "$out/$tool-$task"
    done
done
python3 scripts/sbi_compare_table.py "$out" $tasks
