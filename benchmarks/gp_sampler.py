"""Joint GP-posterior draws on all 2^k - 1 inputs: dense vs S_k-symmetric.

Usage: python benchmarks/gp_sampler.py [--members 64] [--k 8,10,12,14,16]

For each k, both samplers of ``gp_member_source`` on the permutation task's
all-inputs test set, measured in this one run:

* setup: building the source and drawing the first batch (kernels, the
  eigendecomposition for ``dense``, compilation);
* per batch: the median of 3 further batches of ``--members`` members;
* memory the dense sampler needs for its covariance and eigenvectors.

Dense is skipped above 4095 inputs (k > 12): its ``(2^k)²`` float64 matrices
alone would be 8.6 GB at k = 15 and 34 GB at k = 16.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from permjax.experiments.cpu import use_all_cpu_cores

use_all_cpu_cores()

import jax
import numpy as np

import permjax


def measure(k, sampler, members):
  perm = permjax.random_permutation(jax.random.key(0), k)
  train = permjax.training_set(perm)
  x = permjax.all_inputs(perm).x
  start = time.perf_counter()
  src = permjax.gp_member_source(permjax.MLPSpec(width=1), "ntk", train, x,
                                  jax.random.key(1), sampler=sampler)
  src(np.arange(members))
  setup = time.perf_counter() - start
  times = []
  for rep in range(1, 4):
    start = time.perf_counter()
    src(np.arange(rep * members, (rep + 1) * members))
    times.append(time.perf_counter() - start)
  return setup, statistics.median(times)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--members", type=int, default=64)
  parser.add_argument("--k", default="8,10,12,14,16")
  args = parser.parse_args()
  print(f"jax {jax.__version__}, {jax.device_count()} "
        f"{jax.devices()[0].platform} device(s); {args.members} members per "
        f"batch, float64")
  print("| k | inputs | dense setup s | dense s/batch | symmetric setup s | "
        "symmetric s/batch | dense/symmetric per batch | dense matrices GB |")
  print("| --- | --- | --- | --- | --- | --- | --- | --- |")
  for k in (int(v) for v in args.k.split(",")):
    n = 2**k - 1
    gb = 2 * n * n * 8 / 1e9
    if n <= permjax.DENSE_AUTO_LIMIT:
      d_setup, d_batch = measure(k, "dense", args.members)
    else:
      d_setup = d_batch = None
    s_setup, s_batch = measure(k, "symmetric", args.members)
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    ratio = "—" if d_batch is None else f"{d_batch / s_batch:.2f}×"
    print(f"| {k} | {n} | {fmt(d_setup)} | {fmt(d_batch)} | {s_setup:.3f} | "
          f"{s_batch:.3f} | {ratio} | {gb:.2f} |", flush=True)


if __name__ == "__main__":
  main()
