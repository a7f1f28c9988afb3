"""Template programs executed exactly: by the NTK mean, and by ensembles.

``python -m permjax.experiments.template_execution validate --task addition
--m 1:10 [--task multiplication --m 1:6] [--workdir DIR]``: the exact mean
on every pair.

``python -m permjax.experiments.template_execution ensembles [--config
PRESET] [--workdir DIR] [--field value ...]``: GP draws and finite networks
executing every pair, members grown until every pair is exact (presets
smoke, default, paper, widths).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from permjax.experiments import config as config_lib
from permjax.experiments import cpu
from permjax.experiments.template_execution import ensembles
from permjax.experiments.template_execution import run


def _print_outputs(paths: dict) -> None:
  """The run's table, then where each output file is."""
  with open(paths["table"]) as f:
    print(f.read())
  for name, path in paths.items():
    print(f"{name}: {os.path.abspath(path)}")


def _ensembles(argv: Sequence[str]) -> int:
  config, args = config_lib.parse(
      argv, ensembles.Config, ensembles.PRESETS,
      "ensembles executing addition and multiplication",
      extra_flags={"--accept_unconverged": (
          "record growths whose members did not all converge (more than "
          f"{ensembles.MAX_UNCONVERGED:g} of them are refused by default)")})
  cpu.use_all_cpu_cores()
  workdir = args.workdir or os.path.join("runs", "template_ensembles",
                                         config.name)
  try:
    paths = ensembles.run(config, workdir, overwrite=args.overwrite,
                          accept_unconverged=args.accept_unconverged)
  except (ValueError, ensembles.ExperimentError) as err:
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
  val.add_argument("--task", action="append", choices=run.TASKS,
                   required=True, help="repeat with its own --m")
  val.add_argument("--m", action="append", required=True,
                   help="operand widths, e.g. 1:10 or 2,4")
  val.add_argument("--workdir", default=os.path.join(
      "runs", "template_execution"))
  args = parser.parse_args(argv)
  if len(args.task) != len(args.m):
    parser.exit(2, "error: give one --m per --task\n")
  try:
    ms = {t: list(config_lib._parse_int_list(m))  # pylint: disable=protected-access
          for t, m in zip(args.task, args.m)}
    for task, values in ms.items():
      bad = [m for m in values if m < run.MIN_M[task]]
      if bad or not values:
        raise ValueError(f"--m for {task} must list integers >= "
                         f"{run.MIN_M[task]}, got "
                         f"{values}")
    paths = run.validate(args.task, ms, args.workdir)
  except ValueError as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  _print_outputs(paths)
  return 0


if __name__ == "__main__":
  sys.exit(main())
