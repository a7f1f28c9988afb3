"""Running the all-inputs experiment: one unit per (regime, k, seed).

Per unit: a permutation drawn from (k, seed); for the finite regimes,
members trained by full-batch GD on the k basis vectors in blocks, read on
every one of the ``2^k − 1`` inputs by :func:`permjax.evaluate_all_inputs`
under every rule of the config, until every rule is exact on every input or
``members`` are grown; for ``gp``, members drawn jointly over every input
(S_k-symmetric sampler) and grown by :func:`permjax.grow`. The record holds
per rule the all-inputs N, the grouped union bound under the same rule and
kernel (P(all inputs exact) ≥ 0.9), the wrong inputs at every N, and where
the last failures sat (their numbers of ones and output bits). Resumable per
unit (the evaluator's checkpoint) and per record (``results.jsonl``).
"""

from __future__ import annotations

import json
import os
import time

import jax
import numpy as np

import permjax
from permjax.experiments import provenance
from permjax.experiments import records as records_lib
from permjax.experiments import units as units_lib
from permjax.experiments import workdir as workdir_lib
from permjax.experiments.all_inputs import report
from permjax.experiments.all_inputs.configs import Config
from permjax.experiments.all_inputs.configs import config_from_record


def unit_keys(k: int, seed: int, regime: str):
  """``(permutation key, member key)`` of a unit: the permutation depends on
  (k, seed) only, the members also on the regime (by its fixed id)."""
  base = units_lib.fold_key(20261207, k, seed)
  return (jax.random.fold_in(base, 0),
          jax.random.fold_in(base, 10 + units_lib.REGIME_KEY[regime]))


def _bound(k, kernel, readout):
  try:
    return int(permjax.ensemble_size(k, kernel=kernel, scope="all",
                                     readout=readout))
  except ValueError:
    return None


def _finite(config, regime, k, perm, member_key, checkpoint_dir, progress):
  spec = config.spec(regime)
  train = permjax.training_set(perm)
  info = {}

  def members_of(ids):
    res = permjax.train_ensemble(spec, train, member_key, member_ids=ids,
                                 x_test=np.eye(k)[:1], config=config.train,
                                 return_params=True)
    bad = permjax.unconverged_count(res.status)
    if bad:
      raise units_lib.ExperimentError(
          f"(regime={regime}, k={k}): {bad} of {len(ids)} members did not "
          f"converge ({sorted(set(res.status.tolist()))}, largest final "
          f"loss {float(np.max(res.final_loss)):.3g})")
    info["lr"] = float(res.lr)
    info.setdefault("final_loss", []).extend(
        float(f"{v:.3g}") for v in res.final_loss.tolist())
    return permjax.stacked_members(spec, res.params)
  counts = permjax.evaluate_all_inputs(
      spec, members_of, perm, config.readouts(regime),
      max_members=config.members, block=min(8, config.members),
      chunk=config.chunk, checkpoint_dir=checkpoint_dir, progress=progress)
  per_rule = {}
  for rule in config.rules:
    r = counts.rules.index(rule)
    per_rule[rule] = {
        "n_all": counts.n_all(rule),
        "wrong_by_N": counts.wrong_by_layer[r].sum(axis=0).tolist(),
        "last_failures": counts.last_failures(rule)}
  return per_rule, {"members": int(counts.wrong_by_layer.shape[2]),
                    "inputs": int(counts.inputs.sum()),
                    "width": spec.width,
                    "parameterization": spec.parameterization,
                    "trainer": config.train.trainer, "dtype": "float32",
                    "max_final_loss": max(info.get("final_loss", [np.nan])),
                    "lr": info.get("lr")}


def _gp(config, k, perm, member_key, checkpoint_dir, progress):
  test = permjax.unique_inputs(permjax.all_inputs(perm, max_inputs=1 << k))
  source = permjax.gp_member_source(permjax.MLPSpec(width=1), "ntk",
                                    permjax.training_set(perm), test.x,
                                    member_key, sampler="symmetric")
  readouts = config.readouts("gp")
  curve = units_lib.grow_unit(
      config, {"regime": "gp", "k": k}, source,
      permjax.InputScorer(test, readouts), where=f"(regime=gp, k={k})",
      checkpoint_dir=checkpoint_dir,
      on_progress=None, max_members=config.gp_members, chunk=16)
  del progress
  per_rule = {}
  for rule in config.rules:
    acc = curve.accuracy[rule]
    wrong = np.round((1 - acc) * len(test.x)).astype(int).tolist()
    per_rule[rule] = {"n_all": curve.n_at[rule][1.0], "wrong_by_N": wrong,
                      "last_failures": None}
  return per_rule, {"members": int(curve.members),
                    "inputs": int(len(test.x)), "sampler": "symmetric",
                    "dtype": "float64"}


def run_one(config: Config, regime: str, k: int, seed: int,
            checkpoint_dir: str | None = None, on_progress=None, *,
            progress: bool = False) -> dict:
  """One unit; returns its record (see the module docstring)."""
  del on_progress
  perm_key, member_key = unit_keys(k, seed, regime)
  perm = permjax.random_permutation(perm_key, k)
  start = time.perf_counter()
  kernel = config.kernel(regime)
  if regime == "gp":
    per_rule, extra = _gp(config, k, perm, member_key, checkpoint_dir,
                          progress)
  else:
    per_rule, extra = _finite(config, regime, k, perm, member_key,
                              checkpoint_dir, progress)
  for rule, readout in config.readouts(regime).items():
    per_rule[rule]["readout"] = readout.to_dict()
    per_rule[rule]["bound_N90"] = _bound(k, kernel, readout)
  return {"regime": regime, "k": k, "seed": seed, "kernel": kernel,
          "perm": perm.tolist(), "rules": per_rule, **extra,
          "seconds": round(time.perf_counter() - start, 3),
          "config_name": config.name, **provenance.record_fields()}


def output_paths(workdir: str) -> dict:
  return {"config": os.path.join(workdir, "config.json"),
          "results": os.path.join(workdir, "results.jsonl"),
          "summary": os.path.join(workdir, "summary.csv"),
          "table": os.path.join(workdir, "all_inputs.md"),
          "figure": os.path.join(workdir, "n_vs_k.png"),
          "fits": os.path.join(workdir, "fits.csv")}


def run(config: Config, workdir: str, *, overwrite: bool = False,
        progress: bool = True) -> dict:
  """Runs (or resumes) the experiment; writes its files into ``workdir``."""
  workdir_lib.prepare_workdir(workdir, config, overwrite=overwrite)
  paths = output_paths(workdir)
  records = records_lib.run_pending(
      config.units(), paths["results"],
      key_of=lambda r: (r["regime"], r["k"], r["seed"]),
      run_one=lambda unit, ckpt, show: run_one(config, *unit, ckpt, show,
                                               progress=progress),
      checkpoints=os.path.join(workdir, "checkpoints"),
      name_of=lambda u: f"{u[0]}-k{u[1]}-s{u[2]}", progress=progress)
  wanted = set(config.units())
  records = [r for r in records if (r["regime"], r["k"], r["seed"])
             in wanted]
  rows = report.summarize(records)
  records_lib.write_csv(paths["summary"], rows)
  fits = report.fits(records)
  records_lib.write_csv(paths["fits"], fits)
  with open(paths["table"], "w") as f:
    f.write(report.markdown(rows, fits))
  report.plot(paths["figure"], rows)
  return paths


def config_from_workdir(workdir: str) -> Config:
  with open(output_paths(workdir)["config"]) as f:
    return config_from_record(json.load(f)["config"])
