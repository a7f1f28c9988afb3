"""Configs with named presets, overridable field by field from the command line.

A config is a frozen dataclass; presets (``smoke``, ``default``, ``paper``) are
functions returning one, in the big_vision / Flax-examples style. Every field
becomes a ``--field`` command-line flag, parsed by its type:

* ``int``, ``float``, ``str``, ``bool`` (``true``/``false``/``1``/``0``);
* tuples: comma-separated values; integer tuples also take ranges
  ``a:b`` (inclusive), e.g. ``--k_values 2:10,15,20``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any


def _parse_int_list(text: str) -> tuple[int, ...]:
  out: list[int] = []
  for part in text.split(","):
    part = part.strip()
    if not part:
      continue
    if ":" in part:
      a, b = part.split(":", 1)
      out.extend(range(int(a), int(b) + 1))
    else:
      out.append(int(part))
  return tuple(out)


def _parse_bool(text: str) -> bool:
  low = text.strip().lower()
  if low in ("1", "true", "yes", "on"):
    return True
  if low in ("0", "false", "no", "off"):
    return False
  raise ValueError(f"expected true/false, got {text!r}")


def _field_parser(tp) -> Callable[[str], Any]:
  origin = typing.get_origin(tp)
  args = typing.get_args(tp)
  if origin in (typing.Union, types.UnionType):
    inner = [a for a in args if a is not type(None)]
    base = _field_parser(inner[0])

    def optional(text):
      return None if text.strip().lower() in ("none", "null") else base(text)
    return optional
  if origin is tuple:
    elem = args[0] if args else str
    if elem is int:
      return _parse_int_list
    conv = _field_parser(elem)
    return lambda text: tuple(conv(p.strip()) for p in text.split(",")
                              if p.strip())
  if tp is bool:
    return _parse_bool
  if tp in (int, float, str):
    return tp
  raise TypeError(f"unsupported config field type {tp!r}")


def field_types(cls) -> dict[str, Any]:
  hints = typing.get_type_hints(cls)
  return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def add_config_flags(parser: argparse.ArgumentParser, cls) -> None:
  """Adds one ``--name`` flag (default: unset) per field of ``cls``."""
  group = parser.add_argument_group("config overrides (any field)")
  for name, tp in field_types(cls).items():
    group.add_argument(f"--{name}", dest=f"override_{name}", default=None,
                       metavar=getattr(tp, "__name__", str(tp)),
                       help=f"override {name}")


def overrides_from_args(args: argparse.Namespace, cls) -> dict[str, Any]:
  """Parses the ``--field`` flags that were given into typed values."""
  out = {}
  for name, tp in field_types(cls).items():
    text = getattr(args, f"override_{name}")
    if text is None:
      continue
    try:
      out[name] = _field_parser(tp)(text)
    except ValueError as err:
      raise ValueError(f"--{name}={text!r}: {err}") from None
  return out


def resolve(presets: dict[str, Callable[[], Any]], name: str,
            overrides: dict[str, Any] | None = None):
  """The preset ``name`` with ``overrides`` applied (and validated)."""
  if name not in presets:
    raise ValueError(f"unknown preset {name!r}; choose one of "
                     f"{sorted(presets)}")
  config = presets[name]()
  if overrides:
    config = dataclasses.replace(config, **overrides)
  return config


def to_json(config) -> str:
  return json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True)


def parse(argv: Sequence[str] | None, cls, presets, description: str,
          default_preset: str = "default"):
  """Parses ``--config NAME``, ``--workdir`` and field overrides.

  Returns:
    ``(config, args)``.
  """
  parser = argparse.ArgumentParser(description=description)
  parser.add_argument("--config", default=default_preset,
                      help=f"preset name: {', '.join(sorted(presets))}")
  parser.add_argument("--workdir", default=None,
                      help="output folder (default: runs/<experiment>/<preset>)")
  parser.add_argument("--overwrite", action="store_true",
                      help="allow replacing results made with another config")
  add_config_flags(parser, cls)
  args = parser.parse_args(argv)
  try:
    config = resolve(presets, args.config, overrides_from_args(args, cls))
  except (ValueError, TypeError) as err:
    parser.exit(2, f"error: {err}\n")
  return config, args
