"""The device driver (every round on the devices, nodes split over a mesh)
against the host driver and the classical answers.

The host driver (:func:`permjax.run_graph`) is tested against plain BFS,
DFS and Bellman–Ford elsewhere; here the device driver must give the same
states, rounds, first deviation and largest summed slot bit for bit, on one
device and on two (a child process with two host CPU devices), and the
classical answer where the run is exact.

The device path fixes its own dtypes (float32 GEMMs of 0/1 counts, decisions
tabulated in float64 on the host, members in their training dtype), so the
module is dtype independent: it passed with JAX_ENABLE_X64=1 too, and CI's
float64 pass skips it.
"""

import dataclasses
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import permjax

pytestmark = pytest.mark.dtype_independent

G = permjax.graphs
FLOOD = {"source": 0, "message": 1}


def assert_same(a, b):
  assert np.array_equal(a.states, b.states)
  assert (a.rounds, a.rounds_run, a.first_deviation, a.max_inbox,
          a.correct) == (b.rounds, b.rounds_run, b.first_deviation,
                         b.max_inbox, b.correct)
  assert np.array_equal(a.outputs, b.outputs)


@pytest.mark.parametrize("g", [G.path_graph(17), G.grid_graph(7, 9),
                               G.random_regular_graph(301, 4, seed=2),
                               G.star_graph(9)], ids=lambda g: g.name)
@pytest.mark.parametrize("rule", ["or", "zero", "midpoint", "margin"])
def test_flooding_equals_host_driver(g, rule):
  fl = permjax.flooding_program(1, max(G.max_degree(g), 2))
  predictor = None if rule == "or" else permjax.exact_mean()
  readout = {"or": None, "zero": None,
             "midpoint": permjax.readout.midpoint("ntk"),
             "margin": permjax.readout.fixed(0.02)}[rule]
  host = permjax.run_graph(fl, g, FLOOD, predictor=predictor, readout=readout)
  dev = permjax.run_graph_sharded(fl, g, FLOOD, predictor=predictor,
                                  readout=readout, rounds_per_call=7)
  assert_same(host, dev)
  # flooding from node 0 reaches every node of a connected graph
  assert dev.correct and dev.matches_or_rule and dev.max_inbox == 1
  assert dev.outputs.tolist() == [1] * g.n


def test_bfs_with_fixed_zeros_equals_host_driver():
  prog = permjax.bfs_program(4, 2)
  zero_fixed = permjax.readout.from_name("zero_fixed", "ntk",
                                         program=prog.program)
  assert zero_fixed.fixed_zeros  # BFS has structural zeros
  for g in (G.path_graph(5), G.cycle_graph(6)):
    host = permjax.run_graph(prog, g, {"source": 0},
                             predictor=permjax.exact_mean(),
                             readout=zero_fixed)
    dev = permjax.run_graph_sharded(prog, g, {"source": 0},
                                    predictor=permjax.exact_mean(),
                                    readout=zero_fixed)
    assert_same(host, dev)
    # hop distances from node 0 (path: i; 6-cycle: min(i, 6 - i))
    want = (list(range(5)) if g.n == 5
            else [min(i, 6 - i) for i in range(6)])
    assert dev.correct and dev.truth.tolist() == want


class _ThroughEncodings:
  """The exact mean without ``from_counts``: the host driver then encodes
  every recomputed node and reads the float64 mean."""

  def __init__(self, mean):
    self.mean, self.members, self.kernel = mean, mean.members, mean.kernel

  def __call__(self, program, x):
    return self.mean(program, x)


@pytest.mark.parametrize("rule", ["zero_fixed", "midpoint", "fixed:0.9"])
def test_count_decisions_equal_the_encodings_path(rule):
  """Both drivers read the exact mean from count decisions; the host driver
  through the encodings and the float64 mean must give the same run (BFS:
  structural zeros, per-n thresholds; a high threshold that fails)."""
  prog = permjax.bfs_program(4, 2)
  readout = permjax.readout.from_name(rule, "ntk", program=prog.program)
  g = G.cycle_graph(5)
  slow = permjax.run_graph(prog, g, {"source": 0},
                           predictor=_ThroughEncodings(permjax.exact_mean()),
                           readout=readout)
  for run in (permjax.run_graph, permjax.run_graph_sharded):
    assert_same(slow, run(prog, g, {"source": 0},
                          predictor=permjax.exact_mean(), readout=readout))
  assert slow.correct == (rule != "fixed:0.9")


