"""The host-side gym_env node beyond CartPole: feedback modes and action lists checked against
Gymnasium itself, bad settings, pictures of classic-control environments (pygame), and
``spark train`` with a host-side environment (vmapped agents = single runs)."""
import gymnasium as gym
import numpy as np
import pytest

from spark_snn import engine
from spark_snn.engine import train as tr


def env_graph(env_id, per=2, seed=7, index_size=2, **params):
    """gym_env ``env`` whose action index is the argmax of host input ``prefs``."""
    g = engine.Graph(settings={"dt": 1.0, "seed": seed, "dtype": "float32"})
    g.add_node(engine.Node("env", "gym_env", {"env_id": env_id, "steps_per_env_step": per,
                                              **params}))
    g.add_node(engine.Node("prefs", "host_input", {"size": index_size, "kind": "value"}))
    g.add_node(engine.Node("act", "argmax_action", {}))
    g.connect("prefs.out", "act.value")
    g.connect("act.action", "env.action")
    return g


def reference_feedback(env_id, action, n_steps, seed, mode):
    """Gymnasium's own run with a fixed action (resets seeded as gym_env seeds them): the
    observation after every environment step and the feedback that ``mode`` makes of it."""
    ref = gym.make(env_id)
    obs, _ = ref.reset(seed=seed)
    out_obs, out_fb, episode = [obs], [], 0
    for _ in range(n_steps):
        obs, reward, term, trunc, _ = ref.step(action)
        out_fb.append(float(reward) if mode == "reward" else
                      (-1.0 if mode == "failure" else 1.0) * float(term))
        if term or trunc:
            episode += 1
            obs, _ = ref.reset(seed=seed * 100_003 + episode)
        out_obs.append(obs)
    return np.asarray(out_obs), np.asarray(out_fb)


@pytest.mark.parametrize("env_id, mode", [("CartPole-v1", "failure"), ("CartPole-v1", "success"),
                                          ("CartPole-v1", "reward"), ("Acrobot-v1", "reward")])
def test_feedback_modes_and_action_list_follow_gymnasium(env_id, mode):
    """Index 0 is mapped to the environment's action 1 ("1, 0"): the observations are those of
    Gymnasium always taking action 1, and the feedback pulse after each environment step is
    -1 / +1 on termination, or Gymnasium's reward, as ``feedback_mode`` says."""
    per, n = 2, 40
    sim = engine.Simulation(env_graph(env_id, per, feedback_mode=mode, actions="1, 0"),
                            record=["env.observation", "env.feedback", "env.done"])
    sim.set_input("prefs", [1.0, 0.0])          # argmax: index 0 -> environment action 1
    r = sim.advance(per * n, chunk=16)
    obs, fb = reference_feedback(env_id, 1, n - 1, 7, mode)
    np.testing.assert_array_equal(r["env.observation"][::per], obs.astype(np.float32))
    want = np.zeros(per * n)
    want[per::per] = fb                        # during the first step after each exchange
    np.testing.assert_array_equal(r["env.feedback"][:, 0], want)
    if env_id == "CartPole-v1":                # always pushing right: several episodes end
        assert r["env.done"].sum() >= 3 and np.count_nonzero(want) >= 3


def test_without_settings_the_node_behaves_as_before():
    """No feedback_mode or actions in the file: the failure signal and index i = action i."""
    from spark_snn.components.gym_env import GymEnv
    defaults = {p.name: p.default for p in GymEnv.params}
    assert defaults["feedback_mode"] == "failure" and defaults["actions"] == ""
    per = 2
    sim = engine.Simulation(env_graph("CartPole-v1", per), record=["env.observation",
                                                                   "env.feedback"])
    sim.set_input("prefs", [0.0, 1.0])          # index 1 = action 1
    r = sim.advance(per * 30, chunk=16)
    obs, fb = reference_feedback("CartPole-v1", 1, 29, 7, "failure")
    np.testing.assert_array_equal(r["env.observation"][::per], obs.astype(np.float32))
    assert fb.min() == -1.0 and r["env.feedback"][:, 0].tolist().count(-1.0) == (fb < 0).sum()


