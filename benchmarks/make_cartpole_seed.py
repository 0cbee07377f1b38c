"""Write resources/examples/cartpole_seed.json: the original Spark's cartpole brain (its tutorial
"Solving the CartPole", as ../shared/SEED_SPARK.md describes it) drawn with Spark's nodes.

    python benchmarks/make_cartpole_seed.py [OUT]      (run from the repository root)

```
cart.observation -> feedback (cartpole_feedback: replay / prepare blocks, modulators, hold)
   -> encoder (topological_encoder: 4 x 128 place cells on a line, linear spikers)
   -> 10 quadruplet projections -> 4 traced synapses -> a_exc, a_inh, b_exc, b_inh
      (threshold_lif pools: 256, 64, 256, 64)
   a_exc, b_exc -> merge -> readout (exponential_readout, 2 groups) -> act (argmax) -> cart.action
feedback.m_a / m_b / m_a_inh / m_b_inh -> the modulator of every projection into that pool
feedback.hold -> cart.hold (the environment waits during the replay and prepare blocks)
```

Wiring: the encoder feeds all four pools; each excitatory pool excites itself and its own
inhibitory pool; each inhibitory pool inhibits the other excitatory pool. Every projection is a
``quadruplet_projection`` (the tutorial's parameter sets, EE/EI/IE/II by the pre and post
neurons' types). ``build(**overrides)`` returns the graph with settings changed (e.g.
``parameter_sets="ee_only"``, the original's behaviour).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spark_snn.engine import Graph, Node, fileio  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "resources" / "examples" / "cartpole_seed.json"

# SEED_SPARK.md, "The cartpole brain"
SCALE = (2.4, 2.5, 0.2095, 3.5)          # the observation is divided by these, clipped to +-1
STEPS = 50                               # 50 steps of 1 ms per environment step
EXC = {"size": 256, "tau_m": 10.0, "delta_theta": 50.0, "cooldown": 2.0, "R": 1.0,
       "syn_tau": 5.0, "weight_high": 6.0}
INH_A = {"size": 64, "tau_m": 20.0, "delta_theta": 20.0, "cooldown": 1.0, "R": 2.0,
         "syn_tau": 10.0, "weight_high": 1.0}
INH_B = {**INH_A, "R": 1.0}
DEFAULTS = {"parameter_sets": "by_sign", "plasticity_pass": "events", "max_delay": 4, "p": 0.15, "prepare": True,
            "lagged_scale": True}

MONITORS = {"version": 1, "panels": [
    {"kind": "environment", "node": "cart", "area": "right"},
    {"kind": "episodes", "node": "cart", "area": "right"},
    {"kind": "weights", "node": "enc_a_exc", "area": "right"},
    {"kind": "raster", "nodes": ["a_exc", "b_exc", "a_inh", "b_inh"], "area": "bottom"},
    {"kind": "traces", "node": "readout", "port": "value", "elements": [0, 1], "area": "bottom"},
]}


def pool_params(c: dict) -> dict:
    """A threshold-adaptive pool of the tutorial. The original's potentials are relative to
    V_rest = -60 mV; its 'refractory' soma (input gated) blocks cool-down/dt + 1 steps, which
    is t_ref = cool-down + 2 dt here (components/threshold_lif.py)."""
    return {"size": c["size"], "v_rest": -60.0, "v_reset": -50.0, "v_th": -40.0,
            "tau_m": c["tau_m"], "t_ref": c["cooldown"] + 2.0, "tau_theta": 10.0,
            "delta_theta": c["delta_theta"], "refractory": "gate", "v_init": "rest"}


def synapse_gain(c: dict) -> float:
    """traced_synapse's gain for the original's traced synapse (scale 1) into a soma of
    resistance R. The original's trace is x <- (1 - dt/tau) x + scale K s with the current I = x
    (no 1/tau), so an arrival of weight K drives R K (1 - dt/tau)^k mV at the k-th step after
    it: an integral of about R K tau. traced_synapse's current is (gain/tau) x with
    x <- exp(-dt/tau) x + K, an integral of gain K: gain = R scale tau."""
    return c["R"] * 1.0 * c["syn_tau"]


def build(**over) -> Graph:
    """The example graph, with DEFAULTS overridden by ``over``."""
    unknown = set(over) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    o = {**DEFAULTS, **over}
    g = Graph(settings={"dt": 1.0, "seed": 0, "dtype": "float32"})
    g.add_node(Node("cart", "cartpole", {"steps_per_env_step": STEPS, "max_episode_steps": 500},
                    (0.0, 0.0)))
    g.add_node(Node("feedback", "cartpole_feedback",
                    {"block_steps": STEPS, "prepare": o["prepare"],
                     "lagged_scale": o["lagged_scale"]}, (250.0, 0.0)))
    g.add_node(Node("encoder", "topological_encoder",
                    {"low": [-s for s in SCALE], "high": list(SCALE), "resolution": 128,
                     "sigma": 1.0 / 32.0, "topology": "line", "spiker": "linear",
                     "max_rate": 128.0, "tau": 20.0, "cooldown": 2.0}, (500.0, 0.0)))
    pools = {"a_exc": (EXC, "excitatory", -400.0), "a_inh": (INH_A, "inhibitory", -130.0),
             "b_exc": (EXC, "excitatory", 400.0), "b_inh": (INH_B, "inhibitory", 130.0)}
    for name, (c, _sign, y) in pools.items():
        g.add_node(Node(name, "threshold_lif", pool_params(c), (1300.0, y)))
        g.add_node(Node(f"syn_{name}", "traced_synapse",
                        {"size": c["size"], "tau": c["syn_tau"], "gain": synapse_gain(c)},
                        (1100.0, y)))
        g.connect(f"syn_{name}.current", f"{name}.current")
    # (pre, post): the encoder into every pool, E -> itself and its own I, I -> the other E
    inputs = [("encoder", p) for p in pools] + [
        ("a_exc", "a_exc"), ("a_exc", "a_inh"), ("b_exc", "b_exc"), ("b_exc", "b_inh"),
        ("a_inh", "b_exc"), ("b_inh", "a_exc")]
    into = {p: [pre for pre, post in inputs if post == p] for p in pools}
    for pre, post in inputs:
        c, post_sign, y = pools[post]
        slot = into[post].index(pre) - (len(into[post]) - 1) / 2.0
        pre_sign = "excitatory" if pre == "encoder" else pools[pre][1]
        name = f"{'enc' if pre == 'encoder' else pre}_{post}"
        exc_post = post_sign == "excitatory"
        g.add_node(Node(name, "quadruplet_projection", {
            "connectivity": "fixed_probability", "p": o["p"], "autapses": True,
            "weight": c["weight_high"] / 2.0, "weight_init": "uniform", "weight_spread": 1.0,
            "sign": pre_sign, "post_sign": post_sign, "delay_steps": 1,
            "max_delay_steps": o["max_delay"] if exc_post else 1,
            "eta": 0.1, "parameter_sets": o["parameter_sets"],
            "plasticity_pass": o["plasticity_pass"]},
            (820.0, y + 88.0 * slot)))
        g.connect(f"{pre}.spikes", f"{name}.pre")
        g.connect(f"{post}.spikes", f"{name}.post")
        g.connect(f"{name}.events", f"syn_{post}.events")
        g.connect(f"feedback.{'m_' + post.replace('_exc', '')}", f"{name}.modulator")
    g.add_node(Node("merge", "spike_merge", {"size_a": 256, "size_b": 256}, (1550.0, 0.0)))
    g.add_node(Node("readout", "exponential_readout",
                    {"groups": 2, "tau_rise": 5.0, "tau_decay": 10.0, "saturation": 50.0},
                    (1750.0, 0.0)))
    g.add_node(Node("act", "argmax_action", {}, (1950.0, 0.0)))
    for a, b in [("cart.observation", "feedback.observation"),
                 ("cart.feedback", "feedback.feedback"), ("cart.done", "feedback.done"),
                 ("cart.episode_length", "feedback.episode_length"),
                 ("feedback.observation", "encoder.value"), ("feedback.hold", "cart.hold"),
                 ("a_exc.spikes", "merge.a"), ("b_exc.spikes", "merge.b"),
                 ("merge.spikes", "readout.spikes"), ("readout.value", "act.value"),
                 ("act.action", "cart.action")]:
        g.connect(a, b)
    g.meta["monitors"] = MONITORS
    return g


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    fileio.save(build(), out)
    print(f"wrote {out}")
