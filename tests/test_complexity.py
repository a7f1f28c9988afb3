"""Ensemble complexity: docs/theory/permutation.md §7 table, growth laws, bounds and their order."""

import numpy as np
import pytest

import permjax

# docs/theory/permutation.md §7: exact Gaussian N* for P(exact) >= 0.9 on an n = 2 input.
GOLDEN_KS = [5, 10, 20, 30, 50, 100]
GOLDEN_NTK = [205, 333, 579, 840, 1400, 2937]
GOLDEN_NNGP = [28, 58, 121, 190, 339, 750]


def test_spec_table():
  np.testing.assert_array_equal(permjax.ensemble_size(GOLDEN_KS), GOLDEN_NTK)
  np.testing.assert_array_equal(
      permjax.ensemble_size(GOLDEN_KS, kernel="nngp"), GOLDEN_NNGP)
  assert permjax.ensemble_size(10) == 333  # scalar in, int out
  assert isinstance(permjax.ensemble_size(10), int)


def test_answer_is_the_smallest_sufficient_n():
  for k, regime in [(7, "ntk"), (40, "nngp"), (1234, "ntk")]:
    size = permjax.ensemble_size(k, kernel=regime, target=0.99)
    lf = permjax.log_fail_probability(k, 2, [size - 1, size], kernel=regime)
    assert lf[1] <= np.log(0.01) < lf[0]


@pytest.mark.parametrize("regime", ["ntk", "nngp"])
def test_grouped_closed_form_matches_enumeration_through_nt(regime):
  perm = [2, 0, 3, 1]
  for scope in ("input", "all"):
    assert permjax.ensemble_size(4, kernel=regime, scope=scope) == (
        permjax.ensemble_size_enumerated(perm, kernel=regime, scope=scope))


@pytest.mark.parametrize("k", [3, 6, 9])
@pytest.mark.parametrize("regime", ["ntk", "nngp"])
def test_grouped_closed_form_matches_enumeration(k, regime):
  """Enumerating inputs one by one (no symmetry used) gives the same N, for
  any permutation (the answer is permutation invariant)."""
  perm = np.roll(np.arange(k), 1) if k % 2 else np.arange(k)[::-1]
  for target in (0.5, 0.999):
    for scope, n in (("input", 2), ("input", k - 1), ("all", None)):
      want = permjax.ensemble_size(k, n=n, kernel=regime, scope=scope,
                                   target=target)
      got = permjax.ensemble_size_enumerated(perm, n=n, kernel=regime,
                                             scope=scope, target=target,
                                             backend="closed_form")
      assert want == got, (scope, n, target)


def test_single_input_grows_like_k_log_k():
  """Fit over k = 10^3..10^5: N / (k ln k) is flat (within 5%), while N / k
  grows and N / k² falls. (Derivation: N ≈ 2 r ln(k/δ) with r = σ²₂/β₂² ≈
  2.8 k, i.e. ≈ 5.6 k ln k.)"""
  ks = np.unique(np.round(np.logspace(3, 5, 21)).astype(int))
  for regime in ("ntk", "nngp"):
    sizes = permjax.ensemble_size(ks, kernel=regime)
    per_klogk = sizes / (ks * np.log(ks))
    assert per_klogk.max() / per_klogk.min() < 1.05
    assert (sizes / ks)[-1] / (sizes / ks)[0] > 1.5
    assert np.all(np.diff(sizes / ks**2) < 0)
  # The fitted slope of log N against log k is that of k log k: 1 + 1/ln k.
  sizes = permjax.ensemble_size(ks)
  slope = np.polyfit(np.log(ks), np.log(sizes), 1)[0]
  assert 1.05 < slope < 1.15
  ntk_const = sizes / (ks * np.log(ks))
  assert 5.3 < ntk_const[-1] < 5.7


def test_paper_style_bound_grows_like_k_squared():
  ks = np.unique(np.round(np.logspace(3, 5, 21)).astype(int))
  bound = permjax.paper_style_bound(ks)
  per_k2 = bound / ks**2
  assert per_k2.max() / per_k2.min() < 1.05
  slope = np.polyfit(np.log(ks), np.log(bound), 1)[0]
  assert 1.95 < slope < 2.05
  # Its worst input is the n = 2 one, with ratio σ²/β² ≈ 2.8 k + 30 (docs/theory/permutation.md §7).
  ratio, n = permjax.worst_ratio(np.array([100, 1000]))
  assert n.tolist() == [2, 2]
  np.testing.assert_allclose(ratio, 2.8 * np.array([100, 1000]) + 30, rtol=0.1)


@pytest.mark.parametrize("regime", ["ntk", "nngp"])
def test_grouped_all_inputs_lies_between_bounds_and_is_monotone(regime):
  ks = np.arange(2, 701)
  single = permjax.ensemble_size(ks, kernel=regime)
  grouped = permjax.ensemble_size(ks, kernel=regime, scope="all")
  paper = permjax.paper_style_bound(ks, kernel=regime)
  assert np.all(single <= grouped) and np.all(grouped <= paper)
  assert np.all(np.diff(grouped) >= 0)


