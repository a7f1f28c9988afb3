"""Template programs executed exactly: by the NTK mean, and by ensembles.

``python -m permjax.experiments.template_execution validate --programs
addition=1:10,multiplication=1:6 [--workdir DIR]``: the exact mean on every
pair of every program (registry families, ``family=bits``; ``a:b`` ranges,
``/`` between sizes).

``python -m permjax.experiments.template_execution ensembles [--config
PRESET] [--workdir DIR] [--field value ...]``: GP draws and finite networks
executing every pair, members grown until every pair is exact (presets
smoke, default, paper, widths, sbn).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from permjax.experiments import config as config_lib
from permjax.experiments import cpu
from permjax.experiments.template_execution import configs
from permjax.experiments.template_execution import run
from permjax.experiments.template_execution import validate
from permjax.experiments.units import ExperimentError
from permjax.experiments.units import MAX_UNCONVERGED


def _print_outputs(paths: dict) -> None:
  """The run's table, then where each output file is."""
  with open(paths["table"]) as f:
    print(f.read())
  for name, path in paths.items():
    print(f"{name}: {os.path.abspath(path)}")


def _ensembles(argv: Sequence[str]) -> int:
  config, args = config_lib.parse(
      argv, configs.Config, configs.PRESETS,
      "ensembles executing template programs",
      extra_flags={"--accept_unconverged": (
          "record growths whose members did not all converge (more than "
          f"{MAX_UNCONVERGED:g} of them are refused by default)")})
  cpu.use_all_cpu_cores()
  workdir = args.workdir or os.path.join("runs", "template_ensembles",
                                         config.name)
  try:
    paths = run.run(config, workdir, overwrite=args.overwrite,
                    accept_unconverged=args.accept_unconverged)
  except (ValueError, ExperimentError) as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  _print_outputs(paths)
  return 0


def main(argv: Sequence[str] | None = None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  if argv and argv[0] == "ensembles":
    return _ensembles(argv[1:])
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  sub = parser.add_subparsers(dest="command", required=True)
  sub.add_parser("ensembles", help="ensembles executing every pair (see "
                 "'ensembles --help')")
  val = sub.add_parser("validate", help="exact-mean validation, every pair")
  val.add_argument("--programs", required=True,
                   help="family=bits[,family=bits...], e.g. "
                        "addition=1:10,multiplication=1:6")
  val.add_argument("--workdir", default=os.path.join(
      "runs", "template_execution"))
  args = parser.parse_args(argv)
  try:
    sizes = configs.parse_programs(
        [p for p in args.programs.split(",") if p.strip()])
    if not sizes:
      raise ValueError("--programs is empty; give family=bits")
    paths = validate.validate(sizes, args.workdir)
  except ValueError as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  _print_outputs(paths)
  return 0


if __name__ == "__main__":
  sys.exit(main())
