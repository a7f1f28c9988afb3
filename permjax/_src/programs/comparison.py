"""Binary comparison as a template program: the worked example of
docs/theory/templates.md §5.1.

Compares two m-bit numbers from the top bit down. A one-hot ``scan`` pointer
starts at bit ``m − 1``; where ``a_i = b_i`` it moves down a bit, where they
differ a *token* is written into ``gt`` or ``lt`` at bit i, which then walks
down to bit 0 and stays there; a scan that passes bit 0 sets ``eq``. After
exactly ``m`` steps one of ``gt[0]``, ``eq``, ``lt[0]`` is set.

Fields (``D = 5m + 1``): ``a``, ``b`` (the operands, kept), ``scan``,
``gt``, ``lt`` (m each), ``eq`` (1). Templates (``T = 8m + 1``), per bit i:

=========  ==================================  ===========================
name       condition                           writes
=========  ==================================  ===========================
KA(i)      a_i = 1                             a_i
KB(i)      b_i = 1                             b_i
G(i)       scan_i = 1, a_i = 1, b_i = 0        gt_i
L(i)       scan_i = 1, a_i = 0, b_i = 1        lt_i
E1(i)      scan_i = 1, a_i = 1, b_i = 1        scan_{i−1} (eq if i = 0)
E0(i)      scan_i = 1, a_i = 0, b_i = 0        scan_{i−1} (eq if i = 0)
MG(i)      gt_i = 1                            gt_{i−1} (gt_0 if i = 0)
ML(i)      lt_i = 1                            lt_{i−1} (lt_0 if i = 0)
KE         eq = 1                              eq
=========  ==================================  ===========================

Exactly one of scan, the gt token, the lt token and eq is live in any
reachable state, so a state matches at most ``n = 2m + 1`` templates; no
column is written by more than ``C_max = 3`` templates (``gt_0``: G(0),
MG(1), MG(0)). Since ``C_max · n = 6m + 3 < k = 8m + 1`` plus the
condition's slack, the correlation condition holds for every m without
padding. ``scan_{m−1}`` is a structural zero (no template writes it).

The result is 0 (a < b), 1 (a = b) or 2 (a > b); −1 for a state where none
is set.
"""

from __future__ import annotations

import numpy as np

from permjax._src.templates import bits_of
from permjax._src.templates import check_bits
from permjax._src.templates import check_program_size
from permjax._src.templates import Program
from permjax._src.templates import Template


def comparison_program(m: int) -> Program:
  """Compares two m-bit numbers: ``T = 8m + 1``, ``D = 5m + 1``, m steps.

  Example:
    >>> from permjax._src.templates import run_or_rule
    >>> prog = comparison_program(3)
    >>> prog.T, prog.D, prog.steps, int(prog.column_weights().max())
    (25, 16, 3, 3)
    >>> final = run_or_rule(prog, prog.initial_states([5, 2, 6], [3, 2, 7]))[-1]
    >>> prog.results(final).tolist()   # a > b, a = b, a < b
    [2, 1, 0]
  """
  m = check_bits(m)
  check_program_size(f"comparison(m={m})", 8 * m + 1, 5 * m + 1)
  below = lambda field, i: (((field, i - 1),) if i  # pylint: disable=unnecessary-lambda-assignment
                            else (("eq", 0),) if field == "scan"
                            else ((field, 0),))
  templates = []
  for i in range(m):
    templates += [
        Template(f"KA({i})", (("a", i),), (), (("a", i),)),
        Template(f"KB({i})", (("b", i),), (), (("b", i),)),
        Template(f"G({i})", (("scan", i), ("a", i)), (("b", i),),
                 (("gt", i),)),
        Template(f"L({i})", (("scan", i), ("b", i)), (("a", i),),
                 (("lt", i),)),
        Template(f"E1({i})", (("scan", i), ("a", i), ("b", i)), (),
                 below("scan", i)),
        Template(f"E0({i})", (("scan", i),), (("a", i), ("b", i)),
                 below("scan", i)),
        Template(f"MG({i})", (("gt", i),), (), below("gt", i)),
        Template(f"ML({i})", (("lt", i),), (), below("lt", i)),
    ]
  templates.append(Template("KE", (("eq", 0),), (), (("eq", 0),)))
  fields = (("a", m), ("b", m), ("scan", m), ("gt", m), ("lt", m), ("eq", 1))

  def initial(a, b):
    states = np.zeros((len(a), 5 * m + 1), np.int64)
    states[:, :m] = bits_of(a, m)
    states[:, m:2 * m] = bits_of(b, m)
    states[:, 3 * m - 1] = 1  # scan starts at the top bit
    return states

  def result(states):
    s = np.asarray(states, bool)
    gt, lt, eq = s[:, 3 * m], s[:, 4 * m], s[:, 5 * m]
    return np.where(gt, 2, np.where(eq, 1, np.where(lt, 0, -1)))

  return Program(f"comparison(m={m})", fields, tuple(templates), m,
                 operand_bits=m, initial=initial, result=result,
                 truth=lambda a, b: np.sign(a - b) + 1,
                 n_bound=2 * m + 1)
