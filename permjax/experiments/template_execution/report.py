"""Tables and figures of the ensemble experiment, from its records only.

Records of every layout are read: today's keys ``program``, ``bits``,
``regime`` and the older ``task``, ``m``, ``source`` (:func:`unit_of`).
"""

from __future__ import annotations

import collections

import numpy as np

from permjax.experiments import seeds as seeds_lib

_SHORT = {"addition": "add", "multiplication": "mul"}


def unit_of(record: dict) -> tuple:
  """``(program, bits, regime, width, seed)`` of a record, any layout."""
  return (record.get("program", record.get("task")),
          record.get("bits", record.get("m")),
          record.get("regime", record.get("source")), record["width"],
          record["seed"])


def _describe(rule: str, readout: dict) -> str:
  """``margin: τ = 0.163``, ``zero_fixed: zero, structural zeros fixed to
  0``, ``midpoint: midpoint(ntk)``."""
  if rule == "margin":
    return f"margin: τ = {readout['tau']:.4g}"
  name = readout["name"]
  if name.endswith("_fixed"):  # the readout's name carries the fixed zeros
    name = name[:-len("_fixed")]
  text = f"{rule}: {name}"
  if readout["fix_structural_zeros"]:
    text += ", structural zeros fixed to 0"
  return text


def _median(values):
  values = [v for v in values if v is not None]
  return None if not values else float(np.median(values))


def summarize(records: list[dict]) -> list[dict]:
  """One row per (program, bits, regime, width, rule): over seeds, the median
  first N with 90%, 99.9% and all pairs exact, how many seeds reached all
  pairs, and the union bound (P(all pairs exact) >= 0.9)."""
  groups = collections.defaultdict(list)
  for r in records:
    program, bits, regime, width, _ = unit_of(r)
    for rule in r["rules"]:
      groups[(program, bits, regime, width, rule)].append(r)
  rows = []
  for (program, bits, regime, width, rule), recs in sorted(groups.items()):
    first = recs[0]
    out = [x["rules"][rule] for x in recs]
    rows.append({
        "program": program, "bits": bits, "regime": regime,
        "kernel": first["kernel"],
        "width": width or None,
        "trainer": first["member_source"].get("trainer", "gp-posterior"),
        "rule": rule,
        "readout": _describe(rule, out[0]["readout"]),
        "pairs_run": first["pairs_run"], "pairs_total": first["pairs_total"],
        "encodings": first["encodings"], "seeds": len(recs),
        "reached_all": sum(o["reached"] for o in out),
        "N_90": _median([o["n_at"]["0.9"] for o in out]),
        "N_999": _median([o["n_at"]["0.999"] for o in out]),
        "N_all": _median([o["n_at"]["1.0"] for o in out]),
        "members_grown": max(x["members"] for x in recs),
        "final_accuracy": float(np.median([o["final_accuracy"] for o in out])),
        "bound_N90": out[0]["bound_N90"],
        "grid_bound_N90": out[0].get("grid_bound_N90"),
        # Every pair run: no sampling, so no interval on a failure rate.
        "failure_rate_upper95": None if first["pairs_run"] == first[
            "pairs_total"] else max(
                (o["failure_rate_upper95"] for o in out
                 if o.get("failure_rate_upper95") is not None),
                default=None),
        **seeds_lib.seed_statistics(
            [o["curve"] for o in out],
            any(r.get("stopped_at_first_exact", True) for r in recs)),
        "git": first.get("git"),
    })
  return rows


def step_rows(records: list[dict]) -> list[dict]:
  """Single-step against whole-run accuracy at the recorded ensemble sizes
  (powers of two and the last), averaged over seeds: the fraction of
  steps read right from the right state, and of pairs run right to the
  end. Only records whose first-error entries count steps (newer runs)."""
  groups = collections.defaultdict(lambda: [0, 0, 0, 0])
  for r in records:
    program, bits, regime, width, _ = unit_of(r)
    for d in r.get("first_errors", []):
      if "wrong_steps" not in d:
        continue
      g = groups[(program, bits, regime, width, d["rule"], d["members"])]
      g[0] += d["wrong_steps"]
      g[1] += d["steps"]
      g[2] += d["failing_pairs"]
      g[3] += r["pairs_run"]
  return [{"program": k[0], "bits": k[1], "regime": k[2],
           "width": k[3] or None, "rule": k[4], "members": k[5],
           "single_step_accuracy": 1 - v[0] / v[1],
           "whole_run_accuracy": 1 - v[2] / v[3]}
          for k, v in sorted(groups.items())]


