"""Ensembles executing template programs (GP draws and finite networks).

Reference numbers from an independent float64 numpy computation of the
closed forms (docs/theory/templates.md §3.4: union bounds with structural
zeros hard-wired, 439, 726, 987 for addition m = 2, 3, 4 under the NTK; the
margin threshold 0.163 for addition m = 4, docs/theory/readout.md §7).
"""

import dataclasses

import jax
import numpy as np
import pytest

import permjax
from permjax import readout as readout_lib


def _gp_source(program, test, key, kernel="ntk"):
  return permjax.gp_member_source(permjax.MLPSpec(width=1), kernel,
                                  permjax.training_examples(program), test.x, key,
                                  sampler="dense")


def test_test_set_follows_the_or_rule_trajectories():
  prog = permjax.addition_program(3)
  a, b = prog.all_pairs()
  test = permjax.program_test_set(prog, a, b)
  states = prog.initial_states(a, b)
  for step in range(prog.steps):
    x = prog.encode(states)
    rows = test.path[:, step]
    live = x.any(axis=1)
    np.testing.assert_array_equal(rows >= 0, live)
    np.testing.assert_array_equal(test.x[rows[live]], x[live])
    states = permjax.run_or_rule(prog, states, 1)[-1]
    np.testing.assert_array_equal(test.truth[rows[live]], states[live])
  assert len(np.unique(test.x, axis=0)) == len(test.x)


def test_margin_threshold_matches_the_closed_forms():
  assert permjax.margin(permjax.addition_program(4)).tau == pytest.approx(
      0.163, abs=5e-4)


def test_gp_draws_at_training_inputs_are_their_targets():
  prog = permjax.addition_program(3)
  test = permjax.program_test_set(prog)
  out = _gp_source(prog, test, jax.random.key(0))(np.arange(16)).outputs
  n = np.count_nonzero(test.x, axis=1)
  x, y = prog.training_set()
  for row in np.flatnonzero(n == 1):
    target = y[np.argmax(test.x[row])]
    assert np.array_equal(out[:, row], np.broadcast_to(target, (16, prog.D)))
  assert np.std(out[:, n >= 2], axis=0).min() > 0.01  # live states vary


def test_table_verdicts_equal_step_by_step_execution():
  """grow's pair accuracy (from the ideal-trajectory table) equals
  permjax.execute run step by step with the same members."""
  prog = permjax.addition_program(3)
  test = permjax.program_test_set(prog)
  key = jax.random.key(3)
  rule = readout_lib.from_name("zero_fixed", program=prog)
  curves = permjax.grow(_gp_source(prog, test, key),
                        permjax.ProgramScorer(prog, test, {"z": rule}),
                        max_members=24, chunk=8)
  for n in (1, 8, 24):
    mean = permjax.gp_ensemble_mean(prog, n, key)
    run = permjax.execute(prog, mean, rule, until_first_error=True)
    assert run.failed_pairs == round((1 - curves.accuracy["z"][n - 1])
                                     * run.pairs)
    assert run.failed_pairs > 0  # a real comparison: some pairs fail
  run = permjax.execute(prog, permjax.gp_ensemble_mean(prog, 8, key),
                        permjax.margin(prog), until_first_error=True)
  assert run.all_correct and run.matches_or_rule


@pytest.mark.parametrize("m,bound", [(2, 439), (3, 726), (4, 987)])
def test_gp_members_for_all_pairs_at_or_below_the_union_bound(m, bound):
  prog = permjax.addition_program(m)
  rule = readout_lib.from_name("zero_fixed", program=prog)
  assert permjax.execution_ensemble_size(prog, rule) == pytest.approx(
      bound, abs=1)
  test = permjax.program_test_set(prog)
  curves = permjax.grow(_gp_source(prog, test, jax.random.key(m)),
                        permjax.ProgramScorer(prog, test, {"z": rule}),
                        max_members=3 * bound, chunk=128)
  n_all = curves.n_at["z"][1.0]
  assert n_all is not None and bound / 3 <= n_all <= bound


