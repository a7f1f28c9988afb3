"""The public-API fuzz as tests: every defective call of the outside fuzz
(tests/fuzz_cases.py, one case per row) and ten regression tests for the
worst defects.

A case expecting an error passes when the call raises ONE ValueError /
TypeError / documented permjax error, from permjax's own code (the innermost
traceback frame lies under ``permjax/``, not in numpy/jax/flax/os), with a
one-line message naming the bad parameter; a case expecting ``ok`` passes
when the call returns and its check holds. CLI cases run ``python -m`` in a
fresh folder, in this process through the command's ``main(argv)`` (exit 2
and one ``error:`` line, or exit 0; ``tests/test_structure.py`` runs the
``python -m`` commands themselves); subprocess cases (size blow-ups) run in
a child under a 4 GB address-space limit, started in the background (two at
a time) when the first case runs, so they overlap the in-process ones.
"""

import concurrent.futures
import os
import signal
import subprocess
import sys
import tempfile
import threading
import warnings

import jax
import numpy as np
import pytest

import fuzz_cases
import permjax

# Nothing here depends on the float dtype: CI's float64 pass leaves it out.
pytestmark = pytest.mark.dtype_independent

LIB_TIMEOUT = 30
BACKGROUND_WORKERS = 2


@pytest.fixture(scope="session")
def namespace():
  return fuzz_cases.setup()


FIGURE1_K2 = ["permjax.experiments.figure1", "--config", "smoke", "--regimes",
              "gp", "--k_values", "2", "--k_curves", "2", "--seeds", "1"]


def _figure1_k2():
  workdir = os.path.join(tempfile.mkdtemp(prefix="fuzz-fig1-"), "run")
  proc = subprocess.run(
      [sys.executable, "-m"] + FIGURE1_K2 + ["--workdir", workdir],
      capture_output=True, text=True, timeout=fuzz_cases.CLI_TIMEOUT,
      cwd=os.path.dirname(workdir), check=False)
  return proc, workdir


def _selected(session) -> tuple:
  """The case ids and test names this session runs (so that ``-k`` runs
  start only the background jobs they need)."""
  ids, names = set(), set()
  for item in session.items:
    names.add(getattr(item, "originalname", item.name))
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "case" in params:
      ids.add(params["case"].id)
  return ids, names


@pytest.fixture(scope="session")
def background(request):
  """Futures of the selected CLI and subprocess cases (and of the figure1
  regression run), all started at once, two at a time."""
  ids, names = _selected(request.session)
  pool = concurrent.futures.ThreadPoolExecutor(BACKGROUND_WORKERS)
  futures = {}
  if "test_regression_figure1_cli_at_k2_writes_its_figures" in names:
    futures["regression-figure1-k2"] = pool.submit(_figure1_k2)
  if "test_regression_random_inputs_huge_num_refused_without_crash" in names:
    ids.add("p11-016")
  for case in fuzz_cases.CASES:
    if case.expect == "skip" or case.id not in ids:
      continue
    if case.kind == "subprocess":
      futures[case.id] = pool.submit(fuzz_cases.run_subprocess_case, case)
  yield futures
  pool.shutdown(wait=False, cancel_futures=True)


def _on_alarm(signum, frame):
  raise fuzz_cases.CaseTimeout(f"still running after {LIB_TIMEOUT} s")


def _run_lib(case, namespace):
  in_main = threading.current_thread() is threading.main_thread()
  if in_main:
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(LIB_TIMEOUT)
  try:
    return fuzz_cases.run_case(case, namespace)
  except fuzz_cases.CaseTimeout as err:
    return {"timeout": str(err)}
  finally:
    if in_main:
      signal.alarm(0)
      signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("case", fuzz_cases.CASES,
                         ids=[c.id for c in fuzz_cases.CASES])
def test_fuzz_case(case, namespace, background):
  if case.expect == "skip":
    pytest.skip(case.reason)
  if case.kind == "cli":
    run = fuzz_cases.run_cli_in_process(case)
    problems = fuzz_cases.judge_cli(case, run)
  elif case.kind == "subprocess":
    run = background[case.id].result()
    problems = fuzz_cases.judge_subprocess(case, run)
  else:
    outcome = _run_lib(case, namespace)
    if "timeout" in outcome:
      problems = [outcome["timeout"] + " (a hang)"]
    else:
      problems = fuzz_cases.judge(case, outcome)
  assert not problems, (f"[{case.cat}/{case.area}] {case.call}\n  -> "
                        + "\n  -> ".join(problems))


# --------------------------------------------------------------------------
# The ten worst defects, as plain regression tests of the correct behaviour
# --------------------------------------------------------------------------

def _frame_file(err):
  tb = err.__traceback__
  while tb.tb_next is not None:
    tb = tb.tb_next
  return tb.tb_frame.f_code.co_filename


def _assert_own_error(err):
  assert "/permjax/" in _frame_file(err), _frame_file(err)
  assert "/site-packages/" not in _frame_file(err), _frame_file(err)
  assert "\n" not in str(err).strip()


def test_regression_execute_negative_batch_raises():
  prog = permjax.addition_program(2)
  with pytest.raises(ValueError, match="batch") as info:
    permjax.execute(prog, permjax.exact_mean(), batch=-1)
  _assert_own_error(info.value)


