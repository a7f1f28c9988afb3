"""Template programs: algorithms as pure data (the v2 framework, TEMPLATES.md).

A *state* is a set of named bit fields, flattened in declaration order into
``D`` bits (numbers LSB first). A *template* is a partial assignment — some
bits required to be 1, some required to be 0 — with a *write set*: the bits
it sets in the next state. The reference step is the OR of the write sets of
the templates a state matches. The network never sees the state: its input is
the normalised match indicator ``x = 1_S / √n`` over the ``T`` templates
(``n = |S|``), zero-padded to ``k = T + pad``; it is trained on ``X = I_k``
with the write sets as targets (pad rows: all-zero targets). The permutation
is the one-template-per-bit case.

Everything here is a pure function of a program and states (numpy, no
network), CLRS-style: programs, encoders and ground truths are data and
generators; the learners live elsewhere (:mod:`permjax._src.execution`).

Programs: :func:`permutation_program`, :func:`addition_program`,
:func:`multiplication_program` (TEMPLATES.md §2).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

#: Largest enumeration (operand pairs) a program's ``all_inputs`` allows.
MAX_ENUMERATION = 1 << 22


class Template(NamedTuple):
  """A partial assignment and what it writes.

  Attributes:
    name: a label, e.g. ``"A1(3)"``.
    ones: ``((field, bit), ...)`` required to be 1.
    zeros: ``((field, bit), ...)`` required to be 0.
    writes: ``((field, bit), ...)`` set to 1 in the next state.
  """
  name: str
  ones: tuple
  zeros: tuple
  writes: tuple


def _bits(values, width: int) -> np.ndarray:
  """``(B, width)`` LSB-first bits of integers ``values`` ``(B,)``."""
  return (np.asarray(values, np.int64)[:, None] >> np.arange(width)) & 1


def _number(bits) -> np.ndarray:
  """Integers ``(B,)`` of LSB-first bits ``(B, width)``."""
  bits = np.asarray(bits, np.int64)
  return (bits << np.arange(bits.shape[-1])).sum(-1)


@dataclasses.dataclass(frozen=True, eq=False)
class Program:
  """A template program: fields, templates, padding and a step budget.

  Attributes:
    name: e.g. ``"addition(m=4)"``.
    fields: ``((name, width), ...)`` in state order.
    templates: the :class:`Template` list.
    steps: the step budget (iterations the executor runs).
    pad: extra all-zero training rows (``k = T + pad``).
    operand_bits: bits per operand (for the ground truth), or 0.
    initial: ``(a, b) -> states`` (``(B,)`` operand arrays to ``(B, D)``
      0/1), the initial-state builder.
    result: ``states -> (B,)`` integers, the result reader.
    truth: ``(a, b) -> (B,)`` integers, the plain-integer ground truth.
    inputs: ``() -> (a, b)``, the program's inputs when they are not every
      pair of ``operand_bits``-bit numbers (e.g. the inputs a loop halts on
      within its step budget); :meth:`all_pairs` returns them.

  Raises:
    ValueError: a template names an unknown field or an out-of-range bit,
      requires a bit to be both 0 and 1, or writes nothing; two fields share
      a name.
  """
  name: str
  fields: tuple
  templates: tuple
  steps: int
  pad: int = 0
  operand_bits: int = 0
  initial: Callable | None = None
  result: Callable | None = None
  truth: Callable | None = None
  inputs: Callable | None = None

  def __post_init__(self):
    names = [f for f, _ in self.fields]
    if len(set(names)) != len(names):
      raise ValueError(f"{self.name}: field names repeat: {names}")
    offsets, at = {}, 0
    for field, width in self.fields:
      if not (isinstance(width, int) and width >= 1):
        raise ValueError(f"{self.name}: field {field!r} has width {width!r}; "
                         f"expected an integer >= 1")
      offsets[field] = at
      at += width
    object.__setattr__(self, "_offsets", offsets)
    object.__setattr__(self, "_widths", dict(self.fields))
    object.__setattr__(self, "D", at)
    if not self.templates:
      raise ValueError(f"{self.name}: a program needs at least one template")
    ones = np.zeros((len(self.templates), at), bool)
    zeros = np.zeros_like(ones)
    writes = np.zeros_like(ones)
    for t, tpl in enumerate(self.templates):
      for part, table in ((tpl.ones, ones), (tpl.zeros, zeros),
                          (tpl.writes, writes)):
        for field, bit in part:
          table[t, self.index(field, bit, where=tpl.name)] = True
      clash = np.flatnonzero(ones[t] & zeros[t])
      if clash.size:
        raise ValueError(f"{self.name}: template {tpl.name} requires bits "
                         f"{clash.tolist()} to be both 0 and 1")
      if not writes[t].any():
        raise ValueError(f"{self.name}: template {tpl.name} writes no bit")
      if not (ones[t].any() or zeros[t].any()):
        raise ValueError(f"{self.name}: template {tpl.name} has no condition")
    if not (isinstance(self.pad, int) and self.pad >= 0):
      raise ValueError(f"{self.name}: pad must be an integer >= 0, got "
                       f"{self.pad!r}")
    object.__setattr__(self, "_ones", ones)
    object.__setattr__(self, "_zeros", zeros)
    object.__setattr__(self, "_writes", writes)
    # float32 copies for BLAS matmuls (exact: small integer counts).
    object.__setattr__(self, "_ones_f", ones.T.astype(np.float32))
    object.__setattr__(self, "_zeros_f", zeros.T.astype(np.float32))
    object.__setattr__(self, "_writes_f", writes.astype(np.float32))
    object.__setattr__(self, "_need", ones.sum(1).astype(np.float32))

  # --- layout ----------------------------------------------------------------

  @property
  def T(self) -> int:  # pylint: disable=invalid-name
    """Number of templates."""
    return len(self.templates)

  @property
  def k(self) -> int:
    """Training-set size = input dimension, ``T + pad``."""
    return self.T + self.pad

  def index(self, field: str, bit: int, where: str = "") -> int:
    """Flat index of ``field[bit]``; raises naming an unknown field or bit."""
    if field not in self._offsets:
      raise ValueError(f"{self.name}: {where + ' names ' if where else ''}"
                       f"unknown field {field!r}; fields are "
                       f"{list(self._offsets)}")
    width = self._widths[field]
    if isinstance(bit, bool) or not isinstance(bit, (int, np.integer)) or not (
        0 <= bit < width):
      raise ValueError(f"{self.name}: {where + ': ' if where else ''}bit "
                       f"{bit!r} of field {field!r} is outside 0..{width - 1}")
    return self._offsets[field] + int(bit)

  def field(self, states, name: str) -> np.ndarray:
    """The bits of field ``name`` of ``states`` (``(..., D)``), LSB first."""
    start = self.index(name, 0)
    return np.asarray(states)[..., start:start + self._widths[name]]

  def value(self, states, name: str) -> np.ndarray:
    """Field ``name`` read as unsigned integers (``(...,)`` int64)."""
    bits = self.field(states, name).astype(np.int64)
    return (bits << np.arange(bits.shape[-1])).sum(-1)

  def column_weights(self) -> np.ndarray:
    """``C_j``: how many templates write bit j, ``(D,)``."""
    return self._writes.sum(0)

  def structural_zeros(self) -> np.ndarray:
    """Output bits no template writes (constant 0 under the OR rule)."""
    return self.column_weights() == 0

  # --- the training set and the encoding --------------------------------------

  def training_set(self) -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y)``: ``X = I_k``, ``Y`` the write sets (pad rows zero), float64."""
    y = np.zeros((self.k, self.D))
    y[:self.T] = self._writes
    return np.eye(self.k), y

  def check_states(self, states) -> np.ndarray:
    """``states`` as a ``(B, D)`` bool array; raises on the wrong shape or
    non-binary values."""
    arr = np.asarray(states)
    if arr.ndim != 2 or arr.shape[1] != self.D:
      raise ValueError(f"{self.name}: states must be (batch, D={self.D}), "
                       f"got shape {arr.shape}")
    if not np.isin(arr, (0, 1)).all():
      raise ValueError(f"{self.name}: states must be 0/1")
    return arr.astype(bool)

  def matches(self, states) -> np.ndarray:
    """``(B, T)`` bool: which templates each state matches."""
    return self._matches(self.check_states(states))

  def _matches(self, states: np.ndarray) -> np.ndarray:
    s = states.astype(np.float32)
    return (s @ self._ones_f == self._need) & (s @ self._zeros_f == 0)

  def writes_of(self, matches) -> np.ndarray:
    """``c1``: per output bit, how many of the matched templates write it,
    ``(B, D)`` (float32 counts)."""
    return np.asarray(matches, np.float32) @ self._writes_f

  def encode(self, states) -> np.ndarray:
    """The network input: match indicators / √n, zero-padded to ``k``,
    ``(B, k)`` float64; a state matching nothing encodes to 0."""
    return self.encode_matches(self.matches(states))

  def step(self, states) -> np.ndarray:
    """The reference step: OR of the write sets of the matched templates."""
    return self.writes_of(self.matches(states)) > 0

  def write_counts(self, states) -> tuple[np.ndarray, np.ndarray]:
    """``(n, c1)``: matched templates per state ``(B,)`` and, per output bit,
    how many matched templates write it ``(B, D)`` (TEMPLATES.md §3.1)."""
    m = self.matches(states)
    return m.sum(1), self.writes_of(m).astype(np.int64)

  def encode_matches(self, matches) -> np.ndarray:
    """:meth:`encode` from precomputed :meth:`matches`."""
    m = np.asarray(matches, bool)
    n = m.sum(1, keepdims=True)
    x = np.zeros((m.shape[0], self.k))
    x[:, :self.T] = m / np.sqrt(np.maximum(n, 1))
    return x

  # --- operands ---------------------------------------------------------------

  def check_operands(self, a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, np.int64).reshape(-1)
    b = np.asarray(b, np.int64).reshape(-1)
    top = 1 << self.operand_bits
    bad = (a < 0) | (a >= top) | (b < 0) | (b >= top)
    if a.shape != b.shape or bad.any():
      where = np.flatnonzero(bad)[:3].tolist()
      raise ValueError(f"{self.name}: operands must be integers in "
                       f"0..{top - 1} (m={self.operand_bits} bits), got "
                       f"{[(int(a[i]), int(b[i])) for i in where] or (a.shape, b.shape)}")
    return a, b

  def initial_states(self, a, b) -> np.ndarray:
    """``(B, D)`` initial states of operand pairs ``(a, b)``."""
    a, b = self.check_operands(a, b)
    return np.asarray(self.initial(a, b), bool)

  def results(self, states) -> np.ndarray:
    """The result each state holds, ``(B,)`` int64."""
    return np.asarray(self.result(self.check_states(states)), np.int64)

  def ground_truth(self, a, b) -> np.ndarray:
    """The plain-integer answers of operand pairs, ``(B,)`` int64."""
    a, b = self.check_operands(a, b)
    return np.asarray(self.truth(a, b), np.int64)

  def all_pairs(self, max_pairs: int = MAX_ENUMERATION
                ) -> tuple[np.ndarray, np.ndarray]:
    """Every operand pair ``(a, b)``, ``a`` major (or the program's own
    ``inputs``); refuses above ``max_pairs``."""
    if self.inputs is not None:
      a, b = self.inputs()
      return self.check_operands(a, b)
    count = 1 << (2 * self.operand_bits)
    if count > max_pairs:
      raise ValueError(f"{self.name}: {count:,} operand pairs exceed the "
                       f"enumeration limit {max_pairs:,}; pass a larger "
                       f"max_pairs or sample pairs instead")
    side = np.arange(1 << self.operand_bits, dtype=np.int64)
    a, b = np.meshgrid(side, side, indexing="ij")
    return a.reshape(-1), b.reshape(-1)


