"""Members split over local devices with ``jax.sharding`` and ``shard_map``.

Every member-parallel computation in permjax (training networks, drawing GP
members) has the same shape: ``local(key, ids, *shared)`` computes the
members ``ids`` from a root key and some replicated arrays, independently per
device (no collective inside). :func:`shard_members` compiles it once with the
``ids`` split over a one-axis mesh, and :func:`pad_ids` pads a request to a
whole number of members per device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "members"


def shard_members(local: Callable, devices: Sequence, n_shared: int
                  ) -> tuple[Callable, NamedSharding]:
  """``jit(shard_map(local))`` with the member ids split over ``devices``.

  Args:
    local: ``(key, ids, *shared) -> pytree`` whose leaves have the members
      on axis 0; it sees one device's ids.
    devices: the local devices of the mesh.
    n_shared: number of replicated arguments after ``ids``.

  Returns:
    ``(fn, ids_sharding)``: the compiled function and the sharding to
    ``device_put`` the ids with (optional; ``fn`` reshards otherwise).

  Example:
    >>> import jax.numpy as jnp
    >>> fn, _ = shard_members(lambda key, ids, c: ids * c, jax.devices(), 1)
    >>> fn(jax.random.key(0), jnp.arange(4), 2).tolist()
    [0, 2, 4, 6]
  """
  mesh = Mesh(np.asarray(devices), (AXIS,))
  replicated = NamedSharding(mesh, PartitionSpec())
  split = NamedSharding(mesh, PartitionSpec(AXIS))
  fn = jax.jit(jax.shard_map(
      local, mesh=mesh,
      in_specs=(PartitionSpec(), PartitionSpec(AXIS))
      + (PartitionSpec(),) * n_shared,
      out_specs=PartitionSpec(AXIS), check_vma=False),
      in_shardings=(replicated, split) + (replicated,) * n_shared,
      out_shardings=split)
  return fn, split


def pad_ids(ids, multiple: int) -> np.ndarray:
  """``ids`` padded with its last entry to a multiple of ``multiple``.

  Example:
    >>> pad_ids([3, 4, 5], 4).tolist()
    [3, 4, 5, 5]
  """
  ids = np.asarray(ids)
  return np.concatenate([ids, np.full(-len(ids) % multiple, ids[-1],
                                      ids.dtype)])
