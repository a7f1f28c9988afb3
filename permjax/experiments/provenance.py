"""What made a result: code version, package versions, machine.

Every result file an experiment writes carries :func:`environment` (its
``config.json``) or :func:`record_fields` (each JSONL record).
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess

import permjax

#: The distributions whose versions a result depends on.
PACKAGES = ("jax", "jaxlib", "flax", "optax", "chex", "neural-tangents",
            "orbax-checkpoint", "numpy", "scipy")


@functools.lru_cache(maxsize=1)
def git_describe() -> str:
  """``git describe --always --dirty`` of the permjax checkout, or a note
  saying there is none (an installed, non-editable permjax).

  Example:
    >>> isinstance(git_describe(), str)
    True
  """
  root = os.path.dirname(os.path.dirname(os.path.abspath(permjax.__file__)))
  try:
    out = subprocess.run(
        ["git", "-C", root, "describe", "--always", "--dirty", "--abbrev=12"],
        capture_output=True, text=True, timeout=10, check=True)
  except (OSError, subprocess.SubprocessError):
    return "unknown (not a git checkout)"
  return out.stdout.strip()


@functools.lru_cache(maxsize=1)
def package_versions() -> dict:
  """``{distribution: version}`` for :data:`PACKAGES` (None if missing)."""
  out = {}
  for name in PACKAGES:
    try:
      out[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      out[name] = None
  return out


def record_fields() -> dict:
  """Provenance carried by every JSONL record: code and package versions."""
  return {"git": git_describe(), "permjax_version": permjax.__version__,
          "packages": package_versions()}


def environment() -> dict:
  """Versions and device, recorded in every result file's ``config.json``."""
  import jax  # pylint: disable=import-outside-toplevel
  device = jax.devices()[0]
  return {
      **record_fields(),
      "jax_version": jax.__version__,
      "python": platform.python_version(),
      "platform": platform.platform(),
      "device": str(device),
      "device_kind": device.device_kind,
      "device_count": jax.device_count(),
      "x64": bool(jax.config.jax_enable_x64),
      "float_gp": "float64",
  }
