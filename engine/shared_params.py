"""Group parameters that every member holds as the same value, kept as one scalar.

A group of equal elementwise nodes (engine/compiler.py ``Model._group``) runs as one node whose
live parameters are, in general, one entry per neuron: each member's value repeated over its
neurons. When every member holds the same scalar (the 7-pool benchmark's LIF pools share all
six), the Simulation keeps that parameter as the scalar instead: the step then reads one value
instead of a vector per neuron (the native LIF kernel holds it in a register), and the prepared
values derived from it (decay factors, refractory steps) are scalars too. Every component's step
already takes scalar parameters (a node on its own has them), so the values are the same.

The choice is made when the Simulation builds its parameter layout. ``set_param`` giving one
member of a shared parameter a different value turns that parameter back into the per-neuron
form for good (a new layout: the chunks compile again once); so does assigning a parameter tree
in which the members differ.
"""
from __future__ import annotations

import numpy as np


def uniform_group_params(model, params, skip=frozenset()) -> frozenset:
    """The (group id, parameter name) pairs of ``model`` whose members all hold the same scalar
    in ``params`` (the same bits in the model's dtype), leaving out the groups in ``skip``."""
    out = set()
    for gid, mem in model.groups.items():
        if gid in skip:
            continue
        names = model.rnodes[mem[0][0]].comp.live_params().keys()
        for name in names:
            if same_scalar(model, params, gid, name):
                out.add((gid, name))
    return frozenset(out)


def same_scalar(model, params, gid: str, name: str) -> bool:
    """True when every member of group ``gid`` holds the same scalar ``name`` in ``params``."""
    vals = [params[m][name] for m, _, _ in model.groups[gid]]
    return np.shape(vals[0]) == () and all(same_bits(v, vals[0], model.dtype) for v in vals[1:])


def same_bits(a, b, dtype) -> bool:
    """True when ``a`` and ``b`` are the same value in ``dtype``, bit for bit."""
    a, b = np.asarray(a, dtype), np.asarray(b, dtype)
    return a.shape == b.shape and a.tobytes() == b.tobytes()
