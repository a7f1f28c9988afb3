"""Sphinx configuration for the permjax documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` from the
repository root (needs ``sphinx`` and ``myst-parser``).
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "permjax"
author = "the permjax authors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]

# The theory notes write their maths in plain Unicode, so no MyST maths
# syntax (dollarmath) is enabled.
myst_enable_extensions = []

# Google-style docstrings.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# Render "Attributes:" sections as :ivar: fields, so NamedTuple and
# dataclass fields are not described twice (once by napoleon, once by
# autodoc), which Sphinx reports as duplicate object descriptions.
napoleon_use_ivar = True

autodoc_typehints = "none"
autodoc_member_order = "bysource"

html_theme = "alabaster"
