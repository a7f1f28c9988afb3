"""Template programs: algorithms as pure data (the v2 framework,
docs/theory/templates.md §1).

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

The program families (permutation, addition, multiplication, SBN, ...) live
in :mod:`permjax._src.programs`, one file each, behind one registry.
"""

from __future__ import annotations

import dataclasses
import hashlib
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
    writes: ``((field, bit), ...)`` set to 1 in the next state; empty for
      a template whose training target is the zero row (it still counts in
      the matched number ``n`` of a state).
  """
  name: str
  ones: tuple
  zeros: tuple
  writes: tuple


def check_bits(bits, name: str = "m (bits per operand)", low: int = 1) -> int:
  """``bits`` as an int, or one ValueError naming it and the range."""
  if (isinstance(bits, bool) or not isinstance(bits, (int, np.integer))
      or bits < low):
    raise ValueError(f"{name} must be an integer >= {low}, got {bits!r}")
  return int(bits)


def _integer(name, value, low):
  from permjax._src import validation  # pylint: disable=import-outside-toplevel
  return validation.integer(name, value, low)


def check_program_size(what: str, templates: int, bits: int) -> None:
  """Refuses a program whose template tables (``T × D`` booleans, three of
  them) would not fit, before any template is built."""
  from permjax._src import validation  # pylint: disable=import-outside-toplevel
  validation.size(f"{what} ({templates:,} templates over {bits:,} state "
                  f"bits)", 3.0 * templates * bits, validation.MAX_ELEMENTS,
                  "use a smaller size")


def _integers(values) -> np.ndarray:
  """``values`` as int64, or as they are if already an object array of
  Python ints (numbers wider than int64)."""
  arr = np.asarray(values)
  if arr.dtype.kind == "O":
    return arr
  return arr.astype(np.int64)


#: Widest numbers held in int64 arrays; wider ones are Python ints in object
#: arrays (any width).
INT64_BITS = 62


def bits_of(values, width: int) -> np.ndarray:
  """``(B, width)`` LSB-first bits (int64) of integers ``values`` ``(B,)``;
  Python ints of any size when ``width > 62``.

  Example:
    >>> int(bits_of([2**64 - 1], 65).sum())
    64
  """
  if width <= INT64_BITS:
    return (np.asarray(values, np.int64)[:, None] >> np.arange(width)) & 1
  size = (width + 7) // 8
  raw = b"".join(int(v).to_bytes(size, "little") for v in values)
  bits = np.unpackbits(np.frombuffer(raw, np.uint8).reshape(-1, size),
                       axis=1, bitorder="little")
  return bits[:, :width].astype(np.int64)


def number_of(bits) -> np.ndarray:
  """Integers ``(B,)`` of LSB-first bits ``(B, width)``: int64 up to 62
  bits, Python ints (object array) beyond.

  Example:
    >>> int(number_of(bits_of([2**70 + 5], 71))[0]) == 2**70 + 5
    True
  """
  bits = np.asarray(bits, np.int64)
  if bits.shape[-1] <= INT64_BITS:
    return (bits << np.arange(bits.shape[-1])).sum(-1)
  packed = np.packbits(bits.astype(np.uint8), axis=-1, bitorder="little")
  return np.array([int.from_bytes(row.tobytes(), "little")
                   for row in packed.reshape(-1, packed.shape[-1])],
                  dtype=object).reshape(bits.shape[:-1])


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
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
    n_bound: the most templates a state reachable from an initial state
      matches within the step budget, as proved for the family
      (docs/theory/certificates.md), or None where no bound is known; the
      certificates (:func:`permjax.certify`) run over ``n ≤ n_bound``.

  Raises:
    ValueError: a template names an unknown field or an out-of-range bit,
      requires a bit to be both 0 and 1, or has no condition; two fields
      share a name.
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
  n_bound: int | None = None

  def __post_init__(self):
    if not isinstance(self.name, str):
      raise TypeError(f"program name must be a string, got {self.name!r}")
    if not isinstance(self.fields, (tuple, list)) or not all(
        isinstance(f, (tuple, list)) and len(f) == 2 and isinstance(f[0], str)
        for f in self.fields):
      raise TypeError(f"{self.name}: fields must be ((name, width), ...), got "
                      f"{self.fields!r}")
    if not isinstance(self.templates, (tuple, list)) or not all(
        isinstance(t, Template) for t in self.templates):
      bad = next((t for t in self.templates if not isinstance(t, Template)),
                 self.templates) if isinstance(
                     self.templates, (tuple, list)) else self.templates
      raise TypeError(f"{self.name}: templates must be permjax.Template "
                      f"values, got {bad!r}")
    for part in ("initial", "result", "truth", "inputs"):
      fn = getattr(self, part)
      if fn is not None and not callable(fn):
        raise TypeError(f"{self.name}: {part} must be a function or None, "
                        f"got {fn!r}")
    if (isinstance(self.operand_bits, bool)
        or not isinstance(self.operand_bits, (int, np.integer))
        or self.operand_bits < 0):
      raise ValueError(f"{self.name}: operand_bits must be an integer >= 0, "
                       f"got {self.operand_bits!r}")
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
      for label, part in (("ones", tpl.ones), ("zeros", tpl.zeros),
                          ("writes", tpl.writes)):
        if not isinstance(part, (tuple, list)) or not all(
            isinstance(e, (tuple, list)) and len(e) == 2 for e in part):
          raise TypeError(f"{self.name}: template {tpl.name!r}: {label} must "
                          f"be ((field, bit), ...), got {part!r}")
      for part, table in ((tpl.ones, ones), (tpl.zeros, zeros),
                          (tpl.writes, writes)):
        for field, bit in part:
          table[t, self.index(field, bit, where=tpl.name)] = True
      clash = np.flatnonzero(ones[t] & zeros[t])
      if clash.size:
        raise ValueError(f"{self.name}: template {tpl.name} requires bits "
                         f"{clash.tolist()} to be both 0 and 1")
      if not (ones[t].any() or zeros[t].any()):
        raise ValueError(f"{self.name}: template {tpl.name} has no condition")
    if not (isinstance(self.pad, int) and self.pad >= 0):
      raise ValueError(f"{self.name}: pad must be an integer >= 0, got "
                       f"{self.pad!r}")
    object.__setattr__(self, "_ones", ones)
    object.__setattr__(self, "_zeros", zeros)
    object.__setattr__(self, "_writes", writes)
    # Sparse plans: templates grouped by their numbers of required ones and
    # zeros (one gather per group), and the written bits as CSR rows.
    groups = {}
    for t in range(len(self.templates)):
      o, z = np.flatnonzero(ones[t]), np.flatnonzero(zeros[t])
      groups.setdefault((len(o), len(z)), []).append((t, o, z))
    plan = []
    for (no, nz), rows in groups.items():
      plan.append((np.array([r[0] for r in rows], np.int64),
                   np.array([r[1] for r in rows], np.int64).reshape(
                       len(rows), no),
                   np.array([r[2] for r in rows], np.int64).reshape(
                       len(rows), nz)))
    object.__setattr__(self, "_match_plan", tuple(plan))
    # The writers of each bit by rank: rank r lists (bits with more than r
    # writers, their r-th writer); C_max ranks in all.
    writers = [np.flatnonzero(col) for col in writes.T]
    ranks = []
    for r in range(max((len(w) for w in writers), default=0)):
      bits = np.array([j for j, w in enumerate(writers) if len(w) > r],
                      np.int64)
      ranks.append((bits, np.array([writers[j][r] for j in bits], np.int64)))
    object.__setattr__(self, "_writer_ranks", tuple(ranks))
    if self.n_bound is not None and (
        isinstance(self.n_bound, bool)
        or not isinstance(self.n_bound, (int, np.integer))
        or not 1 <= self.n_bound <= len(self.templates)):
      raise ValueError(f"{self.name}: n_bound must be None or an integer in "
                       f"1..T={len(self.templates)}, got {self.n_bound!r}")
    if (isinstance(self.steps, bool) or not isinstance(
        self.steps, (int, np.integer)) or self.steps < 1):
      raise ValueError(f"{self.name}: steps (the step budget) must be an "
                       f"integer >= 1, got {self.steps!r}")
    digest = hashlib.sha256()
    for part in (repr((self.name, self.fields, int(self.steps), self.pad,
                       self.operand_bits)).encode(),
                 np.packbits(ones).tobytes(), np.packbits(zeros).tobytes(),
                 np.packbits(writes).tobytes()):
      digest.update(part)
    object.__setattr__(self, "_fingerprint", digest.hexdigest())

  # --- layout ----------------------------------------------------------------

  def __repr__(self) -> str:
    return (f"Program({self.name!r}, T={self.T}, k={self.k}, D={self.D}, "
            f"steps={self.steps})")

  @property
  def fingerprint(self) -> str:
    """A hash of the program's content (name, fields, templates, step
    budget, padding, operand width): two programs that share a name but not
    their templates (e.g. SBN machines with different code) differ here.

    Example:
      >>> from permjax._src.programs import addition
      >>> a, b = addition.addition_program(2), addition.addition_program(2)
      >>> a.fingerprint == b.fingerprint, len(a.fingerprint)
      (True, 64)
    """
    return self._fingerprint

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
    states = np.asarray(states)
    if states.ndim < 1 or states.shape[-1] != self.D:
      raise ValueError(f"{self.name}: states must be (..., D={self.D}), got "
                       f"shape {states.shape}")
    return states[..., start:start + self._widths[name]]

  def value(self, states, name: str) -> np.ndarray:
    """Field ``name`` read as unsigned integers (``(...,)`` int64)."""
    bits = self.field(states, name).astype(np.int64)
    return (bits << np.arange(bits.shape[-1])).sum(-1)

  def column_weights(self) -> np.ndarray:
    """``C_j``: how many templates write bit j, ``(D,)``."""
    return self._writes.sum(0)

  def requirements(self) -> tuple[np.ndarray, np.ndarray]:
    """``(ones, zeros)``: ``(T, D)`` bool, the bits each template requires
    to be 1 and to be 0 (copies)."""
    return self._ones.copy(), self._zeros.copy()

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
    return self.matches_unchecked(self.check_states(states))

  def matches_unchecked(self, states: np.ndarray) -> np.ndarray:
    """:meth:`matches` of a ``(B, D)`` bool array, without the checks (the
    executor's inner loop): the states are transposed once, so each group of
    templates with the same numbers of conditions is one gather of whole
    rows of the bits they test (cost: B × the conditions of all templates,
    never B × T × D). Returns a ``(B, T)`` view of a ``(T, B)`` array."""
    s = np.ascontiguousarray(np.asarray(states, bool).T)     # (D, B)
    out = np.empty((self.T, s.shape[1]), bool)
    for t, o, z in self._match_plan:
      if o.shape[1]:
        hit = s[o[:, 0]].copy()
        for i in range(1, o.shape[1]):
          hit &= s[o[:, i]]
      else:
        hit = np.ones((len(t), s.shape[1]), bool)
      for i in range(z.shape[1]):
        hit &= ~s[z[:, i]]
      out[t] = hit
    return out.T

  def matches_values(self, states) -> np.ndarray:
    """``(B, T)`` bool: the templates real-valued ``states`` ``(B, D)``
    match when every required one must equal 1 exactly and every required
    zero 0 exactly (a state fed back without a readout matches nothing at a
    bit that is neither)."""
    arr = np.asarray(states, np.float64)
    if arr.ndim != 2 or arr.shape[1] != self.D:
      raise ValueError(f"{self.name}: states must be (batch, D={self.D}), "
                       f"got shape {arr.shape}")
    one = (arr == 1.0).astype(np.int32) @ self._ones.T.astype(np.int32)
    zero = (arr == 0.0).astype(np.int32) @ self._zeros.T.astype(np.int32)
    return (one == self._ones.sum(1)) & (zero == self._zeros.sum(1))

  def check_matches(self, matches) -> np.ndarray:
    """``matches`` as a ``(B, T)`` bool array; raises on the wrong shape or
    non-binary values."""
    m = np.asarray(matches)
    if m.ndim != 2 or m.shape[1] != self.T:
      raise ValueError(f"{self.name}: matches must be (batch, T={self.T}), "
                       f"got shape {m.shape}")
    if m.dtype != bool:
      if m.dtype.kind not in "biuf" or not np.isin(m, (0, 1)).all():
        raise ValueError(f"{self.name}: matches must be 0/1 (which templates "
                         f"a state matches)")
      m = m.astype(bool)
    return m

  def count_matches(self, matches) -> np.ndarray:
    """``n``: how many templates each state matches, ``(B,)`` (uint16 below
    2^16 templates), from :meth:`matches_unchecked`'s ``(B, T)`` view of a
    template-major array (summed row by row: ten times a ``sum(1)``).

    Example:
      >>> from permjax._src.programs import addition
      >>> prog = addition.addition_program(2)
      >>> m = prog.matches_unchecked(prog.initial_states([1, 3], [2, 3]))
      >>> prog.count_matches(m).tolist() == m.sum(1).tolist()
      True
    """
    by_template = np.asarray(matches, bool).T.view(np.uint8)   # (T, B)
    return np.add.reduce(by_template, axis=0,
                         dtype=np.uint16 if self.T < 1 << 16 else np.int64)

  def writes_of(self, matches) -> np.ndarray:
    """``c1``: per output bit, how many of the matched templates write it,
    ``(B, D)`` (uint8 counts, int32 where a bit has 255 writers or more):
    per bit, the sum of its writers' match rows (cost: B × the written bits
    of all templates)."""
    m = np.ascontiguousarray(self.check_matches(matches).T)  # (T, B)
    out = np.zeros((self.D, m.shape[1]),
                   np.uint8 if len(self._writer_ranks) < 255 else np.int32)
    for bits, writers in self._writer_ranks:  # r-th writer of each bit
      out[bits] += m[writers]
    return out.T

  def encode(self, states) -> np.ndarray:
    """The network input: match indicators / √n, zero-padded to ``k``,
    ``(B, k)`` float64; a state matching nothing encodes to 0."""
    return self.encode_matches(self.matches(states))

  def step(self, states) -> np.ndarray:
    """The reference step: OR of the write sets of the matched templates."""
    return self.writes_of(self.matches(states)) > 0

  def write_counts(self, states) -> tuple[np.ndarray, np.ndarray]:
    """``(n, c1)``: matched templates per state ``(B,)`` and, per output bit,
    how many matched templates write it ``(B, D)`` (docs/theory/templates.md §3.1)."""
    m = self.matches(states)
    return m.sum(1), self.writes_of(m).astype(np.int64)

  def encode_matches(self, matches) -> np.ndarray:
    """:meth:`encode` from precomputed :meth:`matches`."""
    m = self.check_matches(matches)
    n = m.sum(1, keepdims=True)
    x = np.zeros((m.shape[0], self.k))
    x[:, :self.T] = m / np.sqrt(np.maximum(n, 1))
    return x

  # --- operands ---------------------------------------------------------------

  def check_operands(self, a, b) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` as equal-length vectors of ``operand_bits``-bit numbers
    (int64 up to 62 bits, Python ints in object arrays beyond); one
    ValueError/TypeError naming what is wrong."""
    top = 1 << self.operand_bits
    wide = self.operand_bits > INT64_BITS
    out = []
    for name, v in (("a", a), ("b", b)):
      if v is None:
        raise TypeError(f"{self.name}: operand {name} is None; give both "
                        f"operand arrays, or neither (every pair)")
      # Python ints of any size stay exact in an object array; anything
      # else goes through numpy, whose dtype then names what it holds.
      arr = v if isinstance(v, np.ndarray) else np.array(v, dtype=object)
      ints = arr.dtype.kind == "O" and all(
          isinstance(x, (int, np.integer)) and not isinstance(x, bool)
          for x in arr.reshape(-1))
      if arr.dtype.kind == "O" and not ints:
        arr = np.asarray(v)
      if arr.ndim > 1:
        raise ValueError(f"{self.name}: operand {name} must be a scalar or a "
                         f"1-D array of integers, got shape {arr.shape}")
      arr = arr.reshape(-1)
      if ints:
        values = [int(x) for x in arr]
      elif arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"{self.name}: operand {name} must hold integers, "
                        f"got dtype {arr.dtype}")
      else:
        values = None
      if values is not None:
        bad = [i for i, x in enumerate(values) if not 0 <= x < top]
        arr = (np.array(values, dtype=object) if wide or bad
               else np.array(values, np.int64))
      else:
        arr = arr.astype(np.int64)
        bad = np.flatnonzero((arr < 0) | (arr >= top)).tolist()
        if wide:
          arr = np.array([int(x) for x in arr], dtype=object)
      out.append((arr, bad))
    (a, bad_a), (b, bad_b) = out
    if a.shape != b.shape:
      raise ValueError(f"{self.name}: operands a and b must have the same "
                       f"length, got {a.shape} and {b.shape}")
    where = sorted(set(bad_a) | set(bad_b))[:3]
    if where:
      raise ValueError(f"{self.name}: operands must be integers in "
                       f"0..{top - 1} (m={self.operand_bits} bits), got "
                       f"{[(int(a[i]), int(b[i])) for i in where]}")
    return a, b

  def initial_states(self, a, b) -> np.ndarray:
    """``(B, D)`` initial states of operand pairs ``(a, b)``."""
    a, b = self.check_operands(a, b)
    if self.initial is None:
      raise TypeError(f"{self.name}: the program has no initial-state "
                      f"builder (initial=None), so it cannot be run from "
                      f"operands")
    states = np.asarray(self.initial(a, b))
    if states.shape != (len(a), self.D):
      raise ValueError(f"{self.name}: initial(a, b) returned shape "
                       f"{states.shape}, expected ({len(a)}, D={self.D})")
    return self.check_states(states)

  def results(self, states) -> np.ndarray:
    """The result each state holds, ``(B,)`` int64 (Python ints where the
    result reader returns wider numbers)."""
    if self.result is None:
      raise TypeError(f"{self.name}: the program has no result reader "
                      f"(result=None)")
    return _integers(self.result(self.check_states(states)))

  def ground_truth(self, a, b) -> np.ndarray:
    """The plain-integer answers of operand pairs, ``(B,)`` int64."""
    a, b = self.check_operands(a, b)
    if self.truth is None:
      raise TypeError(f"{self.name}: the program has no ground truth "
                      f"(truth=None)")
    return _integers(self.truth(a, b))

  def all_pairs(self, max_pairs: int = MAX_ENUMERATION
                ) -> tuple[np.ndarray, np.ndarray]:
    """Every operand pair ``(a, b)``, ``a`` major (or the program's own
    ``inputs``); refuses above ``max_pairs``."""
    max_pairs = _integer("max_pairs", max_pairs, 1)
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


