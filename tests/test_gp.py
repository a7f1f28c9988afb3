"""GP prediction: closed form vs neural-tangents, oracle values (docs/theory/permutation.md §5), sign features."""

import itertools

import numpy as np
import pytest

import permjax

# docs/theory/permutation.md §5 oracle (NTK parameterization, no bias, t = ∞, normalised inputs):
# (k, n): (α_n, β_n, σ²_n).
ORACLE = {
    (5, 2): (0.560632, -0.014640, 0.013235),
    (5, 3): (0.411078, -0.032024, 0.019086),
    (10, 2): (0.565422, -0.009850, 0.006519),
    (10, 5): (0.283730, -0.040712, 0.012505),
    (30, 15): (0.127590, -0.045054, 0.005866),
    (100, 2): (0.573842, -0.001430, 0.000637),
}


def _task(k, seed=0):
  import jax
  perm = permjax.random_permutation(jax.random.key(seed), k)
  return perm, permjax.training_set(perm)


@pytest.mark.parametrize("k, n_values", [(3, (2, 3)), (6, (2, 4)),
                                         (9, (2, 5, 9))])
@pytest.mark.parametrize("b_std", [None, 0.5])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("regime", ["ntk", "nngp"])
def test_closed_form_matches_nt(k, n_values, b_std, normalize, regime):
  perm, train = _task(k)
  x = np.concatenate([permjax.inputs_with_n_ones(perm, n, normalize=normalize).x
                      for n in n_values])
  spec = permjax.MLPSpec(width=1, b_std=b_std)
  ours = permjax.gp_predict(spec, train.x, train.y, x, backend="closed_form",
                            kernel=regime)
  ref = permjax.gp_predict(spec, train.x, train.y, x, backend="nt",
                           kernel=regime)
  assert ours.mean.dtype == np.float64 and ref.cov.dtype == np.float64
  np.testing.assert_allclose(ours.mean, ref.mean, rtol=0, atol=1e-10)
  np.testing.assert_allclose(ours.cov, ref.cov, rtol=0, atol=1e-10)


@pytest.mark.parametrize("spec", [
    permjax.MLPSpec(width=4096, b_std=0.0, parameterization="standard"),
    permjax.MLPSpec(width=64, depth=2, activation="erf", b_std=0.3),
])
@pytest.mark.parametrize("t", [None, 7.5])
def test_closed_form_matches_nt_other_architectures_and_finite_time(spec, t):
  perm, train = _task(5)
  x = permjax.all_inputs(perm).x
  for regime in ("ntk", "nngp"):
    ours = permjax.gp_predict(spec, train.x, train.y, x, t=t, learning_rate=3.0,
                              backend="closed_form", kernel=regime)
    ref = permjax.gp_predict(spec, train.x, train.y, x, t=t, learning_rate=3.0,
                             backend="nt", kernel=regime)
    scale = max(1.0, np.abs(ref.cov).max())
    np.testing.assert_allclose(ours.mean, ref.mean, atol=1e-10)
    np.testing.assert_allclose(ours.cov, ref.cov, atol=1e-10 * scale)


@pytest.mark.parametrize("kn, expected", sorted(ORACLE.items()))
def test_symmetric_closed_form_oracle(kn, expected):
  k, n = kn
  stats = permjax.symmetric_gp(k, n)
  np.testing.assert_allclose([float(v) for v in stats], expected, atol=6e-7)


@pytest.mark.parametrize("regime", ["ntk", "nngp"])
@pytest.mark.parametrize("b_std", [None, 0.5])
def test_symmetric_closed_form_matches_gp_predict(regime, b_std):
  k = 7
  perm, train = _task(k, seed=3)
  spec = permjax.MLPSpec(width=1, b_std=b_std)
  for n in range(1, k + 1):
    test = permjax.inputs_with_n_ones(perm, n)
    pred = permjax.gp_predict(spec, train.x, train.y, test.x,
                              backend="closed_form", kernel=regime)
    stats = permjax.symmetric_gp(k, n, spec=spec, kernel=regime)
    ones = test.y == 1
    np.testing.assert_allclose(pred.mean[ones], stats.alpha, atol=1e-12)
    if n < k:
      np.testing.assert_allclose(pred.mean[~ones], stats.beta, atol=1e-12)
    np.testing.assert_allclose(np.diag(pred.cov), stats.sigma2, atol=1e-12)


