"""Spike merge: two spike vectors side by side, (a, b) -> [a..., b...].

Lets separate pools (e.g. two competing action pools) feed one node that expects a single spike
vector, such as a spike_count with one group per pool.
"""
from __future__ import annotations

import jax.numpy as jnp

from .base import SPIKES, Component, Param, Port


class SpikeMerge(Component):
    """Concatenate the spikes of two pools: outputs a's neurons first, then b's."""

    type_name = "spike_merge"
    title = "Spike merge"
    category = "Outputs"
    description = "Put the spikes of two pools side by side in one vector"
    params = (
        Param("size_a", "int", 10, min=1, help="neurons of input a"),
        Param("size_b", "int", 10, min=1, help="neurons of input b"),
    )

    @classmethod
    def ports(cls, p):
        return ([Port("a", SPIKES, p["size_a"], required=True, help="first spikes"),
                 Port("b", SPIKES, p["size_b"], required=True, help="second spikes")],
                [Port("spikes", SPIKES, p["size_a"] + p["size_b"], help="a then b")])

    def step(self, p, s, inputs, ctx):
        return s, {"spikes": jnp.concatenate([inputs["a"], inputs["b"]])}