def test_regression_sbn_instruction_budget_is_enforced():
  machine = permjax.SBNMachine(2, 2, ((0, 0, 1), (1, 1, 2)))
  with pytest.raises(ValueError) as info:
    permjax.sbn_interpret(machine, [[1, 1]], 1)  # needs 2 instructions
  _assert_own_error(info.value)
  memory, count = permjax.sbn_interpret(machine, [[1, 1]], 2)
  assert count.tolist() == [2]
  assert memory.tolist() == [[0, 0]]


def test_regression_programs_are_identified_by_content():
  prog_a = permjax.sbn_program(permjax.SBNMachine(2, 2, ((0, 0, 1),)), 1)
  prog_b = permjax.sbn_program(permjax.SBNMachine(2, 2, ((1, 1, 1),)), 1)
  assert prog_a.name == prog_b.name  # same W, w, L
  assert prog_a.fingerprint != prog_b.fingerprint
  test_a = permjax.program_test_set(prog_a)
  with pytest.raises(ValueError) as info:
    permjax.ProgramScorer(prog_b, test_a, {"z": permjax.readout.zero()})
  _assert_own_error(info.value)


def test_regression_midpoint_follows_the_members_kernel():
  follow = permjax.ensemble_size(13, kernel="nngp", scope="all",
                                 readout=permjax.readout.midpoint())
  explicit = permjax.ensemble_size(13, kernel="nngp", scope="all",
                                   readout=permjax.readout.midpoint("nngp"))
  assert follow == explicit == 16


def test_regression_random_inputs_huge_num_refused_without_crash(background):
  # The same child run as case p11-016 (started in the background).
  case = fuzz_cases.BY_ID["p11-016"]
  assert case.call == "permjax.random_inputs(key, P, 2, 10**10)"
  run = background[case.id].result()
  assert not run["timed_out"], run["stderr"][-500:]
  assert run["rc"] == 0, f"the child crashed (rc {run['rc']}): " + (
      run["stderr"][-500:])
  outcome = run["outcome"]
  assert outcome["raised"] and outcome["type"] == "ValueError", outcome
  assert "/permjax/" in outcome["frame_file"], outcome["frame"]
  assert "\n" not in outcome["message"].strip()


def test_regression_sbn_padding_that_cannot_reach_the_margin_is_refused():
  machine = permjax.SBNMachine(2, 40, ((0, 0, 1),))
  with pytest.raises(ValueError) as info:
    permjax.sbn_program(machine, 1, inputs=[[1, 1]])
  message = str(info.value)
  _assert_own_error(info.value)
  assert "pad" in message and "margin" in message, message
  assert "k must be >= 2" not in message and "-92233" not in message
  # w = 37: the padding reaches the margin only at k ~ 196 000; refuse it, or
  # at least say so: never a silent k > 100 000.
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
      prog = permjax.sbn_program(permjax.SBNMachine(2, 37, ((0, 0, 1),)), 1,
                                 inputs=[[1, 1]])
    except ValueError as err:
      _assert_own_error(err)
      assert "pad" in str(err)
      return
  stated = any("pad" in str(w.message) for w in caught)
  assert prog.k <= 100_000 or stated, (
      f"silent padding to k={prog.k} for a 2-word machine")


def test_regression_make_examples_int_dtype_is_not_zeros():
  try:
    ex = permjax.make_examples([1, 2, 0], [[1, 0, 1]], dtype=np.int32)
  except (ValueError, TypeError) as err:
    _assert_own_error(err)
    assert "dtype" in str(err)
    return
  np.testing.assert_allclose(ex.x, [[2 ** -0.5, 0.0, 2 ** -0.5]])


def test_regression_enumerated_training_points_need_one_member():
  assert permjax.ensemble_size_enumerated([1, 2, 3, 4, 0], n=1) == 1


def test_regression_too_small_width_names_the_width():
  perm = [1, 2, 3, 0]
  with pytest.raises((ValueError, TypeError)) as info:
    permjax.train_ensemble(
        permjax.MLPSpec(width=1), permjax.training_set(perm),
        jax.random.key(0), 2, x_test=permjax.all_inputs(perm).x,
        config=permjax.TrainConfig(trainer="linearized"))
  message = str(info.value)
  _assert_own_error(info.value)
  assert "width" in message, message
  # It must not claim divergence ("nothing diverged" is fine).
  assert "diverged" not in message.replace("nothing diverged", ""), message
  assert "solver='cg'" not in message and "dtype='float64'" not in message
  assert any(w in message for w in ("rank", "singular", "deficient",
                                    "parameters")), message


def test_regression_figure1_cli_at_k2_writes_its_figures(background):
  # figure1 --config smoke --regimes gp --k_values 2 --k_curves 2 --seeds 1
  # (run in the background, see _figure1_k2).
  proc, workdir = background["regression-figure1-k2"].result()
  assert proc.returncode == 0, proc.stderr[-800:]
  for name in ("figure1_left.png", "figure1_right.png"):
    assert os.path.getsize(os.path.join(workdir, name)) > 0
