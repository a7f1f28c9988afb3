"""Exact validation of template programs and their analytic ensemble sizes.

:func:`validate` runs every operand pair of each (task, m) for the full step
budget with the exact NTK mean (float64, closed form), checks every step
against the OR rule and every result against the integer ground truth, and
records, next to it, the exact-Gaussian ensemble size of execution under
each readout rule (union bound over the distinct reachable states and their
bits, P(all right) >= 0.9; TEMPLATES.md §3.5). One record per (task, m) in
``results.jsonl`` (resumable), and ``validation.md``.
"""

from __future__ import annotations

import os
import time

import numpy as np

import permjax
from permjax._src import execution
from permjax._src import program_ensembles
from permjax._src import sbn
from permjax._src import templates
from permjax.experiments import provenance
from permjax.experiments import records as records_lib

TASKS = ("addition", "multiplication") + sbn.PROGRAMS
#: Largest m whose reachable states the analytic sizes enumerate (for the
#: SBN programs m is the word width w).
ANALYTIC_MAX_M = {"addition": 8, "multiplication": 4, "sbn_instruction": 4,
                  "sbn_loop": 4, "sbn_idioms": 4}
#: Smallest m of each task.
MIN_M = {"addition": 1, "multiplication": 1, "sbn_instruction": 2,
         "sbn_loop": 2, "sbn_idioms": 2}


def program_of(task: str, m: int) -> templates.Program:
  """The program of a task name and operand width (word width for SBN)."""
  if task == "addition":
    return templates.addition_program(m)
  if task == "multiplication":
    return templates.multiplication_program(m)
  if task in sbn.PROGRAMS:
    return sbn.program_named(task, m)
  raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def analytic_sizes(program: templates.Program) -> dict:
  """Exact-Gaussian N of execution per readout rule (NTK GP, P = 0.9).

  ``zero_fixed``: the zero rule with structural zeros hard-wired to 0
  (without that, a structural zero is a coin flip for every N);
  ``margin``: one threshold, half the smallest 1-bit mean over the reachable
  states (TEMPLATES.md §5.1b); ``midpoint``, ``optimal``: per-n.
  """
  states = execution.reachable_states(program)
  n, _ = program.write_counts(states)
  live = states[n >= 2]
  if not len(live):  # only training points (n <= 1): exact, one member
    return {"reachable_states_n_ge_2": 0, "margin_tau": None,
            **{f"N_{r}": 1 for r in ("zero_fixed", "margin", "midpoint",
                                     "optimal")}}
  tau = program_ensembles.margin_threshold(program, states=states)
  rules = {"zero_fixed": permjax.readout.zero(),
           "margin": permjax.readout.fixed(tau),
           "midpoint": permjax.readout.midpoint(),
           "optimal": permjax.readout.optimal()}
  out = {"reachable_states_n_ge_2": int(len(live)), "margin_tau": tau}
  for name, rule in rules.items():
    out[f"N_{name}"] = execution.execution_ensemble_size(
        program, rule, fix_structural_zeros=True, states=states)
  return out


def validate_one(task: str, m: int) -> dict:
  """One (task, m): exact-mean validation and analytic sizes, a record."""
  program = program_of(task, m)
  run = execution.execute(program, execution.exact_mean(), progress=False)
  record = {"task": task, "m": m, "T": program.T, "k": program.k,
            "D": program.D, "pairs": run.pairs, "steps": run.steps,
            "all_correct": run.all_correct,
            "matches_or_rule": run.matches_or_rule,
            "first_failure": run.first_failure,
            "wrong_results": run.wrong_results, "seconds": run.seconds,
            "predictor": "exact NTK mean (closed form, float64)",
            "readout": permjax.readout.zero().to_dict()}
  if m <= ANALYTIC_MAX_M[task]:
    start = time.perf_counter()
    record.update(analytic_sizes(program))
    record["analytic_seconds"] = round(time.perf_counter() - start, 3)
  return {**record, **provenance.record_fields()}


def table(records: list[dict]) -> str:
  lines = ["| task | m | T | k | pairs | steps | all correct | = OR rule every "
           "step | first failure | seconds | N zero (fixed zeros) | N margin "
           "| N midpoint | N optimal |", "| --- " * 14 + "|"]
  for r in sorted(records, key=lambda r: (r["task"], r["m"])):
    ns = [str(r.get(f"N_{x}", "—")) for x in ("zero_fixed", "margin",
                                               "midpoint", "optimal")]
    lines.append(
        f"| {r['task']} | {r['m']} | {r['T']} | {r['k']} | {r['pairs']:,} | "
        f"{r['steps']} | {r['all_correct']} | {r['matches_or_rule']} | "
        f"{r['first_failure'] or '—'} | {r['seconds']} | " + " | ".join(ns)
        + " |")
  return "\n".join(lines) + "\n"


def validate(tasks, ms: dict, workdir: str, *, progress: bool = True) -> dict:
  """Validates every (task, m); resumes from ``workdir/results.jsonl``.

  Args:
    tasks: task names.
    ms: ``{task: [m, ...]}``.
    workdir: output folder.
    progress: a tqdm bar on stderr.

  Returns:
    paths of ``results.jsonl`` and ``validation.md``.
  """
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, "results.jsonl")
  todo = [(t, m) for t in tasks for m in ms[t]]
  recs = records_lib.run_pending(
      todo, path, key_of=lambda r: (r["task"], r["m"]),
      run_one=lambda task, _ckpt, _show: validate_one(*task),
      name_of=lambda t: f"{t[0]}-m{t[1]}", progress=progress)
  out = os.path.join(workdir, "validation.md")
  with open(out, "w") as f:
    f.write(table([r for r in recs if (r["task"], r["m"]) in set(todo)]))
  return {"results": path, "table": out}
