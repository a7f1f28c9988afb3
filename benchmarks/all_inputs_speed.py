"""One finite member on every nonzero input: the evaluator against its floor
and against the previous path, measured side by side in one run.

Usage: python benchmarks/all_inputs_speed.py [--k 24] [--width 1024]
       [--k_old 16] [--repeats 2]

Three timings, same process, both CPU cores (one JAX device per core):

* ``evaluate_all_inputs``: one member (NTK parameterization, GD-trained on
  the k basis vectors) read by the midpoint rule on all 2^k − 1 inputs;
* the floor: the readout GEMM alone at the same shapes — every input's
  hidden activations (width floats) times the (width × k) readout, chunk by
  chunk on both devices, with the activations already in memory (the
  unavoidable 2 · width · k FLOP per input, nothing else);
* the previous path: the ensemble engine's outputs on an explicit test set
  of all inputs (``train_ensemble(..., x_test=all_inputs(perm))``, training
  included — a few hundred GD steps on k basis vectors, small next to the
  evaluation) at ``--k_old``, the largest k it is run at, against the
  evaluator at the same k (the evaluator's member trained beforehand).

Prints one JSON line per timing and the ratios.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

# pylint: disable=wrong-import-position
from permjax.experiments import cpu

cpu.use_all_cpu_cores()

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import permjax


def _members(k, width, seed=0):
  spec = permjax.MLPSpec(width=width)
  perm = np.random.default_rng(seed).permutation(k)
  res = permjax.train_ensemble(
      spec, permjax.training_set(perm), jax.random.key(seed), 1,
      x_test=np.eye(k)[:1], config=permjax.TrainConfig(trainer="gd"),
      return_params=True)
  return spec, perm, permjax.stacked_members(spec, res.params)


def _evaluator(spec, perm, members, chunk):
  start = time.perf_counter()
  counts = permjax.evaluate_all_inputs(
      spec, members, perm, {"mid": permjax.readout.midpoint()}, chunk=chunk)
  seconds = time.perf_counter() - start
  return seconds, int(counts.inputs.sum())


def _gemm_floor(k, width, inputs, chunk):
  """The readout GEMM alone: ``inputs`` rows of ``width`` activations times
  a (width, k) matrix, ``chunk`` rows per device per call, both devices."""
  devices = jax.local_devices()
  mesh = Mesh(np.asarray(devices), ("rows",))
  rows = NamedSharding(mesh, PartitionSpec("rows"))
  rep = NamedSharding(mesh, PartitionSpec())
  fn = jax.jit(jax.shard_map(
      lambda h, w: jnp.dot(h, w), mesh=mesh,
      in_specs=(PartitionSpec("rows"), PartitionSpec()),
      out_specs=PartitionSpec("rows"), check_vma=False))
  per_call = chunk * len(devices)
  h = jax.device_put(np.random.default_rng(0).standard_normal(
      (per_call, width)).astype(np.float32), rows)
  w = jax.device_put(np.random.default_rng(1).standard_normal(
      (width, k)).astype(np.float32), rep)
  fn(h, w).block_until_ready()
  calls = -(-inputs // per_call)
  start = time.perf_counter()
  out = None
  for _ in range(calls):
    out = fn(h, w)
  out.block_until_ready()
  return time.perf_counter() - start, calls * per_call


def _old_path(k, width, seed=0):
  spec = permjax.MLPSpec(width=width)
  perm = np.random.default_rng(seed).permutation(k)
  x = permjax.all_inputs(perm, max_inputs=1 << k).x
  config = permjax.TrainConfig(trainer="gd")
  permjax.train_ensemble(spec, permjax.training_set(perm),
                         jax.random.key(seed), 1, x_test=x[:8],
                         config=config)  # compile the trainer
  start = time.perf_counter()
  permjax.train_ensemble(spec, permjax.training_set(perm),
                         jax.random.key(seed), 1, x_test=x, config=config)
  return time.perf_counter() - start, len(x)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--k", type=int, default=24)
  parser.add_argument("--width", type=int, default=1024)
  parser.add_argument("--k_old", type=int, default=16)
  parser.add_argument("--chunk", type=int, default=2048)
  parser.add_argument("--repeats", type=int, default=2)
  args = parser.parse_args()
  print(json.dumps({"jax": jax.__version__, "devices": [str(d) for d in
                                                        jax.local_devices()],
                    "k": args.k, "width": args.width, "chunk": args.chunk}))
  rows = []
  spec, perm, members = _members(args.k, args.width)
  permjax.evaluate_all_inputs(  # compile (the program depends on k only)
      spec, members, perm, {"mid": permjax.readout.midpoint()},
      chunk=args.chunk, layers=[1])
  for _ in range(args.repeats):
    ev, n_in = _evaluator(spec, perm, members, args.chunk)
    floor, n_rows = _gemm_floor(args.k, args.width, n_in, args.chunk)
    rows.append({"evaluator_s": round(ev, 3), "gemm_floor_s": round(floor, 3),
                 "inputs": n_in, "gemm_rows": n_rows,
                 "ratio_to_floor": round(ev / floor, 3),
                 "evaluator_inputs_per_s": round(n_in / ev),
                 "gemm_gflops": round(2 * args.width * args.k * n_rows
                                      / floor / 1e9, 1)})
    print(json.dumps(rows[-1]))
  spec_o, perm_o, members_o = _members(args.k_old, args.width)
  _evaluator(spec_o, perm_o, members_o, args.chunk)  # compile
  ev_o, n_o = _evaluator(spec_o, perm_o, members_o, args.chunk)
  old, n_old = _old_path(args.k_old, args.width)
  print(json.dumps({"k_old": args.k_old, "old_path_s": round(old, 3),
                    "evaluator_s": round(ev_o, 3), "inputs": n_old,
                    "speedup": round(old / ev_o, 2),
                    "old_inputs_per_s": round(n_old / old),
                    "evaluator_inputs_per_s": round(n_o / ev_o)}))
  best = min(r["ratio_to_floor"] for r in rows)
  print(json.dumps({"best_ratio_to_floor": best}))


if __name__ == "__main__":
  main()
