"""Graph algorithms: graphs and colourings, the flooding node program,
message passing, graph test sets, union bounds and the ablations.

Golden values come from combinatorics (labelled-tree counts), a plain
breadth-first search written here, the published bound scripts' formula
evaluated by hand, and an independent float64 re-implementation of the
flooding construction and its ablations (numbers quoted below).
"""

import collections

import numpy as np
import pytest

import permjax
from permjax._src.node_program import NodeProgram

G = permjax.graphs


def reachable(g, source):
  """Plain BFS over an adjacency dict (the test's own oracle)."""
  adj = collections.defaultdict(list)
  for u, v in g.edges.tolist():
    adj[u].append(v)
    adj[v].append(u)
  seen, queue = {source}, collections.deque([source])
  while queue:
    u = queue.popleft()
    for v in adj[u]:
      if v not in seen:
        seen.add(v)
        queue.append(v)
  return seen


@pytest.mark.parametrize("bits,delta,tree", [(1, 1, False), (1, 2, False),
                                             (2, 3, False), (3, 4, False),
                                             (1, 2, True), (2, 4, True)])
def test_flooding_sizes(bits, delta, tree):
  fl = permjax.flooding_program(bits, delta, tree=tree)
  slots = delta + 1 if tree else delta * delta + 1
  assert fl.slots == slots
  assert fl.k == fl.D == bits * (4 * slots + 1)
  weights = fl.program.column_weights()
  assert weights.max() == 2 and weights.min() == 1  # no structural zeros
  assert fl.D - fl.outbox == bits * slots  # the outbox: one field per slot
  direct = permjax.flooding_program(bits, delta, tree=tree, direct=True)
  assert direct.program.column_weights()[direct.program.index("msg", 0)] == (
      slots + 1)


def test_labelled_tree_counts():
  assert len(G.labelled_trees(5)) == 5 ** 3  # Cayley
  # max degree exactly 2, 3, 4 on 7 nodes: 7!/2 paths, and the rest
  counts = [len(G.labelled_trees(7, d)) for d in (2, 3, 4)]
  assert counts == [2520, 11550, 2520]
  assert all(G.is_tree(t) for t in G.labelled_trees(5))


def test_distance2_colouring():
  rng = np.random.default_rng(3)
  graphs = [G.grid_graph(9, 7), G.random_regular_graph(60, 3, 1),
            G.complete_graph(6), G.cycle_graph(7)] + [
                G.random_bounded_graph(12, d, rng) for d in (2, 3, 4)]
  for g in graphs:
    delta = G.max_degree(g)
    colours = G.distance2_colouring(g, delta * delta + 1)
    G.check_colouring(g, colours, delta * delta + 1)
  # a random tree of 300 nodes within Δ + 1 colours (the breadth-first
  # fallback guarantees it when largest-first does not)
  seq = rng.integers(0, 300, 298)
  deg = np.ones(300, int)
  np.add.at(deg, seq, 1)
  edges = []
  for v in seq.tolist():
    leaf = int(np.flatnonzero(deg == 1)[0])
    edges.append((leaf, v))
    deg[leaf] -= 1
    deg[v] -= 1
  edges.append(tuple(np.flatnonzero(deg == 1)[:2].tolist()))
  tree = G.graph(300, edges, "random tree")
  delta = G.max_degree(tree)
  G.check_colouring(tree, G.distance2_colouring(tree, delta + 1), delta + 1)
  with pytest.raises(ValueError, match="share colour"):
    G.check_colouring(G.path_graph(3), [0, 1, 0], 5)
  with pytest.raises(ValueError, match="needs 6 colours"):
    G.distance2_colouring(G.complete_graph(6), 5)


def test_graph_input_errors():
  with pytest.raises(ValueError, match="self-loop at node 2"):
    G.graph(3, [(0, 1), (2, 2)])
  with pytest.raises(ValueError, match=r"edge \[0, 1\] is listed twice"):
    G.graph(3, [(0, 1), (1, 0)])
  with pytest.raises(ValueError, match="outside 0..2"):
    G.graph(3, [(0, 3)])
  fl = permjax.flooding_program(2, 2)
  g = G.path_graph(4)
  with pytest.raises(ValueError, match="source must be a node"):
    permjax.run_graph(fl, g, {"source": 4, "message": 1})
  with pytest.raises(ValueError, match="message must be an integer in 0..3"):
    permjax.run_graph(fl, g, {"source": 0, "message": 4})
  with pytest.raises(ValueError, match="needs 6 colours, above the 5 slots"):
    permjax.run_graph(fl, G.complete_graph(6), {"source": 0, "message": 1})
  with pytest.raises(ValueError, match="rounds must be an integer >= 1"):
    permjax.run_graph(fl, g, {"source": 0, "message": 1}, rounds=0)
  with pytest.raises(TypeError, match="NodeProgram"):
    permjax.run_graph(fl.program, g, {"source": 0, "message": 1})


