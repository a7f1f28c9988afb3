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

#: A finite growth over sampled pairs whose running sums (float64, one per
#: step and output bit of every pair) and one chunk of member outputs would
#: exceed this many bytes runs in blocks of pairs: the same members (trained
#: once, :class:`permjax.TrainedNetworks`) grown on each block, the curves
#: merged (:func:`permjax.merge_curves`).
BLOCK_BYTES = 1 << 30


def pair_blocks(program: permjax.Program, a, b, chunk: int,
                budget: int | None = None) -> list[tuple]:
  """``[(a_block, b_block), ...]``: the pairs in order, in blocks whose
  encodings (at most ``program.steps`` per pair) fit ``budget`` bytes.

  Example:
    >>> prog = permjax.program("multiplication", 16)
    >>> [len(x) for x, _ in pair_blocks(prog, [1] * 300, [2] * 300, 4)]
    [86, 86, 86, 42]
  """
  per_pair = program.steps * program.D * 8 * (1 + chunk)
  size = max(1, (BLOCK_BYTES if budget is None else budget) // per_pair)
  return [(a[i:i + size], b[i:i + size]) for i in range(0, len(a), size)]


def unit_key(program: str, bits: int, regime: str, width: int, seed: int):
  """The member key of one growth: its coordinates folded in, the family
  and the regime by their fixed ids (never their position in a list)."""
  return units_lib.fold_key(20251203, permjax.program_family(program).key_id,
                            bits, units_lib.REGIME_KEY[regime], width, seed)


def pairs_for(program: permjax.Program, limit: int, a=None, b=None):
  """All pairs (or the given ``a``, ``b``), or the largest power-of-two
  prefix (at most a quarter of the pairs, rounded to a power of two) of a
  fixed random order of them whose ideal runs visit at most ``limit``
  encodings.

  The prefix is found by doubling from one pair, so no test set much
  larger than ``limit`` encodings is ever built (10^4 sampled 16-bit
  multiplications visit 10^7 encodings: their dense test set alone would
  not fit in memory).

  Returns:
    ``(a, b, test set)``.
  """
  if a is None:
    a, b = program.all_pairs()
  order = np.random.default_rng(len(a) + program.k).permutation(len(a))
  cap = 1 << max(0, len(a).bit_length() - 2)

  def prefix(count):
    sub = order[:count]
    return a[sub], b[sub], permjax.program_test_set(program, a[sub], b[sub])

  best = prefix(1)
  if len(best[2].x) > limit:
    _too_long(program, limit)
  count = 1
  while count < cap:
    bigger = prefix(2 * count)
    if len(bigger[2].x) > limit:
      break
    best, count = bigger, 2 * count
  else:  # the cap fits: all pairs might too (a superset visits as many)
    test = permjax.program_test_set(program, a, b)
    if len(test.x) <= limit:
      return a, b, test
  if not len(best[2].x):  # every smaller prefix visits no encoding either
    _too_long(program, limit)
  return best


def _too_long(program, limit):
  raise ExperimentError(f"{program.name}: no subset of pairs visits between "
                        f"1 and gp_max_states={limit} encodings (one pair's "
                        f"run already visits more); raise gp_max_states")


def edge_pairs(bits: int) -> tuple[list, list]:
  """Operand pairs at the edges of ``bits``-bit numbers: zero, all ones,
  the longest carry chains (all ones plus one, in both orders), the top bit
  twice, and the alternating patterns."""
  top = (1 << bits) - 1
  alt = int("01" * bits, 2) & top
  pairs = [(0, 0), (top, top), (top, 1), (1, top), (top, 0), (0, top),
           (1 << (bits - 1), 1 << (bits - 1)), (alt, top ^ alt),
           (alt, (top ^ alt) + 1 if (top ^ alt) < top else 1)]
  seen = []
  for pair in pairs:
    if pair not in seen:
      seen.append(pair)
  return [a for a, _ in seen], [b for _, b in seen]


def sampled_pairs(program: permjax.Program, count: int):
  """``count`` random operand pairs of ``program`` (uniform over
  ``operand_bits``-bit numbers, a fixed seed per program, Python ints beyond
  62 bits) after :func:`edge_pairs`; ``(a, b)`` as the program's operand
  arrays."""
  bits = program.operand_bits
  rng = np.random.default_rng(20251207 + program.k)
  size = (bits + 7) // 8
  raw = rng.bytes(2 * count * size)
  draw = [int.from_bytes(raw[i * size:(i + 1) * size], "little")
          % (1 << bits) for i in range(2 * count)]
  a, b = edge_pairs(bits)
  return program.check_operands(a + draw[:count], b + draw[count:])


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


def _grid_bound(program, readout, kernel) -> int | None:
  """The certificate grid's union bound over every pair (no enumeration);
  None where the program has no n bound or no N works."""
  if not readout.analytic or program.n_bound is None:
    return None
  try:
    return permjax.certified_ensemble_size(program, readout, kernel=kernel)
  except ValueError:
    return None


def clopper_pearson_upper(failures: int, trials: int,
                          level: float = 0.95) -> float:
  """The exact one-sided upper confidence bound on a failure rate from
  ``failures`` in ``trials`` (Clopper–Pearson).

  Example:
    >>> round(clopper_pearson_upper(0, 10_000), 7)   # 1 - 0.05**(1/10000)
    0.0002995
  """
  from scipy import stats  # pylint: disable=import-outside-toplevel
  if failures >= trials:
    return 1.0
  return float(stats.beta.ppf(level, failures + 1, trials - failures))


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
  if config.pairs:
    a, b = sampled_pairs(program, config.pairs)
    pairs_total = 1 << (2 * program.operand_bits)
  else:
    a, b = program.all_pairs()
    pairs_total = len(a)
  if regime == "gp":
    a, b, test = pairs_for(program, config.gp_max_states, a, b)
  blocks = ([(a, b)] if regime == "gp" or not config.pairs
            else pair_blocks(program, a, b, config.chunk))
  if regime != "gp" and len(blocks) == 1:
    test = permjax.program_test_set(program, a, b)
  program.ground_truth(a, b)  # every input halts within the budget
  readouts = {name: (permjax.margin_readout(program, kernel=kernel)
                     if config.pairs and name == "margin" else
                     permjax.readout.from_name(name, kernel, program=program))
              for name in config.rules}
  start = time.perf_counter()
  key = unit_key(program_name, bits, regime, width, seed)
  unit = [program_name, bits, regime, width, seed]
  grow_args = dict(
      where=where, on_progress=on_progress,
      accept_unconverged=accept_unconverged,
      max_members=(config.gp_max_members if regime == "gp"
                   else config.max_members),
      chunk=config.chunk, targets=PAIR_TARGETS,
      stop_accuracy=1.0 if config.stop_when_exact else None)
  if len(blocks) == 1:
    src = _source(config, regime, width, program, test, key)
    source_info = src.info
    curve = units_lib.grow_unit(
        config, {"unit": unit}, src,
        permjax.ProgramScorer(program, test, readouts),
        checkpoint_dir=checkpoint_dir, **grow_args)
    encodings = len(test.x)
    states = permjax.reachable_states(program, a, b)
  else:
    if config.stop_when_exact:
      raise ExperimentError(
          f"{where}: {len(a):,} pairs of {program.steps} steps do not fit "
          f"one growth ({BLOCK_BYTES >> 20} MiB of running sums) and run in "
          f"{len(blocks)} blocks, which must all grow to the same size: pass "
          f"--stop_when_exact false")
    nets = permjax.TrainedNetworks(config.spec(regime, width),
                                   permjax.training_examples(program), key,
                                   config.train)
    curves, encodings = [], 0
    for i, (ab, bb) in enumerate(blocks):
      block = permjax.program_test_set(program, ab, bb)
      encodings += len(block.x)
      curves.append(units_lib.grow_unit(
          config, {"unit": unit, "block": i}, nets.source(block.x),
          permjax.ProgramScorer(program, block, readouts),
          checkpoint_dir=(None if checkpoint_dir is None else
                          os.path.join(checkpoint_dir, f"block{i}")),
          **grow_args))
    curve = permjax.merge_curves(curves, [len(ab) for ab, _ in blocks])
    source_info = {**nets.info(), "blocks": len(blocks)}
    states = None  # the sampled pairs' states do not fit either
  seconds = time.perf_counter() - start
  per_rule = {}
  for name, readout in readouts.items():
    acc = curve.accuracy[name]
    per_rule[name] = {
        "readout": readout.to_dict(),
        "reached": bool(curve.reached[name]),
        "n_at": {str(t): curve.n_at[name][t] for t in PAIR_TARGETS},
        "final_accuracy": round(float(acc[-1]), 6),
        "bound_N90": (None if states is None else
                      _bound(program, readout, kernel, states)),
        "grid_bound_N90": _grid_bound(program, readout, kernel),
        "failed_pairs_at_end": int(round((1 - float(acc[-1])) * len(a))),
        "failure_rate_upper95": clopper_pearson_upper(
            int(round((1 - float(acc[-1])) * len(a))), len(a)),
        "curve": [round(float(v), 5) for v in acc],
    }
  fields = units_lib.member_fields(curve)
  return {
      "program": program_name, "bits": bits, "regime": regime,
      "width": width, "seed": seed, "kernel": kernel,
      "program_name": program.name, "fingerprint": program.fingerprint,
      "T": program.T, "k": program.k, "D": program.D, "steps": program.steps,
      "pairs_total": pairs_total, "pairs_sampled": bool(config.pairs),
      "stopped_at_first_exact": bool(config.stop_when_exact),
      "pairs_run": int(len(a)), "encodings": int(encodings),
      "member_source": source_info, "members": int(curve.members),
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
    f.write(report.tables(records, rows))
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
