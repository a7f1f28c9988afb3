"""The public-API robustness fuzz, one executable case per defective call.

An outside fuzz of permjax's public API (at an older commit) listed 305
defective calls in four categories: ``b`` unclear error (raised inside
numpy/jax/flax/os, an AttributeError/KeyError/IndexError, or a misleading
message), ``c`` silent (nonsense accepted, NaN passed through, a wrong
result), ``d`` hang/crash/huge memory, ``e`` a valid edge case that fails.
Every one of them is a :class:`Case` below, in the order of the fuzz's
table, written against today's API (renamed functions get their successor
call). ``tests/test_fuzz.py`` runs them.

What a case expects (``expect``):

* ``"error"``: ONE clear ``ValueError``/``TypeError`` (or a documented
  permjax error: ``CheckpointError``, ``TrainingDivergedError``,
  ``UnconvergedMembersError``, ``RecordsError``), raised by permjax's own
  code, with a one-line message that names the bad parameter or value
  (``fragment``: alternatives separated by ``|``, each a case-sensitive
  substring; at least one must occur) and none of ``forbid`` (misleading
  advice the old message gave).
* ``"ok"``: no exception, and ``check`` (an expression over ``result``,
  evaluated in the same namespace) is True.
* ``"skip"``: no successor exists (``reason`` says why).

``kind``: ``"lib"`` cases run in the test process (30 s alarm);
``"subprocess"`` cases run in a child Python under ``RLIMIT_AS`` = 4 GB and
a 20 s timeout (size blow-ups that crash or eat memory); ``"cli"`` cases
run ``python -m <argv>`` in a fresh temporary folder with a 60 s timeout,
where ``{workdir}`` (a fresh path), ``{afile}`` (an existing file),
``{foreign}`` (a non-empty folder of someone else's files) and
``{fig1dir}`` (a folder holding a figure1 run's records) are substituted.
A CLI ``"error"`` means exit code 2 and exactly one non-empty stderr line
(tqdm progress bars aside), starting with ``error:``, no traceback.

The short names of the calls are :func:`setup`'s namespace (``P``, ``key``,
``R``, ``M``, ``tr``/``te``, ``LIN``, ``add2``, ``mul1``, ``em``, ``SM``,
...); expensive ones are built on first use, once per process.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import math
import os
import sys
import tempfile
import traceback
import types

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------
# The namespace
# --------------------------------------------------------------------------

class Namespace(dict):
  """The calls' short names: eager values, plus builders run on first use."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    self.builders = {}

  def lazy(self, **builders):
    self.builders.update(builders)

  def __repr__(self):
    return (f"<fuzz namespace: {len(self)} names built, "
            f"{len(set(self.builders) - set(self))} lazy>")

  def __missing__(self, name):
    if name not in self.builders:
      raise KeyError(name)
    value = self.builders[name](self)
    self[name] = value
    return value

  def globals_for(self, *codes) -> dict:
    """A fresh globals dict holding every name ``codes`` use (lazy names
    built now)."""
    for name in sorted(set().union(*(_names_of(c) for c in codes))):
      if name in self.builders and not dict.__contains__(self, name):
        self[name]  # pylint: disable=pointless-statement
    out = dict(self)
    out["__builtins__"] = builtins
    return out


def _names_of(code: types.CodeType) -> set:
  names = set(code.co_names)
  for const in code.co_consts:
    if isinstance(const, types.CodeType):
      names |= _names_of(const)
  return names


def setup() -> Namespace:
  """The namespace every case runs in (a fresh dict copy per case)."""
  # pylint: disable=import-outside-toplevel
  import jax
  import jax.numpy as jnp
  import numpy as np
  from scipy import special
  from scipy import stats as scipy_stats

  import permjax
  from permjax import readout as R

  M = permjax.MLPSpec  # pylint: disable=invalid-name
  nan, inf = float("nan"), float("inf")

  def mkdir():
    """A fresh empty folder."""
    return tempfile.mkdtemp(prefix="fuzz-")

  def afile():
    """The path of a fresh existing (non-folder) file."""
    path = os.path.join(mkdir(), "afile.txt")
    with open(path, "w") as f:
      f.write("not a folder\n")
    return path

  def prog1(**changes):
    """A one-template program: bit a = 1 writes bit b (k = T = 1); its
    result is b, which must equal a after one step."""
    args = dict(
        name="one", fields=(("a", 1), ("b", 1)),
        templates=(permjax.Template("t", (("a", 0),), (), (("b", 0),)),),
        steps=1, operand_bits=1,
        initial=lambda a, b: np.stack([a, np.zeros_like(a)], axis=1),
        result=lambda s: np.asarray(s, np.int64)[:, 1],
        truth=lambda a, b: a)
    args.update(changes)
    return permjax.Program(**args)

  def p_exact(stats, k, n, N, tau):
    """P(an N-member Gaussian average reads an n-ones input right) at
    threshold tau, straight from the formula (independent of complexity)."""
    alpha, beta, sigma2 = (float(v) for v in stats)
    s = math.sqrt(sigma2 / N)
    return (scipy_stats.norm.cdf((alpha - tau) / s) ** n
            * scipy_stats.norm.cdf((tau - beta) / s) ** (k - n))

  def midpoint_tau(k, n, kernel, spec=None):
    s = permjax.symmetric_gp(k, n, spec=spec, kernel=kernel)
    return 0.5 * (float(s.alpha) + float(s.beta))

  def smallest_n_input(k, n, member_kernel, tau_kernel, spec=None,
                       target=0.9):
    """Smallest N with P(exact) >= target on one n-ones input, by a scan."""
    stats = permjax.symmetric_gp(k, n, spec=spec, kernel=member_kernel)
    tau = midpoint_tau(k, n, tau_kernel, spec)
    for N in range(1, 100_000):
      if p_exact(stats, k, n, N, tau) >= target:
        return N
    return None

  def smallest_n_all(k, member_kernel, tau_kernel, target=0.9):
    """Smallest N with sum_n C(k, n) P_fail(k, n, N) <= 1 - target over
    n = 2..k (n = 1 are training points), by a scan."""
    rows = []
    for n in range(2, k + 1):
      rows.append((n, permjax.symmetric_gp(k, n, kernel=member_kernel),
                   midpoint_tau(k, n, tau_kernel), math.comb(k, n)))
    for N in range(1, 100_000):
      total = sum(c * (1.0 - p_exact(s, k, n, N, tau))
                  for n, s, tau, c in rows)
      if total <= 1.0 - target:
        return N
    return None

  def smallest_n_program(program, member_kernel, tau_kernel, target=0.9,
                         tau_spec=None):
    """Execution union bound by a scan: every bit of every reachable state
    with n >= 2 matched templates, midpoint thresholds of ``tau_kernel``."""
    states = permjax.reachable_states(program)
    n, c1 = program.write_counts(states)
    truth = program.step(states)
    live = n >= 2
    n, c1, truth = n[live], c1[live], truth[live]
    s = permjax.symmetric_gp(program.k, n, kernel=member_kernel)
    t = permjax.symmetric_gp(program.k, n, spec=tau_spec, kernel=tau_kernel)
    mean = permjax.template_mean(s.alpha[:, None], s.beta[:, None], c1,
                                 program.column_weights()[None])
    tau = (0.5 * (t.alpha + t.beta))[:, None]
    sign = np.where(truth, 1.0, -1.0)
    sigma = np.sqrt(s.sigma2)[:, None]
    for N in range(1, 100_000):
      z = sign * (mean - tau) * math.sqrt(N) / sigma
      if np.exp(special.log_ndtr(-z)).sum() <= 1.0 - target:
        return N
    return None

  def program_accuracy(test, average, tau):
    """Fraction of pairs every step of which reads right at threshold tau
    (zero encodings read 0), straight from a ProgramTestSet."""
    bits = (np.asarray(average) > tau) & test.x.any(axis=1)[:, None]
    wrong = np.concatenate([(bits != test.truth).any(axis=1), [False]])
    return float((~wrong[test.path].any(axis=1)).mean())

  class WrongShapePredictor:
    """A predictor returning (B, 3) for a D = 6 program."""
    members = 1

    def __call__(self, program, x):
      return np.zeros((len(x), 3))

  def state(sums_shape, members, rules=1, acc_members=None):
    count = members if acc_members is None else acc_members
    return permjax.GrowthState(np.zeros(sums_shape), members,
                               np.zeros((rules, max(count, 0))),
                               np.array(["exact"] * max(count, 0), "<U16"),
                               np.zeros(max(count, 0)), [])

  ns = Namespace(
      np=np, jnp=jnp, jax=jax, math=math, os=os, permjax=permjax, R=R, M=M,
      nan=nan, inf=inf, P=[1, 2, 0], P4=[1, 2, 3, 0],
      key=jax.random.key(0), SM=permjax.SBNMachine,
      Template=permjax.Template, Program=permjax.Program,
      LIN=permjax.TrainConfig(trainer="linearized"),
      em=permjax.exact_mean(),
      cov3=lambda a, b, c: float(a == b == c),
      X5=np.array([[2 ** -0.5, 2 ** -0.5, 0.0, 0.0, 0.0]]),
      A5=np.array([[0.5, 0.5, 0.1, -0.02, 0.2]]),
      mkdir=mkdir, afile=afile, prog1=prog1, p_exact=p_exact,
      smallest_n_input=smallest_n_input, smallest_n_all=smallest_n_all,
      smallest_n_program=smallest_n_program,
      program_accuracy=program_accuracy,
      WrongShapePredictor=WrongShapePredictor, state=state)
  ns.lazy(
      tr=lambda n: permjax.training_set(n["P"]),
      te=lambda n: permjax.all_inputs(n["P"]),
      tr4=lambda n: permjax.training_set(n["P4"]),
      te4=lambda n: permjax.all_inputs(n["P4"]),
      TS4=lambda n: permjax.unique_inputs(n["te4"]),
      add2=lambda n: permjax.addition_program(2),
      mul1=lambda n: permjax.multiplication_program(1),
      st=lambda n: n["add2"].initial_states([1, 2], [3, 0]),
      stats=lambda n: permjax.symmetric_gp(10, 2),
      p16=lambda n: M(16).init_params(n["key"], 3, 3),
      model16=lambda n: M(16).flax_model(3),
      sam3=lambda n: permjax.symmetric_sampler(3, [1, 2], n["cov3"]),
      src4=lambda n: permjax.gp_member_source(M(1), "ntk", n["tr4"],
                                              n["te4"].x, n["key"]),
      isc4=lambda n: permjax.InputScorer(n["TS4"], {"z": R.zero()}),
      pt2=lambda n: permjax.program_test_set(n["add2"]),
      zf2=lambda n: R.zero().with_fixed_zeros(n["add2"].structural_zeros()),
      psc=lambda n: permjax.ProgramScorer(n["add2"], n["pt2"],
                                          {"z": n["zf2"]}),
      psrc=lambda n: permjax.gp_member_source(
          M(1), "ntk", permjax.training_examples(n["add2"]), n["pt2"].x,
          n["key"], sampler="dense"),
      r1=lambda n: permjax.train_ensemble(M(16), n["tr"], n["key"], 2,
                                          x_test=n["te"].x, config=n["LIN"]),
      r2=lambda n: permjax.train_ensemble(M(16), n["tr"], n["key"],
                                          member_ids=[2, 3],
                                          x_test=n["te"].x[:3],
                                          config=n["LIN"]),
      r3=lambda n: permjax.train_ensemble(M(8), n["tr"], jax.random.key(5),
                                          member_ids=[4, 5],
                                          x_test=n["te"].x, config=n["LIN"]),
      sbnA=lambda n: permjax.sbn_program(permjax.SBNMachine(
          2, 2, ((0, 0, 1),)), 1),
      sbnB=lambda n: permjax.sbn_program(permjax.SBNMachine(
          2, 2, ((1, 1, 1),)), 1),
  )
  return ns


