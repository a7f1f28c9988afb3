"""Argument checks shared by every public call: one helper per kind of value.

Each helper returns the value in its canonical form or raises one
``ValueError``/``TypeError`` whose single line names the parameter, the value
given and what is expected. Size guards (:func:`size`) refuse up front what
would enumerate, allocate or loop beyond the machine, saying what it would
need and how to proceed.
"""

from __future__ import annotations

import math
import numbers

import jax
import numpy as np

#: Elements (of float64) a single call may allocate before a size guard
#: refuses: 2^30 elements is 8 GiB, a third of the 24 GiB CI machine.
MAX_ELEMENTS = 1 << 30
#: Steps or iterations a single call may loop before a size guard refuses.
MAX_STEPS = 1 << 26


def _show(value) -> str:
  text = repr(value)
  return text if len(text) <= 80 else text[:77] + "..."


def integer(name: str, value, low: int | None = None,
            high: int | None = None) -> int:
  """``value`` as an int (numpy integers accepted; bools, floats and strings
  refused), within ``low..high`` when given.

  Example:
    >>> integer("chunk", np.int64(4), 1)
    4
    >>> integer("chunk", 2.5, 1)
    Traceback (most recent call last):
    ...
    TypeError: chunk must be an integer >= 1, got 2.5
  """
  bound = ("" if low is None and high is None else
           f" >= {low}" if high is None else
           f" <= {high}" if low is None else f" in {low}..{high}")
  if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, (numbers.Integral, np.integer)):
    raise TypeError(f"{name} must be an integer{bound}, got {_show(value)}")
  value = int(value)
  if (low is not None and value < low) or (high is not None and value > high):
    raise ValueError(f"{name} must be an integer{bound}, got {value}")
  return value


def real(name: str, value, low: float | None = None,
         high: float | None = None, *, low_open: bool = False,
         high_open: bool = False) -> float:
  """``value`` as a finite float within the given (open or closed) bounds.

  Example:
    >>> real("target", 0.9, 0.0, 1.0, low_open=True, high_open=True)
    0.9
  """
  lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
  hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
  where = (f" in {lo}, {hi}" if low is not None and high is not None else
           f" {'>' if low_open else '>='} {low:g}" if low is not None else
           f" {'<' if high_open else '<='} {high:g}" if high is not None else
           "")
  if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, (numbers.Real, np.integer, np.floating)):
    raise TypeError(f"{name} must be a finite number{where}, got "
                    f"{_show(value)}")
  value = float(value)
  bad = not math.isfinite(value)
  if low is not None:
    bad |= value <= low if low_open else value < low
  if high is not None:
    bad |= value >= high if high_open else value > high
  if bad:
    raise ValueError(f"{name} must be a finite number{where}, got {value!r}")
  return value


def choice(name: str, value, allowed) -> str:
  """``value`` if it is one of ``allowed``.

  Example:
    >>> choice("kernel", "rbf", ("ntk", "nngp"))
    Traceback (most recent call last):
    ...
    ValueError: kernel must be one of ('ntk', 'nngp'), got 'rbf'
  """
  try:
    ok = value in allowed
  except TypeError:
    ok = False
  if not ok:
    raise ValueError(f"{name} must be one of {tuple(allowed)}, got "
                     f"{_show(value)}")
  return value


def flag(name: str, value) -> bool:
  """``value`` if it is a bool (numpy bools accepted); truthy strings are
  refused."""
  if not isinstance(value, (bool, np.bool_)):
    raise TypeError(f"{name} must be True or False, got {_show(value)}")
  return bool(value)


def prng_key(name: str, value) -> jax.Array:
  """A JAX PRNG key (typed ``jax.random.key`` or raw ``PRNGKey`` data).

  Example:
    >>> prng_key("key", 0)
    Traceback (most recent call last):
    ...
    TypeError: key must be a JAX PRNG key such as jax.random.key(0), got 0
  """
  if isinstance(value, jax.Array):
    if jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
      if value.shape == ():
        return value
    elif value.dtype == np.uint32 and value.shape == (2,):
      return value
  raise TypeError(f"{name} must be a JAX PRNG key such as jax.random.key(0), "
                  f"got {_show(value)}")


def size(what: str, needed: float, limit: float, advice: str) -> None:
  """Refuses up front when ``needed`` exceeds ``limit``.

  Example:
    >>> size("2^40 test inputs", 2.0**40, MAX_ELEMENTS, "sample them")
    Traceback (most recent call last):
    ...
    ValueError: 2^40 test inputs would need 1,099,511,627,776 elements, above the limit 1,073,741,824; sample them
  """
  if needed > limit:
    raise ValueError(f"{what} would need {int(needed):,} elements, above the "
                     f"limit {int(limit):,}; {advice}")


def finite_array(name: str, value, *, ndim: int | None = None,
                 dtype=np.float64) -> np.ndarray:
  """``value`` as a finite numeric array (of ``ndim`` dimensions if given).

  Example:
    >>> finite_array("x", [[1.0, float("nan")]])
    Traceback (most recent call last):
    ...
    ValueError: x holds non-finite values in rows [0]
  """
  try:
    arr = np.asarray(value)
  except (TypeError, ValueError):
    raise TypeError(f"{name} must be a numeric array, got "
                    f"{_show(value)}") from None
  if arr.dtype.kind not in "biuf":
    raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
  if ndim is not None and arr.ndim != ndim:
    raise ValueError(f"{name} must have {ndim} dimension(s), got shape "
                     f"{arr.shape}")
  arr = arr.astype(dtype)
  bad = ~np.isfinite(arr)
  if bad.any():
    rows = (np.flatnonzero(bad.reshape(len(arr), -1).any(axis=1))[:5].tolist()
            if arr.ndim > 1 else np.flatnonzero(bad)[:5].tolist()
            if arr.ndim else [])
    raise ValueError(f"{name} holds non-finite values"
                     + (f" in rows {rows}" if arr.ndim else ""))
  return arr
