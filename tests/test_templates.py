"""Template programs (docs/theory/templates.md): counts, the OR rule, the exact mean,
the correlation condition, the analytic ensemble size, bad input."""

import numpy as np
import pytest

import permjax
from permjax._src import templates as tpl

# docs/theory/templates.md §3.3: γ + C_max β at n_max (k with padding), and the first n
# violating the condition.
CORRELATION = {("addition", 4): (4, 0.3256), ("addition", 6): (6, 0.2402),
               ("multiplication", 1): (4, 0.3197),
               ("multiplication", 2): (8, 0.1873),
               ("multiplication", 3): (12, 0.1381),
               ("multiplication", 4): (16, 0.1118)}
FIRST_VIOLATION_PADDED = {1: 16, 2: 24, 3: 33, 4: 41}
# docs/theory/templates.md §3.4: N for P(all right) >= 0.9, NTK, structural zeros
# hard-wired (addition; multiplication has none).
N_ZERO_FIXED = {("addition", 2): 439, ("addition", 3): 726,
                ("addition", 4): 987, ("addition", 5): 1248,
                ("addition", 6): 1513, ("multiplication", 1): 872,
                ("multiplication", 2): 1974, ("multiplication", 3): 3066,
                ("multiplication", 4): 4217}


def _program(task, m):
  return (permjax.addition_program(m) if task == "addition"
          else permjax.multiplication_program(m))


@pytest.mark.parametrize("m", range(1, 7))
def test_counts_fields_and_steps(m):
  add = permjax.addition_program(m)
  assert (add.T, add.k, add.D, add.steps) == (4 * m, 4 * m, 3 * m, 2 * m)
  assert add.structural_zeros().nonzero()[0].tolist() == [add.index("sum_q", 0)]
  assert sorted(set(add.column_weights())) == ([0, 2] if m == 1 else [0, 1, 2])
  mul = permjax.multiplication_program(m)
  assert (mul.T, mul.k, mul.D, mul.steps) == (20 * m + 2, 21 * m + 2,
                                              18 * m + 1, 4 * m * m + 3 * m)
  assert mul.column_weights().max() == 3 and not mul.structural_zeros().any()


@pytest.mark.parametrize("task, m", [("addition", m) for m in range(1, 6)]
                         + [("multiplication", m) for m in range(1, 4)])
def test_the_or_rule_computes_every_pair(task, m):
  prog = _program(task, m)
  a, b = prog.all_pairs()
  traj = permjax.run_or_rule(prog, prog.initial_states(a, b))
  want = a + b if task == "addition" else a * b
  assert np.array_equal(prog.results(traj[-1]), want)
  # The addition state is a fixed point once done (docs/theory/templates.md §1.6).
  if task == "addition":
    assert np.array_equal(traj[-1], traj[-2])


def test_permutation_program_is_the_permutation_task():
  perm = [3, 0, 4, 1, 2]
  prog = permjax.permutation_program(perm)
  x, y = prog.training_set()
  train = permjax.training_set(perm)
  assert np.array_equal(x, train.x) and np.array_equal(y, train.y)
  states = permjax.all_inputs(perm, normalize=False).x
  np.testing.assert_allclose(prog.encode(states),
                             permjax.all_inputs(perm).x, rtol=1e-15)
  assert np.array_equal(prog.step(states), permjax.all_inputs(perm).y == 1)


@pytest.mark.parametrize("task, m", [("addition", 3), ("multiplication", 1)])
@pytest.mark.parametrize("backend", ["closed_form", "nt"])
def test_exact_mean_is_the_gp_mean(task, m, backend):
  prog = _program(task, m)
  states = permjax.reachable_states(prog)
  rng = np.random.default_rng(0)
  states = states[rng.choice(len(states), min(40, len(states)),
                             replace=False)]
  x = prog.encode(states)
  x = x[x.any(axis=1)]
  train_x, train_y = prog.training_set()
  gp = permjax.gp_predict(permjax.MLPSpec(width=1), train_x, train_y, x,
                          backend=backend)
  np.testing.assert_allclose(permjax.exact_mean()(prog, x), gp.mean,
                             atol=1e-10, rtol=0)


@pytest.mark.parametrize("task, m", [("addition", m) for m in range(1, 8)]
                         + [("multiplication", m) for m in range(1, 4)])
