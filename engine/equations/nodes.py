"""Node types defined by a model text: neuron pools, synaptic dynamics and plasticity rules.

They are components like any other (components/base.py): their parameters and ports follow from
the text (``node_params``, ``ports``), the declared parameters are live (editable while running
without recompiling), and the pools are elementwise, so equal pools run as one group. The text
itself and the integration method are structural: changing them rebuilds the model.

Step of a pool (``equation_pool``, ``equation_synapse``), per neuron:

1. ``on INPUT:`` blocks of the events/spikes inputs that arrived (input != 0). Such an arrival
   stands for the previous step (Brian2's ``on_pre``), so a variable held while refractory
   (``unless refractory``) does not take it when the neuron spiked or was refractory at the
   previous step (steps s+1 .. s+max(n_ref, 1) after a spike at s);
2. the equations advance by dt (``method``); with ``unless refractory`` a variable keeps its
   value of the start of the step while the neuron is refractory;
3. ``on INPUT after integration:`` blocks;
4. ``threshold``: a neuron that is not refractory and meets it spikes;
5. ``on INPUT after threshold:`` blocks, then ``reset:`` for the neurons that spiked, which
   become refractory for ``refractory`` (whole steps, the built-in pools' rule).

Step of a plasticity rule (``equation_plasticity``, latched like every projection): it emits the
spikes that left the pre pool ``delay_steps`` ago weighted by its ``weight`` variable, then
1. the equations advance by dt; 2. ``on_pre:`` (where the pre neuron spiked this step) and
``on_post:`` (where the post neuron spiked) run on the same values, their changes added, so the
order of the two blocks does not matter; 3. ``on_step:``; 4. ``clip`` bounds; synapses that do not
exist stay 0.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from spark_snn.components.base import (CURRENT, EVENTS, MODULATOR, SPIKES, VALUE, Component,
                             DeclarationError, Param, Port)
from spark_snn.components.lif import BIG, refractory_steps
from spark_snn.components.stdp_projection import initial_weights, plastic_memory, structure_params

from .check import Model, check_model
from .defaults import DEFAULT_TEXT
from .syntax import ModelError, Name
from .translate import METHODS, Integrator, compile_expr, linear_system

PORT_KIND = {"current": CURRENT, "value": VALUE, "events": EVENTS, "spikes": SPIKES,
             "modulator": MODULATOR}


def _error_text(err: ModelError) -> str:
    return str(err) + (f" [{err.term}]" if err.term and err.term not in str(err) else "")


class EquationNode(Component):
    """Shared declaration machinery of the equation-defined node types."""

    model_kind = "neuron"
    base_params: tuple[Param, ...] = ()

    @classmethod
    def model_of(cls, values: dict) -> Model:
        """The checked model text of a node with these values (cached by text)."""
        text = values.get("model", DEFAULT_TEXT[cls.model_kind])
        return check_model(text, cls.model_kind, tuple(p.name for p in cls.base_params))

    @classmethod
    def node_params(cls, values):
        text = values.get("model", DEFAULT_TEXT[cls.model_kind])
        if not isinstance(text, str):
            raise DeclarationError([("model", f"the model text must be a string, got "
                                              f"{type(text).__name__}")])
        m = cls.model_of(values)
        if m.errors:
            raise DeclarationError([("model", _error_text(e)) for e in m.errors])
        declared = tuple(
            Param(d.name, "float", float(d.value), "" if d.unit.text == "1" else d.unit.text,
                  min=d.lo, max=d.hi, min_exclusive=d.lo_open, max_exclusive=d.hi_open,
                  help=d.help)
            for d in m.params)
        return cls.base_params + declared

    @classmethod
    def check(cls, p):
        m = cls.model_of(p)
        try:
            if p["method"] == "exact":
                linear_system(m)
        except ModelError as err:
            return [("method", _error_text(err))]
        return []

    def scaled_params(self, p, xp=jnp) -> dict:
        """The live parameters in internal units (a file value times its unit's scale)."""
        out = {}
        for d in self.model.params:
            v = p[d.name]
            out[d.name] = v if d.unit.scale == 1.0 else v * d.unit.scale
        return out

    def prepare(self, p) -> dict:
        """Factors of the integration that depend on the live parameters only (Integrator.
        prepare), for an engine that computes such values once per chunk; the step computes
        them itself when they are not among its parameters."""
        env = self.scaled_params(p)
        env["dt"] = self.dt
        return self.integrator.prepare(env, self.dt)

    def step_env(self, p, ctx) -> dict:
        """The names a step's expressions read besides variables and inputs: the parameters
        in internal units, dt, t and the prepared factors."""
        env = self.scaled_params(p)
        env["dt"] = self.dt
        env["t"] = ctx.t * self.dt
        prepared = {k: v for k, v in p.items() if k.startswith("__")}
        env.update(prepared or self.prepare(p))
        return env

    def init_values(self, rng, shapes: dict) -> dict:
        """Initial values of the variables (NumPy, internal units) in declaration order."""
        m = self.model
        env = {d.name: float(self.config[d.name]) * d.unit.scale for d in m.params}
        env["dt"] = self.dt
        out = {}
        for v in m.variables:
            shape = shapes[v.role]
            size = int(np.prod(shape))
            if v.init is None:
                value = np.zeros(shape)
            else:
                value = compile_expr(v.init, m, np, rng, size)(env)
                value = np.broadcast_to(np.reshape(value, shape) if np.size(value) == size
                                        else value, shape)
            env[v.name] = value
            out[v.name] = np.array(value, self.dtype)
        return out


class EquationPool(EquationNode):
    """A pool of neurons defined by a model text (see the module docstring)."""

    type_name = "equation_pool"
    title = "Equation pool"
    category = "Neurons"
    description = "Neurons defined by equations: variables, threshold, reset, refractoriness"
    elementwise = True
    model_kind = "neuron"
    base_params = (
        Param("size", "int", 100, min=1, max=10_000_000, help="number of neurons"),
        Param("method", "choice", "auto", choices=METHODS,
              help="integration method: auto (exact if linear, else exponential Euler), exact, "
                   "exponential_euler, euler, rk2, rk4"),
        Param("model", "text", DEFAULT_TEXT["neuron"],
              help="the model text: parameters, variables, equations, threshold, reset"),
    )
    params = base_params

    @classmethod
    def memory(cls, p, sizes, itemsize):
        """The default (values per port value) plus every variable of the text per neuron,
        with its copies."""
        out = super().memory(p, sizes, itemsize)
        n_vars = len(cls.model_of(p).variables)
        out["state"] += 4 * n_vars * int(p["size"]) * itemsize
        return out

    @classmethod
    def ports(cls, p):
        m = cls.model_of(p)
        n = p["size"]
        ins = [Port(d.name, PORT_KIND[d.kind], n, multi=True,
                    help=d.help or f"{d.kind} ({d.unit.text})") for d in m.inputs]
        outs = []
        if m.threshold is not None:
            outs.append(Port("spikes", SPIKES, n, help="1 where a neuron spiked this step"))
        for o in m.outputs:
            unit = m.var_dims[o.name][2] if o.expr is None else ""
            outs.append(Port(o.name, PORT_KIND[o.kind], n,
                             help=o.help or (f"{o.name} after this step" +
                                             (f" ({unit})" if unit else ""))))
        return ins, outs

    def __init__(self, config, sizes, dt, dtype):
        super().__init__(config, sizes, dt, dtype)
        m = self.model = type(self).model_of(config)
        self.integrator = Integrator(m, config["method"], jnp)
        self.unless = [x for x, eq in m.equations.items() if eq.unless_refractory]
        self.threshold = None if m.threshold is None else compile_expr(m.threshold, m, jnp)
        self.refractory = None if m.refractory is None else compile_expr(m.refractory, m, jnp)
        self.events = {phase: [] for phase in ("start", "integration", "threshold")}
        for event, block in m.blocks.items():
            if event.startswith("on "):
                name, _, phase = event[3:].partition(" after ")
                self.events[phase or "start"].append((name, self._block(block, name)))
        self.reset = self._block(m.blocks["reset"], None) if "reset" in m.blocks else []
        self.outputs = [(o.name, o.expr is None,
                         compile_expr(o.expr, m, jnp) if o.expr is not None else None)
                        for o in m.outputs]

    def _block(self, block, event_input):
        out = []
        for st in block.statements:
            plain = (st.op in ("+=", "-=") and isinstance(st.expr, Name)
                     and st.expr.id == event_input)  # adding 0 where nothing arrived: no mask
            out.append((st.target, st.op, compile_expr(st.expr, self.model, jnp), plain))
        return out

    def init(self, key, rng):
        n = self.config["size"]
        state = self.init_values(rng, {"state": (n,)})
        if self.refractory is not None:
            state["since"] = np.full(n, BIG, np.int32)
        return {}, state

    def step(self, p, s, inputs, ctx):
        m = self.model
        env = self.step_env(p, ctx)
        for d in m.inputs:
            x = inputs[d.name]
            env[d.name] = x if d.unit.scale == 1.0 else x * d.unit.scale
        start = {v.name: s[v.name] for v in m.variables}
        vals = dict(start)
        refractory = lost = None
        if self.refractory is not None:
            since = jnp.minimum(s["since"] + 1, BIG)
            n_ref = refractory_steps({"t_ref": self.refractory({**env, **start})}, self.dt)
            refractory = since < n_ref
            # an arrival at the start of a step stands for the previous step (Brian2's on_pre):
            # a held variable loses it when the neuron spiked or was refractory then
            lost = since <= jnp.maximum(n_ref, 1)
        for name, stmts in self.events["start"]:
            vals = run_block(stmts, vals, env, env[name] != 0, self.unless, lost)
        vals.update(self.integrator.advance(vals, env, self.dt))
        for name, stmts in self.events["integration"]:
            vals = run_block(stmts, vals, env, env[name] != 0)
        new = {}
        if refractory is not None:
            for x in self.unless:
                vals[x] = jnp.where(refractory, start[x], vals[x])
        outs = {}
        if self.threshold is not None:
            spike = self.threshold({**env, **vals})
            if refractory is not None:
                spike = spike & ~refractory
            for name, stmts in self.events["threshold"]:
                vals = run_block(stmts, vals, env, env[name] != 0)
            vals = run_block(self.reset, vals, env, spike)
            if refractory is not None:
                new["since"] = jnp.where(spike, 0, since)
            outs["spikes"] = spike.astype(self.dtype)
        n = self.config["size"]
        scope = {**env, **vals}
        for name, is_var, fn in self.outputs:
            if is_var:
                scale = m.var_dims[name][1]
                value = vals[name] if scale == 1.0 else vals[name] / scale
            else:
                value = fn(scope)
            outs[name] = jnp.broadcast_to(jnp.asarray(value, self.dtype), (n,))
        for v in m.variables:
            new[v.name] = jnp.broadcast_to(jnp.asarray(vals[v.name], self.dtype), (n,))
        return new, outs


def run_block(stmts, vals, env, mask, held=(), lost=None):
    """Run statements in order where ``mask`` holds (sequential: a statement sees the ones
    above it); a variable in ``held`` is not changed where ``lost`` holds. Returns the new
    variable values."""
    vals = dict(vals)
    for target, op, fn, plain in stmts:
        old = vals[target]
        rhs = fn({**env, **vals})
        new = _apply(op, old, rhs)
        where = None if plain else mask
        if lost is not None and target in held:
            where = ~lost if where is None else where & ~lost
        vals[target] = new if where is None else jnp.where(where, new, old)
    return vals


def _apply(op, old, rhs):
    if op == "=":
        return jnp.broadcast_to(rhs, jnp.shape(old)) if jnp.ndim(rhs) < jnp.ndim(old) else rhs
    if op == "+=":
        return old + rhs
    if op == "-=":
        return old - rhs
    if op == "*=":
        return old * rhs
    return old / rhs


class EquationSynapse(EquationPool):
    """Synaptic dynamics per post-synaptic neuron (events in, a current out), from a text."""

    type_name = "equation_synapse"
    title = "Equation synapse"
    category = "Synapses"
    description = "Synaptic dynamics defined by equations (e.g. events in, a current out)"
    model_kind = "synapse"
    base_params = (
        EquationPool.base_params[0], EquationPool.base_params[1],
        Param("model", "text", DEFAULT_TEXT["synapse"],
              help="the model text: parameters, variables, equations, inputs and outputs"),
    )
    params = base_params


class EquationPlasticity(EquationNode):
    """A projection whose synapses follow a plasticity rule given as a model text."""

    type_name = "equation_plasticity"
    title = "Equation plasticity"
    category = "Plasticity"
    description = "Projection whose weights learn by a rule defined by equations (on_pre, on_post)"
    latched = True
    model_kind = "plasticity"
    base_params = tuple(p for p in structure_params() if p.name not in ("w_min", "w_max")) + (
        Param("method", "choice", "auto", choices=METHODS,
              help="integration method of the rule's equations"),
        Param("model", "text", DEFAULT_TEXT["plasticity"],
              help="the rule: synapse/pre/post variables, equations, on_pre, on_post, clip"),
    )
    params = base_params

    @classmethod
    def node_params(cls, values):
        out = super().node_params(values)
        m = cls.model_of(values)
        unit = next(v.unit.text for v in m.variables if v.role == "weight") \
            if any(v.role == "weight" for v in m.variables) else ""
        return tuple(Param(p.name, p.kind, p.default, unit, p.min, p.max, p.min_exclusive,
                           p.max_exclusive, p.choices, p.help, p.structural)
                     if p.name == "weight" and unit and unit != "1" else p for p in out)

    @classmethod
    def memory(cls, p, sizes, itemsize):
        """As a plastic projection's (components/stdp_projection.py), with one dense matrix
        per synapse variable of the text, and the mask."""
        m = cls.model_of(p)
        n_dense = 1 + sum(1 for v in m.variables if v.role in ("synapse", "weight"))
        return plastic_memory(p, sizes, itemsize, n_dense)

    @classmethod
    def ports(cls, p):
        m = cls.model_of(p)
        ins = [Port("pre", SPIKES, "n_pre", required=True, help="pre-synaptic spikes")]
        if cls.uses_post(m):
            ins.append(Port("post", SPIKES, "n_post", required=True,
                            help="spikes of the post-synaptic pool (for the rule)"))
        ins += [Port(d.name, MODULATOR, 1, multi=True, help=d.help or "modulator")
                for d in m.inputs]
        return ins, [Port("events", EVENTS, "n_post",
                          help="spikes weighted by the weight variable, for post")]

    @staticmethod
    def uses_post(m: Model) -> bool:
        return "on_post" in m.blocks or any(v.role == "post" for v in m.variables)

    @classmethod
    def check_sizes(cls, p, sizes):
        from spark_snn.components.projection import Projection
        return Projection.check_sizes(p, sizes)

    def __init__(self, config, sizes, dt, dtype):
        super().__init__(config, sizes, dt, dtype)
        m = self.model = type(self).model_of(config)
        self.integrator = Integrator(m, config["method"], jnp)
        self.weight = next(v for v in m.variables if v.role == "weight")
        self.blocks = {e: [(st.target, st.op, compile_expr(st.expr, m, jnp))
                           for st in b.statements] for e, b in m.blocks.items()}
        self.clips = {v: (compile_expr(c.lo, m, jnp), compile_expr(c.hi, m, jnp))
                      for v, c in m.clips.items()}
        self.syn_vars = [v.name for v in m.variables if v.role in ("synapse", "weight")]

    @property
    def n_pre(self):
        return self.sizes["n_pre"]

    @property
    def n_post(self):
        return self.sizes["n_post"]

    def init(self, key, rng):
        m, c = self.model, self.config
        shapes = {"synapse": (self.n_pre, self.n_post), "weight": (self.n_pre, self.n_post),
                  "pre": (self.n_pre, 1), "post": (self.n_post,)}
        lo = hi = None
        if self.weight.name in m.clips:
            env = {d.name: float(c[d.name]) * d.unit.scale for d in m.params}
            clip = m.clips[self.weight.name]
            lo = compile_expr(clip.lo, m, np)(env) / self.weight_scale
            hi = compile_expr(clip.hi, m, np)(env) / self.weight_scale
        mask, w = initial_weights(c, self.n_pre, self.n_post, rng, lo, hi, self.dtype)
        state = self.init_values(rng, shapes)
        state[self.weight.name] = (w * self.weight_scale).astype(self.dtype)
        for v in self.syn_vars:
            state[v] = (state[v] * mask).astype(self.dtype)
        state["buf"] = np.zeros((c["delay_steps"], self.n_pre), self.dtype)
        return {"mask": mask}, state

    @property
    def weight_scale(self) -> float:
        return self.weight.unit.scale if self.weight.unit else 1.0

    def read(self, p, st, ctx):
        d = self.config["delay_steps"]
        w = st[self.weight.name]
        if self.weight_scale != 1.0:
            w = w / self.weight_scale
        return {"events": st["buf"][ctx.t % d] @ w}

    def update(self, p, st, inputs, ctx):
        m = self.model
        env = self.step_env(p, ctx)
        for d in m.inputs:
            x = inputs[d.name][0]
            env[d.name] = x if d.unit.scale == 1.0 else x * d.unit.scale
        base = {v.name: st[v.name] for v in m.variables}
        base.update(self.integrator.advance(base, env, self.dt))
        pre = inputs["pre"]
        masks = {"on_pre": pre[:, None] > 0}
        if "post" in inputs:
            masks["on_post"] = inputs["post"] > 0
        vals = combine_events([(self.blocks[e], masks[e]) for e in ("on_pre", "on_post")
                               if e in self.blocks], base, env)
        if "on_step" in self.blocks:
            vals = run_block([(t, op, fn, True) for t, op, fn in self.blocks["on_step"]],
                             vals, env, True)
        for v, (lo, hi) in self.clips.items():
            scope = {**env, **vals}
            vals[v] = jnp.clip(vals[v], lo(scope), hi(scope))
        mask = ctx.const["mask"]
        shapes = {"synapse": mask.shape, "weight": mask.shape, "pre": (self.n_pre, 1),
                  "post": (self.n_post,)}
        new = {}
        for v in m.variables:
            x = vals[v.name] * mask if v.name in self.syn_vars else vals[v.name]
            new[v.name] = jnp.broadcast_to(jnp.asarray(x, self.dtype), shapes[v.role])
        d = self.config["delay_steps"]
        new["buf"] = st["buf"].at[ctx.t % d].set(pre)
        return new


def combine_events(blocks, base, env):
    """Run each (statements, mask) block on the same values ``base`` and add up their effects:
    a variable changed by one block takes that block's value; one changed by several (only
    with += and -=) gets the sum of their increments."""
    results = []
    for stmts, mask in blocks:
        vals = dict(base)
        incs: dict = {}
        assigned = set()
        for target, op, fn in stmts:
            rhs = fn({**env, **vals})
            old = vals[target]
            if op in ("+=", "-=") and target not in assigned:
                inc = jnp.where(mask, rhs if op == "+=" else -rhs, 0.0)
                incs[target] = inc if target not in incs else incs[target] + inc
                vals[target] = old + inc
            else:
                assigned.add(target)
                incs.pop(target, None)
                vals[target] = jnp.where(mask, _apply(op, old, rhs), old)
        results.append((vals, incs, assigned))
    out = dict(base)
    for name in base:
        touched = [(vals, incs) for vals, incs, assigned in results
                   if name in incs or name in assigned]
        if len(touched) == 1:
            vals, incs = touched[0]
            out[name] = base[name] + incs[name] if name in incs else vals[name]
        elif touched:
            total = None
            for _vals, incs in touched:
                total = incs[name] if total is None else total + incs[name]
            out[name] = base[name] + total
    return out
