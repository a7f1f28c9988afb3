"""Training one finite-width member: full-batch GD, or its linearized limit.

Everything here is a pure function of a spec, parameters and data, jittable
and vmappable over members (:mod:`permjax._src.ensemble_training` does that).

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
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from permjax._src.tangents import mlp_ntk
from permjax._src import models as models_lib
from permjax._src import validation
from permjax._src.models import check_spec
from permjax._src.models import MLPSpec

TRAINERS = ("gd", "linearized")
LOSSES = {"mean": 1.0, "half_mean": 0.5}
DTYPES = ("float32", "float64")
SOLVERS = ("cholesky", "cg")
#: Status codes of a fit. ``MAX_STEPS``: GD's step budget or CG's iteration
#: budget ran out before the tolerance; ``FAILED``: the linearized solve gave
#: non-finite numbers (e.g. a Cholesky factorisation failed).
RUNNING, CONVERGED, MAX_STEPS, DIVERGED, FAILED = 0, 1, 2, 3, 4
STATUS_NAMES = {CONVERGED: "converged", MAX_STEPS: "max_steps",
                DIVERGED: "diverged", RUNNING: "running", FAILED: "failed"}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """How each member is trained.

  Attributes:
    trainer: ``"gd"`` (full-batch gradient descent) or ``"linearized"``
      (closed-form infinite-time solution of the linearized network).
    loss: ``"mean"`` (paper) or ``"half_mean"`` (neural-tangents).
    lr: a step size, or ``"auto"``: ``lr_fraction`` × the largest stable step.
    lr_fraction: fraction of the largest stable step used by ``"auto"``.
    max_lr_fraction: if set, a numeric ``lr`` is capped at this fraction of
      the largest stable step (e.g. the paper's 1e-3, which is unstable for
      standard-parameterization nets of width 50 000 at k = 2, 3).
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
  max_lr_fraction: float | None = None
  max_steps: int = 10_000
  tol: float = 1e-9
  check_every: int = 25
  divergence_factor: float = 10.0
  dtype: str = "float32"
  solver: str = "cholesky"
  cg_tol: float = 1e-6

  def __post_init__(self):
    validation.choice("trainer", self.trainer, TRAINERS)
    validation.choice("loss", self.loss, tuple(LOSSES))
    if isinstance(self.lr, str):
      if self.lr != "auto":
        raise ValueError(f"lr must be a positive number or 'auto', got "
                         f"{self.lr!r}")
    else:
      object.__setattr__(self, "lr", validation.real(
          "lr (a positive number or 'auto')", self.lr, 0.0, low_open=True))
    object.__setattr__(self, "lr_fraction", validation.real(
        "lr_fraction", self.lr_fraction, 0.0, 1.0, low_open=True))
    if self.max_lr_fraction is not None:
      object.__setattr__(self, "max_lr_fraction", validation.real(
          "max_lr_fraction (None or in (0, 1))", self.max_lr_fraction, 0.0,
          1.0, low_open=True, high_open=True))
    for name in ("max_steps", "check_every"):
      object.__setattr__(self, name, validation.integer(
          name, getattr(self, name), 1))
    object.__setattr__(self, "tol", validation.real("tol", self.tol, 0.0))
    object.__setattr__(self, "divergence_factor", validation.real(
        "divergence_factor", self.divergence_factor, 1.0, low_open=True))
    validation.choice("dtype", self.dtype, DTYPES)
    validation.choice("solver", self.solver, SOLVERS)
    object.__setattr__(self, "cg_tol", validation.real(
        "cg_tol", self.cg_tol, 0.0, 1.0, low_open=True, high_open=True))

  def unused_fields(self) -> dict:
    """Fields this config has but its trainer ignores, with the reason (the
    command line refuses setting them).

    Example:
      >>> sorted(TrainConfig(trainer="gd").unused_fields())
      ['cg_tol', 'solver']
    """
    if self.trainer == "gd":
      return {f: "the gd trainer has no linear solve"
              for f in ("solver", "cg_tol")}
    out = {f: "the linearized trainer takes no gradient steps"
           for f in ("lr", "lr_fraction", "max_lr_fraction", "max_steps",
                     "check_every", "divergence_factor")}
    if self.solver == "cholesky":
      out["cg_tol"] = "the cholesky solver is exact (no CG tolerance)"
    return out

  def replace(self, **changes) -> "TrainConfig":
    return dataclasses.replace(self, **changes)

  def step_size(self, lr_max: float) -> float:
    """The GD step used, given the largest stable step ``lr_max``.

    Example:
      >>> TrainConfig(lr="auto").step_size(8.0)
      4.0
      >>> round(TrainConfig(lr=1e-3, max_lr_fraction=0.9).step_size(2.4e-4), 9)
      0.000216
    """
    lr_max = validation.real("lr_max (the largest stable step)", lr_max, 0.0,
                             low_open=True)
    if self.lr == "auto":
      return self.lr_fraction * lr_max
    if self.max_lr_fraction is not None:
      return min(float(self.lr), self.max_lr_fraction * lr_max)
    return float(self.lr)

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


