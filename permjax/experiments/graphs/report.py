"""Tables and figures of the graph experiment, from its records alone."""

from __future__ import annotations

import collections

import numpy as np

from permjax.experiments import seeds as seeds_lib


def _of(records, kind):
  return [r for r in records if r["unit"][0] == kind]


def summarize(records: list[dict]) -> list[dict]:
  """One row per (suite, regime, width, rule) of the grown ensembles: the
  union bound over visited encodings, and over seeds the N from which ≥ 50%
  / ≥ 90% of seeds run every case exactly, with the fraction at the end."""
  groups = collections.defaultdict(list)
  for r in _of(records, "grow") + _of(records, "bfs_grow"):
    for rule in r["rules"]:
      groups[(r["suite"], r["regime"], r["width"], rule)].append(r)
  rows = []
  for (suite, regime, width, rule), recs in sorted(groups.items()):
    out = [x["rules"][rule] for x in recs]
    rows.append({
        "suite": suite, "regime": regime, "width": width or None,
        "kernel": recs[0]["kernel"], "rule": rule,
        "readout": out[0]["readout"].get("name", rule),
        "cases": recs[0]["cases"], "encodings": recs[0]["encodings"],
        "seeds": len(recs), "members_grown": min(x["members"] for x in recs),
        "bound_N90": out[0]["bound_N90"],
        **seeds_lib.seed_statistics([o["curve"] for o in out], False),
        "git": recs[0].get("git")})
  return rows


def _fmt(v):
  if v is None or v == "":
    return "—"
  if isinstance(v, float):
    return f"{v:.4g}"
  if isinstance(v, int) and not isinstance(v, bool):
    return f"{v:,}".replace(",", " ")
  return str(v)


def _table(header, rows):
  lines = ["| " + " | ".join(header) + " |",
           "| " + " | ".join("---" for _ in header) + " |"]
  lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
  return "\n".join(lines)


def _range(values):
  values = [v for v in values if v is not None]
  if not values:
    return "—"
  lo, hi = min(values), max(values)
  return _fmt(lo) if lo == hi else f"{_fmt(lo)}–{_fmt(hi)}"


def validation_table(records) -> str:
  recs = _of(records, "validate")
  if not recs:
    return ""
  return "## Flooding by the exact NTK mean (zero rule)\n\n" + _table(
      ["graph", "nodes", "Δ", "slots (colours used)", "k", "rounds run / "
       "budget", "= OR rule", "= scipy", "max summed slot", "seconds"],
      [[r["graph"], r["nodes"], r["max_degree"],
        f"{r['slots']} ({r['colours_used']})", r["k"],
        f"{_fmt(r['rounds_run'])} / {_fmt(r['rounds_budget'])}",
        "yes" if r["exact_mean_equals_or_rule"] else "**no**",
        "yes" if r["correct"] else "**no**", r["max_inbox"], r["seconds"]]
       for r in recs])


def bounds_table(records) -> str:
  by_suite = collections.defaultdict(list)
  for r in _of(records, "bounds"):
    by_suite[r["suite"]].append(r)
  if not by_suite:
    return ""
  rows = []
  for suite, recs in by_suite.items():
    recs.sort(key=lambda r: r["sample"])
    first = recs[0]
    vis = lambda rule: _range([r["visited_N90"][rule] for r in recs])  # pylint: disable=unnecessary-lambda-assignment
    rows.append([
        suite, first["k"], first["slots"], first["graphs"],
        _range([r["encodings"] for r in recs]),
        _range([r["m_max"] for r in recs]),
        _range([round(r["min_one_mean"], 4) for r in recs]),
        vis("zero"), vis("fixed:0.005"), vis("fixed:0.0001"), vis("margin"),
        vis("midpoint"),
        " / ".join(_fmt(first["all_encodings_N90"][r])
                   for r in ("zero", "fixed:0.005", "margin")),
        f"{first['authors_bound_d6']['numerical']:.3g} / "
        f"{first['authors_bound_d6']['theoretical']:.3g}",
        len(recs)])
  return ("## Members for every visited encoding right with P ≥ 0.9 (union "
          "bound, NTK)\n\n" + _table(
              ["suite", "k", "S", "graphs", "distinct encodings", "m max",
               "min 1-bit mean", "N zero (ε=1e-10)", "N τ=5e-3", "N τ=1e-4",
               "N margin", "N midpoint",
               "every encoding m ≤ m max: zero / 5e-3 / margin",
               "published formula, d_G = 6: 8r·ln(2kR2^k) / 8k·ln(...)",
               "samples"], rows)
          + "\n\nRanges are over the random samples (seeds "
          "graph_seed, graph_seed+1, ...); trees are every labelled tree.")


