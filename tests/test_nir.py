"""NIR interchange (engine/nir_io, spark export-nir / import-nir).

Round trips: a Spark graph written to a NIR file and read back spikes exactly like the original.
Foreign graphs: networks built with the ``nir`` API the way snnTorch and Norse write them (time
constants in seconds, w_in, r, (out, in) weights) import and fire when the equations say they
must. Bad files are refused with a message naming the node.
"""
import math
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest

from spark_snn import engine
from spark_snn.engine.cli import main
from spark_snn.engine.composite import make_component
from spark_snn.engine.nir_io import (NIRError, detect_time_unit, from_nir, read_nir, to_nir,
                                     write_nir)
from tests.conftest import graph_of

DRIVE = np.linspace(16.0, 30.0, 12)
EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def feedforward():
    """Input current -> LIF pool -> (syn) pool b, and -> (jump, delay 4) pool c."""
    return graph_of(
        ("drive", "host_input", {"size": 12, "kind": "current"}),
        ("a", "lif", {"size": 12, "t_ref": 0.0, "tau_m": 10.0}),
        ("ab", "projection", {"connectivity": "all_to_all", "weight": 8.0,
                              "weight_init": "uniform", "weight_spread": 0.8}),
        ("b", "lif", {"size": 8, "t_ref": 0.0, "tau_syn": 3.0, "v_reset": -70.0}),
        ("ac", "projection", {"p": 0.5, "weight": 4.0, "delay_steps": 4}),
        ("c", "lif", {"size": 6, "t_ref": 0.0, "tau_m": 15.0}),
        edges=[("drive.out", "a.current"), ("a.spikes", "ab.pre"), ("ab.events", "b.syn"),
               ("a.spikes", "ac.pre"), ("ac.events", "c.jump")], seed=5)


def recurrent():
    """Input current -> pool a -> recurrent pool r (mixed signs, delay 3 on the loop)."""
    return graph_of(
        ("drive", "host_input", {"size": 12, "kind": "current"}),
        ("a", "lif", {"size": 12, "t_ref": 0.0, "tau_m": 10.0}),
        ("ar", "projection", {"p": 0.4, "weight": 9.0}),
        ("r", "lif", {"size": 20, "t_ref": 0.0, "tau_syn": 4.0}),
        ("rr", "projection", {"p": 0.3, "weight": 1.5, "sign": "mixed", "delay_steps": 3,
                              "autapses": False}),
        edges=[("drive.out", "a.current"), ("a.spikes", "ar.pre"), ("ar.events", "r.syn"),
               ("r.spikes", "rr.pre"), ("rr.events", "r.syn")], seed=7)


def spikes(graph, ports, steps=1000, drive=DRIVE):
    sim = engine.Simulation(graph, record=ports)
    sim.set_input("drive", drive)
    return sim.advance(steps)


def round_trip(graph, tmp_path):
    path = tmp_path / "net.nir"
    nir_graph, _warnings = to_nir(graph)
    write_nir(path, nir_graph)
    back, _notes = from_nir(read_nir(path))
    return back


def assert_same_spikes(a, b, ports):
    ra, rb = spikes(a, ports), spikes(b, ports)
    for port in ports:
        assert ra[port].sum() > 10, f"{port} barely fires: the comparison would say little"
        np.testing.assert_array_equal(ra[port], rb[port], err_msg=port)


def test_feedforward_round_trip_gives_identical_spikes(tmp_path):
    g = feedforward()
    nir_graph, warnings = to_nir(g)
    kinds = {k: type(v).__name__ for k, v in nir_graph.nodes.items()}
    assert kinds == {"drive": "Input", "a": "LIF", "ab": "Linear", "b": "CubaLIF", "ac": "Linear",
                     "ac_delay": "Delay", "c": "LIF", "b_out": "Output", "c_out": "Output"}
    assert nir_graph.nodes["ab"].weight.shape == (8, 12)             # (out, in)
    assert nir_graph.nodes["b"].tau_syn[0] == pytest.approx(0.003)   # seconds
    assert nir_graph.nodes["ac_delay"].delay[0] == pytest.approx(3 * 0.1e-3)
    assert [str(w) for w in warnings] == [
        "node 'drive': host input exported as NIR Input 'drive' (12 values): the values the "
        "host sets are not part of NIR"]
    back = round_trip(g, tmp_path)
    assert back.nodes["ac"].type == "matrix_projection"
    assert back.nodes["ac"].params["delay_steps"] == 4
    assert_same_spikes(g, back, ["a.spikes", "b.spikes", "c.spikes"])


