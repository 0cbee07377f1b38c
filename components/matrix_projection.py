"""Matrix projection: spikes -> weighted spike arrivals through a given weight matrix.

Unlike ``projection``, whose synapses are drawn from the run seed, the weights are stored in the
graph file: ``weights`` lists n_post x n_pre numbers row by row, one row per post-synaptic
neuron (the (out, in) layout of NIR's Affine and Linear nodes and of torch.nn.Linear), so row j
holds the weights from every pre neuron onto post neuron j. ``bias`` (empty, or one number per
post neuron) is added to the arrivals every step, whether or not anything spiked.

A spike vector s entering at step t delivers ``W s + bias`` at step t + delay_steps (delay_steps
>= 1, as ``projection``). Connect ``events`` to a pool's ``syn`` input (exponential current) or
``jump`` input (voltage jump). Propagation is always dense (a matrix product), so the ``pre``
input may also carry non-binary values (an imported network's analog input). Networks imported
from NIR use it (engine/nir_io); the weights are structural, so editing them rebuilds the model.
"""
from __future__ import annotations

import numpy as np

from .base import Param
from .projection import Projection


class MatrixProjection(Projection):
    """``projection``'s ports, sizes and delay line, with weights from the file (dense)."""

    type_name = "matrix_projection"
    title = "Matrix projection"
    description = "Synapses with weights given as a matrix (and a bias), e.g. imported from NIR"
    params = (
        Param("weights", "floats", [1.0], "mV",
              help="n_post x n_pre weights, row by row (row j: the weights onto post neuron j)"),
        Param("bias", "floats", [], "mV",
              help="added to every post neuron's arrivals each step (empty, or one per post "
                   "neuron)"),
        Projection.param("delay_steps"),
    )

    @classmethod
    def check_sizes(cls, p, sizes):
        n_pre, n_post = sizes.get("n_pre"), sizes.get("n_post")
        if n_pre is None or n_post is None:
            return []
        out = []
        if len(p["weights"]) != n_pre * n_post:
            out.append(("weights", f"{len(p['weights'])} weights given, but {n_post} post x "
                                   f"{n_pre} pre neurons need {n_pre * n_post}"))
        if p["bias"] and len(p["bias"]) != n_post:
            out.append(("bias", f"{len(p['bias'])} bias values given for {n_post} post neurons"))
        return out

    @property
    def dense(self) -> bool:
        return True

    def matrix(self) -> np.ndarray:
        """The weights as an (n_pre, n_post) matrix (the engine's orientation: spikes @ W)."""
        w = np.asarray(self.config["weights"], np.float64).reshape(self.n_post, self.n_pre)
        return w.T.astype(self.dtype)

    def synapses(self, rng):
        """(pre, post, w) of the non-zero weights (nothing is drawn)."""
        W = self.matrix()
        pre, post = np.nonzero(W)
        return pre, post, W[pre, post]

    def init(self, key, rng):
        bias = self.config["bias"] or [0.0] * self.n_post
        const = {"W": self.matrix(), "bias": np.asarray(bias, self.dtype)}
        return const, {"buf": np.zeros((self.config["delay_steps"], self.n_pre), self.dtype)}

    def read(self, p, state, ctx):
        return {"events": super().read(p, state, ctx)["events"] + ctx.const["bias"]}