def test_the_exact_mean_executes_every_pair_and_step(task, m):
  for readout in (permjax.readout.zero(), permjax.readout.midpoint()):
    run = permjax.execute(_program(task, m), permjax.exact_mean(), readout)
    assert run.all_correct and run.matches_or_rule, run.first_failure
    assert run.pairs == 4 ** m


@pytest.mark.slow
def test_exact_mean_at_scale():
  """The CLI's acceptance sizes: addition m = 10, multiplication m = 6."""
  for prog in (permjax.addition_program(10),
               permjax.multiplication_program(6)):
    run = permjax.execute(prog, permjax.exact_mean())
    assert run.all_correct and run.matches_or_rule


def test_a_wrong_readout_is_caught_at_its_first_step():
  prog = permjax.addition_program(3)
  run = permjax.execute(prog, permjax.exact_mean(),
                        permjax.readout.fixed(0.5))
  assert not run.matches_or_rule and run.first_failure["step"] == 1
  assert "sum_p" in run.first_failure["fields"] or "sum_c" in (
      run.first_failure["fields"])


@pytest.mark.parametrize("key", sorted(CORRELATION))
def test_correlation_condition_matches_templates_table(key):
  task, m = key
  prog = _program(task, m)
  n_max, margin = CORRELATION[key]
  c_max = int(prog.column_weights().max())
  assert round(float(tpl.correlation_margin(prog.k, n_max, c_max)), 4) == (
      margin)
  assert permjax.check_correlation(prog, n_max) > 0
  if task == "multiplication":
    first = FIRST_VIOLATION_PADDED[m]
    with pytest.raises(ValueError, match=f"n={first} templates"):
      permjax.check_correlation(prog, first)
    # The reachable states stay within n_max = 4m matched templates.
    n, _ = prog.write_counts(permjax.reachable_states(prog))
    assert n.max() == n_max


@pytest.mark.parametrize("key", sorted(N_ZERO_FIXED))
def test_analytic_execution_size_matches_templates(key):
  prog = _program(*key)
  got = permjax.execution_ensemble_size(
      prog, permjax.readout.from_name("zero_fixed", program=prog))
  assert abs(got / N_ZERO_FIXED[key] - 1) <= 0.03, got


def test_structural_zeros_make_the_zero_rule_hopeless():
  with pytest.raises(ValueError, match="structural zero"):
    permjax.execution_ensemble_size(permjax.addition_program(3))
  # A per-n threshold reads them (and everything) with a few members.
  assert permjax.execution_ensemble_size(
      permjax.addition_program(4), permjax.readout.midpoint()) <= 5


@pytest.mark.parametrize("call, fragment", [
    (lambda: permjax.addition_program(0), "m (bits per operand)"),
    (lambda: permjax.multiplication_program(-2), "got -2"),
    (lambda: permjax.addition_program(2).initial_states([4], [1]),
     "0..3"),
    (lambda: permjax.Program("bad", (("p", 2),), (permjax.Template(
        "T", (("q", 0),), (), (("p", 0),)),), 1), "unknown field 'q'"),
    (lambda: permjax.Program("bad", (("p", 2),), (permjax.Template(
        "T", (("p", 2),), (), (("p", 0),)),), 1), "bit 2 of field 'p'"),
    (lambda: permjax.Program("bad", (("p", 2),), (permjax.Template(
        "T", (("p", 0),), (("p", 0),), (("p", 1),)),), 1),
     "both 0 and 1"),
    (lambda: permjax.addition_program(12).all_pairs(), "enumeration limit"),
    (lambda: permjax.addition_program(2).matches(np.ones((1, 5))),
     "D=6"),
    (lambda: permjax.check_correlation(permjax.multiplication_program(1), 16),
     "n=16 templates read"),
])
def test_bad_input_gets_one_clear_error(call, fragment):
  with pytest.raises(ValueError) as info:
    call()
  assert fragment in str(info.value), str(info.value)
  assert len(str(info.value).splitlines()) == 1


# --- a family added through the registry: comparison ---------------------------

