"""Parameter sweeps (engine/sweep.py, spark sweep): every combination in one vmapped program
gives what separate runs of the Simulation give; sweep.csv's columns and rows; refusals; batches
and several devices change nothing."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ei_graph, graph_of

from spark_snn import engine
from spark_snn.engine import GraphError, Simulation
from spark_snn.engine.cli import main
from spark_snn.engine.sweep import parse_param, sweep


def test_parse_param():
    p = parse_param("col.exc.tau_m=10:30:5")
    assert (p.node, p.name, p.label) == ("col.exc", "tau_m", "col.exc.tau_m")
    assert np.array_equal(p.values, [10, 15, 20, 25, 30])
    assert np.array_equal(parse_param("a.b=1,2.5,4").values, [1, 2.5, 4])
    for bad in ("a.b", "ab=1:2:3", "a.b=1:2", "a.b=1:2:0", "a.b=x,y", "a.b=1:2:2.5"):
        with pytest.raises(ValueError, match="node.param=lo:hi:n|lo:hi:n"):
            parse_param(bad)


def test_sweep_gives_what_separate_runs_give(tmp_path, capsys):
    """The CLI's sweep.csv against one Simulation run per combination (set_param, reset,
    advance: the spike totals counted by the ordinary chunk), row by row in product order."""
    g = ei_graph()
    f = tmp_path / "net.json"
    engine.save(g, f)
    out = tmp_path / "sweep"
    assert main(["sweep", str(f), "--param", "exc.tau_m=10:30:3", "--param",
                 "drive.amplitude=15,25", "--steps", "600", "--chunk", "300", "--batch", "4",
                 "--out", str(out)]) == 0
    assert "6 combinations x 600 steps" in capsys.readouterr().out
    rows = list(csv.reader(open(out / "sweep.csv")))
    assert rows[0] == ["exc.tau_m", "drive.amplitude", "exc.rate_hz", "exc.spikes",
                       "inh.rate_hz", "inh.spikes"]
    assert len(rows) == 7
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["combinations"] == 6 and meta["batch"] == 4 and meta["devices"] >= 1
    sim = Simulation(g, count=["exc.spikes", "inh.spikes"])
    totals = []
    for tau in (10.0, 20.0, 30.0):
        for amp in (15.0, 25.0):
            sim.set_param("exc", "tau_m", tau)
            sim.set_param("drive", "amplitude", amp)
            sim.reset()
            sim.advance(600, 300)
            totals.append((tau, amp, int(sim.totals["exc.spikes"].sum()),
                           int(sim.totals["inh.spikes"].sum())))
    for row, (tau, amp, exc, inh) in zip(rows[1:], totals):
        assert float(row[0]) == tau and float(row[1]) == amp
        assert int(row[3]) == exc and int(row[5]) == inh
        assert float(row[2]) == pytest.approx(exc / 40 / 0.06)   # 600 steps of 0.1 ms
        assert float(row[4]) == pytest.approx(inh / 10 / 0.06)
    assert len({t[2] for t in totals}) == 6                       # the parameters mattered


def test_environment_measures_and_output_means():
    g = graph_of(("noise", "poisson_source", {"size": 2, "rate": 200.0}),
                 ("count", "spike_count", {"groups": 2, "window": 2.0}),
                 ("act", "argmax_action", {"tie_break": "random"}),
                 ("cart", "cartpole", {"steps_per_env_step": 2}),
                 edges=[("noise.spikes", "count.spikes"), ("count.counts", "act.value"),
                        ("act.action", "cart.action")], dt=1.0, seed=2)
    res = sweep(g, ["noise.rate=50,400"], 800, chunk=400, measures=["count.counts"])
    assert list(res.measures) == ["cart.episodes", "cart.episode_length_mean",
                                  "count.counts_mean"]
    for i, rate in enumerate((50.0, 400.0)):
        sim = Simulation(g, record=["cart.done", "cart.episode_length", "count.counts"])
        sim.set_param("noise", "rate", rate)
        sim.reset()
        r = sim.advance(800, 400)
        done = r["cart.done"][:, 0] > 0
        assert res.measures["cart.episodes"][i] == done.sum() > 2
        assert res.measures["cart.episode_length_mean"][i] == pytest.approx(
            r["cart.episode_length"][done, 0].mean())
        assert res.measures["count.counts_mean"][i] == pytest.approx(
            r["count.counts"].mean(), rel=1e-5)
    assert res.grid_of("count.counts_mean").shape == (2,)


def test_what_cannot_be_swept_is_refused_with_the_reason(tmp_path, capsys):
    g = ei_graph()
    cases = [("exc.size=10:20:2", "node 'exc', parameter 'size': structural"),
             ("ee.p=0.1:0.2:2", "node 'ee', parameter 'p': structural"),
             ("nobody.tau_m=1:2:2", "node 'nobody': no such node"),
             ("exc.nope=1:2:2", "node 'exc', parameter 'nope': unknown parameter"),
             ("exc.tau_m=-5:5:3", "node 'exc', parameter 'tau_m': value -5")]
    for spec, why in cases:
        with pytest.raises(GraphError, match=why):
            sweep(g, [spec], 10)
    with pytest.raises(GraphError, match="swept twice"):
        sweep(g, ["exc.tau_m=1:2:2", "exc.tau_m=3,4"], 10)
    gym = graph_of(("src", "host_input", {"size": 2, "kind": "value"}),
                   ("act", "argmax_action", {}),
                   ("env", "gym_env", {"env_id": "CartPole-v1"}),
                   edges=[("src.out", "act.value"), ("act.action", "env.action")])
    with pytest.raises(GraphError, match="node 'env': runs on the host"):
        sweep(gym, ["src.value=0,1"], 10)
    f = tmp_path / "net.json"
    engine.save(g, f)
    assert main(["sweep", str(f), "--param", "exc.size=1:2:2", "--steps", "5",
                 "--out", str(tmp_path / "o")]) == 1
    assert "parameter 'size': structural" in capsys.readouterr().err
    assert main(["sweep", str(f), "--param", "exc.tau_m=1:2", "--steps", "5",
                 "--out", str(tmp_path / "o")]) == 2


def test_two_devices_give_the_same_rows(tmp_path):
    """With two (host) devices the combination axis is sharded over both: the same numbers.
    (A subprocess: the device count is fixed when JAX starts.)"""
    g = ei_graph()
    f = tmp_path / "net.json"
    engine.save(g, f)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    args = ["--param", "exc.tau_m=10:30:3", "--steps", "300", "--chunk", "300"]
    code = ("import sys; from spark_snn.engine.cli import main; sys.exit(main(sys.argv[1:]))")
    subprocess.run([sys.executable, "-c", code, "sweep", str(f), *args, "--out",
                    str(tmp_path / "two")], check=True, env=env, cwd=os.getcwd(), timeout=300,
                   capture_output=True)
    assert json.loads((tmp_path / "two" / "sweep.json").read_text())["devices"] == 2
    one = sweep(g, [parse_param(a) for a in ["exc.tau_m=10:30:3"]], 300, chunk=300)
    rows = list(csv.reader(open(tmp_path / "two" / "sweep.csv")))[1:]
    assert len(rows) == 3
    for i, row in enumerate(rows):
        assert int(row[2]) == one.measures["exc.spikes"][i]
        assert int(row[4]) == one.measures["inh.spikes"][i]
