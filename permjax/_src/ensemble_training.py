"""Training many members at once: vmapped, sharded over devices, resumable.

Member ``i`` is initialised from ``jax.random.fold_in(key, i)``, so its
outputs do not depend on how the ensemble is chunked, sharded over devices,
split over hosts or resumed.

Layout of the work:

* a *batch* is ``batch_per_device`` members per local device, trained by one
  jitted ``vmap`` call whose member axis is sharded over the devices with
  ``jax.sharding`` (each device trains its own members; only the outputs are
  gathered);
* a *chunk* is ``chunk_size`` members (a whole number of batches); after each
  finished chunk its outputs and member ids are saved with orbax, so a killed
  run resumes without losing or repeating a member.

``batch_per_device`` is sized from the width, ``k``, the dtype and a memory
budget (default: a cache-sized 2 MiB per CPU device, a quarter of the
accelerator memory per GPU/TPU device).

Across hosts, start every process with ``jax.distributed.initialize(...)``
and call :func:`train_ensemble` with ``member_ids=host_member_ids(n)``: each
process trains a disjoint set of ids; :func:`merge_results` (or
:func:`gather_across_processes`) joins them into one ensemble.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from permjax._src import devices as devices_lib
from permjax._src import kernels as kernels_lib
from permjax._src import models as models_lib
from permjax._src import training
from permjax._src import validation
from permjax._src.checkpoint import Checkpoint
from permjax._src.checkpoint import CheckpointError
from permjax._src.models import MLPSpec
from permjax._src.permutation import Examples

#: Default per-device memory budgets (bytes) for sizing a batch.
CPU_BUDGET = 2 << 20
ACCELERATOR_FRACTION = 0.25
MAX_BATCH_PER_DEVICE = 1024
#: Largest member id: ids enter ``fold_in`` as int32.
MAX_MEMBER_ID = (1 << 31) - 1


class TrainingDivergedError(ValueError):
  """Gradient descent blew up; the message names the step size to use."""


class EnsembleResult(NamedTuple):
  """Outputs of trained members.

  Attributes:
    outputs: ``(n_members, n_test, out_dim)`` raw outputs on the test inputs.
    member_ids: ``(n_members,)`` ids (member ``i`` used ``fold_in(key, i)``).
    steps: ``(n_members,)`` GD steps taken (0 for the linearized trainer).
    final_loss: ``(n_members,)`` final training loss.
    status: ``(n_members,)`` names: ``converged``; ``max_steps`` (GD's step
      budget, or CG's iterations, ran out above the tolerance); ``failed``
      (the linearized solve was non-finite). Diverged GD raises instead.
    lr: the step size used (nan for the linearized trainer).
    max_stable_lr: ``2/λ_max`` of the loss Hessian (from members 0..3);
      nan for the linearized trainer, and for a fixed numeric ``lr`` without
      ``max_lr_fraction``, which does not need it (the probe is then skipped,
      saving its compilation; :func:`permjax.max_stable_lr` computes it).
    params: stacked parameters (``return_params=True``), else None.
    info: trainer, loss, dtype, spec, devices and batch layout.
  """
  outputs: np.ndarray
  member_ids: np.ndarray
  steps: np.ndarray
  final_loss: np.ndarray
  status: np.ndarray
  lr: float
  max_stable_lr: float
  params: Any
  info: dict


#: Largest gathered first-layer block of sparse test inputs (bytes); above
#: it the test inputs are multiplied densely.
MAX_GATHER_BYTES = 1 << 31


def _is_basis(x: np.ndarray) -> bool:
  return x.shape[0] == x.shape[1] and np.array_equal(x, np.eye(x.shape[0]))


def member_bytes(spec: MLPSpec, in_dim: int, out_dim: int, n_train: int,
                 n_test: int, dtype: str, trainer: str) -> int:
  """Rough live memory of one member while it trains (bytes).

  Parameters, their gradient, the optimizer's copy and the activations of
  the training batch (GD), or the layer cotangents and the NTK (linearized),
  plus the test-set forward pass.
  """
  itemsize = 4 if dtype == "float32" else 8
  widths = [in_dim] + [spec.width] * spec.depth + [out_dim]
  n_params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
  hidden = spec.width * spec.depth
  if trainer == "gd":
    floats = 4 * n_params + 4 * n_train * hidden
  else:
    floats = (3 * n_params + out_dim * n_train * hidden * 2
              + (n_train * out_dim) ** 2)
  floats += 3 * n_test * (hidden + out_dim)
  return int(floats * itemsize)


def auto_batch_per_device(spec, in_dim, out_dim, n_train, n_test, dtype,
                          trainer, memory_budget=None, device=None,
                          sequential: bool = False) -> int:
  """Members per device per call, from the memory budget.

  With ``sequential`` (members walked one by one within a call) only their
  outputs accumulate, so more of them fit; at most 64 then, to keep
  checkpoints and progress fine-grained.

  Example:
    >>> auto_batch_per_device(MLPSpec(width=2000), 10, 10, 10, 1000,
    ...                       "float32", "gd", memory_budget=2 << 20)
    1
  """
  if memory_budget is None:
    device = device or jax.local_devices()[0]
    if device.platform == "cpu":
      memory_budget = CPU_BUDGET
    else:
      stats = device.memory_stats() or {}
      limit = stats.get("bytes_limit", 16 << 30)
      memory_budget = int(ACCELERATOR_FRACTION * limit)
  if memory_budget <= 0:
    raise ValueError(f"memory_budget must be > 0 bytes, got {memory_budget}")
  per = member_bytes(spec, in_dim, out_dim, n_train, n_test, dtype, trainer)
  if sequential:
    itemsize = 4 if dtype == "float32" else 8
    kept = n_test * out_dim * itemsize
    return int(max(1, min(64, memory_budget // kept)))
  return int(max(1, min(MAX_BATCH_PER_DEVICE, memory_budget // per)))


def host_member_ids(n_members: int, process_index: int | None = None,
                    process_count: int | None = None) -> np.ndarray:
  """The member ids this process owns in a multi-host run (a disjoint share).

  Example:
    >>> host_member_ids(10, 1, 3).tolist()
    [1, 4, 7]
  """
  index = jax.process_index() if process_index is None else process_index
  count = jax.process_count() if process_count is None else process_count
  n_members = validation.integer("n_members", n_members, 0)
  index = validation.integer("process_index", index, 0)
  count = validation.integer("process_count", count, 1)
  if not 0 <= index < count:
    raise ValueError(f"process_index must be in 0..process_count-1 = "
                     f"0..{count - 1}, got {index}")
  return np.arange(index, n_members, count)


def merge_results(results: list[EnsembleResult]) -> EnsembleResult:
  """Joins results over disjoint member ids into one ensemble, sorted by id.

  Example:
    >>> import jax, permjax
    >>> perm = [1, 0]
    >>> def part(ids):
    ...   return permjax.train_ensemble(
    ...       permjax.MLPSpec(width=64), permjax.training_set(perm),
    ...       jax.random.key(0), member_ids=ids, x_test=[[1.0, 0.0]],
    ...       config=permjax.TrainConfig(trainer="linearized"))
    >>> merge_results([part([2, 0]), part([1])]).member_ids.tolist()
    [0, 1, 2]
  """
  if isinstance(results, EnsembleResult) or not isinstance(
      results, (list, tuple)):
    raise TypeError(f"merge_results takes a list of EnsembleResult, got "
                    f"{type(results).__name__}")
  results = list(results)
  if not results:
    raise ValueError("merge_results needs at least one EnsembleResult, got "
                     "none")
  if not all(isinstance(r, EnsembleResult) for r in results):
    raise TypeError("merge_results takes a list of EnsembleResult")
  layout = ("devices", "batch_per_device", "chunk_size")
  same = [{k: v for k, v in r.info.items() if k not in layout}
          for r in results]
  for i, info in enumerate(same[1:], 1):
    if info != same[0] or results[i].outputs.shape[1:] != (
        results[0].outputs.shape[1:]):
      diff = sorted(k for k in set(info) | set(same[0])
                    if info.get(k) != same[0].get(k)) or ["x_test shape"]
      raise ValueError(f"results 0 and {i} are not parts of one ensemble "
                       f"(they differ in {diff}); merge parts trained with "
                       f"the same spec, config, key and data")
  ids = np.concatenate([r.member_ids for r in results])
  if len(np.unique(ids)) != len(ids):
    raise ValueError("results overlap: some member ids appear twice")
  order = np.argsort(ids)

  def cat(name):
    return np.concatenate([getattr(r, name) for r in results])[order]
  params = None
  if all(r.params is not None for r in results):
    params = jax.tree.map(lambda *xs: np.concatenate(xs)[order],
                          *[r.params for r in results])
  first = results[0]
  return EnsembleResult(cat("outputs"), ids[order], cat("steps"),
                        cat("final_loss"), cat("status"), first.lr,
                        first.max_stable_lr, params, first.info)


def gather_across_processes(result: EnsembleResult) -> EnsembleResult:
  """All processes' members in one ensemble (every process gets all of it).

  Call it on every process after ``jax.distributed.initialize`` and
  ``train_ensemble(..., member_ids=host_member_ids(n))``; on CPU hosts set
  ``jax.config.update("jax_cpu_collectives_implementation", "gloo")`` first.
  With one process it returns its argument.

  Example:
    >>> import jax, permjax
    >>> res = permjax.train_ensemble(
    ...     permjax.MLPSpec(width=64), permjax.training_set([1, 0]),
    ...     jax.random.key(0), member_ids=permjax.host_member_ids(3),
    ...     x_test=[[1.0, 1.0]], config=permjax.TrainConfig(trainer="linearized"))
    >>> gather_across_processes(res).member_ids.tolist()   # one process here
    [0, 1, 2]
  """
  if not isinstance(result, EnsembleResult):
    raise TypeError(f"gather_across_processes takes an EnsembleResult, got "
                    f"{type(result).__name__}")
  if jax.process_count() == 1:
    return result
  from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
  n_local = np.array([len(result.member_ids)])
  counts = np.asarray(multihost_utils.process_allgather(n_local)).reshape(-1)
  if len(set(counts.tolist())) != 1:
    raise ValueError(f"processes hold different member counts {counts}; use "
                     f"host_member_ids(n) with n divisible by the process "
                     f"count, or merge_results on saved results")
  status_codes = np.array([_STATUS_CODES[s] for s in result.status])
  arrays = [result.outputs, result.member_ids, result.steps,
            result.final_loss, status_codes]
  gathered = [np.asarray(multihost_utils.process_allgather(a)) for a in arrays]
  parts = []
  for p in range(jax.process_count()):
    status = np.array([training.STATUS_NAMES[c] for c in gathered[4][p]])
    parts.append(result._replace(
        outputs=gathered[0][p], member_ids=gathered[1][p], steps=gathered[2][p],
        final_loss=gathered[3][p], status=status, params=None))
  return merge_results(parts)


_STATUS_CODES = {name: code for code, name in training.STATUS_NAMES.items()}


def _fingerprint(spec, config, key, x_train, y_train, x_test,
                 plan: "_Plan") -> dict:
  """Everything a member's bits depend on: a resume must match all of it.

  Bitwise identity needs the same vmap width (``batch_per_device``), dtype,
  device kind and JAX version (XLA picks kernels by all four).
  """
  def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]
  return {
      "spec": spec.to_dict(),
      "train_config": dataclasses.asdict(config),
      "key": np.asarray(jax.random.key_data(key)).tolist(),
      "x_train": digest(np.asarray(x_train, np.float64)),
      "y_train": digest(np.asarray(y_train, np.float64)),
      "x_test": digest(np.asarray(x_test, np.float64)),
      "batch_per_device": plan.batch_per_device,
      "device_kind": plan.devices[0].device_kind,
      "jax_version": jax.__version__,
  }


_CHUNK_FIELDS = ("outputs", "member_ids", "steps", "final_loss", "status")


def _load_chunks(store: Checkpoint) -> dict[str, np.ndarray] | None:
  """Every saved chunk of ``store`` merged, or None if there is none."""
  parts = []
  for step in store.steps():
    restored = store.restore(step)
    missing = sorted(set(_CHUNK_FIELDS) - set(restored))
    if missing:
      raise CheckpointError(f"checkpoint {store.directory} chunk {step} lacks "
                            f"{missing}; it was left untouched")
    parts.append(restored)
  if not parts:
    return None
  merged = {k: np.concatenate([p[k] for p in parts]) for k in _CHUNK_FIELDS}
  if len(np.unique(merged["member_ids"])) != len(merged["member_ids"]):
    raise CheckpointError(f"checkpoint {store.directory} holds a member twice")
  return merged


def _diverged_message(spec, config, lr, lr_max, ids, losses):
  return (f"gradient descent diverged for member(s) {ids[:5]} (final loss "
          f"{losses[:3]}) with lr={lr:.6g}; the largest stable lr is "
          f"{lr_max:.6g} (2/λ_max of the empirical NTK's loss Hessian, "
          f"{config.loss} loss, {spec.parameterization} parameterization, "
          f"width {spec.width}). Use lr below that, e.g. lr='auto'. No result "
          f"was written for this chunk.")


def _walks_members(config, devices) -> bool:
  """Whether a device trains its members one by one (see ``_compiled``)."""
  return (config.trainer == "linearized" and len(devices) > 1
          and devices[0].platform == "cpu")


@functools.lru_cache(maxsize=32)
def _compiled(spec: MLPSpec, config: training.TrainConfig, in_dim: int,
              out_dim: int, basis: bool, devices: tuple, return_params: bool):
  """Jitted (probe, run) for one setting, cached across calls.

  ``probe(key, ids, x_train, y_train)`` gives each member's largest stable
  lr; ``run(key, ids, lr, x_train, y_train, x_test)`` trains the members
  ``ids`` (sharded over ``devices``) and returns outputs, steps, losses,
  status (and parameters).
  """
  dtype = config.jnp_dtype

  def init(key, member_id):
    return spec.init_params(jax.random.fold_in(key, member_id), in_dim,
                            out_dim, dtype)

  def probe(key, ids, xt, yt):
    xt = None if basis else xt
    return jax.vmap(lambda i: training.max_stable_lr(
        spec, init(key, i), xt, yt, config.loss, in_dim))(ids)

  precond = None
  if config.trainer == "linearized" and config.solver == "cg":
    # Inverse of the infinite-width NTK on the training inputs (per output).
    # Basis inputs are fixed by in_dim; other inputs would need to be known
    # here, so CG is preconditioned only for the basis (the permutation's) case.
    if basis:
      theta = kernels_lib.kernel_matrices(spec, np.eye(in_dim)).ntk
      precond = np.linalg.inv(theta)

  def member(key, member_id, lr_value, xt, yt, xs):
    params = init(key, member_id)
    if config.trainer == "gd":
      fit = training.fit_gd(spec, params, xt, yt, lr_value, config, in_dim)
      outputs = spec.flax_model(out_dim, dtype).apply(fit.params, xs, in_dim)
      return outputs, fit.steps, fit.loss, fit.status, fit.params
    fit = training.fit_linearized(
        spec, params, xt, yt, in_dim, dtype, solver=config.solver,
        preconditioner=precond, cg_tol=config.cg_tol)
    outputs = training.linearized_outputs(spec, params, fit.delta, xs,
                                          out_dim, dtype, in_dim)
    moved = jax.tree.map(jnp.add, params, fit.delta)
    loss = training.training_loss(yt - fit.residual, yt, config.loss)
    return outputs, jnp.zeros((), jnp.int32), loss, fit.status, moved

  # jaxlib's batched LAPACK kernels (Cholesky here) wait on the intra-op
  # thread pool from inside it; with one CPU device per core every pool thread
  # may be running a device, and a batched call then deadlocks. On multi-device
  # CPU the linearized trainer therefore walks its members one by one.
  sequential = _walks_members(config, devices)

  def local(key, ids, lr_value, xt, yt, xs):
    # One device's members: independent of the other devices (no collective
    # inside the training loop), so each device runs at its own pace.
    xt = None if basis else xt
    if sequential:
      out = jax.lax.map(lambda i: member(key, i, lr_value, xt, yt, xs), ids)
    elif ids.shape[0] == 1:
      # One member per device (the CPU default): the member's own program,
      # not a batch of one (whose batched products are ~5% slower).
      out = jax.tree.map(lambda a: a[None],
                         member(key, ids[0], lr_value, xt, yt, xs))
    else:
      out = jax.vmap(member, in_axes=(None, 0, None, None, None, None))(
          key, ids, lr_value, xt, yt, xs)
    return out if return_params else out[:4]
  run, sharded = devices_lib.shard_members(local, devices, 4)
  return jax.jit(probe), run, sharded


class _Plan(NamedTuple):
  """How one call lays out its work (see :func:`_plan`)."""
  in_dim: int
  out_dim: int
  basis: bool
  xt: jax.Array
  yt: jax.Array
  xs: Any
  devices: tuple
  batch_per_device: int
  batch: int
  chunk_size: int


def _validate(train, x_test, n_members, member_ids, config):
  """Checks the arguments; returns ``(x_train, y_train, x_test, ids)``."""
  if not (hasattr(train, "x") and hasattr(train, "y")):
    raise TypeError(f"train must be permjax.Examples (x, y), e.g. "
                    f"permjax.training_set(perm), got {type(train).__name__}")
  x_train = validation.finite_array("train.x", train.x, ndim=2)
  y_train = validation.finite_array("train.y", train.y, ndim=2)
  if x_test is None:
    raise TypeError("x_test (the inputs to report outputs on) is required")
  if x_train.ndim != 2 or y_train.ndim != 2 or len(x_train) != len(y_train):
    raise ValueError(f"train must hold x (n, d) and y (n, out) with the same n,"
                     f" got {x_train.shape} and {y_train.shape}")
  x_test = np.asarray(x_test)
  if x_test.ndim != 2 or x_test.shape[1] != x_train.shape[1] or (
      x_test.shape[0] == 0):
    raise ValueError(f"x_test must be (n_test >= 1, {x_train.shape[1]}), got "
                     f"{x_test.shape}")
  for name, arr in (("train.x", x_train), ("train.y", y_train),
                    ("x_test", x_test)):
    bad = np.flatnonzero(~np.all(np.isfinite(arr), axis=1))
    if bad.size:
      raise ValueError(f"{name} holds non-finite values in rows "
                       f"{bad[:5].tolist()}")
  if member_ids is None:
    if (n_members is None or isinstance(n_members, bool)
        or not isinstance(n_members, (int, np.integer)) or n_members < 1):
      raise ValueError(f"n_members must be an integer >= 1, got "
                       f"{n_members!r}")
    ids = np.arange(int(n_members))
  elif n_members is not None:
    raise ValueError(f"give n_members (members 0..n-1) or member_ids, not "
                     f"both (got n_members={n_members!r} and member_ids)")
  else:
    ids = np.asarray(member_ids)
    if ids.ndim != 1 or ids.size == 0 or ids.dtype.kind not in "iu" or (
        ids.min() < 0) or len(np.unique(ids)) != ids.size:
      raise ValueError("member_ids must be distinct integers >= 0")
  if ids.max() > MAX_MEMBER_ID:
    raise ValueError(f"member ids must be <= {MAX_MEMBER_ID} (they seed "
                     f"fold_in as int32), got {int(ids.max())}")
  if config.jnp_dtype == jnp.float64 and not jax.config.jax_enable_x64:
    raise ValueError("dtype='float64' needs jax.config.update("
                     "'jax_enable_x64', True)")
  return x_train, y_train, x_test, ids


def _plan(spec, config, x_train, y_train, x_test, n_ids, batch_per_device,
          chunk_size, memory_budget, devices) -> _Plan:
  """Device arrays, sparse test inputs, the vmap width and the chunking."""
  dtype = config.jnp_dtype
  in_dim, out_dim = x_train.shape[1], y_train.shape[1]
  # Test inputs with few ones (the permutation's) are gathered, not
  # multiplied, unless the gathered rows (n_test × nonzeros × width) would
  # not fit (e.g. 10^5 template encodings with 64 matches each).
  nonzeros = int((x_test != 0).sum(axis=1).max()) if len(x_test) else 0
  gathered = len(x_test) * nonzeros * spec.width * jnp.dtype(dtype).itemsize
  xs = (models_lib.sparse_rows(x_test, dtype)
        if 4 * nonzeros <= in_dim and gathered <= MAX_GATHER_BYTES
        else jnp.asarray(x_test, dtype))
  if devices is not None:
    if isinstance(devices, (str, bytes)) or not hasattr(devices, "__len__") \
        or not len(devices) or not all(isinstance(d, jax.Device)
                                       for d in devices):
      raise ValueError(f"devices must be a non-empty list of jax devices "
                       f"(e.g. jax.local_devices()), got {devices!r}")
  devices = tuple(devices or jax.local_devices())
  n_dev = len(devices)
  if batch_per_device is None:
    sequential = _walks_members(config, devices)
    batch_per_device = auto_batch_per_device(
        spec, in_dim, out_dim, len(x_train), len(x_test), config.dtype,
        config.trainer, memory_budget, devices[0], sequential=sequential)
    if sequential:
      # Members walked one by one come out the same in any batch, so never
      # pad a small request up to a big batch.
      batch_per_device = min(batch_per_device, -(-n_ids // n_dev))
  batch_per_device = validation.integer("batch_per_device", batch_per_device,
                                        1)
  batch = batch_per_device * n_dev
  if chunk_size is None:
    chunk_size = max(batch, 64)
  chunk_size = validation.integer("chunk_size", chunk_size, 1)
  chunk_size = int(math.ceil(chunk_size / batch) * batch)
  return _Plan(in_dim, out_dim, _is_basis(x_train),
               jnp.asarray(x_train, dtype), jnp.asarray(y_train, dtype), xs,
               devices, batch_per_device, batch, chunk_size)


def _resolve_lr(probe, key, plan: _Plan, config) -> tuple[float, float]:
  """``(lr, largest stable lr)``; nan for the linearized trainer.

  The stable step comes from members 0..3, independent of ids and chunking.
  A numeric ``lr`` without ``max_lr_fraction`` does not depend on it: then
  it is not probed (nan), unless training diverges (see
  :func:`_probe_lr_max`).
  """
  if config.trainer != "gd":
    return float("nan"), float("nan")
  if config.lr != "auto" and config.max_lr_fraction is None:
    return float(config.lr), float("nan")
  lr_max = _probe_lr_max(probe, key, plan)
  return config.step_size(lr_max), lr_max


def _probe_lr_max(probe, key, plan: _Plan) -> float:
  """The largest stable step of members 0..3 (cached per key and data)."""
  cache_key = (probe, np.asarray(jax.random.key_data(key)).tobytes(),
               _digest_of(plan.xt), _digest_of(plan.yt))
  if cache_key not in _LR_MAX:
    _LR_MAX[cache_key] = float(jnp.min(probe(key, jnp.arange(4), plan.xt,
                                             plan.yt)))
  return _LR_MAX[cache_key]


#: Largest stable steps already probed, per (compiled probe, key, data): a
#: growth that trains chunk by chunk probes once.
_LR_MAX: dict = {}


def _digest_of(a) -> str:
  if a is None:
    return "none"
  arr = np.asarray(a)
  return hashlib.sha256(arr.tobytes() + str(arr.shape).encode()).hexdigest()


def _run_chunks(run, sharded, key, lr, todo, plan: _Plan, bar=None):
  """Trains ``todo`` chunk by chunk; yields ``(chunk, params or None)``.

  ``chunk`` maps :data:`_CHUNK_FIELDS` to numpy arrays (status as codes).
  """
  lr_arg = jnp.asarray(0.0 if math.isnan(lr) else lr, plan.xt.dtype)
  for start in range(0, len(todo), plan.chunk_size):
    chunk_ids = todo[start:start + plan.chunk_size]
    parts = []
    for b in range(0, len(chunk_ids), plan.batch):
      real = chunk_ids[b:b + plan.batch]
      padded = devices_lib.pad_ids(real, plan.batch)
      out = run(key, jax.device_put(jnp.asarray(padded, jnp.int32), sharded),
                lr_arg, plan.xt, plan.yt, plan.xs)
      parts.append(jax.tree.map(lambda a, n=len(real): np.asarray(a)[:n],
                                out))
      if bar is not None:
        bar.update(len(real))
    chunk = {"outputs": np.concatenate([p[0] for p in parts]),
             "member_ids": chunk_ids.astype(np.int64),
             "steps": np.concatenate([p[1] for p in parts]).astype(np.int64),
             "final_loss": np.concatenate([p[2] for p in parts]).astype(
                 np.float64),
             "status": np.concatenate([p[3] for p in parts]).astype(np.int64)}
    params = None
    if len(parts[0]) > 4:
      params = jax.tree.map(lambda *xs: np.concatenate(xs),
                            *[p[4] for p in parts])
    yield chunk, params


def _assemble(finished, params_parts, lr, lr_max, spec, config,
              plan: _Plan, data_hash: str) -> EnsembleResult:
  """Joins the chunks into one :class:`EnsembleResult`, sorted by id."""
  merged = {k: np.concatenate(v) for k, v in finished.items()}
  order = np.argsort(merged["member_ids"])
  params = None
  if params_parts:
    params = jax.tree.map(lambda *xs: np.concatenate(xs)[order], *params_parts)
  info = {"trainer": config.trainer, "loss": config.loss,
          "dtype": config.dtype, "spec": spec.to_dict(),
          "config": dataclasses.asdict(config), "data": data_hash,
          "parameterization": spec.parameterization,
          "devices": [str(d) for d in plan.devices],
          "batch_per_device": plan.batch_per_device,
          "chunk_size": plan.chunk_size}
  return EnsembleResult(
      merged["outputs"][order], merged["member_ids"][order],
      merged["steps"][order], merged["final_loss"][order],
      np.array([training.STATUS_NAMES[int(c)]
                for c in merged["status"][order]]),
      lr, lr_max, params, info)


def _failed_solve_message(spec, config, x_shape, y_shape, ids) -> str:
  """Why a linearized solve gave non-finite outputs, and what to change."""
  n, in_dim = x_shape
  outputs = n * y_shape[1]
  biases = spec.b_std is not None
  widths = [in_dim] + [spec.width] * spec.depth + [y_shape[1]]
  params = sum(a * b + (b if biases else 0)
               for a, b in zip(widths[:-1], widths[1:]))
  head = (f"the linearized solve ({config.solver}, {config.dtype}) gave "
          f"non-finite outputs for member(s) {ids}: ")
  if params < outputs:
    need = -(-outputs // (in_dim + y_shape[1] + (2 if biases else 0)))
    return (head + f"at width {spec.width} the network has {params} "
            f"parameters for {outputs} training outputs, so its tangent "
            f"kernel is rank-deficient and the linearized model cannot "
            f"interpolate the training set (nothing diverged); use a width "
            f"of at least {need}, better a few hundred. No result was "
            f"written for this chunk.")
  return (head + f"the tangent kernel at width {spec.width} is singular or "
          f"too ill-conditioned for {config.dtype} ({spec!r}); use a larger "
          f"width, solver='cg', or dtype='float64'. No result was written "
          f"for this chunk.")


def train_ensemble(spec: MLPSpec, train: Examples, key: jax.Array,
                   n_members: int | None = None, *, x_test,
                   config: training.TrainConfig = training.TrainConfig(),
                   member_ids=None, batch_per_device: int | None = None,
                   chunk_size: int | None = None,
                   memory_budget: int | None = None, devices=None,
                   return_params: bool = False,
                   checkpoint_dir: str | None = None,
                   progress: bool = False) -> EnsembleResult:
  """Trains an ensemble and returns every member's outputs on ``x_test``.

  Args:
    spec: the architecture (and its parameterization).
    train: the training set, e.g. ``permjax.training_set(perm)``.
    key: root PRNG key; member ``i`` uses ``jax.random.fold_in(key, i)``.
    n_members: train members ``0..n_members-1`` (or give ``member_ids``).
    x_test: ``(n_test, d)`` inputs to report outputs on.
    config: the per-member trainer (:class:`TrainConfig`).
    member_ids: explicit ids to train (e.g. :func:`host_member_ids`).
    batch_per_device: members per device per call (default: from the memory
      budget).
    chunk_size: members per checkpointed chunk (rounded up to whole batches).
    memory_budget: bytes per device for sizing the batch.
    devices: local devices to shard over (default: all local devices).
    return_params: also return the trained (stacked) parameters; for the
      linearized trainer these are the moved parameters ``θ0 + δ`` of the
      linearized model.
    checkpoint_dir: save each finished chunk here and resume from it.
    progress: show a tqdm bar on stderr.

  Returns:
    :class:`EnsembleResult`, members sorted by id.

  Raises:
    TrainingDivergedError: GD diverged (names the lr and the largest stable
      lr); nothing is written for that chunk.
    CheckpointError: the checkpoint folder is corrupt or from another run.

  Example:
    >>> import jax, permjax
    >>> perm = [1, 2, 0]
    >>> res = permjax.train_ensemble(
    ...     permjax.MLPSpec(width=256), permjax.training_set(perm),
    ...     jax.random.key(0), 4, x_test=permjax.all_inputs(perm).x,
    ...     config=permjax.TrainConfig(max_steps=500, tol=1e-8))
    >>> res.outputs.shape, res.status.tolist()
    ((4, 7, 3), ['converged', 'converged', 'converged', 'converged'])
  """
  key = validation.prng_key("key", key)
  if not isinstance(spec, MLPSpec):
    raise TypeError(f"spec must be a permjax.MLPSpec, got {spec!r}")
  if not isinstance(config, training.TrainConfig):
    raise TypeError(f"config must be a permjax.TrainConfig, got {config!r}")
  x_train, y_train, x_test, ids = _validate(train, x_test, n_members,
                                            member_ids, config)
  plan = _plan(spec, config, x_train, y_train, x_test, len(ids),
               batch_per_device, chunk_size, memory_budget, devices)
  probe, run, sharded = _compiled(spec, config, plan.in_dim, plan.out_dim,
                                  plan.basis, plan.devices, return_params)
  lr, lr_max = _resolve_lr(probe, key, plan, config)

  store, done = None, None
  if checkpoint_dir is not None:
    store = Checkpoint(checkpoint_dir, "ensemble",
                       _fingerprint(spec, config, key, x_train, y_train,
                                    x_test, plan), subdir="chunks")
    done = _load_chunks(store)
    if done is not None and return_params:
      store.close()
      raise ValueError("return_params cannot be combined with resuming from "
                       "a checkpoint (parameters are not checkpointed)")
  finished: dict[str, list] = {k: [] for k in _CHUNK_FIELDS}
  todo = ids
  if done is not None:
    keep = np.isin(done["member_ids"], ids)
    for name in finished:
      finished[name].append(done[name][keep])
    todo = ids[~np.isin(ids, done["member_ids"])]

  bar = None
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    bar = tqdm(total=len(ids), initial=len(ids) - len(todo), unit="member",
               desc=f"{config.trainer} {spec.parameterization} m={spec.width}")
  params_parts = []
  try:
    for chunk, params in _run_chunks(run, sharded, key, lr, todo, plan, bar):
      bad = chunk["status"] == training.DIVERGED
      if bad.any():
        raise TrainingDivergedError(_diverged_message(
            spec, config, lr,
            lr_max if not math.isnan(lr_max) else _probe_lr_max(probe, key,
                                                                 plan),
            chunk["member_ids"][bad].tolist(),
            chunk["final_loss"][bad].tolist()))
      failed = chunk["status"] == training.FAILED
      if failed.any():
        raise TrainingDivergedError(_failed_solve_message(
            spec, config, x_train.shape, y_train.shape,
            chunk["member_ids"][failed][:5].tolist()))
      if store is not None:
        steps = store.steps()
        store.save(steps[-1] + 1 if steps else 0, chunk)
      for name in finished:
        finished[name].append(chunk[name])
      if params is not None:
        params_parts.append(params)
  finally:
    if bar is not None:
      bar.close()
    if store is not None:
      store.close()
  digest = hashlib.sha256()
  key_bits = (jax.random.key_data(key) if jax.dtypes.issubdtype(
      key.dtype, jax.dtypes.prng_key) else key)
  for part in (x_train, y_train, np.asarray(key_bits), x_test):
    digest.update(np.ascontiguousarray(np.asarray(part)).tobytes())
  return _assemble(finished, params_parts, lr, lr_max, spec, config, plan,
                   digest.hexdigest()[:16])
