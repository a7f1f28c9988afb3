"""Message passing: the driver against a full-recompute round loop (the
previous path) and against the floor of its own work.

The driver recomputes only the nodes whose state changed and scatters only
their outbox changes; the previous loop read every node's next state and
summed every outbox every round. Both run flooding with the exact NTK mean
on the same graphs here, side by side; the floor is the time of the work the
driver cannot skip — the closed-form mean (writer counts and γ_n c + β_n C)
of exactly the node-rounds it recomputes, in one batch (template matching
and the readout excluded: the floor is below the true one).

  python benchmarks/graph_rounds.py
"""

import time

import numpy as np

import permjax

G = permjax.graphs


def full_rounds(fl, g, inputs, mean):
  """The previous loop: every node, every round."""
  program = fl.program
  states = fl.initial(g, G.distance2_colouring(g, fl.slots), inputs)
  closed = G.adjacency(g, self_loops=True)
  zero = permjax.readout.zero()
  node_rounds = 0
  for _ in range(fl.rounds(g, inputs)):
    matched = program.matches_unchecked(states)
    n = matched.sum(1)
    out = mean.from_counts(program, n, program.writes_of(matched))
    bits = zero.bits_at(out, n, program.k)
    nxt = np.concatenate([bits[:, :fl.outbox],
                          (closed @ bits[:, fl.outbox:].astype(np.int32)) > 0],
                         axis=1)
    node_rounds += g.n
    if np.array_equal(nxt, states):
      break
    states = nxt
  return states, node_rounds


def main():
  rows = []
  for g in (G.grid_graph(60, 60), G.path_graph(3000),
            G.random_regular_graph(20_000, 3, 0)):
    fl = permjax.flooding_program(1, G.max_degree(g))
    inputs = {"source": 0, "message": 1}
    mean = permjax.exact_mean()
    recomputed = []
    start = time.perf_counter()
    run = permjax.run_graph(fl, g, inputs, predictor=mean,
                            visit=lambda m, rows: recomputed.append(m))
    driver = time.perf_counter() - start
    start = time.perf_counter()
    states, full_node_rounds = full_rounds(fl, g, inputs, mean)
    full = time.perf_counter() - start
    assert np.array_equal(states, run.states)
    batch = np.concatenate(recomputed)
    start = time.perf_counter()
    n = batch.sum(1)
    mean.from_counts(fl.program, n, fl.program.writes_of(batch))
    floor = time.perf_counter() - start
    rows.append((g.name, g.n, run.rounds_run, len(batch), full_node_rounds,
                 driver, full, floor))
  print("| graph | nodes | rounds | node-rounds recomputed (driver / full) "
        "| driver s | full-recompute s | speed-up | floor s | driver / floor |")
  print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
  for name, n, rounds, part, whole, driver, full, floor in rows:
    print(f"| {name} | {n:,} | {rounds:,} | {part:,} / {whole:,} | "
          f"{driver:.2f} | {full:.2f} | {full / driver:.1f}× | {floor:.3f} | "
          f"{driver / floor:.0f}× |")


if __name__ == "__main__":
  main()
