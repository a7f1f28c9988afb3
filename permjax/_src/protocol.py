"""The ensemble-growth protocol of the paper's Figure 1, shared by every regime.

Per (regime, k, seed): members are added in chunks; after each member the
running average of the raw outputs is rounded (bit ``j`` is 1 iff the average
exceeds a tiny positive threshold) and the exact-match accuracy over the test
inputs is recorded; growth stops once the accuracy reaches a target or at
``max_members``. Only the *member source* differs between regimes:

* :func:`gp_member_source`: each member's outputs on the whole test set drawn
  jointly from the trained-GP posterior (mean and test-test covariance per
  output coordinate, float64);
* :func:`network_member_source`: finite networks from
  :func:`permjax.train_ensemble`.

Duplicated test inputs are evaluated once and weighted by their multiplicity
(:func:`unique_inputs`), which changes no accuracy.

The running sum is accumulated member by member in float64, so a run resumed
from a :class:`GrowthState` gives bitwise the same curve as an uninterrupted
one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from permjax._src import ensembles
from permjax._src import gp as gp_lib
from permjax._src import hypercube
from permjax._src import kernels as kernels_lib
from permjax._src import training
from permjax._src.models import MLPSpec
from permjax._src.task import Examples

THRESHOLDS = (0.5, 0.9, 0.99, 0.999)
#: Bits are 1 iff the ensemble average exceeds this (see grow()).
DEFAULT_ROUND_THRESHOLD = 1e-4

MemberSource = Callable[[np.ndarray], np.ndarray]


class TestSet(NamedTuple):
  """Distinct test inputs with their multiplicity.

  Attributes:
    x: ``(n_unique, k)`` inputs (as they enter the network).
    y: ``(n_unique, k)`` binary targets.
    weight: ``(n_unique,)`` how many times each input occurs (0 for padding).
  """
  x: np.ndarray
  y: np.ndarray
  weight: np.ndarray


def unique_inputs(examples: Examples, pad_to: int | None = None) -> TestSet:
  """Collapses repeated test inputs, optionally padding to a fixed count.

  Padding rows repeat the first input with weight 0; a fixed count keeps
  array shapes (and compiled programs) the same across seeds.

  Example:
    >>> ex = Examples(np.array([[1., 0.], [1., 0.], [0., 1.]]),
    ...               np.array([[0., 1.], [0., 1.], [1., 0.]]))
    >>> unique_inputs(ex, pad_to=3).weight.tolist()
    [1.0, 2.0, 0.0]
  """
  x = np.asarray(examples.x)
  y = np.asarray(examples.y)
  ux, index, counts = np.unique(x, axis=0, return_index=True,
                                return_counts=True)
  uy = y[index]
  weight = counts.astype(np.float64)
  if pad_to is not None:
    if pad_to < len(ux):
      raise ValueError(f"pad_to={pad_to} is below the {len(ux)} distinct "
                       f"inputs")
    extra = pad_to - len(ux)
    ux = np.concatenate([ux, np.repeat(ux[:1], extra, axis=0)])
    uy = np.concatenate([uy, np.repeat(uy[:1], extra, axis=0)])
    weight = np.concatenate([weight, np.zeros(extra)])
  return TestSet(ux, uy, weight)


class GrowthState(NamedTuple):
  """A partly grown ensemble: everything needed to continue it exactly.

  Attributes:
    sums: ``(n_unique, k)`` float64 sum of the members' outputs so far.
    members: number of members summed.
    accuracy: ``(members,)`` exact-match accuracy after each member.
  """
  sums: np.ndarray
  members: int
  accuracy: np.ndarray


class Curve(NamedTuple):
  """A finished growth.

  Attributes:
    accuracy: ``(N,)`` accuracy after 1..N members.
    n_at: threshold -> first N with accuracy >= threshold (None if never).
    reached: whether the stopping accuracy was reached.
  """
  accuracy: np.ndarray
  n_at: dict
  reached: bool


def first_reaching(accuracy: np.ndarray, threshold: float) -> int | None:
  """First ensemble size (1-based) with accuracy >= threshold, or None."""
  hit = np.flatnonzero(np.asarray(accuracy) >= threshold - 1e-12)
  return int(hit[0]) + 1 if hit.size else None


def accuracies(state: GrowthState, outputs: np.ndarray, test: TestSet,
               threshold: float) -> tuple[GrowthState, np.ndarray]:
  """Adds members (``(c, n_unique, k)`` outputs) one by one.

  Returns:
    the new state and the ``(c,)`` accuracies after each added member.
  """
  outputs = np.asarray(outputs, np.float64)
  stacked = np.concatenate([state.sums[None], outputs])
  cum = np.cumsum(stacked, axis=0)[1:]  # sequential: resumable bit for bit
  counts = state.members + np.arange(1, len(outputs) + 1)
  average = cum / counts[:, None, None]
  exact = np.all((average > threshold) == (test.y[None] > 0.5), axis=2)
  acc = exact.astype(np.float64) @ test.weight / test.weight.sum()
  new = GrowthState(cum[-1], state.members + len(outputs),
                    np.concatenate([state.accuracy, acc]))
  return new, acc


def empty_state(test: TestSet) -> GrowthState:
  return GrowthState(np.zeros(test.y.shape), 0, np.zeros(0))


def grow(source: MemberSource, test: TestSet, *, stop_accuracy: float,
         max_members: int, chunk: int,
         threshold: float = DEFAULT_ROUND_THRESHOLD,
         state: GrowthState | None = None,
         on_chunk: Callable[[GrowthState], None] | None = None,
         on_progress: Callable[[int, float], None] | None = None,
         thresholds=THRESHOLDS) -> Curve:
  """Grows an ensemble until ``stop_accuracy`` or ``max_members``.

  Args:
    source: ``member_ids -> (len(ids), n_unique, k)`` raw outputs.
    test: the (deduplicated) test set.
    stop_accuracy: stop at the first N with accuracy >= this (1 - δ).
    max_members: give up after this many members.
    chunk: members drawn per call of ``source``.
    threshold: rounding threshold (bit = average > threshold).
    state: resume from here.
    on_chunk: called with the state after every chunk (checkpointing).
    on_progress: called with (members, accuracy) after every chunk.
    thresholds: accuracies whose first N to report.

  Returns:
    :class:`Curve`, truncated at the stopping N.
  """
  if not 0.0 < stop_accuracy <= 1.0:
    raise ValueError(f"stop_accuracy must be in (0, 1], got {stop_accuracy}")
  if chunk < 1 or max_members < 1:
    raise ValueError(f"chunk and max_members must be >= 1, got {chunk}, "
                     f"{max_members}")
  state = empty_state(test) if state is None else state
  stop = first_reaching(state.accuracy, stop_accuracy)
  while stop is None and state.members < max_members:
    take = min(chunk, max_members - state.members)
    ids = np.arange(state.members, state.members + take)
    state, acc = accuracies(state, source(ids), test, threshold)
    stop = first_reaching(state.accuracy, stop_accuracy)
    if on_chunk is not None:
      on_chunk(state)
    if on_progress is not None:
      on_progress(state.members, float(acc[-1]))
  accuracy = state.accuracy if stop is None else state.accuracy[:stop]
  n_at = {t: first_reaching(accuracy, t) for t in thresholds}
  return Curve(accuracy, n_at, stop is not None)


#: ``sampler="auto"`` samples densely up to this many test inputs.
DENSE_AUTO_LIMIT = 4096
GP_SAMPLERS = ("auto", "dense", "symmetric")


def gp_member_source(spec: MLPSpec, regime: str, train: Examples,
                     x_test: np.ndarray, key: jax.Array, *,
                     sampler: str = "auto",
                     max_dense: int = 1 << 14) -> MemberSource:
  """Members drawn jointly from the trained-GP posterior on ``x_test``.

  Member ``i`` is ``μ + S z_i`` with white noise ``z_i`` from
  ``fold_in(key, i)``, all in float64. Two exact samplers:

  * ``"dense"``: ``S = V sqrt(Λ)`` from the eigendecomposition of the
    test-test covariance (exact also where it is singular); any test set, but
    ``O(n_test³)`` once and ``O(n_test²)`` per draw.
  * ``"symmetric"``: :func:`permjax.symmetric_sampler`, which uses that the
    posterior of the permutation task is S_k-invariant; ``O(k² 2^k)`` per draw
    on the whole layers the test inputs lie on, no large matrix. Needs the
    training inputs to be the basis vectors and binary (optionally
    normalised) test inputs. The two samplers draw the same Gaussian from
    different noise, so their members differ.

  ``"auto"`` is dense up to :data:`DENSE_AUTO_LIMIT` test inputs, else
  symmetric.

  Args:
    spec: architecture whose kernels define the GP.
    regime: ``"ntk"`` or ``"nngp"``.
    train: the training set.
    x_test: ``(n_test, k)`` test inputs.
    key: root key of the members.
    sampler: ``"auto"``, ``"dense"`` or ``"symmetric"``.
    max_dense: refuse dense sampling above this many test inputs.

  Returns:
    ``source(ids) -> (len(ids), n_test, out)`` float64 outputs; the chosen
    sampler is in ``source.sampler``.

  Example:
    >>> import permjax
    >>> tr = permjax.training_set([1, 2, 0])
    >>> src = gp_member_source(MLPSpec(width=1), "ntk", tr,
    ...                        permjax.all_inputs([1, 2, 0]).x, jax.random.key(0))
    >>> src(np.arange(4)).shape, src.sampler
    ((4, 7, 3), 'dense')
  """
  if sampler not in GP_SAMPLERS:
    raise ValueError(f"sampler must be one of {list(GP_SAMPLERS)}, got "
                     f"{sampler!r}")
  x_test = np.asarray(x_test, np.float64)
  if sampler == "auto":
    sampler = "dense" if len(x_test) <= DENSE_AUTO_LIMIT else "symmetric"
  if sampler == "dense" and len(x_test) > max_dense:
    raise ValueError(f"dense GP sampling over {len(x_test):,} inputs needs a "
                     f"{len(x_test):,}² covariance; the limit is "
                     f"{max_dense:,}; use sampler='symmetric'")
  devices = tuple(jax.local_devices())
  if sampler == "dense":
    pred = gp_lib.gp_predict(spec, train.x, train.y, x_test,
                             backend="closed_form", regime=regime)
    evals, evecs = np.linalg.eigh(pred.cov)
    args = (pred.mean, evecs * np.sqrt(np.maximum(evals, 0.0)))
    draws = _gp_draws(devices)
  else:
    mean, rows, layers, cov_fn = _symmetric_setup(spec, regime, train, x_test)
    draws = _symmetric_draws(devices, x_test.shape[1], layers,
                             _CovKey(cov_fn))
    args = (mean, rows)

  def source(ids):
    ids = np.asarray(ids)
    pad = -len(ids) % len(devices)
    padded = np.concatenate([ids, np.full(pad, ids[-1])])
    with jax.enable_x64(True):
      out = draws(key, jnp.asarray(padded, jnp.int64),
                  *[jnp.asarray(a) for a in args])
      return np.asarray(out, np.float64)[:len(ids)]
  source.sampler = sampler
  return source


def _sharded(devices, local, n_shared):
  mesh = Mesh(np.asarray(devices), ("members",))
  spec = PartitionSpec
  return jax.jit(jax.shard_map(
      local, mesh=mesh,
      in_specs=(spec(), spec("members")) + (spec(),) * n_shared,
      out_specs=spec("members"), check_vma=False))


@functools.lru_cache(maxsize=8)
def _gp_draws(devices):
  """``mean + root @ z_i`` per id, the ids sharded over ``devices``."""
  def local(key, ids, mean, root):
    def one(i):
      z = jax.random.normal(jax.random.fold_in(key, i), mean.shape,
                            mean.dtype)
      return mean + root @ z
    return jax.vmap(one)(ids)
  return _sharded(devices, local, 2)


class _CovKey:
  """Hashable wrapper of a tabulated ``cov_fn`` (cache key of compiled draws)."""

  def __init__(self, table: dict):
    self.table = table
    self._key = tuple(sorted(table.items()))

  def __call__(self, a, b, c):
    return self.table[(a, b, c)]

  def __hash__(self):
    return hash(self._key)

  def __eq__(self, other):
    return isinstance(other, _CovKey) and self._key == other._key


def _symmetric_setup(spec, regime, train, x_test):
  """Mean, row map, layers and the tabulated covariance ``g(a, b, c)``."""
  k = x_test.shape[1]
  x_train = np.asarray(train.x, np.float64)
  if (x_train.shape != (k, k) or not np.isin(x_train, (0.0, 1.0)).all()
      or not (x_train.sum(0) == 1).all() or not (x_train.sum(1) == 1).all()):
    raise ValueError("symmetric GP sampling needs the k basis vectors as "
                     f"training inputs, got x_train of shape {x_train.shape} "
                     "that is not a permutation of the identity")
  masks, scale = hypercube.layer_structure(x_test)
  layers = tuple(sorted(scale))
  cube = hypercube.cube(k)
  offset = np.cumsum([0] + [len(cube.masks[a]) for a in layers])
  where = dict(zip(layers, offset[:-1]))
  counts = np.count_nonzero(x_test, axis=1)
  rows = np.array([where[c] for c in counts]) + cube.position[masks]
  # Covariance of an a-subset and a b-subset sharing c ones, from the same
  # closed form as the dense path, on one representative pair per (a, b, c).
  triples = [(a, b, c) for a in layers for b in layers if a <= b
             for c in range(max(0, a + b - k), a + 1)]
  reps = np.zeros((2 * len(triples), k))
  for t, (a, b, c) in enumerate(triples):
    reps[2 * t, :a] = scale[a]
    reps[2 * t + 1, a - c:a - c + b] = scale[b]
  pred = gp_lib.gp_predict(spec, x_train, train.y, reps,
                           backend="closed_form", regime=regime)
  table = {tr: float(pred.cov[2 * t, 2 * t + 1])
           for t, tr in enumerate(triples)}
  # Mean: G(x, X) G(X, X)^{-1} Y, without the test-test covariance.
  g_xx = getattr(kernels_lib.kernel_matrices(spec, x_train), regime)
  g_tx = getattr(kernels_lib.kernel_matrices(spec, x_test, x_train), regime)
  mean = g_tx @ np.linalg.solve(g_xx, np.asarray(train.y, np.float64))
  return mean, rows, layers, table


@functools.lru_cache(maxsize=8)
def _symmetric_draws(devices, k, layers, cov):
  sampler = hypercube.symmetric_sampler(k, layers, cov)

  def local(key, ids, mean, rows):
    out_dim = mean.shape[1]

    sizes = {j: int(np.prod(shape)) for j, shape in
             sampler.noise_shapes.items()}
    total = sum(sizes.values())

    def one(i):
      flat = jax.random.normal(jax.random.fold_in(key, i), (total, out_dim),
                               mean.dtype)
      noise, at = {}, 0
      for j, shape in sampler.noise_shapes.items():
        noise[j] = flat[at:at + sizes[j]].reshape(shape + (out_dim,))
        at += sizes[j]
      return mean + sampler.transform(noise)[rows]
    return jax.vmap(one)(ids)
  return _sharded(devices, local, 2)


def network_member_source(spec: MLPSpec, train: Examples, x_test: np.ndarray,
                          key: jax.Array, config: training.TrainConfig,
                          **engine_kwargs) -> MemberSource:
  """Members trained by :func:`permjax.train_ensemble` (member ids as given)."""
  def source(ids):
    res = ensembles.train_ensemble(spec, train, key, member_ids=ids,
                                   x_test=x_test, config=config,
                                   **engine_kwargs)
    return res.outputs.astype(np.float64)
  return source