def run_or_rule(program: Program, states, steps: int | None = None
                ) -> np.ndarray:
  """The reference trajectory: ``(steps + 1, B, D)`` states under the OR rule.

  Example:
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(3)
    >>> traj = run_or_rule(prog, prog.initial_states([5], [6]))
    >>> prog.results(traj[-1]).tolist()
    [11]
  """
  from permjax._src import validation  # pylint: disable=import-outside-toplevel
  if not isinstance(program, Program):
    raise TypeError(f"program must be a permjax.Program, got {program!r}")
  steps = program.steps if steps is None else validation.integer(
      "steps", steps, 0)
  first = program.check_states(states)
  validation.size(f"a trajectory of {steps:,} steps of {len(first):,} states",
                  float(steps + 1) * first.size, validation.MAX_ELEMENTS,
                  "run fewer steps or fewer states at a time")
  out = [first]
  for _ in range(steps):
    out.append(program.step(out[-1]))
  return np.stack(out)


def correlation_margin(k: int, n, c_max: int) -> np.ndarray:
  """``γ_n + C_max β_n`` (docs/theory/templates.md §3.3; NTK, no bias): the exact mean
  of the worst 1-bit (one matched template writes it, ``C_max`` templates
  write its column) of a state matching ``n`` templates; the OR rule reads
  right at threshold ≈ 0 iff it is > 0.

  Example:
    >>> round(float(correlation_margin(86, 16, 3)), 4)   # mul m = 4, padded
    0.1118
  """
  from permjax._src import gp  # pylint: disable=import-outside-toplevel
  s = gp.symmetric_gp(k, n)
  return gp.template_mean(s.alpha, s.beta, 1, c_max)


def check_correlation(program: Program, n_max: int) -> float:
  """Raises unless every state matching up to ``n_max`` templates keeps its
  worst 1-bit positive (docs/theory/templates.md §3.3); returns the
  smallest margin.

  Example:
    >>> from permjax._src.programs import addition
    >>> check_correlation(addition.addition_program(4), 8) > 0
    True
  """
  if not isinstance(program, Program):
    raise TypeError(f"program must be a permjax.Program, got {program!r}")
  n_max = _integer("n_max (most templates a state matches)", n_max, 1)
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