def test_union_bound_holds_in_monte_carlo():
  """At the union bound's N, P(every pair exact) >= 0.9 over 64 independent
  ensembles; at N/16 it is far lower (the test can fail)."""
  prog = permjax.addition_program(2)
  rule = readout_lib.from_name("zero_fixed", program=prog)
  bound = permjax.execution_ensemble_size(prog, rule)
  test = permjax.program_test_set(prog)
  source = _gp_source(prog, test, jax.random.key(11))

  def p_all(n, reps=64):
    ok = 0
    for r in range(reps):
      avg = source(np.arange(r * n, (r + 1) * n)).outputs.mean(axis=0)
      bits = rule.bits(avg, test.x, n)
      ok += permjax.pair_exactness(test,
                                   (bits != test.truth).any(axis=1)).all()
    return ok / reps
  assert p_all(bound) >= 0.9 - 3 * np.sqrt(0.09 / 64)
  assert p_all(bound // 16) < 0.6


@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
@pytest.mark.parametrize("family,m,seed", [("addition", 4, 5),
                                           ("multiplication", 2, 5),
                                           ("sbn_loop", 3, 7),
                                           ("comparison", 4, 5)])
def test_finite_ensembles_execute_every_pair_under_the_margin_rule(
    parameterization, family, m, seed):
  """Finite nets of both parameterizations, averaged, execute every pair
  (for the SBN loop: run every input to halt) under the margin rule."""
  prog = permjax.program(family, m)
  kernel = "ntk" if parameterization == "ntk" else "nngp"
  spec = (permjax.MLPSpec(width=512) if parameterization == "ntk" else
          permjax.MLPSpec(width=512, b_std=0.0, parameterization="standard"))
  test = permjax.program_test_set(prog)
  source = permjax.network_member_source(
      spec, permjax.training_examples(prog), test.x, jax.random.key(seed),
      permjax.TrainConfig(max_steps=20_000, tol=1e-7))
  curves = permjax.grow(source, permjax.ProgramScorer(
      prog, test, {"margin": permjax.margin(prog, kernel)}),
                        max_members=32, chunk=16)
  assert curves.reached["margin"], curves.accuracy["margin"]
  assert set(curves.status.tolist()) == {"converged"}


@pytest.mark.parametrize("parameterization,kernel", [("ntk", "ntk"),
                                                     ("standard", "nngp")])
def test_finite_ensemble_average_tracks_the_gp_mean(parameterization, kernel):
  """The 128-member average of width-2048 nets is the GP mean within 5 SE
  (σ_n/√N) plus 0.02 of width bias, on every encoding; the other kernel's
  mean is further off somewhere."""
  prog = permjax.addition_program(3)
  spec = (permjax.MLPSpec(width=2048) if parameterization == "ntk" else
          permjax.MLPSpec(width=2048, b_std=0.0, parameterization="standard"))
  mean = permjax.network_ensemble_mean(prog, 128, jax.random.key(2), spec,
                                  permjax.TrainConfig(trainer="linearized"))
  test = mean.test
  exact = permjax.exact_mean(kernel)(prog, test.x)
  n = np.count_nonzero(test.x, axis=1)
  sigma = np.sqrt(permjax.exact_mean(kernel).stats(prog.k, n)[2])
  tol = 5 * sigma[:, None] / np.sqrt(128) + 0.02
  assert np.all(np.abs(mean.average - exact) <= tol)


def test_resumed_growth_is_bitwise_the_uninterrupted_one(tmp_path):
  prog = permjax.addition_program(2)
  test = permjax.program_test_set(prog)
  rules = {n: readout_lib.from_name(n, "ntk", program=prog)
           for n in ("zero_fixed", "midpoint")}
  scorer = permjax.ProgramScorer(prog, test, rules)
  src = _gp_source(prog, test, jax.random.key(4))
  whole = permjax.grow(src, scorer, max_members=40, chunk=8)
  ckpt = permjax.GrowthCheckpoint(str(tmp_path), {"unit": 1})
  permjax.grow(src, scorer, max_members=20, chunk=8, on_chunk=ckpt.save)
  ckpt.close()
  ckpt = permjax.GrowthCheckpoint(str(tmp_path), {"unit": 1})
  resumed = permjax.grow(src, scorer, max_members=40, chunk=8,
                         state=ckpt.load())
  ckpt.close()
  for name in rules:
    np.testing.assert_array_equal(whole.accuracy[name],
                                  resumed.accuracy[name])
  # The shorter run also recorded its own end (20 members).
  assert [e for e in resumed.details if e["members"] != 20] == (
      whole.details)
  with pytest.raises(permjax.CheckpointError):
    permjax.GrowthCheckpoint(str(tmp_path), {"unit": 2})


def test_first_errors_name_step_field_and_matched_templates():
  prog = permjax.addition_program(2)
  test = permjax.program_test_set(prog)
  wrong = np.zeros(test.truth.shape, bool)
  row = test.path[5, 2]  # pair 5's third step
  assert row >= 0
  col = prog.index("sum_c", 0)
  wrong[row, col] = True
  out = permjax.first_errors(prog, test, wrong)
  hit = (test.path == row)
  first_steps = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, 0)
  assert out["failing_pairs"] == int(hit.any(axis=1).sum())
  assert out["by_field"] == {"sum_c": out["failing_pairs"]}
  assert sum(out["by_step"].values()) == out["failing_pairs"]
  assert all(int(s) in set(first_steps[first_steps > 0].tolist())
             for s in out["by_step"])
  n = int(np.count_nonzero(test.x[row]))
  assert out["by_n"] == {str(n): out["failing_pairs"]}