# --------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Case:
  """One row of the fuzz table (see the module docstring)."""
  id: str
  cat: str        # b | c | d | e
  area: str       # the fuzz script: p01_readout, p02_complexity, ...
  call: str       # expression or statement block (sets `result`); cli: argv
  expect: str     # error | ok | skip
  fragment: str | None = None
  check: str | None = None
  kind: str = "lib"  # lib | cli | subprocess
  forbid: str | None = None
  reason: str | None = None
  own_frame: bool = True  # the raising frame must lie under permjax/

  @property
  def argv(self) -> list:
    return list(eval(self.call))  # pylint: disable=eval-used


CASES: list[Case] = []


def _c(cat, area, call, expect, fragment=None, check=None, kind="lib", **kw):
  number = len(CASES) + 1
  CASES.append(Case(f"{area[:3]}-{number:03d}", cat, area, call.strip(),
                    expect, fragment, check, kind, **kw))


# Message fragments used often (alternatives).
N_MEMBERS = "N (|N=|N >|N must|ensemble size|members"
N_ONES = "n (|n=|n must|number of ones|(n, k)"
BIG_1E9 = "1000000000|1,000,000,000|1e+09|1e9|10**9"
HALT = "halt|budget|max_instructions"
FIG1 = ('"permjax.experiments.figure1", "--config", "smoke", "--regimes", '
        '"gp", "--k_values", "3", "--k_curves", "3", "--seeds", "1"')
TE = '"permjax.experiments.template_execution"'

# ---- (e) valid edge cases that fail --------------------------------------

# M(1) is the documented default spec (None): the same answer as without it.
_c("e", "p02_complexity",
   "permjax.ensemble_size(13, readout=R.optimal(spec=M(1)))", "ok",
   check="result == permjax.ensemble_size(13, readout=R.optimal('ntk'))")
# Width 1 cannot interpolate 9 targets (6 parameters): refuse naming the
# width, not a non-finite solve with advice that fails the same way.
_c("e", "p05_training",
   "permjax.train_ensemble(M(1), tr, key, 2, x_test=te.x, config=LIN)",
   "error", "width", forbid="solver='cg'|dtype='float64'")
_c("e", "p06_growth", "src4(np.array([], int))", "ok",
   check="result.outputs.shape == (0, 15, 4) and len(result.status) == 0")
# k = T = 1: every state is a training point; the exact mean is the write set.
_c("e", "p08_exec", "permjax.execute(prog1(), em)", "ok",
   check="result.pairs == 4 and result.all_correct and result.matches_or_rule")
# 2^61 - (-2^61) = 2^62 wraps to -2^62 in 63 bits: negative, jump to halt.
_c("e", "p09_sbn",
   "permjax.sbn_interpret(SM(2, 63, ((0, 1, 1),)), [[2**61, -2**61]], 2)",
   "ok", check="result[0].tolist() == [[-2**62, -2**61]] and "
               "result[1].tolist() == [1]")
_c("e", "p09_sbn", "permjax.sbn_interpret(SM(2, 64, ((0, 1, 1),)), [[5, 3]], 2)",
   "ok", check="result[0].tolist() == [[2, 3]] and result[1].tolist() == [1]")
_c("e", "p10_cli",
   '["permjax.experiments.figure1", "--config", "smoke", "--readout", '
   '"self_calibrated", "--regimes", "gp", "--k_values", "2", "--k_curves", '
   '"2", "--seeds", "1", "--max_members", "64", "--workdir", "{workdir}"]',
   "ok",
   check="os.path.exists(os.path.join(result['workdir'], 'figure1_left.png'))"
         " and os.path.exists(os.path.join(result['workdir'], "
         "'figure1_right.png'))", kind="cli")
_c("e", "p10_cli",
   '["permjax.experiments.figure1", "--config", "smoke", "--regimes", "ntk", '
   '"--width", "1", "--k_values", "3", "--k_curves", "3", "--seeds", "1", '
   '"--workdir", "{workdir}"]', "error", "width",
   forbid="solver='cg'|dtype='float64'", kind="cli")
# n = 1 inputs are training points: interpolated exactly, one member.
_c("e", "p12_extra", "permjax.ensemble_size_enumerated([1, 2, 3, 4, 0], n=1)",
   "ok", check="result == 1 == permjax.ensemble_size(5, n=1)")
_c("e", "p12_extra",
   "permjax.ensemble_size_enumerated([1, 2, 3, 4, 5, 0], n=1)", "ok",
   check="result == 1 == permjax.ensemble_size(6, n=1)")

# ---- (d) hang / crash / memory: refuse up front, naming the size ---------

_c("d", "p02_complexity", "permjax.worst_n(10**7)", "error",
   "10000000|10,000,000|1e+07|1e7|10**7", kind="subprocess")
_c("d", "p03_task_gp", "permjax.random_permutation(key, 10**9)", "error",
   BIG_1E9, kind="subprocess")
_c("d", "p07_templates", "permjax.addition_program(10**9)", "error", BIG_1E9,
   kind="subprocess")
_c("d", "p07_templates", "permjax.run_or_rule(add2, st, steps=10**9)",
   "error", "steps", kind="subprocess")
_c("d", "p10_cli",
   f'[{TE}, "validate", "--programs", "sbn_loop=12", "--workdir", '
   '"{workdir}"]', "error", "12", kind="cli")
_c("d", "p11_misc", "permjax.random_inputs(key, P, 2, 10**10)", "error",
   "num|10,000,000,000|10000000000|1e+10", kind="subprocess")
_c("d", "p11_misc", "permjax.program('sbn_idioms', 8)", "error",
   "inputs|w=8|2^24|16777216|16,777,216|bits", kind="subprocess")

# ---- (c) silent --------------------------------------------------------------

_c("c", "p01_readout", "R.Readout('midpoint', kernel='ntk', spec='notaspec')",
   "error", "spec")
_c("c", "p01_readout", "R.Readout('self_calibrated', tau=3, kernel='foo')",
   "error", "tau|kernel")
# The zero rule's threshold is ε by definition; tau=0.5 is fixed(0.5)
# masquerading as "zero" (and thresholds() would still report 0).
_c("c", "p01_readout", "R.Readout('zero', tau=0.5)", "error",
   "tau|threshold")
_c("c", "p01_readout", "R.count_nonzeros([[-1, -1]])", "error", "row")
_c("c", "p01_readout", "R.count_nonzeros([[inf, inf]])", "error", "row")
_c("c", "p01_readout", "R.fixed(0.1).thresholds('a', 'b')", "error", "'a'")
_c("c", "p01_readout", "R.from_name('zero', kernel='foo')", "error", "kernel")
_c("c", "p01_readout", "R.midpoint('ntk').bits(A5, np.vstack([X5, X5]))",
   "error", "x must|n_inputs|rows")
_c("c", "p01_readout",
   "R.midpoint('ntk').bits(np.array([[nan, 0.5, 0.1, 0., 0.]]), X5)",
   "error", "NaN")
# Per-n thresholds are those of normalised inputs; 0/1 rows are read wrong.
_c("c", "p01_readout",
   "R.midpoint('ntk').bits(A5, np.array([[1., 1., 0., 0., 0.]]))", "error",
   "normali")
_c("c", "p01_readout", "R.midpoint('ntk').bits(A5, X5, N=0)", "error",
   N_MEMBERS)
