"""Depth-first search as a node program (arXiv 2601.23207, the DFS
construction; docs/theory/graphs.md §1, and §6 for the building blocks it
shares with BFS).

The sequential recursive DFS, run by message passing. Nothing global is
kept: a *token* names the node the walk is at (``current``, an id every
node holds a copy of) and a *stamp* counts the walk's steps. Every node
carries its own depth, parent and colour, and *mirrors* of what it knows
about each neighbour (id, colour, depth, parent), one per port, plus a
*resume port*: the port its scan will continue from. One *epoch* is one
step of the walk:

1. every node compares its id with the token, bit by bit; the one node
   whose id equals it is the walk's position;
2. it resumes its scan at the remembered port: gray ports are skipped, one
   a round; at the first white one it stops, turns it gray in the mirror,
   hands it its own id as parent and its depth + 1 (a ripple adder per
   port), and makes that neighbour the new token; if every port is done it
   hands the token back to its own parent (the root's parent, id 0, names
   no node, and the walk ends);
3. it adds one to the stamp (a ripple adder, started at the same point of
   the epoch whichever port stopped the scan: a discovery at port ``d``
   waits ``Δ − d`` more rounds) and uploads the stamp, the token and all
   its port mirrors into its own outbox slot (the slot of its distance-2
   colour);
4. every node floods what it receives, as in BFS: a message whose stamp is
   newer than the last one it relayed (an MSB-first comparison) enters a
   delay line at the stage of the slot it came in, the first copy to leave
   the line shuts the others down, and the node re-broadcasts it from its
   own slot;
5. on arrival each node compares its own id with the ids in the message
   (bit-serial) and adopts the matching entry's depth, parent and colour;
   likewise it refreshes its mirrors of the neighbours the message
   describes; then it takes the new token and the new stamp and starts the
   next epoch.

The token only ever moves to a neighbour of the sender (a child or the
parent), so an epoch waits for one hop of the flood, not for the whole
graph (the flood goes on in the background and refreshes the mirrors two
hops away before their owner can hold the token): the round budget is
``2|E|·(5b + Δ² + 3Δ + 12)``, one epoch per walk step, without the
diameter. Every bit-serial step is a cascade of one-hot
counters and self-keeping bits, as in BFS; the program has
``T = 18bΔ³ + 6Δ³ + 31bΔ² + 9Δ² + 49bΔ + 20Δ + 51b + 16`` templates over
``D = 24bΔ³ + 8Δ³ + 35bΔ² + 11Δ² + 63bΔ + 25Δ + 52b + 19`` bits (``b`` bits
per word, ``Δ`` the degree bound, ``S = Δ² + 1`` slots), of which the last
``2bS + 3bΔS + ΔS + S`` are the outbox; no bit is written by more than
five templates, and ``b(3Δ + 2) + Δ + 1`` bits by none.

Conventions of the construction, kept here: node ``v`` has id ``v + 1``
(ids are 1-based so that an all-zero id marks an unused port and the
root's missing parent); port ``p`` of ``v`` is its ``p``-th neighbour in
increasing id order (:func:`permjax.graphs.neighbours`), so a node's
children are visited smallest id first; words are ``b`` bits, LSB first,
and a graph needs ``b ≥ bitlen(2|E|) + 1`` (the stamp counts the walk's
``2n − 1`` steps at most) and its ids to fit. The source is gray from the
start and holds the token; the construction's experiments search from node
0 (id 1).
"""

from __future__ import annotations

import numpy as np

from permjax._src import graphs as graphs_lib
from permjax._src.programs import graph_blocks
from permjax._src import node_program as node_lib
from permjax._src import templates as tpl
from permjax._src.templates import Template

# The three per-port words a node uploads and every node relays, in the order
# their placeholder, routing and inbox fields are laid out.
_WORDS = ("v_id", "v_dist", "v_pi")