def _check_m(m) -> int:
  if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
    raise ValueError(f"m (bits per operand) must be an integer >= 1, got "
                     f"{m!r}")
  return int(m)


def permutation_program(perm) -> Program:
  """The permutation as a template program: ``p_i = 1 → p_{perm[i]}``.

  Its training set is exactly ``permjax.training_set(perm)``.

  Example:
    >>> prog = permutation_program([1, 2, 0])
    >>> prog.T, prog.D, prog.step([[1, 1, 0]]).astype(int).tolist()
    (3, 3, [[0, 1, 1]])
  """
  from permjax._src import task  # pylint: disable=import-outside-toplevel
  perm = task.validate_permutation(perm)
  k = len(perm)
  templates = tuple(Template(f"P({i})", (("p", i),), (), (("p", int(j)),))
                    for i, j in enumerate(perm))

  def initial(a, b):
    del b
    return _bits(a, k)

  def truth(a, b):
    del b
    bits = _bits(a, k)
    out = np.zeros_like(bits)
    out[:, perm] = bits
    return _number(out)
  return Program(f"permutation(k={k})", (("p", k),), templates, 1,
                 operand_bits=k, initial=initial, result=_number,
                 truth=truth)


def addition_program(m: int) -> Program:
  """Binary addition of two m-bit numbers (TEMPLATES.md §2.2).

  Fields ``sum_p`` (a, then the low m bits of a + b), ``sum_q`` (b, then the
  shifted carries), ``sum_c`` (carries; ``sum_c[m-1]`` sticky, bit m of the
  sum). Templates per bit i: A1 (p=0, q=1 → p), A2 (p=1, q=0 → p), A3
  (p=1, q=1 → c), A4 (c=1 → q_{i+1}, or c_{m-1} for the top bit): ``T = 4m``,
  ``D = 3m``, ``2m`` steps.

  Example:
    >>> prog = addition_program(4)
    >>> prog.T, prog.D, prog.steps, int(prog.structural_zeros().sum())
    (16, 12, 8, 1)
  """
  m = _check_m(m)
  templates = []
  for i in range(m):
    templates += [
        Template(f"A1({i})", (("sum_q", i),), (("sum_p", i),),
                 (("sum_p", i),)),
        Template(f"A2({i})", (("sum_p", i),), (("sum_q", i),),
                 (("sum_p", i),)),
        Template(f"A3({i})", (("sum_p", i), ("sum_q", i)), (),
                 (("sum_c", i),)),
        Template(f"A4({i})", (("sum_c", i),), (),
                 ((("sum_q", i + 1),) if i < m - 1 else (("sum_c", m - 1),))),
    ]
  fields = (("sum_p", m), ("sum_q", m), ("sum_c", m))

  def initial(a, b):
    return np.concatenate([_bits(a, m), _bits(b, m),
                           np.zeros((len(a), m), np.int64)], axis=1)

  def result(states):
    states = np.asarray(states, np.int64)
    return _number(states[:, :m]) + (states[:, 3 * m - 1] << m)
  return Program(f"addition(m={m})", fields, tuple(templates), 2 * m,
                 operand_bits=m, initial=initial, result=result,
                 truth=lambda a, b: a + b)