_c("c", "p01_readout", "R.midpoint('ntk').thresholds(10, 2, N=-3)", "error",
   N_MEMBERS)
_c("c", "p01_readout", "R.optimal('ntk').bits(A5, X5, N=-4)", "error",
   N_MEMBERS)
_c("c", "p01_readout", "R.optimal('ntk').thresholds(10, 2, N=-1)", "error",
   N_MEMBERS)
_c("c", "p01_readout", "R.optimal('ntk').thresholds(10, 2, N=0)", "error",
   N_MEMBERS)
_c("c", "p01_readout", "R.optimal('ntk').thresholds(10, 2, N=nan)", "error",
   N_MEMBERS)
_c("c", "p01_readout", "R.optimal_threshold(10, -2, 1, stats)", "error",
   N_ONES)
_c("c", "p01_readout", "R.optimal_threshold(10, 2, 0, stats)", "error",
   N_MEMBERS)
_c("c", "p01_readout", "R.optimal_threshold(10, 2, nan, stats)", "error",
   N_MEMBERS)
_c("c", "p01_readout", "R.optimal_threshold(10, 20, 1, stats)", "error",
   N_ONES)
_c("c", "p01_readout", "R.optimal_threshold(10, 2, 1, (-1.0, 1.0, 1.0))",
   "error", "alpha|α|beta|β")
_c("c", "p01_readout",
   "R.self_calibrated().bits(np.array([[nan, 0.5, 0.1, 0., 0.]]), X5)",
   "error", "NaN")
_c("c", "p01_readout", "R.self_calibrated_thresholds(A5, 'x')", "error",
   N_ONES + "|'x'")
_c("c", "p01_readout", "R.zero().bits(np.array([[nan, 1.0]]), None)", "error",
   "NaN")
_c("c", "p01_readout", "R.zero().thresholds(-5, 99)", "error",
   "k=|k must|-5")
_c("c", "p02_complexity", "permjax.binding_n(10, 5, readout=R.fixed(5.0))",
   "error", "threshold|wrong side")
_c("c", "p02_complexity", "permjax.ensemble_size(10, target='0.9')", "error",
   "target")
# Legitimate now: midpoint() follows the NNGP members (checked by a scan).
_c("c", "p02_complexity",
   "permjax.ensemble_size(13, kernel='nngp', readout=R.midpoint())", "ok",
   check="result == smallest_n_input(13, 2, 'nngp', 'nngp')")
_c("c", "p02_complexity",
   "permjax.ensemble_size(13, kernel='nngp', scope='all', "
   "readout=R.midpoint())", "ok",
   check="result == 16 == smallest_n_all(13, 'nngp', 'nngp')")
# Legitimate: an explicit readout kernel is kept on purpose (Readout.follow
# docs: reading NTK members with NNGP thresholds is a deliberate choice); the
# answer must be that of NTK members read at NNGP midpoints.
_c("c", "p02_complexity",
   "permjax.ensemble_size(13, kernel='ntk', scope='all', "
   "readout=R.midpoint('nngp'))", "ok",
   check="result == smallest_n_all(13, 'ntk', 'nngp')")
# Legitimate now: midpoint() takes the members' spec as well.
_c("c", "p02_complexity",
   "permjax.ensemble_size(13, spec=M(8, b_std=1.), readout=R.midpoint())",
   "ok", check="result == smallest_n_input(13, 2, 'ntk', 'ntk', "
               "spec=M(8, b_std=1.))")
_c("c", "p02_complexity",
   "permjax.ensemble_size_enumerated([1, 2, 0], n=2, scope='all')", "error",
   "n=2|scope")
_c("c", "p03_task_gp", "M(8).flax_model(out_dim=0).init(key, jnp.ones((1, 3)))",
   "error", "out_dim")
_c("c", "p03_task_gp", "M(8).nt_triple(out_dim=-1)", "error", "out_dim")
_c("c", "p03_task_gp", "permjax.iter_all_inputs([0, 0])", "error",
   "permutation")
# kappa0 is traceable (under jit a traced NaN passes through, as IEEE
# maths does); a concrete NaN given to the public function is refused.
_c("c", "p03_task_gp", "permjax.kappa0(nan)", "error", "rho")
_c("c", "p03_task_gp", "permjax.kappa1(5.0)", "error", "rho|ρ|[-1, 1]|-1..1")
_c("c", "p03_task_gp", "permjax.make_examples(P, [[1, 0, 1]], dtype=np.int32)",
   "error", "dtype")
_c("c", "p03_task_gp",
   "permjax.make_examples(P, [[1, 0, 1]], normalize='no')", "error",
   "normalize")
_c("c", "p03_task_gp",
   "permjax.symmetric_kernel_values(M(8), 10, 2, normalize='no')", "error",
   "normalize")
_c("c", "p03_task_gp", "permjax.training_set(P, dtype=str)", "error", "dtype")
_c("c", "p04_gp_sampler", "permjax.isotypic_blocks(3, [1], lambda a, b, c: nan)",
   "error", "cov_fn|finite|NaN|nan")
_c("c", "p04_gp_sampler",
   "permjax.posterior_mean(M(1), tr.x, np.full((3, 3), nan), te.x)", "error",
   "y_train")
# Legitimate: sparse_rows is an exact storage conversion (NaN != 0 is a
# nonzero and is kept as given); the consumers refuse non-finite inputs.
_c("c", "p04_gp_sampler", "permjax.sparse_rows([[nan, 0.0]])", "ok",
   check="result.indices.tolist() == [[0]] and "
         "bool(np.isnan(result.values[0, 0]))")
_c("c", "p04_gp_sampler", "permjax.symmetric_sampler(3, '12', cov3)", "error",
   "layers")
_c("c", "p04_gp_sampler",
   "permjax.symmetric_sampler(3, [1, 2], lambda a, b, c: inf)", "error",
   "cov_fn|finite|inf")
_c("c", "p04_gp_sampler",
   "permjax.symmetric_sampler(3, [1, 2], lambda a, b, c: nan)", "error",
   "cov_fn|finite|NaN|nan")
_c("c", "p04_gp_sampler", "permjax.symmetric_sampler(3, [1.7], cov3)",
   "error", "layers")
_c("c", "p04_gp_sampler", "permjax.symmetric_sampler(True, [1], cov3)",
   "error", "True")
_c("c", "p05_training", "permjax.TrainConfig().step_size(-1)", "error",
   "lr_max")
_c("c", "p05_training", "permjax.TrainConfig().step_size(nan)", "error",
   "lr_max")
# Legitimate: the GD loop clamps its check block to max_steps, so the loss
# is checked at step 10; the fit must run exactly the 10 steps.
_c("c", "p05_training",
   "permjax.fit_gd(M(16), p16, None, tr.y, 0.5, permjax.TrainConfig("
   "check_every=10**6, max_steps=10, tol=0.0), 3)", "ok",
   check="int(result.steps) == 10")
_c("c", "p05_training", "permjax.TrainConfig(lr=True)", "error", "lr")
# tol=inf: every loss is below it, so training "converges" before a step.
_c("c", "p05_training", "permjax.TrainConfig(tol=inf)", "error", "tol")
# Legitimate: a TrainConfig carries the fields of both trainers (solver is
# documented as linearized-only), and presets rely on it: figure1's paper
# preset is DEFAULT_TRAIN (linearized, solver='cg') with trainer='gd'.
_c("c", "p05_training", "permjax.TrainConfig(trainer='gd', solver='cg')",
   "ok", check="result.trainer == 'gd' and result.solver == 'cg'")
# Legitimate for the same reason (lr is the GD step; the linearized trainer
# has none). The CLI, which knows which flags were given, is held to more
# (see the figure1 --trainer linearized --lr case).
_c("c", "p05_training", "permjax.TrainConfig(trainer='linearized', lr=0.1)",
   "ok", check="result.trainer == 'linearized' and result.lr == 0.1")
_c("c", "p05_training",
   "permjax.fit_gd(M(16), p16, None, tr.y, -1.0, "
   "permjax.TrainConfig(max_steps=20, check_every=5), 3)", "error", "lr")
_c("c", "p05_training",
   "permjax.fit_gd(M(16), p16, None, tr.y, nan, "
   "permjax.TrainConfig(max_steps=20, check_every=5), 3)", "error", "lr")
_c("c", "p05_training",
   "permjax.fit_gd(M(16), p16, None, jnp.ones(3), 0.5, "
   "permjax.TrainConfig(max_steps=20, check_every=5), 3)", "error", "y_train")
_c("c", "p05_training", "permjax.gather_across_processes('x')", "error",
   "EnsembleResult|result")
_c("c", "p05_training", "permjax.host_member_ids(10, 0.5, 2)", "error",
   "process_index")
_c("c", "p05_training", "permjax.host_member_ids(True)", "error",
   "n_members")
_c("c", "p05_training", "permjax.max_stable_lr(M(32), p16, None, tr.y, 'mean', 3)",
   "error", "parameters do not belong|spec")
_c("c", "p05_training", "permjax.merge_results([r1, r3])", "error",
   "spec|config|key|run")
_c("c", "p05_training",
   "permjax.train_ensemble(M(16), tr, key, 2, x_test=te.x, config=LIN, "
   "devices=[])", "error", "devices")
_c("c", "p05_training",
   "permjax.train_ensemble(M(16), tr, key, 3, x_test=te.x, config=LIN, "
   "member_ids=[0])", "error", "n_members|member_ids")
_c("c", "p05_training", "permjax.training_loss(jnp.ones((2, 1)), jnp.ones(3), "
   "'mean')", "error", "pred|target")
