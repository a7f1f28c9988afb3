"""The main job: presets, CLI overrides, outputs, refusals."""

import csv
import json
import os
import subprocess
import sys

import jax
import pytest

import permjax
from permjax.experiments import ntk_permutation as exp


def test_smoke_run_writes_table_plot_and_config(tmp_path):
  config = exp.get_config("smoke")
  paths = exp.run(config, str(tmp_path))
  with open(paths["csv"]) as f:
    rows = list(csv.DictReader(f))
  assert {r["regime"] for r in rows} == {"ntk", "nngp"}
  assert {r["scope"] for r in rows} == {"input", "all"}
  n5 = [r for r in rows if r["k"] == "5" and r["regime"] == "ntk"
        and r["scope"] == "input" and float(r["target"]) == 0.9]
  assert int(n5[0]["N"]) == permjax.ensemble_size(5) == 205
  assert os.path.getsize(paths["plot"]) > 10_000
  with open(paths["config"]) as f:
    record = json.load(f)
  assert record["jax_version"] == jax.__version__
  assert record["config"]["k_values"] == [2, 3, 5, 8]
  assert "device" in record


def test_cli_runs_preset_with_overrides(tmp_path):
  out = subprocess.run(
      [sys.executable, "-m", "permjax.experiments.ntk_permutation",
       "--config", "smoke", "--workdir", str(tmp_path), "--k_values", "3:4,6",
       "--targets", "0.5", "--scopes", "input"],
      capture_output=True, text=True, check=True)
  assert "analytic.csv" in out.stdout and "analytic.png" in out.stdout
  with open(tmp_path / "analytic.csv") as f:
    rows = list(csv.DictReader(f))
  assert sorted({int(r["k"]) for r in rows}) == [3, 4, 6]


@pytest.mark.parametrize("args, message", [
    (["--config", "huge"], "unknown preset 'huge'"),
    (["--k_values", "1,2"], "k must be >= 2, got [1]"),
    (["--targets", "1.2"], "targets must lie in (0, 1), got [1.2]"),
    (["--regimes", "ntk,gp"], "unknown regime(s) ['gp']"),
    (["--nnz", "4", "--k_values", "3,5"], "nnz=4 must be in 1..k"),
    (["--k_values", "a"], "--k_values='a'"),
])
def test_cli_rejects_bad_values(tmp_path, args, message):
  out = subprocess.run(
      [sys.executable, "-m", "permjax.experiments.ntk_permutation",
       "--workdir", str(tmp_path)] + args, capture_output=True, text=True)
  assert out.returncode == 2
  assert message in out.stderr
  assert not (tmp_path / "analytic.csv").exists()


def test_workdir_with_other_config_is_refused_and_kept(tmp_path):
  exp.run(exp.get_config("smoke"), str(tmp_path))
  before = (tmp_path / "analytic.csv").read_text()
  with pytest.raises(ValueError, match=r"different config .*k_values"):
    exp.run(exp.get_config("smoke", k_values=(4,)), str(tmp_path))
  assert (tmp_path / "analytic.csv").read_text() == before
  exp.run(exp.get_config("smoke", k_values=(4,)), str(tmp_path),
          overwrite=True)
  assert (tmp_path / "analytic.csv").read_text() != before
