"""Bellman–Ford as a node program (arXiv 2601.23207, the Bellman–Ford
construction; docs/theory/graphs.md).

A sequential *pull* Bellman–Ford, run by message passing on a graph with
positive integer edge weights. Nodes take turns in id order: a global
*pointer* names the node whose turn it is, and a global *round* counts the
passes over all nodes. Neither is stored anywhere central; every node keeps
its own copies and learns the next values from a flooded message. Each node
carries its distance (``∞`` is the all-ones word together with an all-ones
``u_inf`` flag), its id, the weight of each port's edge and a *mirror* of
each neighbour's distance and ``∞`` flag. One *epoch* is one node's turn:

1. every node checks, MSB first, that the round is still below ``n`` (the
   pass count Bellman–Ford needs); if so it compares its id with the
   pointer, bit by bit; the one node whose id equals it is the head;
2. the head adds each port's edge weight to the mirrored distance of that
   neighbour (one ripple adder per port, all at once; a port whose mirror
   is ``∞`` — or an unused port, which starts at ``∞`` — adds nothing and
   stays all-ones), then walks its ports in order comparing, MSB first,
   the best distance so far with the port's candidate; a strictly smaller
   candidate replaces it and, through a delay pipe, clears the head's
   ``∞`` flag;
3. meanwhile the head decides whether the pointer has reached ``n``: if so
   the next pointer is 1 and the round goes up by one, else the pointer
   goes up by one (ripple adders); it then uploads the next pointer and
   round, its id, its distance and its ``∞`` flag into its own outbox slot;
4. every node floods what it receives: a message whose (round, pointer)
   is newer than the last one relayed (round compared MSB first, then the
   pointer) enters a delay line at its slot's stage; the lines merge the
   slots one stage a round, the first copy through shuts the others down,
   and the node re-broadcasts it from its own slot;
5. on arrival each node compares the sender's id with each port's
   neighbour id (bit by bit), refreshes the matching port's mirror of the
   distance and ``∞`` flag, takes the new pointer and round, and starts
   the next epoch.

After ``n − 1`` rounds of ``n`` turns each, every node's distance is its
shortest-path distance from the source, as in the classical algorithm (a
Gauss–Seidel pass over the nodes relaxes every edge into each node once).
Every bit-serial step is a cascade of one-hot counters and self-keeping
bits, as in the BFS program (:mod:`permjax._src.programs.bfs`). The program
has ``T = 44bΔ² + 5Δ² + 33bΔ + 2Δ + 100b + 18`` templates over
``D = 52bΔ² + 7Δ² + 38bΔ + 2Δ + 113b + 21`` bits (``b`` bits per word,
``Δ`` the degree bound, ``S = Δ² + 1`` slots), of which the last
``S(5b + 1)`` are the outbox. As in the construction, the template that
opens a node's own outbox slot is listed once per bit of a word (``b``
identical copies per slot); they count in ``T`` and give the slot gates
the largest column weight, ``b + 2``.

Conventions kept from the construction: node ``v`` has id ``v + 1``; port
``p`` of ``v`` is its ``p``-th neighbour in increasing id order
(:func:`permjax.graphs.neighbours`); words are ``b`` bits, LSB first; the
edge weights are integers 1..3 (the construction's experiments draw them
uniformly), one per edge of the graph, aligned with ``g.edges``; a graph
needs ``b ≥ max(bitlen(p_L), bitlen(n)) + 1`` with ``p_L`` the weight of
its heaviest simple path (:func:`bellman_ford_bits`), so that no finite distance
or candidate reaches the all-ones ``∞``. The graph must be connected: the
pointer serves every node in turn, and a node the flood cannot reach would
never take its turn. The construction's experiments use node 0 (id 1) as
the source.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from permjax._src import graphs as graphs_lib
from permjax._src.programs import graph_blocks
from permjax._src import node_program as node_lib
from permjax._src.templates import Template

#: Edge weights the construction handles: integers ``1..MAX_WEIGHT``.
MAX_WEIGHT = 3

#: Largest graph whose heaviest simple path :func:`bellman_ford_bits` finds
#: exactly (a search over subsets of nodes); beyond it, the sum of the
#: ``n − 1`` heaviest edge weights stands in (never less than ``p_L``).
EXACT_PATH_NODES = 12

# The words a head uploads and every node relays, in outbox order.
_SENT = ("pointer", "u_id", "u_inf", "round", "u_dist")


def _layout(b, deg, slots):
  """The state, in the construction's flat order (outbox last)."""
  f = graph_blocks.FieldLayout()
  s, s1 = slots, slots + 1

  def words(shape, *names):
    for name in names:
      f.add(name, *shape)

  # n, and the test round < n.
  words((b,), "num_nodes", "compare_round", "n4round", "round",
        "round_smaller_than_num")
  # Is my id the pointer?
  words((b,), "u_id", "pointer", "compare_u_id", "upload_u_id",
        "u_matches_pointer", "u_matches_counter", "reset_u_matches")
  f.add("u_id_comparison_counter", b + 2)
  # The mirrors of the neighbours' distances and ∞ flags, and the weights.
  words((deg, b), "v_dist", "fill_candidate_dist_augend", "overwrite_v_dist",
        "v_inf_backup", "overwrite_v_inf", "weight",
        "fill_candidate_dist_addend", "v_inf")
  # My own distance, the best-so-far chain, my ∞ flag.
  words((b,), "u_dist", "fill_incumbent_dist", "upload_u_dist")
  words((deg, b), "backup_incumbent_dist", "keep_incumbent_dist",
        "reset_backup_incumbent_dist", "overwrite_u_inf_pipe")
  words((b,), "u_inf", "overwrite_u_inf", "upload_u_inf")
  # The port walk.
  f.add("u_matched")
  f.add("v_turn", deg + 1)
  f.add("candidate_dist_sum_counter", 2 * b + 2)
  # Candidates: mirror + weight, kept for the choice, compared MSB first.
  words((deg, b), "candidate_dist_augend", "candidate_dist_addend",
        "to_copy_candidate_dist_augend", "candidate_dist_carry",
        "backup_candidate_dist", "choose_candidate_dist",
        "reset_backup_candidate_dist", "compare_u_dist", "incumbent_dist",
        "candidate_dist", "smaller_candidate_dist", "smaller_incumbent_dist")
  # Has the pointer reached n?
  words((b,), "u_pointer", "n4pointer", "check_pointer", "pointer_matches_n",
        "pointer_matches_n_counter")
  f.add("check_pointer_counter", b + 1)
  f.add("decide_pointer")
  f.add("reset_pointer")
  f.add("pointer_sum_counter", 2 * b)
  f.add("round_sum_counter", 2 * b)
  # The pointer and round increments, and their upload.
  words((b,), "pointer_augend", "pointer_addend", "to_copy_pointer_augend",
        "pointer_carry", "round_augend", "round_addend",
        "to_copy_round_augend", "round_carry", "next_pointer",
        "upload_next_pointer", "next_round", "upload_next_round")
  f.add("upload_message_flag")
  # Routing into the node's own outbox slot.
  f.add("determine_slot", s)
  for word in ("pointer", "round", "u_dist", "u_id", "u_inf"):
    f.add(f"determine_{word}_slot", s, b)
    f.add(f"{word}_placeholder", s, b)
  f.add("determine_message_flag_slot", s)
  f.add("message_flag_placeholder", s)
  # Incoming words held while their (round, pointer) is tested.
  words((s, b), "persistent_last_pointer", "overwrite_last_pointer",
        "persistent_last_round", "overwrite_last_round")
  for word in ("pointer", "round", "u_id", "u_dist", "u_inf"):
    words((s, b), f"temp_{word}_slot", f"to_accept_temp_{word}",
          f"overwrite_temp_{word}")
  f.add("return_message_flag", s)
  # Is the incoming (round, pointer) newer than the last one relayed?
  words((s, b), "compare_last_round", "incoming_round", "last_round",
        "new_message", "old_message", "compare_last_pointer",
        "incoming_pointer", "last_pointer")
  # Delay lines merging the slots (stages 0..S).
  for word in ("round", "pointer", "u_id", "u_dist", "u_inf"):
    f.add(f"delay_new_{word}", s1, b)
    f.add(f"shutdown_{word}_delay", s1, b)
  f.add("delay_new_message_flag", s1)
  f.add("shutdown_message_flag_delay", s1)
  # Which port is the sender?
  f.add("v_id", deg, b)
  f.add("received_new_message")
  words((deg, b), "received_u_id", "v_id2check",
        "check_v_id_with_received_u_id")
  f.add("v_id_comparison_counter", deg, b + 1)
  words((deg, b), "v_equals_received_u_id", "v_is_received_u_id_counter",
        "reset_v_equals_u")
  f.add("update_round_counter", b + 1)
  # Refreshing the sender's mirror; taking the new round and pointer.
  words((deg, b), "received_u_dist", "v_dist_update", "renew_received_u_dist",
        "received_u_inf", "v_inf_update", "renew_received_u_inf")
  words((b,), "received_round", "update_round", "backup_round",
        "setup_round_augend", "reset_round", "received_pointer",
        "update_pointer")
  # The outbox.
  for word in _SENT:
    f.add(f"{word}_slot", s, b)
  f.add("message_flag_slot", s)
  return f


