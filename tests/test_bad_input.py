"""Every public function refuses nonsense with one clear error.

Each row: a call, the exception type, and a fragment of the message that
names the bad value or what was expected.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
from permjax._src import training

PERM = [1, 2, 0]
TRAIN = permjax.training_set(PERM)
NTK = permjax.MLPSpec(width=8)
STANDARD = permjax.MLPSpec(width=8, b_std=0.0, parameterization="standard")
NTK_PARAMS = NTK.init_params(jax.random.key(0), 3, 3)
CFG = permjax.TrainConfig(trainer="linearized")


def _ensemble(**kwargs):
  args = dict(x_test=TRAIN.x, config=CFG)
  args.update(kwargs)
  return permjax.train_ensemble(NTK, TRAIN, jax.random.key(0), 2, **args)


CASES = {
    "symmetric_gp n > k": (lambda: permjax.symmetric_gp(10, 11), ValueError,
                           "(11, 10)"),
    "symmetric_gp n = 0": (lambda: permjax.symmetric_gp(10, 0), ValueError,
                           "(0, 10)"),
    "symmetric_gp k = 1": (lambda: permjax.symmetric_gp(1, 1), ValueError,
                           "k must be >= 2"),
    "symmetric_gp k < 0": (lambda: permjax.symmetric_gp(-3, 2), ValueError,
                           "k=[-3]"),
    "symmetric_gp n = 2.5": (lambda: permjax.symmetric_gp(10, 2.5), TypeError,
                             "2.5"),
    "symmetric_kernel_values n > k": (
        lambda: permjax.symmetric_kernel_values(NTK, 4, 5), ValueError,
        "(5, 4)"),
    "log_fail_probability n = 0": (
        lambda: permjax.log_fail_probability(10, 0, 100), ValueError,
        "(0, 10)"),
    "log_fail_probability n > k": (
        lambda: permjax.log_fail_probability(10, 11, 100), ValueError,
        "(11, 10)"),
    "log_fail_probability N < 1": (
        lambda: permjax.log_fail_probability(10, 2, -5), ValueError,
        "got -5"),
    "log_fail_probability k = 1": (
        lambda: permjax.log_fail_probability(1, 1, 5), ValueError,
        "k must be >= 2"),
    "binding_n N < 1": (lambda: permjax.binding_n(10, -3), ValueError,
                        "got -3"),
    "binding_n N = 0": (lambda: permjax.binding_n(10, 0), ValueError,
                        "got 0"),
    "worst_n k = 2.7": (lambda: permjax.worst_n(2.7), TypeError, "2.7"),
    "paper_figure_bound k = 2": (lambda: permjax.paper_figure_bound(2),
                                 ValueError, "k >= 3"),
    "ensemble_size unknown kernel": (
        lambda: permjax.ensemble_size(5, kernel="standard"), ValueError,
        "'standard'"),
    "MLPSpec W_std = True": (lambda: permjax.MLPSpec(width=4, W_std=True),
                             ValueError, "got True"),
    "MLPSpec b_std = True": (lambda: permjax.MLPSpec(width=4, b_std=True),
                             ValueError, "got True"),
    "mlp_ntk params of another spec": (
        lambda: permjax.mlp_ntk(STANDARD, NTK_PARAMS), ValueError,
        "hidden_0 has no bias"),
    "mlp_ntk params of another width": (
        lambda: permjax.mlp_ntk(permjax.MLPSpec(width=16), NTK_PARAMS),
        ValueError, "(3, 8), the spec needs (3, 16)"),
    "fit_gd params of another spec": (
        lambda: permjax.fit_gd(STANDARD, NTK_PARAMS, None, TRAIN.y, 1.0,
                               permjax.TrainConfig(), 3),
        ValueError, "parameters do not belong"),
    "fit_linearized params of another spec": (
        lambda: permjax.fit_linearized(STANDARD, NTK_PARAMS, None, TRAIN.y, 3),
        ValueError, "parameters do not belong"),
    "linearized_outputs params of another spec": (
        lambda: permjax.linearized_outputs(STANDARD, NTK_PARAMS, NTK_PARAMS,
                                           TRAIN.x, 3),
        ValueError, "parameters do not belong"),
    "training_loss unknown loss": (
        lambda: permjax.training_loss(jnp.ones(2), jnp.ones(2), "foo"),
        ValueError, "'foo'"),
    "max_stable_lr unknown loss": (
        lambda: permjax.max_stable_lr(NTK, NTK_PARAMS, None, TRAIN.y, "foo",
                                      3),
        ValueError, "'foo'"),
    "train_ensemble member id >= 2^31": (
        lambda: permjax.train_ensemble(NTK, TRAIN, jax.random.key(0),
                                       member_ids=[0, 2**32], x_test=TRAIN.x,
                                       config=CFG),
        ValueError, str(2**32)),
    "train_ensemble empty x_test": (
        lambda: _ensemble(x_test=np.zeros((0, 3))), ValueError,
        "(0, 3)"),
    "train_ensemble NaN x_test": (
        lambda: _ensemble(x_test=np.array([[np.nan, 1.0, 0.0]])),
        ValueError, "x_test holds non-finite values in rows [0]"),
    "gp_predict singular training kernel": (
        lambda: permjax.gp_predict(NTK, np.vstack([TRAIN.x, TRAIN.x[:1]]),
                                   np.vstack([TRAIN.y, TRAIN.y[:1]]), TRAIN.x,
                                   backend="closed_form"),
        ValueError, "Repeated training rows: [3]"),
    "gp_predict learning_rate = 'a'": (
        lambda: permjax.gp_predict(NTK, TRAIN.x, TRAIN.y, TRAIN.x, t=1.0,
                                   learning_rate="a"),
        ValueError, "got 'a'"),
    "gp_predict NaN x_test": (
        lambda: permjax.gp_predict(NTK, TRAIN.x, TRAIN.y,
                                   np.full((1, 3), np.nan)),
        ValueError, "non-finite"),
    "posterior_mean singular training kernel": (
        lambda: permjax.posterior_mean(NTK, np.vstack([TRAIN.x, TRAIN.x]),
                                       np.vstack([TRAIN.y, TRAIN.y]), TRAIN.x),
        ValueError, "singular"),
    "kernel_matrices NaN input": (
        lambda: permjax.kernel_matrices(NTK, np.array([[np.nan, 1.0]])),
        ValueError, "x1 holds non-finite values in rows [0]"),
    "sparse_rows empty batch": (lambda: permjax.sparse_rows(np.zeros((0, 3))),
                                ValueError, "(0, 3)"),
    "merge_results of nothing": (lambda: permjax.merge_results([]),
                                 ValueError, "at least one"),
    "host_member_ids index >= count": (
        lambda: permjax.host_member_ids(10, 3, 2), ValueError, "got 3"),
    "host_member_ids n < 0": (lambda: permjax.host_member_ids(-1, 0, 1),
                              ValueError, "got -1"),
    "symmetric_sampler non-PSD covariance": (
        lambda: permjax.symmetric_sampler(3, [1], lambda a, b, c: -1.0),
        ValueError, "not a covariance"),
    "TrainConfig max_lr_fraction = 1.5": (
        lambda: permjax.TrainConfig(max_lr_fraction=1.5), ValueError,
        "1.5"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gets_one_clear_error(name):
  call, kind, fragment = CASES[name]
  with pytest.raises(kind) as info:
    call()
  message = str(info.value)
  assert fragment in message, message
  assert len(message.splitlines()) == 1, message


def test_numpy_scalars_are_accepted_by_mlpspec():
  spec = permjax.MLPSpec(width=np.int64(16), depth=np.int32(1),
                         W_std=np.float32(1.0), b_std=np.float64(0.5))
  assert spec == permjax.MLPSpec(width=16, b_std=0.5)
  assert isinstance(spec.width, int) and isinstance(spec.W_std, float)
  assert hash(spec) == hash(permjax.MLPSpec(width=16, b_std=0.5))


def test_enumerated_reference_of_training_points_needs_one_member():
  # n = 1 inputs are training points: interpolated exactly, N = 1.
  assert permjax.ensemble_size_enumerated([1, 2, 0], n=1) == 1
  assert permjax.ensemble_size(3, n=1) == 1


def test_statuses_are_named():
  assert training.STATUS_NAMES[training.FAILED] == "failed"
