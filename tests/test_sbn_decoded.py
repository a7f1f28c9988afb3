"""The decoded SBN construction against the plain interpreter.

Independent expectations: the OR rule's final memory equals the integer
interpreter's (permjax.sbn_interpret, itself checked against Python
references in test_sbn_assembly) on every 4-bit input of the library
programs; the largest number of matched templates over every visited state
stays within n_bound; no column has more than 4 writers; the training set
grows linearly in the machine's size while the instruction-keyed one's
padding does not.
"""

import numpy as np
import pytest

import permjax

SMALL = [("gcd", None), ("divmod", None), ("multiply", None),
         ("fibonacci", None), ("sum", 3), ("max", 3), ("sort", 3)]


def _program(name, size, width=4, count=None):
  lib = permjax.sbn_library_program(name, width, size)
  values = lib.all_inputs() if count is None else lib.sample_inputs(count)
  memory = lib.memories(values)
  asm = lib.assembly()
  _, used = asm.run(memory, lib.max_instructions)
  prog = permjax.sbn_program(asm.machine, int(used.max()), inputs=memory,
                             design="decoded")
  return lib, asm, memory, prog


@pytest.mark.parametrize("name,size", SMALL)
def test_or_rule_runs_every_4_bit_input_like_the_interpreter(name, size):
  _, asm, memory, prog = _program(name, size)
  a, b = prog.all_pairs()
  run = permjax.run_or_rule(prog, prog.initial_states(a, b))
  final = permjax.sbn_from_operands(asm.machine, prog.results(run[-1]), 0)
  want, _ = asm.run(memory, prog.steps)
  np.testing.assert_array_equal(final, want)
  visited = np.unique(run.reshape(-1, prog.D), axis=0)
  assert prog.matches(visited).sum(axis=1).max() <= prog.n_bound
  assert int(prog.column_weights().max()) <= 4
  # a halted machine is a fixed point of the OR rule (one step after the
  # halt, once the timer has stopped)
  after = permjax.run_or_rule(prog, run[-1], 1)[-1]
  np.testing.assert_array_equal(permjax.run_or_rule(prog, after, 1)[-1],
                                after)


def test_exact_mean_executes_8_bit_programs_and_is_certified():
  for name, size in (("divmod", None), ("sort", 4)):
    _, _, _, prog = _program(name, size, width=8, count=200)
    for rule in ("margin", "midpoint"):
      readout = (permjax.margin_readout(prog) if rule == "margin" else rule)
      assert permjax.certify(prog, readout).certified, (name, rule)
    run = permjax.execute(prog, permjax.exact_mean(),
                          permjax.margin_readout(prog))
    assert run.all_correct and run.matches_or_rule


def test_wide_memories_run_as_python_int_operands():
  # 8 words of 8 bits (64 bits; the instruction-keyed operands stopped at
  # int64) and 17 words (136 bits: operand halves of 68 bits, Python ints).
  _, asm, _, prog = _program("sort", 4, width=8, count=20)
  assert asm.machine.words * 8 >= 56 and prog.k < 1000
  asm = permjax.sbn_assemble(".array A 16\nADD A[0], A[15]", width=8)
  assert asm.machine.words == 17
  memory = asm.memory({"A[0]": [5, -7, 100], "A[15]": [3, 7, 27]})
  prog = permjax.sbn_program(asm.machine, 3, inputs=memory,
                             design="decoded")
  a, b = prog.all_pairs()
  assert a.dtype == object and prog.operand_bits == 68
  np.testing.assert_array_equal(permjax.sbn_from_operands(
      asm.machine, a, b), memory)
  run = permjax.execute(prog, permjax.exact_mean(),
                        permjax.margin_readout(prog))
  assert run.all_correct and run.matches_or_rule
  final = permjax.sbn_from_operands(
      asm.machine, prog.results(permjax.run_or_rule(
          prog, prog.initial_states(a, b))[-1]), 0)
  assert asm.read(final, "A[0]").tolist() == [8, 0, 127]


def test_training_set_grows_linearly_and_the_old_padding_does_not():
  sizes = {}
  for n in (2, 4, 8):
    lib = permjax.sbn_library_program("max", 8, n)
    machine = lib.assembly().machine
    new = permjax.sbn_program(machine, 4 * n, design="decoded")
    sizes[n] = (machine.words * 8 + machine.halt, new.k,
                int(new.column_weights().max()))
  # k per unit of W·w + L stays within a factor 1.5 as the machine grows 4x
  ratios = [k / size for size, k, _ in sizes.values()]
  assert max(ratios) / min(ratios) < 1.5, sizes
  assert all(c == 4 for _, _, c in sizes.values())
  old = permjax.sbn_program(permjax.sbn_library_program(
      "max", 8, 8).assembly().machine, 32)
  assert old.k > 20 * sizes[8][1]  # the instruction-keyed padding


def test_a_machine_too_large_is_refused_before_anything_runs():
  machine = permjax.SBNMachine(3000, 8, ((0, 1, 1),))
  with pytest.raises(ValueError, match=r"W=3000, w=8, L=1\) \(150,085 "
                     r"templates .* above the limit"):
    permjax.sbn_program(machine, 1, design="decoded")


def test_design_is_checked():
  machine = permjax.SBNMachine(2, 4, ((0, 0, 1),))
  with pytest.raises(ValueError, match="design must be one of"):
    permjax.sbn_program(machine, 1, design="fast")
