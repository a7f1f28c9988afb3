"""Runs the graph experiment's units and writes their records.

Every unit appends one JSON record (with provenance) to ``results.jsonl``;
a rerun skips units already recorded and resumes a growth from its
checkpoint, so a killed run continues where it stopped. Units:

* ``validate`` — flooding on one large graph by the exact NTK mean (zero
  rule), compared with the OR rule at every node, round and bit and with
  scipy's reachability; rounds and seconds.
* ``bounds`` — one suite sample's visited encodings: their number, the
  largest matched count, the smallest 1-bit mean, and the union-bound N per
  readout (visited encodings; every encoding up to the largest matched
  count; the published scripts' formula).
* ``ablation`` — the collision and readout-placement tables.
* ``grow`` — one seed's ensemble grown on a suite's test set to a common
  size: accuracy (cases exact) per readout at every N.
* ``large`` — a finite ensemble of the margin rule's union-bound size run on
  a large graph by the message-passing driver.
* ``bfs`` / ``dfs`` / ``bellman_ford`` — one sequential construction on one
  degree cap of the BFS family: the exact NTK mean against the OR rule and
  the classical answer on every graph, rounds and seconds, union bounds per
  readout over the visited encodings.
* ``bfs_grow`` — one seed's ensemble grown on BFS runs.
"""

from __future__ import annotations

import functools
import json
import os
import time
import zlib

import permjax
from permjax.experiments import config as config_lib
from permjax.experiments import provenance
from permjax.experiments import records as records_lib
from permjax.experiments import units as units_lib
from permjax.experiments import workdir as workdir_lib
from permjax.experiments.graphs import configs
from permjax.experiments.graphs import report
from permjax.experiments.graphs.configs import Config

EPSILON_RULES = ("zero", "fixed:0.005", "fixed:0.0001", "margin", "midpoint")


def suite_program(config: Config, suite: str) -> permjax.NodeProgram:
  kind, delta, bits = configs.parse_suite(suite)
  return permjax.flooding_program(bits, delta, tree=kind == "tree")


def suite_cases(config: Config, suite: str, sample: int = 0) -> list:
  """``[(graph, inputs), ...]``: every message from node 0 on each graph."""
  kind, delta, _ = configs.parse_suite(suite)
  program = suite_program(config, suite)
  if kind == "tree":
    graphs = permjax.graphs.labelled_trees(config.tree_nodes, delta)
  else:
    graphs = permjax.graphs.random_bounded_graphs(
        config.graphs, delta, seed=config.graph_seed + sample)
  return [(g, inputs) for g in graphs for inputs in program.inputs(g)]


def readouts(config: Config, program, test, kernel: str,
             rules=None) -> dict:
  out = {}
  for rule in rules or config.rules:
    if rule == "margin":
      out[rule] = permjax.graph_margin(program, test, kernel)
    else:
      out[rule] = permjax.readout.from_name(rule, kernel,
                                            program=program.program)
  return out


def _bound(fn, *args, **kwargs):
  try:
    return fn(*args, **kwargs)
  except ValueError:  # a bit on the wrong side of the threshold: no N
    return None


def run_validate(config: Config, name: str) -> dict:
  g = configs.parse_graph(name)
  delta = permjax.graphs.max_degree(g)
  program = permjax.flooding_program(1, delta)
  start = time.perf_counter()
  colours = permjax.graphs.distance2_colouring(g, program.slots)
  colour_seconds = time.perf_counter() - start
  drive = (permjax.run_graph if config.driver == "host"
           else permjax.run_graph_sharded)
  run = drive(program, g, {"source": 0, "message": 1},
              predictor=permjax.exact_mean(), colours=colours)
  return {"graph": name, "program": program.name, "nodes": g.n,
          "driver": config.driver,
          "edges": int(len(g.edges)), "max_degree": delta,
          "slots": program.slots, "colours_used": int(colours.max()) + 1,
          "k": program.k, "rounds_budget": run.rounds,
          "rounds_run": run.rounds_run, "correct": run.correct,
          "exact_mean_equals_or_rule": run.matches_or_rule,
          "max_inbox": run.max_inbox, "seconds": run.seconds,
          "colouring_seconds": round(colour_seconds, 3)}


