"""The DFS node program (arXiv 2601.23207's sequential DFS by message
passing): sizes, column weights, the OR rule and the exact NTK mean against
a recursive DFS written here, the round budget, bad input."""

import functools

import numpy as np
import pytest

import permjax
from permjax._src import graphs, message_passing
from permjax._src.programs import dfs

# Nothing here depends on the float dtype: CI's float64 pass leaves it out.
pytestmark = pytest.mark.dtype_independent

# Structural zeros counted on the authors' own builder (b, Δ) -> count; they
# follow b(3Δ + 2) + Δ + 1.
STRUCTURAL_ZEROS = {(2, 1): 12, (3, 1): 17, (2, 2): 19, (3, 2): 27,
                    (2, 3): 26, (3, 3): 37, (4, 3): 48, (5, 3): 59}


def _templates_formula(b, d):
  return (18 * b * d**3 + 6 * d**3 + 31 * b * d**2 + 9 * d**2 + 49 * b * d
          + 20 * d + 51 * b + 16)


def _width_formula(b, d):
  return (24 * b * d**3 + 8 * d**3 + 35 * b * d**2 + 11 * d**2 + 63 * b * d
          + 25 * d + 52 * b + 19)


def _budget_formula(edges, b, d):
  return 2 * edges * (5 * b + d * d + 3 * d + 12)


def _bits(g):
  return (2 * len(g.edges)).bit_length() + 1


def _recursive_dfs(g, source):
  """The oracle: depths in the DFS tree, smallest neighbour first, -1 where
  unreached."""
  adj = [[] for _ in range(g.n)]
  for u, v in g.edges.tolist():
    adj[u].append(v)
    adj[v].append(u)
  depth = [-1] * g.n

  def visit(v, d):
    depth[v] = d
    for u in sorted(adj[v]):
      if depth[u] < 0:
        visit(u, d + 1)

  visit(source, 0)
  return depth


@functools.lru_cache(maxsize=None)
def _program(b, d):
  return dfs.dfs_program(b, d)


def _random_graphs():
  # With Δ = 1 the only connected graphs have n = 2 (the generator redraws
  # until connected), and Δ ≥ n is refused: so n starts at Δ + 1.
  out = [(g, 1) for g in graphs.random_bounded_graphs(1, 1, seed=0,
                                                      n_range=(2, 2))]
  for d in (2, 3):
    out += [(g, d) for g in graphs.random_bounded_graphs(
        4, d, seed=0, n_range=(d + 1, 7))]
  return out


_TREE = graphs.graph(7, [(0, 4), (4, 1), (4, 6), (1, 2), (0, 3), (3, 5)],
                     "tree(7)")
_DIAMOND = graphs.graph(4, [(0, 1), (0, 2), (1, 3), (2, 3)], "diamond")
FIXED = [(graphs.path_graph(5), 2), (graphs.star_graph(4), 3),
         (graphs.cycle_graph(5), 2), (graphs.complete_graph(4), 3),
         (_TREE, 3), (_DIAMOND, 2)]
RANDOM = _random_graphs()


@pytest.mark.parametrize("b", range(2, 6))
@pytest.mark.parametrize("d", range(1, 4))
def test_sizes_match_the_formulas(b, d):
  prog = _program(b, d)
  s = d * d + 1
  assert prog.slots == s
  assert (prog.program.T, prog.k, prog.D) == (_templates_formula(b, d),
                                              _templates_formula(b, d),
                                              _width_formula(b, d))
  # The outbox is the trailing block: stamp, three words per port, gray
  # flags, token, message flag, per slot.
  assert prog.D - prog.outbox == 2 * b * s + 3 * b * d * s + d * s + s
  assert prog.outbox == prog.program.index("u_stamp_slot[0]", 0)


@pytest.mark.slow
@pytest.mark.parametrize("b", range(2, 6))
def test_sizes_match_the_formulas_at_degree_4(b):
  prog = dfs.dfs_program(b, 4)
  assert (prog.k, prog.D) == (_templates_formula(b, 4), _width_formula(b, 4))
  assert int(prog.program.column_weights().max()) == 5
  assert int(prog.program.structural_zeros().sum()) == 14 * b + 5


@pytest.mark.slow
def test_or_rule_at_degree_4():
  g = graphs.grid_graph(3, 3)
  run = message_passing.run_graph(
      dfs.dfs_program(dfs.dfs_bits(g.n, len(g.edges)), 4), g,
      {"source": 0})
  assert run.correct and run.max_inbox <= 1
  assert run.outputs.tolist() == _recursive_dfs(g, 0)


