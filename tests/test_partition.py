"""One network split by neurons over several devices (engine/partition.py): the spikes are those
of the single-device run, with 1-4 CPU host devices (made with
``--xla_force_host_platform_device_count``, in a subprocess: the count is fixed when JAX starts)
and with two processes joined by jax.distributed; unsupported nodes are refused by name."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from spark_snn import engine
from spark_snn.engine.graph import Graph, Node
from spark_snn.components.projection import spike_words
from spark_snn.engine.partition import concat_words, local_size, split_tables
from spark_snn.engine.partition_sim import PartitionedSimulation

ROOT = Path(__file__).resolve().parents[1]
# slices of whole words: a is split 64 + 6 on 2 devices, 32 + 32 + 6 (+ 0) on 3 and 4; d (2
# neurons) sits on the first device alone
POOLS = {"a": 70, "b": 47, "c": 33, "d": 2}
RECORD = ["a.spikes", "b.spikes", "c.spikes", "d.spikes", "b.v", "noise.spikes",
          "rates.counts", "kicked.spikes"]
KICKED = """param tau_m = 10 ms in (0, inf)
input kick : 1 spikes
state v = -65 mV
dv/dt = (-65 mV - v) / tau_m
on kick: v += 8 mV
threshold: v > -50 mV
reset: v = -65 mV
"""
STEPS, CHUNK = 300, 100


def recurrent_net() -> Graph:
    """Four recurrent LIF pools, all 16 projections between them (mixed signs, Dale's law,
    delays 1-3: some fused into a shared kernel per delay, some dense, some event-driven), a
    heterogeneous bias current per pool, a Poisson source onto pool a's voltage and a host
    input onto pool b; a spike counter reads pool a whole, and an equation-defined pool takes
    the Poisson spikes directly (each device its slice of what runs whole)."""
    g = Graph(settings={"dt": 0.1, "seed": 3, "dtype": "float32"})
    for i, (k, n) in enumerate(POOLS.items()):
        g.add_node(Node(k, "lif", {"size": n, "v_init": "uniform", "tau_m": 10.0},
                        (0.0, 100.0 * i)))
        g.add_node(Node(f"bias_{k}", "current_source",
                        {"size": n, "amplitude": 15.0, "heterogeneity": 4.0}, (-200.0, 100.0 * i)))
        g.connect(f"bias_{k}.current", f"{k}.current")
    j = 0
    for a in POOLS:
        for b in POOLS:
            j += 1
            g.add_node(Node(f"p_{a}_{b}", "projection", {
                "connectivity": "fixed_probability", "p": 0.25, "weight": 1.5,
                "weight_init": "uniform", "weight_spread": 0.5, "sign": "mixed",
                "inhibitory_ratio": 4.0, "delay_steps": 1 + j % 3, "autapses": a != b,
                "propagation": ("event", "auto", "dense")[j % 3]}, (200.0, 20.0 * j)))
            g.connect(f"{a}.spikes", f"p_{a}_{b}.pre")
            g.connect(f"p_{a}_{b}.events", f"{b}.syn")
    g.add_node(Node("noise", "poisson_source", {"size": 40, "rate": 300.0}, (-200.0, 500.0)))
    g.add_node(Node("p_noise", "projection", {"connectivity": "fixed_probability", "p": 0.3,
                                              "weight": 3.0, "propagation": "event"},
                    (200.0, 500.0)))
    g.connect("noise.spikes", "p_noise.pre")
    g.connect("p_noise.events", "a.jump")
    g.add_node(Node("stim", "host_input", {"size": POOLS["b"]}, (-200.0, 600.0)))
    g.connect("stim.out", "b.current")
    g.add_node(Node("rates", "spike_count", {"groups": 2, "window": 5.0}, (400.0, 0.0)))
    g.connect("a.spikes", "rates.spikes")
    g.add_node(Node("kicked", "equation_pool", {"size": 40, "model": KICKED}, (0.0, 600.0)))
    g.connect("noise.spikes", "kicked.kick")
    return g


def stimulus(k: int) -> np.ndarray:
    """The host input of chunk k: a different vector each chunk."""
    return np.linspace(0.0, 6.0, POOLS["b"]) * (k % 2)


def reference(graph: Graph) -> dict:
    """The single-device run (engine.Simulation, this process, one device)."""
    sim = engine.Simulation(graph, record=RECORD, count=["c.spikes"])
    parts = []
    for k in range(STEPS // CHUNK):
        sim.set_input("stim", stimulus(k))
        parts.append(sim.advance(CHUNK, chunk=CHUNK))
    out = {n: np.concatenate([p[n] for p in parts]) for n in RECORD}
    out["count"] = sim.totals["c.spikes"]
    return out


RUN = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from test_partition import RECORD, STEPS, CHUNK, recurrent_net, stimulus
from spark_snn.engine.partition_sim import PartitionedSimulation
sim = PartitionedSimulation(recurrent_net(), devices={devices}, record=RECORD, count=["c.spikes"])
parts = []
for k in range(STEPS // CHUNK):
    sim.set_input("stim", stimulus(k))
    parts.append(sim.advance(CHUNK, chunk=CHUNK))
out = {{n.replace(".", "__"): np.concatenate([p[n] for p in parts]) for n in RECORD}}
kinds = np.array(sorted(set(sim.model.kind.values())))
np.savez({out!r}, count=sim.totals["c.spikes"], kinds=kinds, **out)
"""


