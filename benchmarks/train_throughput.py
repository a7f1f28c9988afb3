"""Members per second of the finite-width engine, all measured in one run.

Usage: python benchmarks/train_throughput.py [--members 64] [--steps 2000]

Setting (the issue's): k = 10, width 2000, NTK parameterization, no bias,
f32, 2000 full-batch GD steps (tol = 0, so every member takes all steps),
outputs on 1000 random normalised inputs with 2 ones (the paper's test set).

Rows:
* vmapped engine: ``train_ensemble`` with its automatic batch, the member axis
  sharded over all local devices (this script exposes one CPU device per
  core, the layout ``permjax.experiments`` uses on CPU);
* one member per call: the same jitted engine, called once per member on one
  device (``batch_per_device=1``), i.e. a Python loop over members;
* vmapped GD stopped at a training loss below 1e-9 (what experiments run);
* linearized trainer: closed-form infinite-time solution, no steps;
* the machine's matmul peak (2048² f32 GEMM), and the engine's useful FLOP/s
  against it.
"""

import os
import sys

CORES = os.cpu_count() or 1
os.environ.setdefault(
    "XLA_FLAGS", f"--xla_force_host_platform_device_count={CORES} "
    "--xla_cpu_multi_thread_eigen=false")

import argparse  # pylint: disable=wrong-import-position
import time  # pylint: disable=wrong-import-position

import jax  # pylint: disable=wrong-import-position
import jax.numpy as jnp  # pylint: disable=wrong-import-position

import permjax  # pylint: disable=wrong-import-position


def matmul_peak(n=2048, repeats=5):
  a = jnp.ones((n, n), jnp.float32)
  # Matmul on every device at once (each device is one core here).
  devs = jax.local_devices()
  xs = [jax.device_put(a, d) for d in devs]
  f = jax.jit(lambda x: x @ x)
  for x in xs:
    f(x).block_until_ready()
  start = time.perf_counter()
  for _ in range(repeats):
    outs = [f(x) for x in xs]
    for o in outs:
      o.block_until_ready()
  sec = (time.perf_counter() - start) / repeats
  return 2 * n**3 * len(devs) / sec


def rate(fn, n):
  start = time.perf_counter()
  fn()
  return n / (time.perf_counter() - start)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--members", type=int, default=64)
  parser.add_argument("--steps", type=int, default=2000)
  parser.add_argument("--width", type=int, default=2000)
  parser.add_argument("--k", type=int, default=10)
  args = parser.parse_args()
  k, m = args.k, args.width
  perm = permjax.random_permutation(jax.random.key(0), k)
  task = permjax.training_set(perm)
  test = permjax.random_inputs(jax.random.key(1), perm, 2, 1000)
  spec = permjax.MLPSpec(width=m)
  gd = permjax.TrainConfig(max_steps=args.steps, tol=0.0)
  lin = permjax.TrainConfig(trainer="linearized")
  key = jax.random.key(2)
  one_dev = jax.local_devices()[:1]

  def engine(n, config, **kw):
    return permjax.train_ensemble(spec, task, key, n, x_test=test.x,
                                  config=config, **kw)

  # Warm up (compile) every variant once.
  warm = engine(len(jax.local_devices()), gd)
  engine(1, gd, batch_per_device=1, devices=one_dev)
  engine(len(jax.local_devices()), lin)
  print(f"devices: {len(jax.local_devices())} x {jax.devices()[0].platform}, "
        f"auto batch/device {warm.info['batch_per_device']}, "
        f"lr {warm.lr:.4g} (max stable {warm.max_stable_lr:.4g})")

  n = args.members
  vmapped = rate(lambda: engine(n, gd), n)
  n_loop = max(4, n // 8)

  def loop():
    for i in range(n_loop):
      permjax.train_ensemble(spec, task, key, member_ids=[i], x_test=test.x,
                             config=gd, batch_per_device=1, devices=one_dev)
  looped = rate(loop, n_loop)
  early = permjax.TrainConfig(max_steps=args.steps, tol=1e-9)
  engine(len(jax.local_devices()), early)
  stopped = rate(lambda: engine(n, early), n)
  n_lin = 4 * n
  linearized = rate(lambda: engine(n_lin, lin), n_lin)
  peak = matmul_peak()
  # Useful FLOPs of one GD step on the basis inputs: forward k·m·k, backward
  # 2·k·m·k multiply-adds (the first layer reads its weight rows).
  step_flops = 2 * 3 * k * m * k
  useful = vmapped * args.steps * step_flops
  print(f"{'variant':38s} {'members/s':>10s} {'vs one-per-call':>16s}")
  print(f"{'vmapped GD engine':38s} {vmapped:10.2f} {vmapped / looped:15.1f}x")
  print(f"{'GD engine, one member per call':38s} {looped:10.2f} {1.0:15.1f}x")
  print(f"{'vmapped GD, stop at loss < 1e-9':38s} {stopped:10.2f} "
        f"{stopped / looped:15.1f}x")
  print(f"{'linearized trainer':38s} {linearized:10.2f} "
        f"{linearized / looped:15.1f}x")
  print(f"matmul peak (2048^2 f32, all devices): {peak / 1e9:.1f} GFLOP/s; "
        f"vmapped GD useful rate {useful / 1e9:.1f} GFLOP/s "
        f"({100 * useful / peak:.0f}% of peak)")
  print(f"linearized vs vmapped GD: {linearized / vmapped:.1f}x "
        f"({args.steps} steps), {linearized / stopped:.1f}x (stopped at tol)")
  print(f"targets: GD >= 10 members/s: {'OK' if vmapped >= 10 else 'MISSED'};"
        f" linearized >= 100 members/s: "
        f"{'OK' if linearized >= 100 else 'MISSED'}")
  sys.stdout.flush()


if __name__ == "__main__":
  main()