def _templates(f, b, deg, slots):
  """The templates, family by family in the construction's order."""
  out = []
  top = b - 1

  def rule(name, ones, zeros, writes):
    out.append(Template(name, tuple(ones), tuple(zeros), tuple(writes)))

  def each_slot(name, *inner):
    return tuple(f(name, s, *inner) for s in range(slots))

  def ports(name, i):
    return tuple(f(name, d, i) for d in range(deg))

  def ripple(tag, idx, aug, add, gate, carry, passed):
    """One bit of a bit-serial adder (``aug += add`` while ``gate`` is off;
    a carry moves to the next addend bit, or sticks at the top bit); when
    ``gate`` comes on, a settled sum bit moves to ``passed``."""
    i = idx[-1]
    up = f(add, *idx[:-1], i + 1) if i < top else f(carry, *idx)
    a, c, g = f(aug, *idx), f(add, *idx), f(gate, *idx)
    k = f(carry, *idx)
    at = ",".join(map(str, idx))
    rule(f"{tag}.sum({at})", (a,), (c, g), (a,))
    rule(f"{tag}.carry({at})", (a, c), (g,), (k,))
    rule(f"{tag}.add({at})", (c,), (a, g), (a,))
    rule(f"{tag}.up({at})", (k,), (), (up,))
    rule(f"{tag}.pass({at})", (a, g), (c,), passed)

  def timer(tag, name, length, last, extra=None):
    """A one-hot counter ``name[0..length-1]``: each stage moves on; the
    last writes ``last``; ``extra`` maps a stage to more writes."""
    for j in range(length):
      nxt = (f(name, j + 1),) if j < length - 1 else last
      rule(f"{tag}.timer({j})", (f(name, j),), (), nxt + (extra or {}).get(
          j, ()))

  # (a) Copies of n for the two tests that read it.
  for i in range(b):
    rule(f"n.copy({i})", (f("num_nodes", i),), (),
         (f("num_nodes", i), f("n4round", i), f("n4pointer", i)))

  # (b) Is the round below n? MSB first; "below" walks down to bit 0 and
  # starts the id test, so it lands b rounds after the start either way.
  for i in range(b):
    cmp_, down = f("compare_round", i), (
        (f("compare_round", i - 1),) if i else ())
    rule(f"more.same1({i})", (cmp_, f("n4round", i), f("round", i)), (), down)
    rule(f"more.same0({i})", (cmp_,), (f("num_nodes", i), f("round", i)),
         down)
    rule(f"more.below({i})", (cmp_, f("num_nodes", i)), (f("round", i),),
         (f("round_smaller_than_num", i),))
    rule(f"more.walk({i})", (f("round_smaller_than_num", i),), (),
         (f("round_smaller_than_num", i - 1),) if i else
         f.all("update_pointer") + (f("u_id_comparison_counter", 0),))

  # (c) Is my id the pointer? All bits at once, then a one-hot runner
  # checks that every bit agreed. My id is also copied into the pointer
  # test and the pointer adder, and uploaded at the end of my turn.
  for i in range(b):
    uid, ptr = f("u_id", i), f("pointer", i)
    cmp_, upl = f("compare_u_id", i), f("upload_u_id", i)
    eq = f("u_matches_pointer", i)
    start = (f("u_matches_counter", 0),) if i == 0 else ()
    mine = (uid, f("u_pointer", i))
    rule(f"head.both1({i})", (uid, ptr, cmp_), (upl,),
         (eq,) + start + mine + (f("pointer_augend", i),))
    rule(f"head.both0({i})", (cmp_,), (uid, ptr, upl), (eq,) + start)
    rule(f"head.differ({i})", (uid, cmp_), (ptr, upl),
         mine + (f("pointer_augend", i),))
    rule(f"head.keep({i})", (uid,), (ptr, cmp_, upl), mine)
    rule(f"head.upload({i})", (uid, upl), (ptr, cmp_),
         mine + each_slot("u_id_placeholder", i))
    run, reset = f("u_matches_counter", i), f("reset_u_matches", i)
    rule(f"head.run({i})", (eq, run), (reset,),
         (f("u_matches_counter", i + 1),) if i < top else
         ((f("u_matched"),) + f.all("check_pointer")
          + (f("check_pointer_counter", 0),) + f.all("setup_round_augend")))
    rule(f"head.hold({i})", (eq,), (run, reset), (eq,))
  timer("head", "u_id_comparison_counter", b + 2, f.all("reset_u_matches"))

  # (d) The mirrors: a distance is kept (and offered to its port's adder),
  # an ∞ flag is kept and copied where the weight gate reads it.
  for i in range(b):
    for d in range(deg):
      vd, over = f("v_dist", d, i), f("overwrite_v_dist", d, i)
      fill = f("fill_candidate_dist_augend", d, i)
      rule(f"mirror.offer({d},{i})", (vd, fill), (over,),
           (vd, f("candidate_dist_augend", d, i)))
      rule(f"mirror.keep({d},{i})", (vd,), (fill, over), (vd,))
      inf = f("v_inf_backup", d, i)
      rule(f"mirror.inf({d},{i})", (inf,), (f("overwrite_v_inf", d, i),),
           (inf, f("v_inf", d, i)))

  # (e) The weights: kept; offered to the port's adder unless the
  # neighbour is at ∞.
  for i in range(b):
    for d in range(deg):
      w, fill = f("weight", d, i), f("fill_candidate_dist_addend", d, i)
      inf = f("v_inf", d, i)
      rule(f"weight.offer({d},{i})", (w, fill), (inf,),
           (f("candidate_dist_addend", d, i), w))
      rule(f"weight.keep({d},{i})", (w,), (fill, inf), (w,))
      rule(f"weight.at_inf({d},{i})", (w, fill, inf), (), (w,))
      rule(f"weight.keep_inf({d},{i})", (w, inf), (fill,), (w,))

  # (f) My distance enters the best-so-far chain (stage 0); each stage
  # holds it until its port's comparison keeps it (pass it on) or a
  # smaller candidate takes its place; the last stage is my new distance.
  # My ∞ flag is kept, uploaded, or cleared by the pipe a choice starts.
  for i in range(b):
    ud, fill, upl = (f("u_dist", i), f("fill_incumbent_dist", i),
                     f("upload_u_dist", i))
    rule(f"own.fill({i})", (ud, fill), (upl,),
         (f("incumbent_dist", 0, i), f("backup_incumbent_dist", 0, i)))
    rule(f"own.keep({i})", (ud,), (fill, upl), (ud,))
    rule(f"own.upload({i})", (ud, upl), (fill,),
         (ud,) + each_slot("u_dist_placeholder", i))
    inf, over, upl = (f("u_inf", i), f("overwrite_u_inf", i),
                      f("upload_u_inf", i))
    rule(f"own.inf({i})", (inf,), (over, upl), (inf,))
    rule(f"own.inf_upload({i})", (inf, upl), (over,),
         (inf,) + each_slot("u_inf_placeholder", i))

  def next_best(d, i):
    return ((f("backup_incumbent_dist", d + 1, i), f("incumbent_dist", d + 1,
                                                       i))
            if d < deg - 1 else (f("u_dist", i),))

  for i in range(b):
    for d in range(deg):
      best, keep = f("backup_incumbent_dist", d, i), f(
          "keep_incumbent_dist", d, i)
      reset = f("reset_backup_incumbent_dist", d, i)
      rule(f"best.hold({d},{i})", (best,), (keep, reset),
           (f("incumbent_dist", d, i), best))
      rule(f"best.keep({d},{i})", (best, keep), (reset,), next_best(d, i))
      pipe = f("overwrite_u_inf_pipe", d, i)
      rule(f"best.clear_inf({d},{i})", (pipe,), (),
           (f("overwrite_u_inf_pipe", d + 1, i),) if d < deg - 1
           else (f("overwrite_u_inf", i),))

  # (g) The turn: load every adder, run them (2b + 2 rounds), then compare
  # port by port; after the last port, upload everything.
  rule("turn.start", (f("u_matched"),), (), (f("v_turn", 0),))
  for d in range(deg + 1):
    if d == 0:
      nxt = (f.all("fill_candidate_dist_augend")
             + f.all("fill_candidate_dist_addend")
             + f.all("fill_incumbent_dist")
             + (f("candidate_dist_sum_counter", 0),))
    elif d < deg:
      nxt = (f("compare_u_dist", d, top),)
    else:
      nxt = (f.all("upload_next_pointer") + f.all("upload_next_round")
             + f.all("upload_u_id") + f.all("upload_u_dist")
             + f.all("upload_u_inf") + f.all("reset_backup_incumbent_dist")
             + f.all("reset_backup_candidate_dist")
             + (f("upload_message_flag"),) + f.all("overwrite_last_pointer")
             + f.all("overwrite_last_round"))
    rule(f"turn.port({d})", (f("v_turn", d),), (), nxt)
  timer("turn", "candidate_dist_sum_counter", 2 * b + 2,
        (f("compare_u_dist", 0, top),),
        {2 * b: f.all("to_copy_candidate_dist_augend")})

  # (h) Candidates: mirror + weight, one ripple adder per port.
  for i in range(b):
    for d in range(deg):
      ripple("cand", (d, i), "candidate_dist_augend", "candidate_dist_addend",
             "to_copy_candidate_dist_augend", "candidate_dist_carry",
             (f("candidate_dist", d, i), f("backup_candidate_dist", d, i)))

  # (i) A candidate is held until its comparison; if chosen it becomes the
  # next stage of the best-so-far chain.
  for i in range(b):
    for d in range(deg):
      cand = f("backup_candidate_dist", d, i)
      choose = f("choose_candidate_dist", d, i)
      reset = f("reset_backup_candidate_dist", d, i)
      rule(f"cand.hold({d},{i})", (cand,), (choose, reset),
           (f("candidate_dist", d, i), cand))
      rule(f"cand.choose({d},{i})", (cand, choose), (reset,), next_best(d, i))

  # (j) Best so far against port d's candidate, MSB first; the verdict
  # walks down to bit 0 so it lands b rounds after the start either way;
  # ties keep the best so far.
  for i in range(b):
    for d in range(deg):
      cmp_ = f("compare_u_dist", d, i)
      best, cand = f("incumbent_dist", d, i), f("candidate_dist", d, i)
      keep = f.row("keep_incumbent_dist", d) + (f("v_turn", d + 1),)
      same = (f("compare_u_dist", d, i - 1),) if i else keep
      rule(f"cmp.same1({d},{i})", (cmp_, best, cand), (), same)
      rule(f"cmp.best({d},{i})", (cmp_, cand), (best,),
           (f("smaller_incumbent_dist", d, i),))
      rule(f"cmp.same0({d},{i})", (cmp_,), (best, cand), same)
      rule(f"cmp.cand({d},{i})", (cmp_, best), (cand,),
           (f("smaller_candidate_dist", d, i),))
      won = f("smaller_candidate_dist", d, i)
      rule(f"cmp.cand.walk({d},{i})", (won,), (),
           (f("smaller_candidate_dist", d, i - 1),) if i else
           (f.row("choose_candidate_dist", d) + (f("v_turn", d + 1),)
            + f.row("overwrite_u_inf_pipe", d)))
      lost = f("smaller_incumbent_dist", d, i)
      rule(f"cmp.best.walk({d},{i})", (lost,), (),
           (f("smaller_incumbent_dist", d, i - 1),) if i else keep)

  # (k) Has the pointer (my id, as head) reached n? Bit-parallel with a
  # one-hot runner; then either wrap (pointer 1, round + 1) or step.
  for i in range(b):
    chk, eq = f("check_pointer", i), f("pointer_matches_n", i)
    start = (f("pointer_matches_n_counter", 0),) if i == 0 else ()
    rule(f"wrap.both1({i})", (f("u_pointer", i), f("n4pointer", i), chk), (),
         (eq,) + start)
    rule(f"wrap.both0({i})", (chk,), (f("u_pointer", i), f("n4pointer", i)),
         (eq,) + start)
    run = f("pointer_matches_n_counter", i)
    rule(f"wrap.run({i})", (eq, run), (),
         (f("pointer_matches_n_counter", i + 1),) if i < top
         else (f("reset_pointer"),))
    rule(f"wrap.hold({i})", (eq,), (run,), (eq,))
  timer("wrap", "check_pointer_counter", b + 1, (f("decide_pointer"),))
  rule("wrap.yes", (f("decide_pointer"), f("reset_pointer")), (),
       (f("next_pointer", 0), f("round_addend", 0), f("round_sum_counter", 0)))
  rule("wrap.no", (f("decide_pointer"),), (f("reset_pointer"),),
       (f("pointer_addend", 0), f("pointer_sum_counter", 0),
        f("round_sum_counter", 0)))
  for j in range(2 * b):
    last = j == 2 * b - 1
    rule(f"step.timer({j})", (f("pointer_sum_counter", j),), (),
         f.all("to_copy_pointer_augend") if last
         else (f("pointer_sum_counter", j + 1),))
    rule(f"round.timer({j})", (f("round_sum_counter", j),), (),
         f.all("to_copy_round_augend") + f.all("reset_round") if last
         else (f("round_sum_counter", j + 1),))

  # (l), (m) The pointer + 1 and the round + 1 (an adder whose addend is
  # zero passes the round through unchanged).
  for i in range(b):
    ripple("step", (i,), "pointer_augend", "pointer_addend",
           "to_copy_pointer_augend", "pointer_carry", (f("next_pointer", i),))
  for i in range(b):
    ripple("round", (i,), "round_augend", "round_addend",
           "to_copy_round_augend", "round_carry", (f("next_round", i),))

  # (n) The next pointer and round wait for the upload.
  for i in range(b):
    for word, last in (("pointer", "persistent_last_pointer"),
                       ("round", "persistent_last_round")):
      nxt, upl = f(f"next_{word}", i), f(f"upload_next_{word}", i)
      rule(f"upload.{word}({i})", (nxt, upl), (),
           each_slot(f"{word}_placeholder", i) + each_slot(last, i))
      rule(f"upload.{word}.wait({i})", (nxt,), (upl,), (nxt,))
  rule("upload.flag", (f("upload_message_flag"),), (),
       f.all("message_flag_placeholder"))

  # (o) Placeholders pass to the outbox only in the node's own slot. The
  # gate is renewed by one template per bit of a word (identical copies,
  # as in the construction).
  routed = ("pointer", "round", "u_dist", "u_id", "u_inf")
  for i in range(b):
    for s in range(slots):
      rule(f"route.slot({s})#{i}", (f("determine_slot", s),), (),
           (f("determine_slot", s),)
           + sum((f.row(f"determine_{w}_slot", s)
                  for w in ("u_dist", "u_inf", "u_id", "round", "pointer")),
                 ())
           + (f("determine_message_flag_slot", s),))
      for w in routed:
        gate, held = f(f"determine_{w}_slot", s, i), f(f"{w}_placeholder", s,
                                                        i)
        rule(f"route.{w}({s},{i})", (gate, held), (),
             (f(f"{w}_slot", s, i), gate))
        rule(f"route.{w}.idle({s},{i})", (gate,), (held,), (gate,))
  for s in range(slots):
    gate, held = f("determine_message_flag_slot", s), f(
        "message_flag_placeholder", s)
    rule(f"route.flag({s})", (gate, held), (), (f("message_flag_slot", s),
                                                gate))
    rule(f"route.flag.idle({s})", (gate,), (held,), (gate,))

  # (p) The inbox is copied aside; a flag starts the (round, pointer) test.
  for i in range(b):
    for s in range(slots):
      for w in ("pointer", "round", "u_id", "u_dist", "u_inf"):
        seen = ((f(f"incoming_{w}", s, i),) if w in ("pointer", "round")
                else ())
        rule(f"in.{w}({s},{i})", (f(f"{w}_slot", s, i),), (),
             (f(f"temp_{w}_slot", s, i),) + seen)
  for s in range(slots):
    rule(f"in.flag({s})", (f("message_flag_slot", s),), (),
         (f("compare_last_round", s, top),))

  # (q) The last (round, pointer) relayed is kept per slot; held words wait
  # for the verdict: accepted ones enter the delay line at their slot's
  # stage, discarded ones are dropped.
  for i in range(b):
    for s in range(slots):
      for w in ("pointer", "round"):
        per, over = f(f"persistent_last_{w}", s, i), f(f"overwrite_last_{w}",
                                                       s, i)
        last = f(f"last_{w}", s, i)
        rule(f"hold.last_{w}({s},{i})", (per,), (over,), (last, per))
        rule(f"hold.last_{w}.renew({s},{i})", (per, over), (), (last,))
      for w in ("pointer", "round", "u_id", "u_dist", "u_inf"):
        held = f(f"temp_{w}_slot", s, i)
        accept = f(f"to_accept_temp_{w}", s, i)
        drop = f(f"overwrite_temp_{w}", s, i)
        seen = ((f(f"incoming_{w}", s, i),) if w in ("pointer", "round")
                else ())
        rule(f"hold.{w}({s},{i})", (held,), (accept, drop), (held,) + seen)
        rule(f"hold.{w}.accept({s},{i})", (held, accept), (drop,),
             (f(f"delay_new_{w}", s, i),))
  for s in range(slots):
    rule(f"hold.flag({s})", (f("return_message_flag", s),), (),
         (f("delay_new_message_flag", s),))

  # (r), (s) Is the incoming (round, pointer) newer? Rounds MSB first; on
  # equal rounds the pointers MSB first. Verdict markers walk down to bit 0.
  def verdict(s, accept):
    if accept:
      return (sum((f.row(f"to_accept_temp_{w}", s) for w in
                   ("pointer", "round", "u_id", "u_dist", "u_inf")), ())
              + (f("return_message_flag", s),))
    return sum((f.row(f"overwrite_temp_{w}", s) for w in
                ("pointer", "round", "u_id", "u_dist", "u_inf")), ())

  for i in range(b):
    for s in range(slots):
      c, t, p = (f("compare_last_round", s, i), f("incoming_round", s, i),
                 f("last_round", s, i))
      same = ((f("compare_last_round", s, i - 1),) if i else
              (f("compare_last_pointer", s, top),))
      rule(f"new.round.same1({s},{i})", (c, t, p), (), same)
      rule(f"new.round.same0({s},{i})", (c,), (t, p), same)
      rule(f"new.round.newer({s},{i})", (c, t), (p,),
           (f("new_message", s, i),))
      rule(f"new.round.older({s},{i})", (c, p), (t,),
           (f("old_message", s, i),))
      rule(f"new.newer.walk({s},{i})", (f("new_message", s, i),), (),
           (f("new_message", s, i - 1),) if i else verdict(s, True))
      rule(f"new.older.walk({s},{i})", (f("old_message", s, i),), (),
           (f("old_message", s, i - 1),) if i else verdict(s, False))
  for i in range(b):
    for s in range(slots):
      c, t, p = (f("compare_last_pointer", s, i), f("incoming_pointer", s, i),
                 f("last_pointer", s, i))
      same = (f("compare_last_pointer", s, i - 1),) if i else verdict(s,
                                                                       False)
      rule(f"new.pointer.same1({s},{i})", (c, t, p), (), same)
      rule(f"new.pointer.same0({s},{i})", (c,), (t, p), same)
      rule(f"new.pointer.newer({s},{i})", (c, t), (p,),
           (f("new_message", s, i),))

  # (t) Delay lines: one stage a round up to stage S; the flag reaching
  # stage S-1 shuts every earlier stage down (the other slots' copies of the
  # same message), and at stage S the words are received and re-broadcast.
  def delay(w, i, st, last):
    rule(f"delay.{w}({st},{i})", (f(f"delay_new_{w}", st, i),),
         (f(f"shutdown_{w}_delay", st, i),),
         (f(f"delay_new_{w}", st + 1, i),) if st < slots else last)

  for i in range(b):
    for st in range(slots + 1):
      for w in ("round", "pointer"):
        delay(w, i, st, (f(f"received_{w}", i),)
              + each_slot(f"{w}_placeholder", i)
              + each_slot(f"persistent_last_{w}", i))
      for w in ("u_id", "u_dist", "u_inf"):
        delay(w, i, st, ports(f"received_{w}", i)
              + each_slot(f"{w}_placeholder", i))
  early = range(slots)  # the stages the shutdown clears
  shutdown = (f.all("overwrite_last_pointer") + f.all("overwrite_last_round")
              + tuple(f("shutdown_message_flag_delay", st) for st in early)
              + sum((f.row(f"shutdown_{w}_delay", st)
                     for w in ("pointer", "round", "u_id", "u_dist", "u_inf")
                     for st in early), ()))
  for st in range(slots + 1):
    if st < slots - 1:
      nxt = (f("delay_new_message_flag", st + 1),)
    elif st == slots - 1:
      nxt = (f("delay_new_message_flag", st + 1),) + shutdown
    else:
      nxt = (f.all("message_flag_placeholder") + (f("received_new_message"),)
             + f.all("check_v_id_with_received_u_id")
             + tuple(f("v_id_comparison_counter", d, 0) for d in range(deg)))
    rule(f"delay.flag({st})", (f("delay_new_message_flag", st),),
         (f("shutdown_message_flag_delay", st),), nxt)

  # (u) Which port is the sender? Each port's neighbour id against the
  # message's id, bit-parallel with a one-hot runner; a match opens the
  # port's mirror for one round. A timer then takes the new round and
  # pointer and restarts the round test.
  rule("id.start", (f("received_new_message"),), (),
       (f("update_round_counter", 0),))
  for i in range(b):
    for d in range(deg):
      vid, mine = f("v_id", d, i), f("v_id2check", d, i)
      got, chk = f("received_u_id", d, i), f("check_v_id_with_received_u_id",
                                             d, i)
      eq = f("v_equals_received_u_id", d, i)
      hit = (eq,) + ((f("v_is_received_u_id_counter", d, 0),) if i == 0
                     else ())
      rule(f"id.keep({d},{i})", (vid,), (), (vid, mine))
      rule(f"id.port1({d},{i})", (got, mine, chk), (), hit)
      rule(f"id.port0({d},{i})", (chk,), (got, mine), hit)
      run, reset = f("v_is_received_u_id_counter", d, i), f(
          "reset_v_equals_u", d, i)
      rule(f"id.run({d},{i})", (eq, run), (reset,),
           (f("v_is_received_u_id_counter", d, i + 1),) if i < top else
           (f.row("overwrite_v_inf", d) + f.row("overwrite_v_dist", d)
            + f.row("v_dist_update", d) + f.row("v_inf_update", d)))
      rule(f"id.hold({d},{i})", (eq,), (run, reset), (eq,))
  for j in range(b + 1):
    for d in range(deg):
      rule(f"id.timer({d},{j})", (f("v_id_comparison_counter", d, j),), (),
           (f("v_id_comparison_counter", d, j + 1),) if j < b
           else f.row("reset_v_equals_u", d))
  for j in range(b + 1):
    if j < b - 1:
      nxt = (f("update_round_counter", j + 1),)
    elif j == b - 1:
      nxt = (f.all("update_round") + f.all("reset_round")
             + (f("update_round_counter", j + 1),))
    else:
      nxt = ((f("compare_round", top),) + f.all("renew_received_u_dist")
             + f.all("renew_received_u_inf"))
    rule(f"epoch.timer({j})", (f("update_round_counter", j),), (), nxt)

  # (v) The sender's distance and ∞ flag are held until the matching port
  # takes them (or the next message renews them).
  for i in range(b):
    for d in range(deg):
      for w, dest in (("dist", "v_dist"), ("inf", "v_inf_backup")):
        got = f(f"received_u_{w}", d, i)
        upd, renew = f(f"v_{w}_update", d, i), f(f"renew_received_u_{w}", d,
                                                 i)
        rule(f"take.{w}.hold({d},{i})", (got,), (upd, renew), (got,))
        rule(f"take.{w}({d},{i})", (got, upd), (renew,), (f(dest, d, i),))

  # (w)-(y) The new round (kept as a backup, copied into the round adder
  # when my turn starts) and the new pointer (copied into the id test).
  for i in range(b):
    got, now = f("received_round", i), f("update_round", i)
    rule(f"take.round.hold({i})", (got,), (now,), (got,))
    rule(f"take.round({i})", (got, now), (),
         (f("backup_round", i), f("round", i)))
  for i in range(b):
    keep, setup = f("backup_round", i), f("setup_round_augend", i)
    reset = f("reset_round", i)
    rule(f"round.setup({i})", (keep, setup), (reset,),
         (keep, f("round", i), f("round_augend", i)))
    rule(f"round.keep({i})", (keep,), (setup, reset), (keep, f("round", i)))
  for i in range(b):
    got, now = f("received_pointer", i), f("update_pointer", i)
    rule(f"take.pointer.hold({i})", (got,), (now,), (got,))
    rule(f"take.pointer({i})", (got, now), (),
         (f("pointer", i), f("compare_u_id", i)))
    rule(f"take.pointer.zero({i})", (now,), (got,), (f("compare_u_id", i),))
  return out


