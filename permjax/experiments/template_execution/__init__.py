"""Template programs (addition, multiplication) executed exactly: validation
of the exact NTK mean over every operand pair and step, and the analytic
ensemble size per readout rule. See :mod:`.run` and :mod:`.main`."""

from permjax.experiments.template_execution.run import analytic_sizes
from permjax.experiments.template_execution.run import program_of
from permjax.experiments.template_execution.run import validate
from permjax.experiments.template_execution.run import validate_one

__all__ = ("analytic_sizes", "program_of", "validate", "validate_one")
