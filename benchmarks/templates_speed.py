"""Exact-mean validation of template programs: permjax's closed form against
the authors' way (nt.predict one state at a time), side by side.

Usage: python benchmarks/templates_speed.py [--m 3]

Runs every operand pair of addition with m-bit operands for its 2m steps,
once with ``permjax.exact_mean()`` (vectorised closed form, float64) and
once with ``NTReferenceMean`` (neural-tangents' ``gradient_descent_mse_
ensemble`` mean per state, float64, as ``opallab/binary_algos``'s
validators compute it); checks both are exact and agree, and prints the
seconds and the speed-up. Then the acceptance sizes with the closed form
alone: addition m = 10 (2^20 pairs x 20 steps), multiplication m = 6.
"""

import argparse
import time

import permjax


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--m", type=int, default=3)
  args = parser.parse_args()
  prog = permjax.addition_program(args.m)
  permjax.execute(prog, permjax.exact_mean())  # warm-up
  start = time.perf_counter()
  fast = permjax.execute(prog, permjax.exact_mean())
  t_fast = time.perf_counter() - start
  ref = permjax.NTReferenceMean()
  ref(prog, prog.encode(prog.initial_states([0], [1])))  # warm-up (compile)
  start = time.perf_counter()
  slow = permjax.execute(prog, ref)
  t_slow = time.perf_counter() - start
  assert fast.all_correct and slow.all_correct
  assert fast.matches_or_rule and slow.matches_or_rule
  print(f"addition m={args.m}: {fast.pairs} pairs x {fast.steps} steps; "
        f"closed form {t_fast:.4f} s, nt.predict per state {t_slow:.2f} s, "
        f"speed-up {t_slow / t_fast:.0f}x")
  for prog in (permjax.addition_program(10),
               permjax.multiplication_program(6)):
    start = time.perf_counter()
    run = permjax.execute(prog, permjax.exact_mean())
    print(f"{prog.name}: {run.pairs} pairs x {run.steps} steps, all correct "
          f"{run.all_correct}, every step = OR rule {run.matches_or_rule}, "
          f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
  main()