_c("c", "p05_training", "permjax.training_loss(jnp.ones((0,)), jnp.ones((0,)), "
   "'mean')", "error", "empty|pred|target")
# Legitimate: training_loss runs inside the jitted GD loop, where a NaN loss
# is how divergence is detected (status 'diverged'); it cannot raise there.
_c("c", "p05_training",
   "permjax.training_loss(jnp.full(3, jnp.nan), jnp.ones(3), 'mean')", "ok",
   check="bool(jnp.isnan(result))")
_c("c", "p06_growth", "permjax.GrowthCheckpoint(mkdir(), None)", "error",
   "fingerprint")
_c("c", "p06_growth", """
d = mkdir()
permjax.GrowthCheckpoint(d, {'k': 1}).close()
os.makedirs(os.path.join(d, 'states', '3'))
with open(os.path.join(d, 'states', '3', 'junk.bin'), 'wb') as f:
  f.write(b'not an orbax step')
result = permjax.GrowthCheckpoint(d, {'k': 1}).load()
""", "error", "states|unreadable|checkpoint")
_c("c", "p06_growth",
   "permjax.GrowthCheckpoint(mkdir(), {'k': 1}).save(state((2, 2), 2, "
   "acc_members=5)._replace(members=2, status=np.array(['exact'] * 2), "
   "final_loss=np.zeros(2)))", "error", "accuracy")
_c("c", "p06_growth", "src4(np.array([-1]))", "error", "id")
_c("c", "p06_growth", "src4(np.array([0, 0]))", "error", "id")
_c("c", "p06_growth", "src4(np.array([0.5]))", "error", "id")
_c("c", "p06_growth", "src4(np.array([2**40]))", "error", "id")
_c("c", "p06_growth", "permjax.grow(src4, isc4, max_members=8, chunk=2.5)",
   "error", "chunk")
_c("c", "p06_growth", "permjax.grow(src4, isc4, max_members=1.5, chunk=2)",
   "error", "max_members")
_c("c", "p06_growth", """
x = permjax.all_inputs(P4, normalize=False)
src = permjax.gp_member_source(M(1), 'ntk', tr4, x.x, key)
result = permjax.grow(src, permjax.InputScorer(permjax.unique_inputs(x),
                                               {'m': R.midpoint()}),
                      max_members=4, chunk=4)
""", "error", "normali")
_c("c", "p06_growth", "permjax.InputScorer(TS4, R.fixed(nan))", "error",
   "tau")
_c("c", "p06_growth",
   "permjax.grow(lambda ids: np.full((len(ids), 15, 4), nan), isc4, "
   "max_members=4, chunk=2)", "error", "NaN")
_c("c", "p06_growth",
   "permjax.grow(lambda ids: np.zeros((1, 15, 4)), isc4, max_members=4, "
   "chunk=2)", "error", "source")
_c("c", "p06_growth",
   "permjax.grow(src4, isc4, max_members=4, chunk=2, "
   "state=state((15, 4), -5, acc_members=0))", "error", "members")
_c("c", "p06_growth",
   "permjax.grow(src4, isc4, max_members=4, chunk=2, targets=[2.0, -1])",
   "error", "target")
_c("c", "p06_growth",
   "permjax.unique_inputs(permjax.Examples(np.array([[1., 0.], [1., 0.]]), "
   "np.array([[0., 1.], [1., 0.]])))", "error", "target")
_c("c", "p06_growth",
   "permjax.unique_inputs(permjax.Examples(np.zeros((0, 3)), "
   "np.zeros((0, 3))), pad_to=3)", "error", "empty|no input")
_c("c", "p07_templates", "prog1(operand_bits=-3)", "error", "operand_bits")
_c("c", "p07_templates", "prog1(steps='3')", "error", "steps")
_c("c", "p07_templates", "prog1(steps=-1)", "error", "steps")
_c("c", "p07_templates", "prog1(steps=0)", "error", "steps")
_c("c", "p07_templates", "prog1(steps=2.5)", "error", "steps")
_c("c", "p07_templates", "add2.encode_matches(np.full((1, 8), 0.5))", "error",
   "matches")
_c("c", "p07_templates", "add2.initial_states(['1'], [1])", "error",
   "operand")
_c("c", "p07_templates", "add2.initial_states([1.5], [1])", "error",
   "operand")
_c("c", "p07_templates",
   "add2.initial_states([[1, 2], [3, 0]], [[1, 2], [3, 0]])", "error",
   "operand")
_c("c", "p07_templates", "add2.value(np.zeros((1, 3)), 'sum_p')", "error",
   "states")
_c("c", "p07_templates", "permjax.check_correlation(add2, -5)", "error",
   "n_max")
_c("c", "p07_templates", "permjax.check_correlation(add2, 0)", "error",
   "n_max")
_c("c", "p07_templates", "permjax.check_correlation(add2, 2.5)", "error",
   "n_max")
_c("c", "p07_templates", "permjax.reachable_states(add2, a=None, b=[1])",
   "error", "both")
_c("c", "p07_templates", "permjax.run_or_rule(add2, st, steps=-1)", "error",
   "steps")
_c("c", "p08_exec", "em(add2, np.full((1, 8), nan))", "error",
   "finite|NaN|nan")
_c("c", "p08_exec", "em(add2, np.random.default_rng(0).normal(size=(2, 8)))",
   "error", "encoding|indicator|binary|normali")
_c("c", "p08_exec", "em(add2, mul1.encode(mul1.initial_states([1], [1])))",
   "error", "encodings|k=")
# ExecutionRule(R.zero(), fix_structural_zeros='no') -> the readout's fixed
# zeros given a truthy string.
_c("c", "p08_exec", "R.zero().with_fixed_zeros('no')", "error",
   "fixed_zeros|column")
# ExecutionRule(readout='zero') -> a rule name where Readouts are wanted.
_c("c", "p08_exec", "permjax.ProgramScorer(add2, pt2, 'zero')", "error",
   "'zero'")
_c("c", "p08_exec", "permjax.execute(add2, em, a=None, b=[1])", "error",
   "both")
_c("c", "p08_exec", "permjax.execute(add2, em, a=[1.7], b=[1])", "error",
   "operand")
_c("c", "p08_exec", "permjax.execute(add2, em, batch=-1)", "error", "batch")
# execute(..., fix_structural_zeros='yes') -> fixed zeros given a string.
_c("c", "p08_exec",
   "permjax.execute(add2, em, R.zero().with_fixed_zeros('yes'))", "error",
   "fixed_zeros|column")
# Legitimate now: midpoint() follows kernel='nngp' (checked by a scan).
_c("c", "p08_exec",
   "permjax.execution_ensemble_size(add2, R.midpoint(), kernel='nngp')", "ok",
   check="result == smallest_n_program(add2, 'nngp', 'nngp')")
# Legitimate, like an explicit kernel: a midpoint built with its own spec
# reads the (default-spec) program members at that spec's thresholds; the
# answer must be the union bound with exactly those thresholds.
_c("c", "p08_exec",
   "permjax.execution_ensemble_size(add2, R.midpoint(spec=M(8, b_std=1.)))",
   "ok", check="result == smallest_n_program(add2, 'ntk', 'ntk', "
               "tau_spec=M(8, b_std=1.))")
# execution_rule('zero', add2, kernel='foo').
_c("c", "p08_exec", "R.from_name('zero', 'foo', program=add2)", "error",
   "kernel")
# grow_execution(...) -> grow with a ProgramScorer.
_c("c", "p08_exec", "permjax.grow(psrc, psc, max_members=4, chunk=2.5)",
   "error", "chunk")
_c("c", "p08_exec",
   "permjax.grow(psrc, psc, max_members=2, chunk=2, max_unconverged=2)",
   "error", "max_unconverged")
_c("c", "p08_exec",
   "permjax.grow(psrc, psc, max_members=2, chunk=2, memory_budget=-5)",
   "error", "memory_budget")
_c("c", "p08_exec",
   "permjax.grow(psrc, psc, max_members=2, chunk=2, memory_budget=0)",
   "error", "memory_budget")
_c("c", "p08_exec",
   "permjax.grow(lambda ids: np.full((len(ids),) + psc.shape, nan), psc, "
   "max_members=2, chunk=2)", "error", "NaN")
_c("c", "p08_exec",
   "permjax.ProgramScorer(sbnB, permjax.program_test_set(sbnA), "
   "{'z': R.zero()})", "error", "fingerprint")
# margin_threshold(add2, states=0.5 * ones) -> permjax.margin.
_c("c", "p08_exec", "permjax.margin(add2, 'ntk', states=np.full((1, 6), 0.5))",
   "error", "states")
_c("c", "p09_sbn", "SM(2, 2, ((0, 0, 1),), name=None)", "error", "name")
_c("c", "p09_sbn", "permjax.sbn_interpret(SM(3, 4, ((2, 1, 1), (0, 2, 2))), "
   "[[3, 2, 0]], 1)", "error", HALT)
_c("c", "p10_cli",
   f'[{FIG1}, "--test_set", "all", "--num_test", "7", "--nnz", "3", '
   '"--workdir", "{workdir}"]', "error", "num_test|nnz", kind="cli")
_c("c", "p10_cli",
   '["permjax.experiments.figure1", "--config", "smoke", "--regimes", "ntk", '
   '"--k_values", "3", "--k_curves", "3", "--seeds", "1", "--trainer", '
   '"linearized", "--lr", "0.5", "--workdir", "{workdir}"]', "error", "lr",
   kind="cli")
_c("c", "p10_cli", f'[{FIG1}, "--workdir", ""]', "error", "workdir",
   kind="cli")
