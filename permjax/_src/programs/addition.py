"""Binary addition as a template program (docs/theory/templates.md §2.2).

Fields ``sum_p`` (a, then the low m bits of a + b), ``sum_q`` (b, then the
shifted carries), ``sum_c`` (carries; ``sum_c[m-1]`` sticky, bit m of the
sum). Four templates per bit: one step computes ``p ← p XOR q``,
``c ← p AND q`` (plus the sticky top carry) and ``q ← c << 1`` at once.
"""

from __future__ import annotations

import numpy as np

from permjax._src.templates import bits_of
from permjax._src.templates import check_bits
from permjax._src.templates import check_program_size
from permjax._src.templates import number_of
from permjax._src.templates import Program
from permjax._src.templates import Template


def addition_program(m: int) -> Program:
  """Binary addition of two m-bit numbers.

  Templates per bit i: A1 (p=0, q=1 → p), A2 (p=1, q=0 → p), A3
  (p=1, q=1 → c), A4 (c=1 → q_{i+1}, or c_{m-1} for the top bit): ``T = 4m``,
  ``D = 3m``, ``2m`` steps.

  Example:
    >>> prog = addition_program(4)
    >>> prog.T, prog.D, prog.steps, int(prog.structural_zeros().sum())
    (16, 12, 8, 1)
  """
  m = check_bits(m)
  check_program_size(f"addition(m={m})", 4 * m, 3 * m)
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
    return np.concatenate([bits_of(a, m), bits_of(b, m),
                           np.zeros((len(a), m), np.int64)], axis=1)

  def result(states):
    states = np.asarray(states, np.int64)
    return number_of(np.concatenate([states[:, :m], states[:, 3 * m - 1:]],
                                    axis=1))
  return Program(f"addition(m={m})", fields, tuple(templates), 2 * m,
                 operand_bits=m, initial=initial, result=result,
                 truth=lambda a, b: a + b, n_bound=m)
