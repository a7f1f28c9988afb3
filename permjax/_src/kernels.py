"""Closed-form infinite-width kernels (NNGP and NTK) of an :class:`MLPSpec`.

Plain ``jnp``, float64. For inputs ``x, x'`` of dimension ``d`` the recursion
(docs/theory/permutation.md §4, per output coordinate) starts from the input covariance
``c(x, x') = x . x' / d`` and, for each layer, applies

* dense: ``K <- W_std^2 K + b_std^2`` (``b_std = 0`` if there is no bias);
  NTK parameterization ``Θ <- K_new + W_std^2 Θ``, standard parameterization
  ``Θ <- fan_in * K_old + W_std^2 Θ (+ 1 if biased)``, exactly as
  neural-tangents defines it;
* activation: ``K <- E[φ(u) φ(v)]``, ``Θ <- Θ * E[φ'(u) φ'(v)]`` for
  ``(u, v)`` Gaussian with covariance given by ``K``.

ReLU uses the arc-cosine kernels ``κ0, κ1``; erf uses Williams' arcsine
kernel. Every formula is elementwise in ``(c(x,x), c(x',x'), c(x,x'))``, which
is what lets :func:`symmetric_kernel_values` evaluate the kernels of the
permutation task in O(1) per ``(k, n)``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from permjax._src import permutation as perm_lib
from permjax._src import validation
from permjax._src.models import check_spec
from permjax._src.models import MLPSpec


class KernelPair(NamedTuple):
  """Per-output NNGP and NTK values (any matching shapes)."""
  nngp: jax.Array
  ntk: jax.Array


def _check_rho(rho, xp):
  """``rho`` clipped to [-1, 1] (rounding pushes cosines just past it); a
  concrete value further outside, or not a number, is refused. Traced
  values (inside jit) are only clipped."""
  if not all(hasattr(xp, name) for name in ("clip", "arccos", "pi")):
    raise TypeError(f"xp must be an array module (numpy or jax.numpy), got "
                    f"{xp!r}")
  if not isinstance(rho, jax.core.Tracer):
    arr = np.asarray(rho)
    if arr.dtype.kind not in "biuf":
      raise TypeError(f"rho (a correlation) must be numeric, got {rho!r}")
    if np.any(np.isnan(arr)) or np.any(np.abs(arr) > 1.0 + 1e-6):
      raise ValueError(f"rho (a correlation) must lie in [-1, 1], got "
                       f"{rho!r}")
  return xp.clip(rho, -1.0, 1.0)


def kappa0(rho, xp=jnp):
  """Arc-cosine kernel of order 0: ``(π - arccos ρ) / (2π)`` = E[relu'(u) relu'(v)].

  Example:
    >>> float(kappa0(1.0)), float(kappa0(0.0))
    (0.5, 0.25)
  """
  rho = _check_rho(rho, xp)
  return (xp.pi - xp.arccos(rho)) / (2 * xp.pi)


def kappa1(rho, xp=jnp):
  """Arc-cosine kernel of order 1: ``(sqrt(1-ρ²) + (π - arccos ρ) ρ) / (2π)``.

  ``E[relu(u) relu(v)]`` for unit-variance ``u, v`` with correlation ``ρ``.

  Example:
    >>> import numpy as np
    >>> float(kappa1(1.0)), bool(np.isclose(kappa1(0.0), 1 / (2 * np.pi)))
    (0.5, True)
  """
  rho = _check_rho(rho, xp)
  return (xp.sqrt(xp.maximum(1.0 - rho**2, 0.0))
          + (xp.pi - xp.arccos(rho)) * rho) / (2 * xp.pi)


def _activation_moments(name, c11, c22, c12, xp):
  """Returns (E[φφ'] at c12, E[φ(u)²] at c11, at c22, E[φ'φ'] at c12)."""
  if name == "relu":
    norm = xp.sqrt(c11 * c22)
    safe = xp.where(norm > 0, norm, 1.0)
    rho = xp.where(norm > 0, c12 / safe, 0.0)
    k12 = norm * kappa1(rho, xp)
    return k12, c11 / 2, c22 / 2, kappa0(rho, xp)
  if name == "erf":
    d11, d22 = 1 + 2 * c11, 1 + 2 * c22
    k12 = (2 / xp.pi) * xp.arcsin(xp.clip(2 * c12 / xp.sqrt(d11 * d22),
                                          -1.0, 1.0))
    k11 = (2 / xp.pi) * xp.arcsin(2 * c11 / d11)
    k22 = (2 / xp.pi) * xp.arcsin(2 * c22 / d22)
    dot = (4 / xp.pi) / xp.sqrt(d11 * d22 - 4 * c12**2)
    return k12, k11, k22, dot
  raise ValueError(f"no closed form for activation {name!r}")


def kernel_from_inner_products(spec: MLPSpec, xx1, xx2, x12, d_in,
                               xp=jnp) -> KernelPair:
  """NNGP and NTK from raw inner products, elementwise.

  Args:
    spec: the architecture.
    xx1: ``x . x`` (any shape broadcastable with the others).
    xx2: ``x' . x'``.
    x12: ``x . x'``.
    d_in: input dimension ``d`` (``k`` for the task).
    xp: array namespace, ``jax.numpy`` (default) or ``numpy``; the formulas
      are the same, numpy avoids per-shape compilation for big 1-D sweeps.

  Returns:
    ``KernelPair`` with the broadcast shape.
  """
  w2 = spec.W_std**2
  b2 = 0.0 if spec.b_std is None else spec.b_std**2
  biased = spec.b_std is not None
  standard = spec.parameterization == "standard"
  # Input "kernel": c = x.x'/d, NTK of the (empty) input is 0.
  c11, c22, c12 = xx1 / d_in, xx2 / d_in, x12 / d_in
  ntk = xp.zeros_like(c12)
  fan_in = d_in
  for _ in range(spec.depth):
    # Dense layer.
    if standard:
      ntk = fan_in * c12 + w2 * ntk + (1.0 if biased else 0.0)
    c11, c22, c12 = w2 * c11 + b2, w2 * c22 + b2, w2 * c12 + b2
    if not standard:
      ntk = c12 + w2 * ntk
    # Activation.
    c12, c11, c22, dot = _activation_moments(spec.activation, c11, c22, c12,
                                             xp)
    ntk = ntk * dot
    fan_in = spec.width
  # Readout.
  if standard:
    ntk = fan_in * c12 + w2 * ntk + (1.0 if biased else 0.0)
  c12 = w2 * c12 + b2
  if not standard:
    ntk = c12 + w2 * ntk
  return KernelPair(c12, ntk)


def kernel_matrices(spec: MLPSpec, x1, x2=None) -> KernelPair:
  """NNGP and NTK Gram matrices, float64.

  Args:
    spec: the architecture.
    x1: ``(n1, d)`` inputs.
    x2: ``(n2, d)`` inputs, or None for ``x1``.

  Returns:
    ``KernelPair`` of ``(n1, n2)`` float64 numpy matrices (per output
    coordinate; the full kernel is this times ``I_out``).

  Example:
    >>> import jax.numpy as jnp
    >>> kp = kernel_matrices(MLPSpec(width=1), jnp.eye(4))
    >>> [round(float(v), 7) for v in (kp.ntk[0, 0], kp.ntk[0, 1], kp.nngp[0, 0])]
    [0.25, 0.0397887, 0.125]
  """
  spec = check_spec(spec)
  x1 = validation.finite_array("x1", x1, ndim=2)
  if x2 is not None:
    x2 = validation.finite_array("x2", x2, ndim=2)
    if x2.shape[1] != x1.shape[1]:
      raise ValueError(f"x1 and x2 must have the same number of features, "
                       f"got {x1.shape} and {x2.shape}")
  with jax.enable_x64(True):
    x1 = jnp.asarray(x1, jnp.float64)
    x2 = x1 if x2 is None else jnp.asarray(x2, jnp.float64)
    if x1.ndim != 2 or x2.ndim != 2 or x1.shape[1] != x2.shape[1]:
      raise ValueError(f"inputs must be (n1, d) and (n2, d), got {x1.shape} "
                       f"and {x2.shape}")
    for name, x in (("x1", x1), ("x2", x2)):
      bad = np.flatnonzero(~np.all(np.isfinite(np.asarray(x)), axis=1))
      if bad.size:
        raise ValueError(f"{name} holds non-finite values in rows "
                         f"{bad[:5].tolist()}")
    pair = kernel_matrices_jnp(spec, x1, x2)
    return KernelPair(np.asarray(pair.nngp), np.asarray(pair.ntk))


@functools.partial(jax.jit, static_argnums=0)
def kernel_matrices_jnp(spec: MLPSpec, x1: jax.Array, x2: jax.Array
                        ) -> KernelPair:
  """Jitted, traceable core of :func:`kernel_matrices` (``(n1, d), (n2, d)``)."""
  xx1 = jnp.sum(x1**2, axis=1)[:, None]
  xx2 = jnp.sum(x2**2, axis=1)[None, :]
  return kernel_from_inner_products(spec, xx1, xx2, x1 @ x2.T, x1.shape[1])


class SymmetricKernelValues(NamedTuple):
  """The few distinct kernel values of the permutation task (one kernel).

  For the training inputs ``e_i`` and a test input ``x`` with ``n`` ones:

  Attributes:
    diag: ``K(e_i, e_i)``.
    off: ``K(e_i, e_j)``, ``i != j``.
    test: ``K(x, x)``.
    inside: ``K(x, e_i)`` for ``i`` in the support of ``x``.
    outside: ``K(x, e_i)`` for ``i`` outside it.
  """
  diag: np.ndarray
  off: np.ndarray
  test: np.ndarray
  inside: np.ndarray
  outside: np.ndarray


def symmetric_kernel_values(spec: MLPSpec, k, n, *, normalize: bool = True
                            ) -> tuple[SymmetricKernelValues,
                                       SymmetricKernelValues]:
  """The distinct NNGP and NTK values for inputs with ``n`` ones, O(1) each.

  Args:
    spec: the architecture.
    k: input dimension (array-like, broadcast against ``n``).
    n: number of ones of the test input.
    normalize: whether the test input is L2-normalised.

  Returns:
    ``(nngp_values, ntk_values)``, two :class:`SymmetricKernelValues` of
    float64 numpy arrays.

  Example:
    >>> nngp, ntk = symmetric_kernel_values(MLPSpec(width=1), 4, 2)
    >>> round(float(ntk.diag), 6), round(float(ntk.off), 7)
    (0.25, 0.0397887)
  """
  spec = check_spec(spec)
  normalize = validation.flag("normalize", normalize)
  n = perm_lib.check_ns(n, k)
  k, n = np.broadcast_arrays(np.asarray(k, np.float64),
                             np.asarray(n, np.float64))
  one, zero = np.ones_like(k), np.zeros_like(k)
  if normalize:
    xx, xe = one, 1.0 / np.sqrt(n)
  else:
    xx, xe = n, one
  # (x.x, x'.x', x.x') for the five pairs.
  triples = [(one, one, one), (one, one, zero), (xx, xx, xx),
             (xx, one, xe), (xx, one, zero)]
  pairs = [kernel_from_inner_products(spec, a, b, c, k, xp=np)
           for a, b, c in triples]
  nngp = SymmetricKernelValues(*[p.nngp for p in pairs])
  ntk = SymmetricKernelValues(*[p.ntk for p in pairs])
  return nngp, ntk