def test_bad_action_settings_are_named():
    problems = engine.validate(env_graph("Acrobot-v1", actions="0, 3"))
    assert [(p.node, p.param) for p in problems] == [("env", "actions")]
    assert "0 .. 2" in problems[0].message and "3" in problems[0].message
    problems = engine.validate(env_graph("Acrobot-v1", actions="left, right"))
    assert [(p.node, p.param) for p in problems] == [("env", "actions")]
    assert "'left' is not a whole number" in problems[0].message
    problems = engine.validate(env_graph("Acrobot-v1", feedback_mode="praise"))
    assert [(p.node, p.param) for p in problems] == [("env", "feedback_mode")]
    # an index beyond the list stops the run with the node named, not inside Gymnasium
    sim = engine.Simulation(env_graph("Acrobot-v1", index_size=3, actions="0, 2"))
    sim.set_input("prefs", [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"node 'env': action index 2 is out of range: "
                                         r"actions lists 2 actions"):
        sim.advance(4, chunk=4)


@pytest.mark.parametrize("env_id", ["Acrobot-v1", "MountainCar-v0"])
def test_classic_control_environments_draw_themselves(env_id):
    """With pygame (gymnasium[classic-control]) the node's picture is Gymnasium's rgb_array
    render of the same state: identical to a reference environment stepped alike, and it
    changes as the environment moves."""
    per, n = 2, 12
    sim = engine.Simulation(env_graph(env_id, per, actions="0, 2"))
    first = sim.render("env")
    assert first.ndim == 3 and first.shape[2] == 3 and first.dtype == np.uint8
    sim.set_input("prefs", [0.0, 1.0])          # index 1 -> action 2 (torque +1, push right)
    sim.advance(per * n, chunk=per * n)
    ref = gym.make(env_id, render_mode="rgb_array")
    ref.reset(seed=7)
    assert np.array_equal(first, ref.render())
    for _ in range(n):
        ref.step(2)
    now = sim.render("env")
    assert now.shape == first.shape and np.array_equal(now, ref.render())
    assert np.count_nonzero(np.any(now != first, axis=2)) > 100   # pixels that changed


def random_agent_graph(per=4):
    """CartPole on the host driven by two Poisson neurons: each seed acts differently."""
    g = engine.Graph(settings={"dt": 1.0, "seed": 0, "dtype": "float32"})
    g.add_node(engine.Node("env", "gym_env", {"env_id": "CartPole-v1", "steps_per_env_step": per}))
    g.add_node(engine.Node("noise", "poisson_source", {"size": 2, "rate": 200.0}))
    g.add_node(engine.Node("count", "spike_count", {"groups": 2, "window": float(per)}))
    g.add_node(engine.Node("act", "argmax_action", {"tie_break": "random"}))
    for a, b in (("noise.spikes", "count.spikes"), ("count.counts", "act.value"),
                 ("act.action", "env.action")):
        g.connect(a, b)
    return g


def test_train_runs_host_environments_like_single_runs():
    g = random_agent_graph()
    assert engine.validate(g) == []
    lengths, info = tr.train(g, 3, 4, seed=5, progress=False)
    assert info["seeds"] == [5, 6, 7] and [len(x) for x in lengths] == [4, 4, 4]
    assert info["returns"] == [[float(v) for v in x] for x in lengths]  # CartPole: +1 a step
    assert info["threshold"] == 475.0 and info["max_len"] == 500
    assert len({tuple(x) for x in lengths}) == 3                         # the seeds differ
    # the last agent of the vmapped run is the graph run alone with its seed
    sim = engine.Simulation(g, seed=7, record=["env.done", "env.episode_length"])
    r = sim.advance(4 * 300, chunk=200)
    solo = r["env.episode_length"][r["env.done"][:, 0] > 0, 0].astype(int).tolist()
    assert len(solo) >= 4 and lengths[2] == solo[:4]


def test_train_summary_uses_the_environment_threshold(tmp_path):
    # Acrobot-v1's threshold is a return of -100 (-1 a step): returns, not lengths, count
    s = tr.summarize([[500] * 10, [90] * 10], [0, 1], 10, returns=[[-500.0] * 10, [-89.0] * 10],
                     threshold=-100.0)
    assert s["agents_solved"] == 1 and s["solved_episode"] == {"0": None, "1": 1}
    assert s["mean_return_last_10"] == [-500.0, -89.0] and "mean return" in s["criterion"]
    s = tr.summarize([[5] * 10], [0], 10, returns=[[5.0] * 10], threshold=None)
    assert s["agents_solved"] == 0 and "no reward threshold" in s["criterion"]


def test_acrobot_example_is_generated_and_runs_headless(capsys):
    """resources/examples/acrobot.json is what its generator writes, and ``spark run`` runs it
    with both action pools firing (it also opens in the app: test_app_editor's
    test_every_example_opens_and_round_trips)."""
    import json
    import sys
    from pathlib import Path

    from spark_snn.engine.cli import main
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        import make_acrobot_example as gen
    finally:
        sys.path.remove(str(root / "benchmarks"))
    path = root / "resources" / "examples" / "acrobot.json"
    assert engine.dumps(gen.build()) == path.read_text(encoding="utf-8")
    assert main(["run", str(path), "--steps", "100", "--chunk", "10", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["spikes"]["minus"] > 0 and summary["spikes"]["plus"] > 0
