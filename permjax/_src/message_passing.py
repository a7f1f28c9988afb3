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
§3); union bounds over them live in :mod:`permjax._src.graph_bounds`.
"""

from __future__ import annotations

import functools
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from permjax._src import execution
from permjax._src import graphs as graphs_lib
from permjax._src import node_program as node_lib
from permjax._src import predictors
from permjax._src import readout as readout_lib
from permjax._src import validation
from permjax._src.scorers import GraphTestSet

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


def _collision(where, r, node, col, top) -> SlotCollisionError:
  """The one message both drivers raise for a summed slot above 1."""
  return SlotCollisionError(
      f"{where}, round {r}: outbox bit {col} of node {node} sums to {top} "
      f"(at most one writer per slot; is the colouring distance-2?)")


def _check_node_program(node_program):
  if not isinstance(node_program, node_lib.NodeProgram):
    raise TypeError(f"node_program must be a permjax.NodeProgram (e.g. "
                    f"permjax.flooding_program(1, 2)), got "
                    f"{type(node_program)}")
  return node_program


def _predict(program, predictor, readout, matched, decisions=None):
  """(bits read, the OR rule's bits) of the states with ``matched``;
  ``decisions``: a count-determined predictor's
  :class:`permjax.CountDecisions`."""
  c1 = program.writes_of(matched)
  ref = c1 > 0
  if predictor is None:
    return ref, ref
  return predictors.read_step(program, predictor, readout, matched, c1, ref,
                             decisions), ref


def _rounds(program, split, closed, states, budget, predictor, readout, *,
            stop_at_fixed_point=True, until_first_error=False, visit=None,
            bar=None, where="", node_budget=None):
  """The round loop; returns ``(states, first deviation, max inbox, rounds
  run)``.

  Only *active* nodes are recomputed: the update is a deterministic
  function of a node's state, so a node whose state did not change reads
  the same bits as before. After the first round the active nodes are
  those whose state changed, and the summed outboxes are updated by the
  changes of the active nodes' outboxes alone (a scatter over their closed
  neighbourhoods), so a round costs what changes in it, not ``n`` — a
  flood front crossing a 10^4-node path touches a handful of nodes per
  round. ``visit(matched, rows)`` sees the matches of the recomputed
  ``rows`` (the others' encodings are unchanged, already visited).
  ``node_budget`` (``(n,)`` ints) freezes each node after its own budget of
  rounds: with one budget per connected component (a disjoint union of
  cases), every case stops where it would alone.
  """
  closed = closed.tocsr()
  decisions = (predictors.CountDecisions(program, predictor, readout)
               if predictors.reads_counts(predictor, readout) else None)
  n = states.shape[0]
  bits = np.zeros_like(states)
  inbox = np.zeros((n, states.shape[1] - split), np.int32)
  rows = np.arange(n)
  deviation, max_inbox, ran = None, 0, 0
  for r in range(1, int(budget) + 1):
    if node_budget is not None:
      rows = rows[node_budget[rows] >= r]
    matched = program.matches_unchecked(states[rows])
    if visit is not None:
      visit(matched, rows)
    new, ref = _predict(program, predictor, readout, matched, decisions)
    if deviation is None and not np.array_equal(new, ref):
      deviation = r
      if until_first_error:
        return states, deviation, max_inbox, r
    delta = new[:, split:].astype(np.int32) - bits[rows, split:]
    bits[rows] = new
    moved = rows[delta.any(axis=1)]
    if len(moved):  # scatter the outbox changes over closed neighbourhoods
      starts, ends = closed.indptr[moved], closed.indptr[moved + 1]
      counts = ends - starts
      take = np.repeat(starts - np.cumsum(counts) + counts, counts) + (
          np.arange(counts.sum()))
      targets = closed.indices[take]
      np.add.at(inbox, targets, np.repeat(delta[delta.any(axis=1)], counts,
                                          axis=0))
      touched = np.unique(targets)
      top = int(inbox[touched].max(initial=0))
      max_inbox = max(max_inbox, top)
      if top > 1:
        at = touched[inbox[touched].max(axis=1).argmax()]
        col = int(inbox[at].argmax())
        raise _collision(where, r, int(at), col, top)
    else:
      touched = np.zeros(0, np.int64)
    # nodes whose next state may differ: the recomputed ones (own bits) and
    # those whose summed outbox changed
    cand = np.union1d(rows, touched)
    nxt_rows = np.concatenate([bits[cand, :split], inbox[cand] > 0], axis=1)
    differs = (nxt_rows != states[cand]).any(axis=1)
    changed = cand[differs]
    if r == 1:
      states = states.copy()  # the caller's initial states stay as given
    states[changed] = nxt_rows[differs]
    ran = r
    if bar is not None:
      bar.update(1)
    if not len(changed):
      if stop_at_fixed_point:
        break
      rows = np.zeros(0, np.int64)
    else:
      rows = changed
  return states, deviation, max_inbox, ran


def _setup(node_program, predictor, readout):
  node_program = _check_node_program(node_program)
  if predictor is not None:
    predictor = execution.check_predictor(predictor)
  readout = readout_lib.check_readout(
      readout_lib.zero() if readout is None else readout)
  return node_program, predictor, readout.follow(
      getattr(predictor, "kernel", None))


def _check_rounds(budget):
  if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or (
      budget < 1):
    raise ValueError(f"rounds must be an integer >= 1, got {budget!r}")
  return int(budget)


def _start(node_program, g, inputs, colours, rounds):
  """A run's initial states (``(n, D)`` bool; the colouring defaults to
  :func:`permjax.graphs.distance2_colouring`) and its round budget (the
  program's unless ``rounds`` is given)."""
  colours = (graphs_lib.distance2_colouring(g, node_program.slots)
             if colours is None else colours)
  states = np.asarray(node_program.initial(g, colours, inputs), bool)
  return states, _check_rounds(node_program.rounds(g, inputs)
                               if rounds is None else rounds)


def _round_bar(progress, budget, name):
  """A tqdm bar over the rounds, or None."""
  if not progress:
    return None
  from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
  return tqdm(total=budget, unit="round", desc=name)


def _finish(node_program, g, inputs, states, deviation, budget, ran,
            max_inbox, start) -> GraphRun:
  """The :class:`GraphRun` of final ``states``: outputs against the
  classical answer."""
  outputs = np.asarray(node_program.output(states))
  truth = np.asarray(node_program.truth(g, inputs))
  return GraphRun(outputs, truth, bool(np.array_equal(outputs, truth)),
                  deviation is None, deviation, budget, ran, max_inbox,
                  round(time.perf_counter() - start, 4), states)


def run_graph(node_program: node_lib.NodeProgram, g: graphs_lib.Graph,
              inputs: dict, *, predictor=None, readout=None, colours=None,
              rounds: int | None = None, stop_at_fixed_point: bool = True,
              until_first_error: bool = False, visit=None,
              progress: bool = False) -> GraphRun:
  """Runs ``node_program`` on ``g`` for its round budget.

  Args:
    node_program: a :class:`permjax.NodeProgram`.
    g: the graph (:mod:`permjax.graphs`).
    inputs: the program's inputs (e.g. ``{"source": 0, "message": 1}``).
    predictor: None (the OR rule) or a predictor ``(program, x) -> (B, D)``
      with ``members`` (e.g. :func:`permjax.exact_mean`).
    readout: a :class:`permjax.Readout` (default: zero, ε = 1e-10), applied
      to each node's outputs before the neighbourhood sum.
    colours: each node's slot (default
      :func:`permjax.graphs.distance2_colouring` within the program's
      slots).
    rounds: the budget (default the program's, from the graph and inputs).
    stop_at_fixed_point: stop once no node's state changes.
    until_first_error: stop at the first round whose read state leaves the
      OR rule's (the run has failed; an ensemble predictor evaluated only on
      the ideal trajectory's encodings cannot go on past it).
    visit: a callable ``(matches, rows) -> None`` called every round with
      the templates matched by the nodes ``rows`` recomputed that round
      (every node in the first round, then those whose state changed: the
      others' encodings are the same as before).
    progress: a tqdm bar over rounds on stderr.

  Returns:
    :class:`GraphRun`.

  Raises:
    SlotCollisionError: a summed outbox bit above 1.

  Example:
    >>> from permjax._src.programs import flooding
    >>> fl = flooding.flooding_program(1, 2)
    >>> run = run_graph(fl, graphs_lib.path_graph(6),
    ...                 {"source": 0, "message": 1})
    >>> run.outputs.tolist(), run.correct, run.max_inbox
    ([1, 1, 1, 1, 1, 1], True, 1)
  """
  node_program, predictor, readout = _setup(node_program, predictor, readout)
  states, budget = _start(node_program, g, inputs, colours, rounds)
  start = time.perf_counter()
  bar = _round_bar(progress, budget, node_program.name)
  try:
    states, deviation, max_inbox, ran = _rounds(
        node_program.program, node_program.outbox,
        graphs_lib.adjacency(g, self_loops=True), states, budget, predictor,
        readout, stop_at_fixed_point=stop_at_fixed_point,
        until_first_error=until_first_error, visit=visit, bar=bar,
        where=f"{node_program.name} on {g.name}")
  finally:
    if bar is not None:
      bar.close()
  return _finish(node_program, g, inputs, states, deviation, budget, ran,
                 max_inbox, start)


# --- the round on devices ------------------------------------------------------


def _device_round(states, real, const, split, apply=None):
  """One synchronous round of every node on the devices: ``(next states,
  bits read, OR-rule bits, inbox)``; ``apply(params, x)`` is a network
  average's, or None (the bits come from counts)."""
  dot = functools.partial(jnp.matmul, precision=jax.lax.Precision.HIGHEST)
  sf = states.astype(jnp.float32)
  matched = ((dot(sf, const["ones"]) == const["need"])
             & (dot(sf, const["zeros"]) == 0))           # (n, T)
  n = matched.sum(1)
  c1 = dot(matched.astype(jnp.float32), const["writes"]).astype(jnp.int32)
  ref = c1 > 0
  if apply is not None:   # the members read the encodings themselves
    x = matched.astype(const["unit"].dtype) * const["unit"][n][:, None]
    x = jnp.pad(x, ((0, 0), (0, const["pad_row"].shape[0])))
    out = apply(const["params"], x)
    bits = ((out > const["threshold"][n][:, None]) & (n > 0)[:, None]
            & ~const["fixed"][None, :])
  elif "table" in const:
    bits = const["table"][n[:, None], c1, const["column_class"][None, :]]
    bits = bits & ~const["fixed"][None, :]
  else:
    bits = ref
  sent = jnp.where(real[:, None], bits[:, split:], False).astype(jnp.int32)
  inbox = jax.ops.segment_sum(sent[const["source"]], const["target"],
                              num_segments=states.shape[0])
  nxt = jnp.concatenate([bits[:, :split], inbox > 0], axis=1)
  return nxt, bits, ref, inbox


@functools.partial(jax.jit, static_argnames=("split", "stop_at_fixed_point",
                                             "until_first_error",
                                             "sharding", "apply"))
def _device_rounds(carry, real, const, stop, *, split, stop_at_fixed_point,
                   until_first_error, sharding, apply=None):
  """Rounds until ``stop`` (exclusive round index), a fixed point, a slot
  collision or (with ``until_first_error``) a deviation from the OR rule."""

  def running(c):
    return ((c["round"] < stop) & ~c["collided"]
            & (c["moving"] | (not stop_at_fixed_point))
            & ~(until_first_error & (c["deviation"] > 0)))

  def body(c):
    r = c["round"] + 1
    nxt, bits, ref, inbox = _device_round(c["states"], real, const, split,
                                          apply)
    wrong = ((bits != ref).any(1) & real).any()
    deviation = jnp.where((c["deviation"] == 0) & wrong, r, c["deviation"])
    inbox = jnp.where(real[:, None], inbox, 0)
    top = inbox.max()
    flat = jnp.argmax(inbox.reshape(-1))
    # a run stopped at its first wrong bit never reaches the sum (as on the
    # host, which checks the bits before scattering them)
    collided = (top > 1) & ~(until_first_error & wrong)
    keep = collided | (until_first_error & wrong)
    nxt = jax.lax.with_sharding_constraint(
        jnp.where(keep, c["states"], nxt), sharding)
    moving = ((nxt != c["states"]).any(1) & real).any()
    return {"round": r, "states": nxt, "moving": moving,
            "deviation": deviation, "collided": collided,
            "max_inbox": jnp.where(until_first_error & wrong,
                                   c["max_inbox"],
                                   jnp.maximum(c["max_inbox"], top)),
            "collision": jnp.where(
                collided & ~c["collided"],
                jnp.stack([r, flat // inbox.shape[1], flat % inbox.shape[1],
                           top]).astype(jnp.int32), c["collision"])}

  return jax.lax.while_loop(running, body, carry)


def _threshold_table(readout, program, members) -> np.ndarray:
  """``(T + 1,)`` float64: the threshold an average is compared with at a
  state matching ``n`` templates (row 0 unused: such a state reads 0)."""
  n = np.arange(1, program.T + 1)
  if readout.per_n:
    thr = np.broadcast_to(readout.thresholds(program.k, n, members), n.shape)
  else:
    thr = np.full(n.shape, float(readout.tau))
  return np.concatenate([[np.inf], thr])


def _rounded_below(values, dtype) -> np.ndarray:
  """The largest ``dtype`` number ``t' <= t`` for each float64 ``t``: an
  output ``o`` of that dtype has ``o > t'`` exactly when ``float64(o) > t``
  (the host readout's comparison)."""
  values = np.asarray(values, np.float64)
  out = values.astype(dtype)
  over = out.astype(np.float64) > values
  out[over] = np.nextafter(out[over], dtype.type(-np.inf))
  return out


def node_mesh(devices=None) -> jax.sharding.Mesh:
  """A one-axis mesh ``("nodes",)`` over ``devices`` (default every device
  of the default backend): :func:`run_graph_sharded` splits the nodes over
  it.

  Example:
    >>> node_mesh().axis_names
    ('nodes',)
  """
  devices = jax.devices() if devices is None else list(devices)
  return jax.sharding.Mesh(np.asarray(devices), ("nodes",))


def run_graph_sharded(node_program: node_lib.NodeProgram,
                      g: graphs_lib.Graph, inputs: dict, *, predictor=None,
                      readout=None, colours=None, rounds: int | None = None,
                      mesh: jax.sharding.Mesh | None = None,
                      stop_at_fixed_point: bool = True,
                      until_first_error: bool = False,
                      rounds_per_call: int = 256,
                      progress: bool = False) -> GraphRun:
  """:func:`run_graph` with every round on the devices, the nodes split
  over a mesh (:func:`node_mesh`; one jitted loop per ``rounds_per_call``
  rounds, the neighbourhood sum a ``segment_sum`` over the edges of
  ``A + I``).

  Every node is recomputed every round (no active set): the cost per round
  is ``n`` × the matching and writing GEMMs (``(n, D) × (D, T)`` and
  ``(n, T) × (T, D)``, float32: exact for counts below 2^24), so this path
  is for graphs whose nodes are many and whose rounds are few; the host
  driver wins where a front crosses a long graph. Predictors:

  * count-determined ones — the OR rule (``None``) or one with
    ``from_counts(program, n, c1, weights=None)``
    (:func:`permjax.exact_mean`): their decisions are made
    on the host in float64 once (:class:`permjax.CountDecisions`) and the
    devices only look them up, so the result equals :func:`run_graph`'s
    bit for bit;
  * network averages (:func:`permjax.network_average`): the members
    themselves read every node's encoding every round (the trained ensemble
    as the update function, on or off the ideal trajectory). The encoding
    is the host's (1/√n in float64, cast to the members' dtype) and the
    threshold is rounded down to that dtype, so a comparison differs from
    the host's only where the averages do: the device averages in the
    members' dtype (float32 by default), the host in float64, and the
    members' matrix products may sum in another order. Equality with
    :func:`run_graph` is tested, not guaranteed: an average within a few
    float32 ulps of a threshold can read differently.

  Tabulated ensembles (:class:`permjax.EnsembleMean`) answer only on their
  test set and run on the host driver.

  Args:
    node_program: as :func:`run_graph`, and so are ``g``, ``inputs``,
      ``predictor`` (of the kinds above), ``readout``, ``colours``,
      ``rounds``, ``stop_at_fixed_point``, ``until_first_error`` and
      ``progress``.
    mesh: a mesh with one axis (default :func:`node_mesh`); the node count
      is padded to a multiple of its size with isolated nodes that nothing
      reads.
    rounds_per_call: rounds per device call (progress is shown between
      calls).

  Returns:
    :class:`GraphRun` (``max_inbox`` over every node and round).

  Raises:
    SlotCollisionError: a summed outbox bit above 1.
    ValueError: a predictor of neither kind, networks trained for another
      program, or a readout without analytic thresholds
      (``self_calibrated``).

  Example:
    >>> from permjax._src.programs import flooding
    >>> fl = flooding.flooding_program(1, 2)
    >>> run = run_graph_sharded(fl, graphs_lib.path_graph(6),
    ...                         {"source": 0, "message": 1})
    >>> run.outputs.tolist(), run.correct, run.matches_or_rule
    ([1, 1, 1, 1, 1, 1], True, True)
  """
  node_program, predictor, readout = _setup(node_program, predictor, readout)
  average = isinstance(predictor, predictors.NetworkAverage)
  if predictor is not None and not readout.analytic:
    raise ValueError(f"the {readout.rule} readout sets its thresholds from "
                     f"each batch's outputs; run_graph_sharded needs "
                     f"analytic ones (use permjax.run_graph)")
  if predictor is not None and not average and not predictors.reads_counts(
      predictor, readout):
    method = getattr(predictor, "from_counts", None)
    why = ("its from_counts takes no weights argument (the device table "
           "reads one column per distinct column weight: accept "
           "weights=None)" if method is not None else
           "it is neither (an ensemble tabulated on a test set runs with "
           "permjax.run_graph)")
    raise ValueError(f"run_graph_sharded runs the OR rule, count-determined "
                     f"predictors (from_counts(program, n, c1, weights=None):"
                     f" permjax.exact_mean()) and network averages "
                     f"(permjax.network_average); {type(predictor).__name__}"
                     f": {why}")
  if average:
    predictor.check(node_program.program)
  rounds_per_call = validation.integer("rounds_per_call", rounds_per_call, 1)
  mesh = node_mesh() if mesh is None else mesh
  if not isinstance(mesh, jax.sharding.Mesh) or len(mesh.axis_names) != 1:
    raise ValueError(f"mesh must be a jax.sharding.Mesh with one axis (e.g. "
                     f"permjax.node_mesh()), got {mesh!r}")
  states, budget = _start(node_program, g, inputs, colours, rounds)
  start = time.perf_counter()
  program, split = node_program.program, node_program.outbox
  ones, zeros = program.requirements()
  const = {"ones": ones.T.astype(np.float32),
           "need": ones.sum(1).astype(np.float32),
           "zeros": zeros.T.astype(np.float32),
           "writes": program.training_set()[1][:program.T].astype(
               np.float32)}
  if predictor is not None:
    decisions = predictors.CountDecisions(
        program, None if average else predictor, readout)
    const["fixed"] = decisions.fixed
  apply = predictor.device_apply if average else None
  if average:
    dtype = np.dtype(predictor.nets.config.jnp_dtype)
    const["params"] = predictor.params
    const["pad_row"] = np.zeros(program.k - program.T, dtype)
    # the host's encoding: 1/√n in float64, then cast to the members' dtype
    const["unit"] = (1.0 / np.sqrt(np.maximum(np.arange(program.T + 1), 1))
                     ).astype(dtype)
    const["threshold"] = _rounded_below(_threshold_table(
        readout, program, predictor.members), dtype)
  elif predictor is not None:
    decisions.upto(program.T)
    const["table"] = decisions.table
    const["column_class"] = decisions.column_class
  size = mesh.devices.size
  padded = -(-g.n // size) * size
  closed = graphs_lib.adjacency(g, self_loops=True).tocoo()
  const["source"] = closed.col.astype(np.int32)
  const["target"] = closed.row.astype(np.int32)
  replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  sharding = jax.sharding.NamedSharding(
      mesh, jax.sharding.PartitionSpec(mesh.axis_names[0]))
  const = jax.device_put(const, replicated)
  full = np.zeros((padded, program.D), bool)
  full[:g.n] = states
  real = jax.device_put(np.arange(padded) < g.n, sharding)
  carry = {"round": jnp.int32(0),
           "states": jax.device_put(full, sharding),
           "moving": jnp.bool_(True), "deviation": jnp.int32(0),
           "collided": jnp.bool_(False), "max_inbox": jnp.int32(0),
           "collision": jnp.zeros(4, jnp.int32)}
  bar = _round_bar(progress, budget, node_program.name)
  try:
    while True:
      before = int(carry["round"])
      stop = min(budget, before + rounds_per_call)
      carry = _device_rounds(
          carry, real, const, jnp.int32(stop), split=split,
          stop_at_fixed_point=stop_at_fixed_point,
          until_first_error=until_first_error, sharding=sharding,
          apply=apply)
      ran = int(carry["round"])
      if bar is not None:
        bar.update(ran - before)
      if (ran < stop or ran >= budget or bool(carry["collided"])
          or (until_first_error and int(carry["deviation"]))):
        break
  finally:
    if bar is not None:
      bar.close()
  if bool(carry["collided"]):
    r, at, col, top = (int(v) for v in np.asarray(carry["collision"]))
    raise _collision(f"{node_program.name} on {g.name}", r, at, col, top)
  return _finish(node_program, g, inputs,
                 np.asarray(carry["states"])[:g.n],
                 int(carry["deviation"]) or None, budget, int(carry["round"]),
                 int(carry["max_inbox"]), start)


# --- test sets and union bounds ---------------------------------------------


def _union(graphs):
  """The disjoint union of ``graphs`` (node offsets, one edge array)."""
  offsets = np.cumsum([0] + [g.n for g in graphs])
  edges = np.concatenate([g.edges + o for g, o in zip(graphs, offsets)])
  return graphs_lib.Graph(int(offsets[-1]), edges, "union"), offsets


def graph_test_set(node_program: node_lib.NodeProgram, cases, *,
                   batch_nodes: int = 1 << 17, progress: bool = False,
                   encode: bool = True) -> GraphTestSet:
  """The distinct encodings the OR rule visits on ``cases`` (``[(graph,
  inputs), ...]``), and which each case visits; refuses a case the OR rule
  itself gets wrong.

  Cases run together, as one disjoint union of up to ``batch_nodes`` nodes
  per batch (message passing never crosses components), each case's nodes
  frozen after its own round budget, so a case visits what it visits run
  alone, however the cases are batched.

  ``encode=False`` leaves ``x`` out (``None``): the union bounds and the
  margin need only the matches (``(S, T)`` bool), while ``x`` is ``(S, k)``
  float64 — 4.7 GB for the 2·10^5 encodings Bellman–Ford visits on 29
  graphs of 7 nodes or fewer at Δ = 3; encode blocks of rows with
  :meth:`permjax.Program.encode_matches` where means are needed.

  Example:
    >>> from permjax._src.programs import flooding
    >>> fl = flooding.flooding_program(1, 2)
    >>> test = graph_test_set(fl, [(graphs_lib.path_graph(4),
    ...                             {"source": 0, "message": 1})])
    >>> test.x.shape[1] == fl.k, test.path.shape[0]
    (True, 1)
  """
  node_program = _check_node_program(node_program)
  if not isinstance(encode, bool):
    raise TypeError(f"encode must be True or False, got {encode!r}")
  program = node_program.program
  cases = list(cases)
  if not cases:
    raise ValueError("graph_test_set needs at least one (graph, inputs) case")
  index, found = {}, []
  pairs = []  # (case, row) visited, per batch
  batches, at = [], 0
  while at < len(cases):
    size, end = 0, at
    while end < len(cases) and (end == at or size + cases[end][0].n
                                <= batch_nodes):
      size += cases[end][0].n
      end += 1
    batches.append((at, end))
    at = end
  bar = None
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    bar = tqdm(total=len(cases), unit="case", desc=node_program.name)
  rounds = np.zeros(len(cases), np.int64)
  for lo, hi in batches:
    group = cases[lo:hi]
    union, offsets = _union([g for g, _ in group])
    owner = np.repeat(np.arange(lo, hi), np.diff(offsets))
    states = np.concatenate([node_program.initial(
        g, graphs_lib.distance2_colouring(g, node_program.slots), inputs)
                             for g, inputs in group])
    budgets = np.array([_check_rounds(node_program.rounds(g, inputs))
                        for g, inputs in group], np.int64)
    seen = []

    def visit(matched, rows, owner=owner, seen=seen):
      packed = np.packbits(matched, axis=1)
      uniq, inverse = np.unique(packed, axis=0, return_inverse=True)
      ids, new = np.empty(len(uniq), np.int64), []
      for i, key in enumerate(map(bytes, uniq)):
        row = index.get(key)
        if row is None:
          row = index[key] = len(index)
          new.append(i)
        ids[i] = row
      if new:
        found.append(uniq[new])  # packed rows, in index order
      seen.append(np.unique((owner[rows] << 32) | ids[inverse.reshape(-1)]))

    final, _, _, ran = _rounds(
        program, node_program.outbox,
        graphs_lib.adjacency(union, self_loops=True), states,
        int(budgets.max()), None, readout_lib.zero(), visit=visit,
        where=f"{node_program.name}",
        node_budget=np.repeat(budgets, np.diff(offsets)))
    pairs.append(np.unique(np.concatenate(seen)))
    rounds[lo:hi] = np.minimum(budgets, ran)
    for i, (g, inputs) in enumerate(group):
      got = np.asarray(node_program.output(final[offsets[i]:offsets[i + 1]]))
      want = np.asarray(node_program.truth(g, inputs))
      if not np.array_equal(got, want):
        raise ValueError(f"{node_program.name} on {g.name} with {inputs}: "
                         f"the OR rule's output differs from the classical "
                         f"answer at {int((got != want).sum())} nodes")
    if bar is not None:
      bar.update(hi - lo)
  if bar is not None:
    bar.close()
  matches = np.unpackbits(np.concatenate(found), axis=1,
                          count=program.T).astype(bool)
  live = matches.any(axis=1)
  renumber = np.where(live, np.cumsum(live) - 1, -1)
  pairs = np.concatenate(pairs)
  case_of, row_of = pairs >> 32, renumber[pairs & 0xFFFFFFFF]
  counts = np.bincount(case_of, minlength=len(cases))
  path = np.full((len(cases), max(int(counts.max()), 1)), -1, np.int64)
  order = np.argsort(case_of, kind="stable")
  slot = np.arange(len(pairs)) - np.repeat(np.cumsum(counts) - counts,
                                           counts)
  path[case_of[order], slot] = row_of[order]
  matches = matches[live]
  labels = tuple(f"{g.name} {inputs}" for g, inputs in cases)
  return GraphTestSet(program.encode_matches(matches) if encode else None,
                      program.writes_of(matches) > 0, path, matches, labels,
                      rounds, node_program.name, program.fingerprint)
