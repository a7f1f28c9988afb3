"""Figure 1's tables: the paper's points, the analytic rows, the summary, scaling fits.

All of them are pure functions of the records (and the config), so the
committed ``summary.csv`` and ``analytic.csv`` regenerate from the committed
``results.jsonl.gz``.
"""

from __future__ import annotations

import csv
import json
import os

import numpy as np

import permjax
from permjax import readout as readout_lib
from permjax.experiments import records as records_lib
from permjax.experiments.figure1.configs import Config
from permjax.experiments.figure1.configs import config_from_record
from permjax.experiments.units import REGIMES

DATA_DIR = os.path.join(os.path.dirname(permjax.__file__), "data")


def paper_points() -> dict:
  """The paper's published single-seed results (shipped data file).

  Returns:
    ``{"n90": {k: N}, "curves": {k: (N array, accuracy array)}}`` from
    experiments 1 (stop at 90%) and 2 (stop at 99.9%) of the authors' code.
  """
  rows = []
  with open(os.path.join(DATA_DIR, "paper_results.csv")) as f:
    rows = list(csv.DictReader(f))
  n90, curves = {}, {}
  for exp_id in ("1", "2"):
    for k in sorted({int(r["k"]) for r in rows if r["experiment"] == exp_id}):
      sel = [r for r in rows if r["experiment"] == exp_id and int(r["k"]) == k]
      ns = np.array([int(r["num_models"]) for r in sel])
      acc = np.array([float(r["exact_match_acc"]) for r in sel])
      if exp_id == "1":
        hit = np.flatnonzero(acc >= 0.9)
        if hit.size:
          n90[k] = int(ns[hit[0]])
      else:
        curves[k] = (ns, acc)
  return {"n90": n90, "curves": curves}


def analytic_sizes(config: Config, ks, kernel: str, target: float) -> list:
  """Exact-Gaussian N of one input with ``nnz`` ones under the config's own
  readout rule (per-n rules with ``kernel``'s thresholds); blanks for the
  self-calibrated rule, which has no analytic counterpart."""
  readout = readout_lib.from_name(config.readout, kernel)
  if not readout.analytic:
    return [""] * len(ks)
  sizes = permjax.ensemble_size(np.asarray(ks), n=config.nnz, target=target,
                                kernel=kernel, readout=readout)
  return np.atleast_1d(sizes).tolist()


def analytic_table(config: Config) -> list[dict]:
  """Exact-Gaussian ensemble sizes of both kernels (one input), under the
  config's readout rule."""
  ks = sorted(set(config.k_values) | set(config.k_curves))
  rows = []
  for kernel in ("ntk", "nngp"):
    name = readout_lib.from_name(config.readout, kernel).name
    for target in (1 - config.delta, 1 - config.delta_curves):
      for k, n in zip(ks, analytic_sizes(config, ks, kernel, target)):
        rows.append({"kernel": kernel, "readout": name, "k": k,
                     "target": target, "N": n, "scope": "input",
                     "nnz": config.nnz, "float": "float64"})
  return rows


def summarize(records: list[dict], config: Config) -> list[dict]:
  """One row per (regime, k): N at each accuracy, mean/std/min/max over
  seeds, next to the exact-Gaussian N of both kernels under the same
  readout rule."""
  paper = paper_points()["n90"]
  rows = []
  analytic = {}
  ks = sorted({r["k"] for r in records})
  for kernel in ("ntk", "nngp"):
    if ks:
      analytic[kernel] = dict(zip(ks, analytic_sizes(
          config, ks, kernel, 1 - config.delta)))
  for regime in REGIMES:
    for k in sorted({r["k"] for r in records if r["regime"] == regime}):
      sel = [r for r in records if r["regime"] == regime and r["k"] == k]
      row = {"regime": regime, "k": k, "seeds": len(sel),
             "trainer": sel[0]["trainer"], "width": sel[0]["width"],
             "test_set": sel[0]["test_set"],
             "readout": config.readout_rule(regime).name,
             "unconverged": sum(r.get("unconverged", 0) for r in sel)}
      for t in config.accuracy_targets():
        vals = [r["n_at"].get(str(t)) for r in sel]
        got = [v for v in vals if v is not None]
        tag = f"N{100 * t:g}"
        row[f"{tag}_mean"] = round(float(np.mean(got)), 2) if got else ""
        row[f"{tag}_std"] = round(float(np.std(got)), 2) if len(got) > 1 else ""
        row[f"{tag}_min"] = min(got) if got else ""
        row[f"{tag}_max"] = max(got) if got else ""
        row[f"{tag}_seeds_reached"] = len(got)
      tag = f"N{100 * (1 - config.delta):g}"
      row[f"analytic_ntk_{tag}"] = analytic.get("ntk", {}).get(k, "")
      row[f"analytic_nngp_{tag}"] = analytic.get("nngp", {}).get(k, "")
      row["paper_N90"] = paper.get(k, "")
      rows.append(row)
  return rows


