"""The ensemble-complexity experiment of arXiv 2502.16763v1 (Figure 1).

Run it as ``python -m permjax.experiments.ntk_permutation [--config PRESET]
[--workdir DIR] [--field value ...]``; a notebook calls :func:`run` with a
config from :func:`get_config`.

This version runs the analytic experiment: for every ``k`` and both analytic
regimes (``ntk``: the NTK-parameterization GP of the theory; ``nngp``: the
NNGP-regression GP that wide standard-parameterization nets follow), the exact
Gaussian ensemble size for each target probability, for one input with ``n``
ones and for all ``2^k - 1`` inputs (grouped union bound). It writes
``analytic.csv``, ``analytic.png`` and ``config.json`` into the work folder.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import platform
import sys
from collections.abc import Sequence

import numpy as np

import permjax
from permjax.experiments import config as config_lib

ANALYTIC_REGIMES = ("ntk", "nngp")
SCOPES = ("input", "all")


@dataclasses.dataclass(frozen=True)
class Config:
  """Experiment configuration.

  Attributes:
    name: preset name (recorded in the results).
    k_values: permutation sizes.
    regimes: analytic regimes, a subset of ``("ntk", "nngp")``.
    targets: probabilities of exact rounding to size the ensemble for.
    nnz: ones per test input for the single-input scope.
    scopes: ``"input"`` (one input with ``nnz`` ones) and/or ``"all"`` (every
      nonzero input, grouped union bound).
    bound_delta: δ of the reverse-engineered bound curve of the paper's figure.
  """
  name: str = "default"
  k_values: tuple[int, ...] = tuple(range(2, 31))
  regimes: tuple[str, ...] = ANALYTIC_REGIMES
  targets: tuple[float, ...] = (0.9, 0.999)
  nnz: int = 2
  scopes: tuple[str, ...] = SCOPES
  bound_delta: float = 1e-4

  def __post_init__(self):
    if not self.k_values:
      raise ValueError("k_values is empty; expected integers >= 2")
    bad_k = [k for k in self.k_values if k < 2]
    if bad_k:
      raise ValueError(f"k must be >= 2, got {bad_k}")
    bad_r = [r for r in self.regimes if r not in ANALYTIC_REGIMES]
    if bad_r or not self.regimes:
      raise ValueError(f"unknown regime(s) {bad_r or list(self.regimes)}; "
                       f"allowed: {list(ANALYTIC_REGIMES)}")
    bad_t = [t for t in self.targets if not 0.0 < t < 1.0]
    if bad_t or not self.targets:
      raise ValueError(f"targets must lie in (0, 1), got "
                       f"{bad_t or list(self.targets)}")
    bad_s = [s for s in self.scopes if s not in SCOPES]
    if bad_s or not self.scopes:
      raise ValueError(f"unknown scope(s) {bad_s or list(self.scopes)}; "
                       f"allowed: {list(SCOPES)}")
    too_big = [k for k in self.k_values if self.nnz > k]
    if self.nnz < 1 or too_big:
      raise ValueError(f"nnz={self.nnz} must be in 1..k for every k; too "
                       f"large for k={too_big[:5]}")
    if not 0.0 < self.bound_delta < 1.0:
      raise ValueError(f"bound_delta must lie in (0, 1), got "
                       f"{self.bound_delta}")


def smoke() -> Config:
  """Seconds: a few small k."""
  return Config(name="smoke", k_values=(2, 3, 5, 8))


def default() -> Config:
  """The paper's range, k = 2..30."""
  return Config(name="default")


def paper() -> Config:
  """As the paper's figure: k = 2..30 (the analytic part is the same)."""
  return Config(name="paper")


PRESETS = {"smoke": smoke, "default": default, "paper": paper}


def get_config(name: str = "default", **overrides) -> Config:
  """A preset, with any field overridden.

  Example:
    >>> get_config("smoke", k_values=(4, 6)).k_values
    (4, 6)
  """
  return config_lib.resolve(PRESETS, name, overrides)


def environment() -> dict:
  """Versions and device, recorded in every result file."""
  import jax  # pylint: disable=import-outside-toplevel
  return {
      "permjax_version": permjax.__version__,
      "jax_version": jax.__version__,
      "python": platform.python_version(),
      "platform": platform.platform(),
      "device": str(jax.devices()[0]),
      "device_kind": jax.devices()[0].device_kind,
  }


