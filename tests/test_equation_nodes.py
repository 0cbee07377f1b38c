"""Equation-defined node types in graphs: equivalence with the built-in models (both run here, so
the comparison follows whatever the built-ins do), ports and parameters from the text, live
edits, grouping, validation problems naming node and parameter."""
import numpy as np
import pytest
from conftest import graph_of

from spark_snn.engine import Graph, Node, Simulation
from spark_snn.engine.equations import LIBRARY
from spark_snn.engine.registry import registry
from spark_snn.engine.simulation import StructuralEdit
from spark_snn.engine.validate import analyze, validate


def pool_net(pool_type, params, *, n=60, amp=18.0, w=0.8, jump=0.5, steps=4000, seed=3):
    """Drive -> pool with a recurrent `syn` projection and a recurrent `jump` projection."""
    g = Graph(settings={"dt": 0.1, "seed": seed, "dtype": "float64"})
    g.add_node(Node("drive", "current_source",
                    {"size": n, "amplitude": amp, "heterogeneity": 4.0}))
    g.add_node(Node("pool", pool_type, dict(params, size=n)))
    g.add_node(Node("rec", "projection", {"p": 0.2, "weight": w, "sign": "mixed",
                                          "delay_steps": 3}))
    g.add_node(Node("recj", "projection", {"p": 0.1, "weight": jump, "sign": "mixed",
                                           "delay_steps": 2}))
    for e in [("drive.current", "pool.current"), ("pool.spikes", "rec.pre"),
              ("rec.events", "pool.syn"), ("pool.spikes", "recj.pre"),
              ("recj.events", "pool.jump")]:
        g.connect(*e)
    sim = Simulation(g, record=["pool.spikes", "pool.v"], dtype="float64")
    return sim.advance(steps, chunk=1000)


# The built-in pools integrate by forward Euler and add jumps after the integration on main;
# on branch num they integrate exactly (lif, alif), by exponential Euler (adex) or by a Riccati
# step (izhikevich) and take jumps at the start of the step (Brian2's schedule). The test
# follows whichever built-ins it runs against.
EXACT_BUILTINS = "prepare" in vars(registry().get("lif"))


def equation_version(name):
    """(model text, method) of the equation version of built-in ``name``."""
    if not EXACT_BUILTINS:
        return LIBRARY[name], "euler"
    text = LIBRARY[name].replace("on jump after integration: v += jump", "on jump: v += jump")
    return text, {"adex": "exponential_euler"}.get(name, "exact")


@pytest.mark.parametrize("name,params,amp", [
    ("lif", {"t_ref": 2.0}, 18.0),
    ("alif", {"b": 3.0}, 18.0),
    ("adex", {"t_ref": 0.5}, 30.0),
    ("izhikevich", {}, 10.0),
])
def test_equation_versions_spike_like_the_builtins(name, params, amp):
    if EXACT_BUILTINS and name == "izhikevich":
        pytest.xfail("the built-in's exact Riccati step of v has no equation method yet")
    text, method = equation_version(name)
    ref = pool_net(name, params, amp=amp)
    eq = pool_net("equation_pool", {**params, "model": text, "method": method}, amp=amp)
    assert ref["pool.spikes"].sum() > 100
    assert np.array_equal(ref["pool.spikes"], eq["pool.spikes"])
    np.testing.assert_allclose(eq["pool.v"], ref["pool.v"], rtol=0, atol=1e-6)


