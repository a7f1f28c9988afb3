"""Readout rules: docs/theory/readout.md §1's predictions, the thresholds themselves, bad input."""

import math

import jax
import numpy as np
import pytest
from scipy.stats import norm

import permjax
from permjax import readout

# docs/theory/permutation.md §7 and §9 (exact Gaussian, P = 0.9).
GOLDEN_ZERO_ONE = {5: 205, 10: 333, 30: 840, 100: 2937, 1000: 38913,
                 10000: 507716, 100000: 6307366}
GOLDEN_ZERO_ALL = {10: 801, 20: 1469, 30: 2183, 100: 7993, 1000: 110841,
                 10000: 1477513}
GOLDEN_MID_ALL_NTK = {10: 16, 20: 37, 30: 60, 100: 229, 1000: 2621,
                    10000: 27585}
GOLDEN_MID_ALL_NNGP = {10: 11, 20: 26, 30: 41, 100: 154, 1000: 1731,
                     10000: 18094}
GOLDEN_BEST_ALL_NTK = {10: 15, 20: 36, 30: 59, 100: 228, 1000: 2621}


def _within(got, want, rel):
  got = np.asarray(got, np.float64)
  want = np.asarray(want, np.float64)
  assert np.all(np.abs(got / want - 1) <= rel), (got, want)


def test_zero_rule_reproduces_the_spec_tables():
  ks = list(GOLDEN_ZERO_ONE)
  assert permjax.ensemble_size(ks, readout=readout.zero()).tolist() == list(
      GOLDEN_ZERO_ONE.values())
  assert permjax.ensemble_size(ks).tolist() == list(GOLDEN_ZERO_ONE.values())
  ks = list(GOLDEN_ZERO_ALL)
  _within(permjax.ensemble_size(ks, scope="all", readout=readout.zero()),
          list(GOLDEN_ZERO_ALL.values()), 0.001)


@pytest.mark.parametrize("kernel", ["ntk", "nngp"])
def test_midpoint_reads_one_input_with_a_single_member_at_every_k(kernel):
  ks = np.unique(np.logspace(np.log10(5), 5, 60).astype(int))
  sizes = permjax.ensemble_size(ks, kernel=kernel,
                                readout=readout.midpoint(kernel))
  assert sizes.tolist() == [1] * len(ks)


def test_per_n_rules_match_the_spec_grouped_bounds():
  ks = list(GOLDEN_MID_ALL_NTK)
  _within(permjax.ensemble_size(ks, scope="all",
                                readout=readout.midpoint("ntk")),
          list(GOLDEN_MID_ALL_NTK.values()), 0.03)
  _within(permjax.ensemble_size(ks, scope="all", kernel="nngp",
                                readout=readout.midpoint("nngp")),
          list(GOLDEN_MID_ALL_NNGP.values()), 0.03)
  ks = list(GOLDEN_BEST_ALL_NTK)
  _within(permjax.ensemble_size(ks, scope="all",
                                readout=readout.optimal("ntk")),
          list(GOLDEN_BEST_ALL_NTK.values()), 0.03)


def test_optimal_threshold_maximises_p_exact():
  """Against a brute-force grid over τ, with docs/theory/permutation.md §6's P(exact) written
  out here."""
  for k, n, N in [(10, 2, 1), (30, 2, 50), (30, 15, 3), (100, 2, 400),
                  (30, 29, 1)]:  # the last one's optimum lies below β
    s = permjax.symmetric_gp(k, n)
    tau = float(readout.optimal("ntk").thresholds(k, n, N))
    sd = math.sqrt(s.sigma2 / N)

    def log_p(t):
      return (n * norm.logcdf((s.alpha - t) / sd)
              + (k - n) * norm.logcdf((t - s.beta) / sd))
    sd_grid = 12 * sd
    grid = np.linspace(float(s.beta) - sd_grid, float(s.alpha) + sd_grid,
                       400001)
    values = log_p(grid)
    assert log_p(tau) >= values.max() - 1e-12
    if values.max() - np.median(values) > 1e-6:  # a peak float can resolve
      best = grid[np.argmax(values)]
      assert abs(tau - best) < 2 * (grid[1] - grid[0]) + 1e-9
    assert log_p(tau) >= log_p(float(readout.midpoint("ntk").thresholds(k, n)))


def test_midpoint_is_the_midpoint_and_zero_its_epsilon():
  s = permjax.symmetric_gp(30, 7, kernel="nngp")
  np.testing.assert_allclose(readout.midpoint("nngp").thresholds(30, 7),
                             (s.alpha + s.beta) / 2, rtol=1e-15)
  # ε only separates exact analytic zeros (±1e-16) from positive values.
  bits = readout.zero().bits(np.array([[1e-16, -1e-16, 2e-10, -0.01]]), None)
  assert bits.tolist() == [[False, False, True, False]]
  assert readout.EPSILON == 1e-10


