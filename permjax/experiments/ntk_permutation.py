"""Figure 1 of arXiv 2502.16763v1 in three regimes: how many members are needed.

Run ``python -m permjax.experiments.ntk_permutation [--config PRESET]
[--workdir DIR] [--field value ...]``, or ``... scaling --workdir DIR`` to fit
growth laws to a finished run. A notebook calls :func:`run` with a config from
:func:`get_config`.

Per (regime, k, seed) the protocol (SPEC §8) draws a permutation and a test
set, grows an ensemble chunk by chunk, records the exact-match accuracy after
every member, and stops at accuracy >= 1 - δ (δ = ``delta`` for the left
panel's k, ``delta_curves`` for the right panel's k) or ``max_members``.
Regimes:

* ``gp``: infinite width; members are joint draws from the trained-GP
  posterior (``gp_regime`` kernel: ``ntk`` by default), float64;
* ``ntk``: finite width, NTK parameterization, no bias;
* ``standard``: finite width, the paper's recipe (standard parameterization,
  trained zero-initialised biases, mean-MSE), trained to convergence.

Outputs in the work folder: ``config.json`` (config, JAX version, device),
``results.jsonl`` (one record per (regime, k, seed), with the whole curve),
``summary.csv``, ``figure1_left.png``, ``figure1_right.png``,
``analytic.csv``. Rerunning with the same folder skips finished records and
resumes partly grown ensembles from their orbax checkpoint.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import math
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence

CPU_FLAGS = ("--xla_force_host_platform_device_count={n} "
             "--xla_cpu_multi_thread_eigen=false")


def use_all_cpu_cores() -> None:
  """One JAX CPU device per core (set before JAX starts; a no-op after).

  The ensemble engine then trains one member per core at a time, which is
  its fastest layout on CPU (see benchmarks/README.md). Accelerators are
  unaffected.
  """
  if "XLA_FLAGS" not in os.environ:
    os.environ["XLA_FLAGS"] = CPU_FLAGS.format(n=os.cpu_count() or 1)


import numpy as np  # pylint: disable=wrong-import-position

import permjax  # pylint: disable=wrong-import-position
from permjax._src import protocol  # pylint: disable=wrong-import-position
from permjax.experiments import config as config_lib  # pylint: disable=wrong-import-position

REGIMES = ("gp", "ntk", "standard")
TEST_SETS = ("random", "n_ones", "all")
TRAINERS = ("gd", "linearized")
ENUMERATION_LIMIT_K = 20
DATA_DIR = os.path.join(os.path.dirname(permjax.__file__), "data")


@dataclasses.dataclass(frozen=True)
class Config:
  """Experiment configuration (every field is a ``--flag``).

  Attributes:
    name: preset name (recorded).
    regimes: subset of ``("gp", "ntk", "standard")``.
    k_values: left panel: members for accuracy ``1 - delta``.
    k_curves: right panel: grown to ``1 - delta_curves`` (their records
      serve the left panel too).
    seeds: number of seeds per (regime, k).
    delta: left-panel δ (0.1 means 90% accuracy).
    delta_curves: right-panel δ.
    test_set: ``random`` (``num_test`` inputs with ``nnz`` ones), ``n_ones``
      (all inputs with ``nnz`` ones) or ``all`` (all ``2^k - 1`` inputs; then
      growth stops when every input is exact).
    nnz: ones per test input.
    num_test: size of the random test set.
    max_members: give up after this many members.
    chunk: members per chunk (and per checkpoint).
    width: hidden width of the finite networks.
    trainer: ``linearized`` or ``gd`` (finite regimes).
    solver: linearized solver, ``cg`` or ``cholesky``.
    cg_tol: CG relative residual.
    lr: GD step: ``auto`` (half the largest stable step, which scales as
      1/width in standard parameterization) or a number.
    max_steps: GD step budget.
    tol: GD stops once the training loss is below this.
    gp_regime: kernel of the ``gp`` regime: ``ntk`` or ``nngp``.
    round_threshold: bits are 1 iff the ensemble average exceeds this.
    gp_sampler: how the ``gp`` regime draws members: ``dense``
      (eigendecomposition of the test-test covariance), ``symmetric`` (exact
      S_k-symmetric sampler, ``O(k² 2^k)`` per draw, for binary test inputs)
      or ``auto`` (dense up to 4096 test inputs).
    max_gp_inputs: largest test set the dense sampler takes.
    seed_offset: first seed.
  """
  name: str = "default"
  regimes: tuple[str, ...] = REGIMES
  k_values: tuple[int, ...] = tuple(range(2, 31))
  k_curves: tuple[int, ...] = (5, 10, 15, 20, 25, 30)
  seeds: int = 5
  delta: float = 0.1
  delta_curves: float = 0.001
  test_set: str = "random"
  nnz: int = 2
  num_test: int = 1000
  max_members: int = 5000
  chunk: int = 32
  width: int = 4096
  trainer: str = "linearized"
  solver: str = "cg"
  cg_tol: float = 1e-5
  lr: str = "auto"
  max_steps: int = 10_000
  tol: float = 1e-9
  gp_regime: str = "ntk"
  round_threshold: float = protocol.DEFAULT_ROUND_THRESHOLD
  gp_sampler: str = "auto"
  max_gp_inputs: int = 1 << 14
  seed_offset: int = 0

  def __post_init__(self):
    bad = [r for r in self.regimes if r not in REGIMES]
    if bad or not self.regimes:
      raise ValueError(f"unknown regime(s) {bad or list(self.regimes)}; "
                       f"allowed: {list(REGIMES)}")
    ks = list(self.k_values) + list(self.k_curves)
    if not ks:
      raise ValueError("k_values and k_curves are both empty")
    small = sorted({k for k in ks if k < 2})
    if small:
      raise ValueError(f"k must be >= 2, got k={small}")
    for name in ("delta", "delta_curves"):
      value = getattr(self, name)
      if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value}")
    if self.test_set not in TEST_SETS:
      raise ValueError(f"test_set must be one of {list(TEST_SETS)}, got "
                       f"{self.test_set!r}")
    over = sorted({k for k in ks if self.nnz > k})
    if self.nnz < 1 or over:
      raise ValueError(f"nnz={self.nnz} must be in 1..k; too large for "
                       f"k={over[:5]}")
    if self.test_set == "all":
      big = sorted({k for k in ks if k > ENUMERATION_LIMIT_K})
      if big:
        raise ValueError(f"test_set='all' enumerates 2^k - 1 inputs; k={big}"
                         f" is above the limit k <= {ENUMERATION_LIMIT_K}")
    if self.trainer not in TRAINERS:
      raise ValueError(f"trainer must be one of {list(TRAINERS)}, got "
                       f"{self.trainer!r}")
    if self.gp_regime not in ("ntk", "nngp"):
      raise ValueError(f"gp_regime must be 'ntk' or 'nngp', got "
                       f"{self.gp_regime!r}")
    if self.gp_sampler not in protocol.GP_SAMPLERS:
      raise ValueError(f"gp_sampler must be one of "
                       f"{list(protocol.GP_SAMPLERS)}, got {self.gp_sampler!r}")
    if self.lr != "auto":
      try:
        value = float(self.lr)
      except ValueError:
        raise ValueError(f"lr must be 'auto' or a number, got {self.lr!r}") from None
      if not value > 0:
        raise ValueError(f"lr must be > 0, got {self.lr!r}")
    for name in ("seeds", "num_test", "max_members", "chunk", "width",
                 "max_steps"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    # The trainer config validates solver, cg_tol, tol.
    self.train_config()

  def train_config(self) -> permjax.TrainConfig:
    return permjax.TrainConfig(
        trainer=self.trainer, loss="mean",
        lr="auto" if self.lr == "auto" else float(self.lr),
        max_steps=self.max_steps, tol=self.tol, solver=self.solver,
        cg_tol=self.cg_tol)

  def spec(self, regime: str) -> permjax.MLPSpec:
    if regime == "standard":
      return permjax.MLPSpec(width=self.width, b_std=0.0,
                             parameterization="standard")
    return permjax.MLPSpec(width=self.width)

  def tasks(self) -> list[tuple[str, int, int]]:
    """(regime, k, seed) in run order: right-panel k first, then the rest."""
    ks = list(dict.fromkeys(list(self.k_curves) + list(self.k_values)))
    ks = sorted(ks)
    seeds = range(self.seed_offset, self.seed_offset + self.seeds)
    return [(r, k, s) for r in self.regimes for k in ks for s in seeds]

  def stop_accuracy(self, k: int) -> float:
    if self.test_set == "all":
      return 1.0
    return 1.0 - (self.delta_curves if k in self.k_curves else self.delta)


def smoke() -> Config:
  """Seconds: tiny widths and k, used by tests and notebooks."""
  return Config(name="smoke", k_values=(3, 4), k_curves=(5,), seeds=2,
                num_test=200, width=256, chunk=16, max_members=2000,
                delta_curves=0.01)


def default() -> Config:
  """Both panels, k = 2..30, 5 seeds, three regimes, width 4096 (CPU, 30 min)."""
  return Config(name="default")


def paper() -> Config:
  """The paper's networks: width 50 000, GD, lr 1e-3 for 10 000 steps, 1 seed.

  Sized for a GPU (on one H100, standard regime at k = 5, 10, 20: 75 s).
  lr 1e-3 is the paper's step for its standard-parameterization nets; an
  NTK-parameterization net needs a step O(k) larger, so run the ``ntk``
  regime with ``--lr auto``.
  """
  return Config(name="paper", seeds=1, width=50_000, trainer="gd",
                lr="1e-3", max_steps=10_000, tol=1e-9, chunk=16)


PRESETS = {"smoke": smoke, "default": default, "paper": paper}


def get_config(name: str = "default", **overrides) -> Config:
  """A preset, with any field overridden.

  Example:
    >>> get_config("smoke", seeds=3).seeds
    3
  """
  return config_lib.resolve(PRESETS, name, overrides)


class ExperimentError(RuntimeError):
  """A (regime, k, seed) failed; the message says which."""


def environment() -> dict:
  """Versions and device, recorded in every result file."""
  import jax  # pylint: disable=import-outside-toplevel
  device = jax.devices()[0]
  return {
      "permjax_version": permjax.__version__,
      "jax_version": jax.__version__,
      "python": platform.python_version(),
      "platform": platform.platform(),
      "device": str(device),
      "device_kind": device.device_kind,
      "device_count": jax.device_count(),
      "float_gp": "float64",
      "float_networks": "float32",
  }


def _config_record(config: Config) -> dict:
  return json.loads(json.dumps(dataclasses.asdict(config)))


def prepare_workdir(workdir: str, config: Config, *,
                    overwrite: bool = False) -> dict:
  """Creates ``workdir`` and writes ``config.json``.

  A folder holding results of a different config is refused unless
  ``overwrite``; then its previous files are moved into ``previous-<time>/``,
  never deleted.
  """
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, "config.json")
  record = {"config": _config_record(config), **environment()}
  if os.path.exists(path):
    try:
      with open(path) as f:
        old = json.load(f).get("config")
    except (OSError, json.JSONDecodeError) as err:
      raise ValueError(f"{path} is unreadable ({err}); move it away or pass "
                       f"--overwrite") from None
    if old is not None:  # fields added later compare at their defaults
      old = {**_config_record(Config()), **old}
    if old != record["config"]:
      if not overwrite:
        changed = sorted(k for k in set(old or {}) | set(record["config"])
                         if (old or {}).get(k) != record["config"].get(k))
        raise ValueError(f"{workdir} holds results of a different config "
                         f"(fields differ: {changed}); use another --workdir "
                         f"or pass --overwrite")
      stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
      keep = os.path.join(workdir, f"previous-{stamp}")
      os.makedirs(keep)
      for name in os.listdir(workdir):
        if not name.startswith("previous-"):
          shutil.move(os.path.join(workdir, name), os.path.join(keep, name))
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(record, f, indent=2, sort_keys=True)
  os.replace(tmp, path)
  return record


def _read_records(path: str) -> list[dict]:
  if not os.path.exists(path):
    return []
  records = []
  with open(path) as f:
    for line in f:
      line = line.strip()
      if line:
        try:
          records.append(json.loads(line))
        except json.JSONDecodeError:
          continue  # a line cut by a kill; its record is redone
  return records


def load_results(workdir: str) -> list[dict]:
  """The finished (regime, k, seed) records of a work folder.

  Example:
    >>> load_results("/nonexistent")
    []
  """
  return _read_records(os.path.join(workdir, "results.jsonl"))


def _append_record(path: str, record: dict) -> None:
  with open(path, "a") as f:
    f.write(json.dumps(record) + "\n")
    f.flush()
    os.fsync(f.fileno())


def _keys(k: int, seed: int, regime: str):
  import jax  # pylint: disable=import-outside-toplevel
  base = jax.random.fold_in(jax.random.fold_in(jax.random.key(20250223), k),
                            seed)
  member = jax.random.fold_in(base, 10 + REGIMES.index(regime))
  return jax.random.fold_in(base, 0), jax.random.fold_in(base, 1), member


def build_test_set(config: Config, k: int, seed: int, perm) -> protocol.TestSet:
  """The (deduplicated, padded) test set of one (k, seed)."""
  _, test_key, _ = _keys(k, seed, "gp")
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
  return protocol.unique_inputs(examples, pad_to=pad)


class _GrowthCheckpoint:
  """Orbax checkpoint of one partly grown ensemble (latest chunk only)."""

  def __init__(self, directory: str, meta: dict):
    import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
    self._ocp = ocp
    self.directory = os.path.abspath(directory)
    self.meta = meta
    options = ocp.CheckpointManagerOptions(max_to_keep=1, create=True,
                                           enable_async_checkpointing=False)
    self.manager = ocp.CheckpointManager(self.directory, options=options)

  def load(self) -> protocol.GrowthState | None:
    step = self.manager.latest_step()
    if step is None:
      return None
    try:
      data = self.manager.restore(step,
                                  args=self._ocp.args.StandardRestore())
    except Exception as err:  # pylint: disable=broad-except
      raise ExperimentError(f"checkpoint {self.directory} is unreadable "
                            f"({type(err).__name__}); it was left untouched: "
                            f"move it away to recompute this record") from None
    meta = json.loads(bytes(np.asarray(data["meta"])).decode())
    if meta != self.meta:
      raise ExperimentError(f"checkpoint {self.directory} belongs to another "
                            f"config; it was left untouched")
    return protocol.GrowthState(np.asarray(data["sums"], np.float64),
                                int(data["members"]),
                                np.asarray(data["accuracy"], np.float64))

  def save(self, state: protocol.GrowthState) -> None:
    meta = np.frombuffer(json.dumps(self.meta).encode(), np.uint8)
    self.manager.save(state.members, args=self._ocp.args.StandardSave({
        "sums": state.sums, "members": np.int64(state.members),
        "accuracy": state.accuracy, "meta": meta}))
    self.manager.wait_until_finished()

  def close(self):
    self.manager.close()


def run_one(config: Config, regime: str, k: int, seed: int,
            checkpoint_dir: str | None = None, on_progress=None) -> dict:
  """One (regime, k, seed): grow the ensemble and return its record."""
  perm_key, _, member_key = _keys(k, seed, regime)
  perm = permjax.random_permutation(perm_key, k)
  train = permjax.training_set(perm)
  test = build_test_set(config, k, seed, perm)
  start = time.perf_counter()
  if regime == "gp":
    spec = permjax.MLPSpec(width=1)
    try:
      source = protocol.gp_member_source(
          spec, config.gp_regime, train, test.x, member_key,
          sampler=config.gp_sampler, max_dense=config.max_gp_inputs)
    except ValueError as err:
      raise ExperimentError(f"(regime=gp, k={k}, seed={seed}): {err}") from None
    trainer, dtype = f"gp-posterior ({config.gp_regime} kernel)", "float64"
  else:
    spec = config.spec(regime)
    source = protocol.network_member_source(spec, train, test.x, member_key,
                                            config.train_config())
    trainer = config.trainer + (f"/{config.solver}"
                                if config.trainer == "linearized" else "")
    dtype = "float32"
  ckpt = None
  state = None
  if checkpoint_dir is not None:
    meta = {"regime": regime, "k": k, "seed": seed,
            "config": _config_record(config)}
    ckpt = _GrowthCheckpoint(checkpoint_dir, meta)
    state = ckpt.load()
  try:
    curve = protocol.grow(
        source, test, stop_accuracy=config.stop_accuracy(k),
        max_members=config.max_members, chunk=config.chunk,
        threshold=config.round_threshold, state=state,
        on_chunk=None if ckpt is None else ckpt.save, on_progress=on_progress)
  except permjax.TrainingDivergedError as err:
    raise ExperimentError(f"(regime={regime}, k={k}, seed={seed}): {err}") from None
  finally:
    if ckpt is not None:
      ckpt.close()
  return {
      "regime": regime, "k": k, "seed": seed,
      "trainer": trainer, "dtype": dtype,
      "gp_sampler": source.sampler if regime == "gp" else None,
      "parameterization": None if regime == "gp" else spec.parameterization,
      "width": None if regime == "gp" else spec.width,
      "test_set": config.test_set, "nnz": config.nnz,
      "n_test_inputs": int(test.weight.sum()),
      "n_distinct_inputs": int((test.weight > 0).sum()),
      "stop_accuracy": config.stop_accuracy(k),
      "reached": bool(curve.reached),
      "members": int(len(curve.accuracy)),
      "n_at": {str(t): n for t, n in curve.n_at.items()},
      "curve": [round(float(a), 6) for a in curve.accuracy],
      "seconds": round(time.perf_counter() - start, 3),
      "permjax_version": permjax.__version__,
      "jax_version": environment()["jax_version"],
      "config_name": config.name,
  }


def run(config: Config, workdir: str, *, overwrite: bool = False,
        progress: bool = True) -> dict:
  """Runs (or resumes) the experiment and writes its files into ``workdir``.

  Returns:
    a dict of output paths.
  """
  prepare_workdir(workdir, config, overwrite=overwrite)
  results_path = os.path.join(workdir, "results.jsonl")
  done = {(r["regime"], r["k"], r["seed"])
          for r in _read_records(results_path)}
  todo = [t for t in config.tasks() if t not in done]
  bar = None
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    bar = tqdm(total=len(config.tasks()), initial=len(config.tasks())
               - len(todo), unit="run", file=sys.stderr)
  try:
    for regime, k, seed in todo:
      ckpt_dir = os.path.join(workdir, "checkpoints", f"{regime}-k{k}-s{seed}")
      if bar is not None:
        bar.set_description(f"{regime} k={k} seed={seed}")

      def show(members, acc, bar=bar):
        if bar is not None:
          bar.set_postfix(members=members, accuracy=f"{acc:.4f}")
      record = run_one(config, regime, k, seed, ckpt_dir, on_progress=show)
      _append_record(results_path, record)
      shutil.rmtree(ckpt_dir, ignore_errors=True)
      if bar is not None:
        bar.update(1)
  finally:
    if bar is not None:
      bar.close()
  records = _read_records(results_path)
  paths = {"config": os.path.join(workdir, "config.json"),
           "results": results_path,
           "summary": os.path.join(workdir, "summary.csv"),
           "analytic": os.path.join(workdir, "analytic.csv"),
           "figure_left": os.path.join(workdir, "figure1_left.png"),
           "figure_right": os.path.join(workdir, "figure1_right.png")}
  write_csv(paths["summary"], summarize(records, config))
  write_csv(paths["analytic"], analytic_table(config))
  plot_left(paths["figure_left"], records, config)
  plot_right(paths["figure_right"], records, config)
  return paths


# --- tables -----------------------------------------------------------------

def paper_points() -> dict:
  """The paper's published single-seed results (shipped data file).

  Returns:
    ``{"n90": {k: N}, "curves": {k: (N array, accuracy array)}}`` from
    experiments 1 (stop at 90%) and 2 (stop at 99.9%) of the authors' code.
  """
  rows = []
  with open(os.path.join(DATA_DIR, "paper_results.csv")) as f:
    rows = list(csv.DictReader(f))
  n90, curves = {}, {}
  for exp_id in ("1", "2"):
    for k in sorted({int(r["k"]) for r in rows if r["experiment"] == exp_id}):
      sel = [r for r in rows if r["experiment"] == exp_id and int(r["k"]) == k]
      ns = np.array([int(r["num_models"]) for r in sel])
      acc = np.array([float(r["exact_match_acc"]) for r in sel])
      if exp_id == "1":
        hit = np.flatnonzero(acc >= 0.9)
        if hit.size:
          n90[k] = int(ns[hit[0]])
      else:
        curves[k] = (ns, acc)
  return {"n90": n90, "curves": curves}


def analytic_table(config: Config) -> list[dict]:
  """Exact-Gaussian ensemble sizes of both analytic regimes (one input)."""
  ks = np.asarray(sorted(set(config.k_values) | set(config.k_curves)))
  rows = []
  for regime in ("ntk", "nngp"):
    for target in (1 - config.delta, 1 - config.delta_curves):
      sizes = permjax.ensemble_size(ks, n=config.nnz, target=target,
                                    regime=regime)
      for k, n in zip(ks.tolist(), np.atleast_1d(sizes).tolist()):
        rows.append({"regime": regime, "k": k, "target": target, "N": n,
                     "scope": "input", "nnz": config.nnz, "float": "float64"})
  return rows


def summarize(records: list[dict], config: Config) -> list[dict]:
  """One row per (regime, k): N at each accuracy, mean/std/min/max over seeds."""
  paper = paper_points()["n90"]
  rows = []
  analytic = {}
  for regime in ("ntk", "nngp"):
    ks = sorted({r["k"] for r in records})
    if ks:
      sizes = permjax.ensemble_size(np.asarray(ks), n=config.nnz,
                                    target=1 - config.delta, regime=regime)
      analytic[regime] = dict(zip(ks, np.atleast_1d(sizes).tolist()))
  for regime in REGIMES:
    for k in sorted({r["k"] for r in records if r["regime"] == regime}):
      sel = [r for r in records if r["regime"] == regime and r["k"] == k]
      row = {"regime": regime, "k": k, "seeds": len(sel),
             "trainer": sel[0]["trainer"], "width": sel[0]["width"],
             "test_set": sel[0]["test_set"]}
      for t in protocol.THRESHOLDS:
        vals = [r["n_at"].get(str(t)) for r in sel]
        got = [v for v in vals if v is not None]
        tag = f"N{100 * t:g}"
        row[f"{tag}_mean"] = round(float(np.mean(got)), 2) if got else ""
        row[f"{tag}_std"] = round(float(np.std(got)), 2) if len(got) > 1 else ""
        row[f"{tag}_min"] = min(got) if got else ""
        row[f"{tag}_max"] = max(got) if got else ""
        row[f"{tag}_seeds_reached"] = len(got)
      row["analytic_ntk_N90"] = analytic.get("ntk", {}).get(k, "")
      row["analytic_nngp_N90"] = analytic.get("nngp", {}).get(k, "")
      row["paper_N90"] = paper.get(k, "")
      rows.append(row)
  return rows


def write_csv(path: str, rows: list[dict]) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w", newline="") as f:
    if rows:
      fields = list(dict.fromkeys(k for r in rows for k in r))
      writer = csv.DictWriter(f, fieldnames=fields)
      writer.writeheader()
      writer.writerows(rows)
  os.replace(tmp, path)


# --- figures ----------------------------------------------------------------

_COLORS = {"gp": "C0", "ntk": "C2", "standard": "C3"}
_LABELS = {"gp": "gp (infinite width)", "ntk": "ntk (finite, NTK param.)",
           "standard": "standard (finite, paper's recipe)"}


def _plt():
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  return plt


def plot_left(path: str, records: list[dict], config: Config) -> None:
  """Members for 90% accuracy vs k: runs (mean, min-max over seeds),
  exact-Gaussian analytic curves, the reverse-engineered bound, the paper."""
  plt = _plt()
  target = str(1 - config.delta)
  fig, ax = plt.subplots(figsize=(8, 5))
  for regime in REGIMES:
    ks = sorted({r["k"] for r in records if r["regime"] == regime})
    if not ks:
      continue
    means, lo, hi, kept = [], [], [], []
    for k in ks:
      vals = [r["n_at"].get(target) for r in records
              if r["regime"] == regime and r["k"] == k]
      vals = [v for v in vals if v is not None]
      if vals:
        kept.append(k)
        means.append(np.mean(vals))
        lo.append(min(vals))
        hi.append(max(vals))
    if not kept:
      continue
    trainer = next(r["trainer"] for r in records if r["regime"] == regime)
    width = next(r["width"] for r in records if r["regime"] == regime)
    label = _LABELS[regime] + (f", m={width}, {trainer}" if width else "")
    ax.plot(kept, means, "o-", color=_COLORS[regime], ms=3, label=label)
    ax.fill_between(kept, lo, hi, color=_COLORS[regime], alpha=0.2)
  ks = np.arange(max(2, min(config.k_values + config.k_curves)),
                 max(config.k_values + config.k_curves) + 1)
  for regime, style in (("ntk", "--"), ("nngp", ":")):
    sizes = permjax.ensemble_size(ks, n=config.nnz, target=1 - config.delta,
                                  regime=regime)
    ax.plot(ks, sizes, style, color="k", lw=1,
            label=f"exact Gaussian, {regime} GP (analytic)")
  bound_ks = ks[ks >= 3]
  ax.plot(bound_ks, permjax.paper_figure_bound(bound_ks), "-", color="grey",
          lw=1, label="paper's bound curve (reverse-engineered, δ=1e-4)")
  paper = paper_points()["n90"]
  if paper:
    pk = sorted(paper)
    ax.plot(pk, [paper[k] for k in pk], "kx", ms=6,
            label="paper, published (1 seed, m=50 000, standard)")
  ax.set_yscale("log")
  ax.set_xlabel("k")
  ax.set_ylabel(f"members for {100 * (1 - config.delta):g}% exact-match "
                f"accuracy")
  ax.set_title(f"Figure 1 (left), {config.name} preset: mean over "
               f"{config.seeds} seeds, band = min-max")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=130)
  plt.close(fig)


def plot_right(path: str, records: list[dict], config: Config) -> None:
  """Accuracy vs ensemble size for the right panel's k, one axis per regime."""
  plt = _plt()
  regimes = [r for r in REGIMES if any(x["regime"] == r for x in records)]
  fig, axes = plt.subplots(1, max(1, len(regimes)),
                           figsize=(5 * max(1, len(regimes)), 4), sharey=True,
                           squeeze=False)
  cmap = plt.get_cmap("viridis")
  curves_k = sorted(config.k_curves)
  paper = paper_points()["curves"]
  for ax, regime in zip(axes[0], regimes):
    for i, k in enumerate(curves_k):
      color = cmap(i / max(1, len(curves_k) - 1))
      sel = [r for r in records if r["regime"] == regime and r["k"] == k]
      for j, r in enumerate(sel):
        ax.plot(np.arange(1, len(r["curve"]) + 1), r["curve"], color=color,
                lw=0.8, alpha=0.7, label=f"k={k}" if j == 0 else None)
      if regime == "standard" and k in paper:
        ns, acc = paper[k]
        ax.plot(ns, acc, "--", color=color, lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("ensemble size N")
    ax.set_title(_LABELS[regime] + (" (dashed: paper)" if regime == "standard"
                                    else ""), fontsize=9)
    ax.axhline(1 - config.delta_curves, color="grey", lw=0.5)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
      ax.legend(fontsize=7)
  axes[0][0].set_ylabel("exact-match accuracy")
  fig.suptitle(f"Figure 1 (right), {config.name} preset, "
               f"{config.seeds} seeds per k")
  fig.tight_layout()
  fig.savefig(path, dpi=130)
  plt.close(fig)


# --- scaling ----------------------------------------------------------------

def _fit(ks, ns, model):
  ks = np.asarray(ks, np.float64)
  ns = np.asarray(ns, np.float64)
  basis = ks * np.log(ks) if model == "klogk" else ks**2
  c = float(basis @ ns / (basis @ basis))
  pred = c * basis
  r2 = 1 - np.sum((ns - pred) ** 2) / np.sum((ns - ns.mean()) ** 2)
  return c, float(r2)


def scaling(workdir: str, k_min: int = 5) -> list[dict]:
  """Fits measured N(k) per (regime, test set) to c·k·log k and c·k².

  For random / n-ones test sets N is the first ensemble size reaching
  ``1 - delta`` (a single-input proxy); for
  ``test_set='all'`` it is the first N with every input exact. Reports the
  log-log exponent with its R², both one-parameter fits with R², and the
  analytic ``ensemble_size`` exponent (scope input, and the grouped
  all-inputs bound) over the same k. Only ``k >= k_min`` enter the fits: at
  smaller k the test set has so few distinct inputs that the first passage
  says little about growth.
  """
  with open(os.path.join(workdir, "config.json")) as f:
    cfg = json.load(f)["config"]
  records = _read_records(os.path.join(workdir, "results.jsonl"))
  out = []
  for regime in REGIMES:
    sel = [r for r in records if r["regime"] == regime and r["reached"]]
    if not sel:
      continue
    test_set = sel[0]["test_set"]
    key = "1.0" if test_set == "all" else str(1 - cfg["delta"])
    by_k = {}
    for r in sel:
      n = r["members"] if test_set == "all" else r["n_at"].get(key)
      if n is not None:
        by_k.setdefault(r["k"], []).append(n)
    ks = np.array(sorted(k for k in by_k if k >= k_min))
    if len(ks) < 3:
      continue
    ns = np.array([np.mean(by_k[k]) for k in ks])
    slope, icpt = np.polyfit(np.log(ks), np.log(ns), 1)
    pred = slope * np.log(ks) + icpt
    r2_log = 1 - np.sum((np.log(ns) - pred) ** 2) / np.sum(
        (np.log(ns) - np.log(ns).mean()) ** 2)
    c1, r2_1 = _fit(ks, ns, "klogk")
    c2, r2_2 = _fit(ks, ns, "k2")
    analytic_regime = "ntk" if regime != "standard" else "nngp"
    scope = "all" if test_set == "all" else "input"
    target = 0.9 if test_set != "all" else 1 - cfg["delta"]
    ana = permjax.ensemble_size(ks, n=None if scope == "all" else cfg["nnz"],
                                target=target, regime=analytic_regime,
                                scope=scope)
    ana_slope = np.polyfit(np.log(ks), np.log(ana), 1)[0]
    out.append({
        "regime": regime, "test_set": test_set, "k_min": int(ks.min()),
        "k_max": int(ks.max()), "points": len(ks),
        "exponent": round(float(slope), 3), "exponent_r2": round(float(r2_log), 4),
        "c_klogk": round(c1, 3), "r2_klogk": round(r2_1, 4),
        "c_k2": round(c2, 3), "r2_k2": round(r2_2, 4),
        "analytic_regime": analytic_regime, "analytic_scope": scope,
        "analytic_exponent": round(float(ana_slope), 3),
    })
  write_csv(os.path.join(workdir, "scaling.csv"), out)
  return out


# --- command line -----------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  if argv and argv[0] == "scaling":
    import argparse  # pylint: disable=import-outside-toplevel
    parser = argparse.ArgumentParser(description="fit N(k) growth laws")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--k_min", type=int, default=5,
                        help="smallest k entering the fits")
    args = parser.parse_args(argv[1:])
    if not os.path.exists(os.path.join(args.workdir, "results.jsonl")):
      print(f"error: {args.workdir} holds no results.jsonl", file=sys.stderr)
      return 2
    rows = scaling(args.workdir, args.k_min)
    for row in rows:
      print(json.dumps(row))
    print(f"scaling: {os.path.abspath(os.path.join(args.workdir, 'scaling.csv'))}")
    return 0
  config, args = config_lib.parse(argv, Config, PRESETS,
                                  __doc__.split("\n")[0])
  use_all_cpu_cores()
  workdir = args.workdir or os.path.join("runs", "ntk_permutation", config.name)
  start = time.perf_counter()
  try:
    paths = run(config, workdir, overwrite=args.overwrite)
  except (ValueError, ExperimentError) as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  for name, path in paths.items():
    print(f"{name}: {os.path.abspath(path)}")
  print(f"wall time: {time.perf_counter() - start:.1f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())
