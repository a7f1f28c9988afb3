"""Members needed against width, per readout rule (issue 11, item 4).

Usage: python experiments/width_sweep/run.py OUT_DIR [--members M]
       [--widths 256,1024,4096] [--ks 10,30] [--num_test 1000]

For k in ``--ks``, both parameterizations (NTK; standard with trained
zero-initialised biases) and each width: one permutation and ``num_test``
random 2-ones inputs (seed 0), ``M`` members trained once with the
linearized trainer (float32, CG), then the growth curve of the same members
under every readout rule (zero; midpoint, optimal and self_calibrated with the
kernel the parameterization follows: NTK, NNGP). Records N for 90% and 99.9%
exact inputs, or null if ``M`` members do not reach it, next to the
exact-Gaussian N of one input under the same rule. Writes
``OUT_DIR/width_sweep.jsonl`` (one record per (k, parameterization, width),
resumable, with provenance) and ``OUT_DIR/width_sweep.md``.
"""

import argparse
import os
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

# pylint: disable=wrong-import-position
from permjax.experiments import cpu

cpu.use_all_cpu_cores()

import permjax
from permjax.experiments import provenance
from permjax.experiments import records

KERNEL = {"ntk": "ntk", "standard": "nngp"}
RULES = ("zero", "midpoint", "optimal", "self_calibrated")
TARGETS = (0.9, 0.999)


def one(k, param, width, members, num_test):
  key = jax.random.key(20251128)
  perm = permjax.random_permutation(jax.random.fold_in(key, k), k)
  train = permjax.training_set(perm)
  test = permjax.unique_inputs(permjax.random_inputs(
      jax.random.fold_in(key, 1000 + k), perm, 2, num_test))
  spec = (permjax.MLPSpec(width=width) if param == "ntk" else
          permjax.MLPSpec(width=width, b_std=0.0,
                          parameterization="standard"))
  start = time.perf_counter()
  res = permjax.train_ensemble(
      spec, train, jax.random.fold_in(key, 7), members, x_test=test.x,
      config=permjax.TrainConfig(trainer="linearized", solver="cg",
                                 cg_tol=1e-5))
  seconds = time.perf_counter() - start
  members_out = permjax.Members(res.outputs.astype(np.float64), res.status,
                                res.final_loss.astype(np.float64))
  out = {"k": k, "parameterization": param, "width": width,
         "members": members, "n_distinct_inputs": int((test.weight > 0).sum()),
         "train_seconds": round(seconds, 2),
         "unconverged": int(np.sum(res.status != "converged")), "rules": {}}
  rules = {name: permjax.readout.from_name(name, KERNEL[param])
           for name in RULES}
  state = []
  permjax.grow(lambda ids: members_out, permjax.InputScorer(test, rules),
               max_members=members, chunk=members, on_chunk=state.append)
  for i, (name, rule) in enumerate(rules.items()):
    accuracy = state[-1].accuracy[i]
    row = {"readout": rule.name, "accuracy_at_1": float(accuracy[0])}
    for t in TARGETS:
      row[f"N{100 * t:g}"] = permjax.first_reaching(accuracy, t)
      row[f"analytic_N{100 * t:g}"] = (
          None if name == "self_calibrated" else int(permjax.ensemble_size(
              k, target=t, kernel=KERNEL[param], readout=rule)))
    out["rules"][name] = row
  return {**out, **provenance.record_fields()}


def table(recs):
  lines = ["| k | param | width | " + " | ".join(
      f"{r} N90 / N99.9" for r in RULES) + " |",
           "| --- " * (3 + len(RULES)) + "|"]
  for r in sorted(recs, key=lambda r: (r["k"], r["parameterization"],
                                       r["width"])):
    cells = []
    for name in RULES:
      row = r["rules"][name]
      fmt = lambda v: f">{r['members']}" if v is None else str(v)
      cells.append(f"{fmt(row['N90'])} / {fmt(row['N99.9'])}")
    lines.append(f"| {r['k']} | {r['parameterization']} | {r['width']} | "
                 + " | ".join(cells) + " |")
  analytic = []
  for r in recs:
    if r["width"] == min(x["width"] for x in recs):
      for name in RULES[:3]:
        row = r["rules"][name]
        analytic.append(f"k={r['k']} {r['parameterization']} {row['readout']}:"
                        f" {row['analytic_N90']} / {row['analytic_N99.9']}")
  return "\n".join(lines) + "\n\nExact-Gaussian N (one input, 90% / 99.9%): " \
      + "; ".join(analytic) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("out_dir")
  parser.add_argument("--members", type=int, default=1024)
  parser.add_argument("--widths", default="256,1024,4096")
  parser.add_argument("--ks", default="10,30")
  parser.add_argument("--num_test", type=int, default=1000)
  args = parser.parse_args()
  os.makedirs(args.out_dir, exist_ok=True)
  path = os.path.join(args.out_dir, "width_sweep.jsonl")
  done = {(r["k"], r["parameterization"], r["width"])
          for r in records.read_records(path)}
  for k in map(int, args.ks.split(",")):
    for param in ("ntk", "standard"):
      for width in map(int, args.widths.split(",")):
        if (k, param, width) in done:
          continue
        rec = one(k, param, width, args.members, args.num_test)
        records.append_record(path, rec)
        print(f"k={k} {param} m={width}: " + ", ".join(
            f"{n} {rec['rules'][n]['N90']}/{rec['rules'][n]['N99.9']}"
            for n in RULES) + f" ({rec['train_seconds']} s)", flush=True)
  recs = records.read_records(path)
  with open(os.path.join(args.out_dir, "width_sweep.md"), "w") as f:
    f.write(table(recs))
  print(table(recs))


if __name__ == "__main__":
  main()
