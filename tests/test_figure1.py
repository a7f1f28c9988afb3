"""The Figure-1 experiment: protocol, regimes, outputs, resume, bad input."""

import csv
import glob
import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import permjax
from permjax.experiments import ntk_permutation as exp

# End-to-end experiment runs in the default dtype: the numerics they use are
# tested under float64 in the unit modules (GP, training, ensembles, program
# ensembles, all-inputs evaluation), so CI's float64 pass leaves them out.
pytestmark = pytest.mark.dtype_independent

CLI = [sys.executable, "-m", "permjax.experiments.ntk_permutation"]
# docs/theory/permutation.md §8: the paper's published members-for-90% (one seed each).
PAPER_N90 = {5: 43, 10: 69, 15: 103, 20: 117, 25: 157, 30: 175}


def test_paper_points_match_published_numbers():
  points = exp.paper_points()
  assert {k: points["n90"][k] for k in PAPER_N90} == PAPER_N90
  ns, acc = points["curves"][10]
  assert acc[-1] >= 0.999 and ns[-1] == 129  # docs/theory/permutation.md §8: 129 members at k=10


def test_accumulation_is_sequential_and_resumable():
  rng = np.random.default_rng(0)
  y = (rng.random((7, 4)) < 0.5).astype(float)
  test = permjax.TestSet(rng.normal(size=(7, 4)), y, np.arange(1.0, 8.0))
  outs = rng.normal(size=(10, 7, 4)) + (2 * y - 1) * 0.3
  scorer = permjax.InputScorer(test, {"f": permjax.readout.fixed(1e-4)})
  source = lambda ids: outs[ids]  # pylint: disable=unnecessary-lambda-assignment
  saved = []
  one = permjax.grow(source, scorer, max_members=10, chunk=10)
  permjax.grow(source, scorer, max_members=3, chunk=3, on_chunk=saved.append)
  rest = permjax.grow(source, scorer, max_members=10, chunk=4,
                      state=saved[-1])
  assert saved[-1].members == 3 and one.members >= 3
  np.testing.assert_array_equal(rest.accuracy["f"], one.accuracy["f"])
  # Against a direct computation.
  for n in range(1, one.members + 1):
    avg = outs[:n].mean(0)
    exact = np.all((avg > 1e-4) == (y > 0.5), axis=1)
    np.testing.assert_allclose(one.accuracy["f"][n - 1],
                               exact @ test.weight / test.weight.sum())
  assert permjax.first_reaching([0.1, 0.95, 0.5, 1.0], 0.9) == 2
  assert permjax.first_reaching([0.1], 0.9) is None


def test_gp_member_source_draws_the_posterior():
  perm = [2, 0, 3, 1]
  train = permjax.training_set(perm)
  x = permjax.inputs_with_n_ones(perm, 2).x
  src = permjax.gp_member_source(permjax.MLPSpec(width=1), "ntk", train, x,
                                  jax.random.key(0))
  draws = src(np.arange(4000)).outputs
  gp = permjax.gp_predict(permjax.MLPSpec(width=1), train.x, train.y, x,
                          backend="closed_form")
  se = np.sqrt(np.diag(gp.cov) / 4000)[:, None]
  assert np.all(np.abs(draws.mean(0) - gp.mean) < 4.5 * se)
  emp = np.mean([np.cov(draws[:, :, j].T) for j in range(4)], axis=0)
  # Sample covariance of 4000 draws pooled over 4 outputs: rel. error
  # ~ sqrt(2/16000) ≈ 1%; allow 6%.
  np.testing.assert_allclose(emp, gp.cov, atol=0.06 * gp.cov.max())
  # Member 7 is member 7 in any batch (to rounding of the batched matmul).
  np.testing.assert_allclose(src(np.array([5, 7])).outputs[1], draws[7],
                             rtol=1e-12,
                             atol=1e-15)


def _records(workdir):
  return exp.load_results(str(workdir))


