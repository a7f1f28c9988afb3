"""Ensembles executing template programs: how many members?

One growth per unit (program, bits, regime, width, seed): members come from
the trained-GP posterior (``gp``, drawn jointly over every encoding the ideal
runs visit) or are finite networks trained once on the template training set
(``ntk``: NTK parameterization; ``standard``: the paper's PyTorch recipe),
and every readout rule of the config reads the same running average
(:func:`permjax.grow` with a :class:`permjax.ProgramScorer`). The record
holds, per rule, the fraction of operand pairs executed exactly (every bit
of every step equal to the OR rule) after each member, the first N reaching
50/90/99.9/100% of pairs, where the first errors happen (step, field,
matched templates), and the analytic union bound on N for P(all pairs
exact) ≥ 0.9 under the same rule and the kernel the regime follows.
Resumable per growth (orbax checkpoint after each chunk) and per record
(``results.jsonl``).

:func:`run` is what the command line
(``python -m permjax.experiments.template_execution ensembles``) and the
notebooks call.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

import permjax
from permjax.experiments import provenance
from permjax.experiments import records as records_lib
from permjax.experiments import units as units_lib
from permjax.experiments import workdir as workdir_lib
from permjax.experiments.template_execution import report
from permjax.experiments.template_execution.configs import Config
from permjax.experiments.template_execution.configs import config_from_record
from permjax.experiments.units import ExperimentError

#: Fractions of pairs whose first ensemble size every record reports.
PAIR_TARGETS = (0.5, 0.9, 0.999, 1.0)


def unit_key(program: str, bits: int, regime: str, width: int, seed: int):
  """The member key of one growth: its coordinates folded in, the family
  and the regime by their fixed ids (never their position in a list)."""
  return units_lib.fold_key(20251203, permjax.program_family(program).key_id,
                            bits, units_lib.REGIME_KEY[regime], width, seed)


def pairs_for(program: permjax.Program, limit: int):
  """All pairs, or the largest power-of-two prefix of a fixed random order
  of them whose ideal runs visit at most ``limit`` encodings.

  Returns:
    ``(a, b, test set)``.
  """
  a, b = program.all_pairs()
  test = permjax.program_test_set(program, a, b)
  if len(test.x) <= limit:
    return a, b, test
  order = np.random.default_rng(len(a) + program.k).permutation(len(a))
  count = 1 << (len(a).bit_length() - 1)
  while count > 1:
    count //= 2
    sub = order[:count]
    test = permjax.program_test_set(program, a[sub], b[sub])
    if 1 <= len(test.x) <= limit:
      return a[sub], b[sub], test
  raise ExperimentError(f"{program.name}: no subset of pairs visits between "
                        f"1 and gp_max_states={limit} encodings (one pair's "
                        f"run already visits more); raise gp_max_states")


def _bound(program, readout, kernel, states) -> int | None:
  """The union bound on N for P(every pair exact) >= 0.9 over the reachable
  ``states`` of the pairs run; None if no N works (a bit whose mean sits on
  the threshold, e.g. a structural zero) or the rule has no analytic size."""
  if not readout.analytic:
    return None
  try:
    return permjax.execution_ensemble_size(program, readout, kernel=kernel,
                                           target=0.9, states=states)
  except ValueError:
    return None


def _source(config, regime, width, program, test, key):
  train = permjax.training_examples(program)
  if regime == "gp":
    return permjax.gp_member_source(permjax.MLPSpec(width=1),
                                    config.gp_kernel, train, test.x, key,
                                    sampler="dense",
                                    max_dense=config.gp_max_states)
  return permjax.network_member_source(config.spec(regime, width), train,
                                       test.x, key, config.train)


def run_one(config: Config, program_name: str, bits: int, regime: str,
            width: int, seed: int, checkpoint_dir: str | None = None,
            on_progress=None, *, accept_unconverged: bool = False) -> dict:
  """One growth; returns its record (see the module docstring)."""
  where = (f"(program={program_name}, bits={bits}, regime={regime}, "
           f"width={width}, seed={seed})")
  program = permjax.program(program_name, bits)
  kernel = config.kernel(regime)
  if regime == "gp":
    a, b, test = pairs_for(program, config.gp_max_states)
  else:
    a, b = program.all_pairs()
    test = permjax.program_test_set(program, a, b)
  program.ground_truth(a, b)  # every input halts within the budget
  readouts = {name: permjax.readout.from_name(name, kernel, program=program)
              for name in config.rules}
  start = time.perf_counter()
  src = _source(config, regime, width, program, test,
                unit_key(program_name, bits, regime, width, seed))
  curve = units_lib.grow_unit(
      config, {"unit": [program_name, bits, regime, width, seed]}, src,
      permjax.ProgramScorer(program, test, readouts), where=where,
      checkpoint_dir=checkpoint_dir, on_progress=on_progress,
      accept_unconverged=accept_unconverged,
      max_members=(config.gp_max_members if regime == "gp"
                   else config.max_members),
      chunk=config.chunk, targets=PAIR_TARGETS)
  seconds = time.perf_counter() - start
  states = permjax.reachable_states(program, a, b)
  per_rule = {}
  for name, readout in readouts.items():
    acc = curve.accuracy[name]
    per_rule[name] = {
        "readout": readout.to_dict(),
        "reached": bool(curve.reached[name]),
        "n_at": {str(t): curve.n_at[name][t] for t in PAIR_TARGETS},
        "final_accuracy": round(float(acc[-1]), 6),
        "bound_N90": _bound(program, readout, kernel, states),
        "curve": [round(float(v), 5) for v in acc],
    }
  fields = units_lib.member_fields(curve)
  return {
      "program": program_name, "bits": bits, "regime": regime,
      "width": width, "seed": seed, "kernel": kernel,
      "program_name": program.name, "fingerprint": program.fingerprint,
      "T": program.T, "k": program.k, "D": program.D, "steps": program.steps,
      "pairs_total": int(len(program.all_pairs()[0])),
      "pairs_run": int(len(a)), "encodings": int(len(test.x)),
      "member_source": src.info, "members": int(curve.members),
      "rules": per_rule, "first_errors": curve.details,
      "member_status": fields["member_status"],
      "unconverged": fields["unconverged"],
      "max_final_loss": (None if regime == "gp" else
                         float(f"{np.nanmax(curve.final_loss):.3g}")),
      "seconds": round(seconds, 3), "config_name": config.name,
      **provenance.record_fields(),
  }


def output_paths(workdir: str) -> dict:
  return {"config": os.path.join(workdir, "config.json"),
          "results": os.path.join(workdir, "results.jsonl"),
          "summary": os.path.join(workdir, "summary.csv"),
          "table": os.path.join(workdir, "ensembles.md"),
          "figure": os.path.join(workdir, "members_vs_m.png"),
          "figure_width": os.path.join(workdir, "members_vs_width.png")}


def run(config: Config, workdir: str, *, overwrite: bool = False,
        progress: bool = True, accept_unconverged: bool = False) -> dict:
  """Runs (or resumes) the experiment and writes its files into ``workdir``.

  Returns:
    a dict of output paths.
  """
  workdir_lib.prepare_workdir(workdir, config, overwrite=overwrite)
  paths = output_paths(workdir)

  def one(unit, ckpt, show):
    return units_lib.warn_unconverged(str(unit), run_one(
        config, *unit, ckpt, show, accept_unconverged=accept_unconverged))
  records = records_lib.run_pending(
      config.units(), paths["results"], key_of=report.unit_of,
      run_one=one, checkpoints=os.path.join(workdir, "checkpoints"),
      name_of=lambda u: f"{u[0]}{u[1]}-{u[2]}-w{u[3]}-s{u[4]}",
      progress=progress)
  wanted = set(config.units())
  records = [r for r in records if report.unit_of(r) in wanted]
  rows = report.summarize(records)
  records_lib.write_csv(paths["summary"], rows)
  with open(paths["table"], "w") as f:
    f.write(report.markdown(rows))
  report.plot_members_vs_bits(paths["figure"], rows)
  if len(config.widths) > 1:
    report.plot_members_vs_width(paths["figure_width"], rows)
  else:
    paths.pop("figure_width")
  return paths


def config_from_workdir(workdir: str) -> Config:
  """The config a work folder was made with."""
  with open(output_paths(workdir)["config"]) as f:
    return config_from_record(json.load(f)["config"])
