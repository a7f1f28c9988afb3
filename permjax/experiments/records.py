"""Append-only JSONL records and the resumable loop that writes them.

An experiment is a list of *units* (e.g. ``(regime, k, seed)``), each
producing one JSON record. :func:`run_pending` runs the units whose record is
not yet in ``results.jsonl``, appending each record as soon as it is done;
a unit in progress keeps its own checkpoint folder, removed once its record
is written. So a run killed at any point resumes where it stopped.

A kill can cut the last line of ``results.jsonl`` mid-write. Such a line has
no newline; :func:`read_records` ignores it and :func:`append_record` cuts it
off before writing, so the redone record never merges into it. A malformed
line anywhere else is an error, not something to skip.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import sys
from collections.abc import Callable, Hashable, Sequence


class RecordsError(ValueError):
  """A results file holds a line that is not a record."""


def _open_text(path: str):
  return gzip.open(path, "rt") if path.endswith(".gz") else open(path)


def read_records(path: str) -> list[dict]:
  """The records of a ``.jsonl`` (or ``.jsonl.gz``) file; ``[]`` if missing.

  A last line without a newline (cut by a kill) is ignored.

  Example:
    >>> read_records("/nonexistent/results.jsonl")
    []
  """
  if not os.path.exists(path):
    return []
  with _open_text(path) as f:
    text = f.read()
  lines = text.split("\n")
  cut = lines.pop()  # "" when the file ends with a newline
  records = []
  for number, line in enumerate(lines, 1):
    if not line.strip():
      continue
    try:
      records.append(json.loads(line))
    except json.JSONDecodeError as err:
      raise RecordsError(f"{path} line {number} is not a JSON record "
                         f"({err}); fix or remove that line") from None
  del cut
  return records


def load_results(workdir: str) -> list[dict]:
  """The records of a work folder: ``results.jsonl``, else the committed
  ``results.jsonl.gz``; ``[]`` if neither exists.

  Example:
    >>> load_results("/nonexistent")
    []
  """
  for name in ("results.jsonl", "results.jsonl.gz"):
    path = os.path.join(workdir, name)
    if os.path.exists(path):
      return read_records(path)
  return []


def _cut_partial_line(path: str) -> None:
  """Truncates a last line that lacks its newline (a kill mid-append)."""
  with open(path, "rb+") as f:
    size = f.seek(0, os.SEEK_END)
    if size == 0:
      return
    f.seek(size - 1)
    if f.read(1) == b"\n":
      return
    f.seek(0)
    data = f.read()
    f.truncate(data.rfind(b"\n") + 1)
    f.flush()
    os.fsync(f.fileno())


def append_record(path: str, record: dict) -> None:
  """Appends one record as a JSON line, flushed and fsynced."""
  if os.path.exists(path):
    _cut_partial_line(path)
  line = json.dumps(record) + "\n"
  with open(path, "a") as f:
    f.write(line)
    f.flush()
    os.fsync(f.fileno())


def write_csv(path: str, rows: list[dict]) -> None:
  """Writes rows (header = union of their keys, first-seen order), atomically."""
  tmp = path + ".tmp"
  with open(tmp, "w", newline="") as f:
    if rows:
      fields = list(dict.fromkeys(k for r in rows for k in r))
      writer = csv.DictWriter(f, fieldnames=fields)
      writer.writeheader()
      writer.writerows(rows)
  os.replace(tmp, path)


def run_pending(units: Sequence[Hashable], results_path: str, *,
                key_of: Callable[[dict], Hashable],
                run_one: Callable[..., dict],
                checkpoints: str | None = None,
                name_of: Callable[[Hashable], str] = str,
                progress: bool = True) -> list[dict]:
  """Runs every unit without a record yet; returns all records.

  Args:
    units: the units (one growth or one validation each), in run order.
    results_path: the JSONL file.
    key_of: a record's unit (to tell which units are done).
    run_one: ``(unit, checkpoint_dir, on_progress) -> record``;
      ``on_progress(**fields)`` updates the progress bar.
    checkpoints: folder of per-unit checkpoint folders (``name_of(unit)``),
      each removed once its record is written; None: no checkpoints.
    name_of: a unit's checkpoint folder name and progress label.
    progress: show a tqdm bar on stderr.
  """
  done = {key_of(r) for r in read_records(results_path)}
  todo = [u for u in units if u not in done]
  bar = None
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    bar = tqdm(total=len(units), initial=len(units) - len(todo), unit="run",
               file=sys.stderr)
  try:
    for unit in todo:
      ckpt_dir = (None if checkpoints is None
                  else os.path.join(checkpoints, name_of(unit)))
      if bar is not None:
        bar.set_description(name_of(unit))

      def show(bar=bar, **fields):
        if bar is not None:
          bar.set_postfix(**fields)
      record = run_one(unit, ckpt_dir, show)
      append_record(results_path, record)
      if ckpt_dir is not None:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
      if bar is not None:
        bar.update(1)
  finally:
    if bar is not None:
      bar.close()
  return read_records(results_path)
