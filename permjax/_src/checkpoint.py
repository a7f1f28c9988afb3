"""One orbax checkpoint folder, guarded by a fingerprint of what wrote it.

Both resumable loops of permjax keep their progress this way: the ensemble
engine saves every finished chunk of members (all steps kept), the growth
protocol the latest partly grown ensemble (one step kept). A folder is::

    <directory>/permjax_checkpoint.json   {"kind": ..., "fingerprint": {...}}
    <directory>/<subdir>/<step>/...       orbax steps (plain numpy pytrees)

A folder written by another run (another fingerprint), one that is not a
permjax checkpoint, or one whose steps cannot be read is refused with a
:class:`CheckpointError` and left byte for byte as it was.
"""

from __future__ import annotations

import json
import os

import numpy as np

META_NAME = "permjax_checkpoint.json"


class CheckpointError(ValueError):
  """A checkpoint folder is unreadable or belongs to another run."""


def _plain(value):
  """numpy scalars and arrays as JSON values (for fingerprints)."""
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, np.ndarray):
    return value.tolist()
  raise TypeError(f"{type(value).__name__} is not JSON-able")


class Checkpoint:
  """An orbax ``CheckpointManager`` behind a fingerprint check.

  Args:
    directory: the checkpoint folder (created if missing).
    kind: what is stored (``"ensemble"``, ``"growth"``); part of the check.
    fingerprint: JSON-able dict of everything the stored numbers depend on.
    subdir: folder of the orbax steps inside ``directory``.
    keep: steps to keep (None: all).

  Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> ckpt = Checkpoint(folder, "demo", {"seed": 1})
    >>> ckpt.save(0, {"x": np.arange(3)})
    >>> ckpt.steps(), ckpt.restore(0)["x"].tolist()
    ([0], [0, 1, 2])
    >>> ckpt.close()
    >>> try:
    ...   Checkpoint(folder, "demo", {"seed": 2})
    ... except CheckpointError as err:
    ...   print(str(err).split(" (")[1].split(")")[0])
    differs in ['seed']
  """

  def __init__(self, directory: str, kind: str, fingerprint: dict, *,
               subdir: str = "steps", keep: int | None = None):
    import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
    self._ocp = ocp
    if not isinstance(directory, (str, os.PathLike)):
      raise TypeError(f"checkpoint directory must be a path, got "
                      f"{directory!r}")
    if not isinstance(fingerprint, dict):
      raise TypeError(f"checkpoint fingerprint must be a JSON-able dict, got "
                      f"{fingerprint!r}")
    self.directory = os.path.abspath(directory)
    try:
      self.meta = {"kind": kind, "fingerprint": json.loads(json.dumps(
          fingerprint, default=_plain))}
    except (TypeError, ValueError) as err:
      raise TypeError(f"checkpoint fingerprint must be JSON-able ({err})"
                      ) from None
    if os.path.exists(self.directory) and not os.path.isdir(self.directory):
      raise CheckpointError(f"checkpoint folder {self.directory} is a file; "
                            f"it was left untouched: give a folder path")
    meta_path = os.path.join(self.directory, META_NAME)
    if os.path.exists(meta_path):
      self._check(meta_path)
    elif os.path.isdir(self.directory) and os.listdir(self.directory):
      raise CheckpointError(
          f"checkpoint folder {self.directory} is not empty and holds no "
          f"permjax checkpoint; it was left untouched: use an empty or new "
          f"folder")
    else:
      try:
        os.makedirs(self.directory, exist_ok=True)
        tmp = meta_path + ".tmp"
        with open(tmp, "w") as f:
          json.dump(self.meta, f, indent=1)
        os.replace(tmp, meta_path)
      except OSError as err:
        raise CheckpointError(f"checkpoint folder {self.directory} cannot be "
                              f"created ({err.strerror or err}); give a "
                              f"writable folder path") from None
    self._subdir = subdir
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                           enable_async_checkpointing=False)
    self.manager = ocp.CheckpointManager(
        os.path.join(self.directory, subdir), options=options)

  def _check(self, meta_path: str) -> None:
    try:
      with open(meta_path) as f:
        old = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
      raise CheckpointError(
          f"checkpoint folder {self.directory} has an unreadable {META_NAME} "
          f"({err}); it was left untouched: move it away or pick another "
          f"folder") from None
    if old == self.meta:
      return
    if old.get("kind") != self.meta["kind"]:
      diff = ["kind"]
    else:
      a, b = old.get("fingerprint", {}), self.meta["fingerprint"]
      diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    raise CheckpointError(
        f"checkpoint folder {self.directory} belongs to another run (differs "
        f"in {diff or 'format'}); it was left untouched: use another folder")

  def steps(self) -> list[int]:
    """The saved steps, ascending; raises if the steps folder holds entries
    but no readable step (a junk folder is not a fresh start)."""
    steps = sorted(self.manager.all_steps())
    folder = os.path.join(self.directory, self._subdir)
    junk = [name for name in (os.listdir(folder) if os.path.isdir(folder)
                              else []) if not name.startswith(".")
            and "orbax-checkpoint-tmp" not in name]  # a save cut by a kill
    if not steps and junk:
      raise CheckpointError(
          f"checkpoint folder {folder} holds {sorted(junk)[:3]}"
          f" but no readable step; it was left untouched: move it away to "
          f"start over")
    return steps

  def restore(self, step: int) -> dict:
    """The pytree saved at ``step`` (numpy arrays)."""
    try:
      tree = self.manager.restore(step,
                                  args=self._ocp.args.StandardRestore())
    except Exception as err:  # pylint: disable=broad-except
      raise CheckpointError(
          f"checkpoint {self.directory} step {step} is unreadable "
          f"({type(err).__name__}: {err}); it was left untouched: move the "
          f"folder away to start over") from None
    return {k: np.asarray(v) for k, v in tree.items()}

  def save(self, step: int, tree: dict) -> None:
    """Saves ``tree`` (a dict of arrays) as ``step``, synchronously."""
    self.manager.save(step, args=self._ocp.args.StandardSave(tree))
    self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.close()