def test_recurrent_round_trip_gives_identical_spikes(tmp_path):
    g = recurrent()
    back = round_trip(g, tmp_path)
    assert {(e.src, e.dst) for e in back.edges} >= {("r.spikes", "rr.pre"), ("rr.events", "r.syn")}
    assert_same_spikes(g, back, ["a.spikes", "r.spikes"])


def test_composite_becomes_a_nested_graph_and_comes_back(tmp_path):
    g, _ = make_component(recurrent(), ["r", "rr"], "loop")
    nir_graph, _ = to_nir(g)
    inner = nir_graph.nodes["loop"]
    assert isinstance(inner, nir.NIRGraph) and inner.metadata["spark_type"] == "loop"
    assert {type(v).__name__ for v in inner.nodes.values()} == {"Input", "Linear", "Delay", "CubaLIF"}
    assert ("ar", "loop") in nir_graph.edges
    back = round_trip(g, tmp_path)
    assert back.nodes["loop"].type == "loop" and "loop" in back.definitions
    assert set(back.definitions["loop"].nodes) == {"r", "rr"}
    assert_same_spikes(g, back, ["a.spikes", "loop.r.spikes"])


def test_spark_file_reads_with_nirs_own_type_checking_reader(tmp_path):
    nir_graph, _ = to_nir(feedforward())
    write_nir(tmp_path / "ff.nir", nir_graph)
    g = nir.read(tmp_path / "ff.nir")   # type_check=True
    assert set(g.nodes) == set(nir_graph.nodes)
    np.testing.assert_array_equal(g.nodes["ab"].weight, nir_graph.nodes["ab"].weight)


# --- graphs other frameworks write --------------------------------------------------------------

def snntorch_leaky(beta, n, dt_s=1e-4):
    """nir.LIF as snnTorch exports a Leaky layer (its dt fixed at 1e-4 s)."""
    tau = np.full(n, dt_s / (1 - beta))
    return nir.LIF(tau=tau, r=tau / dt_s, v_leak=np.zeros(n), v_threshold=np.ones(n),
                   v_reset=np.zeros(n))


def first_spike_steps(graph, node, x, steps):
    sim = engine.Simulation(graph, record=[f"{node}.spikes"])
    sim.set_input("in", x)
    s = sim.advance(steps)[f"{node}.spikes"]
    return [int(np.argmax(s[:, i])) if s[:, i].any() else None for i in range(s.shape[1])]


def test_snntorch_style_leaky_fires_when_the_lif_equation_says(tmp_path):
    """Input -> Affine (weights (out, in)) -> LIF as snnTorch writes them. A constant input x is
    a current r W x; with r = tau/dt_src each step adds W x to v, which decays by
    e = exp(-dt/tau) over the step: after k steps v = W x e (1 - e^k) / (1 - e)."""
    beta = 0.95
    W = np.array([[0.08, 0.02], [0.06, 0.0], [0.2, 0.1]])
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                            "fc": nir.Affine(weight=W, bias=np.zeros(3)),
                            "lif": snntorch_leaky(beta, 3),
                            "out": nir.Output(output_type={"output": np.array([3])})},
                     edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")])
    write_nir(tmp_path / "snn.nir", g)
    graph, notes = from_nir(read_nir(tmp_path / "snn.nir"), dt=0.1)
    assert "time constants read in s" in " ".join(map(str, notes))
    assert graph.nodes["lif"].params["tau_m"] == pytest.approx(2.0)   # 1e-4 s / 0.05
    assert graph.nodes["in"].params["kind"] == "spikes"
    x = np.array([1.0, 1.0])
    got = first_spike_steps(graph, "lif", x, 400)
    e = math.exp(-0.1 / 2.0)
    for i, a in enumerate(W @ x):
        k = next(k for k in range(1, 10_000) if a * e * (1 - e ** k) / (1 - e) > 1.0)
        # the continuous LIF under the constant current r W x crosses 1 at t*
        t_star = -2.0 * math.log(1 - 1.0 / (a * 2.0 / 0.1))
        assert got[i] == k     # the first jump arrives at step 1: the k-th at step k
        # the units are right: within a tenth of the continuous time (the discrete train of
        # jumps settles a/2 lower than the continuous current, which matters near threshold)
        assert abs(got[i] * 0.1 - t_star) <= 0.1 * t_star + 0.1
    assert graph.meta["nir"]["outputs"] == ["lif"]