def _layout(b, deg, slots):
  """The state, in the construction's flat order (outbox last)."""
  f = graph_blocks.FieldLayout()
  s, s1 = slots, slots + 1
  # Is my id the token?
  for name, width in (("u_id", b), ("current", b), ("compare_current", b),
                      ("id_equals", b), ("id_equals_counter", b),
                      ("accept_stamp", b), ("comparison_counter", b + 1),
                      ("reset_is_equal", b)):
    f.add(name, width)
  # The stamp + 1.
  f.add("stamp", b)
  f.add("u_stamp_addend_delay", deg)
  for name in ("u_stamp_augend", "u_stamp_addend", "to_copy_stamp_augend",
               "u_stamp_carry"):
    f.add(name, b)
  f.add("u_stamp_sum_counter", 2 * b)
  # The scan over ports, resumed where it stopped.
  f.add("v_turn", deg + 1)
  f.add("u_is_current", deg + 1)
  for name in ("attend2v", "v_white", "v_white_overwrite"):
    f.add(name, deg)
  # The next token: the first white neighbour, or my parent.
  f.add("set_current_back", b)
  f.add("u_pi", b)
  for name in ("set_current", "v_id", "upload_v_id", "u_current_delay"):
    f.add(name, deg, b)
  # Depths: my depth + 1, set on the discovered port.
  f.add("u_dist", b)
  f.add("update_v_dist_augend", b)
  for name in ("v_dist_augend", "v_dist_addend", "to_copy_dist_augend",
               "v_dist_carry"):
    f.add(name, deg, b)
  f.add("v_dist_sum_counter", deg, 2 * b)
  f.add("v_dist", deg, b)
  f.add("upload_v_dist", deg, b)
  # Parents.
  for name in ("v_set_pi", "u_id_asparent", "v_pi", "upload_v_pi"):
    f.add(name, deg, b)
  # Colours.
  f.add("v_gray", deg)
  f.add("upload_v_gray", deg)
  f.add("u_gray")
  f.add("u_white")
  f.add("u_white_overwrite")
  # The token's upload.
  f.add("u_current", b)
  f.add("upload_u_current", b)
  f.add("upload_message_flag")
  # Routing into the node's own outbox slot.
  f.add("u_stamp_placeholder", s, b)
  for word in _WORDS:
    f.add(f"{word}_placeholder", s, deg, b)
  f.add("v_gray_placeholder", s, deg)
  f.add("u_current_placeholder", s, b)
  f.add("message_flag_placeholder", s)
  f.add("determine_slot", s)
  f.add("determine_u_stamp_slot", s, b)
  for word in _WORDS:
    f.add(f"determine_{word}_slot", s, deg, b)
  f.add("determine_v_gray_slot", s, deg)
  f.add("determine_u_current_slot", s, b)
  f.add("determine_message_flag_slot", s)
  # Incoming words held while their stamp is tested.
  for prefix in ("temp", "to_accept_temp", "overwrite_temp"):
    for word in _WORDS:
      f.add(f"{prefix}_{word}" + ("_slot" if prefix == "temp" else ""), s,
            deg, b)
    f.add(f"{prefix}_v_gray" + ("_slot" if prefix == "temp" else ""), s,
          deg)
    f.add(f"{prefix}_u_current" + ("_slot" if prefix == "temp" else ""), s,
          b)
  f.add("persistent_last_stamp", s, b)
  f.add("overwrite_last_stamp", s, b)
  # Is the incoming stamp newer than the last one relayed?
  for name in ("temp_u_stamp_slot", "to_accept_temp_u_stamp",
               "overwrite_temp_u_stamp", "last_stamp", "compare_last_stamp",
               "new_message", "old_message"):
    f.add(name, s, b)
  f.add("return_message_flag", s)
  # Delay lines merging the slots (stages 0..S).
  for prefix in ("delay_new", "shutdown"):
    def name(word, prefix=prefix):
      return (f"delay_new_{word}" if prefix == "delay_new"
              else f"shutdown_{word}_delay")
    f.add(name("stamp"), s1, b)
    for word in _WORDS:
      f.add(name(word), s1, deg, b)
    f.add(name("v_gray"), s1, deg)
    f.add(name("current"), s1, b)
    f.add(name("message_flag"), s1)
  # Matching ids: mine against the message's, my ports' against the
  # message's.
  f.add("received_new_message")
  for name in ("received_v_id", "u_id2check_with_received_v_ids",
               "check_u_id_with_received_v_ids"):
    f.add(name, deg, b)
  for name in ("received_v_ids2check_with_v_ids",
               "v_ids2check_with_received_v_ids",
               "check_v_ids_with_received_v_ids"):
    f.add(name, deg, deg, b)
  f.add("u_equals_received_v_id", deg, b)
  f.add("u_is_received_v_id_counter", deg, b)
  f.add("v_equals_received_v_id", deg, deg, b)
  f.add("v_is_received_v_id_counter", deg, deg, b)
  f.add("update_current_counter", deg + b + 2)
  f.add("u_id_comparison_counter", deg, b + 1)
  f.add("v_id_comparison_counter", deg, deg, b + 1)
  f.add("reset_u_equals_v", deg, b)
  f.add("reset_v_equals_v", deg, deg, b)
  # Adopting the received words (own fields).
  for word in ("dist", "pi"):
    for name in (f"received_v_{word}", f"renew_received_v_{word}",
                 f"u_{word}_update", f"received_v_{word}4u",
                 f"u_{word}_delay"):
      f.add(name, deg, b)
  for name in ("received_v_gray", "renew_received_v_gray", "u_gray_update",
               "received_v_gray4u", "u_gray_delay"):
    f.add(name, deg)
  for name in ("received_stamp", "update_stamp", "received_current",
               "update_current"):
    f.add(name, b)
  # Refreshing the port mirrors.
  for word in ("dist", "pi"):
    for name in (f"v_{word}_update", f"received_v_{word}4v",
                 f"v_{word}_delay"):
      f.add(name, deg, deg, b)
  for name in ("v_gray_update", "received_v_gray4v", "v_gray_delay"):
    f.add(name, deg, deg)
  # The outbox.
  f.add("u_stamp_slot", s, b)
  for word in _WORDS:
    f.add(f"{word}_slot", s, deg, b)
  f.add("v_gray_slot", s, deg)
  f.add("u_current_slot", s, b)
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

  def adder(tag, aug, add, gate, carry, up, done, i):
    """One bit of a bit-serial incrementer: the sum stays in ``aug`` while
    ``gate`` is off; a carry moves to ``up`` (the next addend bit, or itself
    at the top bit, where it sticks); once ``gate`` opens the sum bit goes
    to ``done``."""
    rule(f"{tag}.sum({i})", (aug,), (add, gate), (aug,))
    rule(f"{tag}.add({i})", (add,), (aug, gate), (aug,))
    rule(f"{tag}.carry({i})", (aug, add), (gate,), (carry,))
    rule(f"{tag}.up({i})", (carry,), (), (up,))
    rule(f"{tag}.done({i})", (aug, gate), (add,), done)

  # (a) Is my id the token? All bits at once, then a one-hot runner checks
  # that every bit agreed. My id is re-offered every round to the parent
  # words and to the id tests of stage (o).
  for i in range(b):
    uid, cur = f("u_id", i), f("current", i)
    cmp_, eq = f("compare_current", i), f("id_equals", i)
    start = (f("id_equals_counter", 0),) if i == 0 else ()
    mine = ((uid,) + tuple(f("u_id2check_with_received_v_ids", k, i)
                           for k in range(deg))
            + tuple(f("u_id_asparent", d, i) for d in range(deg)))
    rule(f"token.both1({i})", (uid, cur, cmp_), (), (eq,) + start + mine)
    rule(f"token.idle1({i})", (uid, cur), (cmp_,), mine)
    rule(f"token.differ({i})", (uid, cmp_), (cur,), mine)
    rule(f"token.keep({i})", (uid,), (cur, cmp_), mine)
    rule(f"token.both0({i})", (cmp_,), (uid, cur), (eq,) + start)
    run, reset = f("id_equals_counter", i), f("reset_is_equal", i)
    rule(f"token.hold({i})", (eq,), (run, reset), (eq,))
    rule(f"token.run({i})", (eq, run), (reset,),
         (f("id_equals_counter", i + 1),) if i < top else
         (f.all("u_is_current") + f.all("accept_stamp")))
  for j in range(b + 1):
    if j < top:
      nxt = (f("comparison_counter", j + 1),)
    elif j == top:
      nxt = (f("comparison_counter", j + 1),) + f.all("update_stamp")
    else:
      nxt = f.all("reset_is_equal")
    rule(f"token.timer({j})", (f("comparison_counter", j),), (), nxt)

  # (b) The stamp + 1: taken on a match, counted up once the scan is over,
  # then everything is uploaded.
  carry = f.all("u_stamp_carry")
  for i in range(b):
    rule(f"stamp.take({i})", (f("stamp", i), f("accept_stamp", i)), (),
         (f("u_stamp_augend", i),))
    adder("stamp.inc", f("u_stamp_augend", i), f("u_stamp_addend", i),
          f("to_copy_stamp_augend", i), carry[i],
          f("u_stamp_addend", i + 1) if i < top else carry[i],
          each_slot("u_stamp_placeholder", i)
          + each_slot("persistent_last_stamp", i), i)
  for d in range(deg):
    rule(f"stamp.delay({d})", (f("u_stamp_addend_delay", d),), (),
         (f("u_stamp_addend_delay", d + 1),) if d < deg - 1
         else (f("u_stamp_addend", 0), f("u_stamp_sum_counter", 0)))
  for j in range(2 * b):
    if j < 2 * b - 1:
      nxt = (f("u_stamp_sum_counter", j + 1),)
    else:
      nxt = (f.all("to_copy_stamp_augend") + f.all("upload_v_pi")
             + f.all("upload_u_current") + f.all("upload_v_dist")
             + f.all("upload_v_id") + f.all("upload_v_gray")
             + f.all("overwrite_last_stamp") + (f("upload_message_flag"),))
    rule(f"stamp.timer({j})", (f("u_stamp_sum_counter", j),), (), nxt)

  # (c) The scan: the resume marker waits at its port for the match, gray
  # ports pass the go-ahead on one a round, the first white port stops it.
  for d in range(deg + 1):
    turn, go = f("v_turn", d), f("u_is_current", d)
    rule(f"scan.go({d})", (turn, go), (),
         (f("attend2v", d), f("v_turn", d + 1)) if d < deg else
         (f("u_stamp_addend", 0), f("u_stamp_sum_counter", 0))
         + f.all("set_current_back"))
    rule(f"scan.wait({d})", (turn,), (go,), (turn,))
  for d in range(deg):
    look, white = f("attend2v", d), f("v_white", d)
    over = f("v_white_overwrite", d)
    rule(f"scan.discover({d})", (look, white), (over,),
         (f("v_gray", d),) + f.row("v_set_pi", d)
         + (f("v_dist_addend", d, 0), f("v_dist_sum_counter", d, 0),
            f("u_stamp_addend_delay", d)) + f.row("set_current", d))
    rule(f"scan.skip({d})", (look,), (white, over),
         (f("u_is_current", d + 1),))
    rule(f"scan.white({d})", (white,), (look, over), (white,))

  # (d) The next token: the discovered port's id (through a D-stage cascade
  # merging the ports), or my parent's.
  for i in range(b):
    back, pi = f("set_current_back", i), f("u_pi", i)
    rule(f"next.back({i})", (back, pi), (), (f("u_current", i), pi))
    rule(f"next.parent({i})", (pi,), (back,), (pi,))
  for i in range(b):
    for d in range(deg):
      setc, vid = f("set_current", d, i), f("v_id", d, i)
      upl, stage = f("upload_v_id", d, i), f("u_current_delay", d, i)
      mine = (vid,) + tuple(f("v_ids2check_with_received_v_ids", d, k, i)
                            for k in range(deg))
      rule(f"next.child({d},{i})", (setc, vid), (upl,), (stage,) + mine)
      rule(f"next.keep_id({d},{i})", (vid,), (setc, upl), mine)
      rule(f"next.upload_id({d},{i})", (vid, upl), (setc,),
           mine + each_slot("v_id_placeholder", d, i))
      rule(f"next.merge({d},{i})", (stage,), (),
           (f("u_current_delay", d + 1, i),) if d < deg - 1
           else (f("u_current", i),))

  # (e) Depths: my depth, offered to every port each epoch; + 1 on the
  # discovered one.
  for i in range(b):
    dist, upd = f("u_dist", i), f("update_v_dist_augend", i)
    rule(f"dist.load({i})", (dist, upd), (),
         tuple(f("v_dist_augend", d, i) for d in range(deg)) + (dist,))
    rule(f"dist.keep({i})", (dist,), (upd,), (dist,))
  for i in range(b):
    for d in range(deg):
      vd, upl = f("v_dist", d, i), f("upload_v_dist", d, i)
      adder(f"dist.inc[{d}]", f("v_dist_augend", d, i),
            f("v_dist_addend", d, i), f("to_copy_dist_augend", d, i),
            f("v_dist_carry", d, i),
            f("v_dist_addend", d, i + 1) if i < top
            else f("v_dist_carry", d, i), (vd,), i)
      rule(f"dist.upload({d},{i})", (vd, upl), (),
           (vd,) + each_slot("v_dist_placeholder", d, i))
      rule(f"dist.keep_port({d},{i})", (vd,), (upl,), (vd,))
  for j in range(2 * b):
    for d in range(deg):
      rule(f"dist.timer({d},{j})", (f("v_dist_sum_counter", d, j),), (),
           (f("v_dist_sum_counter", d, j + 1),) if j < 2 * b - 1
           else f.row("to_copy_dist_augend", d))

  # (f) Parents: my id, set on the discovered port.
  for i in range(b):
    for d in range(deg):
      pi, upl = f("v_pi", d, i), f("upload_v_pi", d, i)
      rule(f"parent.set({d},{i})",
           (f("v_set_pi", d, i), f("u_id_asparent", d, i)), (), (pi,))
      rule(f"parent.keep({d},{i})", (pi,), (upl,), (pi,))
      rule(f"parent.upload({d},{i})", (pi, upl), (),
           (pi,) + each_slot("v_pi_placeholder", d, i))

  # (g) Colours: the gray mirrors, my own colour.
  for d in range(deg):
    gray, upl = f("v_gray", d), f("upload_v_gray", d)
    rule(f"gray.upload({d})", (gray, upl), (),
         (gray,) + each_slot("v_gray_placeholder", d))
    rule(f"gray.keep({d})", (gray,), (upl,), (gray,))
  rule("own.gray", (f("u_gray"),), (), (f("u_gray"),))
  rule("own.white", (f("u_white"),), (f("u_white_overwrite"),),
       (f("u_white"),))

  # (h) The message flag and the token are uploaded.
  rule("flag.upload", (f("upload_message_flag"),), (),
       f.all("message_flag_placeholder"))
  for i in range(b):
    cur, upl = f("u_current", i), f("upload_u_current", i)
    rule(f"token.upload({i})", (cur, upl), (),
         each_slot("u_current_placeholder", i))
    rule(f"token.keep_next({i})", (cur,), (upl,), (cur,))

  # (i) Placeholders pass to the outbox only in the node's own slot.
  for s in range(slots):
    rule(f"route.slot({s})", (f("determine_slot", s),), (),
         (f("determine_slot", s),) + f.row("determine_v_gray_slot", s)
         + sum((f.row(f"determine_{w}_slot", s, d)
                for w in ("v_dist", "v_pi", "v_id") for d in range(deg)), ())
         + f.row("determine_u_current_slot", s)
         + f.row("determine_u_stamp_slot", s)
         + (f("determine_message_flag_slot", s),))

  def route(tag, gate, held, sent):
    rule(f"route.{tag}.idle", (gate,), (held,), (gate,))
    rule(f"route.{tag}", (gate, held), (), (gate, sent))

  for d in range(deg):
    for s in range(slots):
      route(f"v_gray({s},{d})", f("determine_v_gray_slot", s, d),
            f("v_gray_placeholder", s, d), f("v_gray_slot", s, d))
  for i in range(b):
    for d in range(deg):
      for s in range(slots):
        for w in ("v_dist", "v_pi", "v_id"):
          route(f"{w}({s},{d},{i})", f(f"determine_{w}_slot", s, d, i),
                f(f"{w}_placeholder", s, d, i), f(f"{w}_slot", s, d, i))
  for i in range(b):
    for s in range(slots):
      for w in ("u_current", "u_stamp"):
        route(f"{w}({s},{i})", f(f"determine_{w}_slot", s, i),
              f(f"{w}_placeholder", s, i), f(f"{w}_slot", s, i))
  for s in range(slots):
    route(f"flag({s})", f("determine_message_flag_slot", s),
          f("message_flag_placeholder", s), f("message_flag_slot", s))

  # (j) The inbox is copied aside; a flag starts the stamp test.
  for d in range(deg):
    for s in range(slots):
      rule(f"in.v_gray({s},{d})", (f("v_gray_slot", s, d),), (),
           (f("temp_v_gray_slot", s, d),))
  for i in range(b):
    for d in range(deg):
      for s in range(slots):
        for w in ("v_dist", "v_pi", "v_id"):
          rule(f"in.{w}({s},{d},{i})", (f(f"{w}_slot", s, d, i),), (),
               (f(f"temp_{w}_slot", s, d, i),))
  for i in range(b):
    for s in range(slots):
      for w in ("u_current", "u_stamp"):
        rule(f"in.{w}({s},{i})", (f(f"{w}_slot", s, i),), (),
             (f(f"temp_{w}_slot", s, i),))
  for s in range(slots):
    rule(f"in.flag({s})", (f("message_flag_slot", s),), (),
         (f("compare_last_stamp", s, top),))

  # (k) Held words wait for the verdict: accepted ones enter the delay line
  # at their slot's stage, discarded ones are dropped.
  def hold(tag, held, accept, drop, delayed):
    rule(f"hold.{tag}", (held,), (accept, drop), (held,))
    rule(f"hold.{tag}.accept", (held, accept), (drop,), (delayed,))

  for d in range(deg):
    for s in range(slots):
      hold(f"v_gray({s},{d})", f("temp_v_gray_slot", s, d),
           f("to_accept_temp_v_gray", s, d), f("overwrite_temp_v_gray", s, d),
           f("delay_new_v_gray", s, d))
  for i in range(b):
    for d in range(deg):
      for s in range(slots):
        for w in ("v_dist", "v_pi", "v_id"):
          hold(f"{w}({s},{d},{i})", f(f"temp_{w}_slot", s, d, i),
               f(f"to_accept_temp_{w}", s, d, i),
               f(f"overwrite_temp_{w}", s, d, i), f(f"delay_new_{w}", s, d, i))
  for i in range(b):
    for s in range(slots):
      hold(f"u_current({s},{i})", f("temp_u_current_slot", s, i),
           f("to_accept_temp_u_current", s, i),
           f("overwrite_temp_u_current", s, i), f("delay_new_current", s, i))
      per, over = f("persistent_last_stamp", s, i), f(
          "overwrite_last_stamp", s, i)
      rule(f"hold.last_stamp({s},{i})", (per,), (over,),
           (per, f("last_stamp", s, i)))
      rule(f"hold.last_stamp.renew({s},{i})", (per, over), (),
           (f("last_stamp", s, i),))
  for s in range(slots):
    rule(f"hold.flag({s})", (f("return_message_flag", s),), (),
         (f("delay_new_message_flag", s),))

  # (l) Is the incoming stamp newer? MSB first; the verdict marker walks
  # down to bit 0 so that it lands b rounds after the flag, whatever bit
  # decided.
  def verdict(s, accept):
    prefix = "to_accept_temp" if accept else "overwrite_temp"
    return (f.row(f"{prefix}_u_stamp", s) + f.row(f"{prefix}_u_current", s)
            + sum((f.row(f"{prefix}_{w}", s, d)
                   for w in ("v_dist", "v_pi", "v_id") for d in range(deg)),
                  ())
            + f.row(f"{prefix}_v_gray", s)
            + ((f("return_message_flag", s),) if accept else ()))

  for i in range(b):
    for s in range(slots):
      c, t = f("compare_last_stamp", s, i), f("temp_u_stamp_slot", s, i)
      p, a = f("last_stamp", s, i), f("to_accept_temp_u_stamp", s, i)
      o = f("overwrite_temp_u_stamp", s, i)
      down = (f("compare_last_stamp", s, i - 1),) if i else ()
      rule(f"new.same1({s},{i})", (c, t, p), (a, o),
           down + (t,) if i else verdict(s, False))
      rule(f"new.same0({s},{i})", (c,), (t, p, a, o),
           down if i else verdict(s, False))
      rule(f"new.newer({s},{i})", (c, t), (p, a, o),
           (f("new_message", s, i), t))
      rule(f"new.older({s},{i})", (c, p), (t, a, o), (f("old_message", s, i),))
      rule(f"new.older.walk({s},{i})", (f("old_message", s, i),), (),
           (f("old_message", s, i - 1),) if i else verdict(s, False))
      rule(f"new.newer.walk({s},{i})", (f("new_message", s, i),), (),
           (f("new_message", s, i - 1),) if i else verdict(s, True))
      rule(f"new.wait1({s},{i})", (t, p), (c, a, o), (t,))
      rule(f"new.wait0({s},{i})", (t,), (c, p, a, o), (t,))
      rule(f"new.accept0({s},{i})", (t, a), (c, p, o),
           (f("delay_new_stamp", s, i),))
      rule(f"new.accept1({s},{i})", (t, p, a), (c, o),
           (f("delay_new_stamp", s, i),))

  # (m) Delay lines: one stage a round up to stage S; the flag reaching
  # stage S-1 shuts every earlier stage down (the other slots' copies of the
  # same message), and at stage S the words are received and re-broadcast.
  def delay(tag, idx, last, st):
    name, shut = f"delay_new_{tag}", f"shutdown_{tag}_delay"
    rule(f"delay.{tag}({st},{','.join(map(str, idx))})",
         (f(name, st, *idx),), (f(shut, st, *idx),),
         (f(name, st + 1, *idx),) if st < slots else last)

  stages = range(slots + 1)
  for i in range(b):
    for st in stages:
      delay("stamp", (i,), (f("received_stamp", i),)
            + each_slot("u_stamp_placeholder", i)
            + each_slot("persistent_last_stamp", i), st)
      delay("current", (i,), (f("received_current", i),)
            + each_slot("u_current_placeholder", i), st)
  for d in range(deg):
    for st in stages:
      delay("v_gray", (d,), (f("received_v_gray", d),)
            + each_slot("v_gray_placeholder", d), st)
  for i in range(b):
    for d in range(deg):
      for st in stages:
        for w in ("v_dist", "v_id", "v_pi"):
          delay(w, (d, i), (f(f"received_{w}", d, i),)
                + each_slot(f"{w}_placeholder", d, i), st)
  early = range(slots)  # the stages the shutdown clears
  shutdown = (f.all("overwrite_last_stamp")
              + tuple(f("shutdown_message_flag_delay", st) for st in early)
              + sum((f.row("shutdown_stamp_delay", st) for st in early), ())
              + sum((f.row("shutdown_v_gray_delay", st) for st in early), ())
              + sum((f.row(f"shutdown_{w}_delay", st, d)
                     for w in ("v_dist", "v_id", "v_pi")
                     for st in early for d in range(deg)), ())
              + sum((f.row("shutdown_current_delay", st) for st in early),
                    ()))
  for st in stages:
    if st < slots - 1:
      nxt = (f("delay_new_message_flag", st + 1),)
    elif st == slots - 1:
      nxt = (f("delay_new_message_flag", st + 1),) + shutdown
    else:
      nxt = (f.all("message_flag_placeholder") + (f("received_new_message"),)
             + f.all("check_u_id_with_received_v_ids")
             + tuple(f("u_id_comparison_counter", k, 0) for k in range(deg)))
    rule(f"delay.flag({st})", (f("delay_new_message_flag", st),),
         (f("shutdown_message_flag_delay", st),), nxt)

  # (n) Id tests, bit-parallel with a one-hot runner per entry: is entry k
  # of the message me, and is it my port d's neighbour?
  rule("id.start", (f("received_new_message"),), (),
       f.all("check_v_ids_with_received_v_ids")
       + tuple(f("v_id_comparison_counter", d, k, 0) for d in range(deg)
               for k in range(deg))
       + (f("update_current_counter", 0),))
  for i in range(b):
    for k in range(deg):
      got, me = f("received_v_id", k, i), f("u_id2check_with_received_v_ids",
                                             k, i)
      chk, eq = f("check_u_id_with_received_v_ids", k, i), f(
          "u_equals_received_v_id", k, i)
      start = (f("u_is_received_v_id_counter", k, 0),) if i == 0 else ()
      fwd = tuple(f("received_v_ids2check_with_v_ids", d, k, i)
                  for d in range(deg))
      rule(f"id.me1({k},{i})", (got, me, chk), (), (eq,) + fwd + start)
      rule(f"id.me0({k},{i})", (chk,), (got, me), (eq,) + start)
      rule(f"id.fwd({k},{i})", (got, chk), (me,), fwd)
      run, reset = f("u_is_received_v_id_counter", k, i), f(
          "reset_u_equals_v", k, i)
      rule(f"id.me_run({k},{i})", (eq, run), (reset,),
           (f("u_is_received_v_id_counter", k, i + 1),) if i < top else
           (f.row("u_dist_update", k) + f.row("u_pi_update", k)
            + (f("u_gray_update", k),)))
      rule(f"id.me_hold({k},{i})", (eq,), (run, reset), (eq,))
  for j in range(b + 1):
    for k in range(deg):
      rule(f"id.me_timer({k},{j})", (f("u_id_comparison_counter", k, j),), (),
           (f("u_id_comparison_counter", k, j + 1),) if j < b
           else f.row("reset_u_equals_v", k))
  for i in range(b):
    for k in range(deg):
      for d in range(deg):
        got = f("received_v_ids2check_with_v_ids", d, k, i)
        port = f("v_ids2check_with_received_v_ids", d, k, i)
        chk = f("check_v_ids_with_received_v_ids", d, k, i)
        eq = f("v_equals_received_v_id", d, k, i)
        hit = (eq,) + ((f("v_is_received_v_id_counter", d, k, 0),)
                       if i == 0 else ())
        rule(f"id.port1({d},{k},{i})", (got, port, chk), (), hit)
        rule(f"id.port0({d},{k},{i})", (chk,), (got, port), hit)
        run, reset = f("v_is_received_v_id_counter", d, k, i), f(
            "reset_v_equals_v", d, k, i)
        rule(f"id.port_run({d},{k},{i})", (eq, run), (reset,),
             (f("v_is_received_v_id_counter", d, k, i + 1),) if i < top else
             (f.row("v_dist_update", d, k) + f.row("v_pi_update", d, k)
              + (f("v_gray_update", d, k),)))
        rule(f"id.port_hold({d},{k},{i})", (eq,), (run, reset), (eq,))
  for j in range(b + 1):
    for k in range(deg):
      for d in range(deg):
        rule(f"id.port_timer({d},{k},{j})",
             (f("v_id_comparison_counter", d, k, j),), (),
             (f("v_id_comparison_counter", d, k, j + 1),) if j < b
             else f.row("reset_v_equals_v", d, k))
  last = deg + b + 1
  for j in range(last + 1):
    if j < last - 1:
      nxt = (f("update_current_counter", j + 1),)
    elif j == last - 1:
      nxt = (f("update_current_counter", j + 1),) + f.all("update_current")
    else:
      nxt = (f.all("compare_current") + (f("comparison_counter", 0),)
             + f.all("renew_received_v_dist") + f.all("renew_received_v_pi")
             + f.all("renew_received_v_gray")
             + f.all("update_v_dist_augend"))
    rule(f"epoch.timer({j})", (f("update_current_counter", j),), (), nxt)

  # (o) Adopt the entry that names me (a D-stage cascade merges the
  # entries); take the new stamp and token.
  for i in range(b):
    for k in range(deg):
      for w in ("dist", "pi"):
        got, renew = f(f"received_v_{w}", k, i), f(f"renew_received_v_{w}",
                                                    k, i)
        mine, stage = f(f"received_v_{w}4u", k, i), f(f"u_{w}_delay", k, i)
        rule(f"adopt.{w}.keep({k},{i})", (got,), (renew,),
             (got, mine) + tuple(f(f"received_v_{w}4v", d, k, i)
                                 for d in range(deg)))
        rule(f"adopt.{w}({k},{i})", (f(f"u_{w}_update", k, i), mine), (),
             (stage,))
        rule(f"adopt.{w}.merge({k},{i})", (stage,), (),
             (f(f"u_{w}_delay", k + 1, i),) if k < deg - 1
             else (f(f"u_{w}", i),))
  for k in range(deg):
    got, renew = f("received_v_gray", k), f("renew_received_v_gray", k)
    mine, stage = f("received_v_gray4u", k), f("u_gray_delay", k)
    rule(f"adopt.gray.keep({k})", (got,), (renew,),
         (got, mine) + tuple(f("received_v_gray4v", d, k)
                             for d in range(deg)))
    rule(f"adopt.gray({k})", (f("u_gray_update", k), mine), (), (stage,))
    rule(f"adopt.gray.merge({k})", (stage,), (),
         (f("u_gray_delay", k + 1),) if k < deg - 1
         else (f("u_gray"), f("u_white_overwrite")))
  for i in range(b):
    for w, dest in (("stamp", "stamp"), ("current", "current")):
      got, now = f(f"received_{w}", i), f(f"update_{w}", i)
      rule(f"adopt.{w}.keep({i})", (got,), (now,), (got,))
      rule(f"adopt.{w}({i})", (got, now), (), (f(dest, i),))

  # (p) Refresh my mirror of port d from entry k when entry k names port d.
  for i in range(b):
    for k in range(deg):
      for d in range(deg):
        for w in ("dist", "pi"):
          stage = f(f"v_{w}_delay", d, k, i)
          rule(f"mirror.{w}({d},{k},{i})",
               (f(f"v_{w}_update", d, k, i), f(f"received_v_{w}4v", d, k, i)),
               (), (stage,))
          rule(f"mirror.{w}.merge({d},{k},{i})", (stage,), (),
               (f(f"v_{w}_delay", d, k + 1, i),) if k < deg - 1
               else (f(f"v_{w}", d, i),))
  for k in range(deg):
    for d in range(deg):
      stage = f("v_gray_delay", d, k)
      rule(f"mirror.gray({d},{k})",
           (f("v_gray_update", d, k), f("received_v_gray4v", d, k)), (),
           (stage,))
      rule(f"mirror.gray.merge({d},{k})", (stage,), (),
           (f("v_gray_delay", d, k + 1),) if k < deg - 1
           else (f("v_gray", d), f("v_white_overwrite", d)))
  return out


