"""What every experiment shares: regimes, their specs and kernels, member
keys, and the checkpointed growth of one *unit* (one growth's coordinates,
e.g. ``(regime, k, seed)`` or ``(program, bits, regime, width, seed)``).

* :data:`REGIMES` and :func:`kernel_of` / :func:`spec_of`: where members come
  from (``gp`` draws, or finite networks in ``ntk`` or ``standard``
  parameterization, the latter the papers' PyTorch recipe with zero-
  initialised trained biases) and the GP they follow;
* :func:`fold_key`: member keys from a unit's coordinates, folded one by one,
  with :data:`REGIME_KEY` ids that never depend on list order;
* :func:`grow_unit`: :func:`permjax.grow` behind an orbax checkpoint guarded
  by the unit's fingerprint, with the one unconverged-member policy
  (:data:`MAX_UNCONVERGED`) and one error type (:class:`ExperimentError`);
* :func:`member_fields`: the per-member record fields of a curve.
"""

from __future__ import annotations

import sys

import jax
import numpy as np

import permjax
from permjax.experiments import config as config_lib

#: Where members come from: infinite-width GP draws, or finite networks in
#: NTK or standard parameterization.
REGIMES = ("gp", "ntk", "standard")
#: The integer each regime folds into member keys (fixed, not list order).
REGIME_KEY = {"gp": 0, "ntk": 1, "standard": 2}
#: Default largest fraction of members that may end unconverged
#: (``max_steps``, ``failed``) before a growth is refused.
MAX_UNCONVERGED = 0.01


class ExperimentError(RuntimeError):
  """A unit failed; the message says which."""


def check_regimes(regimes) -> tuple:
  """``regimes`` if every one is known and there is at least one."""
  bad = [r for r in regimes if r not in REGIMES]
  if bad or not regimes:
    raise ValueError(f"unknown regime(s) {bad or list(regimes)}; allowed: "
                     f"{list(REGIMES)}")
  return tuple(regimes)


def kernel_of(regime: str, gp_kernel: str = "ntk") -> str:
  """The GP kernel a regime's members follow: ``gp_kernel`` for GP draws,
  NTK for NTK-parameterized nets, NNGP for standard ones
  (docs/theory/permutation.md §5).

  Example:
    >>> kernel_of("standard"), kernel_of("gp", "nngp")
    ('nngp', 'nngp')
  """
  if regime == "gp":
    return gp_kernel
  return spec_of(check_regimes([regime])[0], 1).kernel


def spec_of(regime: str, width: int) -> permjax.MLPSpec:
  """The finite networks of a regime (``gp`` has none: a width-1 spec whose
  kernels are width-free).

  Example:
    >>> spec_of("standard", 64).b_std, spec_of("ntk", 64).b_std
    (0.0, None)
  """
  if regime == "standard":
    return permjax.MLPSpec(width=width, b_std=0.0,
                           parameterization="standard")
  return permjax.MLPSpec(width=width)


def fold_key(seed: int, *coordinates) -> jax.Array:
  """``fold_in(...fold_in(key(seed), c0)..., cn)`` over integer
  coordinates.

  Example:
    >>> bool((jax.random.key_data(fold_key(1, 2, 3))
    ...       == jax.random.key_data(jax.random.fold_in(
    ...           jax.random.fold_in(jax.random.key(1), 2), 3))).all())
    True
  """
  key = jax.random.key(seed)
  for value in coordinates:
    key = jax.random.fold_in(key, int(value))
  return key


def member_fields(curve: permjax.Curve) -> dict:
  """Per-member status counts, the unconverged count and final losses (3
  significant digits; None for GP draws)."""
  kinds, counts = np.unique(curve.status, return_counts=True)
  losses = None
  if np.any(np.isfinite(curve.final_loss)):
    losses = [float(f"{v:.3g}") for v in curve.final_loss.tolist()]
  return {"member_status": dict(zip(kinds.tolist(), counts.tolist())),
          "unconverged": permjax.unconverged_count(curve.status),
          "member_final_loss": losses}


def warn_unconverged(where: str, record: dict) -> dict:
  """Says on stderr that a record holds accepted unconverged members;
  returns the record."""
  if record.get("unconverged"):
    print(f"warning: {where}: {record['unconverged']} of {record['members']}"
          f" members did not converge ({record['member_status']}); recorded "
          f"as accepted", file=sys.stderr)
  return record


def grow_unit(config, unit: dict, source, scorer, *, where: str,
              checkpoint_dir: str | None, on_progress=None,
              accept_unconverged: bool = False, **grow_args
              ) -> permjax.Curve:
  """:func:`permjax.grow` of one unit, checkpointed after every chunk.

  Args:
    config: the experiment's config (part of the checkpoint's fingerprint).
    unit: the unit's coordinates (the rest of the fingerprint).
    source, scorer: as for :func:`permjax.grow`.
    where: the unit, as error messages name it.
    checkpoint_dir: the unit's checkpoint folder (None: no checkpoint).
    on_progress: ``(**fields)`` progress callback (a tqdm postfix).
    accept_unconverged: record growths with more than
      :data:`MAX_UNCONVERGED` unconverged members.
    **grow_args: ``max_members``, ``chunk``, ``stop_accuracy``, ``targets``.

  Raises:
    ExperimentError: members diverged or did not converge; the partly
      grown ensemble stays checkpointed.
  """
  ckpt = state = None
  if checkpoint_dir is not None:
    ckpt = permjax.GrowthCheckpoint(checkpoint_dir, {
        **unit, "config": config_lib.to_record(config),
        "jax_version": jax.__version__,
        "device_kind": jax.devices()[0].device_kind})
    state = ckpt.load()

  def show(members, accuracy):
    if on_progress is not None:
      on_progress(members=members, **{r: f"{a:.4f}"
                                      for r, a in accuracy.items()})
  try:
    return permjax.grow(
        source, scorer, state=state,
        on_chunk=None if ckpt is None else ckpt.save, on_progress=show,
        max_unconverged=None if accept_unconverged else MAX_UNCONVERGED,
        **grow_args)
  except permjax.UnconvergedMembersError as err:
    raise ExperimentError(f"{where}: {err} (pass --accept_unconverged to "
                          f"record it anyway)") from None
  except permjax.TrainingDivergedError as err:
    raise ExperimentError(f"{where}: {err}") from None
  finally:
    if ckpt is not None:
      ckpt.close()
