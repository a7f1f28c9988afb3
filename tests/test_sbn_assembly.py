"""The SBN assembler and the program library.

Independent expectations: the macros' meanings are checked against Python
integer arithmetic on every word of a 4-bit machine; the library programs
against their plain-Python references (math.gcd, integer // and %, sorted)
on every input where there are at most 2^16, else on 10^4 random ones plus
edge cases; errors name the line.
"""

import math
import os
import re

import numpy as np
import pytest

import permjax

# Nothing here depends on the float dtype: CI's float64 pass leaves it out.
pytestmark = pytest.mark.dtype_independent

W4 = np.arange(-8, 8)


def _wrap(v, w=4):
  return (np.asarray(v) + (1 << (w - 1))) % (1 << w) - (1 << (w - 1))


@pytest.mark.parametrize("op,want", [
    ("ADD", lambda x, y: _wrap(x + y)), ("SUB", lambda x, y: _wrap(x - y)),
    ("MOV", lambda x, y: y)])
def test_two_operand_macros_on_every_pair_of_4_bit_words(op, want):
  asm = permjax.sbn_assemble(f".word x\n.word y\n{op} x, y", width=4)
  x, y = [g.ravel() for g in np.meshgrid(W4, W4)]
  final, _ = asm.run(asm.memory({"x": x, "y": y}), 10)
  np.testing.assert_array_equal(asm.read(final, "x"), want(x, y))
  np.testing.assert_array_equal(asm.read(final, "y"), y)  # source unchanged


@pytest.mark.parametrize("op,taken", [
    ("BGT", lambda x: x > 0), ("BGE", lambda x: x >= 0),
    ("BLT", lambda x: x < 0), ("BLE", lambda x: x <= 0),
    ("BEQ", lambda x: x == 0), ("BNE", lambda x: x != 0)])
def test_branches_on_every_negatable_4_bit_word(op, taken):
  asm = permjax.sbn_assemble(f"""
      .word x
      .word r
      {op} x, yes
      HALT
      yes: SBN r, #-1     ; r = 1
  """, width=4)
  x = W4[1:]  # -8 has no negation
  final, _ = asm.run(asm.memory({"x": x}), 20)
  np.testing.assert_array_equal(asm.read(final, "r"), taken(x).astype(int))
  np.testing.assert_array_equal(asm.read(final, "x"), x)


def test_clr_neg_jmp_and_the_listing():
  asm = permjax.sbn_assemble("""
      .word x
      NEG x           ; x = -x
      JMP end
      CLR x           ; skipped
      end:
  """, width=4, name="neg")
  final, count = asm.run(asm.memory({"x": W4[1:]}), 20)
  np.testing.assert_array_equal(asm.read(final, "x"), -W4[1:])
  assert count.tolist() == [8] * 15  # NEG is 6 instructions, JMP 2
  assert [line for line, _ in asm.listing] == [3] * 6 + [4] * 2 + [5]
  assert asm.labels["end"] == asm.labels["HALT"] == 9
  assert asm.machine.code[7][2] == 9  # the jump lands on halt
  assert "; 4: JMP end" in asm.text_listing()


def test_disassembly_round_trips():
  for name, size in (("gcd", None), ("sort", 4), ("max", 3)):
    asm = permjax.sbn_library_program(name, 8, size).assembly()
    text = permjax.sbn_disassemble(asm.machine, asm.initial)
    again = permjax.sbn_assemble(text, width=8)
    assert again.machine.code == asm.machine.code
    assert again.initial == asm.initial
    assert permjax.sbn_disassemble(again.machine, again.initial) == text


@pytest.mark.parametrize("source,message", [
    ("JMP nowhere", "line 1: unknown label 'nowhere'"),
    (".word x\nFOO x", "line 2: unknown mnemonic 'FOO'"),
    (".word x\nADD x", "line 2: ADD takes 2 operand"),
    (".word x\nMOV x, y", "line 2: 'y' is not a declared word"),
    (".array A 3\nCLR A[3]", "line 2: address A[3] is out of range"),
    (".word x 200", "line 1: value 200 of 'x' does not fit a 8-bit word"),
    (".word x\nSUB x, #128", "line 2: constant #128 does not fit"),
    (".word x\n.word x", "line 2: 'x' is declared twice (first on line 1)"),
    (".word x\na: CLR x\na: CLR x", "line 3: label 'a' is defined twice"),
    (".word x\n.bss y", "line 2: unknown directive '.bss'"),
    ("; nothing", "no instructions"),
])
def test_assembler_errors_name_the_line(source, message):
  with pytest.raises(permjax.SBNAssemblyError, match=re.escape(message)):
    permjax.sbn_assemble(source, width=8)


