"""Fusion of event-driven projections into one kernel per delay.

Many small projections (49 in the 7-pool benchmark) would each cost a gather and a scatter per
step; XLA cannot merge them. The compiler therefore replaces every event-driven projection whose
``events`` output feeds exactly one input port (and is not recorded) by a slot in a
``FusedEvents`` node: all pre-synaptic spike vectors are concatenated, each pre neuron gets one
target list spanning every projection it belongs to (targets index a concatenation of the
destination ports, so projections into the same port share a slot), and one event loop delivers
everything. The sums reaching each input port are the same as without fusion (up to the order of
floating-point additions).
"""
from __future__ import annotations

import numpy as np

from spark_snn.components.base import EVENTS, SPIKES, Component, Port
from spark_snn.components.projection import (event_propagate_words, order_by_pre_post,
                                             padded_tables, spike_words)
from spark_snn.components.spike_history import read_slot, store_slot


class FusedEvents(Component):
    """Several event-driven projections with one delay, run as one kernel (engine-internal)."""

    type_name = ""  # not a registry type
    latched = True

    def __init__(self, gid, members, sources, dests, delay, dt, dtype):
        # members: list of (projection component, node id, source index, dest index)
        self.gid = gid
        self.members = members
        self.sources = sources  # list of ("node", "port", size)
        self.dests = dests      # list of ("node", "port", size)
        self.delay = delay
        self.src_off = np.concatenate([[0], np.cumsum([s[2] for s in sources])]).astype(int)
        self.dst_off = np.concatenate([[0], np.cumsum([d[2] for d in dests])]).astype(int)
        super().__init__({}, {}, dt, dtype)

    def in_ports(self):
        return [Port(f"pre{k}", SPIKES, s[2]) for k, s in enumerate(self.sources)]

    def out_ports(self):
        return [Port(f"slot{k}", EVENTS, d[2]) for k, d in enumerate(self.dests)]

    def init_fused(self, rng_for):
        pres, posts, ws = [], [], []
        for comp, nid, si, di in self.members:
            pre, post, w = comp.synapses(rng_for(nid))
            pres.append(pre + self.src_off[si])
            posts.append(post + self.dst_off[di])
            ws.append(w)
        pre = np.concatenate(pres)
        post = np.concatenate(posts)
        w = np.concatenate(ws)
        n_pre, n_post = int(self.src_off[-1]), int(self.dst_off[-1])
        order = order_by_pre_post(pre, post, n_post)
        if order is not None:
            pre, post, w = pre[order], post[order], w[order]
        t, wt = padded_tables(pre, post, w, n_pre, n_post, self.dtype)
        # the last ``delay`` steps' spikes as bit sets (n_pre / 32 words each, not n_pre floats):
        # a smaller state to carry, pack and check, and the event loop reads the words directly
        return ({"targets": t, "weights": wt},
                {"buf": np.zeros((self.delay, -(-n_pre // 32)), np.uint32)})

    def read(self, p, state, ctx):
        n_post = int(self.dst_off[-1])
        ev = event_propagate_words(read_slot(state["buf"], ctx.t), ctx.const["targets"],
                                   ctx.const["weights"], n_post)
        return {f"slot{k}": ev[self.dst_off[k]:self.dst_off[k + 1]] for k in range(len(self.dests))}

    def update(self, p, state, inputs, ctx):
        import jax.numpy as jnp
        spikes = jnp.concatenate([inputs[f"pre{k}"] for k in range(len(self.sources))])
        return {"buf": store_slot(state["buf"], ctx.t, spike_words(spikes))}