def ensembles_table(rows) -> str:
  if not rows:
    return ""
  return ("## Ensembles on the suites: N measured over seeds against the "
          "union bound\n\n" + _table(
              ["suite", "regime", "width", "rule", "cases", "encodings",
               "union bound (P≥0.9)", "N: ≥50% of seeds stay exact",
               "N: ≥90% of seeds stay exact [95% bootstrap]",
               "seeds exact at the last N [95%]", "members grown"],
              [[r["suite"], r["regime"], r["width"], r["readout"], r["cases"],
                r["encodings"], r["bound_N90"], r["N_seeds50"],
                f"{_fmt(r['N_seeds90'])} {r['N_seeds90_interval'] or ''}",
                f"{r['seeds_exact_at_end']} {r['seeds_exact_interval']}",
                r["members_grown"]] for r in rows]))


def ablation_tables(records) -> str:
  out = []
  for r in _of(records, "ablation"):
    rows = r["rows"]
    if r["ablation"] == "collision":
      out.append("## Collisions: stars, message at leaf 1, the centre's "
                 "`final` mean (last 3 of 150 rounds)\n\n" + _table(
                     ["n", "cascade mean", "cascade bit", "direct mean",
                      "direct bit"],
                     [[x["n"], round(x["cascade_mean"], 4), x["cascade_bit"],
                       round(x["direct_mean"], 4), x["direct_bit"]]
                      for x in rows]))
    else:
      names = [k for k in rows[0] if k != "n"]
      out.append("## Input and readout placement: K_n, b = 3, fraction of "
                 "the 7 messages node 0 holds after 150 rounds\n\n"
                 + _table(["n"] + names,
                          [[x["n"]] + [round(x[k], 3) for k in names]
                           for x in rows]))
  return "\n\n".join(out)


_SEQUENTIAL_TITLES = {"bfs": "BFS", "dfs": "DFS",
                      "bellman_ford": "Bellman–Ford (weights 1..3)"}


def sequential_table(records, algorithm: str = "bfs") -> str:
  """One sequential construction on the BFS family, one row per degree
  cap."""
  recs = _of(records, algorithm)
  if not recs:
    return ""
  rules = list(recs[0]["visited_N90"])
  bits = sorted({r.get("bits", 4) for r in recs})
  b = "b = " + (str(bits[0]) if len(bits) == 1 else "/".join(map(str, bits)))
  extra = "bits" in recs[0]
  return (f"## {_SEQUENTIAL_TITLES[algorithm]} on the random family "
          f"(n = 2–7, degree cap Δ), {b}\n\n"
          + _table(["Δ"] + (["b", "edges (max)", "round budget (max)"] if extra
                            else [])
                   + ["k", "D", "graphs", "exact mean runs exact",
                      "rounds run (max)", "exact-mean seconds",
                      "distinct encodings", "m max", "C max",
                      "structural zeros", "min 1-bit mean"]
                   + [f"N {r}" for r in rules],
                   [[r["delta"]]
                    + ([r["bits"], r["edges_max"], r["budget_max"]] if extra
                       else [])
                    + [r["k"], r["D"], r["graphs"],
                       f"{r['exact_mean_runs_exact']}/{r['graphs']}",
                       r["rounds_run_max"], r["exact_mean_seconds"],
                       r["encodings"], r["m_max"], r["c_max"],
                       r["structural_zeros"], round(r["min_one_mean"], 4)]
                    + [r["visited_N90"][x] for x in rules] for r in recs]))


