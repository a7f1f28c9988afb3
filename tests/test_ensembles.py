"""The ensemble engine: member identity, devices, hosts, checkpoints, and
agreement of finite ensembles with the analytic GP."""

import os
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
from scipy import stats

import permjax
from permjax._src import ensemble_training as ensembles
from permjax._src import training

WORKER = os.path.join(os.path.dirname(__file__), "scripts", "ensemble_worker.py")
sys.path.insert(0, os.path.dirname(WORKER))
import ensemble_worker  # pylint: disable=wrong-import-position


def _reference(**kwargs):
  spec, train, test, config = ensemble_worker.setting()
  return permjax.train_ensemble(spec, train, jax.random.key(11),
                                ensemble_worker.MEMBERS, x_test=test,
                                config=config, **kwargs)


def test_member_outputs_do_not_depend_on_chunking_or_order():
  """Bitwise, for a fixed vmap width (batch_per_device, which the engine
  sizes from width, k, dtype and the memory budget, never from the chunking,
  the device count or the resume point)."""
  full = _reference(batch_per_device=2)
  other = _reference(batch_per_device=2, chunk_size=6)
  np.testing.assert_array_equal(full.outputs, other.outputs)
  spec, train, test, config = ensemble_worker.setting()
  subset = permjax.train_ensemble(spec, train, jax.random.key(11),
                                  member_ids=[9, 2, 5], x_test=test,
                                  config=config, batch_per_device=2)
  assert subset.member_ids.tolist() == [2, 5, 9]
  np.testing.assert_array_equal(subset.outputs, full.outputs[[2, 5, 9]])
  assert full.member_ids.tolist() == list(range(12))


def test_one_member_per_device_equals_a_batch_and_skips_the_probe():
  """One member per device runs the member's own program (no vmap of one):
  the same bits as inside a batch of 3. A numeric lr does not probe the
  largest stable step (nan); "auto" does, and uses its fraction."""
  spec, train, test, config = ensemble_worker.setting()
  alone = _reference(batch_per_device=1)
  batched = _reference(batch_per_device=3)
  np.testing.assert_array_equal(alone.outputs, batched.outputs)
  np.testing.assert_array_equal(alone.final_loss, batched.final_loss)
  numeric = permjax.train_ensemble(
      spec, train, jax.random.key(11), 2, x_test=test,
      config=config.replace(lr=0.5, max_lr_fraction=None))
  assert numeric.lr == 0.5 and np.isnan(numeric.max_stable_lr)
  auto = permjax.train_ensemble(spec, train, jax.random.key(11), 2,
                                x_test=test, config=config.replace(lr="auto"))
  assert 0 < auto.lr < auto.max_stable_lr


def _run(args, timeout=600):
  return subprocess.run([sys.executable, WORKER] + args, capture_output=True,
                        text=True, timeout=timeout)


def test_four_simulated_devices_give_identical_members(tmp_path):
  out = tmp_path / "four.npz"
  proc = _run(["devices", "4", str(out)])
  assert proc.returncode == 0, proc.stderr[-2000:]
  four = np.load(out)
  ref = _reference(batch_per_device=2)
  np.testing.assert_array_equal(four["ids"], ref.member_ids)
  np.testing.assert_array_equal(four["outputs"], ref.outputs)


def _free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def test_two_hosts_with_jax_distributed_merge_into_one_ensemble(tmp_path):
  port = str(_free_port())
  out = str(tmp_path / "host")
  procs = [subprocess.Popen([sys.executable, WORKER, "host", str(i), "2", port,
                             out], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
           for i in range(2)]
  for p in procs:
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-2000:]
  ref = _reference(batch_per_device=2)
  for i in range(2):
    got = np.load(f"{out}.{i}.npz")
    np.testing.assert_array_equal(got["ids"], ref.member_ids)
    np.testing.assert_array_equal(got["outputs"], ref.outputs)
  assert permjax.host_member_ids(12, 0, 2).tolist() == [0, 2, 4, 6, 8, 10]


