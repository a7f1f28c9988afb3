"""Executing template programs with a predictor and a readout.

:func:`execute` iterates the full step budget from initial states, reading
each next state from a predictor's averaged outputs with a
:class:`permjax.Readout` (predictors: :mod:`permjax._src.predictors`), and
compares every step with the OR rule and the final state with the
plain-integer ground truth.

The OR rule's ideal runs are walked by one generator (:func:`ideal_runs`),
from which come the states a program reaches (:func:`reachable_states`) and
the test set of an ensemble executing it (:func:`program_test_set`: the
distinct encodings on the pairs' ideal runs, docs/theory/templates.md §4.1).

:func:`execution_ensemble_size` is the program counterpart of
:func:`permjax.ensemble_size`: the union bound over the distinct reachable
states and all their bits of an N-member Gaussian average
(docs/theory/templates.md §3.4); :func:`margin` is the margin readout
(docs/theory/readout.md §7).
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np

from permjax._src import certificates
from permjax._src import complexity
from permjax._src import gp as gp_lib
from permjax._src import predictors
from permjax._src import readout as readout_lib
from permjax._src import templates as tpl
from permjax._src.scorers import ProgramTestSet


def ideal_runs(program: tpl.Program, states, *, distinct: bool = False):
  """The OR rule's runs from ``states`` (``(B, D)`` bool) over the step
  budget: yields ``(states, matches)`` before each step (``matches`` the
  ``(B, T)`` templates they match), then ``(final states, None)``.

  ``distinct=True`` keeps only distinct states after each step (the set of
  reachable states, not the runs of each pair).

  Example:
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(2)
    >>> steps = list(ideal_runs(prog, prog.initial_states([3], [1])))
    >>> len(steps), prog.results(steps[-1][0]).tolist()
    (5, [4])
  """
  states = np.asarray(states, bool)
  if distinct:
    states = np.unique(states, axis=0)
  for _ in range(program.steps):
    matches = program.matches_unchecked(states)
    yield states, matches
    states = program.writes_of(matches) > 0
    if distinct:
      states = np.unique(states, axis=0)
  yield states, None


def _operands(program, a, b):
  program = predictors.check_program(program)
  if a is None and b is None:
    a, b = program.all_pairs()
  elif a is None or b is None:
    raise ValueError("give both operand arrays a and b, or neither (every "
                     "pair)")
  return program.check_operands(a, b)


def reachable_states(program: tpl.Program, a=None, b=None) -> np.ndarray:
  """The distinct states the OR rule visits from the initial states of every
  pair (or ``a``, ``b``), including the initial ones, over the step budget;
  ``(S, D)`` bool.

  Example:
    >>> from permjax._src.programs import addition
    >>> reachable_states(addition.addition_program(1)).astype(int).tolist()
    [[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0], [1, 1, 0]]
  """
  a, b = _operands(program, a, b)
  seen = [states for states, _ in ideal_runs(
      program, program.initial_states(a, b), distinct=True)]
  return np.unique(np.concatenate(seen), axis=0)


def program_test_set(program: tpl.Program, a=None, b=None) -> ProgramTestSet:
  """The encodings an ensemble reads on the ideal runs of pairs ``(a, b)``
  (default: every pair), over the full step budget.

  Example:
    >>> from permjax._src.programs import addition
    >>> test = program_test_set(addition.addition_program(2))
    >>> test.x.shape, test.truth.shape, test.path.shape
    ((22, 8), (22, 6), (16, 4))
  """
  a, b = _operands(program, a, b)
  seen = [matches for _, matches in ideal_runs(
      program, program.initial_states(a, b)) if matches is not None]
  matches = np.stack(seen, axis=1)  # (P, steps, T)
  flat = matches.reshape(-1, program.T)
  packed = np.packbits(flat, axis=1)
  _, first, inverse = np.unique(packed, axis=0, return_index=True,
                                return_inverse=True)
  distinct = flat[first]
  live = distinct.any(axis=1)
  row = np.where(live, np.cumsum(live) - 1, -1)
  path = row[inverse.reshape(-1)].reshape(len(a), program.steps)
  distinct = distinct[live]
  return ProgramTestSet(program.encode_matches(distinct),
                        program.writes_of(distinct) > 0, path, a, b,
                        program.name, program.fingerprint)


def margin(program: tpl.Program, kernel: str = "ntk",
           states=None, *, matches=None) -> readout_lib.Readout:
  """The margin readout of a program: one threshold, half the smallest
  1-bit mean of the exact ``kernel`` mean over the reachable ``states``
  (default: every state of every pair; docs/theory/readout.md §7), or over
  the encodings of ``matches`` (``(S, T)`` bool, the templates each
  matches) where those are what is known (a graph run's visited
  encodings).

  Example:
    >>> from permjax._src.programs import addition
    >>> round(margin(addition.addition_program(4)).tau, 4)
    0.1628
  """
  program = predictors.check_program(program)
  matched = _matches_of(program, states, matches)
  n = matched.sum(1)
  live = matched[n >= 2]
  if not len(live):
    live = matched[n >= 1]
  mean = predictors.exact_mean(kernel)(program, program.encode_matches(live))
  ones = program.writes_of(live) > 0
  if not ones.any():
    raise ValueError(f"{program.name}: no reachable state writes a 1-bit, "
                     f"so the margin rule has no threshold")
  return readout_lib.Readout("margin", 0.5 * float(mean[ones].min()),
                             kernel=kernel)


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
    readout: the readout's description.
  """
  pairs: int
  steps: int
  all_correct: bool
  matches_or_rule: bool
  first_failure: dict | None
  wrong_results: int
  seconds: float
  failed_pairs: int = 0
  readout: dict | None = None