def _check_loss(loss: str) -> None:
  if loss not in LOSSES:
    raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")


def training_loss(pred: jax.Array, target: jax.Array, loss: str) -> jax.Array:
  """``LOSSES[loss] * mean((pred - target)**2)``.

  Example:
    >>> float(training_loss(jnp.ones((2, 2)), jnp.zeros((2, 2)), "half_mean"))
    0.5
  """
  _check_loss(loss)
  if np.shape(pred) != np.shape(target) or not np.size(pred):
    raise ValueError(f"pred and target must have the same non-empty shape, "
                     f"got {np.shape(pred)} and {np.shape(target)}")
  return LOSSES[loss] * jnp.mean((pred - target) ** 2)


def check_fit_args(spec, params, x_train, y_train, in_dim, *, lr=None,
                   config=None) -> MLPSpec:
  """One error naming the bad argument of a one-member trainer (shapes are
  static, so this also runs under jit and vmap)."""
  spec = check_spec(spec)
  if config is not None and not isinstance(config, TrainConfig):
    raise TypeError(f"config must be a permjax.TrainConfig, got {config!r}")
  in_dim = validation.integer("in_dim", in_dim, 1)
  if not hasattr(y_train, "shape") or len(y_train.shape) != 2 or (
      0 in y_train.shape):
    raise ValueError(f"y_train must be (n >= 1, out >= 1), got shape "
                     f"{getattr(y_train, 'shape', type(y_train).__name__)}")
  if x_train is None:
    if y_train.shape[0] != in_dim:
      raise ValueError(f"x_train=None means the {in_dim} basis vectors, but "
                       f"y_train has {y_train.shape[0]} rows")
  elif (len(np.shape(x_train)) != 2
        or np.shape(x_train) != (y_train.shape[0], in_dim)):
    raise ValueError(f"x_train must be (n={y_train.shape[0]}, in_dim="
                     f"{in_dim}), got shape {np.shape(x_train)}")
  if lr is not None and not isinstance(lr, jax.core.Tracer):
    validation.real("lr (the GD step)", np.asarray(lr).item()
                    if np.ndim(lr) == 0 else lr, 0.0, low_open=True)
  spec.check_params(params, in_dim, y_train.shape[-1])
  return spec


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
  spec = check_fit_args(spec, params, x_train, y_train, in_dim)
  _check_loss(loss)
  n = in_dim if x_train is None else x_train.shape[0]
  if n * y_train.shape[-1] <= DENSE_NTK_LIMIT:
    if spec.depth == 1:
      theta = _two_layer_ntk_matrix(spec, params, x_train, in_dim)
    else:
      theta = training_ntk_matrix(spec, params, x_train, in_dim)
    lam = jnp.linalg.eigvalsh(theta)[-1]
  else:
    lam = _top_ntk_eigenvalue(spec, params, x_train, y_train, in_dim)
  c = LOSSES[loss] / y_train.size
  return 1.0 / (c * lam)


