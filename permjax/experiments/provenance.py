"""What made a result: code version, package versions, machine.

Every result file an experiment writes carries :func:`environment`.
"""

from __future__ import annotations

import platform

import permjax


def environment() -> dict:
  """Versions and device, recorded in every result file."""
  import jax  # pylint: disable=import-outside-toplevel
  device = jax.devices()[0]
  return {
      "permjax_version": permjax.__version__,
      "jax_version": jax.__version__,
      "python": platform.python_version(),
      "platform": platform.platform(),
      "device": str(device),
      "device_kind": device.device_kind,
      "device_count": jax.device_count(),
      "float_gp": "float64",
      "float_networks": "float32",
  }
