"""SBN programs executed by the exact mean: the decoded construction
against the instruction-keyed one, same executor, same inputs, one run.

Usage: python benchmarks/sbn_speed.py [--program gcd] [--width 8]
  [--inputs 0 (every valid input)]

For the library program: every valid input (16 129 for gcd at w = 8), the
exact NTK mean from counts, margin readout, checked step by step against
the OR rule. Reported: wall time; *useful* state-steps (each input's own
instructions × steps per instruction: a halted machine is retired by the
executor) per second, the issue's target being ≥ 10^6 on the 2-core
machine; and the floor (moving B × D × 10 bytes per state-step, as in
executor_speed.py) for the same useful work.
"""

import argparse
import time

import numpy as np

import permjax


def _floor(d, state_steps):
  """Seconds to move ``state_steps × D × 10`` bytes (numpy copies)."""
  block = 1 << 12
  src = np.ones(block * d * 10, np.uint8)
  dst = np.empty_like(src)
  reps = max(1, state_steps // block)
  start = time.perf_counter()
  for _ in range(min(reps, 2000)):
    np.copyto(dst, src)
  took = time.perf_counter() - start
  return took * reps / min(reps, 2000)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--program", default="gcd")
  parser.add_argument("--size", type=int, default=None)
  parser.add_argument("--width", type=int, default=8)
  parser.add_argument("--inputs", type=int, default=0)
  args = parser.parse_args()
  lib = permjax.sbn_library_program(args.program, args.width, args.size)
  values = (lib.all_inputs() if not args.inputs
            else lib.sample_inputs(args.inputs))
  memory = lib.memories(values)
  asm = lib.assembly()
  _, used = asm.run(memory, lib.max_instructions)
  budget = int(used.max())
  for design in ("decoded", "instruction_keyed"):
    prog = permjax.sbn_program(asm.machine, budget, inputs=memory,
                               design=design)
    a, b = prog.all_pairs()
    readout = permjax.margin_readout(prog)
    start = time.perf_counter()
    run = permjax.execute(prog, permjax.exact_mean(), readout, a, b)
    took = time.perf_counter() - start
    per = prog.steps // budget
    useful = int(used.sum()) * per
    floor = _floor(prog.D, useful)
    print(f"{asm.machine.name} {design}: {len(a):,} inputs, k={prog.k}, "
          f"D={prog.D}, {per} steps/instruction, {useful:,} useful "
          f"state-steps in {took:.1f} s = {useful / took:,.0f}/s (exact: "
          f"{run.all_correct and run.matches_or_rule}); floor {floor:.2f} s,"
          f" ratio {took / floor:.0f}x")


if __name__ == "__main__":
  main()
