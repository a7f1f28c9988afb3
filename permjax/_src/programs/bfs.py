"""Breadth-first search as a node program (arXiv 2601.23207, the BFS
construction; docs/theory/graphs.md).

The sequential queue BFS of CLRS, run by message passing. Nothing global is
kept anywhere: the queue is implicit. Every node carries its own *priority*
(its position in the queue, 0 while undiscovered), a copy of the queue
*pointer* (the position being served) and *mirrors* of what it knows about
each neighbour (colour, distance, parent, priority), one mirror per port.
One *epoch* serves one queue position:

1. every node compares its priority with the pointer, bit by bit; the one
   node whose priority equals it is the head of the queue;
2. the head walks its ports in order (``2b`` rounds per port): each white
   neighbour turns gray in the mirror, gets the next free priority (a ripple
   adder counts it up), the head's id as parent and the head's distance + 1
   (one adder, run once at the start of the epoch);
3. the head increments the pointer (another adder) and uploads the new
   pointer, the last used priority and all its port mirrors into its own
   outbox slot (the slot of its distance-2 colour);
4. every node floods what it receives: a message whose pointer is newer
   than the last one it relayed (an MSB-first comparison) enters a delay
   line at the stage of the slot it came in, the delay lines merge the
   slots one stage per round, the first copy to arrive shuts the others
   down, and the node re-broadcasts it from its own slot;
5. on arrival, each node compares its own id with the ids in the message
   (bit-serial) and adopts the matching entry's distance, parent, priority
   and colour; likewise it refreshes its own mirrors of the neighbours the
   message describes; then it takes the new pointer and starts the next
   epoch.

Every bit-serial step (comparisons, adders, timers) is a cascade of one-hot
*counters* and self-keeping bits, the same device as flooding's ``pipe``;
the program has ``T = 24bΔ³ + 6Δ³ + 33bΔ² + 9Δ² + 65bΔ + 17Δ + 57b + 15``
templates over ``D = 32bΔ³ + 8Δ³ + 38bΔ² + 11Δ² + 84bΔ + 22Δ + 58b + 18``
bits (``b`` bits per word, ``Δ`` the degree bound, ``S = Δ² + 1`` slots),
of which the last ``2bS + ΔS + 4bΔS + S`` are the outbox; no bit is written
by more than five templates.

Conventions of the construction, kept here: node ``v`` has id ``v + 1``
(ids are 1-based so that an all-zero id marks an unused port); port ``p`` of
``v`` is its ``p``-th neighbour in increasing id order
(:func:`permjax.graphs.neighbours`); words are ``b`` bits, LSB first, and a
graph on ``n`` nodes needs ``b ≥ bitlen(n) + 1`` (the pointer and the
priorities run up to ``n + 1``). The source holds priority 1 and is gray
from the start, and the next free priority (2) sits in its port-0 word; the
construction's experiments use node 0 (id 1) as the source.
"""

from __future__ import annotations

import numpy as np

from permjax._src import graphs as graphs_lib
from permjax._src import node_program as node_lib
from permjax._src import templates as tpl
from permjax._src.programs import graph_blocks
from permjax._src.templates import Template

# The four per-port words a head uploads and every node relays, in the order
# their slot, placeholder and routing fields are laid out.
_WORDS = ("v_dist", "v_pi", "v_id", "v_priority")