def stdp_net(typ, extra, steps=5000):
    g = Graph(settings={"dt": 0.1, "seed": 5, "dtype": "float64"})
    g.add_node(Node("inp", "poisson_source", {"size": 40, "rate": 30.0}))
    prm = {"connectivity": "fixed_probability", "p": 0.5, "weight": 6.0,
           "weight_init": "uniform", "weight_spread": 0.5, "delay_steps": 2,
           "a_plus": 0.05, "a_minus": 0.06, "w_max": 10.0, **extra}
    g.add_node(Node("syn", typ, prm))
    g.add_node(Node("post", "lif", {"size": 20}))
    for e in [("inp.spikes", "syn.pre"), ("syn.events", "post.syn"),
              ("post.spikes", "syn.post")]:
        g.connect(*e)
    sim = Simulation(g, record=["post.spikes"], dtype="float64")
    rec = sim.advance(steps, chunk=1000)
    return rec["post.spikes"], np.asarray(sim.node_state("syn")["w"])


def test_equation_stdp_learns_like_the_builtin():
    s1, w1 = stdp_net("stdp_projection", {})
    s2, w2 = stdp_net("equation_plasticity", {"model": LIBRARY["stdp"], "method": "euler"})
    assert s1.sum() > 100 and np.array_equal(s1, s2)
    assert np.abs(w1 - 6.0 * (w1 != 0) * 1).max() > 1.0  # the weights moved
    np.testing.assert_allclose(w2, w1, rtol=0, atol=1e-12)
    assert np.array_equal(w1 == 0, w2 == 0)  # same synapses


def test_equation_three_factor_matches_builtin():
    # the two components side by side, fed the same random spikes and modulator for 3000 steps
    import jax

    from spark_snn.components.base import Ctx
    from spark_snn.engine.validate import node_config
    reg = registry()
    params = {"connectivity": "fixed_probability", "p": 0.6, "weight": 5.0, "lr": 2.0,
              "a_plus": 0.05, "a_minus": 0.04, "tau_e": 50.0, "w_max": 8.0}
    comps = []
    for typ, extra in (("three_factor_projection", {}),
                       ("equation_plasticity", {"model": LIBRARY["three_factor"],
                                                "method": "euler"})):
        cls = reg.get(typ)
        cfg, probs = node_config(cls, {**params, **extra}, "syn")
        assert probs == []
        comps.append(cls(cfg, {"n_pre": 20, "n_post": 10}, 0.1, np.float64))
    rng = np.random.default_rng(4)
    pre = (rng.random((3000, 20)) < 0.02).astype(np.float64)
    post = (rng.random((3000, 10)) < 0.03).astype(np.float64)
    mod = rng.normal(0.0, 1.0, (3000, 1))
    with jax.enable_x64(True):
        states = []
        for comp in comps:
            const, st = jax.tree_util.tree_map(
                jax.numpy.asarray, comp.init(jax.random.PRNGKey(0), np.random.default_rng(9)))
            upd = jax.jit(lambda p, st, ins, t, comp=comp, const=const:
                          comp.update(p, st, ins, Ctx(t, 0.1, None, const)))
            for t in range(3000):
                ins = {"pre": pre[t], "post": post[t], "modulator": mod[t], "M": mod[t]}
                st = upd(comp.live_params(), st, ins, t)
            states.append(np.asarray(st["w"]))
    w1, w2 = states
    assert np.abs(w1 - 5.0 * (w1 != 0)).max() > 0.5  # the weights moved
    assert np.array_equal(w1 == 0, w2 == 0)
    np.testing.assert_allclose(w2, w1, rtol=0, atol=1e-10)


# --- declaration ----------------------------------------------------------------------------
def test_parameters_and_ports_follow_from_the_text():
    cls = registry().get("equation_pool")
    text = LIBRARY["alif"]
    names = [p.name for p in cls.node_params({"model": text})]
    assert names[:3] == ["size", "method", "model"]
    assert names[3:] == ["v_rest", "v_reset", "v_th", "tau_m", "t_ref", "tau_syn", "tau_w", "b"]
    tau = cls.node_param({"model": text}, "tau_m")
    assert (tau.unit, tau.default, tau.min, tau.min_exclusive, tau.live) == \
        ("ms", 20.0, 0.0, True, True)
    assert tau.help == "membrane time constant"
    ins, outs = cls.ports({"size": 4, "model": text, "method": "auto"})
    assert [(p.name, p.kind) for p in ins] == [("current", "current"), ("syn", "events"),
                                                ("jump", "events")]
    assert [p.name for p in outs] == ["spikes", "v", "w"]
    plast = registry().get("equation_plasticity")
    ins, outs = plast.ports({"model": LIBRARY["three_factor"]})
    assert [(p.name, p.kind, p.size) for p in ins] == [
        ("pre", "spikes", "n_pre"), ("post", "spikes", "n_post"), ("M", "modulator", 1)]
    assert plast.node_param({"model": LIBRARY["stdp"]}, "weight").unit == "mV"


