"""Saved states (engine/state.py): N steps, save, load, M steps is bit for bit N + M steps in one
go (spikes, traces, weights, environments); structurally different graphs are refused with the
reason; live-parameter differences are said; files run no code; snapshots; trained agents."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ei_graph, graph_of

from spark_snn import engine
from spark_snn.engine import Simulation
from spark_snn.engine.cli import main
from spark_snn.engine.state import StateError, read_state, same_arrays

EXAMPLES = "resources/examples"


def plastic_delay_graph(dtype="float32"):
    """Poisson input -> STDP projection (delay 3) -> pool a, a recurrent through an event
    projection (delay 5), a -> pool b through a second STDP projection (delay 2), b -> a
    through a dense projection (delay 1, a cycle)."""
    return graph_of(
        ("src", "poisson_source", {"size": 30, "rate": 80.0}),
        ("a", "lif", {"size": 20, "v_init": "uniform"}),
        ("b", "lif", {"size": 10}),
        ("in_a", "stdp_projection", {"connectivity": "all_to_all", "weight": 2.5,
                                     "delay_steps": 3, "a_plus": 0.05, "a_minus": 0.04}),
        ("aa", "projection", {"p": 0.3, "weight": 1.0, "delay_steps": 5,
                              "propagation": "event"}),
        ("ab", "stdp_projection", {"connectivity": "all_to_all", "weight": 2.0,
                                   "delay_steps": 2}),
        ("ba", "projection", {"connectivity": "all_to_all", "weight": 0.5,
                              "sign": "inhibitory", "propagation": "dense"}),
        edges=[("src.spikes", "in_a.pre"), ("a.spikes", "in_a.post"), ("in_a.events", "a.syn"),
               ("a.spikes", "aa.pre"), ("aa.events", "a.syn"),
               ("a.spikes", "ab.pre"), ("b.spikes", "ab.post"), ("ab.events", "b.syn"),
               ("b.spikes", "ba.pre"), ("ba.events", "a.syn")],
        dt=0.5, seed=11, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cli_save_then_load_continues_bit_for_bit(tmp_path, dtype, capsys):
    f = tmp_path / "net.json"
    engine.save(plastic_delay_graph(dtype), f)
    rec = ["--chunk", "200", "--record", "a.spikes", "b.spikes", "b.v"]
    state = tmp_path / "s.npz"
    assert main(["run", str(f), "--steps", "1000", *rec, "--out", str(tmp_path / "whole.npz")]) == 0
    assert main(["run", str(f), "--steps", "400", *rec, "--out", str(tmp_path / "first.npz"),
                 "--save-state", str(state)]) == 0
    assert main(["run", str(f), "--steps", "600", *rec, "--out", str(tmp_path / "second.npz"),
                 "--load-state", str(state)]) == 0
    out = capsys.readouterr().out
    assert "state at step 400 saved" in out and "state at step 400 (t = 200 ms)" in out
    whole, first, second = (np.load(tmp_path / f"{k}.npz") for k in ("whole", "first", "second"))
    for k in ("a__spikes", "b__spikes", "b__v"):
        joined = np.concatenate([first[k], second[k]])
        assert joined.shape == whole[k].shape
        assert joined.dtype == np.dtype(dtype) or k.endswith("spikes")
        assert np.array_equal(joined, whole[k]), k
    assert whole["a__spikes"][400:].sum() > 50 and whole["b__spikes"][400:].sum() > 10
    # the weights changed by plasticity and the step are in the file
    saved = read_state(state)
    assert saved.t == 400 and saved.header["dtype"] == dtype
    w = saved.get("state", "nodes", "in_a", "w")
    assert w.shape == (30, 20) and not np.all(w == 2.5)


def _saved(sim, folder):
    path = folder / f"state{sim.t}.npz"
    sim.save_state(path)
    return path


def test_state_loads_into_a_simulation_that_fuses_and_groups_differently(tmp_path):
    """Saved per graph node: a state of a model whose projections are fused into one kernel
    and whose pools run as one group loads into an unfused, ungrouped model and back; chunks
    of another length after the load change nothing."""
    g = ei_graph(propagation="event")
    g.add_node(engine.Node("exc2", "lif", {"size": 40}))   # grouped with exc (same settings)
    g.connect("drive.current", "exc2.current")
    fused = Simulation(g, record=["exc.spikes"])
    assert fused.model.fused and fused.model.groups
    fused.advance(250, 125)
    fused.save_state(tmp_path / "a.npz")
    plain = Simulation(g, fuse=False)
    assert not plain.model.fused and not plain.model.groups
    plain.load_state(tmp_path / "a.npz")
    for nid in ("exc", "exc2", "inh"):
        assert same_arrays(plain.node_state(nid), fused.node_state(nid))
    buf = plain.node_state("ee")["buf"]          # the fused kernel's bits, one row per step
    assert buf.shape == (1, 40) and buf.sum() > 0
    plain.save_state(tmp_path / "b.npz")
    a, b = (read_state(tmp_path / f"{k}.npz") for k in "ab")
    assert same_arrays(a.part("state"), b.part("state"))
    assert same_arrays(a.part("consts"), b.part("consts"))
    again = Simulation(g, record=["exc.spikes"])
    again.load_state(tmp_path / "b.npz")
    assert same_arrays(again._runtime_tree(), fused._runtime_tree())
    want = fused.advance(375, 125)["exc.spikes"]
    assert np.array_equal(again.advance(375, 125)["exc.spikes"], want) and want.sum() > 20


def test_cartpole_example_continues_exactly(tmp_path):
    """The cartpole example (three-factor plasticity, a TD critic, the in-graph environment):
    saved mid-episode, loaded in a new simulation, the rest is the same to the bit."""
    g = engine.load(f"{EXAMPLES}/cartpole.json")
    rec = ["left.spikes", "right.spikes", "cart.observation", "critic.td_error"]
    a = Simulation(g, record=rec)
    a.advance(1200, 600)
    path = _saved(a, tmp_path)
    assert int(read_state(path).get("state", "nodes", "cart", "steps")) > 0   # mid-episode
    want = a.advance(1800, 600)
    b = Simulation(g, record=rec)
    b.load_state(path)
    got = b.advance(1800, 600)
    for k in rec:
        assert np.array_equal(got[k], want[k]), k
    assert want["left.spikes"].sum() > 100
    assert not np.array_equal(b.weights("w_left"), Simulation(g).weights("w_left"))


def gym_agent_graph():
    """Gymnasium's CartPole-v1 on the host (a period of 4 network steps), pushed by the more
    active of two random spike trains (ties broken at random)."""
    return graph_of(
        ("noise", "poisson_source", {"size": 2, "rate": 200.0}),
        ("count", "spike_count", {"groups": 2, "window": 4.0}),
        ("act", "argmax_action", {"tie_break": "random"}),
        ("env", "gym_env", {"env_id": "CartPole-v1", "steps_per_env_step": 4}),
        edges=[("noise.spikes", "count.spikes"), ("count.counts", "act.value"),
               ("act.action", "env.action")], dt=1.0, seed=5)


def test_gymnasium_environment_state_is_saved_and_restored(tmp_path):
    """The environment's physics, episode counters, time limit and random generator are in the
    file, and a new environment object continues exactly (saved between two environment
    steps)."""
    g = gym_agent_graph()
    rec = ["env.observation", "env.episode", "env.steps"]
    a = Simulation(g, record=rec)
    a.advance(402, 100)
    path = _saved(a, tmp_path)
    host = read_state(path).header["host"]["env"]
    assert host["env"]["rng"]["bit_generator"] == "PCG64" and len(host["env"]["state"]) == 4
    assert host["env"]["layers"][0]["_elapsed_steps"] == host["steps"] > 0
    want = a.advance(600, 100)
    assert want["env.episode"][-1, 0] >= want["env.episode"][0, 0] + 3   # episodes end after
    b = Simulation(g, record=rec)
    b.load_state(path)
    got = b.advance(600, 100)
    for k in rec:
        assert np.array_equal(got[k], want[k]), k


def test_structurally_different_graph_is_refused_with_the_reason(tmp_path):
    sim = Simulation(ei_graph())
    sim.advance(50, 50)
    path = tmp_path / "s.npz"
    sim.save_state(path)
    bigger = ei_graph(n_exc=41)
    with pytest.raises(StateError) as err:
        Simulation(bigger).load_state(path)
    msg = str(err.value)
    assert "node 'exc', parameter 'size': 40 in the state, 41 here" in msg
    assert "node 'drive', parameter 'size'" in msg
    assert "node 'ee', size 'n_pre': 40 in the state, 41 here" in msg
    other = ei_graph()
    other.nodes["ee"].params["p"] = 0.3          # a structural float (the connectivity)
    with pytest.raises(StateError, match="node 'ee', parameter 'p': 0.2 in the state, 0.3 here"):
        Simulation(other).load_state(path)
    rewired = ei_graph()
    rewired.disconnect("drive.current", "exc.current")
    with pytest.raises(StateError, match="edge drive.current -> exc.current is not in this graph"):
        Simulation(rewired).load_state(path)
    with pytest.raises(StateError, match="precision: float32 in the state, float64 here"):
        Simulation(ei_graph(), dtype="float64").load_state(path)
    swapped = ei_graph()
    swapped.nodes["inh"].type = "alif"
    with pytest.raises(StateError, match="node 'inh': type 'lif' in the state, 'alif' here"):
        Simulation(swapped).load_state(path)
    # the CLI says it too, and exits 1
    f = tmp_path / "bigger.json"
    engine.save(bigger, f)
    assert main(["run", str(f), "--steps", "10", "--load-state", str(path)]) == 1


def test_live_parameter_differences_are_said_and_either_value_can_win(tmp_path):
    """A live edit made before saving is reported and used (or not); the state's seed (its
    connectivity and noise) replaces the graph's."""
    a = Simulation(ei_graph(seed=3), record=["exc.spikes"])
    a.advance(100, 100)
    a.set_param("exc", "tau_m", 14.0)            # a live edit during the run
    a.save_state(tmp_path / "s.npz")
    after = a.advance(300, 100)["exc.spikes"]
    b = Simulation(ei_graph(seed=9), record=["exc.spikes"])
    report = b.load_state(tmp_path / "s.npz")
    assert report.t == 100 and report.param_differences == [
        "node 'exc', parameter 'tau_m': 14 in the state, 20 here (the state's value is used)"]
    assert b.seed == 3 and "seed 3 from the state" in report.notes[0]
    assert float(b.params["exc"]["tau_m"]) == 14.0 and b.graph.nodes["exc"].params["tau_m"] == 14
    assert np.array_equal(b.advance(300, 100)["exc.spikes"], after)
    b.set_param("exc", "tau_m", 20.0)
    report = b.load_state(tmp_path / "s.npz", params="graph")
    assert "this graph's value is kept" in report.param_differences[0]
    assert float(b.params["exc"]["tau_m"]) == 20.0 and b.t == 100
    assert not np.array_equal(b.advance(300, 100)["exc.spikes"], after)