_c("c", "p10_cli", f'[{FIG1}, "--workdir", "{{foreign}}"]', "error",
   "workdir|empty|foreign", kind="cli")
# --tasks addition --multiplication_m 0 (a field of a program not run) ->
# --widths given while only the gp regime (no width) runs.
_c("c", "p10_cli",
   f'[{TE}, "ensembles", "--config", "smoke", "--programs", "addition=2", '
   '"--regimes", "gp", "--widths", "8", "--workdir", "{workdir}"]', "error",
   "widths", kind="cli")
# validate --task addition --m 2 --task addition --m 3.
_c("c", "p10_cli",
   f'[{TE}, "validate", "--programs", "addition=2,addition=3", "--workdir", '
   '"{workdir}"]', "error", "twice|addition", kind="cli")
_c("c", "p12_extra",
   "permjax.ensemble_size(30, kernel='nngp', scope='all', "
   "readout=R.midpoint())", "ok",
   check="result == 41 == permjax.ensemble_size(30, kernel='nngp', "
         "scope='all', readout=R.midpoint('nngp')) == "
         "smallest_n_all(30, 'nngp', 'nngp')")
# Every input needs 2 instructions; a budget of 1 must be refused, not blamed
# on the predictor.
_c("c", "p12_extra", """
prog = permjax.sbn_program(SM(2, 2, ((0, 0, 1), (1, 1, 2))), 1)
result = permjax.execute(prog, em, R.zero().with_fixed_zeros(
    prog.structural_zeros()))
""", "error", HALT)
_c("c", "p12_extra",
   "permjax.sbn_interpret(SM(2, 2, ((0, 0, 1), (1, 1, 2))), [[1, 1]], 1)",
   "error", HALT)
# A 2-word machine padded to k ~ 196 000 rows; refuse (naming the padding).
_c("c", "p12_extra",
   "permjax.sbn_program(SM(2, 37, ((0, 0, 1),)), 1, inputs=[[1, 1]])",
   "error", "pad")

# ---- (b) unclear errors ------------------------------------------------------

_c("b", "p01_readout", "R.midpoint(spec='x').thresholds(10, 2)", "error",
   "spec")
_c("b", "p01_readout", "R.optimal_threshold(10, 2, 1, stats=(1, 2))", "error",
   "stats")
_c("b", "p01_readout", "R.optimal_threshold(10, 2, 1, stats=None)", "error",
   "stats")
_c("b", "p01_readout",
   "R.self_calibrated().bits(np.array([0.5, 0.5, 0.1, 0., 0.]), X5)", "error",
   "average")
_c("b", "p01_readout", "R.self_calibrated_thresholds(np.array([0.5, 0.1]), [2])",
   "error", "average")
_c("b", "p01_readout", "R.self_calibrated_thresholds(A5, [2, 2])", "error",
   "n (|n=|n must|n has|entries|rows")
_c("b", "p02_complexity", "permjax.ensemble_size(10, spec='x')", "error",
   "spec")
_c("b", "p02_complexity", "permjax.ensemble_size(10, target=None)", "error",
   "target")
_c("b", "p02_complexity", "permjax.ensemble_size_enumerated([1, 2, 0], spec='x')",
   "error", "spec")
_c("b", "p02_complexity", "permjax.log_fail_probability(10, [2, 3], [1, 2, 3])",
   "error", "(3,)|N of shape|N (")
_c("b", "p02_complexity", "permjax.paper_figure_bound(10, delta='0.1')",
   "error", "delta")
_c("b", "p02_complexity", "permjax.paper_figure_bound(10, delta=None)", "error",
   "delta")
_c("b", "p03_task_gp",
   "M(8).check_params({'params': {'hidden_0': {}, 'readout': {}}})", "error",
   "hidden_0")
_c("b", "p03_task_gp", "M(8).init_params(key, -1, 3)", "error", "in_dim")
_c("b", "p03_task_gp", "M(8).init_params(key, 0, 3)", "error", "in_dim")
_c("b", "p03_task_gp", "permjax.apply_permutation(P, 'abc')", "error",
   "x must|x (|x has|inputs|features")
_c("b", "p03_task_gp", "permjax.apply_permutation(P, 5)", "error",
   "x must|x (|x has|inputs|features")
_c("b", "p03_task_gp", "permjax.inputs_with_n_ones(P, 2, max_inputs='x')",
   "error", "max_inputs")
_c("b", "p03_task_gp", "permjax.inputs_with_n_ones(P, 2, max_inputs=None)",
   "error", "max_inputs")
_c("b", "p03_task_gp", "permjax.kappa0('x')", "error", "rho|ρ")
_c("b", "p03_task_gp", "permjax.kappa0(0.5, xp='np')", "error", "xp")
_c("b", "p03_task_gp", "permjax.kernel_matrices('x', np.eye(3))", "error",
   "spec")
_c("b", "p03_task_gp", "permjax.kernel_matrices(M(8), 'abc')", "error", "x1")
_c("b", "p03_task_gp", "permjax.random_permutation(0, 3)", "error", "key")
_c("b", "p03_task_gp", "permjax.random_permutation(None, 3)", "error", "key")
_c("b", "p03_task_gp", "permjax.symmetric_gp([10, 20], [2, 3, 4])", "error",
   "(3,)|k and n|n of shape")
_c("b", "p03_task_gp", "permjax.symmetric_kernel_values('x', 10, 2)", "error",
   "spec")
_c("b", "p04_gp_sampler",
   "sam3.transform({j: jnp.zeros((s[0], s[1] + 3, 1)) "
   "for j, s in sam3.noise_shapes.items()})", "error", "noise")
_c("b", "p04_gp_sampler", "sam3.transform({})", "error", "noise")
_c("b", "p04_gp_sampler", "permjax.gp_predict(M(1), tr.x, tr.y, te.x, t='5')",
   "error", "'5'|t must|t (")
_c("b", "p04_gp_sampler", "permjax.gp_predict('x', tr.x, tr.y, te.x)", "error",
   "spec")
_c("b", "p04_gp_sampler",
   "permjax.gp_predict(M(1), np.zeros((0, 3)), np.zeros((0, 3)), te.x)",
   "error", "x_train")
_c("b", "p04_gp_sampler", "permjax.isotypic_blocks('3', [1], cov3)", "error",
   "'3'")
_c("b", "p04_gp_sampler", "permjax.isotypic_blocks(3.5, [1], cov3)", "error",
   "3.5")
_c("b", "p04_gp_sampler", "permjax.posterior_mean(M(1), tr.x, tr.y[:2], te.x)",
   "error", "y_train")
_c("b", "p04_gp_sampler", "permjax.sparse_rows(te.x, dtype='foo')", "error",
   "dtype")
_c("b", "p04_gp_sampler", "permjax.symmetric_sampler(3, 2, cov3)", "error",
   "layers")
_c("b", "p04_gp_sampler", "permjax.symmetric_sampler(3, None, cov3)", "error",
   "layers")
_c("b", "p04_gp_sampler", "permjax.symmetric_sampler(3, [1], None)", "error",
   "cov_fn")
_c("b", "p05_training", "permjax.TrainConfig(cg_tol='x')", "error", "cg_tol")
_c("b", "p05_training", "permjax.TrainConfig(lr=None)", "error", "lr")
_c("b", "p05_training", "permjax.TrainConfig(lr=[0.1])", "error", "lr")
_c("b", "p05_training", "permjax.TrainConfig(lr_fraction='0.5')", "error",
   "lr_fraction")
_c("b", "p05_training", "permjax.TrainConfig(lr_fraction=None)", "error",
   "lr_fraction")
_c("b", "p05_training", "permjax.TrainConfig(tol=None)", "error", "tol")
_c("b", "p05_training", "permjax.empirical_ntk(None, p16, te.x)", "error",
   "apply_fn")
_c("b", "p05_training", "permjax.empirical_ntk(model16.apply, p16, "
   "np.ones((2, 5)))", "error", "x1")
_c("b", "p05_training", "permjax.empirical_ntk(model16.apply, p16, te.x, "
   "np.ones((2, 5)))", "error", "x2")
_c("b", "p05_training", "permjax.fit_gd(M(16), p16, None, tr.y, 0.5, None, 3)",
   "error", "config")
_c("b", "p05_training", "permjax.fit_linearized(M(16), p16, None, tr.y, 3, "
   "solver='cg', preconditioner=np.eye(5))", "error", "preconditioner")
_c("b", "p05_training", "permjax.fit_linearized(M(16), p16, None, tr.y[:2], 3)",
   "error", "y_train")
_c("b", "p05_training", "permjax.linearized_outputs(M(16), p16, None, te.x, 3)",
   "error", "delta")
_c("b", "p05_training",
   "permjax.linearized_outputs(M(16), p16, p16, np.ones((2, 4)), 3)", "error",
   "x must|x (|x has|columns|in_dim")
_c("b", "p05_training",
   "permjax.max_stable_lr(M(16), p16, None, np.zeros((3, 0)), 'mean', 3)",
   "error", "y_train")
_c("b", "p05_training", "permjax.merge_results('ab')", "error",
   "EnsembleResult|results")
_c("b", "p05_training", "permjax.merge_results([r1, r2])", "error",
   "x_test|data")
_c("b", "p05_training", "permjax.merge_results(r1)", "error",
   "EnsembleResult|list")
_c("b", "p05_training", "permjax.mlp_ntk('x', p16)", "error", "spec")
_c("b", "p05_training", "permjax.mlp_ntk(M(16), p16, np.ones((2, 5)))",
   "error", "x1")
_c("b", "p05_training", "permjax.train_ensemble(M(16), tr, key, 2, "
   "x_test=te.x, config=LIN, batch_per_device=1.5)", "error",
   "batch_per_device")