def _two_layer_parts(spec, params, in_dim):
  """A one-hidden-layer net's activation, the two layers' forward scales
  ``(s, s_b)`` and its hidden and readout parameter dicts."""
  return (spec.activation_fn(), spec.layer_scales(in_dim),
          spec.layer_scales(spec.width),
          params["params"]["hidden_0"], params["params"]["readout"])


def _two_layer_ntk_matrix(spec, params, x_train, in_dim):
  """:func:`training_ntk_matrix` of a one-hidden-layer net in closed form:

  ``Θ̂[(n,o),(n',o')] = δ_oo' (s2² <h_n, h_n'> + sb2²)
  + s2² (s1² <x_n, x_n'> + sb1²) Σ_h W2[h,o] W2[h,o'] σ'(z_nh) σ'(z_n'h)``

  (``z`` the pre-activations, ``h = σ(z)``); the same numbers as the
  layer-wise kernel, compiled in a fraction of its time."""
  act, (s1, sb1), (s2, sb2), hidden, readout = _two_layer_parts(
      spec, params, in_dim)
  w1, w2 = hidden["kernel"], readout["kernel"]
  x = None if x_train is None else jnp.asarray(x_train, w1.dtype)
  pre = s1 * (w1 if x is None else x @ w1)
  if spec.b_std is not None:
    pre = pre + sb1 * hidden["bias"]
  h, dact = jax.jvp(act, (pre,), (jnp.ones_like(pre),))
  gram_x = (jnp.eye(pre.shape[0], dtype=w1.dtype) if x is None else x @ x.T)
  first = s1**2 * gram_x + (sb1**2 if spec.b_std is not None else 0.0)
  second = s2**2 * (h @ h.T) + (sb2**2 if spec.b_std is not None else 0.0)
  n, out = pre.shape[0], w2.shape[1]
  # Σ_h W2[h,o] W2[h,o'] σ'_nh σ'_n'h, as (n, o, n', o').
  cross = jnp.einsum("nh,ho,mh,hp->nomp", dact, w2, dact, w2)
  theta = (s2**2 * first[:, None, :, None] * cross
           + second[:, None, :, None] * jnp.eye(out, dtype=w1.dtype)[None, :,
                                                                      None])
  return theta.reshape(n * out, n * out)


#: Above this many (example, output) pairs :func:`max_stable_lr` finds
#: ``λ_max`` matrix-free (power iteration on ``J Jᵀ``) instead of forming
#: the empirical NTK and its spectrum (``O((n·out)³)``).
DENSE_NTK_LIMIT = 2048
#: Power iterations of the matrix-free path.
POWER_ITERATIONS = 300


def _top_ntk_eigenvalue(spec, params, x_train, y_train, in_dim):
  """``λ_max(Θ̂)`` with ``Θ̂ = J Jᵀ`` (``J`` = output Jacobian on the
  training set), by power iteration with ``u ↦ J (Jᵀ u)`` (one VJP and one
  JVP per step); the Rayleigh quotient of the last iterate (≤ ``λ_max``,
  converging from below; the GD step is a fraction of ``1/λ``, and
  divergence is detected by the trainer)."""
  dtype = jax.tree.leaves(params)[0].dtype
  model = _model(spec, y_train, dtype)
  f = lambda p: model.apply(p, x_train, in_dim)  # pylint: disable=unnecessary-lambda-assignment
  out, vjp = jax.vjp(f, params)
  u = jnp.ones_like(out) + 0.01 * jnp.sin(
      jnp.arange(out.size, dtype=out.dtype)).reshape(out.shape)

  def ntk_vp(v):
    (g,) = vjp(v)
    return jax.jvp(f, (params,), (g,))[1]

  def body(_, u):
    w = ntk_vp(u)
    return w / jnp.linalg.norm(w)
  u = jax.lax.fori_loop(0, POWER_ITERATIONS, body, u / jnp.linalg.norm(u))
  return jnp.vdot(u, ntk_vp(u)) / jnp.vdot(u, u)


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
  if not isinstance(config, TrainConfig):
    raise TypeError(f"config must be a permjax.TrainConfig, got {config!r}")
  spec = check_fit_args(spec, params, x_train, y_train, in_dim, lr=lr,
                        config=config)
  dtype = config.jnp_dtype
  y_train = jnp.asarray(y_train, dtype)
  if spec.depth == 1:
    stepper = _two_layer_stepper(spec, params, x_train, y_train, lr, config,
                                 in_dim)
  else:
    stepper = _generic_stepper(spec, params, x_train, y_train, lr, config,
                               in_dim)
  return _gd_loop(stepper, config, dtype)


