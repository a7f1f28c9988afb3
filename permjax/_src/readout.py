"""Readout rules: how an ensemble's averaged outputs become bits
(docs/theory/readout.md).

An infinitely wide member trained on the basis vectors ``I_k`` has, on a
normalised input with ``n`` nonzeros, mean ``α_n`` on the bits that should be
1, ``β_n`` on the others, and variance ``σ²_n`` (:func:`permjax.symmetric_gp`;
``k`` is the training-set size, i.e. the input dimension). Where the
threshold sits between ``β_n`` and ``α_n`` decides how many members the
average needs. The rules (:data:`RULES`):

* ``zero`` — the paper's rule: bit = average > ε, with ε = 1e-10 only so
  that the exact analytic zeros (``β_1 = 0`` on training points, outputs no
  template writes) read as 0.
* ``fixed`` — one threshold τ for every bit.
* ``margin`` — a fixed threshold derived from a template program: half the
  smallest 1-bit mean of the exact mean over the states it reaches
  (:func:`permjax.margin`).
* ``midpoint`` — per-n threshold ``τ_n = (α_n + β_n)/2`` of a kernel,
  ``n`` counted on the input (its nonzeros), so no label is needed.
* ``optimal`` — per-(n, N) threshold maximising ``P(exact)`` of an input
  with ``n`` ones and ``k - n`` zeros (the root of
  ``n λ(a) = (k - n) λ(b)``, λ the inverse Mills ratio).
* ``self_calibrated`` — label- and kernel-free: per n, a two-means split
  of the ensemble's own averaged outputs.

Any rule may carry *fixed zeros*: output columns hard-wired to 0 (a template
program's structural zeros, which no template writes; ``zero_fixed`` is the
zero rule with them).

A :class:`Readout` is one frozen value that owns all of this:
``readout.bits(average, x, N)`` reads bits, ``readout.thresholds(k, n, N)``
gives the analytic thresholds of every rule but ``self_calibrated`` as
arrays, ``readout.analytic`` says whether an ensemble size can be predicted.
A per-n rule built without a kernel *follows* the kernel of the members it
reads (:meth:`Readout.follow`); reading or predicting with no kernel known
raises instead of guessing one.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special

from permjax._src import gp as gp_lib
from permjax._src import validation
from permjax._src.models import MLPSpec

#: The tiny positive threshold of the zero rule (docs/theory/readout.md §2).
EPSILON = 1e-10
#: Rule names (a readout's ``rule``).
RULES = ("zero", "fixed", "margin", "midpoint", "optimal", "self_calibrated")
#: Rules whose threshold depends on ``n`` (the input's nonzeros).
PER_N_RULES = ("midpoint", "optimal", "self_calibrated")
#: Rules that need a kernel's ``α_n, β_n, σ²_n``.
KERNEL_RULES = ("midpoint", "optimal")
#: Command-line names :func:`from_name` accepts (``fixed:<τ>`` besides).
NAMES = ("zero", "zero_fixed", "margin", "midpoint", "optimal",
         "self_calibrated")


def _is_number(value) -> bool:
  return (not isinstance(value, (bool, np.bool_))
          and isinstance(value, (int, float, np.integer, np.floating))
          and math.isfinite(float(value)))


@dataclasses.dataclass(frozen=True)

class Readout:
  """A readout rule (build one with :func:`zero`, :func:`fixed`,
  :func:`midpoint`, :func:`optimal`, :func:`self_calibrated`,
  :func:`permjax.margin` or :func:`from_name`).

  Attributes:
    rule: one of :data:`RULES`.
    tau: the threshold of ``zero`` (:data:`EPSILON`), ``fixed`` and
      ``margin``.
    kernel: ``"ntk"`` or ``"nngp"``: whose ``α_n, β_n, σ²_n`` the per-n
      analytic rules use (for ``margin``: whose exact mean set τ). None: not
      yet known; :meth:`follow` fills it in from the members.
    spec: the architecture of those statistics (default: ReLU, no bias).
    fixed_zeros: output columns hard-wired to 0, sorted.
  """
  rule: str
  tau: float | None = None
  kernel: str | None = None
  spec: MLPSpec | None = None
  fixed_zeros: tuple = ()

  def __post_init__(self):
    if not isinstance(self.rule, str) or self.rule not in RULES:
      raise ValueError(f"readout rule must be one of {RULES}, got "
                       f"{self.rule!r}")
    if self.rule == "zero":
      if self.tau is None:
        object.__setattr__(self, "tau", EPSILON)
      elif self.tau != EPSILON:
        raise ValueError(f"the zero rule's threshold is ε = {EPSILON:g} (for "
                         f"exact zeros); for another threshold use "
                         f"permjax.readout.fixed({self.tau!r})")
    if self.rule in ("zero", "fixed", "margin"):
      if not _is_number(self.tau):
        raise ValueError(f"readout threshold tau must be a finite number, "
                         f"got {self.tau!r}")
      object.__setattr__(self, "tau", float(self.tau))
    elif self.tau is not None:
      raise ValueError(f"the {self.rule} readout sets its own thresholds; "
                       f"tau must be None, got {self.tau!r}")
    if self.kernel is not None and self.kernel not in gp_lib.KERNELS:
      raise ValueError(f"readout kernel must be one of {gp_lib.KERNELS} or "
                       f"None (follow the members), got {self.kernel!r}")
    if self.spec is not None and not isinstance(self.spec, MLPSpec):
      raise TypeError(f"readout spec must be a permjax.MLPSpec or None, got "
                      f"{self.spec!r}")
    cols = np.asarray(self.fixed_zeros)
    if cols.size and (cols.dtype.kind not in "iu" or cols.ndim != 1
                      or cols.min() < 0):
      raise ValueError(f"fixed_zeros must be output column indices >= 0, "
                       f"got {self.fixed_zeros!r}")
    object.__setattr__(self, "fixed_zeros",
                       tuple(sorted({int(c) for c in cols.reshape(-1)})))

  # --- what the rule is ------------------------------------------------------

  @property
  def name(self) -> str:
    """A short label: ``zero``, ``zero_fixed``, ``fixed(0.1)``,
    ``margin(0.163)``, ``midpoint(ntk)``, ``midpoint``, ..."""
    if self.rule == "fixed":
      base = f"fixed({self.tau:g})"
    elif self.rule == "margin":
      base = f"margin({self.tau:.4g})"
    elif self.rule in KERNEL_RULES and self.kernel is not None:
      base = f"{self.rule}({self.kernel})"
    else:
      base = self.rule
    return base + ("_fixed" if self.fixed_zeros else "")

  @property
  def analytic(self) -> bool:
    """Whether the rule has analytic thresholds (and so a predicted
    ensemble size): every rule but ``self_calibrated``."""
    return self.rule != "self_calibrated"

  @property
  def depends_on_members(self) -> bool:
    """Whether the thresholds change with the ensemble size N (``optimal``)."""
    return self.rule == "optimal"

  def check_members(self, kernel: str, spec: MLPSpec | None = None) -> None:
    """Raises if this readout cannot predict members that follow ``kernel``
    (and ``spec``): the optimal threshold maximises P(exact) under the very
    GP the members follow, so it must be that one."""
    if self.rule == "optimal" and (self.kernel != kernel or _gp_of(
        self.spec, kernel) != _gp_of(spec, kernel)):
      raise ValueError(
          f"the optimal readout maximises P(exact) under the GP the members "
          f"follow; give it the same kernel and spec (readout: kernel "
          f"{self.kernel}, spec {self.spec!r}; members: kernel {kernel}, "
          f"spec {spec!r})")

  @property
  def per_n(self) -> bool:
    """Whether the threshold depends on the input's number of nonzeros."""
    return self.rule in PER_N_RULES

  def to_dict(self) -> dict:
    """JSON-able description, recorded with every result."""
    return {"rule": self.rule, "name": self.name, "tau": self.tau,
            "kernel": self.kernel, "epsilon": EPSILON,
            "fix_structural_zeros": bool(self.fixed_zeros),
            "fixed_zeros": list(self.fixed_zeros)}

  # --- binding -----------------------------------------------------------------

  def follow(self, kernel: str | None, spec: MLPSpec | None = None
             ) -> "Readout":
    """This readout for members that follow ``kernel`` (and ``spec``).

    A per-n rule built without a kernel takes the members' kernel; one with
    an explicit kernel keeps it (reading NNGP members with NTK thresholds is
    then a deliberate choice, recorded in :meth:`to_dict`). Rules without a
    kernel are returned unchanged.

    Example:
      >>> midpoint().follow("nngp").name, midpoint("ntk").follow("nngp").name
      ('midpoint(nngp)', 'midpoint(ntk)')
    """
    if kernel is not None and kernel not in gp_lib.KERNELS:
      raise ValueError(f"kernel must be one of {gp_lib.KERNELS}, got "
                       f"{kernel!r}")
    if self.rule not in KERNEL_RULES or self.kernel is not None:
      return self
    return dataclasses.replace(self, kernel=kernel,
                               spec=self.spec if spec is None else spec)

  def with_fixed_zeros(self, columns) -> "Readout":
    """This readout with output ``columns`` hard-wired to 0 (a bool mask
    over the outputs or indices).

    Example:
      >>> zero().with_fixed_zeros([False, True, False]).name
      'zero_fixed'
    """
    cols = np.asarray(columns)
    if cols.dtype == bool:
      cols = np.flatnonzero(cols)
    return dataclasses.replace(self, fixed_zeros=tuple(cols.tolist()))

  def _kernel(self) -> str:
    if self.kernel is None:
      raise ValueError(
          f"the {self.rule} readout has no kernel: build it with "
          f"permjax.readout.{self.rule}('ntk' or 'nngp'), or let the members "
          f"decide with readout.follow(kernel)")
    return self.kernel

  # --- thresholds and bits -----------------------------------------------------

  def thresholds(self, k, n, N=1) -> np.ndarray:
    """Analytic thresholds for inputs of dimension ``k`` with ``n`` nonzeros
    read after an ``N``-member average (all broadcast), float64.

    ``N = inf`` gives the limit of many members (for ``optimal``: the
    midpoint). The zero rule's analytic threshold is 0: its ε only decides
    the exact zeros that float64 leaves at ±1e-16, which the analytic paths
    treat exactly (docs/theory/readout.md §2). Raises for
    ``self_calibrated`` (no analytic thresholds) and for a per-n rule with
    no kernel.

    Example:
      >>> round(float(midpoint("ntk").thresholds(10, 2)), 6)   # (α_2 + β_2)/2
      0.277786
    """
    if not self.analytic:
      raise ValueError("the self_calibrated readout learns its thresholds "
                       "from an ensemble's outputs; it has no analytic "
                       "thresholds (use midpoint or optimal)")
    for name, value, low in (("k", k, 1), ("n", n, 1), ("N", N, 1)):
      arr = np.asarray(value)
      if arr.dtype.kind not in "iuf" or np.any(np.isnan(arr)) or np.any(
          arr < low):
        raise ValueError(f"thresholds need {name} >= {low} (numbers), got "
                         f"{value!r}")
    try:
      shape = np.broadcast_shapes(np.shape(k), np.shape(n), np.shape(N))
    except ValueError:
      raise ValueError(f"k, n and N do not broadcast: shapes {np.shape(k)}, "
                       f"{np.shape(n)}, {np.shape(N)}") from None
    if np.any(np.asarray(n) > np.asarray(k)):
      raise ValueError(f"n (nonzeros) cannot exceed k (inputs), got n={n!r}, "
                       f"k={k!r}")
    if self.rule == "zero":
      return np.zeros(shape)  # ε only separates float64's exact zeros
    if self.rule not in KERNEL_RULES:
      return np.full(shape, self.tau)
    stats = gp_lib.symmetric_gp(k, n, spec=self.spec, kernel=self._kernel())
    if self.rule == "midpoint":
      return np.broadcast_to((stats.alpha + stats.beta) / 2, shape).copy()
    return np.broadcast_to(optimal_threshold(k, n, N, stats), shape).copy()

  def bits(self, average, x, N=1) -> np.ndarray:
    """Bits read from ``average`` (``(..., n_inputs, out)``) at inputs ``x``.

    A zero input row (no template matched) reads all bits 0, the OR rule of
    nothing, whatever the average; the fixed-zero columns read 0.

    Args:
      average: the ensemble average, ``(n_inputs, out)`` or with leading
        axes (e.g. one per ensemble size); NaN raises.
      x: ``(n_inputs, k)`` inputs as they entered the network; the per-n
        rules count their nonzeros and need normalised indicators (all
        nonzeros of a row equal). The zero and fixed rules accept None
        (every input taken as nonzero).
      N: members averaged (scalar, or one per leading entry of
        ``average``); used by ``optimal``.

    Returns:
      bool array shaped like ``average``.
    """
    average = np.asarray(average, np.float64)
    if average.ndim < 2:
      raise ValueError(f"average must be (..., n_inputs, out), got shape "
                       f"{average.shape}")
    if np.isnan(average).any():
      raise ValueError("the ensemble average holds NaN (a diverged or "
                       "broken member?); NaN has no bits")
    live = None
    if x is not None:
      x = np.asarray(x)
      if x.ndim != 2 or x.shape[0] != average.shape[-2]:
        raise ValueError(f"x must be (n_inputs={average.shape[-2]}, k), got "
                         f"shape {x.shape}")
      live = x.any(axis=1)
    elif self.per_n:
      raise ValueError(f"the {self.rule} readout counts each input's "
                       f"nonzeros; pass the inputs x")
    if self.fixed_zeros and self.fixed_zeros[-1] >= average.shape[-1]:
      raise ValueError(f"fixed_zeros column {self.fixed_zeros[-1]} is outside"
                       f" the {average.shape[-1]} outputs")
    n = k = None
    if self.per_n:  # x was given (checked above)
      n = count_nonzeros(x[live]) if live.any() else np.zeros(0, np.int64)
      k = x.shape[-1]
    return self._read(average, live, n, k, N)

  def bits_at(self, average, n, k: int, N=1) -> np.ndarray:
    """:meth:`bits` from the inputs' nonzero counts ``n`` (``(n_inputs,)``)
    and width ``k`` instead of the inputs themselves: the executor's path,
    which knows how many templates each state matched without building its
    encoding. Rows with ``n = 0`` read all zeros.

    Example:
      >>> zero().bits_at(np.array([[0.3, -0.1]]), np.array([2]), 4).tolist()
      [[True, False]]
    """
    average = np.asarray(average, np.float64)
    n = np.asarray(n)
    if average.ndim != 2 or n.shape != average.shape[:1]:
      raise ValueError(f"average must be (n_inputs, out) with one n per "
                       f"input, got shapes {average.shape} and {n.shape}")
    if np.isnan(average).any():
      raise ValueError("the ensemble average holds NaN (a diverged or "
                       "broken member?); NaN has no bits")
    live = n > 0
    return self._read(average, live, n[live], k, N)

  def _read(self, average, live, n, k, N) -> np.ndarray:
    """The bits of ``average`` (``(..., n_inputs, out)``): ``live`` marks
    the nonzero inputs (None: all), ``n`` counts the nonzeros of the live
    rows (per-n rules), ``k`` their width; zero inputs and fixed-zero
    columns read 0."""
    if not self.per_n:
      out = average > self.tau
    elif live is None or live.all():
      out = self._per_n_bits(average, n, k, N)
    else:
      out = np.zeros(average.shape, bool)
      if live.any():
        out[..., live, :] = self._per_n_bits(average[..., live, :], n, k, N)
    if live is not None and not live.all():
      out[..., ~live, :] = False
    if self.fixed_zeros:
      out[..., list(self.fixed_zeros)] = False
    return out

  def _per_n_bits(self, average, n, k, N):
    if self.rule == "self_calibrated":
      return average > self_calibrated_thresholds(average, n)
    N = np.asarray(N, np.float64)
    lead = average.ndim - 2
    N = N.reshape(N.shape + (1,) * (lead - N.ndim + 2)) if N.ndim else N
    return average > self.thresholds(k, n[:, None], N)


