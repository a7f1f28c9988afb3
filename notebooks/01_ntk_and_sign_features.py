# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 — The NTK, the NNGP and the sign features
#
# A two-layer ReLU network is trained by gradient descent on only the $k$
# basis vectors $e_1, \dots, e_k$ with targets $P e_i$. Why does it then get
# **every** nonzero binary input right?
#
# In the infinite-width limit the trained network is a Gaussian process (GP)
# whose mean is $\mu(x) = \Theta(x, X)\,\Theta_{XX}^{-1} Y$ (docs/theory/permutation.md §5). On the
# basis vectors the kernel is $\Theta_{XX} = (aI + bJ)/k$, and for a
# normalised input with $n$ ones the mean takes only two values: $\alpha_n > 0$
# on the bits where $Px$ is 1 and $\beta_n < 0$ where it is 0. The **sign** of
# the mean is the answer: these are the sign-based features of the paper.
#
# This notebook uses only the public `permjax` API. Set `PERMJAX_SMALL=1` for
# the quick sizes used in CI.

# %%
import os

import jax
import matplotlib.pyplot as plt
import numpy as np

import permjax

SMALL = os.environ.get("PERMJAX_SMALL") == "1"
k = 6 if SMALL else 10
spec = permjax.MLPSpec(width=1)  # NTK parameterization, ReLU, no bias: the theory

# %% [markdown]
# ## The kernels on the basis vectors
#
# Per output coordinate, $\Theta(e_i, e_j) = (a\,\delta_{ij} + b)/k$ and
# $K(e_i, e_j) = (a'\,\delta_{ij} + b)/k$ with $a = 1 - 1/(2\pi)$,
# $a' = 1/2 - 1/(2\pi)$, $b = 1/(2\pi)$. The ratio off-diagonal / diagonal of
# the NNGP is $1/\pi$.

# %%
kern = permjax.kernel_matrices(spec, np.eye(4))
print("NTK on I_4:\n", np.round(kern.ntk, 6))
print("NNGP on I_4:\n", np.round(kern.nngp, 6))
print("NNGP off/diag =", kern.nngp[0, 1] / kern.nngp[0, 0], " 1/pi =", 1 / np.pi)
# docs/theory/permutation.md §4 golden values at k = 4.
assert np.allclose([kern.ntk[0, 0], kern.ntk[0, 1], kern.nngp[0, 0]],
                   [0.25, 0.0397887, 0.125], atol=1e-7)
assert np.isclose(kern.nngp[0, 1] / kern.nngp[0, 0], 1 / np.pi)

# %% [markdown]
# ## The GP mean, three ways
#
# On inputs with $n$ ones we compute the trained network's mean with
# neural-tangents, with permjax's closed form, and with a finite-width
# ensemble (NTK parameterization, linearized trainer).

# %%
perm = permjax.random_permutation(jax.random.key(0), k)
train = permjax.training_set(perm)
test = permjax.inputs_with_n_ones(perm, 2)

nt_gp = permjax.gp_predict(spec, train.x, train.y, test.x, backend="nt")
cf_gp = permjax.gp_predict(spec, train.x, train.y, test.x, backend="closed_form")
members = 32 if SMALL else 256
ens = permjax.train_ensemble(
    permjax.MLPSpec(width=1024 if SMALL else 4096), train, jax.random.key(1),
    members, x_test=test.x, config=permjax.TrainConfig(trainer="linearized"))

row = 0
print("target P x      :", test.y[row].astype(int))
print("neural-tangents :", np.round(nt_gp.mean[row], 4))
print("closed form     :", np.round(cf_gp.mean[row], 4))
print(f"ensemble of {members}:", np.round(ens.outputs.mean(0)[row], 4))
print("max |nt - closed form| =", np.abs(nt_gp.mean - cf_gp.mean).max())
assert np.abs(nt_gp.mean - cf_gp.mean).max() < 1e-10
# The ensemble mean is the GP mean up to sampling error (and an O(1/sqrt(m))
# finite-width shift): within 5 standard errors plus 0.02.
se = np.sqrt(np.diag(cf_gp.cov) / members)[:, None]
assert np.all(np.abs(ens.outputs.mean(0) - cf_gp.mean) < 5 * se + 0.02)

# %%
alpha, beta, sigma2 = permjax.symmetric_gp(k, 2)
print(f"alpha_2 = {alpha:.6f}, beta_2 = {beta:.6f}, sigma^2_2 = {sigma2:.6f}")
print("sign of the GP mean == P x on every input with 2 ones:",
      bool(np.array_equal(cf_gp.mean > 1e-10, test.y == 1)))
assert np.array_equal(cf_gp.mean > 1e-10, test.y == 1) and beta < 0 < alpha

# %% [markdown]
# ## $\alpha_n$, $\beta_n$ and $\sigma_n$ against $n$
#
# Both regimes: the NTK GP (gradient descent on all layers, the theory) and the
# NNGP GP (what wide standard-parameterization networks follow). $\alpha_n$
# shrinks like $1/n$, $\beta_n$ stays negative for every $n \ge 2$, and
# $\sigma_n$ sets how many members the average needs.

# %%
ns = np.arange(1, k + 1)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for regime, style in (("ntk", "o-"), ("nngp", "s--")):
  s = permjax.symmetric_gp(np.full(ns.shape, k), ns, kernel=regime)
  axes[0].plot(ns, s.alpha, style, label=regime)
  axes[1].plot(ns[1:-1], s.beta[1:-1], style, label=regime)
  axes[2].plot(ns, np.sqrt(s.sigma2), style, label=regime)
for ax, name in zip(axes, ["alpha_n (target 1)", "beta_n (target 0)", "sigma_n"]):
  ax.set_title(name)
  ax.set_xlabel("n (ones in the input)")
  ax.grid(alpha=0.3)
  ax.legend()
axes[1].axhline(0, color="k", lw=0.5)
fig.tight_layout()
plt.show()