def _union_bound_by_brute_force(prog, readout, target=0.9):
  """Smallest N with Σ P(bit wrong) <= 1 - target over the reachable states
  with n >= 2 and their bits (fixed zeros left out), each state's mean and
  variance from neural-tangents' own GP prediction (no closed form)."""
  from scipy import special  # pylint: disable=import-outside-toplevel
  states = permjax.reachable_states(prog)
  n, _ = prog.write_counts(states)
  states = states[n >= 2]
  x_train, y_train = prog.training_set()
  pred = permjax.gp_predict(permjax.MLPSpec(width=1), x_train, y_train,
                            prog.encode(states), backend="nt")
  sigma = np.sqrt(np.diag(pred.cov))[:, None]
  truth = prog.step(states)
  tau = readout.thresholds(prog.k, n[n >= 2])[:, None]
  margin = np.where(truth, pred.mean - tau, tau - pred.mean)
  keep = np.ones(truth.shape, bool)
  keep[:, list(readout.fixed_zeros)] = False

  def fail(N):
    return np.exp(special.logsumexp(special.log_ndtr(
        -margin[keep] * np.sqrt(N) / np.broadcast_to(sigma, truth.shape)[keep])))
  lo, hi = 0, 1
  while fail(hi) > 1 - target:
    lo, hi = hi, 2 * hi
  while hi - lo > 1:
    mid = (lo + hi) // 2
    lo, hi = (lo, mid) if fail(mid) <= 1 - target else (mid, hi)
  return hi


def test_comparison_family_end_to_end():
  """A family added by one file and one registry line: its counts, the exact
  mean against plain integer comparison on every pair, and the analytic
  ensemble size against a brute-force union bound from nt's GP."""
  assert "comparison" in permjax.program_families()
  for m in (1, 3, 5):
    prog = permjax.program("comparison", m)
    assert (prog.T, prog.D, prog.steps) == (8 * m + 1, 5 * m + 1, m)
    assert int(prog.column_weights().max()) == 3
    assert prog.structural_zeros().sum() == 1
  prog = permjax.program("comparison", 3)
  a, b = prog.all_pairs()
  final = permjax.run_or_rule(prog, prog.initial_states(a, b))[-1]
  np.testing.assert_array_equal(prog.results(final),
                                (a > b) * 2 + (a == b) * 1)
  run = permjax.execute(prog, permjax.exact_mean())
  assert run.pairs == 64 and run.all_correct and run.matches_or_rule
  n, _ = prog.write_counts(permjax.reachable_states(prog))
  assert n.max() <= 2 * 3 + 1
  prog = permjax.program("comparison", 2)
  for readout in (permjax.readout.from_name("zero_fixed", program=prog),
                  permjax.margin(prog), permjax.readout.midpoint("ntk")):
    assert permjax.execution_ensemble_size(prog, readout) == (
        _union_bound_by_brute_force(prog, readout)), readout.name
  with pytest.raises(ValueError, match="comparison needs bits"):
    permjax.program("comparison", 0)


class _ThroughEncodings:
  """The exact mean without ``from_counts``: the executor then builds every
  encoding and reads the float64 mean (the path before count decisions)."""

  def __init__(self, mean):
    self.mean, self.members, self.kernel = mean, mean.members, mean.kernel

  def __call__(self, program, x):
    return self.mean(program, x)


@pytest.mark.parametrize("name,bits", [("addition", 4), ("multiplication", 3),
                                       ("sbn_gcd", 4)])
@pytest.mark.parametrize("rule", ["zero", "zero_fixed", "fixed:0.2",
                                  "midpoint", "optimal", "margin",
                                  "self_calibrated"])
def test_count_decisions_equal_the_float64_path(name, bits, rule):
  """The executor reads a count-determined predictor's bits from a table;
  every run equals the run through the encodings and the float64 mean,
  including the pairs that fail (thresholds that read some bit wrong)."""
  prog = permjax.program(name, bits)
  mean = permjax.exact_mean()
  readout = (permjax.margin_readout(prog) if rule == "margin" else
             permjax.readout.from_name(rule, "ntk", program=prog))
  a, b = prog.all_pairs()
  take = slice(0, 400)
  fast = permjax.execute(prog, mean, readout, a[take], b[take])
  slow = permjax.execute(prog, _ThroughEncodings(mean), readout, a[take],
                         b[take])
  assert fast._replace(seconds=0) == slow._replace(seconds=0)
  if not readout.analytic:  # thresholds from each batch: no table
    with pytest.raises(ValueError, match="not a function of the counts"):
      permjax.CountDecisions(prog, mean, readout)
    return
  # the states themselves, step by step, on the first pairs
  states = prog.initial_states(a[:50], b[:50])
  decisions = permjax.CountDecisions(prog, mean, readout)
  for _ in range(min(prog.steps, 40)):
    matched = prog.matches(states)
    n, c1 = matched.sum(1), prog.writes_of(matched)
    want = readout.bits_at(mean.from_counts(prog, n, c1), n, prog.k,
                           mean.members)
    got = decisions.read(n, c1)
    assert np.array_equal(got, want)
    states = got
  assert decisions.monotone  # the exact mean grows with the count

