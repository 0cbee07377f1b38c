"""The box encoder (conjunctive grid): box indices, spike timing and rates, checks."""
from __future__ import annotations

import numpy as np
import pytest

from spark_snn.components.box_encoder import BSA_EDGES, BoxEncoder, parse_edges
from spark_snn.engine import Graph, Node, Simulation, validate


def graph(edges="0; -1, 1", mode="regular", rate=250.0, dt=1.0, size=None):
    g = Graph()
    g.settings.update({"dt": dt})
    size = len(parse_edges(edges)) if size is None else size
    g.add_node(Node("inp", "host_input", {"size": size, "kind": "value"}))
    g.add_node(Node("enc", "box_encoder", {"edges": edges, "mode": mode, "rate": rate}))
    g.connect("inp.out", "enc.value")
    return g


def test_parse_edges():
    assert parse_edges("0; -1, 1") == [[0.0], [-1.0, 1.0]]
    assert parse_edges(" 1.5 ;; 2") == [[1.5], [], [2.0]]  # an empty dimension: one bin
    with pytest.raises(ValueError, match="dimension 1: edges must increase"):
        parse_edges("0; 1, 1")
    with pytest.raises(ValueError, match="'x' is not a number"):
        parse_edges("0, x")
    with pytest.raises(ValueError, match="at least one dimension"):
        parse_edges("  ")


@pytest.mark.parametrize("point, box", [
    ((0.5, -2.0), 3),     # bins (1, 0): 1 * 3 + 0
    ((-0.1, 1.0), 2),     # bins (0, 2): a value equal to an edge goes to the bin above it
    ((0.0, 0.0), 4),      # bins (1, 1)
    ((-9.0, 0.999), 1),   # bins (0, 1)
])
def test_box_index_and_one_hot(point, box):
    sim = Simulation(graph(), record=["enc.spikes", "enc.rates", "enc.box"])
    sim.set_input("inp", list(point))
    r = sim.advance(10, chunk=10)
    assert r["enc.spikes"].shape == (10, 6)
    assert np.all(r["enc.box"][:, 0] == box)
    expect = np.zeros(6)
    expect[box] = 250.0
    np.testing.assert_array_equal(r["enc.rates"][-1], expect)
    # regular at 250 Hz and dt 1 ms: a spike every 4 steps, at t = 0, 4, 8, on the box's cell only
    spikes = r["enc.spikes"]
    assert np.flatnonzero(spikes[:, box]).tolist() == [0, 4, 8]
    assert spikes.sum() == 3


def test_cartpole_boxes_of_barto_sutton_anderson():
    # 3 x 3 x 6 x 3 = 162 boxes; the upright resting state (0, 0, 0, 0) has bins (1, 1, 3, 1):
    # ((1 * 3 + 1) * 6 + 3) * 3 + 1 = 82. Tilted left and falling: bins (1, 1, 1, 0) -> 75
    sim = Simulation(graph(BSA_EDGES), record=["enc.box"])
    sim.set_input("inp", [0.0, 0.0, 0.0, 0.0])
    assert sim.advance(1, chunk=1)["enc.box"][0, 0] == 82
    sim.set_input("inp", [0.1, 0.2, -0.05, -1.0])
    assert sim.advance(1, chunk=1)["enc.box"][0, 0] == 75


def test_poisson_mode_counts_and_rate_zero():
    sim = Simulation(graph(mode="poisson", rate=500.0), record=["enc.spikes"])
    sim.set_input("inp", [1.0, 5.0])  # box 1 * 3 + 2 = 5
    s = sim.advance(4000, chunk=1000)["enc.spikes"]
    assert s[:, :5].sum() == 0
    # Bernoulli(0.5) over 4000 steps: mean 2000, sd sqrt(4000 * 0.25) = 31.6; 5 sigma bound
    assert abs(s[:, 5].sum() - 2000) < 5 * 31.7
    sim.set_param("enc", "rate", 0.0)
    assert sim.advance(100, chunk=100)["enc.spikes"].sum() == 0


def test_regular_rate_is_live():
    sim = Simulation(graph(rate=500.0), record=["enc.spikes"])
    sim.set_input("inp", [-1.0, -2.0])  # box 0
    assert np.flatnonzero(sim.advance(6, chunk=6)["enc.spikes"][:, 0]).tolist() == [0, 2, 4]
    sim.set_param("enc", "rate", 0.0)
    assert sim.advance(20, chunk=20)["enc.spikes"].sum() == 0


def test_checks_name_the_parameter():
    bad = [p for p in validate(graph(edges="1, 0", size=1)) if p.node == "enc"]
    assert bad and bad[0].param == "edges" and "increase" in bad[0].message
    fast = [p for p in validate(graph(rate=2000.0)) if p.node == "enc"]
    assert fast and fast[0].param == "rate"
    assert not validate(graph(BSA_EDGES))
    assert BoxEncoder.ports({**BoxEncoder.defaults()})[1][0].size == 162


@pytest.mark.parametrize("mode", ["regular", "poisson"])
def test_chunk_independent(mode):
    sim = Simulation(graph(mode=mode, rate=300.0), record=["enc.spikes"])
    sim.set_input("inp", [0.5, 0.5])
    one = sim.advance(300, chunk=300)["enc.spikes"]
    sim.reset()
    sim.set_input("inp", [0.5, 0.5])
    parts = np.concatenate([sim.advance(30, chunk=30)["enc.spikes"] for _ in range(10)])
    assert one[:, 4].sum() > 0
    assert np.array_equal(parts, one)