def _cases():
  rng = np.random.default_rng(0)
  two = G.graph(7, [(0, 1), (1, 2), (3, 4), (4, 5), (5, 6)], "two parts")
  return ([G.path_graph(30), G.cycle_graph(11), G.grid_graph(7, 7),
           G.random_regular_graph(100, 3, 2), two, G.star_graph(6)]
          + [G.random_bounded_graph(int(rng.integers(5, 16)), d, rng)
             for d in (2, 3, 4) for _ in range(3)])


@pytest.mark.parametrize("g", _cases(), ids=lambda g: g.name)
def test_flooding_exact_mean_equals_or_rule_and_bfs(g):
  delta = max(G.max_degree(g), 1)
  fl = permjax.flooding_program(2, delta)
  for source, message in ((0, 3), (g.n - 1, 2)):
    inputs = {"source": source, "message": message}
    want = np.zeros(g.n, int)
    want[sorted(reachable(g, source))] = message
    ideal = permjax.run_graph(fl, g, inputs)
    mean = permjax.run_graph(fl, g, inputs, predictor=permjax.exact_mean())
    assert ideal.outputs.tolist() == want.tolist()
    assert mean.matches_or_rule and mean.first_deviation is None
    assert np.array_equal(mean.states, ideal.states)
    assert mean.correct and mean.max_inbox == 1
    assert mean.rounds_run <= mean.rounds


def test_every_labelled_tree_floods():
  for delta in (2, 3, 4):
    fl = permjax.flooding_program(1, delta, tree=True)
    cases = [(t, {"source": 0, "message": 1})
             for t in G.labelled_trees(6, delta)]
    test = permjax.graph_test_set(fl, cases)  # refuses any wrong case
    mean = permjax.exact_mean()(fl.program, test.x)
    assert np.array_equal(mean > 1e-10, test.truth)
    assert len(test.path) == len(cases)


def test_slot_collision_is_refused():
  fl = permjax.flooding_program(1, 2)

  def everyone_in_slot0(g, colours, inputs):
    states = fl.initial(g, colours, inputs)
    for s in range(fl.slots):  # every node's gate moved to slot 0
      states[:, fl.program.index(f"myslot{s}", 0)] = s == 0
    return states

  bad = NodeProgram("one slot for all", fl.program, fl.outbox, fl.slots,
                    everyone_in_slot0, fl.output, fl.truth, fl.rounds,
                    fl.inputs, 2)
  with pytest.raises(permjax.SlotCollisionError, match="sums to 2"):
    permjax.run_graph(bad, G.path_graph(3), {"source": 0, "message": 1})


def test_case_exact_iff_driver_runs_it_exactly():
  """A case counts as exact (scorer) exactly when the message-passing
  driver, fed the same ensemble average, follows the OR rule throughout."""
  fl = permjax.flooding_program(1, 2)
  graphs = [G.path_graph(6), G.cycle_graph(5), G.path_graph(9)]
  cases = [(g, {"source": s, "message": 1}) for g in graphs for s in (0, 2)]
  test = permjax.graph_test_set(fl, cases)
  rng = np.random.default_rng(1)
  zero = permjax.readout.zero()
  for trial in range(6):
    average = np.where(test.truth, 0.2, -0.2)
    flip = rng.random(len(test.x)) < 0.08 * trial
    average[flip, rng.integers(0, fl.D, flip.sum())] *= -1
    scorer = permjax.GraphScorer(fl.program, test, {"zero": zero})
    exact = permjax.pair_exactness(
        test, scorer.wrong_bits(zero, average, 1).any(axis=1))
    mean = permjax.EnsembleMean(fl.program, test, average, 1,
                                {"kernel": "ntk"})
    for (g, inputs), want in zip(cases, exact):
      run = permjax.run_graph(fl, g, inputs, predictor=mean, readout=zero,
                              until_first_error=True)
      assert run.matches_or_rule == bool(want)


def test_union_bounds_golden():
  # The published bound scripts' formula by hand, d_G = 6: Δ = 2, b = 1:
  # r = 93.5, 8 r ln(2 k R 2^k) = 1.67e4, 8 k ln(...) = 3.74e3; Δ = 4: r =
  # 225, 1.04e5 / 3.18e4.
  for delta, r, num, thr in ((2, 93.5, 1.67e4, 3.74e3),
                             (4, 225.3, 1.04e5, 3.18e4)):
    out = permjax.authors_bound(permjax.flooding_program(1, delta), 6)
    assert out["m"] == 2 and out["R"] == 6 * (delta * delta + 5)
    assert out["r"] == pytest.approx(r, abs=0.06)
    assert out["numerical"] == pytest.approx(num, rel=5e-3)
    assert out["theoretical"] == pytest.approx(thr, rel=5e-3)
  # Every encoding with m <= 10 matched templates, Δ = 2, b = 1 (an
  # independent re-implementation): 1556 at ε = 1e-10, 444 at τ = 5e-3.
  fl = permjax.flooding_program(1, 2)
  assert permjax.all_encodings_size(fl, 10, permjax.readout.zero()) == 1556
  assert permjax.all_encodings_size(fl, 10,
                                    permjax.readout.fixed(5e-3)) == 444
  with pytest.raises(ValueError, match=r"m_max must be an integer in 2\.\.T=21, got 22"):
    permjax.all_encodings_size(fl, 22)


