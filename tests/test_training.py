"""Per-member trainers: GD, linearized closed form, stable step sizes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
from permjax._src import training


@pytest.mark.parametrize("spec", [
    permjax.MLPSpec(width=64),
    permjax.MLPSpec(width=64, b_std=0.3, depth=2),
    permjax.MLPSpec(width=64, b_std=0.0, parameterization="standard"),
    permjax.MLPSpec(width=64, activation="erf", b_std=0.5,
                    parameterization="standard"),
])
def test_layerwise_ntk_equals_jacobian_ntk(spec, key):
  perm = [2, 0, 3, 1]
  params = spec.init_params(key, 4, 4)
  x = jnp.asarray(permjax.all_inputs(perm).x, jnp.float32)
  apply = spec.flax_model(4).apply
  for a, b in [(None, None), (x, None), (x[:5], x[3:9])]:
    fast = permjax.mlp_ntk(spec, params, a, b)
    xa = jnp.eye(4) if a is None else a
    slow = permjax.empirical_ntk(apply, params, xa, xa if b is None else b)
    np.testing.assert_allclose(fast, slow, rtol=2e-5, atol=2e-5 * float(
        jnp.abs(slow).max()))


def test_basis_path_equals_identity_inputs(key):
  spec = permjax.MLPSpec(width=32, b_std=0.2)
  params = spec.init_params(key, 5, 5)
  model = spec.flax_model(5)
  np.testing.assert_array_equal(model.apply(params, None, 5),
                                model.apply(params, jnp.eye(5, dtype=jnp.float32)))


def _task(k=6):
  perm = permjax.random_permutation(jax.random.key(3), k)
  return perm, permjax.training_set(perm)


def test_max_stable_lr_matches_analytic_kernel_at_large_width(key):
  """NTK parameterization: Θ̂ → Θ, whose top eigenvalue on I_k is (a + k b)/k
  (docs/theory/permutation.md §4), so lr_max → c⁻¹ k / (a + k b) with c = 1/k² (mean loss)."""
  k = 6
  spec = permjax.MLPSpec(width=16384)
  params = spec.init_params(key, k, k)
  lr = float(permjax.max_stable_lr(spec, params, None, jnp.eye(k), "mean", k))
  a, b = 1 - 1 / (2 * np.pi), 1 / (2 * np.pi)
  expected = k**2 * k / (a + k * b)
  # Θ̂'s top eigenvalue fluctuates by O(1/sqrt(m)) ≈ 1% at this width.
  np.testing.assert_allclose(lr, expected, rtol=0.05)
  half = permjax.max_stable_lr(spec, params, None, jnp.eye(k), "half_mean", k)
  np.testing.assert_allclose(float(half), 2 * lr, rtol=1e-6)


@pytest.mark.parametrize("spec", [
    permjax.MLPSpec(width=512),
    permjax.MLPSpec(width=512, b_std=0.0, parameterization="standard"),
])
def test_gd_converges_with_auto_lr_and_stops_early(spec, key):
  _, train = _task()
  config = permjax.TrainConfig(max_steps=5000, tol=1e-10)
  res = permjax.train_ensemble(spec, train, key, 3, x_test=train.x,
                               config=config)
  assert res.status.tolist() == ["converged"] * 3
  assert np.all(res.final_loss < 1e-10)
  assert np.all(res.steps < 5000) and np.all(res.steps % 25 == 0)
  np.testing.assert_allclose(res.outputs, np.broadcast_to(train.y, (3, 6, 6)),
                             atol=1e-4)
  np.testing.assert_allclose(res.lr, 0.5 * res.max_stable_lr, rtol=1e-6)


def test_step_budget_is_exact_and_losses_are_conventions(key):
  """mean((f-y)²) with lr equals 0.5·mean((f-y)²) with 2·lr, step for step."""
  _, train = _task()
  spec = permjax.MLPSpec(width=128)
  params = spec.init_params(key, 6, 6)
  y = jnp.asarray(train.y, jnp.float32)
  cfg = permjax.TrainConfig(max_steps=37, tol=0.0, check_every=10)
  a = permjax.fit_gd(spec, params, None, y, 20.0, cfg, 6)
  b = permjax.fit_gd(spec, params, None, y, 40.0,
                     cfg.replace(loss="half_mean"), 6)
  assert int(a.steps) == int(b.steps) == 37
  assert int(a.status) == training.MAX_STEPS
  np.testing.assert_allclose(float(a.loss), 2 * float(b.loss), rtol=1e-4)
  for la, lb in zip(jax.tree_util.tree_leaves(a.params),
                    jax.tree_util.tree_leaves(b.params)):
    np.testing.assert_allclose(la, lb, rtol=1e-4, atol=1e-6)


def test_divergence_is_reported_with_the_stable_lr(key, tmp_path):
  _, train = _task()
  spec = permjax.MLPSpec(width=256)
  params = spec.init_params(key, 6, 6)
  lr_max = float(permjax.max_stable_lr(spec, params, None,
                                       jnp.asarray(train.y), "mean", 6))
  bad = permjax.TrainConfig(lr=10.0 * lr_max, max_steps=2000)
  with pytest.raises(permjax.TrainingDivergedError,
                     match=r"lr=\d.*largest stable lr is \d") as err:
    permjax.train_ensemble(spec, train, key, 4, x_test=train.x, config=bad,
                           checkpoint_dir=str(tmp_path / "ckpt"))
  assert f"lr={10.0 * lr_max:.6g}"[:7] in str(err.value)
  assert "No result was written" in str(err.value)
  assert not list((tmp_path / "ckpt" / "chunks").glob("*"))


def test_linearized_matches_gd_at_large_width(key):
  """GD on the real network converges to the linearized network's solution up
  to O(1/sqrt(m)) (the change of the NTK during training). The per-member
  gap must shrink by ≈ sqrt(16) = 4 from width 512 to 8192 and be below 1% of
  the output scale at 8192."""
  perm, train = _task()
  test = permjax.inputs_with_n_ones(perm, 2)
  gaps = []
  for width in (512, 8192):
    spec = permjax.MLPSpec(width=width)
    gd = permjax.train_ensemble(
        spec, train, key, 8, x_test=test.x,
        config=permjax.TrainConfig(max_steps=20000, tol=1e-12))
    lin = permjax.train_ensemble(
        spec, train, key, 8, x_test=test.x,
        config=permjax.TrainConfig(trainer="linearized"))
    assert gd.status.tolist() == ["converged"] * 8
    gaps.append(np.abs(gd.outputs - lin.outputs).max())
    scale = np.abs(lin.outputs).max()
  assert gaps[1] < 0.01 * scale
  assert 2.0 < gaps[0] / gaps[1] < 8.0, gaps


def test_train_config_rejects_bad_values():
  for kwargs, match in [({"trainer": "adam"}, "trainer"),
                        ({"loss": "l1"}, "loss"),
                        ({"lr": -1.0}, "lr"), ({"lr": "fast"}, "lr"),
                        ({"max_steps": 0}, "max_steps"),
                        ({"tol": -1.0}, "tol"),
                        ({"dtype": "bfloat16"}, "dtype")]:
    with pytest.raises(ValueError, match=match):
      permjax.TrainConfig(**kwargs)


@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_matrix_free_stable_step_matches_the_dense_spectrum(parameterization,
                                                            monkeypatch):
  """Above DENSE_NTK_LIMIT, λ_max comes from power iteration on J Jᵀ; on a
  template program's training set (k = 44 inputs, 37 outputs) it agrees with
  the dense eigvalsh within 1%."""
  from permjax._src import training
  prog = permjax.multiplication_program(2)
  x, y = prog.training_set()
  spec = (permjax.MLPSpec(width=512) if parameterization == "ntk" else
          permjax.MLPSpec(width=512, b_std=0.0, parameterization="standard"))
  params = spec.init_params(jax.random.key(1), prog.k, prog.D)
  y = jnp.asarray(y, jnp.float32)
  dense = float(training.max_stable_lr(spec, params, None, y, "mean", prog.k))
  monkeypatch.setattr(training, "DENSE_NTK_LIMIT", 0)
  free = float(training.max_stable_lr(spec, params, None, y, "mean", prog.k))
  assert free == pytest.approx(dense, rel=1e-2)
  assert free >= dense * (1 - 1e-3)  # the Rayleigh quotient is below λ_max
