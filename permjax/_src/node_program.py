"""Node programs: a template program run at every node of a graph, with an
outbox block that crosses edges (docs/theory/graphs.md §1).

A :class:`NodeProgram` is a :class:`permjax.Program` whose trailing fields
are the *outbox*: one field group per slot. Each round every node's next
state is read from the predictor; the private block is kept, and the outbox
block is replaced by its sum over the node's closed neighbourhood. A
distance-2 colouring (:func:`permjax.graphs.distance2_colouring`) gives every
node its own slot, so each summed slot has at most one writer and the sum
acts as a concatenation (the driver checks it,
:func:`permjax.run_graph`).

Node programs are data, like the other programs: the initial states, the
output reader, the classical ground truth and the round budget are
functions of a graph and its inputs, next to the templates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from permjax._src import templates as tpl


@dataclasses.dataclass(frozen=True, eq=False)
class NodeProgram:
  """A template program at every node, with an outbox.

  Attributes:
    name: e.g. ``"flooding(b=1,S=5)"``.
    program: the :class:`permjax.Program` (its ``k``, ``D``, templates).
    outbox: the first outbox bit (flat index); bits ``outbox..D-1`` are
      summed over the closed neighbourhood each round.
    slots: ``S``, the number of outbox slots (colours).
    initial: ``(graph, colours, inputs) -> (n, D)`` bool initial states.
    output: ``states (n, D) -> (n,)`` ints, what each node outputs.
    truth: ``(graph, inputs) -> (n,)`` ints, the classical answer.
    rounds: ``(graph, inputs) -> int``, the round budget.
    inputs: ``graph -> list of inputs dicts``, the inputs a validation runs
      on each graph (e.g. every message from node 0).
    max_degree: the degree bound the slots were sized for.
  """
  name: str
  program: tpl.Program
  outbox: int
  slots: int
  initial: Callable
  output: Callable
  truth: Callable
  rounds: Callable
  inputs: Callable
  max_degree: int

  def __post_init__(self):
    if not isinstance(self.program, tpl.Program):
      raise TypeError(f"{self.name}: program must be a permjax.Program, got "
                      f"{type(self.program)}")
    if not 1 <= self.outbox < self.program.D:
      raise ValueError(f"{self.name}: outbox must start inside 1..D-1="
                       f"{self.program.D - 1}, got {self.outbox}")
    if self.slots < 1:
      raise ValueError(f"{self.name}: slots must be >= 1, got {self.slots}")

  @property
  def k(self) -> int:
    return self.program.k

  @property
  def D(self) -> int:  # pylint: disable=invalid-name
    return self.program.D

  def __repr__(self) -> str:
    return (f"NodeProgram({self.name!r}, k={self.k}, D={self.D}, "
            f"outbox={self.D - self.outbox} bits, S={self.slots})")
