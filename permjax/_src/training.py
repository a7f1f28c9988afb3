"""Training one finite-width member: full-batch GD, or its linearized limit.

Everything here is a pure function of a spec, parameters and data, jittable
and vmappable over members (:mod:`permjax._src.ensembles` does that).

* :func:`fit_gd`: full-batch gradient descent with ``optax.sgd`` inside
  ``lax.while_loop``; stops at a step budget or when the training loss falls
  below a tolerance (checked every ``check_every`` steps), and flags
  divergence (non-finite loss, or a loss grown ``divergence_factor`` × above
  its best).
* :func:`fit_linearized`: the exact infinite-time GD solution of the
  linearized network, ``f(x) = f0(x) + Θ̂(x, X) Θ̂(X, X)⁻¹ (Y - f0(X))``, with
  the member's own empirical NTK (full output-by-output block).
* :func:`max_stable_lr`: ``2 / λ_max`` of the loss Hessian in function space,
  ``H = 2c Θ̂(X, X)`` for a loss ``c · Σ (f - y)²``.

Loss conventions: ``"mean"`` is the paper's ``mean((f - y)**2)``;
``"half_mean"`` is neural-tangents' ``0.5 * mean((f - y)**2)`` (nt's time
``t`` counts steps on it).

If the training inputs are the standard basis ``I_k`` (the permutation task),
pass ``x_train=None``: the first layer then reads its weight rows instead of
multiplying by the identity (same numbers, one matmul fewer per step).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from permjax._src.kernels import mlp_ntk
from permjax._src.models import MLPSpec

TRAINERS = ("gd", "linearized")
LOSSES = {"mean": 1.0, "half_mean": 0.5}
DTYPES = ("float32", "float64")
SOLVERS = ("cholesky", "cg")
#: Status codes of a fit.
RUNNING, CONVERGED, MAX_STEPS, DIVERGED = 0, 1, 2, 3
STATUS_NAMES = {CONVERGED: "converged", MAX_STEPS: "max_steps",
                DIVERGED: "diverged", RUNNING: "running"}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """How each member is trained.

  Attributes:
    trainer: ``"gd"`` (full-batch gradient descent) or ``"linearized"``
      (closed-form infinite-time solution of the linearized network).
    loss: ``"mean"`` (paper) or ``"half_mean"`` (neural-tangents).
    lr: a step size, or ``"auto"``: ``lr_fraction`` × the largest stable step.
    lr_fraction: fraction of the largest stable step used by ``"auto"``.
    max_steps: step budget.
    tol: stop once the training loss is below this (0 disables).
    check_every: steps between loss checks (stopping and divergence).
    divergence_factor: a loss this many times above its best so far (or a
      non-finite one) means divergence.
    dtype: ``"float32"`` or ``"float64"`` (float64 needs ``jax_enable_x64``).
    solver: linearized trainer only: ``"cholesky"`` (form and factorise the
      empirical NTK) or ``"cg"`` (matrix-free conjugate gradients,
      preconditioned by the infinite-width kernel; faster for large k).
    cg_tol: relative residual at which CG stops.

  Example:
    >>> TrainConfig(lr=1e-3, max_steps=10_000).loss
    'mean'
  """
  trainer: str = "gd"
  loss: str = "mean"
  lr: float | str = "auto"
  lr_fraction: float = 0.5
  max_steps: int = 10_000
  tol: float = 1e-9
  check_every: int = 25
  divergence_factor: float = 10.0
  dtype: str = "float32"
  solver: str = "cholesky"
  cg_tol: float = 1e-6

  def __post_init__(self):
    if self.trainer not in TRAINERS:
      raise ValueError(f"trainer must be one of {TRAINERS}, got "
                       f"{self.trainer!r}")
    if self.loss not in LOSSES:
      raise ValueError(f"loss must be one of {tuple(LOSSES)}, got "
                       f"{self.loss!r}")
    if isinstance(self.lr, str):
      if self.lr != "auto":
        raise ValueError(f"lr must be a positive number or 'auto', got "
                         f"{self.lr!r}")
    elif not (math.isfinite(self.lr) and self.lr > 0):
      raise ValueError(f"lr must be a positive number or 'auto', got "
                       f"{self.lr!r}")
    if not 0 < self.lr_fraction <= 1:
      raise ValueError(f"lr_fraction must be in (0, 1], got "
                       f"{self.lr_fraction!r}")
    for name in ("max_steps", "check_every"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not self.tol >= 0:
      raise ValueError(f"tol must be >= 0, got {self.tol!r}")
    if not self.divergence_factor > 1:
      raise ValueError(f"divergence_factor must be > 1, got "
                       f"{self.divergence_factor!r}")
    if self.dtype not in DTYPES:
      raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
    if self.solver not in SOLVERS:
      raise ValueError(f"solver must be one of {SOLVERS}, got "
                       f"{self.solver!r}")
    if not 0 < self.cg_tol < 1:
      raise ValueError(f"cg_tol must be in (0, 1), got {self.cg_tol!r}")

  def replace(self, **changes) -> "TrainConfig":
    return dataclasses.replace(self, **changes)

  @property
  def jnp_dtype(self):
    return jnp.float32 if self.dtype == "float32" else jnp.float64


class FitResult(NamedTuple):
  """One member after training.

  Attributes:
    params: trained parameters ``{"params": ...}``.
    loss: final training loss (scalar).
    steps: GD steps taken (0 for the linearized trainer).
    status: ``CONVERGED``, ``MAX_STEPS`` or ``DIVERGED``.
  """
  params: Any
  loss: jax.Array
  steps: jax.Array
  status: jax.Array


def training_loss(pred: jax.Array, target: jax.Array, loss: str) -> jax.Array:
  """``LOSSES[loss] * mean((pred - target)**2)``.

  Example:
    >>> float(training_loss(jnp.ones((2, 2)), jnp.zeros((2, 2)), "half_mean"))
    0.5
  """
  return LOSSES[loss] * jnp.mean((pred - target) ** 2)


def _model(spec: MLPSpec, y_train, dtype):
  return spec.flax_model(y_train.shape[-1], dtype)


def training_ntk_matrix(spec: MLPSpec, params, x_train, in_dim: int
                        ) -> jax.Array:
  """The member's empirical NTK on the training set, ``(n·out, n·out)``.

  Rows and columns are ordered (example, output).
  """
  theta = mlp_ntk(spec, params, x_train, in_dim=in_dim)
  n, _, out, _ = theta.shape
  return jnp.transpose(theta, (0, 2, 1, 3)).reshape(n * out, n * out)


def max_stable_lr(spec: MLPSpec, params, x_train, y_train, loss: str,
                  in_dim: int) -> jax.Array:
  """Largest stable GD step, ``2 / λ_max(H)`` with ``H = 2c Θ̂(X, X)``.

  For the loss ``c · Σ (f - y)²`` (``c = LOSSES[loss] / y.size``), one GD
  step moves the training residual by ``-lr · 2c · Θ̂ · residual``; it shrinks
  every mode iff ``lr < 2 / (2c λ_max)``.

  Example:
    >>> import jax
    >>> spec = MLPSpec(width=512)
    >>> p = spec.init_params(jax.random.key(0), 4, 4)
    >>> lr = max_stable_lr(spec, p, None, jnp.eye(4), "half_mean", 4)
    >>> bool(80 < lr < 95)   # 32 / λ_max with λ_max ≈ (a + 4b)/4 ≈ 0.37
    True
  """
  theta = training_ntk_matrix(spec, params, x_train, in_dim)
  lam = jnp.linalg.eigvalsh(theta)[-1]
  c = LOSSES[loss] / y_train.size
  return 1.0 / (c * lam)


def fit_gd(spec: MLPSpec, params, x_train, y_train, lr, config: TrainConfig,
           in_dim: int) -> FitResult:
  """Full-batch gradient descent (optax SGD) from ``params``.

  Args:
    spec: the architecture.
    params: initial parameters.
    x_train: ``(n, d)`` inputs, or None for the standard basis ``I_d``.
    y_train: ``(n, out)`` targets.
    lr: step size (a scalar, may be traced).
    config: stopping rule, loss, divergence test.
    in_dim: ``d``.

  Returns:
    :class:`FitResult`.

  Example:
    >>> import jax
    >>> spec = MLPSpec(width=256)
    >>> p = spec.init_params(jax.random.key(0), 3, 3)
    >>> fit = fit_gd(spec, p, None, jnp.eye(3)[::-1], 20.0,
    ...              TrainConfig(max_steps=2000, tol=1e-10), 3)
    >>> STATUS_NAMES[int(fit.status)], bool(fit.loss < 1e-10)
    ('converged', True)
  """
  dtype = config.jnp_dtype
  model = _model(spec, y_train, dtype)
  y_train = jnp.asarray(y_train, dtype)
  optimizer = optax.sgd(lr)

  def loss_of(p):
    return training_loss(model.apply(p, x_train, in_dim), y_train, config.loss)

  grad_fn = jax.value_and_grad(loss_of)

  def one_step(_, carry):
    p, opt_state, peak = carry
    loss, grads = grad_fn(p)
    updates, opt_state = optimizer.update(grads, opt_state, p)
    # The peak catches a blow-up that a later check would no longer see (a
    # ReLU net at too large a step can spike, then die at a constant loss).
    peak = jnp.where(jnp.isfinite(loss), jnp.maximum(peak, loss), jnp.inf)
    return optax.apply_updates(p, updates), opt_state, peak

  # Growth is measured against the best loss so far, but never against less
  # than sqrt(eps) of the initial loss: a converged run's loss jitters at the
  # rounding floor, and that jitter is no divergence.
  floor_fraction = math.sqrt(float(jnp.finfo(dtype).eps))

  def status_of(loss, peak, best, steps):
    reference = jnp.maximum(best, floor_fraction * loss0)
    diverged = (~jnp.isfinite(loss) | ~jnp.isfinite(peak)
                | (jnp.maximum(loss, peak)
                   > config.divergence_factor * reference))
    return jnp.where(
        diverged, DIVERGED,
        jnp.where(loss < config.tol, CONVERGED,
                  jnp.where(steps >= config.max_steps, MAX_STEPS, RUNNING)))

  loss0 = loss_of(params)
  # Static block lengths (a traced trip count would turn every step into a
  # data-dependent loop): whole blocks of check_every steps, then the rest.
  block = min(config.check_every, config.max_steps)
  n_blocks, rest = divmod(config.max_steps, block)

  def advance(state, n_steps):
    p, opt_state, steps, _, best, _ = state
    p, opt_state, peak = jax.lax.fori_loop(
        0, n_steps, one_step, (p, opt_state, jnp.zeros((), best.dtype)))
    steps = steps + n_steps
    loss = loss_of(p)
    status = status_of(loss, peak, best, steps)
    return p, opt_state, steps, loss, jnp.minimum(best, loss), status

  def cond(state):
    return (state[-1] == RUNNING) & (state[2] < n_blocks * block)

  steps0 = jnp.zeros((), jnp.int32)
  state = (params, optimizer.init(params), steps0, loss0, loss0,
           jnp.where(loss0 < config.tol, CONVERGED, RUNNING).astype(jnp.int32))
  state = jax.lax.while_loop(cond, lambda s: advance(s, block), state)
  if rest:
    state = jax.lax.cond(state[-1] == RUNNING, lambda s: advance(s, rest),
                         lambda s: s, state)
  p, _, steps, loss, _, status = state
  return FitResult(p, loss, steps, status)


def fit_linearized(spec: MLPSpec, params, x_train, y_train, in_dim: int,
                   dtype=jnp.float32, *, solver: str = "cholesky",
                   preconditioner=None, cg_tol: float = 1e-6,
                   cg_maxiter: int = 500):
  """Infinite-time GD on the linearized network, in closed form.

  ``w = Θ̂(X,X)⁻¹ (Y - f0(X))`` (full output blocks); the parameters move by
  ``δ = J(X)ᵀ w`` (the minimum-norm interpolating step) and the linearized
  network is ``f_lin(x) = f0(x) + J(x) δ``.

  Two solvers for ``w``: ``"cholesky"`` forms Θ̂ with :func:`mlp_ntk` and
  factorises it; ``"cg"`` never forms it: conjugate gradients on
  ``v -> J(X) J(X)ᵀ v`` (one VJP and one JVP per iteration) to relative
  residual ``cg_tol``, preconditioned by ``preconditioner`` (an
  ``(n, n)`` matrix ``P`` applied as ``P @ V`` to the ``(n, out)`` residual;
  the inverse of the infinite-width kernel ``Θ(X, X)`` makes the system
  well-conditioned, ``κ ≈ 1 + O(k/sqrt(m))``, so a handful of iterations
  suffice). CG costs ``O(k² m)`` per iteration instead of the ``O(k³ m + k⁶)``
  of forming and factorising Θ̂.

  Returns:
    ``(delta, residual)``: the parameter displacement (a params pytree) and
    the linearized training residual ``Y - f_lin(X)`` (≈ 0).

  Example:
    >>> import jax
    >>> spec = MLPSpec(width=256)
    >>> p = spec.init_params(jax.random.key(0), 3, 3)
    >>> delta, residual = fit_linearized(spec, p, None, jnp.eye(3)[::-1], 3)
    >>> bool(jnp.abs(residual).max() < 1e-4)
    True
  """
  model = _model(spec, y_train, dtype)
  y_train = jnp.asarray(y_train, dtype)

  def f_train(p):
    return model.apply(p, x_train, in_dim)
  f0, vjp = jax.vjp(f_train, params)
  rhs = y_train - f0
  if solver == "cholesky":
    theta = training_ntk_matrix(spec, params, x_train, in_dim)
    chol = jax.scipy.linalg.cho_factor(theta, lower=True)
    w = jax.scipy.linalg.cho_solve(chol, rhs.reshape(-1)).reshape(f0.shape)
  elif solver == "cg":
    def matvec(v):
      (tangent,) = vjp(v)
      return jax.jvp(f_train, (params,), (tangent,))[1]
    precond = None
    if preconditioner is not None:
      pre = jnp.asarray(preconditioner, dtype)
      precond = lambda v: pre @ v  # pylint: disable=unnecessary-lambda-assignment
    w, _ = jax.scipy.sparse.linalg.cg(matvec, rhs, tol=cg_tol,
                                      maxiter=cg_maxiter, M=precond)
  else:
    raise ValueError(f"solver must be 'cholesky' or 'cg', got {solver!r}")
  (delta,) = vjp(w)
  _, moved = jax.jvp(f_train, (params,), (delta,))
  return delta, y_train - f0 - moved


def linearized_outputs(spec: MLPSpec, params, delta, x, out_dim: int,
                       dtype=jnp.float32, in_dim: int | None = None
                       ) -> jax.Array:
  """``f0(x) + J(x) δ``: the linearized network after a parameter move ``δ``.

  ``x`` is ``(n, d)`` or :class:`permjax.SparseRows` (then give ``in_dim``).

  Example:
    >>> import jax
    >>> spec = MLPSpec(width=256)
    >>> p = spec.init_params(jax.random.key(0), 3, 3)
    >>> delta, _ = fit_linearized(spec, p, None, jnp.eye(3)[::-1], 3)
    >>> out = linearized_outputs(spec, p, delta, jnp.eye(3), 3)
    >>> bool(jnp.allclose(out, jnp.eye(3)[::-1], atol=1e-4))
    True
  """
  model = spec.flax_model(out_dim, dtype)
  f0, moved = jax.jvp(lambda p: model.apply(p, x, in_dim), (params,),
                      (delta,))
  return f0 + moved
