"""Write resources/examples/acrobot.json (run from the repository root).

The cartpole example's actor-critic (README, "The example agent") on Gymnasium's Acrobot-v1, a
host-side ``gym_env``: a box grid over the observation, two action pools (torque -1 and +1:
``actions`` "0, 2") with three-factor plastic projections from the boxes, spike counts per
environment step, argmax; a td_critic on the boxes turns the sparse signal of the environment
into a TD error, the actor's only modulator. ``build(**overrides)`` returns the graph with
parameters changed (benchmarks/bench_gym_task.py tunes with it).
"""
from __future__ import annotations

import sys
from pathlib import Path

from spark_snn.engine import Graph, Node, fileio

OUT = Path(__file__).resolve().parents[1] / "resources" / "examples" / "acrobot.json"

# Acrobot-v1's observation: cos t1, sin t1, cos t2, sin t2, t1_dot, t2_dot (rad, rad/s)
DEFAULTS = {
    # theta1_dot cut at 0, +-1.5, +-3 rad/s (6 bins) x theta2_dot at 0 (2 bins): 12 boxes
    "edges": "; ; ; ; -3, -1.5, 0, 1.5, 3; 0",
    "per": 10,               # network steps (dt 1 ms) per environment step
    "feedback_mode": "reward",
    "signal_gain": 0.01,     # the modulator's gain: reward -0.01 per environment step
    "rate": 500.0,
    "pool": 8,
    "bias": 16.0,
    "inhibit": 5.0,
    "weight": 0.5, "spread": 0.0, "w_bound": 100.0,
    "tau_e": 400.0, "lr": 1.6, "competition_norm": 0.5,
    "gamma": 0.99, "lam": 0.8, "critic_lr": 0.3,
    "noise_rate": 0.0, "noise_weight": 0.0,    # Poisson noise into each pool (tried: harmful)
}


def build(**over) -> Graph:
    """The example graph, with DEFAULTS overridden by ``over``."""
    c = {**DEFAULTS, **over}
    unknown = set(over) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    wnd = float(c["per"])    # ms: one environment step at dt = 1 ms
    g = Graph(settings={"dt": 1.0, "seed": 0, "dtype": "float32"})
    g.add_node(Node("env", "gym_env", {"env_id": "Acrobot-v1", "steps_per_env_step": c["per"],
                                       "feedback_mode": c["feedback_mode"], "actions": "0, 2"},
                    (0.0, 0.0)))
    g.add_node(Node("boxes", "box_encoder", {"mode": "regular", "rate": c["rate"],
                                             "edges": c["edges"]}, (300.0, 0.0)))
    actor = {"connectivity": "all_to_all", "weight": c["weight"],
             "weight_init": "uniform" if c["spread"] > 0 else "constant",
             "weight_spread": c["spread"], "delay_steps": 1, "w_min": -c["w_bound"],
             "w_max": c["w_bound"], "a_plus": 1.0, "a_minus": 0.0, "tau_plus": 5.0,
             "tau_minus": 20.0, "tau_e": c["tau_e"], "lr": c["lr"], "rival_gain": 1.0,
             "window": wnd, "competition_norm": c["competition_norm"]}
    pool = {"size": c["pool"], "tau_m": 10.0, "v_rest": -65.0, "v_reset": -65.0,
            "v_th": -50.0, "t_ref": 4.0, "tau_syn": 2.0, "v_init": "uniform"}
    inhibit = {"connectivity": "all_to_all", "weight": c["inhibit"], "sign": "inhibitory",
               "delay_steps": 1}
    for name, y in (("minus", -150.0), ("plus", 150.0)):
        g.add_node(Node(f"w_{name}", "three_factor_projection", dict(actor), (600.0, y)))
        g.add_node(Node(name, "lif", dict(pool), (900.0, y)))
        g.add_node(Node(f"inhibit_{name}", "projection", dict(inhibit), (1100.0, y * 0.3)))
    if c["noise_weight"] > 0:
        for name, y in (("minus", -300.0), ("plus", 300.0)):
            g.add_node(Node(f"noise_{name}", "poisson_source",
                            {"size": c["pool"], "rate": c["noise_rate"]}, (600.0, y * 1.4)))
            g.add_node(Node(f"to_{name}", "projection",
                            {"connectivity": "one_to_one", "weight": c["noise_weight"],
                             "delay_steps": 1}, (750.0, y * 1.4)))
            g.connect(f"noise_{name}.spikes", f"to_{name}.pre")
            g.connect(f"to_{name}.events", f"{name}.syn")
    g.add_node(Node("bias", "current_source", {"size": c["pool"], "amplitude": c["bias"],
                                               "heterogeneity": 1.0}, (700.0, 0.0)))
    g.add_node(Node("merge", "spike_merge", {"size_a": c["pool"], "size_b": c["pool"]},
                    (1300.0, 0.0)))
    g.add_node(Node("count", "spike_count", {"groups": 2, "window": wnd}, (1500.0, 0.0)))
    g.add_node(Node("act", "argmax_action", {"tie_break": "random"}, (1700.0, 0.0)))
    g.add_node(Node("signal", "modulator", {"tau": 1.0, "gain": c["signal_gain"]}, (300.0, 300.0)))
    g.add_node(Node("critic", "td_critic", {"window": wnd, "gamma": c["gamma"], "lam": c["lam"],
                                            "lr": c["critic_lr"], "normalize": True},
                    (600.0, 400.0)))
    edges = [("env.observation", "boxes.value"),
             ("boxes.spikes", "w_minus.pre"), ("boxes.spikes", "w_plus.pre"),
             ("minus.spikes", "w_minus.post"), ("plus.spikes", "w_plus.post"),
             ("plus.spikes", "w_minus.rival"), ("minus.spikes", "w_plus.rival"),
             ("w_minus.events", "minus.syn"), ("w_plus.events", "plus.syn"),
             ("bias.current", "minus.current"), ("bias.current", "plus.current"),
             # each pool inhibits the other
             ("minus.spikes", "inhibit_plus.pre"), ("inhibit_plus.events", "plus.syn"),
             ("plus.spikes", "inhibit_minus.pre"), ("inhibit_minus.events", "minus.syn"),
             ("minus.spikes", "merge.a"), ("plus.spikes", "merge.b"),
             ("merge.spikes", "count.spikes"), ("count.counts", "act.value"),
             ("act.action", "env.action"),
             ("env.feedback", "signal.feedback"), ("signal.m", "critic.reward"),
             ("env.done", "critic.done"), ("env.truncated", "critic.truncated"),
             ("boxes.spikes", "critic.features"),
             ("critic.td_error", "w_minus.modulator"), ("critic.td_error", "w_plus.modulator")]
    for a, b in edges:
        g.connect(a, b)
    return g


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    fileio.save(build(), out)
    print(f"wrote {out}")
