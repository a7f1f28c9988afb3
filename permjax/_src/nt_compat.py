"""The one place permjax imports neural-tangents from.

neural-tangents 0.6.5 (its last release) was written against JAX 0.4 and does
not import on current JAX. This module patches the few symbols it needs, each
only when it is missing or broken on the running JAX/SciPy, and then imports
``neural_tangents`` without its TensorFlow-dependent ``experimental``
subpackage (which is made lazy: it loads only if someone touches it).

Use it as::

    from permjax._src.nt_compat import nt
    init_fn, apply_fn, kernel_fn = nt.stax.serial(...)

``PATCHES`` lists what was applied on this interpreter, with a one-line reason
each, so a test or a bug report can show it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import types
from typing import Any

import jax

PATCHES: list[str] = []


def _note(reason: str) -> None:
  PATCHES.append(reason)


def _patch_jax_core() -> None:
  """jax.core.{Jaxpr,...} moved to jax.extend.core (JAX 0.4.36+ removed them)."""
  import jax.core as jcore
  import jax.extend.core as ecore
  for name in ("Jaxpr", "JaxprEqn", "Literal", "Var", "Primitive",
               "ClosedJaxpr"):
    if not hasattr(jcore, name):
      setattr(jcore, name, getattr(ecore, name))
      _note(f"jax.core.{name}: moved to jax.extend.core")


def _safe_map(f, *args):
  args = list(map(list, args))
  n = len(args[0])
  for arg in args[1:]:
    if len(arg) != n:
      raise ValueError(f"safe_map: length mismatch {[len(a) for a in args]}")
  return list(map(f, *args))


def _safe_zip(*args):
  args = list(map(list, args))
  n = len(args[0])
  for arg in args[1:]:
    if len(arg) != n:
      raise ValueError(f"safe_zip: length mismatch {[len(a) for a in args]}")
  return list(zip(*args))


def _patch_jax_util() -> None:
  """jax.util (safe_map, safe_zip) was removed from the public API."""
  try:
    util = importlib.import_module("jax.util")
  except ImportError:
    util = types.ModuleType("jax.util")
    sys.modules["jax.util"] = util
    jax.util = util  # type: ignore[attr-defined]
    _note("jax.util: module removed; recreated for safe_map/safe_zip")
  for name, fn in (("safe_map", _safe_map), ("safe_zip", _safe_zip)):
    if not hasattr(util, name):
      setattr(util, name, fn)
      _note(f"jax.util.{name}: removed from JAX")


def _patch_zeros_like_p() -> None:
  """ad.zeros_like_p is gone; nt only uses it as a key in its rule tables."""
  from jax.interpreters import ad
  if not hasattr(ad, "zeros_like_p"):
    import jax.extend.core as ecore
    ad.zeros_like_p = ecore.Primitive("zeros_like")  # type: ignore[attr-defined]
    _note("jax.interpreters.ad.zeros_like_p: removed; placeholder rule key")


def _eval_context_is_broken() -> bool:
  """True when jax.core.eval_context() cannot be entered under a trace."""
  import jax.numpy as jnp

  def f(x):
    with jax.core.eval_context():
      y = jnp.ones(()) + 1.0
    return x + y

  try:
    jax.make_jaxpr(jax.vmap(f))(jnp.ones((1,)))
  except Exception:  # UnexpectedTracerError and kin.  pylint: disable=broad-except
    return True
  return False


class _ModuleProxy(types.ModuleType):
  """A module that delegates to ``base`` except for explicit overrides."""

  def __init__(self, base: types.ModuleType, **overrides: Any):
    super().__init__(base.__name__)
    self.__dict__["_base"] = base
    self.__dict__.update(overrides)

  def __getattr__(self, name: str) -> Any:
    return getattr(self.__dict__["_base"], name)


def _eigvalsh_compat(a, *args, eigvals=None, **kwargs):
  if eigvals is not None:
    kwargs["subset_by_index"] = eigvals
  import scipy.linalg
  return scipy.linalg.eigvalsh(a, *args, **kwargs)


def _defer_experimental() -> None:
  """nt.experimental imports TensorFlow; permjax never needs it, so load lazily.

  A placeholder module stands in for ``neural_tangents.experimental``. The
  first attribute looked up on it imports the real subpackage (and thus
  TensorFlow) and hands the attribute over, so nothing is lost for a user who
  does want it.
  """
  name = "neural_tangents.experimental"
  if name in sys.modules:
    return
  spec = importlib.util.find_spec("neural_tangents")
  if spec is None or not spec.submodule_search_locations:
    return
  sub = importlib.machinery.PathFinder.find_spec(
      name, list(spec.submodule_search_locations))
  if sub is None:
    return
  placeholder = types.ModuleType(
      name, "Placeholder: the real module (and TensorFlow) loads on first use.")
  placeholder.__spec__ = sub
  placeholder.__path__ = list(sub.submodule_search_locations or [])

  def load_real(attr: str) -> Any:
    if attr.startswith("__"):
      raise AttributeError(attr)
    if sys.modules.get(name) is placeholder:
      del sys.modules[name]
    try:
      real = importlib.import_module(name)
    except ImportError as err:
      sys.modules[name] = placeholder  # stay lazy: a later install can load it
      raise ImportError(
          f"neural_tangents.experimental.{attr} needs TensorFlow and tf2jax "
          f"({err}); permjax's lean install leaves them out because nothing "
          f"else in neural-tangents or permjax uses them. Install them into "
          f"this environment with `pip install tensorflow tf2jax` (about "
          f"2 GB), or install permjax with plain `pip install -e .`, which "
          f"keeps neural-tangents' declared dependencies.") from None
    parent = sys.modules.get("neural_tangents")
    if parent is not None:
      parent.experimental = real  # type: ignore[attr-defined]
    return getattr(real, attr)

  placeholder.__getattr__ = load_real  # type: ignore[method-assign]
  sys.modules[name] = placeholder
  _note("neural_tangents.experimental: imports TensorFlow; loaded on first use")


def _patch_nt_modules(nt_mod: types.ModuleType) -> None:
  """Patches applied inside nt's own namespaces, so other libraries are untouched."""
  predict = sys.modules["neural_tangents._src.predict"]
  linear = sys.modules["neural_tangents._src.stax.linear"]
  if _eval_context_is_broken():
    core = _ModuleProxy(jax.core, eval_context=jax.ensure_compile_time_eval)
    jax_proxy = _ModuleProxy(jax, core=core)
    for mod in (predict, linear):
      mod.jax = jax_proxy  # type: ignore[attr-defined]
    _note("nt: jax.core.eval_context() fails under jit/vmap; "
          "use jax.ensure_compile_time_eval in nt.predict and nt.stax")
  import scipy.linalg
  if "eigvals" not in inspect.signature(scipy.linalg.eigvalsh).parameters:
    linalg = _ModuleProxy(scipy.linalg, eigvalsh=_eigvalsh_compat)
    import scipy
    predict.sp = _ModuleProxy(scipy, linalg=linalg)  # type: ignore[attr-defined]
    _note("nt: scipy.linalg.eigvalsh(eigvals=) removed in SciPy 1.14; "
          "map to subset_by_index")
  del nt_mod


def _import_nt() -> types.ModuleType:
  already = "neural_tangents" in sys.modules
  _patch_jax_core()
  _patch_jax_util()
  _patch_zeros_like_p()
  if not already:
    _defer_experimental()
  module = importlib.import_module("neural_tangents")
  _patch_nt_modules(module)
  return module


nt = _import_nt()

__all__ = ["nt", "PATCHES"]
