"""permjax: exact learning of permutations with wide ReLU networks, in JAX.

Reproduces and extends arXiv 2502.16763v1 (Giapitzakis, Back de Luca,
Fountoulakis, 2025): a two-layer ReLU network trained by gradient descent on
the k standard basis vectors learns a fixed permutation of every nonzero binary
input; its infinite-width limit is a Gaussian process whose mean has the sign
pattern of the answer, and averaging N trained networks then rounding at 0 is
exact with high probability.

The public API, by concept (each lives in one private module):

* task data: :func:`validate_permutation`, :func:`random_permutation`,
  :func:`training_set`, :func:`random_inputs`, :func:`inputs_with_n_ones`,
  :func:`all_inputs` and their chunked iterators;
* models: :class:`MLPSpec`, one spec giving a Flax model and its
  neural-tangents ``(init_fn, apply_fn, kernel_fn)``;
* kernels: :func:`kernel_matrices` (closed-form NNGP/NTK, float64),
  :func:`empirical_ntk` (a finite network's tangent kernel);
* GP prediction: :func:`gp_predict` (``backend="nt" | "closed_form"``,
  ``kernel="ntk" | "nngp"``), :func:`posterior_mean`, :func:`symmetric_gp`
  (α_n, β_n, σ²_n),
  :func:`symmetric_sampler` (exact joint draws of an S_k-invariant Gaussian on
  whole layers of the cube, ``O(k² 2^k)`` per draw);
* training: :class:`TrainConfig`, :func:`train_ensemble` (vmapped over
  members, sharded over devices, checkpointed and resumable; GD or the
  closed-form linearized trainer), :func:`mlp_ntk` (layer-wise empirical NTK);
* ensemble growth (task-generic): member sources
  (:func:`gp_member_source`, :func:`network_member_source`, a
  :class:`MemberSource`), :func:`grow` with :class:`GrowthState` and
  :class:`GrowthCheckpoint`, over a deduplicated :class:`TestSet`
  (:func:`unique_inputs`);
* readout rules (:mod:`permjax.readout`): ``zero`` (the paper's),
  ``fixed``, per-n ``midpoint`` and ``optimal``, ``self_calibrated``; they
  set the ensemble size;
* template programs (the paper's v2): :class:`Program` of
  :class:`Template` s (:func:`addition_program`,
  :func:`multiplication_program`, :func:`permutation_program`), the OR-rule
  reference (:func:`run_or_rule`), :func:`execute` with a predictor such as
  :func:`exact_mean`, and :func:`execution_ensemble_size`;
* SBN (permjax's own construction, not the paper's): :class:`SBNMachine`,
  :func:`sbn_program` (the machine as a template program),
  :func:`sbn_interpret` (the plain-integer reference),
  :func:`sbn_program_named` (``sbn_instruction``, ``sbn_loop``,
  ``sbn_idioms``);
* ensembles executing programs: :func:`program_test_set` (the encodings the
  ideal runs visit), :func:`execution_rule`, :func:`grow_execution` (per-rule
  fraction of pairs exact against N, first errors; :class:`ExecutionCheckpoint`),
  and N-member predictors :func:`gp_ensemble_mean`,
  :func:`network_ensemble_mean` (:class:`EnsembleMean`);
* ensemble complexity: :func:`ensemble_size`, :func:`paper_style_bound`,
  :func:`paper_figure_bound`, :func:`worst_n`, :func:`worst_ratio`.

``permjax.nt`` is neural-tangents, patched to run on the installed JAX (it is
imported on first use).
"""

