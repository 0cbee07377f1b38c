"""The component contract: what every node type in Spark declares and implements.

A component is a class. Its *declaration* (class attributes and the ``ports`` classmethod) is read
by the validator, the editor and the registry without building anything. An *instance* is made by
the compiler for one node once the graph is valid; it holds that node's structural configuration
(``self.config``: every parameter value, plain Python) and the sizes its ports resolved to
(``self.sizes``), and provides the JAX functions:

``init(key, rng) -> (const, state)``
    ``const`` is a pytree the step reads but never changes (connectivity tables, fixed weights);
    ``state`` is the pytree the step evolves. ``key`` is a JAX PRNG key, ``rng`` a NumPy Generator,
    both derived from the run seed and the node id only.
``step(p, state, inputs, ctx) -> (state, outputs)``
    Pure. ``p`` maps every *live* parameter (numeric, not structural) to a JAX scalar or array, so a
    parameter edit during a run needs no recompilation. ``inputs`` maps every input port name to an
    array of shape ``(size,)`` (the sum over edges for a multi-edge port, zeros where nothing is
    connected). ``outputs`` maps every output port name to an array of shape ``(size,)``.
    ``ctx.t`` is the step index, ``ctx.dt`` the step in ms, ``ctx.key`` a PRNG key of this node
    and step, ``ctx.const`` the node's const pytree; ``getattr(ctx, "open_inputs", ())`` names
    the input ports nothing feeds, whose zeros a step may skip reading.

``prepare(p) -> dict`` (optional)
    Values that depend on the live parameters only (decay factors exp(-dt/tau), step counts):
    the engine computes them once per parameter change (or once per chunk), outside the
    per-step loop, and ``step`` (``read``/``update``) finds them in ``p`` next to the live
    parameters. A test calling ``step`` directly passes ``{**p, **comp.prepare(p)}``.

Host-side components (``host_side = True``, e.g. a Gymnasium environment) step outside the
compiled chunk: every ``host_period()`` steps (each node at its own period) the Simulation
stops the chunk and calls ``host_exchange(sim, node_id)``, which reads the values fed into the node
(``sim.input_value(node_id, port)``) and sets its live parameters (``sim.set_param``) that its
``step`` then outputs during the next chunk; ``host_reset(sim, node_id, seed)`` runs at reset.

Latched components (``latched = True``) have outputs that depend only on their state at the start
of a step (projections with a delay of at least one step, for instance). They implement
``read(p, state, ctx) -> outputs`` and ``update(p, state, inputs, ctx) -> state`` instead of
``step``; the engine reads every latched node before any other node steps and updates them last,
so a latched node never forms an instantaneous loop. See engine/schedule.py for the step semantics.

Elementwise components (``elementwise = True``; the neuron pools, current sources, host inputs)
treat every neuron independently: every state and const leaf and every port has the node's
``size`` as its one axis, ``step`` is correct when any live parameter is a per-neuron vector of
that length instead of a scalar, and ``step`` draws no random numbers. The compiler then runs all
nodes of such a type that share their structural settings as ONE node on concatenated vectors
(fewer, larger kernels per step), with the same results as running them one by one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import jax
import numpy as np

# --- Signal kinds -------------------------------------------------------------------------------
# Every port carries a 1-D array of shape (size,) per step.
SPIKES = "spikes"        # 0/1 per neuron and step (stored in the float dtype)
CURRENT = "current"      # a continuous input current, expressed as the voltage it drives (mV; R*I)
EVENTS = "events"        # weighted spike arrivals this step (mV), summed over the spikes that arrived
VALUE = "value"          # any real-valued vector (observations, membrane potentials, rates)
MODULATOR = "modulator"  # a scalar neuromodulator / reward-like signal, size 1
ACTION = "action"        # a discrete action index, size 1 (int32)

KINDS = (SPIKES, CURRENT, EVENTS, VALUE, MODULATOR, ACTION)
KIND_HELP = {
    SPIKES: "spikes (0/1 per neuron per step)",
    CURRENT: "input current (mV, as the voltage R*I it drives)",
    EVENTS: "weighted spike arrivals (mV per step)",
    VALUE: "real-valued vector",
    MODULATOR: "scalar neuromodulator",
    ACTION: "discrete action index",
}

STATE_VALUES = 4  # values per port value in Component.memory's default estimate

REQUIRED = object()  # sentinel default: the parameter must be given in the graph file

PARAM_KINDS = ("float", "int", "bool", "choice", "str", "text", "floats")


@dataclass(frozen=True)
class Param:
    """A declared parameter of a component.

    ``kind`` is one of float, int, bool, choice, str, text (a string of several lines, such as a
    model text), floats (a list of floats). Numeric ``float``
    parameters are *live* (editable while running without recompiling) unless ``structural`` is
    set; every other kind is structural: changing it rebuilds the model.
    ``min``/``max`` are inclusive bounds unless ``min_exclusive``/``max_exclusive`` are set.
    ``start`` (optional) is the value a node added in the editor starts with, where that differs
    from ``default``: the default is what a graph file means when it leaves the parameter out,
    and never changes (old files keep their meaning); a starting value only makes a new node more
    useful (e.g. a Poisson source big enough to drive a pool). New nodes store every value.

    ``host_written`` marks a live parameter that the host itself writes while the model runs (a
    host-side environment's outputs): it is not a setting. The editor does not show it and new
    nodes do not store it; a file that gives a value still opens (the value is only the
    initial fill, which the host overwrites at reset).
    """

    name: str
    kind: str
    default: Any = REQUIRED
    unit: str = ""
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    choices: tuple = ()
    help: str = ""
    structural: bool = False
    host_written: bool = False
    start: Any = None

    def __post_init__(self):
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"parameter {self.name!r}: a choice needs choices")

    @property
    def live(self) -> bool:
        """True when the value lives in the params pytree and can change without a rebuild."""
        return self.kind == "float" and not self.structural

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def initial(self):
        """The value a new node starts with: ``start`` if given, else the default."""
        return self.default if self.start is None else self.start

    def range_text(self) -> str:
        lo = "(" if self.min_exclusive else "["
        hi = ")" if self.max_exclusive else "]"
        a = "-inf" if self.min is None else f"{self.min:g}"
        b = "inf" if self.max is None else f"{self.max:g}"
        return f"{lo}{a}, {b}{hi}"


@dataclass(frozen=True)
class Port:
    """A declared input or output port.

    ``size`` is an int, or a symbol (a string such as ``"n_pre"``) that the engine binds from the
    sizes of the ports connected to it. ``multi`` input ports accept any number of edges (their
    values are summed); others accept at most one. A ``required`` input must be connected.
    """

    name: str
    kind: str
    size: int | str
    multi: bool = False
    required: bool = False
    help: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"port {self.name!r}: unknown signal kind {self.kind!r}")


class DeclarationError(Exception):
    """Raised by ``Component.node_params`` when a node's parameters cannot be known (for an
    equation-defined node: its model text has errors). ``problems`` lists (parameter name or
    None, message) pairs, reported like any other validation problem."""

    def __init__(self, problems: list[tuple[str | None, str]]):
        super().__init__("; ".join(m for _, m in problems))
        self.problems = list(problems)


class Ctx(NamedTuple):
    """What the engine passes to a step besides params, state and inputs."""

    t: Any          # int32 step index (0 at reset)
    dt: float       # time step in ms (static)
    key: Any        # a fresh PRNG key for this node and this step
    const: Any      # the node's read-only pytree from init


class Component:
    """Base class of every node type. See the module docstring for the contract."""

    type_name: ClassVar[str] = ""      # registry key, used in graph files
    title: ClassVar[str] = ""          # human-readable name for the palette
    category: ClassVar[str] = "Other"  # palette group
    params: ClassVar[tuple[Param, ...]] = ()
    latched: ClassVar[bool] = False
    elementwise: ClassVar[bool] = False  # see the module docstring (grouping of equal nodes)
    fed_by_host: ClassVar[bool] = False  # live params rewritten by the host between most chunks
    description: ClassVar[str] = ""    # one line for the palette tooltip

    def __init__(self, config: dict, sizes: dict, dt: float, dtype):
        self.config = dict(config)
        self.sizes = dict(sizes)
        self.dt = float(dt)
        self.dtype = dtype
        self.declared = type(self).node_params(self.config)  # this node's parameters

    # --- declaration --------------------------------------------------------------------------
    @classmethod
    def node_params(cls, values: dict) -> tuple[Param, ...]:
        """The parameters of one node whose values in the graph file are ``values`` (raw, not
        yet checked). Most types have a fixed set, ``params``; a type whose parameters follow
        from the value of another one (an equation-defined node declares its parameters in its
        model text) overrides this, and raises DeclarationError when they cannot be known.
        Validation, the compiler, the Simulation and the inspector read parameters through it."""
        return cls.params

    @classmethod
    def shown_params(cls, values: dict) -> tuple[Param, ...]:
        """``node_params``, or the fixed ``params`` where those cannot be known (a model text
        with errors), so that an editor can still show the node and let the user fix it."""
        try:
            return tuple(cls.node_params(values))
        except DeclarationError:
            return tuple(cls.params)

    @classmethod
    def node_param(cls, values: dict, name: str) -> Param:
        """The parameter ``name`` of the node with values ``values`` (KeyError if none)."""
        for prm in cls.node_params(values):
            if prm.name == name:
                return prm
        raise KeyError(name)

    @classmethod
    def ports(cls, p: dict) -> tuple[list[Port], list[Port]]:
        """(inputs, outputs) for parameter values ``p`` (already type-checked, defaults filled)."""
        return [], []

    @classmethod
    def check(cls, p: dict) -> list[tuple[str | None, str]]:
        """Cross-parameter checks: a list of (parameter name or None, message)."""
        return []

    @classmethod
    def check_dt(cls, p: dict, dt: float) -> list[tuple[str | None, str]]:
        """Checks that need the time step (e.g. a rate too high for dt)."""
        return []

    @classmethod
    def check_sizes(cls, p: dict, sizes: dict) -> list[tuple[str | None, str]]:
        """Checks that need the resolved port sizes: a list of (parameter or None, message)."""
        return []

    @classmethod
    def memory(cls, p: dict, sizes: dict, itemsize: int) -> dict[str, int]:
        """Estimated bytes a node with parameters ``p`` and resolved port sizes ``sizes`` needs
        while it is built and run, by kind ("state", "synapses", "delay buffers"), for the
        check before anything is allocated (engine/memory.py). ``itemsize``: bytes of the model's
        float. Default: STATE_VALUES values per value its ports carry (its state, live
        parameters per neuron, prepared values, and the copies the compiled chunk holds),
        which fits the neuron pools (measured: about 20 float32 values per LIF neuron and its
        current source). Types that hold more than per-port vectors (synapses, buffers)
        override this."""
        ins, outs = cls.ports(p)
        n = sum(port.size if isinstance(port.size, int) else int(sizes.get(port.size) or 0)
                for port in list(ins) + list(outs))
        return {"state": STATE_VALUES * n * itemsize}

    @classmethod
    def param(cls, name: str) -> Param:
        for prm in cls.params:
            if prm.name == name:
                return prm
        raise KeyError(name)

    @classmethod
    def editable_params(cls, values: dict | None = None) -> tuple[Param, ...]:
        """The parameters a user sets for the node with values ``values`` (the editor's fields):
        ``shown_params`` without the ``host_written`` ones."""
        return tuple(p for p in cls.shown_params(values or {}) if not p.host_written)

    @classmethod
    def defaults(cls) -> dict:
        return {p.name: p.default for p in cls.params if not p.required}

    # --- runtime ------------------------------------------------------------------------------
    def size(self, port_size: int | str) -> int:
        """Resolve a port size (int or symbol) to an int for this instance."""
        return port_size if isinstance(port_size, int) else int(self.sizes[port_size])

    def init(self, key, rng: np.random.Generator):
        """Return (const, state). Default: nothing."""
        return {}, {}

    def step(self, p, state, inputs, ctx: Ctx):
        if self.latched:
            return self.update(p, state, inputs, ctx), self.read(p, state, ctx)
        raise NotImplementedError(f"{type(self).__name__}.step")

    def read(self, p, state, ctx: Ctx):
        raise NotImplementedError(f"{type(self).__name__}.read")

    def update(self, p, state, inputs, ctx: Ctx):
        raise NotImplementedError(f"{type(self).__name__}.update")

    def prepare(self, p) -> dict:
        """Values derived from the live parameters ``p`` alone, added to ``p`` before ``step``
        (see the module docstring). Default: none."""
        return {}

    def live_params(self) -> dict:
        """Initial values of the live parameters as arrays of this model's dtype."""
        out = {}
        for prm in self.declared:
            if prm.live:
                out[prm.name] = np.asarray(self.config[prm.name], dtype=self.dtype)
        return out


def fdt(x, dtype):
    """Cast a Python number or array to the model's float dtype (a tiny convenience for steps)."""
    return jax.numpy.asarray(x, dtype=dtype)
