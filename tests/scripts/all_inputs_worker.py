"""Subprocess helper for tests/test_all_inputs.py: one process of an
N-process ``jax.distributed`` all-inputs evaluation.

Usage: python all_inputs_worker.py PID N PORT OUT
"""

import sys

import jax
import numpy as np

import permjax

PERM = [3, 1, 4, 0, 2, 5, 7, 6]


def members():
  spec = permjax.MLPSpec(width=32)
  res = permjax.train_ensemble(
      spec, permjax.training_set(PERM), jax.random.key(3), 5,
      x_test=np.eye(len(PERM))[:1],
      config=permjax.TrainConfig(trainer="gd"), return_params=True)
  return spec, permjax.stacked_members(spec, res.params)


def main():
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(coordinator_address=f"localhost:{sys.argv[3]}",
                             num_processes=int(sys.argv[2]),
                             process_id=int(sys.argv[1]))
  spec, stacked = members()
  counts = permjax.evaluate_all_inputs(
      spec, stacked, PERM, {"mid": permjax.readout.midpoint()}, chunk=8,
      block=2, stop_when_exact=False)
  np.savez(sys.argv[4] + f".{jax.process_index()}",
           layer=counts.wrong_by_layer, bit=counts.wrong_by_bit,
           inputs=counts.inputs)
  print("done", flush=True)


if __name__ == "__main__":
  main()