def test_memory_size_and_input_errors():
  with pytest.raises(permjax.SBNAssemblyError, match="needs 3 words .* "
                     "words=2; an address would be out of range"):
    permjax.sbn_assemble(".word x\n.word y\nADD x, y", width=8, words=2)
  asm = permjax.sbn_assemble(".word x\nCLR x", width=8, words=4)
  assert asm.machine.words == 4
  with pytest.raises(ValueError, match="x=300 does not fit a 8-bit word"):
    asm.memory({"x": 300})
  with pytest.raises(ValueError, match="'z' is not a data word"):
    asm.memory({"z": 1})


@pytest.mark.parametrize("name,size", [
    ("gcd", None), ("fibonacci", None), ("divmod", None),
    ("multiply", None), ("sum", 2), ("sum", 4), ("max", 3), ("max", 4),
    ("sort", 3), ("sort", 4)])
def test_library_equals_python_on_every_4_bit_input(name, size):
  prog = permjax.sbn_library_program(name, 4, size)
  out = permjax.check_sbn_program(prog)
  assert out["exhaustive"] and out["mismatches"] == 0, out


def test_library_at_8_bits_against_independent_python():
  gcd = permjax.sbn_library_program("gcd", 8)
  out = permjax.check_sbn_program(gcd)
  assert (out["inputs"], out["exhaustive"], out["mismatches"]) == (
      127 * 127, True, 0)
  asm = gcd.assembly()
  final, _ = asm.run(asm.memory({"a": [84, 127], "b": [36, 1]}),
                     gcd.max_instructions)
  assert asm.read(final, "a").tolist() == [math.gcd(84, 36), 1]
  sort = permjax.sbn_library_program("sort", 8, 8)
  values = sort.sample_inputs(2000)
  final, _ = sort.assembly().run(sort.memories(values),
                                 sort.max_instructions)
  got = sort.results(final)["A"]
  want = [sorted(int(values[f"A[{i}]"][r]) for i in range(8))
          for r in range(len(got))]
  assert got.tolist() == want
  fib = permjax.sbn_library_program("fibonacci", 8)
  assert fib.inputs == (("n", 0, 11),)  # F(11) = 89 fits, F(12) = 144 not
  final, _ = fib.assembly().run(fib.memories({"n": np.arange(12)}),
                                fib.max_instructions)
  assert fib.results(final)["f"].tolist() == [
      0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89]


def test_library_refuses_bad_requests():
  with pytest.raises(ValueError, match="unknown library program 'bogus'"):
    permjax.sbn_library_program("bogus")
  with pytest.raises(ValueError, match="gcd has no array size"):
    permjax.sbn_library_program("gcd", 8, 4)
  with pytest.raises(ValueError, match="sort takes an array size in 2..8"):
    permjax.sbn_library_program("sort", 8, 9)
  with pytest.raises(ValueError, match="width must be an integer >= 4"):
    permjax.sbn_library_program("gcd", 3)


def test_the_example_program_file_is_the_library_gcd():
  path = os.path.join(os.path.dirname(__file__), "..", "experiments", "sbn",
                      "programs", "gcd.sbn")
  with open(path, encoding="utf-8") as f:
    example = permjax.sbn_assemble(f.read(), width=8)
  library = permjax.sbn_library_program("gcd", 8).assembly()
  assert example.machine.code == library.machine.code
  assert example.symbols == library.symbols


def test_sbn_experiment_run_and_library(tmp_path, capsys):
  from permjax.experiments import sbn as exp  # pylint: disable=import-outside-toplevel
  source = tmp_path / "gcd.sbn"
  source.write_text(permjax.sbn_library_program("gcd", 8).source)
  assert exp.main(["run", str(source), "--memory", "a=84,b=36",
                   "--trace"]) == 0
  out = capsys.readouterr().out
  assert "  a = 12\n" in out  # gcd(84, 36)
  assert "certified yes" in out and "exactly" in out
  executed = re.findall(r"^\s+\d+  @\d+", out, flags=re.M)
  assert len(executed) == int(out.split("halted after ")[1].split()[0])
  assert exp.main(["run", str(source), "--memory", "a=300"]) == 2
  assert "a=300 does not fit a 8-bit word" in capsys.readouterr().err
  bad = tmp_path / "bad.sbn"
  bad.write_text(".word x\nJMP nowhere\n")
  assert exp.main(["run", str(bad)]) == 2
  assert "line 2: unknown label 'nowhere'" in capsys.readouterr().err
  paths = exp.library(exp.PRESETS["smoke"](), str(tmp_path / "lib"),
                      progress=False)
  rows = records_lib_rows(paths["summary"])
  assert [r["program"] for r in rows] == ["gcd(w=4)", "divmod(w=4)",
                                          "sum3(w=4)", "sort3(w=4)"]
  for r in rows:
    assert r["interpreter_mismatches"] == "0" and r["exhaustive"] == "True"
    assert r["exact_all_correct"] == "True" and r["new_C_max"] == "4"
    assert int(r["new_k"]) < int(r["old_k"])


def records_lib_rows(path):
  import csv  # pylint: disable=import-outside-toplevel
  with open(path, encoding="utf-8") as f:
    return list(csv.DictReader(f))
