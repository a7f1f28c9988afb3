"""Template programs executed exactly, as a package in the Flax-examples
style:

* :mod:`.configs`: the ensemble experiment's ``Config`` and presets
  (``smoke``, ``default``, ``paper``, ``widths``, ``sbn``);
* :mod:`.run`: ``run.run`` (what the command line and notebooks call) and
  ``run.run_one``, one growth per (program, bits, regime, width, seed);
* :mod:`.validate`: the exact NTK mean on every operand pair and step, with
  the analytic ensemble size per readout rule (``validate.validate``);
* :mod:`.report`: tables and figures from the records;
* :mod:`.main`: the command line.
"""

from permjax.experiments.template_execution import configs
from permjax.experiments.template_execution import report
from permjax.experiments.template_execution import run
from permjax.experiments.template_execution import validate

__all__ = ("configs", "report", "run", "validate")