class _Stepper(NamedTuple):
  """One GD trainer's pieces: ``step(carry) -> (carry, loss before it)``,
  ``loss(carry)``, ``params(carry)`` and the initial carry."""
  carry: Any
  step: Callable
  loss: Callable
  params: Callable


def _generic_stepper(spec, params, x_train, y_train, lr, config, in_dim):
  """Any depth: autodiff of the Flax model, optax SGD."""
  model = _model(spec, y_train, config.jnp_dtype)
  optimizer = optax.sgd(lr)

  def loss_of(p):
    return training_loss(model.apply(p, x_train, in_dim), y_train, config.loss)
  grad_fn = jax.value_and_grad(loss_of)

  def step(carry):
    p, opt_state = carry
    loss, grads = grad_fn(p)
    updates, opt_state = optimizer.update(grads, opt_state, p)
    return (optax.apply_updates(p, updates), opt_state), loss
  return _Stepper((params, optimizer.init(params)), step,
                  lambda carry: loss_of(carry[0]), lambda carry: carry[0])


#: Steps unrolled per loop iteration of the two-layer GD trainer.
GD_UNROLL = 5


def readout_gradient(g: jax.Array, h: jax.Array) -> jax.Array:
  """``gᵀ h`` for ``g (n, out)``, ``h (n, width)``: ``(out, width)``.

  ``gᵀ`` is materialised first (an ``(out, n)`` copy): the product is then a
  plain ``(out, n) @ (n, width)`` that XLA's CPU backend hands to its GEMM
  library, not its own dot over the leading axes; the same sums in the same
  order (bitwise equal to ``einsum("no,nm->om", g, h)``), ~4 µs less per
  step at benchmarks/gd_step_profile.py's size.

  Example:
    >>> import jax.numpy as jnp
    >>> readout_gradient(jnp.ones((3, 2)), jnp.ones((3, 4))).shape
    (2, 4)
  """
  return jax.lax.optimization_barrier(g.T) @ h


def _two_layer_stepper(spec, params, x_train, y_train, lr, config, in_dim):
  """One hidden layer: the GD step written out (forward, the three
  products of the backward pass, SGD update), the same arithmetic as
  autodiff + optax SGD in another order.

  The readout weights are carried transposed, ``(out, width)``, so every
  product streams rows of length ``width`` (the skinny ``(width, out)``
  layout is 2–3× slower on CPU; benchmarks/README.md). With basis training
  inputs (``x_train=None``) the first layer's products are its weight rows.
  """
  act, (s1, sb1), (s2, sb2), hidden, readout = _two_layer_parts(
      spec, params, in_dim)
  bias = spec.b_std is not None
  c2 = 2.0 * LOSSES[config.loss] / y_train.size
  x = None if x_train is None else jnp.asarray(x_train, y_train.dtype)

  def forward(w1, b1, w2t, b2):
    pre = s1 * (w1 if x is None else x @ w1)
    if bias:
      pre = pre + sb1 * b1
    h = act(pre)
    out = s2 * jnp.einsum("nm,om->no", h, w2t)
    if bias:
      out = out + sb2 * b2
    return pre, h, out

  def step(carry):
    w1, b1, w2t, b2 = carry
    pre, h, out = forward(w1, b1, w2t, b2)
    r = out - y_train
    loss = (c2 / 2.0) * jnp.sum(r * r)
    g = c2 * r
    dw2t = s2 * readout_gradient(g, h)
    dpre = jax.jvp(act, (pre,), (s2 * (g @ w2t),))[1]
    dw1 = s1 * (dpre if x is None else x.T @ dpre)
    new = (w1 - lr * dw1,
           b1 - lr * (sb1 * dpre.sum(0)) if bias else b1,
           w2t - lr * dw2t,
           b2 - lr * (sb2 * g.sum(0)) if bias else b2)
    return new, loss

  def loss_of(carry):
    r = forward(*carry)[2] - y_train
    return (c2 / 2.0) * jnp.sum(r * r)

  def params_of(carry):
    w1, b1, w2t, b2 = carry
    out = {"hidden_0": {"kernel": w1}, "readout": {"kernel": w2t.T}}
    if bias:
      out["hidden_0"]["bias"] = b1
      out["readout"]["bias"] = b2
    return {"params": out}
  zero = jnp.zeros((), y_train.dtype)
  carry = (hidden["kernel"], hidden.get("bias", zero), readout["kernel"].T,
           readout.get("bias", zero))
  return _Stepper(carry, step, loss_of, params_of)


