"""The experiment measures the right N: its member sources and its growth
protocol reproduce the exact-Gaussian success probability at a fixed N.

The oracle is independent of permjax: docs/theory/permutation.md §4–§6 in a few lines of numpy.
For an input with n ones the N-member average is Gaussian with mean α_n on
the bits that should be 1, β_n on the others, variance σ²_n / N, and the
bits are independent, so with readout threshold τ

    P(exact) = Φ((α_n − τ)√N/σ_n)^n · Φ((τ − β_n)√N/σ_n)^(k − n).

A source that returned the GP mean without noise reads every input right
(P = 1); one with the other kernel is off by many standard errors (checked
below, so the tests have the power they claim).
"""

import math

import numpy as np
import pytest
from scipy.stats import norm

import permjax
from permjax.experiments import figure1


def oracle_stats(k, n, kernel):
  """α_n, β_n, σ²_n of docs/theory/permutation.md §4–5 (no bias, normalised inputs)."""
  a, b, a_nngp = 1 - 1 / (2 * math.pi), 1 / (2 * math.pi), 0.5 - 1 / (
      2 * math.pi)
  rho = 1 / math.sqrt(n)
  phi = math.acos(rho)
  k0 = (math.pi - phi) / (2 * math.pi)
  k1 = (math.sqrt(1 - rho**2) + (math.pi - phi) * rho) / (2 * math.pi)
  p, g = (a, k1 + k0 / math.sqrt(n)) if kernel == "ntk" else (a_nngp, k1)
  beta = b * (p - n * (g - b)) / (p * (p + k * b))
  alpha = beta + (g - b) / p
  sigma2 = (0.5 - 2 * (n * alpha * k1 + (k - n) * beta * b)
            + a_nngp * (n * alpha**2 + (k - n) * beta**2)
            + b * (n * alpha + (k - n) * beta)**2) / k
  return alpha, beta, sigma2


def oracle_p_exact(k, n, N, kernel, tau):
  alpha, beta, sigma2 = oracle_stats(k, n, kernel)
  s = math.sqrt(sigma2 / N)
  return (norm.cdf((alpha - tau) / s) ** n
          * norm.cdf((tau - beta) / s) ** (k - n))


def test_the_oracle_reproduces_spec_table():
  # docs/theory/permutation.md §5, NTK parameterization: (k, n) -> α, β, σ².
  for (k, n), want in {(5, 2): (0.560632, -0.014640, 0.013235),
                       (10, 5): (0.283730, -0.040712, 0.012505),
                       (100, 2): (0.573842, -0.001430, 0.000637)}.items():
    np.testing.assert_allclose(oracle_stats(k, n, "ntk"), want, atol=2e-6)


K, N, SEED = 6, 16, 0


def _success_rate(regime, n_ensembles, **overrides):
  """Mean exact-match accuracy of ``n_ensembles`` disjoint N-member
  ensembles, through the experiment's own member source and the growth
  protocol's accumulation and readout."""
  config = figure1.get_config("smoke", k_values=(K,), k_curves=(), seeds=1,
                              num_test=300, **overrides)
  perm_key, _, _ = figure1.unit_keys(K, SEED, regime)
  perm = permjax.random_permutation(perm_key, K)
  train = permjax.training_set(perm)
  test = figure1.build_test_set(config, K, SEED, perm)
  assert (test.weight > 0).sum() == math.comb(K, 2)  # every 2-ones input
  source = figure1.member_source(config, regime, K, SEED, train, test)
  members = source(np.arange(n_ensembles * N))
  rates = []
  for r in range(n_ensembles):
    part = permjax.Members(*(np.asarray(a)[r * N:(r + 1) * N]
                             for a in members))
    curve = permjax.grow(lambda ids, part=part: part,
                         permjax.InputScorer(test, config.readout_rule(regime)),
                         max_members=N, chunk=N, stop_accuracy=1.0)
    rates.append(curve.accuracy[curve.rules[0]][-1] if curve.members == N
                 else 1.0)
  return float(np.mean(rates)), 0.0  # the zero rule (its ε is immaterial)


def _check(rate, n_ensembles, kernel, other, tau):
  want = oracle_p_exact(K, 2, N, kernel, tau)
  wrong = oracle_p_exact(K, 2, N, other, tau)
  # Conservative standard error: the inputs of one ensemble are treated as
  # perfectly correlated, so only the ensembles count as samples.
  se = math.sqrt(want * (1 - want) / n_ensembles)
  assert abs(rate - want) < 4 * se, (rate, want, se)
  assert abs(rate - wrong) > 8 * se and abs(rate - 1.0) > 8 * se


def test_gp_source_success_rate_matches_the_exact_gaussian():
  rate, tau = _success_rate("gp", 2000)
  _check(rate, 2000, "ntk", "nngp", tau)


def test_gp_source_with_nngp_kernel_follows_nngp():
  rate, tau = _success_rate("gp", 2000, gp_kernel="nngp")
  _check(rate, 2000, "nngp", "ntk", tau)


@pytest.mark.parametrize("regime, kernel, other", [
    ("ntk", "ntk", "nngp"), ("standard", "nngp", "ntk")])
def test_finite_sources_follow_their_kernel(regime, kernel, other):
  """Width 1024, 3072 members: NTK parameterization follows the NTK GP,
  the paper's standard parameterization the NNGP GP (docs/theory/permutation.md §5)."""
  rate, tau = _success_rate(regime, 192, width=1024)
  _check(rate, 192, kernel, other, tau)
