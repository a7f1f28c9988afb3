"""permjax: how wide ReLU networks learn discrete algorithms exactly, in JAX.

Reproduces and extends arXiv 2502.16763 (Giapitzakis, Back de Luca,
Fountoulakis): v1, a two-layer ReLU network trained by gradient descent on
the k standard basis vectors learns a fixed permutation of every nonzero
binary input, its infinite-width limit is a Gaussian process whose mean has
the answer's sign pattern, and averaging N trained networks is exact with
high probability; v2, template programs (addition, multiplication, SBN)
executed step by step by the same kind of network. The theory the code
implements is in ``docs/theory/`` of the repository.

Vocabulary (``docs/glossary.md``): a **regime** is where members come from
(``gp``: draws of the infinite-width GP; ``ntk``/``standard``: finite
networks in that parameterization); a **kernel** is ``ntk`` or ``nngp``, the
GP a regime's members follow; the **parameterization** is a property of an
:class:`MLPSpec` only; **train** is the training examples; a **program** is
a template program of a registered **family** and size ``bits``; a **rule**
is a readout's name; a **scorer** says what "exact" means for a test set.

The public API, by concept (each implemented in one private module):

* the permutation task: :func:`validate_permutation`,
  :func:`random_permutation`, :func:`training_set`, :func:`random_inputs`,
  :func:`inputs_with_n_ones`, :func:`all_inputs` and their chunked iterators;
* models: :class:`MLPSpec`, one spec giving a Flax model and its
  neural-tangents ``(init_fn, apply_fn, kernel_fn)``;
* kernels and GP: :func:`kernel_matrices`, :func:`empirical_ntk`,
  :func:`mlp_ntk`, :func:`gp_predict`, :func:`posterior_mean`,
  :func:`symmetric_gp` (α_n, β_n, σ²_n), :func:`template_mean`,
  :func:`symmetric_sampler`;
* training: :class:`TrainConfig`, :func:`train_ensemble` (vmapped over
  members, sharded over devices and hosts, checkpointed), :func:`fit_gd`,
  :func:`fit_linearized`;
* growth (one protocol for every task family): member sources
  (:func:`gp_member_source`, :func:`network_member_source`), scorers
  (:class:`InputScorer`, :class:`ProgramScorer`), :func:`grow` with
  :class:`GrowthState`, :class:`GrowthCheckpoint` and :class:`Curve`;
  :func:`ensemble_average` for a fixed N;
* readouts (:mod:`permjax.readout`): :class:`Readout` rules ``zero``,
  ``zero_fixed``, ``fixed``, ``margin`` (:func:`margin`), ``midpoint``,
  ``optimal``, ``self_calibrated``;
* template programs: :class:`Program` of :class:`Template` s, the family
  registry (:func:`program`, :func:`program_families`,
  :func:`program_family`, :func:`register_program`), the OR rule
  (:func:`run_or_rule`), :func:`execute` with a predictor
  (:func:`exact_mean`, :func:`gp_ensemble_mean`,
  :func:`network_ensemble_mean`), :func:`program_test_set`,
  :func:`execution_ensemble_size`; certificates at any bit length
  without enumeration (:func:`certify`, :func:`certified_ensemble_size`,
  :func:`margin_readout`, :func:`program_shape`); SBN machines (:class:`SBNMachine`,
  :func:`sbn_program`, :func:`sbn_interpret`), their assembler
  (:func:`sbn_assemble`, :func:`sbn_disassemble`) and a program library
  with Python references (:func:`sbn_library_program`,
  :func:`check_sbn_program`);
* every nonzero input at scale: :func:`evaluate_all_inputs` (finite members
  on all ``2^k − 1`` inputs, split-mask partial sums, streamed by layer,
  sharded, resumable) over :func:`stacked_members`;
* graph algorithms (:mod:`permjax.graphs`): a :class:`NodeProgram` (a
  template program with an outbox), :func:`flooding_program`,
  :func:`bfs_program`, :func:`dfs_program`, :func:`bellman_ford_program`,
  :func:`run_graph` (message passing with any predictor and readout),
  :func:`run_graph_sharded` (every round on the devices, nodes split over
  :func:`node_mesh`),
  :func:`graph_test_set`, :class:`GraphScorer`, :func:`graph_ensemble_size`;
* ensemble complexity: :func:`ensemble_size`, :func:`paper_style_bound`,
  :func:`paper_figure_bound`, :func:`worst_n`, :func:`worst_ratio`.

``permjax.nt`` is neural-tangents, patched to run on the installed JAX (it is
imported on first use).
"""

