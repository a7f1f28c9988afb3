"""Readout rules: how an ensemble's average becomes bits (SPEC §9).

``permjax.readout.zero()`` (the paper's), ``fixed(τ)``, ``midpoint(kernel)``,
``optimal(kernel)``, ``self_calibrated()``; ``from_name("midpoint", "ntk")``
parses the command-line names. See :mod:`permjax._src.readout`.

Example:
  >>> import permjax
  >>> permjax.ensemble_size(30, readout=permjax.readout.midpoint())
  1
"""

from permjax._src.readout import count_nonzeros
from permjax._src.readout import EPSILON
from permjax._src.readout import fixed
from permjax._src.readout import from_name
from permjax._src.readout import midpoint
from permjax._src.readout import optimal
from permjax._src.readout import optimal_threshold
from permjax._src.readout import Readout
from permjax._src.readout import RULES
from permjax._src.readout import self_calibrated_thresholds
from permjax._src.readout import self_calibrated
from permjax._src.readout import zero

__all__ = ("EPSILON", "RULES", "Readout", "count_nonzeros", "fixed",
           "from_name", "midpoint", "optimal", "optimal_threshold",
           "self_calibrated", "self_calibrated_thresholds", "zero")
