"""Figure 1's two panels, drawn from the records with matplotlib (Agg)."""

from __future__ import annotations

import numpy as np

import permjax
from permjax import readout as readout_lib
from permjax.experiments.figure1 import report
from permjax.experiments.figure1.configs import Config
from permjax.experiments.units import REGIMES

_COLORS = {"gp": "C0", "ntk": "C2", "standard": "C3"}
_LABELS = {"gp": "gp (infinite width)", "ntk": "ntk (finite, NTK param.)",
           "standard": "standard (finite, paper's recipe)"}


def _plt():
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  return plt


def left_panel_points(records: list[dict], config: Config) -> dict:
  """``{regime: (ks, mean, min, max)}`` of the first N reaching
  ``1 - delta`` over seeds (only the k where some seed reached it)."""
  target = str(1 - config.delta)
  out = {}
  for regime in REGIMES:
    ks = sorted({r["k"] for r in records if r["regime"] == regime})
    means, lo, hi, kept = [], [], [], []
    for k in ks:
      vals = [r["n_at"].get(target) for r in records
              if r["regime"] == regime and r["k"] == k]
      vals = [v for v in vals if v is not None]
      if vals:
        kept.append(k)
        means.append(np.mean(vals))
        lo.append(min(vals))
        hi.append(max(vals))
    if kept:
      out[regime] = (kept, means, lo, hi)
  return out


def plot_left(path: str, records: list[dict], config: Config) -> None:
  """Members for ``1 - delta`` accuracy vs k: runs (mean, min-max over
  seeds), exact-Gaussian analytic curves, the reverse-engineered bound, the
  paper."""
  plt = _plt()
  fig, ax = plt.subplots(figsize=(8, 5))
  for regime, (kept, means, lo, hi) in left_panel_points(records,
                                                         config).items():
    trainer = next(r["trainer"] for r in records if r["regime"] == regime)
    width = next(r["width"] for r in records if r["regime"] == regime)
    label = _LABELS[regime] + (f", m={width}, {trainer}" if width else "")
    ax.plot(kept, means, "o-", color=_COLORS[regime], ms=3, label=label)
    ax.fill_between(kept, lo, hi, color=_COLORS[regime], alpha=0.2)
  ks = np.arange(max(2, min(config.k_values + config.k_curves)),
                 max(config.k_values + config.k_curves) + 1)
  for kernel, style in (("ntk", "--"), ("nngp", ":")):
    sizes = report.analytic_sizes(config, ks.tolist(), kernel,
                                  1 - config.delta)
    if "" in sizes:
      continue  # the self-calibrated rule has no analytic curve
    name = readout_lib.from_name(config.readout, kernel).name
    ax.plot(ks, sizes, style, color="k", lw=1,
            label=f"exact Gaussian, {kernel} GP, {name} readout")
  bound_ks = ks[ks >= 3]  # the curve needs a zero bit at n = 2: k >= 3
  if bound_ks.size:
    ax.plot(bound_ks, permjax.paper_figure_bound(bound_ks), "-",
            color="grey", lw=1,
            label="paper's bound curve (reverse-engineered, δ=1e-4)")
  paper = report.paper_points()["n90"]
  if paper:
    pk = sorted(paper)
    ax.plot(pk, [paper[k] for k in pk], "kx", ms=6,
            label="paper, published (1 seed, m=50 000, standard)")
  ax.set_yscale("log")
  ax.set_xlabel("k")
  ax.set_ylabel(f"members for {100 * (1 - config.delta):g}% exact-match "
                f"accuracy")
  ax.set_title(f"Figure 1 (left), {config.name} preset, readout "
               f"{config.readout}: mean over {config.seeds} seeds, band = "
               f"min-max", fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=130)
  plt.close(fig)


def plot_right(path: str, records: list[dict], config: Config) -> None:
  """Accuracy vs ensemble size for the right panel's k, one axis per regime."""
  plt = _plt()
  regimes = [r for r in REGIMES if any(x["regime"] == r for x in records)]
  fig, axes = plt.subplots(1, max(1, len(regimes)),
                           figsize=(5 * max(1, len(regimes)), 4), sharey=True,
                           squeeze=False)
  cmap = plt.get_cmap("viridis")
  curves_k = sorted(config.k_curves)
  paper = report.paper_points()["curves"]
  for ax, regime in zip(axes[0], regimes):
    for i, k in enumerate(curves_k):
      color = cmap(i / max(1, len(curves_k) - 1))
      sel = [r for r in records if r["regime"] == regime and r["k"] == k]
      for j, r in enumerate(sel):
        ax.plot(np.arange(1, len(r["curve"]) + 1), r["curve"], color=color,
                lw=0.8, alpha=0.7, label=f"k={k}" if j == 0 else None)
      if regime == "standard" and k in paper:
        ns, acc = paper[k]
        ax.plot(ns, acc, "--", color=color, lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("ensemble size N")
    ax.set_title(_LABELS[regime] + (" (dashed: paper)" if regime == "standard"
                                    else ""), fontsize=9)
    ax.axhline(1 - config.delta_curves, color="grey", lw=0.5)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
      ax.legend(fontsize=7)
  axes[0][0].set_ylabel("exact-match accuracy")
  fig.suptitle(f"Figure 1 (right), {config.name} preset, readout "
               f"{config.readout}, {config.seeds} seeds per k")
  fig.tight_layout()
  fig.savefig(path, dpi=130)
  plt.close(fig)
