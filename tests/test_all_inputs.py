"""The all-inputs evaluator: its outputs against the dense forward pass on
chunks of every layer, its counts against the growth protocol on the dense
test set, layers and masks, resume after a kill, bad input."""

import itertools

import jax
import numpy as np
import pytest

import permjax
from permjax._src import all_inputs as ai

PERM = [3, 1, 4, 0, 2, 5, 7, 6, 9, 8]
SPECS = {"ntk": permjax.MLPSpec(width=48),
         "standard": permjax.MLPSpec(width=48, b_std=0.0,
                                     parameterization="standard"),
         "ntk_bias": permjax.MLPSpec(width=48, b_std=0.5)}


def _members(spec, perm=PERM, count=5, seed=0):
  res = permjax.train_ensemble(
      spec, permjax.training_set(perm), jax.random.key(seed), count,
      x_test=np.eye(len(perm))[:1], config=permjax.TrainConfig(trainer="gd"),
      return_params=True)
  return ai.stacked_members(spec, res.params)


def test_layers_enumerate_every_input_once():
  for k in (2, 5, 10):
    k_lo, _ = ai.split_bits(k)
    seen = []
    for n in range(1, k + 1):
      u, v = ai.layer_pairs(k, n)
      masks = u.astype(np.int64) | (v.astype(np.int64) << k_lo)
      assert all(int(m).bit_count() == n for m in masks)
      seen.extend(masks.tolist())
    assert sorted(seen) == list(range(1, 1 << k))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_outputs_equal_the_dense_forward_pass_on_every_layer(name):
  """On random chunks of every layer, the partial-sum arithmetic equals the
  dense forward pass to float32 rounding (the sums are taken in another
  order: rows summed then scaled, not scaled then summed)."""
  spec = SPECS[name]
  members = _members(spec)
  k = len(PERM)
  k_lo, _ = ai.split_bits(k)
  rng = np.random.default_rng(0)
  for n in range(1, k + 1):
    u, v = ai.layer_pairs(k, n)
    pick = rng.choice(len(u), size=min(len(u), 40), replace=False)
    mine = ai.outputs_at(spec, members, u[pick], v[pick])
    masks = u[pick].astype(np.int64) | (v[pick].astype(np.int64) << k_lo)
    x = ((masks[:, None] >> np.arange(k)) & 1) / np.sqrt(n)
    dense = ai.member_outputs(spec, members, x)
    scale = np.abs(dense).max() + 1
    np.testing.assert_allclose(mine, dense, rtol=0, atol=2e-6 * scale)


@pytest.mark.parametrize("name", ["ntk", "standard"])
def test_counts_equal_the_growth_protocol_on_the_dense_test_set(name):
  """Per readout and ensemble size N, the number of inputs read wrong equals
  what permjax.grow finds with the same members evaluated densely."""
  spec = SPECS[name]
  count = 6
  members = _members(spec, count=count)
  readouts = {"mid": permjax.readout.midpoint(spec.kernel),
              "opt": permjax.readout.optimal(spec.kernel),
              "fix": permjax.readout.fixed(1e-4)}
  counts = permjax.evaluate_all_inputs(spec, members, PERM, readouts,
                                       chunk=96, block=4,
                                       stop_when_exact=False)
  test = permjax.unique_inputs(permjax.all_inputs(PERM))
  outputs = ai.member_outputs(spec, members, test.x).astype(np.float64)
  assert counts.inputs.tolist() == [0] + [
      int(np.sum(np.count_nonzero(test.x, axis=1) == n))
      for n in range(1, len(PERM) + 1)]
  for rule, readout in readouts.items():
    saved = []
    permjax.grow(lambda ids: outputs[ids], permjax.InputScorer(
        test, {rule: readout}), max_members=count, chunk=count,
                 on_chunk=saved.append)
    want = np.round((1 - saved[-1].accuracy[0]) * len(test.x)).astype(int)
    got = counts.wrong_by_layer[counts.rules.index(rule)].sum(axis=0)
    np.testing.assert_array_equal(got, want)
  assert counts.wrong_by_layer.sum() > 0  # a real comparison


def test_n_all_and_last_failures():
  counts = permjax.AllInputsCounts(
      ("r",), np.array([[[0, 0, 0], [5, 2, 0], [1, 0, 0]]]),
      np.array([[[3, 3], [1, 1], [0, 0]]]), np.array([0, 2, 1]))
  assert counts.n_all("r") == 3
  assert counts.last_failures("r") == {
      "members": 2, "wrong_inputs": 2, "by_ones": {"1": 2},
      "by_bit": {"0": 1, "1": 1}}