@pytest.mark.parametrize("b, d", sorted(STRUCTURAL_ZEROS))
def test_column_weights_and_structural_zeros(b, d):
  prog = _program(b, d).program
  weights = prog.column_weights()
  assert int(weights.max()) == 5
  assert int(prog.structural_zeros().sum()) == STRUCTURAL_ZEROS[(b, d)]
  assert STRUCTURAL_ZEROS[(b, d)] == b * (3 * d + 2) + d + 1
  # The five writers of an incoming stamp bit above bit 0: copied from the
  # inbox, kept during the comparison (twice), kept while waiting (twice).
  assert int(weights[prog.index("temp_u_stamp_slot[0]", 1)]) == 5


def test_initial_state_conventions():
  g = graphs.path_graph(3)      # ids 1, 2, 3; source node 1 (id 2)
  prog = _program(4, 2)
  p = prog.program
  x = prog.initial(g, graphs.distance2_colouring(g, prog.slots),
                   {"source": 1})
  assert p.value(x, "u_id").tolist() == [1, 2, 3]
  assert p.value(x, "current").tolist() == [2, 2, 2]   # the token
  assert p.value(x, "compare_current").tolist() == [15, 15, 15]
  assert p.value(x, "v_turn").tolist() == [1, 1, 1]    # resume at port 0
  assert p.value(x, "stamp").tolist() == [0, 0, 0]
  assert p.field(x, "u_gray")[:, 0].tolist() == [False, True, False]
  assert p.field(x, "u_white")[:, 0].tolist() == [True, False, True]
  # Ports in increasing id order; the port to the source is gray.
  assert p.value(x, "v_id[0]").tolist() == [2, 1, 2]
  assert p.value(x, "v_id[1]").tolist() == [0, 3, 0]
  assert p.value(x, "v_gray").tolist() == [1, 0, 1]
  assert p.value(x, "v_white").tolist() == [0, 3, 0]
  assert prog.output(x).tolist() == [-1, 0, -1]


def test_the_classical_dfs_takes_the_smallest_id_first():
  assert dfs.dfs_depths(_DIAMOND, 0).tolist() == [0, 1, 3, 2]
  assert dfs.dfs_depths(graphs.cycle_graph(5), 0).tolist() == [0, 1, 2, 3, 4]
  assert dfs.dfs_depths(graphs.cycle_graph(5), 2).tolist() == [2, 1, 0, 4, 3]
  for g, _ in FIXED + RANDOM:
    for source in range(g.n):
      assert dfs.dfs_depths(g, source).tolist() == _recursive_dfs(g, source)


@pytest.mark.parametrize("g, d", FIXED + RANDOM,
                         ids=[g.name for g, _ in FIXED + RANDOM])
def test_or_rule_gives_dfs_depths(g, d):
  b = dfs.dfs_bits(g.n, len(g.edges))
  assert b == _bits(g)       # connected: the construction's bitlen(2|E|) + 1
  prog = _program(b, d)
  inputs = prog.inputs(g)[0]
  # The rounds at which a node uploads (one per epoch, one walk step each).
  upload = [t.name for t in prog.program.templates].index(
      f"stamp.timer({2 * b - 1})")
  clock, uploads = [0], []

  def visit(matched, rows):
    clock[0] += 1
    uploads.extend([clock[0]] * int(matched[:, upload].sum()))

  run = message_passing.run_graph(prog, g, inputs, visit=visit)
  assert run.correct, (run.outputs.tolist(), run.truth.tolist())
  assert run.outputs.tolist() == _recursive_dfs(g, 0)
  assert run.max_inbox <= 1
  assert run.rounds == _budget_formula(len(g.edges), b, d)
  # No epoch takes longer than the budget's 5b + Δ² + 3Δ + 12 rounds, so at
  # least 2n − 2 of the walk's 2n − 1 steps fit in the 2|E| ≥ 2n − 2 epochs
  # (the last discovery is step 2n − 3 at the latest; the last step, the
  # root's return, changes no output).
  assert max(np.diff([0] + uploads)) <= 5 * b + d * d + 3 * d + 12
  assert 2 * g.n - 2 <= len(uploads) <= 2 * g.n - 1


def test_other_sources_spare_bits_and_components():
  cases = [(graphs.path_graph(5), 2, 6, 2),          # one bit to spare
           (graphs.cycle_graph(6), 2, 5, 3),
           (_DIAMOND, 2, 5, 3),
           (graphs.graph(5, [(0, 1), (2, 3), (3, 4)], "two parts"), 2, 4, 4),
           (graphs.graph(3, [], "no edges"), 1, 3, 1)]
  for g, d, b, source in cases:
    run = message_passing.run_graph(_program(b, d), g, {"source": source})
    assert run.correct, (g.name, run.outputs.tolist(), run.truth.tolist())
    assert run.outputs.tolist() == _recursive_dfs(g, source)
    assert run.max_inbox <= 1
  assert run.outputs.tolist() == [-1, 0, -1]   # unreached: -1
  assert run.rounds == 5 * 3 + 1 + 3 + 12      # one epoch without edges