def _gd_loop(stepper: _Stepper, config: TrainConfig, dtype) -> FitResult:
  """Blocks of ``check_every`` steps in a while-loop, with the stopping,
  step-budget and divergence rules."""

  def one_step(_, state):
    carry, peak = state
    carry, loss = stepper.step(carry)
    # The peak catches a blow-up that a later check would no longer see (a
    # ReLU net at too large a step can spike, then die at a constant loss).
    peak = jnp.where(jnp.isfinite(loss), jnp.maximum(peak, loss), jnp.inf)
    return carry, peak

  # Growth is measured against the best loss so far, but never against less
  # than sqrt(eps) of the initial loss: a converged run's loss jitters at the
  # rounding floor, and that jitter is no divergence.
  floor_fraction = math.sqrt(float(jnp.finfo(dtype).eps))

  def status_of(loss, peak, best, steps):
    reference = jnp.maximum(best, floor_fraction * loss0)
    diverged = (~jnp.isfinite(loss) | ~jnp.isfinite(peak)
                | (jnp.maximum(loss, peak)
                   > config.divergence_factor * reference))
    # int32 whatever jax_enable_x64 says: the while-loop carry is int32.
    return jnp.where(
        diverged, DIVERGED,
        jnp.where(loss < config.tol, CONVERGED,
                  jnp.where(steps >= config.max_steps, MAX_STEPS, RUNNING))
    ).astype(jnp.int32)

  loss0 = stepper.loss(stepper.carry)
  # Static block lengths (a traced trip count would turn every step into a
  # data-dependent loop): whole blocks of check_every steps, then the rest.
  block = min(config.check_every, config.max_steps)
  n_blocks, rest = divmod(config.max_steps, block)

  def advance(state, n_steps):
    carry, steps, _, best, _ = state
    carry, peak = jax.lax.fori_loop(
        0, n_steps, one_step, (carry, jnp.zeros((), best.dtype)),
        unroll=math.gcd(n_steps, GD_UNROLL))
    steps = steps + n_steps
    loss = stepper.loss(carry)
    status = status_of(loss, peak, best, steps)
    return carry, steps, loss, jnp.minimum(best, loss), status

  def cond(state):
    return (state[-1] == RUNNING) & (state[1] < n_blocks * block)

  steps0 = jnp.zeros((), jnp.int32)
  state = (stepper.carry, steps0, loss0, loss0,
           jnp.where(loss0 < config.tol, CONVERGED, RUNNING).astype(jnp.int32))
  state = jax.lax.while_loop(cond, lambda s: advance(s, block), state)
  if rest:
    state = jax.lax.cond(state[-1] == RUNNING, lambda s: advance(s, rest),
                         lambda s: s, state)
  carry, steps, loss, _, status = state
  return FitResult(stepper.params(carry), loss, steps, status)


class LinearizedFit(NamedTuple):
  """One member of the linearized trainer.

  Attributes:
    delta: the parameter displacement (a params pytree).
    residual: the linearized training residual ``Y - f_lin(X)``.
    status: ``CONVERGED`` (finite, relative residual within tolerance),
      ``MAX_STEPS`` (CG stopped above its tolerance) or ``FAILED``
      (non-finite solve, e.g. a failed Cholesky factorisation).
  """
  delta: Any
  residual: jax.Array
  status: jax.Array


