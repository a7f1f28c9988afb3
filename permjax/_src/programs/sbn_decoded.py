"""SBN machines whose training set grows linearly: addresses decoded once.

The instruction-keyed construction (:func:`permjax.sbn_program`) fetches
``M[a_l]`` with templates keyed by the instruction ``l``, so every
instruction writes the same ``p``/``q`` bits: a column is written by up to
``L + 2`` templates (``C_max``), and the padding that keeps the correlation
margin grows as ``C_max · n_bound`` — as ``L · W · w``.

Here every column has at most 4 writers, whatever the machine's size:

* the instruction is *decoded* once: ``pc = l`` sets one-hot address
  registers ``A[a_l]`` and ``B[b_l]``;
* the operands are *fetched by address*: word ``j``'s bits go to ``p``/``q``
  when ``A[j]``/``B[j]`` is set;
* the next ``pc`` is *routed*: instruction ``l`` sends its branch outcome to
  ``pc[c_l]`` or ``pc[l + 1]``.

Each of these is an OR of many sources into one column (``A[j]`` of every
instruction whose ``a`` is ``j``; ``p[i]`` of every word; ``pc[t]`` of
every instruction that jumps to ``t``). An OR of ``m`` sources is built as a
binary tree of fresh columns, two writers each, ``⌈log₂ m⌉ − 1`` levels
deep, so it costs steps, not column weight; every tree of a stage gets the
stage's depth (shorter ones are chains), so all its targets arrive on the
same step. The instruction cycle, with ``ℓ_D``, ``ℓ_F``, ``ℓ_P`` the decode,
fetch and routing depths (a one-hot ``timer`` of ``S`` slots drives it)::

  state   0        1+ℓ_D          s_A = 2+ℓ_D+ℓ_F   s_W = s_A+2w   S
          decode → A, B set;    → p = ~M[a],       add (2w)      route →
          leaves   fetch leaves   q = M[b]         → write-back  pc, timer 0
                                                   M[a] = ~p, branch on p[w-1]

so ``S = ℓ_D + ℓ_F + ℓ_P + 2w + 3`` steps per instruction. The adder and
the write-back are those of the instruction-keyed construction
(``X − Y = ~(~X + Y)``). Halting (``pc = L``) stops the timer: the state is
then a fixed point.

Column weights: memory 2 (keep, write-back), ``A`` 3 (tree, keep), ``B`` 2,
``p`` 4 (tree, two adder templates), ``q`` 3, ``c`` 1, ``pc`` 3 (tree,
keep), ``add`` 2, tree nodes ≤ 2: ``C_max = 4``. A state matches at most
``W·w + 2w + 5`` templates (:func:`n_bound`; checked against enumeration in
the tests). So ``T`` grows as ``O(W·w + L)`` and the padding as
``O(W·w)``; docs/theory/sbn.md has the table, old design beside new.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from permjax._src import templates as tpl
from permjax._src.programs import sbn

#: Most writers of any column of this construction.
C_MAX = 4

#: Largest padding :func:`auto_pad` chooses by itself.
MAX_AUTO_PAD = 1 << 17

#: :func:`auto_pad`'s target: the worst 1-bit's exact mean at ``n_bound``
#: reaches ``min(MIN_MARGIN, MARGIN_FRACTION × its infinite-padding limit)``.
MIN_MARGIN = 0.05
MARGIN_FRACTION = 0.5


def levels(fan_in: int) -> int:
  """Tree levels for an OR of ``fan_in`` sources with ≤ 2 writers per
  column: leaves write level-0 nodes in pairs, each level halves, the last
  level's (≤ 2) nodes write the target.

  Example:
    >>> [levels(m) for m in (1, 2, 3, 4, 5, 8, 9, 32)]
    [0, 0, 1, 1, 2, 2, 3, 4]
  """
  return max(0, math.ceil(math.log2(max(fan_in, 1))) - 1)


@dataclasses.dataclass(frozen=True)
class Layout:
  """The cycle of a machine: tree depths and the states of each stage."""
  decode: int
  fetch: int
  route: int
  width: int

  @property
  def fetch_state(self) -> int:
    return 1 + self.decode

  @property
  def add_state(self) -> int:
    return self.fetch_state + 1 + self.fetch

  @property
  def write_state(self) -> int:
    return self.add_state + 2 * self.width

  @property
  def steps(self) -> int:
    """``S``, template steps per instruction."""
    return self.write_state + 1 + self.route


def layout(machine: sbn.SBNMachine) -> Layout:
  """The tree depths of ``machine`` (see the module docstring)."""
  count = lambda xs: max(np.bincount(xs).max(), 1)  # pylint: disable=unnecessary-lambda-assignment
  a = [ins[0] for ins in machine.code]
  b = [ins[1] for ins in machine.code]
  targets = [ins[2] for ins in machine.code] + list(
      range(1, machine.halt + 1))
  return Layout(levels(max(count(a), count(b))), levels(machine.words),
                levels(count(targets)), machine.width)


class _Trees:
  """OR trees of one stage into target columns, in a field of fresh nodes."""

  def __init__(self, field: str, depth: int):
    self.field, self.depth, self.nodes, self.templates = field, depth, 0, []

  def add(self, target, leaves) -> None:
    """``leaves``: ``[(name, ones, zeros), ...]``, each firing once into an
    OR that sets ``target`` (``(field, bit)``) ``depth + 1`` steps later."""
    if self.depth == 0:
      if len(leaves) > 2:
        raise AssertionError("depth 0 takes at most two sources")
      self.templates += [tpl.Template(n, o, z, (target,))
                         for n, o, z in leaves]
      return
    current = []
    for s, (name, ones, zeros) in enumerate(leaves):
      if s % 2 == 0:
        current.append(self._node())
      self.templates.append(tpl.Template(name, ones, zeros, (current[-1],)))
    for level in range(1, self.depth + 1):
      last = level == self.depth
      if last and len(current) > 2:
        raise AssertionError("tree too shallow for its sources")
      parents = []
      for s, node in enumerate(current):
        if last:
          dest = target
        else:
          if s % 2 == 0:
            parents.append(self._node())
          dest = parents[-1]
        self.templates.append(tpl.Template(
            f"{self.field}:{node[1]}", (node,), (), (dest,)))
      current = parents

  def _node(self):
    self.nodes += 1
    return (self.field, self.nodes - 1)


def templates_and_fields(machine: sbn.SBNMachine) -> tuple[tuple, tuple]:
  """Every template and field of the machine's decoded construction."""
  W, w, L = machine.words, machine.width, machine.halt  # pylint: disable=invalid-name
  lay = layout(machine)
  S = lay.steps  # pylint: disable=invalid-name
  m = lambda j: f"m{j}"  # pylint: disable=unnecessary-lambda-assignment
  T = tpl.Template  # pylint: disable=invalid-name
  out = []
  for j in range(W):
    for i in range(w):
      out.append(T(f"K({j},{i})", ((m(j), i),), (("we", j),), ((m(j), i),)))
      out.append(T(f"WB({j},{i})", (("we", j),), (("p", i),), ((m(j), i),)))
  # Decode: pc[l] at timer 0 -> A[a_l], B[b_l].
  dec = _Trees("dec", lay.decode)
  for reg, pick in (("A", 0), ("B", 1)):
    for j in range(W):
      src = [(f"D{reg}({l})", (("pc", l), ("timer", 0)), ())
             for l, ins in enumerate(machine.code) if ins[pick] == j]
      if src:
        dec.add((reg, j), src)
  # Fetch: A[j] -> p = ~M[a], B[j] -> q = M[b] (B lives one step only).
  fet = _Trees("fet", lay.fetch)
  for i in range(w):
    fet.add(("p", i), [(f"FA({j},{i})", (("A", j), ("timer", lay.fetch_state)),
                        ((m(j), i),)) for j in range(W)])
    fet.add(("q", i), [(f"FB({j},{i})", (("B", j), (m(j), i)), ())
                       for j in range(W)])
  for j in range(W):
    out.append(T(f"AK({j})", (("A", j),), (("timer", lay.write_state - 1),),
                 (("A", j),)))
    out.append(T(f"EN({j})", (("A", j), ("timer", lay.write_state - 1)), (),
                 (("we", j),)))
  # Add: 2w states from add_state (the instruction-keyed adder).
  out.append(T("S", (("timer", lay.add_state - 1),), (), (("add", 0),)))
  out.append(T("ADK", (("add", 0),), (("timer", lay.write_state - 1),),
               (("add", 0),)))
  for i in range(w):
    out += [T(f"A1({i})", (("add", 0), ("q", i)), (("p", i),), (("p", i),)),
            T(f"A2({i})", (("add", 0), ("p", i)), (("q", i),), (("p", i),)),
            T(f"A3({i})", (("add", 0), ("p", i), ("q", i)), (), (("c", i),))]
    if i < w - 1:
      out.append(T(f"A4({i})", (("c", i),), (), (("q", i + 1),)))
  # Route: at write-back, pc[l] sends the branch outcome to its target.
  route = _Trees("rt", lay.route)
  sources = {t: [] for t in range(L + 1)}
  for l, (_, _, c) in enumerate(machine.code):
    sources[c].append((f"BN({l})", (("pc", l), ("timer", lay.write_state)),
                       (("p", w - 1),)))
    sources[l + 1].append((f"BP({l})", (("pc", l), ("timer", lay.write_state),
                                        ("p", w - 1)), ()))
  for t, src in sources.items():
    if src:
      route.add(("pc", t), src)
  for l in range(L):
    out.append(T(f"PK({l})", (("pc", l),), (("timer", lay.write_state),),
                 (("pc", l),)))
  out.append(T(f"PK({L})", (("pc", L),), (), (("pc", L),)))
  for e in range(S):
    out.append(T(f"TT({e})", (("timer", e),), (("pc", L),),
                 (("timer", (e + 1) % S),)))
  out += dec.templates + fet.templates + route.templates
  fields = (tuple((m(j), w) for j in range(W))
            + (("pc", L + 1), ("timer", S), ("A", W), ("B", W), ("we", W),
               ("add", 1), ("p", w), ("q", w), ("c", w))
            + tuple((t.field, t.nodes) for t in (dec, fet, route)
                    if t.nodes))
  return tuple(out), fields


