"""Shared pieces of the sequential graph constructions (BFS, DFS,
Bellman–Ford of arXiv 2601.23207): the named multi-dimensional field layout
their node programs are written against."""

from __future__ import annotations

import itertools


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