def _gp_of(spec, kernel):
  """What of a spec decides its infinite-width GP (None: the default
  spec); the width only matters to the standard-parameterization NTK."""
  spec = MLPSpec(width=1) if spec is None else spec
  width = spec.width if (kernel == "ntk" and
                         spec.parameterization == "standard") else None
  return (spec.depth, spec.activation, spec.W_std, spec.b_std,
          spec.parameterization, width)


def count_nonzeros(x) -> np.ndarray:
  """``n`` per row of ``x``; raises unless every row is a normalised
  indicator (all its nonzeros equal, at least one).

  Example:
    >>> count_nonzeros(np.array([[0.5, 0.5, 0.5, 0.5], [0., 1., 0., 0.]])).tolist()
    [4, 1]
  """
  x = np.asarray(x, np.float64)
  if x.ndim != 2 or x.shape[0] == 0:
    raise ValueError(f"a per-n readout needs (n_inputs >= 1, k) inputs, got "
                     f"shape {x.shape}")
  nonzero = x != 0
  n = nonzero.sum(axis=1)
  top = np.where(nonzero, x, -np.inf).max(axis=1)
  low = np.where(nonzero, x, np.inf).min(axis=1)
  with np.errstate(divide="ignore"):
    unit = 1.0 / np.sqrt(n)
  bad = ((n == 0) | ~np.isclose(top, unit, rtol=1e-6, atol=0)
         | ~np.isclose(low, unit, rtol=1e-6, atol=0))
  if bad.any():
    rows = np.flatnonzero(bad)[:5].tolist()
    raise ValueError(f"a per-n readout reads n as the number of nonzeros of "
                     f"a normalised 0/1 input (each nonzero 1/sqrt(n)); rows "
                     f"{rows} are zero, not binary or not normalised, so n is "
                     f"not defined there; use the zero or fixed rule")
  return n


