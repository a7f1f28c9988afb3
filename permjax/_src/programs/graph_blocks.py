"""Shared pieces of the sequential graph constructions (BFS, DFS,
Bellman–Ford of arXiv 2601.23207): the named multi-dimensional field layout
their node programs are written against, the checks of a run's source and
degree, and the setting of numbers into initial states."""

from __future__ import annotations

import itertools

import numpy as np

from permjax._src import graphs as graphs_lib


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
