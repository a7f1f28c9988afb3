"""The template executor: per-field sparse matching and the exact mean from
counts, against the previous dense path, side by side in one run.

Usage: python benchmarks/executor_speed.py [--pairs 100000] [--m 64]

1. Addition m = 10, every one of the 2^20 operand pairs for 20 steps,
   exact mean, zero rule: today's ``permjax.execute`` against the previous
   path (matching as two dense float32 products states × D × T, writer
   counts as a dense product matches × T × D, the encoding built and read
   back, as ``execute`` did before), same pairs, both checked exact.
2. ``--pairs`` random m-bit additions (default 10^5 at m = 64, 128 steps;
   operands as Python ints), exact mean, margin and midpoint readouts: the
   issue's target is under 30 s on the 2-core machine.
3. The floor: one pass over the per-step arrays the executor cannot avoid
   (read the states, write the next states, B × D bytes each, plus the
   float64 mean it reads out, B × D × 8 bytes), timed as a numpy copy of
   that many bytes per step.
"""

import argparse
import time

import numpy as np

import permjax


class _PreviousPath:
  """``execute`` as it was: dense matching and writer counts, encodings
  built and read back by the exact mean."""

  def __init__(self, prog):
    self.prog = prog
    dense = [np.zeros((prog.T, prog.D), np.float32) for _ in range(3)]
    for t, tpl in enumerate(prog.templates):
      for table, part in zip(dense, (tpl.ones, tpl.zeros, tpl.writes)):
        for field, bit in part:
          table[t, prog.index(field, bit)] = 1.0
    self.ones_t, self.zeros_t, self.writes = (dense[0].T.copy(),
                                              dense[1].T.copy(), dense[2])
    self.need = dense[0].sum(1)
    self.mean = permjax.exact_mean()

  def run(self, a, b, readout, batch=1 << 15):
    prog, wrong = self.prog, 0
    for s0 in range(0, len(a), batch):
      states = prog.initial_states(a[s0:s0 + batch], b[s0:s0 + batch])
      for _ in range(prog.steps):
        s = states.astype(np.float32)
        matched = (s @ self.ones_t == self.need) & (s @ self.zeros_t == 0)
        ref = matched.astype(np.float32) @ self.writes > 0
        x = prog.encode_matches(matched)
        nxt = readout.bits(self.mean(prog, x), x, self.mean.members)
        wrong += int((nxt != ref).any(axis=1).sum())
        states = nxt
    return wrong


def _floor(batch, d, steps):
  """Seconds to move the unavoidable bytes of one batch's steps."""
  src = np.ones(batch * d * 10, np.uint8)
  dst = np.empty_like(src)
  start = time.perf_counter()
  for _ in range(steps):
    np.copyto(dst, src)
  return time.perf_counter() - start


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--pairs", type=int, default=100_000)
  parser.add_argument("--m", type=int, default=64)
  args = parser.parse_args()

  prog = permjax.addition_program(10)
  a, b = prog.all_pairs()
  zero = permjax.readout.zero()
  start = time.perf_counter()
  run = permjax.execute(prog, permjax.exact_mean(), zero, a, b)
  t_new = time.perf_counter() - start
  previous = _PreviousPath(prog)
  start = time.perf_counter()
  wrong = previous.run(a, b, zero)
  t_old = time.perf_counter() - start
  assert run.all_correct and run.matches_or_rule and wrong == 0
  print(f"addition m=10, {run.pairs:,} pairs x {run.steps} steps: today "
        f"{t_new:.1f} s, previous path {t_old:.1f} s, speed-up "
        f"{t_old / t_new:.1f}x")

  prog = permjax.addition_program(args.m)
  rng = np.random.default_rng(0)
  words = (args.m + 31) // 32
  def draw():
    parts = rng.integers(0, 1 << 32, size=(args.pairs, words),
                         dtype=np.uint64)
    return [sum(int(w) << (32 * i) for i, w in enumerate(row))
            % (1 << args.m) for row in parts]
  a, b = draw(), draw()
  for readout in (permjax.margin_readout(prog),
                  permjax.readout.midpoint()):
    start = time.perf_counter()
    run = permjax.execute(prog, permjax.exact_mean(), readout, a, b)
    took = time.perf_counter() - start
    floor = _floor(1 << 15, prog.D, prog.steps) * args.pairs / (1 << 15)
    print(f"addition m={args.m}, {run.pairs:,} random pairs x {run.steps} "
          f"steps, {readout.name}: {took:.1f} s (all correct "
          f"{run.all_correct}, OR rule {run.matches_or_rule}); floor "
          f"(moving B x D x 10 bytes per step) {floor:.1f} s, ratio "
          f"{took / floor:.1f}x")


if __name__ == "__main__":
  main()