def _log_inverse_mills(z):
  """``log(φ(z)/Φ(z))``, finite far into both tails."""
  return -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - special.log_ndtr(z)


def optimal_threshold(k, n, N, stats) -> np.ndarray:
  """The threshold maximising ``P(exact)`` of an N-member average on an input
  with ``n`` ones among ``k`` bits (Gaussian limit,
  docs/theory/readout.md §5).

  ``log P = n log Φ(a) + (k - n) log Φ(b)``, ``a = (α - τ)/s``,
  ``b = (τ - β)/s``, ``s = σ/√N``; its τ-derivative
  ``(-n λ(a) + (k - n) λ(b))/s`` decreases monotonically in τ, so bisection
  finds its root. The root need not lie between β and α: with many 1-bits,
  few 0-bits and a small N it falls below β (reading a 0-bit wrong costs
  less than risking n 1-bits). ``n = k`` (no zero bit): the optimum is
  τ → −∞; β is returned. ``σ = 0`` or ``N = inf``: the midpoint.
  """
  k = validation.finite_array("k", k)
  n = validation.finite_array("n", n)
  N = np.asarray(N, np.float64)
  if np.any(np.isnan(N)) or np.any(N < 1):
    raise ValueError(f"N (ensemble size) must be >= 1 (or inf), got {N!r}")
  if np.any(n < 1) or np.any(n > k):
    raise ValueError(f"n (ones of the input) must be in 1..k, got n={n!r}, "
                     f"k={k!r}")
  if isinstance(stats, (str, bytes)) or not hasattr(stats, "__len__") or (
      len(stats) != 3):
    raise TypeError(f"stats must be (alpha, beta, sigma2), e.g. "
                    f"permjax.symmetric_gp(k, n), got {stats!r}")
  alpha, beta, sigma2 = (validation.finite_array(name, v) for name, v in
                         zip(("alpha", "beta", "sigma2"), stats))
  if np.any(alpha <= beta) or np.any(sigma2 < 0):
    raise ValueError("stats must have alpha > beta (the 1-bit mean above "
                     "the 0-bit mean) and sigma2 >= 0")
  try:
    k, n, N, alpha, beta, sigma2 = np.broadcast_arrays(k, n, N, alpha, beta,
                                                       sigma2)
  except ValueError:
    raise ValueError("k, n, N and the stats do not broadcast together"
                     ) from None
  s = np.sqrt(np.maximum(sigma2, 0.0) / N)
  safe = np.where(s > 0, s, 1.0)
  lo, hi = beta - 60.0 * safe, alpha + 60.0 * safe
  with np.errstate(divide="ignore"):
    log_n, log_rest = np.log(n), np.log(k - n)
  for _ in range(64):  # the bracket shrinks 2^64-fold: to float precision
    mid = 0.5 * (lo + hi)
    # sign of the τ-derivative, compared in log space (both terms underflow
    # far in the tails, where the optimum still is well defined).
    grad = ((log_rest + _log_inverse_mills((mid - beta) / safe))
            - (log_n + _log_inverse_mills((alpha - mid) / safe)))
    # grad > 0: P still rises with τ, the root lies above mid.
    lo = np.where(grad > 0, mid, lo)
    hi = np.where(grad > 0, hi, mid)
  tau = 0.5 * (lo + hi)
  tau = np.where(s > 0, tau, 0.5 * (alpha + beta))
  return np.where(n >= k, beta, tau)


