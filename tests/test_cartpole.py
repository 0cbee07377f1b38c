"""The JAX cartpole reproduces Gymnasium's CartPole-v1 exactly; timing, pulses, auto-reset;
the host-side gym_env node."""
import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from spark_snn import engine


def _policy(ep, k, obs, rng):
    if ep % 3 == 0:
        return int(rng.integers(2))
    return int(obs[2] + 0.5 * obs[3] > 0)  # balances for the full 500 steps (truncation)


def test_whole_episodes_match_gymnasium_exactly():
    with jax.enable_x64(True):  # as the engine runs a float64 model
        _whole_episodes_match_gymnasium()


def _whole_episodes_match_gymnasium():
    from spark_snn.components.cartpole import cartpole_step, runtime_zero
    step = jax.jit(lambda s, a, t: cartpole_step(s, a, runtime_zero(t)))
    env = gym.make("CartPole-v1", sutton_barto_reward=True)
    rng = np.random.default_rng(0)
    n_trunc = 0
    for ep in range(9):
        obs, _ = env.reset(seed=ep)
        s = jnp.asarray(env.unwrapped.state, jnp.float64)
        for k in range(1, 501):
            a = _policy(ep, k, obs, rng)
            obs, reward, term, trunc, _ = env.step(a)
            s, t = step(s, jnp.int32(a), k)
            mine = np.asarray(s)
            assert mine.dtype == np.float64
            assert np.array_equal(mine, env.unwrapped.state), (ep, k)
            assert np.array_equal(mine.astype(np.float32), obs)
            assert bool(t) == term
            mine_trunc = (k >= 500) and not bool(t)
            assert mine_trunc == trunc
            assert reward == (-1.0 if term else 0.0)
            if term or trunc:
                n_trunc += trunc
                break
    assert n_trunc >= 3  # several episodes ran the full 500 steps


def _graph(per=3, action=1, max_steps=500):
    g = engine.Graph(settings={"dt": 1.0, "seed": 3, "dtype": "float64"})
    g.add_node(engine.Node("cart", "cartpole",
                           {"steps_per_env_step": per, "max_episode_steps": max_steps}))
    g.add_node(engine.Node("src", "host_input", {"size": 2, "kind": "value"}))
    g.add_node(engine.Node("act", "argmax_action", {}))
    g.connect("src.out", "act.value")
    g.connect("act.action", "cart.action")
    return g


def test_in_graph_timing_pulses_and_auto_reset():
    per = 3
    sim = engine.Simulation(_graph(per), record=[
        "cart.observation", "cart.feedback", "cart.done", "cart.truncated", "cart.episode",
        "cart.episode_length"])
    sim.set_input("src", [0.0, 1.0])  # always push right
    s0 = sim.node_state("cart")["s"].copy()
    r = sim.advance(per * 40, chunk=50)
    env = gym.make("CartPole-v1", sutton_barto_reward=True)
    env.reset(seed=0)
    env.unwrapped.state = s0.copy()
    obs = r["cart.observation"]
    # steps 0..per-1 show the initial state; the env steps at t = per-1, 2per-1, ...
    assert np.array_equal(obs[:per], np.tile(s0, (per, 1)))
    k = 0
    while True:
        o, rew, term, trunc, _ = env.step(1)
        k += 1
        t = k * per  # first network step that shows the result
        if term:
            break
        assert np.array_equal(obs[t:t + per], np.tile(env.unwrapped.state, (per, 1)))
        assert r["cart.feedback"][t, 0] == 0 and r["cart.done"][t, 0] == 0
    # failure after k steps: one-step pulses, counter and length
    assert r["cart.feedback"][t, 0] == -1.0 and r["cart.done"][t, 0] == 1.0
    assert r["cart.feedback"][t + 1, 0] == 0.0 and r["cart.done"][t + 1, 0] == 0.0
    assert not r["cart.truncated"].any()  # a failure is terminated, not truncated
    assert np.sum(r["cart.feedback"][:t]) == 0.0
    assert r["cart.episode"][t - 1, 0] == 0 and r["cart.episode"][t, 0] == 1
    assert r["cart.episode_length"][t, 0] == k
    # the new episode starts from a fresh state in U(-0.05, 0.05)
    new = obs[t]
    assert np.all(np.abs(new) <= 0.05) and not np.array_equal(new, s0)


def test_truncation_is_success():
    per = 2
    sim = engine.Simulation(_graph(per, max_steps=4), record=["cart.feedback", "cart.done",
                                                              "cart.truncated",
                                                              "cart.episode_length"])
    r = sim.advance(per * 4 + 2, chunk=100)
    # 4 env steps of a fresh cartpole never fail: truncated, done = 1, feedback 0
    assert r["cart.done"][per * 4, 0] == 1.0
    assert np.all(r["cart.feedback"] == 0.0)
    assert r["cart.episode_length"][per * 4, 0] == 4
    # truncated: a one-step pulse together with done, and only then
    want = np.zeros(per * 4 + 2)
    want[per * 4] = 1.0
    np.testing.assert_array_equal(r["cart.truncated"][:, 0], want)


