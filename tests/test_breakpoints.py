"""Breakpoints (engine/breakpoints.py): the condition language, and runs that stop inside the
compiled chunk at exactly the step a condition became true, checked against recordings of a
run without breakpoints and against running exactly that many steps."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ei_graph, graph_of, overflow_graph

from spark_snn.engine import Simulation, SimulationError
from spark_snn.engine.breakpoints import RATE_WINDOW_MS, ConditionError, parse
from spark_snn.engine.cli import main
from spark_snn.engine.state import same_arrays


def test_conditions_parse():
    c = parse("exc.rate > 50")
    assert (c.kind, c.node, c.op, c.value, c.window_ms) == ("rate", "exc", ">", 50.0,
                                                             RATE_WINDOW_MS)
    c = parse("  col1.exc.rate(25 ms)<=2.5 Hz ")
    assert (c.kind, c.node, c.op, c.value, c.window_ms) == ("rate", "col1.exc", "<=", 2.5, 25.0)
    assert parse("pool.rate(0.02 s) > 1").window_ms == 20.0
    c = parse("out.v[3] >= -52.5")
    assert (c.kind, c.node, c.port, c.index, c.op, c.value) == ("compare", "out", "v", 3, ">=",
                                                                -52.5)
    c = parse("critic.td_error crosses 0")
    assert (c.kind, c.node, c.port, c.value) == ("crosses", "critic", "td_error", 0.0)
    assert parse("episode").kind == "episode" and parse("nan").kind == "nan"
    c = parse("t >= 120 ms")
    assert (c.kind, c.op, c.value, c.unit) == ("time", ">=", 120.0, "ms")
    assert parse("t > 2 s").unit == "s" and parse("t > 30 steps").unit == "steps"
    assert parse("t >= 5").unit == "ms"


@pytest.mark.parametrize("text, why", [
    ("", "empty condition"),
    ("exc.rate >", "expected a number at the end"),
    ("exc.rate = 5", "unexpected '= 5'"),
    ("exc > 5", "'exc' is not a signal"),
    ("exc.v[1.5] > 0", "whole number"),
    ("exc.rate(5 Hz) > 1", "the window needs ms or s"),
    ("t >= 5 days", "unknown time unit 'days'"),
    ("exc.v > 1 and inh.v > 2", "unexpected 'and'"),
    ("__import__('os').system('true')", "unexpected"),
    ("exc.v > 1e999999", "a finite number"),
])
def test_bad_conditions_are_refused_with_the_reason(text, why):
    with pytest.raises(ConditionError, match=why.replace("(", r"\(").replace("[", r"\[")):
        parse(text)


def test_conditions_must_fit_the_model():
    sim = Simulation(ei_graph(propagation="event"))
    for text, why in [("nobody.v > 0", "no node 'nobody'"),
                      ("exc.nope > 0", "has no output 'nope' \\(outputs: spikes, v"),
                      ("drive.rate > 5", "has no spike output"),
                      ("inh.v[10] > 0", "has 10 elements"),
                      ("episode", "no environment"),
                      ("ee.events > 1", "fused into a shared kernel")]:
        with pytest.raises(ConditionError, match=why):
            sim.breakpoints = [text]
    kept = Simulation(ei_graph(propagation="event"), breakpoints=["ee.events > 1"])
    assert kept.breakpoints == ("ee.events > 1",) and kept.has_port("ee.events")


def _rising(x):
    """Indices where a boolean series becomes true (true at 0 counts)."""
    x = np.asarray(x, bool)
    return np.flatnonzero(x & ~np.concatenate([[False], x[:-1]]))


def test_rate_and_crossing_stop_at_the_exact_step():
    """Two conditions at once; each stop is checked against the spikes and potentials of a run
    without breakpoints (a sliding 10 ms window of spikes; a sign change of v - x), and the
    state where the run stopped is the state after exactly that many steps."""
    g = ei_graph()
    sim = Simulation(g, breakpoints=["exc.rate > 30", "inh.v[2] crosses -55"])
    ref = Simulation(g, record=["exc.spikes", "inh.v"])
    rec = ref.advance(1500, 500)
    w = int(round(RATE_WINDOW_MS / 0.1))
    counts = np.convolve(rec["exc.spikes"].sum(axis=1), np.ones(w, int))[:1500]
    rate_on = np.arange(1500) >= w - 1         # a full window since watching began
    rate_hits = _rising((counts > 12) & rate_on) + 1   # 30 Hz x 40 neurons x 10 ms = 12
    v = rec["inh.v"][:, 2].astype(np.float64) + 55.0
    cross_hits = np.flatnonzero(((v[:-1] < 0) & (v[1:] >= 0)) | ((v[:-1] > 0) & (v[1:] <= 0)))
    cross_hits = cross_hits + 2
    want = sorted(set(rate_hits) | set(cross_hits))
    assert len(rate_hits) >= 2 and len(cross_hits) >= 2 and len(want) >= 4
    got = []
    check = Simulation(g)
    while len(got) < 4:
        sim.advance(1500 - sim.t, 500)
        hit = sim.hit
        assert hit is not None and sim.t == hit.t
        got.append(hit.t)
        fired = {c.text for c in hit.conditions}
        assert fired == ({"exc.rate > 30"} if hit.t in rate_hits else set()) | (
            {"inh.v[2] crosses -55"} if hit.t in cross_hits else set())
        assert hit.node in ("exc", "inh")
        check.advance(hit.t - check.t, 500)
        assert same_arrays(sim._runtime_tree(), check._runtime_tree())
    assert got == want[:4]


def test_time_and_level_semantics():
    sim = Simulation(ei_graph(), breakpoints=["t >= 12.35 ms"])
    sim.advance(1000, 100)
    assert sim.hit.t == 124 and sim.t == 124 and abs(sim.hit.time_ms - 12.4) < 1e-9
    assert "stopped at step 124 (t = 12.4 ms): t >= 12.35 ms" == str(sim.hit)
    sim.advance(200, 100)                      # still true: a level stops once, when it rises
    assert sim.hit is None and sim.t == 324
    sim.breakpoints = ["t > 330 steps", "t >= 12.35 ms"]   # the kept one stays quiet
    sim.advance(200, 100)
    assert sim.hit.t == 331 and [c.text for c in sim.hit.conditions] == ["t > 330 steps"]
    sim.reset()                                # watching starts again after a reset
    sim.advance(200, 100)
    assert sim.hit.t == 124


def test_nan_stops_at_the_step_and_names_the_node():
    with pytest.raises(SimulationError) as err:
        Simulation(overflow_graph()).advance(300, 100)
    sim = Simulation(overflow_graph(), breakpoints=["nan"])
    sim.advance(300, 100)                      # no exception: the breakpoint took it
    assert sim.hit.t == err.value.step + 1 and sim.hit.node == err.value.node == "b"
    assert not np.all(np.isfinite(sim.node_state("b")["I_syn"]))


def test_episode_end_stops_the_run():
    g = graph_of(("noise", "poisson_source", {"size": 2, "rate": 200.0}),
                 ("count", "spike_count", {"groups": 2, "window": 2.0}),
                 ("act", "argmax_action", {"tie_break": "random"}),
                 ("cart", "cartpole", {"steps_per_env_step": 2}),
                 edges=[("noise.spikes", "count.spikes"), ("count.counts", "act.value"),
                        ("act.action", "cart.action")], dt=1.0, seed=2)
    done = Simulation(g, record=["cart.done"]).advance(400, 200)["cart.done"][:, 0]
    ends = np.flatnonzero(done > 0) + 1
    assert len(ends) >= 2
    sim = Simulation(g, breakpoints=["episode"])
    sim.advance(400, 200)
    assert sim.hit.t == ends[0] and sim.hit.node == "cart"
    sim.advance(400 - sim.t, 200)
    assert sim.hit.t == ends[1]


def test_cli_until(tmp_path, capsys):
    ex = "resources/examples/two_pools.json"
    assert main(["run", ex, "--steps", "3000", "--chunk", "1000", "--until", "inh.rate > 40",
                 "--until", "t >= 250 ms", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    stop = out["stopped"]
    assert stop["conditions"] in (["inh.rate > 40"], ["t >= 250 ms"])
    assert out["t"] == stop["t"] == out["steps"] <= 2500
    assert main(["run", ex, "--steps", "10", "--until", "inh.rate >> 4"]) == 1
    assert "expected a number, got '>'" in capsys.readouterr().err
