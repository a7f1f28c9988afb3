"""Finite ensembles executing template programs: GP draws and trained nets.

A template program is run step by step by an ensemble: at every step the
state is encoded, the N members' outputs are averaged, and a readout turns
the average into the next state's bits (TEMPLATES.md §1). A run is *exact*
when every bit of every step equals the OR rule; then the result is right.

One trained ensemble serves every operand pair and every step, so the
members are evaluated once on the distinct encodings the OR rule visits
(:func:`program_test_set`). A run follows the ideal trajectory until its first
wrong step (TEMPLATES.md §5.6), so "pair ``p`` executes exactly" is exactly
"every encoding on ``p``'s ideal trajectory reads right": the members never
need to be evaluated anywhere else, and for GP members one joint draw over
those encodings is exact for it.

* :func:`program_test_set`: the distinct nonzero encodings of the ideal
  trajectories of the given pairs, their OR-rule bits, and each pair's path
  through them.
* :class:`ExecutionRule` (a :class:`permjax.Readout` plus whether the
  structural-zero bits are hard-wired to 0) and :func:`execution_rule`.
* :func:`grow_execution`: grows one ensemble member by member and records,
  per rule, the fraction of pairs executed exactly after each member, and
  where the first errors happen; resumable (:class:`ExecutionCheckpoint`).
* :class:`EnsembleMean` with :func:`gp_ensemble_mean` and
  :func:`network_ensemble_mean`: an N-member predictor behind
  :func:`permjax.execute`'s interface (use ``until_first_error=True``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np

from permjax._src import growth
from permjax._src import readout as readout_lib
from permjax._src import sources
from permjax._src import templates as tpl
from permjax._src import training
from permjax._src.checkpoint import Checkpoint
from permjax._src.models import MLPSpec
from permjax._src.task import Examples

#: Fractions of pairs whose first ensemble size every curve reports.
PAIR_TARGETS = (0.5, 0.9, 0.999, 1.0)


class ProgramTestSet(NamedTuple):
  """What an ensemble must read right for a set of operand pairs.

  Attributes:
    x: ``(S, k)`` the distinct nonzero encodings on the pairs' ideal
      trajectories (float64).
    truth: ``(S, D)`` bool, the OR rule's next-state bits at each.
    path: ``(P, steps)`` int, the row of ``x`` read at each step of each
      pair; ``-1`` for a zero encoding (no template matches: every bit is 0,
      read without the network, TEMPLATES.md §5.4).
    a, b: ``(P,)`` the operand pairs.
    program: the program's name.
  """
  x: np.ndarray
  truth: np.ndarray
  path: np.ndarray
  a: np.ndarray
  b: np.ndarray
  program: str


def program_test_set(program: tpl.Program, a=None, b=None) -> ProgramTestSet:
  """The encodings an ensemble reads on the ideal runs of pairs ``(a, b)``
  (default: every pair), over the full step budget.

  Example:
    >>> test = program_test_set(tpl.addition_program(2))
    >>> test.x.shape, test.truth.shape, test.path.shape
    ((22, 8), (22, 6), (16, 4))
  """
  if a is None:
    a, b = program.all_pairs()
  a, b = program.check_operands(a, b)
  states = program.initial_states(a, b)
  seen = []
  for _ in range(program.steps):
    matched = program._matches(states)  # pylint: disable=protected-access
    seen.append(matched)
    states = program.writes_of(matched) > 0
  matches = np.stack(seen, axis=1)  # (P, steps, T)
  flat = matches.reshape(-1, program.T)
  packed = np.packbits(flat, axis=1)
  _, first, inverse = np.unique(packed, axis=0, return_index=True,
                                return_inverse=True)
  distinct = flat[first]
  live = distinct.any(axis=1)
  row = np.cumsum(live) - 1
  row = np.where(live, row, -1)
  path = row[inverse.reshape(-1)].reshape(len(a), program.steps)
  distinct = distinct[live]
  return ProgramTestSet(program.encode_matches(distinct),
                        program.writes_of(distinct) > 0, path, a, b,
                        program.name)


@dataclasses.dataclass(frozen=True)
class ExecutionRule:
  """How an ensemble's average becomes the next state's bits.

  Attributes:
    readout: a :class:`permjax.Readout`; per-n rules take ``n`` = the number
      of matched templates and ``k`` = the input width ``T + pad``.
    fix_structural_zeros: hard-wire the bits no template writes to 0 (their
      mean is exactly 0, so at a threshold of 0 they are a coin flip for
      every N; TEMPLATES.md §5.1a).
  """
  readout: readout_lib.Readout
  fix_structural_zeros: bool = False

  def to_dict(self) -> dict:
    return {**self.readout.to_dict(),
            "fix_structural_zeros": self.fix_structural_zeros}


#: Rule names of :func:`execution_rule`.
RULE_NAMES = ("zero", "zero_fixed", "margin", "midpoint", "optimal")


def margin_threshold(program: tpl.Program, kernel: str = "ntk",
                     states=None) -> float:
  """Half the smallest 1-bit mean of the exact ``kernel`` mean over the
  reachable states (TEMPLATES.md §5.1b): the *margin* rule's threshold.

  Example:
    >>> round(margin_threshold(tpl.addition_program(4)), 4)   # TEMPLATES §5.1b
    0.1628
  """
  from permjax._src import execution  # pylint: disable=import-outside-toplevel
  states = (execution.reachable_states(program) if states is None
            else np.asarray(states, bool))
  n, _ = program.write_counts(states)
  live = states[n >= 2]
  if not len(live):
    live = states[n >= 1]
  mean = execution.exact_mean(kernel)(program, program.encode(live))
  ones = program.step(live)
  if not ones.any():
    raise ValueError(f"{program.name}: no reachable state writes a 1-bit, "
                     f"so the margin rule has no threshold")
  return 0.5 * float(mean[ones].min())


def execution_rule(name: str, program: tpl.Program, kernel: str = "ntk"
                   ) -> ExecutionRule:
  """A rule by name: ``zero`` (the authors' 1e-10), ``zero_fixed`` (that,
  structural zeros hard-wired), ``margin`` (a fixed threshold, half the
  smallest 1-bit mean of the ``kernel`` mean), ``midpoint``, ``optimal``
  (per-n, from ``kernel``'s statistics), or ``fixed:<τ>``.

  Example:
    >>> rule = execution_rule("zero_fixed", tpl.addition_program(2))
    >>> rule.readout.name, rule.fix_structural_zeros
    ('zero', True)
  """
  if name == "zero_fixed":
    return ExecutionRule(readout_lib.zero(), True)
  if name == "margin":
    return ExecutionRule(readout_lib.fixed(margin_threshold(program, kernel)))
  if name in ("zero", "midpoint", "optimal") or name.startswith("fixed:"):
    return ExecutionRule(readout_lib.from_name(name, kernel))
  raise ValueError(f"unknown execution rule {name!r}; choose one of "
                   f"{list(RULE_NAMES)} or fixed:<tau>")


def read_states(program: tpl.Program, rule: ExecutionRule, average, x,
                members) -> np.ndarray:
  """Bits read from ``average`` (``(..., S, D)``) at encodings ``x``
  (``(S, k)``, all nonzero) after ``members`` members."""
  bits = np.asarray(rule.readout.bits(average, x, members), bool)
  if rule.fix_structural_zeros:
    bits = bits & ~program.structural_zeros()
  return bits


def pair_exactness(test: ProgramTestSet, wrong_states) -> np.ndarray:
  """``(..., P)`` bool: pairs all of whose steps read right, from
  ``wrong_states`` ``(..., S)``."""
  wrong = np.concatenate([wrong_states, np.zeros(
      wrong_states.shape[:-1] + (1,), bool)], axis=-1)  # row -1: zero input
  return ~wrong[..., test.path].any(axis=-1)


def first_errors(program: tpl.Program, test: ProgramTestSet, wrong_bits
                 ) -> dict:
  """Where failing pairs first leave the OR rule.

  Args:
    program: the program.
    test: its test set.
    wrong_bits: ``(S, D)`` bool, the bits read wrong at each encoding.

  Returns:
    ``{"failing_pairs", "by_step": {step: pairs}, "by_field": {field:
    pairs whose first wrong step has that field wrong}, "by_n": {matched
    templates at the first wrong step: pairs}}`` (steps 1-based; ``n = 1``
    is a training input).
  """
  wrong_state = wrong_bits.any(axis=1)
  padded = np.concatenate([wrong_state, [False]])
  on_path = padded[test.path]  # (P, steps)
  failing = np.flatnonzero(on_path.any(axis=1))
  out = {"failing_pairs": int(len(failing)), "by_step": {}, "by_field": {},
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
  bad = wrong_bits[rows]  # (F, D)
  for name, width in program.fields:
    cols = [program.index(name, bit) for bit in range(width)]
    hit = int(bad[:, cols].any(axis=1).sum())
    if hit:
      out["by_field"][name] = hit
  return out


class ExecutionState(NamedTuple):
  """A partly grown execution ensemble: everything needed to continue it.

  Attributes:
    sums: ``(S, D)`` float64 sum of the members' outputs.
    members: members summed.
    accuracy: ``(R, members)`` per rule, the fraction of pairs executed
      exactly after each member.
    status: ``(members,)`` member statuses.
    final_loss: ``(members,)`` final training losses (nan for GP draws).
    first_errors: ``[{"members", "rule", **first_errors}]`` at every power
      of two and at the end.
  """
  sums: np.ndarray
  members: int
  accuracy: np.ndarray
  status: np.ndarray
  final_loss: np.ndarray
  first_errors: list


def _empty(test: ProgramTestSet, n_rules: int) -> ExecutionState:
  return ExecutionState(np.zeros(test.truth.shape), 0, np.zeros((n_rules, 0)),
                        np.zeros(0, "<U16"), np.zeros(0), [])


class ExecutionCurves(NamedTuple):
  """A finished execution growth.

  Attributes:
    rules: the rule names, in order.
    accuracy: ``{rule: (N,)}`` fraction of pairs exact after 1..N members.
    n_at: ``{rule: {target: first N or None}}`` over :data:`PAIR_TARGETS`.
    reached: ``{rule: bool}``, every pair exact at some N.
    members: members grown.
    status, final_loss: per member.
    first_errors: see :class:`ExecutionState`.
  """
  rules: tuple
  accuracy: dict
  n_at: dict
  reached: dict
  members: int
  status: np.ndarray
  final_loss: np.ndarray
  first_errors: list


def _add_members(state, members, program, test, rules, record_at):
  outputs = np.asarray(getattr(members, "outputs", members), np.float64)
  c = len(outputs)
  status = np.asarray(getattr(members, "status", ("unreported",) * c), "<U16")
  loss = np.asarray(getattr(members, "final_loss", np.full(c, np.nan)),
                    np.float64)
  cum = np.cumsum(np.concatenate([state.sums[None], outputs]), axis=0)[1:]
  counts = state.members + np.arange(1, c + 1)
  average = cum / counts[:, None, None]
  acc = np.zeros((len(rules), c))
  errors = list(state.first_errors)
  for r, (name, rule) in enumerate(rules.items()):
    bits = read_states(program, rule, average, test.x, counts)
    wrong = bits != test.truth
    acc[r] = pair_exactness(test, wrong.any(axis=2)).mean(axis=1)
    for i in np.flatnonzero(np.isin(counts, record_at)):
      errors.append({"members": int(counts[i]), "rule": name,
                     **first_errors(program, test, wrong[i])})
  return ExecutionState(cum[-1], state.members + c,
                        np.concatenate([state.accuracy, acc], axis=1),
                        np.concatenate([state.status, status]),
                        np.concatenate([state.final_loss, loss]), errors)


def _next_take(members: int, chunk: int, max_members: int) -> int:
  """Chunk sizes that land on every power of two (first-error records)."""
  nxt = 1 << members.bit_length()  # next power of two above ``members``
  return max(1, min(chunk, max_members - members, nxt - members))


def grow_execution(source: growth.Source, program: tpl.Program,
                   test: ProgramTestSet, rules: dict, *, max_members: int,
                   chunk: int, state: ExecutionState | None = None,
                   on_chunk: Callable[[ExecutionState], None] | None = None,
                   on_progress: Callable[[int, dict], None] | None = None,
                   max_unconverged: float | None = None,
                   memory_budget: int = 1 << 29) -> ExecutionCurves:
  """Grows one ensemble until every rule has executed every pair exactly.

  All rules read the same running average of the same members, so one
  growth measures them side by side. After each member, per rule, the
  fraction of pairs whose every step reads right is recorded; at every
  power of two (and at the end) where the failing pairs first go wrong.

  Args:
    source: ``ids -> (len(ids), S, D)`` raw outputs on ``test.x`` (e.g.
      :func:`permjax.gp_member_source` or
      :func:`permjax.network_member_source` over ``test.x``).
    program: the program.
    test: :func:`program_test_set` of the pairs.
    rules: ``{name: ExecutionRule}``.
    max_members: stop here if some rule has not reached every pair.
    chunk: largest number of members per call of ``source``.
    state: resume from here.
    on_chunk: called with the state after every chunk (checkpointing).
    on_progress: called with (members, {rule: accuracy}).
    max_unconverged: largest accepted fraction of members whose status is
      outside :data:`permjax.GOOD_STATUSES` (None accepts any).
    memory_budget: bytes of member outputs per call (caps ``chunk``).

  Returns:
    :class:`ExecutionCurves`.

  Example:
    >>> import jax, permjax
    >>> prog = tpl.addition_program(2)
    >>> test = program_test_set(prog)
    >>> x, y = prog.training_set()
    >>> src = permjax.gp_member_source(permjax.MLPSpec(width=1), "ntk",
    ...     Examples(x, y), test.x, jax.random.key(0))
    >>> rules = {"margin": execution_rule("margin", prog)}
    >>> curves = grow_execution(src, prog, test, rules, max_members=64,
    ...                         chunk=8)
    >>> curves.reached["margin"], curves.n_at["margin"][1.0]
    (True, 1)
  """
  if not rules:
    raise ValueError("grow_execution needs at least one rule")
  if test.program != program.name or test.truth.shape[1] != program.D:
    raise ValueError(f"the test set was built for {test.program!r}, not for "
                     f"{program.name!r}")
  if chunk < 1 or max_members < 1:
    raise ValueError(f"chunk and max_members must be >= 1, got {chunk}, "
                     f"{max_members}")
  names = tuple(rules)
  state = _empty(test, len(names)) if state is None else state

  def done(s):
    return all(growth.first_reaching(s.accuracy[r], 1.0) is not None
               for r in range(len(names))) if s.members else False

  record_at = [1 << i for i in range(max(1, max_members).bit_length())]
  # Members per call: at most ``chunk``, and at most what fits in
  # ``memory_budget`` bytes of float64 outputs.
  chunk = max(1, min(chunk, memory_budget // max(1, 8 * test.truth.size)))
  while not done(state) and state.members < max_members:
    take = _next_take(state.members, chunk, max_members)
    ids = np.arange(state.members, state.members + take)
    end_now = record_at + [max_members]
    state = _add_members(state, source(ids), program, test, rules, end_now)
    if done(state) and state.members not in end_now:  # the final state too
      state = state._replace(first_errors=state.first_errors + [
          {"members": state.members, "rule": name, **first_errors(
              program, test, read_states(
                  program, rules[name], state.sums / state.members, test.x,
                  state.members) != test.truth)} for name in names])
    if on_chunk is not None:
      on_chunk(state)
    if on_progress is not None:
      on_progress(state.members, {n: float(state.accuracy[r, -1])
                                  for r, n in enumerate(names)})
    growth._check_unconverged(state, max_unconverged)  # pylint: disable=protected-access
  return ExecutionCurves(
      names, {n: state.accuracy[r] for r, n in enumerate(names)},
      {n: {t: growth.first_reaching(state.accuracy[r], t)
           for t in PAIR_TARGETS} for r, n in enumerate(names)},
      {n: growth.first_reaching(state.accuracy[r], 1.0) is not None
       for r, n in enumerate(names)},
      state.members, state.status, state.final_loss, state.first_errors)


class ExecutionCheckpoint:
  """The latest :class:`ExecutionState` of one growth, in an orbax folder
  guarded by ``fingerprint`` (a folder of another run is refused).

  Example:
    >>> import tempfile
    >>> ckpt = ExecutionCheckpoint(tempfile.mkdtemp(), {"m": 2})
    >>> ckpt.save(ExecutionState(np.zeros((3, 2)), 1, np.ones((1, 1)),
    ...                          np.array(["exact"]), np.zeros(1), []))
    >>> ckpt.load().members
    1
    >>> ckpt.close()
  """

  def __init__(self, directory: str, fingerprint: dict):
    self.store = Checkpoint(directory, "execution_growth", fingerprint,
                            subdir="states", keep=1)

  def load(self) -> ExecutionState | None:
    steps = self.store.steps()
    if not steps:
      return None
    data = self.store.restore(steps[-1])
    meta = json.loads(bytes(np.asarray(data["meta"], np.uint8)).decode())
    return ExecutionState(np.asarray(data["sums"], np.float64),
                          int(data["members"]),
                          np.asarray(data["accuracy"], np.float64),
                          np.asarray(meta["status"], "<U16"),
                          np.asarray(data["final_loss"], np.float64),
                          meta["first_errors"])

  def save(self, state: ExecutionState) -> None:
    meta = json.dumps({"status": np.asarray(state.status).tolist(),
                       "first_errors": state.first_errors}).encode()
    self.store.save(state.members, {
        "sums": state.sums, "members": np.int64(state.members),
        "accuracy": state.accuracy, "final_loss": state.final_loss,
        "meta": np.frombuffer(meta, np.uint8)})

  def close(self) -> None:
    self.store.close()


# --- predictors behind permjax.execute ---------------------------------------


class EnsembleMean:
  """An N-member ensemble's average on a program's reachable encodings, as a
  predictor ``(program, x) -> (B, D)`` for :func:`permjax.execute`.

  The members are evaluated once, on :func:`program_test_set`'s encodings;
  the predictor answers for those (and for the zero encoding) and refuses
  any other input, so run it with ``execute(..., until_first_error=True)``,
  which stops a pair at its first wrong step (the pair has then failed).

  Attributes:
    members: N.
    info: the member source's description.
  """

  def __init__(self, program: tpl.Program, test: ProgramTestSet,
               average: np.ndarray, members: int, info: dict):
    self.program_name, self.k, self.D = program.name, program.k, program.D
    self.test = test
    self.average = average
    self.members = members
    self.info = info
    keys = np.packbits(test.x > 0, axis=1)
    self._row = {row.tobytes(): i for i, row in enumerate(keys)}

  def __call__(self, program: tpl.Program, x) -> np.ndarray:
    if (program.name, program.k, program.D) != (self.program_name, self.k,
                                                self.D):
      raise ValueError(f"this ensemble was built for {self.program_name} "
                       f"(k={self.k}, D={self.D}), not for {program.name} "
                       f"(k={program.k}, D={program.D})")
    x = np.asarray(x)
    out = np.zeros((len(x), self.D))
    keys = np.packbits(x > 0, axis=1)
    for i in np.flatnonzero(x.any(axis=1)):
      row = self._row.get(keys[i].tobytes())
      if row is None:
        raise ValueError(
            f"{self.program_name}: an input off every ideal trajectory of "
            f"the ensemble's pairs reached the predictor; run "
            f"execute(..., until_first_error=True), which stops a pair at its "
            f"first wrong step")
      out[i] = self.average[row]
    return out


def _check_members(members) -> int:
  if (isinstance(members, bool) or not isinstance(members, (int, np.integer))
      or members < 1):
    raise ValueError(f"an ensemble needs members >= 1 (an integer), got "
                     f"{members!r}")
  return int(members)


def _average(source, members: int, chunk: int = 64) -> np.ndarray:
  total = None
  for start in range(0, members, chunk):
    out = np.asarray(source(np.arange(start, min(members, start + chunk)))
                     .outputs, np.float64).sum(axis=0)
    total = out if total is None else total + out
  return total / members


def training_examples(program: tpl.Program) -> Examples:
  """The program's training set (basis vectors of ``R^k``, template
  targets) as :class:`permjax.Examples`."""
  x, y = program.training_set()
  return Examples(np.asarray(x, np.float64), np.asarray(y, np.float64))


def gp_ensemble_mean(program: tpl.Program, members: int, key: jax.Array, *,
                     kernel: str = "ntk", a=None, b=None) -> EnsembleMean:
  """N members drawn jointly from the trained-GP posterior over the
  encodings of the pairs' ideal runs, averaged (float64).

  Example:
    >>> import jax, permjax
    >>> prog = tpl.addition_program(2)
    >>> mean = gp_ensemble_mean(prog, 8, jax.random.key(0))
    >>> run = permjax.execute(prog, mean,
    ...     permjax.readout.fixed(margin_threshold(prog)),
    ...     until_first_error=True)
    >>> run.all_correct, mean.members
    (True, 8)
  """
  members = _check_members(members)
  test = program_test_set(program, a, b)
  source = sources.gp_member_source(MLPSpec(width=1), kernel,
                                    training_examples(program), test.x, key,
                                    sampler="dense")
  return EnsembleMean(program, test, _average(source, members), members,
                      source.info)


def network_ensemble_mean(program: tpl.Program, members: int,
                          key: jax.Array, spec: MLPSpec,
                          config: training.TrainConfig, *, a=None, b=None,
                          **engine_kwargs) -> EnsembleMean:
  """N finite networks trained once on the program's training set
  (:func:`permjax.train_ensemble`), evaluated on the encodings of the pairs'
  ideal runs (the engine's sparse path) and averaged.

  Example:
    >>> import jax, permjax
    >>> prog = tpl.addition_program(2)
    >>> mean = network_ensemble_mean(prog, 4, jax.random.key(0),
    ...     permjax.MLPSpec(width=256), permjax.TrainConfig(trainer="linearized"))
    >>> permjax.execute(prog, mean, permjax.readout.fixed(
    ...     margin_threshold(prog)), until_first_error=True).all_correct
    True
  """
  members = _check_members(members)
  test = program_test_set(program, a, b)
  source = sources.network_member_source(spec, training_examples(program),
                                         test.x, key, config, **engine_kwargs)
  return EnsembleMean(program, test, _average(source, members), members,
                      source.info)
