"""Exact validation of template programs and their analytic ensemble sizes.

:func:`validate` runs every operand pair of each (program, bits) for the full step
budget with the exact NTK mean (float64, closed form), checks every step
against the OR rule and every result against the integer ground truth, and
records, next to it, the exact-Gaussian ensemble size of execution under
each readout rule (union bound over the distinct reachable states and their
bits, P(all right) >= 0.9; docs/theory/templates.md §3.4). One record per
(program, bits) in
``results.jsonl`` (resumable), and ``validation.md``.
"""

from __future__ import annotations

import os
import time

import permjax
from permjax.experiments import provenance
from permjax.experiments import records as records_lib


def analytic_sizes(program: permjax.Program) -> dict:
  """Exact-Gaussian N of execution per readout rule (NTK GP, P = 0.9),
  every bit but the structural zeros (hard-wired to 0 under every rule).

  ``zero_fixed``: the zero rule (without the fixed zeros a structural zero
  is a coin flip for every N); ``margin``: one threshold, half the smallest
  1-bit mean over the reachable states (docs/theory/readout.md §7);
  ``midpoint``, ``optimal``: per-n.
  """
  states = permjax.reachable_states(program)
  n, _ = program.write_counts(states)
  live = states[n >= 2]
  if not len(live):  # only training points (n <= 1): exact, one member
    return {"reachable_states_n_ge_2": 0, "margin_tau": None,
            **{f"N_{r}": 1 for r in ("zero_fixed", "margin", "midpoint",
                                     "optimal")}}
  margin = permjax.margin(program, "ntk", states=states)
  zeros = program.structural_zeros()
  rules = {"zero_fixed": permjax.readout.zero(), "margin": margin,
           "midpoint": permjax.readout.midpoint("ntk"),
           "optimal": permjax.readout.optimal("ntk")}
  out = {"reachable_states_n_ge_2": int(len(live)), "margin_tau": margin.tau}
  for name, rule in rules.items():
    out[f"N_{name}"] = permjax.execution_ensemble_size(
        program, rule.with_fixed_zeros(zeros), states=states)
  return out


def validate_one(family: str, bits: int) -> dict:
  """One (program family, bits): exact-mean validation and analytic sizes,
  a record."""
  program = permjax.program(family, bits)
  run = permjax.execute(program, permjax.exact_mean(), progress=False)
  record = {"program": family, "bits": bits, "program_name": program.name,
            "fingerprint": program.fingerprint, "T": program.T, "k": program.k,
            "D": program.D, "pairs": run.pairs, "steps": run.steps,
            "all_correct": run.all_correct,
            "matches_or_rule": run.matches_or_rule,
            "first_failure": run.first_failure,
            "wrong_results": run.wrong_results, "seconds": run.seconds,
            "predictor": "exact NTK mean (closed form, float64)",
            "readout": permjax.readout.zero().to_dict()}
  if bits <= permjax.program_family(family).enumerable_bits:
    start = time.perf_counter()
    record.update(analytic_sizes(program))
    record["analytic_seconds"] = round(time.perf_counter() - start, 3)
  return {**record, **provenance.record_fields()}


def unit_of(record: dict) -> tuple:
  """``(program, bits)`` of a record, any layout (older: ``task``, ``m``)."""
  return (record.get("program", record.get("task")),
          record.get("bits", record.get("m")))


def table(records: list[dict]) -> str:
  """The validation table (one row per program and size)."""
  lines = ["| program | bits | T | k | pairs | steps | all correct | = OR rule "
           "every step | first failure | seconds | N zero (fixed zeros) | "
           "N margin | N midpoint | N optimal |", "| --- " * 14 + "|"]
  for r in sorted(records, key=unit_of):
    ns = [str(r.get(f"N_{x}", "—")) for x in ("zero_fixed", "margin",
                                               "midpoint", "optimal")]
    lines.append(
        f"| {unit_of(r)[0]} | {unit_of(r)[1]} | {r['T']} | {r['k']} | "
        f"{r['pairs']:,} | "
        f"{r['steps']} | {r['all_correct']} | {r['matches_or_rule']} | "
        f"{r['first_failure'] or '—'} | {r['seconds']} | " + " | ".join(ns)
        + " |")
  return "\n".join(lines) + "\n"


def validate(sizes: dict, workdir: str, *, progress: bool = True) -> dict:
  """Validates every (program family, bits); resumes from
  ``workdir/results.jsonl``.

  Args:
    sizes: ``{family: [bits, ...]}`` (see
      :func:`permjax.experiments.template_execution.configs.parse_programs`).
    workdir: output folder (created).
    progress: a tqdm bar on stderr.

  Returns:
    paths of ``results.jsonl`` and ``validation.md``.
  """
  from permjax.experiments import workdir as workdir_lib  # pylint: disable=import-outside-toplevel
  workdir_lib.make_folder(workdir)
  path = os.path.join(workdir, "results.jsonl")
  for r in records_lib.read_records(path):
    if unit_of(r)[0] is None:
      raise ValueError(f"{path} holds records of another experiment (no "
                       f"program or task key); use another --workdir")
  todo = [(f, b) for f, values in sizes.items() for b in values]
  recs = records_lib.run_pending(
      todo, path, key_of=unit_of,
      run_one=lambda unit, _ckpt, _show: validate_one(*unit),
      name_of=lambda u: f"{u[0]}-{u[1]}", progress=progress)
  out = os.path.join(workdir, "validation.md")
  with open(out, "w") as f:
    f.write(table([r for r in recs if unit_of(r) in set(todo)]))
  return {"results": path, "table": out}
