"""The exact S_k-symmetric sampler: cube algebra, exact covariance, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
from permjax._src import gp as gp_lib
from permjax._src import hypercube
from permjax._src import sources


def _dense_ops(k, a):
  """Dense U (layer a-1 -> a) and D (layer a -> a-1) from the index tables."""
  c = hypercube.cube(k)
  up = np.zeros((len(c.masks[a]), len(c.masks[a - 1])))
  for row, nbrs in enumerate(c.down[a]):
    up[row, nbrs] = 1
  down = np.zeros((len(c.masks[a - 1]), len(c.masks[a])))
  for row, nbrs in enumerate(c.up[a - 1]):
    down[row, nbrs] = 1
  return up, down


def test_cube_tables_and_up_down_algebra():
  k = 6
  c = hypercube.cube(k)
  assert [len(m) for m in c.masks] == [math.comb(k, a) for a in range(k + 1)]
  for a in range(1, k + 1):
    up, down = _dense_ops(k, a)
    np.testing.assert_array_equal(up.T, down)  # D = Uᵀ
    for row, mask in enumerate(c.masks[a]):  # U links S to S \ {i}
      subs = c.masks[a - 1][c.down[a][row]]
      assert all(bin(int(s)).count("1") == a - 1 and s & mask == s
                 for s in subs)
  for a in range(1, k):
    up_in, down_in = _dense_ops(k, a)        # layer a-1 <-> a
    up_out, down_out = _dense_ops(k, a + 1)  # layer a <-> a+1
    # Commutation DU - UD = (k - 2a) I on layer a.
    np.testing.assert_array_equal(down_out @ up_out - up_in @ down_in,
                                  (k - 2 * a) * np.eye(len(c.masks[a])))
    # DU on layer a has eigenvalue (a-j+1)(k-a-j) with multiplicity
    # C(k,j) - C(k,j-1), j = 0..min(a, k-a).
    got = np.round(np.linalg.eigvalsh(down_out @ up_out)).astype(int)
    want = []
    for j in range(min(a, k - a) + 1):
      want += [(a - j + 1) * (k - a - j)] * (
          math.comb(k, j) - (math.comb(k, j - 1) if j else 0))
    assert sorted(got.tolist()) == sorted(want)


def test_isotypic_blocks_golden():
  k = 7
  # Identity covariance: every isotypic block is the identity.
  blocks = hypercube.isotypic_blocks(k, range(1, k + 1),
                                     lambda a, b, c: float(a == b == c))
  for j, (layers, m) in blocks.items():
    assert layers == tuple(a for a in range(1, k + 1) if j <= a <= k - j)
    np.testing.assert_allclose(m, np.eye(len(layers)), atol=1e-13)
  # All-ones covariance (rank one): only j = 0, M_0[a, b] = sqrt(C(k,a)C(k,b)).
  blocks = hypercube.isotypic_blocks(k, [2, 5], lambda a, b, c: 1.0)
  sizes = np.sqrt([math.comb(k, 2), math.comb(k, 5)])
  np.testing.assert_allclose(blocks[0][1], np.outer(sizes, sizes), rtol=1e-14)
  for j in (1, 2):
    np.testing.assert_allclose(blocks[j][1], 0.0, atol=1e-12)


def _linear_map(sampler):
  """The sampler's ``noise -> draw`` matrix B (so the draw covariance is BBᵀ)."""
  sizes = {j: int(np.prod(s)) for j, s in sampler.noise_shapes.items()}
  total = sum(sizes.values())
  eye = np.eye(total)
  noise, at = {}, 0
  with jax.enable_x64(True):
    for j, shape in sampler.noise_shapes.items():
      noise[j] = jnp.asarray(eye[at:at + sizes[j]].reshape(shape + (total,)))
      at += sizes[j]
    return np.asarray(sampler.transform(noise)), total


