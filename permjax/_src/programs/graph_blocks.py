"""Shared pieces of the sequential graph constructions (BFS, DFS,
Bellman–Ford of arXiv 2601.23207): the named multi-dimensional field layout
their node programs are written against, the builder that turns a layout
and a template list into a checked program, the checks of a run's source
and degree, and the setting of numbers into initial states."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import numpy as np

from permjax._src import graphs as graphs_lib
from permjax._src import node_program as node_lib
from permjax._src import templates as tpl


class FieldLayout:
  """Named multi-dimensional bit fields, flattened outer index first.

  A field of shape ``(A, B, w)`` becomes ``A·B`` program fields of width
  ``w`` named ``name[a,b]``; shape ``()`` is a single bit. The node
  programs of the graph constructions (BFS, DFS, Bellman–Ford) lay their
  state out with it, outbox last.

  Example:
    >>> f = FieldLayout()
    >>> f.add("flag"); f.add("v_id", 2, 3)
    >>> f.flat
    [('flag', 1), ('v_id[0]', 3), ('v_id[1]', 3)]
    >>> f("v_id", 1, 2), f.row("v_id", 0)[:2], f("flag")
    (('v_id[1]', 2), (('v_id[0]', 0), ('v_id[0]', 1)), ('flag', 0))
  """

  def __init__(self):
    self.shapes = {}
    self.flat = []

  def add(self, name, *shape):
    self.shapes[name] = shape
    if not shape:
      self.flat.append((name, 1))
      return
    for outer in itertools.product(*map(range, shape[:-1])):
      self.flat.append((self._name(name, outer), shape[-1]))

  @staticmethod
  def _name(name, outer):
    return f"{name}[{','.join(map(str, outer))}]" if outer else name

  def __call__(self, name, *idx):
    """The ``(field, bit)`` of one bit."""
    if not self.shapes[name]:
      return (name, 0)
    return (self._name(name, idx[:-1]), idx[-1])

  def row(self, name, *outer):
    """Every bit of the innermost word ``name[outer]``."""
    width = self.shapes[name][-1]
    return tuple(self(name, *outer, i) for i in range(width))

  def all(self, name):
    """Every bit of ``name``."""
    return tuple(self(name, *idx) for idx in
                 itertools.product(*map(range, self.shapes[name])))


def check_source(g, source) -> int:
  """``source`` as an int if it is a node of ``g``; else one ValueError
  naming it and the range.

  Example:
    >>> from permjax._src import graphs
    >>> check_source(graphs.path_graph(3), 2)
    2
  """
  if isinstance(source, bool) or not (
      isinstance(source, (int, np.integer)) and 0 <= source < g.n):
    raise ValueError(f"source must be a node of {g.name} (0..{g.n - 1}), got "
                     f"{source!r}")
  return int(source)


def check_degree(g, max_degree: int) -> None:
  """One ValueError if a node of ``g`` has more ports than ``max_degree``.

  Example:
    >>> from permjax._src import graphs
    >>> check_degree(graphs.star_graph(4), 3)
  """
  deg = graphs_lib.max_degree(g)
  if deg > max_degree:
    raise ValueError(f"{g.name}: max degree {deg} exceeds the program's "
                     f"Δ = {max_degree}")


def number(field_bits, value: int) -> tuple:
  """The bits of ``field_bits`` (LSB first) that are 1 in ``value``.

  Example:
    >>> number((("w", 0), ("w", 1), ("w", 2)), 5)
    (('w', 0), ('w', 2))
  """
  return tuple(fb for i, fb in enumerate(field_bits) if value >> i & 1)


def put(program, states, v: int, bit_list) -> None:
  """Sets the ``(field, bit)`` bits of ``bit_list`` in node ``v``'s row of
  ``states`` (``(n, D)`` bool), in place.

  Example:
    >>> import numpy as np
    >>> from permjax._src import templates as tpl
    >>> p = tpl.Program("p", (("a", 2),), (tpl.Template("t", (("a", 0),), (),
    ...                                                  (("a", 1),)),), 1)
    >>> s = np.zeros((1, 2), bool); put(p, s, 0, (("a", 1),)); s.tolist()
    [[False, True]]
  """
  for fb in bit_list:
    states[v, program.index(*fb)] = True


@dataclasses.dataclass(frozen=True)
class Construction:
  """A sequential construction's checked sizes, layout and template
  program, before its run functions are attached (:meth:`node_program`).

  Attributes:
    bits: ``b``, bits per word.
    max_degree: ``Δ``.
    slots: ``S``.
    name: e.g. ``"bfs(b=4,Δ=2,S=5)"``.
    layout: the :class:`FieldLayout`, outbox last.
    program: the template program.
    outbox: the flat index of the first outbox bit.
  """
  bits: int
  max_degree: int
  slots: int
  name: str
  layout: FieldLayout
  program: tpl.Program
  outbox: int

  def put(self, states, v: int, bit_list) -> None:
    """:func:`put` into this program's states."""
    put(self.program, states, v, bit_list)

  def node_program(self, initial: Callable, output: Callable,
                   truth: Callable, rounds: Callable,
                   inputs: Callable) -> node_lib.NodeProgram:
    """The :class:`permjax.NodeProgram` with these run functions."""
    return node_lib.NodeProgram(self.name, self.program, self.outbox,
                                self.slots, initial, output, truth, rounds,
                                inputs, self.max_degree)


