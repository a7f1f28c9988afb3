"""Graphs for message passing (docs/theory/graphs.md §1): edge-array graphs,
the families the graph experiments run on, the distance-2 colouring that
gives each node its outbox slot, ports, and classical answers (scipy's
breadth-first search, a depth-first search with the smallest-id
tie-break, Dijkstra on weighted graphs), and the word length each sequential
construction needs. See :mod:`permjax._src.graphs`.

Example:
  >>> import permjax
  >>> g = permjax.graphs.grid_graph(3, 3)
  >>> permjax.graphs.max_degree(g), len(set(
  ...     permjax.graphs.distance2_colouring(g).tolist())) <= 4 * 4 + 1
  (4, True)
"""

from permjax._src.graphs import adjacency
from permjax._src.programs.bellman_ford import bellman_ford_bits
from permjax._src.programs.bellman_ford import default_weights
from permjax._src.programs.bellman_ford import weighted_distances
from permjax._src.programs.bfs import bfs_bits
from permjax._src.programs.dfs import dfs_bits
from permjax._src.programs.dfs import dfs_depths
from permjax._src.graphs import bfs_family
from permjax._src.graphs import check_colouring
from permjax._src.graphs import complete_graph
from permjax._src.graphs import cycle_graph
from permjax._src.graphs import degrees
from permjax._src.graphs import diameter
from permjax._src.graphs import distance2_colouring
from permjax._src.graphs import eccentricity
from permjax._src.graphs import Graph
from permjax._src.graphs import graph
from permjax._src.graphs import grid_graph
from permjax._src.graphs import hop_distances
from permjax._src.graphs import is_tree
from permjax._src.graphs import labelled_trees
from permjax._src.graphs import max_degree
from permjax._src.graphs import neighbours
from permjax._src.graphs import path_graph
from permjax._src.graphs import random_bounded_graph
from permjax._src.graphs import random_bounded_graphs
from permjax._src.graphs import random_capped_graph
from permjax._src.graphs import random_regular_graph
from permjax._src.graphs import slots_needed
from permjax._src.graphs import star_graph

__all__ = (
    "adjacency",
    "bellman_ford_bits",
    "bfs_bits",
    "default_weights",
    "dfs_bits",
    "dfs_depths",
    "weighted_distances",
    "bfs_family",
    "check_colouring",
    "complete_graph",
    "cycle_graph",
    "degrees",
    "diameter",
    "distance2_colouring",
    "eccentricity",
    "Graph",
    "graph",
    "grid_graph",
    "hop_distances",
    "is_tree",
    "labelled_trees",
    "max_degree",
    "neighbours",
    "path_graph",
    "random_bounded_graph",
    "random_bounded_graphs",
    "random_capped_graph",
    "random_regular_graph",
    "slots_needed",
    "star_graph",
)
