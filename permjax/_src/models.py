"""One architecture spec, two views: a pure Flax model and its nt kernel triple.

``MLPSpec`` describes a fully connected network ``k -> width -> ... -> k``
(``depth`` hidden layers). From the same spec it builds

* ``spec.flax_model(out_dim)``: a ``flax.linen`` module (pure ``init`` /
  ``apply``) in NTK or standard parameterization;
* ``spec.nt_triple(out_dim)``: neural-tangents' ``(init_fn, apply_fn,
  kernel_fn)`` for the same architecture,

so the finite network and its infinite-width kernel cannot drift apart.

Parameterizations (docs/theory/permutation.md §2):

* ``"ntk"``: every parameter ``N(0, 1)``; a dense layer computes
  ``W_std / sqrt(fan_in) * x @ W + b_std * b``.
* ``"standard"``: ``W ~ N(0, W_std^2 / fan_in)`` (explicit, non-truncated),
  ``b ~ N(0, b_std^2)`` (``b_std = 0`` gives zero-initialised biases that are
  still trained); a dense layer computes ``x @ W + b``.

``b_std=None`` means the layers have no bias at all.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

ACTIVATIONS = ("relu", "erf")
PARAMETERIZATIONS = ("ntk", "standard")


def _activation_fn(name: str) -> Callable[[jax.Array], jax.Array]:
  if name == "relu":
    return jax.nn.relu
  if name == "erf":
    return jax.lax.erf
  raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


class SparseRows(NamedTuple):
  """A batch of inputs stored by their few nonzeros.

  Row ``r`` is ``Σ_j values[r, j] · e_{indices[r, j]}`` (padding entries have
  value 0). The first dense layer then gathers weight rows instead of
  multiplying by a mostly-zero matrix: test inputs with ``n`` ones cost
  ``O(n m)`` instead of ``O(k m)`` each.

  Attributes:
    indices: ``(batch, s)`` int32 feature indices.
    values: ``(batch, s)`` float values.
  """
  indices: jax.Array
  values: jax.Array


def sparse_rows(x, dtype=jnp.float32) -> SparseRows:
  """Stores the rows of a dense ``(batch, d)`` array by their nonzeros.

  Example:
    >>> import numpy as np
    >>> rows = sparse_rows(np.array([[0., 2., 0.], [1., 0., 3.]]))
    >>> rows.indices.tolist(), rows.values.tolist()
    ([[1, 0], [0, 2]], [[2.0, 0.0], [1.0, 3.0]])
  """
  x = np.asarray(x)
  if x.ndim != 2 or x.shape[0] == 0:
    raise ValueError(f"sparse_rows needs a (batch >= 1, d) array, got shape "
                     f"{x.shape}")
  try:
    if not jnp.issubdtype(jnp.dtype(dtype), jnp.floating):
      raise TypeError
  except TypeError:
    raise TypeError(f"dtype must be a floating dtype, got {dtype!r}") from None
  nonzero = x != 0
  width = max(1, int(nonzero.sum(axis=1).max()))
  order = np.argsort(~nonzero, axis=1, kind="stable")[:, :width]
  values = np.take_along_axis(x, order, axis=1)
  indices = np.where(values != 0, order, 0)
  return SparseRows(jnp.asarray(indices, jnp.int32),
                    jnp.asarray(values, dtype))


def densify(x, dim: int):
  """The dense ``(batch, dim)`` array of a :class:`SparseRows` (or ``x``)."""
  if not isinstance(x, SparseRows):
    return x
  eye = jnp.eye(dim, dtype=x.values.dtype)
  return jnp.einsum("ns,nsd->nd", x.values, eye[x.indices])


class NTTriple(NamedTuple):
  """neural-tangents' ``(init_fn, apply_fn, kernel_fn)`` for one architecture."""
  init_fn: Callable
  apply_fn: Callable
  kernel_fn: Callable


def layer_scales(parameterization: str, W_std: float, b_std: float | None,
                 fan_in: int) -> tuple[float, float]:
  """Forward-pass factors ``(s, s_b)`` of a dense layer: ``y = s x W + s_b b``.

  NTK parameterization: ``(W_std / sqrt(fan_in), b_std)`` (``b_std = 0`` when
  there is no bias); standard parameterization: ``(1, 1)`` (the scales live in
  the initialisation).

  Example:
    >>> layer_scales("ntk", 1.0, None, 4), layer_scales("standard", 1.0, 0.0, 4)
    ((0.5, 0.0), (1.0, 1.0))
  """
  if parameterization == "ntk":
    return W_std / math.sqrt(fan_in), (b_std or 0.0)
  return 1.0, 1.0