def build(key: str, what: str, bits, max_degree, slots, layout: Callable,
          templates: Callable, outbox_field: str) -> Construction:
  """Checks ``bits`` (≥ 2), ``max_degree`` and ``slots`` (default
  ``Δ² + 1``), lays the state out with ``layout(b, Δ, S)``, writes
  ``templates(layout, b, Δ, S)``, refuses a program too large to hold, and
  returns the :class:`Construction` whose outbox starts at
  ``outbox_field``'s first bit. ``key`` names the program
  (``key(b=…,Δ=…,S=…)``), ``what`` the construction in errors.

  Example:
    >>> def lay(b, deg, slots):
    ...   f = FieldLayout(); f.add("x", b); f.add("out", slots, 1); return f
    >>> def write(f, b, deg, slots):
    ...   return [tpl.Template("t", (f("x", 0),), (), (f("out", 0, 0),))]
    >>> c = build("toy", "toy", 2, 1, None, lay, write, "out")
    >>> c.name, c.outbox, c.program.D
    ('toy(b=2,Δ=1,S=2)', 2, 4)
  """
  bits = tpl.check_bits(bits, f"bits (per word of the {what} program)",
                        low=2)
  max_degree = tpl.check_bits(max_degree, "max_degree (Δ)")
  slots = graphs_lib.slots_needed(max_degree) if slots is None else (
      tpl.check_bits(slots, "slots"))
  name = f"{key}(b={bits},Δ={max_degree},S={slots})"
  fields = layout(bits, max_degree, slots)
  written = templates(fields, bits, max_degree, slots)
  tpl.check_program_size(name, len(written), sum(w for _, w in fields.flat))
  program = tpl.Program(name, tuple(fields.flat), tuple(written), steps=1)
  outbox = program.index(*fields(outbox_field, *(
      (0,) * len(fields.shapes[outbox_field]))))
  return Construction(bits, max_degree, slots, name, fields, program, outbox)


def gray_word(program: tpl.Program, word: str):
  """The output of the search constructions: each node's ``word`` once the
  node is gray (``u_gray``), ``-1`` before.

  Example:
    >>> p = tpl.Program("p", (("u_dist", 2), ("u_gray", 1)), (tpl.Template(
    ...     "t", (("u_gray", 0),), (), ()),), 1)
    >>> gray_word(p, "u_dist")(np.array([[1, 1, 1], [1, 0, 0]], bool)).tolist()
    [3, -1]
  """
  def output(states):
    value = program.value(states, word)
    gray = program.field(states, "u_gray")[..., 0].astype(bool)
    return np.where(gray, value, -1)
  return output


def from_node_zero(g) -> list:
  """The inputs the constructions' experiments run: ``[{"source": 0}]``.

  Example:
    >>> from_node_zero(graphs_lib.path_graph(2))
    [{'source': 0}]
  """
  del g
  return [{"source": 0}]

