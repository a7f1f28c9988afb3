"""Running Figure 1: one growth per (regime, k, seed), resumable.

:func:`run` is what the command line and the notebooks call. Per
(regime, k, seed) the protocol (docs/theory/permutation.md §8) draws a permutation and a test set
(the same for every regime), builds the regime's member source, grows the
ensemble with :func:`permjax.grow` until accuracy ``1 - δ`` or
``max_members``, and appends one record to ``results.jsonl``. A partly grown
ensemble is checkpointed after every chunk, so a killed run resumes exactly.
"""

from __future__ import annotations

import math
import os
import time

import jax

import permjax
from permjax.experiments import provenance
from permjax.experiments import records as records_lib
from permjax.experiments import units as units_lib
from permjax.experiments import workdir as workdir_lib
from permjax.experiments.figure1 import plots
from permjax.experiments.figure1 import report
from permjax.experiments.figure1.configs import Config
from permjax.experiments.figure1.configs import ENUMERATION_LIMIT_K
from permjax.experiments.units import ExperimentError


def unit_keys(k: int, seed: int, regime: str):
  """``(permutation key, test-set key, member key)`` of one (regime, k, seed).

  The permutation and the test set depend on (k, seed) only, so every regime
  sees the same ones; the member key also depends on the regime.
  """
  base = units_lib.fold_key(20250223, k, seed)
  member = jax.random.fold_in(base, 10 + units_lib.REGIME_KEY[regime])
  return jax.random.fold_in(base, 0), jax.random.fold_in(base, 1), member


def build_test_set(config: Config, k: int, seed: int, perm) -> permjax.TestSet:
  """The (deduplicated, padded) test set of one (k, seed)."""
  _, test_key, _ = unit_keys(k, seed, "gp")
  if config.test_set == "random":
    examples = permjax.random_inputs(test_key, perm, config.nnz,
                                     config.num_test)
    pad = min(config.num_test, math.comb(k, config.nnz))
  elif config.test_set == "n_ones":
    examples = permjax.inputs_with_n_ones(perm, config.nnz)
    pad = None
  else:
    examples = permjax.all_inputs(perm, max_inputs=1 << ENUMERATION_LIMIT_K)
    pad = None
  return permjax.unique_inputs(examples, pad_to=pad)


def member_source(config: Config, regime: str, k: int, seed: int,
                  train: permjax.Examples, test: permjax.TestSet
                  ) -> permjax.MemberSource:
  """The members of one (regime, k, seed)."""
  _, _, member_key = unit_keys(k, seed, regime)
  if regime == "gp":
    try:
      return permjax.gp_member_source(
          permjax.MLPSpec(width=1), config.gp_kernel, train, test.x,
          member_key, sampler=config.gp_sampler,
          max_dense=config.max_gp_inputs)
    except ValueError as err:
      raise ExperimentError(f"(regime=gp, k={k}, seed={seed}): {err}") from None
  return permjax.network_member_source(config.spec(regime), train, test.x,
                                       member_key, config.train_config(regime))


def run_one(config: Config, regime: str, k: int, seed: int,
            checkpoint_dir: str | None = None, on_progress=None, *,
            accept_unconverged: bool = False) -> dict:
  """One (regime, k, seed): grow the ensemble and return its record.

  Raises:
    ExperimentError: the members diverged, or more than
      :data:`permjax.experiments.units.MAX_UNCONVERGED` of them did not converge (unless
      ``accept_unconverged``); the partly grown ensemble stays checkpointed.
  """
  perm_key, _, _ = unit_keys(k, seed, regime)
  perm = permjax.random_permutation(perm_key, k)
  train = permjax.training_set(perm)
  test = build_test_set(config, k, seed, perm)
  start = time.perf_counter()
  source = member_source(config, regime, k, seed, train, test)
  readout = config.readout_rule(regime)
  curve = units_lib.grow_unit(
      config, {"regime": regime, "k": k, "seed": seed}, source,
      permjax.InputScorer(test, {"accuracy": readout}),
      where=f"(regime={regime}, k={k}, seed={seed})",
      checkpoint_dir=checkpoint_dir, on_progress=on_progress,
      accept_unconverged=accept_unconverged,
      stop_accuracy=config.stop_accuracy(k), max_members=config.max_members,
      chunk=config.chunk, targets=config.accuracy_targets())
  accuracy = curve.accuracy["accuracy"]
  info = source.info
  gp = regime == "gp"
  return {
      "regime": regime, "k": k, "seed": seed,
      "trainer": (f"gp-posterior ({info['kernel']} kernel)" if gp
                  else info["trainer"]),
      "dtype": info["dtype"],
      "gp_sampler": info["sampler"] if gp else None,
      "parameterization": None if gp else info["regime"],
      "width": None if gp else info["width"],
      "readout": readout.to_dict(),
      "test_set": config.test_set, "nnz": config.nnz,
      "n_test_inputs": int(test.weight.sum()),
      "n_distinct_inputs": int((test.weight > 0).sum()),
      "stop_accuracy": config.stop_accuracy(k),
      "reached": bool(curve.reached["accuracy"]),
      "members": int(curve.members),
      "n_at": {str(t): n for t, n in curve.n_at["accuracy"].items()},
      "curve": [round(float(a), 6) for a in accuracy],
      **units_lib.member_fields(curve),
      "seconds": round(time.perf_counter() - start, 3),
      "jax_version": jax.__version__,
      "config_name": config.name,
      **provenance.record_fields(),
  }


load_results = records_lib.load_results


def output_paths(workdir: str) -> dict:
  return {"config": os.path.join(workdir, "config.json"),
          "results": os.path.join(workdir, "results.jsonl"),
          "summary": os.path.join(workdir, "summary.csv"),
          "analytic": os.path.join(workdir, "analytic.csv"),
          "figure_left": os.path.join(workdir, "figure1_left.png"),
          "figure_right": os.path.join(workdir, "figure1_right.png")}


def run(config: Config, workdir: str, *, overwrite: bool = False,
        progress: bool = True, accept_unconverged: bool = False) -> dict:
  """Runs (or resumes) the experiment and writes its files into ``workdir``.

  Members that do not converge are refused above :data:`permjax.experiments.units.MAX_UNCONVERGED`
  of a growth unless ``accept_unconverged``; accepted ones are counted in
  the record and reported on stderr.

  Returns:
    a dict of output paths: ``config``, ``results``, ``summary``,
    ``analytic``, ``figure_left``, ``figure_right``.
  """
  workdir_lib.prepare_workdir(workdir, config, overwrite=overwrite)
  paths = output_paths(workdir)
  records = records_lib.run_pending(
      config.units(), paths["results"],
      key_of=lambda r: (r["regime"], r["k"], r["seed"]),
      run_one=lambda unit, ckpt, show: units_lib.warn_unconverged(
          "(regime={}, k={}, seed={})".format(*unit), run_one(
              config, *unit, ckpt, show,
              accept_unconverged=accept_unconverged)),
      checkpoints=os.path.join(workdir, "checkpoints"),
      name_of=lambda t: f"{t[0]}-k{t[1]}-s{t[2]}", progress=progress)
  records_lib.write_csv(paths["summary"], report.summarize(records, config))
  records_lib.write_csv(paths["analytic"], report.analytic_table(config))
  plots.plot_left(paths["figure_left"], records, config)
  plots.plot_right(paths["figure_right"], records, config)
  return paths
