"""The two ablations of the flooding construction (docs/theory/graphs.md
§5): why the cascade, the template encoding and a readout before the sum
are each needed. Both run the exact NTK mean (float64, closed form) for a
fixed number of rounds.

* :func:`collision_ablation` — stars of ``n`` nodes (``Δ = n − 1``, ``S =
  n`` slots, one per node), the message held by leaf 1 only, and the
  centre's ``final`` bit read as a raw mean averaged over the last three
  rounds. With the cascade every slot reaches ``final`` through its own
  pipe stage (column weight 2); written directly, ``final`` has column
  weight ``S + 1``, and the all-zero rows of the ``n − 1`` empty slots push
  its mean below 0 from some ``n`` on.
* :func:`encoding_ablation` — complete graphs ``K_n`` with ``b = 3``, every
  node but node 0 holding the message: six variants crossing the input
  (template encoding, or the raw normalised state) with the readout's place
  (before the neighbourhood sum — the construction —, after it, or none);
  the accuracy is the fraction of the 7 nonzero messages node 0 holds in
  its ``final`` field after the last two rounds.

In both, the cascade ends in a separate ``final`` field and ``msg`` is not
relayed: only the initial holders broadcast, so a single hop is measured.
"""

from __future__ import annotations

import numpy as np

from permjax._src import gp as gp_lib
from permjax._src import graphs as graphs_lib
from permjax._src import kernels as kernels_lib
from permjax._src import models
from permjax._src import predictors
from permjax._src import templates as tpl
from permjax._src.templates import Template

#: The variants of :func:`encoding_ablation`: (name, input, readout place).
ENCODING_VARIANTS = (("encoded, readout before sum", "encoded", "before"),
                     ("raw, readout before sum", "raw", "before"),
                     ("encoded, readout after sum", "encoded", "after"),
                     ("raw, readout after sum", "raw", "after"),
                     ("encoded, no readout", "encoded", "none"),
                     ("raw, no readout", "raw", "none"))

EPSILON = 1e-10


def ablation_program(bits: int, slots: int, experiment: str,
                     direct: bool = False) -> tpl.Program:
  """The flooding variant of an ablation: fields ``msg``, ``final``,
  ``sent{s}``, ``myslot{s}``, ``pipe{s}``, outbox ``slot{s}``.

  Per bit i and slot s (``T = b(1 + 5S)``): A(i) ``msg_i → msg_i,
  sent{*}_i``; B(i,s) ``sent{s}_i, myslot{s}_i → slot{s}_i, myslot{s}_i``;
  C(i,s) ``myslot{s}_i, ¬sent{s}_i → myslot{s}_i``; P(i,s) ``pipe{s}_i →
  pipe{s+1}_i`` (``final_i`` at the end); and for ``experiment =
  "collision"``: R(i,s) ``slot{s}_i → pipe{s}_i`` (``→ final_i`` with
  ``direct``) and Z(i,s) ``¬slot{s}_i → nothing``; for ``"encoding"``:
  R(i,s) as above and Z(i,s) ``sent{s}_i, ¬myslot{s}_i → nothing``.

  Example:
    >>> prog = ablation_program(1, 4, "collision", direct=True)
    >>> prog.T, int(prog.column_weights()[prog.index("final", 0)])
    (21, 5)
  """
  if experiment not in ("collision", "encoding"):
    raise ValueError(f"experiment must be 'collision' or 'encoding', got "
                     f"{experiment!r}")
  fields = [("msg", bits), ("final", bits)]
  for group in ("sent", "myslot", "pipe", "slot"):
    fields += [(f"{group}{s}", bits) for s in range(slots)]
  out = []
  for i in range(bits):
    out.append(Template(f"A({i})", (("msg", i),), (), (("msg", i),) + tuple(
        (f"sent{s}", i) for s in range(slots))))
    for s in range(slots):
      out.append(Template(f"B({i},{s})", ((f"sent{s}", i), (f"myslot{s}", i)),
                          (), ((f"slot{s}", i), (f"myslot{s}", i))))
      out.append(Template(f"C({i},{s})", ((f"myslot{s}", i),),
                          ((f"sent{s}", i),), ((f"myslot{s}", i),)))
      end = ("final", i) if s == slots - 1 else (f"pipe{s + 1}", i)
      out.append(Template(f"P({i},{s})", ((f"pipe{s}", i),), (), (end,)))
      out.append(Template(f"R({i},{s})", ((f"slot{s}", i),), (),
                          ((("final", i),) if direct else
                           ((f"pipe{s}", i),))))
      if experiment == "collision":
        out.append(Template(f"Z({i},{s})", (), ((f"slot{s}", i),), ()))
      else:
        out.append(Template(f"Z({i},{s})", ((f"sent{s}", i),),
                            ((f"myslot{s}", i),), ()))
  return tpl.Program(f"flooding-{experiment}(b={bits},S={slots}"
                     f"{',direct' if direct else ''})", tuple(fields),
                     tuple(out), steps=1)


