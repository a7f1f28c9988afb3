"""Figure 1's configuration and its presets (``smoke``, ``default``, ``paper``).

Every field is a ``--flag`` of ``python -m permjax.experiments.figure1``
(and of its alias ``permjax.experiments.ntk_permutation``); the nested
:class:`permjax.TrainConfig` contributes its own fields (``--trainer``,
``--lr``, ``--max_steps``, ...).
"""

from __future__ import annotations

import dataclasses

import permjax
from permjax.experiments import config as config_lib
from permjax.experiments import units as units_lib
from permjax.experiments.units import REGIMES

TEST_SETS = ("random", "n_ones", "all")
ENUMERATION_LIMIT_K = 20

#: How the finite regimes train by default: the linearized network's exact
#: infinite-time solution, by preconditioned CG, on the paper's mean-MSE.
DEFAULT_TRAIN = permjax.TrainConfig(trainer="linearized", loss="mean",
                                    lr="auto", max_steps=10_000, tol=1e-9,
                                    solver="cg", cg_tol=1e-5)


@dataclasses.dataclass(frozen=True)
class Config:
  """Experiment configuration (every field is a ``--flag``).

  Attributes:
    name: preset name (recorded).
    regimes: member sources, a subset of ``("gp", "ntk", "standard")``.
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
    train: how each finite member is trained (:class:`permjax.TrainConfig`;
      its fields are flags too). ``lr="auto"`` is half the largest stable
      step, which scales as 1/width in standard parameterization.
    ntk_lr: the GD step of the ``ntk`` regime when it should differ from
      ``train.lr`` (an NTK-parameterization net needs a step O(k) larger
      than a standard one); None: ``train.lr``.
    gp_kernel: kernel of the ``gp`` regime: ``ntk`` or ``nngp``
      (``--gp_regime`` is an old name of this flag).
    readout: how the ensemble average becomes bits
      (docs/theory/readout.md): ``zero``
      (the paper's rule), ``fixed:<τ>``, ``midpoint``, ``optimal`` (per-n,
      from the kernel each regime follows: ``gp_kernel`` for gp, NTK for
      ntk, NNGP for standard) or ``self_calibrated`` (per-n, from the
      ensemble's own outputs). Records made before this field existed used
      ``round_threshold`` (0.0001 by default), i.e. ``fixed:0.0001``.
    gp_sampler: how the ``gp`` regime draws members: ``dense``
      (eigendecomposition of the test-test covariance), ``symmetric`` (exact
      S_k-symmetric sampler, ``O(k² 2^k)`` per draw, for binary test inputs)
      or ``auto`` (dense up to 4096 test inputs).
    max_gp_inputs: largest test set the dense sampler takes.
    seed_offset: first seed.
  """
  FLAG_ALIASES = {"gp_regime": "gp_kernel"}

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
  train: permjax.TrainConfig = DEFAULT_TRAIN
  ntk_lr: float | str | None = None
  gp_kernel: str = "ntk"
  readout: str = "zero"
  gp_sampler: str = "auto"
  max_gp_inputs: int = 1 << 14
  seed_offset: int = 0

  def __post_init__(self):
    units_lib.check_regimes(self.regimes)
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
    if self.gp_kernel not in ("ntk", "nngp"):
      raise ValueError(f"gp_kernel must be 'ntk' or 'nngp', got "
                       f"{self.gp_kernel!r}")
    permjax.readout.from_name(self.readout)  # validates the name
    if self.gp_sampler not in permjax.GP_SAMPLERS:
      raise ValueError(f"gp_sampler must be one of "
                       f"{list(permjax.GP_SAMPLERS)}, got {self.gp_sampler!r}")
    for name in ("seeds", "num_test", "max_members", "chunk", "width"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    if self.seed_offset < 0:
      raise ValueError(f"seed_offset must be >= 0, got {self.seed_offset}")
    if self.ntk_lr is not None:
      self.train.replace(lr=self.ntk_lr)  # validates it

  def unused_fields(self) -> dict:
    """Fields this config ignores, with the reason."""
    out = {}
    if self.test_set == "all":
      out.update(nnz="test_set=all runs every input",
                 num_test="test_set=all runs every input")
    elif self.test_set == "n_ones":
      out["num_test"] = "test_set=n_ones runs every input with nnz ones"
    if set(self.regimes) == {"gp"}:
      out.update({f: "the gp regime trains no network"
                  for f in ("width", "ntk_lr", *config_lib.field_types(
                      permjax.TrainConfig))})
    else:
      out.update(self.train.unused_fields())
      if "ntk" not in self.regimes:
        out["ntk_lr"] = "no ntk regime is run"
    if "gp" not in self.regimes:
      out.update(gp_kernel="no gp regime is run",
                 gp_sampler="no gp regime is run",
                 max_gp_inputs="no gp regime is run")
    return out

  def train_config(self, regime: str) -> permjax.TrainConfig:
    """How the members of a finite regime are trained."""
    if regime == "ntk" and self.ntk_lr is not None:
      return self.train.replace(lr=self.ntk_lr)
    return self.train

  def accuracy_targets(self) -> tuple[float, ...]:
    """Accuracies whose first N each record reports: the defaults and both
    stopping accuracies ``1 - delta``, ``1 - delta_curves``."""
    return tuple(sorted(set(permjax.ACCURACY_TARGETS)
                        | {1 - self.delta, 1 - self.delta_curves}))

  def kernel(self, regime: str) -> str:
    """The GP kernel a regime's members follow."""
    return units_lib.kernel_of(regime, self.gp_kernel)

  def readout_rule(self, regime: str) -> permjax.Readout:
    """The readout of a regime (per-n rules use the regime's kernel)."""
    return permjax.readout.from_name(self.readout, self.kernel(regime))

  def spec(self, regime: str) -> permjax.MLPSpec:
    """The finite networks of a regime (the paper's recipe for standard)."""
    return units_lib.spec_of(regime, self.width)

  def units(self) -> list[tuple[str, int, int]]:
    """(regime, k, seed) in run order: regimes, then k ascending, then seeds."""
    ks = sorted(dict.fromkeys(list(self.k_curves) + list(self.k_values)))
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
  """The paper's networks: width 50 000, GD for up to 10 000 steps, 1 seed.

  Sized for a GPU (on one H100, standard regime at k = 5, 10, 20: 75 s).
  The ``standard`` regime uses the paper's step, lr 1e-3; the ``ntk``
  regime needs a step O(k) larger (lr 1e-3 would leave 98% of its residual
  after 10 000 steps), so it uses ``ntk_lr="auto"``, half its largest stable
  step. At k = 2 and 3, lr 1e-3 is above the largest stable step of a
  width-50 000 standard net (2.4e-4 and 6.6e-4), so the step is capped at
  0.9 of it there (``max_lr_fraction``). Both stop once the mean-MSE
  training loss is below 1e-9.
  """
  return Config(name="paper", seeds=1, width=50_000, chunk=16,
                train=DEFAULT_TRAIN.replace(trainer="gd", lr=1e-3,
                                            max_lr_fraction=0.9,
                                            max_steps=10_000, tol=1e-9),
                ntk_lr="auto")


PRESETS = {"smoke": smoke, "default": default, "paper": paper}


def get_config(name: str = "default", **overrides) -> Config:
  """A preset, with any field overridden (nested fields by their own name).

  Example:
    >>> get_config("smoke", seeds=3).seeds
    3
    >>> get_config("smoke", trainer="gd").train.trainer
    'gd'
  """
  return config_lib.resolve(PRESETS, name, overrides)


def config_from_record(record: dict) -> Config:
  """The :class:`Config` of a ``config.json`` record (also older layouts).

  Records from before the readout rules carry ``round_threshold`` (bits =
  average > it): it becomes ``readout="fixed:<round_threshold>"``.
  """
  record = dict(record)
  if "round_threshold" in record:
    tau = record.pop("round_threshold")
    record.setdefault("readout", f"fixed:{tau!r}")
  return config_lib.from_record(Config, record)