# --- weights, word length, classical answer ---------------------------------


def default_weights(g: graphs_lib.Graph) -> np.ndarray:
  """Deterministic edge weights for ``g``: integers uniform in ``1..3``,
  one per edge (aligned with ``g.edges``), from a numpy Generator seeded by
  the graph itself (its node count and edge list), so the same graph always
  gets the same weights, on any machine.

  Example:
    >>> g = graphs_lib.path_graph(4)
    >>> w = default_weights(g)
    >>> w.shape, bool(((1 <= w) & (w <= 3)).all())
    ((3,), True)
    >>> bool((w == default_weights(graphs_lib.path_graph(4))).all())
    True
  """
  if not isinstance(g, graphs_lib.Graph):
    raise TypeError(f"default_weights needs a permjax.graphs.Graph, got "
                    f"{type(g).__name__} {g!r:.60}")
  rng = np.random.default_rng([int(g.n)] + g.edges.ravel().tolist())
  return rng.integers(1, MAX_WEIGHT + 1, size=len(g.edges)).astype(np.int64)


@functools.lru_cache(maxsize=256)
def _heaviest_path(n, edges, weights):
  """The weight of the heaviest simple path (exact up to
  ``EXACT_PATH_NODES`` nodes: longest path ending at each node over every
  visited set; beyond, the sum of the ``n − 1`` heaviest weights)."""
  if n > EXACT_PATH_NODES:
    return int(sum(sorted(weights, reverse=True)[:n - 1]))
  adj = [[] for _ in range(n)]
  for (u, v), w in zip(edges, weights):
    adj[u].append((v, w))
    adj[v].append((u, w))
  best = 0
  layer = {(1 << v, v): 0 for v in range(n)}
  while layer:
    nxt = {}
    for (mask, v), length in layer.items():
      for u, w in adj[v]:
        if not mask >> u & 1:
          key = (mask | 1 << u, u)
          if nxt.get(key, -1) < length + w:
            nxt[key] = length + w
    if nxt:
      best = max(best, max(nxt.values()))
    layer = nxt
  return best