def _dim(name: str, value) -> int:
  if (isinstance(value, (bool, np.bool_)) or not isinstance(
      value, (int, np.integer)) or value < 1):
    raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
  return int(value)


def check_spec(spec, *, none_ok: bool = False):
  """``spec`` if it is an :class:`MLPSpec` (or None when ``none_ok``), else
  one TypeError.

  Example:
    >>> check_spec("relu")
    Traceback (most recent call last):
    ...
    TypeError: spec must be a permjax.MLPSpec (e.g. permjax.MLPSpec(width=1024)), got 'relu'
  """
  if spec is None and none_ok:
    return None
  if not isinstance(spec, MLPSpec):
    raise TypeError(f"spec must be a permjax.MLPSpec (e.g. "
                    f"permjax.MLPSpec(width=1024)), got {spec!r}")
  return spec


class DenseLayer(nn.Module):
  """A dense layer in NTK or standard parameterization.

  Attributes:
    features: output width.
    W_std: weight scale ``sigma_w``.
    b_std: bias scale ``sigma_b``, or None for no bias.
    parameterization: ``"ntk"`` or ``"standard"``.
    param_dtype: dtype of the parameters.
  """
  features: int
  W_std: float = 1.0
  b_std: float | None = None
  parameterization: str = "ntk"
  param_dtype: Any = jnp.float32

  def scales(self, fan_in: int) -> tuple[float, float]:
    """Forward-pass factors ``(s, s_b)``: ``y = s * x @ W + s_b * b``."""
    return layer_scales(self.parameterization, self.W_std, self.b_std, fan_in)

  @nn.compact
  def __call__(self, x: jax.Array | None, fan_in: int | None = None
               ) -> jax.Array:
    """``x (batch, fan_in) -> (batch, features)``.

    ``x=None`` means the standard basis ``I_fan_in`` (then ``fan_in`` must be
    given): the layer returns its scaled weight rows plus bias, the same
    numbers as ``I @ W`` without the matmul. ``x`` may also be
    :class:`SparseRows` (``fan_in`` given), gathered rather than multiplied.

    The layer input is sown into ``"intermediates"`` (under ``"inputs"``) and
    the pre-activation passes through ``perturb("preact")``; both are no-ops
    unless those collections are requested, and they let
    :func:`permjax.mlp_ntk` build the tangent kernel layer by layer.
    """
    sparse = isinstance(x, SparseRows)
    if x is not None and not sparse:
      fan_in = x.shape[-1]
    ntk = self.parameterization == "ntk"
    w_init = nn.initializers.normal(1.0 if ntk else
                                    self.W_std / math.sqrt(fan_in))
    w = self.param("kernel", w_init, (fan_in, self.features),
                   self.param_dtype)
    scale, bias_scale = self.scales(fan_in)
    self.sow("intermediates", "inputs", x)
    if x is None:
      y = w
    elif sparse:
      y = jnp.einsum("ns,nsf->nf", x.values, w[x.indices])
    else:
      y = x @ w
    if scale != 1.0:
      y = y * scale
    if self.b_std is not None:
      b_init = nn.initializers.normal(1.0 if ntk else self.b_std)
      b = self.param("bias", b_init, (self.features,), self.param_dtype)
      y = y + (b * bias_scale if bias_scale != 1.0 else b)
    if self.is_initializing():  # keep "perturbations" out of init's output
      return y
    return self.perturb("preact", y)


class MLP(nn.Module):
  """The Flax view of an :class:`MLPSpec`: ``depth`` hidden layers, then a readout."""
  spec: "MLPSpec"
  out_dim: int
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array | None, in_dim: int | None = None
               ) -> jax.Array:
    """``x (batch, in_dim) -> (batch, out_dim)``.

    ``x=None`` evaluates the network on the standard basis ``I_in_dim`` (the
    permutation task's training inputs) without the first matmul; the result
    equals ``apply(params, jnp.eye(in_dim))``. ``x`` may be
    :class:`SparseRows` (with ``in_dim``).
    """
    s = self.spec
    act = _activation_fn(s.activation)
    for i in range(s.depth):
      x = DenseLayer(s.width, s.W_std, s.b_std, s.parameterization,
                     self.param_dtype, name=f"hidden_{i}")(
                         x, in_dim if i == 0 else None)
      x = act(x)
    return DenseLayer(self.out_dim, s.W_std, s.b_std, s.parameterization,
                      self.param_dtype, name="readout")(x)


