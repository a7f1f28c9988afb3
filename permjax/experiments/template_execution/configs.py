"""The ensemble experiment's configuration and its presets (``smoke``,
``default``, ``paper``, ``widths``, ``sbn``).

Every field is a ``--flag`` of ``python -m permjax.experiments.
template_execution ensembles``; the nested :class:`permjax.TrainConfig`
contributes its own (``--trainer``, ``--lr``, ...). Programs are named by
their registry family and sizes, ``family=bits`` with ``a:b`` ranges and
``/`` between values: ``--programs addition=2:8,multiplication=1/2/4``.
"""

from __future__ import annotations

import dataclasses

import permjax
from permjax.experiments import config as config_lib
from permjax.experiments import units as units_lib
from permjax.experiments.units import REGIMES

#: How finite members are trained by default: full-batch GD on the mean MSE
#: at half the largest stable step, float32, to a training loss of 1e-7.
DEFAULT_TRAIN = permjax.TrainConfig(trainer="gd", loss="mean", lr="auto",
                                    max_steps=20_000, tol=1e-7)


def parse_programs(specs, sampled: bool = False) -> dict:
  """``("addition=2:4", "multiplication=1/3")`` -> ``{"addition": (2, 3,
  4), "multiplication": (1, 3)}``, checked against the registry.

  Example:
    >>> parse_programs(("addition=2:4/8",))
    {'addition': (2, 3, 4, 8)}
  """
  out = {}
  for spec in specs:
    name, sep, sizes = str(spec).partition("=")
    if not sep or not sizes:
      raise ValueError(f"a program is family=bits (e.g. addition=2:8), got "
                       f"{spec!r}")
    family = permjax.program_family(name)
    if name in out:
      raise ValueError(f"program family {name!r} is listed twice; give all "
                       f"its sizes once (e.g. {name}=2:4/8)")
    try:
      bits = config_lib.parse_int_list(sizes.replace("/", ","))
    except ValueError:
      raise ValueError(f"{spec!r}: sizes must be integers, ranges a:b, "
                       f"joined by /") from None
    low = [b for b in bits if b < family.min_bits]
    if low or not bits:
      raise ValueError(f"{spec!r}: {name} needs bits ({family.bits_meaning})"
                       f" >= {family.min_bits}, got {list(bits)}")
    high = [b for b in bits if b > family.enumerable_bits]
    if high and not sampled:
      raise ValueError(f"{spec!r}: bits {high} are above {name}'s largest "
                       f"size whose every operand pair the experiment runs "
                       f"({family.enumerable_bits})")
    out[name] = bits
  return out


