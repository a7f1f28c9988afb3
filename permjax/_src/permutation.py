"""The permutation task: permutations, the training set and test inputs.

Everything here is a pure function of a permutation, a PRNG key and sizes.
Conventions (docs/theory/permutation.md §1):

* A permutation of ``k`` items is an integer vector ``perm`` of length ``k``
  holding ``0..k-1`` once each. It maps basis vector ``e_i`` to
  ``e_{perm[i]}``, i.e. ``P[perm[i], i] = 1`` and ``(P x)[perm[i]] = x[i]``.
* Training set: ``X = I_k`` (row ``i`` is ``e_i``), ``Y[i] = e_{perm[i]}``.
* Test inputs are nonzero binary vectors; before they enter a network they are
  L2-normalised (``x / sqrt(n)``, ``n`` = number of ones). Targets stay binary.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from permjax._src import validation

#: Default ceiling on the number of inputs a test set may enumerate.
DEFAULT_MAX_INPUTS = 1 << 24
#: Default number of inputs per chunk when enumerating.
DEFAULT_CHUNK_SIZE = 1 << 16


class Examples(NamedTuple):
  """A batch of inputs and their targets.

  Attributes:
    x: ``(num, k)`` float inputs (L2-normalised if requested).
    y: ``(num, k)`` binary targets ``P x`` (float, same dtype as ``x``).
  """
  x: np.ndarray
  y: np.ndarray


def check_k(k) -> int:
  """Returns ``k`` as an int, or raises if it is not an integer ≥ 2."""
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
    raise TypeError(f"k must be an integer >= 2, got {k!r}")
  if k < 2:
    raise ValueError(f"k must be >= 2 (a permutation of at least 2 items), "
                     f"got k={k}")
  return int(k)


def check_n(n, k: int) -> int:
  """Returns ``n`` as an int, or raises if it is not in ``1..k``."""
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
    raise TypeError(f"n (number of ones) must be an integer in 1..{k}, "
                    f"got {n!r}")
  if not 1 <= n <= k:
    raise ValueError(f"n (number of ones) must be in 1..k={k}, got n={n}")
  return int(n)


def check_ks(k) -> np.ndarray:
  """``k`` (an integer or array of integers, integer-valued floats allowed)
  as an int64 array, or raises naming the bad values (``k >= 2``)."""
  arr = np.asarray(k)
  if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
    raise TypeError(f"k must be an integer or an array of integers, "
                    f"got {k!r}")
  if arr.dtype.kind == "f":
    if not np.all(np.isfinite(arr) & (arr == np.round(arr))):
      raise TypeError(f"k must be an integer or an array of integers, "
                      f"got {k!r}")
  arr = arr.astype(np.int64)
  if arr.size == 0:
    raise ValueError("k is empty")
  if arr.min() < 2:
    bad = np.unique(arr[arr < 2])[:5].tolist()
    raise ValueError(f"k must be >= 2 (a permutation of at least 2 items), "
                     f"got k={bad}")
  return arr


def check_ns(n, k) -> np.ndarray:
  """``n`` as an int64 array broadcast with ``k``, or raises unless every
  ``n`` is an integer in ``1..k`` (integer-valued floats allowed)."""
  k = check_ks(k)
  arr = np.asarray(n)
  if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf" or (
      arr.dtype.kind == "f"
      and not np.all(np.isfinite(arr) & (arr == np.round(arr)))):
    raise TypeError(f"n (number of ones) must be an integer or an array of "
                    f"integers, got {n!r}")
  try:
    arr, k = np.broadcast_arrays(arr.astype(np.int64), k)
  except ValueError:
    raise ValueError(f"n and k do not broadcast together: n of shape "
                     f"{arr.shape}, k of shape {k.shape}") from None
  bad = (arr < 1) | (arr > k)
  if bad.any():
    pairs = sorted({(int(a), int(b)) for a, b in zip(arr[bad], k[bad])})[:5]
    raise ValueError(f"n (number of ones) must be in 1..k; got (n, k) = "
                     f"{pairs}")
  return arr


def validate_permutation(perm) -> np.ndarray:
  """Checks that ``perm`` holds each of ``0..k-1`` exactly once.

  Args:
    perm: a 1-D sequence of integers of length ``k >= 2``.

  Returns:
    ``perm`` as a ``(k,)`` int64 numpy array.

  Raises:
    ValueError: naming the out-of-range, repeated and missing entries.

  Example:
    >>> validate_permutation([2, 0, 1])
    array([2, 0, 1])
    >>> validate_permutation([0, 0, 3])
    Traceback (most recent call last):
    ...
    ValueError: not a permutation of 0..2: out of range [3] at positions [2]; repeated [0]; missing [1, 2]
  """
  arr = np.asarray(perm)
  if arr.ndim != 1:
    raise ValueError(f"a permutation must be 1-D, got shape {arr.shape}")
  if arr.dtype.kind == "f":
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
      bad = [v for v in arr.tolist() if not float(v).is_integer()]
      raise ValueError(f"a permutation holds integers, got non-integers {bad}")
    arr = arr.astype(np.int64)
  elif arr.dtype.kind not in "iu":
    raise ValueError(f"a permutation holds integers, got dtype {arr.dtype}")
  k = check_k(arr.shape[0])
  arr = arr.astype(np.int64)
  out = (arr < 0) | (arr >= k)
  inside = arr[~out]
  counts = np.bincount(inside, minlength=k)
  problems = []
  if out.any():
    problems.append(f"out of range {arr[out].tolist()} at positions "
                    f"{np.flatnonzero(out).tolist()}")
  if (counts > 1).any():
    problems.append(f"repeated {np.flatnonzero(counts > 1).tolist()}")
  if (counts == 0).any():
    problems.append(f"missing {np.flatnonzero(counts == 0).tolist()}")
  if problems:
    raise ValueError(f"not a permutation of 0..{k - 1}: " + "; ".join(problems))
  return arr


def random_permutation(key: jax.Array, k: int) -> np.ndarray:
  """Draws a uniformly random permutation of ``0..k-1``.

  Args:
    key: a JAX PRNG key.
    k: number of items, ``>= 2``.

  Returns:
    ``(k,)`` int64 numpy array.

  Example:
    >>> import jax
    >>> perm = random_permutation(jax.random.key(0), 5)
    >>> sorted(perm.tolist())
    [0, 1, 2, 3, 4]
  """
  k = check_k(k)
  key = validation.prng_key("key", key)
  validation.size(f"a random permutation of k={k:,} items", 8.0 * k,
                  validation.MAX_ELEMENTS,
                  "permutations that large do not fit a two-layer network's "
                  "k x k training set anyway")
  return np.asarray(jax.random.permutation(key, k), dtype=np.int64)


def permutation_matrix(perm) -> np.ndarray:
  """The ``(k, k)`` matrix ``P`` with ``P e_i = e_{perm[i]}``.

  Example:
    >>> permutation_matrix([1, 0])
    array([[0., 1.],
           [1., 0.]])
  """
  perm = validate_permutation(perm)
  k = perm.shape[0]
  mat = np.zeros((k, k))
  mat[perm, np.arange(k)] = 1.0
  return mat


def apply_permutation(perm, x) -> np.ndarray:
  """Computes ``P x`` for each row of ``x`` (shape ``(..., k)``).

  Example:
    >>> apply_permutation([2, 0, 1], [[1., 0., 0.], [1., 1., 0.]])
    array([[0., 0., 1.],
           [1., 0., 1.]])
  """
  perm = validate_permutation(perm)
  x = validation.finite_array("x (inputs)", x)
  if x.ndim < 1 or x.shape[-1] != perm.shape[0]:
    raise ValueError(f"x (inputs) must be (..., k={perm.shape[0]}), got "
                     f"shape {x.shape}")
  inverse = np.argsort(perm)
  return x[..., inverse]


def check_binary(x) -> np.ndarray:
  """Checks that ``x`` (shape ``(num, k)``) holds nonzero 0/1 rows.

  Raises:
    ValueError: naming the first offending row and values.
  """
  x = np.asarray(x)
  if x.ndim != 2:
    raise ValueError(f"inputs must have shape (num, k), got {x.shape}")
  nonbinary = ~((x == 0) | (x == 1))
  if nonbinary.any():
    rows = np.flatnonzero(nonbinary.any(axis=1))
    bad = np.unique(x[nonbinary])[:5].tolist()
    raise ValueError(f"inputs must be binary (0/1); rows {rows[:5].tolist()} "
                     f"hold values {bad}")
  zero = ~x.any(axis=1)
  if zero.any():
    raise ValueError(f"inputs must be nonzero; rows "
                     f"{np.flatnonzero(zero)[:5].tolist()} are all zeros")
  return x


def normalize_inputs(x) -> np.ndarray:
  """L2-normalises each binary row: ``x / sqrt(number of ones)``."""
  x = np.asarray(x, dtype=np.float64)
  return x / np.sqrt(x.sum(axis=-1, keepdims=True))


def check_float_dtype(dtype) -> np.dtype:
  """``dtype`` if it is a floating dtype (normalised inputs are fractions:
  an integer dtype would truncate them to 0).

  Example:
    >>> check_float_dtype(np.int32)
    Traceback (most recent call last):
    ...
    TypeError: dtype must be a floating dtype (float32 or float64), got int32
  """
  try:
    dt = np.dtype(dtype)
  except TypeError:
    raise TypeError(f"dtype must be a floating dtype (float32 or float64), "
                    f"got {dtype!r}") from None
  if dt.kind != "f":
    raise TypeError(f"dtype must be a floating dtype (float32 or float64), "
                    f"got {dt}")
  return dt


def make_examples(perm, x_binary, *, normalize: bool = True,
                  dtype=np.float64) -> Examples:
  """Targets ``P x`` for binary inputs, optionally L2-normalising the inputs.

  Args:
    perm: the permutation, ``(k,)``.
    x_binary: ``(num, k)`` nonzero 0/1 inputs.
    normalize: divide each input by its L2 norm (docs/theory/permutation.md §1).
    dtype: float dtype of the returned arrays.

  Returns:
    ``Examples(x, y)``, both ``(num, k)``.

  Example:
    >>> ex = make_examples([1, 0], [[1, 1], [0, 1]], normalize=False)
    >>> ex.y.tolist()
    [[1.0, 1.0], [1.0, 0.0]]
  """
  dtype = check_float_dtype(dtype)
  normalize = validation.flag("normalize", normalize)
  x_binary = check_binary(x_binary)
  y = apply_permutation(perm, x_binary).astype(dtype)
  x = normalize_inputs(x_binary) if normalize else x_binary
  return Examples(np.asarray(x, dtype=dtype), y)


def training_set(perm, *, dtype=np.float64) -> Examples:
  """The k training pairs: ``X = I_k``, ``Y[i] = e_{perm[i]}``.

  Example:
    >>> ex = training_set([1, 2, 0])
    >>> ex.x.shape, ex.y.argmax(axis=1).tolist()
    ((3, 3), [1, 2, 0])
  """
  perm = validate_permutation(perm)
  k = perm.shape[0]
  return make_examples(perm, np.eye(k), normalize=False, dtype=dtype)


def random_inputs(key: jax.Array, perm, n: int, num: int, *,
                  normalize: bool = True, dtype=np.float64) -> Examples:
  """``num`` random inputs with exactly ``n`` ones each, with targets.

  The ``n`` positions within one sample are distinct (drawn without
  replacement); samples are independent, so the same input may repeat.

  Args:
    key: a JAX PRNG key.
    perm: the permutation, ``(k,)``.
    n: ones per input, ``1..k``.
    num: number of inputs, ``>= 1``.
    normalize: L2-normalise the inputs.
    dtype: float dtype of the returned arrays.

  Returns:
    ``Examples(x, y)`` of shapes ``(num, k)``.

  Example:
    >>> import jax
    >>> ex = random_inputs(jax.random.key(0), [1, 2, 0], 2, 4, normalize=False)
    >>> ex.x.sum(axis=1).tolist()
    [2.0, 2.0, 2.0, 2.0]
  """
  perm = validate_permutation(perm)
  k = perm.shape[0]
  n = check_n(n, k)
  num = validation.integer("num (number of test inputs)", num, 1)
  key = validation.prng_key("key", key)
  validation.size(f"{num:,} random inputs of k={k}", 2.0 * num * k,
                  validation.MAX_ELEMENTS,
                  "draw them in chunks (several keys, fold_in(key, i))")
  # float32 whatever jax_enable_x64 says, so a key gives the same inputs
  # with x64 on and off.
  scores = jax.random.uniform(key, (int(num), k), jnp.float32)
  order = np.asarray(jnp.argsort(scores, axis=1))[:, :n]
  x = np.zeros((int(num), k))
  np.put_along_axis(x, order, 1.0, axis=1)
  return make_examples(perm, x, normalize=normalize, dtype=dtype)


def count_inputs(k: int, n: int | None = None) -> int:
  """Number of binary inputs with ``n`` ones, or all ``2^k - 1`` if ``n`` is None.

  Example:
    >>> count_inputs(10, 2), count_inputs(10)
    (45, 1023)
  """
  k = check_k(k)
  if n is None:
    return (1 << k) - 1
  return math.comb(k, check_n(n, k))


def _refuse_if_too_many(count: int, max_inputs: int, what: str) -> None:
  max_inputs = validation.integer("max_inputs", max_inputs, 1)
  if count > max_inputs:
    raise ValueError(f"{what} has {count:,} inputs, more than max_inputs="
                     f"{max_inputs:,}; raise max_inputs or draw a random "
                     f"sample instead")


def _check_chunk_size(chunk_size) -> int:
  if isinstance(chunk_size, bool) or not isinstance(
      chunk_size, (int, np.integer)) or chunk_size < 1:
    raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
  return int(chunk_size)


def iter_inputs_with_n_ones(perm, n: int, *, normalize: bool = True,
                            chunk_size: int = DEFAULT_CHUNK_SIZE,
                            max_inputs: int = DEFAULT_MAX_INPUTS,
                            dtype=np.float64) -> Iterator[Examples]:
  """Yields every input with exactly ``n`` ones, in lexicographic chunks.

  Raises before yielding anything if there are more than ``max_inputs``.

  Example:
    >>> chunks = list(iter_inputs_with_n_ones([1, 2, 3, 0], 2, chunk_size=4))
    >>> [c.x.shape[0] for c in chunks]
    [4, 2]
  """
  perm = validate_permutation(perm)
  k = perm.shape[0]
  n = check_n(n, k)
  chunk_size = _check_chunk_size(chunk_size)
  normalize = validation.flag("normalize", normalize)
  dtype = check_float_dtype(dtype)
  _refuse_if_too_many(math.comb(k, n), max_inputs,
                      f"the set of inputs with n={n} ones at k={k}")
  return _n_ones_chunks(perm, n, chunk_size, normalize, dtype)


def _n_ones_chunks(perm, n, chunk_size, normalize, dtype):
  k = perm.shape[0]
  combos = itertools.combinations(range(k), n)
  while True:
    block = np.fromiter(itertools.chain.from_iterable(
        itertools.islice(combos, chunk_size)), dtype=np.int64)
    if block.size == 0:
      return
    block = block.reshape(-1, n)
    x = np.zeros((block.shape[0], k))
    np.put_along_axis(x, block, 1.0, axis=1)
    yield make_examples(perm, x, normalize=normalize, dtype=dtype)


def iter_all_inputs(perm, *, normalize: bool = True,
                    chunk_size: int = DEFAULT_CHUNK_SIZE,
                    max_inputs: int = DEFAULT_MAX_INPUTS,
                    dtype=np.float64) -> Iterator[Examples]:
  """Yields all ``2^k - 1`` nonzero binary inputs in chunks.

  Input number ``i`` (1-based) is the binary expansion of ``i``: bit ``j`` is
  feature ``j``. Raises before yielding anything if there are more than
  ``max_inputs``.

  Example:
    >>> sum(c.x.shape[0] for c in iter_all_inputs([1, 2, 0], chunk_size=3))
    7
  """
  perm = validate_permutation(perm)
  k = perm.shape[0]
  chunk_size = _check_chunk_size(chunk_size)
  normalize = validation.flag("normalize", normalize)
  dtype = check_float_dtype(dtype)
  total = (1 << k) - 1
  _refuse_if_too_many(total, max_inputs,
                      f"the set of all nonzero inputs at k={k}")
  return _all_chunks(perm, chunk_size, normalize, dtype)


def _all_chunks(perm, chunk_size, normalize, dtype):
  k = perm.shape[0]
  total = (1 << k) - 1
  bits = np.arange(k, dtype=np.int64)
  for start in range(1, total + 1, chunk_size):
    ids = np.arange(start, min(start + chunk_size, total + 1), dtype=np.int64)
    x = ((ids[:, None] >> bits) & 1).astype(np.float64)
    yield make_examples(perm, x, normalize=normalize, dtype=dtype)


def _concat(chunks) -> Examples:
  chunks = list(chunks)
  return Examples(np.concatenate([c.x for c in chunks]),
                  np.concatenate([c.y for c in chunks]))


def inputs_with_n_ones(perm, n: int, *, normalize: bool = True,
                       max_inputs: int = 1 << 20,
                       dtype=np.float64) -> Examples:
  """All inputs with exactly ``n`` ones as one array (see the iterator).

  Example:
    >>> inputs_with_n_ones([1, 2, 0], 2, normalize=False).x.tolist()
    [[1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
  """
  return _concat(iter_inputs_with_n_ones(perm, n, normalize=normalize,
                                         max_inputs=max_inputs, dtype=dtype))


def all_inputs(perm, *, normalize: bool = True, max_inputs: int = 1 << 20,
               dtype=np.float64) -> Examples:
  """All ``2^k - 1`` nonzero inputs as one array (see the iterator).

  Example:
    >>> all_inputs([1, 0]).x.shape
    (3, 2)
  """
  return _concat(iter_all_inputs(perm, normalize=normalize,
                                 max_inputs=max_inputs, dtype=dtype))