def test_count_decisions_not_monotone_in_the_count():
  """A predictor whose output falls with the writer count: the table is
  read by a gather (no per-(class, n) threshold exists), still equal to the
  float64 path."""

  class Falling:
    members, kernel = 1, "ntk"

    def from_counts(self, program, n, c1, weights=None):
      del weights
      c1 = np.asarray(c1, np.float64)
      return np.where(np.asarray(n)[:, None] > 0, 0.5 - np.abs(c1 - 1), 0.0)

  prog = permjax.program("multiplication", 2)
  states = prog.initial_states(*prog.all_pairs())
  matched = prog.matches(states)
  n, c1 = matched.sum(1), prog.writes_of(matched)
  readout = permjax.readout.fixed(0.0)
  decisions = permjax.CountDecisions(prog, Falling(), readout)
  want = readout.bits_at(Falling().from_counts(prog, n, c1), n, prog.k)
  assert np.array_equal(decisions.read(n, c1), want)
  assert not decisions.monotone


def test_count_decisions_bad_input():
  prog = permjax.program("addition", 2)
  with pytest.raises(ValueError, match="fixed_zeros column 99 is outside"):
    permjax.CountDecisions(prog, permjax.exact_mean(),
                           permjax.readout.Readout("zero", fixed_zeros=(99,)))

  class OldStyle:  # from_counts without the column weights
    members, kernel = 1, "ntk"

    def from_counts(self, program, n, c1):
      return np.zeros(np.shape(c1))

  assert not permjax.readout.from_name("zero", "ntk").fixed_zeros
  with pytest.raises(TypeError, match="must accept"):
    permjax.CountDecisions(prog, OldStyle(), permjax.readout.zero())

  class NoCounts:  # a predictor of encodings only
    members, kernel = 1, "ntk"

    def __call__(self, program, x):
      return np.zeros((len(x), program.D))

  with pytest.raises(TypeError, match="NoCounts has no from_counts"):
    permjax.CountDecisions(prog, NoCounts(), permjax.readout.zero())


def test_count_decisions_or_rule_shortcut():
  """Where every needed decision is "written at least once" the OR rule's
  bits are returned as they are; a threshold above some 1-bit means is
  not that case, and its bits differ from the OR rule's."""
  prog = permjax.program("addition", 4)
  states = prog.initial_states(*prog.all_pairs())
  matched = prog.matches(states)
  n, c1 = prog.count_matches(matched), prog.writes_of(matched)
  ref = c1 > 0
  exact = permjax.CountDecisions(prog, permjax.exact_mean(),
                                 permjax.readout.zero())
  assert exact.read(n, c1, ref) is ref
  high = permjax.CountDecisions(prog, permjax.exact_mean(),
                                permjax.readout.fixed(0.9))
  bits = high.read(n, c1, ref)
  assert bits is not ref and not np.array_equal(bits, ref)
  assert np.array_equal(bits, high.read(n, c1))


def test_predictor_output_shape_is_checked():
  """A predictor answering with the wrong shape gets one error naming it,
  from the executor and from the graph driver alike."""

  class Short:
    members, kernel = 1, "ntk"

    def __call__(self, program, x):
      return np.zeros((len(x), program.D - 1))

  prog = permjax.program("addition", 2)
  with pytest.raises(ValueError, match=(r"outputs of shape \(16, 5\) for 16 "
                                       r"states; addition\(m=2\) needs "
                                       r"\(16, D=6\)")):
    permjax.execute(prog, Short(), permjax.readout.zero())
  fl = permjax.flooding_program(1, 2)
  with pytest.raises(ValueError, match="outputs of shape"):
    permjax.run_graph(fl, permjax.graphs.path_graph(3),
                      {"source": 0, "message": 1}, predictor=Short())