def large_table(records) -> str:
  recs = _of(records, "large")
  if not recs:
    return ""
  return ("## A finite ensemble of the margin rule's bound size on a large "
          "graph\n\n" + _table(
              ["graph", "regime", "width", "nodes", "distinct encodings",
               "τ (margin)", "members (bound)", "encodings read wrong",
               "= OR rule every round", "= scipy", "rounds run", "seconds"],
              [[r["graph"], r["regime"], r["width"], r["nodes"],
                r["encodings"], round(r["margin_tau"], 5), r["members"],
                r["wrong_encodings"],
                "yes" if r["equals_or_rule"] else
                f"**no** (from round {r['first_deviation']})",
                "yes" if r["correct"] else "**no**", r["rounds_run"],
                r["seconds"]] for r in recs]))


def tables(records: list[dict], rows: list[dict]) -> str:
  parts = [validation_table(records), bounds_table(records),
           ensembles_table(rows), sequential_table(records, "bfs"),
           sequential_table(records, "dfs"),
           sequential_table(records, "bellman_ford"), large_table(records),
           ablation_tables(records)]
  return "\n\n".join(p for p in parts if p) + "\n"


def plot(path: str, records: list[dict], rows: list[dict]) -> None:
  """Union bound and measured N (≥ 90% of seeds) per flooding suite and per
  sequential construction and degree cap, one colour per rule (log scale;
  the sequential constructions' zero rule hard-wires their structural
  zeros)."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  # (label, union bounds by rule, suite name of grown rows, line group)
  columns = []
  first = {r["suite"]: r for r in _of(records, "bounds") if r["sample"] == 0}
  for suite in dict.fromkeys(r["suite"] for r in _of(records, "bounds")):
    columns.append((suite, first.get(suite, {}).get("visited_N90", {}),
                    suite, "flooding"))
  for algorithm in _SEQUENTIAL_TITLES:
    for r in _of(records, algorithm):
      bounds = dict(r["visited_N90"])
      if "zero" not in bounds:  # structural zeros hard-wired: one colour
        bounds["zero"] = bounds.pop("zero_fixed", None)
      columns.append((f"{algorithm} Δ={r['delta']}", bounds,
                      f"bfs_d{r['delta']}" if algorithm == "bfs" else None,
                      algorithm))
  fig, ax = plt.subplots(figsize=(7, 4))
  x = np.arange(len(columns))
  for i, rule in enumerate(("zero", "fixed:0.005", "margin", "midpoint")):
    groups = [c[3] for c in columns]
    label = rule if rule != "zero" or set(groups) == {"flooding"} else (
        "zero (zero_fixed for BFS/DFS/Bellman–Ford)")
    for g in dict.fromkeys(groups):  # one line per family, not across them
      at = [j for j, h in enumerate(groups) if h == g]
      ys = [columns[j][1].get(rule) for j in at]
      ax.plot(x[at], [np.nan if y is None else y for y in ys], "-",
              color=f"C{i}", label=f"bound, {label}" if g == groups[0]
              else None)
    for regime, marker in (("gp", "o"), ("ntk", "s"), ("standard", "^")):
      if not any(r["regime"] == regime for r in rows):
        continue
      got = {r["suite"]: r["N_seeds90"] for r in rows
             if r["regime"] == regime
             and r["rule"] in (rule, "zero_fixed" if rule == "zero" else rule)}
      ax.plot(x, [np.nan if got.get(s) is None else got[s]
                  for _, _, s, _ in columns],
              marker, color=f"C{i}", linestyle="none",
              label=f"measured, {regime}" if i == 0 else None)
  ax.set_xticks(x, [c[0] for c in columns], rotation=30)
  ax.set_yscale("log")
  ax.set_ylabel("members N (P(all exact) ≥ 0.9)")
  ax.legend(fontsize=7, ncol=2)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
