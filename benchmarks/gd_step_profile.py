"""Where one GD step's time goes, on one CPU core (issue 15's configuration).

Usage:
  python benchmarks/gd_step_profile.py [--width 2048] [--k 10] [--steps 2000]

Times (µs per step, min of 3 runs of ``--steps`` steps, one jitted loop, one
core: ``--xla_cpu_multi_thread_eigen=false``, one device) of:

* the bare arithmetic of a two-layer ReLU GD step on basis inputs without
  biases (forward, the three products, two updates), written as plainly as
  JAX allows, then as ``permjax.fit_gd`` writes it (``gᵀ`` copied before
  the readout gradient, so XLA hands that product to its GEMM library; same
  bits), and each product alone (with the update it feeds, so XLA cannot
  hoist it out of the loop);
* permjax's trainer (``permjax.fit_gd``: the same step plus the trained
  biases, the loss and divergence bookkeeping, the block loop), without and
  with biases, unbatched and under ``vmap`` of one member (as
  ``train_ensemble`` runs it with one member per device);
* ``train_ensemble`` itself on one device and on two (members/s converted to
  µs per member-step per device).

Every row is measured in this one run, side by side.
"""

import os
import sys

os.environ.setdefault(
    "XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count()} "
    "--xla_cpu_multi_thread_eigen=false")

import argparse  # pylint: disable=wrong-import-position
import subprocess  # pylint: disable=wrong-import-position
import time  # pylint: disable=wrong-import-position

import jax  # pylint: disable=wrong-import-position
import jax.numpy as jnp  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

import permjax  # pylint: disable=wrong-import-position


def _best_of_3(fn, *args) -> float:
  fn = jax.jit(fn)
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(3):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return min(times)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--width", type=int, default=2048)
  parser.add_argument("--k", type=int, default=10)
  parser.add_argument("--steps", type=int, default=2000)
  parser.add_argument("--members", type=int, default=32)
  args = parser.parse_args()
  k, m, steps = args.k, args.width, args.steps
  key = jax.random.key(0)
  w1 = jax.random.normal(key, (k, m))
  w2t = jax.random.normal(jax.random.fold_in(key, 1), (k, m)) / np.sqrt(m)
  perm = permjax.random_permutation(jax.random.key(0), k)
  y = jnp.asarray(permjax.training_set(perm).y, jnp.float32)
  lr, s2, c2 = 1e-3, 1.0, 2.0 / (k * k)
  rows = []

  def loop(step):
    return lambda c: jax.lax.fori_loop(0, steps, lambda i, c: step(c), c,
                                       unroll=5)

  def plain_readout_gradient(g, h):
    return jnp.einsum("no,nm->om", g, h)

  def bare_step(readout_gradient):
    def step(c):
      w1, w2t = c
      h = jax.nn.relu(w1)
      g = c2 * (s2 * jnp.einsum("nm,om->no", h, w2t) - y)
      dw2t = s2 * readout_gradient(g, h)
      dpre = jnp.where(w1 > 0, s2 * (g @ w2t), 0.0)
      return w1 - lr * dpre, w2t - lr * dw2t
    return step

  def forward_product(c):     # (k, m) x (m, k): inner dimension m
    w1, w2t = c
    out = jnp.einsum("nm,om->no", w1, w2t)
    return w1 + 1e-9 * out[:, :1], w2t

  def readout_gradient_alone(readout_gradient):   # (k, k) x (k, m)
    return lambda c: (c[0], c[1] - 1e-9 * readout_gradient(c[1][:, :k], c[0]))

  def hidden_gradient(c):     # (k, k) x (k, m), and both updates
    w1, w2t = c
    return w1 - 1e-9 * (w1[:, :k] @ w2t), w2t + 1e-9 * w1

  def updates(c):
    w1, w2t = c
    return w1 - 1e-9 * w2t, w2t + 1e-9 * w1

  flops = 3 * 2 * k * m * k
  for name, step, f in (
      ("bare step (3 products, no biases)",
       bare_step(plain_readout_gradient), flops),
      ("bare step, g^T materialised (the engine's form)",
       bare_step(permjax.readout_gradient), flops),
      ("  forward product h W2 alone", forward_product, flops / 3),
      ("  readout gradient g^T h alone (+ update)",
       readout_gradient_alone(plain_readout_gradient), flops / 3),
      ("  the same, g^T materialised first",
       readout_gradient_alone(permjax.readout_gradient), flops / 3),
      ("  hidden gradient g W2^T alone (+ 2 updates)", hidden_gradient,
       flops / 3),
      ("  the two weight updates alone", updates, 0)):
    rows.append((name, _best_of_3(loop(step), (w1, w2t)) / steps * 1e6, f))

  config = permjax.TrainConfig(lr=lr, max_steps=steps, tol=0.0, loss="mean")
  for b_std, label in ((None, "no biases"), (0.0, "trained biases")):
    spec = permjax.MLPSpec(width=m, b_std=b_std, parameterization="standard")
    params = spec.init_params(key, k, k)
    fit = lambda p, spec=spec: permjax.fit_gd(spec, p, None, y, lr,  # pylint: disable=unnecessary-lambda-assignment
                                               config, k).loss
    rows.append((f"fit_gd, {label}", _best_of_3(fit, params) / steps * 1e6,
                 flops))
    if b_std is not None:
      batched = jax.tree.map(lambda a: a[None], params)
      rows.append((f"fit_gd, {label}, vmap of 1 member",
                   _best_of_3(jax.vmap(fit), batched) / steps * 1e6, flops))

  spec = permjax.MLPSpec(width=m, b_std=0.0, parameterization="standard")
  task = permjax.training_set(perm)
  test = permjax.random_inputs(jax.random.key(1), perm, 2, 1000,
                               dtype=np.float32)
  for devices in (jax.local_devices()[:1], jax.local_devices()):
    kw = dict(member_ids=np.arange(args.members), x_test=test.x,
              config=config, devices=devices)
    permjax.train_ensemble(spec, task, key, **kw)
    start = time.perf_counter()
    permjax.train_ensemble(spec, task, key, **kw)
    elapsed = time.perf_counter() - start
    rate = args.members / elapsed
    rows.append((f"train_ensemble, {len(devices)} device(s) "
                 f"({rate:.1f} members/s)",
                 elapsed / args.members * len(devices) / steps * 1e6, flops))

  # One core's rate on a large square GEMM, for scale: a child process pinned
  # to one core (XLA's large dots may otherwise use every core).
  code = ("import os; os.sched_setaffinity(0, {0}); import time, jax; "
          "a = jax.random.normal(jax.random.key(0), (1024, 1024)); "
          "f = jax.jit(lambda a: jax.lax.fori_loop(0, 20, "
          "lambda i, x: (x @ a) * 1e-3, a)); f(a).block_until_ready(); "
          "t = []\nfor _ in range(3):\n s = time.perf_counter(); "
          "f(a).block_until_ready(); t.append(time.perf_counter() - s)\n"
          "print(min(t) / 20)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, check=True)
  rows.append(("reference: 1024^3 GEMM, pinned to one core",
               float(out.stdout.split()[-1]) * 1e6, 2 * 1024**3))

  print(f"k={k} width={m} steps={steps} f32; one step = {flops / 1e6:.2f} "
        f"MFLOP in three products; {os.cpu_count()} cores, "
        f"JAX {jax.__version__}")
  print(f"{'':52s} {'us/step':>8s} {'GFLOP/s':>8s}")
  for name, us, f in rows:
    rate = f"{f / us / 1e3:8.1f}" if f else f"{'':8s}"
    print(f"{name:52s} {us:8.2f} {rate}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