def multiplication_program(m: int, pad: int | None = None) -> Program:
  """Shift-and-add multiplication of two m-bit numbers (TEMPLATES.md §2.3).

  ``T = 20m + 2`` templates over ``D = 18m + 1`` bits, padded by ``m``
  all-zero training rows (``k = 21m + 2``), ``4m² + 3m`` steps; the product
  is ``sum_p`` (2m bits).

  Example:
    >>> prog = multiplication_program(2)
    >>> prog.T, prog.k, prog.D, prog.steps, int(prog.column_weights().max())
    (42, 44, 37, 22, 3)
  """
  m = _check_m(m)
  pad = m if pad is None else pad
  mm = 2 * m
  T = []  # pylint: disable=invalid-name
  for i in range(m):  # M1 keep multiplier bit i
    zeros = (("shr", i),) + ((("chk", 0),) if i == 0 else ())
    T.append(Template(f"M1({i})", (("mr", i),), zeros, (("mr", i),)))
  for i in range(mm):  # M2 keep multiplicand bit i
    T.append(Template(f"M2({i})", (("md", i),), (("shl", i),), (("md", i),)))
  T.append(Template("M3", (("chk", 0), ("mr", 0)), (),
                    (("mr", 0),) + tuple(("cp", i) for i in range(mm))))
  T.append(Template("M4", (("chk", 0),), (("mr", 0),),
                    tuple(("shr", i) for i in range(m))
                    + tuple(("shl", i) for i in range(mm))))
  T.append(Template("M5", (("cp", 0),), (("md", 0),), (("ctr", 0),)))
  for i in range(mm):  # M6 copy bit i into the adder's q
    writes = (("md", i), ("q", i)) + ((("ctr", 0),) if i == 0 else ())
    T.append(Template(f"M6({i})", (("md", i), ("cp", i)), (), writes))
  for i in range(mm):  # M7 the adder (A1, A2, A3 on 2m bits)
    T += [Template(f"M7.A1({i})", (("q", i),), (("p", i),), (("p", i),)),
          Template(f"M7.A2({i})", (("p", i),), (("q", i),), (("p", i),)),
          Template(f"M7.A3({i})", (("p", i), ("q", i)), (), (("c", i),))]
  for i in range(mm - 1):  # M8 carry move (no sticky top carry)
    T.append(Template(f"M8({i})", (("c", i),), (), (("q", i + 1),)))
  for i in range(4 * m - 1):  # M9 timer tick
    T.append(Template(f"M9({i})", (("ctr", i),), (), (("ctr", i + 1),)))
  T.append(Template("M10", (("ctr", 4 * m - 1),), (),
                    tuple(("shr", i) for i in range(m))
                    + tuple(("shl", i) for i in range(mm))))
  for v in (0, 1):  # M11 re-arm the check
    cond_ones = (("shr", 0),) + ((("mr", 0),) if v else ())
    cond_zeros = (("chk", 0),) + ((("mr", 0),) if not v else ())
    T.append(Template(f"M11({v})", cond_ones, cond_zeros, (("chk", 0),)))
  for i in range(1, m):  # M12 shift the multiplier right
    T.append(Template(f"M12({i})", (("mr", i), ("shr", i)), (),
                      (("mr", i - 1),)))
  for i in range(mm - 1):  # M13 shift the multiplicand left
    T.append(Template(f"M13({i})", (("md", i), ("shl", i)), (),
                      (("md", i + 1),)))
  fields = (("mr", m), ("shr", m), ("md", mm), ("shl", mm), ("cp", mm),
            ("p", mm), ("q", mm), ("c", mm), ("ctr", 4 * m), ("chk", 1))
  width = sum(w for _, w in fields)

  def initial(a, b):
    states = np.zeros((len(a), width), np.int64)
    states[:, 0:m] = _bits(a, m)  # multiplier = a
    start = 2 * m
    states[:, start:start + mm] = _bits(b, mm)  # multiplicand b, zero-extended
    states[:, -1] = 1  # to_check_lsb
    return states

  p_start = m + m + mm + mm + mm

  def result(states):
    return _number(np.asarray(states)[:, p_start:p_start + mm])
  return Program(f"multiplication(m={m})", fields, tuple(T), 4 * m * m + 3 * m,
                 pad=pad, operand_bits=m, initial=initial, result=result,
                 truth=lambda a, b: a * b)


