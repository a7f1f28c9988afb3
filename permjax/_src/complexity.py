"""Ensemble complexity in the Gaussian limit (docs/theory/permutation.md §6, §7), exact and vectorised.

An ensemble of ``N`` members averages ``N`` independent draws of the trained
network, so on a test input with ``n`` ones the average is Gaussian with mean
``α_n`` on target-1 bits, ``β_n`` on target-0 bits and variance ``σ²_n / N``.
Rounding at 0 is exact with probability::

    P(exact) = Φ(α_n √N / σ_n)^n · Φ(-β_n √N / σ_n)^(k - n)

Everything here is computed in log space (``log Φ`` via ``scipy.special``),
so ``k`` up to 10⁵ and binomial weights ``C(k, n)`` far beyond float range are
exact. Inputs with one 1 are training points: the trained GP interpolates
them with zero variance, so they never fail.

Scopes of :func:`ensemble_size`:

* ``"input"``: one test input with ``n`` ones (default 2, the weakest margin).
* ``"all"``: every one of the ``2^k - 1`` inputs, through the union bound
  grouped by ``n``: ``Σ_n C(k, n) P_fail(k, n, N) <= 1 - target``. This is an
  upper bound on the true all-inputs ``N`` and never enumerates inputs.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from permjax._src import readout as readout_lib
from permjax._src import validation
from permjax._src.gp import KERNELS, symmetric_gp
from permjax._src.models import MLPSpec
from permjax._src.permutation import check_k, check_ks, check_n, check_ns

SCOPES = ("input", "all")
#: Largest ensemble size the search considers before giving up.
MAX_ENSEMBLE = 1 << 60


def check_target(target):
  """``target`` as a probability in (0, 1)."""
  return validation.real("target (probability of exact rounding)", target,
                         0.0, 1.0, low_open=True, high_open=True)


def _check_kernel(kernel):
  if kernel not in KERNELS:
    raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")


def _log_neg_log_ndtr(x):
  """``log(-log Φ(x))``, accurate also where ``Φ(-x)`` underflows."""
  x = np.asarray(x, np.float64)
  c = special.log_ndtr(-x)  # log Φ(-x)
  with np.errstate(divide="ignore"):
    direct = np.log(-special.log_ndtr(x))
  return np.where(c < -30.0, c, direct)


def _log_fail(k, n, N, stats, tau=0.0):
  """``log P_fail`` and its derivative in ``N`` (both float64 arrays).

  ``tau`` is the readout threshold per element (a number or an array); for
  the P(exact)-maximising threshold at each N the slope formula below holds
  too (envelope theorem).
  With ``a = (α - τ)√N/σ``, ``b = (τ - β)√N/σ`` and ``λ(x) = φ(x)/Φ(x)``:
  ``L = log P(exact) = n log Φ(a) + (k-n) log Φ(b)``,
  ``dL/dN = (n λ(a) a + (k-n) λ(b) b) / (2N)``,
  ``d log P_fail / dN = -(e^L / P_fail) dL/dN``, all formed in log space so
  that failure probabilities far below float range (``10^-30000``) work.
  """
  k = np.asarray(k, np.float64)
  n = np.asarray(n, np.float64)
  N = np.asarray(N, np.float64)
  alpha, beta, sigma2 = (np.asarray(v, np.float64) for v in stats)
  tau = np.asarray(tau, np.float64)
  interpolated = n <= 1
  sigma = np.sqrt(np.where(interpolated, 1.0, sigma2))
  root = np.sqrt(N)
  a = (alpha - tau) * root / sigma
  b = (tau - beta) * root / sigma
  has_zero_bits = k > n
  with np.errstate(divide="ignore", invalid="ignore"):
    log_n = np.log(n)
    log_rest = np.where(has_zero_bits, np.log(k - n), -np.inf)
    # log(-L) = log(n (-log Φ(a)) + (k - n) (-log Φ(b))).
    log_neg_l = np.logaddexp(log_n + _log_neg_log_ndtr(a),
                             log_rest + _log_neg_log_ndtr(b))
    neg_l = np.exp(log_neg_l)
    # log P_fail = log(1 - exp(-negL)).
    value = np.where(neg_l > 1e-8, np.log(-np.expm1(-neg_l)),
                     log_neg_l + np.log1p(-neg_l / 2))
    # log dL/dN.
    log_half_gauss = -0.5 * math.log(2 * math.pi)
    la = log_half_gauss - a**2 / 2 - special.log_ndtr(a) + np.log(a)
    lb = log_half_gauss - b**2 / 2 - special.log_ndtr(b) + np.log(b)
    log_dl = np.logaddexp(log_n + la, log_rest + lb) - np.log(2 * N)
    slope = -np.exp(-neg_l - value + log_dl)
  # Training points (n = 1) are interpolated exactly: mean α_1 = 1 on the
  # 1-bit, β_1 = 0 on the others, no variance; read right iff 0 <= τ < 1
  # (the zero rule's ε makes the exact zeros read as 0).
  interpolated_right = (tau >= 0.0) & (tau < 1.0)
  value = np.where(interpolated, np.where(interpolated_right, -np.inf, 0.0),
                   value)
  slope = np.where(interpolated | ~np.isfinite(slope), 0.0, slope)
  return value, slope


def resolve_readout(readout, kernel: str, spec: MLPSpec | None = None
                    ) -> readout_lib.Readout:
  """The readout (default: the zero rule) bound to members that follow
  ``kernel``/``spec``; raises for a rule without analytic thresholds.

  A per-n rule built without a kernel follows the members' kernel
  (:meth:`permjax.Readout.follow`); one with an explicit kernel keeps it.
  """
  readout = readout_lib.zero() if readout is None else readout
  readout = readout_lib.check_readout(readout)
  if not readout.analytic:
    raise ValueError("the self_calibrated readout learns its thresholds from "
                     "an ensemble's outputs and has no analytic ensemble "
                     "size; use midpoint or optimal for predictions")
  readout = readout.follow(kernel, spec)
  readout.check_members(kernel, spec)
  return readout


class Thresholds:
  """A readout's thresholds on fixed (k, n) rows, recomputed per N only for
  rules that depend on it (``optimal``)."""

  def __init__(self, readout, k, n):
    self.readout = readout
    self.k = np.asarray(k, np.float64)
    self.n = np.asarray(n, np.float64)
    self.fixed = (None if readout.depends_on_members
                  else readout.thresholds(self.k, self.n))

  def at(self, N, idx=slice(None)) -> np.ndarray:
    """Thresholds of rows ``idx`` after ``N`` members."""
    if self.fixed is not None:
      return self.fixed[idx]
    return self.readout.thresholds(self.k[idx], self.n[idx], N)

  def limit(self) -> np.ndarray:
    """Thresholds in the many-member limit (``optimal``: the midpoint)."""
    if self.fixed is not None:
      return self.fixed
    return self.readout.thresholds(self.k, self.n, np.inf)


def log_fail_probability(k, n, N, *, spec: MLPSpec | None = None,
                         kernel: str = "ntk", readout=None) -> np.ndarray:
  """``log P(an N-member ensemble rounds an n-ones input wrongly)``.

  Args:
    k: permutation size (array-like).
    n: number of ones (array-like, broadcast with ``k`` and ``N``).
    N: ensemble size (array-like, ``>= 1``).
    spec: architecture (default: the theory's ReLU net, no bias).
    kernel: ``"ntk"`` or ``"nngp"``.
    readout: a :class:`permjax.Readout` (default: the zero rule).

  Returns:
    float64 array; ``-inf`` where the input cannot fail (``n = 1``).

  Example:
    >>> p = np.exp(log_fail_probability(10, 2, 333))
    >>> bool(p <= 0.1 < np.exp(log_fail_probability(10, 2, 332)))
    True
  """
  _check_kernel(kernel)
  n = check_ns(n, k)
  N = _check_members(N)
  readout = resolve_readout(readout, kernel, spec)
  stats = symmetric_gp(k, n, spec=spec, kernel=kernel)
  tau = readout.thresholds(k, n, N)
  return _log_fail(k, n, N, stats, tau)[0]


def _check_members(N) -> np.ndarray:
  arr = np.asarray(N)
  if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf" or not np.all(
      np.isfinite(arr)) or np.any(arr < 1):
    raise ValueError(f"N (ensemble size) must be a number >= 1 or an array "
                     f"of them, got {N!r}")
  return arr.astype(np.float64)


def _log_binom(k, n):
  return special.gammaln(k + 1.0) - special.gammaln(n + 1.0) - special.gammaln(
      k - n + 1.0)


def _ratio(stats, k, n, tau=0.0):
  """``σ²/margin²`` with margin ``min(α - τ, τ - β)`` (``α - τ`` alone when
  ``n = k``)."""
  alpha, beta, sigma2 = stats
  margin = np.where(np.asarray(n) < np.asarray(k),
                    np.minimum(alpha - tau, tau - beta), alpha - tau)
  return sigma2 / margin**2


class _AllInputs:
  """Ragged (k, n) pairs for n = 2..k, with per-group stats, for many k."""

  def __init__(self, ks, spec, kernel, readout=None):
    self.ks = ks
    counts = ks - 1  # n = 2..k
    self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    self.k = np.repeat(ks, counts).astype(np.float64)
    offsets = np.arange(self.k.size) - np.repeat(self.starts, counts)
    self.n = (offsets + 2).astype(np.float64)
    self.stats = symmetric_gp(self.k, self.n, spec=spec, kernel=kernel)
    self.log_binom = _log_binom(self.k, self.n)
    self.counts = counts
    self.kernel = kernel
    self.tau = Thresholds(resolve_readout(readout, kernel, spec), self.k,
                          self.n)

  def _terms(self, N_per_k, groups=None):
    """log C(k,n) P_fail(k,n,N) and slopes for the selected groups."""
    if groups is None:
      groups = np.arange(self.ks.size)
    counts = self.counts[groups]
    starts = np.cumsum(counts) - counts
    rows = (np.repeat(self.starts[groups] - starts, counts)
            + np.arange(counts.sum()))
    N = np.repeat(np.asarray(N_per_k, np.float64), counts)
    value, slope = _log_fail(self.k[rows], self.n[rows], N,
                             [v[rows] for v in self.stats],
                             self.tau.at(N, rows))
    return self.log_binom[rows] + value, slope, rows, starts, counts

  def log_union(self, N_per_k, groups=None):
    """``log Σ_n C(k,n) P_fail(k,n,N)`` per selected k, and its N-slope."""
    terms, slope, _, starts, counts = self._terms(N_per_k, groups)
    peak = np.maximum.reduceat(terms, starts)
    safe_peak = np.where(np.isfinite(peak), peak, 0.0)
    weights = np.exp(terms - np.repeat(safe_peak, counts))
    total = np.add.reduceat(weights, starts)
    mean_slope = np.add.reduceat(weights * slope, starts) / np.where(
        total > 0, total, 1.0)
    with np.errstate(divide="ignore"):
      value = np.where(np.isfinite(peak), safe_peak + np.log(total), -np.inf)
    return value, mean_slope

  def worst_ratio(self):
    """Per k: the largest σ²/margin² over n = 2..k, and the n attaining it."""
    ratios = _ratio(self.stats, self.k, self.n, self.tau.limit())
    best = np.maximum.reduceat(ratios, self.starts)
    where = np.array([int(self.n[s + np.argmax(ratios[s:s + c])])
                      for s, c in zip(self.starts, self.counts)])
    return best, where

  def binding_n(self, N_per_k):
    """The n contributing most to the union sum, per k."""
    terms, _, rows, starts, counts = self._terms(N_per_k)
    return np.array([int(self.n[rows[s + np.argmax(terms[s:s + c])]])
                     for s, c in zip(starts, counts)])


def smallest_n(excess, guess) -> np.ndarray:
  """Smallest integer ``N >= 1`` with ``excess(N) <= 0``, elementwise.

  ``excess(N, idx) -> (value, slope)`` evaluates elements ``idx`` at ensemble
  sizes ``N`` (float, same length as ``idx``); ``value`` (``log P_fail -
  log δ``) is decreasing in ``N`` and nearly linear. Safeguarded Newton steps
  find the continuous root (a bisection step whenever Newton leaves the
  bracket), then the integer answer is confirmed by evaluating ``N - 1`` and
  ``N`` exactly, stepping by one where rounding was off. Each round evaluates
  only the elements still open.

  Args:
    excess: vectorised ``(N, idx) -> (value, slope)``.
    guess: 1-D float array, a first estimate of each root.

  Returns:
    int64 array shaped like ``guess``.
  """
  x = np.clip(np.asarray(guess, np.float64), 1.0, float(MAX_ENSEMBLE))
  size = x.shape[0]
  lo = np.zeros(size)            # the root lies in (lo, hi]
  hi = np.full(size, np.inf)
  active = np.arange(size)
  for _ in range(200):
    if active.size == 0:
      break
    xa = x[active]
    value, slope = excess(xa, active)
    fails = value > 0
    lo[active] = np.where(fails, np.maximum(lo[active], xa), lo[active])
    hi[active] = np.where(fails, hi[active], np.minimum(hi[active], xa))
    with np.errstate(divide="ignore", invalid="ignore"):
      newton = xa - value / slope
    la, ha = lo[active], hi[active]
    fallback = np.where(np.isfinite(ha), 0.5 * (la + ha), 2.0 * xa)
    inside = np.isfinite(newton) & (newton > la) & (newton < ha)
    new = np.where(inside, newton, fallback)
    if np.any(new > MAX_ENSEMBLE):
      raise ValueError(f"no ensemble size up to {MAX_ENSEMBLE:.3g} reaches the"
                       f" target")
    x[active] = new
    done = (np.abs(new - xa) <= 1e-3) | (ha - la <= 0.5) | (new < 1.0)
    active = active[~done]
  # Confirm on the integers: smallest N with value <= 0.
  result = np.maximum(np.ceil(x - 1e-6), 1.0)
  active = np.arange(size)
  while active.size:
    cand = result[active]
    passes = excess(cand, active)[0] <= 0
    prev = np.maximum(cand - 1.0, 1.0)
    prev_fails = (cand <= 1.0) | (excess(prev, active)[0] > 0)
    result[active] = np.where(~passes, cand + 1.0,
                              np.where(prev_fails, cand, cand - 1.0))
    active = active[~(passes & prev_fails)]
  return result.astype(np.int64)


def _shift(value_slope, log_delta):
  value, slope = value_slope
  return value - log_delta, slope


def _guess(ratio, log_count, log_delta):
  """Sub-Gaussian estimate ``2 r ln(count / δ)`` of the ensemble size."""
  return np.maximum(2.0 * ratio * (log_count - log_delta), 1.0)


def _check_signs(stats, where, tau=0.0, readout=None, has_zero_bits=True):
  """Raises unless every threshold lies strictly between β_n and α_n (else
  no ensemble size reads those inputs right with high probability); β_n is
  checked only where the input has zero bits (``n < k``)."""
  alpha, beta = np.asarray(stats.alpha), np.asarray(stats.beta)
  bad = (alpha <= tau) | ((beta >= tau) & has_zero_bits)
  if np.any(bad):
    rule = "" if readout is None else f" under the {readout.name} readout"
    raise ValueError(f"the GP mean is on the wrong side of the threshold for "
                     f"{where}{rule}: no ensemble size reads it exactly with "
                     f"high probability")


def ensemble_size(k, *, n: int | None = None, target: float = 0.9,
                  kernel: str = "ntk", scope: str = "input",
                  spec: MLPSpec | None = None, readout=None):
  """Smallest ensemble size ``N`` with ``P(exact) >= target`` (Gaussian limit).

  Args:
    k: permutation size, an int ``>= 2`` or an array of them (vectorised).
    n: number of ones of the test input (``scope="input"`` only; default 2,
      the input with the weakest margin).
    target: required probability of exact rounding, in (0, 1).
    kernel: ``"ntk"`` (the theory, GD on all layers) or ``"nngp"`` (NNGP
      regression, which wide standard-parameterization nets follow).
    scope: ``"input"`` for one input, ``"all"`` for all ``2^k - 1`` inputs at
      once via the union bound grouped by ``n`` (an upper bound).
    spec: architecture (default: ReLU, no bias, the theory's network).
    readout: how the average becomes bits (:class:`permjax.Readout`;
      default the paper's zero rule). ``midpoint``/``optimal`` read each
      input at its own per-n threshold (docs/theory/readout.md §1).

  Returns:
    an int for scalar ``k``, else an int64 array shaped like ``k``.

  Example:
    >>> ensemble_size(10), ensemble_size(10, kernel="nngp")
    (333, 58)
    >>> ensemble_size([5, 20, 30]).tolist()
    [205, 579, 840]
    >>> from permjax._src import readout
    >>> ensemble_size(100000, readout=readout.midpoint())
    1
    >>> ensemble_size(30, scope="all", readout=readout.midpoint())
    60
    >>> ensemble_size(13, kernel="nngp", scope="all",
    ...               readout=readout.midpoint())  # follows the NNGP members
    16
  """
  target = check_target(target)
  _check_kernel(kernel)
  readout = resolve_readout(readout, kernel, spec)
  if scope not in SCOPES:
    raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
  ks = check_ks(k)
  shape = ks.shape
  flat = ks.reshape(-1)
  log_delta = math.log1p(-target)
  if scope == "input":
    n_eff = 2 if n is None else n
    check_n(n_eff, int(flat.min()))
    ns = np.full(flat.shape, n_eff, np.float64)
    if np.all(ns == 1):
      result = np.ones(flat.shape, np.int64)
    else:
      stats = symmetric_gp(flat, ns, spec=spec, kernel=kernel)
      tau = Thresholds(readout, flat, ns)
      _check_signs(stats, f"n={n_eff} ones at k={flat.tolist()[:5]}",
                   tau.limit(), readout, ns < flat)
      result = smallest_n(
          lambda N, idx: _shift(_log_fail(flat[idx], ns[idx], N,
                                          [v[idx] for v in stats],
                                          tau.at(N, idx)),
                                log_delta),
          _guess(_ratio(stats, flat, ns, tau.limit()), np.log(flat),
                 log_delta))
  else:
    if n is not None:
      raise ValueError(f"n={n!r} applies to scope='input' only; scope='all' "
                       f"covers every n")
    groups = _AllInputs(flat, spec, kernel, readout)
    _check_signs(groups.stats, f"some n at k in {flat.tolist()[:5]}",
                 groups.tau.limit(), readout, groups.n < groups.k)
    log_inputs = flat * math.log(2.0) + np.log1p(-np.exp2(-flat.astype(float)))
    result = smallest_n(
        lambda N, idx: _shift(groups.log_union(N, idx), log_delta),
        _guess(groups.worst_ratio()[0] / 4, np.log(flat) + log_inputs,
               log_delta))
  result = result.reshape(shape)
  return int(result) if result.ndim == 0 else result


def binding_n(k: int, N: int, *, kernel: str = "ntk",
              spec: MLPSpec | None = None, readout=None) -> int:
  """The number of ones whose inputs dominate the all-inputs union sum at N.

  Example:
    >>> binding_n(30, ensemble_size(30, scope="all"))
    2
  """
  _check_kernel(kernel)
  k = check_k(k)
  if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
    raise ValueError(f"N (ensemble size) must be an integer >= 1, got {N!r}")
  groups = _AllInputs(check_ks([k]), spec, kernel, readout)
  _check_signs(groups.stats, f"some n at k={k}", groups.tau.limit(),
               groups.tau.readout, groups.n < groups.k)
  return int(groups.binding_n([N])[0])


def worst_ratio(k, *, kernel: str = "ntk", spec: MLPSpec | None = None):
  """The worst input's ``σ² / margin²`` over ``n = 2..k`` and where it occurs.

  The margin of an input with ``n`` ones is ``min(α_n, |β_n|)`` (``α_n`` only
  when ``n = k``).

  Returns:
    ``(ratio, n)`` arrays shaped like ``k`` (scalars for scalar ``k``).

  Example:
    >>> ratio, n = worst_ratio(10)
    >>> n, round(float(ratio), 2)
    (2, 67.18)
  """
  _check_kernel(kernel)
  ks = check_ks(k)
  flat = ks.reshape(-1)
  best, where = _AllInputs(flat, spec, kernel).worst_ratio()
  best, where = best.reshape(ks.shape), where.reshape(ks.shape)
  if ks.ndim == 0:
    return float(best), int(where)
  return best, where


def paper_style_bound(k, *, target: float = 0.9, kernel: str = "ntk",
                      spec: MLPSpec | None = None):
  """The paper's all-inputs bound: worst ratio, union over every input and bit.

  Every bit of every input is treated as if it had the worst input's margin;
  the two-sided Gaussian tail ``2 exp(-N m² / (2σ²))`` is union-bounded over
  ``(2^k - 1) · k`` bits, giving::

      N = 2 · max_n (σ²_n / m_n²) · ln((2^k - 1) · 2k / δ),   δ = 1 - target,

  which grows like ``k²`` (the worst ratio is ``O(k)``, the log ``O(k)``).
  Because each Gaussian tail is below its sub-Gaussian bound, it is never
  smaller than the grouped :func:`ensemble_size` with ``scope="all"``.

  Returns:
    ``ceil`` of the bound: an int for scalar ``k``, else an int64 array.

  Example:
    >>> paper_style_bound(10)
    1644
  """
  delta = 1.0 - check_target(target)
  ratio, _ = worst_ratio(k, kernel=kernel, spec=spec)
  ks = check_ks(k).astype(np.float64)
  log_inputs = ks * math.log(2.0) + np.log1p(-np.exp2(-ks))
  bound = np.ceil(2.0 * np.asarray(ratio) * (log_inputs + np.log(2.0 * ks)
                                             - math.log(delta)))
  bound = bound.astype(np.int64)
  return int(bound) if bound.ndim == 0 else bound


def worst_n(k, *, target: float = 0.9, kernel: str = "ntk",
            spec: MLPSpec | None = None) -> int:
  """The number of ones whose single input needs the largest ensemble.

  Example:
    >>> worst_n(10)
    2
  """
  _check_kernel(kernel)
  k = check_k(k)
  if k > 1 << 20:
    raise ValueError(f"worst_n(k={k:,}) solves one ensemble size per n = "
                     f"2..k; above k = {1 << 20:,} that is beyond a call; "
                     f"use ensemble_size(k, n=...) for the n of interest")
  ns = np.arange(2, k + 1)
  stats = symmetric_gp(np.full(ns.shape, k), ns, spec=spec, kernel=kernel)
  _check_signs(stats, f"some n at k={k}")
  log_delta = math.log1p(-check_target(target))
  flat_k = np.full(ns.shape, k, np.float64)
  sizes = smallest_n(
      lambda N, idx: _shift(_log_fail(flat_k[idx], ns[idx], N,
                                      [v[idx] for v in stats]), log_delta),
      _guess(_ratio(stats, flat_k, ns), np.log(flat_k), log_delta))
  return int(ns[np.argmax(sizes)])


def paper_figure_bound(k, *, delta: float = 1e-4, kernel: str = "ntk",
                       spec: MLPSpec | None = None):
  """Reverse-engineered curve of the paper's Fig. 1 (left): ``8 σ²₂/β₂² ln(2k/δ)``.

  Not derived here: it reproduces the plotted "Eq. (21)" curve of
  arXiv 2502.16763v1 to about 2% with ``δ = 1e-4`` (docs/theory/permutation.md §7). Label it so.

  Returns:
    float64 array shaped like ``k`` (a float for scalar ``k``).

  Example:
    >>> round(paper_figure_bound(10))
    6560
  """
  delta = validation.real("delta", delta, 0.0, 1.0, low_open=True,
                          high_open=True)
  _check_kernel(kernel)
  ks = check_ks(k)
  if ks.min() < 3:
    raise ValueError(f"paper_figure_bound needs k >= 3, got k={ks.min()}: at "
                     f"k = 2 the input with 2 ones has no zero bit, so β₂ is "
                     f"no margin")
  ks = ks.astype(np.float64)
  stats = symmetric_gp(ks, np.full(ks.shape, 2.0), spec=spec, kernel=kernel)
  out = 8.0 * stats.sigma2 / stats.beta**2 * np.log(2.0 * ks / delta)
  return float(out) if out.ndim == 0 else out


def ensemble_size_enumerated(perm, *, target: float = 0.9,
                             kernel: str = "ntk", scope: str = "input",
                             n: int | None = None,
                             spec: MLPSpec | None = None,
                             backend: str = "nt",
                             max_inputs: int = 1 << 14) -> int:
  """Reference path: :func:`ensemble_size` by enumerating inputs one by one.

  Computes every input's GP mean and variance with :func:`gp_predict` (by
  default through neural-tangents), then searches the smallest ``N`` with
  ``max_x P_fail(x) <= δ`` (``scope="input"``, inputs with ``n`` ones) or
  ``Σ_x P_fail(x) <= δ`` (``scope="all"``, the union bound over all inputs).
  It uses no symmetry, so it checks the grouped closed form; it costs
  ``O(2^k)`` and is meant for small ``k``.

  Args:
    perm: the permutation (the answer must not depend on it).
    target, kernel, scope, n, spec: as in :func:`ensemble_size`.
    backend: ``gp_predict`` backend.
    max_inputs: refuse to enumerate more inputs than this.

  Returns:
    the ensemble size, an int.

  Example:
    >>> ensemble_size_enumerated([1, 2, 3, 4, 0])
    205
  """
  from permjax._src import gp as gp_lib  # pylint: disable=import-outside-toplevel
  from permjax._src import permutation as perm_lib  # pylint: disable=import-outside-toplevel
  target = check_target(target)
  _check_kernel(kernel)
  if scope not in SCOPES:
    raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
  if scope == "all" and n is not None:
    raise ValueError(f"n={n!r} applies to scope='input' only; scope='all' "
                     f"covers every n")
  perm = perm_lib.validate_permutation(perm)
  spec = MLPSpec(width=1) if spec is None else spec
  train = perm_lib.training_set(perm)
  if scope == "input":
    test = perm_lib.inputs_with_n_ones(perm, 2 if n is None else n,
                                       max_inputs=max_inputs)
  else:
    test = perm_lib.all_inputs(perm, max_inputs=max_inputs)
  pred = gp_lib.gp_predict(spec, train.x, train.y, test.x, backend=backend,
                           kernel=kernel)
  var = np.maximum(np.diag(pred.cov), 0.0)
  sigma = np.sqrt(var)[:, None]
  signed = np.where(test.y == 1, pred.mean, -pred.mean)
  # Training points are interpolated exactly (their variance is rounding
  # noise, ~1e-17, not a scale to compare against).
  train_rows = {row.tobytes() for row in np.asarray(train.x, np.float64)}
  exact = np.array([row.tobytes() in train_rows
                    for row in np.asarray(test.x, np.float64)])
  wrong = (pred.mean > 1e-10) != (test.y == 1)  # rounding at a tiny threshold
  if np.any(exact[:, None] & wrong):
    raise ValueError("an interpolated input has a wrong deterministic output")
  if np.all(exact):
    return 1  # every input is a training point: interpolated exactly
  delta = 1.0 - target

  def fail(N):
    z = signed[~exact] * np.sqrt(N) / sigma[~exact]
    per_input = -np.expm1(special.log_ndtr(z).sum(axis=1))
    return per_input.max() if scope == "input" else per_input.sum()

  if fail(1) <= delta:
    return 1
  lo, hi = 1, 2
  while fail(hi) > delta:
    lo, hi = hi, hi * 2
    if hi > MAX_ENSEMBLE:
      raise ValueError("no ensemble size reaches the target")
  while hi - lo > 1:
    mid = (lo + hi) // 2
    lo, hi = (lo, mid) if fail(mid) <= delta else (mid, hi)
  return hi
