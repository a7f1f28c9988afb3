"""Every nonzero input at scale: how many members until all are exact.

``python -m permjax.experiments.all_inputs [--config PRESET] [--workdir DIR]
[--field value ...]`` runs (or resumes) the experiment (presets smoke,
default, zero, gp) and prints the table and where the files are.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from permjax.experiments import config as config_lib
from permjax.experiments import cpu
from permjax.experiments.all_inputs import configs
from permjax.experiments.all_inputs import run
from permjax.experiments.units import ExperimentError


def main(argv: Sequence[str] | None = None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  config, args = config_lib.parse(argv, configs.Config, configs.PRESETS,
                                  __doc__.split("\n")[0])
  cpu.use_all_cpu_cores()
  workdir = args.workdir or os.path.join("runs", "all_inputs", config.name)
  start = time.perf_counter()
  try:
    paths = run.run(config, workdir, overwrite=args.overwrite)
  except (ValueError, ExperimentError) as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  with open(paths["table"]) as f:
    print(f.read())
  for name, path in paths.items():
    print(f"{name}: {os.path.abspath(path)}")
  print(f"wall time: {time.perf_counter() - start:.1f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())
