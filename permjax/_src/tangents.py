"""The tangent kernel of a finite network (its empirical NTK).

* :func:`empirical_ntk`: ``J(x1) J(x2)ᵀ`` for any ``apply_fn``, through the
  full parameter Jacobian;
* :func:`mlp_ntk`: the same for an :class:`MLPSpec` network, assembled layer
  by layer from each dense layer's inputs and output cotangents (never forms
  the Jacobian).

The infinite-width limits of these kernels are in :mod:`permjax._src.kernels`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from permjax._src.models import densify
from permjax._src.models import check_spec
from permjax._src.models import MLPSpec
from permjax._src.models import SparseRows


def empirical_ntk(apply_fn, params, x1, x2=None) -> jax.Array:
  """The finite network's tangent kernel ``J(x1) J(x2)ᵀ`` over all parameters.

  Args:
    apply_fn: ``(params, x) -> (batch, out_dim)``, e.g. a Flax ``model.apply``.
    params: the parameter pytree.
    x1: ``(n1, d)`` inputs.
    x2: ``(n2, d)`` inputs, or None for ``x1``.

  Returns:
    ``(n1, n2, out_dim, out_dim)`` array: entry ``[a, b, i, j]`` is
    ``<∂f_i(x1_a)/∂θ, ∂f_j(x2_b)/∂θ>``.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> model = MLPSpec(width=8).flax_model(out_dim=2)
    >>> params = model.init(jax.random.key(0), jnp.ones((1, 3)))
    >>> empirical_ntk(model.apply, params, jnp.eye(3)).shape
    (3, 3, 2, 2)
  """
  if not callable(apply_fn):
    raise TypeError(f"apply_fn must be a function (params, x) -> outputs, "
                    f"e.g. a Flax model.apply, got {apply_fn!r}")
  for name, x in (("x1", x1), ("x2", x2)):
    if x is not None and len(np.shape(x)) != 2:
      raise ValueError(f"{name} must be (n, d), got shape {np.shape(x)}")
  if x2 is not None and np.shape(x2)[1] != np.shape(x1)[1]:
    raise ValueError(f"x1 and x2 must have the same d, got {np.shape(x1)} "
                     f"and {np.shape(x2)}")
  layers = params.get("params", params) if hasattr(params, "get") else {}
  hidden = layers.get("hidden_0") if hasattr(layers, "get") else None
  if hidden is not None and "kernel" in hidden and np.shape(
      hidden["kernel"])[0] != np.shape(x1)[1]:
    raise ValueError(f"x1 has d={np.shape(x1)[1]} features; the parameters "
                     f"take {np.shape(hidden['kernel'])[0]}")

  def jac(x):
    tree = jax.jacrev(apply_fn)(params, x)   # leaves: (n, out, *param_shape)
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.concatenate(
        [leaf.reshape(leaf.shape[0], leaf.shape[1], -1) for leaf in leaves],
        axis=-1)

  j1 = jac(x1)
  j2 = j1 if x2 is None else jac(x2)
  return jnp.einsum("aip,bjp->abij", j1, j2)


def _layer_pieces(model, params, x, in_dim):
  """Per dense layer: its input and ∂f_i/∂(pre-activation) for every output i."""
  _, state = model.apply(params, x, in_dim,
                         mutable=["perturbations", "intermediates"])
  zeros = state["perturbations"]

  def f(pert):
    return model.apply({**params, "perturbations": pert}, x, in_dim)
  out, vjp = jax.vjp(f, zeros)
  n, out_dim = out.shape
  cot = jnp.broadcast_to(jnp.eye(out_dim, dtype=out.dtype)[:, None, :],
                         (out_dim, n, out_dim))
  grads = jax.vmap(lambda c: vjp(c)[0])(cot)
  inputs = {name: None if value["inputs"][0] is None
            else densify(value["inputs"][0], in_dim)
            for name, value in state["intermediates"].items()}
  cotangents = {name: value["preact"] for name, value in grads.items()}
  return inputs, cotangents


def mlp_ntk(spec: MLPSpec, params, x1=None, x2=None, *,
            in_dim: int | None = None) -> jax.Array:
  """Empirical NTK of an :class:`MLPSpec` network, layer by layer.

  For a dense layer ``z = s · a W + s_b · b`` the parameter gradients are
  ``∂f_i/∂W = s · a ⊗ g_i`` and ``∂f_i/∂b = s_b · g_i`` with
  ``g_i = ∂f_i/∂z``, so its share of the tangent kernel is
  ``(s² <a, a'> + s_b²) <g_i, g'_j>``. This never forms the parameter
  Jacobian: for the permutation task at width m it costs O(n² k² m) instead of
  O(n² k³ m), and the basis inputs ``I_k`` (``x=None``) need no first-layer
  work at all. It equals :func:`empirical_ntk` of the Flax model.

  Args:
    spec: the architecture.
    params: ``{"params": ...}`` of ``spec.flax_model(out_dim)``.
    x1: ``(n1, d)`` inputs, or None for the standard basis ``I_d``.
    x2: ``(n2, d)`` inputs; None means the same as ``x1``.
    in_dim: ``d`` (read from the parameters when omitted).

  Returns:
    ``(n1, n2, out_dim, out_dim)`` array.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> spec = MLPSpec(width=32, b_std=0.1)
    >>> p = spec.init_params(jax.random.key(0), 3, 2)
    >>> fast = mlp_ntk(spec, p, None)                  # basis inputs I_3
    >>> slow = empirical_ntk(spec.flax_model(2).apply, p, jnp.eye(3))
    >>> bool(jnp.allclose(fast, slow, atol=1e-5))
    True
  """
  spec = check_spec(spec)
  spec.check_params(params, in_dim)
  layers = params["params"]
  in_dim = layers["hidden_0"]["kernel"].shape[0] if in_dim is None else in_dim
  for name, x in (("x1", x1), ("x2", x2)):
    if x is not None and not isinstance(x, SparseRows) and (
        len(np.shape(x)) != 2 or np.shape(x)[1] != in_dim):
      raise ValueError(f"{name} must be (n, in_dim={in_dim}), got shape "
                       f"{np.shape(x)}")
  out_dim = layers["readout"]["kernel"].shape[1]
  dtype = layers["readout"]["kernel"].dtype
  model = spec.flax_model(out_dim, dtype)
  in1, g1 = _layer_pieces(model, params, x1, in_dim)
  in2, g2 = (in1, g1) if x2 is None else _layer_pieces(model, params, x2,
                                                       in_dim)
  total = 0.0
  for name in g1:
    a1, a2 = in1[name], in2[name]
    fan_in = layers[name]["kernel"].shape[0]
    scale, bias_scale = spec.layer_scales(fan_in)
    if a1 is None and a2 is None and spec.b_std is None:
      # Basis inputs and no bias: <e_a, e_b> = δ_ab, so only the diagonal
      # blocks a = b contribute (k³m work instead of k⁴m).
      diag = jnp.einsum("iar,jar->aij", g1[name], g2[name])
      eye = jnp.eye(in_dim, dtype=dtype)
      total = total + scale**2 * eye[:, :, None, None] * diag[:, None]
      continue
    if a1 is None and a2 is None:
      gram = jnp.eye(in_dim, dtype=dtype)
    elif a1 is None:
      gram = a2.T
    elif a2 is None:
      gram = a1
    else:
      gram = a1 @ a2.T
    weight = scale**2 * gram
    if spec.b_std is not None:
      weight = weight + bias_scale**2
    cross = jnp.einsum("iar,jbr->abij", g1[name], g2[name])
    total = total + cross * weight[:, :, None, None]
  return total
