"""Growing an ensemble member by member until its readout is exact enough.

Task-generic: a *member source* maps member ids to raw outputs on a fixed
test set (:mod:`permjax._src.sources`), the test set holds binary targets, a
*readout* turns the running average into bits, and the accuracy is the
(multiplicity-weighted) fraction of test inputs whose bits are all right.
Members are added in chunks; after each member the accuracy is recorded, and
growth stops at a target accuracy or at ``max_members``.

Duplicated test inputs are evaluated once and weighted by their multiplicity
(:func:`unique_inputs`), which changes no accuracy.

The running sum is accumulated member by member in float64, so a run resumed
from a :class:`GrowthState` (saved with :class:`GrowthCheckpoint`) gives
bitwise the same curve as an uninterrupted one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple, Union

import numpy as np

from permjax._src.checkpoint import Checkpoint
from permjax._src.task import Examples

#: Accuracies whose first ensemble size a curve reports by default.
ACCURACY_TARGETS = (0.5, 0.9, 0.99, 0.999)

#: ``(len(ids),) -> (len(ids), n_test, out)`` raw outputs, e.g. a
#: :class:`permjax.MemberSource`.
Source = Callable[[np.ndarray], np.ndarray]
#: A :class:`permjax.Readout` (``readout.bits(average, x, N)``), a threshold
#: (bit = average > threshold), or ``(average (c, n, out), x (n, d)) ->
#: bool (c, n, out)``.
Readout = Union[float, Callable[[np.ndarray, np.ndarray], np.ndarray], Any]


class TestSet(NamedTuple):
  """Distinct test inputs with their multiplicity.

  Attributes:
    x: ``(n_unique, k)`` inputs (as they enter the network).
    y: ``(n_unique, k)`` binary targets.
    weight: ``(n_unique,)`` how many times each input occurs (0 for padding).
  """
  x: np.ndarray
  y: np.ndarray
  weight: np.ndarray


def unique_inputs(examples: Examples, pad_to: int | None = None) -> TestSet:
  """Collapses repeated test inputs, optionally padding to a fixed count.

  Padding rows repeat the first input with weight 0; a fixed count keeps
  array shapes (and compiled programs) the same across seeds.

  Example:
    >>> ex = Examples(np.array([[1., 0.], [1., 0.], [0., 1.]]),
    ...               np.array([[0., 1.], [0., 1.], [1., 0.]]))
    >>> unique_inputs(ex, pad_to=3).weight.tolist()
    [1.0, 2.0, 0.0]
  """
  x = np.asarray(examples.x)
  y = np.asarray(examples.y)
  ux, index, counts = np.unique(x, axis=0, return_index=True,
                                return_counts=True)
  uy = y[index]
  weight = counts.astype(np.float64)
  if pad_to is not None:
    if pad_to < len(ux):
      raise ValueError(f"pad_to={pad_to} is below the {len(ux)} distinct "
                       f"inputs")
    extra = pad_to - len(ux)
    ux = np.concatenate([ux, np.repeat(ux[:1], extra, axis=0)])
    uy = np.concatenate([uy, np.repeat(uy[:1], extra, axis=0)])
    weight = np.concatenate([weight, np.zeros(extra)])
  return TestSet(ux, uy, weight)


#: Member statuses that count as properly made: a GP draw ("exact"), a
#: trained member that met its tolerance, or a source that reports none.
GOOD_STATUSES = ("exact", "converged", "unreported")


class UnconvergedMembersError(RuntimeError):
  """Too many members of a growth did not converge (see :func:`grow`)."""


class GrowthState(NamedTuple):
  """A partly grown ensemble: everything needed to continue it exactly.

  Attributes:
    sums: ``(n_unique, k)`` float64 sum of the members' outputs so far.
    members: number of members summed.
    accuracy: ``(members,)`` exact-match accuracy after each member.
    status: ``(members,)`` each member's status (``"exact"`` for GP draws,
      ``"converged"``, ``"max_steps"``, ... for trained ones).
    final_loss: ``(members,)`` each member's final training loss (nan when
      there is none).
  """
  sums: np.ndarray
  members: int
  accuracy: np.ndarray
  status: np.ndarray = np.zeros(0, "<U16")
  final_loss: np.ndarray = np.zeros(0)

  def unconverged(self) -> int:
    """How many members have a status outside :data:`GOOD_STATUSES`."""
    return int(np.sum(~np.isin(self.status, GOOD_STATUSES)))


class Curve(NamedTuple):
  """A finished growth.

  Attributes:
    accuracy: ``(N,)`` accuracy after 1..N members.
    n_at: target accuracy -> first N with accuracy >= target (None if never).
    reached: whether the stopping accuracy was reached.
    status: ``(N,)`` member statuses.
    final_loss: ``(N,)`` member final training losses.
  """
  accuracy: np.ndarray
  n_at: dict
  reached: bool
  status: np.ndarray = np.zeros(0, "<U16")
  final_loss: np.ndarray = np.zeros(0)


def first_reaching(accuracy: np.ndarray, target: float) -> int | None:
  """First ensemble size (1-based) with accuracy >= target, or None."""
  hit = np.flatnonzero(np.asarray(accuracy) >= target - 1e-12)
  return int(hit[0]) + 1 if hit.size else None


def decide(readout: Readout, average: np.ndarray, x: np.ndarray,
           members=1) -> np.ndarray:
  """The bits a readout reads from ``average`` (``(c, n, out)``, after
  ``members`` ``(c,)`` members) at inputs ``x``."""
  if hasattr(readout, "bits"):
    return np.asarray(readout.bits(average, x, members), bool)
  if callable(readout):
    return np.asarray(readout(average, x), bool)
  return average > readout


def accuracies(state: GrowthState, members, test: TestSet,
               readout: Readout) -> tuple[GrowthState, np.ndarray]:
  """Adds members one by one.

  Args:
    state: the ensemble so far.
    members: ``(c, n_unique, out)`` raw outputs, or anything with
      ``outputs``, ``status`` and ``final_loss`` (:class:`permjax.Members`).
    test: the test set.
    readout: see :func:`grow`.

  Returns:
    the new state and the ``(c,)`` accuracies after each added member.
  """
  outputs = np.asarray(getattr(members, "outputs", members), np.float64)
  c = len(outputs)
  status = np.asarray(getattr(members, "status", ("unreported",) * c),
                      "<U16")
  final_loss = np.asarray(getattr(members, "final_loss", np.full(c, np.nan)),
                          np.float64)
  stacked = np.concatenate([state.sums[None], outputs])
  cum = np.cumsum(stacked, axis=0)[1:]  # sequential: resumable bit for bit
  counts = state.members + np.arange(1, len(outputs) + 1)
  average = cum / counts[:, None, None]
  exact = np.all(decide(readout, average, test.x, counts)
                 == (test.y[None] > 0.5), axis=2)
  acc = exact.astype(np.float64) @ test.weight / test.weight.sum()
  new = GrowthState(cum[-1], state.members + c,
                    np.concatenate([state.accuracy, acc]),
                    np.concatenate([state.status, status]),
                    np.concatenate([state.final_loss, final_loss]))
  return new, acc


def empty_state(test: TestSet) -> GrowthState:
  return GrowthState(np.zeros(test.y.shape), 0, np.zeros(0))


def _check_unconverged(state: GrowthState, limit: float | None) -> None:
  bad = int(np.sum(~np.isin(state.status, GOOD_STATUSES)))
  if limit is None or bad <= limit * state.members:
    return
  kinds, counts = np.unique(state.status[~np.isin(state.status,
                                                  GOOD_STATUSES)],
                            return_counts=True)
  worst = np.nanmax(state.final_loss) if np.any(
      np.isfinite(state.final_loss)) else float("nan")
  raise UnconvergedMembersError(
      f"{bad} of {state.members} members did not converge "
      f"({dict(zip(kinds.tolist(), counts.tolist()))}; largest final loss "
      f"{worst:.3g}), above the accepted fraction {limit:g}. Train them "
      f"longer or with a stable step (lr='auto'), or accept them explicitly")


def grow(source: Source, test: TestSet, *, stop_accuracy: float,
         max_members: int, chunk: int,
         readout: Readout,
         state: GrowthState | None = None,
         on_chunk: Callable[[GrowthState], None] | None = None,
         on_progress: Callable[[int, float], None] | None = None,
         targets=ACCURACY_TARGETS,
         max_unconverged: float | None = None) -> Curve:
  """Grows an ensemble until ``stop_accuracy`` or ``max_members``.

  Args:
    source: ``member_ids -> (len(ids), n_unique, out)`` raw outputs.
    test: the (deduplicated) test set.
    stop_accuracy: stop at the first N with accuracy >= this (1 - δ).
    max_members: give up after this many members.
    chunk: members drawn per call of ``source``.
    readout: how the running average becomes bits: a
      :class:`permjax.Readout` (e.g. ``permjax.readout.midpoint()``), a
      threshold (bit = average > threshold) or a callable
      ``(average, x) -> bits``.
    state: resume from here.
    on_chunk: called with the state after every chunk (checkpointing).
    on_progress: called with (members, accuracy) after every chunk.
    targets: accuracies whose first N to report (``stop_accuracy`` is
      always added).
    max_unconverged: largest accepted fraction of members whose status is
      outside :data:`GOOD_STATUSES`; checked after every chunk (after
      ``on_chunk``, so the state is saved). None accepts any.

  Returns:
    :class:`Curve`, truncated at the stopping N.

  Raises:
    UnconvergedMembersError: more members than ``max_unconverged`` allows
      did not converge.

  Example:
    >>> test = TestSet(np.eye(2), np.eye(2), np.ones(2))
    >>> def source(ids):   # member 0 is wrong, every other one right
    ...   return np.stack([(np.eye(2) - 0.5) * (-0.2 if i == 0 else 1.0)
    ...                    for i in ids])
    >>> curve = grow(source, test, stop_accuracy=1.0, max_members=8, chunk=4,
    ...              readout=0.0)
    >>> curve.accuracy.tolist(), curve.n_at[0.5], curve.reached
    ([0.0, 1.0], 2, True)
  """
  if not 0.0 < stop_accuracy <= 1.0:
    raise ValueError(f"stop_accuracy must be in (0, 1], got {stop_accuracy}")
  if chunk < 1 or max_members < 1:
    raise ValueError(f"chunk and max_members must be >= 1, got {chunk}, "
                     f"{max_members}")
  state = empty_state(test) if state is None else state
  stop = first_reaching(state.accuracy, stop_accuracy)
  while stop is None and state.members < max_members:
    take = min(chunk, max_members - state.members)
    ids = np.arange(state.members, state.members + take)
    state, acc = accuracies(state, source(ids), test, readout)
    stop = first_reaching(state.accuracy, stop_accuracy)
    if on_chunk is not None:
      on_chunk(state)
    if on_progress is not None:
      on_progress(state.members, float(acc[-1]))
    _check_unconverged(state, max_unconverged)
  end = state.members if stop is None else stop
  accuracy = state.accuracy[:end]
  targets = sorted(set(targets) | {stop_accuracy})
  n_at = {t: first_reaching(accuracy, t) for t in targets}
  return Curve(accuracy, n_at, stop is not None, state.status[:end],
               state.final_loss[:end])


class GrowthCheckpoint:
  """The latest :class:`GrowthState` of one growth, in an orbax folder.

  ``fingerprint`` (JSON-able) names what the state depends on (config,
  task, member source); a folder written under another fingerprint is
  refused untouched (:class:`permjax.CheckpointError`).

  Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> ckpt = GrowthCheckpoint(folder, {"k": 5})
    >>> ckpt.save(GrowthState(np.zeros((2, 5)), 2, np.array([.1, .2]),
    ...                       np.array(["exact", "exact"]), np.zeros(2)))
    >>> state = ckpt.load()
    >>> state.members, state.status.tolist()
    (2, ['exact', 'exact'])
    >>> ckpt.close()
  """

  def __init__(self, directory: str, fingerprint: dict):
    self.store = Checkpoint(directory, "growth", fingerprint, subdir="states",
                            keep=1)

  def load(self) -> GrowthState | None:
    steps = self.store.steps()
    if not steps:
      return None
    data = self.store.restore(steps[-1])
    status = json.loads(bytes(np.asarray(data["status"], np.uint8)).decode())
    return GrowthState(np.asarray(data["sums"], np.float64),
                       int(data["members"]),
                       np.asarray(data["accuracy"], np.float64),
                       np.asarray(status, "<U16"),
                       np.asarray(data["final_loss"], np.float64))

  def save(self, state: GrowthState) -> None:
    if len(state.status) != state.members or len(
        state.final_loss) != state.members or state.members < 1:
      raise ValueError(f"a growth state to save needs members >= 1 with one "
                       f"status and final loss each, got members="
                       f"{state.members}, {len(state.status)} statuses, "
                       f"{len(state.final_loss)} losses")
    status = json.dumps(np.asarray(state.status).tolist()).encode()
    self.store.save(state.members, {
        "sums": state.sums, "members": np.int64(state.members),
        "accuracy": state.accuracy, "final_loss": state.final_loss,
        "status": np.frombuffer(status, np.uint8)})

  def close(self) -> None:
    self.store.close()