def test_model_errors_are_validation_problems_on_the_model_parameter():
    text = LIBRARY["lif"].replace("/ tau_m  unless", " unless")
    g = graph_of(("p", "equation_pool", {"size": 3, "model": text, "tau_m": 5.0}))
    probs = validate(g)
    assert [(p.node, p.param) for p in probs] == [("p", "model")]
    assert probs[0].message == ("line 16, column 10: dv/dt: the left side is mV/ms, the right "
                                "side is mV [v_rest - v + I_syn + current]")


def test_declared_parameters_are_checked_like_builtin_ones():
    g = graph_of(("p", "equation_pool", {"size": 3, "tau_m": -1.0, "tau_n": 3.0}))
    probs = {(p.param, p.message) for p in validate(g)}
    assert ("tau_n", "unknown parameter 'tau_n' for type 'equation_pool'; did you mean "
                     "'tau_syn' or 'tau_m'?") in probs
    assert ("tau_m", "-1.0 is out of range (0, inf) ms") in probs


def test_file_values_are_in_the_declared_unit():
    # tau written in seconds in the text: the file and the inspector hold seconds
    text = ("param tau = 0.01 second in (0, inf)\nparam E = 10 mV\nstate v = 0 mV\n"
            "dv/dt = (E - v) / tau\noutput v")
    g = graph_of(("n", "equation_synapse", {"size": 1, "model": text, "method": "exact"}),
                 dtype="float64")
    sim = Simulation(g, record=["n.v"], dtype="float64")
    v = sim.advance(100, chunk=100)["n.v"][:, 0]
    t = 0.1 * np.arange(1, 101)
    np.testing.assert_allclose(v, 10 * (1 - np.exp(-t / 10.0)), rtol=1e-12)
    sim.set_param("n", "tau", 0.002)  # live: 2 ms from now on
    v2 = sim.advance(100, chunk=100)["n.v"][:, 0]
    np.testing.assert_allclose(v2, 10 + (v[-1] - 10) * np.exp(-t / 2.0), rtol=1e-12)


def test_live_edit_without_rebuild_and_structural_text():
    g = graph_of(("drive", "current_source", {"size": 5, "amplitude": 18.0}),
                 ("p", "equation_pool", {"size": 5}), edges=[("drive.current", "p.current")])
    sim = Simulation(g, record=["p.spikes"])
    before = sim.advance(2000, chunk=500)["p.spikes"].sum()
    n_compiled = len(sim.model._chunks)
    sim.set_param("p", "v_th", -60.0)
    after = sim.advance(2000, chunk=500)["p.spikes"].sum()
    assert after > before > 0 and len(sim.model._chunks) == n_compiled
    with pytest.raises(StructuralEdit):
        sim.set_param("p", "model", LIBRARY["alif"])