def run_bounds(config: Config, suite: str, sample: int) -> dict:
  program = suite_program(config, suite)
  cases = suite_cases(config, suite, sample)
  start = time.perf_counter()
  test = permjax.graph_test_set(program, cases)
  mean = permjax.exact_mean()(program.program, test.x)
  m = test.matches.sum(1)
  rules = readouts(config, program, test, "ntk", EPSILON_RULES)
  diameters = sorted({permjax.graphs.diameter(g) for g, _ in cases})
  return {
      "suite": suite, "sample": sample, "program": program.name,
      "k": program.k, "D": program.D, "slots": program.slots,
      "graphs": len({id(g) for g, _ in cases}), "cases": len(cases),
      "encodings": int(len(test.x)), "m_max": int(m.max()),
      "min_one_mean": float(mean[test.truth].min()),
      "max_zero_mean": float(mean[~test.truth].max()),
      "c_max": int(program.program.column_weights().max()),
      "margin_tau": float(rules["margin"].tau),
      "max_rounds_run": int(test.rounds.max()),
      "diameter_max": int(diameters[-1]),
      "visited_N90": {r: _bound(permjax.graph_ensemble_size, program, test,
                                rd) for r, rd in rules.items()},
      "all_encodings_N90": {r: _bound(permjax.all_encodings_size, program,
                                      int(m.max()), rd)
                            for r, rd in rules.items()},
      "authors_bound_d6": permjax.authors_bound(program, 6),
      "seconds": round(time.perf_counter() - start, 3),
  }


def run_ablation(which: str) -> dict:
  start = time.perf_counter()
  rows = (permjax.collision_ablation() if which == "collision"
          else permjax.encoding_ablation())
  return {"ablation": which, "rows": rows,
          "seconds": round(time.perf_counter() - start, 3)}


def _key(config, suite, regime, width, seed):
  return units_lib.fold_key(seed, zlib.crc32(suite.encode()) & 0x7FFFFFFF,
                            ("gp", "ntk", "standard").index(regime), width)


def _source(config, regime, width, program, test, key):
  train = permjax.training_examples(program.program)
  if regime == "gp":
    return permjax.gp_member_source(permjax.MLPSpec(width=1), "ntk", train,
                                    test.x, key, sampler="dense",
                                    max_dense=max(6000, len(test.x)))
  return permjax.network_member_source(units_lib.spec_of(regime, width),
                                       train, test.x, key, config.train)


@functools.lru_cache(maxsize=8)
def suite_test_set(config: Config, suite: str):
  """A suite's node program and the test set of its first sample (built
  once per process: every seed and source of the suite reads it)."""
  program = suite_program(config, suite)
  return program, permjax.graph_test_set(program, suite_cases(config, suite))


def _grow(config, unit, program, test, rds, src, kernel, max_members,
          checkpoint_dir, on_progress) -> dict:
  """One growth on a graph test set, grown to ``max_members``; the record's
  fields common to flooding suites and BFS."""
  start = time.perf_counter()
  curve = units_lib.grow_unit(
      config, {"unit": list(unit)}, src,
      permjax.GraphScorer(program.program, test, rds), where=str(unit),
      checkpoint_dir=checkpoint_dir, on_progress=on_progress,
      max_members=max_members, chunk=config.chunk, stop_accuracy=None)
  rules = {}
  for name, rd in rds.items():
    acc = curve.accuracy[name]
    rules[name] = {"readout": rd.to_dict(),
                   "bound_N90": _bound(permjax.graph_ensemble_size, program,
                                       test, rd, kernel=kernel),
                   "final_accuracy": round(float(acc[-1]), 6),
                   "curve": [round(float(v), 5) for v in acc]}
  fields = units_lib.member_fields(curve)
  return {"kernel": kernel, "program": program.name, "k": program.k,
          "cases": int(len(test.path)), "encodings": int(len(test.x)),
          "member_source": src.info, "members": int(curve.members),
          "rules": rules, "details": curve.details,
          "member_status": fields["member_status"],
          "unconverged": fields["unconverged"],
          "seconds": round(time.perf_counter() - start, 3)}