from permjax._src.all_inputs import AllInputsCounts
from permjax._src.all_inputs import evaluate_all_inputs
from permjax._src.all_inputs import stacked_members
from permjax._src.all_inputs import TwoLayerMembers
from permjax._src.checkpoint import CheckpointError
from permjax._src.complexity import binding_n
from permjax._src.complexity import ensemble_size
from permjax._src.complexity import ensemble_size_enumerated
from permjax._src.complexity import log_fail_probability
from permjax._src.complexity import paper_figure_bound
from permjax._src.complexity import paper_style_bound
from permjax._src.complexity import worst_n
from permjax._src.complexity import worst_ratio
from permjax._src.ensemble_training import EnsembleResult
from permjax._src.ensemble_training import gather_across_processes
from permjax._src.ensemble_training import host_member_ids
from permjax._src.ensemble_training import merge_results
from permjax._src.ensemble_training import train_ensemble
from permjax._src.ensemble_training import TrainingDivergedError
from permjax._src.execution import execute
from permjax._src.graph_ablations import ablation_program as graph_ablation_program
from permjax._src.graph_ablations import collision_ablation
from permjax._src.graph_ablations import encoding_ablation
from permjax._src.graph_bounds import all_encodings_size
from permjax._src.graph_bounds import authors_bound
from permjax._src.graph_bounds import graph_ensemble_size
from permjax._src.graph_bounds import graph_margin
from permjax._src.message_passing import graph_test_set
from permjax._src.message_passing import GraphRun
from permjax._src.message_passing import node_mesh
from permjax._src.message_passing import run_graph
from permjax._src.message_passing import run_graph_sharded
from permjax._src.message_passing import SlotCollisionError
from permjax._src.node_program import NodeProgram
from permjax._src.programs.bellman_ford import bellman_ford_program
from permjax._src.programs.bfs import bfs_program
from permjax._src.programs.dfs import dfs_program
from permjax._src.programs.flooding import flooding_program
from permjax._src.scorers import GraphScorer
from permjax._src.scorers import GraphTestSet
from permjax._src.execution import Execution
from permjax._src.certificates import Certificate
from permjax._src.certificates import certified_ensemble_size
from permjax._src.certificates import certify
from permjax._src.certificates import margin_readout
from permjax._src.certificates import program_shape
from permjax._src.certificates import ProgramShape
from permjax._src.execution import execution_ensemble_size
from permjax._src.execution import ideal_runs
from permjax._src.execution import margin
from permjax._src.execution import program_test_set
from permjax._src.execution import reachable_states
from permjax._src.gp import gp_predict
from permjax._src.gp import GPPrediction
from permjax._src.gp import posterior_mean
from permjax._src.gp import symmetric_gp
from permjax._src.gp import SymmetricGP
from permjax._src.gp import template_mean
from permjax._src.growth import accumulate
from permjax._src.growth import ACCURACY_TARGETS
from permjax._src.growth import check_unconverged
from permjax._src.growth import Curve
from permjax._src.growth import ensemble_average
from permjax._src.growth import first_reaching
from permjax._src.growth import GOOD_STATUSES
from permjax._src.growth import grow
from permjax._src.growth import GrowthCheckpoint
from permjax._src.growth import GrowthState
from permjax._src.growth import merge_curves
from permjax._src.growth import unconverged_count
from permjax._src.growth import UnconvergedMembersError
from permjax._src.hypercube import isotypic_blocks
from permjax._src.hypercube import symmetric_sampler
from permjax._src.hypercube import SymmetricSampler
from permjax._src.kernels import kappa0
from permjax._src.kernels import kappa1
from permjax._src.kernels import kernel_matrices
from permjax._src.kernels import KernelPair
from permjax._src.kernels import symmetric_kernel_values
from permjax._src.models import MLPSpec
from permjax._src.models import NTTriple
from permjax._src.models import sparse_rows
from permjax._src.models import SparseRows
from permjax._src.permutation import all_inputs
from permjax._src.permutation import apply_permutation
from permjax._src.permutation import count_inputs
from permjax._src.permutation import Examples
from permjax._src.permutation import inputs_with_n_ones
from permjax._src.permutation import iter_all_inputs
from permjax._src.permutation import iter_inputs_with_n_ones
from permjax._src.permutation import make_examples
from permjax._src.permutation import permutation_matrix
from permjax._src.permutation import random_inputs
from permjax._src.permutation import random_permutation
from permjax._src.permutation import training_set
from permjax._src.permutation import validate_permutation
from permjax._src.predictors import CountDecisions
from permjax._src.predictors import EnsembleMean
from permjax._src.predictors import exact_mean
from permjax._src.predictors import ExactMean
from permjax._src.predictors import gp_ensemble_mean
from permjax._src.predictors import network_average
from permjax._src.predictors import network_ensemble_mean
from permjax._src.predictors import NetworkAverage
from permjax._src.predictors import NTReferenceMean
from permjax._src.predictors import training_examples
from permjax._src.programs import families as program_families
from permjax._src.programs import Family as ProgramFamily
from permjax._src.programs import family as program_family
from permjax._src.programs import program
from permjax._src.programs import register as register_program
from permjax._src.programs.addition import addition_program
from permjax._src.programs.comparison import comparison_program
from permjax._src.programs.multiplication import multiplication_program
from permjax._src.programs.permutation import permutation_program
from permjax._src.programs.sbn import from_operands as sbn_from_operands
from permjax._src.programs.sbn import interpret as sbn_interpret
from permjax._src.programs.sbn import SBNMachine
from permjax._src.programs.sbn import sbn_program
from permjax._src.programs.sbn import signed as sbn_signed
from permjax._src.programs.sbn import to_operands as sbn_to_operands
from permjax._src.programs.sbn_library import check_program as check_sbn_program
from permjax._src.programs.sbn_library import LibraryProgram as SBNLibraryProgram
from permjax._src.programs.sbn_library import library_program as sbn_library_program
from permjax._src.programs.sbn_library import NAMES as SBN_LIBRARY
from permjax._src.readout import Readout
from permjax._src.sbn_assembly import assemble as sbn_assemble
from permjax._src.sbn_assembly import Assembly as SBNAssembly
from permjax._src.sbn_assembly import AssemblyError as SBNAssemblyError
from permjax._src.sbn_assembly import disassemble as sbn_disassemble
from permjax._src.scorers import first_errors
from permjax._src.scorers import InputScorer
from permjax._src.scorers import pair_exactness
from permjax._src.scorers import ProgramScorer
from permjax._src.scorers import ProgramTestSet
from permjax._src.scorers import TestSet
from permjax._src.scorers import unique_inputs
from permjax._src.sources import DENSE_AUTO_LIMIT
from permjax._src.sources import gp_member_source
from permjax._src.sources import GP_SAMPLERS
from permjax._src.sources import Members
from permjax._src.sources import MemberSource
from permjax._src.sources import network_member_source
from permjax._src.sources import TrainedNetworks
from permjax._src.tangents import empirical_ntk
from permjax._src.tangents import mlp_ntk
from permjax._src.templates import check_correlation
from permjax._src.templates import correlation_margin
from permjax._src.templates import Program
from permjax._src.templates import run_or_rule
from permjax._src.templates import Template
from permjax._src.training import fit_gd
from permjax._src.training import fit_linearized
from permjax._src.training import linearized_outputs
from permjax._src.training import max_stable_lr
from permjax._src.training import readout_gradient
from permjax._src.training import TrainConfig
from permjax._src.training import training_loss

