"""Gaussian-process prediction of trained infinitely wide networks (docs/theory/permutation.md §3, §5).

An infinitely wide network trained by gradient descent on MSE is a Gaussian
process over its random initialisation. With ``G`` the kernel that drives
training (``kernel="ntk"``: the NTK, gradient descent on all layers;
``kernel="nngp"``: the NNGP kernel, i.e. Bayesian / readout-only training) and ``K`` the NNGP kernel of the
initial function, the outputs at time ``t`` are::

    f_t(x) = f_0(x) + T_t(x) (Y - f_0(X)),
    T_t(x) = G(x, X) G_XX^{-1} (I - exp(-η t G_XX / |Y|))

so the mean is ``T_t(x) Y`` and the covariance is
``K(x,x') + T K_XX T'ᵀ - T K(X,x') - K(x,X) T'ᵀ``. ``t = None`` is ``t = ∞``
(``T = G(x,X) G_XX^{-1}``). ``|Y|`` is the number of entries of ``y_train``:
``t`` steps of size ``η`` on ``0.5 * mean((f - y)**2)`` (neural-tangents'
convention).

Two backends compute the same thing: ``"nt"`` uses neural-tangents (through
:mod:`permjax._src.nt_compat`), ``"closed_form"`` uses
:mod:`permjax._src.kernels` in plain ``jnp``. :func:`symmetric_gp` gives the
O(1)-per-``(k, n)`` closed form ``α_n, β_n, σ²_n`` of the permutation task.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from permjax._src import kernels as kernels_lib
from permjax._src import permutation as perm_lib
from permjax._src import validation
from permjax._src.models import check_spec
from permjax._src.models import MLPSpec

KERNELS = ("ntk", "nngp")
BACKENDS = ("nt", "closed_form")


class GPPrediction(NamedTuple):
  """Posterior of the trained network's outputs (float64 numpy arrays).

  Attributes:
    mean: ``(n_test, out_dim)`` mean.
    cov: ``(n_test, n_test)`` covariance, shared by every output coordinate
      (the coordinates are independent).
  """
  mean: np.ndarray
  cov: np.ndarray


def _check_choice(name, value, allowed):
  if value not in allowed:
    raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def _check_time(t, learning_rate):
  if t is not None:
    validation.real("t", t, 0.0)
  try:
    value = float(learning_rate)
  except (TypeError, ValueError):
    value = float("nan")
  if isinstance(learning_rate, bool) or not (np.isfinite(value) and value > 0):
    raise ValueError(f"learning_rate must be finite and > 0, "
                     f"got {learning_rate!r}")


def _as_f64_2d(name, x, width=None):
  arr = jnp.asarray(validation.finite_array(name, x), jnp.float64)
  if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
    raise ValueError(f"{name} must be 2-D (num >= 1, features >= 1), got "
                     f"shape {arr.shape}")
  if width is not None and arr.shape[1] != width:
    raise ValueError(f"{name} has {arr.shape[1]} columns, expected {width}")
  if not bool(jnp.all(jnp.isfinite(arr))):
    raise ValueError(f"{name} holds non-finite values")
  return arr


def _check_training_kernel(spec, x_train, kernel):
  """Raises if the training kernel is singular (``t = ∞`` needs its inverse)."""
  g_xx = getattr(kernels_lib.kernel_matrices(spec, x_train), kernel)
  evals = np.linalg.eigvalsh(g_xx)
  scale = max(abs(evals[-1]), np.finfo(np.float64).tiny)
  if evals[0] <= len(g_xx) * np.finfo(np.float64).eps * scale * 10:
    _, index = np.unique(np.asarray(x_train), axis=0, return_index=True)
    repeated = sorted(set(range(len(x_train))) - set(index.tolist()))
    raise ValueError(
        f"the {kernel} training kernel is singular (smallest eigenvalue "
        f"{evals[0]:.3g}, largest {evals[-1]:.3g}); the t = ∞ posterior needs "
        f"its inverse. Repeated training rows: {repeated[:5] or 'none'}; "
        f"remove duplicated or dependent training inputs, or give a finite t")


def _transfer(g_xx, g_tx, t, learning_rate, size):
  """T_t = G(x,X) G_XX^{-1} (I - exp(-η t G_XX/size)), ``(n_test, n_train)``."""
  evals, evecs = jnp.linalg.eigh(g_xx)
  if t is None:
    return jnp.linalg.solve(g_xx, g_tx.T).T
  evals = jnp.maximum(evals, 0.0)
  factor = -jnp.expm1(-evals * (learning_rate * t) / size) / evals
  return ((g_tx @ evecs) * factor) @ evecs.T


@functools.partial(jax.jit, static_argnames=("spec", "kernel", "finite"))
def _closed_form_jit(spec, x_train, y_train, x_test, t, learning_rate, kernel,
                     finite):
  train = kernels_lib.kernel_matrices_jnp(spec, x_train, x_train)
  test_train = kernels_lib.kernel_matrices_jnp(spec, x_test, x_train)
  test_test = kernels_lib.kernel_matrices_jnp(spec, x_test, x_test)
  g_xx = getattr(train, kernel)
  g_tx = getattr(test_train, kernel)
  tmat = _transfer(g_xx, g_tx, t if finite else None, learning_rate,
                   y_train.size)
  mean = tmat @ y_train
  cross = tmat @ test_train.nngp.T
  cov = test_test.nngp + tmat @ train.nngp @ tmat.T - cross - cross.T
  return mean, cov


def _closed_form(spec, x_train, y_train, x_test, t, learning_rate, kernel):
  return _closed_form_jit(spec, x_train, y_train, x_test,
                          0.0 if t is None else float(t), learning_rate,
                          kernel, t is not None)


def _nt(spec, x_train, y_train, x_test, t, learning_rate, kernel):
  from permjax._src.nt_compat import nt  # pylint: disable=import-outside-toplevel
  # Eager on purpose: under jit nt's kernels with a bias lose ~1e-9 accuracy.
  kernel_fn = spec.nt_triple(y_train.shape[1]).kernel_fn
  predict_fn = nt.predict.gradient_descent_mse_ensemble(
      kernel_fn, x_train, y_train, learning_rate=learning_rate, diag_reg=0.0)
  out = predict_fn(t, x_test, kernel, compute_cov=True)
  return GPPrediction(out.mean, out.covariance)


def gp_predict(spec: MLPSpec, x_train, y_train, x_test, *, t=None,
               learning_rate: float = 1.0, backend: str = "nt",
               kernel: str = "ntk") -> GPPrediction:
  """Mean and covariance of the trained infinitely wide network, float64.

  Args:
    spec: the architecture (its kernels define the GP).
    x_train: ``(n_train, d)`` training inputs.
    y_train: ``(n_train, out_dim)`` training targets.
    x_test: ``(n_test, d)`` test inputs.
    t: training time in steps of size ``learning_rate`` on
      ``0.5 * mean((f - y)**2)``; None means infinite time.
    learning_rate: GD step size (only used for finite ``t``).
    backend: ``"nt"`` (neural-tangents) or ``"closed_form"`` (plain jnp).
    kernel: ``"ntk"`` (gradient descent on all layers) or ``"nngp"``
      (NNGP-kernel regression: readout-only training / Bayesian posterior,
      which wide standard-parameterization nets follow).

  Returns:
    :class:`GPPrediction` with ``mean (n_test, out_dim)`` and
    ``cov (n_test, n_test)``.

  Example:
    >>> import numpy as np
    >>> from permjax._src import permutation as perm_lib
    >>> train = perm_lib.training_set([1, 2, 3, 4, 0])
    >>> test = perm_lib.make_examples([1, 2, 3, 4, 0], [[1, 1, 0, 0, 0]])
    >>> pred = gp_predict(MLPSpec(width=1), train.x, train.y, test.x,
    ...                   backend="closed_form")
    >>> np.round(np.asarray(pred.mean), 6)
    array([[-0.01464 ,  0.560632,  0.560632, -0.01464 , -0.01464 ]])
    >>> round(float(pred.cov[0, 0]), 6)
    0.013235
  """
  spec = check_spec(spec)
  _check_choice("backend", backend, BACKENDS)
  _check_choice("kernel", kernel, KERNELS)
  _check_time(t, learning_rate)
  with jax.enable_x64(True):
    x_train = _as_f64_2d("x_train", x_train)
    y_train = _as_f64_2d("y_train", y_train)
    x_test = _as_f64_2d("x_test", x_test, x_train.shape[1])
    if y_train.shape[0] != x_train.shape[0]:
      raise ValueError(f"x_train has {x_train.shape[0]} rows but y_train has "
                       f"{y_train.shape[0]}")
    if t is None:
      _check_training_kernel(spec, x_train, kernel)
    fn = _nt if backend == "nt" else _closed_form
    mean, cov = fn(spec, x_train, y_train, x_test, t, float(learning_rate),
                   kernel)
    return GPPrediction(np.asarray(mean, np.float64),
                        np.asarray(cov, np.float64))


def posterior_mean(spec: MLPSpec, x_train, y_train, x_test, *,
                   kernel: str = "ntk") -> np.ndarray:
  """The ``t = ∞`` posterior mean ``G(x, X) G_XX⁻¹ Y`` alone, float64 numpy.

  The mean of :func:`gp_predict` (closed form) without the
  ``(n_test, n_test)`` covariance, so its memory is linear in ``n_test``:
  for test sets too large for a dense covariance (all ``2^k - 1`` inputs).

  Example:
    >>> import numpy as np
    >>> from permjax._src import permutation as perm_lib
    >>> train = perm_lib.training_set([1, 2, 3, 4, 0])
    >>> x = perm_lib.make_examples([1, 2, 3, 4, 0], [[1, 1, 0, 0, 0]]).x
    >>> np.round(posterior_mean(MLPSpec(width=1), train.x, train.y, x), 6)
    array([[-0.01464 ,  0.560632,  0.560632, -0.01464 , -0.01464 ]])
  """
  spec = check_spec(spec)
  _check_choice("kernel", kernel, KERNELS)
  with jax.enable_x64(True):
    x_train = np.asarray(_as_f64_2d("x_train", x_train))
    y_train = np.asarray(_as_f64_2d("y_train", y_train))
    x_test = np.asarray(_as_f64_2d("x_test", x_test, x_train.shape[1]))
  if y_train.shape[0] != x_train.shape[0]:
    raise ValueError(f"x_train has {x_train.shape[0]} rows but y_train has "
                     f"{y_train.shape[0]}")
  _check_training_kernel(spec, x_train, kernel)
  g_xx = getattr(kernels_lib.kernel_matrices(spec, x_train), kernel)
  g_tx = getattr(kernels_lib.kernel_matrices(spec, x_test, x_train), kernel)
  return g_tx @ np.linalg.solve(g_xx, np.asarray(y_train, np.float64))


class SymmetricGP(NamedTuple):
  """Closed-form GP statistics of one test input with ``n`` ones (t = ∞).

  Attributes:
    alpha: mean of each output bit whose target is 1.
    beta: mean of each output bit whose target is 0 (< 0 for n >= 2).
    sigma2: variance of every output coordinate.
  """
  alpha: np.ndarray
  beta: np.ndarray
  sigma2: np.ndarray


def symmetric_gp(k, n, *, spec: MLPSpec | None = None, kernel: str = "ntk",
                 normalize: bool = True) -> SymmetricGP:
  """``α_n, β_n, σ²_n`` of the permutation task in O(1) per ``(k, n)``.

  By symmetry the GP of docs/theory/permutation.md §5 depends on a test input only through its
  number of ones ``n`` and on whether the target bit is 1. With ``G`` the
  training kernel (``pI + qJ`` on ``I_k``), ``u, v`` its values between the
  test input and a training input inside / outside the support, and
  ``s = n u + (k - n) v``::

      α = (u - q s / (p + k q)) / p,   β = (v - q s / (p + k q)) / p
      σ² = K(x,x) - 2 (n α u_K + (k-n) β v_K)
           + p_K (n α² + (k-n) β²) + q_K (n α + (k-n) β)²

  Args:
    k: permutation size (array-like; broadcasts against ``n``).
    n: number of ones, ``1..k``.
    spec: architecture; default ``MLPSpec(width=1)`` (ReLU, no bias, NTK
      parameterization: the theory's network).
    kernel: ``"ntk"`` or ``"nngp"``.
    normalize: whether test inputs are L2-normalised.

  Returns:
    :class:`SymmetricGP` of float64 numpy arrays with the broadcast shape.

  Example:
    >>> s = symmetric_gp(10, 5)
    >>> [round(float(v), 6) for v in s]
    [0.28373, -0.040712, 0.012505]
  """
  spec = check_spec(spec, none_ok=True)
  _check_choice("kernel", kernel, KERNELS)
  spec = MLPSpec(width=1) if spec is None else spec
  n = perm_lib.check_ns(n, k)
  nngp, ntk = kernels_lib.symmetric_kernel_values(spec, k, n,
                                                  normalize=normalize)
  g = ntk if kernel == "ntk" else nngp
  k = np.asarray(k, np.float64)
  n = np.asarray(n, np.float64)
  p, q = g.diag - g.off, g.off
  s = n * g.inside + (k - n) * g.outside
  shift = q * s / (p + k * q)
  alpha = (g.inside - shift) / p
  beta = (g.outside - shift) / p
  pk, qk = nngp.diag - nngp.off, nngp.off
  sigma2 = (nngp.test - 2 * (n * alpha * nngp.inside
                             + (k - n) * beta * nngp.outside)
            + pk * (n * alpha**2 + (k - n) * beta**2)
            + qk * (n * alpha + (k - n) * beta)**2)
  return SymmetricGP(alpha, beta, np.maximum(sigma2, 0.0))


def template_mean(alpha, beta, c1, column_weight):
  """The exact mean of a template program's outputs (docs/theory/templates.md
  §3.1): ``μ_j = (α_n − β_n) c_j + β_n C_j``.

  On a state matching ``n`` templates, output bit j is written by ``c_j`` of
  the matched templates and by ``C_j`` templates in all; ``α_n, β_n`` are
  :func:`symmetric_gp`'s at ``k = T + pad``. Broadcasts.

  Example:
    >>> float(template_mean(1.0, 0.0, 1, 3))   # a training point's 1-bit
    1.0
  """
  alpha, beta = np.asarray(alpha), np.asarray(beta)
  return (alpha - beta) * np.asarray(c1) + beta * np.asarray(column_weight)
