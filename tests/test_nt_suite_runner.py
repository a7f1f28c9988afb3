"""The runner of neural-tangents' own suite reads pytest's JUnit XML right."""

import importlib.util
from pathlib import Path

import pytest

# Nothing here depends on the float dtype: CI's float64 pass leaves it out.
pytestmark = pytest.mark.dtype_independent

_PATH = Path(__file__).parent / "external" / "nt_suite.py"
_SPEC = importlib.util.spec_from_file_location("nt_suite", _PATH)
nt_suite = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(nt_suite)

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="tests.stax.linear_test.IndexTest" name="test_index2" time="1.0"/>
<testcase classname="tests.stax.linear_test.IndexTest" name="test_index3" time="1.0">
  <skipped message="Skipping large tests for speed."/></testcase>
<testcase classname="tests.predict_test.PredictTest" name="testMaxLearningRate3" time="1.0">
  <failure message="TypeError: eigvalsh() got an unexpected keyword argument 'eigvals'">tb</failure></testcase>
<testcase classname="tests.empirical_test.EmpiricalTest" name="test_vmap_axes2" time="1.0">
  <error message="KeyError: 0">tb</error></testcase>
<testcase classname="tests.rules_test.JacobianRulesTest" name="test_unary0" time="1.0"/>
</testsuite></testsuites>
"""


def test_table_counts_passes_skips_and_failures_per_module(tmp_path,
                                                          monkeypatch):
  junit = tmp_path / "junit.xml"
  junit.write_text(JUNIT)
  monkeypatch.setattr(nt_suite, "EXPECTED", {})
  table, unexpected = nt_suite.summarize(junit)
  assert dict(table["tests/stax/linear_test.py"]) == {"passed": 1,
                                                     "skipped": 1}
  assert dict(table["tests/predict_test.py"]) == {"failed": 1}
  assert dict(table["tests/empirical_test.py"]) == {"failed": 1}
  assert dict(table["tests/rules_test.py"]) == {"passed": 1}
  assert len(unexpected) == 2
  assert any("eigvalsh" in line for line in unexpected)
  text = nt_suite.markdown(table)
  assert "| **all** | 2 | 1 | 0 | 2 |" in text


def test_expected_refusals_are_counted_apart(tmp_path, monkeypatch):
  junit = tmp_path / "junit.xml"
  junit.write_text(JUNIT)
  monkeypatch.setattr(nt_suite, "EXPECTED",
                      {"EmpiricalTest.test_vmap_axes": "refused on purpose"})
  table, unexpected = nt_suite.summarize(junit)
  assert dict(table["tests/empirical_test.py"]) == {"refused": 1}
  assert len(unexpected) == 1


def test_a_different_neural_tangents_version_is_refused(monkeypatch, capsys):
  monkeypatch.setattr(nt_suite.importlib.metadata, "version",
                      lambda name: "0.6.4")
  with pytest.raises(SystemExit):
    nt_suite.main(["--modules", "ci"])
  assert "installed neural-tangents is 0.6.4" in capsys.readouterr().err


def test_ci_subset_names_existing_modules():
  # Every entry is a path (optionally ::Class[::test]) of a module that the
  # full run lists, and nothing not run is in it.
  for entry in nt_suite.CI_SUBSET:
    module = entry.split("::")[0]
    assert module.startswith("tests/") and module.endswith("_test.py")
    assert not any(module.startswith(skip) for skip in nt_suite.NOT_RUN)


def test_a_suite_that_does_not_start_fails_even_with_an_old_table(
    tmp_path, monkeypatch, capsys):
  # pytest stopping at start-up (nt failing to import in the conftest) left
  # no new JUnit file; an old one from a passing run must not be read.
  work = tmp_path / "work"
  (work / "suite").mkdir(parents=True)
  (work / "junit.xml").write_text(JUNIT.replace("<failure", "<skipped")
                                  .replace("</failure>", "</skipped>")
                                  .replace("<error", "<skipped")
                                  .replace("</error>", "</skipped>"))
  monkeypatch.setattr(nt_suite, "_sdist", lambda folder: None)
  monkeypatch.setattr(nt_suite, "_unpack", lambda sdist, suite: None)
  monkeypatch.setattr(nt_suite, "_install_dependencies", lambda: None)

  class Stopped:
    returncode = 4
  monkeypatch.setattr(nt_suite.subprocess, "run",
                      lambda *args, **kwargs: Stopped())
  assert nt_suite.main(["--dir", str(work)]) == 1
  assert "before running the suite" in capsys.readouterr().out
  assert not (work / "junit.xml").exists()
