"""Place-cell (Gaussian tuning curve) encoder: a point in D dimensions -> Poisson spikes.

For dimension d (D = len(low)) there are K = cells_per_dim cells with centres evenly spaced over
[low_d, high_d] (c_dk = low_d + k * s_d with spacing s_d = (high_d - low_d) / (K - 1)) and
tuning width sigma_d = width * s_d. Cell k of dimension d fires at

    rate_dk = max_rate * exp(-(x_d - c_dk)^2 / (2 sigma_d^2))      (Hz)

as a Poisson neuron (Bernoulli approximation: P(spike) = rate * dt / 1000 per step, see
poisson_source). Outputs are dimension-major: cell k of dimension d is entry d * K + k of both
``spikes`` and ``rates`` (the deterministic rates, for plots and tests).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import SPIKES, VALUE, Component, Param, Port
from .poisson_source import bernoulli_spikes, raise_rate_problems, rate_problems


class PlaceCellEncoder(Component):
    """Gaussian place cells per dimension with Poisson spikes (see the module docstring)."""

    type_name = "place_cell_encoder"
    title = "Place-cell encoder"
    category = "Inputs"
    description = "Encode a point as Poisson spikes of cells with Gaussian tuning curves"
    params = (
        Param("low", "floats", [0.0], help="lower end of each dimension (one entry per dimension)"),
        Param("high", "floats", [1.0], help="upper end of each dimension (one entry per dimension)"),
        Param("cells_per_dim", "int", 10, min=2, max=100_000,
              help="cells per dimension, centres evenly spaced from low to high"),
        Param("width", "float", 1.0, min=0.0, min_exclusive=True,
              help="tuning-curve sigma as a fraction of the spacing between centres"),
        Param("max_rate", "float", 100.0, "Hz", min=0.0, help="rate of a cell at its centre"),
    )

    @classmethod
    def ports(cls, p):
        dims = len(p["low"])
        n = dims * p["cells_per_dim"]
        return ([Port("value", VALUE, dims, required=True, help="the point to encode")],
                [Port("spikes", SPIKES, n, help="Poisson spikes of the cells (dimension-major)"),
                 Port("rates", VALUE, n, help="the cells' rates (Hz) for the current point")])

    @classmethod
    def check(cls, p):
        low, high = p["low"], p["high"]
        if not low:
            return [("low", "needs at least one dimension")]
        if len(low) != len(high):
            return [("high", f"low has {len(low)} entries but high has {len(high)}; give one "
                             "entry per dimension in both")]
        bad = [d for d in range(len(low)) if not low[d] < high[d]]
        if bad:
            d = bad[0]
            return [("high", f"high must be above low in every dimension; dimension {d} has "
                             f"low = {low[d]:g}, high = {high[d]:g}")]
        return []

    @classmethod
    def check_dt(cls, p, dt: float) -> list[tuple[str, str]]:
        """Checks that need the time step: max_rate * dt / 1000 <= 1."""
        return rate_problems([("max_rate", p["max_rate"])], dt)

    def init(self, key, rng):
        raise_rate_problems(self.check_dt(self.config, self.dt))
        low = np.asarray(self.config["low"], np.float64)
        high = np.asarray(self.config["high"], np.float64)
        k = self.config["cells_per_dim"]
        spacing = (high - low) / (k - 1)
        centres = low[:, None] + spacing[:, None] * np.arange(k)[None, :]
        return {"centres": centres.astype(self.dtype), "spacing": spacing.astype(self.dtype)}, {}

    def step(self, p, s, inputs, ctx):
        c = ctx.const
        sigma = p["width"] * c["spacing"]
        d = inputs["value"][:, None] - c["centres"]
        rates = p["max_rate"] * jnp.exp(-(d * d) / (2.0 * (sigma * sigma)[:, None]))
        rates = rates.reshape(-1).astype(self.dtype)
        return s, {"spikes": bernoulli_spikes(ctx.key, rates, self.dt, self.dtype),
                   "rates": rates}
