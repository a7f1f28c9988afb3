"""How many members a graph run needs: union bounds for node programs
(docs/theory/graphs.md §4).

Three bounds, from tight to loose:

* :func:`graph_ensemble_size` — over the distinct encodings a set of cases
  visits × their bits (node and round multiplicities drop out: a run is
  exact iff every visited encoding is read right);
* :func:`all_encodings_size` — independent of the graphs: over *every*
  encoding with ``2 ≤ m ≤ m_max`` matched templates, ``C(k, m)`` of them per
  ``m``, each bit at its worst case (a 1-bit written once where the column
  weight is largest; a 0-bit in the lightest written column);
* :func:`authors_bound` — the published scripts' formula, ``N = 8 r ln(2 k
  R 2^k)`` with ``r = max_j σ²/μ_j²`` at a two-template probe state and
  ``R = d_G (S + 4)`` rounds (and ``8 k ln(2 k R 2^k)``, their
  "theoretical" curve).
"""

from __future__ import annotations

import math

import numpy as np

from permjax._src import certificates
from permjax._src import complexity
from permjax._src import execution
from permjax._src import gp as gp_lib
from permjax._src import node_program as node_lib
from permjax._src import readout as readout_lib
from permjax._src.scorers import GraphTestSet


def _check(node_program):
  if not isinstance(node_program, node_lib.NodeProgram):
    raise TypeError(f"node_program must be a permjax.NodeProgram, got "
                    f"{type(node_program)}")
  return node_program


def _check_test(node_program, test):
  if not isinstance(test, GraphTestSet):
    raise TypeError(f"test must be a GraphTestSet (permjax.graph_test_set), "
                    f"got {type(test)}")
  if test.fingerprint != node_program.program.fingerprint:
    raise ValueError(f"the test set was built for {test.program!r}, not for "
                     f"{node_program.name!r}")
  return test


def graph_ensemble_size(node_program: node_lib.NodeProgram,
                        test: GraphTestSet, readout=None, *,
                        kernel: str = "ntk", target: float = 0.9) -> int:
  """Members for P(every bit of every visited encoding right) ≥ ``target``
  by the union bound over the test set's distinct encodings × bits
  (:func:`permjax.execution_ensemble_size` over those encodings).

  Example:
    >>> from permjax._src import graphs, message_passing
    >>> from permjax._src.programs import flooding
    >>> fl = flooding.flooding_program(1, 2)
    >>> test = message_passing.graph_test_set(fl, [(
    ...     graphs.path_graph(5), {"source": 0, "message": 1})])
    >>> graph_ensemble_size(fl, test, readout_lib.fixed(5e-3)) > 1
    True
  """
  node_program = _check(node_program)
  test = _check_test(node_program, test)
  return execution.execution_ensemble_size(
      node_program.program, readout, kernel=kernel, target=target,
      matches=test.matches)


def graph_margin(node_program: node_lib.NodeProgram, test: GraphTestSet,
                 kernel: str = "ntk") -> readout_lib.Readout:
  """The margin readout over a test set: half the smallest 1-bit exact
  mean at its visited encodings.

  Example:
    >>> from permjax._src import graphs, message_passing
    >>> from permjax._src.programs import flooding
    >>> fl = flooding.flooding_program(1, 2)
    >>> test = message_passing.graph_test_set(fl, [(
    ...     graphs.path_graph(5), {"source": 0, "message": 1})])
    >>> round(graph_margin(fl, test).tau, 4)
    0.064
  """
  node_program = _check(node_program)
  test = _check_test(node_program, test)
  return execution.margin(node_program.program, kernel, matches=test.matches)


