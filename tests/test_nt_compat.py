"""neural-tangents runs on the pinned JAX through permjax's compat module."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
from permjax._src import nt_compat
from permjax._src.nt_compat import nt

# docs/theory/permutation.md §4 golden values at k = 4: NTK diag 1/4, off-diagonal b/k = 1/(8π),
# NNGP diag 1/8.
GOLDEN_K4 = {"ntk_diag": 0.25, "ntk_off": 0.0397887, "nngp_diag": 0.125}


def test_patches_are_listed_with_reasons():
  assert nt_compat.PATCHES, "on JAX 0.10 at least jax.core.Jaxpr must be patched"
  assert all(":" in p for p in nt_compat.PATCHES)
  assert any("jax.core.Jaxpr" in p for p in nt_compat.PATCHES)


def test_patched_symbols_resolve():
  import jax.core
  import jax.extend.core
  from jax.interpreters import ad
  import jax.util  # recreated by the compat module when JAX removed it
  assert jax.core.Jaxpr is jax.extend.core.Jaxpr
  assert jax.util.safe_zip([1, 2], [3, 4]) == [(1, 3), (2, 4)]
  with pytest.raises(ValueError, match="length mismatch"):
    jax.util.safe_map(lambda a, b: a, [1], [1, 2])
  assert hasattr(ad, "zeros_like_p")


def test_import_does_not_load_tensorflow():
  code = ("import sys, permjax; nt = permjax.nt; "
          "nt.stax.serial(nt.stax.Dense(3), nt.stax.Relu()); "
          "print('tensorflow' in sys.modules)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, check=True)
  assert out.stdout.strip() == "False"


def test_nt_works_without_tensorflow_and_experimental_says_what_is_missing():
  # tensorflow made unimportable, as in the lean install (whatever this
  # environment holds): stax, predict and the empirical kernels still work,
  # and nt.experimental raises one ImportError naming what to install.
  code = '''
import sys
sys.modules["tensorflow"] = None
import jax.numpy as jnp, permjax
nt = permjax.nt
_, _, kernel_fn = nt.stax.serial(nt.stax.Dense(8), nt.stax.Relu(), nt.stax.Dense(2))
x = jnp.eye(4)
assert abs(float(kernel_fn(x, None, "ntk")[0, 0]) - 0.25) < 1e-6
predict = nt.predict.gradient_descent_mse_ensemble(kernel_fn, x, jnp.eye(4)[:, :2])
assert predict(None, x, "ntk").shape == (4, 2)
init_fn, apply_fn, _ = nt.stax.serial(nt.stax.Dense(8), nt.stax.Relu(), nt.stax.Dense(2))
import jax
_, params = init_fn(jax.random.key(0), x.shape)
assert nt.empirical_ntk_fn(apply_fn)(x, None, params).shape[:2] == (4, 4)
try:
  nt.experimental.empirical_ntk_fn_tf
except ImportError as err:
  print(err)
else:
  raise SystemExit("nt.experimental loaded without TensorFlow")
'''
  out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, check=False)
  assert out.returncode == 0, out.stderr[-2000:]
  message = out.stdout.strip()
  assert "TensorFlow" in message and "pip install tensorflow tf2jax" in message
  assert len(message.splitlines()) == 1


def test_permjax_nt_is_the_patched_module():
  assert permjax.nt is nt


def test_stax_kernel_golden_values():
  _, _, kernel_fn = nt.stax.serial(nt.stax.Dense(512), nt.stax.Relu(),
                                   nt.stax.Dense(4))
  with jax.enable_x64(True):
    kern = kernel_fn(jnp.eye(4, dtype=jnp.float64), None, ("nngp", "ntk"))
    np.testing.assert_allclose(kern.ntk[0, 0], GOLDEN_K4["ntk_diag"], atol=1e-7)
    np.testing.assert_allclose(kern.ntk[0, 1], GOLDEN_K4["ntk_off"], atol=1e-7)
    np.testing.assert_allclose(kern.nngp[0, 0], GOLDEN_K4["nngp_diag"],
                               atol=1e-7)


def _predictor(k=5):
  perm = [1, 2, 3, 4, 0]
  train = permjax.training_set(perm)
  kernel_fn = permjax.MLPSpec(width=1).nt_triple(k).kernel_fn
  return nt.predict.gradient_descent_mse_ensemble(
      kernel_fn, train.x, train.y, diag_reg=0.0)


def test_gradient_descent_mse_ensemble_under_jit_and_vmap():
  with jax.enable_x64(True):
    predict = _predictor()
    x = permjax.inputs_with_n_ones([1, 2, 3, 4, 0], 2).x
    eager = predict(None, x, "ntk", compute_cov=True)
    jitted = jax.jit(lambda x: predict(None, x, "ntk", compute_cov=True))(x)
    vmapped = jax.vmap(lambda xi: predict(None, xi[None], "ntk").ravel())(x)
    finite = jax.jit(lambda t: predict(t, x, "ntk"))(50.0)
    np.testing.assert_allclose(jitted.mean, eager.mean, atol=1e-12)
    np.testing.assert_allclose(jitted.covariance, eager.covariance, atol=1e-12)
    np.testing.assert_allclose(vmapped, eager.mean, atol=1e-12)
    assert np.all(np.isfinite(finite)) and not np.allclose(finite, eager.mean)
    # docs/theory/permutation.md §5 oracle: k = 5, n = 2: α = 0.560632, β = -0.014640.
    np.testing.assert_allclose(np.sort(np.unique(np.round(eager.mean, 6))),
                               [-0.014640, 0.560632], atol=1e-6)


def test_empirical_ntk_fn_matches_permjax_jacobian_ntk(key):
  spec = permjax.MLPSpec(width=64)
  init_fn, apply_fn, _ = spec.nt_triple(3)
  _, params = init_fn(key, (1, 3))
  x = jnp.eye(3)
  ours = permjax.empirical_ntk(apply_fn, params, x)
  theirs = nt.empirical_ntk_fn(apply_fn, trace_axes=())(x, x, params)
  np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)


def test_max_learning_rate_uses_scipy_path():
  k = 6
  ntk = permjax.kernel_matrices(permjax.MLPSpec(width=1), np.eye(k)).ntk
  lr = nt.predict.max_learning_rate(ntk)
  lam = np.linalg.eigvalsh(ntk)[-1]
  np.testing.assert_allclose(lr, 2 * k / lam, rtol=1e-6)


def _small_net(key, k=3, width=16):
  init_fn, apply_fn, _ = nt.stax.serial(
      nt.stax.Dense(width, W_std=1.5, b_std=0.1), nt.stax.Relu(),
      nt.stax.Dense(width), nt.stax.Erf(), nt.stax.Dense(2))
  _, params = init_fn(key, (1, k))
  x1 = jax.random.normal(jax.random.fold_in(key, 1), (4, k))
  x2 = jax.random.normal(jax.random.fold_in(key, 2), (5, k))
  return apply_fn, params, x1, x2


def test_every_empirical_ntk_implementation_agrees_with_autodiff(key):
  # The Jacobian-contraction, NTK-vector-product and structured-derivative
  # implementations (the last walks a jax.linearize jaxpr, patched) and AUTO
  # (which compiles each and compares FLOP counts, patched) against an
  # explicit J1 J2ᵀ from jax.jacobian.
  apply_fn, params, x1, x2 = _small_net(key)
  flat = lambda p, x: apply_fn(p, x).reshape(-1)  # noqa: E731
  j1 = jax.tree.leaves(jax.jacobian(flat)(params, x1))
  j2 = jax.tree.leaves(jax.jacobian(flat)(params, x2))
  direct = sum(a.reshape(a.shape[0], -1) @ b.reshape(b.shape[0], -1).T
               for a, b in zip(j1, j2)).reshape(4, 2, 5, 2)
  direct = np.einsum("iaja->ij", direct) / 2      # nt averages traced axes
  for implementation in nt.NtkImplementation:
    ntk = nt.empirical_ntk_fn(apply_fn, implementation=implementation)(
        x1, x2, params)
    np.testing.assert_allclose(ntk, direct, rtol=2e-4, atol=2e-5,
                               err_msg=str(implementation))


def test_empirical_ntk_with_vmap_axes_matches_without(key):
  # vmap_axes batches over examples; every implementation picks its cost by
  # compiling (the cost-analysis patch), and must give the same kernel.
  apply_fn, params, x1, x2 = _small_net(key)
  plain = nt.empirical_ntk_fn(apply_fn, trace_axes=())(x1, x2, params)
  for implementation in nt.NtkImplementation:
    batched = jax.jit(nt.empirical_ntk_fn(
        apply_fn, trace_axes=(), vmap_axes=0,
        implementation=implementation))(x1, x2, params)
    np.testing.assert_allclose(batched, plain, rtol=2e-4, atol=2e-5,
                               err_msg=str(implementation))


def test_structured_derivatives_on_a_flax_model(key):
  import flax.linen as nn

  class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
      return nn.Dense(3)(nn.tanh(nn.Dense(8)(x)))

  model = MLP()
  x1 = jax.random.normal(key, (3, 4))
  x2 = jax.random.normal(jax.random.fold_in(key, 1), (2, 4))
  params = model.init(key, x1)
  kernels = [
      nt.empirical_ntk_fn(model.apply, implementation=i)(x1, x2, params)
      for i in (nt.NtkImplementation.JACOBIAN_CONTRACTION,
                nt.NtkImplementation.STRUCTURED_DERIVATIVES)]
  np.testing.assert_allclose(kernels[1], kernels[0], rtol=2e-4, atol=2e-5)


def test_new_patches_are_listed_when_jax_needs_them():
  reasons = "\n".join(nt_compat.PATCHES)
  if isinstance(jax.jit(lambda x: x).lower(1.0).compile().cost_analysis(),
                dict):
    assert "cost_analysis" in reasons
  if nt_compat._linearize_is_new():
    assert "linearize" in reasons


def test_finite_time_prediction_vmapped_over_kernels(key):
  # nt.predict computes its eigendecomposition inside jax.core.eval_context;
  # with a kernel that is itself traced (vmapped over draws, as in an
  # empirical-NTK ensemble) the stackless eval trace rejected it.
  def predict(k):
    a = jax.random.normal(k, (4, 4))
    g = a @ a.T + 4 * jnp.eye(4)
    fn = nt.predict.gradient_descent_mse(g, jnp.ones((4, 1)), diag_reg=1e-6)
    return fn(jnp.array([1.0, 5.0]), jnp.zeros((4, 1)))
  keys = jax.random.split(key, 3)
  batched = jax.vmap(predict)(keys)
  for i in range(3):
    np.testing.assert_allclose(batched[i], predict(keys[i]), rtol=1e-5,
                               atol=1e-6)
