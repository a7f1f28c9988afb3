"""Graphs for message passing: undirected simple graphs as edge arrays, the
families the graph-algorithm experiments run on, the distance-2 colouring
that gives every node its outbox slot, ports, and classical ground truths
(docs/theory/graphs.md §1).

Everything here is classical and numpy/scipy only: the colouring and the
ports are inputs of a run, computed before it, never learned; the ground
truths (connected components, BFS distances) come from
``scipy.sparse.csgraph``, an implementation independent of the templates.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph


class Graph(NamedTuple):
  """An undirected simple graph on nodes ``0..n-1``.

  Attributes:
    n: number of nodes.
    edges: ``(E, 2)`` int64, each edge once with ``u < v``, sorted.
    name: a label, e.g. ``"path(10)"``.

  Example:
    >>> g = graph(3, [(0, 1), (2, 1)], "p3")
    >>> g.edges.tolist(), max_degree(g)
    ([[0, 1], [1, 2]], 2)
  """
  n: int
  edges: np.ndarray
  name: str = "graph"


def graph(n: int, edges, name: str = "graph") -> Graph:
  """A :class:`Graph` from an edge list; one ValueError naming a self-loop,
  a repeated edge or a node outside ``0..n-1``."""
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
    raise ValueError(f"{name}: n (nodes) must be an integer >= 1, got {n!r}")
  arr = np.asarray(edges, np.int64).reshape(-1, 2) if len(edges) else (
      np.zeros((0, 2), np.int64))
  if arr.size and (arr.min() < 0 or arr.max() >= n):
    bad = arr[(arr < 0).any(1) | (arr >= n).any(1)][0].tolist()
    raise ValueError(f"{name}: edge {bad} names a node outside 0..{n - 1}")
  loops = arr[arr[:, 0] == arr[:, 1]]
  if len(loops):
    raise ValueError(f"{name}: self-loop at node {int(loops[0, 0])}; graphs "
                     f"are simple (the round adds each node's own outbox)")
  arr = np.sort(arr, axis=1)
  uniq, counts = np.unique(arr, axis=0, return_counts=True)
  if (counts > 1).any():
    raise ValueError(f"{name}: edge {uniq[counts > 1][0].tolist()} is listed "
                     f"twice")
  return Graph(int(n), uniq.reshape(-1, 2), name)


def adjacency(g: Graph, self_loops: bool = False) -> sparse.csr_matrix:
  """``(n, n)`` int32 CSR adjacency; with ``self_loops``, ``A + I`` (the
  closed neighbourhood a round sums over)."""
  u, v = g.edges[:, 0], g.edges[:, 1]
  rows = np.concatenate([u, v] + ([np.arange(g.n)] if self_loops else []))
  cols = np.concatenate([v, u] + ([np.arange(g.n)] if self_loops else []))
  return sparse.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)),
                           shape=(g.n, g.n))


def degrees(g: Graph) -> np.ndarray:
  return np.bincount(g.edges.ravel(), minlength=g.n)


def max_degree(g: Graph) -> int:
  return int(degrees(g).max()) if g.n else 0


def neighbours(g: Graph) -> list:
  """Each node's neighbours in increasing id order: node ``v``'s port ``p``
  is ``neighbours(g)[v][p]``."""
  a = adjacency(g)
  return [np.sort(a.indices[a.indptr[v]:a.indptr[v + 1]]) for v in range(g.n)]


def is_tree(g: Graph) -> bool:
  return len(g.edges) == g.n - 1 and csgraph.connected_components(
      adjacency(g), directed=False)[0] == 1


def hop_distances(g: Graph, source: int) -> np.ndarray:
  """Unweighted shortest-path lengths from ``source`` (``-1`` where
  unreachable), by scipy's breadth-first search."""
  order, pred = csgraph.breadth_first_order(adjacency(g), source,
                                            directed=False)
  dist = np.full(g.n, -1, np.int64)
  dist[source] = 0
  for v in order[1:]:
    dist[v] = dist[pred[v]] + 1
  return dist


def eccentricity(g: Graph, source: int) -> int:
  """The largest hop distance from ``source`` within its component."""
  return int(hop_distances(g, source).max())


def diameter(g: Graph) -> int:
  """The largest eccentricity over all nodes (within components)."""
  dist = csgraph.shortest_path(adjacency(g), unweighted=True, directed=False)
  return int(dist[np.isfinite(dist)].max())


# --- the distance-2 colouring (outbox slots) ---------------------------------

