"""MLPSpec: the Flax model and the nt triple describe the same network."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax

SEEDS = 16


def _nt_params_to_flax(nt_params, depth):
  dense = [p for p in nt_params if p != ()]
  names = [f"hidden_{i}" for i in range(depth)] + ["readout"]
  out = {}
  for name, layer in zip(names, dense):
    w, b = layer
    out[name] = ({"kernel": w} if b is None
                 else {"kernel": w, "bias": b.reshape(-1)})
  return {"params": out}


@pytest.mark.parametrize("spec", [
    permjax.MLPSpec(width=32),
    permjax.MLPSpec(width=32, b_std=0.3, depth=2),
    permjax.MLPSpec(width=32, parameterization="standard", b_std=0.0),
    permjax.MLPSpec(width=32, activation="erf", parameterization="standard",
                    b_std=0.5),
])
def test_flax_forward_equals_nt_forward(spec, key):
  k = 5
  init_fn, apply_fn, _ = spec.nt_triple(k)
  _, nt_params = init_fn(key, (1, k))
  params = _nt_params_to_flax(nt_params, spec.depth)
  x = permjax.all_inputs([1, 2, 3, 4, 0]).x.astype(np.float32)
  ours = spec.flax_model(k).apply(params, x)
  np.testing.assert_allclose(ours, apply_fn(nt_params, x), rtol=1e-5,
                             atol=1e-6)


def test_initialisation_distributions(key):
  big = 4096
  ntk = permjax.MLPSpec(width=big, b_std=0.5).flax_model(8).init(
      key, jnp.ones((1, 8)))["params"]
  std = permjax.MLPSpec(width=big, b_std=0.5, W_std=2.0,
                        parameterization="standard").flax_model(8).init(
                            key, jnp.ones((1, 8)))["params"]
  # NTK parameterization: every parameter N(0, 1) (leaves with >= 4096
  # entries, so the sample std is within 5% with overwhelming probability).
  for leaf in jax.tree_util.tree_leaves(ntk):
    if leaf.size >= 4096:
      assert abs(float(jnp.std(leaf)) - 1.0) < 0.05
  # Standard: W ~ N(0, W_std²/fan_in), not truncated (a truncated normal at
  # 2σ has kurtosis ≈ 2.4, a normal 3); biases N(0, b_std²).
  w = std["hidden_0"]["kernel"]
  np.testing.assert_allclose(float(jnp.std(w)), 2.0 / np.sqrt(8), rtol=0.03)
  z = np.asarray(w).ravel() / (2.0 / np.sqrt(8))
  assert 2.85 < float(np.mean(z**4)) < 3.15
  assert np.abs(z).max() > 3.0
  np.testing.assert_allclose(float(jnp.std(std["readout"]["kernel"])),
                             2.0 / np.sqrt(big), rtol=0.05)
  np.testing.assert_allclose(float(jnp.std(std["hidden_0"]["bias"])), 0.5,
                             rtol=0.05)
  zero = permjax.MLPSpec(width=16, b_std=0.0, parameterization="standard")
  p = zero.flax_model(3).init(key, jnp.ones((1, 3)))["params"]
  assert float(jnp.abs(p["hidden_0"]["bias"]).max()) == 0.0
  nobias = permjax.MLPSpec(width=16).flax_model(3).init(key, jnp.ones((1, 3)))
  assert "bias" not in nobias["params"]["hidden_0"]


def _empirical_ntks(spec, x, k, key, seeds=SEEDS):
  model = spec.flax_model(k)

  def one(member_key):
    params = model.init(member_key, x)
    return permjax.empirical_ntk(model.apply, params, x)
  keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(seeds))
  return np.asarray(jax.lax.map(one, keys), np.float64)


def _probe_inputs(k):
  perm = list(range(k))
  return np.concatenate([np.eye(k), permjax.inputs_with_n_ones(perm, 2).x[:3],
                         permjax.inputs_with_n_ones(perm, 3).x[:3]])


@pytest.mark.parametrize("spec", [
    permjax.MLPSpec(width=8192),
    permjax.MLPSpec(width=8192, b_std=0.5),
    permjax.MLPSpec(width=8192, b_std=0.0, parameterization="standard"),
])
def test_empirical_ntk_converges_to_kernel_fn(spec, key):
  """The finite-width NTK is an average over the m hidden units (plus bias
  terms) of i.i.d. contributions whose mean is the analytic kernel, so across
  independent initialisations it is unbiased with standard error
  O(1/sqrt(m)). We compare the mean over 16 seeds with nt's kernel_fn within
  6 standard errors (estimated from the same seeds), check the output blocks
  off the diagonal average to zero the same way, and check the scatter shrinks
  like 1/sqrt(m) between widths m/16 and m.
  """
  k = 6
  x = _probe_inputs(k)
  theta = _empirical_ntks(spec, x, k, key)
  with jax.enable_x64(True):
    expected = np.asarray(spec.nt_triple(k).kernel_fn(
        jnp.asarray(x, jnp.float64), None, "ntk"))
  per_out = np.einsum("sabii->sabi", theta)
  mean = per_out.mean(0)
  se = per_out.std(0, ddof=1) / np.sqrt(SEEDS)
  dev = np.abs(mean - expected[..., None])
  assert np.all(dev <= 6 * se + 1e-6 * np.abs(expected).max()), dev.max()
  off = theta * (1 - np.eye(k))
  off_se = off.std(0, ddof=1) / np.sqrt(SEEDS) + 1e-12
  assert np.all(np.abs(off.mean(0)) <= 6 * off_se + 1e-7)
  # Also against permjax's own closed form.
  np.testing.assert_allclose(permjax.kernel_matrices(spec, x).ntk, expected,
                             rtol=1e-12)
  # Scatter ∝ 1/sqrt(m) (relative to the kernel's scale).
  narrow = spec.replace(width=spec.width // 16)
  theta_n = _empirical_ntks(narrow, x, k, key)
  scale_n = np.abs(np.asarray(permjax.kernel_matrices(narrow, x).ntk)).max()
  scale = np.abs(expected).max()
  ratio = (np.einsum("sabii->sabi", theta_n).std(0).mean() / scale_n) / (
      per_out.std(0).mean() / scale)
  assert 2.5 < ratio < 6.5, ratio  # sqrt(16) = 4


def test_standard_tangent_kernel_has_nngp_shape(key):
  """In standard parameterization the readout's gradient (m hidden features)
  dominates the tangent kernel, so on the basis vectors its off-diagonal /
  diagonal ratio approaches the NNGP's b / (a' + b) = 1/π as m grows."""
  k = 6
  spec = permjax.MLPSpec(width=8192, b_std=0.0, parameterization="standard")
  theta = _empirical_ntks(spec, np.eye(k), k, key)
  per_out = np.einsum("sabii->sab", theta) / k
  diag = np.mean([per_out[:, i, i] for i in range(k)], axis=0)
  off = np.mean([per_out[:, i, j] for i in range(k) for j in range(k) if i != j],
                axis=0)
  ratios = off / diag
  analytic = permjax.kernel_matrices(spec, np.eye(k)).ntk
  analytic_ratio = analytic[0, 1] / analytic[0, 0]
  se = ratios.std(ddof=1) / np.sqrt(len(ratios))
  assert abs(ratios.mean() - analytic_ratio) <= 6 * se
  # The finite-width correction is O(k/m) and shrinks to 1/π.
  assert abs(analytic_ratio - 1 / np.pi) < 1e-3
  nngp = permjax.kernel_matrices(spec, np.eye(k)).nngp
  np.testing.assert_allclose(nngp[0, 1] / nngp[0, 0], 1 / np.pi, rtol=1e-12)
  huge = permjax.kernel_matrices(spec.replace(width=10**9), np.eye(k)).ntk
  np.testing.assert_allclose(huge[0, 1] / huge[0, 0], 1 / np.pi, rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"width": 0}, "width"),
    ({"width": 8, "depth": 0}, "depth"),
    ({"width": 8, "activation": "tanh"}, "activation"),
    ({"width": 8, "parameterization": "mup"}, "parameterization"),
    ({"width": 8, "W_std": -1.0}, "W_std"),
    ({"width": 8, "b_std": -0.1}, "b_std"),
])
def test_spec_rejects_bad_fields(kwargs, match):
  with pytest.raises(ValueError, match=match):
    permjax.MLPSpec(**kwargs)
