"""Saving, loading, snapshotting and restoring a Simulation's state (engine/simulation.py).

``SavedStates`` is a mixin of ``Simulation``; the file format and the comparison of graphs live
in engine/state.py, which these methods call.
"""
from __future__ import annotations

import jax
import numpy as np


class SavedStates:
    """A Simulation's saved states and in-memory snapshots (mixed into ``Simulation``)."""

    def save_state(self, path, meta: dict | None = None) -> str:
        """Write the complete state to ``path`` (every state variable, weights, delay buffers,
        RNG key, step, live parameters, host-side environments): engine/state.py describes the
        file. StateError when a host-side node cannot save its state. Returns the path."""
        from .state import save_simulation
        return save_simulation(self, path, meta)

    def load_state(self, path, params: str = "state"):
        """Continue from the state saved in ``path``: StateError (naming every node and
        parameter that differs) when it belongs to a structurally different graph. Live
        parameters may differ: ``params="state"`` uses the saved values (running on gives
        exactly what the saving run would have), ``"graph"`` keeps this simulation's. Returns
        an engine.state.LoadReport (the step, the seed, the parameter differences)."""
        from .state import load_simulation
        return load_simulation(self, path, params)

    def snapshot(self):
        """The current state in memory (engine.state.Snapshot), for ``restore``."""
        from .state import Snapshot, host_states
        return Snapshot(self.t, self.seed, np.array(self._packed, copy=True),
                        {n: {k: np.array(v, copy=True) for k, v in vals.items()}
                         for n, vals in self.params.items()}, host_states(self))

    def restore(self, snap, params: bool = True) -> list[str]:
        """Go back (or forward) to ``snap``. ``params``: also restore the live parameters of
        then (else keep the current ones, except those host-side nodes write). Returns the
        parameter differences between then and now, as sentences."""
        from .state import apply_params, restore_hosts
        if snap.seed != self.seed:
            self.reset(seed=snap.seed)
        self._packed = jax.device_put(snap.packed)
        self._t = int(snap.t)
        diffs = apply_params(self, snap.params, use_saved=params)
        restore_hosts(self, snap.host)
        self._after_jump()
        return diffs
