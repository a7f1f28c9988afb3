"""Template program families, one file each, behind one registry.

A *family* is a name (the registry key every experiment, record and member
key uses), a builder ``bits -> Program`` and its valid sizes. ``bits`` is
the family's size: bits per operand for addition and multiplication, bits
per word for the SBN programs, bits of the input for the permutation. Adding
a family is one file (its builder) plus one :func:`register` line below
(docs/theory/templates.md §5).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable

from permjax._src.programs import addition
from permjax._src.programs import comparison
from permjax._src.programs import multiplication
from permjax._src.programs import permutation
from permjax._src.programs import sbn
from permjax._src.programs import sbn_library
from permjax._src.templates import Program


@dataclasses.dataclass(frozen=True)
class Family:
  """A program family of the registry.

  Attributes:
    name: the registry key (``"addition"``).
    build: ``bits -> Program``.
    min_bits: the smallest valid size.
    bits_meaning: what ``bits`` counts (``"bits per operand"``).
    enumerable_bits: the largest size whose reachable states the analytic
      ensemble sizes enumerate in reasonable time (every operand pair).
    key_id: the integer folded into member keys of this family; by default a
      hash of the name, so keys never depend on registration order.
    description: one line.
  """
  name: str
  build: Callable[[int], Program]
  min_bits: int
  bits_meaning: str
  enumerable_bits: int
  key_id: int | None = None
  description: str = ""

  def __post_init__(self):
    if self.key_id is None:
      object.__setattr__(self, "key_id",
                         zlib.crc32(self.name.encode()) & 0x7FFFFFFF)

  def program(self, bits: int) -> Program:
    """The family's program of size ``bits`` (refuses an invalid size)."""
    if (isinstance(bits, bool) or not isinstance(bits, int)
        or bits < self.min_bits):
      raise ValueError(f"{self.name} needs bits ({self.bits_meaning}) to be "
                       f"an integer >= {self.min_bits}, got {bits!r}")
    return self.build(bits)


_REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
  """Adds a family; refuses a name or member-key id already taken.

  Example:
    >>> register(family("addition"))
    Traceback (most recent call last):
    ...
    ValueError: program family 'addition' is already registered
  """
  if family.name in _REGISTRY:
    raise ValueError(f"program family {family.name!r} is already registered")
  taken = {f.key_id: f.name for f in _REGISTRY.values()}
  if family.key_id in taken:
    raise ValueError(f"program family {family.name!r}: key_id "
                     f"{family.key_id} is taken by {taken[family.key_id]!r}")
  _REGISTRY[family.name] = family
  return family


def family(name: str) -> Family:
  """The registered family ``name``.

  Example:
    >>> family("addition").min_bits
    1
  """
  if not isinstance(name, str):
    raise TypeError(f"a program family is named by a string, got {name!r}")
  if name not in _REGISTRY:
    raise ValueError(f"unknown program family {name!r}; registered: "
                     f"{sorted(_REGISTRY)}")
  return _REGISTRY[name]


def families() -> tuple:
  """The registered family names, in registration order.

  Example:
    >>> families()[:3]
    ('addition', 'multiplication', 'sbn_instruction')
  """
  return tuple(_REGISTRY)


def program(name: str, bits: int) -> Program:
  """The program of family ``name`` and size ``bits``.

  Example:
    >>> program("addition", 4).name
    'addition(m=4)'
  """
  return family(name).program(bits)


# --- the registry: one line per family ---------------------------------------
# (key_id 0-4: the ids member keys used before the registry, kept so that
# committed results keep their members.)
register(Family("addition", addition.addition_program, 1,
                "bits per operand", 8, key_id=0,
                description="a + b, four templates per bit, 2m steps"))
register(Family("multiplication", multiplication.multiplication_program, 1,
                "bits per operand", 4, key_id=1,
                description="a · b by shift and add, 4m² + 3m steps"))
register(Family("sbn_instruction", sbn.instruction_program, 2,
                "bits per word", 4, key_id=2,
                description="one SBN instruction on every memory of 4 words"))
register(Family("sbn_loop", sbn.loop_program, 2, "bits per word", 4,
                key_id=3, description="multiplication by an SBN loop"))
register(Family("sbn_idioms", sbn.idioms_program, 2, "bits per word", 4,
                key_id=4, description="add and copy through SBN idioms"))
register(Family("permutation", permutation.identity_program, 2,
                "bits of the input", 16,
                description="the identity permutation, one template per bit"))
register(Family("comparison", comparison.comparison_program, 1,
                "bits per operand", 8,
                description="a > b, a = b, a < b by a ripple from the top bit"))
for _name, _size, _what in (
    ("gcd", None, "gcd by repeated subtraction"),
    ("fibonacci", None, "the n-th Fibonacci number"),
    ("divmod", None, "quotient and remainder by repeated subtraction"),
    ("multiply", None, "x · y by repeated addition"),
    ("sum", 4, "the sum of 4 words"), ("max", 4, "the maximum of 4 words"),
    ("sort", 4, "bubble sort of 4 words")):
  register(Family(f"sbn_{_name}{_size or ''}",
                  sbn_library.family_program(_name, _size), 4,
                  "bits per word", 8,
                  description=f"SBN library, decoded construction: {_what} "
                  f"(at most {sbn_library.FAMILY_INPUTS} inputs)"))
