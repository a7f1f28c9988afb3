"""The permutation as a template program (docs/theory/templates.md §2.1).

One template per bit, ``p_i = 1 → p_{perm[i]}``: its training set is exactly
the permutation task's (:func:`permjax.training_set`), so the v1 result is
the one-step special case of the template framework.
"""

from __future__ import annotations

import numpy as np

from permjax._src import permutation as perm_lib
from permjax._src.templates import bits_of
from permjax._src.templates import number_of
from permjax._src.templates import Program
from permjax._src.templates import Template


def permutation_program(perm) -> Program:
  """The permutation as a template program: ``p_i = 1 → p_{perm[i]}``.

  Example:
    >>> prog = permutation_program([1, 2, 0])
    >>> prog.T, prog.D, prog.step([[1, 1, 0]]).astype(int).tolist()
    (3, 3, [[0, 1, 1]])
  """
  perm = perm_lib.validate_permutation(perm)
  k = len(perm)
  templates = tuple(Template(f"P({i})", (("p", i),), (), (("p", int(j)),))
                    for i, j in enumerate(perm))

  def initial(a, b):
    del b
    return bits_of(a, k)

  def truth(a, b):
    del b
    bits = bits_of(a, k)
    out = np.zeros_like(bits)
    out[:, perm] = bits
    return number_of(out)
  return Program(f"permutation(k={k})", (("p", k),), templates, 1,
                 operand_bits=k, initial=initial, result=number_of,
                 truth=truth, n_bound=k)


def identity_program(bits: int) -> Program:
  """The identity permutation on ``bits`` bits (the registry's
  ``permutation`` family; use :func:`permutation_program` for any other).

  Example:
    >>> identity_program(3).name
    'permutation(k=3)'
  """
  return permutation_program(np.arange(bits))
