"""SBN as a template program (permjax's own construction)."""

import itertools

import numpy as np

import permjax
import pytest

from permjax._src.programs import sbn
from permjax._src import templates as tpl


# --- the reference interpreter, against hand-computed runs --------------------

def test_interpreter_hand_computed():
  machine = sbn.SBNMachine(4, 4, ((2, 1, 1), (0, 2, 2), (2, 2, 3), (3, 3, 4),
                                  (2, 0, 5), (3, 2, 6), (2, 2, 7)))
  final, count = sbn.interpret(machine, [[3, 2, 0, 5], [7, 1, 0, -8]], 7)
  # x + y, y, Z = 0, t = x + y; 7 + 1 wraps to -8 in 4 bits.
  assert final.tolist() == [[5, 2, 0, 5], [-8, 1, 0, -8]]
  assert count.tolist() == [7, 7]
  loop = sbn.SBNMachine(5, 4, ((0, 3, 4), (2, 1, 2), (4, 4, 3), (4, 3, 0)))
  final, count = sbn.interpret(loop, [[3, 2, 0, 1, 0], [0, 5, 0, 1, 0]], 13)
  assert final.tolist() == [[-1, 2, -6, 1, -1], [-1, 5, 0, 1, 0]]
  assert count.tolist() == [13, 1]
  # 7 - (-1) = 8 overflows to -8: negative, so the branch is taken.
  jump = sbn.SBNMachine(2, 4, ((0, 1, 2), (1, 1, 2)))
  final, count = sbn.interpret(jump, [[7, -1], [1, -1]], 2)
  assert final.tolist() == [[-8, -1], [2, 0]] and count.tolist() == [1, 2]


# --- the construction -----------------------------------------------------------

@pytest.mark.parametrize("W,w,L", [(2, 2, 1), (3, 4, 2), (4, 3, 5), (5, 4, 4)])
def test_template_and_field_counts_follow_the_formulas(W, w, L):
  code = tuple((l % W, (l + 1) % W, L) for l in range(L))
  machine = sbn.SBNMachine(W, w, code)
  prog = sbn.sbn_program(machine, L, inputs=np.zeros((1, W), int))
  assert prog.T == 2 * W * w + 2 * w * L + 6 * w + 4 * L + 3
  assert prog.D == W * w + W + L + 5 * w + 4
  assert prog.steps == L * (2 * w + 2)
  # p[i] is written by the L FA templates and by A1, A2.
  p0 = prog.index("p", 0)
  assert prog.column_weights()[p0] == L + 2


def _forward_machine(rng, W, w, L):
  """A random program whose jumps only go forward: it always halts."""
  code = [(int(rng.integers(W)), int(rng.integers(W)),
           int(rng.integers(l + 1, L + 1))) for l in range(L)]
  return sbn.SBNMachine(W, w, tuple(code))


@pytest.mark.parametrize("seed", range(4))
def test_or_rule_equals_the_interpreter_on_random_programs(seed):
  rng = np.random.default_rng(seed)
  machine = _forward_machine(rng, 3, 3, 4)
  memories = np.array(list(itertools.product(range(-4, 4), repeat=3)))
  prog = sbn.sbn_program(machine, 4, inputs=memories)
  a, b = prog.all_pairs()
  final = tpl.run_or_rule(prog, prog.initial_states(a, b))[-1]
  want, _ = sbn.interpret(machine, memories, 4)
  got = sbn.from_operands(machine, *sbn.to_operands(
      machine, np.zeros_like(memories)))  # round trip of zeros
  assert (got == 0).all()
  words = np.stack([prog.value(final, f"m{j}") for j in range(3)], axis=1)
  assert (sbn.signed(words, 3) == want).all()
  assert (prog.field(final, "pc")[:, machine.halt] == 1).all()


@pytest.mark.parametrize("name,w", [("sbn_instruction", 4), ("sbn_loop", 4),
                                    ("sbn_idioms", 4)])
def test_exact_mean_executes_every_input(name, w):
  prog = permjax.program(name, w)
  run = permjax.execute(prog, permjax.exact_mean())
  assert run.all_correct and run.matches_or_rule, run.first_failure
  expected = {"sbn_instruction": 1 << 16, "sbn_loop": 8 * 16,
              "sbn_idioms": 16 ** 3}[name]
  assert run.pairs == expected


def test_correlation_condition_on_the_largest_program():
  prog = sbn.idioms_program(4)  # W = 4, w = 4, L = 7
  states = permjax.reachable_states(prog)
  n, _ = prog.write_counts(states)
  bound = 4 * 4 + 2 * 4 + 4  # n_bound = W·w + 2w + 4
  assert n.max() <= bound
  c_max = int(prog.column_weights().max())
  assert c_max == 7 + 2  # L + 2 (p[i])
  margin = tpl.check_correlation(prog, bound)
  assert margin >= sbn.MIN_MARGIN
  # Without the padding the condition fails at the bound.
  assert tpl.correlation_margin(prog.T, bound, c_max) < 0


# --- ensembles -------------------------------------------------------------------
# Finite ensembles running the loop program to halt for every input under the
# margin rule: tests/test_program_ensembles.py (parametrized with the template
# tasks).


# --- bad input -------------------------------------------------------------------

def test_bad_input_gets_one_clear_error():
  with pytest.raises(ValueError, match=r"address b=4 is outside the memory"):
    sbn.SBNMachine(4, 4, ((0, 4, 1),))
  with pytest.raises(ValueError, match=r"jump target c=3 is outside"):
    sbn.SBNMachine(4, 4, ((0, 1, 3),))
  with pytest.raises(ValueError, match="at least one instruction"):
    sbn.SBNMachine(4, 4, ())
  machine = sbn.SBNMachine(2, 4, ((0, 1, 0),))
  with pytest.raises(ValueError, match=r"M\[1\]=9 .* does not fit in w=4"):
    sbn.interpret(machine, [[1, 9]], 5)
  # M[0] -= 1 while negative: -1 → -2, ..., -8 (7 instructions), then
  # -8 - 1 wraps to 7, not negative: halts after the 8th.
  countdown = sbn.SBNMachine(2, 4, ((0, 1, 0),))
  with pytest.raises(ValueError, match="does not halt within the step budget "
                                       "of 5 instructions"):
    sbn.interpret(countdown, [[-1, 1]], 5)
  final, count = sbn.interpret(countdown, [[-1, 1]], 8)
  assert final.tolist() == [[7, 1]] and count.tolist() == [8]
  prog = sbn.sbn_program(countdown, 5, inputs=[[-1, 1]])
  with pytest.raises(ValueError, match="does not halt"):
    prog.ground_truth(*prog.all_pairs())
  with pytest.raises(ValueError, match="odd number of memory bits"):
    sbn.sbn_program(sbn.SBNMachine(3, 3, ((0, 1, 1),)), 1)
  with pytest.raises(ValueError, match="unknown program family 'sbn_loops'"):
    permjax.program("sbn_loops", 4)