def run_grow(config: Config, suite: str, regime: str, width: int, seed: int,
             checkpoint_dir, on_progress) -> dict:
  program, test = suite_test_set(config, suite)
  kernel = config.kernel(regime)
  rds = readouts(config, program, test, kernel)
  src = _source(config, regime, width, program, test,
                _key(config, suite, regime, width, seed))
  return {"suite": suite, "regime": regime, "width": width, "seed": seed,
          **_grow(config, ("grow", suite, regime, width, seed), program, test,
                  rds, src, kernel,
                  (config.gp_max_members if regime == "gp"
                   else config.max_members), checkpoint_dir, on_progress)}


def run_large(config: Config, name: str, regime: str) -> dict:
  g = configs.parse_graph(name)
  program = permjax.flooding_program(1, permjax.graphs.max_degree(g))
  inputs = {"source": 0, "message": 1}
  start = time.perf_counter()
  test = permjax.graph_test_set(program, [(g, inputs)])
  kernel = config.kernel(regime)
  margin = permjax.graph_margin(program, test, kernel)
  members = permjax.graph_ensemble_size(program, test, margin, kernel=kernel)
  width = config.widths[-1]
  key = _key(config, name, regime, width, 0)
  if config.driver == "host":  # the members' average tabulated on the test set
    src = _source(config, regime, width, program, test, key)
    average, status, _ = permjax.ensemble_average(src, members, config.chunk)
    predictor = permjax.EnsembleMean(program.program, test, average, members,
                                     src.info, status)
    run = permjax.run_graph(program, g, inputs, predictor=predictor,
                            readout=margin, until_first_error=True)
  else:  # the same members (fold_in(key, i)), applied on the devices
    predictor = permjax.network_average(
        program.program, members, key, units_lib.spec_of(regime, width),
        config.train)
    run = permjax.run_graph_sharded(program, g, inputs, predictor=predictor,
                                    readout=margin, until_first_error=True)
    # the encodings read wrong by the average that ran (members trained once)
    average = predictor(program.program, test.x)
  wrong = margin.bits(average, test.x, members) != test.truth
  return {"graph": name, "regime": regime, "kernel": kernel, "width": width,
          "driver": config.driver,
          "program": program.name, "nodes": g.n, "encodings": len(test.x),
          "margin_tau": float(margin.tau), "members": int(members),
          "member_source": predictor.info,
          "correct": run.correct and run.matches_or_rule,
          "wrong_encodings": int(wrong.any(axis=1).sum()),
          "first_deviation": run.first_deviation,
          "equals_or_rule": run.matches_or_rule,
          "rounds_run": run.rounds_run, "max_inbox": run.max_inbox,
          "seconds": round(time.perf_counter() - start, 3)}


# The sequential constructions: node program builder, and the word length a
# group of (graph, inputs) cases needs. BFS keeps the b = 4 its committed
# records were made with (bitlen(7) + 1: every graph of the family fits).
SEQUENTIAL = {
    "bfs": (permjax.bfs_program,
            lambda cases: 4),
    "dfs": (permjax.dfs_program,
            lambda cases: max(permjax.graphs.dfs_bits(g.n, len(g.edges))
                              for g, _ in cases)),
    "bellman_ford": (permjax.bellman_ford_program,
                     lambda cases: max(permjax.graphs.bellman_ford_bits(
                         g, inputs["weights"]) for g, inputs in cases)),
}


