"""Message passing on devices: ``run_graph_sharded`` (every node every round,
jitted, nodes split over a mesh) against the host driver ``run_graph``
(active nodes only), side by side, and against the floor of the device
path's own work: the two GEMMs of a round (matching ``(n, D) × (D, T)``
twice, writing ``(n, T) × (T, D)``) timed alone at the same shapes, times
the rounds run.

  python benchmarks/graph_devices.py [--devices N]

``--devices N`` splits the host CPU into N XLA devices (the device count is
fixed when JAX starts); on a GPU machine leave it out.
"""

import argparse
import os
import sys
import time


def main(argv=None):
  parser = argparse.ArgumentParser()
  parser.add_argument("--devices", type=int, default=0)
  args = parser.parse_args(argv)
  if args.devices:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_"
                               f"force_host_platform_device_count={args.devices}")
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel

  import permjax  # pylint: disable=import-outside-toplevel
  G = permjax.graphs
  mesh = permjax.node_mesh()
  print(f"devices: {mesh.devices.size} × {jax.devices()[0].device_kind}",
        file=sys.stderr)
  rows = []
  for g in (G.grid_graph(60, 60), G.random_regular_graph(20_000, 3, 0),
            G.random_regular_graph(100_000, 4, 0)):
    fl = permjax.flooding_program(1, G.max_degree(g))
    inputs = {"source": 0, "message": 1}
    mean = permjax.exact_mean()
    start = time.perf_counter()
    host = permjax.run_graph(fl, g, inputs, predictor=mean)
    host_s = time.perf_counter() - start
    permjax.run_graph_sharded(fl, g, inputs, predictor=mean, mesh=mesh,
                              rounds=2)            # compile
    start = time.perf_counter()
    dev = permjax.run_graph_sharded(fl, g, inputs, predictor=mean,
                                    mesh=mesh, rounds_per_call=1 << 20)
    dev_s = time.perf_counter() - start
    assert np.array_equal(host.states, dev.states)
    prog = fl.program
    size = mesh.devices.size
    n = -(-g.n // size) * size
    sharding = jax.sharding.NamedSharding(
        mesh, jax.sharding.PartitionSpec(mesh.axis_names[0]))
    s = jax.device_put(jnp.ones((n, prog.D), jnp.float32), sharding)
    ones = jnp.ones((prog.D, prog.T), jnp.float32)
    zeros = jnp.full((prog.D, prog.T), 2.0, jnp.float32)  # not CSE'd
    w = jnp.ones((prog.T, prog.D), jnp.float32)
    dot = jax.jit(lambda s, a, z, w: (
        jnp.matmul(jnp.matmul(s, a, precision="highest"), w,
                   precision="highest") + jnp.matmul(
                       s, z, precision="highest").sum()))
    dot(s, ones, zeros, w).block_until_ready()
    start = time.perf_counter()
    for _ in range(20):
      dot(s, ones, zeros, w).block_until_ready()
    gemm = (time.perf_counter() - start) / 20 * dev.rounds_run
    rows.append((g.name, g.n, prog.D, prog.T, dev.rounds_run, host_s, dev_s,
                 gemm))
  print("| graph | nodes | D | T | rounds | host driver s | device driver s "
        "| device / host | GEMM floor s | device / floor |")
  print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
  for name, n, d, t, rounds, host_s, dev_s, gemm in rows:
    print(f"| {name} | {n:,} | {d} | {t} | {rounds} | {host_s:.2f} | "
          f"{dev_s:.2f} | {dev_s / host_s:.1f}× | {gemm:.2f} | "
          f"{dev_s / gemm:.1f}× |")


if __name__ == "__main__":
  main()