_c("b", "p05_training", "permjax.train_ensemble(M(16), tr, key, 2, "
   "x_test=te.x, config='gd')", "error", "config")
_c("b", "p05_training", "permjax.train_ensemble(M(16), tr, key, 2, "
   "x_test=te.x, config=None)", "error", "config")
_c("b", "p05_training", "permjax.train_ensemble(M(16), tr, key, 2, "
   "x_test=te.x, config=LIN, devices=['cpu'])", "error", "devices")
_c("b", "p05_training", "permjax.train_ensemble(M(16), tr, 0, 2, "
   "x_test=te.x, config=LIN)", "error", "key")
_c("b", "p05_training", "permjax.train_ensemble(M(16), tr, None, 2, "
   "x_test=te.x, config=LIN)", "error", "key")
_c("b", "p05_training", "permjax.train_ensemble(None, tr, key, 2, "
   "x_test=te.x, config=LIN)", "error", "spec")
_c("b", "p05_training", "permjax.train_ensemble(M(16), 'abc', key, 2, "
   "x_test=te.x, config=LIN)", "error", "train")
# A plain (x, y) tuple is not an Examples (the doc asks for one).
_c("b", "p05_training", "permjax.train_ensemble(M(16), (tr.x, tr.y), key, 2, "
   "x_test=te.x, config=LIN)", "error", "train")
_c("b", "p05_training", "permjax.training_loss(jnp.ones(2), jnp.ones(3), "
   "'mean')", "error", "pred|target")
# ExecutionCheckpoint(path of a file) -> GrowthCheckpoint.
_c("b", "p06_growth",
   "permjax.GrowthCheckpoint(afile(), {'program': 'addition(m=2)'})", "error",
   "file")
_c("b", "p06_growth", "permjax.GrowthCheckpoint('/proc/x', {'k': 1})", "error",
   "/proc/x")
# Legitimate: numpy scalars are numbers (a fingerprint built in a loop over
# np.arange holds them); they must be stored as their JSON values, so the
# same fingerprint written with Python ints reopens the folder.
_c("b", "p06_growth", """
d = mkdir()
permjax.GrowthCheckpoint(d, {'k': np.int64(1), 'tau': np.float64(0.5)}).close()
result = permjax.GrowthCheckpoint(d, {'k': 1, 'tau': 0.5})
result.close()
""", "ok", check="result is not None")
_c("b", "p06_growth", "permjax.GrowthCheckpoint(afile(), {'k': 1})", "error",
   "file")
_c("b", "p06_growth", "permjax.gp_member_source(M(1), 'ntk', tr4, te4.x, 0)",
   "error", "key")
_c("b", "p06_growth", "permjax.grow(src4, isc4, max_members=None, chunk=2)",
   "error", "max_members")
_c("b", "p06_growth",
   "permjax.grow(src4, isc4, max_members=2, chunk=2, max_unconverged=-1)",
   "error", "max_unconverged")
_c("b", "p06_growth", "permjax.InputScorer(TS4, 'midpoint')", "error",
   "'midpoint'")
_c("b", "p06_growth", "permjax.InputScorer(TS4, None)", "error", "readout")
_c("b", "p06_growth", """
test6 = permjax.unique_inputs(permjax.all_inputs([1, 2, 3, 4, 5, 0]))
result = permjax.grow(src4, permjax.InputScorer(test6, {'m': R.midpoint()}),
                      max_members=2, chunk=2)
""", "error", "source")
_c("b", "p06_growth",
   "permjax.grow(lambda ids: np.zeros((len(ids), 3, 3)), isc4, max_members=2,"
   " chunk=2)", "error", "source")
_c("b", "p06_growth", "permjax.grow(None, isc4, max_members=2, chunk=2)",
   "error", "source")
_c("b", "p06_growth",
   "permjax.grow(src4, isc4, max_members=2, chunk=2, state=state((3, 3), 1))",
   "error", "state")
_c("b", "p06_growth",
   "permjax.grow(src4, isc4, max_members=2, chunk=2, stop_accuracy='0.9')",
   "error", "stop_accuracy")
_c("b", "p06_growth",
   "permjax.grow(src4, isc4, max_members=2, chunk=2, targets='abc')", "error",
   "targets")
# grow(test=Examples) -> an InputScorer given Examples, not a TestSet.
_c("b", "p06_growth", "permjax.InputScorer(te4, R.zero())", "error", "test")
_c("b", "p06_growth",
   "permjax.network_member_source(M(16), tr, te.x, key, None)", "error",
   "config")
# A plain (x, y) tuple is not an Examples (consistent with train_ensemble).
_c("b", "p06_growth", "permjax.unique_inputs((te.x, te.y))", "error",
   "examples|Examples")
_c("b", "p06_growth",
   "permjax.unique_inputs(permjax.Examples(te.x, te.y[:3]))", "error",
   "rows|x and y")
_c("b", "p06_growth", "permjax.unique_inputs(te, pad_to='20')", "error",
   "pad_to")
_c("b", "p06_growth", "permjax.unique_inputs(te, pad_to=20.5)", "error",
   "pad_to")
_c("b", "p07_templates", "prog1(fields='ab')", "error", "fields")
_c("b", "p07_templates",
   "permjax.execute(prog1(initial=lambda a, b: np.zeros((len(a), 5), int)), "
   "em)", "error", "initial")
_c("b", "p07_templates", "permjax.execute(prog1(initial=None), em)", "error",
   "initial")
_c("b", "p07_templates", "permjax.execute(prog1(operand_bits=2, initial=None), "
   "em)", "error", "initial")
_c("b", "p07_templates",
   "prog1(templates=(Template('t', ('a', 0), (), (('b', 0),)),))", "error",
   "ones")
_c("b", "p07_templates",
   "prog1(templates=(('t', (('a', 0),), (), (('b', 0),)),))", "error",
   "Template")
_c("b", "p07_templates",
   "prog1(templates=[{'name': 't', 'ones': (('a', 0),), 'zeros': (), "
   "'writes': (('b', 0),)}])", "error", "Template")
# Python's own signature error already names the missing fields and cannot
# be raised by permjax code: only its clarity is required.
_c("b", "p07_templates", "Template('t')", "error", "ones", own_frame=False)
_c("b", "p07_templates", "add2.all_pairs(max_pairs='x')", "error",
   "max_pairs")
_c("b", "p07_templates", "add2.encode_matches(np.ones((1, 3), bool))", "error",
   "matches")
_c("b", "p07_templates", "add2.initial_states(None, None)", "error",
   "operand")
_c("b", "p07_templates", "add2.writes_of(np.ones((1, 3)))", "error",
   "matches")
_c("b", "p07_templates", "permjax.check_correlation(add2, '4')", "error",
   "n_max")
_c("b", "p07_templates", "permjax.check_correlation(add2, None)", "error",
   "n_max")
_c("b", "p07_templates", "permjax.reachable_states(add2, a=[1], b=None)",
   "error", "both")
_c("b", "p07_templates", "permjax.run_or_rule('x', st)", "error", "program")
_c("b", "p07_templates", "permjax.run_or_rule(add2, st, steps='3')", "error",
   "steps")
_c("b", "p07_templates", "permjax.run_or_rule(add2, st, steps=2.5)", "error",
   "steps")
_c("b", "p08_exec", "em(add2, np.ones(8))", "error", "encodings|batch")
_c("b", "p08_exec", "em(add2, np.ones((1, 3)))", "error", "encodings|k=")
_c("b", "p08_exec", """
f = permjax.exact_mean(spec='x')
result = f(add2, add2.encode(add2.initial_states([1], [1])))
""", "error", "spec")
_c("b", "p08_exec", "permjax.execute('x', em)", "error", "program")
_c("b", "p08_exec", "permjax.execute(add2, em, a=[1], b=None)", "error",
   "both")
_c("b", "p08_exec", "permjax.execute(add2, em, batch='8')", "error", "batch")
_c("b", "p08_exec", "permjax.execute(add2, em, batch=0)", "error", "batch")
_c("b", "p08_exec", "permjax.execute(add2, em, batch=1.5)", "error", "batch")
_c("b", "p08_exec", "permjax.execute(add2, em, 'midpoint')", "error",
   "readout")
_c("b", "p08_exec", "permjax.execute(add2, em, 0.1)", "error", "readout")
_c("b", "p08_exec", "permjax.execute(add2, WrongShapePredictor())", "error",
   "predictor")
_c("b", "p08_exec", "permjax.execute(add2, None)", "error", "predictor")
_c("b", "p08_exec",
   "permjax.execute(add2, lambda program, x: np.zeros((len(x), 6)))", "error",
   "predictor|members")
_c("b", "p08_exec", """
mean_a = permjax.gp_ensemble_mean(sbnA, 2, key)
result = permjax.execute(sbnB, mean_a, until_first_error=True)
""", "error", "fingerprint")
_c("b", "p08_exec", "permjax.execution_ensemble_size(add2, 'zero')", "error",
   "readout")
# execution_rule('margin', 'x') -> permjax.margin.
_c("b", "p08_exec", "permjax.margin('x', 'ntk')", "error", "program")
# execution_rule(None, add2) -> readout.from_name.
_c("b", "p08_exec", "R.from_name(None, program=add2)", "error", "name")
_c("b", "p08_exec", "permjax.gp_ensemble_mean(add2, 4, 0)", "error", "key")
_c("b", "p08_exec", "permjax.grow(psrc, psc, max_members=None, chunk=2)",
   "error", "max_members")
_c("b", "p08_exec", "permjax.ProgramScorer(add2, pt2, ['zero'])", "error",
   "readout")
