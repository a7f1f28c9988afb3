"""The analytic ensemble size under every readout rule, k = 2..10^5.

Usage: python benchmarks/readout_speed.py

For each rule, ``ensemble_size`` of one input with 2 ones at every
k = 2..100 000 (one vectorised call, both kernels), timed after a warm-up,
and the grouped all-inputs bound at 12 log-spaced k up to 10^4.
"""

import time

import numpy as np

import permjax
from permjax import readout

RULES = {"zero": lambda kernel: readout.zero(),
         "midpoint": readout.midpoint, "optimal": readout.optimal}


def main():
  ks = np.arange(2, 100_001)
  ks_all = np.unique(np.logspace(1, 4, 12).astype(int))
  permjax.ensemble_size(ks[:10])  # warm-up
  print(f"{'rule':10s} {'kernel':6s} {'one input, k=2..1e5':>20s} "
        f"{'all inputs, 12 k <= 1e4':>24s}  N(k=1e5)  grouped N(k=1e4)")
  for name, make in RULES.items():
    for kernel in ("ntk", "nngp"):
      rule = make(kernel)
      start = time.perf_counter()
      one = permjax.ensemble_size(ks, kernel=kernel, readout=rule)
      t_one = time.perf_counter() - start
      start = time.perf_counter()
      grouped = permjax.ensemble_size(ks_all, kernel=kernel, readout=rule,
                                      scope="all")
      t_all = time.perf_counter() - start
      print(f"{name:10s} {kernel:6s} {t_one:19.2f}s {t_all:23.2f}s  "
            f"{one[-1]:8d}  {grouped[-1]:8d}")


if __name__ == "__main__":
  main()
