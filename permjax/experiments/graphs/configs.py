"""Configuration of the graph experiment, with named presets."""

from __future__ import annotations

import dataclasses
import re

import permjax
from permjax.experiments import units as units_lib

#: Suite names: ``graph_d<Δ>_b<b>`` (flooding on random bounded-degree
#: graphs), ``tree_d<Δ>_b<b>`` (flooding on every labelled tree of
#: ``tree_nodes`` nodes with maximum degree exactly Δ).
SUITE = re.compile(r"^(graph|tree)_d(\d+)_b(\d+)$")

#: Validation graph names (flooding, exact mean against the OR rule and
#: scipy): ``path:N``, ``cycle:N``, ``grid:RxC``, ``regular<d>:N``,
#: ``star:N``, ``complete:N``.
GRAPH = re.compile(r"^(path|cycle|grid|regular\d+|star|complete):(\d+)(?:x(\d+))?$")


def parse_suite(name: str) -> tuple[str, int, int]:
  """``"graph_d2_b1"`` -> ``("graph", 2, 1)``; one ValueError otherwise."""
  match = SUITE.match(str(name))
  if not match or int(match.group(2)) < 1 or int(match.group(3)) < 1:
    raise ValueError(f"suite {name!r}: expected graph_d<Δ>_b<b> or "
                     f"tree_d<Δ>_b<b> with Δ, b >= 1 (e.g. graph_d2_b1)")
  return match.group(1), int(match.group(2)), int(match.group(3))


def parse_graph(name: str) -> permjax.graphs.Graph:
  """A validation graph from its name (``grid:100x100``, ``regular3:10000``)."""
  match = GRAPH.match(str(name))
  if not match:
    raise ValueError(f"graph {name!r}: expected path:N, cycle:N, grid:RxC, "
                     f"regular<d>:N, star:N or complete:N")
  kind, n, cols = match.group(1), int(match.group(2)), match.group(3)
  g = permjax.graphs
  if kind == "grid":
    if cols is None:
      raise ValueError(f"graph {name!r}: a grid is grid:RxC")
    return g.grid_graph(n, int(cols))
  if cols is not None:
    raise ValueError(f"graph {name!r}: only grids take RxC")
  if kind.startswith("regular"):
    return g.random_regular_graph(n, int(kind[7:]), seed=0)
  return {"path": g.path_graph, "cycle": g.cycle_graph, "star": g.star_graph,
          "complete": g.complete_graph}[kind](n)


