"""Task data: permutations, training set, test inputs, enumeration limits."""

import math

import jax
import numpy as np
import pytest

import permjax


def test_validate_permutation_names_bad_entries():
  with pytest.raises(ValueError, match=r"out of range \[7\].*repeated \[1\].*"
                     r"missing \[0, 3\]"):
    permjax.validate_permutation([1, 1, 2, 7])
  with pytest.raises(ValueError, match="k must be >= 2"):
    permjax.validate_permutation([0])
  with pytest.raises(ValueError, match="non-integers"):
    permjax.validate_permutation([0.5, 1.0])
  with pytest.raises(ValueError, match="1-D"):
    permjax.validate_permutation([[0, 1], [1, 0]])
  assert permjax.validate_permutation((2, 0, 1)).tolist() == [2, 0, 1]


def test_random_permutation_is_a_permutation_and_keyed(key):
  a = permjax.random_permutation(key, 50)
  b = permjax.random_permutation(key, 50)
  c = permjax.random_permutation(jax.random.fold_in(key, 1), 50)
  assert sorted(a.tolist()) == list(range(50))
  assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
  with pytest.raises(ValueError, match="k must be >= 2"):
    permjax.random_permutation(key, 1)


def test_training_set_and_permutation_matrix():
  perm = [2, 0, 3, 1]
  train = permjax.training_set(perm)
  mat = permjax.permutation_matrix(perm)
  np.testing.assert_array_equal(train.x, np.eye(4))
  np.testing.assert_array_equal(train.y, (mat @ np.eye(4)).T)
  x = np.array([[1, 1, 0, 0], [0, 1, 1, 1]], float)
  np.testing.assert_array_equal(permjax.apply_permutation(perm, x), x @ mat.T)


def test_random_inputs_have_n_distinct_ones_and_targets(key):
  perm = permjax.random_permutation(key, 9)
  ex = permjax.random_inputs(key, perm, 3, 500, normalize=False)
  assert ex.x.shape == (500, 9)
  assert np.all(ex.x.sum(1) == 3) and set(np.unique(ex.x)) <= {0.0, 1.0}
  np.testing.assert_array_equal(ex.y, permjax.apply_permutation(perm, ex.x))
  # Every position gets used (uniform sampling), and samples differ.
  assert np.all(ex.x.sum(0) > 0) and len({tuple(r) for r in ex.x}) > 50
  normed = permjax.random_inputs(key, perm, 3, 500)
  np.testing.assert_allclose(np.linalg.norm(normed.x, axis=1), 1.0)
  np.testing.assert_array_equal(normed.y, ex.y)


def test_enumerations_are_complete_and_chunked():
  perm = [3, 0, 4, 1, 2]
  chunks = list(permjax.iter_inputs_with_n_ones(perm, 2, chunk_size=3,
                                                normalize=False))
  assert [c.x.shape[0] for c in chunks] == [3, 3, 3, 1]
  rows = {tuple(r) for c in chunks for r in c.x}
  assert len(rows) == math.comb(5, 2) == permjax.count_inputs(5, 2)
  everything = permjax.all_inputs(perm, normalize=False)
  assert everything.x.shape == (31, 5) == (permjax.count_inputs(5), 5)
  assert len({tuple(r) for r in everything.x}) == 31
  np.testing.assert_array_equal(everything.y,
                                permjax.apply_permutation(perm, everything.x))
  n3 = permjax.inputs_with_n_ones(perm, 3)
  np.testing.assert_allclose(n3.x[n3.x > 0], 1 / np.sqrt(3))


def test_enumeration_refuses_above_limit_without_allocating():
  perm = np.arange(40)
  with pytest.raises(ValueError, match="1,099,511,627,775 inputs"):
    next(permjax.iter_all_inputs(perm))
  with pytest.raises(ValueError, match=r"137,846,528,820 inputs, more than "
                     r"max_inputs=1,000"):
    permjax.inputs_with_n_ones(perm, 20, max_inputs=1000)


@pytest.mark.parametrize("bad, match", [
    ([[0, 2, 1]], "binary"),
    ([[0, 0, 0]], "nonzero"),
    ([0, 1, 1], "shape"),
])
def test_bad_inputs_are_rejected(bad, match):
  with pytest.raises(ValueError, match=match):
    permjax.make_examples([1, 2, 0], bad)


def test_bad_n_and_num(key):
  with pytest.raises(ValueError, match=r"n \(number of ones\) must be in 1..k=4"):
    permjax.random_inputs(key, [1, 2, 3, 0], 5, 10)
  with pytest.raises(ValueError, match="1..k=4, got n=0"):
    permjax.inputs_with_n_ones([1, 2, 3, 0], 0)
  with pytest.raises(ValueError, match="num"):
    permjax.random_inputs(key, [1, 2, 3, 0], 2, 0)
  with pytest.raises(ValueError, match="chunk_size"):
    next(permjax.iter_all_inputs([1, 0], chunk_size=0))
