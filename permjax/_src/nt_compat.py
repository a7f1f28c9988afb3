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
  """True when ``jax.core.eval_context()`` cannot be used as nt uses it.

  nt enters it around work that is constant under an outer jit/vmap (to
  compute it once, eagerly) and around work on traced values (a kernel that is
  itself vmapped over parameters). JAX 0.4's context handled both; the
  stackless tracing of JAX 0.4.36+ runs everything inside it on the eval
  trace, which rejects a tracer operand.
  """
  import jax.numpy as jnp

  def constant(x):
    with jax.core.eval_context():
      y = jnp.ones(()) + 1.0
    return x + y

  def traced(x):
    with jax.core.eval_context():
      return x + 1.0

  try:
    jax.make_jaxpr(jax.vmap(constant))(jnp.ones((1,)))
    jax.make_jaxpr(jax.vmap(traced))(jnp.ones((1,)))
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
    _note("nt: jax.core.eval_context() rejects traced operands (stackless "
          "tracing, JAX 0.4.36); use jax.ensure_compile_time_eval in "
          "nt.predict and nt.stax")
  import scipy.linalg
  if "eigvals" not in inspect.signature(scipy.linalg.eigvalsh).parameters:
    linalg = _ModuleProxy(scipy.linalg, eigvalsh=_eigvalsh_compat)
    import scipy
    predict.sp = _ModuleProxy(scipy, linalg=linalg)  # type: ignore[attr-defined]
    _note("nt: scipy.linalg.eigvalsh(eigvals=) removed in SciPy 1.14; "
          "map to subset_by_index")
  empirical = sys.modules["neural_tangents._src.empirical"]
  _patch_cost_analysis(empirical)
  _patch_linearize(empirical)
  del nt_mod


def _cost_analysis_is_a_dict() -> bool:
  """True when ``cost_analysis()`` returns a dict (JAX 0.4.30+).

  Asked of a lowered function, which costs no compilation at import; the
  replacement reads either form, so it is right whichever way the compiled
  and lowered answers moved."""
  lowered = jax.jit(lambda x: x + 1.0).lower(1.0)
  return isinstance(lowered.cost_analysis(), dict)


def _get_flops_compat(f, optimize: bool, *args, **kwargs) -> float:
  lowered = jax.jit(f).lower(*args, **kwargs)
  analysis = (lowered.compile() if optimize else lowered).cost_analysis()
  if isinstance(analysis, (list, tuple)):
    analysis = analysis[0]
  return analysis["flops"]


def _patch_cost_analysis(empirical: types.ModuleType) -> None:
  """nt's FLOP count (``implementation=AUTO``, ``vmap_axes``) indexes ``[0]``."""
  if _cost_analysis_is_a_dict():
    empirical._get_flops = _get_flops_compat  # type: ignore[attr-defined]
    _note("nt.empirical: Compiled.cost_analysis() returns a dict, not a "
          "list of dicts (JAX 0.4.30); FLOP counts read it either way")


class _NoSuchType:
  """A type no value has: stands in for a removed ``isinstance`` target."""


class _KnownIf:
  """Stands in for the ``PartialVal`` list nt reads from ``ad.linearize``."""

  __slots__ = ("_known",)

  def __init__(self, known: bool):
    self._known = known

  def is_known(self) -> bool:
    return self._known


def _linearize_compat(fn_flat, *primals_in_flat, has_aux: bool = False):
  """JAX 0.4's ``ad.linearize(wrapped_fun, *primals)`` on the current one.

  Returns ``(primals_out, pvals, jaxpr, consts)`` as nt expects: ``pvals[i]``
  is known exactly when output ``i`` does not depend on the primals.
  """
  from jax._src.interpreters import ad as ad_src
  from jax._src.tree_util import FlatTree
  if has_aux:
    raise NotImplementedError("has_aux is not used by neural-tangents")
  out_ft, out_known, jaxpr, consts = ad_src.linearize(
      fn_flat.call_wrapped, FlatTree.flatten(tuple(primals_in_flat)))
  return list(out_ft), [_KnownIf(k) for k in out_known], jaxpr, consts


def _linearize_is_new() -> bool:
  from jax._src.interpreters import ad as ad_src
  params = list(inspect.signature(ad_src.linearize).parameters)
  return len(params) > 1 and params[1] == "primals_ft"


def _patch_linearize(empirical: types.ModuleType) -> None:
  """Structured derivatives call JAX 0.4's internal ``ad.linearize``."""
  if _linearize_is_new():
    from jax._src.interpreters import ad as ad_src
    # nt's backward pass also reads ad.config.jax_enable_checks (whose
    # branch calls the removed core.lattice_join) and core.DShapedArray
    # (dynamic shapes, removed); neither applies to the jaxprs it walks.
    config = _ModuleProxy(ad_src.config, jax_enable_checks=False)
    empirical.ad = _ModuleProxy(ad_src, linearize=_linearize_compat,  # type: ignore[attr-defined]
                                config=config)
    _note("nt.empirical: jax.interpreters.ad.linearize takes a FlatTree and "
          "returns known-output flags (JAX 0.7); structured derivatives get "
          "the old signature")
  from jax._src import core as core_src
  if not hasattr(core_src.Primitive, "map_primitive"):
    # A class-level default only: JAX itself no longer reads the attribute.
    core_src.Primitive.map_primitive = False  # type: ignore[attr-defined]
    _note("jax Primitive.map_primitive: removed with the old pmap (JAX 0.7); "
          "nt's structured-derivative transposes read it; default False")
  if not hasattr(jax.core, "DShapedArray"):
    empirical.core = _ModuleProxy(jax.core, DShapedArray=_NoSuchType)  # type: ignore[attr-defined]
    _note("nt.empirical: jax.core.DShapedArray (dynamic shapes) removed; "
          "no aval is one")


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