def n_bound(machine: sbn.SBNMachine) -> int:
  """Most templates a state of the machine matches: one memory template
  per memory bit, plus at most ``2w + 5`` of the cycle's (see the module
  docstring)."""
  return machine.words * machine.width + 2 * machine.width + 5


def auto_pad(name: str, T: int, n: int, c_max: int) -> int:  # pylint: disable=invalid-name
  """The smallest padding for which the worst 1-bit's exact mean at ``n``
  matched templates reaches ``min(MIN_MARGIN, MARGIN_FRACTION × limit)``,
  where ``limit`` is its value under infinite padding (which shrinks with
  ``n``: about 0.06 at n = 100, 0.035 at 300).

  Raises:
    ValueError: it would take more than :data:`MAX_AUTO_PAD` rows.

  Example:
    >>> auto_pad("demo", 100, 40, 4)
    133
    >>> auto_pad("20 000 memory bits", 1000, 20_000, 4)
    Traceback (most recent call last):
    ...
    ValueError: 20 000 memory bits: keeping the worst 1-bit's exact mean at 0.0021 (0.5 of its limit 0.0042 for states matching n=20000 templates, columns of up to 4 writers) needs more than 131,072 padding rows; pass pad= explicitly
  """
  limit = float(tpl.correlation_margin(1e15, n, c_max))
  target = min(MIN_MARGIN, MARGIN_FRACTION * limit)
  margin = lambda pad: float(tpl.correlation_margin(T + pad, n, c_max))  # pylint: disable=unnecessary-lambda-assignment
  if margin(MAX_AUTO_PAD) < target:
    raise ValueError(
        f"{name}: keeping the worst 1-bit's exact mean at {target:.4f} "
        f"({MARGIN_FRACTION:g} of its limit {limit:.4f} for states matching "
        f"n={n} templates, columns of up to {c_max} writers) needs more "
        f"than {MAX_AUTO_PAD:,} padding rows; pass pad= explicitly")
  low, high = 0, MAX_AUTO_PAD
  while low < high:
    mid = (low + high) // 2
    if margin(mid) >= target:
      high = mid
    else:
      low = mid + 1
  return low


