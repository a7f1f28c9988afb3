"""Growing an ensemble member by member: the one growth protocol.

Every task family uses the same loop. A *member source* maps member ids to
raw outputs on a fixed test set (:mod:`permjax._src.sources`); a *scorer*
(:mod:`permjax._src.scorers`) says what "exact" means on that test set under
one or several readouts, and what else to record (e.g. where a program's
runs first go wrong). :func:`grow` adds members in chunks, keeps the running
sum, and after every member records each readout's accuracy; it stops once
every readout has reached the target accuracy, or at ``max_members``.

The running sum is accumulated member by member in float64
(:func:`accumulate`), so a growth resumed from a :class:`GrowthState` (saved
with :class:`GrowthCheckpoint`) gives bitwise the same curve as an
uninterrupted one; :func:`ensemble_average` (a fixed-N ensemble) goes
through the same accumulation. Members whose status is outside
:data:`GOOD_STATUSES` (trained ones that did not converge) are counted by
:func:`unconverged_count` and refused above a fraction by
:func:`check_unconverged` — the one policy every experiment uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from permjax._src import validation
from permjax._src.checkpoint import Checkpoint

#: Accuracies whose first ensemble size a curve reports by default.
ACCURACY_TARGETS = (0.5, 0.9, 0.99, 0.999)

#: Member statuses that count as properly made: a GP draw ("exact"), a
#: trained member that met its tolerance, or a source that reports none.
GOOD_STATUSES = ("exact", "converged", "unreported")

#: Default bytes of member outputs held per chunk.
MEMORY_BUDGET = 1 << 29


class UnconvergedMembersError(RuntimeError):
  """Too many members of a growth did not converge (see :func:`grow`)."""


def unconverged_count(status) -> int:
  """How many statuses lie outside :data:`GOOD_STATUSES`.

  Example:
    >>> unconverged_count(["exact", "converged", "max_steps"])
    1
  """
  return int(np.sum(~np.isin(np.asarray(status, "<U16"), GOOD_STATUSES)))


class GrowthState(NamedTuple):
  """A partly grown ensemble: everything needed to continue it exactly.

  Attributes:
    sums: ``(n_test, out)`` float64 sum of the members' outputs so far.
    members: number of members summed.
    accuracy: ``(R, members)`` each readout's accuracy after each member.
    status: ``(members,)`` each member's status (``"exact"`` for GP draws,
      ``"converged"``, ``"max_steps"``, ... for trained ones).
    final_loss: ``(members,)`` each member's final training loss (nan when
      there is none).
    details: what the scorer recorded at chosen ensemble sizes, e.g.
      ``[{"members", "rule", "failing_pairs", ...}]``.
  """
  sums: np.ndarray
  members: int
  accuracy: np.ndarray
  status: np.ndarray
  final_loss: np.ndarray
  details: list

  def unconverged(self) -> int:
    """How many members have a status outside :data:`GOOD_STATUSES`."""
    return unconverged_count(self.status)


def empty_state(shape, rules: int) -> GrowthState:
  """No members yet, on a test set of ``shape`` (n_test, out) and ``rules``
  readouts."""
  return GrowthState(np.zeros(shape), 0, np.zeros((rules, 0)),
                     np.zeros(0, "<U16"), np.zeros(0), [])


class Curve(NamedTuple):
  """A finished growth.

  Attributes:
    rules: the readouts' names, in order.
    accuracy: ``{rule: (N,)}`` accuracy after 1..N members.
    n_at: ``{rule: {target: first N with accuracy >= target, or None}}``.
    reached: ``{rule: bool}``, the stopping accuracy reached.
    members: N, the members the curve covers (the stopping N when every
      readout reached the target, else the members grown).
    status: ``(N,)`` member statuses.
    final_loss: ``(N,)`` member final training losses.
    details: the scorer's records (see :class:`GrowthState`).
  """
  rules: tuple
  accuracy: dict
  n_at: dict
  reached: dict
  members: int
  status: np.ndarray
  final_loss: np.ndarray
  details: list


def first_reaching(accuracy, target: float) -> int | None:
  """First ensemble size (1-based) with accuracy >= target, or None.

  Example:
    >>> first_reaching([0.1, 0.95, 0.5, 1.0], 0.9), first_reaching([0.1], 0.9)
    (2, None)
  """
  hit = np.flatnonzero(np.asarray(accuracy) >= target - 1e-12)
  return int(hit[0]) + 1 if hit.size else None


def _members_of(members):
  try:
    outputs = np.asarray(getattr(members, "outputs", members), np.float64)
  except (TypeError, ValueError):
    raise TypeError(f"a member source must return permjax.Members or an "
                    f"array (members, n_test, out) of numbers, got "
                    f"{type(members).__name__}") from None
  if outputs.ndim != 3:
    raise ValueError(f"a member source must return outputs of shape "
                     f"(members, n_test, out), got {outputs.shape}")
  c = len(outputs)
  status = np.asarray(getattr(members, "status", ("unreported",) * c), "<U16")
  loss = np.asarray(getattr(members, "final_loss", np.full(c, np.nan)),
                    np.float64)
  return outputs, status, loss


def accumulate(sums: np.ndarray, members: int, outputs: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
  """Running averages after each of ``outputs`` (``(c, n_test, out)``) is
  added to ``sums`` of ``members`` members: ``(cumulative sums (c, ...),
  averages (c, ...))``, summed sequentially (resumable bit for bit).

  Example:
    >>> cum, avg = accumulate(np.zeros(2), 0, np.array([[1., 2.], [3., 4.]]))
    >>> avg.tolist()
    [[1.0, 2.0], [2.0, 3.0]]
  """
  stacked = np.concatenate([np.asarray(sums, np.float64)[None], outputs])
  cum = np.cumsum(stacked, axis=0)[1:]
  counts = members + np.arange(1, len(outputs) + 1)
  return cum, cum / counts.reshape((-1,) + (1,) * (cum.ndim - 1))


def ensemble_average(source, members: int, chunk: int = 64
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """The average of members ``0..members-1`` of ``source``, accumulated as
  :func:`grow` does; returns ``(average, status, final_loss)``.

  Example:
    >>> src = lambda ids: np.stack([np.full((1, 2), float(i)) for i in ids])
    >>> ensemble_average(src, 4, chunk=3)[0].tolist()
    [[1.5, 1.5]]
  """
  if (isinstance(members, bool) or not isinstance(members, (int, np.integer))
      or members < 1):
    raise ValueError(f"an ensemble needs members >= 1 (an integer), got "
                     f"{members!r}")
  if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or (
      chunk < 1):
    raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
  sums, count, status, loss = None, 0, [], []
  for start in range(0, members, chunk):
    out, st, ls = _members_of(source(np.arange(start,
                                               min(members, start + chunk))))
    cum, _ = accumulate(np.zeros(out.shape[1:]) if sums is None else sums,
                        count, out)
    sums, count = cum[-1], count + len(out)
    status.append(st)
    loss.append(ls)
  return sums / count, np.concatenate(status), np.concatenate(loss)


def check_unconverged(state: GrowthState, limit: float | None) -> None:
  """Raises :class:`UnconvergedMembersError` when more than ``limit`` (a
  fraction) of the members did not converge; None accepts any.

  Example:
    >>> state = GrowthState(np.zeros(1), 2, np.zeros((1, 2)),
    ...                     np.array(["converged", "max_steps"]),
    ...                     np.array([1e-9, 0.3]), [])
    >>> check_unconverged(state, 0.5)   # 1 of 2 is accepted
    >>> check_unconverged(state, 0.1)
    Traceback (most recent call last):
    ...
    permjax._src.growth.UnconvergedMembersError: 1 of 2 members did not converge ({'max_steps': 1}; largest final loss 0.3), above the accepted fraction 0.1. Train them longer or with a stable step (lr='auto'), or accept them explicitly
  """
  bad = state.unconverged()
  if limit is None or bad <= limit * state.members:
    return
  off = ~np.isin(state.status, GOOD_STATUSES)
  kinds, counts = np.unique(state.status[off], return_counts=True)
  worst = (np.nanmax(state.final_loss)
           if np.any(np.isfinite(state.final_loss)) else float("nan"))
  raise UnconvergedMembersError(
      f"{bad} of {state.members} members did not converge "
      f"({dict(zip(kinds.tolist(), counts.tolist()))}; largest final loss "
      f"{worst:.3g}), above the accepted fraction {limit:g}. Train them "
      f"longer or with a stable step (lr='auto'), or accept them explicitly")


def _stop_at(accuracy: np.ndarray, stop_accuracy: float | None
             ) -> int | None:
  """The N where the last readout first reached ``stop_accuracy`` (never,
  for None)."""
  if stop_accuracy is None:
    return None
  firsts = [first_reaching(row, stop_accuracy) for row in accuracy]
  if not firsts or any(f is None for f in firsts):
    return None
  return max(firsts)


def grow(source: Callable, scorer, *, max_members: int, chunk: int,
         stop_accuracy: float | None = 1.0,
         state: GrowthState | None = None,
         on_chunk: Callable[[GrowthState], None] | None = None,
         on_progress: Callable[[int, dict], None] | None = None,
         targets=ACCURACY_TARGETS,
         max_unconverged: float | None = None,
         memory_budget: int = MEMORY_BUDGET) -> Curve:
  """Grows an ensemble until every readout of ``scorer`` reaches
  ``stop_accuracy``, or ``max_members``.

  Args:
    source: ``member_ids -> (len(ids), n_test, out)`` raw outputs, or a
      :class:`permjax.MemberSource` (whose ``info["kernel"]`` the scorer's
      per-n readouts then follow when they were built without one).
    scorer: a :class:`permjax.InputScorer`, :class:`permjax.ProgramScorer`
      or anything with the same methods.
    max_members: give up after this many members.
    chunk: largest number of members per call of ``source``.
    stop_accuracy: stop at the first N where every readout has reached this
      accuracy at some N (for programs: 1, every pair exact); None grows to
      ``max_members`` (``reached`` then means accuracy 1 at some N).
    state: resume from here.
    on_chunk: called with the state after every chunk (checkpointing).
    on_progress: called with ``(members, {rule: accuracy})`` after every
      chunk.
    targets: accuracies whose first N to report (``stop_accuracy`` is
      always added).
    max_unconverged: largest accepted fraction of members whose status is
      outside :data:`GOOD_STATUSES`; checked after every chunk (after
      ``on_chunk``, so the state is saved). None accepts any.
    memory_budget: bytes of float64 member outputs per chunk (caps
      ``chunk``).

  Returns:
    :class:`Curve`, truncated at the stopping N.

  Raises:
    UnconvergedMembersError: more members than ``max_unconverged`` allows
      did not converge.

  Example:
    >>> from permjax._src import readout, scorers
    >>> test = scorers.TestSet(np.eye(2), np.eye(2), np.ones(2))
    >>> def source(ids):   # member 0 is wrong, every other one right
    ...   return np.stack([(np.eye(2) - 0.5) * (-0.2 if i == 0 else 1.0)
    ...                    for i in ids])
    >>> curve = grow(source, scorers.InputScorer(test, readout.fixed(0.0)),
    ...              max_members=8, chunk=4)
    >>> curve.accuracy["fixed(0)"].tolist(), curve.reached["fixed(0)"]
    ([0.0, 1.0], True)
  """
  if stop_accuracy is not None:
    stop_accuracy = validation.real("stop_accuracy", stop_accuracy, 0.0,
                                    1.0, low_open=True)
  chunk = validation.integer("chunk", chunk, 1)
  max_members = validation.integer("max_members", max_members, 1)
  memory_budget = validation.integer("memory_budget", memory_budget, 1)
  if max_unconverged is not None:
    max_unconverged = validation.real("max_unconverged", max_unconverged,
                                      0.0, 1.0)
  if isinstance(targets, (str, bytes)) or not hasattr(targets, "__iter__"):
    raise TypeError(f"targets must be accuracies in (0, 1], got {targets!r}")
  targets = [validation.real("a target accuracy", t, 0.0, 1.0, low_open=True)
             for t in targets]
  if not callable(source):
    raise TypeError(f"source must be callable ids -> member outputs (e.g. "
                    f"permjax.gp_member_source(...)), got {source!r}")
  for method in ("score", "details", "record_at", "follow", "rules",
                 "shape"):
    if not hasattr(scorer, method):
      raise TypeError(f"scorer must be a permjax.InputScorer, "
                      f"permjax.ProgramScorer or alike (it has no "
                      f"{method!r}), got {type(scorer).__name__}")
  if state is not None and not isinstance(state, GrowthState):
    raise TypeError(f"state must be a permjax.GrowthState (e.g. from "
                    f"GrowthCheckpoint.load()), got {type(state).__name__}")
  if state is not None and (state.members < 0 or len(state.status)
                            != state.members or np.shape(state.accuracy)[-1]
                            != state.members):
    raise ValueError(f"state is inconsistent: members={state.members}, "
                     f"{len(state.status)} statuses, accuracy of shape "
                     f"{np.shape(state.accuracy)}")
  info = getattr(source, "info", None)
  if isinstance(info, dict) and info.get("kernel"):
    scorer = scorer.follow(info["kernel"])
  rules = tuple(scorer.rules)
  per_member = 8 * int(np.prod(scorer.shape))
  chunk = max(1, min(chunk, memory_budget // max(1, per_member)))
  state = empty_state(scorer.shape, len(rules)) if state is None else state
  if state.accuracy.shape[0] != len(rules) or state.sums.shape != tuple(
      scorer.shape):
    raise ValueError(f"the state to resume holds {state.accuracy.shape[0]} "
                     f"readouts on outputs {state.sums.shape}; this growth "
                     f"has {len(rules)} on {tuple(scorer.shape)}")
  record_at = sorted(set(scorer.record_at(max_members)))
  stop = _stop_at(state.accuracy, stop_accuracy) if state.members else None
  while stop is None and state.members < max_members:
    take = min(chunk, max_members - state.members)
    ahead = [n for n in record_at if n > state.members]
    if ahead:  # land chunk ends on the ensemble sizes the scorer records
      take = min(take, ahead[0] - state.members)
    ids = np.arange(state.members, state.members + take)
    outputs, status, loss = _members_of(source(ids))
    if outputs.ndim != 3 or outputs.shape[1:] != tuple(scorer.shape) or len(
        outputs) != take:
      raise ValueError(f"the member source returned outputs of shape "
                       f"{outputs.shape} for {take} members; the test set "
                       f"needs ({take}, {', '.join(map(str, scorer.shape))})")
    cum, average = accumulate(state.sums, state.members, outputs)
    counts = state.members + np.arange(1, take + 1)
    acc = np.asarray(scorer.score(average, counts), np.float64)
    accuracy = np.concatenate([state.accuracy, acc], axis=1)
    stop = _stop_at(accuracy, stop_accuracy)
    end = stop if stop is not None else (
        max_members if counts[-1] == max_members else None)
    details = list(state.details)
    for i, n in enumerate(counts.tolist()):
      if n in record_at or n == end:
        details += scorer.details(average[i], n)
      if n == end:
        break
    state = GrowthState(cum[-1], int(counts[-1]), accuracy,
                        np.concatenate([state.status, status]),
                        np.concatenate([state.final_loss, loss]), details)
    if on_chunk is not None:
      on_chunk(state)
    if on_progress is not None:
      on_progress(state.members, {r: float(accuracy[i, -1])
                                  for i, r in enumerate(rules)})
    check_unconverged(state, max_unconverged)
  end = state.members if stop is None else stop
  reach = 1.0 if stop_accuracy is None else stop_accuracy
  targets = sorted(set(targets) | {reach})
  acc = {r: state.accuracy[i, :end] for i, r in enumerate(rules)}
  return Curve(rules, acc,
               {r: {t: first_reaching(a, t) for t in targets}
                for r, a in acc.items()},
               {r: first_reaching(a, reach) is not None
                for r, a in acc.items()},
               end, state.status[:end], state.final_loss[:end],
               [d for d in state.details if d["members"] <= end])


def merge_curves(curves: list, weights) -> Curve:
  """One curve from growths of the same members on disjoint parts of a test
  set (e.g. blocks of operand pairs, :class:`permjax.TrainedNetworks`):
  per N the accuracies averaged with ``weights`` (each part's size), so the
  result is the curve one growth over the whole set would give. Every part
  must be grown to the same N without early stop.

  Example:
    >>> a = Curve(("r",), {"r": np.array([0.5, 1.0])}, {}, {}, 2,
    ...           np.array(["exact"] * 2), np.zeros(2), [])
    >>> b = a._replace(accuracy={"r": np.array([1.0, 0.0])})
    >>> merged = merge_curves([a, b], [1, 3])
    >>> merged.accuracy["r"].tolist(), merged.n_at["r"][0.5], merged.reached
    ([0.875, 0.25], 1, {'r': False})
  """
  if not curves:
    raise ValueError("merge_curves needs at least one curve")
  weights = np.asarray(weights, np.float64)
  if weights.shape != (len(curves),) or np.any(weights <= 0):
    raise ValueError(f"weights must be one positive size per curve, got "
                     f"{weights.tolist()} for {len(curves)} curves")
  first = curves[0]
  for c in curves[1:]:
    if c.rules != first.rules or c.members != first.members:
      raise ValueError(f"curves to merge must cover the same rules and "
                       f"members, got {c.rules}/{c.members} and "
                       f"{first.rules}/{first.members}")
  acc = {r: sum(w * np.asarray(c.accuracy[r], np.float64)
                for w, c in zip(weights, curves)) / weights.sum()
         for r in first.rules}
  targets = sorted(set().union(*[set(t) for c in curves
                                 for t in c.n_at.values()])
                   | set(ACCURACY_TARGETS) | {1.0})
  return Curve(first.rules, acc,
               {r: {t: first_reaching(a, t) for t in targets}
                for r, a in acc.items()},
               {r: first_reaching(a, 1.0) is not None for r, a in acc.items()},
               first.members, first.status, first.final_loss,
               _merge_details([d for c in curves for d in c.details]))


def _merge_details(details: list) -> list:
  """Scorer records of disjoint parts at the same (members, rule), summed:
  numbers added, count tables added key by key."""
  merged: dict = {}
  for d in details:
    key = (d.get("members"), d.get("rule"))
    if key not in merged:
      merged[key] = {k: (dict(v) if isinstance(v, dict) else v)
                     for k, v in d.items()}
      continue
    into = merged[key]
    for k, v in d.items():
      if k in ("members", "rule"):
        continue
      if isinstance(v, dict):
        table = into.setdefault(k, {})
        for sub, count in v.items():
          table[sub] = table.get(sub, 0) + count
      elif isinstance(v, (int, float)) and not isinstance(v, bool):
        into[k] = into.get(k, 0) + v
  return list(merged.values())


class GrowthCheckpoint:
  """The latest :class:`GrowthState` of one growth, in an orbax folder.

  ``fingerprint`` (JSON-able) names what the state depends on (config,
  unit, member source); a folder written under another fingerprint is
  refused untouched (:class:`permjax.CheckpointError`).

  Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> ckpt = GrowthCheckpoint(folder, {"k": 5})
    >>> ckpt.save(GrowthState(np.zeros((2, 5)), 2, np.array([[.1, .2]]),
    ...                       np.array(["exact", "exact"]), np.zeros(2), []))
    >>> state = ckpt.load()
    >>> state.members, state.status.tolist()
    (2, ['exact', 'exact'])
    >>> ckpt.close()
  """

  def __init__(self, directory: str, fingerprint: dict):
    self.store = Checkpoint(directory, "growth", fingerprint, subdir="states",
                            keep=1)

  def load(self) -> GrowthState | None:
    """The saved state, or None if nothing was saved yet."""
    steps = self.store.steps()
    if not steps:
      return None
    data = self.store.restore(steps[-1])
    meta = json.loads(bytes(np.asarray(data["meta"], np.uint8)).decode())
    accuracy = np.asarray(data["accuracy"], np.float64)
    return GrowthState(np.asarray(data["sums"], np.float64),
                       int(data["members"]),
                       accuracy.reshape(-1, int(data["members"])),
                       np.asarray(meta["status"], "<U16"),
                       np.asarray(data["final_loss"], np.float64),
                       meta["details"])

  def save(self, state: GrowthState) -> None:
    """Replaces the saved state by ``state``."""
    if (len(state.status) != state.members or len(state.final_loss)
        != state.members or state.members < 1
        or np.shape(state.accuracy)[-1] != state.members):
      raise ValueError(f"a growth state to save needs members >= 1 with one "
                       f"status, final loss and accuracy each, got members="
                       f"{state.members}, {len(state.status)} statuses, "
                       f"{len(state.final_loss)} losses, accuracy of shape "
                       f"{np.shape(state.accuracy)}")
    meta = json.dumps({"status": np.asarray(state.status).tolist(),
                       "details": state.details}).encode()
    self.store.save(state.members, {
        "sums": state.sums, "members": np.int64(state.members),
        "accuracy": np.asarray(state.accuracy, np.float64),
        "final_loss": state.final_loss,
        "meta": np.frombuffer(meta, np.uint8)})

  def close(self) -> None:
    self.store.close()
