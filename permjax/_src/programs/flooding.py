"""Message flooding as a node program (docs/theory/graphs.md §2).

A source node holds a ``b``-bit message; every node that knows it keeps
re-broadcasting it, and after at most ``S + 3`` rounds per hop every node of
the source's component holds it. Per bit ``i < b`` and slot ``s < S`` the
fields are ``msg`` (the node's copy), ``sent{s}`` (the message staged for
slot s), ``myslot{s}`` (all ones in the node's own colour: the gate that lets
it write only there), ``pipe{s}`` (a cascade that ORs the received slots
into ``msg`` one stage per round) and, last, the outbox ``slot{s}``. So
``D = b(4S + 1)``, and the templates (``T = k = b(4S + 1)``):

=========  ==================================  ===============================
name       condition                           writes
=========  ==================================  ===============================
F1(i)      msg_i = 1                           msg_i, sent{s}_i for every s
F2(i,s)    sent{s}_i = 1, myslot{s}_i = 1      slot{s}_i, myslot{s}_i
F3(i,s)    sent{s}_i = 0, myslot{s}_i = 1      myslot{s}_i
F4(i,s)    slot{s}_i = 1 (the summed inbox)    pipe{s}_i
F5(i,s)    pipe{s}_i = 1                       pipe{s+1}_i; msg_i if s = S−1
=========  ==================================  ===============================

No column is written by more than two templates (``msg_i``: F1(i) and
F5(i, S−1); ``pipe{s}_i``: F4(i,s) and F5(i,s−1); ``myslot{s}_i``: F2 and
F3), which is what the cascade is for: writing every slot straight into
``msg`` (the ``direct`` variant) gives ``msg`` a column weight of ``S + 1``
and its 1-bits' mean falls below 0 once enough templates match
(docs/theory/graphs.md §5).
"""

from __future__ import annotations

import numpy as np

from permjax._src import graphs as graphs_lib
from permjax._src import node_program as node_lib
from permjax._src import templates as tpl
from permjax._src.templates import Template


def _fields(bits, slots, direct):
  out = [("msg", bits)]
  for group in ("sent", "myslot") + (() if direct else ("pipe",)):
    out += [(f"{group}{s}", bits) for s in range(slots)]
  return out + [(f"slot{s}", bits) for s in range(slots)]


def _templates(bits, slots, direct):
  out = []
  for i in range(bits):
    out.append(Template(f"F1({i})", (("msg", i),), (),
                        (("msg", i),) + tuple((f"sent{s}", i)
                                              for s in range(slots))))
  for i in range(bits):
    for s in range(slots):
      out.append(Template(f"F2({i},{s})", ((f"sent{s}", i), (f"myslot{s}", i)),
                          (), ((f"slot{s}", i), (f"myslot{s}", i))))
      out.append(Template(f"F3({i},{s})", ((f"myslot{s}", i),),
                          ((f"sent{s}", i),), ((f"myslot{s}", i),)))
      if direct:
        out.append(Template(f"F4d({i},{s})", ((f"slot{s}", i),), (),
                            (("msg", i),)))
      else:
        out.append(Template(f"F4({i},{s})", ((f"slot{s}", i),), (),
                            ((f"pipe{s}", i),)))
        nxt = ("msg", i) if s == slots - 1 else (f"pipe{s + 1}", i)
        out.append(Template(f"F5({i},{s})", ((f"pipe{s}", i),), (), (nxt,)))
  return out


def flooding_program(bits: int, max_degree: int, *, tree: bool = False,
                     slots: int | None = None,
                     direct: bool = False) -> node_lib.NodeProgram:
  """The flooding node program for ``bits``-bit messages on graphs of
  maximum degree ``max_degree``.

  Args:
    bits: ``b``, bits of the message.
    max_degree: ``Δ``; the slots are ``Δ² + 1`` (``Δ + 1`` with ``tree``)
      unless ``slots`` is given.
    tree: size the slots for trees.
    slots: ``S`` explicitly (at least the colouring's colours).
    direct: the ablation without the cascade: every slot writes ``msg``.

  Inputs of a run: ``{"source": node, "message": int}``.

  Example:
    >>> fl = flooding_program(1, 2)
    >>> fl.k, fl.D, fl.slots, int(fl.program.column_weights().max())
    (21, 21, 5, 2)
  """
  bits = tpl.check_bits(bits, "bits (of the message)")
  max_degree = tpl.check_bits(max_degree, "max_degree (Δ)")
  slots = graphs_lib.slots_needed(max_degree, tree) if slots is None else (
      tpl.check_bits(slots, "slots"))
  name = (f"flooding(b={bits},Δ={max_degree},S={slots}"
          f"{',direct' if direct else ''})")
  program = tpl.Program(name, tuple(_fields(bits, slots, direct)),
                        tuple(_templates(bits, slots, direct)), steps=1)
  outbox = program.index("slot0", 0)

  def initial(g, colours, inputs):
    colours = graphs_lib.check_colouring(g, colours, slots)
    source, message = _check_inputs(g, inputs, bits)
    states = np.zeros((g.n, program.D), bool)
    states[source, program.index("msg", 0):program.index("msg", 0) + bits] = (
        tpl.bits_of([message], bits)[0].astype(bool))
    for s in range(slots):
      start = program.index(f"myslot{s}", 0)
      states[colours == s, start:start + bits] = True
    return states

  def output(states):
    return program.value(states, "msg")

  def truth(g, inputs):
    source, message = _check_inputs(g, inputs, bits)
    return np.where(graphs_lib.hop_distances(g, source) >= 0, message, 0)

  def rounds(g, inputs):
    source, _ = _check_inputs(g, inputs, bits)
    return (graphs_lib.eccentricity(g, source) + 1) * (slots + 3)

  def inputs(g):
    del g
    return [{"source": 0, "message": m} for m in range(1 << bits)]

  return node_lib.NodeProgram(name, program, outbox, slots, initial, output,
                              truth, rounds, inputs, max_degree)


def _check_inputs(g, inputs, bits):
  if not isinstance(inputs, dict) or set(inputs) != {"source", "message"}:
    raise ValueError(f"flooding inputs are {{'source': node, 'message': "
                     f"int}}, got {inputs!r}")
  source, message = inputs["source"], inputs["message"]
  if not (isinstance(source, (int, np.integer)) and 0 <= source < g.n):
    raise ValueError(f"source must be a node of {g.name} (0..{g.n - 1}), got "
                     f"{source!r}")
  if not (isinstance(message, (int, np.integer))
          and 0 <= message < 1 << bits):
    raise ValueError(f"message must be an integer in 0..{(1 << bits) - 1} "
                     f"({bits} bits), got {message!r}")
  return int(source), int(message)
