"""Input and output components: Poisson source, rate and place-cell encoders, spike count,
rate readout and argmax action. Statistical checks use 5-sigma bounds computed from the model."""
from __future__ import annotations

import math

import numpy as np
import pytest

from spark_snn.components.argmax_action import ArgmaxAction
from spark_snn.components.place_cell_encoder import PlaceCellEncoder
from spark_snn.components.poisson_source import PoissonSource
from spark_snn.components.rate_encoder import RateEncoder
from spark_snn.engine import GraphError, Simulation, validate
from tests.conftest import graph_of as graph

DT = 0.1


def problems_at(g, node, param):
    return [p for p in validate(g) if p.node == node and p.param == param]


# --- Poisson source ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def poisson_sim():
    g = graph(("big", "poisson_source", {"size": 20000, "rate": 50.0}),
              ("twin_a", "poisson_source", {"size": 500, "rate": 200.0}),
              ("twin_b", "poisson_source", {"size": 500, "rate": 200.0}))
    return Simulation(g, record=["big.spikes", "twin_a.spikes", "twin_b.spikes"])


def test_poisson_count_matches_rate(poisson_sim):
    sim = poisson_sim
    sim.reset(seed=0)
    rec = sim.advance(20, chunk=20)
    s = rec["big.spikes"]
    assert s.shape == (20, 20000) and s.dtype == bool
    p = 50.0 * DT / 1000.0                     # 0.005
    n = s.size                                 # 400,000 Bernoulli trials
    mean, sd = n * p, math.sqrt(n * p * (1 - p))  # 2000 +- 44.6
    assert abs(int(s.sum()) - mean) < 5 * sd
    # each step is a fresh draw: every per-step count is within 5 sigma of 100, and they differ
    per_step = s.sum(axis=1)
    assert np.all(np.abs(per_step - 20000 * p) < 5 * math.sqrt(20000 * p * (1 - p)))
    assert len(np.unique(per_step)) > 3


def test_poisson_rate_is_live_and_saturates(poisson_sim):
    sim = poisson_sim
    sim.reset(seed=0)
    sim.set_param("big", "rate", 0.0)
    assert sim.advance(20, chunk=20)["big.spikes"].sum() == 0
    sim.set_param("big", "rate", 10000.0)       # p = 1 exactly: every neuron, every step
    assert sim.advance(20, chunk=20)["big.spikes"].all()
    sim.set_param("big", "rate", 50.0)


def test_poisson_seeds_and_nodes(poisson_sim):
    sim = poisson_sim
    sim.reset(seed=3)
    a = sim.advance(20, chunk=20)
    sim.reset(seed=3)
    b = sim.advance(20, chunk=20)
    sim.reset(seed=4)
    c = sim.advance(20, chunk=20)
    np.testing.assert_array_equal(a["big.spikes"], b["big.spikes"])
    assert (a["big.spikes"] != c["big.spikes"]).sum() > 100
    # two nodes with equal parameters draw different spikes (the key depends on the node id)
    assert (a["twin_a.spikes"] != a["twin_b.spikes"]).sum() > 100
    sim.reset(seed=0)


def test_poisson_refuses_more_than_one_spike_per_step():
    assert PoissonSource.check_dt({"size": 1, "rate": 10000.0}, 0.1) == []
    probs = PoissonSource.check_dt({"size": 1, "rate": 10001.0}, 0.1)
    assert [p[0] for p in probs] == ["rate"] and "10000" in probs[0][1]
    g = graph(("src", "poisson_source", {"size": 3, "rate": 2000.0}), dt=1.0)
    with pytest.raises(GraphError) as err:
        Simulation(g)
    (prob,) = err.value.problems
    assert prob.node == "src" and prob.param == "rate" and "2000" in prob.message


# --- chunk independence over every random component ----------------------------------------------

