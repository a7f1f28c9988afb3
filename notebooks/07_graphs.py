# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 — Graph algorithms: the trained ensemble as a message-passing update
#
# Every node of a graph runs the same template program; each round its next
# state is read from the predictor and the **outbox** fields are summed over
# its closed neighbourhood. A distance-2 colouring gives every node its own
# outbox **slot**, so the sum is a concatenation (`docs/theory/graphs.md`).
# Here: flooding a message through a grid with the exact NTK mean, the
# ensemble sizes each readout needs, a GP ensemble grown on every labelled
# tree, the collision ablation, and the sequential constructions (BFS, DFS,
# Bellman–Ford) run against classical algorithms.

# %%
import os

import jax
import matplotlib.pyplot as plt
import numpy as np

import permjax

SMALL = os.environ.get("PERMJAX_SMALL") == "1"
G = permjax.graphs

# %% [markdown]
# ## Flooding a grid, round by round
#
# The flooding program for 1-bit messages on graphs of max degree 4 has
# `S = Δ² + 1 = 17` slots and `k = b(4S + 1) = 69` templates, no column
# written by more than two of them.

# %%
side = 12 if SMALL else 30
g = G.grid_graph(side, side)
fl = permjax.flooding_program(1, G.max_degree(g))
print(fl, "C_max =", fl.program.column_weights().max())
assert fl.k == 1 * (4 * 17 + 1) and fl.program.column_weights().max() == 2

# Nodes holding the message (matching F1(0)) after each round; the driver
# recomputes only the nodes whose state changed and shows us those.
assert fl.program.templates[0].name == "F1(0)"
holds, informed = np.zeros(g.n, bool), []


def count(matched, rows):
  holds[rows] = matched[:, 0]
  informed.append(int(holds.sum()))


run = permjax.run_graph(fl, g, {"source": 0, "message": 1},
                        predictor=permjax.exact_mean(), visit=count)
print(f"{g.name}: {run.rounds_run} rounds (budget {run.rounds}), exact mean "
      f"= OR rule: {run.matches_or_rule}, every node right: {run.correct}, "
      f"largest summed slot: {run.max_inbox}")
assert run.correct and run.matches_or_rule and run.max_inbox == 1
plt.plot(informed)
plt.xlabel("round")
plt.ylabel("nodes holding the message")
plt.show()

# %% [markdown]
# ## How many members each readout needs
#
# The test set of a suite is every distinct encoding the OR rule visits at
# any node and round; a run is exact iff each is read right. The union
# bound over them, per readout, for every labelled tree of 7 nodes (6 in the
# small run) with max degree 2:

# %%
tree = permjax.flooding_program(1, 2, tree=True)
trees = G.labelled_trees(6 if SMALL else 7, 2)
cases = [(t, inputs) for t in trees for inputs in tree.inputs(t)]
test = permjax.graph_test_set(tree, cases)
margin = permjax.graph_margin(tree, test)
sizes = {name: permjax.graph_ensemble_size(tree, test, r) for name, r in {
    "zero (1e-10)": permjax.readout.zero(),
    "fixed 5e-3": permjax.readout.fixed(5e-3), "margin": margin,
    "midpoint": permjax.readout.midpoint("ntk")}.items()}
print(f"{len(cases)} cases, {len(test.x)} distinct encodings:", sizes)
assert sizes["margin"] < sizes["fixed 5e-3"] < sizes["zero (1e-10)"]

# %% [markdown]
# ## A GP ensemble grown on the trees
#
# Joint draws of the trained-network GP over the test set, grown member by
# member; the margin rule is exact long before the 5e-3 threshold.

# %%
source = permjax.gp_member_source(
    permjax.MLPSpec(width=1), "ntk", permjax.training_examples(tree.program),
    test.x, jax.random.key(0), sampler="dense")
scorer = permjax.GraphScorer(tree.program, test, {
    "margin": margin, "fixed 5e-3": permjax.readout.fixed(5e-3)})
curve = permjax.grow(source, scorer, max_members=512, chunk=64)
first = {r: permjax.first_reaching(a, 1.0) for r, a in curve.accuracy.items()}
print("first N with every case exact:", first)
assert first["margin"] is not None and first["margin"] <= sizes["margin"] * 2
for rule, acc in curve.accuracy.items():
  plt.plot(np.arange(1, len(acc) + 1), acc, label=rule)
plt.xscale("log")
plt.xlabel("members N")
plt.ylabel("cases run exactly")
plt.legend()
plt.show()

# %% [markdown]
# ## Why the cascade: collisions on a star
#
# Writing every received slot straight into the output field gives it a
# column weight of `S + 1`; on a star with a message at one leaf the
# centre's mean turns negative from 9 nodes on. The cascade keeps it
# positive.

