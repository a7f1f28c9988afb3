"""Template programs at any bit length: certificates and ensemble sizes
without enumeration, against enumeration where it is feasible.

``python -m permjax.experiments.certificates [--workdir DIR] [--max_bits
1024] [--enumerate_addition 7] [--enumerate_multiplication 4]`` writes
``certificates.csv`` (one row per family, m, kernel, readout: verdict, worst
margin and where, τ of the margin rule, the grid union bound N, and the
enumerated τ and N where enumerated), ``certificates.md``, ``n_vs_m.png``
and ``config.json`` (provenance) into DIR (default
``runs/certificates``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

import permjax
from permjax.experiments import provenance
from permjax.experiments import records as records_lib

RULES = ("zero", "zero_fixed", "fixed:1e-10", "margin", "midpoint")
KERNELS = ("ntk", "nngp")


def sizes(max_bits: int) -> list[int]:
  """1, 2, 3, 4, 6, 8, 12, 16, ... up to ``max_bits`` (powers of 2 and
  their 1.5 multiples)."""
  out, m = [1, 2, 3], 4
  while m <= max_bits:
    out += [m] + ([m * 3 // 2] if m * 3 // 2 <= max_bits else [])
    m *= 2
  return sorted(set(out))


def _readout(rule, kernel, prog_or_shape):
  if rule == "margin":
    return permjax.margin_readout(prog_or_shape, kernel=kernel)
  return rule


def row(family: str, m: int, kernel: str, rule: str,
        enumerate_up_to: int) -> dict:
  """One table row: the certificate, the grid bound, and (for ``m ≤
  enumerate_up_to``) the enumerated margin threshold and union bound."""
  shape = permjax.program_shape(family, m)
  readout = _readout(rule, kernel, shape)
  start = time.perf_counter()
  cert = permjax.certify(shape, readout, kernel=kernel)
  grid_n = None
  if cert.certified:
    try:
      grid_n = permjax.certified_ensemble_size(shape, readout, kernel=kernel)
    except ValueError:  # e.g. ε = 1e-10 on a structural zero: no finite N
      grid_n = None
  seconds = time.perf_counter() - start
  out = {"family": family, "m": m, "k": shape.k, "n_bound": shape.n_bound,
         "kernel": kernel, "rule": rule,
         "certified": cert.certified,
         "worst_margin": f"{cert.worst_margin:.6g}",
         "worst_n": cert.worst.get("n"), "worst_C": cert.worst.get("C"),
         "worst_bit": cert.worst.get("bit"),
         "tau": (f"{readout.tau:.6g}" if rule == "margin" else ""),
         "grid_N90": grid_n, "seconds": round(seconds, 4),
         "enumerated_tau": "", "enumerated_N90": ""}
  if m <= enumerate_up_to:
    prog = permjax.program(family, m)
    if rule == "margin":
      enum_readout = permjax.margin(prog, kernel)
      out["enumerated_tau"] = f"{enum_readout.tau:.6g}"
    elif rule == "zero_fixed":
      enum_readout = permjax.readout.from_name(rule, kernel, program=prog)
    else:
      enum_readout = permjax.readout.from_name(rule, kernel)
    try:
      out["enumerated_N90"] = permjax.execution_ensemble_size(
          prog, enum_readout, kernel=kernel)
    except ValueError:
      out["enumerated_N90"] = "none"
  return out


def table(max_bits: int = 1024, enumerate_addition: int = 7,
          enumerate_multiplication: int = 4, progress: bool = True
          ) -> list[dict]:
  """Every row for addition and multiplication, m in :func:`sizes`."""
  jobs = [(family, m, kernel, rule)
          for family in ("addition", "multiplication")
          for m in sizes(max_bits) for kernel in KERNELS for rule in RULES]
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    jobs = tqdm(jobs, unit="row", desc="certificates")
  limit = {"addition": enumerate_addition,
           "multiplication": enumerate_multiplication}
  return [row(f, m, kern, rule, limit[f]) for f, m, kern, rule in jobs]


def markdown(rows: list[dict]) -> str:
  """The NTK rows as a table; the NNGP ones are in the CSV."""
  lines = ["| family | m | k | n_bound | rule | certified | worst margin "
           "(n, C, bit) | τ | grid N (P≥0.9) | enumerated τ | enumerated N "
           "|", "|" + " --- |" * 11]
  for r in rows:
    if r["kernel"] != "ntk":
      continue
    where = (f"({r['worst_n']}, {r['worst_C']}, {r['worst_bit']})"
             if r["worst_n"] is not None else "")
    lines.append(
        f"| {r['family']} | {r['m']} | {r['k']} | {r['n_bound']} | "
        f"{r['rule']} | {'yes' if r['certified'] else 'no'} | "
        f"{r['worst_margin']} {where} | {r['tau']} | "
        f"{r['grid_N90'] if r['grid_N90'] is not None else '—'} | "
        f"{r['enumerated_tau']} | {r['enumerated_N90']} |")
  return "\n".join(lines) + "\n"


def plot(path: str, rows: list[dict]) -> None:
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
  for ax, family in zip(axes, ("addition", "multiplication")):
    for kernel, style in (("ntk", "-"), ("nngp", "--")):
      for rule in ("zero_fixed", "margin", "midpoint"):
        pts = [(r["m"], r["grid_N90"]) for r in rows
               if r["family"] == family and r["kernel"] == kernel
               and r["rule"] == rule and r["grid_N90"]]
        if pts:
          ax.loglog(*zip(*pts), style, marker="o", ms=3,
                    label=f"{rule} ({kernel})")
      pts = [(r["m"], r["enumerated_N90"]) for r in rows
             if r["family"] == family and r["kernel"] == kernel
             and isinstance(r["enumerated_N90"], int)
             and r["rule"] in ("zero_fixed", "margin", "midpoint")]
      if pts and kernel == "ntk":
        ax.loglog(*zip(*pts), "k.", ms=5, label="enumerated (ntk)")
    ax.set_title(f"{family}: members for P(every step exact) ≥ 0.9")
    ax.set_xlabel("m (bits per operand)")
    ax.set_ylabel("N (grid union bound)")
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", default=os.path.join("runs",
                                                        "certificates"))
  parser.add_argument("--max_bits", type=int, default=1024)
  parser.add_argument("--enumerate_addition", type=int, default=7)
  parser.add_argument("--enumerate_multiplication", type=int, default=4)
  args = parser.parse_args(argv)
  for name in ("max_bits", "enumerate_addition", "enumerate_multiplication"):
    value = getattr(args, name)
    if value < (1 if name == "max_bits" else 0):
      print(f"error: --{name} must be >= 1, got {value}", file=sys.stderr)
      return 2
  if os.path.exists(args.workdir) and not os.path.isdir(args.workdir):
    print(f"error: --workdir {args.workdir} is a file; give a folder",
          file=sys.stderr)
    return 2
  os.makedirs(args.workdir, exist_ok=True)
  env = provenance.environment()  # before anything is written
  start = time.perf_counter()
  rows = table(args.max_bits, args.enumerate_addition,
               args.enumerate_multiplication)
  records_lib.write_csv(os.path.join(args.workdir, "certificates.csv"), rows)
  with open(os.path.join(args.workdir, "certificates.md"), "w") as f:
    f.write(markdown(rows))
  plot(os.path.join(args.workdir, "n_vs_m.png"), rows)
  with open(os.path.join(args.workdir, "config.json"), "w") as f:
    json.dump({"config": vars(args), **env,
               "seconds": round(time.perf_counter() - start, 1)}, f,
              indent=2)
  print(f"wrote {args.workdir} ({time.perf_counter() - start:.1f} s)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
