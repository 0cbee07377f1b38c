"""Host input: a vector set by the host between chunks (a script, the app, a Gymnasium env).

``Simulation.set_input(node, vector)`` changes it without recompiling; the value is held
constant for every step of a chunk. Until set, every entry equals ``value``. With ``kind`` =
spikes the vector is delivered as spikes every step (0/1 per neuron; any value is passed on as
it is), e.g. for the input of a network imported from NIR (engine/nir_io).
"""
from __future__ import annotations

import numpy as np

from .base import CURRENT, SPIKES, VALUE, Component, Param, Port


class HostInput(Component):
    type_name = "host_input"
    elementwise = True
    fed_by_host = True  # set between chunks: its value travels in the small host-fed buffer
    title = "Host input"
    category = "Inputs"
    description = "A vector supplied from outside between chunks (held for the chunk)"
    params = (
        Param("size", "int", 1, min=1, help="length of the vector"),
        Param("kind", "choice", "current", choices=("current", "value", "spikes"),
              help="signal kind of the output"),
        Param("value", "float", 0.0, help="initial value of every entry"),
    )

    @classmethod
    def ports(cls, p):
        kind = {"current": CURRENT, "spikes": SPIKES}.get(p["kind"], VALUE)
        return [], [Port("out", kind, p["size"], help="the vector set by the host")]

    def live_params(self):
        return {"value": np.full(self.config["size"], self.config["value"], self.dtype)}

    def step(self, p, s, inputs, ctx):
        return s, {"out": p["value"]}