def test_first_deviation_and_until_first_error():
  # a threshold above every 1-bit mean reads the first written bit as 0
  fl = permjax.flooding_program(1, 2)
  g = G.cycle_graph(9)
  high = permjax.readout.fixed(0.9)
  for stop in (False, True):
    host = permjax.run_graph(fl, g, FLOOD, predictor=permjax.exact_mean(),
                             readout=high, until_first_error=stop)
    dev = permjax.run_graph_sharded(fl, g, FLOOD,
                                    predictor=permjax.exact_mean(),
                                    readout=high, until_first_error=stop)
    assert_same(host, dev)
    assert dev.first_deviation == 1 and not dev.matches_or_rule


def test_budget_without_fixed_point_stop():
  fl = permjax.flooding_program(1, 2)
  g = G.path_graph(4)
  host = permjax.run_graph(fl, g, FLOOD, rounds=300, stop_at_fixed_point=False)
  dev = permjax.run_graph_sharded(fl, g, FLOOD, rounds=300,
                                  stop_at_fixed_point=False,
                                  rounds_per_call=64)
  assert_same(host, dev)
  assert dev.rounds_run == 300


def test_slot_collision_names_the_same_node_and_bit():
  fl = permjax.flooding_program(1, 2)

  def everyone_in_slot0(g, colours, inputs):
    states = fl.initial(g, colours, inputs)
    for s in range(fl.slots):
      states[:, fl.program.index(f"myslot{s}", 0)] = s == 0
    return states

  bad = permjax.NodeProgram("one slot for all", fl.program, fl.outbox, fl.slots,
                    everyone_in_slot0, fl.output, fl.truth, fl.rounds,
                    fl.inputs, 2)
  messages = []
  for run in (permjax.run_graph, permjax.run_graph_sharded):
    with pytest.raises(permjax.SlotCollisionError, match="sums to 2") as err:
      run(bad, G.path_graph(3), FLOOD)
    messages.append(str(err.value))
  assert messages[0] == messages[1]


def test_bad_input_is_refused():
  fl = permjax.flooding_program(1, 2)
  prog = fl.program
  test = permjax.graph_test_set(fl, [(G.path_graph(3), FLOOD)])
  table = permjax.EnsembleMean(prog, test, np.zeros((len(test.x), prog.D)),
                               1, {"kernel": "ntk"})
  with pytest.raises(ValueError, match="EnsembleMean: it is neither"):
    permjax.run_graph_sharded(fl, G.path_graph(3), FLOOD, predictor=table)

  class OldStyle(_ThroughEncodings):  # count-determined, no weights
    def from_counts(self, program, n, c1):
      return self.mean.from_counts(program, n, c1)

  old = OldStyle(permjax.exact_mean())
  with pytest.raises(ValueError, match="OldStyle: its from_counts takes no "
                     "weights"):
    permjax.run_graph_sharded(fl, G.path_graph(3), FLOOD, predictor=old)
  host = permjax.run_graph(fl, G.path_graph(3), FLOOD, predictor=old)
  assert host.correct  # the host driver reads it from the float64 mean
  other = permjax.flooding_program(1, 3).program
  with pytest.raises(ValueError, match="this ensemble was built for flood"):
    table(other, np.zeros((1, other.k)))
  with pytest.raises(ValueError, match="rounds_per_call"):
    permjax.run_graph_sharded(fl, G.path_graph(3), FLOOD, rounds_per_call=0)
  with pytest.raises(ValueError, match="mesh must be"):
    permjax.run_graph_sharded(fl, G.path_graph(3), FLOOD, mesh="cpu")
  with pytest.raises(ValueError, match="rounds must be"):
    permjax.run_graph_sharded(fl, G.path_graph(3), FLOOD, rounds=0)
  with pytest.raises(ValueError, match="needs analytic"):
    permjax.run_graph_sharded(fl, G.path_graph(3), FLOOD,
                              predictor=permjax.exact_mean(),
                              readout=permjax.readout.self_calibrated())