def run_on_host_devices(devices: int, tmp_path) -> dict:
    out = tmp_path / f"part{devices}.npz"
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices} "
                                      "--xla_cpu_multi_thread_eigen=false"}
    code = RUN.format(tests=str(ROOT / "tests"), devices=devices, out=str(out))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, timeout=600,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    got = np.load(out)
    return {**{n: got[n.replace(".", "__")] for n in RECORD}, "count": got["count"],
            "kinds": list(got["kinds"])}


@pytest.fixture(scope="module")
def expected():
    return reference(recurrent_net())


@pytest.mark.parametrize("devices", [2, 3, 4])
def test_partitioned_spikes_equal_the_single_device_run(devices, expected, tmp_path):
    """Every recorded spike, potential and count equals the one-device run, with pool sizes
    that do not divide by the device count (pool d has fewer neurons than devices)."""
    got = run_on_host_devices(devices, tmp_path)
    assert got["kinds"] == ["projection", "split", "whole"]
    for name in RECORD:
        assert got[name].shape == expected[name].shape and len(got[name]) == STEPS
        assert np.array_equal(got[name], expected[name]), name
    assert np.array_equal(got["count"], expected["count"])
    # the network is active in every pool, so equal rasters mean something
    assert all(expected[f"{p}.spikes"].sum() > 10 for p in ("a", "b", "c", "kicked"))