def family_cases(config: Config, delta: int, algorithm: str = "bfs") -> list:
  """The BFS family's graphs with degree cap ``delta`` (the authors' test
  family for BFS, DFS and Bellman–Ford), run from node 0; Bellman–Ford's
  edge weights are :func:`permjax.graphs.default_weights` (1..3, seeded by
  the graph)."""
  out = []
  for g, cap in permjax.graphs.bfs_family(config.bfs_graphs,
                                          config.graph_seed):
    if cap == delta:
      inputs = {"source": 0}
      if algorithm == "bellman_ford":
        inputs["weights"] = tuple(
            permjax.graphs.default_weights(g).tolist())
      out.append((g, inputs))
  if not out:
    raise units_lib.ExperimentError(
        f"none of the {config.bfs_graphs} graphs of the BFS family (seed "
        f"{config.graph_seed}) has degree cap {delta}; draw more "
        f"(--bfs_graphs) or leave {delta} out of the degree caps")
  return out


def run_sequential(config: Config, algorithm: str, delta: int) -> dict:
  """One sequential construction on the family's cap-``delta`` group: the
  exact NTK mean against the OR rule and the classical answer on every
  graph (rounds, seconds), the visited encodings and the union bound per
  readout over them."""
  builder, bits_of = SEQUENTIAL[algorithm]
  cases = family_cases(config, delta, algorithm)
  bits = bits_of(cases)
  program = builder(bits, delta)
  start = time.perf_counter()
  mean = permjax.exact_mean()
  rounds, budgets, good = [], [], 0
  for g, inputs in cases:
    run = permjax.run_graph(program, g, inputs, predictor=mean)
    good += run.correct and run.matches_or_rule and run.max_inbox <= 1
    rounds.append(run.rounds_run)
    budgets.append(program.rounds(g, inputs))
  mean_seconds = time.perf_counter() - start
  test = permjax.graph_test_set(program, cases, encode=False)
  live = ~program.program.structural_zeros()
  min_one, max_zero = float("inf"), -float("inf")
  for lo in range(0, len(test.matches), 8192):  # encoded in blocks
    means = mean(program.program, program.program.encode_matches(
        test.matches[lo:lo + 8192]))
    truth = test.truth[lo:lo + 8192]
    if truth.any():
      min_one = min(min_one, float(means[truth].min()))
    zeros = ~truth & live
    if zeros.any():
      max_zero = max(max_zero, float(means[zeros].max()))
  rds = readouts(config, program, test, "ntk", config.bfs_rules)
  out = {"delta": delta, "program": program.name, "k": program.k,
         "D": program.D, "graphs": len(cases),
         "nodes": sorted({g.n for g, _ in cases}),
         "exact_mean_runs_exact": good, "rounds_run_max": max(rounds),
         "rounds_run_total": int(sum(rounds)),
         "exact_mean_seconds": round(mean_seconds, 2),
         "encodings": int(len(test.matches)),
         "m_max": int(test.matches.sum(1).max()),
         "c_max": int(program.program.column_weights().max()),
         "structural_zeros": int((~live).sum()),
         "min_one_mean": min_one, "max_zero_mean_written": max_zero,
         "visited_N90": {r: _bound(permjax.graph_ensemble_size, program,
                                   test, rd) for r, rd in rds.items()},
         "seconds": round(time.perf_counter() - start, 3)}
  if algorithm != "bfs":  # the committed BFS records predate these fields
    out.update({"algorithm": algorithm, "bits": bits,
                "budget_max": max(budgets),
                "edges_max": max(len(g.edges) for g, _ in cases)})
  return out


