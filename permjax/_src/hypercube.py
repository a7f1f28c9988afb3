"""Exact Gaussian draws on whole layers of the Boolean cube, by S_k symmetry.

The trained-GP posterior of the permutation task is invariant under relabelling
the k coordinates: the covariance of two binary test inputs ``S, T`` (as sets
of their ones) depends only on ``(|S|, |T|, |S ∩ T|)``. Dense joint sampling
over all ``2^k - 1`` inputs needs the ``(2^k)²`` covariance and its
eigendecomposition (34 GB and hours at k = 16); this module draws the same
Gaussian exactly in ``O(k² 2^k)`` per draw, with no matrix larger than
``(k + 1)²``.

The maths (the Johnson-scheme decomposition of the cube under S_k). Layer
``a`` (functions on a-subsets) splits into S_k-irreducible pieces
``W_j^a ≅ S^{(k-j, j)}``, ``j = 0..min(a, k-a)``, each once. The up operator
``(U f)(S) = Σ_{R ⊂ S, |R| = |S|-1} f(R)`` maps ``W_j^a`` onto ``W_j^{a+1}``
and ``D = Uᵀ`` back, with ``DU = (a-j+1)(k-a-j)`` on ``W_j^a``. By Schur's
lemma an invariant covariance acts on the j-isotypic part of the chosen layers
``a ∈ L_j`` as ``M_j ⊗ I``, with ``M_j`` a small matrix over the layers. Hence
a draw is::

    X_b = Σ_j U^{b-j} (Σ_ℓ M_j^{1/2}[b, ℓ] ζ_{j,ℓ}) / ‖U^{b-j}‖_{W_j},

with ``ζ_{j,ℓ}`` independent standard Gaussians on the harmonic space
``W_j^j = ker D`` of layer ``j``, obtained from white noise by the projector
``Π_{j'<j} (I - U D / μ_{j'})``, ``μ_{j'} = (j-j')(k-j-j'+1)``. ``M_j`` is
computed in closed form from the covariance function with the test vectors
``φ(S) = Π_i ([u_i ∈ S] - [v_i ∈ S])`` over ``j`` disjoint pairs.

Everything here is exact up to float64 rounding; the tests compare ``B Bᵀ``
of the linear map ``noise -> draw`` with the dense covariance.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from permjax._src import validation

#: Largest k whose cube structure (index tables of ``k 2^k`` ints) is built.
MAX_K = 22


class Cube(NamedTuple):
  """Index tables of the Boolean cube ``{0,1}^k`` by layer.

  Attributes:
    k: dimension.
    masks: ``masks[a]``, the a-subsets as ascending bit masks (bit i =
      coordinate i).
    position: ``(2^k,)`` index of every mask inside its layer.
    down: ``down[a]`` ``(C(k,a), a)``: layer-(a-1) positions of ``S \\ {i}``.
    up: ``up[a]`` ``(C(k,a), k-a)``: layer-(a+1) positions of ``S ∪ {i}``.
  """
  k: int
  masks: tuple
  position: np.ndarray
  down: tuple
  up: tuple


@functools.lru_cache(maxsize=4)
def cube(k: int) -> Cube:
  """Builds (and caches) the layer index tables of ``{0,1}^k``.

  Example:
    >>> c = cube(3)
    >>> c.masks[1].tolist(), c.down[2].tolist()
    ([1, 2, 4], [[1, 0], [2, 0], [2, 1]])
  """
  if not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
    raise ValueError(f"k must be an integer in 1..{MAX_K}, got {k!r}")
  k = int(k)
  all_masks = np.arange(1 << k, dtype=np.int64)
  bits = ((all_masks[:, None] >> np.arange(k)) & 1).astype(bool)
  count = bits.sum(1)
  position = np.zeros(1 << k, np.int64)
  masks, down, up = [], [], []
  for a in range(k + 1):
    layer = all_masks[count == a]
    position[layer] = np.arange(len(layer))
    masks.append(layer)
  for a in range(k + 1):
    layer_bits = bits[masks[a]]
    on = np.nonzero(layer_bits)[1].reshape(len(masks[a]), a)
    off = np.nonzero(~layer_bits)[1].reshape(len(masks[a]), k - a)
    down.append(position[masks[a][:, None] ^ (np.int64(1) << on)])
    up.append(position[masks[a][:, None] | (np.int64(1) << off)])
  return Cube(k, tuple(masks), position, tuple(down), tuple(up))


def _check_layers(k: int, layers) -> tuple[int, ...]:
  k = validation.integer("k (dimension)", k, 1, MAX_K)
  if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
    raise TypeError(f"layers must be a collection of layer sizes in "
                    f"1..k={k}, got {layers!r}")
  layers = tuple(sorted({validation.integer(f"layers (sizes in 1..{k})", a)
                         for a in layers}))
  if not layers or layers[0] < 1 or layers[-1] > k:
    raise ValueError(f"layers must be a non-empty set of sizes in 1..k={k}, "
                     f"got {list(layers)}")
  return layers


def isotypic_blocks(k: int, layers: Sequence[int],
                    cov_fn: Callable[[int, int, int], float]
                    ) -> dict[int, tuple[tuple[int, ...], np.ndarray]]:
  """The small matrices ``M_j`` of an S_k-invariant covariance.

  Args:
    k: dimension.
    layers: the layer sizes (numbers of ones) the covariance lives on.
    cov_fn: ``cov_fn(a, b, c)``, the covariance of an a-subset and a b-subset
      that share ``c`` elements.

  Returns:
    ``{j: (L_j, M_j)}`` with ``L_j`` the layers in ``layers`` that contain the
    irreducible ``S^{(k-j,j)}`` (``j <= a <= k - j``) and ``M_j`` the
    ``(len(L_j), len(L_j))`` float64 matrix by which the covariance acts on
    that isotypic part.

  Example:
    >>> blocks = isotypic_blocks(3, [1], lambda a, b, c: float(c == a))
    >>> {j: m.round(12).tolist() for j, (_, m) in blocks.items()}
    {0: [[1.0]], 1: [[1.0]]}
  """
  layers = _check_layers(k, layers)
  if not callable(cov_fn):
    raise TypeError(f"cov_fn must be a function (a, b, c) -> covariance, "
                    f"got {cov_fn!r}")
  cache = {}

  def g(a, b, c):
    key = (a, b, c) if a <= b else (b, a, c)
    if key not in cache:
      cache[key] = validation.real(f"cov_fn{key}", cov_fn(*key))
    return cache[key]

  blocks = {}
  for j in range(k // 2 + 1):
    lj = tuple(a for a in layers if j <= a <= k - j)
    if not lj:
      continue
    n = k - 2 * j
    m = np.zeros((len(lj), len(lj)))
    for ia, a in enumerate(lj):
      for ib in range(ia, len(lj)):
        b = lj[ib]
        p, q = a - j, b - j
        total = 0.0
        for agree in range(j + 1):
          inner = sum(
              math.comb(p, c) * math.comb(n - p, q - c) * g(a, b, agree + c)
              for c in range(max(0, p + q - n), min(p, q) + 1))
          total += (-1) ** (j - agree) * math.comb(j, agree) * inner
        # ‖φ_a‖² = 2^j C(n, p); the pair choices give the same 2^j.
        m[ia, ib] = m[ib, ia] = total * math.comb(n, p) / math.sqrt(
            math.comb(n, p) * math.comb(n, q))
    blocks[j] = (lj, m)
  return blocks


def lift_norm(k: int, j: int, b: int) -> float:
  """``‖U^{b-j} h‖ / ‖h‖`` for any ``h`` in the harmonic space ``W_j^j``.

  Example:
    >>> lift_norm(4, 0, 2) == (1 * 4 * 2 * 3) ** 0.5
    True
  """
  return math.sqrt(math.prod((i - j) * (k - i + 1 - j)
                             for i in range(j + 1, b + 1)))


class SymmetricSampler(NamedTuple):
  """A jittable exact sampler of an S_k-invariant Gaussian on cube layers.

  Attributes:
    k: dimension.
    layers: the layers drawn, ascending.
    noise_shapes: ``{j: (C(k,j), m_j)}``, the white noise one draw consumes
      per output column.
    transform: ``transform(noise)`` maps white noise ``{j: (C(k,j), m_j,
      *cols)}`` to values ``(Σ_a C(k,a), *cols)``, layers concatenated in
      ``layers`` order and masks ascending inside a layer; the dtype is the
      noise's (float64 for exact draws).
    size: total number of values per column.
  """
  k: int
  layers: tuple
  noise_shapes: dict
  transform: Callable
  size: int


def symmetric_sampler(k: int, layers: Sequence[int],
                      cov_fn: Callable[[int, int, int], float]
                      ) -> SymmetricSampler:
  """Builds the exact ``O(k² 2^k)`` sampler of an S_k-invariant covariance.

  Args:
    k: dimension (``1 <= k <= MAX_K``).
    layers: layer sizes to draw (e.g. ``range(1, k + 1)`` for all nonzero
      inputs).
    cov_fn: ``cov_fn(a, b, c)`` as in :func:`isotypic_blocks`.

  Returns:
    A :class:`SymmetricSampler`; its ``transform`` is linear in the noise and
    traceable (jit/vmap).

  Example:
    >>> import jax, numpy as np
    >>> s = symmetric_sampler(3, [1, 2], lambda a, b, c: float(a == b == c))
    >>> z = {j: jax.random.normal(jax.random.key(j), shape + (1,))
    ...      for j, shape in s.noise_shapes.items()}
    >>> s.transform(z).shape
    (6, 1)
  """
  layers = _check_layers(k, layers)
  c = cube(k)
  blocks = isotypic_blocks(k, layers, cov_fn)
  # Symmetric square roots, each row pre-divided by the lift norm.
  mix = {}
  for j, (lj, m) in blocks.items():
    evals, evecs = np.linalg.eigh(m)
    floor = -1e-9 * max(float(np.abs(evals).max()), 1e-300)
    if evals.min() < floor:
      raise ValueError(f"cov_fn is not a covariance: its isotypic block "
                       f"j={j} has eigenvalue {evals.min():.3g} (largest "
                       f"{evals.max():.3g}); a Gaussian needs it >= 0")
    root = (evecs * np.sqrt(np.maximum(evals, 0.0))) @ evecs.T
    norms = np.array([lift_norm(k, j, b) for b in lj])
    mix[j] = (lj, root / norms[:, None])
  noise_shapes = {j: (len(c.masks[j]), len(lj)) for j, (lj, _) in
                  blocks.items()}
  down = [jnp.asarray(d, jnp.int32) for d in c.down]
  up = [jnp.asarray(u, jnp.int32) for u in c.up]

  def up_op(f, i):
    """U from layer i-1 to layer i on ``(C(k,i-1), ...)``."""
    return f[down[i]].sum(1)

  def down_op(f, i):
    """D from layer i to layer i-1."""
    return f[up[i - 1]].sum(1)

  def transform(noise):
    if not hasattr(noise, "keys") or set(noise) != set(noise_shapes):
      raise ValueError(f"noise must map each block j in "
                       f"{sorted(noise_shapes)} to an array, got keys "
                       f"{sorted(noise) if hasattr(noise, 'keys') else noise!r}")
    for j, shape in noise_shapes.items():
      if tuple(np.shape(noise[j]))[:2] != shape:
        raise ValueError(f"noise[{j}] must have shape {shape} + (out,), got "
                         f"{np.shape(noise[j])}")
    carry, targets = None, ()
    out = {}
    for i in range(max(layers) + 1):
      if carry is not None:
        carry = up_op(carry, i)
      if i in mix:
        lj, root = mix[i]
        v = noise[i]
        for jp in range(i):  # harmonic projection of layer-i noise
          v = v - up_op(down_op(v, i), i) / ((i - jp) * (k - i - jp + 1))
        w = jnp.einsum("bl,cl...->cb...", jnp.asarray(root, v.dtype), v)
        if carry is None:
          carry, targets = w, lj
        else:
          at = [targets.index(b) for b in lj]
          carry = carry.at[:, jnp.asarray(at)].add(w)
      if i in targets:
        at = targets.index(i)
        out[i] = carry[:, at]
        keep = [t for t in range(len(targets)) if t != at]
        carry = carry[:, jnp.asarray(keep, jnp.int32)] if keep else None
        targets = tuple(targets[t] for t in keep)
    return jnp.concatenate([out[a] for a in layers])

  size = sum(len(c.masks[a]) for a in layers)
  return SymmetricSampler(k, layers, noise_shapes, transform, size)


def layer_structure(x: np.ndarray) -> tuple[np.ndarray, dict[int, float]]:
  """Bit masks of binary (possibly per-row scaled) inputs and layer scales.

  Args:
    x: ``(n, k)`` inputs whose nonzero entries are equal within a row.

  Returns:
    ``(masks (n,), {a: value of the ones in layer a})``.

  Raises:
    ValueError: a row is zero, has unequal nonzero entries, or two rows with
      the same number of ones are scaled differently.

  Example:
    >>> layer_structure(np.array([[1., 0, 1], [0, 1, 0]]))[0].tolist()
    [5, 2]
  """
  x = np.asarray(x, np.float64)
  on = x != 0
  counts = on.sum(1)
  if x.ndim != 2 or np.any(counts == 0):
    raise ValueError("symmetric sampling needs nonzero binary rows")
  values = np.where(on, x, -np.inf).max(1)
  if np.any(np.abs(np.where(on, x, values[:, None]) - values[:, None])
            > 1e-12 * np.abs(values[:, None])):
    raise ValueError("symmetric sampling needs rows whose nonzero entries "
                     "are equal (binary inputs, optionally normalised)")
  scale = {}
  for a in np.unique(counts):
    vals = values[counts == a]
    if np.ptp(vals) > 1e-12 * abs(vals[0]):
      raise ValueError(f"rows with {a} ones are scaled differently")
    scale[int(a)] = float(vals[0])
  masks = (on.astype(np.int64) << np.arange(x.shape[1])).sum(1)
  return masks, scale
