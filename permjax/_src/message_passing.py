"""Message passing with a template predictor as the update
(docs/theory/graphs.md §1, §3).

One round, all nodes at once::

    Y  = readout(predictor(encode(X)))           # (n, D) bits
    X' = [ Y[:, :outbox],  (A + I) · Y[:, outbox:] ]

The predictor is the OR rule (``None``), the exact NTK/NNGP mean
(:func:`permjax.exact_mean`), or an ensemble's average
(:func:`permjax.gp_ensemble_mean`, :func:`permjax.network_ensemble_mean`);
the readout is any :class:`permjax.Readout`. The sum runs over a sparse
``A + I`` (scipy CSR); a summed slot above 1 means two writers shared a
slot (a colouring that is not distance-2), and :func:`run_graph` refuses it
instead of feeding a 2 into the template matching.

Every round is compared with the OR rule on the same states, so a run
reports whether its predictor equals the OR rule at every node, round and
bit; the run stops early at a fixed point (every node's state unchanged:
a deterministic update then never moves again).

The encodings the OR rule visits on a set of cases are the test set of an
ensemble (:func:`graph_test_set`): a run stays on the ideal trajectory
until its first wrong bit, so "every visited encoding read right" is the
same event as "every node, round and bit right" (docs/theory/graphs.md
§4.1); union bounds over them live in :mod:`permjax._src.graph_bounds`.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from permjax._src import execution
from permjax._src import graphs as graphs_lib
from permjax._src import node_program as node_lib
from permjax._src import readout as readout_lib
from permjax._src.scorers import GraphTestSet

HEAVISIDE = ("before", "after")


class GraphRun(NamedTuple):
  """One run of a node program on a graph.

  Attributes:
    outputs: ``(n,)`` each node's output after the run.
    truth: ``(n,)`` the classical answer.
    correct: outputs equal the truth at every node.
    matches_or_rule: every round's next state equals the OR rule's from the
      same state, at every node and bit.
    first_deviation: the first round (1-based) where it did not, or None.
    rounds: the round budget.
    rounds_run: rounds until a fixed point (or the budget).
    max_inbox: the largest summed outbox value seen (1 where the slots
      stay binary).
    seconds: wall time.
    states: ``(n, D)`` the final states.
  """
  outputs: np.ndarray
  truth: np.ndarray
  correct: bool
  matches_or_rule: bool
  first_deviation: int | None
  rounds: int
  rounds_run: int
  max_inbox: int
  seconds: float
  states: np.ndarray


class SlotCollisionError(ValueError):
  """Two writers summed into one slot: the colouring is not distance-2 (or
  the program writes outside its node's slot)."""


def _check_node_program(node_program):
  if not isinstance(node_program, node_lib.NodeProgram):
    raise TypeError(f"node_program must be a permjax.NodeProgram (e.g. "
                    f"permjax.flooding_program(1, 2)), got "
                    f"{type(node_program)}")
  return node_program


def _predict(program, predictor, readout, matched):
  """(bits read, real outputs or None) of the states with ``matched``."""
  c1 = program.writes_of(matched)
  ref = c1 > 0
  if predictor is None:
    return ref, None, ref
  n = matched.sum(1)
  if hasattr(predictor, "from_counts"):
    outputs = predictor.from_counts(program, n, c1)
    return readout.bits_at(outputs, n, program.k, predictor.members), outputs, ref
  x = program.encode_matches(matched)
  outputs = np.asarray(predictor(program, x), np.float64)
  return readout.bits(outputs, x, predictor.members), outputs, ref


def run_graph(node_program: node_lib.NodeProgram, g: graphs_lib.Graph,
              inputs: dict, *, predictor=None, readout=None, colours=None,
              rounds: int | None = None, heaviside: str = "before",
              stop_at_fixed_point: bool = True, visit=None,
              progress: bool = False) -> GraphRun:
  """Runs ``node_program`` on ``g`` for its round budget.

  Args:
    node_program: a :class:`permjax.NodeProgram`.
    g: the graph (:mod:`permjax.graphs`).
    inputs: the program's inputs (e.g. ``{"source": 0, "message": 1}``).
    predictor: None (the OR rule) or a predictor ``(program, x) -> (B, D)``
      with ``members`` (e.g. :func:`permjax.exact_mean`).
    readout: a :class:`permjax.Readout` (default: zero, ε = 1e-10).
    colours: each node's slot (default
      :func:`permjax.graphs.distance2_colouring` within the program's
      slots).
    rounds: the budget (default the program's, from the graph and inputs).
    heaviside: ``"before"`` (threshold each node's outputs, then sum the
      outbox: the construction) or ``"after"`` (sum the real outbox outputs
      over the neighbourhood, then threshold: the ablation; needs a
      predictor with real outputs).
    stop_at_fixed_point: stop once no node's state changes.
    visit: a callable ``matches (n, T) -> None`` called every round with
      the templates every node matches (how :func:`graph_test_set` collects
      encodings).
    progress: a tqdm bar over rounds on stderr.

  Returns:
    :class:`GraphRun`.

  Example:
    >>> from permjax._src.programs import flooding
    >>> fl = flooding.flooding_program(1, 2)
    >>> run = run_graph(fl, graphs_lib.path_graph(6),
    ...                 {"source": 0, "message": 1})
    >>> run.outputs.tolist(), run.correct, run.max_inbox
    ([1, 1, 1, 1, 1, 1], True, 1)
  """
  node_program = _check_node_program(node_program)
  program = node_program.program
  if heaviside not in HEAVISIDE:
    raise ValueError(f"heaviside must be one of {HEAVISIDE}, got "
                     f"{heaviside!r}")
  if heaviside == "after" and predictor is None:
    raise ValueError("heaviside='after' thresholds summed real outputs; the "
                     "OR rule has none: give a predictor")
  if predictor is not None:
    predictor = execution.check_predictor(predictor)
  readout = readout_lib.check_readout(
      readout_lib.zero() if readout is None else readout)
  readout = readout.follow(getattr(predictor, "kernel", None))
  colours = (graphs_lib.distance2_colouring(g, node_program.slots)
             if colours is None else colours)
  states = node_program.initial(g, colours, inputs)
  budget = node_program.rounds(g, inputs) if rounds is None else rounds
  if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or (
      budget < 1):
    raise ValueError(f"rounds must be an integer >= 1, got {budget!r}")
  closed = graphs_lib.adjacency(g, self_loops=True)
  split = node_program.outbox
  start = time.perf_counter()
  deviation, max_inbox, ran = None, 0, 0
  bar = None
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    bar = tqdm(total=int(budget), unit="round", desc=node_program.name)
  for r in range(1, int(budget) + 1):
    matched = program.matches_unchecked(states)
    if visit is not None:
      visit(matched)
    bits, outputs, ref = _predict(program, predictor, readout, matched)
    if deviation is None and not np.array_equal(bits, ref):
      deviation = r
    nxt = np.empty_like(states)
    nxt[:, :split] = bits[:, :split]
    if heaviside == "before":
      inbox = closed @ bits[:, split:].astype(np.int32)
      top = int(inbox.max(initial=0))
      max_inbox = max(max_inbox, top)
      if top > 1:
        node, col = np.unravel_index(int(inbox.argmax()), inbox.shape)
        raise SlotCollisionError(
            f"{node_program.name} on {g.name}, round {r}: outbox bit "
            f"{int(col)} of node {int(node)} sums to {top} (at most one "
            f"writer per slot; is the colouring distance-2?)")
      nxt[:, split:] = inbox > 0
    else:
      summed = closed @ outputs[:, split:]
      fixed = np.zeros(program.D, bool)
      fixed[list(readout.fixed_zeros)] = True
      n = matched.sum(1)
      after = readout.bits_at(np.concatenate(
          [outputs[:, :split], summed], axis=1), n, program.k,
                              predictor.members)
      nxt[:, split:] = after[:, split:]
    ran = r
    if bar is not None:
      bar.update(1)
    if stop_at_fixed_point and np.array_equal(nxt, states):
      break
    states = nxt
  if bar is not None:
    bar.close()
  outputs = np.asarray(node_program.output(states))
  truth = np.asarray(node_program.truth(g, inputs))
  return GraphRun(outputs, truth, bool(np.array_equal(outputs, truth)),
                  deviation is None, deviation, int(budget), ran, max_inbox,
                  round(time.perf_counter() - start, 4), states)


# --- test sets and union bounds ---------------------------------------------


def graph_test_set(node_program: node_lib.NodeProgram, cases,
                   progress: bool = False) -> GraphTestSet:
  """The distinct encodings the OR rule visits on ``cases`` (``[(graph,
  inputs), ...]``), and which each case visits; refuses a case the OR rule
  itself gets wrong.

  Example:
    >>> from permjax._src.programs import flooding
    >>> fl = flooding.flooding_program(1, 2)
    >>> test = graph_test_set(fl, [(graphs_lib.path_graph(4),
    ...                             {"source": 0, "message": 1})])
    >>> test.x.shape[1] == fl.k, test.path.shape[0]
    (True, 1)
  """
  node_program = _check_node_program(node_program)
  program = node_program.program
  index, rows, per_case, labels, rounds = {}, [], [], [], []
  it = cases
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    it = tqdm(cases, unit="case", desc=node_program.name)
  for g, inputs in it:
    seen = set()

    def visit(matched, seen=seen):
      packed = np.packbits(matched, axis=1)
      uniq, first = np.unique(packed, axis=0, return_index=True)
      for key, at in zip(map(bytes, uniq), first.tolist()):
        row = index.get(key)
        if row is None:
          row = index[key] = len(rows)
          rows.append(matched[at].copy())
        seen.add(row)

    run = run_graph(node_program, g, inputs, visit=visit)
    if not run.correct:
      raise ValueError(f"{node_program.name} on {g.name} with {inputs}: the "
                       f"OR rule's output differs from the classical answer "
                       f"at {int((run.outputs != run.truth).sum())} nodes")
    per_case.append(sorted(seen))
    labels.append(f"{g.name} {inputs}")
    rounds.append(run.rounds_run)
  matches = np.array(rows, bool)
  live = matches.any(axis=1)
  renumber = np.where(live, np.cumsum(live) - 1, -1)
  width = max((len(p) for p in per_case), default=0)
  path = np.full((len(per_case), max(width, 1)), -1, np.int64)
  for i, p in enumerate(per_case):
    path[i, :len(p)] = renumber[p]
  matches = matches[live]
  return GraphTestSet(program.encode_matches(matches),
                      program.writes_of(matches) > 0, path, matches,
                      tuple(labels), np.array(rounds, np.int64),
                      node_program.name, program.fingerprint)
