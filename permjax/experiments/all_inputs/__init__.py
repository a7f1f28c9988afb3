"""Every nonzero input at scale: the all-inputs claim of arXiv 2502.16763v1
checked by counting, for k up to 24, as a package in the Flax-examples style:

* :mod:`.configs`: ``Config`` and the presets ``smoke``, ``default``,
  ``zero``, ``gp``;
* :mod:`.run`: ``run.run`` (what the command line and notebooks call) and
  ``run.run_one``, one unit per (regime, k, seed);
* :mod:`.report`: the table, the figure and the growth-exponent fits;
* :mod:`.main`: the command line
  (``python -m permjax.experiments.all_inputs``).
"""

from permjax.experiments.all_inputs import configs
from permjax.experiments.all_inputs import report
from permjax.experiments.all_inputs import run

__all__ = ("configs", "report", "run")