def distance2_colouring(g: Graph, max_colours: int | None = None
                        ) -> np.ndarray:
  """A colouring in which nodes at distance 1 or 2 differ, ``(n,)`` int64
  colours from 0: greedy on the square of the graph, nodes taken largest
  degree in the square first (ties by id; the order of the experiments this
  reproduces). Where that needs more than ``max_colours``, greedy again in
  breadth-first order from each component's smallest node; if that too
  needs more, one ValueError.

  Every node's closed neighbourhood then has distinct colours, so the slots
  a round sums over have at most one writer each. Greedy in any order uses
  at most ``Δ(G²) + 1 ≤ Δ² + 1`` colours; on a tree in breadth-first order
  at most ``Δ + 1`` (a node's already-coloured distance-2 neighbours lie in
  its parent's closed neighbourhood, less itself).

  Example:
    >>> distance2_colouring(star_graph(4)).tolist()
    [0, 1, 2, 3]
  """
  a = adjacency(g, self_loops=True)
  square = (a @ a).tocsr()
  size = np.diff(square.indptr) - 1  # degree in the square
  orders = [np.argsort(-size, kind="stable")]
  if max_colours is not None:
    order = []
    seen = np.zeros(g.n, bool)
    for root in range(g.n):
      if not seen[root]:
        comp = csgraph.breadth_first_order(a, root, directed=False,
                                           return_predecessors=False)
        seen[comp] = True
        order.extend(comp.tolist())
    orders.append(np.array(order))
  for order in orders:
    colour = np.full(g.n, -1, np.int64)
    for v in order.tolist():
      used = set(colour[square.indices[square.indptr[v]:
                                       square.indptr[v + 1]]].tolist())
      c = 0
      while c in used:
        c += 1
      colour[v] = c
    if max_colours is None or colour.max() < max_colours:
      return colour
  raise ValueError(f"{g.name}: greedy distance-2 colouring needs "
                   f"{int(colour.max()) + 1} colours, above the "
                   f"{max_colours} slots (max degree {max_degree(g)})")


def check_colouring(g: Graph, colour, slots: int) -> np.ndarray:
  """``colour`` as ``(n,)`` int64 if it is a distance-2 colouring with
  colours below ``slots``; else one ValueError naming the clash."""
  colour = np.asarray(colour, np.int64)
  if colour.shape != (g.n,):
    raise ValueError(f"{g.name}: colours must be ({g.n},), got shape "
                     f"{colour.shape}")
  if colour.min(initial=0) < 0 or colour.max(initial=0) >= slots:
    raise ValueError(f"{g.name}: colours must lie in 0..{slots - 1} (the "
                     f"program's slots), got {int(colour.min())}.."
                     f"{int(colour.max())}; the graph needs more slots "
                     f"(max degree {max_degree(g)})")
  a = adjacency(g, self_loops=True)
  square = (a @ a).tocoo()
  clash = (colour[square.row] == colour[square.col]) & (
      square.row != square.col)
  if clash.any():
    i = int(np.flatnonzero(clash)[0])
    raise ValueError(f"{g.name}: nodes {int(square.row[i])} and "
                     f"{int(square.col[i])} are within distance 2 and share "
                     f"colour {int(colour[square.row[i]])}")
  return colour


# --- graph families ------------------------------------------------------------

def path_graph(n: int) -> Graph:
  return graph(n, [(i, i + 1) for i in range(n - 1)], f"path({n})")


def cycle_graph(n: int) -> Graph:
  if n < 3:
    raise ValueError(f"a cycle needs n >= 3 nodes, got {n}")
  return graph(n, [(i, (i + 1) % n) for i in range(n)], f"cycle({n})")


def grid_graph(rows: int, cols: int) -> Graph:
  idx = np.arange(rows * cols).reshape(rows, cols)
  edges = np.concatenate([
      np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
      np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], 1)])
  return graph(rows * cols, edges, f"grid({rows}x{cols})")


def star_graph(n: int) -> Graph:
  """Centre 0 joined to leaves ``1..n-1``."""
  return graph(n, [(0, i) for i in range(1, n)], f"star({n})")


def complete_graph(n: int) -> Graph:
  return graph(n, list(itertools.combinations(range(n), 2)), f"K{n}")


def random_regular_graph(n: int, d: int, seed: int = 0) -> Graph:
  """A uniformly random simple ``d``-regular graph (the pairing model,
  redrawn until simple and connected)."""
  if n * d % 2 or d >= n or d < 1:
    raise ValueError(f"no simple {d}-regular graph on {n} nodes (need "
                     f"1 <= d < n and n·d even)")
  rng = np.random.default_rng(seed)
  for _ in range(10_000):
    stubs = rng.permutation(np.repeat(np.arange(n), d)).reshape(-1, 2)
    stubs.sort(axis=1)
    if (stubs[:, 0] == stubs[:, 1]).any():
      continue
    if len(np.unique(stubs, axis=0)) < len(stubs):
      continue
    g = graph(n, stubs, f"regular({n},d={d},seed={seed})")
    if csgraph.connected_components(adjacency(g), directed=False)[0] == 1:
      return g
  raise RuntimeError(f"no simple connected {d}-regular graph on {n} nodes "
                     f"in 10 000 draws")


