"""Box encoder (conjunctive grid): a point in D dimensions -> spikes of the one cell of its box.

Each dimension d is cut into bins by its increasing inner edges e_d1 < ... < e_dn (n_d edges give
n_d + 1 bins; the outer bins are open, so every point falls in exactly one box):

    i_d = number of edges e_dk <= x_d               bin index in dimension d, 0 .. n_d
    b   = (((i_0) B_1 + i_1) B_2 + i_2) ... + i_{D-1}    box index (first dimension slowest),
                                                     B_d = n_d + 1

There is one cell per box (B_0 B_1 ... B_{D-1} cells) and only the cell of the current box fires
(a conjunctive, "one-hot" code: the boxes of Barto, Sutton & Anderson 1983 for the cart-pole are
x: edges -0.8, 0.8 m; x_dot: -0.5, 0.5 m/s; theta: -6, -1, 0, 1, 6 degrees; theta_dot: -50, 50
degrees/s, i.e. 3 x 3 x 6 x 3 = 162 boxes). A readout that is linear in these cells is a table:
one weight per box, so a plastic projection from them learns a tabular policy or value.

Spikes of the active cell, at ``rate`` (Hz):

    regular:  a spike at the steps t with t mod P == 0,  P = max(1, round(1000 / (rate dt)))
              (P steps apart, in phase with the step counter: a cartpole whose observation
              changes every W steps with W a multiple of P gives exactly W / P spikes per
              observation; rate 0 gives no spikes)
    poisson:  P(spike) = rate dt / 1000 per step (Bernoulli approximation, see poisson_source)

``rates`` gives rate for the active cell and 0 for the others (deterministic; for plots), and
``box`` the box index b itself (as a value).

The parameter ``edges`` is text: the edges of each dimension separated by commas, dimensions
separated by semicolons, e.g. ``"-0.8, 0.8; -0.5, 0.5; -0.105, -0.017, 0, 0.017, 0.105;
-0.873, 0.873"``. A dimension with no edges (an empty entry) is ignored by the code (one bin).
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .base import SPIKES, VALUE, Component, Param, Port
from .poisson_source import bernoulli_spikes, raise_rate_problems, rate_problems

BSA_EDGES = ("-0.8, 0.8; -0.5, 0.5; -0.10472, -0.017453, 0, 0.017453, 0.10472; "
             "-0.87266, 0.87266")


def parse_edges(text: str) -> list[list[float]]:
    """The edges of each dimension from the text form (raises ValueError with the reason)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("needs at least one dimension (edges separated by commas, dimensions "
                         "by semicolons)")
    dims = []
    for d, part in enumerate(text.split(";")):
        vals = []
        for item in part.split(","):
            item = item.strip()
            if not item:
                continue
            try:
                v = float(item)
            except ValueError:
                raise ValueError(f"dimension {d}: {item!r} is not a number") from None
            if not math.isfinite(v):
                raise ValueError(f"dimension {d}: edges must be finite, got {item!r}")
            vals.append(v)
        if any(b <= a for a, b in zip(vals, vals[1:])):
            raise ValueError(f"dimension {d}: edges must increase strictly, got "
                             f"{', '.join(f'{v:g}' for v in vals)}")
        dims.append(vals)
    return dims


def box_count(dims) -> int:
    return int(np.prod([len(e) + 1 for e in dims]))


class BoxEncoder(Component):
    """One cell per box of a grid over the input space; the cell of the current box fires."""

    type_name = "box_encoder"
    title = "Box encoder"
    category = "Inputs"
    description = ("Encode a point by the spikes of the one cell whose box of a conjunctive grid "
                   "contains it")
    params = (
        Param("edges", "str", BSA_EDGES,
              help="inner bin edges of each dimension: numbers separated by commas, dimensions "
                   "by semicolons (n edges make n + 1 bins; the outer bins are open). The "
                   "default is the 162 boxes of Barto, Sutton & Anderson (1983) for the "
                   "cart-pole (x, x_dot, theta in rad, theta_dot in rad/s)"),
        Param("mode", "choice", "regular", choices=("regular", "poisson"),
              help="regular: a spike every round(1000 / (rate dt)) steps; poisson: random "
                   "spikes with P = rate dt / 1000 per step"),
        Param("rate", "float", 200.0, "Hz", min=0.0, help="firing rate of the active cell"),
    )

    @classmethod
    def ports(cls, p):
        try:
            dims = parse_edges(p["edges"])
        except ValueError:
            dims = [[]]
        return ([Port("value", VALUE, len(dims), required=True, help="the point to encode")],
                [Port("spikes", SPIKES, box_count(dims),
                      help="spikes of the cell of the current box (one cell per box)"),
                 Port("rates", VALUE, box_count(dims),
                      help="rate (Hz) of every cell: rate for the active one, else 0"),
                 Port("box", VALUE, 1, help="index of the current box")])

    @classmethod
    def check(cls, p):
        try:
            dims = parse_edges(p["edges"])
        except ValueError as exc:
            return [("edges", str(exc))]
        if box_count(dims) > 1_000_000:
            return [("edges", f"{box_count(dims)} boxes is too many (at most 1,000,000)")]
        return []

    @classmethod
    def check_dt(cls, p, dt: float):
        return rate_problems([("rate", p["rate"])], dt)

    def init(self, key, rng):
        raise_rate_problems(self.check_dt(self.config, self.dt))
        dims = parse_edges(self.config["edges"])
        width = max(1, max(len(e) for e in dims))
        # pad each dimension's edges with +inf so that they stack into one table
        table = np.full((len(dims), width), np.inf)
        for d, e in enumerate(dims):
            table[d, :len(e)] = e
        bins = np.asarray([len(e) + 1 for e in dims], np.int64)
        stride = np.ones(len(dims), np.int64)
        for d in range(len(dims) - 2, -1, -1):
            stride[d] = stride[d + 1] * bins[d + 1]
        return {"edges": table.astype(self.dtype), "stride": stride.astype(np.int32)}, {}

    def step(self, p, s, inputs, ctx):
        c = ctx.const
        n = self.size(box_count(parse_edges(self.config["edges"])))
        idx = jnp.sum(inputs["value"][:, None] >= c["edges"], axis=1).astype(jnp.int32)
        box = jnp.sum(idx * c["stride"])
        onehot = (jnp.arange(n) == box).astype(self.dtype)
        rate = p["rate"]
        if self.config["mode"] == "regular":
            steps = jnp.round(1000.0 / (jnp.maximum(rate, 1e-3) * self.dt))
            period = jnp.clip(steps, 1, 2 ** 30).astype(jnp.int32)
            fire = ((ctx.t % period) == 0) & (rate > 0)
            spikes = onehot * fire.astype(self.dtype)
        else:
            spikes = onehot * bernoulli_spikes(ctx.key, rate, self.dt, self.dtype)
        return s, {"spikes": spikes, "rates": onehot * rate.astype(self.dtype),
                   "box": jnp.reshape(box, (1,)).astype(self.dtype)}