def test_a_killed_evaluation_resumes_to_identical_counts(tmp_path,
                                                         monkeypatch):
  spec = SPECS["ntk"]
  members = _members(spec)
  readouts = {"mid": permjax.readout.midpoint("ntk")}
  whole = permjax.evaluate_all_inputs(spec, members, PERM, readouts,
                                      chunk=64, block=2,
                                      stop_when_exact=False)
  calls = itertools.count()
  real = ai._compiled  # pylint: disable=protected-access

  def failing(*args):
    fn = real(*args)

    def run(*a):
      if next(calls) == 3:  # inside the second block of members
        raise KeyboardInterrupt("killed")
      return fn(*a)
    return run
  monkeypatch.setattr(ai, "_compiled", failing)
  with pytest.raises(KeyboardInterrupt):
    permjax.evaluate_all_inputs(spec, members, PERM, readouts, chunk=64,
                                block=2, stop_when_exact=False,
                                checkpoint_dir=str(tmp_path))
  monkeypatch.setattr(ai, "_compiled", real)
  resumed = permjax.evaluate_all_inputs(spec, members, PERM, readouts,
                                        chunk=64, block=2,
                                        stop_when_exact=False,
                                        checkpoint_dir=str(tmp_path))
  np.testing.assert_array_equal(resumed.wrong_by_layer, whole.wrong_by_layer)
  np.testing.assert_array_equal(resumed.wrong_by_bit, whole.wrong_by_bit)
  np.testing.assert_array_equal(resumed.inputs, whole.inputs)
  with pytest.raises(permjax.CheckpointError):  # other members
    permjax.evaluate_all_inputs(spec, _members(spec, seed=1), PERM, readouts,
                                chunk=64, block=2, stop_when_exact=False,
                                checkpoint_dir=str(tmp_path))


def test_bad_input_gets_one_clear_error():
  spec = SPECS["ntk"]
  members = _members(spec, count=2)
  rd = {"mid": permjax.readout.midpoint("ntk")}
  cases = [
      (lambda: permjax.evaluate_all_inputs(spec, members, [1, 2, 3, 0], rd),
       "do not fit k=4"),
      (lambda: permjax.evaluate_all_inputs(spec, members, PERM, {}),
       "at least one readout"),
      (lambda: permjax.evaluate_all_inputs(
          spec, members, PERM, {"s": permjax.readout.self_calibrated()}),
       "analytic thresholds"),
      (lambda: permjax.evaluate_all_inputs(spec, members, PERM, rd,
                                           layers=[0]), "layers"),
      (lambda: permjax.evaluate_all_inputs(spec, "w", PERM, rd),
       "TwoLayerMembers"),
      (lambda: permjax.stacked_members(permjax.MLPSpec(width=8, depth=2),
                                       {}), "one hidden layer"),
  ]
  for call, fragment in cases:
    with pytest.raises((ValueError, TypeError)) as info:
      call()
    assert fragment in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_two_processes_with_jax_distributed_give_the_one_process_counts(
    tmp_path):
  import os  # pylint: disable=import-outside-toplevel
  import socket  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  worker = os.path.join(os.path.dirname(__file__), "scripts",
                        "all_inputs_worker.py")
  sys.path.insert(0, os.path.dirname(worker))
  import all_inputs_worker  # pylint: disable=import-outside-toplevel
  with socket.socket() as s:
    s.bind(("localhost", 0))
    port = str(s.getsockname()[1])
  out = str(tmp_path / "proc")
  procs = [subprocess.Popen([sys.executable, worker, str(i), "2", port, out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True) for i in range(2)]
  for p in procs:
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-2000:]
  spec, stacked = all_inputs_worker.members()
  one = permjax.evaluate_all_inputs(
      spec, stacked, all_inputs_worker.PERM,
      {"mid": permjax.readout.midpoint()}, chunk=8, block=2,
      stop_when_exact=False)
  for i in range(2):
    got = np.load(f"{out}.{i}.npz")
    np.testing.assert_array_equal(got["layer"], one.wrong_by_layer)
    np.testing.assert_array_equal(got["bit"], one.wrong_by_bit)
    np.testing.assert_array_equal(got["inputs"], one.inputs)