@pytest.mark.parametrize("k, layers, normalize, regime, spec", [
    (5, range(1, 6), True, "ntk", permjax.MLPSpec(width=1)),
    (6, range(1, 7), False, "nngp", permjax.MLPSpec(width=1)),
    (7, (2, 3, 6), True, "ntk", permjax.MLPSpec(width=1, b_std=0.5)),
    (8, range(1, 9), True, "ntk", permjax.MLPSpec(width=1)),
    (9, (2,), True, "nngp", permjax.MLPSpec(
        width=1, parameterization="standard", b_std=0.3)),
])
def test_draw_covariance_equals_dense_posterior(k, layers, normalize, regime,
                                                spec):
  """BBᵀ equals the dense GP posterior covariance (exact, not sampled)."""
  perm = permjax.random_permutation(jax.random.key(k), k)
  train = permjax.training_set(perm)
  x = permjax.all_inputs(perm, normalize=normalize).x
  x = x[np.isin(x.astype(bool).sum(1), layers)]
  pred = gp_lib.gp_predict(spec, train.x, train.y, x, backend="closed_form",
                           kernel=regime)
  masks, scale = hypercube.layer_structure(x)
  assert sorted(scale) == sorted(layers)
  index = {int(m): i for i, m in enumerate(masks)}

  def cov_fn(a, b, c):
    return pred.cov[index[(1 << a) - 1], index[((1 << b) - 1) << (a - c)]]

  sampler = hypercube.symmetric_sampler(k, layers, cov_fn)
  b, total = _linear_map(sampler)
  # White noise needed: Σ_j C(k,j)·m_j, far below the draw size squared.
  assert total == sum(math.comb(k, j) * sum(j <= a <= k - j for a in layers)
                      for j in range(k // 2 + 1))
  cube = hypercube.cube(k)
  order = [index[int(m)] for a in sampler.layers for m in cube.masks[a]]
  dense = pred.cov[np.ix_(order, order)]
  np.testing.assert_allclose(b @ b.T, dense, rtol=0,
                             atol=1e-13 * np.abs(dense).max())


def test_symmetric_member_source_mean_and_identity():
  k = 7
  perm = permjax.random_permutation(jax.random.key(3), k)
  train = permjax.training_set(perm)
  x = permjax.all_inputs(perm).x[::-1]  # any row order
  spec = permjax.MLPSpec(width=1)
  src = permjax.gp_member_source(spec, "ntk", train, x, jax.random.key(0),
                                  sampler="symmetric")
  assert src.info["sampler"] == "symmetric"
  draws = src(np.arange(3000)).outputs
  pred = gp_lib.gp_predict(spec, train.x, train.y, x, backend="closed_form")
  se = np.sqrt(np.diag(pred.cov) / len(draws))[:, None]
  assert np.all(np.abs(draws.mean(0) - pred.mean) <= 5 * se + 1e-12)
  # Empirical variance per input (pooled over the k outputs): 3000·7 draws,
  # relative sd sqrt(2/21000) ≈ 1%; allow 5%.
  np.testing.assert_allclose(draws.var(0).mean(1), np.diag(pred.cov),
                             rtol=0.05, atol=1e-20)
  np.testing.assert_allclose(src(np.array([11, 4])).outputs[1], draws[4],
                             rtol=1e-12,
                             atol=1e-15)
  # The mean is the exact posterior mean (computed without the covariance).
  zero_noise = sources._symmetric_setup(spec, "ntk", train, x)[0]  # pylint: disable=protected-access
  np.testing.assert_allclose(zero_noise, pred.mean, rtol=1e-12, atol=1e-14)


def test_sampler_choice_and_errors():
  perm = [2, 0, 1, 3]
  train = permjax.training_set(perm)
  x = permjax.all_inputs(perm).x
  spec = permjax.MLPSpec(width=1)
  key = jax.random.key(0)
  assert permjax.gp_member_source(spec, "ntk", train, x, key).info["sampler"] == (
      "dense")
  with pytest.raises(ValueError, match="sampler must be one of .* got 'eig'"):
    permjax.gp_member_source(spec, "ntk", train, x, key, sampler="eig")
  with pytest.raises(ValueError, match="15 inputs .* limit is 10"):
    permjax.gp_member_source(spec, "ntk", train, x, key, sampler="dense",
                              max_dense=10)
  bad_train = permjax.Examples(train.x * 0.5, train.y)
  with pytest.raises(ValueError, match="basis vectors"):
    permjax.gp_member_source(spec, "ntk", bad_train, x, key,
                              sampler="symmetric")
  with pytest.raises(ValueError, match="nonzero entries are equal"):
    permjax.gp_member_source(spec, "ntk", train, x + 0.01 * x[:, :1], key,
                              sampler="symmetric")
  with pytest.raises(ValueError, match="rows with 1 ones are scaled"):
    hypercube.layer_structure(np.array([[1.0, 0.0], [0.0, 2.0]]))
  with pytest.raises(ValueError, match="nonzero binary rows"):
    hypercube.layer_structure(np.zeros((1, 3)))
  with pytest.raises(ValueError, match="k must be an integer in 1..22, got 30"):
    hypercube.cube(30)
  with pytest.raises(ValueError, match=r"layers must be .* got \[0, 2\]"):
    hypercube.symmetric_sampler(3, [0, 2], lambda a, b, c: 1.0)
