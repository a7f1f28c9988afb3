"""CI guard: the environment built by the README's commands stays lean.

Run with the environment's own Python (``python tests/scripts/check_lean_env.py``
after activating it). Fails (exit 1, one line per problem) if any TensorFlow
distribution, or a package that only TensorFlow needs, is installed, if
``import tensorflow`` succeeds, or if the environment is larger than
``--max_gb`` (default 1.2). Prints the measured size either way.
"""

import argparse
import importlib.metadata
import importlib.util
import os
import re
import sys

# Distributions that only TensorFlow (or tf2jax) brings in.
TF_ONLY = re.compile(r"^(tensorflow.*|tf2jax|tf-keras|keras|tensorboard.*|"
                     r"libclang|google-pasta|astunparse|gast)$")


def _size_bytes(root: str) -> int:
  total = 0
  for folder, _, files in os.walk(root):
    for name in files:
      path = os.path.join(folder, name)
      if not os.path.islink(path):
        total += os.path.getsize(path)
  return total


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--max_gb", type=float, default=1.2)
  args = parser.parse_args()
  problems = []
  names = sorted({re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower()
                  for d in importlib.metadata.distributions()})
  found = [n for n in names if TF_ONLY.match(n)]
  if found:
    problems.append(f"TensorFlow packages installed: {found} (the lean "
                    f"install must drop them; see [tool.uv] in pyproject.toml)")
  if importlib.util.find_spec("tensorflow") is not None:
    problems.append("`import tensorflow` would succeed in this environment")
  size = _size_bytes(sys.prefix) / 1e9
  print(f"lean environment {sys.prefix}: {size:.2f} GB, {len(names)} "
        f"distributions, no TensorFlow: {not found}")
  if size > args.max_gb:
    problems.append(f"environment is {size:.2f} GB, above the {args.max_gb} "
                    f"GB budget")
  for p in problems:
    print(f"error: {p}", file=sys.stderr)
  return 1 if problems else 0


if __name__ == "__main__":
  sys.exit(main())
