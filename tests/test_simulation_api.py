"""engine.Simulation's public reading API that the app uses (app/run reads nothing else):
dt, dtype, has_port, port_size, record/count assignment, weights, weights_change, render; and
the host-written parameters of host-side nodes (Param.host_written)."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from conftest import ei_graph, graph_of

from spark_snn.components.base import Component
from spark_snn.components.gym_env import GymEnv
from spark_snn.components.projection import dense_matrix
from spark_snn.engine import Simulation, loads, validate


def test_dt_dtype_and_port_sizes():
    sim = Simulation(ei_graph(), dtype="float64")
    assert sim.dt == 0.1 and sim.dtype == np.dtype("float64")
    assert sim.port_size("exc.spikes") == 40 and sim.port_size("inh.v") == 10
    assert sim.has_port("exc.spikes") and sim.has_port("exc.current")   # outputs and inputs
    assert not sim.has_port("exc.nope") and not sim.has_port("nobody.spikes")
    with pytest.raises(KeyError):
        sim.port_size("exc.nope")


def test_fused_projection_ports_are_not_available_without_a_rebuild():
    sim = Simulation(ei_graph(propagation="event"))
    assert not sim.has_port("ee.events")            # fused into a shared kernel
    with pytest.raises(KeyError, match="ee.events"):
        sim.record = ("ee.events",)
    kept = Simulation(ei_graph(propagation="event"), record=["ee.events"])
    assert kept.has_port("ee.events")


def test_count_assignment_starts_new_ports_at_zero_and_keeps_old_totals():
    g = ei_graph()
    ref = Simulation(g, record=["exc.spikes", "inh.spikes"]).advance(400, 100)
    sim = Simulation(g, count=["exc.spikes"])
    sim.advance(200, 100)
    sim.count = ("exc.spikes", "inh.spikes")         # add one: the first keeps its total
    assert int(sim.totals["inh.spikes"].sum()) == 0
    sim.advance(200, 100)
    np.testing.assert_array_equal(sim.totals["exc.spikes"], ref["exc.spikes"].sum(axis=0))
    np.testing.assert_array_equal(sim.totals["inh.spikes"], ref["inh.spikes"][200:].sum(axis=0))
    sim.record = ("inh.v",)
    assert sim.advance(10, 10)["inh.v"].shape == (10, 10)


def test_weights_of_static_fused_and_plastic_projections():
    g = ei_graph(propagation="event")
    unfused = Simulation(g, fuse=False)
    fused = Simulation(g)
    for p, (a, b) in {"ee": (40, 40), "ei": (40, 10), "ie": (10, 40)}.items():
        want = dense_matrix(unfused.consts[p], a, b)
        np.testing.assert_array_equal(fused.weights(p), want)
        np.testing.assert_array_equal(unfused.weights(p), want)
        assert not fused.weights_change(p)
    assert fused.weights("exc") is None and fused.weights("nobody") is None
    # a plastic projection: weights live in the state and change during the run
    g = graph_of(("src", "poisson_source", {"size": 20, "rate": 200.0}),
                 ("pool", "lif", {"size": 10}),
                 ("syn", "stdp_projection", {"connectivity": "all_to_all", "weight": 2.0,
                                             "a_plus": 0.5, "a_minus": 0.5}),
                 edges=[("src.spikes", "syn.pre"), ("syn.events", "pool.syn"),
                        ("pool.spikes", "syn.post")])
    sim = Simulation(g)
    w0 = sim.weights("syn")
    assert w0.shape == (20, 10) and sim.weights_change("syn")
    np.testing.assert_allclose(w0, 2.0)
    sim.advance(2000, 500)
    assert not np.array_equal(sim.weights("syn"), w0)


class _PictureEnv(gym.Env):
    """A tiny environment whose rgb_array picture encodes its step count (for tests)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.n = 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.n = 0
        return np.zeros(3, np.float32), {}

    def step(self, action):
        self.n += 1
        return np.full(3, 0.1 * (self.n % 5), np.float32), 0.0, self.n % 7 == 0, False, {}

    def render(self):
        img = np.zeros((6, 8, 3), np.uint8)
        img[:, :, 0] = self.n % 256
        img[0, 0] = (1, 2, 3)
        return img


