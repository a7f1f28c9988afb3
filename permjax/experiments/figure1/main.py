"""Figure 1 of arXiv 2502.16763v1 in three regimes: how many members are needed.

``python -m permjax.experiments.figure1 [--config PRESET] [--workdir DIR]
[--field value ...]`` runs (or resumes) the experiment; ``... scaling
--workdir DIR [--k_min K]`` fits growth laws to a finished run.
``python -m permjax.experiments.ntk_permutation`` is the same command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

from permjax.experiments import config as config_lib
from permjax.experiments import cpu
from permjax.experiments.figure1 import configs
from permjax.experiments.figure1 import report
from permjax.experiments.units import ExperimentError
from permjax.experiments.figure1.run import load_results
from permjax.experiments.units import MAX_UNCONVERGED
from permjax.experiments.figure1.run import run


def _scaling(argv: Sequence[str]) -> int:
  parser = argparse.ArgumentParser(description="fit N(k) growth laws")
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--k_min", type=int, default=5,
                      help="smallest k entering the fits")
  args = parser.parse_args(argv)
  if not load_results(args.workdir):
    print(f"error: {args.workdir} holds no results.jsonl(.gz)",
          file=sys.stderr)
    return 2
  for row in report.scaling(args.workdir, args.k_min):
    print(json.dumps(row))
  print(f"scaling: {os.path.abspath(os.path.join(args.workdir, 'scaling.csv'))}")
  return 0


def main(argv: Sequence[str] | None = None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  if argv and argv[0] == "scaling":
    return _scaling(argv[1:])
  config, args = config_lib.parse(
      argv, configs.Config, configs.PRESETS, __doc__.split("\n")[0],
      extra_flags={"--accept_unconverged": (
          "record growths whose members did not all converge (more than "
          f"{MAX_UNCONVERGED:g} of them are refused by default)")})
  cpu.use_all_cpu_cores()
  workdir = args.workdir or os.path.join("runs", "ntk_permutation", config.name)
  start = time.perf_counter()
  try:
    paths = run(config, workdir, overwrite=args.overwrite,
                accept_unconverged=args.accept_unconverged)
  except (ValueError, ExperimentError) as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  for name, path in paths.items():
    print(f"{name}: {os.path.abspath(path)}")
  print(f"wall time: {time.perf_counter() - start:.1f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())