def test_per_n_bits_use_each_inputs_own_n():
  perm = [3, 0, 1, 4, 2]
  x = np.concatenate([permjax.inputs_with_n_ones(perm, 2).x[:2],
                      permjax.inputs_with_n_ones(perm, 4).x[:2]])
  pred = permjax.gp_predict(permjax.MLPSpec(width=1),
                            *permjax.training_set(perm), x,
                            backend="closed_form")
  y = permjax.make_examples(perm, (x > 0).astype(float)).y
  # The exact mean reads right under every rule.
  for rule in (readout.zero(), readout.midpoint("ntk"),
               readout.optimal("ntk"), readout.self_calibrated()):
    assert np.array_equal(rule.bits(pred.mean, x, 1), y == 1), rule.name
  # A value between τ_4 and τ_2 reads 1 on the 4-ones rows only.
  t2 = float(readout.midpoint("ntk").thresholds(5, 2))
  t4 = float(readout.midpoint("ntk").thresholds(5, 4))
  assert t4 < t2
  middle = np.full_like(pred.mean, (t2 + t4) / 2)
  bits = readout.midpoint("ntk").bits(middle, x)
  assert not bits[:2].any() and bits[2:].all()


def test_self_calibrated_finds_the_finite_networks_own_split():
  """A width-256 ensemble: its means drift from α_n, β_n, and the
  label-free split still reads every 2-ones input right at N = 64."""
  perm = permjax.random_permutation(jax.random.key(0), 8)
  train = permjax.training_set(perm)
  test = permjax.inputs_with_n_ones(perm, 2)
  res = permjax.train_ensemble(
      permjax.MLPSpec(width=256), train, jax.random.key(1), 64,
      x_test=test.x, config=permjax.TrainConfig(trainer="linearized"))
  avg = res.outputs.astype(np.float64).mean(0)
  bits = readout.self_calibrated().bits(avg, test.x)
  assert np.array_equal(bits, test.y == 1)
  # The paper's rule needs hundreds of members here (docs/theory/permutation.md §7: 205 at k = 5).
  assert not np.array_equal(readout.zero().bits(avg, test.x), test.y == 1)
  # The split lies between the ensemble's own 0-bit and 1-bit averages.
  tau = float(np.unique(readout.self_calibrated_thresholds(
      avg, readout.count_nonzeros(test.x)))[0])
  assert avg[test.y == 0].max() < tau < avg[test.y == 1].min()


def test_readouts_drive_the_growth_protocol():
  test = permjax.TestSet(np.eye(2), np.eye(2), np.ones(2))
  members = np.stack([np.eye(2) * 0.2 + 0.05] * 3)  # 0.25 on 1s, 0.05 on 0s
  for rule, want in ((readout.fixed(0.1), 1.0), (readout.fixed(0.3), 0.0)):
    curve = permjax.grow(lambda ids: members[:len(ids)],
                         permjax.InputScorer(test, {"r": rule}),
                         stop_accuracy=1.0, max_members=3, chunk=3)
    assert curve.accuracy["r"][0] == want
  # A per-n rule without a kernel follows the members' (from the source).
  source = permjax.MemberSource(  # 0.9 on the 1-bits: above τ_1 = 0.5
      lambda ids: np.stack([np.eye(2) * 0.9] * len(ids)), {"kernel": "nngp"})
  x = np.eye(2)
  curve = permjax.grow(source, permjax.InputScorer(
      permjax.TestSet(x, np.eye(2), np.ones(2)), readout.midpoint()),
                       max_members=1, chunk=1)
  assert curve.rules == ("midpoint",) and curve.accuracy["midpoint"][0] == 1
  with pytest.raises(ValueError, match="midpoint readout has no kernel"):
    permjax.grow(lambda ids: members[:len(ids)], permjax.InputScorer(
        test, readout.midpoint()), max_members=1, chunk=1)


@pytest.mark.parametrize("call, kind, fragment", [
    (lambda: readout.from_name("median"), ValueError, "unknown readout 'median'"),
    (lambda: readout.from_name("fixed:abc"), ValueError, "fixed:abc"),
    (lambda: readout.fixed(float("nan")), ValueError, "got nan"),
    (lambda: readout.fixed(float("inf")), ValueError, "got inf"),
    (lambda: readout.midpoint("rbf"), ValueError, "'rbf'"),
    (lambda: readout.midpoint("ntk").bits(np.zeros((1, 3)),
                                     np.array([[0.2, 0.7, 0.0]])),
     ValueError, "rows [0]"),
    (lambda: permjax.ensemble_size(10, readout=readout.self_calibrated()),
     ValueError, "no analytic ensemble size"),
    (lambda: permjax.ensemble_size(10, readout=readout.fixed(0.7)),
     ValueError, "wrong side of the threshold"),
    (lambda: permjax.ensemble_size(10, readout="midpoint"), TypeError,
     "'midpoint'"),
])
def test_bad_readouts_get_one_clear_error(call, kind, fragment):
  with pytest.raises(kind) as info:
    call()
  assert fragment in str(info.value)
  assert len(str(info.value).splitlines()) == 1