@pytest.mark.parametrize("regime", ["ntk", "nngp"])
def test_sign_of_mean_is_the_permutation_on_every_input(regime):
  for k in range(2, 11):
    perm, train = _task(k, seed=k)
    spec = permjax.MLPSpec(width=1)
    for chunk in permjax.iter_all_inputs(perm, chunk_size=256):
      mean = permjax.gp_predict(spec, train.x, train.y, chunk.x,
                                backend="closed_form", kernel=regime).mean
      np.testing.assert_array_equal(mean > 1e-10, chunk.y == 1)


def test_sign_features_hold_for_every_n_up_to_large_k():
  ks = np.arange(2, 400)
  for regime in ("ntk", "nngp"):
    for k in ks[::37]:
      stats = permjax.symmetric_gp(np.full(k - 1, k), np.arange(2, k + 1),
                                   kernel=regime)
      assert np.all(stats.alpha > 0)
      assert np.all(stats.beta[:-1] < 0)  # n = k has no zero bits
  one = permjax.symmetric_gp(ks, 1)
  np.testing.assert_allclose(one.alpha, 1.0, atol=1e-12)
  np.testing.assert_allclose(one.beta, 0.0, atol=1e-12)


@pytest.mark.parametrize("backend", ["nt", "closed_form"])
@pytest.mark.parametrize("regime", ["ntk", "nngp"])
def test_training_points_are_interpolated_with_zero_variance(backend, regime):
  perm, train = _task(6)
  spec = permjax.MLPSpec(width=1, b_std=0.5)
  pred = permjax.gp_predict(spec, train.x, train.y, train.x, backend=backend,
                            kernel=regime)
  np.testing.assert_allclose(pred.mean, train.y, atol=1e-10)
  np.testing.assert_allclose(pred.cov, 0.0, atol=1e-10)


def test_finite_time_follows_nt_time_convention():
  """t steps of size lr on 0.5 * mean((f - y)²) over all k·k entries: at
  small t the mean moves by lr · t · Θ(x, X) Y / (k·k)."""
  k = 4
  perm, train = _task(k)
  x = permjax.inputs_with_n_ones(perm, 2).x
  spec = permjax.MLPSpec(width=1)
  lr, t = 0.5, 1e-4
  pred = permjax.gp_predict(spec, train.x, train.y, x, t=t, learning_rate=lr,
                            backend="closed_form")
  theta = permjax.kernel_matrices(spec, x, train.x).ntk
  np.testing.assert_allclose(pred.mean, lr * t * theta @ train.y / k**2,
                             rtol=1e-4)
  late = permjax.gp_predict(spec, train.x, train.y, x, t=1e9, learning_rate=lr,
                            backend="closed_form")
  inf = permjax.gp_predict(spec, train.x, train.y, x, backend="closed_form")
  np.testing.assert_allclose(late.mean, inf.mean, atol=1e-9)


@pytest.mark.parametrize("kwargs, match", [
    ({"backend": "torch"}, "backend"),
    ({"kernel": "mup"}, "kernel"),
    ({"t": -1.0}, "t must be"),
    ({"t": float("inf")}, "t must be"),
    ({"learning_rate": 0.0}, "learning_rate"),
])
def test_gp_predict_rejects_bad_arguments(kwargs, match):
  perm, train = _task(3)
  with pytest.raises(ValueError, match=match):
    permjax.gp_predict(permjax.MLPSpec(width=1), train.x, train.y, train.x,
                       **kwargs)


def test_gp_predict_rejects_bad_shapes():
  perm, train = _task(3)
  spec = permjax.MLPSpec(width=1)
  with pytest.raises(ValueError, match="x_test has 4 columns, expected 3"):
    permjax.gp_predict(spec, train.x, train.y, np.ones((2, 4)))
  with pytest.raises(ValueError, match="x_train has 3 rows but y_train has 2"):
    permjax.gp_predict(spec, train.x, train.y[:2], train.x)
  with pytest.raises(ValueError, match="2-D"):
    permjax.gp_predict(spec, train.x, train.y, np.ones(3))
  with pytest.raises(ValueError, match="kernel"):
    permjax.symmetric_gp(5, 2, kernel="ntk2")