def all_encodings_size(node_program: node_lib.NodeProgram, m_max: int,
                       readout=None, *, kernel: str = "ntk",
                       target: float = 0.9) -> int:
  """Members for P(every bit of every encoding with ``2 ≤ m ≤ m_max``
  matched templates right) ≥ ``target``, whatever the graph: ``C(k, m)·D``
  bits per ``m``, each at its worst case (1-bit ``γ_m + β_m C_max``, 0-bit
  ``β_m C_min`` with ``C_min`` the lightest written column; a structural
  zero, mean 0, unless the readout fixes it). Raises where a worst case
  is on the wrong side of the threshold (e.g. ``m`` past the point where
  ``γ_m + β_m C_max ≤ 0``).

  Example:
    >>> from permjax._src.programs import flooding
    >>> fl = flooding.flooding_program(1, 2)
    >>> all_encodings_size(fl, 10, readout_lib.fixed(5e-3))
    444
  """
  node_program = _check(node_program)
  program = node_program.program
  if kernel not in gp_lib.KERNELS:
    raise ValueError(f"kernel must be one of {gp_lib.KERNELS}, got "
                     f"{kernel!r}")
  if (isinstance(m_max, bool) or not isinstance(m_max, (int, np.integer))
      or not 2 <= m_max <= program.T):
    raise ValueError(f"m_max must be an integer in 2..T={program.T}, got "
                     f"{m_max!r}")
  readout = complexity.resolve_readout(readout, kernel)
  weights = program.column_weights()
  live = np.ones(program.D, bool)
  live[list(readout.fixed_zeros)] = False
  written = weights[live & (weights > 0)]
  c_max, c_min = int(written.max()), int(written.min())
  zeros = int((live & (weights == 0)).sum())
  m = np.arange(2, m_max + 1)
  log_choose = np.array([math.lgamma(program.k + 1) - math.lgamma(v + 1)
                         - math.lgamma(program.k - v + 1) for v in m])
  log_bits = math.log(int(live.sum()))
  cells = [(m, np.ones_like(m), np.full_like(m, c_max), np.ones_like(m)),
           (m, np.zeros_like(m), np.full_like(m, c_min), np.zeros_like(m))]
  if zeros:
    cells.append((m, np.zeros_like(m), np.zeros_like(m), np.zeros_like(m)))
  n, c, w, bit = (np.concatenate(parts) for parts in zip(*cells))
  return certificates.union_bound_size(
      program.k, n, c, w, bit, np.tile(log_choose + log_bits, len(cells)),
      readout, kernel=kernel, target=target, name=node_program.name)


def authors_bound(node_program: node_lib.NodeProgram, diameter: int,
                  probe=None, *, kernel: str = "ntk") -> dict:
  """The published bound scripts' ensemble sizes: ``numerical = 8 r ln(2 k
  R 2^k)`` with ``r = max_j σ²_m / (μ_j² + 1e-10)`` at ``probe`` (a state
  matching ``m`` templates; default: the flooding probe, ``msg_0 = 1`` and
  ``myslot0_0 = 1``, m = 2) and ``R = d_G (S + 4)``; ``theoretical`` is
  the same with ``r = k``. Neither depends on the number of nodes.

  Example:
    >>> from permjax._src.programs import flooding
    >>> out = authors_bound(flooding.flooding_program(1, 2), 6)
    >>> round(out["r"], 1), f"{out['numerical']:.3g}"
    (93.5, '1.67e+04')
  """
  node_program = _check(node_program)
  program = node_program.program
  if probe is None:
    probe = np.zeros((1, program.D), bool)
    probe[0, program.index("msg", 0)] = True
    probe[0, program.index("myslot0", 0)] = True
  matched = program.matches(probe)
  m = int(matched.sum())
  stats = gp_lib.symmetric_gp(program.k, m, kernel=kernel)
  c1 = program.writes_of(matched)[0].astype(np.float64)
  mean = ((float(stats.alpha) - float(stats.beta)) * c1
          + float(stats.beta) * program.column_weights())
  r = float(np.max(float(stats.sigma2) / (mean ** 2 + 1e-10)))
  rounds = int(diameter) * (node_program.slots + 4)
  k = program.k
  log_term = math.log(2 * k * rounds) + k * math.log(2)
  return {"m": m, "r": r, "R": rounds, "numerical": 8 * r * log_term,
          "theoretical": 8 * k * log_term}
