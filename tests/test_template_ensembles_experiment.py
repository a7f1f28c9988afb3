"""The ensemble experiment of template execution: CLI, records, resume,
committed results."""

import glob
import json
import os

import numpy as np
import pytest

import permjax
from permjax.experiments import records as records_lib
from permjax.experiments import seeds as seeds_lib
from permjax.experiments.template_execution import configs
from permjax.experiments.template_execution import main as main_lib
from permjax.experiments.template_execution import report
from permjax.experiments.template_execution import run as run_lib

# End-to-end experiment runs in the default dtype: the numerics they use are
# tested under float64 in the unit modules (GP, training, ensembles, program
# ensembles, all-inputs evaluation), so CI's float64 pass leaves them out.
pytestmark = pytest.mark.dtype_independent

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tiny(**changes):
  base = dict(name="tiny", programs=("addition=2",), regimes=("gp", "ntk"),
              widths=(64,), max_members=8, gp_max_members=512, chunk=8)
  base.update(changes)
  return configs.Config(**base)


def test_run_records_every_rule_with_provenance_and_resumes(tmp_path):
  config = _tiny()
  paths = run_lib.run(config, str(tmp_path), progress=False)
  recs = records_lib.read_records(paths["results"])
  assert [(r["regime"], r["width"]) for r in recs] == [("gp", 0),
                                                       ("ntk", 64)]
  for r in recs:
    assert set(r["rules"]) == {"zero_fixed", "margin", "midpoint"}
    assert r["git"] and r["packages"]["jax"]
    assert r["pairs_run"] == r["pairs_total"] == 16
    assert r["rules"]["margin"]["reached"]
    assert r["rules"]["zero_fixed"]["readout"]["fix_structural_zeros"]
  gp = recs[0]
  assert gp["member_source"]["regime"] == "gp"
  assert gp["rules"]["zero_fixed"]["bound_N90"] == 439  # independent value
  n_all = gp["rules"]["zero_fixed"]["n_at"]["1.0"]
  assert n_all is not None and n_all <= 439
  # Resume: nothing is run again, the tables are the same.
  before = open(paths["table"]).read()
  again = run_lib.run(config, str(tmp_path), progress=False)
  assert len(records_lib.read_records(again["results"])) == 2
  assert open(again["table"]).read() == before
  with pytest.raises(ValueError, match="different config"):
    run_lib.run(_tiny(max_members=9), str(tmp_path), progress=False)


def test_gp_regime_runs_a_pair_subset_when_encodings_exceed_the_limit():
  prog = permjax.addition_program(4)
  a, b, test = run_lib.pairs_for(prog, 100)
  assert len(test.x) <= 100 and 1 <= len(a) < 256
  assert len(a) & (len(a) - 1) == 0  # a power of two
  a2, _, _ = run_lib.pairs_for(prog, 100)
  assert (a == a2).all()  # fixed
  # the same prefix as a search down from a quarter of the pairs, which
  # builds every candidate's test set (independent reference)
  for limit in (30, 100, 400, 2000, 10 ** 6):
    order = np.random.default_rng(256 + prog.k).permutation(256)
    want = 256 if len(permjax.program_test_set(
        prog, *prog.all_pairs()).x) <= limit else max(
            c for c in (1, 2, 4, 8, 16, 32, 64) if len(
                permjax.program_test_set(prog, *(
                    p[order[:c]] for p in prog.all_pairs())).x) <= limit)
    got, _, test = run_lib.pairs_for(prog, limit)
    assert len(got) == want and len(test.x) <= limit, limit
    assert (got == prog.all_pairs()[0][order[:want]]).all() or want == 256
  with pytest.raises(run_lib.ExperimentError, match="gp_max_states=3 "):
    run_lib.pairs_for(prog, 3)


@pytest.mark.parametrize("changes,message", [
    ({"regimes": ("gp", "nets")}, "unknown regime"),
    ({"programs": ("addition=0",)}, "addition needs bits"),
    ({"programs": ("multiplication=5",)}, "above multiplication's largest"),
    ({"programs": ("addition=2", "addition=3")}, "listed twice"),
    ({"programs": ("adition=2",)}, "unknown program family 'adition'"),
    ({"programs": ("addition",)}, "family=bits"),
    ({"rules": ("zero", "marginal")}, "unknown readout 'marginal'"),
    ({"widths": (0,)}, "widths must list integers >= 1"),
    ({"max_members": 0}, "max_members must be >= 1"),
    ({"gp_kernel": "rbf"}, "gp_kernel must be"),
])
def test_bad_config_gets_one_clear_error(changes, message):
  with pytest.raises(ValueError, match=message):
    _tiny(**changes)


def test_cli_reports_bad_flags(capsys):
  with pytest.raises(SystemExit):
    main_lib.main(["ensembles", "--config", "smoke", "--regimes", "gp,xx",
                   "--workdir", "/nonexistent/never"])
  assert "unknown regime" in capsys.readouterr().err


