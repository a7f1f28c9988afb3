"""permjax's GD engine against the authors' PyTorch trainer, side by side.

Usage:
  pip install torch==2.13.0        # benchmark-only, CPU build
  git clone https://github.com/opallab/permlearn /tmp/permlearn
  python benchmarks/engine_vs_pytorch.py --permlearn /tmp/permlearn \\
      [--torch_members 4] [--members 128] [--rounds 3] [--steps 2000]
      [--width 2048]

Both train the same thing in one run, back to back, on the same permutation
and the same test set: k = 10, width 2048, standard parameterization with
trained zero-initialised biases (the authors' ``NTKMLP`` with sigma_w = 1,
sigma_b = 0), full-batch GD at lr 1e-3 for 2000 steps on the mean MSE, float32,
outputs on 1000 random normalised inputs with 2 ones. The authors' side is
their own ``train_model`` (``opallab/permlearn``, ``experiment.py``) with their
``PermutationDataset`` and a batch of 256 ≥ k (one full batch per epoch).

Printed: members/s of each (permjax cold = first call, compilation included;
warm = a later call of the same shapes), the ratios, the final training loss
and the output statistics of both (mean output on the 1-bits, the spread of
one member's outputs around the ensemble mean on the 1-bits).

Cold compares first calls in the process: permjax's (compilation included)
with the authors' (PyTorch's own start-up included: its first members train
markedly slower than later ones). A shared or virtual machine drifts by tens
of percent within a minute, so the warm comparison then runs in ``--rounds``
rounds, each timing permjax (new member ids) and the authors' code right
after it; every round's ratio is printed, and their median is the result.
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
import numpy as np  # pylint: disable=wrong-import-position

import permjax  # pylint: disable=wrong-import-position


def _stats(outputs, y):
  """Mean output on the 1-bits, and the per-member sd there."""
  outputs = np.asarray(outputs, np.float64)
  ones = np.asarray(y) > 0.5
  per_member = outputs[:, ones]
  return float(per_member.mean()), float(per_member.std(axis=0).mean())


def authors(permlearn: str, perm, x_test, n: int, steps: int, width: int,
            lr: float):
  sys.path.insert(0, permlearn)
  saved = sys.argv
  sys.argv = [saved[0]]
  try:
    import torch  # pylint: disable=import-outside-toplevel
    import dataset  # pylint: disable=import-outside-toplevel
    import experiment  # pylint: disable=import-outside-toplevel
  finally:
    sys.argv = saved
  torch.manual_seed(0)
  k = len(perm)
  P = torch.tensor(permjax.permutation_matrix(perm), dtype=torch.float32)  # pylint: disable=invalid-name
  loader = torch.utils.data.DataLoader(dataset.PermutationDataset(P),
                                       batch_size=256, shuffle=True)
  x = torch.tensor(np.asarray(x_test), dtype=torch.float32)
  outs, losses = [], []
  start = time.perf_counter()
  for _ in range(n):
    model = experiment.train_model(loader, steps, k, width, 1.0, 0.0, "cpu",
                                   lr)
    with torch.no_grad():
      outs.append(model(x).numpy())
      xt, yt = next(iter(torch.utils.data.DataLoader(
          dataset.PermutationDataset(P), batch_size=256)))
      losses.append(float(torch.nn.functional.mse_loss(model(xt), yt)))
  rate = n / (time.perf_counter() - start)
  return rate, np.stack(outs), float(np.mean(losses)), torch.get_num_threads()


def engine(perm, x_test, steps: int, width: int, lr: float):
  """A function of member ids: ``(result, members/s)`` of one call."""
  spec = permjax.MLPSpec(width=width, b_std=0.0, parameterization="standard")
  config = permjax.TrainConfig(lr=lr, max_steps=steps, tol=0.0, loss="mean")
  task = permjax.training_set(perm)
  key = jax.random.key(2)

  def run(ids):
    start = time.perf_counter()
    res = permjax.train_ensemble(spec, task, key, member_ids=ids,
                                 x_test=x_test, config=config)
    return res, len(ids) / (time.perf_counter() - start)
  return run


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--permlearn", required=True,
                      help="a checkout of github.com/opallab/permlearn")
  parser.add_argument("--torch_members", type=int, default=4)
  parser.add_argument("--members", type=int, default=128)
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--steps", type=int, default=2000)
  parser.add_argument("--width", type=int, default=2048)
  parser.add_argument("--k", type=int, default=10)
  parser.add_argument("--lr", type=float, default=1e-3)
  args = parser.parse_args()
  if not os.path.exists(os.path.join(args.permlearn, "experiment.py")):
    parser.exit(2, f"error: {args.permlearn} is not a permlearn checkout "
                f"(no experiment.py)\n")
  if args.rounds < 1:
    parser.error(f"--rounds must be >= 1, got {args.rounds}")
  perm = permjax.random_permutation(jax.random.key(0), args.k)
  test = permjax.random_inputs(jax.random.key(1), perm, 2, 1000,
                               dtype=np.float32)
  run = engine(perm, test.x, args.steps, args.width, args.lr)
  n = args.members

  def torch_run():
    return authors(args.permlearn, perm, test.x, args.torch_members,
                   args.steps, args.width, args.lr)
  res, cold = run(np.arange(n))
  t_cold, t_out, t_loss, threads = torch_run()
  print(f"first calls: permjax {cold:.2f} members/s, authors {t_cold:.3f} "
        f"members/s, ratio {cold / t_cold:.1f}x", flush=True)
  rounds = []
  for r in range(args.rounds):
    _, warm = run(np.arange((r + 1) * n, (r + 2) * n))
    t_rate = torch_run()[0]
    rounds.append((warm, t_rate))
    print(f"round {r + 1}: permjax warm {warm:.2f} members/s, authors "
          f"{t_rate:.3f} members/s, ratio {warm / t_rate:.1f}x", flush=True)
  ratios = [w / t for w, t in rounds]
  median = float(np.median(ratios))
  t_median = float(np.median([t for _, t in rounds]))
  w_median = float(np.median([w for w, _ in rounds]))
  j_mean, j_sd = _stats(res.outputs, test.y)
  t_mean, t_sd = _stats(t_out, test.y)
  print(f"k={args.k} width={args.width} steps={args.steps} lr={args.lr} "
        f"standard param., trained zero-init biases, f32; "
        f"{len(jax.local_devices())} JAX CPU devices, torch threads {threads}; "
        f"{args.rounds} rounds, medians")
  print(f"{'':31s} {'members/s':>10s} {'vs authors':>11s} {'train loss':>11s}"
        f" {'mean on 1s':>11s} {'member sd':>10s}")
  for name, r, ratio in (("authors (PyTorch), first call", t_cold, 1.0),
                         ("authors (PyTorch), warm", t_median, 1.0)):
    print(f"{name:31s} {r:10.3f} {ratio:10.1f}x {t_loss:11.3e} "
          f"{t_mean:11.4f} {t_sd:10.4f}")
  for name, r, ratio in (
      ("permjax, first call", cold, cold / t_cold),
      ("permjax, warm", w_median, median)):
    print(f"{name:31s} {r:10.3f} {ratio:10.1f}x "
          f"{float(np.mean(res.final_loss)):11.3e} {j_mean:11.4f} "
          f"{j_sd:10.4f}")
  print(f"warm ratio per round: {', '.join(f'{x:.1f}x' for x in ratios)} "
        f"(median {median:.1f}x, range {min(ratios):.1f}-{max(ratios):.1f}x)")


if __name__ == "__main__":
  main()
