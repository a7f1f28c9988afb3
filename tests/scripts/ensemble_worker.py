"""Subprocess helper for tests/test_ensembles.py.

Usage: python ensemble_worker.py MODE OUT [args]
  devices N OUT          train with N simulated CPU devices, save outputs
  resume DIR OUT         train with checkpoints in DIR (slowly), save outputs
  host PID N PORT OUT    one process of an N-process jax.distributed run
"""

import os
import sys

if __name__ == "__main__" and sys.argv[1] == "devices":
  os.environ["XLA_FLAGS"] = (f"--xla_force_host_platform_device_count="
                             f"{sys.argv[2]}")

import jax  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
import permjax  # pylint: disable=wrong-import-position

K, WIDTH, MEMBERS = 5, 256, 12


def setting():
  perm = permjax.random_permutation(jax.random.key(7), K)
  train = permjax.training_set(perm)
  test = permjax.all_inputs(perm).x
  spec = permjax.MLPSpec(width=WIDTH, b_std=0.0, parameterization="standard")
  config = permjax.TrainConfig(max_steps=400, tol=1e-9)
  return spec, train, test, config


def main():
  mode = sys.argv[1]
  if mode == "host":
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"localhost:{sys.argv[4]}",
                               num_processes=int(sys.argv[3]),
                               process_id=int(sys.argv[2]))
  spec, train, test, config = setting()
  key = jax.random.key(11)
  if mode == "devices":
    assert len(jax.local_devices()) == int(sys.argv[2])
    res = permjax.train_ensemble(spec, train, key, MEMBERS, x_test=test,
                                 config=config, batch_per_device=2)
    out = sys.argv[3]
  elif mode == "resume":
    res = permjax.train_ensemble(spec, train, key, MEMBERS, x_test=test,
                                 config=config.replace(max_steps=4000, tol=0.0),
                                 chunk_size=2, batch_per_device=1,
                                 checkpoint_dir=sys.argv[2])
    out = sys.argv[3]
  else:
    n = int(sys.argv[3])
    ids = permjax.host_member_ids(MEMBERS)
    local = permjax.train_ensemble(spec, train, key, member_ids=ids,
                                   x_test=test, config=config,
                                   batch_per_device=2)
    res = permjax.gather_across_processes(local)
    out = sys.argv[5] + f".{jax.process_index()}"
    assert n == jax.process_count()
  np.savez(out, outputs=res.outputs, ids=res.member_ids)
  print("done", flush=True)


if __name__ == "__main__":
  main()