def cuba_spike_time(drive, tau_s, tau_m, v_th):
    """First time the continuous CubaLIF (v(0) = I(0) = 0) reaches v_th under a constant input
    ``drive`` (= r w_in W x): v(t) = drive (1 - (tau_m e^(-t/tau_m) - tau_s e^(-t/tau_s)) /
    (tau_m - tau_s)), found by bisection (v rises monotonically)."""
    v = lambda t: drive * (1 - (tau_m * math.exp(-t / tau_m) - tau_s * math.exp(-t / tau_s))  # noqa: E731
                           / (tau_m - tau_s))
    lo, hi = 0.0, 1000.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if v(mid) < v_th else (lo, mid)
    return lo


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_norse_style_cuba_lif_fires_at_the_analytic_time(unit):
    """CubaLIF with r = 1, w_in = 1 (as Norse writes it), time constants in seconds or in
    milliseconds (read from their magnitudes), driven by a constant input through Linear."""
    f = 1e-3 if unit == "s" else 1.0
    n = 3
    W = np.array([[1.5], [2.0], [3.0]])
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([1])}),
                            "w": nir.Linear(weight=W),
                            "cuba": nir.CubaLIF(tau_syn=np.full(n, 5 * f), tau_mem=np.full(n, 10 * f),
                                                r=np.ones(n), v_leak=np.zeros(n),
                                                v_threshold=np.ones(n), w_in=np.ones(n))},
                     edges=[("in", "w"), ("w", "cuba")], type_check=False)
    graph, _ = from_nir(g, dt=0.05)
    assert graph.nodes["cuba"].params["tau_syn"] == 5.0
    got = first_spike_steps(graph, "cuba", np.array([1.0]), 1000)
    for i in range(n):
        t_star = cuba_spike_time(W[i, 0], 5.0, 10.0, 1.0)
        # each step's pulse is delivered at once at the start of the next step
        assert abs(got[i] * 0.05 - t_star) <= 0.1, (i, got[i] * 0.05, t_star)


def test_shipped_example_imports_with_snntorchs_scaling():
    """resources/examples/snntorch_style.nir (benchmarks/make_nir_example.py): Synaptic layers
    with r = tau_mem/dt, w_in = tau_syn/dt at snnTorch's dt of 0.1 ms. A weight W then adds
    r w_in W dt / tau_syn = 20 W to Spark's I_syn (mV) per spike."""
    path = EXAMPLES / "snntorch_style.nir"
    src = read_nir(path)
    g, _ = from_nir(src, dt=0.1)
    assert not engine.validate(g)
    assert g.nodes["lif1"].params["tau_m"] == 2.0 and g.nodes["lif1"].params["tau_syn"] == 1.0
    np.testing.assert_allclose(g.nodes["fc1"].params["weights"],
                               20.0 * src.nodes["fc1"].weight.ravel(), rtol=1e-6)
    np.testing.assert_allclose(g.nodes["fc1"].params["bias"], 20.0 * src.nodes["fc1"].bias,
                               rtol=1e-6)
    assert g.meta["monitors"]["panels"][0]["nodes"] == ["lif1", "lif2"]
    assert g.meta["nir"]["outputs"] == ["lif2"]


def test_ambiguous_time_units_must_be_given():
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([1])}),
                            "w": nir.Linear(weight=np.ones((1, 1))),
                            "lif": nir.LIF(tau=np.array([0.5]), r=np.ones(1), v_leak=np.zeros(1),
                                           v_threshold=np.ones(1))},
                     edges=[("in", "w"), ("w", "lif")], type_check=False)
    with pytest.raises(NIRError, match=r"0\.5 to 0\.5.*--time-unit s or ms"):
        from_nir(g)
    assert from_nir(g, time_unit="ms")[0].nodes["lif"].params["tau_m"] == 0.5
    assert from_nir(g, time_unit="s")[0].nodes["lif"].params["tau_m"] == 500.0


