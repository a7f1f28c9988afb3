"""Readout rules: how an ensemble's averaged outputs become bits (SPEC §9).

An infinitely wide member trained on the basis vectors ``I_k`` has, on a
normalised input with ``n`` nonzeros, mean ``α_n`` on the bits that should be
1, ``β_n`` on the others, and variance ``σ²_n`` (:func:`permjax.symmetric_gp`;
``k`` is the training-set size, i.e. the input dimension). Where the
threshold sits between ``β_n`` and ``α_n`` decides how many members the
average needs:

* :func:`zero` — the paper's rule: bit = average > ε, with ε = 1e-10 only so
  that the exact analytic zeros (``β_1 = 0`` on training points, outputs no
  template writes) read as 0; every comparison in permjax uses this ε.
* :func:`fixed` — one threshold τ for every bit.
* :func:`midpoint` — per-n threshold ``τ_n = (α_n + β_n)/2`` of a kernel,
  ``n`` counted on the input (its nonzeros), so no label is needed.
* :func:`optimal` — per-(n, N) threshold maximising ``P(exact)`` of an input
  with ``n`` ones and ``k - n`` zeros (the root of
  ``n λ(a) = (k - n) λ(b)``, λ the inverse Mills ratio); it leans towards
  the side with fewer bits.
* :func:`self_calibrated` — label- and kernel-free: per n, a two-means split
  of the ensemble's own averaged outputs on unlabelled inputs; meant for
  finite networks, whose means drift from ``α_n, β_n`` by O(1/√width).

A :class:`Readout` is a small frozen value: ``readout.bits(average, x, N)``
reads bits, ``readout.thresholds(k, n, N)`` gives the analytic thresholds
(None for the self-calibrated rule, which has no analytic counterpart).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special

from permjax._src import gp as gp_lib
from permjax._src.models import MLPSpec

#: The tiny positive threshold of the zero rule (SPEC §6).
EPSILON = 1e-10
RULES = ("zero", "fixed", "midpoint", "optimal", "self_calibrated")
PER_N_RULES = ("midpoint", "optimal", "self_calibrated")


@dataclasses.dataclass(frozen=True)
class Readout:
  """A readout rule (build one with :func:`zero`, :func:`fixed`,
  :func:`midpoint`, :func:`optimal`, :func:`self_calibrated`).

  Attributes:
    rule: one of :data:`RULES`.
    tau: the threshold of ``fixed`` (``EPSILON`` for ``zero``).
    kernel: ``"ntk"`` or ``"nngp"``: whose ``α_n, β_n, σ²_n`` the per-n
      analytic rules use.
    spec: the architecture of those statistics (default: ReLU, no bias).
  """
  rule: str
  tau: float | None = None
  kernel: str | None = None
  spec: MLPSpec | None = None

  def __post_init__(self):
    if self.rule not in RULES:
      raise ValueError(f"readout rule must be one of {RULES}, got "
                       f"{self.rule!r}")
    if self.rule in ("zero", "fixed"):
      if (isinstance(self.tau, bool) or not isinstance(
          self.tau, (int, float, np.floating)) or not math.isfinite(self.tau)):
        raise ValueError(f"readout threshold tau must be a finite number, "
                         f"got {self.tau!r}")
    if self.rule in ("midpoint", "optimal") and self.kernel not in gp_lib.KERNELS:
      raise ValueError(f"the {self.rule} readout needs kernel in "
                       f"{gp_lib.KERNELS}, got {self.kernel!r}")

  @property
  def name(self) -> str:
    """A short label: ``zero``, ``fixed(0.1)``, ``midpoint(ntk)``, ..."""
    if self.rule == "fixed":
      return f"fixed({self.tau:g})"
    if self.rule in ("midpoint", "optimal"):
      return f"{self.rule}({self.kernel})"
    return self.rule

  def to_dict(self) -> dict:
    return {"rule": self.rule, "name": self.name, "tau": self.tau,
            "kernel": self.kernel, "epsilon": EPSILON}

  def thresholds(self, k, n, N=1) -> np.ndarray | None:
    """Analytic thresholds for inputs of dimension ``k`` with ``n`` nonzeros
    and an ``N``-member average (broadcast); None for ``self_calibrated``.

    Example:
      >>> round(float(midpoint().thresholds(10, 2)), 6)   # (α_2 + β_2) / 2
      0.277786
    """
    if self.rule in ("zero", "fixed"):
      return np.broadcast_to(np.float64(self.tau),
                             np.broadcast_shapes(np.shape(k), np.shape(n),
                                                 np.shape(N))).copy()
    if self.rule == "self_calibrated":
      return None
    stats = gp_lib.symmetric_gp(k, n, spec=self.spec, kernel=self.kernel)
    if self.rule == "midpoint":
      return np.broadcast_to((stats.alpha + stats.beta) / 2,
                             np.broadcast_shapes(np.shape(stats.alpha),
                                                 np.shape(N))).copy()
    return optimal_threshold(k, n, N, stats)

  def bits(self, average, x, N=1) -> np.ndarray:
    """Bits read from ``average`` (``(..., n_inputs, out)``) at inputs ``x``.

    Args:
      average: the ensemble average, ``(n_inputs, out)`` or with leading
        axes (e.g. one per ensemble size).
      x: ``(n_inputs, k)`` inputs as they entered the network; the per-n
        rules count their nonzeros and need normalised indicators (all
        nonzeros of a row equal).
      N: members averaged (scalar, or one per leading entry of
        ``average``); used by ``optimal``.

    Returns:
      bool array shaped like ``average``.
    """
    average = np.asarray(average, np.float64)
    if self.rule in ("zero", "fixed"):
      return average > self.tau
    x = np.asarray(x)
    n = count_nonzeros(x)
    k = x.shape[-1]
    if self.rule == "self_calibrated":
      return average > self_calibrated_thresholds(average, n)
    N = np.asarray(N, np.float64)
    lead = average.ndim - 2
    N = N.reshape(N.shape + (1,) * (lead - N.ndim + 2)) if N.ndim else N
    tau = self.thresholds(k, n[:, None], N)
    return average > tau


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
  bad = (n == 0) | ~np.isclose(top, low, rtol=1e-6, atol=0)
  if bad.any():
    rows = np.flatnonzero(bad)[:5].tolist()
    raise ValueError(f"a per-n readout reads n as the number of nonzeros of "
                     f"a normalised 0/1 input; rows {rows} are zero or not "
                     f"binary (their nonzeros differ), so n is not defined "
                     f"there; use the zero or fixed rule")
  return n


def _log_inverse_mills(z):
  """``log(φ(z)/Φ(z))``, finite far into both tails."""
  return -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - special.log_ndtr(z)


def optimal_threshold(k, n, N, stats) -> np.ndarray:
  """The threshold maximising ``P(exact)`` of an N-member average on an input
  with ``n`` ones among ``k`` bits (Gaussian limit, SPEC §9).

  ``log P = n log Φ(a) + (k - n) log Φ(b)``, ``a = (α - τ)/s``,
  ``b = (τ - β)/s``, ``s = σ/√N``; its τ-derivative
  ``(-n λ(a) + (k - n) λ(b))/s`` decreases monotonically in τ, so bisection
  finds its root. The root need not lie between β and α: with many 1-bits,
  few 0-bits and a small N it falls below β (reading a 0-bit wrong costs
  less than risking n 1-bits). ``n = k`` (no zero bit): the optimum is
  τ → −∞; β is returned. ``σ = 0``: the midpoint.
  """
  k = np.asarray(k, np.float64)
  n = np.asarray(n, np.float64)
  N = np.asarray(N, np.float64)
  alpha, beta, sigma2 = (np.asarray(v, np.float64) for v in stats)
  k, n, N, alpha, beta, sigma2 = np.broadcast_arrays(k, n, N, alpha, beta,
                                                     sigma2)
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
  average = np.asarray(average, np.float64)
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


def midpoint(kernel: str = "ntk", spec: MLPSpec | None = None) -> Readout:
  """Per-n threshold ``(α_n + β_n)/2`` of ``kernel``.

  Example:
    >>> x = np.array([[2 ** -0.5, 2 ** -0.5, 0., 0., 0.]])
    >>> midpoint().bits(np.array([[0.5, 0.5, 0.1, -0.02, 0.2]]), x).tolist()
    [[True, True, False, False, False]]
  """
  return Readout("midpoint", kernel=kernel, spec=spec)


def optimal(kernel: str = "ntk", spec: MLPSpec | None = None) -> Readout:
  """Per-(n, N) threshold maximising ``P(exact)`` under ``kernel``'s GP.

  Example:
    >>> tau = optimal().thresholds(30, 2, 1)   # 2 one-bits, 28 zero-bits:
    >>> bool(midpoint().thresholds(30, 2) < tau < 0.6)  # it leans up
    True
  """
  return Readout("optimal", kernel=kernel, spec=spec)


def self_calibrated() -> Readout:
  """Per-n two-means split of the ensemble's own outputs (label-free).

  Example:
    >>> x = np.full((2, 4), 0.5)[:, :4] * np.array([[1, 1, 0, 0], [0, 1, 1, 0]]) * 2 ** 0.5
    >>> avg = np.array([[0.6, 0.5, 0.05, -0.01], [0.0, 0.55, 0.62, 0.02]])
    >>> self_calibrated().bits(avg, x).tolist()
    [[True, True, False, False], [False, True, True, False]]
  """
  return Readout("self_calibrated")


def from_name(name: str, kernel: str = "ntk") -> Readout:
  """A readout from its command-line name: ``zero``, ``fixed:τ``,
  ``midpoint``, ``optimal``, ``self_calibrated`` (the per-n analytic rules
  take ``kernel``).

  Example:
    >>> from_name("fixed:0.05").name, from_name("midpoint", "nngp").name
    ('fixed(0.05)', 'midpoint(nngp)')
  """
  rule, _, arg = str(name).partition(":")
  if rule == "fixed":
    try:
      tau = float(arg)
    except ValueError:
      raise ValueError(f"readout 'fixed' needs a threshold, e.g. fixed:0.05, "
                       f"got {name!r}") from None
    return fixed(tau)
  if rule not in RULES or arg:
    raise ValueError(f"unknown readout {name!r}; choose one of zero, "
                     f"fixed:<tau>, midpoint, optimal, self_calibrated")
  if rule in ("midpoint", "optimal"):
    return Readout(rule, kernel=kernel)
  return zero() if rule == "zero" else self_calibrated()