@pytest.mark.parametrize("g, d", [(graphs.path_graph(4), 2),
                                  (graphs.random_bounded_graphs(
                                      1, 2, seed=0, n_range=(4, 4))[0], 2)],
                         ids=["path(4)", "random(n=4,Δ=2)"])
def test_exact_mean_equals_the_or_rule(g, d):
  prog = _program(dfs.dfs_bits(g.n, len(g.edges)), d)
  run = message_passing.run_graph(prog, g, {"source": 0},
                                  predictor=permjax.exact_mean())
  ref = message_passing.run_graph(prog, g, {"source": 0})
  assert run.matches_or_rule and run.first_deviation is None
  assert run.correct
  assert run.max_inbox <= 1
  np.testing.assert_array_equal(run.states, ref.states)


@pytest.mark.slow
@pytest.mark.parametrize("g, d", FIXED + RANDOM,
                         ids=[g.name for g, _ in FIXED + RANDOM])
def test_exact_mean_on_fixed_and_random_graphs(g, d):
  prog = _program(dfs.dfs_bits(g.n, len(g.edges)), d)
  run = message_passing.run_graph(prog, g, {"source": 0},
                                  predictor=permjax.exact_mean())
  assert run.matches_or_rule and run.correct and run.max_inbox <= 1
  assert run.outputs.tolist() == _recursive_dfs(g, 0)


@pytest.mark.slow
def test_or_rule_on_more_random_graphs():
  for d in (2, 3):
    for g in graphs.random_bounded_graphs(12, d, seed=1, n_range=(d + 1, 7)):
      prog = _program(dfs.dfs_bits(g.n, len(g.edges)), d)
      for source in range(g.n):
        run = message_passing.run_graph(prog, g, {"source": source})
        assert run.correct and run.max_inbox <= 1, (g.name, source)
        assert run.outputs.tolist() == _recursive_dfs(g, source)


def test_bad_input():
  prog = _program(3, 2)
  with pytest.raises(ValueError, match=r"n = 4 .*\|E\| = 3 .*b = 4.*b = 3"):
    message_passing.run_graph(prog, graphs.path_graph(4), {"source": 0})
  with pytest.raises(ValueError, match=r"max degree 3 exceeds .*Δ = 2"):
    _program(4, 2).truth(graphs.star_graph(4), {"source": 0})
  with pytest.raises(ValueError, match=r"source must be a node .* got 3"):
    prog.rounds(graphs.path_graph(3), {"source": 3})
  with pytest.raises(ValueError, match=r"source must be a node .* got -1"):
    prog.initial(graphs.path_graph(2), None, {"source": -1})
  with pytest.raises(ValueError, match="inputs are"):
    prog.truth(graphs.path_graph(3), {"source": 0, "message": 1})
  with pytest.raises(ValueError, match=r"bits .* >= 2, got 1"):
    dfs.dfs_program(1, 2)
  with pytest.raises(ValueError, match=r"max_degree .* got 0"):
    dfs.dfs_program(3, 0)


def test_a_case_visits_the_same_encodings_batched_or_alone():
  # DFS on a tree stops at its budget before its fixed point: batched with
  # a case of a larger budget, its nodes must still stop at their own.
  b = max(dfs.dfs_bits(5, 5), dfs.dfs_bits(4, 3))
  prog = _program(b, 2)
  cases = [(graphs.path_graph(4), {"source": 0}),
           (graphs.cycle_graph(5), {"source": 0})]
  together = message_passing.graph_test_set(prog, cases)
  apart = message_passing.graph_test_set(prog, cases, batch_nodes=1)
  for i, (g, inputs) in enumerate(cases):
    seen = set()
    run = message_passing.run_graph(
        prog, g, inputs, visit=lambda m, rows: seen.update(
            bytes(np.packbits(r)) for r in m))
    for test in (together, apart):
      rows = {bytes(np.packbits(test.matches[j])) for j in test.path[i]
              if j >= 0}
      assert rows == seen - {bytes(np.packbits(np.zeros(prog.program.T,
                                                        bool)))}
    assert together.rounds[i] == apart.rounds[i] <= run.rounds


def test_the_classical_answer_and_word_length_refuse_bad_values():
  g = graphs.path_graph(4)
  for source in (-1, 4, True, 1.0):
    with pytest.raises(ValueError, match=r"source must be a node of path\(4\) "
                       r"\(0\.\.3\), got"):
      dfs.dfs_depths(g, source)
  with pytest.raises(ValueError, match=r"edges \(\|E\|\) must be an integer "
                     r">= 0, got -5"):
    dfs.dfs_bits(3, -5)
  with pytest.raises(ValueError, match=r"n \(nodes\) must be an integer >= 1, "
                     r"got '3'"):
    dfs.dfs_bits("3", 2)
