"""Table and plot of the all-inputs runs against the analytic bounds.

Usage: python experiments/all_inputs/table.py OUT_DIR [--target_dir DIR]

Reads ``OUT_DIR/{gp,ntk,standard}/results.jsonl`` (written by ``run.sh``; or
the committed ``results.jsonl.gz``, so ``OUT_DIR`` may be this folder) and
writes ``all_inputs.md`` (one row per k) and ``all_inputs.png`` to
``--target_dir`` (default: ``OUT_DIR``). Measured N is the first ensemble
size at which all 2^k - 1 inputs are exact (mean, min and max over seeds).
Next to it: the grouped union bound ``ensemble_size(scope="all")`` at P(all
exact) = 0.5 and 0.9 in the matching kernel (NTK for gp and ntk, NNGP for
standard) under the runs' own readout rule, and the paper-style k² bound
``paper_style_bound`` at 0.9 (zero rule).
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

# pylint: disable=wrong-import-position
import permjax
from permjax.experiments import figure1

REGIMES = {"gp": "ntk", "ntk": "ntk", "standard": "nngp"}


def load(out_dir):
  """``(data, readout)``: ``{regime: {k: [N per seed]}}`` and the readout
  rule name all the folders' configs share."""
  data, rules = {}, set()
  for regime in REGIMES:
    path = os.path.join(out_dir, regime)
    if not figure1.load_results(path):
      continue
    with open(os.path.join(path, "config.json")) as f:
      rules.add(figure1.config_from_record(json.load(f)["config"]).readout)
    for r in figure1.load_results(path):
      if r["regime"] == regime and r["reached"]:
        data.setdefault(regime, {}).setdefault(r["k"], []).append(
            r["members"])
  if len(rules) != 1:
    raise SystemExit(f"{out_dir}: the regimes used different readouts "
                     f"{sorted(rules)}; tabulate one rule at a time")
  return data, rules.pop()


def grouped(k, target, kernel, rule):
  """The grouped union bound under the runs' own readout rule."""
  readout = permjax.readout.from_name(rule, kernel)
  if readout.rule == "self_calibrated":
    readout = permjax.readout.midpoint(kernel)
  return int(permjax.ensemble_size(k, scope="all", target=target,
                                   kernel=kernel, readout=readout))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("out_dir")
  parser.add_argument("--target_dir", default=None)
  args = parser.parse_args()
  args.target_dir = args.target_dir or args.out_dir
  data, rule = load(args.out_dir)
  ks = sorted({k for d in data.values() for k in d})
  lines = [f"Readout rule of the runs and of the grouped bounds: `{rule}`; "
           f"the paper-style bound assumes the zero rule.", "",
           "| k | " + " | ".join(f"{r} N (min–max)" for r in data)
           + " | grouped NTK 0.5 / 0.9 | grouped NNGP 0.5 / 0.9 "
           "| paper-style NTK / NNGP 0.9 |",
           "| --- " * (len(data) + 4) + "|"]
  for k in ks:
    cells = []
    for regime in data:
      ns = data[regime].get(k, [])
      cells.append(f"{np.mean(ns):.0f} ({min(ns)}–{max(ns)})" if ns else "—")
    bounds = {g: [grouped(k, t, g, rule) for t in (0.5, 0.9)]
              for g in ("ntk", "nngp")}
    paper = [int(np.ceil(permjax.paper_style_bound(k, kernel=g)))
             for g in ("ntk", "nngp")]
    lines.append(f"| {k} | " + " | ".join(cells)
                 + f" | {bounds['ntk'][0]} / {bounds['ntk'][1]}"
                 f" | {bounds['nngp'][0]} / {bounds['nngp'][1]}"
                 f" | {paper[0]} / {paper[1]} |")
  with open(os.path.join(args.target_dir, "all_inputs.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
  print("\n".join(lines))

  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, ax = plt.subplots(figsize=(6.5, 4.5))
  colors = {"gp": "C0", "ntk": "C1", "standard": "C2"}
  for regime, by_k in data.items():
    kk = sorted(by_k)
    ns = [by_k[k] for k in kk]
    ax.plot(kk, [np.mean(v) for v in ns], "o-", color=colors[regime],
            label=f"{regime} (measured, mean of seeds)")
    ax.fill_between(kk, [min(v) for v in ns], [max(v) for v in ns],
                    color=colors[regime], alpha=0.15)
  grid = np.arange(max(2, min(ks)), max(ks) + 1)
  for g, style in (("ntk", "--"), ("nngp", ":")):
    ax.plot(grid, [grouped(int(k), 0.5, g, rule) for k in grid], style,
            color="k", label=f"grouped bound, {g.upper()}, {rule}, "
            f"P(all exact)=0.5")
    ax.plot(grid, [permjax.paper_style_bound(int(k), kernel=g) for k in grid],
            style, color="C3", label=f"paper-style k² bound, {g.upper()}, 0.9")
  ax.set_yscale("log")
  ax.set_xlabel("k")
  ax.set_ylabel("members until all 2^k − 1 inputs are exact")
  ax.set_title(f"all inputs, readout {rule}", fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(os.path.join(args.target_dir, "all_inputs.png"), dpi=130)
  print(f"wrote {os.path.join(args.target_dir, 'all_inputs.md')} and "
        f"all_inputs.png")


if __name__ == "__main__":
  main()
