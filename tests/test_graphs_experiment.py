"""The graph experiment: a tiny config end to end, resumed after a lost
record, and its config errors."""

import json

import pytest

from permjax.experiments.graphs import configs
from permjax.experiments.graphs import main as main_lib
from permjax.experiments.graphs import run as run_lib

# End-to-end experiment runs in the default dtype: the numerics they use are
# tested under float64 in the unit modules (GP, training, ensembles, program
# ensembles, all-inputs evaluation), so CI's float64 pass leaves them out.
pytestmark = pytest.mark.dtype_independent


def _tiny():
  return configs.Config(
      name="tiny", suites=("tree_d2_b1",), tree_nodes=4, bound_samples=1,
      regimes=("gp", "ntk"), widths=(64,), seeds=2, max_members=16,
      gp_max_members=32, chunk=8, validate=("path:20", "grid:3x4"),
      large="cycle:40", ablations=False)


def test_tiny_run_and_resume(tmp_path):
  config = _tiny()
  paths = run_lib.run(config, str(tmp_path), progress=False)
  with open(paths["results"]) as f:
    records = [json.loads(line) for line in f]
  assert len(records) == len(config.units())
  for r in records:
    assert r["git"] and r["packages"]["jax"]  # provenance on every record
  validate = [r for r in records if r["unit"][0] == "validate"]
  assert all(r["correct"] and r["exact_mean_equals_or_rule"]
             and r["max_inbox"] == 1 for r in validate)
  bounds = next(r for r in records if r["unit"][0] == "bounds")
  # every labelled path on 4 nodes (12), both messages
  assert bounds["cases"] == 2 * 12 and bounds["graphs"] == 12
  grown = [r for r in records if r["unit"][0] == "grow"]
  assert {r["members"] for r in grown} == {16, 32}
  for r in grown:
    assert r["member_source"]["regime"] == r["regime"]
    assert set(r["rules"]) == set(config.rules)
  # lose the last record: a rerun recomputes the same one (but its time)
  with open(paths["results"], "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in records[:-1])
  run_lib.run(config, str(tmp_path), progress=False)
  with open(paths["results"]) as f:
    again = [json.loads(line) for line in f]
  strip = lambda r: {k: v for k, v in r.items() if k != "seconds"}  # pylint: disable=unnecessary-lambda-assignment
  assert [strip(r) for r in again] == [strip(r) for r in records]


def test_device_driver_units_equal_host():
  """``driver="device"``: flooding validated on the devices, and the large
  graph flooded by the same members applied there (a network average)
  instead of a table over the visited encodings — same verdicts, rounds
  and members."""
  host = _tiny()
  device = configs.Config(**{**host.__dict__, "driver": "device"})
  keys = {"validate": ("correct", "rounds_run", "max_inbox",
                        "exact_mean_equals_or_rule"),
          # wrong_encodings: the float32 network average that ran on the
          # devices against the host's table of the tabulated members
          "large": ("correct", "rounds_run", "max_inbox", "equals_or_rule",
                    "first_deviation", "wrong_encodings")}
  for unit in (("validate", "grid:3x4"), ("large", "cycle:40", "ntk")):
    a = run_lib.run_unit(host, unit, None, None)
    b = run_lib.run_unit(device, unit, None, None)
    assert (a["driver"], b["driver"]) == ("host", "device")
    for key in keys[unit[0]]:
      assert key in a and a[key] == b[key], key
    assert a["correct"] and a["rounds_run"] > 0
  # the device record names the source that ran: members trained once
  assert b["member_source"]["blocked"] and "blocked" not in a["member_source"]
  with pytest.raises(ValueError, match="driver must be"):
    configs.Config(driver="gpu")


def test_config_errors(capsys):
  with pytest.raises(ValueError, match="suite 'graph_2'"):
    configs.Config(suites=("graph_2",))
  with pytest.raises(ValueError, match="graph 'grid:3'"):
    configs.parse_graph("grid:3")
  with pytest.raises(SystemExit):
    main_lib.main(["--config", "smoke", "--validate", "path-10"])
  assert "path:N" in capsys.readouterr().err


def test_bfs_ensemble_cases_limit():
  config = configs.Config(name="tiny_bfs", suites=(), validate=(), large="",
                          ablations=False, bfs_degrees=(1,), bfs_graphs=30)
  cases = run_lib.family_cases(config, 1)
  assert len(cases) >= 2
  # a limit below one graph's encodings still runs one graph; a large one
  # runs every graph of the cap, whatever bfs_states says
  one, test_one = run_lib.bfs_ensemble_cases(config, 1, 1)
  every, test_every = run_lib.bfs_ensemble_cases(config, 1, 10**6)
  assert len(one) == 1 and len(test_one.path) == 1
  assert len(every) == len(cases) == len(test_every.path)
  assert test_every.x.shape == (len(test_every.truth), 763)
  with pytest.raises(ValueError, match="bfs_finite_states must be >= 0"):
    configs.Config(bfs_finite_states=-1)


def test_sequential_units(tmp_path):
  config = configs.Config(name="tiny_bfs", suites=(), validate=(), large="",
                          ablations=False, bfs_degrees=(1,), bfs_graphs=12,
                          bfs_seeds=2, bfs_max_members=8, chunk=4,
                          dfs_degrees=(1,), bellman_ford_degrees=(1,))
  paths = run_lib.run(config, str(tmp_path), progress=False)
  with open(paths["results"]) as f:
    records = {tuple(json.loads(line)["unit"]): json.loads(line)
               for line in f}
  bfs = records[("bfs", 1)]
  # cap-1 graphs of the family are single edges: every one run exactly
  assert bfs["graphs"] >= 1 and bfs["exact_mean_runs_exact"] == bfs["graphs"]
  assert bfs["structural_zeros"] > 0 and bfs["c_max"] == 5
  # a threshold at 0 cannot read structural zeros: zero_fixed hard-wires
  # them, and its bound is finite
  assert bfs["visited_N90"]["zero_fixed"] > bfs["visited_N90"]["margin"]
  grown = records[("bfs_grow", 1, "gp", 0)]
  assert grown["members"] == 8 and grown["width"] == 0
  # DFS and Bellman–Ford on the same single edges: b = bitlen(2|E|) + 1 = 3
  # and max(bitlen(p_L ≤ 3), bitlen(2)) + 1 = 3; sizes from the published
  # formulas (k), structural zeros from the authors' builder
  dfs, bf = records[("dfs", 1)], records[("bellman_ford", 1)]
  for r in (dfs, bf):
    assert r["bits"] == 3 and r["exact_mean_runs_exact"] == r["graphs"]
    assert r["graphs"] == bfs["graphs"] and r["rounds_run_max"] <= r[
        "budget_max"]
  b, d = 3, 1
  assert dfs["k"] == (18 * b * d**3 + 6 * d**3 + 31 * b * d**2 + 9 * d**2
                      + 49 * b * d + 20 * d + 51 * b + 16)
  assert bf["k"] == (44 * b * d**2 + 5 * d**2 + 33 * b * d + 2 * d + 100 * b
                     + 18)
  assert dfs["structural_zeros"] == b * (3 * d + 2) + d + 1
  assert bf["structural_zeros"] == 5 * b + 1
  table = open(paths["table"]).read()
  for title in ("BFS on the random family", "DFS on the random family",
                "Bellman–Ford (weights 1..3) on the random family"):
    assert title in table


def test_committed_results_regenerate_byte_identical(tmp_path):
  import glob  # pylint: disable=import-outside-toplevel
  import os  # pylint: disable=import-outside-toplevel
  from permjax.experiments import records as records_lib  # pylint: disable=import-outside-toplevel
  from permjax.experiments.graphs import report  # pylint: disable=import-outside-toplevel
  repo = os.path.join(os.path.dirname(__file__), "..")
  folders = sorted(glob.glob(os.path.join(repo, "experiments", "graphs", "*",
                                          "summary.csv")))
  assert folders, "no committed graph results"
  for summary in folders:
    folder = os.path.dirname(summary)
    recs = records_lib.load_results(folder)
    assert {tuple(r["unit"]) for r in recs} == set(
        run_lib.config_from_workdir(folder).units())
    rows = report.summarize(recs)
    records_lib.write_csv(str(tmp_path / "summary.csv"), rows)
    (tmp_path / "graphs.md").write_text(report.tables(recs, rows))
    for name in ("summary.csv", "graphs.md"):
      with open(os.path.join(folder, name), "rb") as f:
        assert (tmp_path / name).read_bytes() == f.read(), (folder, name)