from permjax._src.complexity import binding_n
from permjax._src.complexity import ensemble_size
from permjax._src.complexity import ensemble_size_enumerated
from permjax._src.complexity import log_fail_probability
from permjax._src.complexity import paper_figure_bound
from permjax._src.complexity import paper_style_bound
from permjax._src.complexity import worst_n
from permjax._src.complexity import worst_ratio
from permjax._src.checkpoint import CheckpointError
from permjax._src.ensembles import EnsembleResult
from permjax._src.ensembles import gather_across_processes
from permjax._src.ensembles import host_member_ids
from permjax._src.ensembles import merge_results
from permjax._src.ensembles import train_ensemble
from permjax._src.ensembles import TrainingDivergedError
from permjax._src.gp import gp_predict
from permjax._src.gp import posterior_mean
from permjax._src.gp import GPPrediction
from permjax._src.gp import symmetric_gp
from permjax._src.gp import SymmetricGP
from permjax._src.execution import exact_mean
from permjax._src.execution import ExactMean
from permjax._src.execution import execute
from permjax._src.execution import Execution
from permjax._src.execution import execution_ensemble_size
from permjax._src.execution import reachable_states
from permjax._src.growth import Curve
from permjax._src.sbn import SBNMachine
from permjax._src.sbn import interpret as sbn_interpret
from permjax._src.sbn import program_named as sbn_program_named
from permjax._src.sbn import sbn_program
from permjax._src.program_ensembles import EnsembleMean
from permjax._src.program_ensembles import execution_rule
from permjax._src.program_ensembles import ExecutionCheckpoint
from permjax._src.program_ensembles import ExecutionCurves
from permjax._src.program_ensembles import ExecutionRule
from permjax._src.program_ensembles import ExecutionState
from permjax._src.program_ensembles import gp_ensemble_mean
from permjax._src.program_ensembles import grow_execution
from permjax._src.program_ensembles import margin_threshold
from permjax._src.program_ensembles import network_ensemble_mean
from permjax._src.program_ensembles import program_test_set
from permjax._src.program_ensembles import ProgramTestSet
from permjax._src.growth import GOOD_STATUSES
from permjax._src.growth import grow
from permjax._src.growth import GrowthCheckpoint
from permjax._src.growth import GrowthState
from permjax._src.growth import TestSet
from permjax._src.growth import unique_inputs
from permjax._src.growth import UnconvergedMembersError
from permjax._src.hypercube import isotypic_blocks
from permjax._src.hypercube import symmetric_sampler
from permjax._src.hypercube import SymmetricSampler
from permjax._src.tangents import empirical_ntk
from permjax._src.kernels import kappa0
from permjax._src.kernels import kappa1
from permjax._src.kernels import kernel_matrices
from permjax._src.kernels import KernelPair
from permjax._src.tangents import mlp_ntk
from permjax._src.kernels import symmetric_kernel_values
from permjax._src.models import MLPSpec
from permjax._src.readout import Readout
from permjax._src.models import NTTriple
from permjax._src.models import sparse_rows
from permjax._src.models import SparseRows
from permjax._src.sources import gp_member_source
from permjax._src.sources import Members
from permjax._src.sources import MemberSource
from permjax._src.sources import network_member_source
from permjax._src.task import all_inputs
from permjax._src.task import apply_permutation
from permjax._src.task import count_inputs
from permjax._src.task import Examples
from permjax._src.task import inputs_with_n_ones
from permjax._src.task import iter_all_inputs
from permjax._src.task import iter_inputs_with_n_ones
from permjax._src.task import make_examples
from permjax._src.task import permutation_matrix
from permjax._src.task import random_inputs
from permjax._src.task import random_permutation
from permjax._src.task import training_set
from permjax._src.task import validate_permutation
from permjax._src.templates import addition_program
from permjax._src.templates import check_correlation
from permjax._src.templates import multiplication_program
from permjax._src.templates import permutation_program
from permjax._src.templates import Program
from permjax._src.templates import run_or_rule
from permjax._src.templates import Template
from permjax._src.training import fit_gd
from permjax._src.training import fit_linearized
from permjax._src.training import linearized_outputs
from permjax._src.training import max_stable_lr
from permjax._src.training import TrainConfig
from permjax._src.training import training_loss

from permjax import readout  # the readout rules: permjax.readout.midpoint()

__version__ = "0.2.0"

__all__ = (
    "CheckpointError", "EnsembleResult", "TrainConfig",
    "TrainingDivergedError", "fit_gd", "fit_linearized",
    "gather_across_processes", "host_member_ids", "linearized_outputs",
    "max_stable_lr", "merge_results", "mlp_ntk", "train_ensemble",
    "training_loss",
    "Examples", "GPPrediction", "KernelPair", "MLPSpec", "NTTriple",
    "SparseRows", "SymmetricGP", "SymmetricSampler", "all_inputs",
    "isotypic_blocks", "symmetric_sampler", "sparse_rows", "apply_permutation", "binding_n",
    "count_inputs", "empirical_ntk", "ensemble_size",
    "ensemble_size_enumerated", "gp_predict", "inputs_with_n_ones",
    "iter_all_inputs", "iter_inputs_with_n_ones", "kappa0", "kappa1",
    "kernel_matrices", "log_fail_probability", "make_examples",
    "paper_figure_bound", "paper_style_bound", "permutation_matrix",
    "random_inputs", "random_permutation", "symmetric_gp",
    "symmetric_kernel_values", "training_set", "validate_permutation",
    "worst_n", "worst_ratio",
    "Curve", "GrowthCheckpoint", "GrowthState", "Members", "MemberSource",
    "TestSet", "UnconvergedMembersError", "GOOD_STATUSES",
    "gp_member_source", "grow", "network_member_source", "posterior_mean",
    "unique_inputs", "Readout", "readout",
    "ExactMean", "Execution", "Program", "Template", "addition_program",
    "check_correlation", "exact_mean", "execute", "execution_ensemble_size",
    "multiplication_program", "permutation_program", "reachable_states",
    "run_or_rule",
    "EnsembleMean", "ExecutionCheckpoint", "ExecutionCurves", "ExecutionRule",
    "ExecutionState", "ProgramTestSet", "execution_rule", "gp_ensemble_mean",
    "grow_execution", "margin_threshold", "network_ensemble_mean",
    "program_test_set", "SBNMachine", "sbn_interpret", "sbn_program",
    "sbn_program_named",
)


def __getattr__(name):
  if name == "nt":
    from permjax._src.nt_compat import nt  # pylint: disable=import-outside-toplevel
    return nt
  raise AttributeError(f"module 'permjax' has no attribute {name!r}")