@dataclasses.dataclass(frozen=True)
class Config:
  """Configuration of the graph experiment (every field is a ``--flag``).

  Attributes:
    name: preset name (recorded).
    suites: test sets of cases (:data:`SUITE`): the union bounds, the
      ensembles and their N are per suite.
    graphs: random graphs per ``graph_*`` suite (n uniform in [max(5, Δ+1),
      20], every message from node 0).
    graph_seed: seed of the first random sample.
    bound_samples: random samples (seeds ``graph_seed..``) whose union
      bounds are reported, to show their spread; the ensembles use the
      first.
    tree_nodes: nodes of the ``tree_*`` suites' labelled trees.
    regimes: member sources, a subset of ``("gp", "ntk", "standard")``.
    rules: readouts (:func:`permjax.readout.from_name` names; ``margin`` is
      half the smallest 1-bit exact mean on the suite's encodings).
    widths: hidden widths of the finite regimes.
    seeds: growths per (suite, regime, width), grown to a common size.
    max_members: finite regimes grow to this.
    gp_max_members: the gp regime grows to this.
    chunk: members per source call (and per checkpoint).
    train: how finite members are trained.
    validate: graphs flooded by the exact mean (:data:`GRAPH`), checked
      against the OR rule at every node, round and bit, and against scipy.
    large: a graph flooded by a finite ensemble of the margin rule's
      union-bound size (both parameterizations), or ``""``.
    driver: which message-passing loop runs ``validate`` and ``large``:
      ``"host"`` (:func:`permjax.run_graph`: numpy, only changed nodes
      recomputed; the ensemble read from a table over the graph's visited
      encodings) or ``"device"`` (:func:`permjax.run_graph_sharded`: every
      node every round on the devices, nodes split over all of them; the
      ensemble's members applied to every node's encoding,
      :func:`permjax.network_average`).
    ablations: run the collision and readout-placement ablations.
    bfs_degrees: degree caps Δ of the BFS family (:func:`permjax.graphs.
      bfs_family`: ``bfs_graphs`` random connected graphs of 2–7 nodes, each
      with a cap in 1..3) whose graphs are run, one BFS program
      (``b = 4``, that Δ) per cap: exact mean against the OR rule and scipy,
      union bounds, and finite ensembles (``bfs_seeds`` seeds of both
      parameterizations, grown to ``bfs_max_members``).
    bfs_graphs: graphs drawn for the BFS family.
    bfs_states: the BFS ensembles run the first graphs of a cap's group
      whose visited encodings number at most this (GP draws are joint over
      them).
    bfs_seeds: GP-draw seeds per cap.
    bfs_max_members: the BFS GP ensembles grow to this.
    bfs_finite_degrees: caps whose BFS runs also get finite ensembles of
      both parameterizations (a member trained on BFS's k = 763..5 097
      basis vectors with D = 907..6 463 outputs costs minutes on 2 CPU
      cores).
    bfs_finite_seeds: finite seeds per (cap, parameterization).
    bfs_finite_members: the finite BFS ensembles grow to this.
    bfs_finite_states: the finite ensembles run the first graphs of a cap's
      group whose visited encodings number at most this (no joint draw
      limits them: a large value runs every graph of the cap); ``0``: the
      GP draws' graphs (``bfs_states``).
    bfs_rules: readouts of the BFS ensembles (and of the union bounds of
      every sequential construction).
    dfs_degrees: degree caps whose graphs of the BFS family the DFS
      program runs (the exact NTK mean against the OR rule and a classical
      DFS on every graph; union bounds per readout).
    bellman_ford_degrees: likewise for Bellman–Ford (edge weights 1..3
      from :func:`permjax.graphs.default_weights`; distances against
      Dijkstra).
  """
  name: str = "default"
  suites: tuple[str, ...] = ("graph_d2_b1", "graph_d3_b1", "graph_d4_b1",
                             "graph_d2_b2", "tree_d2_b1", "tree_d4_b1")
  graphs: int = 60
  graph_seed: int = 0
  bound_samples: int = 10
  tree_nodes: int = 7
  regimes: tuple[str, ...] = ("gp", "ntk", "standard")
  rules: tuple[str, ...] = ("zero", "fixed:0.005", "margin", "midpoint")
  widths: tuple[int, ...] = (1024,)
  seeds: int = 8
  max_members: int = 512
  gp_max_members: int = 2048
  chunk: int = 64
  train: permjax.TrainConfig = permjax.TrainConfig(trainer="linearized",
                                                   solver="cg")
  validate: tuple[str, ...] = ("path:10000", "cycle:10000", "grid:100x100",
                               "grid:300x300", "regular3:10000",
                               "regular4:100000", "star:20", "complete:15")
  large: str = "regular3:10000"
  driver: str = "host"
  ablations: bool = True
  bfs_degrees: tuple[int, ...] = ()
  bfs_graphs: int = 100
  bfs_states: int = 6000
  bfs_seeds: int = 8
  bfs_max_members: int = 32
  bfs_finite_degrees: tuple[int, ...] = ()
  bfs_finite_seeds: int = 1
  bfs_finite_members: int = 12
  bfs_finite_states: int = 0
  bfs_rules: tuple[str, ...] = ("zero_fixed", "fixed:0.005", "margin",
                                "midpoint")
  dfs_degrees: tuple[int, ...] = ()
  bellman_ford_degrees: tuple[int, ...] = ()

  def __post_init__(self):
    for suite in self.suites:
      parse_suite(suite)
    for name in self.validate:
      if not GRAPH.match(str(name)):
        parse_graph(name)  # raises with the expected forms
    if self.large and not GRAPH.match(self.large):
      parse_graph(self.large)
    if self.driver not in ("host", "device"):
      raise ValueError(f"driver must be 'host' or 'device', got "
                       f"{self.driver!r}")
    units_lib.check_regimes(self.regimes)
    if not self.rules:
      raise ValueError("rules is empty")
    probe = permjax.program("addition", 2)
    for rule in self.rules:
      if rule != "margin":
        permjax.readout.from_name(rule, "ntk", program=probe)
    for name in ("graphs", "bound_samples", "seeds", "max_members",
                 "gp_max_members", "chunk"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    for name in ("bfs_degrees", "dfs_degrees", "bellman_ford_degrees"):
      if any(d not in (1, 2, 3) for d in getattr(self, name)):
        raise ValueError(f"{name} must be caps in 1..3 (the BFS family's), "
                         f"got {list(getattr(self, name))}")
    for name in ("bfs_graphs", "bfs_states", "bfs_seeds", "bfs_max_members",
                 "bfs_finite_seeds", "bfs_finite_members"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    if self.bfs_finite_states < 0:
      raise ValueError(f"bfs_finite_states must be >= 0 (0: bfs_states), "
                       f"got {self.bfs_finite_states}")
    if not 2 <= self.tree_nodes <= 9:
      raise ValueError(f"tree_nodes must be in 2..9 (n^(n-2) trees), got "
                       f"{self.tree_nodes}")
    if not self.widths or min(self.widths) < 1:
      raise ValueError(f"widths must list integers >= 1, got "
                       f"{list(self.widths)}")

  def unused_fields(self) -> dict:
    out = {}
    if set(self.regimes) == {"gp"}:
      out.update({f: "the gp regime trains no network"
                  for f in ("widths", "max_members")})
    if "gp" not in self.regimes:
      out["gp_max_members"] = "no gp regime is run"
    return out

  def kernel(self, regime: str) -> str:
    return units_lib.kernel_of(regime, "ntk")

  def units(self) -> list[tuple]:
    """Every unit in run order: ``("validate", graph)``, ``("bounds",
    suite, sample)``, ``("ablation", which)``, ``("grow", suite, regime,
    width, seed)``, ``("large", graph, regime)``, ``("bfs", Δ)``,
    ``("bfs_grow", Δ, regime, seed)``, ``("dfs", Δ)``,
    ``("bellman_ford", Δ)``."""
    out = [("validate", g) for g in self.validate]
    for suite in self.suites:
      samples = self.bound_samples if suite.startswith("graph") else 1
      out += [("bounds", suite, s) for s in range(samples)]
    if self.ablations:
      out += [("ablation", "collision"), ("ablation", "encoding")]
    for suite in self.suites:
      for regime in self.regimes:
        for width in ((0,) if regime == "gp" else self.widths):
          out += [("grow", suite, regime, width, s)
                  for s in range(self.seeds)]
    if self.large:
      out += [("large", self.large, r) for r in self.regimes if r != "gp"]
    for delta in self.bfs_degrees:
      out.append(("bfs", delta))
      out += [("bfs_grow", delta, "gp", s) for s in range(self.bfs_seeds)]
      if delta in self.bfs_finite_degrees:
        out += [("bfs_grow", delta, regime, s)
                for regime in ("ntk", "standard")
                for s in range(self.bfs_finite_seeds)]
    out += [("dfs", d) for d in self.dfs_degrees]
    out += [("bellman_ford", d) for d in self.bellman_ford_degrees]
    return out


def smoke() -> Config:
  """Seconds: one small suite, two seeds, small graphs."""
  return Config(name="smoke", suites=("graph_d2_b1", "tree_d2_b1"),
                graphs=6, bound_samples=2, tree_nodes=5, seeds=2,
                max_members=64, gp_max_members=256, widths=(256,),
                validate=("path:50", "grid:6x6", "regular3:200"),
                large="regular3:500", ablations=False)


def default() -> Config:
  """The six flooding suites, 8 seeds each of GP draws (to 2 048) and both
  parameterizations (width 1024, to 512 members: past the 5e-3 rule's
  bounds of ~300, short of the zero rule's ~1 000); flooding validated up
  to 10^5 nodes; a 10^4-node random 3-regular graph flooded by a finite
  ensemble of the margin rule's bound size; the ablations."""
  return Config()


def bfs() -> Config:
  """BFS on the family of 100 random connected graphs of 2–7 nodes with
  degree caps 1–3: the exact NTK mean against the OR rule and scipy on
  every graph and union bounds per readout; GP draws (4 seeds, to 16
  members: past the margin rule's bounds of 5–8) over the first graphs of
  each cap whose encodings fit one joint draw of 3 000; finite networks of
  both parameterizations (one seed, to 8 members) on the cap-1 graphs.
  CPU-sized: more seeds, members and graphs are flags."""
  return Config(name="bfs", suites=(), validate=(), large="",
                ablations=False, bfs_degrees=(1, 2, 3), widths=(1024,),
                chunk=4, bfs_finite_degrees=(1,), bfs_seeds=4,
                bfs_max_members=16, bfs_states=3000, bfs_finite_members=8)


def sequential() -> Config:
  """DFS and Bellman–Ford on the BFS family (100 random connected graphs of
  2–7 nodes, degree caps 1–3): the exact NTK mean against the OR rule and
  the classical answer on every graph, rounds, seconds, and union bounds
  per readout over the visited encodings."""
  return Config(name="sequential", suites=(), validate=(), large="",
                ablations=False, dfs_degrees=(1, 2, 3),
                bellman_ford_degrees=(1, 2, 3))


PRESETS = {"smoke": smoke, "default": default, "bfs": bfs,
           "sequential": sequential}