def self_calibrated_thresholds(average, n) -> np.ndarray:
  """Per-n thresholds from the ensemble's own outputs (no labels, no kernel).

  For each n, the averaged outputs of every input with n nonzeros are split
  in two by one-dimensional two-means (started at their minimum and
  maximum); the threshold is the midpoint of the two means. Assumes each
  n-group holds both 1-bits and 0-bits (true for the permutation task for
  ``n < k``). Returns thresholds broadcastable to ``average``.
  """
  average = validation.finite_array("average", average)
  if average.ndim < 2:
    raise ValueError(f"average must be (..., n_inputs, out), got shape "
                     f"{average.shape}")
  n = np.asarray(n)
  if n.ndim != 1 or n.dtype.kind not in "iu" or len(n) != average.shape[-2]:
    raise ValueError(f"n must hold one integer per input row "
                     f"({average.shape[-2]}), got {n!r}")
  tau = np.zeros(average.shape[:-1] + (1,))
  for value in np.unique(n):
    rows = n == value
    group = average[..., rows, :]
    flat = group.reshape(group.shape[:-2] + (-1,))
    lo, hi = flat.min(-1), flat.max(-1)
    for _ in range(50):
      cut = 0.5 * (lo + hi)[..., None]
      above = flat > cut
      count_hi = above.sum(-1)
      count_lo = flat.shape[-1] - count_hi
      new_hi = np.where(count_hi > 0, (flat * above).sum(-1)
                        / np.maximum(count_hi, 1), hi)
      new_lo = np.where(count_lo > 0, (flat * ~above).sum(-1)
                        / np.maximum(count_lo, 1), lo)
      if np.array_equal(new_hi, hi) and np.array_equal(new_lo, lo):
        break
      lo, hi = new_lo, new_hi
    tau[..., rows, :] = (0.5 * (lo + hi))[..., None, None]
  return tau


