"""Runs the ``>>>`` examples in every permjax module's docstrings."""

import doctest
import importlib
import pkgutil

import pytest

import permjax

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(permjax.__path__, "permjax.")
    if not m.name.endswith("__main__"))

# Modules whose examples compute nothing in floating point the dtype could
# change (experiment orchestration, graphs and their numpy driver, SBN
# assembly and interpretation, validation): CI's float64 pass leaves them
# out; every numerical module's examples run under float64 too.
_NO_FLOATS = ("permjax.experiments", "permjax._src.graphs",
              "permjax._src.programs", "permjax._src.sbn",
              "permjax._src.message_passing", "permjax._src.node_program",
              "permjax._src.validation", "permjax.graphs")


def _param(name):
  marks = ([pytest.mark.dtype_independent] if name.startswith(_NO_FLOATS)
           else [])
  return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", [_param(m) for m in MODULES])
def test_docstring_examples(name):
  module = importlib.import_module(name)
  result = doctest.testmod(module, optionflags=doctest.ELLIPSIS
                           | doctest.NORMALIZE_WHITESPACE)
  assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


def test_public_api_is_documented_with_examples():
  missing = [name for name in permjax.__all__
             if ">>>" not in (getattr(permjax, name).__doc__ or "")
             and callable(getattr(permjax, name))
             and not isinstance(getattr(permjax, name), type(permjax.Examples))]
  assert not missing, f"public functions without an example: {missing}"