def test_bad_input_gets_one_clear_error():
  add2, add3 = permjax.addition_program(2), permjax.addition_program(3)
  mean = permjax.gp_ensemble_mean(add2, 2, jax.random.key(0))
  with pytest.raises(ValueError, match="built for addition.m=2"):
    mean(add3, add3.encode(add3.initial_states([1], [2])))
  for bad in (0, -3, 2.5, True):
    with pytest.raises(ValueError, match="members >= 1"):
      permjax.gp_ensemble_mean(add2, bad, jax.random.key(0))
  every = np.array([[(i >> j) & 1 for j in range(add2.D)]
                    for i in range(1 << add2.D)], bool)
  x = add2.encode(every)
  seen = {r.tobytes() for r in (mean.test.x > 0)}
  off = [r for r in x if r.any() and (r > 0).tobytes() not in seen]
  assert off  # some state no pair visits
  with pytest.raises(ValueError, match="off every ideal trajectory"):
    mean(add2, np.array(off[:1]))
  midpoint = readout_lib.from_name("midpoint", "ntk", program=add2)
  test = permjax.program_test_set(add2)
  raw = test.x.copy()
  row = int(np.flatnonzero(np.count_nonzero(raw, axis=1) >= 2)[0])
  raw[row, np.flatnonzero(raw[row])[0]] *= 2  # not a normalised indicator
  with pytest.raises(ValueError, match="n is not defined"):
    midpoint.bits(np.zeros(test.truth.shape), raw, 4)
  with pytest.raises(ValueError, match="built for 'addition.m=2.'"):
    permjax.ProgramScorer(add3, test, {"m": midpoint})
  with pytest.raises(ValueError, match="unknown readout 'zeroo'"):
    readout_lib.from_name("zeroo", program=add2)


@pytest.mark.parametrize("trainer", ["linearized", "gd"])
def test_trained_networks_are_the_source_members_on_any_block(trainer):
  # Members trained once and applied block by block are the members
  # network_member_source trains and evaluates in one call.
  prog = permjax.program("multiplication", 2)
  test = permjax.program_test_set(prog)
  train = permjax.training_examples(prog)
  spec, key = permjax.MLPSpec(width=64), jax.random.key(3)
  config = (permjax.TrainConfig(trainer="linearized", solver="cg")
            if trainer == "linearized" else
            permjax.TrainConfig(max_steps=2000, tol=1e-5))
  ref = permjax.network_member_source(spec, train, test.x, key,
                                      config)(np.arange(4))
  nets = permjax.TrainedNetworks(spec, train, key, config)
  head = nets.source(test.x[:50])(np.array([2, 0]))
  tail = nets.source(test.x[50:])(np.arange(4))
  assert nets.trained == 4  # members 0 and 2 were not trained again
  np.testing.assert_allclose(head.outputs, ref.outputs[[2, 0], :50],
                             atol=1e-6)
  np.testing.assert_allclose(tail.outputs, ref.outputs[:, 50:], atol=1e-6)
  assert tail.status.tolist() == ref.status.tolist()


def test_growths_on_blocks_of_pairs_merge_into_the_whole_growth(
    tmp_path, monkeypatch):
  # The same members grown on blocks of the pairs (too many encodings for
  # one growth) give the curve and first errors of one growth over all.
  from permjax.experiments.template_execution import configs, run  # pylint: disable=import-outside-toplevel
  from permjax.experiments.units import ExperimentError  # pylint: disable=import-outside-toplevel
  config = configs.Config(
      programs=("multiplication=3",), regimes=("ntk",), pairs=40,
      stop_when_exact=False, max_members=5, chunk=5, widths=(64,),
      train=permjax.TrainConfig(trainer="linearized", solver="cg"))
  whole = run.run_one(config, "multiplication", 3, "ntk", 64, 0)
  prog = permjax.program("multiplication", 3)
  monkeypatch.setattr(run, "BLOCK_BYTES", 13 * prog.steps * prog.D * 8 * 6)
  blocked = run.run_one(config, "multiplication", 3, "ntk", 64, 0,
                        str(tmp_path / "ckpt"))
  assert blocked["member_source"]["blocks"] == 4  # 40 + 9 edge pairs, 13 per block
  for rule, out in whole["rules"].items():
    assert blocked["rules"][rule]["curve"] == out["curve"], rule
    assert blocked["rules"][rule]["n_at"] == out["n_at"], rule
  key = lambda d: (d["members"], d["rule"])
  for d, e in zip(sorted(whole["first_errors"], key=key),
                  sorted(blocked["first_errors"], key=key), strict=True):
    assert (d["failing_pairs"], d["by_n"], d["by_field"]) == (
        e["failing_pairs"], e["by_n"], e["by_field"])
  with pytest.raises(ExperimentError, match="stop_when_exact false"):
    run.run_one(dataclasses.replace(config, stop_when_exact=True),
                "multiplication", 3, "ntk", 64, 0)
