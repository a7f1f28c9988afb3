"""Ensembles executing addition and multiplication: how many members?

One growth per (task, m, source, width, seed): members come from the
trained-GP posterior (``gp``, drawn jointly over every encoding the ideal
runs visit) or are finite networks trained once on the template training set
(``ntk``: NTK parameterization; ``standard``: the paper's PyTorch recipe),
and every readout rule of the config reads the same running average
(:func:`permjax.grow_execution`). The record holds, per rule, the fraction of
operand pairs executed exactly (every bit of every step equal to the OR rule)
after each member, the first N reaching 50/90/99.9/100% of pairs, where the
first errors happen (step, field, matched templates), and the analytic union
bound on N for P(all pairs exact) ≥ 0.9 under the same rule and the kernel
the source follows. Resumable per growth (orbax checkpoint after each
chunk) and per record (``results.jsonl``).

:func:`run` is what the command line
(``python -m permjax.experiments.template_execution ensembles``) and the
notebooks call.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time

import jax
import numpy as np

import permjax
from permjax._src import execution
from permjax._src import program_ensembles as pe
from permjax._src import sbn
from permjax.experiments import config as config_lib
from permjax.experiments import provenance
from permjax.experiments import records as records_lib
from permjax.experiments import workdir as workdir_lib
from permjax.experiments.template_execution import run as validation

SOURCES = ("gp", "ntk", "standard")
#: How finite members are trained by default: full-batch GD on the mean MSE
#: at half the largest stable step, float32, to a training loss of 1e-7.
DEFAULT_TRAIN = permjax.TrainConfig(trainer="gd", loss="mean", lr="auto",
                                    max_steps=20_000, tol=1e-7)
#: Default largest fraction of unconverged members accepted per growth.
MAX_UNCONVERGED = 0.01


class ExperimentError(RuntimeError):
  """A growth failed; the message says which."""


@dataclasses.dataclass(frozen=True)
class Config:
  """Configuration of the ensemble experiment (every field is a ``--flag``).

  Attributes:
    name: preset name (recorded).
    tasks: ``addition`` and/or ``multiplication``.
    addition_m: operand widths of addition.
    multiplication_m: operand widths of multiplication.
    sbn_instruction_m, sbn_loop_m, sbn_idioms_m: word widths of the SBN
      programs (permjax's own construction, :mod:`permjax._src.sbn`).
    sources: member sources, a subset of ``("gp", "ntk", "standard")``.
    rules: readout rules read side by side (:func:`permjax.execution_rule`):
      ``zero`` (the authors' 1e-10), ``zero_fixed`` (that, structural zeros
      hard-wired to 0), ``margin`` (half the smallest 1-bit mean of the
      source's kernel mean), ``midpoint``, ``optimal``, ``fixed:<τ>``.
    gp_kernel: the kernel of the ``gp`` source (``ntk`` or ``nngp``).
    widths: hidden widths of the finite sources.
    seeds: growths per (task, m, source, width).
    max_members: finite sources stop here.
    gp_max_members: the gp source stops here.
    chunk: members per source call (and per checkpoint).
    gp_max_states: the gp source draws jointly over at most this many
      encodings; a (task, m) with more runs the largest power-of-two number of
      pairs (a fixed random subset) whose encodings fit, and says so.
    train: how finite members are trained (its fields are flags too).
    seed_offset: first seed.
  """
  name: str = "default"
  tasks: tuple[str, ...] = ("addition", "multiplication")
  addition_m: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
  multiplication_m: tuple[int, ...] = (1, 2, 3, 4)
  sbn_instruction_m: tuple[int, ...] = (3,)
  sbn_loop_m: tuple[int, ...] = (4,)
  sbn_idioms_m: tuple[int, ...] = (3,)
  sources: tuple[str, ...] = SOURCES
  rules: tuple[str, ...] = ("zero_fixed", "margin", "midpoint")
  gp_kernel: str = "ntk"
  widths: tuple[int, ...] = (1024,)
  seeds: int = 1
  max_members: int = 64
  gp_max_members: int = 4096
  chunk: int = 64
  gp_max_states: int = 6000
  train: permjax.TrainConfig = DEFAULT_TRAIN
  seed_offset: int = 0

  def __post_init__(self):
    bad = [t for t in self.tasks if t not in validation.TASKS]
    if bad or not self.tasks:
      raise ValueError(f"unknown task(s) {bad or list(self.tasks)}; allowed: "
                       f"{list(validation.TASKS)}")
    for task in self.tasks:
      ms = self.ms(task)
      low = 2 if task in ("addition",) + sbn.PROGRAMS else 1
      small = [m for m in ms if m < low]
      if small or not ms:
        raise ValueError(f"{self.field_of(task)} must list widths >= {low}, "
                         f"got {list(ms)}")
      big = [m for m in ms if m > validation.ANALYTIC_MAX_M[task]]
      if big:
        raise ValueError(f"{self.field_of(task)}={big} (for {task}) is above "
                         f"the largest m whose "
                         f"reachable states are enumerated "
                         f"({validation.ANALYTIC_MAX_M[task]})")
    bad = [s for s in self.sources if s not in SOURCES]
    if bad or not self.sources:
      raise ValueError(f"unknown source(s) {bad or list(self.sources)}; "
                       f"allowed: {list(SOURCES)}")
    if not self.rules:
      raise ValueError("rules is empty")
    for rule in self.rules:
      pe.execution_rule(rule, permjax.addition_program(2))  # validates it
    if self.gp_kernel not in ("ntk", "nngp"):
      raise ValueError(f"gp_kernel must be 'ntk' or 'nngp', got "
                       f"{self.gp_kernel!r}")
    for name in ("seeds", "max_members", "gp_max_members", "chunk",
                 "gp_max_states"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    if not self.widths or min(self.widths) < 1:
      raise ValueError(f"widths must list integers >= 1, got "
                       f"{list(self.widths)}")

  @staticmethod
  def field_of(task: str) -> str:
    """The config field holding a task's widths."""
    return f"{task}_m"

  def ms(self, task: str) -> tuple[int, ...]:
    return getattr(self, self.field_of(task))

  def kernel(self, source: str) -> str:
    """The GP a source's members follow: NTK for NTK-parameterized nets,
    NNGP for standard ones (SPEC §5)."""
    return {"gp": self.gp_kernel, "ntk": "ntk", "standard": "nngp"}[source]

  def spec(self, source: str, width: int) -> permjax.MLPSpec:
    if source == "standard":
      return permjax.MLPSpec(width=width, b_std=0.0,
                             parameterization="standard")
    return permjax.MLPSpec(width=width)

  def units(self) -> list[tuple[str, int, str, int, int]]:
    """(task, m, source, width, seed) in run order; gp has width 0."""
    seeds = range(self.seed_offset, self.seed_offset + self.seeds)
    out = []
    for task in self.tasks:
      for m in self.ms(task):
        for source in self.sources:
          for width in ((0,) if source == "gp" else self.widths):
            out.extend((task, m, source, width, s) for s in seeds)
    return out


def smoke() -> Config:
  """Seconds: addition m = 2, 3 and multiplication m = 1, width 256."""
  return Config(name="smoke", addition_m=(2, 3), multiplication_m=(1,),
                widths=(256,), max_members=64, gp_max_members=1024, chunk=32)


def default() -> Config:
  """Addition m = 2..8, multiplication m = 1..4, three sources, width 1024
  (2 CPU cores, about 30 minutes)."""
  return Config(name="default")


def paper() -> Config:
  """Every pair for the gp source up to 20 000 encodings, 3 seeds, width
  4096, finite members to 4096 (GPU-sized)."""
  return Config(name="paper", widths=(4096,), seeds=3, max_members=4096,
                gp_max_members=8192, gp_max_states=20_000)


def widths() -> Config:
  """Width against members: addition m = 4, multiplication m = 2, both
  parameterizations, widths 64..4096 (and the gp reference)."""
  return Config(name="widths", addition_m=(4,), multiplication_m=(2,),
                widths=(64, 128, 256, 512, 1024, 2048, 4096),
                max_members=128, gp_max_members=4096)


def sbn_preset() -> Config:
  """The SBN programs: one instruction on every memory of 4 words of 3 bits,
  the multiplication loop (w = 4, every input) and the add/copy idioms
  (w = 3, every input); three sources, width 1024."""
  return Config(name="sbn", tasks=sbn.PROGRAMS)


PRESETS = {"smoke": smoke, "default": default, "paper": paper,
           "widths": widths, "sbn": sbn_preset}


def unit_key(task: str, m: int, source: str, width: int, seed: int):
  """The member key of one growth (``fold_in`` of its coordinates)."""
  key = jax.random.key(20251203)
  for value in (validation.TASKS.index(task), m, SOURCES.index(source), width,
                seed):  # (SBN tasks were appended to TASKS: old keys kept)
    key = jax.random.fold_in(key, value)
  return key


def pairs_for(program: permjax.Program, limit: int):
  """All pairs, or the largest power-of-two prefix of a fixed random order
  of them whose ideal runs visit at most ``limit`` encodings.

  Returns:
    ``(a, b, test set)``.
  """
  a, b = program.all_pairs()
  test = pe.program_test_set(program, a, b)
  if len(test.x) <= limit:
    return a, b, test
  order = np.random.default_rng(len(a) + program.k).permutation(len(a))
  count = 1 << (len(a).bit_length() - 1)
  while count >= 1:
    count //= 2
    sub = order[:count]
    test = pe.program_test_set(program, a[sub], b[sub])
    if len(test.x) <= limit:
      return a[sub], b[sub], test
  raise ExperimentError(f"{program.name}: even one pair visits more than "
                        f"{limit} encodings")


def _bound(program, rule, kernel, states) -> int | None:
  """The union bound on N for P(every pair exact) >= 0.9 over the reachable
  ``states`` of the pairs run; None if no N works (a bit whose mean sits on
  the threshold, e.g. a structural zero)."""
  if rule.readout.rule == "self_calibrated":
    return None
  try:
    return execution.execution_ensemble_size(
        program, rule.readout, kernel=kernel, target=0.9,
        fix_structural_zeros=rule.fix_structural_zeros, states=states)
  except ValueError:
    return None


def _source(config, source, width, program, test, key):
  train = pe.training_examples(program)
  if source == "gp":
    return permjax.gp_member_source(permjax.MLPSpec(width=1),
                                    config.gp_kernel, train, test.x, key,
                                    sampler="dense",
                                    max_dense=config.gp_max_states)
  return permjax.network_member_source(config.spec(source, width), train,
                                       test.x, key, config.train)


def run_one(config: Config, task: str, m: int, source: str, width: int,
            seed: int, checkpoint_dir: str | None = None, on_progress=None, *,
            accept_unconverged: bool = False) -> dict:
  """One growth; returns its record (see the module docstring)."""
  where = f"(task={task}, m={m}, source={source}, width={width}, seed={seed})"
  program = validation.program_of(task, m)
  kernel = config.kernel(source)
  if source == "gp":
    a, b, test = pairs_for(program, config.gp_max_states)
  else:
    a, b = program.all_pairs()
    test = pe.program_test_set(program, a, b)
  program.ground_truth(a, b)  # every input halts within the budget
  rules = {name: pe.execution_rule(name, program, kernel)
           for name in config.rules}
  start = time.perf_counter()
  src = _source(config, source, width, program, test,
                unit_key(task, m, source, width, seed))
  ckpt = state = None
  if checkpoint_dir is not None:
    ckpt = pe.ExecutionCheckpoint(checkpoint_dir, {
        "unit": [task, m, source, width, seed],
        "config": config_lib.to_record(config),
        "jax_version": jax.__version__,
        "device_kind": jax.devices()[0].device_kind})
    state = ckpt.load()

  def show(members, accuracy):
    if on_progress is not None:
      on_progress(members=members, **{k: f"{v:.3f}"
                                      for k, v in accuracy.items()})
  try:
    curves = pe.grow_execution(
        src, program, test, rules,
        max_members=(config.gp_max_members if source == "gp"
                     else config.max_members),
        chunk=config.chunk, state=state,
        on_chunk=None if ckpt is None else ckpt.save, on_progress=show,
        max_unconverged=None if accept_unconverged else MAX_UNCONVERGED)
  except permjax.UnconvergedMembersError as err:
    raise ExperimentError(f"{where}: {err} (pass --accept_unconverged to "
                          f"record it anyway)") from None
  except permjax.TrainingDivergedError as err:
    raise ExperimentError(f"{where}: {err}") from None
  finally:
    if ckpt is not None:
      ckpt.close()
  seconds = time.perf_counter() - start
  per_rule = {}
  states = execution.reachable_states(program, a, b)
  for name, rule in rules.items():
    acc = curves.accuracy[name]
    per_rule[name] = {
        "readout": rule.to_dict(),
        "reached": bool(curves.reached[name]),
        "n_at": {str(t): n for t, n in curves.n_at[name].items()},
        "final_accuracy": round(float(acc[-1]), 6),
        "bound_N90": _bound(program, rule, kernel, states),
        "curve": [round(float(v), 5) for v in acc],
    }
  kinds, counts = np.unique(curves.status, return_counts=True)
  info = src.info
  return {
      "task": task, "m": m, "source": source, "width": width, "seed": seed,
      "kernel": kernel, "T": program.T, "k": program.k, "D": program.D,
      "steps": program.steps,
      "pairs_total": int(len(program.all_pairs()[0])),
      "pairs_run": int(len(a)), "encodings": int(len(test.x)),
      "member_source": info, "members": int(curves.members),
      "rules": per_rule, "first_errors": curves.first_errors,
      "member_status": dict(zip(kinds.tolist(), counts.tolist())),
      "unconverged": int(np.sum(~np.isin(curves.status,
                                         permjax.GOOD_STATUSES))),
      "max_final_loss": (None if source == "gp" else
                         float(f"{np.nanmax(curves.final_loss):.3g}")),
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
  from permjax.experiments.template_execution import ensemble_report  # pylint: disable=import-outside-toplevel
  workdir_lib.prepare_workdir(workdir, config, overwrite=overwrite)
  paths = output_paths(workdir)

  def one(unit, ckpt, show):
    record = run_one(config, *unit, ckpt, show,
                     accept_unconverged=accept_unconverged)
    if record["unconverged"]:
      print(f"warning: {unit}: {record['unconverged']} of {record['members']}"
            f" members did not converge ({record['member_status']}); "
            f"recorded as accepted", file=sys.stderr)
    return record
  records = records_lib.run_pending(
      config.units(), paths["results"],
      key_of=lambda r: (r["task"], r["m"], r["source"], r["width"],
                        r["seed"]),
      run_one=one, checkpoints=os.path.join(workdir, "checkpoints"),
      name_of=lambda u: f"{u[0][:3]}{u[1]}-{u[2]}-w{u[3]}-s{u[4]}",
      progress=progress)
  wanted = set(config.units())
  records = [r for r in records if (r["task"], r["m"], r["source"],
                                    r["width"], r["seed"]) in wanted]
  rows = ensemble_report.summarize(records)
  records_lib.write_csv(paths["summary"], rows)
  with open(paths["table"], "w") as f:
    f.write(ensemble_report.markdown(rows))
  ensemble_report.plot_members_vs_m(paths["figure"], rows)
  if len(config.widths) > 1:
    ensemble_report.plot_members_vs_width(paths["figure_width"], rows)
  else:
    paths.pop("figure_width")
  return paths


def config_from_workdir(workdir: str) -> Config:
  """The config a work folder was made with."""
  import json  # pylint: disable=import-outside-toplevel
  with open(output_paths(workdir)["config"]) as f:
    return config_lib.from_record(Config, json.load(f)["config"])

