"""The multi-agent trainer: solve criterion, summary, output files, a tiny vmapped run."""
import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spark_snn import engine
from spark_snn.engine import train as tr

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources" / "examples" / "cartpole.json"


def test_solved_episode():
    assert tr.solved_episode([500] * 9) is None
    assert tr.solved_episode([10, 20] + [500] * 10) == 3
    # mean of 10 = 475 exactly counts; 474.9 does not
    assert tr.solved_episode([475] * 10) == 1
    assert tr.solved_episode([500] * 9 + [249]) is None
    assert tr.solved_episode([0] * 5 + [500] * 9 + [250]) == 6


def test_summary_and_files(tmp_path):
    lengths = [[10] * 5 + [500] * 15, [20] * 20, [500] * 20]
    s = tr.summarize(lengths, [4, 5, 6], 20, 1.0)
    assert s["agents_solved"] == 2
    assert s["solved_episode"] == {"4": 6, "5": None, "6": 1}
    assert s["median_solve_episode"] == 3.5
    tr.write_results(tmp_path, lengths, [4, 5, 6], s)
    rows = list(csv.reader(open(tmp_path / "episodes.csv")))
    assert rows[0] == ["agent", "seed", "episode", "length"]
    assert rows[1] == ["0", "4", "1", "10"] and len(rows) == 61
    assert json.loads((tmp_path / "summary.json").read_text())["agents_solved"] == 2
    png = (tmp_path / "learning_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_writer(tmp_path):
    img = np.zeros((3, 4, 3), np.uint8)
    img[1, 2] = (255, 0, 0)
    tr.write_png(tmp_path / "x.png", img)
    data = (tmp_path / "x.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and b"IHDR" in data and data.endswith(
        b"IEND\xaeB`\x82")


def test_vmapped_agents_match_single_runs():
    g = engine.load(EXAMPLE)
    lengths, info = tr.train(g, 2, 3, seed=5, chunk_env_steps=50, progress=False)
    assert info["seeds"] == [5, 6]
    assert [len(x) for x in lengths] == [3, 3]
    # agent 1 of the vmapped run is the graph run alone with seed 6
    sim = engine.Simulation(g, seed=6, record=["cart.done", "cart.episode_length"])
    r = sim.advance(20 * 200, chunk=1000)
    solo = r["cart.episode_length"][r["cart.done"][:, 0] > 0, 0].astype(int).tolist()
    n = min(3, len(solo))
    assert n >= 1 and lengths[1][:n] == solo[:n]


def test_cli_run(tmp_path):
    parser = argparse.ArgumentParser()
    tr.add_arguments(parser)
    args = parser.parse_args([str(EXAMPLE), "--agents", "2", "--episodes", "2", "--seed", "0",
                              "--out", str(tmp_path), "--chunk", "100", "--quiet"])
    assert tr.run(args) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["agents"] == 2 and s["seeds"] == [0, 1] and s["agents_solved"] == 0


def test_example_agents_learn_within_ten_episodes():
    # 4 agents (seeds 0-3), 10 episodes each: the example's agents start near random
    # (episodes of ~20-30 steps; the same run with lr = 0 stays there, mean 20 over the last 3)
    # and, learning from the failure signal alone, balance several times longer by episode 8-10
    g = engine.load(EXAMPLE)
    lengths, _ = tr.train(g, 4, 10, seed=0, chunk_env_steps=100, progress=False)
    x = np.asarray(lengths, float)
    first, last = x[:, :3].mean(), x[:, -3:].mean()
    assert first < 50
    assert last > 100 and last > 3 * first


def test_agents_split_over_two_devices_give_the_same_episodes(tmp_path):
    """Two (host) devices: the agent axis is sharded over both, 3 agents rounded up to 4 (the
    fourth left out of every result); every agent's episodes are those of the one-device run.
    (A subprocess: the device count is fixed when JAX starts.)"""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    code = "import sys; from spark_snn.engine.cli import main; sys.exit(main(sys.argv[1:]))"
    out = tmp_path / "two"
    subprocess.run([sys.executable, "-c", code, "train", str(EXAMPLE), "--agents", "3",
                    "--episodes", "3", "--seed", "5", "--chunk", "50", "--quiet", "--out",
                    str(out)], check=True, env=env, cwd=ROOT, timeout=600, capture_output=True)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["devices"] == 2 and summary["agents"] == 3 and summary["seeds"] == [5, 6, 7]
    rows = list(csv.reader(open(out / "episodes.csv")))[1:]
    two = [[int(r[3]) for r in rows if r[0] == str(a)] for a in range(3)]
    one, info = tr.train(engine.load(EXAMPLE), 3, 3, seed=5, chunk_env_steps=50, progress=False)
    assert info["devices"] == 1
    assert two == one
    assert sorted(p.name for p in (out / "states").iterdir()) == [
        "agent0_seed5.npz", "agent1_seed6.npz", "agent2_seed7.npz"]


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_share_the_agents_and_give_the_single_process_episodes(tmp_path):
    """Two processes on localhost joined by jax.distributed (gloo on the CPU): 3 agents shared
    out as 2 + 1, gathered by a collective, written by process 0; every agent's episodes are
    those of a one-process run, and each process writes its own agents' states."""
    code = "import sys; from spark_snn.engine.cli import main; sys.exit(main(sys.argv[1:]))"
    addr = f"127.0.0.1:{_free_port()}"
    out = tmp_path / "dist"
    procs = [subprocess.Popen(
        [sys.executable, "-c", code, "train", str(EXAMPLE), "--agents", "3", "--episodes", "3",
         "--seed", "5", "--chunk", "50", "--quiet", "--out", str(out), "--coordinator", addr,
         "--num-processes", "2", "--process-id", str(i)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (0, 1)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outs]
    assert "agents solved" in outs[0][0] and "process 1: agents 2-2 done" in outs[1][0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["agents"] == 3
    assert summary["seeds"] == [5, 6, 7]
    rows = list(csv.reader(open(out / "episodes.csv")))[1:]
    two = [[int(r[3]) for r in rows if r[0] == str(a)] for a in range(3)]
    one, _ = tr.train(engine.load(EXAMPLE), 3, 3, seed=5, chunk_env_steps=50, progress=False)
    assert two == one
    assert sorted(p.name for p in (out / "states").iterdir()) == [
        "agent0_seed5.npz", "agent1_seed6.npz", "agent2_seed7.npz"]


@pytest.mark.parametrize("extra,message", [
    (["--coordinator", "127.0.0.1:1"], "go together"),
    (["--coordinator", "nohost", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
    (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"], "0 .. 1"),
    (["--coordinator", "h:1", "--num-processes", "4", "--process-id", "0"], "fewer than"),
])
def test_bad_distributed_options_are_refused(capsys, extra, message):
    parser = argparse.ArgumentParser()
    tr.add_arguments(parser)
    args = parser.parse_args([str(EXAMPLE), "--agents", "3", "--episodes", "2", *extra])
    assert tr.run(args) == 2
    assert message in capsys.readouterr().err

def _random_wiring_agent() -> engine.Graph:
    """A tiny cartpole agent whose sparse projection's tables differ in width from seed to seed
    (the widest row of a fixed_probability draw)."""
    from spark_snn.engine import Graph, Node
    g = Graph(settings={"dt": 1.0, "seed": 0, "dtype": "float32"})
    g.add_node(Node("cart", "cartpole", {"steps_per_env_step": 10}, (0.0, 0.0)))
    g.add_node(Node("enc", "rate_encoder", {"size": 4, "neurons_per_value": 8, "low": -0.2,
                                            "high": 0.2, "rate_max": 200.0}, (100.0, 0.0)))
    g.add_node(Node("w", "quadruplet_projection", {"connectivity": "fixed_probability",
                                                   "p": 0.3, "weight": 8.0}, (200.0, 0.0)))
    g.add_node(Node("pool", "lif", {"size": 6, "tau_m": 10.0}, (300.0, 0.0)))
    g.add_node(Node("count", "spike_count", {"groups": 2, "window": 10.0}, (400.0, 0.0)))
    g.add_node(Node("act", "argmax_action", {}, (500.0, 0.0)))
    for a, b in [("cart.observation", "enc.value"), ("enc.spikes", "w.pre"),
                 ("w.events", "pool.syn"), ("pool.spikes", "w.post"),
                 ("pool.spikes", "count.spikes"),
                 ("count.counts", "act.value"), ("act.action", "cart.action")]:
        g.connect(a, b)
    return g


def test_agents_with_different_table_sizes_train_in_groups():
    """Seeds whose connectivity tables differ in size cannot share one vmapped program: the
    trainer runs them in groups of equal shapes (before, stacking them failed), and every agent
    is still the graph run alone with its seed."""
    g = _random_wiring_agent()
    model = engine.compile_graph(g)
    groups = tr.agent_groups(model, [0, 1, 2, 3])
    assert len(groups) > 1 and sorted(a for idx, _ in groups for a in idx) == [0, 1, 2, 3]
    lengths, info = tr.train(g, 4, 3, seed=0, chunk_env_steps=50, progress=False)
    assert [len(x) for x in lengths] == [3, 3, 3, 3] and len(info["groups"]) == len(groups)
    for a in (0, 3):
        alone, _ = tr.train(g, 1, 3, seed=a, chunk_env_steps=50, progress=False)
        assert alone[0] == lengths[a]


def test_time_limit_stops_training():
    """With a time limit of 0 s no chunk runs: every agent has no episode, and the summary
    says how many each ran."""
    lengths, _ = tr.train(_random_wiring_agent(), 2, 5, seed=0, chunk_env_steps=50,
                          progress=False, time_limit_s=0.0)
    assert lengths == [[], []]
    assert tr.summarize(lengths, [0, 1], 5)["episodes_run"] == [0, 0]


def test_stacking_unequal_agents_is_refused_with_a_message():
    """The host-side trainer stacks all agents into one program: seeds whose tables differ in
    size are refused with a message saying why, not numpy's shape error."""
    import pytest
    model = engine.compile_graph(_random_wiring_agent())
    with pytest.raises(ValueError, match="connectivity tables differ in size"):
        tr.stack_agents(model, [0, 1, 2, 3])
