"""Figure 1 of arXiv 2502.16763v1, in three member sources (``gp``, ``ntk``,
``standard``), as a package in the Flax-examples style:

* :mod:`.configs`: :class:`Config` and the presets ``smoke``, ``default``,
  ``paper`` (:func:`get_config`);
* :mod:`.run`: :func:`run` (what the command line and notebooks call),
  :func:`run_one`, :func:`load_results`;
* :mod:`.report`: :func:`summarize`, :func:`analytic_table`,
  :func:`paper_points`, :func:`scaling`;
* :mod:`.plots`: the two panels;
* :mod:`.main`: the command line.
"""

from permjax.experiments.figure1.configs import Config
from permjax.experiments.figure1.configs import config_from_record
from permjax.experiments.figure1.configs import get_config
from permjax.experiments.figure1.configs import PRESETS
from permjax.experiments.units import REGIMES
from permjax.experiments.figure1.report import analytic_table
from permjax.experiments.figure1.report import paper_points
from permjax.experiments.figure1.report import scaling
from permjax.experiments.figure1.report import summarize
from permjax.experiments.figure1.run import build_test_set
from permjax.experiments.figure1.run import ExperimentError
from permjax.experiments.figure1.run import load_results
from permjax.experiments.figure1.run import member_source
from permjax.experiments.figure1.run import run
from permjax.experiments.figure1.run import run_one
from permjax.experiments.figure1.run import unit_keys

__all__ = ("Config", "ExperimentError", "PRESETS", "REGIMES",
           "analytic_table", "build_test_set", "config_from_record",
           "get_config", "load_results", "member_source", "paper_points",
           "run", "run_one", "scaling", "summarize", "unit_keys")