def _edges_key(g):
  return tuple(map(tuple, g.edges.tolist()))


def bellman_ford_bits(g: graphs_lib.Graph, weights) -> int:
  """Word length the construction needs on ``g`` with ``weights``:
  ``max(bitlen(p_L), bitlen(n)) + 1``, ``p_L`` the weight of the heaviest
  simple path (ids and the pointer and round counters run to ``n``; every
  finite distance is a simple path's weight, every candidate at most
  ``2 p_L``, so the all-ones ``∞`` is never reached).

  ``p_L`` is found exactly up to ``EXACT_PATH_NODES`` (12) nodes; on larger
  graphs the sum of the ``n − 1`` heaviest edge weights (at most
  ``3(n − 1)``) stands in, which is never smaller.

  Example:
    >>> g = graphs_lib.path_graph(4)          # p_L = 1 + 2 + 3 = 6
    >>> bellman_ford_bits(g, [1, 2, 3]), bellman_ford_bits(g, [1, 1, 1])
    (4, 4)
    >>> bellman_ford_bits(graphs_lib.path_graph(2), [3])
    3
  """
  weights = _check_weights(g, weights)
  p_l = _heaviest_path(g.n, _edges_key(g), tuple(weights.tolist()))
  return max(p_l.bit_length(), int(g.n).bit_length()) + 1