def test_equal_equation_pools_run_as_one_group_and_match_ungrouped():
    nodes = [("drive", "current_source", {"size": 30, "amplitude": 18.0, "heterogeneity": 3.0})]
    edges = []
    for i, vth in enumerate((-50.0, -52.0, -48.0)):
        nodes.append((f"p{i}", "equation_pool", {"size": 30, "v_th": vth, "method": "euler"}))
        edges.append(("drive.current", f"p{i}.current"))
    g = graph_of(*nodes, edges=edges, dtype="float64")
    rec = [f"p{i}.spikes" for i in range(3)]
    grouped = Simulation(g, record=rec, dtype="float64")
    assert list(grouped.model.groups.values())[0] == [("p0", 0, 30), ("p1", 30, 30),
                                                      ("p2", 60, 30)]
    a = grouped.advance(2000, chunk=1000)
    b = Simulation(g, record=rec, dtype="float64", fuse=False).advance(2000, chunk=1000)
    for r in rec:
        assert a[r].sum() > 0 and np.array_equal(a[r], b[r])


def test_different_texts_do_not_group():
    g = graph_of(("a", "equation_pool", {"size": 3}),
                 ("b", "equation_pool", {"size": 3, "model": LIBRARY["alif"]}))
    assert Simulation(g).model.groups == {}


def test_synapse_node_feeds_a_pool():
    # poisson -> projection -> equation_synapse (exponential current) -> lif current input:
    # the same as the pool's own exponential synapse (syn input) with tau_syn = tau
    def build(through_node):
        nodes = [("inp", "poisson_source", {"size": 20, "rate": 80.0}),
                 ("proj", "projection", {"p": 0.5, "weight": 8.0, "delay_steps": 1}),
                 ("pool", "lif", {"size": 10, "tau_syn": 5.0})]
        edges = [("inp.spikes", "proj.pre")]
        if through_node:
            nodes.append(("s", "equation_synapse", {"size": 10, "method": "euler"}))
            edges += [("proj.events", "s.events"), ("s.I", "pool.current")]
        else:
            edges.append(("proj.events", "pool.syn"))
        g = graph_of(*nodes, edges=edges, dtype="float64")
        return Simulation(g, record=["pool.spikes", "pool.v"], dtype="float64").advance(
            3000, chunk=1000)
    a, b = build(False), build(True)
    # the node's current reaches the pool in the same step, after its decay: within one step
    # of the built-in synapse, so the potentials agree closely and the pool fires
    assert a["pool.spikes"].sum() > 20
    assert abs(int(a["pool.spikes"].sum()) - int(b["pool.spikes"].sum())) <= \
        0.1 * a["pool.spikes"].sum()


def test_analysis_reports_ports_of_equation_nodes_for_edges():
    g = graph_of(("p", "equation_pool", {"size": 3}), ("q", "lif", {"size": 3}),
                 edges=[("p.spikes", "q.current")])
    msgs = [p.message for p in analyze(g).problems]
    assert any("incompatible signals" in m for m in msgs)


# --- examples ---------------------------------------------------------------------------------
def test_equation_lif_example_spikes_like_builtin():
    from spark_snn.engine import load
    g = load("resources/examples/equation_lif.json")
    assert (g.nodes["builtin"].type, g.nodes["equation"].type) == ("lif", "equation_pool")
    rec = Simulation(g, record=["builtin.spikes", "equation.spikes"]).advance(5000, chunk=1000)
    assert rec["builtin.spikes"].sum() > 500
    assert np.array_equal(rec["builtin.spikes"], rec["equation.spikes"])


def test_equation_stdp_example_selects_correlated_inputs():
    # 50 inputs share spike times (a common Poisson source), 50 fire independently at the same
    # rate; the equation-defined STDP rule strengthens the first group and weakens the second
    from spark_snn.engine import load
    sim = Simulation(load("resources/examples/equation_stdp.json"),
                     record=["correlated.spikes", "independent.spikes"])
    rec = sim.advance(50_000, chunk=5000)  # 5 s
    rate_c = rec["correlated.spikes"].mean() * 1e4
    rate_i = rec["independent.spikes"].mean() * 1e4
    assert 14 < rate_c < 24 and 14 < rate_i < 24  # similar rates: selection by correlation
    w = np.asarray(sim.node_state("stdp")["w"])[:, 0]
    assert w[:50].mean() > 2.4 and w[50:].mean() < 1.95  # started at 2.0 mV
    assert (w[:50] > w[50:].max()).mean() > 0.5