def test_all_components_are_chunk_independent():
    g = graph(
        ("inp", "host_input", {"size": 3, "kind": "value", "value": 0.5}),
        ("src", "poisson_source", {"size": 40, "rate": 300.0}),
        ("enc", "rate_encoder", {"size": 3, "neurons_per_value": 4, "rate_max": 800.0}),
        ("pc", "place_cell_encoder", {"low": [0.0, 0.0, 0.0], "high": [1.0, 2.0, 3.0],
                                      "cells_per_dim": 4, "max_rate": 900.0}),
        ("cnt", "spike_count", {"groups": 4, "window": 3.3}),
        ("rr", "rate_readout", {"groups": 4, "tau": 2.0}),
        ("am", "argmax_action", {"tie_break": "random"}),
        ("am_pc", "argmax_action", {"tie_break": "random"}),
        edges=[("inp.out", "enc.value"), ("inp.out", "pc.value"), ("src.spikes", "cnt.spikes"),
               ("enc.spikes", "rr.spikes"), ("cnt.counts", "am.value"),
               ("pc.rates", "am_pc.value")])
    rec = ["src.spikes", "enc.spikes", "pc.spikes", "cnt.counts", "rr.rate", "am.action",
           "am_pc.action"]
    sim = Simulation(g, record=rec)
    one = sim.advance(1000, chunk=1000)
    sim.reset()
    parts = [sim.advance(100, chunk=100) for _ in range(10)]
    for name in rec:
        tens = np.concatenate([p[name] for p in parts])
        assert tens.shape == one[name].shape
        assert np.array_equal(tens, one[name]), name
    assert one["src.spikes"].sum() > 0 and one["pc.spikes"].sum() > 0
    # ties among the zero counts of the first window are broken at random: several actions occur
    assert len(np.unique(one["am.action"][:30])) > 1
    assert one["am.action"].dtype == np.int32


# --- rate encoder --------------------------------------------------------------------------------

def test_rate_encoder_rates_and_counts():
    g = graph(("inp", "host_input", {"size": 4, "kind": "value"}),
              ("enc", "rate_encoder", {"size": 4, "neurons_per_value": 1000, "low": -1.0,
                                       "high": 1.0, "rate_min": 20.0, "rate_max": 220.0}),
              edges=[("inp.out", "enc.value")])
    sim = Simulation(g, record=["enc.spikes", "enc.rates"])
    sim.set_input("inp", [-2.0, 0.0, 0.5, 3.0])   # clipped low, middle, 3/4, clipped high
    rec = sim.advance(20, chunk=20)
    expected = np.array([20.0, 120.0, 170.0, 220.0])
    np.testing.assert_allclose(rec["enc.rates"][-1], expected, rtol=1e-6)
    assert rec["enc.spikes"].shape == (20, 4000)
    counts = rec["enc.spikes"].reshape(20, 4, 1000).sum(axis=(0, 2))   # value-major layout
    p = expected * DT / 1000.0
    trials = 20 * 1000
    sd = np.sqrt(trials * p * (1 - p))
    assert np.all(np.abs(counts - trials * p) < 5 * sd), (counts, trials * p)


def test_rate_encoder_checks():
    g = graph(("inp", "host_input", {"size": 2, "kind": "value"}),
              ("enc", "rate_encoder", {"size": 2, "low": 1.0, "high": 1.0}),
              edges=[("inp.out", "enc.value")])
    (prob,) = problems_at(g, "enc", "high")
    assert "above low" in prob.message
    assert [p[0] for p in RateEncoder.check_dt(
        {"rate_min": 0.0, "rate_max": 20000.0}, 0.1)] == ["rate_max"]
    g2 = graph(("enc", "rate_encoder", {"size": 2}))
    assert any(p.node == "enc" and p.port == "value" for p in validate(g2))


# --- place cells ---------------------------------------------------------------------------------

PC = {"low": [0.0, -1.0], "high": [1.0, 1.0], "cells_per_dim": 5, "width": 0.5,
      "max_rate": 80.0}


@pytest.fixture(scope="module")
def place_sim():
    g = graph(("inp", "host_input", {"size": 2, "kind": "value"}),
              ("pc", "place_cell_encoder", dict(PC)),
              edges=[("inp.out", "pc.value")])
    return Simulation(g, record=["pc.rates", "pc.spikes"])


