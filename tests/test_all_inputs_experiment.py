"""The all-inputs experiment: records with provenance, the bound next to
each measured N, resume after a kill at a checkpoint save and mid-append,
bad flags."""

import json
import os
import subprocess
import sys

import pytest

from permjax.experiments import records as records_lib
from permjax.experiments.all_inputs import configs
from permjax.experiments.all_inputs import run as run_lib

# End-to-end experiment runs in the default dtype: the numerics they use are
# tested under float64 in the unit modules (GP, training, ensembles, program
# ensembles, all-inputs evaluation), so CI's float64 pass leaves them out.
pytestmark = pytest.mark.dtype_independent

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRASH = [sys.executable, os.path.join(REPO, "tests", "scripts",
                                      "crash_at.py")]
ARGS = ["--config", "smoke", "--regimes", "gp,ntk,standard", "--k_values",
        "3:4", "--seeds", "1", "--width", "32", "--members", "16",
        "--gp_members", "32", "--chunk", "32"]


def _strip(records):
  return sorted(json.dumps({k: v for k, v in r.items() if k != "seconds"},
                           sort_keys=True) for r in records)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  folder = tmp_path_factory.mktemp("full")
  done = subprocess.run([sys.executable, "-m", "permjax.experiments.all_inputs"]
                        + ARGS + ["--workdir", str(folder)],
                        capture_output=True, text=True, timeout=600, cwd=REPO)
  assert done.returncode == 0, done.stderr[-2000:]
  return folder, records_lib.read_records(str(folder / "results.jsonl"))


def test_records_hold_n_bound_provenance_and_last_failures(uninterrupted):
  folder, records = uninterrupted
  assert {(r["regime"], r["k"]) for r in records} == {
      (g, k) for g in ("gp", "ntk", "standard") for k in range(3, 5)}
  for r in records:
    assert r["git"] and r["packages"]["jax"]
    assert r["inputs"] == 2 ** r["k"] - 1
    for rule, v in r["rules"].items():
      assert v["readout"]["kernel"] == r["kernel"]
      assert v["bound_N90"] >= 1
      if v["n_all"] is not None:
        assert v["wrong_by_N"][v["n_all"] - 1] == 0
        assert all(w > 0 for w in v["wrong_by_N"][:v["n_all"] - 1])
  table = (folder / "all_inputs.md").read_text()
  assert "grouped bound" in table and "midpoint(nngp)" in table
  # The tables regenerate from the records alone.
  rows = run_lib.report.summarize(records)
  assert run_lib.report.markdown(rows, run_lib.report.fits(records)) == table


@pytest.mark.parametrize("mode,count", [("save", 3), ("append", 4)])
def test_a_killed_run_resumes_to_identical_records(tmp_path, uninterrupted,
                                                   mode, count):
  _, whole = uninterrupted
  cut = tmp_path / "cut"
  killed = subprocess.run(CRASH + [mode, str(count), "-m",
                                   "permjax.experiments.all_inputs"]
                          + ARGS + ["--workdir", str(cut)],
                          capture_output=True, text=True, timeout=600,
                          cwd=REPO)
  assert killed.returncode == 9, killed.stderr[-2000:]
  again = subprocess.run([sys.executable, "-m",
                          "permjax.experiments.all_inputs"] + ARGS
                         + ["--workdir", str(cut)], capture_output=True,
                         text=True, timeout=600, cwd=REPO)
  assert again.returncode == 0, again.stderr[-2000:]
  assert _strip(records_lib.read_records(str(cut / "results.jsonl"))) == (
      _strip(whole))


@pytest.mark.parametrize("changes,message", [
    ({"k_values": (1,)}, "k_values must lie in 2..30"),
    ({"rules": ("self_calibrated",)}, "no analytic thresholds"),
    ({"regimes": ("nets",)}, "unknown regime"),
    ({"members": 0}, "members must be >= 1"),
])
def test_bad_config_gets_one_clear_error(changes, message):
  with pytest.raises(ValueError, match=message):
    configs.Config(**{**configs.smoke().__dict__, **changes})


def test_committed_tables_regenerate_byte_identical():
  """Every committed run of this experiment: summary, fits and table are
  what the report makes of its records today."""
  folders = sorted(os.path.dirname(p) for p in __import__("glob").glob(
      os.path.join(REPO, "experiments", "all_inputs", "*", "results.jsonl.gz")))
  assert folders, "no committed all-inputs runs"
  for folder in folders:
    records = records_lib.read_records(os.path.join(folder,
                                                    "results.jsonl.gz"))
    rows = run_lib.report.summarize(records)
    fits = run_lib.report.fits(records)
    with open(os.path.join(folder, "all_inputs.md")) as f:
      assert run_lib.report.markdown(rows, fits) == f.read(), folder