def decoded_program(machine: sbn.SBNMachine, max_instructions: int, *,
                    inputs=None, pad: int | str = "auto") -> tpl.Program:
  """The machine as a :class:`permjax.Program` (decoded construction).

  Args:
    machine: the :class:`permjax.SBNMachine`.
    max_instructions: the budget; the step budget is ``max_instructions ·
      S`` and every input must halt within it (the ground truth raises
      otherwise).
    inputs: ``(B, W)`` signed initial memories the program is run on
      (:meth:`Program.all_pairs`); default every memory image.
    pad: all-zero training rows, or ``"auto"`` (:func:`auto_pad`).

  Returns:
    a :class:`Program` with operands the two halves of the memory image
    (Python ints beyond 62 bits: any memory size) and results the final
    memory image.

  Example:
    >>> add = sbn.SBNMachine(3, 4, ((2, 1, 1), (0, 2, 2)))  # Z -= y; x -= Z
    >>> prog = decoded_program(add, 2)
    >>> prog.steps, int(prog.column_weights().max())   # S = 12 per instruction
    (24, 4)
    >>> a, b = sbn.to_operands(add, [[3, 2, 0]])
    >>> mem = sbn.from_operands(add, prog.results(tpl.run_or_rule(
    ...     prog, prog.initial_states(a, b))[-1]), 0)
    >>> mem.tolist()
    [[5, 2, -2]]
  """
  sbn.check_machine(machine)
  sbn.check_int("max_instructions", max_instructions, 1)
  W, w = machine.words, machine.width  # pylint: disable=invalid-name
  lay = layout(machine)
  temps, fields = templates_and_fields(machine)
  tpl.check_program_size(f"{machine.name} (W={W}, w={w}, L={machine.halt})",
                         len(temps), sum(f for _, f in fields))
  starts = np.cumsum([0] + [size for _, size in fields])
  names = [name for name, _ in fields]
  initial, result, truth, given = sbn.memory_interface(
      machine, max_instructions, inputs, int(starts[-1]),
      (starts[names.index("pc")], starts[names.index("timer")]))
  draft = tpl.Program(
      f"{machine.name}(W={W},w={w},L={machine.halt},decoded)", fields, temps,
      max_instructions * lay.steps, operand_bits=sbn.half_bits(machine),
      initial=initial,
      result=result, truth=truth, inputs=given,
      n_bound=min(n_bound(machine), len(temps)))
  if pad == "auto":
    pad = auto_pad(draft.name, draft.T, draft.n_bound,
                   int(draft.column_weights().max()))
  return dataclasses.replace(draft, pad=pad)