def random_bounded_graph(n: int, max_deg: int, rng) -> Graph:
  """One draw of the bounded-degree generator of the graph-algorithm
  experiments: a random node is joined to ``max_deg`` random others (so
  the degree bound is attained), then every other pair, in random order,
  is joined with probability ½ while both ends are below ``max_deg``;
  redrawn until connected."""
  if max_deg >= n:
    raise ValueError(f"max degree {max_deg} needs more than {n} nodes")
  if max_deg < 2 and n > 2:
    raise ValueError(f"no connected graph on {n} nodes has max degree "
                     f"{max_deg}")
  while True:
    deg = np.zeros(n, np.int64)
    edges = set()
    hub = int(rng.integers(n))
    for v in rng.choice([u for u in range(n) if u != hub], max_deg,
                        replace=False).tolist():
      edges.add((min(hub, v), max(hub, v)))
      deg[hub] += 1
      deg[v] += 1
    pairs = [p for p in itertools.combinations(range(n), 2) if p not in edges]
    for i in rng.permutation(len(pairs)).tolist():
      u, v = pairs[i]
      if deg[u] < max_deg and deg[v] < max_deg and rng.random() < 0.5:
        edges.add((u, v))
        deg[u] += 1
        deg[v] += 1
    g = graph(n, sorted(edges), f"random(n={n},Δ={max_deg})")
    if csgraph.connected_components(adjacency(g), directed=False)[0] == 1:
      return g


def random_bounded_graphs(count: int, max_deg: int, seed: int = 0,
                          n_range=None) -> list:
  """``count`` draws of :func:`random_bounded_graph` with ``n`` uniform in
  ``n_range`` (default ``[max(5, Δ + 1), 20]``), from a fixed seed."""
  rng = np.random.default_rng(seed)
  low, high = n_range or (max(5, max_deg + 1), 20)
  return [random_bounded_graph(int(rng.integers(low, high + 1)), max_deg, rng)
          for _ in range(count)]


def random_capped_graph(n: int, cap: int, rng) -> Graph:
  """One draw of the generator of the BFS experiments: every pair, in
  lexicographic order, joined with probability ½ while both ends have
  degree below ``cap`` (no node is forced to reach it); redrawn until
  connected."""
  if cap < 1 or (cap < 2 and n > 2) or n < 2:
    raise ValueError(f"no connected graph on {n} nodes has degree cap {cap}")
  while True:
    deg = np.zeros(n, np.int64)
    edges = []
    for u, v in itertools.combinations(range(n), 2):
      if deg[u] < cap and deg[v] < cap and rng.random() < 0.5:
        edges.append((u, v))
        deg[u] += 1
        deg[v] += 1
    g = graph(n, edges, f"random(n={n},cap={cap})")
    if csgraph.connected_components(adjacency(g), directed=False)[0] == 1:
      return g


def bfs_family(count: int = 100, seed: int = 0, max_nodes: int = 7,
               max_cap: int = 3) -> list:
  """The graph family of the BFS experiments, ``[(graph, cap), ...]``:
  ``n`` uniform in ``2..max_nodes``, a degree cap uniform in ``1..min(max_cap,
  n − 1)`` (``2..`` from ``n = 3``, as a connected graph needs), then
  :func:`random_capped_graph`; from a fixed seed.

  Example:
    >>> family = bfs_family(5, seed=1)
    >>> all(max_degree(g) <= cap for g, cap in family)
    True
  """
  rng = np.random.default_rng(seed)
  out = []
  for _ in range(count):
    n = int(rng.integers(2, max_nodes + 1))
    low = 1 if n == 2 else 2
    cap = int(rng.integers(low, max(min(max_cap, n - 1), low) + 1))
    out.append((random_capped_graph(n, cap, rng), cap))
  return out


def labelled_trees(n: int, max_deg: int | None = None) -> list:
  """Every labelled tree on ``n`` nodes (``n^(n−2)`` of them, by Prüfer
  sequences), optionally only those of maximum degree exactly
  ``max_deg``.

  Example:
    >>> len(labelled_trees(4)), len(labelled_trees(7, 2))
    (16, 2520)
  """
  if n < 2:
    raise ValueError(f"labelled trees need n >= 2 nodes, got {n}")
  if n ** (n - 2) > 1 << 22:
    raise ValueError(f"{n}^{n - 2} labelled trees on {n} nodes are too many "
                     f"to list (at most 2^22)")
  out = []
  for seq in itertools.product(range(n), repeat=n - 2):
    deg = np.ones(n, np.int64)
    for v in seq:
      deg[v] += 1
    if max_deg is not None and deg.max() != max_deg:
      continue
    edges = []
    for v in seq:
      leaf = int(np.flatnonzero(deg == 1)[0])
      edges.append((leaf, v))
      deg[leaf] -= 1
      deg[v] -= 1
    u, w = np.flatnonzero(deg == 1)[:2]
    edges.append((int(u), int(w)))
    out.append(graph(n, edges, f"tree({n}:{''.join(map(str, seq))})"))
  return out


def slots_needed(max_deg: int, tree: bool = False) -> int:
  """Outbox slots for a degree bound: ``Δ + 1`` on trees, ``Δ² + 1``
  otherwise (the greedy distance-2 colouring's bounds)."""
  return max_deg + 1 if tree else max_deg * max_deg + 1