def dfs_bits(n: int, edges: int) -> int:
  """Word length the construction needs on a graph with ``n`` nodes and
  ``edges`` edges: ``bitlen(max(2|E|, n)) + 1`` — the construction's
  ``bitlen(2|E|) + 1`` on connected graphs (the stamp counts up to
  ``2n − 1 ≤ 2|E| + 1`` walk steps), with room for the ids ``1..n`` on
  graphs with few edges.

  Example:
    >>> [dfs_bits(n, m) for n, m in ((2, 1), (4, 3), (5, 4), (5, 8),
    ...                                 (8, 1))]
    [3, 4, 5, 6, 5]
  """
  n = tpl.check_bits(n, "n (nodes)")
  edges = tpl.check_bits(edges, "edges (|E|)", low=0)
  return max(2 * edges, n).bit_length() + 1


def dfs_depths(g: graphs_lib.Graph, source: int) -> np.ndarray:
  """Each node's depth in the depth-first search tree grown from
  ``source``, neighbours visited smallest id first (``-1`` where the search
  never reaches): the classical answer of the DFS node program, by a plain
  iterative DFS.

  Example:
    >>> g = graphs_lib.graph(5, [(0, 1), (0, 2), (1, 2), (2, 3)], "kite")
    >>> dfs_depths(g, 0).tolist()
    [0, 1, 2, 3, -1]
  """
  source = graph_blocks.check_source(g, source)
  ports = graphs_lib.neighbours(g)
  depth = np.full(g.n, -1, np.int64)
  depth[source] = 0
  stack = [(int(source), 0)]  # (node, next port to try)
  while stack:
    v, p = stack.pop()
    if p == len(ports[v]):
      continue
    stack.append((v, p + 1))
    u = int(ports[v][p])
    if depth[u] < 0:
      depth[u] = depth[v] + 1
      stack.append((u, 0))
  return depth


