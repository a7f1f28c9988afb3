# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 — SBN: a Turing-complete instruction, executed exactly
#
# `SBN a, b, c`: `M[a] ← M[a] − M[b]`; if the result is negative jump to `c`,
# else go on. The paper's v2 names SBN as its fourth task but publishes no
# construction, so this is **permjax's own**, built from the addition
# primitives (`docs/theory/sbn.md` has the field layout, every template
# family and the counts): a fetch loads `p = ~M[a]` and `q = M[b]`, the
# two-operand adder of addition adds them under a one-hot timer, and the
# write-back stores `~p` — so `M[a] − M[b] = ~(~M[a] + M[b])` — while the sign
# bit picks the next program counter. One instruction is `2w + 2` steps.

# %%
import os

import jax
import matplotlib.pyplot as plt
import numpy as np

import permjax

SMALL = os.environ.get("PERMJAX_SMALL") == "1"

# %% [markdown]
# ## The loop program, drawn step by step
#
# Multiplication by repeated subtraction, memory `[n, y, acc, one, Z]`:
#
# ```
# 0: SBN n, one, halt     n ← n − 1; stop once n < 0
# 1: SBN acc, y, 2        acc ← acc − y
# 2: SBN Z, Z, 3          Z ← 0
# 3: SBN Z, one, 0        Z ← −1 < 0: jump back
# ```
#
# Rows are steps (10 per instruction at w = 4); columns the state's fields.
# The exact NTK mean is read at every step and must equal the OR rule.

# %%
prog = permjax.program("sbn_loop", 4)
machine = permjax.SBNMachine(5, 4, ((0, 3, 4), (2, 1, 2), (4, 4, 3),
                                    (4, 3, 0)))
memory = np.array([[2, 3, 0, 1, 0]])  # n = 2, y = 3
a, b = permjax.sbn_to_operands(machine, memory)
states = prog.initial_states(a, b)
rows, pcs = [states[0]], []
mean = permjax.exact_mean()
for _ in range(prog.steps):
  x = prog.encode(states)
  nxt = permjax.readout.zero().bits(mean(prog, x), x)
  assert np.array_equal(nxt, prog.step(states))  # = the OR rule
  states = nxt
  rows.append(states[0])
rows = np.array(rows)
pc = prog.field(rows, "pc").argmax(axis=1)
halted_at = int(np.argmax(pc == machine.halt))
fig, ax = plt.subplots(figsize=(12, 5))
ax.imshow(rows[:halted_at + 2], aspect="auto", cmap="Greys",
          interpolation="none")
at = 0
for name, width in prog.fields:
  ax.axvline(at - 0.5, color="C3", lw=0.6)
  ax.text(at + width / 2 - 0.5, -1.5, name, ha="center", fontsize=6)
  at += width
ax.set_ylabel("step")
ax.set_title(f"{prog.name}: n = 2, y = 3 until halt (step {halted_at})")
plt.show()
final = permjax.sbn_signed(np.stack([prog.value(states, f"m{j}") for j in range(5)],
                            axis=1), 4)
want, count = permjax.sbn_interpret(machine, memory, 9)
print(f"final memory {final[0].tolist()} (interpreter: {want[0].tolist()}, "
      f"{int(count[0])} instructions, {int(count[0]) * 10} steps)")
assert final.tolist() == want.tolist() and want[0, 2] == -6
assert halted_at == int(count[0]) * 10

# %% [markdown]
# ## Every input, every step: the validation table
#
# `permjax.execute` runs each program on all its inputs for the whole step
# budget with the exact NTK mean and compares every step with the OR rule and
# the final memory with the interpreter's: the single instruction on every
# memory of 4 words, the loop for every `n` and `y`, and the add/copy idioms
# (zero register) for every `x, y, t`.

# %%
print(f"{'program':28s} {'T':>4s} {'k':>4s} {'D':>4s} {'inputs':>7s} "
      f"{'steps':>6s} {'exact':>6s} {'=OR':>5s}")
for name in ("sbn_instruction", "sbn_loop", "sbn_idioms"):
  for w in ((3,) if SMALL else (3, 4)):
    p = permjax.program(name, w)
    run = permjax.execute(p, permjax.exact_mean())
    print(f"{p.name:28s} {p.T:4d} {p.k:4d} {p.D:4d} {run.pairs:7d} "
          f"{run.steps:6d} {run.all_correct!s:>6s} {run.matches_or_rule!s:>5s}")
    assert run.all_correct and run.matches_or_rule

# %% [markdown]
# ## Ensembles
#
# GP draws and finite networks (both parameterizations) run the loop through
# `permjax.grow` with a `permjax.ProgramScorer`, every readout rule reading the same running
# average. The margin rule needs a handful of members; the zero rule (with
# its 1e-10 threshold) needs the union bound's thousands from the GP, and
# finite networks do not get there within the few members grown here. Not
# because of training residuals: SBN programs never visit a one-template
# state. Their first wrong steps are at states matching many templates,
# whose 0-bits have small negative means (β_n C), the same cause that makes
# the GP need thousands.