def _layout(b, deg, slots):
  """The state, in the construction's flat order (outbox last)."""
  f = graph_blocks.FieldLayout()
  s, s1 = slots, slots + 1
  # Queue-head test: is my priority the pointer?
  for name, width in (("u_priority", b), ("q_pointer", b),
                      ("compare_u_priority", b),
                      ("priority_comparison_counter", b + 1),
                      ("u_matches_pointer", b), ("u_matches_counter", b),
                      ("reset_u_matches", b)):
    f.add(name, width)
  # The loop over ports.
  f.add("u_matched")
  for name in ("v_turn", "v_white", "v_white_overwrite"):
    f.add(name, deg)
  # Priorities handed to white neighbours.
  f.add("accept_last_in_q", b)
  f.add("u_last_in_q", b)
  for name in ("v_set_priority", "v_last_in_q", "v_priority",
               "upload_v_priority", "v_last_in_q_augend",
               "v_last_in_q_addend", "to_copy_last_in_q_augend",
               "v_last_in_q_carry"):
    f.add(name, deg, b)
  f.add("v_last_in_q_sum_counter", deg, 2 * b)
  # Distances: the head's distance + 1, set on white neighbours.
  for name in ("u_dist", "update_v_dist_augend", "v_dist_augend",
               "v_dist_addend", "to_copy_dist_augend", "v_dist_carry"):
    f.add(name, b)
  f.add("v_dist_sum_counter", 2 * b)
  f.add("v_set_dist_counter", deg, 2 * b)
  for name in ("v_set_dist", "v_dist_incremented", "v_dist",
               "upload_v_dist"):
    f.add(name, deg, b)
  # Parents.
  f.add("u_id", b)
  for name in ("u_id_asparent", "v_set_pi", "v_pi", "upload_v_pi"):
    f.add(name, deg, b)
  # The node's own colour and parent.
  f.add("u_white")
  f.add("u_white_overwrite")
  f.add("u_gray")
  f.add("u_pi", b)
  f.add("v_gray", deg)
  f.add("upload_v_gray", deg)
  f.add("upload_message_flag")
  # The pointer increment and the upload.
  for name in ("pointer_augend", "pointer_addend", "upload_pointer_augend",
               "pointer_carry"):
    f.add(name, b)
  f.add("pointer_sum_counter", 2 * b)
  f.add("after_loop_last_in_q", b)
  f.add("upload_after_loop_last_in_q", b)
  # Routing into the node's own outbox slot.
  f.add("determine_slot", s)
  for name in ("determine_pointer_slot", "pointer_placeholder",
               "determine_last_in_q_slot", "last_in_q_placeholder"):
    f.add(name, s, b)
  f.add("determine_v_gray_slot", s, deg)
  f.add("v_gray_placeholder", s, deg)
  for word in _WORDS:
    f.add(f"determine_{word}_slot", s, deg, b)
    f.add(f"{word}_placeholder", s, deg, b)
  f.add("determine_message_flag_slot", s)
  f.add("message_flag_placeholder", s)
  # Incoming words held while their pointer is tested.
  for name in ("persistent_last_pointer", "overwrite_last_pointer",
               "temp_last_in_q_slot", "to_accept_temp_last_in_q",
               "overwrite_temp_last_in_q"):
    f.add(name, s, b)
  for name in ("temp_v_gray_slot", "to_accept_temp_v_gray",
               "overwrite_temp_v_gray"):
    f.add(name, s, deg)
  for word in ("v_dist", "v_id", "v_pi", "v_priority"):
    for name in (f"temp_{word}_slot", f"to_accept_temp_{word}",
                 f"overwrite_temp_{word}"):
      f.add(name, s, deg, b)
  f.add("return_message_flag", s)
  # Is the incoming pointer newer than the last one relayed?
  for name in ("compare_last_pointer", "temp_pointer_slot", "last_pointer",
               "to_accept_temp_pointer", "overwrite_temp_pointer",
               "new_message", "old_message"):
    f.add(name, s, b)
  # Delay lines merging the slots (stages 0..S).
  for name in ("last_in_q", "pointer"):
    f.add(f"delay_new_{name}", s1, b)
    f.add(f"shutdown_{name}_delay", s1, b)
  f.add("delay_new_v_gray", s1, deg)
  f.add("shutdown_v_gray_delay", s1, deg)
  for word in ("v_priority", "v_dist", "v_id", "v_pi"):
    f.add(f"delay_new_{word}", s1, deg, b)
    f.add(f"shutdown_{word}_delay", s1, deg, b)
  f.add("delay_new_message_flag", s1)
  f.add("shutdown_message_flag_delay", s1)
  # Matching ids: mine against the message's, my ports' against the
  # message's.
  f.add("v_id", deg, b)
  f.add("upload_v_id", deg, b)
  f.add("received_new_message")
  for name in ("received_v_id", "u_id2check_with_received_v_ids",
               "check_u_id_with_received_v_ids"):
    f.add(name, deg, b)
  for name in ("received_v_ids2check_with_v_ids",
               "v_ids2check_with_received_v_ids",
               "check_v_ids_with_received_v_ids"):
    f.add(name, deg, deg, b)
  for name in ("u_equals_received_v_id", "u_is_received_v_id_counter",
               "reset_u_equals_v"):
    f.add(name, deg, b)
  for name in ("v_equals_received_v_id", "v_is_received_v_id_counter",
               "reset_v_equals_v"):
    f.add(name, deg, deg, b)
  f.add("u_id_comparison_counter", deg, b + 1)
  f.add("v_id_comparison_counter", deg, deg, b + 1)
  f.add("update_pointer_counter", deg + b + 2)
  # Adopting the received words (own fields).
  for word in ("priority", "dist", "pi"):
    for name in (f"received_v_{word}", f"renew_received_v_{word}",
                 f"received_v_{word}4u", f"u_{word}_update",
                 f"u_{word}_delay"):
      f.add(name, deg, b)
  for name in ("received_v_gray", "renew_received_v_gray",
               "received_v_gray4u", "u_gray_update", "u_gray_delay"):
    f.add(name, deg)
  for name in ("received_pointer", "update_pointer", "received_last_in_q",
               "update_last_in_q"):
    f.add(name, b)
  # Refreshing the port mirrors.
  for word in ("priority", "dist", "pi"):
    for name in (f"v_{word}_update", f"received_v_{word}4v",
                 f"v_{word}_delay"):
      f.add(name, deg, deg, b)
  for name in ("v_gray_update", "received_v_gray4v", "v_gray_delay"):
    f.add(name, deg, deg)
  # The outbox.
  f.add("pointer_slot", s, b)
  f.add("last_in_q_slot", s, b)
  f.add("v_gray_slot", s, deg)
  for word in _WORDS:
    f.add(f"{word}_slot", s, deg, b)
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

  def ripple(tag, aug, add, gate, carry, up, i):
    """One bit of a bit-serial incrementer: the sum stays in ``aug`` while
    ``gate`` is off; a carry moves to ``up`` (the next addend bit, or itself
    at the top bit, where it sticks)."""
    return {
        "keep": (f"{tag}.sum({i})", (aug,), (add, gate), (aug,)),
        "set": (f"{tag}.add({i})", (add,), (aug, gate), (aug,)),
        "carry": (f"{tag}.carry({i})", (aug, add), (gate,), (carry,)),
        "up": (f"{tag}.up({i})", (carry,), (), (up,)),
    }

  # (a) Is my priority the pointer? All bits at once, then a one-hot runner
  # checks that every bit agreed.
  for i in range(b):
    prio, ptr = f("u_priority", i), f("q_pointer", i)
    cmp_, eq = f("compare_u_priority", i), f("u_matches_pointer", i)
    start = (f("u_matches_counter", 0),) if i == 0 else ()
    rule(f"head.both1({i})", (prio, ptr, cmp_), (),
         (eq,) + start + (prio, f("pointer_augend", i)))
    rule(f"head.both0({i})", (cmp_,), (prio, ptr), (eq,) + start)
    rule(f"head.differ({i})", (prio, cmp_), (ptr,),
         (prio, f("pointer_augend", i)))
    rule(f"head.keep({i})", (prio,), (ptr, cmp_), (prio,))
    run, reset = f("u_matches_counter", i), f("reset_u_matches", i)
    rule(f"head.run({i})", (eq, run), (reset,),
         (f("u_matches_counter", i + 1),) if i < top else
         ((f("u_matched"),) + f.all("accept_last_in_q")
          + f.all("update_v_dist_augend")))
    rule(f"head.hold({i})", (eq,), (run, reset), (eq,))
  for j in range(b + 1):
    if j < top:
      nxt = (f("priority_comparison_counter", j + 1),)
    elif j == top:
      nxt = (f("priority_comparison_counter", j + 1),) + f.all(
          "update_last_in_q")
    else:
      nxt = f.all("reset_u_matches")
    rule(f"head.timer({j})", (f("priority_comparison_counter", j),), (), nxt)

  # (b) The head walks its ports.
  rule("ports.start", (f("u_matched"),), (),
       (f("v_turn", 0), f("v_dist_addend", 0), f("v_dist_sum_counter", 0)))
  for d in range(deg):
    turn, white = f("v_turn", d), f("v_white", d)
    over = f("v_white_overwrite", d)
    rule(f"ports.discover({d})", (turn, white), (over,),
         (f("v_gray", d), f("v_last_in_q_sum_counter", d, 0),
          f("v_last_in_q_addend", d, 0)) + f.row("v_set_pi", d)
         + f.row("v_set_priority", d) + (f("v_set_dist_counter", d, 0),))
    rule(f"ports.white({d})", (white,), (turn, over), (white,))
    rule(f"ports.skip({d})", (turn,), (white, over),
         (f("v_last_in_q_sum_counter", d, 0),))

  # (c) The next free priority: handed to each white port, counted up, and
  # carried to the next port.
  for i in range(b):
    rule(f"prio.load({i})", (f("accept_last_in_q", i), f("u_last_in_q", i)),
         (), (f("v_last_in_q", 0, i), f("v_last_in_q_augend", 0, i)))
  for d in range(deg):
    carry = f.row("v_last_in_q_carry", d)
    for i in range(b):
      setp, last = f("v_set_priority", d, i), f("v_last_in_q", d, i)
      prio, upl = f("v_priority", d, i), f("upload_v_priority", d, i)
      aug, add = f("v_last_in_q_augend", d, i), f("v_last_in_q_addend", d, i)
      copy = f("to_copy_last_in_q_augend", d, i)
      rule(f"prio.set({d},{i})", (setp, last), (), (prio,))
      rule(f"prio.wait({d},{i})", (last,), (setp,), (last,))
      rule(f"prio.keep({d},{i})", (prio,), (upl,), (prio,))
      rule(f"prio.upload({d},{i})", (prio, upl), (),
           (prio,) + each_slot("v_priority_placeholder", d, i))
      r = ripple(f"prio.inc[{d}]", aug, add, copy, carry[i],
                 f("v_last_in_q_addend", d, i + 1) if i < top else carry[i],
                 i)
      for key in ("keep", "carry", "set", "up"):
        rule(*r[key])
      rule(f"prio.pass({d},{i})", (aug, copy), (add,),
           (f("v_last_in_q", d + 1, i), f("v_last_in_q_augend", d + 1, i))
           if d < deg - 1 else (f("after_loop_last_in_q", i),))
  for d in range(deg):
    for j in range(2 * b):
      if j < 2 * b - 1:
        nxt = (f("v_last_in_q_sum_counter", d, j + 1),)
      elif d < deg - 1:
        nxt = f.row("to_copy_last_in_q_augend", d) + (f("v_turn", d + 1),)
      else:
        nxt = f.row("to_copy_last_in_q_augend", d) + (
            f("pointer_addend", 0), f("pointer_sum_counter", 0))
      rule(f"prio.timer({d},{j})", (f("v_last_in_q_sum_counter", d, j),), (),
           nxt)

  # (d) Distances: my distance + 1 once per epoch, copied to the white ports.
  dcarry = f.all("v_dist_carry")
  for i in range(b):
    dist, upd = f("u_dist", i), f("update_v_dist_augend", i)
    aug, add = f("v_dist_augend", i), f("v_dist_addend", i)
    copy = f("to_copy_dist_augend", i)
    rule(f"dist.keep({i})", (dist,), (upd,), (dist,))
    rule(f"dist.load({i})", (dist, upd), (), (aug, dist))
    r = ripple("dist.inc", aug, add, copy, dcarry[i],
               f("v_dist_addend", i + 1) if i < top else dcarry[i], i)
    for key in ("keep", "set", "carry", "up"):
      rule(*r[key])
    rule(f"dist.pass({i})", (aug, copy), (add,),
         tuple(f("v_dist_incremented", d, i) for d in range(deg)))
  for j in range(2 * b):
    rule(f"dist.timer({j})", (f("v_dist_sum_counter", j),), (),
         (f("v_dist_sum_counter", j + 1),) if j < 2 * b - 1
         else f.all("to_copy_dist_augend"))
  for j in range(2 * b):
    for d in range(deg):
      rule(f"dist.port_timer({d},{j})", (f("v_set_dist_counter", d, j),), (),
           (f("v_set_dist_counter", d, j + 1),) if j < 2 * b - 1
           else f.row("v_set_dist", d))
  for d in range(deg):
    for i in range(b):
      setd, inc = f("v_set_dist", d, i), f("v_dist_incremented", d, i)
      vd, upl = f("v_dist", d, i), f("upload_v_dist", d, i)
      rule(f"dist.set({d},{i})", (setd, inc), (), (vd,))
      rule(f"dist.wait({d},{i})", (inc,), (setd,), (inc,))
      rule(f"dist.upload({d},{i})", (vd, upl), (),
           (vd,) + each_slot("v_dist_placeholder", d, i))
      rule(f"dist.keep_port({d},{i})", (vd,), (upl,), (vd,))

  # (e) Parents: my id, offered to every port and to the id tests.
  for i in range(b):
    rule(f"parent.id({i})", (f("u_id", i),), (),
         tuple(f("u_id_asparent", d, i) for d in range(deg)) + (f("u_id", i),)
         + tuple(f("u_id2check_with_received_v_ids", k, i)
                 for k in range(deg)))
  for d in range(deg):
    for i in range(b):
      pi, upl = f("v_pi", d, i), f("upload_v_pi", d, i)
      rule(f"parent.set({d},{i})",
           (f("v_set_pi", d, i), f("u_id_asparent", d, i)), (), (pi,))
      rule(f"parent.keep({d},{i})", (pi,), (upl,), (pi,))
      rule(f"parent.upload({d},{i})", (pi, upl), (),
           (pi,) + each_slot("v_pi_placeholder", d, i))

  # (f)-(h) My own colour and parent; the gray mirrors; the message flag.
  rule("own.white", (f("u_white"),), (f("u_white_overwrite"),),
       (f("u_white"),))
  rule("own.gray", (f("u_gray"),), (), (f("u_gray"),))
  for i in range(b):
    rule(f"own.parent({i})", (f("u_pi", i),), (), (f("u_pi", i),))
  for d in range(deg):
    gray, upl = f("v_gray", d), f("upload_v_gray", d)
    rule(f"gray.keep({d})", (gray,), (upl,), (gray,))
    rule(f"gray.upload({d})", (gray, upl), (),
         (gray,) + each_slot("v_gray_placeholder", d))
  rule("flag.upload", (f("upload_message_flag"),), (),
       f.all("message_flag_placeholder"))

  # (i) The pointer + 1, then everything is uploaded.
  pcarry = f.all("pointer_carry")
  for i in range(b):
    r = ripple("ptr.inc", f("pointer_augend", i), f("pointer_addend", i),
               f("upload_pointer_augend", i), pcarry[i],
               f("pointer_addend", i + 1) if i < top else pcarry[i], i)
    for key in ("keep", "set", "carry", "up"):
      rule(*r[key])
  for j in range(2 * b):
    if j < 2 * b - 1:
      nxt = (f("pointer_sum_counter", j + 1),)
    else:
      nxt = (f.all("upload_pointer_augend") + f.all("upload_v_gray")
             + f.all("upload_v_pi") + f.all("upload_v_dist")
             + f.all("upload_v_id") + f.all("upload_v_priority")
             + f.all("upload_after_loop_last_in_q")
             + f.all("overwrite_last_pointer") + (f("upload_message_flag"),))
    rule(f"ptr.timer({j})", (f("pointer_sum_counter", j),), (), nxt)
  for i in range(b):
    aug, upl = f("pointer_augend", i), f("upload_pointer_augend", i)
    rule(f"ptr.upload({i})", (aug, upl), (f("pointer_addend", i),),
         each_slot("pointer_placeholder", i)
         + each_slot("persistent_last_pointer", i))
    last, upl = f("after_loop_last_in_q", i), f(
        "upload_after_loop_last_in_q", i)
    rule(f"last.upload({i})", (last, upl), (),
         each_slot("last_in_q_placeholder", i))
    rule(f"last.keep({i})", (last,), (upl,), (last,))

  # (j) Placeholders pass to the outbox only in the node's own slot.
  for s in range(slots):
    rule(f"route.slot({s})", (f("determine_slot", s),), (),
         (f("determine_slot", s),) + f.row("determine_v_gray_slot", s)
         + sum((f.row(f"determine_{w}_slot", s, d) for w in _WORDS
                for d in range(deg)), ())
         + f.row("determine_pointer_slot", s)
         + f.row("determine_last_in_q_slot", s)
         + (f("determine_message_flag_slot", s),))

  def route(tag, gate, held, sent):
    rule(f"route.{tag}", (gate, held), (), (sent, gate))
    rule(f"route.{tag}.idle", (gate,), (held,), (gate,))

  for s in range(slots):
    for i in range(b):
      for w in ("pointer", "last_in_q"):
        route(f"{w}({s},{i})", f(f"determine_{w}_slot", s, i),
              f(f"{w}_placeholder", s, i), f(f"{w}_slot", s, i))
  for s in range(slots):
    for d in range(deg):
      route(f"v_gray({s},{d})", f("determine_v_gray_slot", s, d),
            f("v_gray_placeholder", s, d), f("v_gray_slot", s, d))
  for s in range(slots):
    for d in range(deg):
      for i in range(b):
        for w in _WORDS:
          route(f"{w}({s},{d},{i})", f(f"determine_{w}_slot", s, d, i),
                f(f"{w}_placeholder", s, d, i), f(f"{w}_slot", s, d, i))
  for s in range(slots):
    route(f"flag({s})", f("determine_message_flag_slot", s),
          f("message_flag_placeholder", s), f("message_flag_slot", s))

  # (k) The inbox is copied aside; a flag starts the pointer test.
  for i in range(b):
    for s in range(slots):
      rule(f"in.pointer({s},{i})", (f("pointer_slot", s, i),), (),
           (f("temp_pointer_slot", s, i),))
      rule(f"in.last_in_q({s},{i})", (f("last_in_q_slot", s, i),), (),
           (f("temp_last_in_q_slot", s, i),))
  for d in range(deg):
    for s in range(slots):
      rule(f"in.v_gray({s},{d})", (f("v_gray_slot", s, d),), (),
           (f("temp_v_gray_slot", s, d),))
  for i in range(b):
    for d in range(deg):
      for s in range(slots):
        for w in ("v_dist", "v_id", "v_pi", "v_priority"):
          rule(f"in.{w}({s},{d},{i})", (f(f"{w}_slot", s, d, i),), (),
               (f(f"temp_{w}_slot", s, d, i),))
  for s in range(slots):
    rule(f"in.flag({s})", (f("message_flag_slot", s),), (),
         (f("compare_last_pointer", s, top),))

  # (l) Held words wait for the verdict: accepted ones enter the delay line
  # at their slot's stage, discarded ones are dropped.
  def hold(tag, held, accept, drop, delayed):
    rule(f"hold.{tag}", (held,), (accept, drop), (held,))
    rule(f"hold.{tag}.accept", (held, accept), (drop,), (delayed,))

  for i in range(b):
    for s in range(slots):
      per, over = f("persistent_last_pointer", s, i), f(
          "overwrite_last_pointer", s, i)
      rule(f"hold.last_pointer({s},{i})", (per,), (over,),
           (f("last_pointer", s, i), per))
      rule(f"hold.last_pointer.renew({s},{i})", (per, over), (),
           (f("last_pointer", s, i),))
      hold(f"last_in_q({s},{i})", f("temp_last_in_q_slot", s, i),
           f("to_accept_temp_last_in_q", s, i),
           f("overwrite_temp_last_in_q", s, i), f("delay_new_last_in_q", s, i))
  for d in range(deg):
    for s in range(slots):
      hold(f"v_gray({s},{d})", f("temp_v_gray_slot", s, d),
           f("to_accept_temp_v_gray", s, d), f("overwrite_temp_v_gray", s, d),
           f("delay_new_v_gray", s, d))
  for i in range(b):
    for d in range(deg):
      for s in range(slots):
        for w in ("v_dist", "v_id", "v_pi", "v_priority"):
          hold(f"{w}({s},{d},{i})", f(f"temp_{w}_slot", s, d, i),
               f(f"to_accept_temp_{w}", s, d, i),
               f(f"overwrite_temp_{w}", s, d, i), f(f"delay_new_{w}", s, d, i))
  for s in range(slots):
    rule(f"hold.flag({s})", (f("return_message_flag", s),), (),
         (f("delay_new_message_flag", s),))

  # (m) Is the incoming pointer newer? MSB first; the verdict marker walks
  # down to bit 0 so that it lands l rounds after the flag, whatever bit
  # decided.
  def verdict(s, accept):
    if accept:
      return (f.row("to_accept_temp_pointer", s)
              + f.row("to_accept_temp_last_in_q", s)
              + f.row("to_accept_temp_v_gray", s)
              + sum((f.row(f"to_accept_temp_{w}", s, d) for w in _WORDS
                     for d in range(deg)), ())
              + (f("return_message_flag", s),))
    return (f.row("overwrite_temp_pointer", s)
            + f.row("overwrite_temp_last_in_q", s)
            + sum((f.row(f"overwrite_temp_{w}", s, d)
                   for w in ("v_priority", "v_pi", "v_id", "v_dist")
                   for d in range(deg)), ())
            + f.row("overwrite_temp_v_gray", s))

  for i in range(b):
    for s in range(slots):
      c, t = f("compare_last_pointer", s, i), f("temp_pointer_slot", s, i)
      p, a = f("last_pointer", s, i), f("to_accept_temp_pointer", s, i)
      o = f("overwrite_temp_pointer", s, i)
      down = (f("compare_last_pointer", s, i - 1),) if i else ()
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
      rule(f"new.accept1({s},{i})", (t, p, a), (c, o),
           (f("delay_new_pointer", s, i),))
      rule(f"new.accept0({s},{i})", (t, a), (c, p, o),
           (f("delay_new_pointer", s, i),))

  # (n) Delay lines: one stage a round up to stage S; the flag reaching
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
      delay("last_in_q", (i,), (f("received_last_in_q", i),)
            + each_slot("last_in_q_placeholder", i), st)
      delay("pointer", (i,), (f("received_pointer", i),)
            + each_slot("pointer_placeholder", i)
            + each_slot("persistent_last_pointer", i), st)
  for d in range(deg):
    for st in stages:
      delay("v_gray", (d,), (f("received_v_gray", d),)
            + each_slot("v_gray_placeholder", d), st)
  for i in range(b):
    for d in range(deg):
      for st in stages:
        for w in ("v_priority", "v_dist", "v_id", "v_pi"):
          delay(w, (d, i), (f(f"received_{w}", d, i),)
                + each_slot(f"{w}_placeholder", d, i), st)
  early = range(slots)  # the stages the shutdown clears
  shutdown = (f.all("overwrite_last_pointer")
              + tuple(f("shutdown_message_flag_delay", st) for st in early)
              + sum((f.row("shutdown_pointer_delay", st) for st in early), ())
              + sum((f.row("shutdown_v_gray_delay", st) for st in early), ())
              + sum((f.row(f"shutdown_{w}_delay", st, d)
                     for w in ("v_dist", "v_id", "v_pi", "v_priority")
                     for st in early for d in range(deg)), ())
              + sum((f.row("shutdown_last_in_q_delay", st) for st in early),
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

  # (o) Id tests, bit-parallel with a one-hot runner per entry: is entry k
  # of the message me, and is it my port d's neighbour?
  for i in range(b):
    for d in range(deg):
      vid, upl = f("v_id", d, i), f("upload_v_id", d, i)
      mine = (vid,) + tuple(f("v_ids2check_with_received_v_ids", d, k, i)
                            for k in range(deg))
      rule(f"id.keep({d},{i})", (vid,), (upl,), mine)
      rule(f"id.upload({d},{i})", (vid, upl), (),
           mine + each_slot("v_id_placeholder", d, i))
  rule("id.start", (f("received_new_message"),), (),
       f.all("check_v_ids_with_received_v_ids")
       + (f("update_pointer_counter", 0),)
       + tuple(f("v_id_comparison_counter", d, k, 0) for d in range(deg)
               for k in range(deg)))
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
  for i in range(b):
    for d in range(deg):
      for k in range(deg):
        got = f("received_v_ids2check_with_v_ids", d, k, i)
        port = f("v_ids2check_with_received_v_ids", d, k, i)
        chk = f("check_v_ids_with_received_v_ids", d, k, i)
        hit = (f("v_equals_received_v_id", d, k, i),) + (
            (f("v_is_received_v_id_counter", d, k, 0),) if i == 0 else ())
        rule(f"id.port1({d},{k},{i})", (got, port, chk), (), hit)
        rule(f"id.port0({d},{k},{i})", (chk,), (got, port), hit)
  for j in range(b + 1):
    for k in range(deg):
      rule(f"id.me_timer({k},{j})", (f("u_id_comparison_counter", k, j),), (),
           (f("u_id_comparison_counter", k, j + 1),) if j < b
           else f.row("reset_u_equals_v", k))
  for i in range(b):
    for k in range(deg):
      eq, run = f("u_equals_received_v_id", k, i), f(
          "u_is_received_v_id_counter", k, i)
      reset = f("reset_u_equals_v", k, i)
      rule(f"id.me_run({k},{i})", (eq, run), (reset,),
           (f("u_is_received_v_id_counter", k, i + 1),) if i < top else
           (f.row("u_dist_update", k) + f.row("u_pi_update", k)
            + f.row("u_priority_update", k) + (f("u_gray_update", k),)))
      rule(f"id.me_hold({k},{i})", (eq,), (run, reset), (eq,))
  for j in range(b + 1):
    for k in range(deg):
      for d in range(deg):
        rule(f"id.port_timer({d},{k},{j})",
             (f("v_id_comparison_counter", d, k, j),), (),
             (f("v_id_comparison_counter", d, k, j + 1),) if j < b
             else f.row("reset_v_equals_v", d, k))
  for i in range(b):
    for k in range(deg):
      for d in range(deg):
        eq, run = f("v_equals_received_v_id", d, k, i), f(
            "v_is_received_v_id_counter", d, k, i)
        reset = f("reset_v_equals_v", d, k, i)
        rule(f"id.port_run({d},{k},{i})", (eq, run), (reset,),
             (f("v_is_received_v_id_counter", d, k, i + 1),) if i < top else
             (f.row("v_dist_update", d, k) + f.row("v_pi_update", d, k)
              + f.row("v_priority_update", d, k)
              + (f("v_gray_update", d, k),)))
        rule(f"id.port_hold({d},{k},{i})", (eq,), (run, reset), (eq,))
  last = deg + b + 1
  for j in range(last + 1):
    if j < last - 1:
      nxt = (f("update_pointer_counter", j + 1),)
    elif j == last - 1:
      nxt = f.all("update_pointer") + (f("update_pointer_counter", j + 1),)
    else:
      nxt = (f.all("compare_u_priority")
             + (f("priority_comparison_counter", 0),)
             + f.all("renew_received_v_dist") + f.all("renew_received_v_pi")
             + f.all("renew_received_v_priority")
             + f.all("renew_received_v_gray"))
    rule(f"epoch.timer({j})", (f("update_pointer_counter", j),), (), nxt)

  # (p) Adopt the entry that names me (a D-stage cascade merges the
  # entries); take the new pointer and the last used priority.
  for i in range(b):
    for k in range(deg):
      for w in ("priority", "dist", "pi"):
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
    for w, dest in (("pointer", "q_pointer"), ("last_in_q", "u_last_in_q")):
      got, now = f(f"received_{w}", i), f(f"update_{w}", i)
      rule(f"adopt.{w}.keep({i})", (got,), (now,), (got,))
      rule(f"adopt.{w}({i})", (got, now), (), (f(dest, i),))

  # (q) Refresh my mirror of port d from entry k when entry k names port d.
  for i in range(b):
    for k in range(deg):
      for d in range(deg):
        for w in ("priority", "dist", "pi"):
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


def bfs_bits(n: int) -> int:
  """Word length the construction needs on ``n`` nodes: ``bitlen(n) + 1``
  (ids ``1..n``, priorities and the pointer up to ``n + 1``).

  Example:
    >>> [bfs_bits(n) for n in (1, 3, 4, 7, 8)]
    [2, 3, 4, 4, 5]
  """
  return tpl.check_bits(n, "n (nodes)").bit_length() + 1


def bfs_program(bits: int, max_degree: int, *,
                slots: int | None = None) -> node_lib.NodeProgram:
  """The BFS node program for ``bits``-bit words on graphs of maximum degree
  ``max_degree``.

  Each node outputs its hop distance from the source (``-1`` where the
  source's search never reached it, as
  :func:`permjax.graphs.hop_distances`); the output is the node's distance
  word once the node is gray. The round budget is the construction's,
  ``n·[(d_G − 1)(b + Δ² + 6) + 2Δb + Δ² + 2Δ + 5b + 13]`` with ``d_G`` the
  graph's diameter and ``b``, ``Δ`` the program's: one epoch per queue
  position (``n`` of them), each a port walk and an upload that grow with
  ``Δb``, then a flood of ``b + Δ² + 6`` rounds per hop.

  Args:
    bits: ``b``, bits per word (ids, priorities, pointer, distances); at
      least 2, and a graph on ``n`` nodes needs ``b ≥ bitlen(n) + 1``.
    max_degree: ``Δ``, the most ports a node has.
    slots: ``S``, the outbox slots (colours of the distance-2 colouring);
      ``Δ² + 1`` by default.

  Inputs of a run: ``{"source": node}`` (node ``v`` has id ``v + 1``; the
  construction's runs search from node 0, id 1).

  Example:
    >>> bfs = bfs_program(3, 2)
    >>> bfs.k, bfs.D, bfs.slots, int(bfs.program.column_weights().max())
    (1666, 2072, 5, 5)
  """
  c = graph_blocks.build("bfs", "BFS", bits, max_degree, slots,
                         _layout, _templates, "pointer_slot")
  bits, max_degree, slots = c.bits, c.max_degree, c.slots
  layout, program, put = c.layout, c.program, c.put
  number = graph_blocks.number

  def initial(g, colours, inputs):
    source = _check_graph(g, inputs, bits, max_degree)
    colours = graphs_lib.check_colouring(g, colours, slots)
    states = np.zeros((g.n, program.D), bool)
    ports = graphs_lib.neighbours(g)
    for v in range(g.n):
      put(states, v, number(layout.all("q_pointer"), 1)
          + (layout("priority_comparison_counter", 0),)
          + layout.all("compare_u_priority")
          + number(layout.all("u_id"), v + 1)
          + (layout("determine_slot", int(colours[v])),))
      if v == source:
        put(states, v, number(layout.all("u_priority"), 1)
            + (layout("u_gray"),)
            + number(layout.row("v_last_in_q", 0), 2)
            + number(layout.row("v_last_in_q_augend", 0), 2))
      else:
        put(states, v, (layout("u_white"),))
      for p, u in enumerate(ports[v].tolist()):
        put(states, v, number(layout.row("v_id", p), u + 1)
            + ((layout("v_gray", p),) if u == source
               else (layout("v_white", p),)))
    return states

  output = graph_blocks.gray_word(program, "u_dist")

  def truth(g, inputs):
    source = _check_graph(g, inputs, bits, max_degree)
    return graphs_lib.hop_distances(g, source)

  def rounds(g, inputs):
    _check_graph(g, inputs, bits, max_degree)
    b, deg = bits, max_degree
    per_hop = b + deg * deg + 6
    fixed = 2 * deg * b + deg * deg + 2 * deg + 5 * b + 13
    return g.n * ((graphs_lib.diameter(g) - 1) * per_hop + fixed)

  return c.node_program(initial, output, truth, rounds,
                        graph_blocks.from_node_zero)


def _check_graph(g, inputs, bits, max_degree):
  """The source node, after refusing a graph the program cannot hold."""
  if not isinstance(inputs, dict) or set(inputs) != {"source"}:
    raise ValueError(f"BFS inputs are {{'source': node}}, got {inputs!r}")
  source = graph_blocks.check_source(g, inputs["source"])
  need = bfs_bits(g.n)
  if need > bits:
    raise ValueError(f"{g.name}: n = {g.n} nodes need b = {need} bits per "
                     f"word (bitlen(n) + 1), the program has b = {bits}")
  graph_blocks.check_degree(g, max_degree)
  return source
