"""Speed of the analytic ensemble-complexity module, and how N(k) grows.

Usage: python benchmarks/complexity_speed.py [--quick]

Prints, all measured in this one run:
1. time of ``ensemble_size(scope="input")`` for every k in 2..100 000, both
   regimes (budget 1 s);
2. time of ``ensemble_size(scope="all")`` for 50 log-spaced k up to 100 000,
   both regimes (budget 10 s each);
3. the enumerating reference path through neural-tangents
   (``ensemble_size_enumerated(backend="nt")``) against the grouped closed
   form at k <= 12, as a speed ratio (and a check that both agree);
4. the growth of the grouped all-inputs N over k = 10..10^4 (and on to 10^5):
   local log-log slopes, N/(k ln k), N/(k^1.5 ln k), and which n binds.
"""

import argparse
import time

import numpy as np

import permjax


def timed(fn, *args, **kwargs):
  start = time.perf_counter()
  out = fn(*args, **kwargs)
  return out, time.perf_counter() - start


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--quick", action="store_true",
                      help="k <= 10 for the nt comparison")
  args = parser.parse_args()
  permjax.ensemble_size(np.arange(2, 50))  # warm up imports and caches

  print("1. scope='input', every k = 2..100000")
  ks = np.arange(2, 100_001)
  total = 0.0
  for regime in ("ntk", "nngp"):
    _, sec = timed(permjax.ensemble_size, ks, kernel=regime)
    total += sec
    print(f"   {regime:5s} {sec:6.3f} s")
  print(f"   both  {total:6.3f} s   (budget 1 s: "
        f"{'OK' if total < 1 else 'OVER'})")

  print("2. scope='all', 50 log-spaced k = 10..100000")
  ks_all = np.unique(np.round(np.logspace(1, 5, 50)).astype(int))
  grouped = {}
  for regime in ("ntk", "nngp"):
    grouped[regime], sec = timed(permjax.ensemble_size, ks_all, kernel=regime,
                                 scope="all")
    print(f"   {regime:5s} {sec:6.3f} s for {ks_all.size} k  (budget 10 s: "
          f"{'OK' if sec < 10 else 'OVER'})")

  print("3. enumerating reference through neural-tangents vs grouped closed "
        "form (scope='all', ntk)")
  print(f"   {'k':>3s} {'inputs':>7s} {'N':>6s} {'nt enum s':>10s} "
        f"{'closed s':>9s} {'speed-up':>9s}")
  for k in range(4, 11 if args.quick else 13, 2):
    perm = np.roll(np.arange(k), 1)
    ref, t_ref = timed(permjax.ensemble_size_enumerated, perm, scope="all",
                       backend="nt")
    ours, t_ours = timed(permjax.ensemble_size, k, scope="all")
    assert ref == ours, (k, ref, ours)
    print(f"   {k:3d} {2**k - 1:7d} {ours:6d} {t_ref:10.3f} {t_ours:9.4f} "
          f"{t_ref / t_ours:8.0f}x")

  print("4. growth of the grouped all-inputs N (target 0.9)")
  for regime in ("ntk", "nngp"):
    sizes = grouped[regime]
    single = permjax.ensemble_size(ks_all, kernel=regime)
    binding = [permjax.binding_n(int(k), int(n), kernel=regime)
               for k, n in zip(ks_all, sizes)]
    print(f"   regime {regime}")
    print(f"   {'k':>7s} {'N_all':>10s} {'N_all/N_1':>9s} {'N/(k ln k)':>10s} "
          f"{'N/(k^1.5 ln k)':>14s} {'binding n':>9s} {'local slope':>11s}")
    slopes = np.diff(np.log(sizes)) / np.diff(np.log(ks_all))
    for i in range(0, ks_all.size, 4):
      k, n = ks_all[i], sizes[i]
      slope = f"{slopes[i]:11.3f}" if i < slopes.size else " " * 11
      print(f"   {k:7d} {n:10d} {n / single[i]:9.2f} {n / (k * np.log(k)):10.2f}"
            f" {n / (k**1.5 * np.log(k)):14.4f} {binding[i]:9d} {slope}")
    lo, hi = ks_all <= 10_000, ks_all >= 10_000
    fit = np.polyfit(np.log(ks_all[lo]), np.log(sizes[lo]), 1)[0]
    fit_hi = np.polyfit(np.log(ks_all[hi]), np.log(sizes[hi]), 1)[0]
    print(f"   fitted log-log exponent over k=10..1e4: {fit:.3f}; over "
          f"k=1e4..1e5: {fit_hi:.3f}")


if __name__ == "__main__":
  main()