def prepare_workdir(workdir: str, config: Config, *,
                    overwrite: bool = False) -> dict:
  """Creates ``workdir`` and writes ``config.json``.

  A folder that holds results from a different config is refused unless
  ``overwrite`` is set; nothing in it is deleted either way.
  """
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, "config.json")
  record = {"config": dataclasses.asdict(config), **environment()}
  if os.path.exists(path):
    with open(path) as f:
      try:
        old = json.load(f).get("config")
      except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); move it away or "
                         f"pass --overwrite") from None
    new = json.loads(json.dumps(record["config"]))
    if old != new and not overwrite:
      changed = sorted(k for k in set(old or {}) | set(new)
                       if (old or {}).get(k) != new.get(k))
      raise ValueError(f"{workdir} holds results of a different config "
                       f"(fields differ: {changed}); use another --workdir or "
                       f"pass --overwrite")
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(record, f, indent=2, sort_keys=True)
  os.replace(tmp, path)
  return record


def analytic_table(config: Config) -> list[dict]:
  """Ensemble sizes for every (regime, scope, target, k) of the config.

  Returns:
    rows with keys ``regime, scope, nnz, target, k, N, float``.
  """
  ks = np.asarray(config.k_values, np.int64)
  rows = []
  for regime in config.regimes:
    for scope in config.scopes:
      for target in config.targets:
        sizes = permjax.ensemble_size(
            ks, n=config.nnz if scope == "input" else None, target=target,
            regime=regime, scope=scope)
        for k, size in zip(ks.tolist(), sizes.tolist()):
          rows.append({"regime": regime, "scope": scope,
                       "nnz": config.nnz if scope == "input" else "all",
                       "target": target, "k": k, "N": size,
                       "float": "float64"})
  return rows


def write_csv(path: str, rows: list[dict]) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
  os.replace(tmp, path)


def plot_analytic(path: str, rows: list[dict], config: Config) -> None:
  """N vs k for both regimes, with the paper figure's bound curve."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  fig, ax = plt.subplots(figsize=(7, 4.5))
  styles = {"ntk": "C0", "nngp": "C1"}
  dashes = {"input": "-", "all": ":"}
  for regime in config.regimes:
    for scope in config.scopes:
      for i, target in enumerate(config.targets):
        sel = [r for r in rows if r["regime"] == regime
               and r["scope"] == scope and r["target"] == target]
        label = (f"{regime} GP, n={config.nnz}" if scope == "input"
                 else f"{regime} GP, all inputs")
        ax.plot([r["k"] for r in sel], [r["N"] for r in sel],
                dashes[scope], color=styles[regime],
                marker="o" if i == 0 else "s", markersize=3,
                alpha=1.0 if i == 0 else 0.55,
                label=f"{label}, P={target:g}")
  ks = np.asarray(config.k_values)
  ax.plot(ks, permjax.paper_figure_bound(ks, delta=config.bound_delta), "k--",
          label=f"paper's bound curve (reverse-engineered, δ={config.bound_delta:g})")
  ax.set_xlabel("k (permutation size)")
  ax.set_ylabel("ensemble size N")
  ax.set_yscale("log")
  ax.set_title("Members needed for exact rounding (Gaussian limit, float64)")
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=130)
  plt.close(fig)


def run(config: Config, workdir: str, *, overwrite: bool = False) -> dict:
  """Runs the experiment and writes its files into ``workdir``.

  Returns:
    a dict of output paths (``config``, ``csv``, ``plot``).
  """
  prepare_workdir(workdir, config, overwrite=overwrite)
  rows = analytic_table(config)
  paths = {"config": os.path.join(workdir, "config.json"),
           "csv": os.path.join(workdir, "analytic.csv"),
           "plot": os.path.join(workdir, "analytic.png")}
  write_csv(paths["csv"], rows)
  plot_analytic(paths["plot"], rows, config)
  return paths


def main(argv: Sequence[str] | None = None) -> int:
  config, args = config_lib.parse(argv, Config, PRESETS, __doc__.split("\n")[0])
  workdir = args.workdir or os.path.join("runs", "ntk_permutation", config.name)
  try:
    paths = run(config, workdir, overwrite=args.overwrite)
  except ValueError as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  for name, path in paths.items():
    print(f"{name}: {os.path.abspath(path)}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
