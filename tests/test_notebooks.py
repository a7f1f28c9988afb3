"""Executes every notebook (jupytext percent files) on small sizes."""

import glob
import os

import pytest

import jupytext  # the [test] extra installs both; a missing one is an error
import nbclient

# Nothing here depends on the float dtype: CI's float64 pass leaves it out.
pytestmark = pytest.mark.dtype_independent

NOTEBOOKS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..",
                                          "notebooks", "*.py")))


def test_every_notebook_is_collected():
  names = [os.path.basename(p) for p in NOTEBOOKS]
  assert names == ["01_ntk_and_sign_features.py", "02_figure1.py",
                   "03_ensemble_complexity.py",
                   "04_finite_vs_infinite_width.py",
                   "05_template_tasks.py", "06_sbn.py", "07_graphs.py"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_asserts_what_it_prints(path):
  # Every notebook that prints a claim checks it (an assert error would
  # show as an error output below).
  with open(path) as f:
    text = f.read()
  if "print(" in text:
    assert "assert " in text, f"{os.path.basename(path)} prints unchecked claims"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs(path, tmp_path, monkeypatch):
  monkeypatch.setenv("PERMJAX_SMALL", "1")
  monkeypatch.setenv("MPLBACKEND", "Agg")
  notebook = jupytext.read(path)
  client = nbclient.NotebookClient(notebook, timeout=900,
                                   kernel_name="python3",
                                   resources={"metadata": {"path": str(tmp_path)}})
  client.execute()
  errors = [o for cell in notebook.cells if cell.cell_type == "code"
            for o in cell.get("outputs", []) if o.get("output_type") == "error"]
  assert not errors
