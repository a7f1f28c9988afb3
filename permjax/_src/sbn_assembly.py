"""An assembler for SBN machines: text with labels, named data and macros.

SBN has one instruction, ``SBN a, b, c``: ``M[a] ← M[a] − M[b]``, then jump
to ``c`` if the result is negative (two's complement), else go on. The
program is a ROM (:class:`permjax.SBNMachine`): no self-modifying code, so
no indirect addressing; loops over arrays are unrolled.

Source format, one statement per line (``;`` or ``#`` starts a comment)::

    .word  NAME [VALUE]           ; a data word, initial VALUE (default 0)
    .array NAME COUNT [V ...]     ; COUNT words NAME[0] … NAME[COUNT-1]
    LABEL:                        ; names the next instruction's address
    LABEL: MNEMONIC operands      ; a label and a statement on one line

Operands: a data word ``NAME``, an array element ``NAME[i]``, a constant
``#V`` (a read-only word holding V, one per value), or for jump targets a
``LABEL`` or ``HALT`` (the address just past the program). Mnemonics, each
expanded into SBN instructions (the count in brackets; ``T``/``U`` are two
scratch words the assembler adds, ``#1`` the constant one):

=================  ===  ================================================
``SBN a, b[, c]``  1    ``M[a] -= M[b]``; jump to c if negative (c
                        omitted: next instruction either way)
``SUB d, s``       1    ``d -= s``
``CLR x``          1    ``x = 0``
``ADD d, s``       3    ``d += s`` (``T = -s; d -= T``)
``MOV d, s``       4    ``d = s``
``NEG x``          6    ``x = -x``
``JMP L``          2    jump to L
``HALT``           2    stop
``BGT x, L``       2    jump if x > 0
``BGE x, L``       3    jump if x >= 0
``BLT x, L``       4    jump if x < 0
``BLE x, L``       5    jump if x <= 0
``BEQ x, L``       5    jump if x == 0
``BNE x, L``       6    jump if x != 0
=================  ===  ================================================

Arithmetic wraps modulo ``2^w`` like the machine; the macros' comparisons
negate their operand, so they hold for ``-2^(w-1) < x < 2^(w-1)`` (the most
negative word has no negation).

:func:`assemble` returns an :class:`Assembly` (the machine, the initial
memory, the symbol table and a listing from instruction address to source
line); :func:`disassemble` writes a machine back as source that assembles to
the same code and memory. Every error is an :class:`AssemblyError` naming
the line.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from permjax._src.programs import sbn

#: Scratch words the macros use, and the constant one.
SCRATCH = ("__T", "__U")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ELEMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]$")
_CONST = re.compile(r"^#([+-]?\d+)$")

#: Operand kinds per mnemonic: ``w`` a word (written or read), ``L`` a jump
#: target; ``L?`` an optional target.
MNEMONICS = {
    "SBN": ("w", "w", "L?"), "SUB": ("w", "w"), "CLR": ("w",),
    "ADD": ("w", "w"), "MOV": ("w", "w"), "NEG": ("w",), "JMP": ("L",),
    "HALT": (), "BGT": ("w", "L"), "BGE": ("w", "L"), "BLT": ("w", "L"),
    "BLE": ("w", "L"), "BEQ": ("w", "L"), "BNE": ("w", "L"),
}


class AssemblyError(ValueError):
  """A source line the assembler cannot read (the message names it)."""


@dataclasses.dataclass(frozen=True)
class Assembly:
  """An assembled program.

  Attributes:
    machine: the :class:`permjax.SBNMachine` (words, width, code).
    initial: ``(W,)`` the initial memory, signed words.
    symbols: data word name → address (array elements as ``NAME[i]``;
      scratch words and constants included).
    labels: label → instruction address (``HALT`` is ``len(code)``).
    listing: per instruction address, ``(line number, source text)`` of
      the statement it came from.
  """
  machine: sbn.SBNMachine
  initial: tuple
  symbols: dict
  labels: dict
  listing: tuple

  def memory(self, values: dict | None = None, batch: int = 1) -> np.ndarray:
    """``(batch, W)`` initial memories, named words set from ``values``
    (``{name: int or (batch,) ints}``).

    Example:
      >>> asm = assemble(".word x\\n.word y 3\\nADD x, y", width=8)
      >>> asm.memory({"x": [1, 2]}).tolist()
      [[1, 3, 0], [2, 3, 0]]
    """
    values = dict(values or {})
    sizes = {np.size(v) for v in values.values() if np.ndim(v)}
    if len(sizes) > 1:
      raise ValueError(f"values must all have one length, got sizes "
                       f"{sorted(sizes)}")
    batch = sizes.pop() if sizes else batch
    mem = np.tile(np.asarray(self.initial, np.int64), (batch, 1))
    for name, v in values.items():
      if name not in self.symbols:
        raise ValueError(f"{name!r} is not a data word of {self.machine.name}"
                         f" (words: {', '.join(self.data_names())})")
      if name.startswith("__") or name.startswith("#"):
        raise ValueError(f"{name!r} is a scratch word or constant; it "
                         f"cannot be set")
      w = self.machine.width
      bad = [int(x) for x in np.atleast_1d(v)
             if not -(1 << (w - 1)) <= int(x) < 1 << (w - 1)]
      if bad:
        raise ValueError(f"{name}={bad[0]} does not fit a {w}-bit word "
                         f"({-(1 << (w - 1))}..{(1 << (w - 1)) - 1})")
      mem[:, self.symbols[name]] = v
    self.machine.check_words(mem)  # every word fits
    return mem

  def data_names(self) -> list:
    """The settable data words (no scratch words or constants)."""
    return [n for n in self.symbols
            if not n.startswith("__") and not n.startswith("#")]

  def read(self, memory, name: str) -> np.ndarray:
    """``(B,)`` the word ``name`` of memories ``(B, W)`` (``NAME`` of an
    array: ``(B, COUNT)``)."""
    memory = np.asarray(memory)
    if name in self.symbols:
      return memory[:, self.symbols[name]]
    cols = [a for n, a in self.symbols.items() if n.startswith(name + "[")]
    if not cols:
      raise ValueError(f"{name!r} is not a data word of {self.machine.name}")
    return memory[:, sorted(cols)]

  def run(self, memory, max_instructions: int):
    """:func:`permjax.sbn_interpret` on ``memory`` (``(B, W)``)."""
    return sbn.interpret(self.machine, memory, max_instructions)

  def text_listing(self) -> str:
    """``address: SBN a, b, c    ; line: source`` per instruction."""
    names = {a: n for n, a in self.symbols.items()}
    out = []
    for l, ((a, b, c), (line, src)) in enumerate(zip(self.machine.code,
                                                     self.listing)):
      target = "HALT" if c == self.machine.halt else str(c)
      out.append(f"{l:4d}: SBN {names[a]}, {names[b]}, {target:<6} "
                 f"; {line}: {src}")
    return "\n".join(out)


@dataclasses.dataclass
class _Statement:
  line: int
  text: str
  label: str | None
  op: str | None
  args: list


def _error(line: int, text: str, message: str) -> AssemblyError:
  return AssemblyError(f"line {line}: {message}: {text.strip()!r}")


def _parse_int(line, text, s, what):
  try:
    return int(s, 0)
  except ValueError:
    raise _error(line, text, f"{what} must be an integer, got {s!r}") from None


def _statements(source: str) -> list:
  out = []
  for no, raw in enumerate(source.splitlines(), 1):
    body = _strip_comment(raw)
    if not body.strip():
      continue
    label = None
    m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:(.*)$", body)
    if m:
      label, body = m.group(1), m.group(2)
    body = body.strip()
    if not body:
      out.append(_Statement(no, raw, label, None, []))
      continue
    parts = body.split(None, 1)
    op = parts[0].upper() if not parts[0].startswith(".") else parts[0]
    rest = parts[1] if len(parts) > 1 else ""
    if op.startswith("."):
      args = rest.split()
    else:
      args = [a.strip() for a in rest.split(",")] if rest.strip() else []
    out.append(_Statement(no, raw, label, op, args))
  return out


def _strip_comment(raw: str) -> str:
  """The line without its comment: ``;`` anywhere, ``#`` unless it starts a
  constant (``#5``, ``#-3``)."""
  out = []
  for i, ch in enumerate(raw):
    if ch == ";":
      break
    if ch == "#" and not re.match(r"#[+-]?\d", raw[i:]):
      break
    out.append(ch)
  return "".join(out)


def assemble(source: str, width: int, *, words: int | None = None,
             name: str = "program") -> Assembly:
  """Assembles SBN source text (see the module docstring).

  Args:
    source: the program text.
    width: w, bits per word (two's complement).
    words: the memory size W; default the words the program declares plus
      the scratch words and constants it uses (an error if it needs more).
    name: the machine's name.

  Returns:
    an :class:`Assembly`.

  Raises:
    AssemblyError: naming the line: an unknown mnemonic or label, a wrong
      number of operands, an undeclared word, an array index or address
      out of range, a value that does not fit ``width`` bits, a name
      declared twice.

  Example:
    >>> asm = assemble('''
    ...   .word x 5
    ...   .word y 3
    ...   ADD x, y      ; x = 8
    ... ''', width=8)
    >>> len(asm.machine.code), asm.run(asm.memory(), 10)[0][0, 0]
    (3, np.int64(8))
  """
  width = sbn.check_int("width", width, 2)
  if not isinstance(source, str):
    raise TypeError(f"source must be a string, got {type(source).__name__}")
  low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
  stmts = _statements(source)

  symbols: dict = {}
  initial: list = []
  declared_at: dict = {}

  def declare(key, value, st):
    if key in symbols:
      raise _error(st.line, st.text, f"{key!r} is declared twice (first on "
                   f"line {declared_at[key]})")
    if not low <= value <= high:
      raise _error(st.line, st.text, f"value {value} of {key!r} does not fit "
                   f"a {width}-bit word ({low}..{high})")
    symbols[key] = len(initial)
    declared_at[key] = st.line
    initial.append(value)

  program = []
  for st in stmts:
    if st.op is None or not st.op.startswith("."):
      program.append(st)
      continue
    if st.label:
      raise _error(st.line, st.text, "a data directive takes no label")
    if st.op == ".word":
      if len(st.args) not in (1, 2) or not _NAME.match(st.args[0]):
        raise _error(st.line, st.text, ".word takes NAME [VALUE]")
      value = (_parse_int(st.line, st.text, st.args[1], "the value")
               if len(st.args) == 2 else 0)
      declare(st.args[0], value, st)
    elif st.op == ".array":
      if len(st.args) < 2 or not _NAME.match(st.args[0]):
        raise _error(st.line, st.text, ".array takes NAME COUNT [VALUES]")
      count = _parse_int(st.line, st.text, st.args[1], "the count")
      values = [_parse_int(st.line, st.text, v, "a value")
                for v in st.args[2:]]
      if count < 1 or len(values) > count:
        raise _error(st.line, st.text, f"an array needs COUNT >= 1 and at "
                     f"most COUNT values, got {count} and {len(values)}")
      values += [0] * (count - len(values))
      for i, v in enumerate(values):
        declare(f"{st.args[0]}[{i}]", v, st)
    else:
      raise _error(st.line, st.text, f"unknown directive {st.op!r} (.word, "
                   f".array)")

  def scratch(key, value=0):
    if key not in symbols:
      symbols[key] = len(initial)
      initial.append(value)
    return symbols[key]

  def word(arg, st):
    m = _CONST.match(arg)
    if m:
      value = int(m.group(1))
      if not low <= value <= high:
        raise _error(st.line, st.text, f"constant {arg} does not fit a "
                     f"{width}-bit word ({low}..{high})")
      return scratch(f"#{value}", value)
    m = _ELEMENT.match(arg)
    if m:
      base, i = m.group(1), int(m.group(2))
      if f"{base}[0]" not in symbols:
        raise _error(st.line, st.text, f"{base!r} is not a declared array")
      if f"{base}[{i}]" not in symbols:
        size = sum(1 for n in symbols if n.startswith(base + "["))
        raise _error(st.line, st.text, f"address {arg} is out of range "
                     f"({base} has {size} words)")
      return symbols[f"{base}[{i}]"]
    if arg in symbols and not arg.startswith("#"):
      return symbols[arg]
    raise _error(st.line, st.text, f"{arg!r} is not a declared word (declare "
                 f"it with .word or .array)")

  # Expand macros into (a, b, target) with targets as ("label", name),
  # ("rel", k) (k instructions after this macro's start) or ("halt",).
  code, listing, labels, origin = [], [], {}, []
  for st in program:
    if st.label:
      if st.label in labels or st.label.upper() == "HALT":
        raise _error(st.line, st.text, f"label {st.label!r} is defined twice"
                     if st.label in labels else "HALT is reserved")
      labels[st.label] = len(code)
    if st.op is None:
      continue
    if st.op not in MNEMONICS:
      raise _error(st.line, st.text, f"unknown mnemonic {st.op!r} (known: "
                   f"{', '.join(MNEMONICS)})")
    kinds = MNEMONICS[st.op]
    need = sum(1 for k in kinds if not k.endswith("?"))
    if not need <= len(st.args) <= len(kinds) or any(not a for a in st.args):
      raise _error(st.line, st.text, f"{st.op} takes {need}"
                   f"{'' if need == len(kinds) else f'-{len(kinds)}'} "
                   f"operand(s), got {len(st.args)}")
    ops = []
    for kind, arg in zip(kinds, st.args):
      if kind.startswith("L"):
        ops.append(("halt",) if arg.upper() == "HALT" else ("label", arg))
        if arg.upper() != "HALT" and not _NAME.match(arg):
          raise _error(st.line, st.text, f"jump target {arg!r} is not a label")
      else:
        ops.append(word(arg, st))
    t = u = one = None
    if st.op not in ("SBN", "SUB", "CLR"):
      t = scratch(SCRATCH[0])
    if st.op in ("NEG", "BLT", "BLE", "BNE"):
      u = scratch(SCRATCH[1])
    if st.op in ("JMP", "HALT", "BGE", "BLE", "BEQ"):
      one = word("#1", st)
    start = len(code)
    for a, b, target in _expand(st.op, ops, t, u, one):
      code.append((a, b, target))
      listing.append((st.line, st.text.strip()))
      origin.append((st, start))
  halt = len(code)
  if words is not None:
    words = sbn.check_int("words", words, 1)
    if len(initial) > words:
      raise AssemblyError(f"the program needs {len(initial)} words (data, "
                          f"scratch and constants) but words={words}; an "
                          f"address would be out of range")
    initial += [0] * (words - len(initial))
  resolved = []
  for l, (a, b, target) in enumerate(code):
    st, start = origin[l]
    if target[0] == "next":
      c = l + 1
    elif target[0] == "rel":
      c = start + target[1]
    elif target[0] == "halt":
      c = halt
    else:
      if target[1] not in labels:
        raise _error(st.line, st.text, f"unknown label {target[1]!r}")
      c = labels[target[1]]
    resolved.append((a, b, min(c, halt)))
  if not resolved:
    raise AssemblyError("the program has no instructions")
  machine = sbn.SBNMachine(len(initial), width, tuple(resolved), name=name)
  labels = dict(labels, HALT=halt)
  return Assembly(machine, tuple(initial), dict(symbols), labels,
                  tuple(listing))


def _expand(op, ops, t, u, one) -> list:
  """A mnemonic's SBN instructions ``(a, b, target)``; targets ``("next",)``,
  ``("rel", k)`` (k-th instruction counted from the macro's first; k = its
  length is the instruction after it), ``("label", L)`` or ``("halt",)``."""
  nxt = ("next",)
  if op == "SBN":
    return [(ops[0], ops[1], ops[2] if len(ops) > 2 else nxt)]
  if op == "SUB":
    return [(ops[0], ops[1], nxt)]
  if op == "CLR":
    return [(ops[0], ops[0], nxt)]
  if op == "ADD":  # T = -s; d -= T
    d, s = ops
    return [(t, t, nxt), (t, s, nxt), (d, t, nxt)]
  if op == "MOV":  # d = 0; T = -s; d -= T
    d, s = ops
    return [(d, d, nxt), (t, t, nxt), (t, s, nxt), (d, t, nxt)]
  if op == "NEG":  # U = x (via T); x = 0 - U
    (x,) = ops
    return [(u, u, nxt), (t, t, nxt), (t, x, nxt), (u, t, nxt),
            (x, x, nxt), (x, u, nxt)]
  if op == "JMP":  # T = 0 - 1 < 0
    return [(t, t, nxt), (t, one, ops[0])]
  if op == "HALT":
    return [(t, t, nxt), (t, one, ("halt",))]
  x, target = ops
  if op == "BGT":  # T = -x < 0 iff x > 0
    return [(t, t, nxt), (t, x, target)]
  if op == "BGE":  # -x - 1 < 0 iff x >= 0
    return [(t, t, nxt), (t, x, nxt), (t, one, target)]
  if op == "BLT":  # U = x (via T = -x); U - 0: jump if U < 0
    return [(t, t, nxt), (t, x, nxt), (u, u, nxt), (u, t, target)]
  if op == "BLE":  # U = x; U - 1 < 0 iff x <= 0
    return [(t, t, nxt), (t, x, nxt), (u, u, nxt), (u, t, nxt),
            (u, one, target)]
  if op == "BEQ":  # x > 0: skip; else x >= 0 means x == 0
    return [(t, t, nxt), (t, x, ("rel", 5)), (t, t, nxt), (t, x, nxt),
            (t, one, target)]
  if op == "BNE":  # x > 0 or x < 0
    return [(t, t, nxt), (t, x, target), (t, t, nxt), (t, x, nxt),
            (u, u, nxt), (u, t, target)]
  raise AssertionError(op)


def disassemble(machine: sbn.SBNMachine, initial=None) -> str:
  """Source text for ``machine``: its memory as one array ``M`` (with
  ``initial``, default zeros) and one ``SBN`` per instruction, labelled
  ``L<address>``; :func:`assemble` of it gives the same code and memory.

  Example:
    >>> m = sbn.SBNMachine(2, 4, ((0, 1, 1), (1, 1, 2)))
    >>> print(disassemble(m, [3, 1]))
    .array M 2 3 1
    L0: SBN M[0], M[1], L1
    L1: SBN M[1], M[1], HALT
    >>> asm = assemble(disassemble(m, [3, 1]), width=4)
    >>> asm.machine.code == m.code, asm.initial
    (True, (3, 1))
  """
  if not isinstance(machine, sbn.SBNMachine):
    raise TypeError(f"machine must be a permjax.SBNMachine, got {machine!r}")
  init = [0] * machine.words if initial is None else [int(v) for v in initial]
  if len(init) != machine.words:
    raise ValueError(f"initial must hold W={machine.words} words, got "
                     f"{len(init)}")
  machine.check_words([init])
  lines = [f".array M {machine.words} " + " ".join(map(str, init))]
  for l, (a, b, c) in enumerate(machine.code):
    target = "HALT" if c == machine.halt else f"L{c}"
    lines.append(f"L{l}: SBN M[{a}], M[{b}], {target}")
  return "\n".join(lines)