def _fit(ks, ns, model):
  ks = np.asarray(ks, np.float64)
  ns = np.asarray(ns, np.float64)
  basis = ks * np.log(ks) if model == "klogk" else ks**2
  c = float(basis @ ns / (basis @ basis))
  pred = c * basis
  r2 = 1 - np.sum((ns - pred) ** 2) / np.sum((ns - ns.mean()) ** 2)
  return c, float(r2)


def scaling(workdir: str, k_min: int = 5) -> list[dict]:
  """Fits measured N(k) per (regime, test set) to c·k·log k and c·k².

  For random / n-ones test sets N is the first ensemble size reaching
  ``1 - delta`` (a single-input proxy); for
  ``test_set='all'`` it is the first N with every input exact. Reports the
  log-log exponent with its R², both one-parameter fits with R², and the
  analytic ``ensemble_size`` exponent (scope input, and the grouped
  all-inputs bound) over the same k. Only ``k >= k_min`` enter the fits: at
  smaller k the test set has so few distinct inputs that the first passage
  says little about growth.
  """
  with open(os.path.join(workdir, "config.json")) as f:
    cfg = json.load(f)["config"]
  records = records_lib.load_results(workdir)
  out = []
  for regime in REGIMES:
    sel = [r for r in records if r["regime"] == regime and r["reached"]]
    if not sel:
      continue
    test_set = sel[0]["test_set"]
    key = "1.0" if test_set == "all" else str(1 - cfg["delta"])
    by_k = {}
    for r in sel:
      n = r["members"] if test_set == "all" else r["n_at"].get(key)
      if n is not None:
        by_k.setdefault(r["k"], []).append(n)
    ks = np.array(sorted(k for k in by_k if k >= k_min))
    if len(ks) < 3:
      continue
    ns = np.array([np.mean(by_k[k]) for k in ks])
    slope, icpt = np.polyfit(np.log(ks), np.log(ns), 1)
    pred = slope * np.log(ks) + icpt
    r2_log = 1 - np.sum((np.log(ns) - pred) ** 2) / np.sum(
        (np.log(ns) - np.log(ns).mean()) ** 2)
    c1, r2_1 = _fit(ks, ns, "klogk")
    c2, r2_2 = _fit(ks, ns, "k2")
    analytic_regime = "ntk" if regime != "standard" else "nngp"  # kernel
    scope = "all" if test_set == "all" else "input"
    target = 1 - cfg["delta"]
    readout = readout_lib.from_name(
        config_from_record(cfg).readout, analytic_regime)
    if not readout.analytic:  # compared with its analytic counterpart
      readout = readout_lib.midpoint(analytic_regime)
    ana = permjax.ensemble_size(ks, n=None if scope == "all" else cfg["nnz"],
                                target=target, kernel=analytic_regime,
                                scope=scope, readout=readout)
    ana_slope = np.polyfit(np.log(ks), np.log(ana), 1)[0]
    out.append({
        "regime": regime, "test_set": test_set, "k_min": int(ks.min()),
        "k_max": int(ks.max()), "points": len(ks),
        "exponent": round(float(slope), 3), "exponent_r2": round(float(r2_log), 4),
        "c_klogk": round(c1, 3), "r2_klogk": round(r2_1, 4),
        "c_k2": round(c2, 3), "r2_k2": round(r2_2, 4),
        "target": target, "readout": readout.name,
        "analytic_regime": analytic_regime, "analytic_scope": scope,
        "analytic_exponent": round(float(ana_slope), 3),
    })
  records_lib.write_csv(os.path.join(workdir, "scaling.csv"), out)
  return out
