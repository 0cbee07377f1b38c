"""Argmax action: pick the index of the largest entry of a value vector as a discrete action.

    action = argmax_i value_i      (int32, size 1)

Ties (several entries equal to the maximum) go to the lowest index (tie_break = lowest) or to one
of the tied indices chosen uniformly at random with this node's per-step key (tie_break =
random), so random choices are reproducible for a seed and independent of the chunk size.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import ACTION, VALUE, Component, Param, Port


class ArgmaxAction(Component):
    """Index of the largest input entry (ties: lowest index or uniformly random)."""

    type_name = "argmax_action"
    title = "Argmax action"
    category = "Outputs"
    description = "Choose the action with the largest value"
    params = (
        Param("tie_break", "choice", "lowest", choices=("lowest", "random"),
              help="which index wins when several entries share the maximum"),
    )

    @classmethod
    def ports(cls, p):
        return ([Port("value", VALUE, "n", required=True,
                      help="one value per action (n = number of actions)")],
                [Port("action", ACTION, 1, help="index of the largest value (int32)")])

    def step(self, p, s, inputs, ctx):
        x = inputs["value"]
        if self.config["tie_break"] == "random":
            tied = x == jnp.max(x)
            u = jax.random.uniform(ctx.key, x.shape)
            idx = jnp.argmax(jnp.where(tied, u, -1.0))
        else:
            idx = jnp.argmax(x)
        return s, {"action": jnp.reshape(idx, (1,)).astype(jnp.int32)}