def test_smoke_preset_end_to_end(tmp_path):
  config = exp.get_config("smoke")
  paths = exp.run(config, str(tmp_path), progress=False)
  records = _records(tmp_path)
  assert len(records) == 3 * 3 * 2  # regimes × k (3, 4, 5) × seeds
  for r in records:
    assert r["jax_version"] == jax.__version__
    assert r["reached"] and r["members"] == len(r["curve"])
    assert r["curve"][-1] >= r["stop_accuracy"]
    assert all(a < r["stop_accuracy"] for a in r["curve"][:-1])
  kinds = {r["regime"]: r["trainer"] for r in records}
  assert kinds == {"gp": "gp-posterior (ntk kernel)",
                   "ntk": "linearized/cg", "standard": "linearized/cg"}
  assert {r["regime"]: r["dtype"] for r in records}["gp"] == "float64"
  assert {r["gp_sampler"] for r in records if r["regime"] == "gp"} == {"dense"}
  with open(paths["summary"]) as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 9 and "N90_mean" in rows[0]
  for name in ("figure_left", "figure_right"):
    assert os.path.getsize(paths[name]) > 20_000
  with open(paths["config"]) as f:
    cfg = json.load(f)
  assert cfg["config"]["name"] == "smoke" and "device" in cfg
  # Same (k, seed): the same permutation and test set in every regime.
  by = {(r["regime"], r["k"], r["seed"]): r for r in records}
  assert by[("gp", 5, 0)]["n_distinct_inputs"] == by[
      ("ntk", 5, 0)]["n_distinct_inputs"]