def _initial(program, n, bits, holders, message):
  states = np.zeros((n, program.D))
  msg = tpl.bits_of([message], bits)[0]
  for v in holders:
    states[v, program.index("msg", 0):program.index("msg", 0) + bits] = msg
  for v in range(n):  # node v's slot is v
    start = program.index(f"myslot{v}", 0)
    states[v, start:start + bits] = 1.0
  return states


class _RawMean:
  """The exact NTK mean of a network trained on the raw states instead of
  encodings: each template's training input is the state with ones at its
  required-one bits, normalised, zero-padded to width ``k``; a test state
  is padded and normalised the same way."""

  def __init__(self, program):
    ones, _ = program.requirements()
    self.k, self.d = program.k, program.D
    x = np.zeros((program.T, self.k))
    x[:, :self.d] = ones / np.sqrt(ones.sum(1, keepdims=True))
    _, y = program.training_set()
    self.spec = models.MLPSpec(width=1)
    self.x = x
    self.alpha = np.linalg.solve(
        kernels_lib.kernel_matrices(self.spec, x).ntk, y)

  def __call__(self, states):
    x = np.zeros((len(states), self.k))
    x[:, :self.d] = states
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    return kernels_lib.kernel_matrices(self.spec, x, self.x).ntk @ self.alpha


def _encoded_mean(program, mean):
  def predict(states):
    matched = program.matches_values(states)
    return mean.from_counts(program, matched.sum(1),
                            program.writes_of(matched))
  return predict


def _run(program, closed, states, rounds, predict, place, observe=None):
  split = program.index("slot0", 0)
  history = []
  for r in range(rounds):
    mu = predict(states)
    if observe is not None:
      observe(r, mu)
    if place == "before":
      y = (mu > EPSILON).astype(np.float64)
      states = np.concatenate([y[:, :split], closed @ y[:, split:]], axis=1)
    else:
      summed = np.concatenate([mu[:, :split], closed @ mu[:, split:]],
                              axis=1)
      states = (summed > EPSILON).astype(np.float64) if place == "after" \
          else summed
    history.append(states)
  return history


def collision_ablation(sizes=range(3, 21), rounds: int = 150,
                       kernel: str = "ntk") -> list:
  """Per star size ``n``: the centre's raw mean of ``final`` (averaged over
  the last three rounds) and its bit, with the cascade and with every slot
  written straight into ``final``.

  Example:
    >>> rows = collision_ablation([3, 9], rounds=30)
    >>> [(r["n"], r["cascade_bit"], r["direct_bit"]) for r in rows]
    [(3, 1, 1), (9, 1, 0)]
  """
  mean = predictors.exact_mean(kernel)
  out = []
  for n in sizes:
    closed = graphs_lib.adjacency(graphs_lib.star_graph(n),
                                  self_loops=True).toarray().astype(float)
    row = {"n": int(n)}
    for label, direct in (("cascade", False), ("direct", True)):
      program = ablation_program(1, n, "collision", direct=direct)
      col = program.index("final", 0)
      seen = []
      _run(program, closed, _initial(program, n, 1, [1], 1), rounds,
           _encoded_mean(program, mean), "before",
           observe=lambda r, mu, col=col, seen=seen: seen.append(mu[0, col]))
      value = float(np.mean(seen[-3:]))
      row[f"{label}_mean"] = value
      row[f"{label}_bit"] = int(value > EPSILON)
    out.append(row)
  return out


def encoding_ablation(sizes=range(3, 16), rounds: int = 150, bits: int = 3,
                      kernel: str = "ntk") -> list:
  """Per complete graph ``K_n``: each variant's accuracy (fraction of the
  ``2^bits − 1`` nonzero messages node 0 holds in ``final`` after both of
  the last two rounds).

  Example:
    >>> rows = encoding_ablation([3], rounds=20)
    >>> rows[0]["encoded, readout before sum"], rows[0]["raw, no readout"]
    (1.0, 1.0)
  """
  if kernel not in gp_lib.KERNELS:
    raise ValueError(f"kernel must be one of {gp_lib.KERNELS}, got "
                     f"{kernel!r}")
  mean = predictors.exact_mean(kernel)
  out = []
  for n in sizes:
    program = ablation_program(bits, n, "encoding")
    closed = np.ones((n, n))
    predict = {"encoded": _encoded_mean(program, mean),
               "raw": _RawMean(program)}
    lo = program.index("final", 0)
    row = {"n": int(n)}
    for name, source, place in ENCODING_VARIANTS:
      right = 0
      for message in range(1, 1 << bits):
        start = _initial(program, n, bits, range(1, n), message)
        if source == "raw":
          norm = np.linalg.norm(start, axis=1, keepdims=True)
          start = start / norm
        hist = _run(program, closed, start, rounds, predict[source], place)
        got = [tpl.number_of((h[0, lo:lo + bits] > EPSILON)[None])[0]
               for h in hist[-2:]]
        right += int(got[0] == got[1] == message)
      row[name] = right / ((1 << bits) - 1)
    out.append(row)
  return out