def test_killed_run_resumes_without_loss_or_duplicates(tmp_path):
  ckpt = tmp_path / "ckpt"
  out = tmp_path / "resumed.npz"
  proc = subprocess.Popen([sys.executable, WORKER, "resume", str(ckpt),
                           str(tmp_path / "first.npz")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  deadline = time.time() + 300
  chunks = ckpt / "chunks"
  while time.time() < deadline:
    done = [p for p in chunks.glob("*") if p.name.isdigit()] if (
        chunks.exists()) else []
    if len(done) >= 2 or proc.poll() is not None:
      break
    time.sleep(0.2)
  assert proc.poll() is None, "the run finished before it could be killed"
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  saved = len([p for p in chunks.glob("*") if p.name.isdigit()])
  assert 2 <= saved < 6
  second = _run(["resume", str(ckpt), str(out)])
  assert second.returncode == 0, second.stderr[-2000:]
  resumed = np.load(out)
  spec, train, test, config = ensemble_worker.setting()
  ref = permjax.train_ensemble(
      spec, train, jax.random.key(11), ensemble_worker.MEMBERS, x_test=test,
      config=config.replace(max_steps=4000, tol=0.0), batch_per_device=1)
  np.testing.assert_array_equal(resumed["ids"], np.arange(12))
  np.testing.assert_array_equal(resumed["outputs"], ref.outputs)
  assert len([p for p in chunks.glob("*") if p.name.isdigit()]) == 6


def test_foreign_and_corrupt_checkpoints_are_refused_untouched(tmp_path):
  spec, train, test, config = ensemble_worker.setting()
  ckpt = tmp_path / "ckpt"
  permjax.train_ensemble(spec, train, jax.random.key(11), 4, x_test=test,
                         config=config, checkpoint_dir=str(ckpt), chunk_size=2)

  def snapshot():
    return sorted((str(p.relative_to(ckpt)), p.stat().st_size)
                  for p in ckpt.rglob("*") if p.is_file())
  before = snapshot()
  with pytest.raises(permjax.CheckpointError, match=r"another run.*key"):
    permjax.train_ensemble(spec, train, jax.random.key(12), 4, x_test=test,
                           config=config, checkpoint_dir=str(ckpt))
  with pytest.raises(permjax.CheckpointError, match="spec"):
    permjax.train_ensemble(spec.replace(width=128), train, jax.random.key(11),
                           4, x_test=test, config=config,
                           checkpoint_dir=str(ckpt))
  assert snapshot() == before
  # Resuming the same run works and adds nothing new for done members.
  again = permjax.train_ensemble(spec, train, jax.random.key(11), 4,
                                 x_test=test, config=config,
                                 checkpoint_dir=str(ckpt))
  assert again.member_ids.tolist() == [0, 1, 2, 3]
  assert snapshot() == before
  # Corrupt every stored array file: a clear error, nothing rewritten.
  for path in ckpt.rglob("*"):
    if path.is_file() and "chunks" in str(path) and path.stat().st_size > 0:
      path.write_bytes(b"garbage")
  corrupted = snapshot()
  with pytest.raises(permjax.CheckpointError, match="unreadable"):
    permjax.train_ensemble(spec, train, jax.random.key(11), 4, x_test=test,
                           config=config, checkpoint_dir=str(ckpt))
  assert snapshot() == corrupted
  stranger = tmp_path / "stranger"
  stranger.mkdir()
  (stranger / "notes.txt").write_text("mine")
  with pytest.raises(permjax.CheckpointError, match="not empty"):
    permjax.train_ensemble(spec, train, jax.random.key(11), 4, x_test=test,
                           config=config, checkpoint_dir=str(stranger))
  assert (stranger / "notes.txt").read_text() == "mine"


def test_auto_batch_size_follows_memory_budget():
  spec = permjax.MLPSpec(width=2000)
  per = ensembles.member_bytes(spec, 10, 10, 10, 1000, "float32", "gd")
  assert ensembles.auto_batch_per_device(
      spec, 10, 10, 10, 1000, "float32", "gd", memory_budget=10 * per) == 10
  assert ensembles.auto_batch_per_device(
      spec, 10, 10, 10, 1000, "float64", "gd", memory_budget=10 * per) == 5
  assert ensembles.auto_batch_per_device(
      spec.replace(width=4000), 10, 10, 10, 1000, "float32", "gd",
      memory_budget=10 * per) < 10
  with pytest.raises(ValueError, match="memory_budget"):
    ensembles.auto_batch_per_device(spec, 10, 10, 10, 1000, "float32", "gd",
                                    memory_budget=0)


def test_bad_arguments_are_named():
  spec, train, test, config = ensemble_worker.setting()
  key = jax.random.key(0)
  with pytest.raises(ValueError, match="n_members must be an integer >= 1"):
    permjax.train_ensemble(spec, train, key, 0, x_test=test)
  with pytest.raises(ValueError, match=r"x_test must be \(n_test >= 1, 5\)"):
    permjax.train_ensemble(spec, train, key, 2, x_test=np.ones((3, 4)))
  with pytest.raises(ValueError, match="member_ids must be distinct"):
    permjax.train_ensemble(spec, train, key, member_ids=[1, 1], x_test=test)


# --- agreement with the analytic GP -----------------------------------------

def _compare_with_gp(outputs, gp, n_members):
  """Mean within 4 standard errors per entry; per-input variance (pooled over
  the k independent output coordinates) inside a two-sided chi-square
  interval at level 1e-3 / n_inputs (Bonferroni)."""
  mean = outputs.mean(0)
  sigma2 = np.diag(gp.cov)
  se = np.sqrt(sigma2 / n_members)[:, None]
  z = np.abs(mean - gp.mean) / se
  assert z.max() < 4.0, z.max()
  k = outputs.shape[2]
  dof = (n_members - 1) * k
  pooled = ((outputs - mean) ** 2).sum(axis=(0, 2)) / dof
  alpha = 1e-3 / len(sigma2)
  lo = stats.chi2.ppf(alpha / 2, dof) / dof
  hi = stats.chi2.ppf(1 - alpha / 2, dof) / dof
  ratio = pooled / sigma2
  assert np.all((lo < ratio) & (ratio < hi)), (ratio.min(), ratio.max(), lo, hi)


def _agreement_setting():
  k = 6
  perm = permjax.random_permutation(jax.random.key(5), k)
  train = permjax.training_set(perm)
  test = np.concatenate([permjax.inputs_with_n_ones(perm, 2).x,
                         permjax.inputs_with_n_ones(perm, 3).x])
  return train, test


def _ensemble_matches_gp(spec, regime, seed, members, config):
  """Trains ``members`` networks on the agreement setting and compares their
  outputs with the GP of ``regime`` (see ``_compare_with_gp``)."""
  train, test = _agreement_setting()
  res = permjax.train_ensemble(spec, train, jax.random.key(seed), members,
                               x_test=test, config=config)
  gp = permjax.gp_predict(spec, train.x, train.y, test, kernel=regime,
                          backend="closed_form")
  _compare_with_gp(res.outputs.astype(np.float64), gp, members)


@pytest.mark.parametrize("members, width", [(64, 4096)])
@pytest.mark.parametrize("trainer", ["gd", "linearized"])
def test_ntk_ensemble_matches_ntk_gp(members, width, trainer):
  _ensemble_matches_gp(permjax.MLPSpec(width=width), "ntk", 100, members,
                       permjax.TrainConfig(trainer=trainer, tol=1e-11))


@pytest.mark.parametrize("members, width", [(64, 4096)])
@pytest.mark.parametrize("trainer", ["gd", "linearized"])
def test_standard_ensemble_matches_nngp_gp(members, width, trainer):
  """The paper's recipe at reduced width: standard parameterization, trained
  zero-initialised biases, mean-MSE, converged. Its tangent kernel is
  m·K + O(1), so it is NNGP regression up to O(k/m); at this width and
  sample size that bias is below the statistical tolerance."""
  spec = permjax.MLPSpec(width=width, b_std=0.0, parameterization="standard")
  _ensemble_matches_gp(spec, "nngp", 200, members,
                       permjax.TrainConfig(trainer=trainer, tol=1e-11))


@pytest.mark.slow
@pytest.mark.parametrize("param", ["ntk", "standard"])
def test_large_ensembles_match_gp(param):
  if param == "ntk":
    spec, regime = permjax.MLPSpec(width=8192), "ntk"
  else:
    spec = permjax.MLPSpec(width=8192, b_std=0.0, parameterization="standard")
    regime = "nngp"
  _ensemble_matches_gp(spec, regime, 300, 512, permjax.TrainConfig(tol=1e-11))


@pytest.mark.parametrize("param, kernel", [("ntk", "ntk"),
                                           ("standard", "nngp")])
def test_ensemble_variance_is_the_gp_variance_to_a_few_percent(param, kernel):
  """The variance sets N (N ∝ σ²), so it gets a test that catches a 10%
  error: 4096 members at width 1024, the variance pooled over every test
  input and output, against the GP's. Conservative standard error
  sqrt(2/((M-1)k)) ≈ 0.9% (inputs of one member counted as fully
  correlated); tolerance 4 standard errors plus 2% for the finite-width
  bias (measured: +0.8% NTK, +1.25% standard at this width), i.e. 5.6%."""
  spec = (permjax.MLPSpec(width=1024) if param == "ntk" else
          permjax.MLPSpec(width=1024, b_std=0.0, parameterization="standard"))
  train, test = _agreement_setting()
  members = 4096
  res = permjax.train_ensemble(spec, train, jax.random.key(300), members,
                               x_test=test,
                               config=permjax.TrainConfig(trainer="linearized"))
  gp = permjax.gp_predict(spec, train.x, train.y, test, kernel=kernel,
                          backend="closed_form")
  out = res.outputs.astype(np.float64)
  k = out.shape[2]
  ratio = out.var(0, ddof=1).mean(1).sum() / np.diag(gp.cov).sum()
  tolerance = 4 * np.sqrt(2 / ((members - 1) * k)) + 0.02
  assert tolerance < 0.1
  assert abs(ratio - 1) < tolerance, ratio
  z = np.abs(out.mean(0) - gp.mean) / np.sqrt(np.diag(gp.cov) / members)[:,
                                                                         None]
  assert z.max() < 4.5, z.max()


@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_cg_linearized_solver_matches_cholesky(parameterization):
  """The solver behind the committed results: CG (preconditioned by the
  infinite-width kernel) against the Cholesky solve, member by member."""
  b_std = None if parameterization == "ntk" else 0.0
  spec = permjax.MLPSpec(width=2048, b_std=b_std,
                         parameterization=parameterization)
  perm = permjax.random_permutation(jax.random.key(1), 20)
  train = permjax.training_set(perm)
  test = permjax.random_inputs(jax.random.key(2), perm, 2, 50).x
  out = {}
  for solver in ("cholesky", "cg"):
    res = permjax.train_ensemble(
        spec, train, jax.random.key(3), 6, x_test=test,
        config=permjax.TrainConfig(trainer="linearized", solver=solver,
                                   cg_tol=1e-5))
    assert res.status.tolist() == ["converged"] * 6
    out[solver] = res.outputs
  scale = np.abs(out["cholesky"]).max()
  assert np.abs(out["cg"] - out["cholesky"]).max() < 1e-4 * scale


def test_resume_refuses_another_vmap_width(tmp_path):
  spec, train, test, config = ensemble_worker.setting()
  ckpt = str(tmp_path / "ckpt")
  permjax.train_ensemble(spec, train, jax.random.key(11), 4, x_test=test,
                         config=config, checkpoint_dir=ckpt,
                         batch_per_device=1, chunk_size=2)
  with pytest.raises(permjax.CheckpointError, match="batch_per_device"):
    permjax.train_ensemble(spec, train, jax.random.key(11), 4, x_test=test,
                           config=config, checkpoint_dir=ckpt,
                           batch_per_device=2)


def test_linearized_status_reports_an_unconverged_cg():
  spec = permjax.MLPSpec(width=256)
  perm = permjax.random_permutation(jax.random.key(1), 8)
  train = permjax.training_set(perm)
  p = spec.init_params(jax.random.key(0), 8, 8)
  fit = permjax.fit_linearized(spec, p, None, train.y, 8, solver="cg",
                               cg_tol=1e-6, cg_maxiter=1)
  assert training.STATUS_NAMES[int(fit.status)] == "max_steps"
  fit = permjax.fit_linearized(spec, p, None, train.y, 8, solver="cg",
                               cg_tol=1e-6)
  assert training.STATUS_NAMES[int(fit.status)] == "converged"
