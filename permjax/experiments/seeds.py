"""What a measured ensemble size means over seeds, shared by the experiments
that grow ensembles (template programs, graph programs).

Growths run to a common size without stopping at their first all-exact N
give, per N, the fraction of seeds whose ensemble is exact; the N reported
is the first from which that fraction stays at or above a target up to the
common size (a first passage can be left again), with a bootstrap interval
over the seeds, and the fraction exact at the end with its Clopper–Pearson
interval.
"""

from __future__ import annotations

import numpy as np


def seeds_exact(curves: list, target: float = 0.9):
  """From growths run to a common size without early stop: per N the
  fraction of seeds whose ensemble is exact (accuracy 1), and the first N
  from which that fraction stays at or above ``target`` up to the common
  size (None if it does not end there) — not a first passage, which an
  ensemble can leave again.

  Example:
    >>> frac, n = seeds_exact([[0.5, 1.0, 1.0], [0.9, 0.9, 1.0]], 0.9)
    >>> frac.tolist(), n
    ([0.0, 0.5, 1.0], 3)
  """
  size = min(len(c) for c in curves)
  exact = np.array([np.asarray(c[:size]) >= 1.0 for c in curves])
  frac = exact.mean(axis=0)
  below = np.flatnonzero(frac < target)
  if below.size and below[-1] == size - 1:
    return frac, None
  return frac, (int(below[-1]) + 2 if below.size else 1)


def seed_interval(k: int, n: int) -> str:
  """The 95% Clopper–Pearson interval of a fraction k/n, as text.

  Example:
    >>> seed_interval(9, 10)
    '[0.55, 1.00]'
  """
  from scipy import stats  # pylint: disable=import-outside-toplevel
  low = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
  high = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
  return f"[{low:.2f}, {high:.2f}]"


def bootstrap_interval(curves: list, target: float, resamples: int = 2000,
                       level: float = 0.95) -> str | None:
  """The percentile bootstrap interval of :func:`seeds_exact`'s N over the
  seeds (resampled with replacement, a fixed generator); ``"> size"`` where
  a resample does not end at or above the target."""
  if len(curves) < 2:
    return None
  rng = np.random.default_rng(0)
  size = min(len(c) for c in curves)
  exact = np.array([np.asarray(c[:size]) >= 1.0 for c in curves])
  picks = rng.integers(0, len(curves), (resamples, len(curves)))
  frac = exact[picks].mean(axis=1)  # (resamples, size)
  below = frac < target
  # the last N below the target: its index from the end, per resample
  last = size - 1 - np.argmax(below[:, ::-1], axis=1)
  ns = np.where(~below.any(axis=1), 1,
                np.where(last == size - 1, size + 1, last + 2))
  low, high = np.quantile(ns.astype(np.float64),
                          [(1 - level) / 2, (1 + level) / 2])
  fmt = lambda v: f"> {size}" if v > size else f"{int(v)}"  # pylint: disable=unnecessary-lambda-assignment
  return f"[{fmt(low)}, {fmt(high)}]"


def seed_statistics(curves: list, first_passages: bool) -> dict:
  """Multi-seed statistics of accuracy ``curves`` (one per seed), only for
  growths that did not stop at their first all-exact N (``first_passages``
  False; a first passage says nothing about the sizes after it): the N from
  which ≥ 50% and ≥ 90% of seeds are exact at every larger size grown (the
  latter with its bootstrap interval), and the fraction of seeds exact at
  the largest common size with its interval."""
  if first_passages:
    return {"N_seeds50": None, "N_seeds90": None,
            "N_seeds90_interval": None, "seeds_exact_at_end": None,
            "seeds_exact_interval": None}
  frac, n90 = seeds_exact(curves)
  k = int(round(frac[-1] * len(curves)))
  return {"N_seeds50": seeds_exact(curves, 0.5)[1], "N_seeds90": n90,
          "N_seeds90_interval": bootstrap_interval(curves, 0.9),
          "seeds_exact_at_end": f"{k}/{len(curves)}",
          "seeds_exact_interval": seed_interval(k, len(curves))}