def weighted_distances(g: graphs_lib.Graph, weights,
                       source: int = 0) -> np.ndarray:
  """Shortest-path distances from ``source`` with edge ``weights``
  (aligned with ``g.edges``), ``-1`` where unreachable, by scipy's
  Dijkstra (an implementation independent of the templates).

  Example:
    >>> g = graphs_lib.cycle_graph(4)      # edges (0,1) (0,3) (1,2) (2,3)
    >>> weighted_distances(g, [1, 3, 1, 1]).tolist()
    [0, 1, 2, 3]
  """
  weights = _check_weights(g, weights)
  source = graph_blocks.check_source(g, source)
  u, v = g.edges[:, 0], g.edges[:, 1]
  a = sparse.csr_matrix((weights.astype(np.float64), (u, v)),
                        shape=(g.n, g.n))
  dist = csgraph.dijkstra(a, directed=False, indices=int(source))
  return np.where(np.isfinite(dist), dist, -1).astype(np.int64)


# --- the node program ---------------------------------------------------------


def bellman_ford_program(bits: int, max_degree: int, *,
                         slots: int | None = None) -> node_lib.NodeProgram:
  """The Bellman–Ford node program for ``bits``-bit words on graphs of
  maximum degree ``max_degree``.

  Each node outputs its shortest-path distance from the source (``-1``
  while its ``∞`` flag is set, as :func:`weighted_distances` marks an
  unreachable node; on the connected graphs the program runs on, no node
  is left at ``∞``). The round budget is the construction's,
  ``n(n − 1)·[(d_G − 1)(2b + Δ² + 6) + Δ² + Δb + Δ + 7b + 16]`` with
  ``d_G`` the graph's diameter and ``b``, ``Δ`` the program's: ``n − 1``
  passes of ``n`` turns, each a port walk that grows with ``Δb`` and a
  flood of ``2b + Δ² + 6`` rounds per hop.

  Args:
    bits: ``b``, bits per word (ids, distances, weights, the pointer and
      round counters); at least 2, and a graph needs
      ``b ≥ bellman_ford_bits(g, weights)``.
    max_degree: ``Δ``, the most ports a node has.
    slots: ``S``, the outbox slots (colours of the distance-2 colouring);
      ``Δ² + 1`` by default.

  Inputs of a run: ``{"source": node, "weights": (E,) ints}``, the weights
  integers in ``1..3`` aligned with ``g.edges`` (node ``v`` has id
  ``v + 1``; the construction's runs start from node 0, id 1). The
  program's ``inputs(g)`` is ``[{"source": 0, "weights":
  default_weights(g)}]`` (the weights as a tuple of ints).

  Example:
    >>> bf = bellman_ford_program(3, 2)
    >>> bf.k, bf.D, bf.slots, int(bf.program.column_weights().max())
    (1068, 1244, 5, 5)
    >>> from permjax._src import message_passing
    >>> g = graphs_lib.path_graph(3)
    >>> run = message_passing.run_graph(
    ...     bellman_ford_program(4, 2), g, {"source": 0, "weights": [2, 3]})
    >>> run.outputs.tolist(), run.correct
    ([0, 2, 5], True)
  """
  c = graph_blocks.build("bellman_ford", "Bellman–Ford", bits, max_degree, slots,
                         _layout, _templates, "pointer_slot")
  bits, max_degree, slots = c.bits, c.max_degree, c.slots
  layout, program, put = c.layout, c.program, c.put
  number = graph_blocks.number

  def initial(g, colours, inputs):
    source, weights = _check_graph(g, inputs, bits, max_degree)
    colours = graphs_lib.check_colouring(g, colours, slots)
    states = np.zeros((g.n, program.D), bool)
    ports = graphs_lib.neighbours(g)
    weight_of = {}
    for (u, v), w in zip(g.edges.tolist(), weights.tolist()):
      weight_of[u, v] = weight_of[v, u] = w
    for v in range(g.n):
      put(states, v, number(layout.all("num_nodes"), g.n)
          + number(layout.all("n4round"), g.n)
          + number(layout.all("round"), 1)
          + number(layout.all("backup_round"), 1)
          + number(layout.all("received_pointer"), 1)
          + (layout("compare_round", bits - 1),)
          + number(layout.all("u_id"), v + 1)
          + (layout("determine_slot", int(colours[v])),))
      if v != source:
        put(states, v, layout.all("u_inf") + layout.all("u_dist"))
      for p in range(max_degree):  # unused ports stay at ∞
        put(states, v, layout.row("v_dist", p) + layout.row("v_inf_backup",
                                                             p))
      for p, u in enumerate(ports[v].tolist()):
        put(states, v, number(layout.row("v_id", p), u + 1)
            + number(layout.row("weight", p), weight_of[v, u]))
        if u == source:
          for fb in layout.row("v_dist", p) + layout.row("v_inf_backup", p):
            states[v, program.index(*fb)] = False
    return states

  def output(states):
    dist = program.value(states, "u_dist")
    inf = program.field(states, "u_inf").any(axis=-1)
    return np.where(inf, -1, dist)

  def truth(g, inputs):
    source, weights = _check_graph(g, inputs, bits, max_degree)
    return weighted_distances(g, weights, source)

  def rounds(g, inputs):
    _check_graph(g, inputs, bits, max_degree)
    b, deg = bits, max_degree
    per_hop = 2 * b + deg * deg + 6
    fixed = deg * deg + deg * b + deg + 7 * b + 16
    return g.n * (g.n - 1) * ((graphs_lib.diameter(g) - 1) * per_hop + fixed)

  def inputs(g):
    return [{"source": 0, "weights": tuple(default_weights(g).tolist())}]

  return c.node_program(initial, output, truth, rounds, inputs)


