"""SBN (Subtract and Branch if Negative) as a template program.

**permjax's own construction** — the v2 paper names SBN as its fourth task,
but its SBN field layout, templates and bound are not public
(docs/theory/sbn.md). This one is built from the same primitives as addition
and multiplication: keep templates, the §2.2 adder, a one-hot timer and
flags, and it runs under the same OR rule, encoding and predictors.

Semantics of ``SBN a, b, c`` on ``W`` words of ``w`` bits (two's
complement): ``M[a] ← M[a] − M[b]``; if the result is negative ``PC ← c``,
else ``PC ← PC + 1``. The program (``L`` triples) is a ROM: it lives in the
templates, the memory and the program counter in the state. Address ``L``
is *halt*: a jump there, or falling off the end, stops the machine, whose
state is then a fixed point.

Subtraction without a carry-in: ``X − Y = ~(~X + Y)`` (mod ``2^w``), so the
fetch loads ``p = ~M[a]`` (a template per bit that fires when the memory
bit is 0) and ``q = M[b]``, the adder adds, and the write-back stores
``~p``. The result is negative iff its top bit is 1, i.e. iff ``p[w-1] = 0``
after the add.

One instruction, ``2w + 2`` steps::

   step:   1          2 … 2w+1                    2w+2
   phase:  FETCH      ADD (timer t0 … t_{2w-1})   WRITE-BACK + BRANCH
   flags:  fetch=1    add=1, one timer bit        wb=1, we[a]=1
   does:   p ← ~M[a]  p,c,q ← p⊕q, p∧q, c≪1       M[a] ← ~p
           q ← M[b]   (last tick: wb, we[a])      PC ← c if p[w-1]=0 else PC+1
           add, t0                                fetch (next instruction)

Fields (``D = W·w + W + L + 5w + 4``): ``m0 … m{W-1}`` (the words, LSB
first), ``pc`` (one-hot, ``L + 1`` slots, slot ``L`` = halt), ``fetch``,
``add``, ``timer`` (``2w``, one-hot), ``wb``, ``we`` (``W`` write enables),
``p``, ``q``, ``c`` (the adder, ``w`` each).

Template families (``T = 2Ww + 2wL + 6w + 4L + 3``):

======================  =====  ============================================
family                  count  condition → writes
======================  =====  ============================================
K(j, i) keep memory     W·w    m_j[i]=1, we[j]=0 → m_j[i]
WB(j, i) write back     W·w    we[j]=1, p[i]=0 → m_j[i]
FA(l, i) fetch ~M[a_l]  w·L    pc[l]=1, fetch=1, m_{a_l}[i]=0 → p[i]
FB(l, i) fetch M[b_l]   w·L    pc[l]=1, fetch=1, m_{b_l}[i]=1 → q[i]
S start                 1      fetch=1, pc[L]=0 → add, timer[0]
A1, A2, A3 (i) adder    3w     add=1 and §2.2's conditions → p[i], p[i], c[i]
A4(i) carry move        w − 1  c[i]=1 → q[i+1] (the top carry is dropped)
AK keep add             1      add=1, timer[2w-1]=0 → add
TT(e) timer tick        2w − 1 timer[e]=1 → timer[e+1]
TE timer end            1      timer[2w-1]=1 → wb
EN(l) enable            L      pc[l]=1, timer[2w-1]=1 → we[a_l]
PK(l) keep pc           L + 1  pc[l]=1, wb=0 → pc[l]; pc[L]=1 → pc[L]
BN(l) branch            L      pc[l]=1, wb=1, p[w-1]=0 → pc[c_l]
BP(l) next              L      pc[l]=1, wb=1, p[w-1]=1 → pc[l+1]
NX next fetch           1      wb=1 → fetch
======================  =====  ============================================

Inputs are memory images: the integer ``Σ_j M[j] 2^{jw}`` split into two
operands ``a`` (low ``⌈W·w/2⌉`` bits) and ``b`` (high), so :class:`Program`'s
pair interface carries them; the result is the final memory image.

Correlation (docs/theory/templates.md §3.3): a state matches at most ``n_bound = W·w +
2w + 4`` templates (every memory bit fires at most one of K, WB; the phases
are exclusive) and a column is written by at most ``C_max`` templates (the
largest column weight; ``p[i]`` alone takes ``L + 2``), so the construction
pads the training set with ``pad`` all-zero rows, the smallest for which
``γ_n + C_max β_n ≥`` :data:`MIN_MARGIN` at ``n_bound`` (``k = T + pad``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from permjax._src import templates as tpl

#: The worst 1-bit's exact mean that padding guarantees (docs/theory/templates.md §3.3).
MIN_MARGIN = 0.05


def check_int(name, value, low, high=None):
  if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
      or value < low or (high is not None and value > high)):
    bound = f">= {low}" if high is None else f"in {low}..{high}"
    raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
  return int(value)


@dataclasses.dataclass(frozen=True)
class SBNMachine:
  """A memory of ``words`` words of ``width`` bits and an SBN program.

  Attributes:
    words: W, words of memory.
    width: w, bits per word (two's complement).
    code: ``((a, b, c), ...)``: ``M[a] ← M[a] − M[b]``, jump to ``c`` if
      negative; ``c = len(code)`` is halt.
    name: a label.
  """
  words: int
  width: int
  code: tuple
  name: str = "sbn"

  def __post_init__(self):
    check_int("words", self.words, 1)
    check_int("width", self.width, 2)
    if not isinstance(self.name, str):
      raise TypeError(f"the machine's name must be a string, got "
                      f"{self.name!r}")
    if isinstance(self.code, (str, bytes)) or not hasattr(
        self.code, "__iter__") or not all(
            hasattr(t, "__len__") for t in self.code):
      raise TypeError(f"code must be a sequence of (a, b, c) triples, got "
                      f"{self.code!r}")
    code = tuple(tuple(t) for t in self.code)
    if not code:
      raise ValueError("an SBN program needs at least one instruction")
    for l, ins in enumerate(code):
      if len(ins) != 3:
        raise ValueError(f"instruction {l} must be a triple (a, b, c), got "
                         f"{ins!r}")
      a, b, c = ins
      for what, v in (("a", a), ("b", b)):
        if (isinstance(v, bool) or not isinstance(v, (int, np.integer))
            or not 0 <= v < self.words):
          raise ValueError(f"instruction {l}: address {what}={v!r} is outside "
                           f"the memory (0..{self.words - 1})")
      if (isinstance(c, bool) or not isinstance(c, (int, np.integer))
          or not 0 <= c <= len(code)):
        raise ValueError(f"instruction {l}: jump target c={c!r} is outside "
                         f"the program (0..{len(code)}, {len(code)} = halt)")
    object.__setattr__(self, "code", tuple(tuple(int(v) for v in t)
                                           for t in code))

  @property
  def halt(self) -> int:
    """The halt address, ``L``."""
    return len(self.code)

  @property
  def steps_per_instruction(self) -> int:
    return 2 * self.width + 2

  def check_words(self, memory) -> np.ndarray:
    """``(B, W)`` signed words → unsigned ``w``-bit patterns; raises naming a
    word that does not fit."""
    mem = np.asarray(memory)
    if mem.ndim != 2 or mem.shape[1] != self.words:
      raise ValueError(f"memory must be (batch, W={self.words}) words, got "
                       f"shape {mem.shape}")
    if not (np.issubdtype(mem.dtype, np.integer) or (
        mem.dtype == object and all(isinstance(v, (int, np.integer))
                                    and not isinstance(v, bool)
                                    for v in mem.reshape(-1)))):
      raise ValueError(f"memory words must be integers, got {mem.dtype}")
    low, high = -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
    bad = np.argwhere((mem < low) | (mem > high))
    if bad.size:
      r, j = bad[0]
      raise ValueError(f"memory word M[{j}]={int(mem[r, j])} (input {r}) does "
                       f"not fit in w={self.width} bits two's complement "
                       f"({low}..{high})")
    if self.width > 62:  # Python integers: no int64 overflow
      return np.asarray(mem.astype(object) % (1 << self.width), object)
    return mem.astype(np.int64) % (1 << self.width)


def check_machine(machine) -> None:
  if not isinstance(machine, SBNMachine):
    raise TypeError(f"machine must be a permjax.SBNMachine, got {machine!r}")


def signed(values, width: int) -> np.ndarray:
  """Unsigned ``width``-bit patterns as two's-complement integers.

  Example:
    >>> signed([0, 7, 8, 15], 4).tolist()
    [0, 7, -8, -1]
  """
  v = np.asarray(values, object if width > 62 else np.int64)
  return np.where(v >= 1 << (width - 1), v - (1 << width), v)


def interpret(machine: SBNMachine, memory, max_instructions: int):
  """The reference interpreter (plain integers), over a batch of memories.

  Args:
    machine: the machine.
    memory: ``(B, W)`` signed words.
    max_instructions: the budget; every input must halt within it.

  Returns:
    ``(final memory (B, W) signed, instructions executed (B,))``.

  Raises:
    ValueError: an input does not halt within ``max_instructions``.

  Example:
    >>> add = SBNMachine(3, 4, ((2, 1, 1), (0, 2, 2)))   # Z -= y; x -= Z
    >>> interpret(add, [[3, 2, 0]], 4)[0].tolist()
    [[5, 2, -2]]
  """
  check_machine(machine)
  mem = machine.check_words(memory).copy()
  check_int("max_instructions", max_instructions, 1)
  if max_instructions * max(1, len(mem)) > (1 << 32):
    raise ValueError(f"max_instructions={max_instructions:,} over "
                     f"{len(mem):,} memories is beyond what the interpreter "
                     f"steps through; give a budget the programs need")
  top = 1 << machine.width
  pc = np.zeros(len(mem), np.int64)
  count = np.zeros(len(mem), np.int64)
  rows = np.arange(len(mem))
  for _ in range(max_instructions):
    live = pc < machine.halt
    if not live.any():
      break
    at = pc.copy()  # one instruction per memory per round: the budget holds
    for l, (a, b, c) in enumerate(machine.code):
      sel = rows[live & (at == l)]
      if not sel.size:
        continue
      r = (mem[sel, a] - mem[sel, b]) % top
      mem[sel, a] = r
      pc[sel] = np.where(r >= top // 2, c, l + 1)
      count[sel] += 1
  stuck = np.flatnonzero(pc < machine.halt)
  if stuck.size:
    i = int(stuck[0])
    raise ValueError(
        f"{machine.name}: input {i} (memory {signed(machine.check_words(memory)[i], machine.width).tolist()}) "
        f"does not halt within the step budget of {max_instructions} "
        f"instructions ({stuck.size} input(s) do not)")
  return signed(mem, machine.width), count


def to_operands(machine: SBNMachine, memory) -> tuple[np.ndarray, np.ndarray]:
  """``(B, W)`` signed words → the program's operands ``(a, b)``.

  Example:
    >>> machine = SBNMachine(2, 4, ((0, 0, 1),))
    >>> [v.tolist() for v in to_operands(machine, [[5, -3]])]
    [[5], [13]]
  """
  mem = machine.check_words(memory)
  half = half_bits(machine)
  if machine.words * machine.width <= tpl.INT64_BITS:
    image = (mem << (machine.width * np.arange(machine.words))).sum(axis=1)
    return image & ((1 << half) - 1), image >> half
  # Memories wider than int64: images as Python ints (object arrays).
  image = [sum(int(v) << (machine.width * j) for j, v in enumerate(row))
           for row in mem]
  low = np.array([x & ((1 << half) - 1) for x in image], dtype=object)
  return low, np.array([x >> half for x in image], dtype=object)


def half_bits(machine: SBNMachine) -> int:
  """Bits of the low operand: ``⌈W·w / 2⌉``."""
  return (machine.words * machine.width + 1) // 2


def from_operands(machine: SBNMachine, a, b) -> np.ndarray:
  """The inverse of :func:`to_operands`: ``(B, W)`` signed words; raises
  for an image wider than the memory.

  Example:
    >>> machine = SBNMachine(2, 4, ((0, 0, 1),))
    >>> from_operands(machine, [5], [13]).tolist()
    [[5, -3]]
  """
  half = half_bits(machine)
  bits = machine.words * machine.width
  if bits <= tpl.INT64_BITS:
    image = np.asarray(a, np.int64) | (np.asarray(b, np.int64) << half)
    over = np.flatnonzero(image >> bits)
  else:  # Python ints: any memory size
    low, high = np.broadcast_arrays(np.asarray(a, object).reshape(-1),
                                    np.asarray(b, object).reshape(-1))
    image = [int(x) | (int(y) << half) for x, y in zip(low, high)]
    over = np.flatnonzero([x >> bits for x in image])
  if over.size:
    raise ValueError(f"{machine.name}: operands ({int(np.asarray(a)[over[0]])}"
                     f", {int(np.asarray(b)[over[0]])}) form a memory image "
                     f"wider than W·w = {bits} bits")
  if bits <= tpl.INT64_BITS:
    shifts = machine.width * np.arange(machine.words)
    mem = (image[:, None] >> shifts) & ((1 << machine.width) - 1)
  else:
    mask = (1 << machine.width) - 1
    mem = np.array([[(x >> (machine.width * j)) & mask
                     for j in range(machine.words)] for x in image],
                   dtype=object if machine.width > tpl.INT64_BITS
                   else np.int64).reshape(len(image), machine.words)
  return signed(mem, machine.width)


def templates_of(machine: SBNMachine) -> tuple:
  """Every template of the machine (see the module docstring)."""
  W, w, L = machine.words, machine.width, machine.halt  # pylint: disable=invalid-name
  E = 2 * w - 1  # pylint: disable=invalid-name
  m = lambda j: f"m{j}"  # pylint: disable=unnecessary-lambda-assignment
  out = []
  for j in range(W):
    for i in range(w):
      out.append(tpl.Template(f"K({j},{i})", ((m(j), i),), (("we", j),),
                              ((m(j), i),)))
      out.append(tpl.Template(f"WB({j},{i})", (("we", j),), (("p", i),),
                              ((m(j), i),)))
  for l, (a, b, _) in enumerate(machine.code):
    for i in range(w):
      out.append(tpl.Template(f"FA({l},{i})", (("pc", l), ("fetch", 0)),
                              ((m(a), i),), (("p", i),)))
      out.append(tpl.Template(f"FB({l},{i})", (("pc", l), ("fetch", 0),
                                               (m(b), i)), (), (("q", i),)))
  out.append(tpl.Template("S", (("fetch", 0),), (("pc", L),),
                          (("add", 0), ("timer", 0))))
  for i in range(w):
    out += [tpl.Template(f"A1({i})", (("add", 0), ("q", i)), (("p", i),),
                         (("p", i),)),
            tpl.Template(f"A2({i})", (("add", 0), ("p", i)), (("q", i),),
                         (("p", i),)),
            tpl.Template(f"A3({i})", (("add", 0), ("p", i), ("q", i)), (),
                         (("c", i),))]
    if i < w - 1:
      out.append(tpl.Template(f"A4({i})", (("c", i),), (), (("q", i + 1),)))
  out.append(tpl.Template("AK", (("add", 0),), (("timer", E),),
                          (("add", 0),)))
  for e in range(E):
    out.append(tpl.Template(f"TT({e})", (("timer", e),), (),
                            (("timer", e + 1),)))
  out.append(tpl.Template("TE", (("timer", E),), (), (("wb", 0),)))
  for l, (a, _, _) in enumerate(machine.code):
    out.append(tpl.Template(f"EN({l})", (("pc", l), ("timer", E)), (),
                            (("we", a),)))
  for l in range(L):
    out.append(tpl.Template(f"PK({l})", (("pc", l),), (("wb", 0),),
                            (("pc", l),)))
  out.append(tpl.Template(f"PK({L})", (("pc", L),), (), (("pc", L),)))
  for l, (_, _, c) in enumerate(machine.code):
    out.append(tpl.Template(f"BN({l})", (("pc", l), ("wb", 0)),
                            (("p", w - 1),), (("pc", c),)))
    out.append(tpl.Template(f"BP({l})", (("pc", l), ("wb", 0),
                                         ("p", w - 1)), (), (("pc", l + 1),)))
  out.append(tpl.Template("NX", (("wb", 0),), (), (("fetch", 0),)))
  return tuple(out)


def fields_of(machine: SBNMachine) -> tuple:
  W, w, L = machine.words, machine.width, machine.halt  # pylint: disable=invalid-name
  return (tuple((f"m{j}", w) for j in range(W))
          + (("pc", L + 1), ("fetch", 1), ("add", 1), ("timer", 2 * w),
             ("wb", 1), ("we", W), ("p", w), ("q", w), ("c", w)))


def n_bound(machine: SBNMachine) -> int:
  """An upper bound on the templates any state of the machine matches."""
  return machine.words * machine.width + 2 * machine.width + 4


#: Largest padding :func:`auto_pad` chooses by itself (``pad=`` overrides).
MAX_AUTO_PAD = 1 << 16


def auto_pad(machine: SBNMachine, T: int, c_max: int) -> int:  # pylint: disable=invalid-name
  """The smallest padding with ``γ_n + C_max β_n ≥ MIN_MARGIN`` at
  ``n = n_bound`` (``k = T + pad``).

  Raises:
    ValueError: no padding reaches the margin (padding only shrinks β_n; the
      margin tends to ``γ_n`` of an infinite training set, below
      :data:`MIN_MARGIN` once a state can match about 150 templates), or
      reaching it would take more than :data:`MAX_AUTO_PAD` rows.
  """
  n = n_bound(machine)
  ceiling = float(tpl.correlation_margin(1e15, n, c_max))
  if ceiling < MIN_MARGIN:
    raise ValueError(
        f"{machine.name} (W={machine.words}, w={machine.width}): no padding "
        f"keeps the worst 1-bit's exact mean above {MIN_MARGIN} — a state can "
        f"match up to {n} templates, and even an infinite training set leaves "
        f"it at {ceiling:.4f}; use fewer or narrower words, or pass pad= and "
        f"accept a smaller margin")
  pad, step = 0, 1
  while tpl.correlation_margin(T + pad, n, c_max) < MIN_MARGIN:
    if pad > MAX_AUTO_PAD:
      raise ValueError(
          f"{machine.name} (W={machine.words}, w={machine.width}): keeping "
          f"the worst 1-bit's exact mean above {MIN_MARGIN} needs more than "
          f"{MAX_AUTO_PAD:,} padding rows (k > {T + MAX_AUTO_PAD:,}; a state "
          f"can match {n} templates, a column has up to {c_max} writers); "
          f"use fewer or narrower words, or pass pad= explicitly")
    pad += step
    step *= 2
  low = pad - step // 2 if step > 1 else 0
  while low < pad:  # bisect back to the smallest
    mid = (low + pad) // 2
    if tpl.correlation_margin(T + mid, n, c_max) >= MIN_MARGIN:
      pad = mid
    else:
      low = mid + 1
  return pad


#: SBN template constructions: ``instruction_keyed`` (this module: fetch
#: templates per instruction, column weight ``L + 2``) and ``decoded``
#: (:mod:`permjax._src.programs.sbn_decoded`: addresses decoded once,
#: column weight 4, training set linear in ``W·w + L``).
DESIGNS = ("instruction_keyed", "decoded")


def sbn_program(machine: SBNMachine, max_instructions: int, *, inputs=None,
                pad: int | str = "auto",
                design: str = "instruction_keyed") -> tpl.Program:
  """The machine as a :class:`permjax.Program`.

  Args:
    machine: the :class:`SBNMachine`.
    max_instructions: the budget; the step budget is ``max_instructions ·
      (2w + 2)`` and every input must halt within it (checked by the ground
      truth, which raises otherwise).
    inputs: ``(B, W)`` signed initial memories the program is run on
      (:meth:`Program.all_pairs`); default every memory image.
    pad: all-zero training rows, or ``"auto"`` (:func:`auto_pad`).
    design: one of :data:`DESIGNS`; ``"decoded"`` scales to real programs
      (the instruction-keyed one is kept for the committed results).

  Returns:
    a :class:`Program`: operands are memory images (:func:`to_operands`),
    results the final memory image.

  Example:
    >>> clear = SBNMachine(2, 4, ((0, 0, 1),))     # M[0] ← 0
    >>> prog = sbn_program(clear, 1)
    >>> prog.T, prog.D, prog.steps
    (55, 35, 10)
    >>> a, b = to_operands(clear, [[5, -3]])
    >>> prog.results(run_or_rule_final(prog, a, b)) == prog.ground_truth(a, b)
    array([ True])
  """
  check_machine(machine)
  if design not in DESIGNS:
    raise ValueError(f"design must be one of {list(DESIGNS)}, got "
                     f"{design!r}")
  if design == "decoded":
    from permjax._src.programs import sbn_decoded  # pylint: disable=import-outside-toplevel
    return sbn_decoded.decoded_program(machine, max_instructions,
                                       inputs=inputs, pad=pad)
  check_int("max_instructions", max_instructions, 1)
  W, w, L = machine.words, machine.width, machine.halt  # pylint: disable=invalid-name
  tpl.check_program_size(f"{machine.name} (W={W}, w={w}, L={L})",
                         2 * W * w + 2 * w * L + 6 * w + 4 * L + 3,
                         W * w + W + L + 5 * w + 4)
  fields = fields_of(machine)
  temps = templates_of(machine)
  W, w = machine.words, machine.width  # pylint: disable=invalid-name
  pc0 = W * w
  initial, result, truth, given = memory_interface(
      machine, max_instructions, inputs, sum(f for _, f in fields),
      (pc0, pc0 + machine.halt + 1))  # PC = 0, fetch
  draft = tpl.Program(f"{machine.name}(W={W},w={w},L={machine.halt})", fields,
                      temps, max_instructions * machine.steps_per_instruction,
                      operand_bits=half_bits(machine), initial=initial,
                      result=result, truth=truth, inputs=given,
                      n_bound=min(n_bound(machine), len(temps)))
  if pad == "auto":
    pad = auto_pad(machine, draft.T, int(draft.column_weights().max()))
  return dataclasses.replace(draft, pad=pad)


def memory_interface(machine: SBNMachine, max_instructions: int, inputs,
                     width: int, set_bits) -> tuple:
  """What a construction's :class:`Program` needs besides its templates,
  shared by both constructions: ``(initial, result, truth, inputs)``.

  ``initial(a, b)``: ``(B, width)`` states with the memory image's bits
  first (LSB first, word after word) and the state columns ``set_bits``
  set; ``result(states)``: the memory image the first ``W·w`` bits hold;
  ``truth(a, b)``: the interpreter's final memory image; ``inputs``: a
  callable giving the operands of the memories ``inputs`` (None: every
  image, refused when ``W·w`` is odd).
  """
  W, w = machine.words, machine.width  # pylint: disable=invalid-name
  if inputs is None and (W * w) % 2:
    raise ValueError(f"{machine.name}: with an odd number of memory bits "
                     f"(W·w = {W * w}) not every operand pair is a memory "
                     f"image; pass the inputs")

  def bits_of_memory(mem):
    unsigned = np.asarray(mem % (1 << w), np.int64)
    return ((unsigned[:, :, None] >> np.arange(w)) & 1).reshape(
        len(unsigned), W * w)

  def initial(a, b):
    states = np.zeros((len(a), width), np.int64)
    states[:, :W * w] = bits_of_memory(from_operands(machine, a, b))
    states[:, list(set_bits)] = 1
    return states

  def result(states):
    return tpl.number_of(np.asarray(states, np.int64)[:, :W * w])

  def truth(a, b):
    final, _ = interpret(machine, from_operands(machine, a, b),
                         max_instructions)
    return tpl.number_of(bits_of_memory(final))

  given = None
  if inputs is not None:
    ops = to_operands(machine, inputs)
    given = lambda: ops  # pylint: disable=unnecessary-lambda-assignment
  return initial, result, truth, given


def run_or_rule_final(program: tpl.Program, a, b) -> np.ndarray:
  """The OR rule's final states from operands ``(a, b)`` (whole budget)."""
  return tpl.run_or_rule(program, program.initial_states(a, b))[-1]


# --- programs -----------------------------------------------------------------

def _check_enumeration(name: str, w: int, bits: int, what: str) -> None:
  """Refuses a library program whose every input would exceed
  :data:`permjax._src.templates.MAX_ENUMERATION`."""
  if bits > tpl.MAX_ENUMERATION.bit_length() - 1:
    raise ValueError(f"{name} with w={w} runs every one of its 2^{bits} "
                     f"{what}, above the enumeration limit "
                     f"{tpl.MAX_ENUMERATION:,}; use a smaller w, or build the "
                     f"machine with sbn_program(..., inputs=) on sampled "
                     f"memories")


def instruction_program(w: int = 4) -> tpl.Program:
  """One instruction, ``SBN 0, 1, halt``, on every memory of 4 words of
  ``w`` bits (``2^{4w}`` inputs), followed by a marker ``SBN 3, 3, halt``
  that runs only if the first did not branch, so the branch shows in the
  final memory (``M[3]`` cleared iff ``M[0] − M[1] ≥ 0``).

  Example:
    >>> instruction_program(2).all_pairs()[0].shape
    (256,)
  """
  w = check_int("w", w, 2)
  _check_enumeration("sbn_instruction", w, 4 * w, "memories of 4 words")
  machine = SBNMachine(4, w, ((0, 1, 2), (3, 3, 2)), name="sbn_instruction")
  return sbn_program(machine, 2)


def loop_program(w: int = 4) -> tpl.Program:
  """Multiplication by repeated subtraction, a loop run to halt: memory
  ``[n, y, acc, one, Z]``::

    0: SBN n, one, halt     n ← n − 1; stop once n < 0
    1: SBN acc, y, 2        acc ← acc − y
    2: SBN Z, Z, 3          Z ← 0
    3: SBN Z, one, 0        Z ← −1 < 0: jump back (an unconditional jump)

  from ``acc = 0, one = 1, Z = 0`` for every ``n`` in ``0..2^{w-1} − 1`` and
  every ``y``: it ends with ``acc = −n·y`` (mod ``2^w``) after ``4n + 1``
  instructions.

  Example:
    >>> prog = loop_program(3)
    >>> len(prog.all_pairs()[0]), prog.steps   # 4 values of n, 8 of y
    (32, 104)
  """
  w = check_int("w", w, 2)
  _check_enumeration("sbn_loop", w, 2 * w - 1, "inputs (n, y)")
  machine = SBNMachine(5, w, ((0, 3, 4), (2, 1, 2), (4, 4, 3), (4, 3, 0)),
                       name="sbn_loop")
  top = 1 << (w - 1)
  inputs = np.array([[n, y, 0, 1, 0] for n in range(top)
                     for y in range(-top, top)])
  return sbn_program(machine, 4 * (top - 1) + 1, inputs=inputs)


def idioms_program(w: int = 4) -> tpl.Program:
  """Add, then copy, through the zero-register idioms: memory
  ``[x, y, Z, t]``::

    0: SBN Z, y, 1    Z ← −y
    1: SBN x, Z, 2    x ← x + y
    2: SBN Z, Z, 3    Z ← 0
    3: SBN t, t, 4    t ← 0
    4: SBN Z, x, 5    Z ← −x
    5: SBN t, Z, 6    t ← x
    6: SBN Z, Z, 7    Z ← 0, halt

  for every ``x, y, t`` (``Z = 0``): it ends with ``x = t = x + y`` (mod
  ``2^w``), ``Z = 0``.

  Example:
    >>> len(idioms_program(2).all_pairs()[0])
    64
  """
  w = check_int("w", w, 2)
  _check_enumeration("sbn_idioms", w, 3 * w, "inputs (x, y, t)")
  machine = SBNMachine(4, w, ((2, 1, 1), (0, 2, 2), (2, 2, 3), (3, 3, 4),
                              (2, 0, 5), (3, 2, 6), (2, 2, 7)),
                       name="sbn_idioms")
  top = 1 << (w - 1)
  r = range(-top, top)
  inputs = np.array([[x, y, 0, t] for x in r for y in r for t in r])
  return sbn_program(machine, 7, inputs=inputs)
