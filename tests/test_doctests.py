"""Runs the ``>>>`` examples in every permjax module's docstrings."""

import doctest
import importlib
import pkgutil

import pytest

import permjax

# Nothing here depends on the float dtype: CI's float64 pass leaves it out.
pytestmark = pytest.mark.dtype_independent

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(permjax.__path__, "permjax.")
    if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
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
