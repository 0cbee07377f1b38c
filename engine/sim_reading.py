"""Reading a running Simulation (engine/simulation.py): watched outputs, a node's state, a
projection's current weights and a host-side node's picture.

``Reading`` is a mixin of ``Simulation``: it reads the simulation's model, state, consts, seed
and the host copy of the last chunk's read-back buffer (``_aux``).
"""
from __future__ import annotations

import numpy as np


class Reading:
    """What a Simulation shows between chunks (mixed into ``Simulation``)."""

    def output(self, name: str) -> np.ndarray:
        """Value of a watched "node.port" at the last simulated step."""
        if name not in self.watch:
            raise KeyError(f"'{name}' is not watched; pass watch=[...] to Simulation")
        if self._aux is None:
            return self.model.zeros_host(name)
        off, words, d = self._aux_at[("last", name)]
        return self._aux[off:off + words].view(d)

    def node_state(self, node: str) -> dict:
        """One node's state as NumPy arrays (a group member's own slice); KeyError if none.

        Copies the packed state to the host once and slices it there (``state``), so reading one
        node (the app does it every frame) costs no device work per leaf.
        """
        return self.state["nodes"][node]

    def weights(self, node: str) -> np.ndarray | None:
        """Current weights of projection ``node`` as a dense (n_pre, n_post) matrix (repeated
        synapses summed; a plastic projection's masked-out entries are 0), or None when the node
        has no synapses (not a projection, or unknown).

        Plastic projections keep their weights in their state (``w``/``W`` dense, masked by
        ``const["mask"]`` where present, or ``weights`` with ``const["targets"]``), static ones in
        their consts. A static projection that the compiler fused into a shared kernel has no
        state of its own: its synapses are drawn again from the same random stream
        (``node_rng(seed, model.seed_key(node))``), which gives exactly the weights in use, without a rebuild.
        """
        from spark_snn.components.projection import dense_matrix

        r = self.model.rnodes.get(node)
        if r is None:
            return self._fused_weights(node)
        sizes = getattr(r.comp, "sizes", {})
        n_pre, n_post = int(sizes.get("n_pre", 0)), int(sizes.get("n_post", 0))
        st = self.node_state(node)
        const = self.consts.get(node, {})
        if isinstance(st, dict):
            for key in ("w", "W"):
                if key in st and np.ndim(st[key]) == 2:
                    W = np.asarray(st[key])
                    if "mask" in const:
                        W = W * np.asarray(const["mask"], W.dtype)
                    return W
            if "weights" in st and "targets" in const:
                return dense_matrix({"targets": const["targets"], "weights": st["weights"]},
                                    n_pre, n_post)
        if "W" in const or "targets" in const:
            return dense_matrix(const, n_pre, n_post)
        return None

    def _fused_weights(self, node: str) -> np.ndarray | None:
        from .compiler import node_rng

        for gid in self.model.fused:
            for comp, nid, _si, _di in self.model.rnodes[gid].comp.members:
                if nid == node:
                    return comp.weight_matrix(*comp.synapses(
                        node_rng(self.seed, self.model.seed_key(nid))))
        return None

    def weights_change(self, node: str) -> bool:
        """Whether projection ``node``'s weights live in its state, i.e. change during a run
        (plastic projections); False for static or fused projections and other nodes."""
        if node not in self.model.rnodes:
            return False
        st = self.node_state(node)
        return isinstance(st, dict) and any(k in st for k in ("w", "W", "weights"))

    def render(self, node: str) -> np.ndarray | None:
        """A picture of host-side node ``node`` (a Gymnasium environment with an ``rgb_array``
        render): an (height, width, 3) uint8 array, or None when the node cannot draw itself
        (not host-side, no render mode, or its renderer is not installed)."""
        r = self.model.rnodes.get(node)
        fn = getattr(r.comp, "host_render", None) if r is not None else None
        if fn is None or not getattr(r.comp, "host_side", False):
            return None
        img = fn()
        if img is None:
            return None
        img = np.asarray(img)
        if img.ndim != 3 or img.shape[2] not in (3, 4) or img.dtype != np.uint8:
            return None
        return img[:, :, :3]

    def input_value(self, node: str, port: str) -> np.ndarray:
        """Value fed into ``node.port`` at the last step (sum over its edges; zeros if none)."""
        srcs = self.model.rnodes[node].sources.get(port, [])
        if not srcs:
            return self.model.zeros_host(f"{node}.{port}")
        return sum(self.output(s) for s in srcs)