def run_or_rule(program: Program, states, steps: int | None = None
                ) -> np.ndarray:
  """The reference trajectory: ``(steps + 1, B, D)`` states under the OR rule.

  Example:
    >>> prog = addition_program(3)
    >>> traj = run_or_rule(prog, prog.initial_states([5], [6]))
    >>> prog.results(traj[-1]).tolist()
    [11]
  """
  steps = program.steps if steps is None else steps
  out = [program.check_states(states)]
  for _ in range(steps):
    out.append(program.step(out[-1]))
  return np.stack(out)


def correlation_margin(k: int, n, c_max: int) -> np.ndarray:
  """``γ_n + C_max β_n`` of TEMPLATES.md §3.3 (NTK, no bias): the exact mean
  of the worst 1-bit (one matched template writes it, ``C_max`` templates
  write its column) of a state matching ``n`` templates; the OR rule reads
  right at threshold ≈ 0 iff it is > 0.

  Example:
    >>> round(float(correlation_margin(86, 16, 3)), 4)   # mul m = 4, padded
    0.1118
  """
  from permjax._src import gp  # pylint: disable=import-outside-toplevel
  s = gp.symmetric_gp(k, n)
  return s.alpha - s.beta + c_max * s.beta


def check_correlation(program: Program, n_max: int) -> float:
  """Raises unless every state matching up to ``n_max`` templates keeps its
  worst 1-bit positive (TEMPLATES.md §3.3); returns the smallest margin.

  Example:
    >>> round(check_correlation(addition_program(4), 8), 4) > 0
    True
  """
  c_max = int(program.column_weights().max())
  ns = np.arange(2, n_max + 1)
  if ns.size == 0:
    return math.inf
  if n_max > program.k:
    raise ValueError(f"{program.name}: n_max={n_max} exceeds the k="
                     f"{program.k} templates")
  margins = correlation_margin(program.k, ns, c_max)
  bad = np.flatnonzero(margins <= 0)
  if bad.size:
    n = int(ns[bad[0]])
    raise ValueError(f"{program.name} violates the correlation condition: a "
                     f"state matching n={n} templates reads a 1-bit written "
                     f"by one of C_max={c_max} templates as {margins[bad[0]]:.3g}"
                     f" <= 0 (k={program.k}); keep C_max·n below about k")
  return float(margins.min())