def zero() -> Readout:
  """The paper's rule: bit = average > ε (ε = 1e-10, for exact zeros).

  Example:
    >>> zero().bits(np.array([[0.3, -0.01, 1e-16]]), None).tolist()
    [[True, False, False]]
  """
  return Readout("zero", EPSILON)


def fixed(tau: float) -> Readout:
  """One threshold τ for every bit.

  Example:
    >>> fixed(0.1).name
    'fixed(0.1)'
  """
  return Readout("fixed", tau)


def _check_kernel_arg(kernel):
  if kernel is not None and kernel not in gp_lib.KERNELS:
    raise ValueError(f"kernel must be one of {gp_lib.KERNELS} or None (follow "
                     f"the members), got {kernel!r}")
  return kernel


def midpoint(kernel: str | None = None, spec: MLPSpec | None = None
             ) -> Readout:
  """Per-n threshold ``(α_n + β_n)/2`` of ``kernel`` (None: the kernel of
  the members it reads, see :meth:`Readout.follow`).

  Example:
    >>> x = np.array([[2 ** -0.5, 2 ** -0.5, 0., 0., 0.]])
    >>> midpoint("ntk").bits(np.array([[0.5, 0.5, 0.1, -0.02, 0.2]]), x).tolist()
    [[True, True, False, False, False]]
  """
  return Readout("midpoint", kernel=_check_kernel_arg(kernel), spec=spec)