_c("b", "p08_exec", "permjax.ProgramScorer(add2, pt2, {'x': 'zero'})",
   "error", "readout")
# Legitimate in the new API: the rules ARE Readouts (ExecutionRule is gone);
# the curve must be the zero rule's pair accuracy, recomputed directly.
_c("b", "p08_exec",
   "permjax.grow(psrc, permjax.ProgramScorer(add2, pt2, {'x': R.zero()}), "
   "max_members=3, chunk=2)", "ok",
   check="result.rules == ('x',) and len(result.accuracy['x']) == "
         "result.members and all(abs(result.accuracy['x'][i] - "
         "program_accuracy(pt2, psrc(np.arange(i + 1)).outputs.mean(0), "
         "1e-10)) < 1e-12 for i in range(result.members))")
_c("b", "p08_exec", "permjax.grow(src4, psc, max_members=2, chunk=2)", "error",
   "source")
_c("b", "p08_exec",
   "permjax.grow(psrc, psc, max_members=2, chunk=2, state=state((2, 6), 1))",
   "error", "state")
_c("b", "p08_exec",
   "permjax.grow(psrc, psc, max_members=2, chunk=2, "
   "state=state((22, 6), 1, rules=2))", "error", "state|readouts")
_c("b", "p08_exec", "permjax.program_test_set('x')", "error", "program")
_c("b", "p08_exec", "permjax.program_test_set(add2, a=[1], b=None)", "error",
   "both")
_c("b", "p09_sbn", "SM(2, 2, 5)", "error", "code")
_c("b", "p09_sbn", "SM(2, 2, None)", "error", "code")
_c("b", "p09_sbn", "permjax.sbn_interpret('x', [[1, 1]], 1)", "error",
   "machine")
_c("b", "p09_sbn", "permjax.sbn_program('x', 1)", "error", "machine")
_c("b", "p09_sbn", """
prog = permjax.sbn_program(SM(1, 64, ((0, 0, 1),)), 1, inputs=[[5]])
result = permjax.execute(prog, em)
""", "error", "pad|margin", forbid="k must be >= 2")
_c("b", "p09_sbn", "permjax.sbn_program(SM(2, 64, ((0, 0, 1),)), 1)", "error",
   "pad|margin|pairs|inputs", forbid="k must be >= 2")
# sbn_program_named(['sbn_loop'], 2) -> the registry.
_c("b", "p09_sbn", "permjax.program(['sbn_loop'], 2)", "error", "family")
_c("b", "p10_cli", f'[{FIG1}, "--seed_offset", "-5", "--workdir", '
   '"{workdir}"]', "error", "seed_offset", kind="cli")
_c("b", "p10_cli", f'[{FIG1}, "--workdir", "/proc/x"]', "error", "/proc/x",
   kind="cli")
_c("b", "p10_cli", f'[{FIG1}, "--workdir", "{{afile}}"]', "error", "file",
   kind="cli")
_c("b", "p10_cli",
   f'[{TE}, "ensembles", "--config", "smoke", "--programs", "addition=2", '
   '"--regimes", "gp", "--gp_max_states", "1", "--workdir", "{workdir}"]',
   "error", "gp_max_states|encodings", kind="cli")
_c("b", "p10_cli",
   f'[{TE}, "ensembles", "--config", "smoke", "--programs", "addition=2", '
   '"--regimes", "gp", "--workdir", "/proc/x"]', "error", "/proc/x",
   kind="cli")
_c("b", "p10_cli",
   f'[{TE}, "ensembles", "--config", "smoke", "--programs", "addition=2", '
   '"--regimes", "gp", "--workdir", "{afile}"]', "error", "file",
   kind="cli")
_c("b", "p10_cli",
   f'[{TE}, "validate", "--programs", "addition=2", "--workdir", "/proc/x"]',
   "error", "/proc/x", kind="cli")
_c("b", "p10_cli",
   f'[{TE}, "validate", "--programs", "addition=2", "--workdir", '
   '"{afile}"]', "error", "file", kind="cli")
_c("b", "p10_cli",
   f'[{TE}, "validate", "--programs", "addition=2", "--workdir", '
   '"{fig1dir}"]', "error", "workdir|another experiment", kind="cli")
_c("b", "p11_misc", "permjax.sbn_program(SM(10**5, 2, ((0, 0, 1),)), 1)",
   "error", "words|W=|100000|100,000|pairs|inputs|templates",
   kind="subprocess")
_c("b", "p11_misc", "permjax.train_ensemble(M(16), tr, key, 2, x_test=te.x, "
   "config=LIN, checkpoint_dir='/proc/x')", "error", "/proc/x")
_c("b", "p11_misc", "permjax.train_ensemble(M(16), tr, key, 2, x_test=te.x, "
   "config=LIN, checkpoint_dir=afile())", "error", "file")
_c("b", "p12_extra",
   "permjax.sbn_program(SM(2, 40, ((0, 0, 1),)), 1, inputs=[[1, 1]])",
   "error", "pad|margin", forbid="k must be >= 2|-92233")
_c("b", "p12_extra",
   "permjax.sbn_program(SM(3, 30, ((0, 0, 1),)), 1, inputs=[[1, 1, 1]])",
   "error", "pad|margin", forbid="k must be >= 2|-92233")

assert len(CASES) == 305, len(CASES)
BY_ID = {c.id: c for c in CASES}


# --------------------------------------------------------------------------
# Running one case
# --------------------------------------------------------------------------

#: Phrases of numpy/jax/flax/Python internals: a message holding one did not
#: come from a permjax check (heuristic, on top of the raising-frame test).
INTERNAL_MARKERS = (
    "object has no attribute", "not supported between instances of",
    "could not be broadcast", "cannot be broadcast", "could not broadcast",
    "gufunc signature",
    "not enough values to unpack", "too many values to unpack",
    "object is not iterable", "object is not callable",
    "cannot be interpreted as an integer", "must be real number, not",
    "unhashable type", "index out of range", "out of bounds for axis",
    "too many indices for array", "invalid PRNG key data",
    "unexpected PRNG key type", "could not convert string to float",
    "Python int too large", "unsupported operand type",
    "can only concatenate", "argument must be a string or a",
    "did not contain a loop with signature", "is not a valid JAX array type",
    "Error interpreting argument to", "dot_general requires",
    "incompatible shapes for broadcasting", "Expected a callable value",
    "all the input array dimensions", "is not JSON serializable",
    "not understood", "expected a sequence of integers",
    "primal and tangent arguments", "Size of label", "division by zero",
    "[Errno", "broadcast_in_dim shape",
)


class CaseTimeout(BaseException):
  """A lib case ran past its alarm (BaseException: library code that catches
  Exception cannot swallow it)."""


def _compile(source: str):
  try:
    return compile(source, "<fuzz case>", "eval"), "eval"
  except SyntaxError:
    return compile(source, "<fuzz case>", "exec"), "exec"


def _allowed_error_types():
  # pylint: disable=import-outside-toplevel
  import permjax
  from permjax.experiments.records import RecordsError
  return (ValueError, TypeError, permjax.CheckpointError,
          permjax.TrainingDivergedError, permjax.UnconvergedMembersError,
          RecordsError)


def _summary(value) -> str:
  try:
    shape = getattr(value, "shape", None)
    text = repr(value)
  except Exception:  # pylint: disable=broad-except
    return f"<{type(value).__name__}>"
  text = " ".join(text.split())
  if len(text) > 240:
    text = text[:240] + "..."
  return text if shape is None else f"{text} (shape {shape})"


def run_case(case: Case, ns: Namespace) -> dict:
  """Runs a lib/subprocess case in this process; returns its outcome (a
  JSON-able dict)."""
  code, mode = _compile(case.call)
  check = (None if case.check is None
           else compile(case.check, "<fuzz check>", "eval"))
  try:
    g = ns.globals_for(code, *(() if check is None else (check,)))
  except CaseTimeout:
    raise
  except BaseException as exc:  # pylint: disable=broad-except
    return {"setup_error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()[-2000:]}
  try:
    if mode == "eval":
      result = eval(code, g)  # pylint: disable=eval-used
    else:
      exec(code, g)  # pylint: disable=exec-used
      result = g.get("result")
  except CaseTimeout:
    raise
  except (KeyboardInterrupt, SystemExit):
    raise
  except BaseException as exc:  # pylint: disable=broad-except
    tb = exc.__traceback__
    while tb.tb_next is not None:
      tb = tb.tb_next
    return {"raised": True, "type": type(exc).__name__,
            "module": type(exc).__module__,
            "allowed_type": isinstance(exc, _allowed_error_types()),
            "message": str(exc),
            "frame": f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}",
            "frame_file": tb.tb_frame.f_code.co_filename,
            "cause": (None if exc.__cause__ is None else
                      f"{type(exc.__cause__).__name__}: {exc.__cause__}")}
  out = {"raised": False, "summary": _summary(result)}
  if check is not None:
    g["result"] = result
    try:
      out["check"] = bool(eval(check, g))  # pylint: disable=eval-used
    except CaseTimeout:
      raise
    except BaseException as exc:  # pylint: disable=broad-except
      out["check"] = False
      out["check_error"] = f"{type(exc).__name__}: {exc}"
  return out


def _alternatives(text: str | None) -> list:
  return [] if not text else [t for t in text.split("|") if t]