def place_rates(x, width):
    """The tuning-curve formula, independently in float64."""
    out = []
    for d in range(2):
        c = np.linspace(PC["low"][d], PC["high"][d], PC["cells_per_dim"])
        sigma = width * (c[1] - c[0])
        out.append(PC["max_rate"] * np.exp(-(x[d] - c) ** 2 / (2 * sigma ** 2)))
    return np.concatenate(out)


def test_place_cell_rates_golden(place_sim):
    sim = place_sim
    sim.reset()
    sim.set_input("inp", [0.25, 0.25])
    r = sim.advance(1, chunk=1)["pc.rates"][0]
    # dim 0: centres 0, .25, .5, .75, 1, sigma .125: x sits on cell 1, two sigma from cells 0, 2
    # dim 1: centres -1, -.5, 0, .5, 1, sigma .25: x is one sigma from cells 2 and 3
    assert r.shape == (10,)
    assert r[1] == pytest.approx(80.0, rel=1e-6)
    assert r[0] == pytest.approx(10.826822658929018, rel=1e-5)   # 80 exp(-2)
    assert r[2] == pytest.approx(10.826822658929018, rel=1e-5)
    assert r[7] == pytest.approx(48.52245277701251, rel=1e-5)    # 80 exp(-1/2)
    assert r[8] == pytest.approx(48.52245277701251, rel=1e-5)
    for x in ([0.1, -0.8], [0.93, 0.37], [-0.5, 2.0]):
        sim.set_input("inp", x)
        r = sim.advance(1, chunk=1)["pc.rates"][0]
        np.testing.assert_allclose(r, place_rates(np.array(x), 0.5), rtol=2e-5, atol=1e-30)
    sim.set_param("pc", "width", 1.5)                 # live: no rebuild
    sim.set_input("inp", [0.6, 0.1])
    r = sim.advance(1, chunk=1)["pc.rates"][0]
    np.testing.assert_allclose(r, place_rates(np.array([0.6, 0.1]), 1.5), rtol=2e-5)
    sim.set_param("pc", "width", 0.5)


def test_place_cell_spike_counts(place_sim):
    sim = place_sim
    sim.reset()
    sim.set_param("pc", "max_rate", 1000.0)
    sim.set_input("inp", [0.4, 0.3])
    rec = sim.advance(1000, chunk=1000)
    sim.set_param("pc", "max_rate", 80.0)
    p = place_rates(np.array([0.4, 0.3]), 0.5) * (1000.0 / 80.0) * DT / 1000.0
    counts = rec["pc.spikes"].sum(axis=0)
    sd = np.sqrt(1000 * p * (1 - p))
    assert np.all(np.abs(counts - 1000 * p) <= 5 * sd + 1e-9), (counts, 1000 * p)
    assert counts.sum() > 200


def test_place_cell_checks():
    def bad(**params):
        return graph(("inp", "host_input", {"size": 2, "kind": "value"}),
                     ("pc", "place_cell_encoder", {**PC, **params}),
                     edges=[("inp.out", "pc.value")])

    (prob,) = problems_at(bad(high=[1.0, 1.0, 1.0]), "pc", "high")
    assert "2 entries" in prob.message and "3" in prob.message
    (prob,) = problems_at(bad(low=[0.0, 1.0]), "pc", "high")
    assert "dimension 1" in prob.message
    assert problems_at(bad(low=[], high=[]), "pc", "low")
    assert problems_at(bad(), "pc", "high") == [] and validate(bad()) == []
    assert [p[0] for p in PlaceCellEncoder.check_dt({**PC, "max_rate": 1e5}, 0.1)] == ["max_rate"]
    # the input must have one entry per dimension
    wrong = graph(("inp", "host_input", {"size": 3, "kind": "value"}),
                  ("pc", "place_cell_encoder", dict(PC)), edges=[("inp.out", "pc.value")])
    assert any(p.node == "pc" and p.port == "value" and "size" in p.message
               for p in validate(wrong))


