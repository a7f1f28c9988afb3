"""One JAX CPU device per core, the ensemble engine's fastest CPU layout."""

from __future__ import annotations

import os

CPU_FLAGS = ("--xla_force_host_platform_device_count={n}",
             "--xla_cpu_multi_thread_eigen=false")


def use_all_cpu_cores() -> None:
  """One JAX CPU device per core (set before JAX starts; a no-op after).

  The ensemble engine then trains one member per core at a time, which is
  its fastest layout on CPU (see benchmarks/README.md). Accelerators are
  unaffected. Flags already in ``XLA_FLAGS`` are kept; a device count set
  there wins.
  """
  flags = os.environ.get("XLA_FLAGS", "")
  if "xla_force_host_platform_device_count" in flags:
    return
  extra = " ".join(f.format(n=os.cpu_count() or 1) for f in CPU_FLAGS)
  os.environ["XLA_FLAGS"] = f"{flags} {extra}".strip()