def _check_weights(g, weights):
  """``weights`` as ``(E,)`` int64 if they are integers in ``1..3``, one per
  edge of ``g``; else one ValueError naming the bad value."""
  items = list(weights) if isinstance(weights, (list, tuple)) else None
  arr = np.asarray(weights)
  if arr.ndim != 1 or arr.shape[0] != len(g.edges):
    raise ValueError(f"{g.name}: weights must be one integer per edge "
                     f"({len(g.edges)} edges, aligned with g.edges), got "
                     f"shape {arr.shape}")
  bad = [w for w in (items if items is not None else arr.tolist())
         if isinstance(w, (bool, np.bool_))
         or not isinstance(w, (int, np.integer))]
  if bad or (arr.size and arr.dtype.kind not in "iu"):
    bad = bad[0] if bad else arr.dtype
    raise ValueError(f"{g.name}: weights must be integers in 1..{MAX_WEIGHT}, "
                     f"got {bad!r}")
  arr = arr.astype(np.int64)
  out = (arr < 1) | (arr > MAX_WEIGHT)
  if out.any():
    i = int(np.flatnonzero(out)[0])
    raise ValueError(f"{g.name}: weight {int(arr[i])} of edge "
                     f"{g.edges[i].tolist()} is outside 1..{MAX_WEIGHT}")
  return arr


