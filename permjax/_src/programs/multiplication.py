"""Shift-and-add multiplication as a template program
(docs/theory/templates.md §2.3).

The multiplier is shifted right and its lowest bit tested; a 1 copies the
multiplicand into the 2m-bit adder of :mod:`.addition`, which a one-hot timer
gives 4m steps, then both operands shift. ``T = 20m + 2`` templates over
``D = 18m + 1`` bits, ``m`` padding rows, ``4m² + 3m`` steps.
"""

from __future__ import annotations

import numpy as np

from permjax._src.templates import bits_of
from permjax._src.templates import check_bits
from permjax._src.templates import check_program_size
from permjax._src.templates import number_of
from permjax._src.templates import Program
from permjax._src.templates import Template


def multiplication_program(m: int, pad: int | None = None) -> Program:
  """Shift-and-add multiplication of two m-bit numbers.

  ``T = 20m + 2`` templates over ``D = 18m + 1`` bits, padded by ``m``
  all-zero training rows (``k = 21m + 2``), ``4m² + 3m`` steps; the product
  is ``sum_p`` (2m bits).

  Example:
    >>> prog = multiplication_program(2)
    >>> prog.T, prog.k, prog.D, prog.steps, int(prog.column_weights().max())
    (42, 44, 37, 22, 3)
  """
  m = check_bits(m)
  check_program_size(f"multiplication(m={m})", 20 * m + 2, 18 * m + 1)
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
    states[:, 0:m] = bits_of(a, m)  # multiplier = a
    start = 2 * m
    states[:, start:start + mm] = bits_of(b, mm)  # multiplicand b, zero-extended
    states[:, -1] = 1  # to_check_lsb
    return states

  p_start = m + m + mm + mm + mm

  def result(states):
    return number_of(np.asarray(states)[:, p_start:p_start + mm])
  return Program(f"multiplication(m={m})", fields, tuple(T), 4 * m * m + 3 * m,
                 pad=pad, operand_bits=m, initial=initial, result=result,
                 truth=lambda a, b: a * b, n_bound=4 * m)
