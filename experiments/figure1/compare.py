"""Measured N90 against the same-rule exact-Gaussian rows, per regime.

Usage: python experiments/figure1/compare.py FOLDER [FOLDER ...]

For each work folder (or committed folder with ``results.jsonl.gz``): the
mean N90 over seeds per (regime, k), the exact-Gaussian N of one input with
2 ones under the folder's own readout rule and the kernel the regime follows
(NTK for gp and ntk, NNGP for standard), the deviation, and its mean over
k = 20..30 and over k = 10..30. Prints markdown.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

# pylint: disable=wrong-import-position
from permjax.experiments import figure1


def main():
  for folder in sys.argv[1:]:
    with open(os.path.join(folder, "config.json")) as f:
      config = figure1.config_from_record(json.load(f)["config"])
    records = figure1.load_results(folder)
    key = str(1 - config.delta)
    print(f"\n### {folder}: readout `{config.readout}`\n")
    print("| regime | k = 5 | 10 | 20 | 30 | mean deviation k = 20..30 | "
          "k = 10..30 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for regime in config.regimes:
      kernel = config.kernel(regime)
      ks = sorted({r["k"] for r in records if r["regime"] == regime})
      ana = figure1.report.analytic_sizes(config, ks, kernel,
                                          1 - config.delta)
      dev, cells = {}, {}
      for k, a in zip(ks, ana):
        vals = [r["n_at"].get(key) for r in records
                if r["regime"] == regime and r["k"] == k]
        vals = [v for v in vals if v is not None]
        if not vals or a in ("", None):
          continue
        mean = float(np.mean(vals))
        dev[k] = mean / a - 1
        cells[k] = f"{mean:.1f} vs {a} ({100 * dev[k]:+.1f}%)"
      late = [dev[k] for k in dev if 20 <= k <= 30]
      mid = [dev[k] for k in dev if 10 <= k <= 30]
      fmt = lambda v: f"{100 * np.mean(v):+.1f}%" if v else "—"
      print(f"| {regime} ({kernel}) | " + " | ".join(
          cells.get(k, "—") for k in (5, 10, 20, 30))
            + f" | {fmt(late)} | {fmt(mid)} |")


if __name__ == "__main__":
  main()