def _check_graph(g, inputs, bits, max_degree):
  """``(source, weights)``, after refusing a graph or inputs the program
  cannot hold."""
  if not isinstance(inputs, dict) or set(inputs) != {"source", "weights"}:
    raise ValueError(f"Bellman–Ford inputs are {{'source': node, 'weights': "
                     f"(E,) ints}}, got {inputs!r}")
  source = graph_blocks.check_source(g, inputs["source"])
  weights = _check_weights(g, inputs["weights"])
  graph_blocks.check_degree(g, max_degree)
  parts = csgraph.connected_components(graphs_lib.adjacency(g),
                                       directed=False)[0]
  if g.n < 2 or parts != 1:
    raise ValueError(f"{g.name}: the Bellman–Ford program needs a connected "
                     f"graph on at least 2 nodes (the pointer serves every "
                     f"node in turn), got n = {g.n} nodes in {parts} "
                     f"component{'s' if parts > 1 else ''}")
  need = bellman_ford_bits(g, weights)
  if need > bits:
    p_l = _heaviest_path(g.n, _edges_key(g), tuple(weights.tolist()))
    raise ValueError(f"{g.name}: n = {g.n} nodes and heaviest simple path "
                     f"p_L = {p_l} need b = {need} bits per word "
                     f"(max(bitlen(p_L), bitlen(n)) + 1), the program has "
                     f"b = {bits}")
  return source, weights