def test_one_device_partition_equals_the_simulation(expected):
    """The partitioned code path on a single device (the test process's) gives the same run."""
    sim = PartitionedSimulation(recurrent_net(), devices=1, record=RECORD, count=["c.spikes"])
    for k in range(STEPS // CHUNK):
        sim.set_input("stim", stimulus(k))
        rec = sim.advance(CHUNK, chunk=CHUNK)
        for name in RECORD:
            assert np.array_equal(rec[name], expected[name][k * CHUNK:(k + 1) * CHUNK]), name
    assert sim.t == STEPS and np.array_equal(sim.totals["c.spikes"], expected["count"])


def test_live_edits_and_reset_follow_the_simulation():
    """A live parameter edit and a reset with another seed give the Simulation's run; a
    structural parameter and a bad value are refused by name."""
    g = recurrent_net()
    one = engine.Simulation(g, record=["a.spikes"])
    part = PartitionedSimulation(g, devices=1, record=["a.spikes"])
    for sim in (one, part):
        sim.set_param("bias_a", "amplitude", 19.0)
        sim.reset(seed=11)
    want = one.advance(200, chunk=100)["a.spikes"]
    assert np.array_equal(part.advance(200, chunk=100)["a.spikes"], want) and want.sum() > 0
    with pytest.raises(engine.StructuralEdit):
        part.set_param("a", "size", 3)
    with pytest.raises(engine.GraphError, match="parameter 'tau_m'"):
        part.set_param("a", "tau_m", -1.0)


def test_split_tables_keep_every_synapse_once_in_row_order():
    """Cutting padded tables by post neuron over 3 devices: each device's tables, renumbered back,
    hold exactly the synapses onto its neurons, in the order of the original row (NumPy
    reference; two post ports of 70 and 40 neurons, concatenated, as a fused kernel has them:
    slices of 32, so the devices own 32 + 32, 32 + 8 and 6 + 0 of them)."""
    rng = np.random.default_rng(0)
    n_pre, sizes, devices = 9, (70, 40), 3
    total = sum(sizes)
    targets = np.full((n_pre + 1, 30), total, np.int32)
    weights = np.zeros((n_pre + 1, 30), np.float32)
    for i in range(n_pre):
        k = rng.integers(1, 31)
        targets[i, :k] = rng.choice(total, k, replace=False)     # any order
        weights[i, :k] = rng.standard_normal(k)
    locs = [local_size(n, devices) for n in sizes]
    assert locs == [32, 32]
    segs = [(0, 70, locs[0]), (70, 40, locs[1])]
    t, w = split_tables(targets, weights, segs, devices)
    assert t.shape[:2] == (devices, n_pre + 1) and t.shape == w.shape

    def owner(g):
        return g // locs[0] if g < 70 else (g - 70) // locs[1]

    def back(dev, x):   # a device's local index -> the global one
        return dev * locs[0] + x if x < locs[0] else 70 + dev * locs[1] + x - locs[0]

    for i in range(n_pre + 1):
        for dev in range(devices):
            got = [(back(dev, int(x)), float(v)) for x, v in zip(t[dev, i], w[dev, i])
                   if x != sum(locs)]
            want = [(int(g), float(v)) for g, v in zip(targets[i], weights[i])
                    if g < total and owner(g) == dev]
            assert got == want
        assert sum(int((t[d, i] != sum(locs)).sum()) for d in range(devices)) == \
            int((targets[i] < total).sum())
    assert all((t[d] != sum(locs)).any() for d in range(devices))   # every device has some


def test_concatenated_words_are_the_words_of_the_concatenation():
    """The fused kernel's buffer from its sources' words (bit offsets 0, 33, 80, 81) equals the
    words of the concatenated spike vectors."""
    rng = np.random.default_rng(1)
    sizes = [33, 47, 1, 64]
    spikes = [(rng.random(n) < 0.4).astype(np.float32) for n in sizes]
    parts = [(spike_words(jnp.asarray(v)), n) for v, n in zip(spikes, sizes)]
    got = np.asarray(concat_words(parts))
    want = np.asarray(spike_words(jnp.asarray(np.concatenate(spikes))))
    assert np.array_equal(got, want)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_on_localhost_give_the_single_process_spikes(tmp_path):
    """``spark run --partition`` in two processes joined by jax.distributed (one CPU device
    each, gloo collectives): the recorded raster and the summary are the one-process run's."""
    path = tmp_path / "net.json"
    engine.save(recurrent_net(), path)
    code = "import sys; from spark_snn.engine.cli import main; sys.exit(main(sys.argv[1:]))"
    addr = f"127.0.0.1:{_free_port()}"
    out = tmp_path / "dist.npz"
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    procs = [subprocess.Popen(
        [sys.executable, "-c", code, "run", str(path), "--steps", "300", "--chunk", "100",
         "--record", "a.spikes", "c.spikes", "--out", str(out), "--json",
         "--coordinator", addr, "--num-processes", "2", "--process-id", str(i)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in (0, 1)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outs]
    summary = json.loads(outs[0][0].strip().splitlines()[-1])
    assert summary["devices"] == 2 and summary["processes"] == 2
    assert '"steps"' not in outs[1][0]          # process 1 reports nothing
    got = np.load(out)
    sim = engine.Simulation(engine.load(path), record=["a.spikes", "c.spikes"],
                            count=["a.spikes", "c.spikes"])
    want = sim.advance(300, chunk=100)
    assert np.array_equal(got["a__spikes"], want["a.spikes"])
    assert np.array_equal(got["c__spikes"], want["c.spikes"])
    assert summary["spikes"]["c"] == int(sim.totals["c.spikes"].sum()) > 0
    # each device receives the spike words of every pool that feeds a projection
    assert summary["exchange_bytes_per_step"] == sum(
        2 * 4 * -(-local_size(n, 2) // 32) for n in POOLS.values())


def test_unsupported_nodes_are_refused_by_name_all_at_once():
    """A plastic projection and one with per-synapse delays: one GraphError naming both."""
    g = recurrent_net()
    g.add_node(Node("learn", "stdp_projection", {}, (0.0, 0.0)))
    g.add_node(Node("spread", "projection", {"delay_steps": 2, "max_delay_steps": 5},
                    (0.0, 0.0)))
    for a, b in [("a.spikes", "learn.pre"), ("c.spikes", "learn.post"), ("learn.events", "c.syn"),
                 ("a.spikes", "spread.pre"), ("spread.events", "c.syn")]:
        g.connect(a, b)
    with pytest.raises(engine.GraphError) as err:
        PartitionedSimulation(g, devices=1)
    text = str(err.value)
    assert "node 'learn': cannot be partitioned across devices: type 'stdp_projection' is " \
           "not supported" in text
    assert "node 'spread': cannot be partitioned across devices: a projection with " \
           "per-synapse delays" in text


def test_a_host_side_environment_is_refused_by_name(capsys, tmp_path):
    """A Gymnasium environment steps on the host between chunks: ``spark run --partition``
    refuses the file naming the node, and options it cannot honour are refused."""
    path = tmp_path / "gym.json"
    g = Graph(settings={"dt": 1.0, "seed": 0, "dtype": "float32"})
    g.add_node(Node("env", "gym_env", {"env_id": "CartPole-v1"}, (0.0, 0.0)))
    g.add_node(Node("prefs", "host_input", {"size": 2, "kind": "value"}, (0.0, 0.0)))
    g.add_node(Node("act", "argmax_action", {}, (0.0, 0.0)))
    g.connect("prefs.out", "act.value")
    g.connect("act.action", "env.action")
    engine.save(g, path)
    from spark_snn.engine.cli import main
    assert main(["run", str(path), "--steps", "10", "--partition", "1"]) == 1
    err = capsys.readouterr().err
    assert "node 'env'" in err and "runs on the host between chunks" in err
    assert main(["run", str(path), "--steps", "10", "--partition", "1",
                 "--save-state", str(tmp_path / "s.npz")]) == 2
    assert "--save-state is not available with --partition" in capsys.readouterr().err
    assert main(["run", str(path), "--steps", "10", "--partition", "0"]) == 2
    assert "--partition must be at least 1" in capsys.readouterr().err
    assert main(["run", str(path), "--steps", "10", "--coordinator", "127.0.0.1:1"]) == 2
    assert "go together" in capsys.readouterr().err


def test_more_devices_than_there_are_is_a_clear_error():
    with pytest.raises(ValueError, match="xla_force_host_platform_device_count"):
        PartitionedSimulation(recurrent_net(), devices=64)
