"""Finite members on every nonzero input of the cube, streamed layer by layer.

The v1 claim is about all ``2^k − 1`` nonzero inputs at once
(docs/theory/permutation.md §7). Holding them as a test set stops at k ≈ 20;
this evaluator never holds them. It uses that the inputs are binary:

* the first layer of a member on an input with bits ``S`` is a sum of weight
  rows, ``z = s₁/√n · Σ_{i∈S} W₁[i] + s_b b₁``. Split the k bits into a low
  half (``k_lo``) and a high half; the ``2^{k_lo}`` and ``2^{k_hi}`` partial
  sums of each half are computed once per member, and each input's
  pre-activation is one row addition ``P_lo[u] + P_hi[v]``;
* the readout layer is then one GEMM per chunk — the unavoidable cost
  (``2 · width · out`` FLOP per input);
* inputs with ``n`` ones form one layer of the cube; a layer is enumerated as
  the pairs ``(u, v)`` with ``|u| + |v| = n`` and cut into fixed-size chunks
  (one compiled program for every chunk);
* per chunk, all ``M`` members are evaluated, their running averages read by
  every readout for every ensemble size ``N = 1..M``, and only counts are
  kept: per readout, layer and ``N``, how many inputs are wrong, and per bit
  how often it is wrong. The all-inputs ``N`` is the first ``N`` at which no
  layer has a wrong input.

Chunks are split over the local devices (``shard_map``) and, in a
multi-process run (``jax.distributed``), over processes by chunk index; the
counts are summed at the end. The state (the counts and the position) is
checkpointed, so a killed run resumes where it stopped.

Members are two-layer networks of an :class:`permjax.MLPSpec` (either
parameterization, with or without biases, ReLU or erf), evaluated in
float32, their running averages in float32 too.
"""

from __future__ import annotations

import functools
import hashlib
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from permjax._src import permutation as perm_lib
from permjax._src import readout as readout_lib
from permjax._src import validation
from permjax._src.checkpoint import Checkpoint
from permjax._src.models import check_spec
from permjax._src.models import MLPSpec

#: Largest k the evaluator takes (bit masks are int32).
MAX_K = 30
#: Input rows per device per compiled call.
DEFAULT_CHUNK = 2048


class TwoLayerMembers(NamedTuple):
  """Trained two-layer members, stacked on axis 0 (float32).

  Attributes:
    w1: ``(M, k, width)`` hidden weights.
    b1: ``(M, width)`` hidden biases (zeros when the spec has none).
    w2: ``(M, width, out)`` readout weights.
    b2: ``(M, out)`` readout biases (zeros when the spec has none).
  """
  w1: np.ndarray
  b1: np.ndarray
  w2: np.ndarray
  b2: np.ndarray


def stacked_members(spec: MLPSpec, params) -> TwoLayerMembers:
  """The members of ``train_ensemble(..., return_params=True).params`` (a
  GD-trained ensemble of a one-hidden-layer spec) as :class:`TwoLayerMembers`.

  Example:
    >>> import jax, permjax
    >>> res = permjax.train_ensemble(
    ...     permjax.MLPSpec(width=16), permjax.training_set([1, 2, 0]),
    ...     jax.random.key(0), 2, x_test=[[1.0, 0.0, 0.0]],
    ...     config=permjax.TrainConfig(trainer="gd"), return_params=True)
    >>> stacked_members(permjax.MLPSpec(width=16), res.params).w1.shape
    (2, 3, 16)
  """
  spec = check_spec(spec)
  if spec.depth != 1:
    raise ValueError(f"the all-inputs evaluator takes one hidden layer, got "
                     f"depth={spec.depth}")
  try:
    hidden = params["params"]["hidden_0"]
    out = params["params"]["readout"]
  except (TypeError, KeyError):
    raise TypeError("params must be the stacked parameters of "
                    "train_ensemble(..., return_params=True)") from None
  w1 = np.asarray(hidden["kernel"], np.float32)
  w2 = np.asarray(out["kernel"], np.float32)
  if w1.ndim != 3 or w2.ndim != 3 or w1.shape[0] != w2.shape[0] or (
      w1.shape[2] != spec.width or w2.shape[1] != spec.width):
    raise ValueError(f"params do not hold stacked members of {spec!r}: "
                     f"hidden kernel {w1.shape}, readout kernel {w2.shape}")
  m = w1.shape[0]
  b1 = np.asarray(hidden.get("bias", np.zeros((m, spec.width))), np.float32)
  b2 = np.asarray(out.get("bias", np.zeros((m, w2.shape[2]))), np.float32)
  return TwoLayerMembers(w1, b1, w2, b2)


