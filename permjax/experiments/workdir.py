"""The work folder of a run: its ``config.json`` and the guard around it.

A folder belongs to one config. Rerunning with the same config resumes; a
folder holding results of another config is refused, unless ``overwrite``,
which moves the old files into ``previous-<time>/`` (never deletes them).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil

from permjax.experiments import config as config_lib
from permjax.experiments import provenance


def make_folder(path: str) -> str:
  """Creates folder ``path`` (and its parents) if needed; one ValueError
  naming the path when it is a file or cannot be created.

  Example:
    >>> import tempfile
    >>> make_folder(tempfile.mkdtemp() + "/runs/a")[-6:]
    'runs/a'
  """
  if os.path.exists(path) and not os.path.isdir(path):
    raise ValueError(f"--workdir {path} is a file, not a folder; give a "
                     f"folder path")
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as err:
    raise ValueError(f"--workdir {path} cannot be created "
                     f"({err.strerror or err}); give a writable folder "
                     f"path") from None
  if not os.access(path, os.W_OK):
    raise ValueError(f"--workdir {path} is not writable; give a writable "
                     f"folder path")
  return path


def prepare_workdir(workdir: str, config, *, overwrite: bool = False) -> dict:
  """Creates ``workdir`` and writes ``config.json`` (config + environment).

  The config already there is read with :func:`config_lib.from_record`, so
  records written by older layouts of the same config class (fields added
  since, renamed or nested fields) count as the same config.

  Returns:
    the written record.

  Raises:
    ValueError: the folder holds another config (naming the fields that
      differ) or an unreadable ``config.json``, and ``overwrite`` is off.
  """
  make_folder(workdir)
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path) and os.listdir(workdir):
    raise ValueError(f"--workdir {workdir} is not empty and holds no permjax "
                     f"run (no config.json); its files were left untouched: "
                     f"use an empty or new folder")
  record = {"config": config_lib.to_record(config),
            **provenance.environment()}
  if os.path.exists(path):
    try:
      with open(path) as f:
        old_record = json.load(f).get("config")
    except (OSError, json.JSONDecodeError) as err:
      raise ValueError(f"{path} is unreadable ({err}); move it away or pass "
                       f"--overwrite") from None
    try:
      old = (None if old_record is None else config_lib.to_record(
          config_lib.from_record(type(config), old_record)))
    except (TypeError, ValueError):
      old = old_record
    if old is not None and old != record["config"]:
      if not overwrite:
        changed = _differences(old, record["config"])
        raise ValueError(f"{workdir} holds results of a different config "
                         f"(fields differ: {changed}); use another --workdir "
                         f"or pass --overwrite")
      stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
      keep = os.path.join(workdir, f"previous-{stamp}")
      os.makedirs(keep)
      for name in os.listdir(workdir):
        if not name.startswith("previous-"):
          shutil.move(os.path.join(workdir, name), os.path.join(keep, name))
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(record, f, indent=2, sort_keys=True)
  os.replace(tmp, path)
  return record


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
  out = []
  for key in sorted(set(old) | set(new)):
    a, b = old.get(key), new.get(key)
    if isinstance(a, dict) and isinstance(b, dict):
      out += _differences(a, b, f"{prefix}{key}.")
    elif a != b:
      out.append(prefix + key)
  return out
