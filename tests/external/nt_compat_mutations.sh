#!/usr/bin/env bash
# Checks that the CI subset of nt's suite catches the removal of each
# nt_compat patch: disables one patch at a time (sed on nt_compat.py), runs
# `python tests/external/nt_suite.py`, restores the file. Every line should
# say "exit 1". Run from the repository root with the environment active;
# nt_compat.py must have no uncommitted changes (it is restored with git).
set -uo pipefail
F=permjax/_src/nt_compat.py
git diff --quiet -- "$F" || { echo "error: $F has uncommitted changes" >&2; exit 2; }
trap 'git checkout -q -- "$F"' EXIT
declare -a NAMES=(jax_core jax_util zeros_like_p experimental eval_context
                  eigvalsh cost_analysis linearize map_primitive dshapedarray)
declare -a SEDS=(
 's/^  _patch_jax_core()$/  pass/'
 's/^  _patch_jax_util()$/  pass/'
 's/^  _patch_zeros_like_p()$/  pass/'
 's/^    _defer_experimental()$/    pass/'
 's/^  if _eval_context_is_broken():$/  if False:/'
 's/^  if "eigvals" not in inspect.signature(scipy.linalg.eigvalsh).parameters:$/  if False:/'
 's/^  _patch_cost_analysis(empirical)$/  pass/'
 's/^  if _linearize_is_new():$/  if False:/'
 's/^  if not hasattr(core_src.Primitive, "map_primitive"):$/  if False:/'
 's/^  if not hasattr(jax.core, "DShapedArray"):$/  if False:/'
)
mkdir -p runs
for i in "${!NAMES[@]}"; do
  git checkout -q -- "$F"
  sed -i "${SEDS[$i]}" "$F"
  if git diff --quiet -- "$F"; then echo "${NAMES[$i]}: the sed did not apply"; continue; fi
  python tests/external/nt_suite.py > "runs/nt_mutation_${NAMES[$i]}.log" 2>&1
  echo "${NAMES[$i]}: exit $? ($(grep -E '^\| \*\*all|exited with status' "runs/nt_mutation_${NAMES[$i]}.log" | head -1))"
done
git checkout -q -- "$F"
python tests/external/nt_suite.py --new-prng > runs/nt_mutation_prng.log 2>&1
echo "harness PRNG: exit $? ($(grep -E '^\| \*\*all' runs/nt_mutation_prng.log))"