def test_detect_time_unit():
    assert detect_time_unit([0.02, 0.005, 0.0003]) == "s"
    assert detect_time_unit([20.0, 5.0, 1.0]) == "ms"
    assert detect_time_unit([0.02, 20.0]) is None
    assert detect_time_unit([0.5]) is None


# --- bad files ----------------------------------------------------------------------------------

def lif_graph_nodes(n=4):
    return {"in": nir.Input(input_type={"input": np.array([n])}),
            "fc": nir.Linear(weight=np.ones((n, n))),
            "lif": snntorch_leaky(0.9, n)}


def test_not_a_nir_file(tmp_path):
    p = tmp_path / "x.nir"
    p.write_text("hello")
    with pytest.raises(NIRError, match="not a NIR file .*HDF5"):
        read_nir(p)
    with h5py.File(tmp_path / "y.nir", "w") as f:
        f.create_dataset("version", data="1.0")
    with pytest.raises(NIRError, match="HDF5 without a 'node' graph"):
        read_nir(tmp_path / "y.nir")


def test_missing_field_names_the_node(tmp_path):
    write_nir(tmp_path / "m.nir", nir.NIRGraph(nodes=lif_graph_nodes(), edges=[("in", "fc"),
                                                                                ("fc", "lif")]))
    with h5py.File(tmp_path / "m.nir", "a") as f:
        del f["node/nodes/lif/tau"]
    with pytest.raises(NIRError, match=r"node 'lif' \(LIF\): cannot be read: a field is missing"):
        read_nir(tmp_path / "m.nir")


def test_missing_node_and_unknown_edge_end(tmp_path):
    g = nir.NIRGraph(nodes=lif_graph_nodes(), edges=[("in", "fc"), ("fc", "lif"), ("lif", "ghost")],
                     type_check=False)
    write_nir(tmp_path / "e.nir", g)
    with pytest.raises(NIRError, match=r"edge 'lif' -> 'ghost': there is no node 'ghost'"):
        from_nir(read_nir(tmp_path / "e.nir"))


def test_wrong_shapes_name_both_nodes():
    nodes = lif_graph_nodes(4)
    nodes["fc"] = nir.Linear(weight=np.ones((4, 3)))
    g = nir.NIRGraph(nodes=nodes, edges=[("in", "fc"), ("fc", "lif")], type_check=False)
    with pytest.raises(NIRError, match=r"edge 'in' -> 'fc': 'in' gives 4 values, 'fc' "
                                       r"\(Linear, weight 4 x 3\) takes 3"):
        from_nir(g)
    nodes["fc"] = nir.Linear(weight=np.ones((5, 4)))
    with pytest.raises(NIRError, match=r"edge 'fc' -> 'lif': 'fc' gives 5 values, 'lif' "
                                       r"\(LIF\) takes 4"):
        from_nir(nir.NIRGraph(nodes=nodes, edges=[("in", "fc"), ("fc", "lif")], type_check=False))


def test_nan_weights_and_unsupported_nodes_name_the_node(tmp_path):
    nodes = lif_graph_nodes()
    w = np.ones((4, 4))
    w[1, 2] = np.nan
    nodes["fc"] = nir.Linear(weight=w)
    write_nir(tmp_path / "n.nir", nir.NIRGraph(nodes=nodes, edges=[("in", "fc"), ("fc", "lif")],
                                               type_check=False))
    with pytest.raises(NIRError, match=r"n\.nir: node 'fc' \(Linear\): weight contains NaN"):
        from_nir(read_nir(tmp_path / "n.nir"), source=str(tmp_path / "n.nir"))
    nodes = lif_graph_nodes()
    nodes["li"] = nir.LI(tau=np.ones(4), r=np.ones(4), v_leak=np.zeros(4))
    with pytest.raises(NIRError, match=r"node 'li' \(LI\): Spark cannot import NIR's LI"):
        from_nir(nir.NIRGraph(nodes=nodes, edges=[("lif", "li")], type_check=False))


