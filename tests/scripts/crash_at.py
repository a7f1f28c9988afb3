"""Runs a module or script, killing the process at a chosen point.

Usage::

    python crash_at.py append N -m permjax.experiments.figure1 ARGS...
    python crash_at.py save N   path/to/script.py ARGS...

``append N``: the N-th ``records.append_record`` writes the first half of its
line, flushes it to disk and the process dies (as a kill mid-append would
leave the file). ``save N``: the N-th orbax save dies after writing its
temporary folder, just before the atomic rename that completes it. Either
way the process ends with ``os._exit(9)``: no cleanup, no ``finally``.
Deterministic, unlike a signal sent on a timer.
"""

import os
import runpy
import sys


def main():
  mode, count = sys.argv[1], int(sys.argv[2])
  rest = sys.argv[3:]
  calls = {"n": 0}

  def due():
    calls["n"] += 1
    return calls["n"] == count

  if mode == "append":
    from permjax.experiments import records
    real = records.append_record

    def append_record(path, record):
      if due():
        import json
        line = json.dumps(record) + "\n"
        with open(path, "a") as f:
          f.write(line[:len(line) // 2])
          f.flush()
          os.fsync(f.fileno())
        os._exit(9)
      real(path, record)
    records.append_record = append_record
  elif mode == "save":
    from orbax.checkpoint._src.path import atomicity
    for cls in (atomicity.AtomicRenameTemporaryPath,
                atomicity.CommitFileTemporaryPath):
      real_finalize = cls.finalize

      async def finalize(self, *args, _real=real_finalize, **kwargs):
        if due():
          os._exit(9)
        return await _real(self, *args, **kwargs)
      cls.finalize = finalize
  else:
    raise SystemExit(f"unknown mode {mode!r}")
  if rest[0] == "-m":
    sys.argv = [rest[1]] + rest[2:]
    runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
  else:
    sys.argv = rest
    runpy.run_path(rest[0], run_name="__main__")


if __name__ == "__main__":
  main()
