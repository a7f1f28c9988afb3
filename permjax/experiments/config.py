"""Configs with named presets, overridable field by field from the command line.

A config is a frozen dataclass; presets (``smoke``, ``default``, ``paper``) are
functions returning one, in the big_vision / Flax-examples style. Every field
becomes a ``--field`` command-line flag, parsed by its type:

* ``int``, ``float``, ``str``, ``bool`` (``true``/``false``/``1``/``0``);
* unions (``float | str``): the first type that parses, in order;
* tuples: comma-separated values; integer tuples also take ranges
  ``a:b`` (inclusive), e.g. ``--k_values 2:10,15,20``.

A field whose type is itself a dataclass (e.g. a nested
:class:`permjax.TrainConfig`) contributes its own fields as flags under their
own names (``--lr``, ``--trainer``), so nesting does not change the command
line. A config class may declare ``FLAG_ALIASES = {"old_name": "new_name"}``
so renamed fields keep their old flags and old records keep loading.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any


def parse_int_list(text: str) -> tuple[int, ...]:
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
    optional = type(None) in args
    parsers = [_field_parser(a) for a in args if a is not type(None)]

    def union(text):
      if optional and text.strip().lower() in ("none", "null"):
        return None
      errors = []
      for parse in parsers:
        try:
          return parse(text)
        except ValueError as err:
          errors.append(str(err))
      raise ValueError("; ".join(errors))
    return union
  if origin is tuple:
    elem = args[0] if args else str
    if elem is int:
      return parse_int_list
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


def flag_fields(cls) -> dict[str, tuple[str | None, Any]]:
  """Flag name -> ``(parent field or None, type)``, nested configs flattened.

  Example:
    >>> from permjax.experiments.figure1.configs import Config
    >>> fields = flag_fields(Config)
    >>> fields["seeds"][0], fields["lr"][0]   # Config.train.lr is --lr
    (None, 'train')
  """
  out: dict[str, tuple[str | None, Any]] = {}
  top = field_types(cls)
  for name, tp in top.items():
    if dataclasses.is_dataclass(tp):
      for sub, sub_tp in field_types(tp).items():
        if sub in top or sub in out:
          raise TypeError(f"flag --{sub} of {name} clashes with another field")
        out[sub] = (name, sub_tp)
    else:
      out[name] = (None, tp)
  return out


def add_config_flags(parser: argparse.ArgumentParser, cls) -> None:
  """Adds one ``--name`` flag (default: unset) per (flattened) field."""
  group = parser.add_argument_group("config overrides (any field)")
  aliases = getattr(cls, "FLAG_ALIASES", {})
  for name, (_, tp) in flag_fields(cls).items():
    names = [f"--{name}"] + [f"--{old}" for old, new in aliases.items()
                             if new == name]
    group.add_argument(*names, dest=f"override_{name}", default=None,
                       metavar=getattr(tp, "__name__", str(tp)),
                       help=f"override {name}")


def overrides_from_args(args: argparse.Namespace, cls) -> dict[str, Any]:
  """Parses the ``--field`` flags that were given into typed values."""
  out = {}
  for name, (_, tp) in flag_fields(cls).items():
    text = getattr(args, f"override_{name}")
    if text is None:
      continue
    try:
      out[name] = _field_parser(tp)(text)
    except ValueError as err:
      raise ValueError(f"--{name}={text!r}: {err}") from None
  return out


def apply_overrides(config, overrides: dict[str, Any]):
  """``config`` with flat ``overrides`` applied (nested fields routed).

  Unknown names raise ``TypeError`` naming them.
  """
  cls = type(config)
  aliases = getattr(cls, "FLAG_ALIASES", {})
  fields = flag_fields(cls)
  top, nested = {}, {}
  for name, value in overrides.items():
    name = aliases.get(name, name)
    if name not in fields:
      raise TypeError(f"unknown config field {name!r} for {cls.__name__}")
    parent = fields[name][0]
    if parent is None:
      top[name] = value
    else:
      nested.setdefault(parent, {})[name] = value
  for parent, values in nested.items():
    top[parent] = dataclasses.replace(getattr(config, parent), **values)
  return dataclasses.replace(config, **top) if top else config


def resolve(presets: dict[str, Callable[[], Any]], name: str,
            overrides: dict[str, Any] | None = None):
  """The preset ``name`` with ``overrides`` applied (and validated)."""
  if name not in presets:
    raise ValueError(f"unknown preset {name!r}; choose one of "
                     f"{sorted(presets)}")
  return apply_overrides(presets[name](), overrides or {})


def to_record(config) -> dict:
  """The config as plain JSON types (tuples become lists)."""
  return json.loads(json.dumps(dataclasses.asdict(config)))


def from_record(cls, record: dict):
  """A config from :func:`to_record`'s output, also of older layouts.

  Fields missing from ``record`` take their defaults; flat fields of a
  nested config and renamed fields (``FLAG_ALIASES``) are routed to their
  current place; lists become tuples; a config class with an
  ``upgrade_record(record)`` classmethod rewrites older layouts first.
  Unknown fields raise ``TypeError``.
  """
  upgrade = getattr(cls, "upgrade_record", None)
  if upgrade is not None:
    record = upgrade(record)
  flat = {}
  for name, value in record.items():
    if isinstance(value, dict):
      flat.update(value)
    else:
      flat[name] = value
  fields = flag_fields(cls)
  aliases = getattr(cls, "FLAG_ALIASES", {})
  typed = {}
  for name, value in flat.items():
    target = aliases.get(name, name)
    if target not in fields:
      raise TypeError(f"unknown config field {name!r} for {cls.__name__}")
    tp = fields[target][1]
    if isinstance(value, list):
      value = tuple(value)
    elif isinstance(value, str) and tp is not str:
      value = _field_parser(tp)(value)
    typed[name] = value
  return apply_overrides(cls(), typed)


def parse(argv: Sequence[str] | None, cls, presets, description: str,
          default_preset: str = "default",
          extra_flags: dict[str, str] | None = None):
  """Parses ``--config NAME``, ``--workdir`` and field overrides.

  ``extra_flags`` maps more boolean run options (not part of the config,
  so not part of the work folder's identity) to their help text.

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
  for flag, text in (extra_flags or {}).items():
    parser.add_argument(flag, action="store_true", help=text)
  add_config_flags(parser, cls)
  args = parser.parse_args(argv)
  try:
    overrides = overrides_from_args(args, cls)
    config = resolve(presets, args.config, overrides)
    check_used(config, overrides)
    if args.workdir is not None and not args.workdir.strip():
      raise ValueError("--workdir is empty; give a folder path (or leave the "
                       "flag out for the default)")
  except (ValueError, TypeError) as err:
    parser.exit(2, f"error: {err}\n")
  return config, args


def check_used(config, overrides: dict[str, Any]) -> None:
  """Raises if a field set on the command line has no effect under this
  config (``config.unused_fields()`` names such fields and why)."""
  unused = getattr(config, "unused_fields", lambda: {})()
  aliases = getattr(type(config), "FLAG_ALIASES", {})
  for name in overrides:
    name = aliases.get(name, name)
    if name in unused:
      raise ValueError(f"--{name} has no effect here: {unused[name]}; leave "
                       f"it out")
