"""Executing template programs with a predictor and a readout.

A *predictor* maps states to the averaged network outputs on their encodings:
``predictor(program, x) -> (B, D)`` with ``x = program.encode(states)``, plus
an attribute ``members`` (the ensemble size its outputs average, for readouts
that depend on it). :func:`exact_mean` is the infinite-width, infinite-
ensemble predictor: the trained GP's mean in closed form (TEMPLATES.md §3.1),

    μ_j = γ_n c1_j + β_n C_j,   γ_n = α_n − β_n,

with ``n`` matched templates, ``c1_j`` of them writing bit j, ``C_j`` the
column weight, and ``α_n, β_n`` of :func:`permjax.symmetric_gp` at
``k = T + pad``. Ensemble predictors (GP draws, finite networks) plug into
the same interface.

:func:`execute` iterates the full step budget from initial states, reading
bits with a :class:`permjax.Readout`, and compares every step with the OR
rule and the final state with the plain-integer ground truth.
:func:`execution_ensemble_size` is the program counterpart of
:func:`permjax.ensemble_size`: the union bound over the distinct reachable
states and all their bits of an N-member Gaussian average.
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


class ExactMean:
  """The trained GP's mean on template inputs, closed form, float64.

  Example:
    >>> prog = tpl.addition_program(2)
    >>> states = prog.initial_states([1], [3])
    >>> mean = ExactMean()(prog, prog.encode(states))
    >>> bool(np.array_equal(mean > 1e-10, prog.step(states)))
    True
  """

  def __init__(self, kernel: str = "ntk", spec=None):
    if kernel not in gp_lib.KERNELS:
      raise ValueError(f"kernel must be one of {gp_lib.KERNELS}, got "
                       f"{kernel!r}")
    self.kernel = kernel
    self.spec = spec
    self.members = math.inf
    self._cache = {}

  def stats(self, k: int, n: np.ndarray):
    """``(α_n, β_n, σ²_n)`` per row (zeros for ``n = 0``: x = 0), computed
    once per distinct ``(k, n)``."""
    values, inverse = np.unique(n, return_inverse=True)
    table = np.zeros((3, len(values)))
    for i, v in enumerate(values.tolist()):
      if v > 0:
        if (k, v) not in self._cache:
          s = gp_lib.symmetric_gp(k, v, spec=self.spec, kernel=self.kernel)
          self._cache[(k, v)] = (float(s.alpha), float(s.beta),
                                 float(s.sigma2))
        table[:, i] = self._cache[(k, v)]
    return table[:, inverse.reshape(n.shape)]

  def __call__(self, program: tpl.Program, x) -> np.ndarray:
    x = np.asarray(x)
    matched = x[:, :program.T] > 0
    n = matched.sum(1)
    c1 = program.writes_of(matched)
    alpha, beta, _ = self.stats(program.k, n)
    weights = program.column_weights()[None]
    return (alpha - beta)[:, None] * c1 + beta[:, None] * weights


def exact_mean(kernel: str = "ntk", spec=None) -> ExactMean:
  """The infinite-width mean predictor (see :class:`ExactMean`).

  Example:
    >>> prog = tpl.multiplication_program(1)
    >>> x = prog.encode(prog.initial_states([1], [1]))
    >>> exact_mean()(prog, x).shape
    (1, 19)
  """
  return ExactMean(kernel, spec)


class NTReferenceMean:
  """The reference predictor: neural-tangents' ``nt.predict``, one state at
  a time, float64 — the way the authors' validators compute the NTK mean
  (``opallab/binary_algos``, ``validation/validate_*.py``). Slow; it checks
  :class:`ExactMean` and is the baseline of ``benchmarks/templates_speed.py``.

  Example:
    >>> prog = tpl.addition_program(2)
    >>> x = prog.encode(prog.initial_states([1, 2], [3, 1]))
    >>> ref = NTReferenceMean()(prog, x)
    >>> bool(np.allclose(ref, ExactMean()(prog, x), atol=1e-12))
    True
  """

  def __init__(self, kernel: str = "ntk"):
    if kernel not in gp_lib.KERNELS:
      raise ValueError(f"kernel must be one of {gp_lib.KERNELS}, got "
                       f"{kernel!r}")
    self.kernel = kernel
    self.members = math.inf
    self._fns = {}

  def _predict_fn(self, program):
    import jax  # pylint: disable=import-outside-toplevel
    from permjax._src.models import MLPSpec  # pylint: disable=import-outside-toplevel
    from permjax._src.nt_compat import nt  # pylint: disable=import-outside-toplevel
    if program.name not in self._fns:
      x_train, y_train = program.training_set()
      kernel_fn = MLPSpec(width=1).nt_triple(program.D).kernel_fn
      with jax.enable_x64(True):
        self._fns[program.name] = nt.predict.gradient_descent_mse_ensemble(
            kernel_fn, x_train, y_train, diag_reg=0.0)
    return self._fns[program.name]

  def __call__(self, program: tpl.Program, x) -> np.ndarray:
    import jax  # pylint: disable=import-outside-toplevel
    predict_fn = self._predict_fn(program)
    out = np.zeros((len(x), program.D))
    with jax.enable_x64(True):
      for i, row in enumerate(np.asarray(x, np.float64)):
        if row.any():
          out[i] = np.asarray(predict_fn(x_test=row[None], get=self.kernel,
                                         compute_cov=True).mean)[0]
    return out


def read_bits(program: tpl.Program, outputs, x, readout, members=1, *,
              fix_structural_zeros: bool = False) -> np.ndarray:
  """Bits of the next states: the readout on rows that match a template,
  all zeros on rows that match none (a zero input; TEMPLATES.md §5.4), and
  the structural-zero columns forced to 0 if asked."""
  outputs = np.asarray(outputs, np.float64)
  bits = np.zeros(outputs.shape, bool)
  live = np.asarray(x).any(axis=1)
  if live.any():
    bits[live] = readout.bits(outputs[live], np.asarray(x)[live], members)
  if fix_structural_zeros:
    bits[:, program.structural_zeros()] = False
  return bits


class Execution(NamedTuple):
  """What :func:`execute` found.

  Attributes:
    pairs: operand pairs run.
    steps: steps run per pair.
    all_correct: every final result equals the ground truth (with
      ``until_first_error``: every pair followed the OR rule to the end).
    matches_or_rule: every step of every pair equals the OR rule.
    first_failure: None, or a dict (pair, step, fields that differ) of the
      first step that left the OR rule (or of the first wrong result).
    wrong_results: how many pairs ended with a wrong result (with
      ``until_first_error``: how many left the OR rule; they are not run on).
    seconds: wall time.
    failed_pairs: pairs that left the OR rule at some step or ended with a
      wrong result.
  """
  pairs: int
  steps: int
  all_correct: bool
  matches_or_rule: bool
  first_failure: dict | None
  wrong_results: int
  seconds: float
  failed_pairs: int = 0


def _differing_fields(program, a, b):
  return [name for name, _ in program.fields
          if not np.array_equal(program.field(a, name), program.field(b, name))]


def _run_batch(program, predictor, readout, sa, sb, fix_structural_zeros,
               until_first_error):
  """Runs one batch of pairs; returns (first failure, wrong results, failed
  per pair, whether some step left the OR rule)."""
  states = program.initial_states(sa, sb)
  left = np.zeros(len(sa), bool)
  first = None
  deviated = False
  for step in range(1, program.steps + 1):
    run = np.flatnonzero(~left) if until_first_error else np.arange(len(sa))
    if not run.size:
      break
    matched = program._matches(states[run])  # pylint: disable=protected-access
    x = program.encode_matches(matched)
    outputs = predictor(program, x)
    nxt = read_bits(program, outputs, x, readout, predictor.members,
                    fix_structural_zeros=fix_structural_zeros)
    ref = program.writes_of(matched) > 0
    bad = np.flatnonzero((nxt != ref).any(axis=1))
    if bad.size and first is None:
      i, j = int(run[bad[0]]), int(bad[0])
      first = {"a": int(sa[i]), "b": int(sb[i]), "step": step,
               "fields": _differing_fields(program, nxt[j], ref[j])}
    left[run[bad]] = True
    deviated |= bool(bad.size)
    states[run] = nxt
  if until_first_error:
    return first, int(left.sum()), left, deviated
  got = program.results(states)
  want = program.ground_truth(sa, sb)
  miss = np.flatnonzero(got != want)
  if miss.size and first is None:
    i = int(miss[0])
    first = {"a": int(sa[i]), "b": int(sb[i]), "step": program.steps,
             "fields": ["result"], "got": int(got[i]), "want": int(want[i])}
  left[miss] = True
  return first, int(miss.size), left, deviated


def execute(program: tpl.Program, predictor, readout=None, a=None, b=None, *,
            fix_structural_zeros: bool = False, until_first_error: bool = False,
            batch: int = 1 << 15, progress: bool = False) -> Execution:
  """Runs every operand pair (or the given ``a``, ``b``) for the whole step
  budget with ``predictor`` and ``readout``, checking each step against the
  OR rule and each result against the integer ground truth.

  Args:
    program: a :class:`permjax.Program`.
    predictor: ``(program, x) -> (B, D)`` averaged outputs, with a
      ``members`` attribute (e.g. :func:`exact_mean`, or an ensemble's
      :func:`permjax.gp_ensemble_mean`).
    readout: a :class:`permjax.Readout`; default the zero rule (ε = 1e-10).
    a, b: operand arrays; default every pair.
    fix_structural_zeros: force the bits no template writes to 0.
    until_first_error: stop running a pair at its first step off the OR rule
      (it has failed; an ensemble predictor is only defined on the ideal
      trajectories).
    batch: pairs per batch (memory).
    progress: a tqdm bar over batches on stderr.

  Returns:
    :class:`Execution`.

  Example:
    >>> prog = tpl.addition_program(3)
    >>> run = execute(prog, exact_mean())
    >>> run.pairs, run.all_correct, run.matches_or_rule
    (64, True, True)
  """
  readout = readout_lib.zero() if readout is None else readout
  if a is None:
    a, b = program.all_pairs()
  a, b = program.check_operands(a, b)
  start = time.perf_counter()
  first, wrong, failed, deviated = None, 0, 0, False
  bar = None
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    bar = tqdm(total=len(a), unit="pair", desc=program.name)
  for s0 in range(0, len(a), batch):
    sa, sb = a[s0:s0 + batch], b[s0:s0 + batch]
    got_first, got_wrong, left, got_deviated = _run_batch(
        program, predictor, readout, sa, sb, fix_structural_zeros,
        until_first_error)
    first = got_first if first is None else first
    wrong += got_wrong
    failed += int(left.sum())
    deviated |= got_deviated
    if bar is not None:
      bar.update(len(sa))
  if bar is not None:
    bar.close()
  return Execution(len(a), program.steps, wrong == 0, not deviated,
                   first, wrong, round(time.perf_counter() - start, 3), failed)


def reachable_states(program: tpl.Program, a=None, b=None) -> np.ndarray:
  """The distinct states the OR rule visits from the initial states of every
  pair (or ``a``, ``b``), including the initial ones, over the step budget;
  ``(S, D)`` bool.

  Example:
    >>> reachable_states(tpl.addition_program(1)).astype(int).tolist()
    [[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0], [1, 1, 0]]
  """
  if a is None:
    a, b = program.all_pairs()
  states = program.initial_states(a, b)
  seen = [np.unique(states, axis=0)]
  for _ in range(program.steps):
    states = program.step(states)
    states = np.unique(states, axis=0)
    seen.append(states)
  return np.unique(np.concatenate(seen), axis=0)


def execution_ensemble_size(program: tpl.Program, readout=None, *,
                            kernel: str = "ntk", target: float = 0.9,
                            fix_structural_zeros: bool = False,
                            states=None) -> int:
  """Members for P(every bit of every reachable state right) ≥ ``target``,
  by the union bound (Gaussian limit; TEMPLATES.md §3.5).

  Over the distinct reachable states with ``n ≥ 2`` matched templates
  (``n = 1`` states are training points, exact) and all their output bits,
  with the N-member average 𝒩(μ, σ²_n/N) and the OR rule's bit as the truth:
  ``Σ P(bit wrong) ≤ 1 − target``. A structural-zero bit (no template writes
  it) has mean exactly 0: at a threshold of 0 it is a coin flip for every N
  (the bound is then infinite and this raises), unless
  ``fix_structural_zeros``.

  Args:
    program: the program.
    readout: a :class:`permjax.Readout` (``zero``, ``fixed``, ``midpoint``,
      ``optimal``; default zero).
    kernel: the GP the members follow (``"ntk"`` or ``"nngp"``).
    target: the probability that everything is right.
    fix_structural_zeros: leave the structural-zero bits out (hard-wired).
    states: the states to cover (default: every reachable state).

  Returns:
    the smallest N, an int.

  Example:
    >>> execution_ensemble_size(tpl.addition_program(2),
    ...                         fix_structural_zeros=True)   # TEMPLATES §3.5
    439
  """
  readout = readout_lib.zero() if readout is None else readout
  if readout.rule == "self_calibrated":
    raise ValueError("the self_calibrated readout has no analytic ensemble "
                     "size; use midpoint or optimal")
  delta = 1.0 - complexity._check_target(target)  # pylint: disable=protected-access
  states = reachable_states(program) if states is None else states
  n, c1 = program.write_counts(states)
  truth = program.step(states)
  live = n >= 2
  n, c1, truth = n[live], c1[live], truth[live]
  weights = np.broadcast_to(program.column_weights(), c1.shape)
  keep = np.ones(c1.shape, bool)
  if fix_structural_zeros:
    keep &= ~program.structural_zeros()[None]
  # Distinct (n, c1, C, truth) cells with their multiplicity.
  cells = np.stack([np.broadcast_to(n[:, None], c1.shape)[keep], c1[keep],
                    weights[keep], truth[keep]], axis=1)
  if not len(cells):
    return 1  # every reachable state is a training point: exact
  cells, counts = np.unique(cells, axis=0, return_counts=True)
  cn, cc1, cw, ct = (cells[:, i].astype(np.float64) for i in range(4))
  stats = gp_lib.symmetric_gp(program.k, cn.astype(np.int64), kernel=kernel)
  mean = (stats.alpha - stats.beta) * cc1 + stats.beta * cw
  sign = np.where(ct > 0, 1.0, -1.0)
  # The same thresholds as ensemble_size (the per-n rules with n = the
  # number of matched templates, k = T + pad).
  tau = complexity._threshold(readout, program.k, cn, stats, kernel, None)  # pylint: disable=protected-access

  def tau_of(N):
    if isinstance(tau, str):  # "optimal": it depends on N
      return readout_lib.optimal_threshold(program.k, cn, N, stats)
    return tau
  margin_at = lambda N: sign * (mean - tau_of(N))  # pylint: disable=unnecessary-lambda-assignment
  dead = margin_at(1.0) <= 0
  if readout.rule != "optimal" and dead.any():
    i = int(np.flatnonzero(dead)[0])
    raise ValueError(
        f"{program.name}: under the {readout.name} readout a reachable bit "
        f"with n={int(cn[i])} matched templates has mean {mean[i]:.3g} on the "
        f"wrong side of (or at) the threshold, so no ensemble size reads it "
        f"right with high probability"
        + ("" if fix_structural_zeros else
           " (a structural zero? pass fix_structural_zeros=True)"))
  log_counts = np.log(counts)
  sigma = np.sqrt(stats.sigma2)
  log_delta = math.log(delta)

  def excess(N, _idx=None):
    N = float(np.asarray(N).reshape(-1)[0])
    z = margin_at(N) * math.sqrt(N) / sigma
    total = special.logsumexp(log_counts + special.log_ndtr(-z))
    return np.array([total - log_delta]), np.array([np.nan])

  return int(complexity._smallest_n(  # pylint: disable=protected-access
      excess, np.array([1.0]))[0])