RESUME_ARGS = ["--config", "smoke", "--regimes", "gp,ntk", "--k_values", "4",
               "--k_curves", "6", "--seeds", "1", "--chunk", "8",
               "--delta_curves", "0.001", "--num_test", "300"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  """The records of an uninterrupted run of RESUME_ARGS (shared by the
  kill-and-resume tests of one worker)."""
  full = tmp_path_factory.mktemp("full")
  done = subprocess.run(CLI + RESUME_ARGS + ["--workdir", str(full)],
                        capture_output=True, text=True, timeout=900)
  assert done.returncode == 0, done.stderr[-2000:]
  return _records(full)


def test_killed_run_resumes_to_identical_results(tmp_path, uninterrupted):
  cut = tmp_path / "cut"
  proc = subprocess.Popen(CLI + RESUME_ARGS + ["--workdir", str(cut)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  deadline = time.time() + 600
  killed = False
  while time.time() < deadline and proc.poll() is None:
    ckpts = list((cut / "checkpoints").glob("ntk-k6-s0/states/*")) if (
        cut / "checkpoints").exists() else []
    if any(p.name.isdigit() and int(p.name) >= 16 for p in ckpts):
      proc.send_signal(signal.SIGKILL)
      killed = True
      break
    time.sleep(0.05)
  proc.wait()
  assert killed, "the run ended before a partial ensemble was checkpointed"
  partial = _records(cut)
  assert len(partial) < 4
  again = subprocess.run(CLI + RESUME_ARGS + ["--workdir", str(cut)],
                         capture_output=True, text=True, timeout=900)
  assert again.returncode == 0, again.stderr[-2000:]

  def strip(records):
    return sorted((json.dumps({k: v for k, v in r.items() if k != "seconds"},
                              sort_keys=True) for r in records))
  assert strip(_records(cut)) == strip(uninterrupted)
  assert not list((cut / "checkpoints").glob("*"))


def test_other_config_refused_and_overwrite_keeps_old_files(tmp_path):
  exp.run(exp.get_config("smoke", regimes=("gp",), k_curves=(4,), k_values=(),
                         seeds=1), str(tmp_path), progress=False)
  before = (tmp_path / "results.jsonl").read_text()
  out = subprocess.run(CLI + ["--config", "smoke", "--regimes", "gp",
                              "--workdir", str(tmp_path)],
                       capture_output=True, text=True)
  assert out.returncode == 2
  assert "different config" in out.stderr and "--overwrite" in out.stderr
  assert (tmp_path / "results.jsonl").read_text() == before
  exp.run(exp.get_config("smoke", regimes=("gp",), k_curves=(5,), k_values=(),
                         seeds=1), str(tmp_path), overwrite=True,
          progress=False)
  kept = list(tmp_path.glob("previous-*/results.jsonl"))
  assert len(kept) == 1 and kept[0].read_text() == before


@pytest.mark.parametrize("args, message", [
    (["--config", "fast"], "unknown preset 'fast'"),
    (["--regimes", "gp,nngp2"], "unknown regime(s) ['nngp2']"),
    (["--k_values", "1,3"], "k must be >= 2, got k=[1]"),
    (["--delta", "1.5"], "delta must lie in (0, 1), got 1.5"),
    (["--delta_curves", "0"], "delta_curves must lie in (0, 1), got 0.0"),
    (["--nnz", "4", "--k_values", "3", "--k_curves", "5"],
     "nnz=4 must be in 1..k; too large for k=[3]"),
    (["--gp_sampler", "eig"], "gp_sampler must be one of"),
    (["--test_set", "all", "--k_values", "21", "--k_curves", "5"],
     "k=[21] is above the limit k <= 20"),
    (["--trainer", "linearized", "--lr", "0.5"],
     "--lr has no effect here: the linearized trainer takes no gradient"),
    (["--test_set", "all", "--num_test", "7", "--k_values", "3",
      "--k_curves", "4"], "--num_test has no effect here"),
    (["--regimes", "gp", "--width", "64"], "--width has no effect here"),
    (["--seed_offset", "-5"], "seed_offset must be >= 0, got -5"),
    (["--workdir", ""], "--workdir is empty"),
])
def test_bad_input_one_line_errors(tmp_path, args, message):
  out = subprocess.run(CLI + ["--workdir", str(tmp_path)] + args,
                       capture_output=True, text=True)
  assert out.returncode == 2
  assert message in out.stderr
  assert len(out.stderr.strip().splitlines()) == 1
  assert not (tmp_path / "results.jsonl").exists()


def test_divergence_names_the_run_and_keeps_records(tmp_path):
  args = ["--config", "smoke", "--regimes", "gp,ntk", "--k_values", "3",
          "--k_curves", "4", "--seeds", "1", "--trainer", "gd", "--lr", "1e5",
          "--workdir", str(tmp_path)]
  out = subprocess.run(CLI + args, capture_output=True, text=True)
  assert out.returncode == 2
  assert "(regime=ntk, k=3, seed=0)" in out.stderr
  assert "largest stable lr" in out.stderr
  records = _records(tmp_path)
  assert [r["regime"] for r in records] == ["gp", "gp"]


def test_all_inputs_and_scaling(tmp_path):
  config = exp.get_config("smoke", regimes=("gp",), test_set="all",
                          k_values=(3, 4, 5, 6), k_curves=(), seeds=2,
                          gp_sampler="symmetric")
  exp.run(config, str(tmp_path), progress=False)
  records = _records(tmp_path)
  for r in records:
    assert r["gp_sampler"] == "symmetric"
    assert r["n_test_inputs"] == 2 ** r["k"] - 1
    assert r["stop_accuracy"] == 1.0 and r["curve"][-1] == 1.0
  rows = exp.scaling(str(tmp_path), k_min=3)
  assert rows[0]["regime"] == "gp" and rows[0]["test_set"] == "all"
  for key in ("exponent", "exponent_r2", "r2_klogk", "r2_k2",
              "analytic_exponent"):
    assert key in rows[0]
  out = subprocess.run(CLI + ["scaling", "--workdir", str(tmp_path),
                              "--k_min", "3"],
                       capture_output=True, text=True)
  assert out.returncode == 0 and "scaling.csv" in out.stdout


# --- the restructure changed no number ---------------------------------------

GOLDEN = os.path.join(os.path.dirname(__file__), "data",
                      "figure1_smoke_records.json")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_smoke_records_match_the_golden_set(tmp_path):
  """The smoke preset's records, field by field, as the code before the
  experiments restructure (commit 601199f + lean install) wrote them."""
  with open(GOLDEN) as f:
    golden = json.load(f)
  # Those records rounded at 1e-4, the rule that was then the default.
  exp.run(exp.get_config("smoke", readout="fixed:0.0001"), str(tmp_path),
          progress=False)
  fields = sorted(golden[0])
  got = [{k: r[k] for k in fields} for r in _records(tmp_path)]
  assert got == golden


def test_committed_tables_regenerate_byte_identical(tmp_path):
  from permjax.experiments import records
  folders = sorted(glob.glob(os.path.join(REPO, "experiments", "figure1*",
                                          "summary.csv")))
  assert len(folders) >= 2, folders  # zero, and the per-n readouts
  for summary in folders:
    folder = os.path.dirname(summary)
    with open(os.path.join(folder, "config.json")) as f:
      config = exp.config_from_record(json.load(f)["config"])
    assert config.gp_kernel == "ntk" and config.train.solver == "cg"
    results = exp.load_results(folder)
    assert {r["readout"]["rule"] for r in results} == {
        config.readout.split(":")[0]}
    records.write_csv(str(tmp_path / "summary.csv"),
                      exp.summarize(results, config))
    records.write_csv(str(tmp_path / "analytic.csv"),
                      exp.analytic_table(config))
    for name in ("summary.csv", "analytic.csv"):
      with open(os.path.join(folder, name), "rb") as f:
        assert (tmp_path / name).read_bytes() == f.read(), (folder, name)
  table = os.path.join(REPO, "experiments", "all_inputs", "table.py")
  # Folders written by table.py (one subfolder per regime); the streaming
  # evaluator's folders (results.jsonl.gz) are checked in
  # test_all_inputs_experiment.py.
  folders = sorted(p for p in glob.glob(os.path.join(
      REPO, "experiments", "all_inputs", "*", "all_inputs.md"))
      if not os.path.exists(os.path.join(os.path.dirname(p),
                                         "results.jsonl.gz")))
  assert folders, "no committed all-inputs tables"
  for md in folders:
    out = subprocess.run([sys.executable, table, os.path.dirname(md),
                          "--target_dir", str(tmp_path)],
                         capture_output=True, text=True, check=True)
    assert "wrote" in out.stdout
    with open(md, "rb") as f:
      assert (tmp_path / "all_inputs.md").read_bytes() == f.read(), md


def test_old_flat_config_records_and_flags_still_load():
  old = {"trainer": "gd", "lr": "1e-3", "solver": "cg", "cg_tol": 1e-5,
         "max_steps": 100, "tol": 1e-9, "gp_regime": "nngp",
         "k_values": [3, 4], "name": "smoke"}
  config = exp.config_from_record(old)
  assert config.train.trainer == "gd" and config.train.lr == 1e-3
  assert config.gp_kernel == "nngp" and config.k_values == (3, 4)
  from permjax.experiments import config as config_lib
  again = exp.config_from_record(config_lib.to_record(config))
  assert again == config
  assert exp.get_config("smoke", gp_regime="nngp", lr=0.5).train.lr == 0.5


def test_any_delta_gives_full_tables_panels_and_fits(tmp_path):
  """δ = 0.2: records, summary, left panel and scaling all use 0.8."""
  from permjax.experiments.figure1 import plots
  config = exp.get_config("smoke", regimes=("gp",), k_values=(3, 4, 5, 6),
                          k_curves=(), seeds=2, delta=0.2)
  paths = exp.run(config, str(tmp_path), progress=False)
  records = _records(tmp_path)
  assert all(r["n_at"]["0.8"] == r["members"] for r in records)
  with open(paths["summary"]) as f:
    rows = list(csv.DictReader(f))
  assert rows and all(r["N80_mean"] and r["N80_seeds_reached"] == "2"
                      for r in rows)
  assert all(r["analytic_ntk_N80"] == str(permjax.ensemble_size(
      int(r["k"]), target=0.8)) for r in rows)
  points = plots.left_panel_points(records, config)
  assert points["gp"][0] == [3, 4, 5, 6]
  fits = exp.scaling(str(tmp_path), k_min=3)
  assert fits and fits[0]["target"] == 0.8 and fits[0]["points"] == 4


def test_unconverged_members_are_refused_then_recorded_when_accepted(
    tmp_path):
  args = CLI + ["--config", "smoke", "--regimes", "ntk", "--k_values", "3",
                "--k_curves", "", "--seeds", "1", "--trainer", "gd",
                "--max_steps", "3", "--workdir", str(tmp_path)]
  out = subprocess.run(args, capture_output=True, text=True)
  assert out.returncode == 2
  assert "(regime=ntk, k=3, seed=0)" in out.stderr
  assert "did not converge" in out.stderr and "max_steps" in out.stderr
  assert "--accept_unconverged" in out.stderr
  assert not _records(tmp_path)
  out = subprocess.run(args + ["--accept_unconverged"], capture_output=True,
                       text=True)
  assert out.returncode == 0, out.stderr[-2000:]
  assert "warning: (regime=ntk, k=3, seed=0)" in out.stderr
  (record,) = _records(tmp_path)
  assert record["unconverged"] == record["members"] > 0
  assert record["member_status"] == {"max_steps": record["members"]}
  assert len(record["member_final_loss"]) == record["members"]
  assert min(record["member_final_loss"]) > 1e-9


def test_records_carry_member_status_and_provenance(tmp_path):
  from permjax.experiments import provenance
  exp.run(exp.get_config("smoke", regimes=("gp", "standard"), k_values=(3,),
                         k_curves=(), seeds=1), str(tmp_path), progress=False)
  gp, standard = _records(tmp_path)
  assert gp["member_status"] == {"exact": gp["members"]}
  assert gp["member_final_loss"] is None and gp["unconverged"] == 0
  assert standard["member_status"] == {"converged": standard["members"]}
  assert max(standard["member_final_loss"]) < 1e-6
  for r in (gp, standard):
    assert r["git"] == provenance.git_describe() != ""
    assert r["packages"]["jax"] == jax.__version__
  with open(tmp_path / "config.json") as f:
    env = json.load(f)
  assert env["git"] == provenance.git_describe()
  assert set(env["packages"]) == set(provenance.PACKAGES)


CRASH = os.path.join(os.path.dirname(__file__), "scripts", "crash_at.py")


@pytest.mark.parametrize("mode, count", [("append", 2), ("save", 3)])
def test_kill_mid_append_or_mid_save_resumes_to_identical_records(
    tmp_path, mode, count, uninterrupted):
  """Deterministic kills: half a JSONL line on disk, or an orbax save cut
  before its atomic rename; the rerun repairs and resumes, and the records
  are the uninterrupted run's, line for line."""
  module = ["-m", "permjax.experiments.figure1"]
  cut = tmp_path / "cut"
  killed = subprocess.run([sys.executable, CRASH, mode, str(count)] + module
                          + RESUME_ARGS + ["--workdir", str(cut)],
                          capture_output=True, text=True, timeout=900)
  assert killed.returncode == 9, killed.stderr[-2000:]
  if mode == "append":
    assert not (cut / "results.jsonl").read_bytes().endswith(b"\n")
  again = subprocess.run([sys.executable, "-m", "permjax.experiments.figure1"]
                         + RESUME_ARGS + ["--workdir", str(cut)],
                         capture_output=True, text=True, timeout=900)
  assert again.returncode == 0, again.stderr[-2000:]

  def strip(records):
    return [json.dumps({k: v for k, v in r.items() if k != "seconds"},
                       sort_keys=True) for r in records]
  order = lambda rs: sorted(rs, key=lambda r: (r["regime"], r["k"], r["seed"]))
  assert strip(order(_records(cut))) == strip(order(uninterrupted))
  text = (cut / "results.jsonl").read_text()
  assert text.endswith("\n") and len(text.splitlines()) == 4
  assert not list((cut / "checkpoints").glob("*"))


@pytest.mark.parametrize("preset", sorted(exp.PRESETS))
def test_each_presets_gd_step_is_below_the_largest_stable_step(preset):
  """Every finite regime a preset runs with GD uses a step below the
  largest stable one (2/λ_max of its loss Hessian) at the smallest and the
  largest k, so no member is left diverging or crawling by the recipe."""
  from permjax._src import training
  config = exp.get_config(preset)
  ks = sorted(set(config.k_values) | set(config.k_curves))
  for regime in config.regimes:
    if regime == "gp":
      continue
    train = config.train_config(regime)
    if train.trainer != "gd":
      continue  # the linearized trainer takes no step
    spec = config.spec(regime)
    for k in (ks[0], ks[-1]):
      params = spec.init_params(jax.random.key(0), k, k)
      lr_max = float(training.max_stable_lr(spec, params, None, np.eye(k),
                                            train.loss, k))
      lr = train.step_size(lr_max)
      assert 0 < lr < lr_max, (preset, regime, k, lr, lr_max)
      if regime == "standard" and k >= 4:
        assert lr == 1e-3  # the paper's step wherever it is stable
