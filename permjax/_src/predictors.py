"""Predictors: what :func:`permjax.execute` asks for the averaged outputs.

A *predictor* maps a program's encoded states to the averaged network
outputs on them: ``predictor(program, x) -> (B, D)`` with
``x = program.encode(states)``, plus an attribute ``members`` (the ensemble
size its outputs average, for readouts that depend on it; ``inf`` for a
mean). Four kinds:

* :class:`ExactMean` — infinitely many infinitely wide members: the trained
  GP's mean in closed form (docs/theory/templates.md §3.1),
  ``μ_j = (α_n − β_n) c_j + β_n C_j``;
* :class:`NTReferenceMean` — the same mean through neural-tangents, one state
  at a time, the way the authors' validators compute it (slow; the check);
* :class:`EnsembleMean` — N members' average on the encodings the pairs'
  ideal runs visit: GP draws (:func:`gp_ensemble_mean`) or finite networks
  (:func:`network_ensemble_mean`), accumulated as :func:`permjax.grow` does;
* :class:`NetworkAverage` — N finite networks applied to any encoding (no
  test set: the ensemble as the update function itself).
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import jax
import numpy as np

from permjax._src import gp as gp_lib
from permjax._src import growth
from permjax._src import sources
from permjax._src import templates as tpl
from permjax._src import training
from permjax._src import validation
from permjax._src.models import check_spec
from permjax._src.models import MLPSpec
from permjax._src.permutation import Examples


def check_program(program) -> tpl.Program:
  """``program`` if it is a :class:`permjax.Program`, else one TypeError."""
  if not isinstance(program, tpl.Program):
    raise TypeError(f"program must be a permjax.Program (e.g. "
                    f"permjax.program('addition', 4)), got {program!r}")
  return program


def _check_built_for(program, name: str, fingerprint: str,
                    what: str) -> tpl.Program:
  """``program`` if its fingerprint is ``fingerprint``; else one ValueError
  saying ``what`` for ``name`` and naming both fingerprints."""
  program = check_program(program)
  if program.fingerprint != fingerprint:
    raise ValueError(f"{what} for {name} (fingerprint {fingerprint[:12]}), "
                     f"not for {program.name} (fingerprint "
                     f"{program.fingerprint[:12]})")
  return program


def check_encodings(program: tpl.Program, x) -> np.ndarray:
  """``x`` if it is a batch of ``program``'s encodings: ``(B, k)``, each row
  the indicator of some templates over √n (or zero), padding columns 0.

  Example:
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(2)
    >>> check_encodings(prog, np.full((1, 8), 0.5))
    Traceback (most recent call last):
    ...
    ValueError: addition(m=2): encoding rows [0] are not a normalised template indicator (each nonzero 1/sqrt(n), padding columns 0)
  """
  x = np.asarray(x)
  if x.ndim != 2 or x.shape[1] != program.k:
    raise ValueError(f"{program.name}: encodings must be (batch, k="
                     f"{program.k}), got shape {x.shape}")
  x = validation.finite_array(f"{program.name}: encodings", x)
  nonzero = x != 0
  n = nonzero.sum(axis=1)
  with np.errstate(divide="ignore"):
    unit = np.where(n > 0, 1.0 / np.sqrt(np.maximum(n, 1)), 0.0)
  bad = (np.any(nonzero[:, program.T:], axis=1)
         | np.any(nonzero & ~np.isclose(x, unit[:, None], rtol=1e-6, atol=0),
                  axis=1))
  if bad.any():
    raise ValueError(f"{program.name}: encoding rows "
                     f"{np.flatnonzero(bad)[:5].tolist()} are not a "
                     f"normalised template indicator (each nonzero "
                     f"1/sqrt(n), padding columns 0)")
  return x


class ExactMean:
  """The trained GP's mean on template inputs, closed form, float64.

  Example:
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(2)
    >>> states = prog.initial_states([1], [3])
    >>> mean = ExactMean()(prog, prog.encode(states))
    >>> bool(np.array_equal(mean > 1e-10, prog.step(states)))
    True
  """

  def __init__(self, kernel: str = "ntk", spec=None):
    if kernel not in gp_lib.KERNELS:
      raise ValueError(f"kernel must be one of {gp_lib.KERNELS}, got "
                       f"{kernel!r}")
    self.kernel = kernel
    self.spec = check_spec(spec, none_ok=True)
    self.members = math.inf
    self._cache = {}

  def stats(self, k: int, n: np.ndarray):
    """``(α_n, β_n, σ²_n)`` per row (zeros for ``n = 0``: x = 0), computed
    once per distinct ``(k, n)``."""
    values, inverse = np.unique(n, return_inverse=True)
    table = np.zeros((3, len(values)))
    for i, v in enumerate(values.tolist()):
      if v == 1 and k == 1:  # the one training point of a 1-template program
        table[:, i] = (1.0, 0.0, 0.0)
      elif v > 0:
        if (k, v) not in self._cache:
          s = gp_lib.symmetric_gp(k, v, spec=self.spec, kernel=self.kernel)
          self._cache[(k, v)] = (float(s.alpha), float(s.beta),
                                 float(s.sigma2))
        table[:, i] = self._cache[(k, v)]
    return table[:, inverse.reshape(n.shape)]

  def __call__(self, program: tpl.Program, x) -> np.ndarray:
    program = check_program(program)
    x = check_encodings(program, x)
    matched = x[:, :program.T] > 0
    return self.from_counts(program, matched.sum(1),
                            program.writes_of(matched))

  def from_counts(self, program: tpl.Program, n, c1,
                  weights=None) -> np.ndarray:
    """The mean from each state's matched-template count ``n`` ``(B,)`` and
    per-bit writer counts ``c1`` ``(B, D)``, without building encodings
    (the executor's fast path): ``γ_n c1 + β_n C``. ``weights``: the
    column weights ``C`` of ``c1``'s columns (default the program's, one
    per bit; any ``(D',)`` with ``c1`` ``(B, D')`` reads other columns)."""
    alpha, beta, _ = self.stats(program.k, np.asarray(n))
    weights = program.column_weights() if weights is None else weights
    # γ_n c1 + β_n C computed bit-major in place (the executor's counts are
    # (D, B) arrays seen as (B, D)), returned as (B, D).
    mean = np.asarray(c1).T.astype(np.float64)
    mean *= (alpha - beta)[None]
    mean += np.multiply.outer(np.asarray(weights, np.float64), beta)
    return mean.T


def reads_counts(predictor, readout) -> bool:
  """Whether ``predictor``'s bits under ``readout`` can be read from
  :class:`CountDecisions`: it has ``from_counts(program, n, c1,
  weights=None)`` (a mean that depends on a state only through its counts)
  and the readout has analytic thresholds (not ``self_calibrated``, whose
  thresholds come from each batch's outputs).

  Example:
    >>> from permjax._src import readout as readout_lib
    >>> reads_counts(exact_mean(), readout_lib.midpoint("ntk"))
    True
    >>> reads_counts(exact_mean(), readout_lib.self_calibrated())
    False
  """
  method = getattr(predictor, "from_counts", None)
  if method is None or not readout.analytic:
    return False
  try:
    params = inspect.signature(method).parameters
  except (TypeError, ValueError):
    return False
  return "weights" in params or any(
      p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class CountDecisions:
  """What a count-determined predictor reads, as a lookup table.

  The exact mean of a template state at output ``j`` depends only on the
  number ``n`` of matched templates, the number ``c`` of them that write
  ``j`` and the column weight ``C_j`` (docs/theory/templates.md §3.1), and
  so does every readout of it with analytic thresholds (not
  ``self_calibrated``, whose thresholds come from each batch). ``table[n, c, column_class[j]]`` holds that
  bit, computed once by the float64 path itself (``predictor.from_counts``
  then ``readout.bits_at``), rows added as larger ``n`` arrive; the
  readout's fixed-zero columns are :attr:`fixed`. The executor and the
  device driver read bits from it instead of forming the ``(B, D)`` float64
  mean every step: the same bits, a gather instead of the arithmetic.

  Attributes:
    table: ``(rows, C_max + 1, classes)`` bool, rows ``n = 0..rows-1``.
    column_class: ``(D,)`` int32, each output's index into the distinct
      column weights.
    fixed: ``(D,)`` bool, the readout's fixed-zero columns.

  Example:
    >>> from permjax._src import readout as readout_lib
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(3)
    >>> dec = CountDecisions(prog, exact_mean(), readout_lib.zero())
    >>> matched = prog.matches(prog.initial_states([5], [3]))
    >>> n, c1 = matched.sum(1), prog.writes_of(matched)
    >>> bool(np.array_equal(dec.read(n, c1), c1 > 0))   # the mean's sign
    True
  """

  def __init__(self, program: tpl.Program, predictor, readout):
    if not readout.analytic:
      raise ValueError(f"the {readout.rule} readout sets its thresholds from "
                       f"each batch's outputs; its bits are not a function of "
                       f"the counts alone (read it from the float64 mean)")
    if readout.fixed_zeros and readout.fixed_zeros[-1] >= program.D:
      raise ValueError(f"fixed_zeros column {readout.fixed_zeros[-1]} is "
                       f"outside the {program.D} outputs of {program.name}")
    if predictor is not None and getattr(predictor, "from_counts",
                                         None) is None:
      raise TypeError(f"{type(predictor).__name__} has no from_counts: its "
                      f"outputs are not a function of the counts (n, c, "
                      f"column weight), so they have no count table (read "
                      f"them through the encodings)")
    if predictor is not None and not reads_counts(predictor, readout):
      raise TypeError(f"{type(predictor).__name__}.from_counts must accept "
                      f"(program, n, c1, weights=None): the decisions read "
                      f"one column per distinct column weight")
    weights = program.column_weights()
    classes, column_class = np.unique(weights, return_inverse=True)
    self.column_class = column_class.astype(np.int32)
    self._classes = classes
    self._width = int(weights.max(initial=0)) + 1
    self.fixed = np.zeros(program.D, bool)
    self.fixed[list(readout.fixed_zeros)] = True
    self._program, self._predictor = program, predictor
    self._plain = dataclasses.replace(readout, fixed_zeros=())
    self.table = np.zeros((0, self._width, len(classes)), bool)
    self._least_rows, self._least_cache = -1, None
    # a class of columns no template writes (their count is always 0), and
    # whether the fixed zeros are all such columns
    self._unwritten_class = classes == 0
    self._fixed_unwritten = not (self.fixed & (weights > 0)).any()

  def upto(self, top: int) -> CountDecisions:
    """Adds the rows up to ``n = top`` (at most ``T``); returns self."""
    rows = len(self.table)
    if top < rows:
      return self
    stop = min(max(int(top) + 1, 2 * rows), self._program.T + 1)
    n = np.repeat(np.arange(rows, stop), self._width)
    c = np.tile(np.arange(self._width), stop - rows)
    counts = np.broadcast_to(c[:, None], (len(n), len(self._classes)))
    if self._predictor is None:
      bits = (counts > 0) & (n > 0)[:, None]
    else:
      bits = self._plain.bits_at(
          self._predictor.from_counts(self._program, n, counts,
                                      self._classes),
          n, self._program.k, self._predictor.members)
    self.table = np.concatenate([self.table, bits.reshape(
        stop - rows, self._width, len(self._classes))])
    return self

  def _least(self):
    """``(classes, rows)``: per class and ``n``, the least writer count
    read as 1 (``C + 1``: none), or None if some bit is not monotone in
    the count (then :meth:`read` gathers from the table itself). The mean
    ``(α_n − β_n) c + β_n C`` grows with ``c`` where ``α_n > β_n``, so a
    threshold readout's bits do; only counts ``c ≤ C`` occur."""
    if self._least_rows == len(self.table):
      return self._least_cache
    dtype = np.uint8 if self._width < 255 else np.int32
    least = np.full((len(self._classes), len(self.table)), self._width,
                    dtype)
    for i, weight in enumerate(self._classes.tolist()):
      bits = self.table[:, :weight + 1, i]                # (rows, c ≤ C)
      if (bits[:, :-1] & ~bits[:, 1:]).any():
        least = None
        break
      least[i] = np.where(bits.any(1), bits.argmax(1), self._width)
    self._least_rows, self._least_cache = len(self.table), least
    return least

  @property
  def monotone(self) -> bool:
    """Whether every bit of the rows so far is monotone in the writer
    count (then :meth:`read` compares counts with one least count per
    column weight and ``n``; else it gathers from :attr:`table`)."""
    return self._least() is not None

  def read(self, n, c1, or_bits=None) -> np.ndarray:
    """The bits read at states with ``n`` ``(B,)`` matched templates and
    writer counts ``c1`` ``(B, D)``: ``(B, D)`` bool (a view of a
    bit-major ``(D, B)`` array, as :meth:`permjax.Program.writes_of`).

    ``or_bits``: the OR rule's bits ``c1 > 0``, if the caller has them;
    when every decision the batch needs is "written at least once" (a
    least count of 1 for every written column's class at every ``n``
    present, unwritten columns read 0, fixed zeros among them), the bits
    are the OR rule's and ``or_bits`` itself is returned (``is`` tells the
    caller that no bit differs)."""
    n = np.asarray(n)
    self.upto(int(n.max(initial=0)))
    counts = np.asarray(c1).T                              # (D, B)
    least = self._least()
    if or_bits is not None and least is not None and self._fixed_unwritten:
      present = np.flatnonzero(np.bincount(n)[1:]) + 1  # n = 0 reads 0
      needed = least[:, present]
      if ((needed == 1) | (self._unwritten_class[:, None]
                           & (needed > 0))).all():
        return or_bits
    if least is not None:   # one threshold per (class, n): a compare
      bits = counts >= least[:, n][self.column_class]
    else:
      classes = self.table.shape[2]
      index = counts.astype(np.int32) * classes
      index += self.column_class[:, None]
      index += (n.astype(np.int32) * (self._width * classes))[None, :]
      bits = self.table.reshape(-1)[index]
    bits[self.fixed] = False
    return bits.T


def read_step(program: tpl.Program, predictor, readout, matched, c1,
              or_bits, decisions=None) -> np.ndarray:
  """The bits ``readout`` reads from ``predictor`` at states with
  ``matched`` templates ``(B, T)`` and writer counts ``c1`` ``(B, D)``
  (the OR rule's bits ``or_bits``): from ``decisions`` (the predictor's
  :class:`CountDecisions`) where given, else from the float64 mean of the
  counts where the predictor has ``from_counts`` (used when no table
  serves: a readout calibrated on each batch, or a ``from_counts`` without
  ``weights``), else through the encodings. One step of the executor and of both graph
  drivers' host rounds.

  Example:
    >>> from permjax._src import readout as readout_lib
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(2)
    >>> m = prog.matches(prog.initial_states([1], [3]))
    >>> c1 = prog.writes_of(m)
    >>> bits = read_step(prog, exact_mean(), readout_lib.zero(), m, c1, c1 > 0)
    >>> bool(np.array_equal(bits, c1 > 0))
    True
  """
  if decisions is not None:  # no encodings, no float arithmetic
    return decisions.read(program.count_matches(matched), c1, or_bits)
  if hasattr(predictor, "from_counts"):  # count-determined, no table
    n = matched.sum(1)
    outputs = predictor.from_counts(program, n, c1)
    return readout.bits_at(outputs, n, program.k, predictor.members)
  x = program.encode_matches(matched)
  outputs = np.asarray(predictor(program, x), np.float64)
  if outputs.shape != (len(x), program.D):
    raise ValueError(f"the predictor returned outputs of shape "
                     f"{outputs.shape} for {len(x)} states; {program.name} "
                     f"needs ({len(x)}, D={program.D})")
  return readout.bits(outputs, x, predictor.members)


def exact_mean(kernel: str = "ntk", spec=None) -> ExactMean:
  """The infinite-width mean predictor (see :class:`ExactMean`).

  Example:
    >>> from permjax._src.programs import multiplication
    >>> prog = multiplication.multiplication_program(1)
    >>> x = prog.encode(prog.initial_states([1], [1]))
    >>> exact_mean()(prog, x).shape
    (1, 19)
  """
  return ExactMean(kernel, spec)


class NTReferenceMean:
  """The reference predictor: neural-tangents' ``nt.predict``, one state at
  a time, float64 — the way the authors' validators compute the NTK mean
  (``opallab/binary_algos``, ``validation/validate_*.py``). Slow; it checks
  :class:`ExactMean` and is the baseline of ``benchmarks/templates_speed.py``.

  Example:
    >>> from permjax._src.programs import addition
    >>> prog = addition.addition_program(2)
    >>> x = prog.encode(prog.initial_states([1, 2], [3, 1]))
    >>> ref = NTReferenceMean()(prog, x)
    >>> bool(np.allclose(ref, ExactMean()(prog, x), atol=1e-12))
    True
  """

  def __init__(self, kernel: str = "ntk"):
    if kernel not in gp_lib.KERNELS:
      raise ValueError(f"kernel must be one of {gp_lib.KERNELS}, got "
                       f"{kernel!r}")
    self.kernel = kernel
    self.members = math.inf
    self._fns = {}

  def _predict_fn(self, program):
    from permjax._src.nt_compat import nt  # pylint: disable=import-outside-toplevel
    if program.fingerprint not in self._fns:
      x_train, y_train = program.training_set()
      kernel_fn = MLPSpec(width=1).nt_triple(program.D).kernel_fn
      with jax.enable_x64(True):
        self._fns[program.fingerprint] = (
            nt.predict.gradient_descent_mse_ensemble(kernel_fn, x_train,
                                                     y_train, diag_reg=0.0))
    return self._fns[program.fingerprint]

  def __call__(self, program: tpl.Program, x) -> np.ndarray:
    predict_fn = self._predict_fn(check_program(program))
    out = np.zeros((len(x), program.D))
    with jax.enable_x64(True):
      for i, row in enumerate(np.asarray(x, np.float64)):
        if row.any():
          out[i] = np.asarray(predict_fn(x_test=row[None], get=self.kernel,
                                         compute_cov=True).mean)[0]
    return out


class EnsembleMean:
  """An N-member ensemble's average on a program's reachable encodings, as a
  predictor ``(program, x) -> (B, D)`` for :func:`permjax.execute`.

  The members are evaluated once, on :func:`permjax.program_test_set`'s
  encodings; the predictor answers for those (and for the zero encoding) and
  refuses any other input, so run it with ``execute(...,
  until_first_error=True)``, which stops a pair at its first wrong step (the
  pair has then failed).

  Attributes:
    members: N.
    info: the member source's description (``regime``, ``kernel``, ...).
    kernel: the GP kernel the members follow (per-n readouts follow it).
    status: each member's status.
    final_loss: each member's final training loss.
  """

  def __init__(self, program: tpl.Program, test, average: np.ndarray,
               members: int, info: dict, status=None, final_loss=None):
    self.program_name, self.fingerprint = program.name, program.fingerprint
    self.test = test
    self.average = average
    self.members = members
    self.info = info
    self.kernel = info.get("kernel")
    self.status = status
    self.final_loss = final_loss
    keys = np.packbits(test.x > 0, axis=1)
    self._row = {row.tobytes(): i for i, row in enumerate(keys)}

  def __call__(self, program: tpl.Program, x) -> np.ndarray:
    program = _check_built_for(program, self.program_name, self.fingerprint,
                              "this ensemble was built")
    x = np.asarray(x)
    out = np.zeros((len(x), program.D))
    keys = np.packbits(x > 0, axis=1)
    for i in np.flatnonzero(x.any(axis=1)):
      row = self._row.get(keys[i].tobytes())
      if row is None:
        raise ValueError(
            f"{self.program_name}: an input off every ideal trajectory of "
            f"the ensemble's pairs reached the predictor; run "
            f"execute(..., until_first_error=True), which stops a pair at its "
            f"first wrong step")
      out[i] = self.average[row]
    return out


class NetworkAverage:
  """N finite networks' average as a function of any encoding: the members
  (:class:`permjax.TrainedNetworks`, trained once) are applied to whatever
  states a run reaches, on or off the ideal trajectory — the ensemble as
  the update function itself. :class:`EnsembleMean` is the same average
  tabulated on a test set (cheaper where the set is small; it refuses other
  inputs). Outputs in the training config's dtype (float32 by default),
  returned as float64.

  Attributes:
    members: N (members ``0..N-1`` of ``nets``: member i from
      ``fold_in(key, i)``, as every member source).
    nets: the :class:`permjax.TrainedNetworks`.
    info: the member source's description (``regime``, ``kernel``, ...).
    kernel: the GP kernel the members follow (per-n readouts follow it).
    status: ``(N,)`` the members' training statuses (``"converged"``,
      ...), as :class:`EnsembleMean` keeps them: an average over members
      that did not converge is not the trained ensemble the theory means.
    final_loss: ``(N,)`` their final training losses.
  """

  def __init__(self, program: tpl.Program, nets: sources.TrainedNetworks,
               members: int):
    program = check_program(program)
    if not isinstance(nets, sources.TrainedNetworks):
      raise TypeError(f"nets must be a permjax.TrainedNetworks, got "
                      f"{type(nets).__name__}")
    if (nets.in_dim, nets.out_dim) != (program.k, program.D):
      raise ValueError(f"the networks map {nets.in_dim} -> {nets.out_dim}, "
                       f"but {program.name} needs k = {program.k} -> D = "
                       f"{program.D}")
    self.members = validation.integer("members", members, 1)
    self.program_name, self.fingerprint = program.name, program.fingerprint
    self.nets = nets
    self.info = nets.info()
    self.kernel = self.info.get("kernel")
    self.ids = np.arange(self.members)
    self.params = nets.stacked_params(self.ids)  # trains them now
    self.status, self.final_loss = nets.training_of(self.ids)

  def check(self, program: tpl.Program) -> tpl.Program:
    """``program`` if these networks were trained for it; else one
    ValueError naming both."""
    return _check_built_for(program, self.program_name, self.fingerprint,
                           "these networks were trained")

  def __call__(self, program: tpl.Program, x) -> np.ndarray:
    program = self.check(program)
    x = check_encodings(program, x)
    return self.nets.outputs(self.ids, x).mean(0)

  def device_apply(self, params, x):
    """The average as a JAX function of ``params`` (:attr:`params`) and
    encodings ``x`` ``(B, k)``: ``(B, D)`` in the config's dtype."""
    return self.nets.apply_members(params, x.astype(
        self.nets.config.jnp_dtype)).mean(0)


def network_average(program: tpl.Program, members: int, key: jax.Array,
                    spec: MLPSpec,
                    config: training.TrainConfig) -> NetworkAverage:
  """N finite networks trained on the program's training set, as a
  predictor of any encoding (:class:`NetworkAverage`); the same members as
  :func:`network_ensemble_mean` and :func:`permjax.network_member_source`
  with this key (up to float rounding).

  Example:
    >>> import permjax
    >>> prog = permjax.program("addition", 2)
    >>> mean = network_average(prog, 4, jax.random.key(0),
    ...     permjax.MLPSpec(width=256), permjax.TrainConfig(trainer="linearized"))
    >>> permjax.execute(prog, mean, permjax.margin(prog, "ntk")).all_correct
    True
  """
  program = check_program(program)
  nets = sources.TrainedNetworks(spec, training_examples(program), key,
                                 config)
  return NetworkAverage(program, nets, members)


def training_examples(program: tpl.Program) -> Examples:
  """The program's training set (basis vectors of ``R^k``, template
  targets) as :class:`permjax.Examples`.

  Example:
    >>> from permjax._src.programs import addition
    >>> training_examples(addition.addition_program(2)).x.shape
    (8, 8)
  """
  x, y = check_program(program).training_set()
  return Examples(np.asarray(x, np.float64), np.asarray(y, np.float64))


def _ensemble_mean(program, test, source, members, chunk):
  average, status, loss = growth.ensemble_average(source, members, chunk)
  return EnsembleMean(program, test, average, members, source.info, status,
                      loss)


def gp_ensemble_mean(program: tpl.Program, members: int, key: jax.Array, *,
                     kernel: str = "ntk", a=None, b=None,
                     chunk: int = 64) -> EnsembleMean:
  """N members drawn jointly from the trained-GP posterior over the
  encodings of the pairs' ideal runs, averaged (float64).

  Example:
    >>> import permjax
    >>> prog = permjax.program("addition", 2)
    >>> mean = gp_ensemble_mean(prog, 8, jax.random.key(0))
    >>> run = permjax.execute(prog, mean, permjax.margin(prog, "ntk"),
    ...                       until_first_error=True)
    >>> run.all_correct, mean.members
    (True, 8)
  """
  from permjax._src import execution  # pylint: disable=import-outside-toplevel
  program = check_program(program)
  test = execution.program_test_set(program, a, b)
  source = sources.gp_member_source(MLPSpec(width=1), kernel,
                                    training_examples(program), test.x, key,
                                    sampler="dense")
  return _ensemble_mean(program, test, source, members, chunk)


def network_ensemble_mean(program: tpl.Program, members: int,
                          key: jax.Array, spec: MLPSpec,
                          config: training.TrainConfig, *, a=None, b=None,
                          chunk: int = 64, **engine_kwargs) -> EnsembleMean:
  """N finite networks trained once on the program's training set
  (:func:`permjax.train_ensemble`), evaluated on the encodings of the pairs'
  ideal runs (the engine's sparse path) and averaged.

  Example:
    >>> import permjax
    >>> prog = permjax.program("addition", 2)
    >>> mean = network_ensemble_mean(prog, 4, jax.random.key(0),
    ...     permjax.MLPSpec(width=256), permjax.TrainConfig(trainer="linearized"))
    >>> permjax.execute(prog, mean, permjax.margin(prog, "ntk"),
    ...                 until_first_error=True).all_correct
    True
  """
  from permjax._src import execution  # pylint: disable=import-outside-toplevel
  program = check_program(program)
  test = execution.program_test_set(program, a, b)
  source = sources.network_member_source(spec, training_examples(program),
                                         test.x, key, config, **engine_kwargs)
  return _ensemble_mean(program, test, source, members, chunk)