def _fmt(v):
  if v is None:
    return "—"
  return f"{v:g}" if isinstance(v, float) else str(v)


def markdown(rows: list[dict]) -> str:
  """The summary as a markdown table (N: first N over the pairs run; "—":
  not reached within the members grown)."""
  head = ("| program | bits | regime | width | rule | pairs run | N 90% | "
          "N 99.9% | "
          "N all | union bound (P≥0.9) | reached (seeds) | members grown | "
          "final accuracy |")
  lines = [head, "|" + " --- |" * 13]
  for r in rows:
    total = r["pairs_total"]
    total = (f"2^{total.bit_length() - 1}" if total > 10 ** 12
             and total & (total - 1) == 0 else f"{total:,}")
    pairs = (f"{r['pairs_run']:,}" if r["pairs_run"] == r["pairs_total"]
             else f"{r['pairs_run']:,} of {total}")
    lines.append(
        f"| {r['program']} | {r['bits']} | {r['regime']} | "
        f"{_fmt(r['width'])} | "
        f"{r['readout']} | {pairs} | {_fmt(r['N_90'])} | {_fmt(r['N_999'])} | "
        f"{_fmt(r['N_all'])} | {_fmt(r['bound_N90'])} | "
        f"{r['reached_all']}/{r['seeds']} | {r['members_grown']} | "
        f"{r['final_accuracy']:.4f} |")
  extra = [r for r in rows if r.get("grid_bound_N90") is not None
           or r.get("N_seeds90") is not None
           or r.get("seeds_exact_at_end") is not None]
  if extra:
    lines += ["", "| program | bits | regime | width | rule | grid bound, "
              "every pair (P≥0.9) | failure rate per pair, 95% upper (at the "
              "last N) | N from which ≥ 50% of seeds stay exact | "
              "N from which ≥ 90% of seeds stay exact [95% bootstrap] | "
              "seeds exact at the last N [95%] |", "|" + " --- |" * 10]
    for r in extra:
      rate = r.get("failure_rate_upper95")
      lines.append(
          f"| {r['program']} | {r['bits']} | {r['regime']} | "
          f"{_fmt(r['width'])} | {r['rule']} | "
          f"{_fmt(r.get('grid_bound_N90'))} | "
          f"{'—' if rate is None else f'{rate:.2g}'} | "
          f"{_fmt(r.get('N_seeds50'))} | "
          f"{_fmt(r.get('N_seeds90'))} {r.get('N_seeds90_interval') or ''} | "
          f"{r.get('seeds_exact_at_end') or '—'} "
          f"{r.get('seeds_exact_interval') or ''} |")
  return "\n".join(lines) + "\n"


def tables(records: list[dict], rows: list[dict]) -> str:
  """The ``ensembles.md`` text: :func:`markdown` of the summary ``rows``
  and the single-step table of the ``records``."""
  return markdown(rows) + step_markdown(step_rows(records))


def step_markdown(rows: list[dict]) -> str:
  """:func:`step_rows` as a markdown table ("" when there are none)."""
  if not rows:
    return ""
  lines = ["", "Single steps against whole runs (mean over seeds):", "",
           "| program | bits | regime | width | rule | N | single-step "
           "accuracy | whole-run accuracy |", "|" + " --- |" * 8]
  for r in rows:
    lines.append(f"| {r['program']} | {r['bits']} | {r['regime']} | "
                 f"{_fmt(r['width'])} | {r['rule']} | {r['members']} | "
                 f"{r['single_step_accuracy']:.6f} | "
                 f"{r['whole_run_accuracy']:.4f} |")
  return "\n".join(lines) + "\n"