def test_equation_pools_group_and_their_projections_fuse_like_builtins():
    # the 7-pool benchmark network with its lif pools swapped for the equation LIF
    from spark_snn.engine import compile_graph, load
    g = load("resources/examples/benchmark_7pools.json")
    for node in g.nodes.values():
        if node.type == "lif":
            node.type = "equation_pool"
            node.params = {"size": node.params["size"], "method": "euler",
                           "model": LIBRARY["lif"]}
    model = compile_graph(g)
    pools = [gid for gid in model.groups if gid.endswith("equation_pool")]
    assert len(pools) == 1 and len(model.groups[pools[0]]) == 7
    assert sum(len(m) for m in model.fused.values()) == 49


@pytest.mark.parametrize("method", ["exact", "exponential_euler"])
def test_prepared_factors_give_the_same_step(method):
    # an engine may compute the parameter-only factors once per chunk (Component.prepare) and
    # pass them with the parameters: the step must give the same values as without them
    import jax
    import jax.numpy as jnp

    from spark_snn.components.base import Ctx
    from spark_snn.engine.equations.nodes import EquationPool
    cfg = {p.name: p.default for p in EquationPool.node_params({})}
    cfg.update(size=4, method=method)
    pool = EquationPool(cfg, {}, 0.1, np.float32)
    p = {k: jnp.asarray(v) for k, v in pool.live_params().items()}
    const, st = jax.tree_util.tree_map(jnp.asarray, pool.init(None, np.random.default_rng(0)))
    st = {**st, "v": jnp.asarray([-60.0, -55.0, -51.0, -65.0], jnp.float32),
          "I_syn": jnp.asarray([1.0, 2.0, 0.0, 5.0], jnp.float32)}
    ins = {"current": jnp.full(4, 14.0), "syn": jnp.asarray([0.0, 1.0, 0.0, 2.0]),
           "jump": jnp.zeros(4)}
    prepared = pool.prepare(p)
    assert prepared and all(k.startswith("__") for k in prepared)
    a = pool.step(p, st, ins, Ctx(0, 0.1, None, const))
    b = pool.step({**p, **prepared}, st, ins, Ctx(0, 0.1, None, const))
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        assert np.array_equal(np.asarray(x), np.asarray(y))


def test_start_of_step_arrivals_are_lost_right_after_a_spike():
    # an arrival at the start of a step stands for the previous step (Brian2's on_pre): a held
    # variable does not take it while, or just after, the neuron is refractory
    import jax.numpy as jnp

    from spark_snn.components.base import Ctx
    from spark_snn.components.lif import BIG
    from spark_snn.engine.equations.nodes import EquationPool
    text = LIBRARY["lif"].replace("on jump after integration: v += jump", "on jump: v += jump")
    cfg = {p.name: p.default for p in EquationPool.node_params({"model": text})}
    cfg.update(size=4, method="exact", model=text, t_ref=0.3)  # n_ref = 3 at dt = 0.1
    pool = EquationPool(cfg, {}, 0.1, np.float32)
    p = {k: jnp.asarray(v) for k, v in pool.live_params().items()}
    since = jnp.asarray([0, 2, 3, BIG], jnp.int32)  # steps since the spike, before this step
    st = {"v": jnp.full(4, -65.0), "I_syn": jnp.zeros(4), "since": since}
    ins = {"current": jnp.zeros(4), "syn": jnp.zeros(4), "jump": jnp.full(4, 5.0)}
    new, _ = pool.step(p, st, ins, Ctx(0, 0.1, None, {}))
    kept = -65.0 + 5.0 * np.exp(-0.1 / 20.0)
    np.testing.assert_allclose(np.asarray(new["v"]), [-65.0, -65.0, kept, kept], rtol=1e-6)