# %%
rows = permjax.collision_ablation(range(3, 12 if SMALL else 21), rounds=40)
plt.plot([r["n"] for r in rows], [r["cascade_mean"] for r in rows],
         "o-", label="cascade")
plt.plot([r["n"] for r in rows], [r["direct_mean"] for r in rows],
         "s-", label="direct")
plt.axhline(0, color="k", lw=0.5)
plt.xlabel("star nodes n")
plt.ylabel("centre's mean of the output bit")
plt.legend()
plt.show()
wrong = [r["n"] for r in rows if not r["direct_bit"]]
print("direct writing wrong from n =", min(wrong))
assert min(wrong) == 9 and all(r["cascade_bit"] for r in rows)

# %% [markdown]
# ## Sequential algorithms: BFS, DFS and Bellman–Ford
#
# The same driver runs the authors' sequential constructions: a pointer (or
# DFS's token) copied at every node picks the one node that acts; it
# uploads its result, every other node floods it and refreshes its mirrors
# of its neighbours (`docs/theory/graphs.md` §6–8). Each is sized by the
# graph's word length and degree, and each run is checked against a
# classical algorithm: scipy's BFS, an iterative DFS taking the smallest id
# first, Dijkstra with the edge weights (1..3, drawn from the graph).

# %%
g = G.cycle_graph(5)  # DFS goes round, BFS both ways
weights = G.default_weights(g)
algorithms = {
    "bfs": (permjax.bfs_program(G.bfs_bits(g.n), 2), {"source": 0}),
    "dfs": (permjax.dfs_program(G.dfs_bits(g.n, len(g.edges)), 2),
            {"source": 0}),
    "bellman_ford": (permjax.bellman_ford_program(
        G.bellman_ford_bits(g, weights), 2),
        {"source": 0, "weights": tuple(weights.tolist())}),
}
for name, (prog, inputs) in algorithms.items():
  run = permjax.run_graph(prog, g, inputs)  # the OR rule
  print(f"{name:13s} k = {prog.k:5d}, D = {prog.D:5d}: {run.rounds_run:5d} "
        f"rounds (budget {run.rounds}), outputs {run.outputs.tolist()}, "
        f"classical {prog.truth(g, inputs).tolist()}")
  assert run.correct and run.max_inbox <= 1
print("weights", dict(zip(map(tuple, g.edges.tolist()), weights.tolist())))
# the exact NTK mean runs DFS the OR rule's way, round for round
prog, inputs = algorithms["dfs"]
run = permjax.run_graph(prog, g, inputs, predictor=permjax.exact_mean())
print("DFS by the exact mean:", run.correct, run.matches_or_rule)
assert run.correct and run.matches_or_rule

# %% [markdown]
# ## On the devices: every node every round, and the members themselves
#
# `permjax.run_graph_sharded` runs the same rounds in a jitted loop on the
# JAX devices, the nodes split over a mesh (`permjax.node_mesh()`: every
# device; one CPU here, a GPU or a TPU slice elsewhere). Matching and
# writing are GEMMs; the exact mean's bits are looked up from a table made
# once in float64 (`permjax.CountDecisions`), so the two drivers agree bit
# for bit. A finite ensemble runs there as a *network average*: its members
# read every node's encoding every round — the trained ensemble as the
# update function, with no table over visited encodings.

# %%
g = G.random_regular_graph(2000, 3, seed=0)
fl = permjax.flooding_program(1, 3)
flood = {"source": 0, "message": 1}
host = permjax.run_graph(fl, g, flood, predictor=permjax.exact_mean())
device = permjax.run_graph_sharded(fl, g, flood, predictor=permjax.exact_mean(),
                                   mesh=permjax.node_mesh())
print(f"{g.name}: {device.rounds_run} rounds on {permjax.node_mesh().size} "
      f"device(s); same states as the host driver:",
      bool((host.states == device.states).all()))
assert device.correct and (host.states == device.states).all()
members = permjax.network_average(fl.program, 16, jax.random.key(0),
                                  permjax.MLPSpec(width=1024),
                                  permjax.TrainConfig(trainer="linearized"))
path = G.path_graph(12)
midpoint = permjax.readout.midpoint()
run = permjax.run_graph_sharded(fl, path, flood, predictor=members,
                                readout=midpoint, until_first_error=True)
print(f"16 width-1024 members on the devices flood {path.name}:",
      run.correct, "(first wrong round:", run.first_deviation, ")")
same = permjax.run_graph(fl, path, flood, predictor=members, readout=midpoint,
                         until_first_error=True)
assert (same.states == run.states).all()