@pytest.mark.slow
@pytest.mark.parametrize("regime", ["ntk", "nngp"])
def test_grouped_bounds_and_monotone_up_to_1e5(regime):
  ks = np.unique(np.round(np.logspace(np.log10(700), 5, 60)).astype(int))
  single = permjax.ensemble_size(ks, kernel=regime)
  grouped = permjax.ensemble_size(ks, kernel=regime, scope="all")
  paper = permjax.paper_style_bound(ks, kernel=regime)
  assert np.all(single <= grouped) and np.all(grouped <= paper)
  assert np.all(np.diff(grouped) >= 0)


def test_grouped_growth_ntk_phase_where_n2_binds():
  """Measured: in the NTK regime the n = 2 inputs bind the grouped bound up to
  k ≈ 10^4, where N ≈ 2 r ln(C(k,2) k / δ) ≈ 3 × the single-input N, i.e.
  ≈ 16 k ln k (derived: 2 · 2.8 · 3 = 16.8 asymptotically)."""
  ks = np.array([300, 1000, 3000, 10000])
  grouped = permjax.ensemble_size(ks, scope="all")
  single = permjax.ensemble_size(ks)
  assert [permjax.binding_n(int(k), int(g)) for k, g in zip(ks, grouped)] == [
      2, 2, 2, 2]
  const = grouped / (ks * np.log(ks))
  assert np.all((15.5 < const) & (const < 16.6))
  np.testing.assert_allclose(grouped / single, 2.9, rtol=0.05)


def test_grouped_growth_near_all_ones_phase():
  """Measured: past a crossover (k ≈ 1.5·10^3 in the NNGP regime, between
  10^4 and 1.8·10^4 in the NTK regime) inputs with nearly all ones bind, and
  the grouped N grows like k^1.5 ln k: N / (k^1.5 ln k) is flat within 3% over
  k = 10^4..10^5 (NNGP), with a local log-log slope between 1.5 and 1.7."""
  ks = np.array([10000, 31623, 100000])
  grouped = permjax.ensemble_size(ks, kernel="nngp", scope="all")
  binding = [permjax.binding_n(int(k), int(g), kernel="nngp")
             for k, g in zip(ks, grouped)]
  assert all(b > 0.99 * k for b, k in zip(binding, ks))
  const = grouped / (ks**1.5 * np.log(ks))
  assert const.max() / const.min() < 1.03
  slopes = np.diff(np.log(grouped)) / np.diff(np.log(ks))
  assert np.all((1.5 < slopes) & (slopes < 1.7))
  ntk = permjax.ensemble_size(np.array([10000, 17783]), scope="all")
  assert permjax.binding_n(10000, int(ntk[0])) == 2
  assert permjax.binding_n(17783, int(ntk[1])) > 0.99 * 17783


def test_worst_n_and_reverse_engineered_bound():
  assert permjax.worst_n(10) == 2
  assert permjax.worst_n(30, kernel="nngp") == 2
  ks = np.array([5, 10, 30])
  curve = permjax.paper_figure_bound(ks)
  stats = permjax.symmetric_gp(ks, 2)
  np.testing.assert_allclose(
      curve, 8 * stats.sigma2 / stats.beta**2 * np.log(2 * ks / 1e-4))
  assert np.all(np.diff(curve) > 0)


@pytest.mark.parametrize("kwargs, match", [
    ({"k": 1}, "k must be >= 2"),
    ({"k": [5, 1]}, "k must be >= 2"),
    ({"k": 2.5}, "integer"),
    ({"k": 5, "target": 1.0}, r"target .* \(0, 1\), got 1.0"),
    ({"k": 5, "target": 0.0}, "target"),
    ({"k": 5, "kernel": "standard"}, "kernel must be one of"),
    ({"k": 5, "scope": "every"}, "scope must be one of"),
    ({"k": 5, "n": 6}, r"1..k=5, got n=6"),
    ({"k": 5, "n": 2, "scope": "all"}, "scope='input' only"),
])
def test_bad_arguments(kwargs, match):
  with pytest.raises((ValueError, TypeError), match=match):
    permjax.ensemble_size(**kwargs)


def test_wrong_sign_spec_is_reported():
  """A bias 30× the weights flips β₂ positive, and an odd activation (erf)
  without bias gives β = 0: no ensemble size can round such inputs, so the
  search must raise rather than loop."""
  big_bias = permjax.MLPSpec(width=1, b_std=30.0)
  assert permjax.symmetric_gp(5, 2, spec=big_bias).beta > 0
  with pytest.raises(ValueError, match="wrong side of the threshold for n=2 ones"):
    permjax.ensemble_size(5, spec=big_bias)
  odd = permjax.MLPSpec(width=1, activation="erf")
  with pytest.raises(ValueError, match="wrong side of the threshold for some n"):
    permjax.ensemble_size(5, spec=odd, scope="all")