def test_committed_results_regenerate_byte_identical(tmp_path):
  folders = sorted(glob.glob(os.path.join(REPO, "experiments",
                                          "template_ensembles", "*",
                                          "summary.csv")))
  assert folders, "no committed ensemble results"
  for summary in folders:
    folder = os.path.dirname(summary)
    recs = records_lib.load_results(folder)
    with open(os.path.join(folder, "config.json")) as f:
      config = json.load(f)["config"]
    assert {report.unit_of(r) for r in recs} == set(
        run_lib.config_from_workdir(folder).units())
    assert {r["config_name"] for r in recs} == {config["name"]}
    rows = report.summarize(recs)
    records_lib.write_csv(str(tmp_path / "summary.csv"), rows)
    (tmp_path / "ensembles.md").write_text(report.tables(recs, rows))
    for name in ("summary.csv", "ensembles.md"):
      with open(os.path.join(folder, name), "rb") as f:
        assert (tmp_path / name).read_bytes() == f.read(), (folder, name)


def test_edge_and_sampled_pairs():
  a, b = run_lib.edge_pairs(8)
  pairs = set(zip(a, b))
  assert {(0, 0), (255, 255), (255, 1), (1, 255), (128, 128)} <= pairs
  assert len(pairs) == len(a)  # no repeats
  prog = permjax.program("addition", 64)
  sa, sb = run_lib.sampled_pairs(prog, 500)
  again = run_lib.sampled_pairs(prog, 500)
  assert list(sa) == list(again[0]) and list(sb) == list(again[1])
  assert len(sa) == len(a) + 500 and list(sa[:len(a)]) == run_lib.edge_pairs(
      64)[0]
  assert all(0 <= int(x) < 2 ** 64 for x in list(sa) + list(sb))
  assert max(int(x) for x in sa) > 2 ** 63  # wide values, not int64-capped


def test_sampled_pairs_growth_without_early_stop(tmp_path):
  """64-bit addition on sampled pairs: grown to max_members (no stop at the
  first exact N), per rule the grid bound over every pair, the
  Clopper-Pearson bound, and the margin threshold from the grid."""
  config = _tiny(programs=("addition=64",), regimes=("ntk",), widths=(32,),
                 pairs=20, max_members=4, chunk=4, stop_when_exact=False,
                 train=permjax.TrainConfig(trainer="linearized",
                                           solver="cg"))
  paths = run_lib.run(config, str(tmp_path), progress=False,
                      accept_unconverged=True)
  (rec,) = records_lib.read_records(paths["results"])
  prog = permjax.program("addition", 64)
  assert rec["members"] == 4 and not rec["stopped_at_first_exact"]
  assert rec["pairs_total"] == 2 ** 128 and rec["pairs_sampled"]
  assert rec["pairs_run"] == 20 + len(run_lib.edge_pairs(64)[0])
  margin = rec["rules"]["margin"]
  assert margin["readout"]["tau"] == pytest.approx(
      permjax.margin_readout(prog).tau)
  assert margin["grid_bound_N90"] == permjax.certified_ensemble_size(
      prog, permjax.margin_readout(prog))
  for v in rec["rules"].values():
    failed = v["failed_pairs_at_end"]
    assert v["failure_rate_upper95"] == pytest.approx(
        run_lib.clopper_pearson_upper(failed, rec["pairs_run"]))
    assert len(v["curve"]) == 4
  assert "2^128" in (tmp_path / "ensembles.md").read_text()


def test_seed_statistics_need_growths_run_to_a_common_size():
  curve = [1.0, 1.0, 1.0]
  out = seeds_lib.seed_statistics([curve], first_passages=True)
  assert out["N_seeds90"] is None  # first passages say nothing after them
  curves = [[0.5, 1.0, 1.0]] * 9 + [[1.0, 0.9, 0.9]]
  out = seeds_lib.seed_statistics(curves, first_passages=False)
  assert out["N_seeds90"] == 2 and out["seeds_exact_at_end"] == "9/10"
  assert out["seeds_exact_interval"] == "[0.55, 1.00]"
  # Half the seeds exact from N = 2 on, all from N = 3 on: the 50% N is 2.
  assert out["N_seeds50"] == 2
  # Resampling the 10 seeds draws the never-exact one twice or more with
  # probability 1 - 0.9^10 - 10·0.1·0.9^9 = 0.26 > 0.025, and then fewer
  # than 90% are exact at N = 3: the interval's top is beyond the growth.
  assert out["N_seeds90_interval"] == "[2, > 3]"
  same = seeds_lib.seed_statistics([[0.5, 1.0, 1.0]] * 10, first_passages=False)
  assert same["N_seeds90_interval"] == "[2, 2]"


def test_single_steps_against_whole_runs():
  # Two seeds of 10 pairs × 4 steps: 1 and 3 wrong steps, 1 and 2 failing
  # pairs at N = 8 -> single-step 1 - 4/80, whole-run 1 - 3/20.
  recs = [{"program": "addition", "bits": 2, "regime": "ntk", "width": 64,
           "seed": s, "pairs_run": 10, "first_errors": [
               {"members": 8, "rule": "margin", "steps": 40,
                "wrong_steps": w, "failing_pairs": f}]}
          for s, (w, f) in enumerate([(1, 1), (3, 2)])]
  (row,) = report.step_rows(recs)
  assert row["single_step_accuracy"] == pytest.approx(1 - 4 / 80)
  assert row["whole_run_accuracy"] == pytest.approx(1 - 3 / 20)
  assert "| addition | 2 | ntk | 64 | margin | 8 | 0.950000 | 0.8500 |" in (
      report.step_markdown([row]))
