"""Template programs executed exactly by the NTK mean.

``python -m permjax.experiments.template_execution validate --task addition
--m 1:10 [--task multiplication --m 1:6] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from permjax.experiments import config as config_lib
from permjax.experiments.template_execution import run


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  sub = parser.add_subparsers(dest="command", required=True)
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
      bad = [m for m in values if m < 1]
      if bad or not values:
        raise ValueError(f"--m for {task} must list integers >= 1, got "
                         f"{values}")
    paths = run.validate(args.task, ms, args.workdir)
  except ValueError as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  with open(paths["table"]) as f:
    print(f.read())
  for name, path in paths.items():
    print(f"{name}: {os.path.abspath(path)}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
