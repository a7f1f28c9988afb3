#!/usr/bin/env bash
# One prepared GPU session: versions, engine throughput, and the paper's recipe
# (width 50 000, GD, lr 1e-3) on a few k. Writes logs and results under $OUT.
# Usage (on a GPU machine with JAX, flax, optax, orbax installed):
#   OUT=/tmp/gpu bash benchmarks/gpu_check.sh
set -u
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PY:-python3}
mkdir -p "$OUT"
$PY -c "import jax, flax, optax; print('jax', jax.__version__, jax.devices())" 2>&1 | tee "$OUT/versions.txt"
timeout 200 $PY benchmarks/train_throughput.py --members 512 2>&1 | grep -v "^I0000\|absl" | tee "$OUT/throughput.txt"
timeout 330 $PY -m permjax.experiments.ntk_permutation --config paper \
  --regimes standard --k_values 5,10,20 --k_curves '' --seeds 1 \
  --workdir "$OUT/paper" 2> "$OUT/paper_stderr.txt" | tee "$OUT/paper_stdout.txt"
tail -c 1500 "$OUT/paper_stderr.txt"
cp "$OUT/paper/summary.csv" "$OUT/paper_summary.csv" 2>/dev/null
cp "$OUT/paper/figure1_left.png" "$OUT/paper_left.png" 2>/dev/null
rm -rf "$OUT/paper"
