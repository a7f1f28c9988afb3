"""Readout rules: how an ensemble's average becomes bits
(docs/theory/readout.md).

``zero()`` (the paper's), ``fixed(τ)``, ``midpoint(kernel)``,
``optimal(kernel)``, ``self_calibrated()``, and for template programs
``permjax.margin(program, kernel)`` and ``zero_fixed``;
``from_name("midpoint", kernel)`` parses the command-line names. A per-n
rule built without a kernel follows the members it reads. See
:mod:`permjax._src.readout`.

Example:
  >>> import permjax
  >>> permjax.ensemble_size(30, readout=permjax.readout.midpoint())
  1
  >>> permjax.ensemble_size(13, kernel="nngp", scope="all",
  ...                       readout=permjax.readout.midpoint())
  16
"""

from permjax._src.readout import count_nonzeros
from permjax._src.readout import EPSILON
from permjax._src.readout import fixed
from permjax._src.readout import from_name
from permjax._src.readout import midpoint
from permjax._src.readout import NAMES
from permjax._src.readout import optimal
from permjax._src.readout import optimal_threshold
from permjax._src.readout import Readout
from permjax._src.readout import RULES
from permjax._src.readout import self_calibrated
from permjax._src.readout import self_calibrated_thresholds
from permjax._src.readout import zero

__all__ = ("EPSILON", "NAMES", "RULES", "Readout", "count_nonzeros", "fixed",
           "from_name", "midpoint", "optimal", "optimal_threshold",
           "self_calibrated", "self_calibrated_thresholds", "zero")