@dataclasses.dataclass(frozen=True)
class Config:
  """Configuration of the ensemble experiment (every field is a ``--flag``).

  Attributes:
    name: preset name (recorded).
    programs: ``family=bits`` per program family (registry names,
      :func:`permjax.program_families`); ``a:b`` ranges, ``/`` between
      sizes.
    regimes: where members come from, a subset of ``("gp", "ntk",
      "standard")``.
    rules: readout rules read side by side (:func:`permjax.readout.from_name`):
      ``zero`` (the authors' 1e-10), ``zero_fixed`` (that, structural zeros
      hard-wired to 0), ``margin`` (half the smallest 1-bit mean of the
      regime's kernel mean), ``midpoint``, ``optimal``, ``fixed:<τ>``.
    gp_kernel: the kernel of the ``gp`` regime (``ntk`` or ``nngp``).
    widths: hidden widths of the finite regimes.
    seeds: growths per (program, bits, regime, width).
    max_members: finite regimes stop here.
    gp_max_members: the gp regime stops here.
    chunk: members per source call (and per checkpoint).
    gp_max_states: the gp regime draws jointly over at most this many
      encodings; a program with more runs the largest power-of-two number of
      pairs (a fixed random subset) whose encodings fit, and says so.
    train: how finite members are trained (its fields are flags too).
    seed_offset: first seed.
    pairs: 0 runs every operand pair; n > 0 runs n random pairs (drawn
      once per program from a fixed seed, any operand width) plus the edge
      cases (zero, all ones, the longest carry chains), for sizes beyond
      enumeration; the margin rule then takes its threshold from the
      certificate grid (:func:`permjax.margin_readout`).
    stop_when_exact: stop a growth at the first N where every rule executes
      every pair (False: grow to ``max_members``, so the accuracy of an
      ensemble of the bound's size is seen).
  """
  FLAG_ALIASES = {"sources": "regimes"}

  name: str = "default"
  programs: tuple[str, ...] = ("addition=2:8", "multiplication=1:4")
  regimes: tuple[str, ...] = REGIMES
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
  pairs: int = 0
  stop_when_exact: bool = True

  def __post_init__(self):
    if not self.programs:
      raise ValueError("programs is empty; give family=bits, e.g. "
                       "addition=2:8")
    if self.pairs < 0:
      raise ValueError(f"pairs must be 0 (every pair) or a number of random "
                       f"pairs >= 1, got {self.pairs}")
    parse_programs(self.programs, sampled=self.pairs > 0)
    units_lib.check_regimes(self.regimes)
    if not self.rules:
      raise ValueError("rules is empty")
    probe = permjax.program("addition", 2)
    for rule in self.rules:  # validates the names
      permjax.readout.from_name(rule, "ntk", program=probe)
    if self.gp_kernel not in ("ntk", "nngp"):
      raise ValueError(f"gp_kernel must be 'ntk' or 'nngp', got "
                       f"{self.gp_kernel!r}")
    for name in ("seeds", "max_members", "gp_max_members", "chunk",
                 "gp_max_states"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    if self.seed_offset < 0:
      raise ValueError(f"seed_offset must be >= 0, got {self.seed_offset}")
    if not self.widths or min(self.widths) < 1:
      raise ValueError(f"widths must list integers >= 1, got "
                       f"{list(self.widths)}")

  def unused_fields(self) -> dict:
    """Fields this config ignores, with the reason."""
    out = {}
    if set(self.regimes) == {"gp"}:
      out.update({f: "the gp regime trains no network" for f in (
          "widths", "max_members", *config_lib.field_types(
              permjax.TrainConfig))})
    else:
      out.update(self.train.unused_fields())
    if "gp" not in self.regimes:
      out.update({f: "no gp regime is run" for f in (
          "gp_kernel", "gp_max_members", "gp_max_states")})
    return out

  @classmethod
  def upgrade_record(cls, record: dict) -> dict:
    """A config record of the layout before the program registry
    (``tasks`` plus one ``<task>_m`` field each) in today's layout."""
    record = dict(record)
    if "tasks" not in record and not any(k.endswith("_m") for k in record):
      return record
    legacy = {"addition": (2, 3, 4, 5, 6, 7, 8), "multiplication": (1, 2, 3, 4),
              "sbn_instruction": (3,), "sbn_loop": (4,), "sbn_idioms": (3,)}
    tasks = record.pop("tasks", ("addition", "multiplication"))
    sizes = {t: tuple(record.pop(f"{t}_m", legacy[t])) for t in legacy}
    record["programs"] = [f"{t}={'/'.join(map(str, sizes[t]))}"
                          for t in tasks]
    return record

  def program_sizes(self) -> dict:
    """``{family: (bits, ...)}``."""
    return parse_programs(self.programs, sampled=self.pairs > 0)

  def kernel(self, regime: str) -> str:
    """The GP a regime's members follow."""
    return units_lib.kernel_of(regime, self.gp_kernel)

  def spec(self, regime: str, width: int) -> permjax.MLPSpec:
    return units_lib.spec_of(regime, width)

  def units(self) -> list[tuple[str, int, str, int, int]]:
    """(program, bits, regime, width, seed) in run order; gp has width 0."""
    seeds = range(self.seed_offset, self.seed_offset + self.seeds)
    out = []
    for family, sizes in self.program_sizes().items():
      for bits in sizes:
        for regime in self.regimes:
          for width in ((0,) if regime == "gp" else self.widths):
            out.extend((family, bits, regime, width, s) for s in seeds)
    return out


def smoke() -> Config:
  """Seconds: addition m = 2, 3 and multiplication m = 1, width 256."""
  return Config(name="smoke", programs=("addition=2:3", "multiplication=1"),
                widths=(256,), max_members=64, gp_max_members=1024, chunk=32)


def default() -> Config:
  """Addition m = 2..8, multiplication m = 1..4, three regimes, width 1024,
  8 seeds each grown to a common size (64 finite members, 4 096 GP draws
  over at most 2 048 encodings) without stopping at the first all-exact N."""
  return Config(name="default", seeds=8, stop_when_exact=False,
                gp_max_states=2048)


def paper() -> Config:
  """Every pair for the gp regime up to 20 000 encodings, 3 seeds, width
  4096, finite members to 4096 (GPU-sized)."""
  return Config(name="paper", widths=(4096,), seeds=3, max_members=4096,
                gp_max_members=8192, gp_max_states=20_000)


def widths() -> Config:
  """Width against members: addition m = 4, multiplication m = 2, both
  parameterizations, widths 64, 256, 1024, 4096 (and the gp reference); 8
  seeds each grown to 32 members (the margin and midpoint rules need ≤ 8)."""
  return Config(name="widths", programs=("addition=4", "multiplication=2"),
                widths=(64, 256, 1024, 4096), seeds=8,
                max_members=32, chunk=32, gp_max_members=4096,
                stop_when_exact=False)


def sbn_preset() -> Config:
  """The SBN programs: one instruction on every memory of 4 words of 3 bits,
  the multiplication loop (w = 4, every input) and the add/copy idioms
  (w = 3, every input); three regimes, width 1024; 8 seeds grown to a
  common size as in :func:`default`."""
  return Config(name="sbn", programs=("sbn_instruction=3", "sbn_loop=4",
                                      "sbn_idioms=3"), seeds=8,
                stop_when_exact=False, gp_max_states=2048)


def scale() -> Config:
  """64-bit addition on 10 000 random pairs plus edge cases, both
  parameterizations, width 1024, grown without stopping early to 240
  members — the certificate grid's bound for every pair at 64 bits under
  the margin and midpoint rules (NTK; 172 for NNGP) — with members trained
  to t = ∞ by the linearized trainer (conjugate gradients, matrix-free: GD
  on the k = 256 basis vectors does not reach 1e-7 within 20 000 steps).
  About 5 s per member on 2 CPU cores; 4 members per call (a call holds
  every member's hidden layer on all 126 000 encodings)."""
  return Config(name="scale", programs=("addition=64",),
                regimes=("ntk", "standard"), pairs=10_000, max_members=240,
                stop_when_exact=False, chunk=4,
                train=permjax.TrainConfig(trainer="linearized", solver="cg"))


def scale_mult() -> Config:
  """8-bit multiplication on 10 000 random pairs plus edge cases (1.45 M
  encodings), GP draws over the pairs whose encodings fit 4 096 (one joint
  draw) and finite networks of both parameterizations, width 1024, grown
  without stopping early to 40 members — past the certificate grid's
  bounds under the margin rule (32 NTK, 24 NNGP), short of the midpoint
  rule's (52, 42). Members are trained once and applied to blocks of pairs
  (:func:`run.pair_blocks`); linearized trainer as in :func:`scale`.
  12 and 16 bits: ``--programs multiplication=12/16 --pairs 300
  --regimes gp,ntk``."""
  return Config(name="scale_mult", programs=("multiplication=8",),
                pairs=10_000, max_members=40, gp_max_members=256,
                gp_max_states=4096, stop_when_exact=False, chunk=4,
                train=permjax.TrainConfig(trainer="linearized", solver="cg"))


def sbn_library() -> Config:
  """The SBN library programs on the decoded construction, 8-bit words, up
  to 1 024 inputs each (every valid input where there are fewer: fibonacci
  12, multiply 892): GP draws over the inputs whose encodings fit 4 096, and
  finite networks of both parameterizations, width 1024, linearized trainer,
  8 seeds grown without stopping early to 56 members — past the certificate
  grid's margin-rule bound of every program (12–53), short of most
  midpoint-rule bounds (18–179). GPU-sized: a member applied to sum4's
  282 624 distinct encodings takes about 30 s on 2 CPU cores, gcd visits
  about 17 times as many; on CPU run one program and seed at a time
  (``--programs sbn_sum4=8 --seeds 1``)."""
  return Config(name="sbn_library", programs=tuple(
      f"sbn_{p}=8" for p in ("sum4", "max4", "sort4", "divmod", "gcd",
                             "multiply", "fibonacci")),
                rules=("margin", "midpoint"), seeds=8, max_members=56,
                gp_max_members=256, gp_max_states=4096,
                stop_when_exact=False, chunk=4,
                train=permjax.TrainConfig(trainer="linearized", solver="cg"))


PRESETS = {"smoke": smoke, "default": default, "paper": paper,
           "widths": widths, "sbn": sbn_preset, "scale": scale,
           "scale_mult": scale_mult, "sbn_library": sbn_library}


def config_from_record(record: dict) -> Config:
  """The :class:`Config` of a ``config.json`` record (also older layouts)."""
  return config_lib.from_record(Config, record)
