"""Scorers: what "exact" means for a test set, under one or several readouts.

A scorer is what a task family adds to the growth protocol
(:func:`permjax.grow`). It speaks four methods over a fixed test set of
``shape = (n_test, out)`` member outputs:

* ``score(average, members) -> (R, c)``: each readout's accuracy for ``c``
  running averages ``(c, n_test, out)`` after ``members`` ``(c,)`` members;
* ``details(average, members) -> [dict]``: anything else to record at one
  ensemble size (each dict has ``"members"`` and ``"rule"``);
* ``record_at(max_members) -> [N]``: the ensemble sizes whose details to
  record;
* ``follow(kernel) -> scorer``: the same scorer with its readouts bound to
  the members' kernel (:meth:`permjax.Readout.follow`).

Two scorers ship:

* :class:`InputScorer` — independent test inputs with binary targets and
  multiplicities (the permutation task): the accuracy is the weighted
  fraction of inputs whose bits are all right.
* :class:`ProgramScorer` — a template program's operand pairs, through the
  distinct encodings their ideal runs visit (:class:`ProgramTestSet`): the
  accuracy is the fraction of pairs every step of which reads right
  (docs/theory/templates.md §4.1), and the details are where failing pairs
  first go wrong (step, field, matched templates) at every power of two.
* :class:`GraphScorer` — a node program's graph cases, through the distinct
  encodings their OR-rule runs visit at any node and round
  (:class:`GraphTestSet`): the accuracy is the fraction of cases run
  exactly at every node, round and bit (docs/theory/graphs.md §3).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from permjax._src import readout as readout_lib
from permjax._src import validation


def readouts_by_name(readouts) -> dict:
  """``{name: Readout}`` from one readout, a sequence or a dict (kept)."""
  if isinstance(readouts, readout_lib.Readout):
    readouts = {readouts.name: readouts}
  elif isinstance(readouts, (str, bytes)):
    raise TypeError(f"readouts must be Readout values, not the name "
                    f"{readouts!r}: build them with "
                    f"permjax.readout.from_name({readouts!r}, ...)")
  elif not isinstance(readouts, dict):
    try:
      readouts = list(readouts)
    except TypeError:
      raise TypeError(f"readouts must be a permjax Readout, a list or a "
                      f"{{name: Readout}} dict, got {readouts!r}") from None
    readouts = {r.name if isinstance(r, readout_lib.Readout) else r: r
                for r in readouts}
  if not readouts:
    raise ValueError("a scorer needs at least one readout")
  for name, r in readouts.items():
    if not isinstance(name, str):
      raise TypeError(f"readout names must be strings, got {name!r}")
    readout_lib.check_readout(r)
  return dict(readouts)


class TestSet(NamedTuple):
  """Distinct test inputs with their multiplicity.

  Attributes:
    x: ``(n_unique, k)`` inputs (as they enter the network).
    y: ``(n_unique, out)`` binary targets.
    weight: ``(n_unique,)`` how many times each input occurs (0 for padding).
  """
  x: np.ndarray
  y: np.ndarray
  weight: np.ndarray


def unique_inputs(examples, pad_to: int | None = None) -> TestSet:
  """Collapses repeated test inputs, optionally padding to a fixed count.

  Padding rows repeat the first input with weight 0; a fixed count keeps
  array shapes (and compiled programs) the same across seeds.

  Example:
    >>> from permjax._src.permutation import Examples
    >>> ex = Examples(np.array([[1., 0.], [1., 0.], [0., 1.]]),
    ...               np.array([[0., 1.], [0., 1.], [1., 0.]]))
    >>> unique_inputs(ex, pad_to=3).weight.tolist()
    [1.0, 2.0, 0.0]
  """
  if not (hasattr(examples, "x") and hasattr(examples, "y")):
    raise TypeError(f"examples must be permjax.Examples (x, y), got "
                    f"{type(examples).__name__}")
  x = np.asarray(examples.x)
  y = np.asarray(examples.y)
  if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
    raise ValueError(f"examples must hold x (n, k) and y (n, out) with the "
                     f"same rows, got x {x.shape} and y {y.shape}")
  if not len(x):
    raise ValueError("examples are empty: a test set needs at least one "
                     "input")
  ux, index, inverse, counts = np.unique(x, axis=0, return_index=True,
                                         return_inverse=True,
                                         return_counts=True)
  uy = y[index]
  clash = np.flatnonzero(np.any(y != uy[inverse.reshape(-1)], axis=1))
  if clash.size:
    raise ValueError(f"examples give one input two targets (rows "
                     f"{int(index[inverse.reshape(-1)[clash[0]]])} and "
                     f"{int(clash[0])}); a test set needs one target per "
                     f"input")
  weight = counts.astype(np.float64)
  if pad_to is not None:
    pad_to = validation.integer("pad_to", pad_to, 1)
    if pad_to < len(ux):
      raise ValueError(f"pad_to={pad_to} is below the {len(ux)} distinct "
                       f"inputs")
    extra = pad_to - len(ux)
    ux = np.concatenate([ux, np.repeat(ux[:1], extra, axis=0)])
    uy = np.concatenate([uy, np.repeat(uy[:1], extra, axis=0)])
    weight = np.concatenate([weight, np.zeros(extra)])
  return TestSet(ux, uy, weight)


@dataclasses.dataclass(frozen=True, eq=False)
class InputScorer:
  """Exact-match accuracy over independent test inputs.

  Attributes:
    test: the (deduplicated) :class:`TestSet`.
    readouts: ``{name: Readout}`` (one readout or a list is accepted).

  Example:
    >>> from permjax._src import readout
    >>> test = TestSet(np.eye(2), np.eye(2), np.array([1., 3.]))
    >>> scorer = InputScorer(test, readout.fixed(0.5))
    >>> scorer.score(np.array([[[0.9, 0.], [0.9, 0.]]]), [1]).tolist()
    [[0.25]]
  """
  test: TestSet
  readouts: dict

  def __post_init__(self):
    object.__setattr__(self, "readouts", readouts_by_name(self.readouts))
    if not isinstance(self.test, TestSet):
      raise TypeError(f"test must be a permjax.TestSet (see "
                      f"permjax.unique_inputs), got {type(self.test)}")
    y = np.asarray(self.test.y)
    w = np.asarray(self.test.weight, np.float64)
    if y.ndim != 2 or len(w) != len(y) or len(self.test.x) != len(y):
      raise ValueError(f"test set rows disagree: x {np.shape(self.test.x)}, "
                       f"y {y.shape}, weight {w.shape}")
    if not w.sum() > 0:
      raise ValueError("the test set's weights sum to 0: nothing to score")

  @property
  def rules(self) -> tuple:
    return tuple(self.readouts)

  @property
  def shape(self) -> tuple:
    return tuple(np.shape(self.test.y))

  def follow(self, kernel: str) -> "InputScorer":
    return InputScorer(self.test, {n: r.follow(kernel)
                                   for n, r in self.readouts.items()})

  def score(self, average, members) -> np.ndarray:
    truth = np.asarray(self.test.y) > 0.5
    weight = np.asarray(self.test.weight, np.float64)
    out = np.zeros((len(self.readouts), len(average)))
    for i, r in enumerate(self.readouts.values()):
      exact = np.all(r.bits(average, self.test.x, members) == truth[None],
                     axis=2)
      out[i] = exact.astype(np.float64) @ weight / weight.sum()
    return out

  def details(self, average, members) -> list:
    del average, members
    return []

  def record_at(self, max_members: int) -> list:
    del max_members
    return []


class ProgramTestSet(NamedTuple):
  """What an ensemble must read right for a set of operand pairs.

  Attributes:
    x: ``(S, k)`` the distinct nonzero encodings on the pairs' ideal
      trajectories (float64).
    truth: ``(S, D)`` bool, the OR rule's next-state bits at each.
    path: ``(P, steps)`` int, the row of ``x`` read at each step of each
      pair; ``-1`` for a zero encoding (no template matches: every bit is 0,
      read without the network, docs/theory/templates.md §4.4).
    a, b: ``(P,)`` the operand pairs.
    program: the program's name.
    fingerprint: the program's content fingerprint
      (:attr:`permjax.Program.fingerprint`).
  """
  x: np.ndarray
  truth: np.ndarray
  path: np.ndarray
  a: np.ndarray
  b: np.ndarray
  program: str
  fingerprint: str = ""


def pair_exactness(test: ProgramTestSet, wrong_states) -> np.ndarray:
  """``(..., P)`` bool: pairs all of whose steps read right, from
  ``wrong_states`` ``(..., S)``.

  Example:
    >>> test = ProgramTestSet(np.eye(2), np.eye(2, dtype=bool),
    ...                       np.array([[0, -1], [1, 0]]), None, None, "p")
    >>> pair_exactness(test, np.array([False, True])).tolist()
    [True, False]
  """
  wrong = np.concatenate([wrong_states, np.zeros(
      wrong_states.shape[:-1] + (1,), bool)], axis=-1)  # row -1: zero input
  return ~wrong[..., test.path].any(axis=-1)


def first_errors(program, test: ProgramTestSet, wrong_bits) -> dict:
  """Where failing pairs first leave the OR rule.

  Args:
    program: the program.
    test: its test set.
    wrong_bits: ``(S, D)`` bool, the bits read wrong at each encoding.

  Returns:
    a dict with ``failing_pairs`` (how many pairs fail), ``steps`` and
    ``wrong_steps`` (steps of the pairs' ideal runs, and how many of them
    are read wrong from the right state), ``by_step`` (first
    wrong step, 1-based, to pairs), ``by_field`` (field to the pairs whose
    first wrong step has that field wrong) and ``by_n`` (matched templates
    at the first wrong step to pairs; ``n = 1`` is a training input).

  Example:
    >>> from permjax._src import execution
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(2)
    >>> test = execution.program_test_set(prog)
    >>> wrong = np.zeros(test.truth.shape, bool)
    >>> wrong[test.path[5, 0], prog.index("sum_p", 0)] = True
    >>> first_errors(prog, test, wrong)["by_field"]
    {'sum_p': 1}
  """
  wrong_state = wrong_bits.any(axis=1)
  padded = np.concatenate([wrong_state, [False]])
  on_path = padded[test.path]  # (P, steps)
  failing = np.flatnonzero(on_path.any(axis=1))
  # Single steps read wrong from a right state, over every step of every
  # pair's ideal run (the per-step accuracy sequence models report; a zero
  # encoding, path -1, is read without the network and always right).
  out = {"failing_pairs": int(len(failing)), "steps": int(on_path.size),
         "wrong_steps": int(on_path.sum()), "by_step": {}, "by_field": {},
         "by_n": {}}
  if not len(failing):
    return out
  step = on_path[failing].argmax(axis=1)
  rows = test.path[failing, step]
  steps, counts = np.unique(step + 1, return_counts=True)
  out["by_step"] = {str(s): int(c) for s, c in zip(steps, counts)}
  ns, counts = np.unique(np.count_nonzero(test.x[rows], axis=1),
                         return_counts=True)
  out["by_n"] = {str(n): int(c) for n, c in zip(ns, counts)}
  out["by_field"] = fields_wrong(program, wrong_bits[rows])
  return out


def fields_wrong(program, wrong) -> dict:
  """``{field: rows with a wrong bit in it}`` of ``wrong`` ``(F, D)`` bool,
  for the fields with any."""
  out = {}
  for name, width in program.fields:
    cols = [program.index(name, bit) for bit in range(width)]
    hit = int(wrong[:, cols].any(axis=1).sum())
    if hit:
      out[name] = hit
  return out


@dataclasses.dataclass(frozen=True, eq=False)
class ProgramScorer:
  """Fraction of a program's operand pairs executed exactly (every bit of
  every step equal to the OR rule), per readout; first errors at every power
  of two and at the end.

  Attributes:
    program: the :class:`permjax.Program`.
    test: its :func:`permjax.program_test_set` for the pairs.
    readouts: ``{name: Readout}`` (e.g. by :func:`permjax.readout.from_name`
      with ``program=``).

  Example:
    >>> from permjax._src import readout, execution
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(2)
    >>> test = execution.program_test_set(prog)
    >>> scorer = ProgramScorer(prog, test, {"z": readout.zero()})
    >>> scorer.score(test.truth[None] * 1.0, [1]).tolist()   # the OR rule
    [[1.0]]
  """
  program: object
  test: ProgramTestSet
  readouts: dict

  #: The test-set type this scorer reads and the function that builds it.
  TEST_SET = (ProgramTestSet, "permjax.program_test_set")

  def __post_init__(self):
    object.__setattr__(self, "readouts", readouts_by_name(self.readouts))
    kind, builder = self.TEST_SET
    if not isinstance(self.test, kind):
      raise TypeError(f"test must be a {kind.__name__} (see {builder}), got "
                      f"{type(self.test)}")
    if self.test.x is None:
      raise ValueError(f"the test set holds no encodings (built with "
                       f"encode=False, for bounds only); build it with "
                       f"{builder}(..., encode=True) to score members")
    fingerprint = getattr(self.program, "fingerprint", None)
    if fingerprint is None:
      raise TypeError(f"program must be a permjax.Program, got "
                      f"{type(self.program)}")
    if (self.test.fingerprint != fingerprint
        or self.test.truth.shape[1] != self.program.D):
      raise ValueError(f"the test set was built for {self.test.program!r} "
                       f"(fingerprint {self.test.fingerprint[:12] or '—'}), "
                       f"not for {self.program.name!r} (fingerprint "
                       f"{fingerprint[:12]})")
    for name, r in self.readouts.items():
      if r.fixed_zeros and r.fixed_zeros[-1] >= self.program.D:
        raise ValueError(f"readout {name!r} fixes output column "
                         f"{r.fixed_zeros[-1]}, outside {self.program.name}'s"
                         f" D={self.program.D} bits")

  @property
  def rules(self) -> tuple:
    return tuple(self.readouts)

  @property
  def shape(self) -> tuple:
    return tuple(self.test.truth.shape)

  def follow(self, kernel: str) -> "ProgramScorer":
    return type(self)(self.program, self.test,
                      {n: r.follow(kernel) for n, r in self.readouts.items()})

  def wrong_bits(self, readout, average, members) -> np.ndarray:
    """``(..., S, D)`` bool: the bits ``readout`` reads wrong."""
    return readout.bits(average, self.test.x, members) != self.test.truth

  def score(self, average, members) -> np.ndarray:
    out = np.zeros((len(self.readouts), len(average)))
    for i, r in enumerate(self.readouts.values()):
      wrong = self.wrong_bits(r, average, members).any(axis=-1)
      out[i] = pair_exactness(self.test, wrong).mean(axis=-1)
    return out

  def details(self, average, members) -> list:
    return [{"members": int(members), "rule": name,
             **first_errors(self.program, self.test,
                            self.wrong_bits(r, average, members))}
            for name, r in self.readouts.items()]

  def record_at(self, max_members: int) -> list:
    return [1 << i for i in range(max(1, max_members).bit_length())]


class GraphTestSet(NamedTuple):
  """What an ensemble must read right to run a set of graph cases exactly.

  Attributes:
    x: ``(S, k)`` the distinct encodings the OR rule visits (float64);
      ``None`` when built with ``encode=False`` (bounds only).
    truth: ``(S, D)`` bool, the OR rule's bits at each.
    path: ``(P, L)`` int, the rows of ``x`` each case visits (padded with
      ``-1``, read as always right), so a case is exact iff every row on its
      path is read right (:func:`permjax.pair_exactness`).
    matches: ``(S, T)`` bool, the templates each encoding matches.
    cases: ``(P,)`` case labels (graph name and inputs).
    rounds: ``(P,)`` rounds each case ran (to its fixed point).
    program: the node program's name.
    fingerprint: its template program's fingerprint.
  """
  x: np.ndarray
  truth: np.ndarray
  path: np.ndarray
  matches: np.ndarray
  cases: tuple
  rounds: np.ndarray
  program: str
  fingerprint: str


@dataclasses.dataclass(frozen=True, eq=False)
class GraphScorer(ProgramScorer):
  """Fraction of graph cases run exactly (every node, round and bit equal
  to the OR rule), per readout; at every power of two the failing cases,
  the wrong encodings and where they are wrong. A :class:`ProgramScorer`
  over a :class:`GraphTestSet`, whose ``path`` lists each case's visited
  encodings; only the details differ (a case has no steps).

  Attributes:
    program: the node program's :class:`permjax.Program`.
    test: its :class:`GraphTestSet` (:func:`permjax.graph_test_set`).
    readouts: ``{name: Readout}``.
  """
  test: GraphTestSet

  TEST_SET = (GraphTestSet, "permjax.graph_test_set")

  def details(self, average, members) -> list:
    out = []
    for name, r in self.readouts.items():
      wrong = self.wrong_bits(r, average, members)
      bad = wrong.any(axis=1)
      by_field = fields_wrong(self.program, wrong)
      ns, counts = np.unique(self.test.matches[bad].sum(1),
                             return_counts=True)
      out.append({"members": int(members), "rule": name,
                  "failing_cases": int((~pair_exactness(self.test, bad)).sum()),
                  "encodings": int(len(bad)), "wrong_encodings": int(bad.sum()),
                  "wrong_bits": int(wrong.sum()), "by_field": by_field,
                  "by_n": {str(n): int(c) for n, c in zip(ns, counts)}})
    return out
