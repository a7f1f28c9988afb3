"""Member sources: where the members of a growing ensemble come from.

A member source maps member ids to the members' raw outputs on a fixed test
set, ``source(ids) -> (len(ids), n_test, out)``; member ``i`` is the same
whatever batch it is drawn in (``fold_in(key, i)``). Two kinds:

* :func:`gp_member_source`: infinite width; each member's outputs on the
  whole test set are one joint draw from the trained-GP posterior (float64),
  densely or with the exact S_k-symmetric sampler of
  :mod:`permjax._src.hypercube`;
* :func:`network_member_source`: finite networks trained by
  :func:`permjax.train_ensemble`.

The growth protocol (:mod:`permjax._src.growth`) consumes either.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from permjax._src import devices as devices_lib
from permjax._src import ensemble_training
from permjax._src import gp as gp_lib
from permjax._src import hypercube
from permjax._src import training
from permjax._src import validation
from permjax._src.models import check_spec
from permjax._src.models import MLPSpec
from permjax._src.permutation import Examples


class Members(NamedTuple):
  """Some members of an ensemble, as a source returns them.

  Attributes:
    outputs: ``(c, n_test, out)`` raw outputs, float64.
    status: ``(c,)`` statuses: ``"exact"`` (a GP draw), ``"converged"``,
      ``"max_steps"``, ``"failed"`` (trained members).
    final_loss: ``(c,)`` final training losses (nan for GP draws).
  """
  outputs: np.ndarray
  status: np.ndarray
  final_loss: np.ndarray


class MemberSource(NamedTuple):
  """Member ids to raw outputs, plus a description of where they come from.

  Attributes:
    draw: ``ids -> Members`` (outputs ``(len(ids), n_test, out)``, float64,
      with each member's status and final loss).
    info: JSON-able description, recorded with every result: ``regime``
      (``gp``, or the networks' parameterization ``ntk``/``standard``),
      ``kernel`` (the GP the members follow), and ``sampler`` or
      ``width``/``trainer``.
  """
  draw: Callable[[np.ndarray], np.ndarray]
  info: dict

  def __call__(self, ids) -> Members:
    return self.draw(ids)


#: ``sampler="auto"`` samples densely up to this many test inputs.
DENSE_AUTO_LIMIT = 4096
GP_SAMPLERS = ("auto", "dense", "symmetric")


def gp_member_source(spec: MLPSpec, kernel: str, train: Examples,
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
    kernel: ``"ntk"`` or ``"nngp"``.
    train: the training set.
    x_test: ``(n_test, k)`` test inputs.
    key: root key of the members.
    sampler: ``"auto"``, ``"dense"`` or ``"symmetric"``.
    max_dense: refuse dense sampling above this many test inputs.

  Returns:
    ``source(ids) -> (len(ids), n_test, out)`` float64 outputs; the chosen
    sampler is in ``source.info["sampler"]``.

  Example:
    >>> import permjax
    >>> tr = permjax.training_set([1, 2, 0])
    >>> src = gp_member_source(MLPSpec(width=1), "ntk", tr,
    ...                        permjax.all_inputs([1, 2, 0]).x, jax.random.key(0))
    >>> src(np.arange(4)).outputs.shape, src.info["sampler"]
    ((4, 7, 3), 'dense')
  """
  spec = check_spec(spec)
  key = validation.prng_key("key", key)
  validation.choice("kernel", kernel, gp_lib.KERNELS)
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
                             backend="closed_form", kernel=kernel)
    evals, evecs = np.linalg.eigh(pred.cov)
    root = evecs * np.sqrt(np.maximum(evals, 0.0))
    # A test input that is a training input is known exactly (posterior
    # variance 0): its draws are its target, not target ± rounding noise
    # (which a threshold of 1e-10 would read as coin flips).
    at_train = _training_rows(np.asarray(train.x, np.float64), x_test)
    mean = np.array(pred.mean, np.float64)
    hit = at_train >= 0
    mean[hit] = np.asarray(train.y, np.float64)[at_train[hit]]
    root[hit] = 0.0
    args = (mean, root)
    draws = _gp_draws(devices)
  else:
    mean, rows, layers, cov_fn = _symmetric_setup(spec, kernel, train, x_test)
    draws = _symmetric_draws(devices, x_test.shape[1], layers,
                             _CovKey(cov_fn))
    args = (mean, rows)
  mean_shape = (len(x_test), np.asarray(train.y).shape[1])

  def draw(ids):
    ids = check_member_ids(ids)
    if not ids.size:
      return Members(np.zeros((0,) + mean_shape), np.zeros(0, "<U16"),
                     np.zeros(0))
    padded = devices_lib.pad_ids(ids, len(devices))
    with jax.enable_x64(True):
      out = draws(key, jnp.asarray(padded, jnp.int64),
                  *[jnp.asarray(a) for a in args])
    return Members(np.asarray(out, np.float64)[:len(ids)],
                   np.full(len(ids), "exact"), np.full(len(ids), np.nan))
  return MemberSource(draw, {"regime": "gp", "kernel": kernel,
                             "sampler": sampler, "dtype": "float64"})


def check_member_ids(ids) -> np.ndarray:
  """``ids`` as distinct int64 member ids in ``0..2^31-1`` (a 1-D array)."""
  arr = np.asarray(ids)
  if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
    raise TypeError(f"member ids must be a 1-D array of integers, got "
                    f"{ids!r}")
  arr = arr.astype(np.int64)
  if arr.size and (arr.min() < 0 or arr.max() > (1 << 31) - 1
                   or len(np.unique(arr)) != arr.size):
    raise ValueError(f"member ids must be distinct integers in 0..2^31-1, "
                     f"got {ids!r}")
  return arr


def _training_rows(x_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
  """Per test row, the index of an identical training row, or -1."""
  where = {row.tobytes(): i for i, row in enumerate(x_train)}
  return np.array([where.get(row.tobytes(), -1) for row in x_test], np.int64)


def _sharded(devices, local, n_shared):
  return devices_lib.shard_members(local, devices, n_shared)[0]


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


def _symmetric_setup(spec, kernel, train, x_test):
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
                           backend="closed_form", kernel=kernel)
  table = {tr: float(pred.cov[2 * t, 2 * t + 1])
           for t, tr in enumerate(triples)}
  mean = gp_lib.posterior_mean(spec, x_train, train.y, x_test, kernel=kernel)
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
  """Members trained by :func:`permjax.train_ensemble` (member ids as given).

  ``source(ids)`` returns the raw outputs (float64 copies of the trainer's
  dtype) of the finite networks ``ids``; ``source.info`` names the
  parameterization, width and trainer.

  Example:
    >>> import permjax
    >>> perm = [1, 2, 0]
    >>> src = network_member_source(
    ...     MLPSpec(width=64), permjax.training_set(perm),
    ...     permjax.all_inputs(perm).x, jax.random.key(0),
    ...     permjax.TrainConfig(trainer="linearized"))
    >>> members = src(np.arange(3))
    >>> members.outputs.shape, members.status.tolist(), src.info["trainer"]
    ((3, 7, 3), ['converged', 'converged', 'converged'], 'linearized/cholesky')
  """
  spec = check_spec(spec)
  key = validation.prng_key("key", key)
  if not isinstance(config, training.TrainConfig):
    raise TypeError(f"config must be a permjax.TrainConfig, got {config!r}")

  def draw(ids):
    res = ensemble_training.train_ensemble(spec, train, key, member_ids=ids,
                                   x_test=x_test, config=config,
                                   **engine_kwargs)
    return Members(res.outputs.astype(np.float64), res.status,
                   res.final_loss.astype(np.float64))
  return MemberSource(draw, _network_info(spec, config))


def _network_info(spec: MLPSpec, config: training.TrainConfig) -> dict:
  """The record of where finite members come from."""
  trainer = config.trainer + (f"/{config.solver}"
                              if config.trainer == "linearized" else "")
  return {"regime": spec.parameterization, "kernel": spec.kernel,
          "width": spec.width, "trainer": trainer, "dtype": config.dtype}


class TrainedNetworks:
  """Finite networks trained once and applied to any inputs.

  For test sets too large to hold at once (e.g. every encoding of 10^4
  random 16-bit multiplications: 10^7 encodings × 289 outputs): members are
  trained on first request (:func:`permjax.train_ensemble`, parameters
  kept, a few MB each) and :meth:`source` gives a :class:`MemberSource` on
  one block of test inputs, with the same members on every block, so
  growths on disjoint blocks combine exactly (:func:`permjax.merge_curves`).
  Outputs equal :func:`network_member_source`'s up to float rounding (the
  linearized trainer's move is recovered as ``θ_moved − θ_0``).

  Example:
    >>> import permjax
    >>> perm = [1, 2, 0]
    >>> nets = TrainedNetworks(MLPSpec(width=64), permjax.training_set(perm),
    ...                        jax.random.key(0),
    ...                        permjax.TrainConfig(trainer="linearized"))
    >>> x = permjax.all_inputs(perm).x
    >>> nets.source(x[:4])(np.arange(3)).outputs.shape
    (3, 4, 3)
    >>> nets.trained
    3
  """

  def __init__(self, spec: MLPSpec, train: Examples, key: jax.Array,
               config: training.TrainConfig, **engine_kwargs):
    self.spec = check_spec(spec)
    self.key = validation.prng_key("key", key)
    if not isinstance(config, training.TrainConfig):
      raise TypeError(f"config must be a permjax.TrainConfig, got {config!r}")
    self.train, self.config = train, config
    self._kwargs = engine_kwargs
    self._params, self._status, self._loss = {}, {}, {}
    self.in_dim = int(np.shape(train.x)[1])
    self.out_dim = int(np.shape(train.y)[1])
    self._apply = jax.jit(self.apply_members)

  @property
  def trained(self) -> int:
    """How many members have been trained so far."""
    return len(self._params)

  def info(self) -> dict:
    return {**_network_info(self.spec, self.config), "blocked": True}

  def _ensure(self, ids: np.ndarray) -> None:
    todo = np.array([i for i in ids.tolist() if i not in self._params],
                    np.int64)
    if not todo.size:
      return
    res = ensemble_training.train_ensemble(
        self.spec, self.train, self.key, member_ids=todo,
        x_test=np.asarray(self.train.x)[:1], config=self.config,
        return_params=True, **self._kwargs)
    for j, i in enumerate(res.member_ids.tolist()):
      moved = jax.tree.map(lambda a, j=j: np.asarray(a[j]), res.params)
      if self.config.trainer == "linearized":
        start = self._init(i)
        moved = {"start": start,
                 "delta": jax.tree.map(np.subtract, moved, start)}
      self._params[i] = moved
      self._status[i] = str(res.status[j])
      self._loss[i] = float(res.final_loss[j])

  def _init(self, member_id: int):
    return jax.tree.map(np.asarray, self.spec.init_params(
        jax.random.fold_in(self.key, member_id), self.in_dim, self.out_dim,
        self.config.jnp_dtype))

  def _apply_one(self, params, x):
    if self.config.trainer == "linearized":
      return training.linearized_outputs(
          self.spec, params["start"], params["delta"], x, self.out_dim,
          self.config.jnp_dtype, self.in_dim)
    return self.spec.flax_model(self.out_dim, self.config.jnp_dtype).apply(
        params, x, self.in_dim)

  def stacked_params(self, ids):
    """Members ``ids``' parameters, stacked on a leading axis (numpy;
    trained on first request), for :meth:`apply_members`."""
    ids = check_member_ids(ids)
    self._ensure(ids)
    return jax.tree.map(lambda *a: np.stack(a),
                        *[self._params[i] for i in ids.tolist()])

  def apply_members(self, stacked, x):
    """``(members, B, out)`` outputs of :meth:`stacked_params` on ``x``
    (``(B, in_dim)``, the config's dtype); a JAX function, traceable inside
    ``jit`` (the device driver calls it every round)."""
    return jax.vmap(self._apply_one, in_axes=(0, None))(stacked, x)

  def outputs(self, ids, x, rows: int = 1 << 14) -> np.ndarray:
    """``(len(ids), n, out)`` float64 outputs of members ``ids`` on ``x``
    (``(n, in_dim)``), ``rows`` inputs at a time."""
    ids = check_member_ids(ids)
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != self.in_dim:
      raise ValueError(f"x must be (n, {self.in_dim}), got {x.shape}")
    stacked = self.stacked_params(ids)
    out = np.empty((len(ids), len(x), self.out_dim), np.float64)
    dtype = self.config.jnp_dtype
    for start in range(0, len(x), rows):
      block = jnp.asarray(x[start:start + rows], dtype)
      out[:, start:start + rows] = np.asarray(
          self._apply(stacked, block), np.float64)
    return out

  def training_of(self, ids) -> tuple[np.ndarray, np.ndarray]:
    """``(status, final_loss)`` of members ``ids`` (trained on first
    request): their training statuses (``"converged"``, ...) and final
    training losses, as a :class:`Members` record holds them."""
    ids = check_member_ids(ids)
    self._ensure(ids)
    return (np.array([self._status[i] for i in ids.tolist()]),
            np.array([self._loss[i] for i in ids.tolist()]))

  def source(self, x_test) -> MemberSource:
    """A :class:`MemberSource` on ``x_test`` (same members on any block)."""
    x_test = np.asarray(x_test)

    def draw(ids):
      ids = check_member_ids(ids)
      out = self.outputs(ids, x_test)
      return Members(out, *self.training_of(ids))
    return MemberSource(draw, self.info())