def split_bits(k: int) -> tuple[int, int]:
  """``(k_lo, k_hi)``: the low half of the bits, and the rest."""
  return k // 2, k - k // 2


@functools.lru_cache(maxsize=64)
def _masks_by_popcount(bits: int) -> tuple:
  masks = np.arange(1 << bits, dtype=np.int64)
  pop = np.array([int(m).bit_count() for m in masks]) if bits else np.zeros(1)
  return tuple(masks[pop == a].astype(np.int32) for a in range(bits + 1))


def layer_pairs(k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
  """Every input with ``n`` ones as ``(u, v)``: its low-half and high-half
  bit masks (the input's mask is ``u | v << k_lo``).

  Example:
    >>> u, v = layer_pairs(4, 2)
    >>> sorted((int(a) | int(b) << 2) for a, b in zip(u, v))
    [3, 5, 6, 9, 10, 12]
  """
  k_lo, k_hi = split_bits(k)
  lo, hi = _masks_by_popcount(k_lo), _masks_by_popcount(k_hi)
  us, vs = [], []
  for a in range(max(0, n - k_hi), min(n, k_lo) + 1):
    u, v = lo[a], hi[n - a]
    us.append(np.repeat(u, len(v)))
    vs.append(np.tile(v, len(u)))
  return np.concatenate(us), np.concatenate(vs)


def threshold_table(readout: readout_lib.Readout, k: int, members: int
                    ) -> np.ndarray:
  """``(k + 1, members)`` thresholds: row n, column N - 1 (row 0 unused).

  The zero, fixed and margin rules read at their ``tau``; the per-n rules at
  their analytic thresholds for ``n`` ones and an N-member average.
  """
  if not readout.analytic:
    raise ValueError("the all-inputs evaluator needs analytic thresholds; the "
                     "self_calibrated readout has none")
  table = np.zeros((k + 1, members))
  if readout.rule in ("zero", "fixed", "margin"):
    table[:] = readout.tau
    return table
  n = np.arange(1, k + 1)[:, None]
  N = np.arange(1, members + 1)[None, :]
  table[1:] = readout.thresholds(k, n, N)
  return table


class AllInputsCounts(NamedTuple):
  """What an all-inputs evaluation found, per readout.

  Attributes:
    rules: the readouts' names.
    wrong_by_layer: ``(R, k + 1, M)`` int64: inputs with n ones read wrong
      by the average of the first N members (column N - 1).
    wrong_by_bit: ``(R, M, out)`` int64: how many inputs have output bit j
      wrong at N.
    inputs: ``(k + 1,)`` inputs per layer evaluated.
  """
  rules: tuple
  wrong_by_layer: np.ndarray
  wrong_by_bit: np.ndarray
  inputs: np.ndarray

  def n_all(self, rule: str) -> int | None:
    """The first N at which every input is read exactly (None: no N up to
    M)."""
    wrong = self.wrong_by_layer[self.rules.index(rule)].sum(axis=0)
    hit = np.flatnonzero(wrong == 0)
    return int(hit[0]) + 1 if hit.size else None

  def last_failures(self, rule: str) -> dict | None:
    """Where the last inputs to become exact sit: at the largest N below
    :meth:`n_all` with a wrong input, the layers (ones) and output bits
    of the wrong inputs."""
    r = self.rules.index(rule)
    wrong = self.wrong_by_layer[r].sum(axis=0)
    n_all = self.n_all(rule)
    before = np.flatnonzero(wrong[:(n_all or len(wrong) + 1) - 1] > 0)
    if not before.size:
      return None
    N = int(before[-1])
    layers = self.wrong_by_layer[r][:, N]
    bits = self.wrong_by_bit[r][N]
    return {"members": N + 1,
            "wrong_inputs": int(layers.sum()),
            "by_ones": {str(n): int(c) for n, c in enumerate(layers) if c},
            "by_bit": {str(j): int(c) for j, c in enumerate(bits) if c}}


def _mesh(devices):
  return Mesh(np.asarray(devices), ("rows",))


class _Consts(NamedTuple):
  """What fixes a member's arithmetic (hashable: part of the cache key)."""
  activation: str
  has_bias: bool
  s1: float
  sb1: float
  s2: float
  sb2: float


def _chunk_outputs(consts: _Consts, p_lo, p_hi, b1, w2, b2, u, v, n):
  """Every member's outputs on rows ``(u, v)`` with ``n`` ones each:
  ``(M, C, out)``. The first layer is one row addition of partial sums;
  the readout one GEMM per member."""
  act = jax.nn.relu if consts.activation == "relu" else jax.lax.erf
  scale = (consts.s1 / jnp.sqrt(jnp.maximum(n, 1).astype(jnp.float32))
           )[:, None]

  def one(carry, member):
    p_lo_m, p_hi_m, b1_m, w2_m, b2_m = member
    z = (p_lo_m[u] + p_hi_m[v]) * scale
    if consts.has_bias:
      z = z + consts.sb1 * b1_m
    y = jnp.dot(act(z), w2_m) * consts.s2
    if consts.has_bias:
      y = y + consts.sb2 * b2_m
    return carry, y
  return jax.lax.scan(one, None, (p_lo, p_hi, b1, w2, b2))[1]


def _consts(spec: MLPSpec, k: int) -> _Consts:
  (s1, sb1), (s2, sb2) = spec.layer_scales(k), spec.layer_scales(spec.width)
  return _Consts(spec.activation, spec.b_std is not None, float(s1),
                 float(sb1), float(s2), float(sb2))


def outputs_at(spec: MLPSpec, members: TwoLayerMembers, u, v) -> np.ndarray:
  """The evaluator's own outputs (same arithmetic) at inputs ``u | v <<
  k_lo``: ``(M, C, out)`` float32 — what the tests compare with the dense
  forward pass (:func:`member_outputs`).

  Example:
    >>> m = TwoLayerMembers(np.ones((1, 2, 3), np.float32), np.zeros((1, 3), np.float32),
    ...             np.ones((1, 3, 2), np.float32), np.zeros((1, 2), np.float32))
    >>> outputs_at(MLPSpec(width=3), m, [1], [0]).astype(float).round(4).tolist()
    [[[1.2247, 1.2247]]]
  """
  spec = check_spec(spec)
  k = members.w1.shape[1]
  k_lo, k_hi = split_bits(k)
  u = np.asarray(u, np.int32)
  v = np.asarray(v, np.int32)
  n = np.array([int(a).bit_count() + int(b).bit_count()
                for a, b in zip(u, v)], np.int32)
  return np.asarray(jax.jit(_chunk_outputs, static_argnums=0)(
      _consts(spec, k), _partial_sums(members.w1[:, :k_lo], k_lo),
      _partial_sums(members.w1[:, k_lo:], k_hi), members.b1, members.w2,
      members.b2, u, v, n))


#: Chunks per compiled call (a scan inside the call).
GROUP = 16


@functools.lru_cache(maxsize=16)
def _compiled(devices: tuple, k: int, block: int, rules: int,
              consts: _Consts):
  """The program for one block of members over a group of chunks: each
  member's outputs on a chunk's rows are added to the rows' running sums
  (carried across blocks), and the average after each member is read by
  every readout; returns the new sums and the wrong counts of the group
  (per device; summed on the host)."""
  k_lo, _ = split_bits(k)
  bit_index = jnp.arange(k, dtype=jnp.int32)

  def one_chunk(shared, sums, u, v, n, live):
    p_lo, p_hi, b1, w2, b2, inverse, tau, first = shared
    outs = _chunk_outputs(consts, p_lo, p_hi, b1, w2, b2, u, v, n)
    mask = u.astype(jnp.int32) | (v.astype(jnp.int32) << k_lo)
    bits = (mask[:, None] >> bit_index) & 1
    truth = bits[:, inverse] > 0  # (C, out) = P x
    rows_tau = jnp.transpose(tau[:, n, :], (2, 0, 1))  # (B, R, C)

    def step(total, member):
      out, t, index = member
      total = total + out
      avg = total / (first + index + 1).astype(jnp.float32)
      wrong = ((avg[None] > t[:, :, None]) != truth[None]) & live[
          None, :, None]  # (R, C, out)
      row = wrong.any(axis=2).sum(axis=1, dtype=jnp.int32)  # (R,)
      # A chunk holds one layer: its rows all have n[0] ones.
      layer = jnp.zeros((rules, k + 1), jnp.int32).at[:, n[0]].set(row)
      return total, (layer, wrong.sum(axis=1, dtype=jnp.int32))
    sums, (layer, bit) = jax.lax.scan(
        step, sums, (outs, rows_tau, jnp.arange(block)))
    return sums, layer, bit  # (C, out), (B, R, k+1), (B, R, out)

  def local(p_lo, p_hi, b1, w2, b2, inverse, tau, first, sums, u, v, n,
            live):
    # p_lo (B, 2^k_lo, W); tau (R, k+1, B); first: members before the
    # block; sums (G, C, out), u, v, n, live (G, C): this device's rows.
    shared = (p_lo, p_hi, b1, w2, b2, inverse, tau, first)

    def chunk(acc, rows):
      sums_c, u_c, v_c, n_c, live_c = rows
      new, layer, bit = one_chunk(shared, sums_c, u_c, v_c, n_c, live_c)
      return (acc[0] + layer, acc[1] + bit), new
    zeros = (jnp.zeros((block, rules, k + 1), jnp.int32),
             jnp.zeros((block, rules, k), jnp.int32))
    (layer, bit), sums = jax.lax.scan(chunk, zeros, (sums, u, v, n, live))
    return sums, layer[None], bit[None]

  mesh = _mesh(devices)
  rep, split = PartitionSpec(), PartitionSpec(None, "rows")
  fn = jax.shard_map(local, mesh=mesh,
                     in_specs=(rep,) * 8 + (split,) * 5,
                     out_specs=(split, PartitionSpec("rows"),
                                PartitionSpec("rows")), check_vma=False)
  return jax.jit(fn)


def _partial_sums(w: np.ndarray, bits: int) -> np.ndarray:
  """``(M, 2^bits, W)`` sums of the rows of ``w (M, bits, W)`` chosen by
  every bit mask (float32)."""
  masks = np.arange(1 << bits)
  onehot = ((masks[:, None] >> np.arange(bits)) & 1).astype(np.float32)
  return np.einsum("sb,mbw->msw", onehot, w).astype(np.float32)


def member_outputs(spec: MLPSpec, members: TwoLayerMembers, x) -> np.ndarray:
  """The dense forward pass of every member on inputs ``x`` (the reference
  the evaluator is checked against): ``(M, n_inputs, out)`` float32.

  Example:
    >>> m = TwoLayerMembers(np.ones((1, 2, 3), np.float32), np.zeros((1, 3), np.float32),
    ...             np.ones((1, 3, 2), np.float32), np.zeros((1, 2), np.float32))
    >>> member_outputs(MLPSpec(width=3), m, [[1.0, 0.0]]).astype(float).round(4).tolist()
    [[[1.2247, 1.2247]]]
  """
  spec = check_spec(spec)
  x = np.asarray(x, np.float32)
  k = members.w1.shape[1]
  (s1, sb1), (s2, sb2) = spec.layer_scales(k), spec.layer_scales(spec.width)
  act = spec.activation_fn()
  z = s1 * jnp.einsum("nk,mkw->mnw", x, members.w1)
  if spec.b_std is not None:
    z = z + sb1 * members.b1[:, None, :]
  y = s2 * jnp.einsum("mnw,mwo->mno", act(z), members.w2)
  if spec.b_std is not None:
    y = y + sb2 * members.b2[:, None, :]
  return np.asarray(y, np.float32)


def _fingerprint(spec, perm, readouts, chunk, block, layers, n_dev):
  return {"spec": spec.to_dict(), "perm": np.asarray(perm).tolist(),
          "readouts": {n: r.to_dict() for n, r in readouts.items()},
          "chunk": int(chunk), "block": int(block), "layers": list(layers),
          "devices": int(n_dev)}


def _weights_hash(members: TwoLayerMembers) -> str:
  digest = hashlib.sha256()
  for arr in members:
    digest.update(np.ascontiguousarray(arr).tobytes())
  return digest.hexdigest()


def _check_members(spec, members, k, count) -> TwoLayerMembers:
  if not isinstance(members, TwoLayerMembers):
    raise TypeError(f"members must be permjax.TwoLayerMembers (see "
                    f"stacked_members), got {type(members).__name__}")
  m, k_in, width = members.w1.shape
  if k_in != k or width != spec.width or members.w2.shape[2] != k or (
      m != count):
    raise ValueError(f"members of shape w1 {members.w1.shape}, w2 "
                     f"{members.w2.shape} do not fit k={k}, {spec!r} and "
                     f"{count} members")
  return members


class _Plan(NamedTuple):
  """The calls of one pass over the inputs: per call, the (start, size) of
  each of its chunks in the layer-major order (size 0: padding), and its
  rows placed on the devices."""
  spans: list
  args: list
  inputs: np.ndarray


def _call_plan(k, layers, per_call, mesh) -> _Plan:
  split = NamedSharding(mesh, PartitionSpec(None, "rows"))
  chunks = []  # (start, size, cu, cv, n, live) per chunk
  inputs = np.zeros(k + 1, np.int64)
  at = 0
  for n in layers:
    u, v = layer_pairs(k, n)
    inputs[n] = len(u)
    for row in range(0, len(u), per_call):
      size = min(per_call, len(u) - row)
      cu = np.zeros(per_call, np.int32)
      cv = np.zeros(per_call, np.int32)
      cu[:size], cv[:size] = u[row:row + size], v[row:row + size]
      chunks.append((at + row, size, cu, cv, np.full(per_call, n, np.int32),
                     np.arange(per_call) < size))
    at += len(u)
  spans, args = [], []
  for g in range(0, len(chunks), GROUP):
    part = chunks[g:g + GROUP]
    part += [(0, 0, np.zeros(per_call, np.int32), np.zeros(per_call, np.int32),
              np.ones(per_call, np.int32), np.zeros(per_call, bool))] * (
                  GROUP - len(part))
    spans.append([(c[0], c[1]) for c in part])
    args.append(tuple(jax.device_put(np.stack([c[i] for c in part]), split)
                      for i in range(2, 6)))
  return _Plan(spans, args, inputs)


def evaluate_all_inputs(spec: MLPSpec, members, perm, readouts, *,
                        max_members: int | None = None, block: int = 16,
                        stop_when_exact: bool = True, layers=None,
                        chunk: int = DEFAULT_CHUNK, devices=None,
                        checkpoint_dir: str | None = None,
                        progress: bool = False) -> AllInputsCounts:
  """Reads every nonzero input (or the given layers) with the running
  averages of ``members`` under every readout; see the module docstring.

  Members come in blocks of ``block``: every input's running sum is carried
  from block to block (float32, ``(2^k − 1) × k`` of them: 1.6 GB at
  k = 24), so a block costs one pass over the inputs, and the evaluation
  stops after the first block at which every readout has read every input
  exactly at some N (``stop_when_exact``), or at ``max_members``.

  Args:
    spec: the members' architecture (one hidden layer).
    members: :class:`TwoLayerMembers` (member i at row i), or a function
      ``ids -> TwoLayerMembers`` (e.g. training those members), called once
      per block.
    perm: the permutation the members learned (targets ``P x``).
    readouts: ``{name: Readout}`` with analytic thresholds (per-n rules read
      n off each input; built without a kernel they follow the members':
      ``spec.kernel``).
    max_members: members at most (default: all rows of ``members``).
    block: members per pass over the inputs.
    stop_when_exact: stop after the block where every readout is exact.
    layers: numbers of ones to evaluate (default 1..k).
    chunk: input rows per device per compiled call.
    devices: local devices to split the rows over (default: all).
    checkpoint_dir: save the sums, the counts and the position after every
      block (resume: a killed run redoes at most one block).
    progress: a tqdm bar over blocks and inputs on stderr.

  Returns:
    :class:`AllInputsCounts` over the members evaluated.

  Example:
    >>> import jax, permjax
    >>> perm = [1, 2, 3, 0]
    >>> spec = permjax.MLPSpec(width=64)
    >>> res = permjax.train_ensemble(spec, permjax.training_set(perm),
    ...     jax.random.key(0), 4, x_test=[[1.0, 0, 0, 0]],
    ...     config=permjax.TrainConfig(trainer="gd"), return_params=True)
    >>> counts = evaluate_all_inputs(spec, stacked_members(spec, res.params),
    ...     perm, {"mid": permjax.readout.midpoint("ntk")})
    >>> int(counts.inputs.sum()), counts.n_all("mid")
    (15, 1)
  """
  spec = check_spec(spec)
  perm = perm_lib.validate_permutation(perm)
  k = int(perm.shape[0])
  if k > MAX_K:
    raise ValueError(f"k={k} is above the evaluator's limit k <= {MAX_K}")
  if isinstance(members, TwoLayerMembers):
    given = members
    total = given.w1.shape[0]
    max_members = total if max_members is None else validation.integer(
        "max_members", max_members, 1, total)
    _check_members(spec, given, k, total)
    provide = lambda ids: TwoLayerMembers(*(a[ids] for a in given))  # pylint: disable=unnecessary-lambda-assignment
  elif callable(members):
    if max_members is None:
      raise ValueError("give max_members with a member function")
    max_members = validation.integer("max_members", max_members, 1)
    provide = members
  else:
    raise TypeError(f"members must be permjax.TwoLayerMembers (see "
                    f"stacked_members) or a function ids -> TwoLayerMembers, "
                    f"got {type(members).__name__}")
  readouts = {name: readout_lib.check_readout(r).follow(spec.kernel)
              for name, r in dict(readouts).items()}
  if not readouts:
    raise ValueError("give at least one readout")
  chunk = validation.integer("chunk", chunk, 1)
  block = min(validation.integer("block", block, 1), max_members)
  stop_when_exact = validation.flag("stop_when_exact", stop_when_exact)
  layers = (tuple(range(1, k + 1)) if layers is None else tuple(sorted({
      validation.integer(f"layers (numbers of ones in 1..{k})", n, 1, k)
      for n in layers})))
  devices = tuple(jax.local_devices() if devices is None else devices)
  n_dev = len(devices)
  names = tuple(readouts)
  total_inputs = sum(math.comb(k, n) for n in layers)
  validation.size(f"the running sums of all {total_inputs:,} inputs",
                  float(total_inputs) * k, validation.MAX_ELEMENTS,
                  "evaluate fewer layers at a time")
  tau_all = np.stack([threshold_table(readouts[n], k, max_members)
                      for n in names]).astype(np.float32)
  k_lo, k_hi = split_bits(k)
  fn = _compiled(devices, k, block, len(names), _consts(spec, k))
  mesh = _mesh(devices)
  rep = NamedSharding(mesh, PartitionSpec())
  inverse = jax.device_put(np.argsort(perm).astype(np.int32), rep)
  plan = _call_plan(k, layers, per_call := chunk * n_dev, mesh)
  state = {"sums": np.zeros((total_inputs, k), np.float32),
           "wrong_by_layer": np.zeros((len(names), k + 1, max_members),
                                      np.int64),
           "wrong_by_bit": np.zeros((len(names), max_members, k), np.int64),
           "inputs": np.zeros(k + 1, np.int64),
           "members": np.array(0, np.int64)}
  store = None
  cached = {}
  if checkpoint_dir is not None:
    # The members are part of what the counts depend on: the first block's
    # weights go into the fingerprint (that block is kept for the run).
    cached[0] = provide(np.arange(min(block, max_members)))
    store = Checkpoint(checkpoint_dir, "all_inputs", {
        **_fingerprint(spec, perm, readouts, chunk, block, layers, n_dev),
        "first_block": _weights_hash(cached[0])}, subdir="states", keep=1)
    steps = store.steps()
    if steps:
      state = store.restore(steps[-1])
  process, processes = jax.process_index(), jax.process_count()
  group_split = NamedSharding(mesh, PartitionSpec(None, "rows"))
  sums_dev = {}
  bar = None
  if progress:
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    bar = tqdm(total=max_members, unit="member", desc=f"all inputs k={k}",
               initial=int(state["members"]))
  try:
    while int(state["members"]) < max_members:
      first = int(state["members"])
      if stop_when_exact and first and all(
          np.any(state["wrong_by_layer"][r].sum(axis=0)[:first] == 0)
          for r in range(len(names))):
        break
      take = min(block, max_members - first)
      ids = np.arange(first, first + take)
      got = cached.pop(first) if first in cached else provide(ids)
      if not isinstance(got, TwoLayerMembers):
        raise TypeError(f"the member function returned "
                        f"{type(got).__name__}, not TwoLayerMembers")
      got = _check_members(spec, got, k, take)
      if take < block:  # pad the block with copies; their counts are dropped
        got = TwoLayerMembers(*(np.concatenate(
            [a, np.repeat(a[-1:], block - take, axis=0)]) for a in got))
      shared = [jax.device_put(a, rep) for a in (
          _partial_sums(got.w1[:, :k_lo], k_lo),
          _partial_sums(got.w1[:, k_lo:], k_hi), got.b1, got.w2, got.b2)]
      tau = np.zeros((len(names), k + 1, block), np.float32)
      tau[:, :, :take] = tau_all[:, :, first:first + take]
      tau = jax.device_put(tau, rep)
      layers_out, bits_out = [], []
      for i, spans in enumerate(plan.spans):
        if i % processes != process:
          continue
        if i not in sums_dev:  # from the host: a fresh start or a resume
          if not first:
            if "zero" not in sums_dev:
              sums_dev["zero"] = jax.device_put(
                  np.zeros((GROUP, per_call, k), np.float32), group_split)
            sums_dev[i] = sums_dev["zero"]
          else:
            sums = np.zeros((GROUP, per_call, k), np.float32)
            for g, (at, size) in enumerate(spans):
              sums[g, :size] = state["sums"][at:at + size]
            sums_dev[i] = jax.device_put(sums, group_split)
        sums_dev[i], layer, bit = fn(*shared, inverse, tau, np.int32(first),
                                     sums_dev[i], *plan.args[i])
        layers_out.append(layer)  # asynchronous: read after the loop
        bits_out.append(bit)
      acc_layer = np.zeros((n_dev, block, len(names), k + 1), np.int64)
      acc_bit = np.zeros((n_dev, block, len(names), k), np.int64)
      for a, b in zip(layers_out, bits_out):
        acc_layer += np.asarray(a)
        acc_bit += np.asarray(b)
      count_layer = acc_layer.astype(np.int64).sum(axis=0).transpose(1, 2, 0)
      count_bit = acc_bit.astype(np.int64).sum(axis=0).transpose(1, 0, 2)
      if processes > 1:  # every process sees every count (one stop rule)
        from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
        count_layer, count_bit = (
            np.asarray(multihost_utils.process_allgather(a)).sum(axis=0)
            for a in (count_layer, count_bit))
      inputs = plan.inputs
      state["wrong_by_layer"][:, :, first:first + take] = count_layer[
          :, :, :take]
      state["wrong_by_bit"][:, first:first + take] = count_bit[:, :take]
      state["inputs"] = inputs
      state["members"] = np.array(first + take, np.int64)
      if store is not None:
        for i, spans in enumerate(plan.spans):
          if i in sums_dev:
            new = np.asarray(sums_dev[i])
            for g, (at, size) in enumerate(spans):
              state["sums"][at:at + size] = new[g, :size]
        store.save(first + take, state)
      if bar is not None:
        bar.update(take)
  finally:
    if bar is not None:
      bar.close()
    if store is not None:
      store.close()
  done = int(state["members"])
  return AllInputsCounts(names, state["wrong_by_layer"][:, :, :done],
                         state["wrong_by_bit"][:, :done], state["inputs"])