def dfs_program(bits: int, max_degree: int, *,
                slots: int | None = None) -> node_lib.NodeProgram:
  """The DFS node program for ``bits``-bit words on graphs of maximum degree
  ``max_degree``.

  Each node outputs its depth in the depth-first search tree grown from the
  source, neighbours taken smallest id first (``-1`` where the search never
  reached it, as :func:`dfs_depths`); the output is the node's depth word
  once the node is gray. The round budget is the construction's,
  ``2|E|·(5b + Δ² + 3Δ + 12)`` with ``b``, ``Δ`` the program's: one epoch
  per step of the walk, each a scan over ports, a stamp increment and one
  hop of the flood (``Δ² + 1`` delay stages), at most ``5b + Δ² + 3Δ + 12``
  rounds; the walk has ``2n − 1`` steps on a connected graph and its last
  discovery is told by step ``2n − 2 ≤ 2|E|`` (the last step, the root's
  return, changes no output). One epoch on a graph without edges.

  Args:
    bits: ``b``, bits per word (ids, stamp, depths); at least 2, and a
      graph needs ``b ≥ dfs_bits(n, |E|)``.
    max_degree: ``Δ``, the most ports a node has.
    slots: ``S``, the outbox slots (colours of the distance-2 colouring);
      ``Δ² + 1`` by default.

  Inputs of a run: ``{"source": node}`` (node ``v`` has id ``v + 1``; the
  construction's runs search from node 0, id 1).

  Example:
    >>> dfs = dfs_program(4, 2)
    >>> dfs.k, dfs.D, dfs.slots, int(dfs.program.column_weights().max())
    (1808, 2217, 5, 5)
    >>> from permjax._src import message_passing
    >>> run = message_passing.run_graph(dfs, graphs_lib.cycle_graph(3),
    ...                                 {"source": 0})
    >>> run.outputs.tolist(), run.correct
    ([0, 1, 2], True)
  """
  c = graph_blocks.build("dfs", "DFS", bits, max_degree, slots,
                         _layout, _templates, "u_stamp_slot")
  bits, max_degree, slots = c.bits, c.max_degree, c.slots
  layout, program, put = c.layout, c.program, c.put
  number = graph_blocks.number

  def initial(g, colours, inputs):
    source = _check_graph(g, inputs, bits, max_degree)
    colours = graphs_lib.check_colouring(g, colours, slots)
    states = np.zeros((g.n, program.D), bool)
    ports = graphs_lib.neighbours(g)
    for v in range(g.n):
      put(states, v, number(layout.all("current"), source + 1)
          + (layout("comparison_counter", 0), layout("v_turn", 0))
          + layout.all("compare_current")
          + number(layout.all("u_id"), v + 1)
          + (layout("determine_slot", int(colours[v])),)
          + ((layout("u_gray"),) if v == source else (layout("u_white"),)))
      for p, u in enumerate(ports[v].tolist()):
        put(states, v, number(layout.row("v_id", p), u + 1)
            + ((layout("v_gray", p),) if u == source
               else (layout("v_white", p),)))
    return states

  output = graph_blocks.gray_word(program, "u_dist")

  def truth(g, inputs):
    source = _check_graph(g, inputs, bits, max_degree)
    return dfs_depths(g, source)

  def rounds(g, inputs):
    _check_graph(g, inputs, bits, max_degree)
    b, deg = bits, max_degree
    return max(2 * len(g.edges), 1) * (5 * b + deg * deg + 3 * deg + 12)

  return c.node_program(initial, output, truth, rounds,
                        graph_blocks.from_node_zero)


def _check_graph(g, inputs, bits, max_degree):
  """The source node, after refusing a graph the program cannot hold."""
  if not isinstance(inputs, dict) or set(inputs) != {"source"}:
    raise ValueError(f"DFS inputs are {{'source': node}}, got {inputs!r}")
  source = graph_blocks.check_source(g, inputs["source"])
  need = dfs_bits(g.n, len(g.edges))
  if need > bits:
    raise ValueError(f"{g.name}: n = {g.n} nodes and |E| = {len(g.edges)} "
                     f"edges need b = {need} bits per word "
                     f"(bitlen(max(2|E|, n)) + 1), the program has "
                     f"b = {bits}")
  graph_blocks.check_degree(g, max_degree)
  return source
