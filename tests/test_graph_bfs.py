"""The BFS node program (arXiv 2601.23207's queue BFS by message passing):
sizes, column weights, the OR rule and the exact NTK mean against scipy's
breadth-first search, the round budget, bad input."""

import functools

import numpy as np
import pytest

import permjax
from permjax._src import graphs, message_passing
from permjax._src.programs import bfs

# Nothing here depends on the float dtype: CI's float64 pass leaves it out.
pytestmark = pytest.mark.dtype_independent

# Structural zeros counted on the authors' own builder (b, Δ) -> count.
STRUCTURAL_ZEROS = {(2, 1): 14, (2, 2): 23, (3, 2): 33, (3, 3): 46,
                    (4, 3): 60}


def _templates_formula(b, d):
  return (24 * b * d**3 + 6 * d**3 + 33 * b * d**2 + 9 * d**2 + 65 * b * d
          + 17 * d + 57 * b + 15)


def _width_formula(b, d):
  return (32 * b * d**3 + 8 * d**3 + 38 * b * d**2 + 11 * d**2 + 84 * b * d
          + 22 * d + 58 * b + 18)


def _budget_formula(n, diam, b, d):
  return n * ((diam - 1) * (b + d * d + 6) + 2 * d * b + d * d + 2 * d
              + 5 * b + 13)


@functools.lru_cache(maxsize=None)
def _program(b, d):
  return bfs.bfs_program(b, d)


def _random_graphs():
  # With Δ = 1 the only connected graphs have n = 2 (the generator redraws
  # until connected), and Δ ≥ n is refused: so n starts at Δ + 1.
  out = [(g, 1) for g in graphs.random_bounded_graphs(2, 1, seed=0,
                                                      n_range=(2, 2))]
  for d in (2, 3):
    out += [(g, d) for g in graphs.random_bounded_graphs(
        4, d, seed=0, n_range=(d + 1, 7))]
  return out


FIXED = [(graphs.path_graph(5), 2), (graphs.star_graph(4), 3),
         (graphs.cycle_graph(5), 2), (graphs.complete_graph(4), 3)]
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
  # The outbox is the trailing block: pointer, last_in_q, gray flags, four
  # words per port, message flag, per slot.
  assert prog.D - prog.outbox == 2 * b * s + d * s + 4 * b * d * s + s
  assert prog.outbox == prog.program.index("pointer_slot[0]", 0)


@pytest.mark.parametrize("b, d", sorted(STRUCTURAL_ZEROS))
def test_column_weights_and_structural_zeros(b, d):
  prog = _program(b, d).program
  weights = prog.column_weights()
  assert int(weights.max()) == 5
  assert int(prog.structural_zeros().sum()) == STRUCTURAL_ZEROS[(b, d)]
  # The five writers of an incoming pointer bit: copied from the inbox,
  # kept during the comparison (twice), kept while waiting (twice).
  assert int(weights[prog.index("temp_pointer_slot[0]", 1)]) == 5


def test_initial_state_conventions():
  g = graphs.path_graph(3)      # ids 1, 2, 3; source node 1 (id 2)
  prog = _program(3, 2)
  p = prog.program
  x = prog.initial(g, graphs.distance2_colouring(g, prog.slots),
                   {"source": 1})
  assert p.value(x, "u_id").tolist() == [1, 2, 3]
  assert p.value(x, "q_pointer").tolist() == [1, 1, 1]
  assert p.value(x, "u_priority").tolist() == [0, 1, 0]
  assert p.value(x, "v_last_in_q[0]").tolist() == [0, 2, 0]
  assert p.field(x, "u_gray")[:, 0].tolist() == [False, True, False]
  assert p.field(x, "u_white")[:, 0].tolist() == [True, False, True]
  # Ports in increasing id order; the port to the source is gray.
  assert p.value(x, "v_id[0]").tolist() == [2, 1, 2]
  assert p.value(x, "v_id[1]").tolist() == [0, 3, 0]
  assert p.value(x, "v_gray").tolist() == [1, 0, 1]
  assert p.value(x, "v_white").tolist() == [0, 3, 0]
  assert prog.output(x).tolist() == [-1, 0, -1]


@pytest.mark.parametrize("g, d", FIXED + RANDOM,
                         ids=[g.name for g, _ in FIXED + RANDOM])
def test_or_rule_gives_bfs_distances(g, d):
  prog = _program(bfs.bfs_bits(g.n), d)
  inputs = prog.inputs(g)[0]
  run = message_passing.run_graph(prog, g, inputs)
  assert run.correct, (run.outputs.tolist(), run.truth.tolist())
  assert run.truth.tolist() == graphs.hop_distances(g, 0).tolist()
  assert run.max_inbox <= 1
  assert run.rounds == _budget_formula(g.n, graphs.diameter(g),
                                       bfs.bfs_bits(g.n), d)


def test_other_sources_spare_bits_and_components():
  cases = [(graphs.path_graph(5), 2, 5, 2),          # one bit to spare
           (graphs.cycle_graph(6), 2, 4, 3),
           (graphs.graph(4, [(0, 1), (2, 3)], "two edges"), 1, 4, 3)]
  for g, d, b, source in cases:
    run = message_passing.run_graph(_program(b, d), g, {"source": source})
    assert run.correct, (g.name, run.outputs.tolist(), run.truth.tolist())
    assert run.max_inbox <= 1
  assert run.outputs.tolist() == [-1, -1, 1, 0]   # unreached: -1


@pytest.mark.parametrize("g, d", [(graphs.path_graph(4), 2),
                                  (graphs.random_bounded_graphs(
                                      1, 2, seed=0, n_range=(4, 4))[0], 2)],
                         ids=["path(4)", "random(n=4,Δ=2)"])
def test_exact_mean_equals_the_or_rule(g, d):
  prog = _program(bfs.bfs_bits(g.n), d)
  run = message_passing.run_graph(prog, g, {"source": 0},
                                  predictor=permjax.exact_mean())
  ref = message_passing.run_graph(prog, g, {"source": 0})
  assert run.matches_or_rule and run.first_deviation is None
  assert run.correct
  assert run.max_inbox <= 1
  np.testing.assert_array_equal(run.states, ref.states)


@pytest.mark.slow
@pytest.mark.parametrize("g, d", RANDOM, ids=[g.name for g, _ in RANDOM])
def test_exact_mean_on_random_graphs(g, d):
  prog = _program(bfs.bfs_bits(g.n), d)
  run = message_passing.run_graph(prog, g, {"source": 0},
                                  predictor=permjax.exact_mean())
  assert run.matches_or_rule and run.correct and run.max_inbox <= 1


def test_bad_input():
  prog = _program(3, 2)
  with pytest.raises(ValueError, match=r"n = 4 .*b = 4.*b = 3"):
    message_passing.run_graph(prog, graphs.path_graph(4), {"source": 0})
  with pytest.raises(ValueError, match=r"max degree 3 exceeds .*Δ = 2"):
    _program(4, 2).truth(graphs.star_graph(4), {"source": 0})
  with pytest.raises(ValueError, match="source must be a node"):
    prog.rounds(graphs.path_graph(3), {"source": 3})
  with pytest.raises(ValueError, match="inputs are"):
    prog.truth(graphs.path_graph(3), {"source": 0, "message": 1})
  with pytest.raises(ValueError, match=r"bits .* >= 2, got 1"):
    bfs.bfs_program(1, 2)
  with pytest.raises(ValueError, match=r"max_degree .* got 0"):
    bfs.bfs_program(3, 0)
