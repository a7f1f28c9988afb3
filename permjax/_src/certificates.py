"""Certificates and ensemble sizes for template programs without enumeration.

On a state matching ``n`` templates the exact mean of output bit j is
``μ_j = γ_n c_j + β_n C_j`` (docs/theory/templates.md §3.1): it depends on
the state only through ``n``, on ``c_j`` (matched templates writing j) and
on the column weight ``C_j``. So whether the exact mean, read with a
readout, follows the OR rule on every reachable state is decided on a finite
grid: ``2 ≤ n ≤ n_bound`` (the family's proved bound on the templates a
reachable state matches; ``n = 1`` states are training points, read exactly;
``n = 0`` reads as zeros), every column weight ``C`` the program has, and
``c = 1`` for a 1-bit (the worst: ``γ_n > 0``) or ``c = 0`` for a 0-bit
(docs/theory/certificates.md §1).

The union bound on ensemble size runs over the same grid, with class counts
bounded from above without enumeration: a reachable encoding matching ``n``
templates is one of at most ``min(binom(T, n), P · (S + 1))`` (``P``
operand pairs, ``S`` steps), and each of its columns of weight ``C`` is a
1-bit or a 0-bit (both counted) (docs/theory/certificates.md §2).

What the grid needs of a program is its :class:`ProgramShape`: sizes,
column-weight histogram and ``n_bound``. :func:`program_shape` reads it from
a built :class:`permjax.Program`, or from a family's closed form (addition
and multiplication at any m, without building their templates).
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
from scipy import special

from permjax._src import complexity
from permjax._src import gp as gp_lib
from permjax._src import readout as readout_lib
from permjax._src import templates as tpl


class ProgramShape(NamedTuple):
  """What certificates and the grid bound need of a program.

  Attributes:
    name: the program's name.
    T: templates.
    k: training-set size ``T + pad``.
    D: state bits.
    steps: the step budget.
    n_bound: the most templates a reachable state matches (proved per
      family, docs/theory/certificates.md §3).
    weights: ``((C, columns with weight C), ...)``, ascending in ``C``.
    pairs: the number of inputs (operand pairs) the program runs on, an int
      (Python, unbounded).
  """
  name: str
  T: int
  k: int
  D: int
  steps: int
  n_bound: int
  weights: tuple
  pairs: int

  @property
  def c_max(self) -> int:
    return max(c for c, _ in self.weights)

  def structural_zeros(self) -> int:
    return sum(count for c, count in self.weights if c == 0)


def _histogram(counts: dict) -> tuple:
  return tuple(sorted((int(c), int(v)) for c, v in counts.items() if v))


def shape_of(program: tpl.Program) -> ProgramShape:
  """The :class:`ProgramShape` of a built program (needs its ``n_bound``).

  Example:
    >>> from permjax._src.programs import addition
    >>> shape_of(addition.addition_program(4)).weights
    ((0, 1), (1, 6), (2, 5))
  """
  if not isinstance(program, tpl.Program):
    raise TypeError(f"program must be a permjax.Program, got {program!r}")
  if program.n_bound is None:
    raise ValueError(f"{program.name} has no n_bound (no proved bound on "
                     f"the templates a reachable state matches), so it "
                     f"cannot be certified without enumeration; use "
                     f"permjax.execution_ensemble_size on its reachable "
                     f"states")
  values, counts = np.unique(program.column_weights(), return_counts=True)
  if program.inputs is not None:
    pairs = len(program.inputs()[0])
  else:
    pairs = 1 << (2 * program.operand_bits)
  return ProgramShape(program.name, program.T, program.k, program.D,
                      int(program.steps), int(program.n_bound),
                      _histogram(dict(zip(values, counts))), pairs)


def addition_shape(m: int) -> ProgramShape:
  """Closed form of ``shape_of(addition_program(m))`` (any m, nothing built).

  Columns: ``p_i`` (A1, A2) and the sticky ``c_{m−1}`` (A3, A4) weigh 2;
  ``q_1..q_{m−1}`` (A4 of the bit below) and ``c_0..c_{m−2}`` (A3) weigh 1;
  ``q_0`` weighs 0 (docs/theory/templates.md §2.2).

  Example:
    >>> addition_shape(4).weights
    ((0, 1), (1, 6), (2, 5))
  """
  m = tpl.check_bits(m)
  return ProgramShape(f"addition(m={m})", 4 * m, 4 * m, 3 * m, 2 * m, m,
                      _histogram({0: 1, 1: 2 * m - 2, 2: m + 1}),
                      1 << (2 * m))


def multiplication_shape(m: int) -> ProgramShape:
  """Closed form of ``shape_of(multiplication_program(m))``.

  Column weights (docs/theory/templates.md §2.3): ``mr_0`` 3 (M1, M3, M12;
  2 at m = 1), ``mr_1..mr_{m−2}`` 2, ``mr_{m−1}`` 1; ``shr``, ``shl``: 2
  (M4, M10); ``md_0`` 2 (M2, M6), ``md_{≥1}`` 3 (+ M13); ``cp`` 1 (M3);
  ``p`` 2 (A1, A2); ``q_0`` 1 (M6), ``q_{≥1}`` 2 (+ M8); ``c`` 1 (A3);
  ``ctr_0`` 2 (M5, M6), ``ctr_{≥1}`` 1 (M9); ``chk`` 2 (M11).

  Example:
    >>> multiplication_shape(4).weights
    ((1, 33), (2, 32), (3, 8))
  """
  m = tpl.check_bits(m)
  w = {1: 0, 2: 0, 3: 0}
  if m == 1:
    w[2] += 1                       # mr_0: M1, M3
  else:
    w[3] += 1                       # mr_0
    w[2] += m - 2                   # mr_1..mr_{m-2}
    w[1] += 1                       # mr_{m-1}
  w[2] += m + 2 * m                 # shr, shl
  w[2] += 1                         # md_0
  w[3] += 2 * m - 1                 # md_1..md_{2m-1}
  w[1] += 2 * m                     # cp
  w[2] += 2 * m                     # p
  w[1] += 1                         # q_0
  w[2] += 2 * m - 1                 # q_1..
  w[1] += 2 * m                     # c
  w[2] += 1                         # ctr_0
  w[1] += 4 * m - 1                 # ctr_1..
  w[2] += 1                         # chk
  T = 20 * m + 2  # pylint: disable=invalid-name
  return ProgramShape(f"multiplication(m={m})", T, T + m, 18 * m + 1,
                      4 * m * m + 3 * m, 4 * m, _histogram(w), 1 << (2 * m))


#: Families whose shape has a closed form (no templates built).
CLOSED_FORMS = {"addition": addition_shape,
                "multiplication": multiplication_shape}


def program_shape(program, bits: int | None = None) -> ProgramShape:
  """The shape of a :class:`permjax.Program`, or of family ``program`` (a
  registry name) at size ``bits`` — from the closed form where the family
  has one, else by building the program.

  Example:
    >>> program_shape("multiplication", 1024).k
    21506
  """
  if isinstance(program, ProgramShape):
    return program
  if isinstance(program, tpl.Program):
    if bits is not None:
      raise ValueError("bits is for a family name; a built program has its "
                       "own size")
    return shape_of(program)
  from permjax._src import programs  # pylint: disable=import-outside-toplevel
  fam = programs.family(program)
  if fam.name in CLOSED_FORMS:
    tpl.check_bits(bits, f"bits ({fam.bits_meaning})", fam.min_bits)
    return CLOSED_FORMS[fam.name](bits)
  return shape_of(fam.program(bits))


class Certificate(NamedTuple):
  """What :func:`certify` found.

  Attributes:
    program: the program's name.
    readout: the readout's description (dict).
    kernel: the GP the exact mean is of.
    k: training-set size.
    n_bound: the largest n on the grid.
    certified: the exact mean read with the readout follows the OR rule on
      every state with ``2 ≤ n ≤ n_bound`` (hence on every reachable state).
    worst_margin: the smallest ``sign · (μ − τ)`` over the grid (≤ 0: not
      certified); a lower bound on the margin over the reachable states,
      equal to it where the worst grid point is reached.
    worst: where it sits, ``{"n", "C", "c", "bit"}``.
    smallest_one: the smallest 1-bit mean on the grid (``γ + C_max β`` at
      the worst n); the margin readout's threshold is half of it.
    seconds: wall time.
  """
  program: str
  readout: dict
  kernel: str
  k: int
  n_bound: int
  certified: bool
  worst_margin: float
  worst: dict
  smallest_one: float
  seconds: float


def _grid(shape: ProgramShape, skip_zero_columns: bool):
  """The grid's cells ``(n, C, bit)``: a 1-bit (c = 1) in every column
  weight C ≥ 1 and a 0-bit (c = 0) in every weight (C = 0 left out when
  the structural zeros are fixed), for 2 ≤ n ≤ n_bound."""
  ns = np.arange(2, shape.n_bound + 1, dtype=np.int64)
  cs = np.array([c for c, _ in shape.weights], np.int64)
  n, col = np.meshgrid(ns, cs, indexing="ij")
  n, col = n.reshape(-1), col.reshape(-1)
  ones = col >= 1                          # a 1-bit needs a writer
  zeros = ~((col == 0) & skip_zero_columns)
  bit = np.concatenate([np.ones(ones.sum(), np.int64),
                        np.zeros(zeros.sum(), np.int64)])
  return (np.concatenate([n[ones], n[zeros]]),
          np.concatenate([col[ones], col[zeros]]), bit)


def _cell_means(k: int, n, c, weight, kernel: str):
  """``(μ, σ²_n)`` of cells: the exact mean γ_n c + β_n C and the
  posterior variance at ``k``."""
  stats = gp_lib.symmetric_gp(k, np.asarray(n, np.int64), kernel=kernel)
  mean = gp_lib.template_mean(stats.alpha, stats.beta,
                              np.asarray(c, np.float64),
                              np.asarray(weight, np.float64))
  return mean, stats.sigma2


def _check_kernel(kernel):
  if kernel not in gp_lib.KERNELS:
    raise ValueError(f"kernel must be one of {gp_lib.KERNELS}, got "
                     f"{kernel!r}")
  return kernel


def _resolve(readout, shape, kernel):
  """``(readout, structural zeros fixed)``; a name is read as
  :func:`permjax.readout.from_name` reads it, ``"zero_fixed"`` as the zero
  rule with the structural zeros hard-wired and ``"margin"`` as
  :func:`margin_readout`."""
  if isinstance(readout, str):
    if readout == "zero_fixed":
      return readout_lib.zero(), True
    if readout == "margin":
      return margin_readout(shape, kernel=kernel), False
    readout = readout_lib.from_name(readout, kernel)
  readout = complexity.resolve_readout(readout, kernel)
  fixed = bool(readout.fixed_zeros) and len(
      readout.fixed_zeros) >= shape.structural_zeros()
  return readout, fixed


def certify(program, readout=None, *, kernel: str = "ntk",
            bits: int | None = None) -> Certificate:
  """Decides, without enumerating states, whether the exact ``kernel``
  mean read with ``readout`` executes ``program`` exactly on every input.

  Args:
    program: a :class:`permjax.Program` with ``n_bound``, a
      :class:`ProgramShape`, or a family name (with ``bits``).
    readout: a :class:`permjax.Readout` with analytic thresholds, or a
      readout name (``"zero_fixed"``, ``"margin"``, ...); default the zero
      rule; ``optimal`` is read in its many-member limit (the
      midpoint). Fixed zeros (``zero_fixed``) remove the structural-zero
      columns.
    kernel: ``"ntk"`` or ``"nngp"``.
    bits: the size, when ``program`` is a family name.

  Returns:
    :class:`Certificate`.

  Example:
    >>> cert = certify("addition", readout_lib.midpoint(), bits=1024)
    >>> cert.certified, cert.worst["n"]
    (True, 1024)
  """
  start = time.perf_counter()
  shape = program_shape(program, bits)
  kernel = _check_kernel(kernel)
  readout, fixed = _resolve(readout, shape, kernel)
  if shape.n_bound < 2:  # every reachable state is a training point
    return Certificate(shape.name, readout.to_dict(), kernel, shape.k,
                       shape.n_bound, True, math.inf, {}, math.nan,
                       round(time.perf_counter() - start, 4))
  n, col, bit = _grid(shape, fixed)
  mean, _ = _cell_means(shape.k, n, bit, col, kernel)
  tau = complexity.Thresholds(readout, np.full(n.shape, shape.k), n).limit()
  sign = np.where(bit == 1, 1.0, -1.0)
  margin = sign * (mean - tau)
  i = int(np.argmin(margin))
  one = bit == 1
  smallest_one = float(mean[one].min()) if one.any() else math.nan
  return Certificate(
      shape.name, readout.to_dict(), kernel, shape.k, shape.n_bound,
      bool(margin[i] > 0), float(margin[i]),
      {"n": int(n[i]), "C": int(col[i]), "c": int(bit[i]),
       "bit": int(bit[i])},
      smallest_one, round(time.perf_counter() - start, 4))


def margin_readout(program, *, kernel: str = "ntk",
                   bits: int | None = None) -> readout_lib.Readout:
  """The margin readout from the grid: ``τ = ½ min (γ_n + C β_n)`` over
  ``2 ≤ n ≤ n_bound`` and the program's column weights ``C ≥ 1`` (the
  closed form ``½(γ_{n_bound} + C_max β_{n_bound})``); equal to the
  enumerated :func:`permjax.margin` where the worst grid point is reached.

  Example:
    >>> round(margin_readout("addition", bits=4).tau, 4)
    0.1628
  """
  cert = certify(program, readout_lib.midpoint(), kernel=kernel, bits=bits)
  if cert.n_bound < 2:  # training points only: every 1-bit mean is 1
    return readout_lib.Readout("margin", 0.5, kernel=kernel)
  return readout_lib.Readout("margin", 0.5 * cert.smallest_one, kernel=kernel)


def log_class_counts(shape: ProgramShape, n) -> np.ndarray:
  """``log`` of an upper bound on the distinct reachable encodings matching
  ``n`` templates: ``min(binom(T, n), P · (S + 1))``."""
  n = np.asarray(n, np.float64)
  binom = (special.gammaln(shape.T + 1) - special.gammaln(n + 1)
           - special.gammaln(shape.T - n + 1))
  runs = math.log(shape.pairs) + math.log(shape.steps + 1)
  return np.minimum(binom, runs)


def union_bound_size(k: int, n, c, weight, bit, log_counts, readout, *,
                     kernel: str, target: float, name: str) -> int:
  """The smallest N with ``Σ_cells count · P(cell's bit read wrong) ≤ 1 −
  target`` for an N-member Gaussian average 𝒩(μ, σ²_n/N) (cells
  ``(n, c, C, bit)`` with ``log_counts``); raises where a cell's mean is on
  the wrong side of its threshold (no N helps)."""
  delta = 1.0 - complexity.check_target(target)
  n = np.asarray(n, np.float64)
  if not n.size:
    return 1
  mean, sigma2 = _cell_means(k, n, c, weight, kernel)
  sign = np.where(np.asarray(bit) > 0, 1.0, -1.0)
  tau = complexity.Thresholds(readout, np.full(n.shape, k), n)
  dead = sign * (mean - tau.limit()) <= 0
  if dead.any():
    i = int(np.flatnonzero(dead)[0])
    raise ValueError(
        f"{name}: under the {readout.name} readout a reachable bit with "
        f"n={int(n[i])} matched templates has mean {mean[i]:.3g} on the "
        f"wrong side of (or at) the threshold, so no ensemble size reads it "
        f"right with high probability"
        + ("" if readout.fixed_zeros else
           " (a structural zero? read with the zero_fixed readout)"))
  sigma = np.sqrt(sigma2)
  log_counts = np.asarray(log_counts, np.float64)
  log_delta = math.log(delta)

  def excess(N, _idx=None):
    N = float(np.asarray(N).reshape(-1)[0])
    z = sign * (mean - tau.at(N)) * math.sqrt(N) / sigma
    total = special.logsumexp(log_counts + special.log_ndtr(-z))
    return np.array([total - log_delta]), np.array([np.nan])

  return int(complexity.smallest_n(excess, np.array([1.0]))[0])


def certified_ensemble_size(program, readout=None, *, kernel: str = "ntk",
                            target: float = 0.9,
                            bits: int | None = None) -> int:
  """Members for P(every bit of every step of every input right) ≥
  ``target``, by the union bound over the grid classes with counts bounded
  from above (no enumeration; docs/theory/certificates.md §2). Never below
  :func:`permjax.execution_ensemble_size` on the enumerated states.

  Args:
    program: a :class:`permjax.Program` with ``n_bound``, a
      :class:`ProgramShape`, or a family name (with ``bits``).
    readout: a :class:`permjax.Readout` with analytic thresholds or a
      readout name (default zero; ``"zero_fixed"`` leaves out the
      structural zeros, ``"margin"`` is :func:`margin_readout`).
    kernel: the GP the members follow.
    target: the probability that everything is right.
    bits: the size, when ``program`` is a family name.

  Example:
    >>> certified_ensemble_size("addition", readout_lib.midpoint(), bits=64)
    240
  """
  shape = program_shape(program, bits)
  kernel = _check_kernel(kernel)
  readout, fixed = _resolve(readout, shape, kernel)
  if shape.n_bound < 2:
    return 1
  n, col, bit = _grid(shape, fixed)
  columns = dict(shape.weights)
  log_counts = log_class_counts(shape, n) + np.log(
      [columns[c] for c in col])
  return union_bound_size(shape.k, n, bit, col, bit, log_counts, readout,
                          kernel=kernel, target=target, name=shape.name)