def judge_message(case: Case, message: str) -> list:
  """Problems with an error message (one line, fragment, no forbidden or
  internal phrase)."""
  problems = []
  text = message.strip()
  if not text:
    problems.append("empty message")
  if "\n" in text:
    problems.append("message spans several lines")
  wanted = _alternatives(case.fragment)
  if wanted and not any(w in message for w in wanted):
    problems.append(f"message names none of {wanted}")
  bad = [f for f in _alternatives(case.forbid) if f in message]
  if bad:
    problems.append(f"message holds misleading {bad}")
  internal = [m for m in INTERNAL_MARKERS if m in message]
  if internal:
    problems.append(f"message is an internal one ({internal[0]!r})")
  return problems


def judge(case: Case, outcome: dict) -> list:
  """Problems with a lib/subprocess outcome; [] if the case passes."""
  if "setup_error" in outcome:
    return [f"namespace setup failed: {outcome['setup_error']}"]
  if case.expect == "ok":
    if outcome["raised"]:
      return [f"raised {outcome['type']}: {outcome['message'][:400]} "
              f"(at {outcome['frame']})"]
    if outcome.get("check") is False:
      extra = outcome.get("check_error")
      return [f"returned {outcome['summary']} but the check "
              f"{case.check!r} is false" + (f" ({extra})" if extra else "")]
    return []
  if not outcome["raised"]:
    return [f"no error; returned {outcome['summary']}"]
  problems = []
  if not outcome["allowed_type"]:
    problems.append(f"{outcome['type']} is not a ValueError/TypeError/"
                    f"permjax error")
  problems += judge_message(case, outcome["message"])
  frame = outcome["frame_file"]
  if case.own_frame and ("/permjax/" not in frame
                         or "/site-packages/" in frame):
    problems.append(f"raised outside permjax (at {outcome['frame']})")
  if problems:
    problems.insert(0, f"{outcome['type']}: {outcome['message'][:400]}")
  return problems


# --------------------------------------------------------------------------
# Subprocess and CLI cases
# --------------------------------------------------------------------------

SUBPROCESS_TIMEOUT = 20
CLI_TIMEOUT = 60
MEMORY_LIMIT = 4 << 30
RESULT_PREFIX = "FUZZ-RESULT "


def child_main(case_id: str) -> None:
  """Entry point of a subprocess case: 4 GB address space, run, print."""
  import resource  # pylint: disable=import-outside-toplevel
  resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
  outcome = run_case(BY_ID[case_id], setup())
  print(RESULT_PREFIX + json.dumps(outcome, default=str), flush=True)


def run_subprocess_case(case: Case) -> dict:
  """Runs a subprocess case; ``{"rc", "outcome" (or None), "stderr",
  "timed_out"}``."""
  import subprocess  # pylint: disable=import-outside-toplevel
  code = (f"import sys; sys.path.insert(0, {TESTS_DIR!r}); "
          f"import fuzz_cases; fuzz_cases.child_main({case.id!r})")
  cwd = tempfile.mkdtemp(prefix="fuzz-child-")
  try:
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd,
                          capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT, check=False)
  except subprocess.TimeoutExpired as err:
    return {"rc": None, "outcome": None, "timed_out": True,
            "stderr": (err.stderr or b"")[-1500:] if isinstance(
                err.stderr, bytes) else (err.stderr or "")[-1500:]}
  outcome = None
  for line in proc.stdout.splitlines():
    if line.startswith(RESULT_PREFIX):
      outcome = json.loads(line[len(RESULT_PREFIX):])
  return {"rc": proc.returncode, "outcome": outcome, "timed_out": False,
          "stderr": proc.stderr[-1500:]}


def judge_subprocess(case: Case, run: dict) -> list:
  if run["timed_out"]:
    return [f"still running after {SUBPROCESS_TIMEOUT} s (hang); stderr "
            f"tail: {run['stderr'][-300:]!r}"]
  if run["outcome"] is None:
    return [f"the child died (rc {run['rc']}, no result printed): "
            f"{run['stderr'][-600:]!r}"]
  return judge(case, run["outcome"])


def _fill(argv: list, places: dict) -> list:
  return [a.format(**places) if "{" in a else a for a in argv]


def cli_places(root: str) -> dict:
  """The placeholder paths of a CLI case, made under ``root``."""
  afile = os.path.join(root, "afile.txt")
  with open(afile, "w") as f:
    f.write("a file, not a folder\n")
  foreign = os.path.join(root, "foreign")
  os.makedirs(foreign)
  with open(os.path.join(foreign, "thesis_notes.txt"), "w") as f:
    f.write("somebody else's files\n")
  fig1 = os.path.join(root, "fig1")
  os.makedirs(fig1)
  with open(os.path.join(fig1, "config.json"), "w") as f:
    json.dump({"config": {"name": "smoke", "regimes": ["gp"]}}, f)
  with open(os.path.join(fig1, "results.jsonl"), "w") as f:
    f.write(json.dumps({"regime": "gp", "k": 3, "seed": 0, "members": 4,
                        "curve": [1.0]}) + "\n")
  return {"workdir": os.path.join(root, "run"), "afile": afile,
          "foreign": foreign, "fig1dir": fig1}


def run_cli_case(case: Case) -> dict:
  """Runs ``python -m argv`` in a fresh folder; ``{"rc", "stdout",
  "stderr", "workdir", "argv", "timed_out"}``."""
  import subprocess  # pylint: disable=import-outside-toplevel
  root = tempfile.mkdtemp(prefix="fuzz-cli-")
  places = cli_places(root)
  cwd = os.path.join(root, "cwd")
  os.makedirs(cwd)
  argv = _fill(case.argv, places)
  try:
    proc = subprocess.run([sys.executable, "-m"] + argv, cwd=cwd,
                          capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, check=False)
  except subprocess.TimeoutExpired as err:
    tail = err.stderr.decode() if isinstance(err.stderr, bytes) else (
        err.stderr or "")
    return {"rc": None, "stdout": "", "stderr": tail[-1500:],
            "workdir": places["workdir"], "argv": argv, "timed_out": True}
  return {"rc": proc.returncode, "stdout": proc.stdout[-3000:],
          "stderr": proc.stderr[-3000:], "workdir": places["workdir"],
          "argv": argv, "timed_out": False}


CLI_MAINS = {
    "permjax.experiments.figure1": "permjax.experiments.figure1.main",
    "permjax.experiments.ntk_permutation": "permjax.experiments.figure1.main",
    "permjax.experiments.template_execution":
        "permjax.experiments.template_execution.main",
}


def run_cli_in_process(case: Case) -> dict:
  """Runs the CLI's ``main(argv)`` in this process (no JAX start-up per
  case), in a fresh folder, with stdout and stderr captured: the same
  ``{"rc", "stdout", "stderr", ...}`` as :func:`run_cli_case`. An uncaught
  exception becomes a printed traceback and rc 1, as ``python -m`` gives.
  Call it from the main thread (it changes the working folder)."""
  import contextlib  # pylint: disable=import-outside-toplevel
  import importlib  # pylint: disable=import-outside-toplevel
  import io  # pylint: disable=import-outside-toplevel
  import traceback  # pylint: disable=import-outside-toplevel
  root = tempfile.mkdtemp(prefix="fuzz-cli-")
  places = cli_places(root)
  cwd = os.path.join(root, "cwd")
  os.makedirs(cwd)
  argv = _fill(case.argv, places)
  main = importlib.import_module(CLI_MAINS[argv[0]]).main
  out, err = io.StringIO(), io.StringIO()
  here = os.getcwd()
  os.chdir(cwd)
  try:
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
      try:
        rc = main(argv[1:])
      except SystemExit as stop:
        rc = stop.code if isinstance(stop.code, int) else 1
      except Exception:  # pylint: disable=broad-except
        traceback.print_exc()
        rc = 1
  finally:
    os.chdir(here)
  return {"rc": rc, "stdout": out.getvalue()[-3000:],
          "stderr": err.getvalue()[-3000:], "workdir": places["workdir"],
          "argv": argv, "timed_out": False}


def _is_progress_line(line: str) -> bool:
  """A tqdm progress-bar line (not a message)."""
  return ("%|" in line or "it/s]" in line or "run/s]" in line
          or "s/run]" in line or "?run/s" in line or "pair/s]" in line
          or "member/s]" in line)


def judge_cli(case: Case, run: dict) -> list:
  if run["timed_out"]:
    return [f"still running after {CLI_TIMEOUT} s; stderr tail "
            f"{run['stderr'][-300:]!r}"]
  stderr = run["stderr"]
  lines = [l.strip() for l in stderr.replace("\r", "\n").splitlines()]
  lines = [l for l in lines if l and not _is_progress_line(l)]
  if case.expect == "ok":
    problems = []
    if run["rc"] != 0:
      problems.append(f"exit code {run['rc']}; stderr: "
                      f"{' / '.join(lines)[-600:]!r}")
    elif case.check is not None:
      ok = eval(case.check, {"os": os, "result": run})  # pylint: disable=eval-used
      if not ok:
        problems.append(f"exit 0 but the check {case.check!r} is false")
    return problems
  problems = []
  if run["rc"] != 2:
    problems.append(f"exit code {run['rc']} (want 2)")
  if "Traceback" in stderr:
    problems.append("stderr holds a traceback: "
                    f"{' / '.join(lines[-2:])[-500:]!r}")
  errors = [l for l in lines if l.startswith("error:")]
  if len(lines) != 1 or not errors:
    problems.append(f"stderr is not one 'error:' line: "
                    f"{' / '.join(lines)[-600:]!r}")
  if errors:
    bad = judge_message(case, errors[-1][len("error:"):])
    if bad:
      problems += [f"stderr: {errors[-1][:400]!r}"] + bad
  if problems and run["rc"] == 0:
    problems.append(f"(it ran to the end: {run['stdout'][-200:]!r})")
  return problems