@pytest.mark.slow
def test_tree_suite_ensemble_sizes_golden():
  # Every labelled tree of 7 nodes with max degree 2, b = 1, both messages,
  # colours by largest distance-2 neighbourhood first: 68 distinct
  # encodings, smallest 1-bit mean 0.140, union bounds 637 (ε = 1e-10),
  # 247 (τ = 5e-3), 12 (margin) — as an independent re-implementation.
  fl = permjax.flooding_program(1, 2, tree=True)
  cases = [(t, i) for t in G.labelled_trees(7, 2) for i in fl.inputs(t)]
  test = permjax.graph_test_set(fl, cases)
  assert len(test.x) == 68 and test.matches.sum(1).max() == 8
  mean = permjax.exact_mean()(fl.program, test.x)
  assert round(float(mean[test.truth].min()), 3) == 0.140
  margin = permjax.graph_margin(fl, test)
  assert [permjax.graph_ensemble_size(fl, test, r) for r in (
      permjax.readout.zero(), permjax.readout.fixed(5e-3), margin)] == [
          637, 247, 12]


def test_collision_ablation():
  # Independent re-run: with the cascade the centre reads 0.26 at n = 3;
  # written directly, the mean turns negative at n = 9 (-0.011).
  rows = {r["n"]: r for r in permjax.collision_ablation([3, 8, 9],
                                                        rounds=40)}
  assert rows[3]["cascade_mean"] == pytest.approx(0.2561, abs=1e-3)
  assert [rows[n]["direct_bit"] for n in (3, 8, 9)] == [1, 1, 0]
  assert all(rows[n]["cascade_bit"] == 1 for n in rows)
  assert rows[9]["direct_mean"] == pytest.approx(-0.0110, abs=5e-4)


def test_encoding_ablation_small():
  row = permjax.encoding_ablation([4], rounds=30)[0]
  assert row["encoded, readout before sum"] == 1.0
  assert row["encoded, readout after sum"] == 1.0
  assert row["encoded, no readout"] == 0.0  # fed-back reals match nothing
  assert row["raw, readout before sum"] == pytest.approx(1 / 7)
  assert row["raw, no readout"] == 1.0


@pytest.mark.slow
def test_encoding_ablation_degrades_after_sum():
  rows = {r["n"]: r for r in permjax.encoding_ablation([7, 8, 11])}
  after = [rows[n]["encoded, readout after sum"] for n in (7, 8, 11)]
  assert after == pytest.approx([1.0, 6 / 7, 3 / 7])
  assert all(rows[n]["encoded, readout before sum"] == 1.0 for n in rows)


def test_ablation_program_shapes():
  prog = permjax.graph_ablation_program(2, 5, "encoding")
  assert prog.T == 2 * (1 + 5 * 5) and prog.D == 2 * (2 + 4 * 5)
  zero_rows = [t for t in prog.templates if not t.writes]
  assert len(zero_rows) == 2 * 5
  with pytest.raises(ValueError, match="'collision' or 'encoding'"):
    permjax.graph_ablation_program(1, 3, "other")


def test_union_of_cases_equals_one_by_one():
  fl = permjax.flooding_program(1, 3)
  rng = np.random.default_rng(5)
  cases = [(G.random_bounded_graph(8, 3, rng), {"source": 0, "message": m})
           for m in (0, 1) for _ in range(4)]
  together = permjax.graph_test_set(fl, cases)
  apart = permjax.graph_test_set(fl, cases, batch_nodes=1)
  key = lambda t: {bytes(np.packbits(r)) for r in t.matches}  # pylint: disable=unnecessary-lambda-assignment
  assert key(together) == key(apart)
  for i in range(len(cases)):
    rows_a = {bytes(np.packbits(together.matches[j]))
              for j in together.path[i] if j >= 0}
    rows_b = {bytes(np.packbits(apart.matches[j]))
              for j in apart.path[i] if j >= 0}
    assert rows_a == rows_b


def test_a_bounds_only_test_set_is_the_same_without_encodings():
  fl = permjax.flooding_program(1, 2)
  cases = [(G.cycle_graph(6), {"source": 0, "message": 1}),
           (G.path_graph(5), {"source": 2, "message": 1})]
  full = permjax.graph_test_set(fl, cases)
  bare = permjax.graph_test_set(fl, cases, encode=False)
  assert bare.x is None and full.x.shape == (len(full.matches), fl.k)
  for name in ("truth", "path", "matches", "rounds"):
    np.testing.assert_array_equal(getattr(bare, name), getattr(full, name))
  np.testing.assert_array_equal(fl.program.encode_matches(bare.matches),
                                full.x)
  rd = permjax.readout.fixed(5e-3)
  assert (permjax.graph_ensemble_size(fl, bare, rd)
          == permjax.graph_ensemble_size(fl, full, rd))
  with pytest.raises(ValueError, match="encode=False"):
    permjax.GraphScorer(fl.program, bare, {"fixed": rd})