@functools.lru_cache(maxsize=4)
def bfs_ensemble_cases(config: Config, delta: int, states: int = 0):
  """The first graphs of a cap's group whose visited encodings number at
  most ``states`` (``bfs_states`` if 0; at least one graph), and their test
  set (built once per process, not once per seed)."""
  program = permjax.bfs_program(4, delta)
  cases = family_cases(config, delta)
  states = states or config.bfs_states
  # one bounds-only pass over every case: the distinct encodings of each
  # prefix of cases are the distinct rows on the prefix's paths
  path = permjax.graph_test_set(program, cases, encode=False).path
  seen, take = set(), 0
  for row in path:
    seen.update(row[row >= 0].tolist())
    if take and len(seen) > states:
      break
    take += 1
  return cases[:take], permjax.graph_test_set(program, cases[:take])


def run_bfs_grow(config: Config, delta: int, regime: str, seed: int,
                 checkpoint_dir, on_progress) -> dict:
  program = permjax.bfs_program(4, delta)
  cases, test = bfs_ensemble_cases(
      config, delta, 0 if regime == "gp" else config.bfs_finite_states)
  kernel = config.kernel(regime)
  rds = readouts(config, program, test, kernel, config.bfs_rules)
  width = config.widths[-1]
  src = _source(config, regime, width, program, test,
                _key(config, f"bfs{delta}", regime, width, seed))
  return {"suite": f"bfs_d{delta}", "regime": regime,
          "width": 0 if regime == "gp" else width, "graphs": len(cases),
          "seed": seed,
          **_grow(config, ("bfs_grow", delta, regime, seed), program, test,
                  rds, src, kernel,
                  (config.bfs_max_members if regime == "gp"
                   else config.bfs_finite_members), checkpoint_dir,
                  on_progress)}


def run_unit(config: Config, unit: tuple, checkpoint_dir, on_progress):
  kind = unit[0]
  if kind == "validate":
    out = run_validate(config, unit[1])
  elif kind == "bounds":
    out = run_bounds(config, *unit[1:])
  elif kind == "ablation":
    out = run_ablation(unit[1])
  elif kind == "grow":
    out = run_grow(config, *unit[1:], checkpoint_dir, on_progress)
  elif kind in SEQUENTIAL:
    out = run_sequential(config, kind, unit[1])
  elif kind == "bfs_grow":
    out = run_bfs_grow(config, *unit[1:], checkpoint_dir, on_progress)
  else:
    out = run_large(config, *unit[1:])
  return {"unit": list(unit), **out, "config_name": config.name,
          **provenance.record_fields()}


def output_paths(workdir: str) -> dict:
  return {"config": os.path.join(workdir, "config.json"),
          "results": os.path.join(workdir, "results.jsonl"),
          "table": os.path.join(workdir, "graphs.md"),
          "summary": os.path.join(workdir, "summary.csv"),
          "figure": os.path.join(workdir, "members_vs_degree.png")}


def run(config: Config, workdir: str, *, overwrite: bool = False,
        progress: bool = True) -> dict:
  """Runs (or resumes) the experiment into ``workdir``; returns the output
  paths."""
  workdir_lib.prepare_workdir(workdir, config, overwrite=overwrite)
  paths = output_paths(workdir)
  records = records_lib.run_pending(
      config.units(), paths["results"], key_of=lambda r: tuple(r["unit"]),
      run_one=lambda u, ckpt, show: run_unit(config, u, ckpt, show),
      checkpoints=os.path.join(workdir, "checkpoints"),
      name_of=lambda u: "-".join(str(x) for x in u).replace(":", "_"),
      progress=progress)
  wanted = set(config.units())
  records = [r for r in records if tuple(r["unit"]) in wanted]
  write_outputs(records, paths)
  return paths


def write_outputs(records: list, paths: dict) -> None:
  rows = report.summarize(records)
  records_lib.write_csv(paths["summary"], rows)
  with open(paths["table"], "w") as f:
    f.write(report.tables(records, rows))
  report.plot(paths["figure"], records, rows)


def config_from_workdir(workdir: str) -> Config:
  """The config a work folder was made with."""
  with open(output_paths(workdir)["config"]) as f:
    return config_lib.from_record(Config, json.load(f)["config"])

