"""The repository's own rules, checked on its files.

* Every citation of the project's notes (``docs/....md`` or ``docs/....md §n``)
  points at a file and a numbered section that exist; nothing cites notes
  outside the repository.
* Outside the package only ``import permjax`` (and its public submodules)
  is used, optax's rule: no ``permjax._src`` in notebooks, benchmarks,
  experiment scripts or ``permjax/experiments``.
* Inside the package no module reaches into another's privates.
"""

import os
import re
import subprocess

import pytest

# Nothing here depends on the float dtype: CI's float64 pass leaves it out.
pytestmark = pytest.mark.dtype_independent

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CITATION = re.compile(r"docs/((?:[\w-]+/)*[\w-]+\.md)(?:\s*§\s*(\d+(?:\.\d+)?))?")
FOREIGN = re.compile(r"\b(?:SPEC|TEMPLATES|GRAPHS|REVIEW|FUZZ|AUDIT[\w-]*)"
                     r"(?:\.md)?\s*§|\.\./shared|/shared/(?:SPEC|TEMPLATES)")
PRIVATE_IMPORT = re.compile(r"(?:from|import)\s+permjax\._src\b")


def _tracked(*roots, suffixes=(".py", ".md", ".sh", ".toml", ".txt")):
  out = subprocess.run(["git", "ls-files", *roots], cwd=REPO,
                       capture_output=True, text=True, check=True).stdout
  return [f for f in out.split() if f.endswith(suffixes)]


def _sections(path):
  """Numbers of the numbered headings of a Markdown file (``## 3.`` ->
  ``"3"``, ``### 3.1`` -> ``"3.1"``)."""
  with open(os.path.join(REPO, "docs", path)) as f:
    return {m.group(1) for m in re.finditer(r"^#+\s+(\d+(?:\.\d+)?)[.\s]",
                                            f.read(), re.M)}


def test_every_citation_points_at_an_existing_section():
  bad, count = [], 0
  for name in _tracked("."):
    with open(os.path.join(REPO, name), errors="replace") as f:
      text = f.read()
    for m in CITATION.finditer(text):
      count += 1
      doc, section = m.group(1), m.group(2)
      if not os.path.exists(os.path.join(REPO, "docs", doc)):
        bad.append(f"{name}: docs/{doc} does not exist")
      elif section and section not in _sections(doc):
        bad.append(f"{name}: docs/{doc} has no section §{section}")
  assert count > 40, count  # the code does cite its theory
  assert not bad, "\n".join(bad)


def test_the_citation_checker_catches_a_missing_section():
  assert "5" in _sections("theory/permutation.md")
  assert "99" not in _sections("theory/permutation.md")


def test_nothing_cites_notes_outside_the_repository():
  bad = []
  for name in _tracked("."):
    if name == "tests/test_structure.py":
      continue
    with open(os.path.join(REPO, name), errors="replace") as f:
      for number, line in enumerate(f, 1):
        if FOREIGN.search(line):
          bad.append(f"{name}:{number}: {line.strip()}")
  assert not bad, "\n".join(bad)


@pytest.mark.parametrize("root", ["notebooks", "benchmarks", "experiments",
                                  "permjax/experiments", "docs",
                                  "README.md"])
def test_only_the_public_api_is_imported_outside_the_package(root):
  bad = []
  for name in _tracked(root):
    with open(os.path.join(REPO, name)) as f:
      for number, line in enumerate(f, 1):
        if PRIVATE_IMPORT.search(line) or "permjax._src." in line:
          bad.append(f"{name}:{number}: {line.strip()}")
  assert not bad, "\n".join(bad)


def test_no_module_reaches_into_another_modules_privates():
  bad = []
  for name in _tracked("permjax", suffixes=(".py",)):
    with open(os.path.join(REPO, name)) as f:
      for number, line in enumerate(f, 1):
        if "protected-access" in line:
          bad.append(f"{name}:{number}: {line.strip()}")
  assert not bad, "\n".join(bad)


def test_the_readme_tour_runs():
  with open(os.path.join(REPO, "README.md")) as f:
    text = f.read()
  code = re.search(r"## A short tour\n\n```python\n(.*?)```", text, re.S)
  assert code, "the README has no tour"
  exec(compile(code.group(1), "README.md", "exec"), {})  # pylint: disable=exec-used


@pytest.mark.parametrize("command", [
    ["permjax.experiments.figure1", "--config", "smoke"],
    ["permjax.experiments.template_execution", "ensembles", "--config",
     "smoke"],
    ["permjax.experiments.template_execution", "validate", "--programs",
     "addition=1"],
])
@pytest.mark.parametrize("where", ["file", "under_a_file"])
def test_a_workdir_that_cannot_be_a_folder_is_one_error_line(
    tmp_path, command, where):
  blocker = tmp_path / "results.txt"
  blocker.write_text("keep me\n")
  workdir = blocker if where == "file" else blocker / "run"
  proc = subprocess.run([os.sys.executable, "-m", *command, "--workdir",
                         str(workdir)], capture_output=True, text=True,
                        cwd=REPO, timeout=120, check=False)
  assert proc.returncode == 2, proc.stderr
  lines = [l for l in proc.stderr.splitlines() if l.strip()]
  assert len(lines) == 1 and lines[0].startswith("error: --workdir"), lines
  assert blocker.read_text() == "keep me\n"  # nothing written is lost