@dataclasses.dataclass(frozen=True)
class MLPSpec:
  """A fully connected network and its infinite-width limit, from one spec.

  Attributes:
    width: hidden width ``m`` (ignored by the NTK-parameterization kernels,
      used by the standard-parameterization NTK, which grows with ``m``).
    depth: number of hidden layers (the paper's network has 1).
    activation: ``"relu"`` or ``"erf"``.
    W_std: weight scale ``sigma_w``.
    b_std: bias scale ``sigma_b``; None for no biases.
    parameterization: ``"ntk"`` or ``"standard"``.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> spec = MLPSpec(width=64)
    >>> model = spec.flax_model(out_dim=3)
    >>> params = model.init(jax.random.key(0), jnp.eye(3))
    >>> model.apply(params, jnp.eye(3)).shape
    (3, 3)
    >>> init_fn, apply_fn, kernel_fn = spec.nt_triple(out_dim=3)
    >>> round(float(kernel_fn(jnp.eye(4), None, "ntk")[0, 0]), 6)
    0.25
  """
  width: int
  depth: int = 1
  activation: str = "relu"
  W_std: float = 1.0
  b_std: float | None = None
  parameterization: str = "ntk"

  def __post_init__(self):
    # numpy scalars (np.arange sweeps) are accepted and stored as Python
    # numbers, so specs stay hashable and compare equal to hand-written ones.
    for name in ("width", "depth"):
      value = getattr(self, name)
      if isinstance(value, np.integer):
        object.__setattr__(self, name, int(value))
    for name in ("W_std", "b_std"):
      value = getattr(self, name)
      if isinstance(value, (np.integer, np.floating)) and not isinstance(
          value, np.bool_):
        object.__setattr__(self, name, float(value))
    if (isinstance(self.width, bool) or not isinstance(self.width, int)
        or self.width < 1):
      raise ValueError(f"width must be an integer >= 1, got {self.width!r}")
    if (isinstance(self.depth, bool) or not isinstance(self.depth, int)
        or self.depth < 1):
      raise ValueError(f"depth (hidden layers) must be an integer >= 1, "
                       f"got {self.depth!r}")
    if self.activation not in ACTIVATIONS:
      raise ValueError(f"activation must be one of {ACTIVATIONS}, "
                       f"got {self.activation!r}")
    if self.parameterization not in PARAMETERIZATIONS:
      raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS},"
                       f" got {self.parameterization!r}")
    if isinstance(self.W_std, bool) or not (
        isinstance(self.W_std, (int, float)) and self.W_std > 0
        and math.isfinite(self.W_std)):
      raise ValueError(f"W_std must be a finite number > 0, got {self.W_std!r}")
    if self.b_std is not None and (isinstance(self.b_std, bool) or not (
        isinstance(self.b_std, (int, float)) and self.b_std >= 0
        and math.isfinite(self.b_std))):
      raise ValueError(f"b_std must be None (no bias) or a finite number >= 0,"
                       f" got {self.b_std!r}")

  @property
  def kernel(self) -> str:
    """The GP kernel a wide network of this spec follows once trained:
    ``"ntk"`` in NTK parameterization, ``"nngp"`` in standard
    parameterization, whose tangent kernel the readout layer dominates at
    large width (docs/theory/permutation.md §5).

    Example:
      >>> MLPSpec(width=8).kernel, MLPSpec(width=8, parameterization="standard").kernel
      ('ntk', 'nngp')
    """
    return "ntk" if self.parameterization == "ntk" else "nngp"

  def activation_fn(self) -> Callable[[jax.Array], jax.Array]:
    """The activation as a JAX function (``jax.nn.relu`` or ``lax.erf``)."""
    return _activation_fn(self.activation)

  def layer_scales(self, fan_in: int) -> tuple[float, float]:
    """Forward-pass factors ``(s, s_b)`` of a dense layer of this spec with
    ``fan_in`` inputs: ``y = s x W + s_b b`` (see :func:`layer_scales`).

    Example:
      >>> MLPSpec(width=8).layer_scales(4)
      (0.5, 0.0)
    """
    return layer_scales(self.parameterization, self.W_std, self.b_std, fan_in)

  def replace(self, **changes) -> "MLPSpec":
    """A copy with some fields changed."""
    return dataclasses.replace(self, **changes)

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)

  def check_params(self, params, in_dim: int | None = None,
                   out_dim: int | None = None) -> None:
    """Raises unless ``params`` has this spec's layers, shapes and biases.

    Catches parameters of another spec (another width, depth, bias or
    input/output size). Two specs that differ only in parameterization or in
    ``W_std``/``b_std`` values have the same parameter shapes and cannot be
    told apart from the parameters.

    Example:
      >>> import jax
      >>> p = MLPSpec(width=8).init_params(jax.random.key(0), 3, 3)
      >>> MLPSpec(width=16).check_params(p)
      Traceback (most recent call last):
      ...
      ValueError: parameters do not belong to MLPSpec(width=16, depth=1, activation='relu', W_std=1.0, b_std=None, parameterization='ntk'): hidden_0/kernel has shape (3, 8), the spec needs (3, 16)
    """
    layers = params.get("params", params) if isinstance(params, dict) else None
    names = [f"hidden_{i}" for i in range(self.depth)] + ["readout"]
    where = f"parameters do not belong to {self!r}"
    if not isinstance(layers, dict) or sorted(layers) != sorted(names):
      found = sorted(layers) if isinstance(layers, dict) else type(params)
      raise ValueError(f"{where}: layers {found}, the spec has {names}")
    for name in names:
      if not hasattr(layers[name], "keys") or "kernel" not in layers[name]:
        raise ValueError(f"{where}: {name} has no kernel (weights)")
    in_dim = layers["hidden_0"]["kernel"].shape[0] if in_dim is None else in_dim
    out_dim = (layers["readout"]["kernel"].shape[1] if out_dim is None
               else out_dim)
    widths = [in_dim] + [self.width] * self.depth + [out_dim]
    for name, fan_in, fan_out in zip(names, widths[:-1], widths[1:]):
      layer = layers[name]
      if not hasattr(layer, "keys") or "kernel" not in layer:
        raise ValueError(f"{where}: {name} has no kernel (weights)")
      shape = tuple(np.shape(layer["kernel"]))
      if shape != (fan_in, fan_out):
        raise ValueError(f"{where}: {name}/kernel has shape {shape}, the spec "
                         f"needs {(fan_in, fan_out)}")
      if ("bias" in layer) != (self.b_std is not None):
        has = "has a bias" if "bias" in layer else "has no bias"
        raise ValueError(f"{where}: {name} {has}, the spec has b_std="
                         f"{self.b_std}")

  def init_params(self, key: jax.Array, in_dim: int, out_dim: int,
                  param_dtype: Any = jnp.float32) -> dict:
    """Fresh parameters ``{"params": ...}`` of the Flax model (no other
    collections).

    Example:
      >>> import jax
      >>> p = MLPSpec(width=16).init_params(jax.random.key(0), 3, 3)
      >>> sorted(p["params"])
      ['hidden_0', 'readout']
    """
    in_dim = _dim("in_dim", in_dim)
    model = self.flax_model(out_dim, param_dtype)
    variables = model.init(key, jnp.zeros((1, in_dim), param_dtype),
                           mutable=["params"])
    return {"params": variables["params"]}

  def flax_model(self, out_dim: int, param_dtype: Any = jnp.float32) -> MLP:
    """The finite network as a pure Flax module.

    Args:
      out_dim: number of outputs (``k`` for the permutation task).
      param_dtype: parameter dtype (float32 for training, float64 for checks).

    Returns:
      an ``MLP`` module; ``model.init(key, x)`` and ``model.apply(params, x)``
      map ``(batch, k)`` inputs to ``(batch, out_dim)`` outputs.
    """
    return MLP(self, _dim("out_dim", out_dim), param_dtype)

  def nt_triple(self, out_dim: int) -> NTTriple:
    """neural-tangents' ``(init_fn, apply_fn, kernel_fn)`` for this spec."""
    from permjax._src.nt_compat import nt  # pylint: disable=import-outside-toplevel
    stax = nt.stax
    act = {"relu": stax.Relu, "erf": stax.Erf}[self.activation]
    layers = []
    for _ in range(self.depth):
      layers += [stax.Dense(self.width, W_std=self.W_std, b_std=self.b_std,
                            parameterization=self.parameterization), act()]
    layers.append(stax.Dense(_dim("out_dim", out_dim), W_std=self.W_std,
                             b_std=self.b_std,
                             parameterization=self.parameterization))
    return NTTriple(*stax.serial(*layers))
