"""Wall time of ``import permjax`` in fresh interpreters, next to ``import jax``.

Usage: python benchmarks/import_time.py [--repeats 5]

Each figure is the median over fresh subprocesses, measured in this one run,
so the ratio compares like with like on the same machine and load.
"""

import argparse
import statistics
import subprocess
import sys

SNIPPETS = {
    "import jax": "import jax",
    "import permjax": "import permjax",
    "import permjax + permjax.nt (patched neural-tangents)":
        "import permjax; permjax.nt.stax",
}


def time_snippet(code: str, repeats: int) -> float:
  wrapped = ("import time; t0 = time.perf_counter(); " + code +
             "; print(time.perf_counter() - t0)")
  times = []
  for _ in range(repeats):
    out = subprocess.run([sys.executable, "-c", wrapped], capture_output=True,
                         text=True, check=True)
    times.append(float(out.stdout.strip().splitlines()[-1]))
  return statistics.median(times)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  results = {name: time_snippet(code, args.repeats)
             for name, code in SNIPPETS.items()}
  base = results["import jax"]
  print(f"{'what':55s} {'median s':>9s} {'vs jax':>7s}")
  for name, seconds in results.items():
    print(f"{name:55s} {seconds:9.2f} {seconds / base:7.2f}x")
  limit = 5.0
  verdict = "OK" if results["import permjax"] < limit else "OVER"
  print(f"import permjax budget {limit:.0f} s: {verdict}")


if __name__ == "__main__":
  main()