# --- spike count and rate readout on a deterministic spike train ---------------------------------
# A LIF pool (v_rest = v_reset = -65, v_th = -50, tau_m = 20 ms, dt = 0.1 ms) driven by 4000 mV:
# v jumps by 0.1 * 4000 / 20 = 20 mV in one step, so a driven neuron spikes at step 0 and then
# right after every refractory period of round(2 ms / 0.1 ms) = 20 steps: steps 0, 20, 40, ...
# Neurons 0, 1, 3 are driven, neuron 2 is not. Groups of two: group 0 = {0, 1}, group 1 = {2, 3}.

@pytest.fixture(scope="module")
def train_sim():
    g = graph(("drive", "host_input", {"size": 4, "kind": "current"}),
              ("pool", "lif", {"size": 4}),
              ("cnt", "spike_count", {"groups": 2, "window": 2.5}),
              ("rr", "rate_readout", {"groups": 2, "tau": 20.0}),
              edges=[("drive.out", "pool.current"), ("pool.spikes", "cnt.spikes"),
                     ("pool.spikes", "rr.spikes")])
    sim = Simulation(g, record=["pool.spikes", "cnt.counts", "rr.rate"])
    sim.set_input("drive", [4000.0, 4000.0, 0.0, 4000.0])
    return sim


def test_spike_count_golden(train_sim):
    sim = train_sim
    sim.reset()
    rec = sim.advance(100, chunk=100)
    spikes = rec["pool.spikes"]
    expected_train = np.zeros((100, 4), bool)
    expected_train[::20, [0, 1, 3]] = True
    np.testing.assert_array_equal(spikes, expected_train)
    # windows of 25 steps: [0,25) holds spikes at 0 and 20, then one spike per window
    c = rec["cnt.counts"]
    np.testing.assert_array_equal(c[:24], 0.0)
    np.testing.assert_array_equal(c[24:49], np.tile([4.0, 2.0], (25, 1)))
    np.testing.assert_array_equal(c[49:], np.tile([2.0, 1.0], (51, 1)))


def test_spike_count_random_train_matches_numpy():
    g = graph(("src", "poisson_source", {"size": 50, "rate": 2000.0}),
              ("cnt", "spike_count", {"groups": 5, "window": 1.0}),
              edges=[("src.spikes", "cnt.spikes")])
    sim = Simulation(g, record=["src.spikes", "cnt.counts"])
    rec = sim.advance(95, chunk=95)
    s = rec["src.spikes"].astype(int).reshape(95, 5, 10).sum(axis=2)   # (steps, groups)
    want = np.zeros((95, 5))
    for t in range(95):
        j = (t + 1) // 10                                  # complete windows so far
        if j:
            want[t] = s[10 * (j - 1):10 * j].sum(axis=0)
    np.testing.assert_array_equal(rec["cnt.counts"], want)
    assert want.max() > 0


def test_rate_readout_golden_and_stationary(train_sim):
    sim = train_sim
    sim.reset()
    r = sim.advance(4000, chunk=4000)["rr.rate"]
    # step 0: group 0 had 2 of 2 neurons spiking, group 1 had 1 of 2: r = (1000/20) * fraction
    np.testing.assert_allclose(r[0], [50.0, 25.0], rtol=1e-6)
    np.testing.assert_allclose(r[1], [49.75, 24.875], rtol=1e-6)   # one step of decay
    np.testing.assert_allclose(r[19], [50.0 * 0.995 ** 19, 25.0 * 0.995 ** 19], rtol=1e-5)
    np.testing.assert_allclose(r[20], [50.0 * (1 + 0.995 ** 20), 25.0 * (1 + 0.995 ** 20)],
                               rtol=1e-5)
    # periodic steady state: the mean over whole periods is the true rate (500 Hz, 250 Hz)
    np.testing.assert_allclose(r[2000:].mean(axis=0), [500.0, 250.0], rtol=1e-4)