def test_matrix_projection_checks_its_weight_count():
    g = graph_of(("s", "host_input", {"size": 3, "kind": "spikes"}),
                 ("m", "matrix_projection", {"weights": [1.0] * 5, "bias": [0.0]}),
                 ("p", "lif", {"size": 2}),
                 edges=[("s.out", "m.pre"), ("m.events", "p.syn")])
    msgs = [str(p) for p in engine.validate(g)]
    assert "node 'm', parameter 'weights': 5 weights given, but 2 post x 3 pre neurons need 6" \
        in msgs
    assert "node 'm', parameter 'bias': 1 bias values given for 2 post neurons" in msgs


# --- what NIR cannot express --------------------------------------------------------------------

def test_export_reports_what_nir_cannot_express_node_by_node():
    g = graph_of(
        ("noise", "poisson_source", {"size": 10, "rate": 50.0}),
        ("pool", "lif", {"size": 10, "t_ref": 2.0, "v_init": "uniform"}),
        ("stdp", "stdp_projection", {"p": 0.5}),
        ("out", "lif", {"size": 5, "t_ref": 0.0}),
        ("count", "spike_count", {"groups": 1, "window": 10}),
        ("in_", "projection", {"p": 0.5}),
        edges=[("noise.spikes", "in_.pre"), ("in_.events", "pool.syn"), ("pool.spikes", "stdp.pre"),
               ("out.spikes", "stdp.post"), ("stdp.events", "out.syn"), ("out.spikes", "count.spikes")])
    nir_graph, warnings = to_nir(g)
    by_node = {}
    for w in warnings:
        by_node.setdefault(w.node, []).append(w.message)
    assert set(by_node) == {"noise", "pool", "stdp", "count"}
    assert any("cannot be expressed in NIR: left out" in m for m in by_node["noise"])
    assert any("stands in the NIR graph as Input 'noise'" in m for m in by_node["noise"])
    assert any("refractory period t_ref = 2 ms" in m for m in by_node["pool"])
    assert any("v_init = 'uniform'" in m for m in by_node["pool"])
    assert any("plasticity ('stdp_projection')" in m for m in by_node["stdp"])
    assert any("'spike_count'" in m for m in by_node["count"])
    assert all(w.severity == "warning" for w in warnings)
    assert type(nir_graph.nodes["count_spikes"]).__name__ == "Output"
    assert ("out", "count_spikes") in nir_graph.edges


def test_cli_export_and_import(tmp_path, capsys):
    src = tmp_path / "ff.json"
    engine.save(feedforward(), src)
    assert main(["export-nir", str(src), "-o", str(tmp_path / "ff.nir")]) == 0
    out = capsys.readouterr()
    assert "warning: node 'drive': host input exported as NIR Input" in out.err
    assert "ff.nir: 9 NIR nodes" in out.out
    assert main(["import-nir", str(tmp_path / "ff.nir"), "-o", str(tmp_path / "back.json")]) == 0
    back = engine.load(tmp_path / "back.json")
    assert back.settings["dt"] == 0.1 and not engine.validate(back)
    (tmp_path / "bad.nir").write_text("{}")
    assert main(["import-nir", str(tmp_path / "bad.nir"), "-o", str(tmp_path / "b.json")]) == 1
    assert "not a NIR file" in capsys.readouterr().err
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([1])}),
                            "w": nir.Linear(weight=np.ones((1, 1))),
                            "lif": nir.LIF(tau=np.array([0.5]), r=np.ones(1), v_leak=np.zeros(1),
                                           v_threshold=np.ones(1))},
                     edges=[("in", "w"), ("w", "lif")])
    write_nir(tmp_path / "amb.nir", g)
    args = ["import-nir", str(tmp_path / "amb.nir"), "-o", str(tmp_path / "amb.json"), "--dt", "0.05"]
    assert main(args) == 1
    assert "--time-unit" in capsys.readouterr().err
    assert main(args + ["--time-unit", "ms"]) == 0
    assert engine.load(tmp_path / "amb.json").settings["dt"] == 0.05