def test_files_that_are_not_states_or_hold_objects_are_refused(tmp_path):
    sim = Simulation(ei_graph())
    text = tmp_path / "x.npz"
    text.write_text("hello")
    with pytest.raises(StateError, match="not a readable Spark state file"):
        sim.load_state(text)
    with pytest.raises(StateError, match="no such file"):
        sim.load_state(tmp_path / "missing.npz")
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.zeros(3))
    with pytest.raises(StateError, match="not a Spark state file"):
        sim.load_state(plain)
    # a pickled object inside the archive is never unpickled (np.load allow_pickle=False)
    evil = tmp_path / "evil.npz"
    header = {"format": "spark-state", "version": 1, "arrays": [["state", "t"]]}
    np.savez(evil, header=np.frombuffer(json.dumps(header).encode(), np.uint8),
             a0=np.array([object()], dtype=object))
    with pytest.raises(StateError, match="not a readable Spark state file"):
        sim.load_state(evil)
    newer = tmp_path / "newer.npz"
    np.savez(newer, header=np.frombuffer(json.dumps({"format": "spark-state", "version": 99,
                                                     "arrays": []}).encode(), np.uint8))
    with pytest.raises(StateError, match="version 99 is newer"):
        sim.load_state(newer)


def test_snapshot_and_restore_rerun_the_same_steps():
    sim = Simulation(plastic_delay_graph(), record=["a.spikes"])
    sim.advance(200, 100)
    snap = sim.snapshot()
    first = sim.advance(300, 100)["a.spikes"]
    sim.set_param("a", "tau_m", 5.0)
    sim.advance(100, 100)
    diffs = sim.restore(snap)                    # with the parameters of then
    assert sim.t == 200 and float(sim.params["a"]["tau_m"]) == 20.0
    assert diffs and "parameter 'tau_m'" in diffs[0]
    assert np.array_equal(sim.advance(300, 100)["a.spikes"], first)
    sim.restore(snap)
    sim.set_param("a", "tau_m", 5.0)
    sim.restore(snap, params=False)              # a branch: keep the edited value
    assert float(sim.params["a"]["tau_m"]) == 5.0
    assert not np.array_equal(sim.advance(300, 100)["a.spikes"], first)
    assert snap.nbytes > 0


def test_train_saves_every_agents_final_state(tmp_path, capsys):
    assert main(["train", f"{EXAMPLES}/cartpole.json", "--agents", "2", "--episodes", "2",
                 "--chunk", "40", "--out", str(tmp_path), "--quiet"]) == 0
    assert "final agent states in" in capsys.readouterr().out
    paths = sorted((tmp_path / "states").glob("*.npz"))
    assert [p.name for p in paths] == ["agent0_seed0.npz", "agent1_seed1.npz"]
    g = engine.load(f"{EXAMPLES}/cartpole.json")
    for seed, p in enumerate(paths):
        saved = read_state(p)
        assert saved.seed == seed and saved.t % 20 == 0 and saved.t > 0
        sim = Simulation(g)
        sim.load_state(p)
        assert sim.seed == seed and sim.t == saved.t
        # the learnt weights are the trained ones, not the initial ones
        w = saved.get("state", "nodes", "w_left", "w")
        assert np.array_equal(sim.node_state("w_left")["w"], w)
        assert not np.array_equal(w, Simulation(g, seed=seed).node_state("w_left")["w"])
        episodes = int(sim.node_state("cart")["episode"])
        assert episodes >= 2