def test_rate_readout_poisson_stationary_mean():
    n, rate, tau, burn, T = 2000, 50.0, 10.0, 500, 2000
    g = graph(("src", "poisson_source", {"size": n, "rate": rate}),
              ("rr", "rate_readout", {"groups": 1, "tau": tau}),
              edges=[("src.spikes", "rr.spikes")])
    sim = Simulation(g, record=["rr.rate"])
    r = sim.advance(burn + T, chunk=burn + T)["rr.rate"][burn:, 0]
    p = rate * DT / 1000.0
    # the time average is (1000 / (n T dt)) * (spikes in the window) plus a boundary term
    # (r_start - r_end) tau / (T dt); r's stationary variance is (1000/tau)^2 p(1-p)/n / (1-a^2)
    sd_count = 1000.0 * math.sqrt(p * (1 - p) / (n * T)) / DT
    a = 1.0 - DT / tau
    sd_r = (1000.0 / tau) * math.sqrt(p * (1 - p) / n / (1 - a * a))
    sd_edge = math.sqrt(2) * sd_r * tau / (T * DT)
    bound = 5 * math.hypot(sd_count, sd_edge) + rate * a ** burn * tau / (T * DT)
    assert abs(r.mean() - rate) < bound, (r.mean(), bound)
    assert bound < 0.05 * rate   # the test is sharp


def test_tau_is_live(train_sim):
    sim = train_sim
    sim.reset()
    sim.set_param("rr", "tau", 10.0)
    r = sim.advance(1, chunk=1)["rr.rate"]
    sim.set_param("rr", "tau", 20.0)
    np.testing.assert_allclose(r[0], [100.0, 50.0], rtol=1e-6)


def test_groups_must_divide_n():
    for typ in ("spike_count", "rate_readout"):
        g = graph(("src", "poisson_source", {"size": 10}), ("out", typ, {"groups": 3}),
                  edges=[("src.spikes", "out.spikes")])
        (prob,) = problems_at(g, "out", "groups")
        assert "10" in prob.message and "3" in prob.message
        g.nodes["out"].params["groups"] = 5
        assert validate(g) == []


# --- argmax action -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def argmax_sim():
    g = graph(("q", "host_input", {"size": 4, "kind": "value"}),
              ("low", "argmax_action", {}),
              ("rnd", "argmax_action", {"tie_break": "random"}),
              edges=[("q.out", "low.value"), ("q.out", "rnd.value")])
    return Simulation(g, record=["low.action", "rnd.action"])


def test_argmax_ties(argmax_sim):
    sim = argmax_sim
    sim.reset()
    sim.set_input("q", [1.0, 3.0, 3.0, 2.0])
    rec = sim.advance(400, chunk=400)
    low, rnd = rec["low.action"], rec["rnd.action"]
    assert low.shape == (400, 1) and low.dtype == np.int32 and rnd.dtype == np.int32
    assert np.all(low == 1)
    assert set(np.unique(rnd)) == {1, 2}
    assert abs(int((rnd == 1).sum()) - 200) < 5 * 10     # Binomial(400, 1/2): sd = 10
    sim.set_input("q", [0.0, 1.0, -2.0, 5.0])             # no tie: both pick the maximum
    rec = sim.advance(400, chunk=400)
    assert np.all(rec["low.action"] == 3) and np.all(rec["rnd.action"] == 3)
    sim.set_input("q", [7.0, 7.0, 7.0, 7.0])
    rec = sim.advance(400, chunk=400)
    assert np.all(rec["low.action"] == 0)
    assert set(np.unique(rec["rnd.action"])) == {0, 1, 2, 3}


def test_argmax_declaration():
    ins, outs = ArgmaxAction.ports({"tie_break": "lowest"})
    assert [(p.name, p.kind, p.size) for p in outs] == [("action", "action", 1)]
    g = graph(("q", "host_input", {"size": 4, "kind": "value"}),
              ("am", "argmax_action", {"tie_break": "first"}), edges=[("q.out", "am.value")])
    (prob,) = problems_at(g, "am", "tie_break")
    assert "'lowest'" in prob.message


def test_rate_too_high_for_dt_is_a_validation_problem():
    """check_dt runs during validation, so the problem shows before any run."""
    g = graph(("src", "poisson_source", {"size": 5, "rate": 2000.0}), dt=1.0, seed=0,
              dtype="float32")
    probs = validate(g)
    assert [(p.node, p.param) for p in probs] == [("src", "rate")]
