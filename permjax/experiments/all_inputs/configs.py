"""The all-inputs experiment's configuration and presets.

Every field is a ``--flag`` of ``python -m permjax.experiments.all_inputs``;
the nested :class:`permjax.TrainConfig` contributes its own.
"""

from __future__ import annotations

import dataclasses

import permjax
from permjax.experiments import config as config_lib
from permjax.experiments import units as units_lib
from permjax.experiments.units import REGIMES

#: Finite members: full-batch GD on the k basis vectors at half the largest
#: stable step, float32, to a mean-MSE training loss of 1e-9 (the evaluator
#: reads real networks, so the linearized trainer is not used).
DEFAULT_TRAIN = permjax.TrainConfig(trainer="gd", loss="mean", lr="auto",
                                    max_steps=20_000, tol=1e-9)


@dataclasses.dataclass(frozen=True)
class Config:
  """Configuration (every field is a ``--flag``).

  Attributes:
    name: preset name (recorded).
    regimes: ``ntk``, ``standard`` (finite networks, read on every input by
      the streaming evaluator) and/or ``gp`` (GP draws, through the growth
      protocol on an explicit test set: k <= ``gp_max_k``).
    k_values: permutation sizes.
    seeds: units per (regime, k).
    width: hidden width of the finite regimes.
    members: members grown per unit (the all-inputs N is the first N <=
      members at which every input is exact).
    rules: readouts read side by side (``midpoint``, ``optimal``,
      ``fixed:<τ>``, ``zero``); per-n rules use the regime's kernel.
    gp_max_k: the gp regime stops here (its test set and running sums hold
      all 2^k − 1 inputs).
    gp_members: members grown by the gp regime.
    chunk: input rows per device per evaluator call.
    train: how finite members are trained.
    seed_offset: first seed.
  """
  name: str = "default"
  regimes: tuple[str, ...] = ("ntk", "standard")
  k_values: tuple[int, ...] = tuple(range(3, 25))
  seeds: int = 3
  width: int = 1024
  members: int = 64
  rules: tuple[str, ...] = ("midpoint", "optimal")
  gp_max_k: int = 20
  gp_members: int = 256
  chunk: int = 2048
  train: permjax.TrainConfig = DEFAULT_TRAIN
  seed_offset: int = 0

  def __post_init__(self):
    units_lib.check_regimes(self.regimes)
    if not self.k_values or min(self.k_values) < 2 or max(self.k_values) > 30:
      raise ValueError(f"k_values must lie in 2..30, got {list(self.k_values)}")
    if "gp" in self.regimes and min(self.k_values) <= self.gp_max_k and (
        self.gp_max_k > 22):
      raise ValueError(f"gp_max_k={self.gp_max_k} is above the S_k-symmetric "
                       f"sampler's limit 22")
    if not self.rules:
      raise ValueError("rules is empty")
    for rule in self.rules:
      readout = permjax.readout.from_name(rule, "ntk")
      if not readout.analytic:
        raise ValueError(f"rule {rule!r} has no analytic thresholds; the "
                         f"evaluator needs them")
    for name in ("seeds", "width", "members", "gp_members", "chunk"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    if self.seed_offset < 0:
      raise ValueError(f"seed_offset must be >= 0, got {self.seed_offset}")

  def unused_fields(self) -> dict:
    """Fields this config ignores, with the reason."""
    out = {}
    finite = [r for r in self.regimes if r != "gp"]
    if not finite:
      out.update({f: "no finite regime is run" for f in (
          "width", "members", "chunk", *config_lib.field_types(
              permjax.TrainConfig))})
    else:
      out.update(self.train.unused_fields())
    if "gp" not in self.regimes:
      out.update(gp_max_k="no gp regime is run",
                 gp_members="no gp regime is run")
    return out

  def kernel(self, regime: str) -> str:
    return units_lib.kernel_of(regime)

  def spec(self, regime: str) -> permjax.MLPSpec:
    return units_lib.spec_of(regime, self.width)

  def readouts(self, regime: str) -> dict:
    """``{rule: Readout}`` of a regime (per-n rules with its kernel)."""
    return {rule: permjax.readout.from_name(rule, self.kernel(regime))
            for rule in self.rules}

  def units(self) -> list[tuple[str, int, int]]:
    """(regime, k, seed) in run order: k ascending, regimes, seeds."""
    seeds = range(self.seed_offset, self.seed_offset + self.seeds)
    return [(r, k, s) for k in sorted(set(self.k_values))
            for r in self.regimes if r != "gp" or k <= self.gp_max_k
            for s in seeds]


def smoke() -> Config:
  """Seconds: k = 3..8, width 64, 2 seeds, both finite regimes and gp."""
  return Config(name="smoke", regimes=("gp", "ntk", "standard"),
                k_values=tuple(range(3, 9)), seeds=2, width=64, members=24,
                gp_members=64, chunk=256)


def default() -> Config:
  """k = 3..24, both parameterizations, 3 seeds, width 1024, midpoint and
  optimal (2 CPU cores: see the experiment README for the time)."""
  return Config(name="default")


def zero() -> Config:
  """The zero rule as finite members need it (fixed:1e-4, above their
  training residual) at k = 4, 8, 12, 16, 20, one seed: hundreds to
  thousands of members."""
  return Config(name="zero", k_values=(4, 8, 12, 16, 20), seeds=1,
                members=3072, rules=("fixed:0.0001",))


def gp() -> Config:
  """GP draws (NTK kernel) on every input, k = 3..20, midpoint and
  optimal."""
  return Config(name="gp", regimes=("gp",), k_values=tuple(range(3, 21)),
                gp_max_k=20, gp_members=128)


PRESETS = {"smoke": smoke, "default": default, "zero": zero, "gp": gp}


def config_from_record(record: dict) -> Config:
  return config_lib.from_record(Config, record)
