"""Tables, fits and the figure of the all-inputs experiment, from its
records only."""

from __future__ import annotations

import collections
import math

import numpy as np

import permjax


def summarize(records: list[dict]) -> list[dict]:
  """One row per (regime, k, rule): the all-inputs N over seeds (median,
  min, max; seeds that did not get there within the members grown are
  counted apart), the grouped union bound under the same rule, and the
  numbers of ones of the last failures."""
  groups = collections.defaultdict(list)
  for r in records:
    for rule in r["rules"]:
      groups[(r["regime"], r["k"], rule)].append(r)
  rows = []
  for (regime, k, rule), recs in sorted(groups.items()):
    ns = [x["rules"][rule]["n_all"] for x in recs]
    got = [n for n in ns if n is not None]
    ones = collections.Counter()
    for x in recs:
      last = x["rules"][rule].get("last_failures")
      if last:
        ones.update({int(n): c for n, c in last["by_ones"].items()})
    rows.append({
        "regime": regime, "k": k, "rule": rule,
        "readout": recs[0]["rules"][rule]["readout"]["name"],
        "seeds": len(recs), "reached": len(got),
        "N_median": float(np.median(got)) if got else None,
        "N_min": min(got) if got else None,
        "N_max": max(got) if got else None,
        "bound_N90": recs[0]["rules"][rule]["bound_N90"],
        "members_grown": max(x["members"] for x in recs),
        "inputs": recs[0]["inputs"],
        "last_failure_ones": (",".join(str(n) for n, _ in
                                       ones.most_common(3)) or None),
        "bound_binding_n": _binding(k, recs[0]["kernel"], rule,
                                    recs[0]["rules"][rule]["bound_N90"]),
        "seconds_median": float(np.median([x["seconds"] for x in recs])),
        "git": recs[0].get("git")})
  return rows


def _binding(k, kernel, rule, bound):
  """The number of ones whose inputs dominate the grouped union sum at the
  bound's N (where the bound expects the last failures)."""
  if not bound:
    return None
  return permjax.binding_n(k, int(bound), kernel=kernel,
                           readout=permjax.readout.from_name(rule, kernel))


def fits(records: list[dict], k_min: int = 8) -> list[dict]:
  """The growth exponent e of the all-inputs N (N ∝ k^e) per (regime,
  rule), by least squares on log N against log k over every seed with
  k >= k_min, with its standard error; next to the same fit of the grouped
  bound."""
  groups = collections.defaultdict(list)
  for r in records:
    for rule, v in r["rules"].items():
      if r["k"] >= k_min and v["n_all"] is not None:
        groups[(r["regime"], rule)].append((r["k"], v["n_all"],
                                            v["bound_N90"]))
  out = []
  for (regime, rule), pts in sorted(groups.items()):
    ks = np.array([p[0] for p in pts], np.float64)
    if len(set(ks.tolist())) < 3:
      continue
    ns = np.array([p[1] for p in pts], np.float64)
    x, y = np.log(ks), np.log(ns)
    slope, icpt = np.polyfit(x, y, 1)
    resid = y - (slope * x + icpt)
    se = math.sqrt(resid @ resid / max(1, len(x) - 2)
                   / ((x - x.mean()) @ (x - x.mean())))
    bounds = [(p[0], p[2]) for p in pts if p[2]]
    bound_slope = (np.polyfit(np.log([b[0] for b in bounds]),
                              np.log([b[1] for b in bounds]), 1)[0]
                   if len({b[0] for b in bounds}) >= 3 else None)
    out.append({"regime": regime, "rule": rule, "k_min": int(ks.min()),
                "k_max": int(ks.max()), "points": len(pts),
                "exponent": round(float(slope), 3),
                "exponent_se": round(se, 3),
                "bound_exponent": (None if bound_slope is None
                                   else round(float(bound_slope), 3))})
  return out


def _fmt(v):
  if v is None:
    return "—"
  return f"{v:g}" if isinstance(v, float) else str(v)


def markdown(rows: list[dict], fit_rows: list[dict]) -> str:
  """The summary and the fits as markdown tables."""
  lines = ["| regime | k | rule | inputs | seeds exact | N median [min–max] "
           "| grouped bound (P≥0.9) | last failures (ones, most common) | "
           "bound's binding ones | members grown |",
           "|" + " --- |" * 10]
  for r in rows:
    spread = ("—" if r["N_median"] is None else
              f"{_fmt(r['N_median'])} [{r['N_min']}–{r['N_max']}]")
    lines.append(
        f"| {r['regime']} | {r['k']} | {r['readout']} | {r['inputs']:,} | "
        f"{r['reached']}/{r['seeds']} | {spread} | {_fmt(r['bound_N90'])} | "
        f"{_fmt(r['last_failure_ones'])} | {_fmt(r['bound_binding_n'])} | "
        f"{r['members_grown']} |")
  if fit_rows:
    lines += ["", "| regime | rule | k | points | exponent ± se | bound "
              "exponent |", "|" + " --- |" * 6]
    for f in fit_rows:
      lines.append(f"| {f['regime']} | {f['rule']} | {f['k_min']}–"
                   f"{f['k_max']} | {f['points']} | {f['exponent']} ± "
                   f"{f['exponent_se']} | {_fmt(f['bound_exponent'])} |")
  return "\n".join(lines) + "\n"


def plot(path: str, rows: list[dict]) -> None:
  """N against k per (regime, rule), median with the seeds' range, and each
  rule's grouped bound dashed."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, ax = plt.subplots(figsize=(7, 4.5))
  colors = {"gp": "C0", "ntk": "C2", "standard": "C3"}
  markers = {}
  for regime, rule in sorted({(r["regime"], r["rule"]) for r in rows}):
    sel = sorted((r for r in rows if r["regime"] == regime
                  and r["rule"] == rule and r["N_median"] is not None),
                 key=lambda r: r["k"])
    if not sel:
      continue
    marker = markers.setdefault(rule, "os^Dvx"[len(markers) % 6])
    ks = [r["k"] for r in sel]
    ax.plot(ks, [r["N_median"] for r in sel], marker=marker, ms=4,
            color=colors.get(regime, "k"), label=f"{regime} · {rule}")
    ax.fill_between(ks, [r["N_min"] for r in sel], [r["N_max"] for r in sel],
                    color=colors.get(regime, "k"), alpha=0.15)
  for kernel_regime, rule in sorted({(r["regime"], r["rule"]) for r in rows}):
    sel = sorted((r for r in rows if r["regime"] == kernel_regime
                  and r["rule"] == rule and r["bound_N90"]),
                 key=lambda r: r["k"])
    if sel:
      ax.plot([r["k"] for r in sel], [r["bound_N90"] for r in sel], "--",
              lw=0.8, color=colors.get(kernel_regime, "k"))
  ax.set_xscale("log")
  ax.set_yscale("log")
  ax.set_xlabel("k")
  ax.set_ylabel("members until every input is exact")
  ax.set_title("every nonzero input (dashed: grouped union bound, P≥0.9)")
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