from permjax import readout  # the readout rules: permjax.readout.midpoint()
from permjax import graphs  # graphs, colourings: permjax.graphs.grid_graph(3, 3)

__version__ = "0.3.0"

__all__ = (
    # the permutation task
    "Examples", "all_inputs", "apply_permutation", "count_inputs",
    "inputs_with_n_ones", "iter_all_inputs", "iter_inputs_with_n_ones",
    "make_examples", "permutation_matrix", "random_inputs",
    "random_permutation", "training_set", "validate_permutation",
    # models, kernels, GP
    "MLPSpec", "NTTriple", "SparseRows", "sparse_rows", "KernelPair",
    "kappa0", "kappa1", "kernel_matrices", "symmetric_kernel_values",
    "empirical_ntk", "mlp_ntk", "GPPrediction", "gp_predict",
    "posterior_mean", "SymmetricGP", "symmetric_gp", "template_mean",
    "SymmetricSampler", "isotypic_blocks", "symmetric_sampler",
    # training
    "TrainConfig", "EnsembleResult", "TrainingDivergedError", "fit_gd",
    "fit_linearized", "linearized_outputs", "max_stable_lr",
    "readout_gradient", "training_loss", "train_ensemble",
    "gather_across_processes", "host_member_ids", "merge_results",
    "CheckpointError",
    # growth
    "Members", "MemberSource", "DENSE_AUTO_LIMIT", "GP_SAMPLERS",
    "gp_member_source", "network_member_source", "TrainedNetworks",
    "TestSet", "unique_inputs",
    "InputScorer", "ProgramScorer", "ProgramTestSet", "first_errors",
    "pair_exactness", "ACCURACY_TARGETS", "GOOD_STATUSES", "Curve",
    "GrowthState", "GrowthCheckpoint", "UnconvergedMembersError", "grow",
    "merge_curves",
    "accumulate", "ensemble_average", "first_reaching", "check_unconverged",
    "unconverged_count",
    # readouts
    "Readout", "readout", "margin",
    # template programs
    "Program", "Template", "run_or_rule", "check_correlation",
    "correlation_margin", "ProgramFamily", "program", "program_families",
    "program_family", "register_program", "addition_program",
    "multiplication_program", "permutation_program", "comparison_program",
    "SBNMachine", "sbn_program", "sbn_interpret", "sbn_to_operands",
    "sbn_from_operands", "sbn_signed", "sbn_assemble", "sbn_disassemble",
    "SBNAssembly", "SBNAssemblyError", "sbn_library_program",
    "SBNLibraryProgram", "SBN_LIBRARY", "check_sbn_program",
    # execution
    "Execution", "execute", "ideal_runs", "reachable_states",
    "program_test_set", "execution_ensemble_size", "ExactMean",
    "CountDecisions",
    "exact_mean", "NTReferenceMean", "EnsembleMean", "gp_ensemble_mean",
    "network_ensemble_mean", "NetworkAverage", "network_average",
    "training_examples",
    # graph algorithms: node programs run by message passing
    "graphs", "NodeProgram", "flooding_program", "bfs_program", "dfs_program",
    "bellman_ford_program", "run_graph", "run_graph_sharded", "node_mesh",
    "GraphRun",
    "SlotCollisionError", "graph_test_set", "GraphTestSet", "GraphScorer",
    "graph_ensemble_size", "graph_margin", "all_encodings_size",
    "authors_bound", "graph_ablation_program", "collision_ablation",
    "encoding_ablation",
    # certificates without enumeration
    "Certificate", "certify", "certified_ensemble_size", "margin_readout",
    "program_shape", "ProgramShape",
    # every input at scale
    "AllInputsCounts", "TwoLayerMembers", "evaluate_all_inputs",
    "stacked_members",
    # ensemble complexity
    "binding_n", "ensemble_size", "ensemble_size_enumerated",
    "log_fail_probability", "paper_figure_bound", "paper_style_bound",
    "worst_n", "worst_ratio",
)


def __getattr__(name):
  if name == "nt":
    from permjax._src.nt_compat import nt  # pylint: disable=import-outside-toplevel
    return nt
  raise AttributeError(f"module 'permjax' has no attribute {name!r}")