def linearized_tolerance(solver: str, cg_tol: float, dtype) -> float:
  """Largest relative residual ``‖Y - f_lin(X)‖ / ‖Y - f0(X)‖`` that counts
  as converged: ``2·cg_tol`` for CG (its own stopping rule, with slack for
  recomputing the residual), at least ``1000·eps`` of the dtype.

  Example:
    >>> linearized_tolerance("cg", 1e-5, jnp.float32)
    0.000119...
  """
  floor = 1e3 * float(jnp.finfo(dtype).eps)
  return max(2.0 * cg_tol, floor) if solver == "cg" else floor


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
    :class:`LinearizedFit`: the parameter displacement, the linearized
    training residual ``Y - f_lin(X)`` (≈ 0) and the status. JAX's CG
    reports no convergence flag, so the status is read off the residual
    (:func:`linearized_tolerance`).

  Example:
    >>> import jax
    >>> spec = MLPSpec(width=256)
    >>> p = spec.init_params(jax.random.key(0), 3, 3)
    >>> fit = fit_linearized(spec, p, None, jnp.eye(3)[::-1], 3)
    >>> bool(jnp.abs(fit.residual).max() < 1e-4), STATUS_NAMES[int(fit.status)]
    (True, 'converged')
  """
  spec = check_fit_args(spec, params, x_train, y_train, in_dim)
  validation.choice("solver", solver, SOLVERS)
  if preconditioner is not None and np.shape(preconditioner) != (
      y_train.shape[0], y_train.shape[0]):
    raise ValueError(f"preconditioner must be (n, n) = ({y_train.shape[0]}, "
                     f"{y_train.shape[0]}), got shape "
                     f"{np.shape(preconditioner)}")
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
  residual = y_train - f0 - moved
  rel = jnp.linalg.norm(residual) / jnp.maximum(jnp.linalg.norm(rhs),
                                                jnp.finfo(dtype).tiny)
  finite = jnp.all(jnp.isfinite(residual)) & jnp.isfinite(rel)
  status = jnp.where(
      ~finite, FAILED,
      jnp.where(rel <= linearized_tolerance(solver, cg_tol, dtype), CONVERGED,
                MAX_STEPS)).astype(jnp.int32)
  return LinearizedFit(delta, residual, status)


def linearized_outputs(spec: MLPSpec, params, delta, x, out_dim: int,
                       dtype=jnp.float32, in_dim: int | None = None
                       ) -> jax.Array:
  """``f0(x) + J(x) δ``: the linearized network after a parameter move ``δ``.

  ``x`` is ``(n, d)`` or :class:`permjax.SparseRows` (then give ``in_dim``).

  Example:
    >>> import jax
    >>> spec = MLPSpec(width=256)
    >>> p = spec.init_params(jax.random.key(0), 3, 3)
    >>> delta = fit_linearized(spec, p, None, jnp.eye(3)[::-1], 3).delta
    >>> out = linearized_outputs(spec, p, delta, jnp.eye(3), 3)
    >>> bool(jnp.allclose(out, jnp.eye(3)[::-1], atol=1e-4))
    True
  """
  spec = check_spec(spec)
  spec.check_params(params, in_dim, out_dim)
  if delta is None:
    raise TypeError("delta (the parameter move of fit_linearized) is "
                    "required")
  spec.check_params(delta, in_dim, out_dim)
  width = params["params"]["hidden_0"]["kernel"].shape[0]
  if not isinstance(x, models_lib.SparseRows) and (
      len(np.shape(x)) != 2 or np.shape(x)[1] != width):
    raise ValueError(f"x must be (n, in_dim={width}), got shape "
                     f"{np.shape(x)}")
  model = spec.flax_model(out_dim, dtype)
  f0, moved = jax.jvp(lambda p: model.apply(p, x, in_dim), (params,),
                      (delta,))
  return f0 + moved