def _differing_fields(program, a, b):
  return [name for name, _ in program.fields
          if not np.array_equal(program.field(a, name), program.field(b, name))]


def _run_batch(program, predictor, readout, sa, sb, until_first_error,
               decisions=None):
  """Runs one batch of pairs; returns (first failure, wrong results, failed
  per pair, whether some step left the OR rule). ``decisions``: a
  count-determined predictor's :class:`permjax.CountDecisions`."""
  states = program.initial_states(sa, sb)  # each pair's latest state
  left = np.zeros(len(sa), bool)
  first = None
  deviated = False
  # The pairs still running (their states are the rows of ``cur``). A pair
  # whose state the predictor and the OR rule both leave unchanged (a
  # halted machine, a finished addition) is settled: it stays there (the
  # predictor is a function of the state), so it is retired, its state kept
  # in ``states``, and the running rows are compacted.
  run, cur = np.arange(len(sa)), states
  for step in range(1, program.steps + 1):
    if not run.size:
      break
    matched = program.matches_unchecked(cur)
    c1 = program.writes_of(matched)
    ref = c1 > 0
    nxt = predictors.read_step(program, predictor, readout, matched, c1,
                               ref, decisions)
    # (B, D) arrays here are views of bit-major (D, B) ones: reduce over
    # their rows, and keep them bit-major when compacting.
    wrong = (np.zeros(len(run), bool) if nxt is ref
             else (nxt.T != ref.T).any(axis=0))
    bad = np.flatnonzero(wrong)
    if bad.size and first is None:
      i, j = int(run[bad[0]]), int(bad[0])
      first = {"a": int(sa[i]), "b": int(sb[i]), "step": step,
               "fields": _differing_fields(program, nxt[j], ref[j])}
    left[run[bad]] = True
    deviated |= bool(bad.size)
    retire = (nxt.T == np.asarray(cur).T).all(axis=0) & ~wrong
    if until_first_error:
      retire |= wrong
    if retire.any():
      states[run[retire]] = nxt[retire]
      stay = ~retire
      run = run[stay]
      cur = np.asarray(nxt).T[:, stay].T
    else:
      cur = nxt
  states[run] = cur
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


def check_predictor(predictor):
  """``predictor`` if it is callable with a valid ``members``; else one
  TypeError/ValueError saying what a predictor is."""
  members = getattr(predictor, "members", None)
  if not callable(predictor) or members is None:
    raise TypeError(f"predictor must be callable (program, x) -> (B, D) with "
                    f"a 'members' attribute (e.g. permjax.exact_mean()), got "
                    f"{predictor!r}")
  if isinstance(members, bool) or not (
      isinstance(members, (int, np.integer))
      or members == math.inf) or members < 1:
    raise ValueError(f"predictor.members must be an integer >= 1 or inf, "
                     f"got {members!r}")
  return predictor


def execute(program: tpl.Program, predictor, readout=None, a=None, b=None, *,
            until_first_error: bool = False, batch: int = 1 << 15,
            progress: bool = False) -> Execution:
  """Runs every operand pair (or the given ``a``, ``b``) for the whole step
  budget with ``predictor`` and ``readout``, checking each step against the
  OR rule and each result against the integer ground truth.

  Args:
    program: a :class:`permjax.Program`.
    predictor: ``(program, x) -> (B, D)`` averaged outputs, with a
      ``members`` attribute (e.g. :func:`permjax.exact_mean`, or an
      ensemble's :func:`permjax.gp_ensemble_mean`); a ``kernel`` attribute,
      if any, is the kernel per-n readouts without one follow.
    readout: a :class:`permjax.Readout`; default the zero rule (ε = 1e-10).
      Its fixed zeros (e.g. ``from_name("zero_fixed", program=...)``) are
      hard-wired to 0.
    a, b: operand arrays; default every pair.
    until_first_error: stop running a pair at its first step off the OR rule
      (it has failed; an ensemble predictor is only defined on the ideal
      trajectories).
    batch: pairs per batch (memory), an integer >= 1.
    progress: a tqdm bar over batches on stderr.

  Returns:
    :class:`Execution`.

  Example:
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(3)
    >>> run = execute(prog, predictors.exact_mean())
    >>> run.pairs, run.all_correct, run.matches_or_rule
    (64, True, True)
  """
  program = predictors.check_program(program)
  predictor = check_predictor(predictor)
  readout = readout_lib.check_readout(
      readout_lib.zero() if readout is None else readout)
  readout = readout.follow(getattr(predictor, "kernel", None))
  # a count-determined predictor's bits, tabulated once by its own float64
  # path (the mean from counts, then the readout) and then only looked up
  decisions = (predictors.CountDecisions(program, predictor, readout)
               if predictors.reads_counts(predictor, readout) else None)
  if (isinstance(batch, bool) or not isinstance(batch, (int, np.integer))
      or batch < 1):
    raise ValueError(f"batch (pairs per batch) must be an integer >= 1, got "
                     f"{batch!r}")
  a, b = _operands(program, a, b)
  if not len(a):
    raise ValueError(f"{program.name}: no operand pairs to run")
  start = time.perf_counter()
  first, wrong, failed, deviated = None, 0, 0, False
  bar = None
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    bar = tqdm(total=len(a), unit="pair", desc=program.name)
  for s0 in range(0, len(a), batch):
    sa, sb = a[s0:s0 + batch], b[s0:s0 + batch]
    got_first, got_wrong, left, got_deviated = _run_batch(
        program, predictor, readout, sa, sb, until_first_error, decisions)
    first = got_first if first is None else first
    wrong += got_wrong
    failed += int(left.sum())
    deviated |= got_deviated
    if bar is not None:
      bar.update(len(sa))
  if bar is not None:
    bar.close()
  return Execution(len(a), program.steps, wrong == 0, not deviated,
                   first, wrong, round(time.perf_counter() - start, 3), failed,
                   readout.to_dict())