# %%
prog = permjax.program("sbn_loop", 3 if SMALL else 4)
test = permjax.program_test_set(prog)
train = permjax.Examples(*prog.training_set())
out = {}
for regime in ("gp", "ntk", "standard"):
  kernel = "nngp" if regime == "standard" else "ntk"
  rules = {r: permjax.readout.from_name(r, kernel, program=prog)
           for r in ("zero_fixed", "margin")}
  if regime == "gp":
    src = permjax.gp_member_source(permjax.MLPSpec(width=1), "ntk", train,
                                   test.x, jax.random.key(0), sampler="dense")
  else:
    spec = (permjax.MLPSpec(width=512) if regime == "ntk" else
            permjax.MLPSpec(width=512, b_std=0.0, parameterization="standard"))
    src = permjax.network_member_source(
        spec, train, test.x, jax.random.key(1),
        permjax.TrainConfig(max_steps=20_000, tol=1e-7))
  curves = permjax.grow(src, permjax.ProgramScorer(prog, test, rules),
                        max_members=256 if regime == "gp" else 32, chunk=32)
  bound = {r: permjax.execution_ensemble_size(prog, rule, kernel=kernel)
           for r, rule in rules.items()}
  out[regime] = (curves, bound)
  print(f"{regime:9s} margin: N(all inputs) = {curves.n_at['margin'][1.0]} "
        f"(union bound {bound['margin']}); zero_fixed after "
        f"{curves.members} members: {curves.accuracy['zero_fixed'][-1]:.3f} "
        f"of inputs (union bound {bound['zero_fixed']})")
  assert curves.reached["margin"] and curves.n_at["margin"][1.0] <= 16
  assert not curves.reached["zero_fixed"]

# %% [markdown]
# The committed ensemble run (`python -m
# permjax.experiments.template_execution ensembles --config sbn`) is in
# `experiments/template_ensembles/sbn/`.

# %%
from permjax.experiments import records as records_lib
from permjax.experiments.template_execution import report

folder = os.path.join(os.path.dirname(os.path.dirname(permjax.__file__)),
                      "experiments", "template_ensembles", "sbn")
recs = records_lib.load_results(folder)
if recs:
  rows = report.summarize(recs)
  print(report.markdown(rows))
  assert all(r["reached_all"] == r["seeds"] for r in rows
             if r["rule"] == "margin")
else:
  print("no committed results next to this permjax (not an editable install)")
  assert not os.path.isdir(folder)

# %% [markdown]
# ## Writing a program: the assembler and the decoded construction
#
# Programs are written in a small assembly language (docs/theory/sbn.md
# §9): named words, labels, constants `#V` and macros (`MOV`, `ADD`, `JMP`,
# `BEQ`, ...) that expand into SBN. Here: gcd by repeated subtraction, as
# the program library writes it.

# %%
import math

source = permjax.sbn_library_program("gcd", 8).source  # the library's text
print(source)
asm = permjax.sbn_assemble(source, width=8, name="gcd")
print(asm.text_listing()[:400], "...")
pairs = [(84, 36), (17, 5), (120, 45), (1, 127)]
final, count = asm.run(asm.memory({"a": [p[0] for p in pairs],
                                   "b": [p[1] for p in pairs]}), 10_000)
print("gcd:", asm.read(final, "a").tolist(), "after", count.tolist(),
      "instructions")
assert asm.read(final, "a").tolist() == [math.gcd(*p) for p in pairs]
assert permjax.sbn_assemble(permjax.sbn_disassemble(
    asm.machine, asm.initial), 8).machine.code == asm.machine.code

# %% [markdown]
# The instruction-keyed construction writes the operand registers from
# every instruction, so its padding grows with the program; the decoded
# one (addresses decoded once, OR trees of two-writer columns) keeps every
# column at ≤ 4 writers and needs no padding here. The certificate covers
# every reachable state of every input; the exact NTK mean then runs the
# program step by step equal to the OR rule.

# %%
memory = asm.memory({"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]})
budget = int(count.max())
old = permjax.sbn_program(asm.machine, budget, inputs=memory)
new = permjax.sbn_program(asm.machine, budget, inputs=memory,
                          design="decoded")
print(f"instruction-keyed: T={old.T}, k={old.k}, C_max="
      f"{int(old.column_weights().max())}; decoded: T={new.T}, k={new.k}, "
      f"C_max={int(new.column_weights().max())}, "
      f"{new.steps // budget} steps per instruction")
assert new.k < old.k and int(new.column_weights().max()) == 4
readout = permjax.margin_readout(new)
cert = permjax.certify(new, readout)
run = permjax.execute(new, permjax.exact_mean(), readout)
print(f"certified: {cert.certified} (worst margin {cert.worst_margin:.4f});"
      f" exact mean ran {run.pairs} inputs x {run.steps} steps exactly: "
      f"{run.all_correct and run.matches_or_rule}")
assert cert.certified and run.all_correct and run.matches_or_rule
