"""A library of SBN programs people write, each with a plain-Python reference.

Every entry is assembly source (:mod:`permjax._src.sbn_assembly`) built for
a word width ``w`` (and an array size where it has one), the input words
with their valid ranges (where the algorithm's arithmetic never wraps), the
output words, a reference written as ordinary Python integer arithmetic and
a step budget that every valid input halts within.

==============  ==================================================  =======
name            computes                                            inputs
==============  ==================================================  =======
``gcd``         ``a ← gcd(a, b)`` by repeated subtraction          a, b ≥ 1
``fibonacci``   ``f ← F(n)`` (``F(0) = 0``, ``F(1) = 1``)           n ≥ 0
``divmod``      ``q, r ← a // b, a % b`` by repeated subtraction    a ≥ 0, b ≥ 1
``multiply``    ``p ← x · y`` by repeated addition                 x, y ≥ 0
``sum``         ``s ← A[0] + … + A[n-1]``                           array
``max``         ``m ← max(A)``                                      array
``sort``        ``A`` sorted ascending (bubble sort, unrolled)      array
==============  ==================================================  =======

The array programs are unrolled: SBN's code is a ROM and has no indirect
addressing, so a loop over an array is written out (``sort`` of n words is
n(n−1)/2 compare-exchanges of 9 instructions each).

Example:
  >>> prog = library_program("gcd", width=8)
  >>> asm = prog.assembly()
  >>> final, count = asm.run(asm.memory({"a": [12, 7], "b": [18, 21]}),
  ...                        prog.max_instructions)
  >>> asm.read(final, "a").tolist()
  [6, 7]
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable

import numpy as np

from permjax._src import sbn_assembly

#: Library program names, in the order of the table above.
NAMES = ("gcd", "fibonacci", "divmod", "multiply", "sum", "max", "sort")

#: Most edge-case combinations :meth:`LibraryProgram.edge_inputs` lists.
EDGE_LIMIT = 4096

#: Array sizes the array programs accept.
ARRAY_SIZES = range(2, 9)


@dataclasses.dataclass(frozen=True)
class LibraryProgram:
  """One library program at one width (and array size).

  Attributes:
    name: the library name (:data:`NAMES`).
    width: w, bits per word.
    size: the array size (array programs), else None.
    source: the assembly text.
    inputs: ``((word, low, high), ...)``: each input word's valid range.
    outputs: the output words (array names stand for every element).
    reference: ``{word: (B,) ints} -> {output: (B,) or (B, n) ints}``,
      plain Python integer arithmetic.
    valid: ``{word: (B,) ints} -> (B,) bool``, joint conditions beyond the
      ranges (e.g. ``x · y`` fits a word); None if there are none.
    max_instructions: a budget every valid input halts within.
  """
  name: str
  width: int
  size: int | None
  source: str
  inputs: tuple
  outputs: tuple
  reference: Callable
  valid: Callable | None
  max_instructions: int

  def assembly(self) -> sbn_assembly.Assembly:
    """The assembled program (machine, initial memory, symbols, listing)."""
    label = self.name if self.size is None else f"{self.name}{self.size}"
    return sbn_assembly.assemble(self.source, self.width,
                                 name=f"{label}(w={self.width})")

  def input_count(self) -> int:
    """How many input combinations the ranges allow (before ``valid``)."""
    return math.prod(high - low + 1 for _, low, high in self.inputs)

  def all_inputs(self) -> dict:
    """Every valid input, ``{word: (B,) ints}`` (refuses above 2^16)."""
    if self.input_count() > 1 << 16:
      raise ValueError(f"{self.name} at w={self.width} has "
                       f"{self.input_count():,} inputs; sample them "
                       f"(sample_inputs) above 2^16")
    grid = np.array(list(itertools.product(*[range(lo, hi + 1)
                                             for _, lo, hi in self.inputs])),
                    np.int64)
    return self._filter({w: grid[:, i] for i, (w, _, _)
                         in enumerate(self.inputs)})

  def edge_inputs(self) -> dict:
    """Every combination of each input's extremes and 0, ±1 where valid
    (above :data:`EDGE_LIMIT` combinations: that many drawn from a fixed
    seed, plus all-lowest and all-highest)."""
    choices = [sorted({lo, hi} | {v for v in (0, 1, -1) if lo <= v <= hi})
               for _, lo, hi in self.inputs]
    if math.prod(len(c) for c in choices) <= EDGE_LIMIT:
      grid = np.array(list(itertools.product(*choices)), np.int64)
    else:  # many array words: a fixed random subset of the combinations
      rng = np.random.default_rng(1)
      grid = np.array([[c[rng.integers(len(c))] for c in choices]
                       for _ in range(EDGE_LIMIT)], np.int64)
      grid = np.concatenate([grid, [[c[0] for c in choices],
                                    [c[-1] for c in choices]]])
    return self._filter({w: grid[:, i] for i, (w, _, _)
                         in enumerate(self.inputs)})

  def sample_inputs(self, count: int, seed: int = 0) -> dict:
    """``count`` random valid inputs (uniform on the ranges, then filtered
    by ``valid``; drawn from a fixed seed) plus :meth:`edge_inputs`."""
    rng = np.random.default_rng(seed)
    out = {w: [] for w, _, _ in self.inputs}
    have = 0
    while have < count:
      draw = {w: rng.integers(lo, hi + 1, 2 * count)
              for w, lo, hi in self.inputs}
      draw = self._filter(draw)
      take = min(count - have, len(next(iter(draw.values()))))
      for w in out:
        out[w].append(draw[w][:take])
      have += take
    edges = self.edge_inputs()
    return {w: np.concatenate([edges[w]] + out[w]) for w in out}

  def _filter(self, values: dict) -> dict:
    if self.valid is None:
      return values
    keep = np.asarray(self.valid(values), bool)
    return {w: v[keep] for w, v in values.items()}

  def memories(self, values: dict) -> np.ndarray:
    """``(B, W)`` initial memories with the inputs ``values`` set."""
    asm = self.assembly()
    return asm.memory(values)

  def results(self, final) -> dict:
    """The output words of final memories ``(B, W)``."""
    asm = self.assembly()
    return {o: asm.read(final, o) for o in self.outputs}


def _array_words(name: str, n: int) -> list:
  return [f"{name}[{i}]" for i in range(n)]


def _gcd(w):
  src = """
    .word a
    .word b
    .word d
    loop: MOV d, a
          SBN d, b, less      ; d = a - b < 0: a < b
          BEQ d, done         ; a == b
          SUB a, b
          JMP loop
    less: SUB b, a
          JMP loop
    done: HALT
  """
  top = (1 << (w - 1)) - 1

  def ref(v):
    return {"a": np.array([math.gcd(int(x), int(y))
                           for x, y in zip(v["a"], v["b"])], np.int64)}
  # At most a + b subtractions of at most 16 instructions each.
  return src, (("a", 1, top), ("b", 1, top)), ("a",), ref, None, \
      32 * top + 32


def _fibonacci(w):
  src = """
    .word n
    .word f
    .word g 1
    .word h
    loop: BLE n, done
          MOV h, g
          ADD g, f            ; g = F(i+2) (may wrap; f is the result)
          MOV f, h
          SUB n, #1
          JMP loop
    done: HALT
  """
  top = (1 << (w - 1)) - 1
  fib = [0, 1]
  while fib[-1] <= top:
    fib.append(fib[-1] + fib[-2])
  n_max = len(fib) - 2  # F(n_max) is the largest that fits

  def ref(v):
    out = []
    for n in v["n"]:
      x, y = 0, 1
      for _ in range(int(n)):
        x, y = y, x + y
      out.append(x)
    return {"f": np.array(out, np.int64)}
  return src, (("n", 0, n_max),), ("f",), ref, None, 20 * n_max + 20


def _divmod(w):
  src = """
    .word a
    .word b
    .word q
    .word r
          MOV r, a
    loop: SBN r, b, fix       ; r -= b; negative: one too many
          SUB q, #-1          ; q += 1
          JMP loop
    fix:  ADD r, b
          HALT
  """
  top = (1 << (w - 1)) - 1

  def ref(v):
    a, b = [int(x) for x in v["a"]], [int(x) for x in v["b"]]
    return {"q": np.array([x // y for x, y in zip(a, b)], np.int64),
            "r": np.array([x % y for x, y in zip(a, b)], np.int64)}
  return src, (("a", 0, top), ("b", 1, top)), ("q", "r"), ref, None, \
      4 * top + 16


def _multiply(w):
  src = """
    .word x
    .word y
    .word p
    .word c
          MOV c, y
    loop: BLE c, done
          ADD p, x
          SUB c, #1
          JMP loop
    done: HALT
  """
  top = (1 << (w - 1)) - 1

  def ref(v):
    return {"p": np.array([int(x) * int(y) for x, y in zip(v["x"], v["y"])],
                          np.int64)}

  def valid(v):
    return np.asarray(v["x"], np.int64) * np.asarray(v["y"], np.int64) <= top
  return src, (("x", 0, top), ("y", 0, top)), ("p",), ref, valid, \
      13 * top + 20


def _sum(w, n):
  lines = [f".array A {n}", ".word s"]
  lines += [f"ADD s, A[{i}]" for i in range(n)]
  top = (1 << (w - 1)) - 1
  bound = top // n  # every partial sum fits

  def ref(v):
    return {"s": np.sum([np.asarray(v[x], np.int64)
                         for x in _array_words("A", n)], axis=0)}
  return "\n".join(lines), tuple((x, -bound, bound)
                                 for x in _array_words("A", n)), ("s",), \
      ref, None, 3 * n + 1


def _max(w, n):
  # nm holds -max so far. For each A[i]: d = -A[i], then d -= nm gives
  # max - A[i]; negative means A[i] is larger: take it (nm = -A[i]).
  lines = [f".array A {n}", ".word m", ".word nm", ".word d",
           "CLR nm", "SBN nm, A[0]"]
  for i in range(1, n):
    lines += ["CLR d", f"SBN d, A[{i}]", f"SBN d, nm, take{i}",
              f"JMP skip{i}", f"take{i}: CLR nm", f"SBN nm, A[{i}]",
              f"skip{i}:"]
  lines += ["CLR m", "SBN m, nm"]
  half = 1 << (w - 2)  # differences of two inputs fit a word

  def ref(v):
    return {"m": np.max([np.asarray(v[x], np.int64)
                         for x in _array_words("A", n)], axis=0)}
  return "\n".join(lines), tuple((x, -half, half - 1)
                                 for x in _array_words("A", n)), ("m",), \
      ref, None, 7 * n + 8


def _sort(w, n):
  lines = [f".array A {n}", ".word f", ".word g"]
  k = 0
  for end in range(n - 1, 0, -1):
    for j in range(end):
      x, y = f"A[{j}]", f"A[{j + 1}]"
      # f = x - y (negative: in order, skip); else x -= f (x = y) and
      # y += f (y = x).
      lines += ["CLR f", f"SBN f, {y}", "CLR g", f"SBN g, {x}",
                f"SBN f, g, ok{k}", f"SBN {x}, f", f"ADD {y}, f",
                f"ok{k}:"]
      k += 1
  half = 1 << (w - 2)

  def ref(v):
    cols = np.stack([np.asarray(v[x], np.int64)
                     for x in _array_words("A", n)], axis=1)
    return {"A": np.sort(cols, axis=1)}
  return "\n".join(lines), tuple((x, -half, half - 1)
                                 for x in _array_words("A", n)), ("A",), \
      ref, None, 9 * n * (n - 1) // 2 + 1


_SCALAR = {"gcd": _gcd, "fibonacci": _fibonacci, "divmod": _divmod,
           "multiply": _multiply}
_ARRAY = {"sum": _sum, "max": _max, "sort": _sort}


def library_program(name: str, width: int = 8,
                    size: int | None = None) -> LibraryProgram:
  """A library program (see the module docstring).

  Args:
    name: one of :data:`NAMES`.
    width: w, bits per word (>= 4; 8 is the library's default, 4 the size
      whose every input the tests run).
    size: the array size of ``sum``, ``max`` and ``sort`` (2..8; default
      4); not allowed for the others.

  Example:
    >>> prog = library_program("sort", width=8, size=4)
    >>> len(prog.assembly().machine.code), prog.inputs[0]
    (54, ('A[0]', -64, 63))
  """
  if name not in NAMES:
    raise ValueError(f"unknown library program {name!r}; known: "
                     f"{', '.join(NAMES)}")
  if (isinstance(width, bool) or not isinstance(width, (int, np.integer))
      or width < 4):
    raise ValueError(f"width must be an integer >= 4 (bits per word), got "
                     f"{width!r}")
  width = int(width)
  if name in _ARRAY:
    size = 4 if size is None else size
    if (isinstance(size, bool) or not isinstance(size, (int, np.integer))
        or size not in ARRAY_SIZES):
      raise ValueError(f"{name} takes an array size in "
                       f"{ARRAY_SIZES.start}..{ARRAY_SIZES.stop - 1}, got "
                       f"{size!r}")
    if name == "sum" and (1 << (width - 1)) - 1 < int(size):
      raise ValueError(f"sum of {size} words at w={width}: no input range "
                       f"keeps every partial sum in a word")
    parts = _ARRAY[name](width, int(size))
  else:
    if size is not None:
      raise ValueError(f"{name} has no array size; got size={size!r}")
    parts = _SCALAR[name](width)
  source, inputs, outputs, ref, valid, budget = parts
  return LibraryProgram(name, width, None if name in _SCALAR else int(size),
                        source, inputs, outputs, ref, valid, int(budget))


def check_program(prog: LibraryProgram, count: int = 10_000,
                  seed: int = 0) -> dict:
  """Runs the interpreter against the reference: on every valid input if
  there are at most 2^16, else on ``count`` random ones plus the edge
  cases.

  Returns:
    ``{"inputs", "exhaustive", "mismatches", "first_mismatch",
    "instructions_max", "instructions_mean", "code_length", "words"}``.

  Example:
    >>> out = check_program(library_program("divmod", width=4))
    >>> out["inputs"], out["exhaustive"], out["mismatches"]
    (56, True, 0)
  """
  exhaustive = prog.input_count() <= 1 << 16
  values = (prog.all_inputs() if exhaustive
            else prog.sample_inputs(count, seed))
  asm = prog.assembly()
  final, used = asm.run(asm.memory(values), prog.max_instructions)
  want = prog.reference(values)
  bad = np.zeros(len(used), bool)
  for o in prog.outputs:
    got = asm.read(final, o)
    bad |= (np.asarray(got).reshape(len(used), -1)
            != np.asarray(want[o]).reshape(len(used), -1)).any(axis=1)
  first = None
  if bad.any():
    i = int(np.flatnonzero(bad)[0])
    first = {w: int(v[i]) for w, v in values.items()}
  return {"inputs": int(len(used)), "exhaustive": bool(exhaustive),
          "mismatches": int(bad.sum()), "first_mismatch": first,
          "instructions_max": int(used.max()),
          "instructions_mean": float(used.mean()),
          "code_length": len(asm.machine.code),
          "words": asm.machine.words}


#: Most inputs a library family's program runs (:func:`family_program`).
FAMILY_INPUTS = 1024


def family_program(name: str, size: int | None = None,
                   max_inputs: int = FAMILY_INPUTS):
  """A builder ``width -> Program`` for the family registry: the library
  program on the decoded construction, run on every valid input if there
  are at most ``max_inputs``, else on the first ``max_inputs`` of
  :meth:`LibraryProgram.sample_inputs` (edge cases, then random ones from a
  fixed seed — not the first inputs in enumeration order), with the budget
  the longest of them needs.

  Example:
    >>> prog = family_program("divmod")(4)
    >>> prog.name, len(prog.all_pairs()[0])
    ('divmod(w=4)(W=7,w=4,L=13,decoded)', 56)
  """
  from permjax._src.programs import sbn as sbn_lib  # pylint: disable=import-outside-toplevel

  def build(width: int):
    lib = library_program(name, width, size)
    values = lib.all_inputs() if lib.input_count() <= 1 << 16 else None
    if values is None or len(next(iter(values.values()))) > max_inputs:
      values = lib.sample_inputs(max_inputs)  # edge cases, then random
      values = {w: v[:max_inputs] for w, v in values.items()}
    asm = lib.assembly()
    memory = asm.memory(values)
    _, used = asm.run(memory, lib.max_instructions)
    return sbn_lib.sbn_program(asm.machine, int(used.max()), inputs=memory,
                               design="decoded")
  return build