def _matches_of(program, states, matches):
  """The ``(S, T)`` templates matched by ``states`` (default: every
  reachable state), or ``matches`` checked."""
  if matches is not None:
    if states is not None:
      raise ValueError("give states or matches, not both")
    return program.check_matches(matches)
  states = (reachable_states(program) if states is None
            else program.check_states(states))
  return program.matches_unchecked(states)


def execution_ensemble_size(program: tpl.Program, readout=None, *,
                            kernel: str = "ntk", target: float = 0.9,
                            states=None, matches=None) -> int:
  """Members for P(every bit of every reachable state right) ≥ ``target``,
  by the union bound (Gaussian limit; docs/theory/templates.md §3.4).

  Over the distinct reachable states with ``n ≥ 2`` matched templates
  (``n = 1`` states are training points, exact) and all their output bits
  but the readout's fixed zeros, with the N-member average 𝒩(μ, σ²_n/N) and
  the OR rule's bit as the truth: ``Σ P(bit wrong) ≤ 1 − target``. A
  structural-zero bit (no template writes it) has mean exactly 0: at a
  threshold of 0 it is a coin flip for every N (the bound is then infinite
  and this raises), unless the readout fixes it (``zero_fixed``).

  Args:
    program: the program.
    readout: a :class:`permjax.Readout` with analytic thresholds (default
      zero); a per-n rule without a kernel follows ``kernel``.
    kernel: the GP the members follow (``"ntk"`` or ``"nngp"``).
    target: the probability that everything is right.
    states: the states to cover (default: every reachable state).
    matches: instead of ``states``, ``(S, T)`` bool: the templates each
      encoding to cover matches (a graph run's visited encodings).

  Returns:
    the smallest N, an int.

  Example:
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(2)
    >>> execution_ensemble_size(prog, readout_lib.from_name(
    ...     "zero_fixed", program=prog))
    439
  """
  program = predictors.check_program(program)
  if kernel not in gp_lib.KERNELS:
    raise ValueError(f"kernel must be one of {gp_lib.KERNELS}, got "
                     f"{kernel!r}")
  readout = complexity.resolve_readout(readout, kernel)
  complexity.check_target(target)
  matched = _matches_of(program, states, matches)
  matched = matched[matched.sum(1) >= 2]
  weights = program.column_weights().astype(np.int64)
  keep = np.ones(program.D, bool)
  keep[list(readout.fixed_zeros)] = False
  weights = weights[keep]
  if not len(matched) or not keep.any():
    return 1  # every reachable state is a training point: exact
  # Cells (n, c1, C) — the bit's truth is c1 > 0 — counted by one bincount
  # of a small integer key per (state, bit), a block of states at a time.
  side = int(weights.max()) + 1
  n_all = matched.sum(1).astype(np.int64)
  counts = np.zeros((int(n_all.max()) + 1) * side * side, np.int64)
  block = max(1, (1 << 24) // program.D)
  for lo in range(0, len(matched), block):
    c1 = program.writes_of(matched[lo:lo + block]).astype(np.int64)[:, keep]
    key = (n_all[lo:lo + block, None] * side + c1) * side + weights
    counts += np.bincount(key.ravel(), minlength=len(counts))
  code = np.flatnonzero(counts)
  n, rest = np.divmod(code, side * side)
  c1, weight = np.divmod(rest, side)
  cells = np.stack([n, c1, weight, (c1 > 0).astype(np.int64)], axis=1)
  counts = counts[code]
  return certificates.union_bound_size(
      program.k, cells[:, 0], cells[:, 1], cells[:, 2], cells[:, 3],
      np.log(counts), readout, kernel=kernel, target=target,
      name=program.name)