def optimal(kernel: str | None = None, spec: MLPSpec | None = None
            ) -> Readout:
  """Per-(n, N) threshold maximising ``P(exact)`` under ``kernel``'s GP
  (None: the kernel of the members it reads).

  Example:
    >>> tau = optimal("ntk").thresholds(30, 2, 1)  # 2 one-bits, 28 zero-bits:
    >>> bool(midpoint("ntk").thresholds(30, 2) < tau < 0.6)  # it leans up
    True
  """
  return Readout("optimal", kernel=_check_kernel_arg(kernel), spec=spec)


def self_calibrated() -> Readout:
  """Per-n two-means split of the ensemble's own outputs (label-free).

  Example:
    >>> x = np.full((2, 4), 0.5)[:, :4] * np.array([[1, 1, 0, 0], [0, 1, 1, 0]]) * 2 ** 0.5
    >>> avg = np.array([[0.6, 0.5, 0.05, -0.01], [0.0, 0.55, 0.62, 0.02]])
    >>> self_calibrated().bits(avg, x).tolist()
    [[True, True, False, False], [False, True, True, False]]
  """
  return Readout("self_calibrated")


def from_name(name: str, kernel: str | None = None, program=None) -> Readout:
  """A readout from its command-line name (:data:`NAMES`, or ``fixed:τ``).

  Args:
    name: ``zero``, ``zero_fixed``, ``fixed:τ``, ``margin``, ``midpoint``,
      ``optimal`` or ``self_calibrated``.
    kernel: the kernel of the per-n rules and of ``margin``'s exact mean;
      None lets the per-n rules follow the members (``margin`` needs it).
    program: the :class:`permjax.Program` whose structural zeros
      ``zero_fixed`` fixes and whose reachable states set ``margin``'s τ.

  Example:
    >>> from_name("fixed:0.05").name, from_name("midpoint", "nngp").name
    ('fixed(0.05)', 'midpoint(nngp)')
  """
  if not isinstance(name, str):
    raise TypeError(f"a readout name must be a string, got {name!r}")
  _check_kernel_arg(kernel)
  rule, _, arg = name.partition(":")
  if rule == "fixed":
    try:
      tau = float(arg)
    except ValueError:
      raise ValueError(f"readout 'fixed' needs a threshold, e.g. fixed:0.05, "
                       f"got {name!r}") from None
    return fixed(tau)
  if rule not in NAMES or arg:
    raise ValueError(f"unknown readout {name!r}; choose one of zero, "
                     f"zero_fixed, fixed:<tau>, margin, midpoint, optimal, "
                     f"self_calibrated")
  if rule in ("zero_fixed", "margin") and program is None:
    raise ValueError(f"the {rule} readout is defined by a template program "
                     f"(its structural zeros or reachable states); pass "
                     f"program=")
  if rule == "zero_fixed":
    return zero().with_fixed_zeros(program.structural_zeros())
  if rule == "margin":
    from permjax._src import execution  # pylint: disable=import-outside-toplevel
    if kernel is None:
      raise ValueError("the margin readout's τ comes from the exact mean of "
                       "the members' kernel; pass kernel='ntk' or 'nngp'")
    return execution.margin(program, kernel)
  if rule in KERNEL_RULES:
    return Readout(rule, kernel=kernel)
  return zero() if rule == "zero" else self_calibrated()


def check_readout(readout) -> Readout:
  """``readout`` if it is a :class:`Readout`, else one clear TypeError."""
  if not isinstance(readout, Readout):
    raise TypeError(f"readout must be a permjax Readout (e.g. "
                    f"permjax.readout.midpoint()), got {readout!r}")
  return readout