PICTURE_ENV = "SparkPictureTest-v0"
if PICTURE_ENV not in gym.registry:
    gym.register(id=PICTURE_ENV, entry_point=_PictureEnv)


def picture_graph():
    return graph_of(("env", "gym_env", {"env_id": PICTURE_ENV, "steps_per_env_step": 10}),
                    ("prefs", "host_input", {"size": 2, "kind": "value"}),
                    ("act", "argmax_action", {}),
                    edges=[("prefs.out", "act.value"), ("act.action", "env.action")], dt=1.0)


def test_render_of_a_gymnasium_environment():
    sim = Simulation(picture_graph())
    img = sim.render("env")
    assert img.shape == (6, 8, 3) and img.dtype == np.uint8 and tuple(img[0, 0]) == (1, 2, 3)
    sim.advance(30, 10)                    # three environment steps
    assert int(sim.render("env")[1, 1, 0]) == 3
    assert sim.render("act") is None        # not a host-side node


class _NoRendererEnv(_PictureEnv):
    """Lists rgb_array but its renderer is missing (as CartPole's is without pygame); counts
    the attempts."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}
    attempts = 0

    def __init__(self, render_mode=None):
        super().__init__(render_mode)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (6,), np.float32)

    def step(self, action):
        obs, *rest = super().step(action)
        return np.full(6, obs[0], np.float32), *rest

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(6, np.float32), {}

    def render(self):
        type(self).attempts += 1
        raise gym.error.DependencyNotInstalled("pygame is not installed (test)")


NO_RENDERER_ENV = "SparkNoRendererTest-v0"
if NO_RENDERER_ENV not in gym.registry:
    gym.register(id=NO_RENDERER_ENV, entry_point=_NoRendererEnv)


def test_render_is_none_without_a_renderer():
    """An environment whose renderer is not installed simply cannot draw itself: None, and it
    is not asked again."""
    g = graph_of(("env", "gym_env", {"env_id": NO_RENDERER_ENV}),
                 ("prefs", "host_input", {"size": 2, "kind": "value"}),
                 ("act", "argmax_action", {}),
                 edges=[("prefs.out", "act.value"), ("act.action", "env.action")], dt=1.0)
    sim = Simulation(g)
    before = _NoRendererEnv.attempts
    assert sim.render("env") is None and sim.render("env") is None
    assert _NoRendererEnv.attempts == before + 1


def test_host_written_parameters_are_not_settings():
    host = {p.name for p in GymEnv.params if p.host_written}
    assert host == {"observation", "feedback", "done", "truncated", "episode_length", "episode",
                    "steps"}
    assert {p.name for p in GymEnv.editable_params()} == {"env_id", "steps_per_env_step",
                                                           "feedback_mode", "actions"}
    assert all(not p.host_written for p in Component.params)
    # a file written before the flag, giving them values, still opens, validates and runs
    text = ('{"format": "spark-graph", "version": 1, "settings": {"dt": 1.0}, "nodes": ['
            '{"id": "env", "type": "gym_env", "params": {"env_id": "' + PICTURE_ENV + '", '
            '"observation": 0.5, "done": 0.0, "steps": 3.0}},'
            '{"id": "prefs", "type": "host_input", "params": {"size": 2, "kind": "value"}},'
            '{"id": "act", "type": "argmax_action", "params": {}}],'
            '"edges": [{"from": "prefs.out", "to": "act.value"},'
            '{"from": "act.action", "to": "env.action"}]}')
    g = loads(text)
    assert validate(g) == []
    sim = Simulation(g, record=["env.observation", "env.steps"])
    rec = sim.advance(40, 40)
    assert rec["env.steps"][0, 0] == 0.0     # written by the host at reset, not the file's 3
    assert rec["env.observation"][-1].tolist() == pytest.approx([0.1] * 3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_watched_values_are_whole_in_both_precisions(dtype):
    """output() of a watched port equals the recorded last step (float64 values take two words
    of the packed buffer each; a half-length view was returned before)."""
    sim = Simulation(ei_graph(), dtype=dtype, watch=["inh.v", "exc.spikes"], record=["inh.v"])
    rec = sim.advance(20, chunk=20)["inh.v"]
    assert sim.output("inh.v").shape == (10,) and sim.output("exc.spikes").shape == (40,)
    np.testing.assert_array_equal(sim.output("inh.v"), rec[-1])
