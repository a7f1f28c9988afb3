"""SBN programs: assemble, run, trace, and the library table.

``python -m permjax.experiments.sbn run PROGRAM.sbn --width 8 --memory
a=12,b=18 [--trace] [--max_instructions N] [--no-check]`` assembles a
program (:func:`permjax.sbn_assemble`), runs it on one memory with the
interpreter, prints the final memory by name (an instruction trace with
``--trace``) and the verdict of the exact NTK mean on the decoded template
construction: certified (every reachable state of every input read right)
and executed step by step equal to the OR rule.

``python -m permjax.experiments.sbn library [--config smoke|default]
[--workdir DIR]`` writes ``library.csv``, ``library.md`` and ``config.json``
(provenance): per library program (:func:`permjax.sbn_library_program`) the
interpreter against its Python reference (every input up to 2^16, else 10^4
random ones plus edge cases), the instruction-keyed and decoded
constructions side by side (T, k, steps per instruction, C_max), the
certificates and grid union bounds per readout, and the exact mean run on
up to ``exact_inputs`` inputs (run lengths in template steps; speed is
measured by ``benchmarks/sbn_speed.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

import permjax
from permjax.experiments import provenance
from permjax.experiments import records as records_lib

RULES = ("margin", "midpoint", "zero_fixed")


@dataclasses.dataclass(frozen=True)
class Config:
  """The library table's configuration.

  Attributes:
    name: preset name.
    width: bits per word.
    programs: ``name`` or ``name:size`` entries.
    count: random inputs where there are more than 2^16 (plus edge cases).
    exact_inputs: inputs the exact mean runs (the first of the checked
      set: edge cases, then random).
    seed: the random inputs' seed.
  """
  name: str = "default"
  width: int = 8
  programs: tuple = ("gcd", "fibonacci", "divmod", "multiply", "sum:4",
                     "sum:8", "max:4", "max:8", "sort:4", "sort:8")
  count: int = 10_000
  exact_inputs: int = 1000
  seed: int = 0


PRESETS = {
    "smoke": lambda: Config(name="smoke", width=4,
                            programs=("gcd", "divmod", "sum:3", "sort:3"),
                            count=200, exact_inputs=50),
    "default": Config,
}


def _library(entry: str) -> tuple[str, int | None]:
  name, _, size = entry.partition(":")
  return name, (int(size) if size else None)


def _design(machine, budget, memory, design):
  """``(program, None)`` or ``(None, reason)`` when it cannot be built."""
  try:
    return permjax.sbn_program(machine, budget, inputs=memory,
                               design=design), None
  except ValueError as err:
    return None, str(err).split(";")[0]


def library_row(config: Config, entry: str) -> dict:
  """One library program's row (see the module docstring)."""
  name, size = _library(entry)
  lib = permjax.sbn_library_program(name, config.width, size)
  asm = lib.assembly()
  check = permjax.check_sbn_program(lib, config.count, config.seed)
  values = (lib.all_inputs() if check["exhaustive"]
            else lib.sample_inputs(config.count, config.seed))
  memory = lib.memories(values)
  _, used = asm.run(memory, lib.max_instructions)
  budget = int(used.max())
  row = {"program": asm.machine.name, "W": asm.machine.words,
         "w": config.width, "L": asm.machine.halt,
         "inputs": check["inputs"], "exhaustive": check["exhaustive"],
         "interpreter_mismatches": check["mismatches"],
         "instructions_max": budget,
         "instructions_mean": round(float(used.mean()), 1)}
  for design, tag in (("instruction_keyed", "old"), ("decoded", "new")):
    prog, why = _design(asm.machine, budget, memory, design)
    if prog is None:
      row.update({f"{tag}_T": None, f"{tag}_k": None, f"{tag}_S": None,
                  f"{tag}_C_max": None, f"{tag}_refused": why})
      continue
    row.update({f"{tag}_T": prog.T, f"{tag}_k": prog.k,
                f"{tag}_S": prog.steps // budget,
                f"{tag}_C_max": int(prog.column_weights().max()),
                f"{tag}_refused": ""})
    if design == "decoded":
      new = prog
  row.update({"new_D": new.D, "new_n_bound": new.n_bound})
  for rule in RULES:
    readout = (permjax.margin_readout(new) if rule == "margin" else rule)
    cert = permjax.certify(new, readout)
    row[f"{rule}_certified"] = cert.certified
    row[f"{rule}_worst_margin"] = float(f"{cert.worst_margin:.4g}")
    try:
      row[f"{rule}_grid_N90"] = permjax.certified_ensemble_size(new, readout)
    except ValueError:
      row[f"{rule}_grid_N90"] = None
    if rule == "margin":
      row["margin_tau"] = float(f"{readout.tau:.4g}")
  take = min(config.exact_inputs, len(used))
  a, b = new.all_pairs()
  run = permjax.execute(new, permjax.exact_mean(),
                        permjax.margin_readout(new), a[:take], b[:take])
  # Speed is benchmarks/sbn_speed.py's (this table may share the cores).
  row.update({"exact_inputs": take, "exact_all_correct": run.all_correct,
              "exact_matches_or_rule": run.matches_or_rule,
              "exact_template_steps": int(used[:take].sum())
              * (new.steps // budget)})
  return row


def markdown(rows: list[dict]) -> str:
  """The library table as markdown."""
  head = ("| program | W | L | inputs (all?) | interpreter = Python | "
          "instructions max/mean | old T / k / S / C_max | "
          "new T / k / S / C_max / n_bound | certified margin/midpoint/zero_fixed "
          "(worst margin, margin rule) | grid N margin/midpoint/zero_fixed | "
          "exact mean (margin rule): inputs, every step exact, template "
          "steps run |")
  lines = [head, "|" + " --- |" * 11]
  for r in rows:
    old = (f"{r['old_T']} / {r['old_k']} / {r['old_S']} / {r['old_C_max']}"
           if r["old_T"] is not None else f"refused: {r['old_refused']}")
    cert = "/".join("yes" if r[f"{x}_certified"] else "no" for x in RULES)
    grid = "/".join(str(r[f"{x}_grid_N90"]) for x in RULES)
    lines.append(
        f"| {r['program']} | {r['W']} | {r['L']} | {r['inputs']:,} "
        f"({'all' if r['exhaustive'] else 'random + edges'}) | "
        f"{'yes' if r['interpreter_mismatches'] == 0 else 'NO'} | "
        f"{r['instructions_max']} / {r['instructions_mean']} | {old} | "
        f"{r['new_T']} / {r['new_k']} / {r['new_S']} / {r['new_C_max']} / "
        f"{r['new_n_bound']} | {cert} ({r['margin_worst_margin']}) | {grid} |"
        f" {r['exact_inputs']:,}, "
        f"{'yes' if r['exact_all_correct'] and r['exact_matches_or_rule'] else 'NO'}"
        f", {r['exact_template_steps']:,} |")
  return "\n".join(lines) + "\n"


def library(config: Config, workdir: str, progress: bool = True) -> dict:
  """Writes the library table into ``workdir``; returns the output paths."""
  os.makedirs(workdir, exist_ok=True)
  env = provenance.environment()  # before anything is written
  start = time.perf_counter()
  entries = config.programs
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    entries = tqdm(entries, unit="program", desc="sbn library")
  rows = [library_row(config, e) for e in entries]
  paths = {"table": os.path.join(workdir, "library.md"),
           "summary": os.path.join(workdir, "library.csv"),
           "config": os.path.join(workdir, "config.json")}
  records_lib.write_csv(paths["summary"], rows)
  with open(paths["table"], "w") as f:
    f.write(markdown(rows))
  with open(paths["config"], "w") as f:
    json.dump({"config": dataclasses.asdict(config), **env,
               "seconds": round(time.perf_counter() - start, 1)}, f,
              indent=2)
  return paths


def _memory_values(text: str) -> dict:
  out = {}
  for item in filter(None, (s.strip() for s in text.split(","))):
    name, sep, value = item.partition("=")
    if not sep:
      raise ValueError(f"--memory takes name=value pairs, got {item!r}")
    try:
      out[name.strip()] = int(value, 0)
    except ValueError:
      raise ValueError(f"--memory: {name.strip()}={value!r} is not an "
                       f"integer") from None
  return out


def trace(asm: permjax.SBNAssembly, memory: np.ndarray,
          max_instructions: int) -> tuple[list, np.ndarray]:
  """One memory run instruction by instruction: ``([line, ...], final)``
  with each executed instruction, its source and the word it wrote."""
  names = {a: n for n, a in asm.symbols.items()}
  mem = np.array(memory, np.int64).reshape(-1).copy()
  w = asm.machine.width
  pc, lines = 0, []
  for count in range(max_instructions):
    if pc >= asm.machine.halt:
      return lines, mem
    a, b, c = asm.machine.code[pc]
    value = (int(mem[a]) - int(mem[b]) + (1 << (w - 1))) % (1 << w) - (
        1 << (w - 1))
    mem[a] = value
    nxt = c if value < 0 else pc + 1
    line, src = asm.listing[pc]
    lines.append(f"{count + 1:6d}  @{pc:<4d} SBN {names[a]}, {names[b]}, "
                 f"{'HALT' if c == asm.machine.halt else c:<5} "
                 f"{names[a]} = {value:<5d} -> "
                 f"{'HALT' if nxt == asm.machine.halt else '@' + str(nxt):<6}"
                 f"; {line}: {src}")
    pc = nxt
  raise ValueError(f"the program does not halt within {max_instructions} "
                   f"instructions (--max_instructions)")


def run_file(path: str, width: int, values: dict, max_instructions: int,
             show_trace: bool, check: bool, words: int | None = None,
             out=None) -> int:
  """The ``run`` subcommand (prints to ``out``, default the current
  ``sys.stdout``); returns an exit code."""
  out = sys.stdout if out is None else out
  with open(path, encoding="utf-8") as f:
    source = f.read()
  asm = permjax.sbn_assemble(source, width, words=words,
                             name=os.path.splitext(os.path.basename(path))[0])
  memory = asm.memory(values)
  lines, final = trace(asm, memory, max_instructions)
  print(f"{asm.machine.name}: {asm.machine.halt} instructions, "
        f"{asm.machine.words} words of {width} bits", file=out)
  if show_trace:
    print("\n".join(lines), file=out)
  print(f"halted after {len(lines)} instructions; final memory:", file=out)
  for name in asm.data_names():
    print(f"  {name} = {int(final[asm.symbols[name]])}", file=out)
  if not check:
    return 0
  prog = permjax.sbn_program(asm.machine, max(len(lines), 1),
                             inputs=memory, design="decoded")
  readout = permjax.margin_readout(prog)
  cert = permjax.certify(prog, readout)
  run = permjax.execute(prog, permjax.exact_mean(), readout)
  ok = run.all_correct and run.matches_or_rule
  print(f"exact NTK mean, decoded construction (T={prog.T}, k={prog.k}, "
        f"{prog.steps // max(len(lines), 1)} steps per instruction, margin "
        f"readout τ={readout.tau:.4g}): certified "
        f"{'yes' if cert.certified else 'NO'} (worst margin "
        f"{cert.worst_margin:.4g}); executed {prog.steps} steps "
        f"{'exactly' if ok else 'WITH ERRORS'}", file=out)
  return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  sub = parser.add_subparsers(dest="command", required=True)
  run = sub.add_parser("run", help="assemble and run one program")
  run.add_argument("program", help="an .sbn source file")
  run.add_argument("--width", type=int, default=8, help="bits per word")
  run.add_argument("--words", type=int, default=None,
                   help="memory size (default: what the program declares)")
  run.add_argument("--memory", default="",
                   help="initial values, e.g. a=12,b=18,A[0]=3")
  run.add_argument("--max_instructions", type=int, default=100_000)
  run.add_argument("--trace", action="store_true",
                   help="print every executed instruction")
  run.add_argument("--no-check", dest="check", action="store_false",
                   help="skip the exact-mean verdict")
  lib = sub.add_parser("library", help="the library table")
  lib.add_argument("--config", default="default", choices=sorted(PRESETS))
  lib.add_argument("--workdir", default=None)
  args = parser.parse_args(argv)
  try:
    if args.command == "run":
      if args.max_instructions < 1:
        raise ValueError(f"--max_instructions must be >= 1, got "
                         f"{args.max_instructions}")
      return run_file(args.program, args.width, _memory_values(args.memory),
                      args.max_instructions, args.trace, args.check,
                      args.words)
    config = PRESETS[args.config]()
    workdir = args.workdir or os.path.join("runs", "sbn", config.name)
    if os.path.exists(workdir) and not os.path.isdir(workdir):
      raise ValueError(f"--workdir {workdir} is a file; give a folder")
    start = time.perf_counter()
    for key, path in library(config, workdir).items():
      print(f"{key}: {path}")
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0
  except (ValueError, OSError) as err:
    print(f"error: {err}", file=sys.stderr)
    return 2


if __name__ == "__main__":
  sys.exit(main())
