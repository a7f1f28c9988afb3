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
# # 04 — Finite width against infinite width
#
# Finite ensembles converge to their GP limits as the width grows: NTK
# parameterization to the NTK GP, standard parameterization (the paper's
# PyTorch networks, trained zero-initialised biases) to NNGP regression,
# because the readout layer's $m$ features dominate its tangent kernel. We
# sweep the width and measure both the distance to the limit and the members
# needed.

# %%
import os

import jax
import matplotlib.pyplot as plt
import numpy as np

import permjax
from permjax.experiments import ntk_permutation

SMALL = os.environ.get("PERMJAX_SMALL") == "1"
k = 6
widths = [64, 256, 1024] if SMALL else [64, 256, 1024, 4096]
members = 64 if SMALL else 256
perm = permjax.random_permutation(jax.random.key(0), k)
train = permjax.training_set(perm)
test = permjax.inputs_with_n_ones(perm, 2)

specs = {
    "ntk": (lambda m: permjax.MLPSpec(width=m), "ntk"),
    "standard": (lambda m: permjax.MLPSpec(width=m, b_std=0.0,
                                           parameterization="standard"), "nngp"),
}

# %%
errors = {name: [] for name in specs}
for name, (make, regime) in specs.items():
  for m in widths:
    spec = make(m)
    res = permjax.train_ensemble(spec, train, jax.random.key(1), members,
                                 x_test=test.x,
                                 config=permjax.TrainConfig(trainer="linearized"))
    gp = permjax.gp_predict(spec, train.x, train.y, test.x, kernel=regime,
                            backend="closed_form")
    mean_err = np.abs(res.outputs.mean(0) - gp.mean).max()
    var_ratio = res.outputs.var(0).mean() / np.diag(gp.cov).mean()
    errors[name].append((mean_err, var_ratio))
    print(f"{name:8s} m={m:5d}: max |ensemble mean - GP mean| = {mean_err:.4f}, "
          f"variance ratio = {var_ratio:.3f}")

# The claim: both parameterizations converge to their GP limits as the
# width grows. The mean error shrinks from the smallest to the largest width,
# and at the largest width the ensemble variance is the GP's to sampling
# error (a chi-square spread of about ±15% here, allow ±30%).
for name in specs:
  e = np.array(errors[name])
  assert e[-1, 0] < e[0, 0], (name, e[:, 0])
  assert 0.7 < e[-1, 1] < 1.3, (name, e[:, 1])

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for name in specs:
  e = np.array(errors[name])
  axes[0].loglog(widths, e[:, 0], "o-", label=name)
  axes[1].semilogx(widths, e[:, 1], "o-", label=name)
axes[0].set_title(f"mean error ({members} members; floor = sampling error)")
axes[1].set_title("ensemble variance / GP variance")
for ax in axes:
  ax.set_xlabel("width m")
  ax.grid(alpha=0.3)
  ax.legend()
plt.show()

# %% [markdown]
# ## Members needed against width
#
# The same protocol as Figure 1 at one $k$: members for 90% exact-match
# accuracy, for each width, next to the infinite-width (gp) regime.

# %%
rows = []
for m in widths:
  config = ntk_permutation.get_config(
      "smoke", regimes=("ntk", "standard"), k_values=(k,), k_curves=(),
      seeds=2, width=m, num_test=300)
  paths = ntk_permutation.run(config, os.path.join("runs", "notebook_width", str(m)),
                              overwrite=True, progress=False)
  for r in ntk_permutation.load_results(os.path.dirname(paths["results"])):
    rows.append((m, r["regime"], r["n_at"]["0.9"]))
for regime in ("ntk", "standard"):
  print(regime, [(m, n) for m, rg, n in rows if rg == regime])
print("analytic (exact Gaussian): ntk", permjax.ensemble_size(k),
      " nngp", permjax.ensemble_size(k, kernel="nngp"))