def _plt():
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  return plt


_COLORS = {"gp": "C0", "ntk": "C2", "standard": "C3"}
_MARKERS = {"zero_fixed": "o", "margin": "s", "midpoint": "^",
            "optimal": "D", "zero": "x"}


def _n_of(row: dict):
  """The N a figure shows: the multi-seed N from which ≥ 90% of seeds stay
  exact where the growths ran to a common size, else the first passage."""
  if row.get("seeds_exact_at_end") is not None:
    return row.get("N_seeds90")
  return row["N_all"]


def _n_label(rows: list[dict]) -> str:
  if any(r.get("seeds_exact_at_end") is not None for r in rows):
    return "N from which ≥ 90% of seeds stay exact"
  return "members until every pair executes exactly (first passage)"


def plot_members_vs_bits(path: str, rows: list[dict]) -> None:
  """N for all pairs against bits, per program (panels), regime (colour)
  and rule (marker), with each rule's union bound dashed (for the gp
  regime's kernel)."""
  plt = _plt()
  programs = sorted({r["program"] for r in rows})
  fig, axes = plt.subplots(1, len(programs), figsize=(6 * len(programs), 4.5),
                           squeeze=False)
  for ax, program in zip(axes[0], programs):
    sel = [r for r in rows if r["program"] == program]
    widths = sorted({r["width"] for r in sel if r["width"]})
    width = widths[-1] if widths else None
    keys = sorted({(r["regime"], r["rule"]) for r in sel})
    for regime, rule in keys:
      pts = sorted((r["bits"], _n_of(r)) for r in sel
                   if r["regime"] == regime and r["rule"] == rule
                   and r["width"] in (None, width) and _n_of(r))
      if pts:
        ax.plot(*zip(*pts), marker=_MARKERS.get(rule, "."),
                color=_COLORS[regime], label=f"{regime} · {rule}")
      if regime == "gp":
        bound = sorted((r["bits"], r["bound_N90"]) for r in sel
                       if r["regime"] == regime and r["rule"] == rule
                       and r["bound_N90"])
        if bound:
          ax.plot(*zip(*bound), ls="--", color="0.5",
                  marker=_MARKERS.get(rule, "."), mfc="none",
                  label=f"union bound · {rule}")
    ax.set_yscale("log")
    ax.set_xlabel("bits")
    ax.set_ylabel(_n_label(sel))
    ax.set_title(f"{program} (finite width {width})")
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def plot_members_vs_width(path: str, rows: list[dict]) -> None:
  """N for all pairs against width per (program, bits) panel, finite
  regimes and rules, with the gp regime's N as a horizontal line."""
  plt = _plt()
  panels = sorted({(r["program"], r["bits"]) for r in rows})
  fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5),
                           squeeze=False)
  for ax, (program, bits) in zip(axes[0], panels):
    sel = [r for r in rows if (r["program"], r["bits"]) == (program, bits)]
    for regime, rule in sorted({(r["regime"], r["rule"]) for r in sel}):
      mine = [r for r in sel if r["regime"] == regime and r["rule"] == rule]
      if regime == "gp":
        if _n_of(mine[0]):
          ax.axhline(_n_of(mine[0]), color=_COLORS["gp"], lw=0.8,
                     ls=":", label=f"gp · {rule}")
        continue
      pts = sorted((r["width"], _n_of(r)) for r in mine if _n_of(r))
      if pts:
        ax.plot(*zip(*pts), marker=_MARKERS.get(rule, "."),
                color=_COLORS[regime], label=f"{regime} · {rule}")
      miss = sorted((r["width"], r["members_grown"]) for r in mine
                    if not _n_of(r))
      if miss:
        ax.plot(*zip(*miss), ls="none", marker="^", mfc="none",
                color=_COLORS[regime])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("hidden width")
    ax.set_ylabel(_n_label(sel))
    ax.set_title(f"{_SHORT.get(program, program)} bits = {bits} (open ▲: "
                 f"not reached, "
                 f"members grown)")
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
