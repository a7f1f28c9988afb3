#!/usr/bin/env bash
# All-inputs ensemble complexity: N such that every one of the 2^k - 1
# nonzero inputs is exact, gp regime k = GP_K (default 3:16, 3 seeds) and
# finite regimes k = 3..12 (2 seeds), under one readout rule (READOUT,
# default fixed:0.0001), then the scaling fits and the table. Each part stops
# at its time limit (GP_LIMIT, FINITE_LIMIT seconds) with the finished
# records kept; rerunning resumes.
# Usage: READOUT=midpoint OUT=/tmp/all bash experiments/all_inputs/run.sh
#        (PY=python to override)
set -u
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PY:-python3}
OUT=${OUT:-runs/all_inputs}
mkdir -p "$OUT"
$PY -c "import jax; print('jax', jax.__version__, jax.devices())" | tee "$OUT/versions.txt"
run() {  # name, seconds, args...
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s)
  timeout "$limit" $PY -m permjax.experiments.ntk_permutation --test_set all \
    --k_curves '' --max_members 20000 --chunk "${CHUNK:-64}" \
    --readout "${READOUT:-fixed:0.0001}" --workdir "$OUT/$name" "$@" \
    2> "$OUT/$name.stderr" | tee "$OUT/$name.stdout"
  local rc=${PIPESTATUS[0]}
  echo "$name: rc=$rc (124 = cut by the time limit) $(( $(date +%s) - t0 )) s" \
    | tee -a "$OUT/times.txt"
  tail -c 600 "$OUT/$name.stderr"
  $PY -m permjax.experiments.ntk_permutation scaling --workdir "$OUT/$name" \
    | tee "$OUT/$name.scaling.txt"
}
run gp "${GP_LIMIT:-3600}" --regimes gp --k_values "${GP_K:-3:16}" --seeds 3
run ntk "${FINITE_LIMIT:-3600}" --regimes ntk --k_values 3:12 --seeds 2
run standard "${FINITE_LIMIT:-3600}" --regimes standard --k_values 3:12 --seeds 2
rm -rf "$OUT"/*/checkpoints
$PY experiments/all_inputs/table.py "$OUT"