def test_two_devices_split_the_nodes():
  """Two host CPU devices (a child process: the device count is fixed when
  JAX starts): an odd node count is padded, the states come back equal to
  the host driver's."""
  script = textwrap.dedent("""
      import jax, numpy as np, permjax
      G = permjax.graphs
      assert len(jax.devices()) == 2, jax.devices()
      mesh = permjax.node_mesh()
      for g, program, inputs in [
          (G.random_regular_graph(1001, 4, seed=1),
           permjax.flooding_program(1, 4), {"source": 0, "message": 1}),
          (G.cycle_graph(7), permjax.bfs_program(4, 2), {"source": 3})]:
        host = permjax.run_graph(program, g, inputs,
                                 predictor=permjax.exact_mean())
        dev = permjax.run_graph_sharded(program, g, inputs, mesh=mesh,
                                        predictor=permjax.exact_mean())
        assert np.array_equal(host.states, dev.states), g.name
        assert (host.rounds_run, host.first_deviation) == (
            dev.rounds_run, dev.first_deviation), g.name
        assert dev.correct, g.name
      print("ok", mesh.devices.size)
  """)
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
             JAX_PLATFORMS="cpu")
  out = subprocess.run([sys.executable, "-c", script], env=env,
                       capture_output=True, text=True, timeout=600,
                       check=False)
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.split() == ["ok", "2"]


@pytest.fixture(scope="module")
def flooding_networks():
  import jax  # pylint: disable=import-outside-toplevel
  fl = permjax.flooding_program(1, 3)
  return fl, permjax.network_average(
      fl.program, 8, jax.random.key(0), permjax.MLPSpec(width=512),
      permjax.TrainConfig(trainer="linearized"))


def test_network_average_is_the_grown_ensemble(flooding_networks):
  """The same members as a member source with the same key: on a test
  set's encodings the average equals the tabulated ensemble's."""
  import jax  # pylint: disable=import-outside-toplevel
  fl, avg = flooding_networks
  assert avg.status.tolist() == ["converged"] * 8
  assert avg.final_loss.shape == (8,) and (avg.final_loss < 1e-6).all()
  test = permjax.graph_test_set(fl, [(G.cycle_graph(8), FLOOD)])
  source = permjax.network_member_source(
      permjax.MLPSpec(width=512), permjax.training_examples(fl.program),
      test.x, jax.random.key(0), permjax.TrainConfig(trainer="linearized"))
  grown = source(np.arange(8)).outputs.mean(0)
  np.testing.assert_allclose(avg(fl.program, test.x), grown, atol=1e-5)
  with pytest.raises(ValueError, match="trained for flooding"):
    avg(permjax.flooding_program(1, 2).program,
        np.zeros((1, permjax.flooding_program(1, 2).k)))


@pytest.mark.parametrize("g", [G.path_graph(9),
                               G.random_regular_graph(200, 3, seed=0)],
                         ids=lambda g: g.name)
@pytest.mark.parametrize("rule", ["midpoint", "margin", "zero"])
def test_network_average_on_devices_equals_host(flooding_networks, g, rule):
  """The members read every node's encoding on the devices: same states,
  rounds and first wrong round as the host driver, whether the run is
  exact or fails (the zero rule reads the members' nonzero residuals as
  ones from round 1)."""
  fl, avg = flooding_networks
  readout = {"midpoint": permjax.readout.midpoint(),
             "margin": permjax.readout.fixed(0.045),
             "zero": permjax.readout.zero()}[rule]
  host = permjax.run_graph(fl, g, FLOOD, predictor=avg, readout=readout,
                           until_first_error=True)
  dev = permjax.run_graph_sharded(fl, g, FLOOD, predictor=avg,
                                  readout=readout, until_first_error=True)
  assert_same(host, dev)
  if rule == "zero":
    assert dev.first_deviation == 1
  # a run is right exactly when it never left the OR rule
  assert dev.correct == dev.matches_or_rule


def test_network_average_bad_input(flooding_networks):
  fl, avg = flooding_networks
  with pytest.raises(ValueError, match="needs analytic"):
    permjax.run_graph_sharded(fl, G.path_graph(3), FLOOD, predictor=avg,
                              readout=permjax.readout.self_calibrated())
  # same k and D, another program: named, not run with the wrong networks
  other = permjax.NodeProgram(
      "relabelled", dataclasses.replace(fl.program, name="relabelled"),
      fl.outbox, fl.slots, fl.initial, fl.output, fl.truth, fl.rounds,
      fl.inputs, 3)
  with pytest.raises(ValueError, match="trained for flooding"):
    permjax.run_graph_sharded(other, G.path_graph(3), FLOOD, predictor=avg)