def _add_gym_env(g, nid, per):
    """A CartPole-v1 gym_env node ``nid`` whose action is the argmax of host input src_<nid>."""
    g.add_node(engine.Node(nid, "gym_env", {"env_id": "CartPole-v1", "steps_per_env_step": per}))
    g.add_node(engine.Node(f"src_{nid}", "host_input", {"size": 2, "kind": "value"}))
    g.add_node(engine.Node(f"act_{nid}", "argmax_action", {}))
    g.connect(f"src_{nid}.out", f"act_{nid}.value")
    g.connect(f"act_{nid}.action", f"{nid}.action")


def test_gym_env_matches_gymnasium():
    per = 4
    g = engine.Graph(settings={"dt": 1.0, "seed": 7, "dtype": "float32"})
    _add_gym_env(g, "env", per)
    sim = engine.Simulation(g, record=["env.observation", "env.feedback", "env.done",
                                       "env.episode", "env.episode_length"])
    sim.set_input("src_env", [1.0, 0.0])  # always push left
    r = sim.advance(per * 30, chunk=64)
    ref = gym.make("CartPole-v1")
    o, _ = ref.reset(seed=7)
    obs = r["env.observation"]
    assert np.array_equal(obs[0], o)
    k = 0
    while True:
        o, _, term, trunc, _ = ref.step(0)
        k += 1
        t = k * per
        if term:
            break
        assert np.array_equal(obs[t:t + per], np.tile(o, (per, 1)))
    assert r["env.feedback"][t, 0] == -1.0 and r["env.done"][t, 0] == 1.0
    assert r["env.feedback"][t + 1, 0] == 0.0
    assert np.sum(r["env.feedback"]) == -1.0 * np.sum(r["env.done"])
    assert r["env.episode"][t, 0] == 1 and r["env.episode_length"][t, 0] == k


def test_host_nodes_are_exchanged_each_at_its_own_period():
    """Two Gymnasium nodes with coprime periods (3 and 5 network steps per environment step):
    each is stepped exactly at the multiples of its own period, whatever the chunk size."""
    def build():
        g = engine.Graph(settings={"dt": 1.0, "seed": 7, "dtype": "float32"})
        for nid, per in (("a", 3), ("b", 5)):
            _add_gym_env(g, nid, per)
        return engine.Simulation(g, record=["a.observation", "b.observation", "a.steps",
                                            "b.steps"])

    n = 30
    runs = []
    for chunk in (7, 1, 100):
        sim = build()
        calls = {"a": [], "b": []}
        for nid in calls:
            comp = sim.model.rnodes[nid].comp
            comp.host_exchange = (lambda s, node, f=comp.host_exchange:
                                  (calls[node].append(s.t), f(s, node))[1])
        sim.set_input("src_a", [1.0, 0.0])  # a pushes left, b pushes right
        sim.set_input("src_b", [0.0, 1.0])
        runs.append(sim.advance(n, chunk=chunk))
        assert calls["a"] == list(range(3, n + 1, 3)), chunk
        assert calls["b"] == list(range(5, n + 1, 5)), chunk
    for r in runs[1:]:
        for k in runs[0]:
            assert np.array_equal(r[k], runs[0][k]), k
    r = runs[0]
    for nid, per, action in (("a", 3, 0), ("b", 5, 1)):
        ref = gym.make("CartPole-v1")
        o, _ = ref.reset(seed=7)
        obs = r[f"{nid}.observation"]
        assert np.array_equal(obs[:per], np.tile(o, (per, 1)))
        for k in range(1, n // per):
            o, _, term, _, _ = ref.step(action)
            if term:
                assert k >= 5
                break
            assert np.array_equal(obs[k * per:(k + 1) * per], np.tile(o, (per, 1))), (nid, k)
            assert r[f"{nid}.steps"][k * per, 0] == k


def test_gym_env_tells_truncation_from_termination():
    per = 2
    g = engine.Graph(settings={"dt": 1.0, "seed": 7, "dtype": "float32"})
    _add_gym_env(g, "env", per)
    sim = engine.Simulation(g, record=["env.feedback", "env.done", "env.truncated",
                                       "env.episode_length"])
    # the same environment with a time limit of 4 steps (as Gymnasium's TimeLimit applies it)
    sim.model.rnodes["env"].comp.env = gym.make("CartPole-v1", max_episode_steps=4)
    sim.reset()
    sim.set_input("src_env", [0.0, 1.0])
    r = sim.advance(per * 40, chunk=16)
    ends = np.flatnonzero(r["env.done"][:, 0])
    assert len(ends) >= 5
    np.testing.assert_array_equal(r["env.truncated"][:, 0] > 0, r["env.done"][:, 0] > 0)
    assert np.all(r["env.feedback"] == 0.0) and np.all(r["env.episode_length"][ends, 0] == 4)
    # pushing left for good fails before the limit: done without truncated
    sim.model.rnodes["env"].comp.env = gym.make("CartPole-v1", max_episode_steps=400)
    sim.reset()
    sim.set_input("src_env", [1.0, 0.0])
    r = sim.advance(per * 40, chunk=16)
    assert r["env.done"].sum() >= 2 and not r["env.truncated"].any()
    np.testing.assert_array_equal(r["env.feedback"][:, 0] < 0, r["env.done"][:, 0] > 0)
