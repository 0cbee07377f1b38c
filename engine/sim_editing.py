"""Editing the live parameters of a running Simulation (engine/simulation.py) between chunks,
without recompiling: ``set_param``, ``set_input`` and the promoted parameters of composite
instances; StructuralEdit for a parameter that needs a rebuild.

``Editing`` is a mixin of ``Simulation``: it writes into the simulation's host copies of the
packed parameter buffers (engine/packing.py) and the live parameter tree.
"""
from __future__ import annotations

import math

import numpy as np

from .packing import StatePacker
from .problems import GraphError, Problem
from .registry import registry
from .shared_params import same_bits
from .validate import check_value


class StructuralEdit(ValueError):
    """Raised by set_param for a parameter that needs a rebuild (sizes, connectivity, ...)."""


class Editing:
    """Live parameter edits of a Simulation (mixed into ``Simulation``)."""

    def set_param(self, node: str, name: str, value) -> None:
        """Change a live parameter between chunks (no recompilation, except once when one member
        of a group of pools first departs from a value all members shared: see
        engine/shared_params.py).

        Raises StructuralEdit for a parameter that changes the model's structure, and GraphError
        (naming node and parameter) for an unknown node/parameter or a bad value. Cheap enough to
        call before every chunk (a few microseconds).
        """
        self._not_in_operation("set_param")
        spec = self._param_specs.get((node, name))
        if spec is None:
            if node not in self.graph.nodes and node in self.instances:
                return self._set_promoted(node, name, value)
            spec = self._param_spec(node, name)
        prm, shape, i, (off, n, w, d) = spec
        arr = np.asarray(value, dtype=self.model.dtype)
        if arr.ndim == 0:
            msg = check_value(prm, float(arr))
            if msg:
                raise GraphError([Problem(msg, node=node, param=name)])
            if not math.isnan(float(arr)):
                self.graph.nodes[node].params[name] = float(arr)
            arr = np.broadcast_to(arr, shape) if shape else arr
        elif arr.shape != shape:
            raise GraphError([Problem(f"expected shape {shape}, got {arr.shape}",
                                      node=node, param=name)])
        elif not np.isfinite(arr).all():
            raise GraphError([Problem("values must be finite", node=node, param=name)])
        before = self._params[node][name]
        self._params = {**self._params, node: {**self._params[node], name: arr}}
        key = (self.model.group_of.get(node), name)
        if key in self._shared and not same_bits(arr, before, self.model.dtype):
            self._unshare({key})  # the members now differ: per-neuron values from here on
            self.params = self._params
            return
        # into the host copy of its packed buffer: the small host-fed one is copied first (a
        # buffer already handed to JAX may still be aliased), the large one is edited in place
        # and uploaded again before the next chunk
        if i == 0:
            self._host[0] = self._host[0].copy()
        else:
            self._rest_dev = None
        StatePacker.write(self._host[i], off, n, w, d, arr)

    @property
    def instances(self) -> dict:
        """Composite instances by dotted path (engine/composite/flatten.py ``Instance``): their
        promoted parameters can be set with ``set_param(path, name, value)``."""
        flat = self.model.composite
        return {} if flat is None else flat.instances

    def _set_promoted(self, node: str, name: str, value) -> None:
        """Set promoted parameter ``name`` of instance ``node``: every inner parameter it drives
        (checked first, all or none)."""
        from .composite.types import Types
        inst = self.instances[node]
        if name not in inst.targets:
            raise GraphError([Problem(f"unknown parameter for component '{inst.definition}'",
                                      node=node, param=name)])
        types = Types(self.model.source_graph)
        defn = types.definition(inst.definition)
        prm = types.promoted_spec(defn, defn.promoted(name))
        if prm is None or not prm.live:
            raise StructuralEdit(f"node '{node}', parameter '{name}': changing it rebuilds the "
                                 "model (it is structural)")
        arr = np.asarray(value, dtype=self.model.dtype)
        if arr.ndim == 0:
            msg = check_value(prm, float(arr))
            if msg:
                raise GraphError([Problem(msg, node=node, param=name)])
        for target in inst.targets[name]:
            try:
                self._param_specs.get(target) or self._param_spec(*target)
            except StructuralEdit:
                raise StructuralEdit(f"node '{node}', parameter '{name}': changing it rebuilds "
                                     f"the model (it drives {'.'.join(target)})") from None
        for target in inst.targets[name]:
            self.set_param(*target, value)
        inst.values[name] = float(arr) if arr.ndim == 0 else arr

    def _param_spec(self, node: str, name: str):
        """Check once that ``node.name`` is a live parameter; cache where it lives."""
        if node not in self.graph.nodes:
            raise GraphError([Problem("no such node", node=node)])
        cls = registry().get(self.graph.nodes[node].type)
        try:
            prm = cls.node_param(self.graph.nodes[node].params, name)
        except KeyError:
            raise GraphError([Problem(f"unknown parameter for type '{cls.type_name}'",
                                      node=node, param=name)]) from None
        if not prm.live:
            raise StructuralEdit(f"node '{node}', parameter '{name}': changing it rebuilds the "
                                 "model (it is structural)")
        if node not in self.params:
            raise StructuralEdit(f"node '{node}' was fused; rebuild to change '{name}'")
        shape = tuple(np.shape(self.params[node][name]))
        rid, off, n = self.model.param_location(node)
        i = 0 if rid in self._fed_ids else 1
        packer = (self._fpacker, self._rpacker)[i]
        start, size, w, d = packer.slot((rid, name))
        if n is not None and (rid, name) not in self._shared:
            # a group member: its own slice of the group's per-neuron values (a shared
            # parameter is one scalar: set_param leaves it or unshares it)
            start, size = start + off * w, n
        spec = (prm, shape, i, (start, size, w, d))
        self._param_specs[(node, name)] = spec
        return spec

    def set_input(self, node: str, value) -> None:
        """Set the vector a host-input node presents from the next chunk on."""
        self.set_param(node, "value", value)
