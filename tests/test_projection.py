"""The projection component: connectivity, weights, signs, delays, event-driven vs dense
propagation, fusion, and validation. Statistical checks use 5-sigma bounds."""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from spark_snn.components.projection import (Projection, dense_matrix, event_propagate,
                                             padded_tables, spike_words)
from spark_snn.engine import Simulation, validate
from spark_snn.engine.compiler import node_rng
from tests.conftest import graph_of as graph


def make(n_pre, n_post, **cfg):
    """A Projection instance outside any graph (for drawing synapses)."""
    return Projection({**Projection.defaults(), **cfg}, {"n_pre": n_pre, "n_post": n_post},
                      0.1, np.float32)


def draw(n_pre, n_post, seed=0, **cfg):
    return make(n_pre, n_post, **cfg).synapses(np.random.default_rng(seed))


# --- connectivity --------------------------------------------------------------------------------

def test_all_to_all():
    pre, post, w = draw(7, 5, connectivity="all_to_all")
    assert pre.size == 35
    assert sorted(zip(pre.tolist(), post.tolist())) == [(i, j) for i in range(7) for j in range(5)]
    pre, post, _ = draw(6, 6, connectivity="all_to_all", autapses=False)
    assert pre.size == 30 and not np.any(pre == post)
    assert {(i, j) for i, j in zip(pre, post)} == {(i, j) for i in range(6) for j in range(6)
                                                   if i != j}
    # autapses only concern pools of equal size (a pool projecting onto itself)
    assert draw(6, 5, connectivity="all_to_all", autapses=False)[0].size == 30


def test_fixed_probability_count():
    n, p = 400, 0.1
    pre, post, _ = draw(n, n, connectivity="fixed_probability", p=p)
    pairs = n * n
    assert abs(pre.size - pairs * p) < 5 * math.sqrt(pairs * p * (1 - p))   # 16000 +- 600
    assert len(set(zip(pre.tolist(), post.tolist()))) == pre.size            # no duplicates
    assert np.all(np.diff(pre) >= 0)                                         # sorted by pre
    assert np.any(pre == post)
    pre, post, _ = draw(n, n, connectivity="fixed_probability", p=p, autapses=False)
    pairs = n * (n - 1)
    assert not np.any(pre == post)
    assert abs(pre.size - pairs * p) < 5 * math.sqrt(pairs * p * (1 - p))
    assert draw(50, 60, connectivity="fixed_probability", p=0.0)[0].size == 0
    assert draw(50, 60, connectivity="fixed_probability", p=1.0)[0].size == 3000


def test_one_to_one():
    pre, post, w = draw(9, 9, connectivity="one_to_one", weight=1.5)
    np.testing.assert_array_equal(pre, np.arange(9))
    np.testing.assert_array_equal(post, np.arange(9))
    np.testing.assert_array_equal(w, 1.5)


def test_fixed_fan_in_exact_in_degree():
    pre, post, _ = draw(30, 40, connectivity="fixed_fan_in", fan_in=7)
    np.testing.assert_array_equal(np.bincount(post, minlength=40), 7)
    assert len(set(zip(pre.tolist(), post.tolist()))) == pre.size  # distinct pre per post
    assert np.all(np.diff(pre) >= 0)
    pre, post, _ = draw(30, 30, connectivity="fixed_fan_in", fan_in=29, autapses=False)
    np.testing.assert_array_equal(np.bincount(post, minlength=30), 29)
    assert not np.any(pre == post)


def test_connectivity_depends_on_seed_only():
    a = draw(100, 100, seed=1, connectivity="fixed_probability", p=0.2)
    b = draw(100, 100, seed=1, connectivity="fixed_probability", p=0.2)
    c = draw(100, 100, seed=2, connectivity="fixed_probability", p=0.2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert a[0].size != c[0].size or np.any(a[1] != c[1])


# --- weights and signs ---------------------------------------------------------------------------

N_SYN = 200 * 200


def weights(**cfg):
    return draw(200, 200, connectivity="all_to_all", weight=2.0, **cfg)[2]


def test_constant_weights_exact():
    w = weights(weight_init="constant", weight_spread=0.7)   # spread ignored for constant
    assert w.size == N_SYN and np.all(w == 2.0)


def test_uniform_weights():
    w = weights(weight_init="uniform", weight_spread=0.5)
    assert w.min() >= 1.0 and w.max() <= 3.0
    assert w.min() < 1.01 and w.max() > 2.99      # the whole range is used
    sd = 2.0 * 0.5 / math.sqrt(3)
    assert abs(w.mean() - 2.0) < 5 * sd / math.sqrt(N_SYN)
    assert abs(w.std() - sd) < 0.01 * sd


def test_normal_weights():
    w = weights(weight_init="normal", weight_spread=0.1)   # sd 0.2: clipping at 0 never happens
    sd = 0.2
    assert abs(w.mean() - 2.0) < 5 * sd / math.sqrt(N_SYN)
    assert abs(w.std() - sd) < 5 * sd / math.sqrt(2 * N_SYN)
    w = weights(weight_init="normal", weight_spread=1.5)   # factors below zero clip to zero
    assert w.min() == 0.0 and np.mean(w == 0.0) > 0.2


def test_lognormal_weights():
    s = 0.5
    w = weights(weight_init="lognormal", weight_spread=s)
    assert np.all(w > 0)
    assert abs(w.mean() - 2.0) < 5 * 2.0 * s / math.sqrt(N_SYN)   # mean 1 * weight, CV = s
    sig = math.sqrt(math.log1p(s * s))
    lw = np.log(w / 2.0)                                          # normal(-sig^2/2, sig)
    assert abs(lw.mean() + sig * sig / 2) < 5 * sig / math.sqrt(N_SYN)
    assert abs(lw.std() - sig) < 5 * sig / math.sqrt(2 * N_SYN)


def test_signs_and_dale():
    assert np.all(weights(weight_init="normal", weight_spread=1.0) >= 0)
    w = weights(sign="inhibitory", weight_init="uniform", weight_spread=0.5)
    assert np.all(w <= 0) and w.min() >= -3.0
    assert np.all(weights(sign="inhibitory") == -2.0)
    pre, post, w = draw(50, 30, connectivity="all_to_all", weight=0.5, sign="mixed",
                        excitatory_fraction=0.8, inhibitory_ratio=4.0,
                        weight_init="uniform", weight_spread=0.2)
    exc = pre < 40                                   # round(0.8 * 50) excitatory pre neurons
    assert np.all(w[exc] > 0) and np.all(w[~exc] < 0)
    assert w[exc].min() >= 0.4 and w[exc].max() <= 0.6
    assert w[~exc].min() >= -2.4 and w[~exc].max() <= -1.6   # scaled by inhibitory_ratio
    for i in range(50):                              # Dale's law: one sign per pre neuron
        assert len(np.unique(np.sign(w[pre == i]))) == 1


# --- propagation kernels -------------------------------------------------------------------------

def random_tables(rng, n_pre, n_post, p, dyadic):
    m = rng.random((n_pre, n_post)) < p
    pre, post = np.nonzero(m)
    if dyadic:
        w = rng.integers(-16, 17, pre.size) / 8.0
    else:
        w = rng.normal(0.3, 1.0, pre.size)
    W = np.zeros((n_pre, n_post), np.float32)
    W[pre, post] = w
    t, wt = padded_tables(pre, post, w, n_pre, n_post, np.float32)
    return W, jnp.asarray(t), jnp.asarray(wt)   # the engine hands consts over as JAX arrays


@pytest.mark.parametrize("n_spikes", [0, 1, 7, 8, 9, 16, 17, 50, 60])
def test_event_matches_dense(n_spikes):
    rng = np.random.default_rng(n_spikes)
    n_pre, n_post = 60, 45
    spikes = np.zeros(n_pre, np.float32)
    spikes[rng.permutation(n_pre)[:n_spikes]] = 1.0
    W, t, wt = random_tables(rng, n_pre, n_post, 0.3, dyadic=True)
    np.testing.assert_array_equal(np.asarray(event_propagate(spikes, t, wt, n_post)),
                                  np.asarray(jnp.asarray(spikes) @ W))
    np.testing.assert_array_equal(dense_matrix({"targets": t, "weights": wt}, n_pre, n_post), W)
    W, t, wt = random_tables(rng, n_pre, n_post, 0.3, dyadic=False)
    ev = np.asarray(event_propagate(spikes, t, wt, n_post))
    np.testing.assert_allclose(ev, spikes.astype(np.float64) @ W.astype(np.float64),
                               rtol=1e-5, atol=1e-5)


def test_all_simultaneous_spikes_are_delivered():
    # every pre neuron spikes (70: two full 32-bit words and a partial one), each adds 1 to
    # every one of its 3 targets
    n = 70
    pre, post = np.divmod(np.arange(n * 3), 3)
    t, wt = padded_tables(pre, post, np.ones(pre.size), n, 3, np.float32)
    out = np.asarray(event_propagate(jnp.ones(n), jnp.asarray(t), jnp.asarray(wt), 3))
    np.testing.assert_array_equal(out, [70.0, 70.0, 70.0])


@pytest.mark.parametrize("idx", [[0], [31], [32], [63, 64], [0, 31, 32, 33, 68, 69], [69]])
def test_spikes_at_word_edges(idx):
    # neuron i projects only to post neuron i with weight 2**i (distinct bits): the output
    # names exactly which neurons were found, including bit 31 of a word and the last word
    n = 70
    pre = post = np.arange(n)
    w = np.ldexp(1.0, np.arange(n) % 20)
    t, wt = padded_tables(pre, post, w, n, n, np.float32)
    spikes = np.zeros(n, np.float32)
    spikes[idx] = 1.0
    words = np.asarray(spike_words(jnp.asarray(spikes)))
    assert words.shape == (3,) and words.dtype == np.uint32
    assert sorted(k * 32 + b for k in range(3) for b in range(32) if words[k] >> b & 1) == idx
    out = np.asarray(event_propagate(jnp.asarray(spikes), jnp.asarray(t), jnp.asarray(wt), n))
    expect = np.zeros(n, np.float32)
    expect[idx] = w[idx]
    np.testing.assert_array_equal(out, expect)


def test_empty_projection_tables():
    proj = make(20, 30, connectivity="fixed_probability", p=0.0, propagation="event")
    const, state = proj.init(None, np.random.default_rng(0))
    assert state["buf"].shape == (1, 20)
    const = {k: jnp.asarray(v) for k, v in const.items()}
    assert const["targets"].shape == (21, 1) and np.all(np.asarray(const["targets"]) == 30)
    out = np.asarray(proj.deliver(jnp.ones(20, jnp.float32), const))
    np.testing.assert_array_equal(out, np.zeros(30))


# --- delays and delivery through the engine ------------------------------------------------------
# Source neurons get 4000 mV from step 3 on (t_on = 0.25 ms sits between steps 2 and 3): v jumps
# 20 mV in one step, so each spikes exactly once, at step 3 (t_ref = 100 ms keeps it silent after).
# One-to-one projections with weight 2 then raise each post neuron's v from -65 to -63 mV.

SPIKE_STEP = 3


def delay_graph(n, delays, modes):
    nodes = [("drive", "current_source", {"size": n, "mode": "step", "amplitude": 4000.0,
                                          "t_on": 0.25}),
             ("src", "lif", {"size": n, "t_ref": 100.0})]
    edges = [("drive.current", "src.current")]
    names = []
    for d in delays:
        for mode in modes:
            pid, tgt = f"p{d}{mode}", f"post{d}{mode}"
            nodes += [(pid, "projection", {"connectivity": "one_to_one", "weight": 2.0,
                                           "delay_steps": d, "propagation": mode}),
                      (tgt, "lif", {"size": n})]
            edges += [("src.spikes", f"{pid}.pre"), (f"{pid}.events", f"{tgt}.jump")]
            names.append((d, pid, tgt))
    return graph(*nodes, edges=edges), names


def check_delays(n, delays, modes):
    g, names = delay_graph(n, delays, modes)
    rec_names = ["src.spikes"] + [f"{p}.events" for _, p, _ in names] + \
                [f"{t}.v" for _, _, t in names]
    rec = Simulation(g, record=rec_names).advance(20, chunk=20)
    want_src = np.zeros((20, n), bool)
    want_src[SPIKE_STEP] = True
    np.testing.assert_array_equal(rec["src.spikes"], want_src)
    for d, pid, tgt in names:
        ev = rec[f"{pid}.events"]
        want = np.zeros((20, n), np.float32)
        want[SPIKE_STEP + d] = 2.0                       # arrives exactly d steps later
        np.testing.assert_array_equal(ev, want, err_msg=pid)
        v = rec[f"{tgt}.v"]
        np.testing.assert_array_equal(v[:SPIKE_STEP + d], -65.0)
        # the jump lands at the start of that step, then decays with v: -65 + 2 exp(-k dt/tau_m)
        e_m = np.exp(-0.1 / 20.0)
        np.testing.assert_allclose(v[SPIKE_STEP + d], -65.0 + 2.0 * e_m, rtol=1e-6)
        np.testing.assert_allclose(v[SPIKE_STEP + d + 1], -65.0 + 2.0 * e_m ** 2, rtol=1e-6)


def test_delays_exact_to_the_step():
    check_delays(8, (1, 2, 5), ("event", "dense"))


def test_event_propagation_with_fewer_pre_neurons_than_a_block():
    check_delays(1, (1, 3), ("event",))


def test_more_than_block_spikes_in_one_step_through_engine():
    g = graph(("drive", "current_source", {"size": 50, "amplitude": 4000.0}),
              ("src", "lif", {"size": 50}),
              ("proj", "projection", {"connectivity": "all_to_all", "weight": 1.0,
                                      "propagation": "event"}),
              ("post", "lif", {"size": 3, "v_th": 1000.0}),
              edges=[("drive.current", "src.current"), ("src.spikes", "proj.pre"),
                     ("proj.events", "post.jump")])
    rec = Simulation(g, record=["src.spikes", "proj.events"]).advance(3, chunk=3)
    assert rec["src.spikes"][0].sum() == 50                     # all 50 spike at step 0
    np.testing.assert_array_equal(rec["proj.events"], [[0, 0, 0], [50, 50, 50], [0, 0, 0]])


def event_vs_dense_graph(mode, **proj):
    return graph(("src", "poisson_source", {"size": 200, "rate": 500.0}),
                 ("proj", "projection", {"connectivity": "fixed_probability", "p": 0.1,
                                         "propagation": mode, **proj}),
                 ("post", "lif", {"size": 150}),
                 edges=[("src.spikes", "proj.pre"), ("proj.events", "post.syn")])


def run_mode(mode, **proj):
    sim = Simulation(event_vs_dense_graph(mode, **proj), fuse=False,
                     record=["proj.events", "post.v", "post.spikes"])
    return sim, sim.advance(300, chunk=300)


def test_event_and_dense_identical_for_dyadic_weights():
    cfg = {"weight": 0.5, "sign": "mixed", "inhibitory_ratio": 2.0}   # +0.5 / -1.0
    se, ev = run_mode("event", **cfg)
    sd, de = run_mode("dense", **cfg)
    assert "targets" in se.consts["proj"] and "W" in sd.consts["proj"]
    # both storages hold the synapses drawn from the node's own generator
    pre, post, w = make(200, 150, connectivity="fixed_probability", p=0.1, **cfg).synapses(
        node_rng(0, "proj"))
    W = np.zeros((200, 150), np.float32)
    W[pre, post] = w
    np.testing.assert_array_equal(dense_matrix(se.consts["proj"], 200, 150), W)
    np.testing.assert_array_equal(dense_matrix(sd.consts["proj"], 200, 150), W)
    for name in ("proj.events", "post.v", "post.spikes"):
        np.testing.assert_array_equal(ev[name], de[name], err_msg=name)
    assert np.abs(ev["proj.events"]).sum() > 0 and ev["post.spikes"].sum() > 0


def test_event_and_dense_close_for_other_weights():
    cfg = {"weight": 0.3, "weight_init": "lognormal", "weight_spread": 0.4}
    _, ev = run_mode("event", **cfg)
    _, de = run_mode("dense", **cfg)
    assert np.abs(ev["proj.events"]).sum() > 0
    np.testing.assert_allclose(ev["proj.events"], de["proj.events"], rtol=1e-5, atol=1e-5)


# --- fusion --------------------------------------------------------------------------------------

def ei_network():
    ev = {"connectivity": "fixed_probability", "propagation": "event"}
    return graph(
        ("ext", "poisson_source", {"size": 100, "rate": 200.0}),
        ("E", "lif", {"size": 80, "v_init": "uniform"}),
        ("I", "lif", {"size": 20, "v_init": "uniform"}),
        ("ext_E", "projection", {**ev, "p": 0.1, "weight": 4.0}),
        ("EE", "projection", {**ev, "p": 0.1, "weight": 0.5, "autapses": False}),
        ("EI", "projection", {**ev, "p": 0.2, "weight": 4.0}),
        ("IE", "projection", {**ev, "p": 0.2, "weight": 1.0, "sign": "inhibitory"}),
        ("II", "projection", {**ev, "p": 0.2, "weight": 0.25, "sign": "inhibitory",
                              "autapses": False}),
        edges=[("ext.spikes", "ext_E.pre"), ("ext_E.events", "E.syn"),
               ("E.spikes", "EE.pre"), ("EE.events", "E.syn"),
               ("E.spikes", "EI.pre"), ("EI.events", "I.syn"),
               ("I.spikes", "IE.pre"), ("IE.events", "E.syn"),
               ("I.spikes", "II.pre"), ("II.events", "I.syn")])


def test_fused_and_unfused_identical_spikes():
    g = ei_network()
    fused = Simulation(g, record=["E.spikes", "I.spikes"])
    plain = Simulation(g, record=["E.spikes", "I.spikes"], fuse=False)
    assert sorted(sum(fused.model.fused.values(), [])) == ["EE", "EI", "IE", "II", "ext_E"]
    assert plain.model.fused == {}
    a = fused.advance(500, chunk=500)
    b = plain.advance(500, chunk=500)
    np.testing.assert_array_equal(a["E.spikes"], b["E.spikes"])
    np.testing.assert_array_equal(a["I.spikes"], b["I.spikes"])
    assert a["E.spikes"].sum() > 100 and a["I.spikes"].sum() > 10


# --- validation ----------------------------------------------------------------------------------

def two_pools(n_pre, n_post, **proj):
    return graph(("a", "lif", {"size": n_pre}), ("b", "lif", {"size": n_post}),
                 ("proj", "projection", proj),
                 edges=[("a.spikes", "proj.pre"), ("proj.events", "b.syn")])


def test_validation_errors():
    (prob,) = validate(two_pools(5, 6, connectivity="one_to_one"))
    assert (prob.node, prob.param) == ("proj", "connectivity")
    assert "5" in prob.message and "6" in prob.message
    assert validate(two_pools(6, 6, connectivity="one_to_one")) == []
    (prob,) = validate(two_pools(5, 8, connectivity="fixed_fan_in", fan_in=6))
    assert (prob.node, prob.param) == ("proj", "fan_in") and "5 available" in prob.message
    assert validate(two_pools(5, 8, connectivity="fixed_fan_in", fan_in=5)) == []
    (prob,) = validate(two_pools(5, 5, connectivity="fixed_fan_in", fan_in=5, autapses=False))
    assert (prob.node, prob.param) == ("proj", "fan_in") and "4 available" in prob.message
    (prob,) = validate(two_pools(5, 5, p=1.5))
    assert (prob.node, prob.param) == ("proj", "p")
    (prob,) = validate(two_pools(5, 5, delay_steps=0))
    assert (prob.node, prob.param) == ("proj", "delay_steps")


# --- per-synapse delays --------------------------------------------------------------------------

def test_per_synapse_delays_are_uniform_up_to_the_maximum():
    """delay_steps 1, max_delay_steps 4 on 40,000 synapses: every delay 1..4 about a quarter
    (5 sigma), none outside. The original aliases a 4 ms delay onto 0 at dt = 1 ms and draws
    1 twice as often (0.2, 0.4, 0.2, 0.2 for 0..3)."""
    comp = make(200, 200, connectivity="all_to_all", max_delay_steps=4)
    const, _ = comp.init(None, np.random.default_rng(0))
    d = const["delays"][:200][const["targets"][:200] < 200]
    assert d.size == 40_000 and d.min() == 1 and d.max() == 4
    frac = np.bincount(d, minlength=5)[1:] / d.size
    assert np.all(np.abs(frac - 0.25) < 5 * math.sqrt(0.25 * 0.75 / d.size))


def test_per_synapse_delays_are_exact_to_the_step():
    """Spikes of 3 pre neurons at steps 0 and 5 reach each post neuron exactly at spike step +
    that synapse's own delay (2..6), with its weight; nothing arrives at any other step."""
    n_pre, n_post, T = 3, 40, 16
    comp = make(n_pre, n_post, connectivity="all_to_all", weight=1.0, weight_init="uniform",
                weight_spread=0.5, delay_steps=2, max_delay_steps=6)
    from tests.plastic_reference import run
    spikes = {0: [0, 2], 5: [1, 2]}
    pre = np.zeros((T, n_pre), np.float32)
    for t0, who in spikes.items():
        pre[t0, who] = 1
    got, _, const = run(comp, pre, np.zeros((T, n_post), np.float32), seed=1)
    want = np.zeros((T, n_post))
    tg, w, d = (np.asarray(const[k])[:n_pre] for k in ("targets", "weights", "delays"))
    for t0, who in spikes.items():
        for i in who:
            for j, wij, dij in zip(tg[i], w[i], d[i]):
                if j < n_post:
                    want[t0 + dij, j] += wij
    assert set(np.unique(d[tg < n_post])) == {2, 3, 4, 5, 6}
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_per_synapse_delays_in_a_graph_are_not_fused_and_are_validated():
    g = graph(("src", "poisson_source", {"size": 20, "rate": 200.0}),
              ("a", "lif", {"size": 10}), ("b", "lif", {"size": 10}),
              ("p1", "projection", {"p": 0.5, "propagation": "event", "delay_steps": 2,
                                    "max_delay_steps": 5}),
              ("p2", "projection", {"p": 0.5, "propagation": "event", "delay_steps": 2}),
              ("p3", "projection", {"p": 0.5, "propagation": "event", "delay_steps": 2}),
              edges=[("src.spikes", "p1.pre"), ("p1.events", "a.syn"),
                     ("src.spikes", "p2.pre"), ("p2.events", "b.syn"),
                     ("src.spikes", "p3.pre"), ("p3.events", "a.jump")])
    from spark_snn.engine import compile_graph
    model = compile_graph(g)
    # p2 and p3 (one delay of 2 steps) share a fused kernel; p1 (per-synapse delays) stays apart
    assert "p1" in model.rnodes and "p2" not in model.rnodes and "p3" not in model.rnodes
    bad = graph(("src", "poisson_source", {"size": 4}), ("a", "lif", {"size": 4}),
                ("p", "projection", {"delay_steps": 3, "max_delay_steps": 2}),
                edges=[("src.spikes", "p.pre"), ("p.events", "a.syn")])
    probs = validate(bad)
    assert any(pr.node == "p" and pr.param == "max_delay_steps" for pr in probs)


@pytest.mark.parametrize("n_pre,n_post,autapses", [(300, 5000, True), (5000, 300, False),
                                                     (64, 64, False), (1, 1, True), (7, 0, True)])
def test_fixed_probability_is_one_uniform_per_pair_row_after_row(n_pre, n_post, autapses,
                                                                 monkeypatch):
    """The rule (set before the draw was vectorised, so saved networks keep their synapses): a
    uniform number per (pre, post) pair, pre-major, a synapse where it is below p; drawn in
    blocks of rows (a small block here, to cross block edges)."""
    from spark_snn.components import projection as P
    monkeypatch.setattr(P, "DRAW_BLOCK", 1000)
    cfg = {"connectivity": "fixed_probability", "p": 0.2, "autapses": autapses}
    rng = np.random.default_rng(11)
    u = np.array([rng.random(n_post) for _ in range(n_pre)]).reshape(n_pre, n_post)
    want = [(i, j) for i in range(n_pre) for j in range(n_post)
            if u[i, j] < 0.2 and (autapses or n_pre != n_post or i != j)]
    pre, post = P.draw_connectivity(cfg, n_pre, n_post, np.random.default_rng(11))
    assert list(zip(pre.tolist(), post.tolist())) == want


def test_synapse_order_is_pre_then_post_and_stable():
    from spark_snn.components.projection import order_by_pre_post
    rng = np.random.default_rng(3)
    pre = rng.integers(0, 50, 4000)
    post = rng.integers(0, 70, 4000)          # many repeated (pre, post) pairs: stability shows
    order = order_by_pre_post(pre, post, 70)
    want = sorted(range(4000), key=lambda k: (pre[k], post[k]))   # Python's sort is stable
    assert order.tolist() == want
    assert order_by_pre_post(pre[order], post[order], 70) is None   # in order: nothing to do


@pytest.mark.parametrize("strategy", ["native", "serial", "parallel"])
@pytest.mark.parametrize("n,spikes", [(7168, 40), (40_000, 300), (100_000, 7), (70_000, 0),
                                      (33_000, 33_000)])
def test_event_propagation_adds_rows_in_ascending_neuron_order_at_any_size(n, spikes, strategy,
                                                                          monkeypatch):
    """Every size (flat search up to 32,768 neurons, summary levels above) gives the sums of
    the spiking neurons' rows added one after the other in ascending order, bit for bit (NumPy
    float32 ``add.at``, the reference), including all neurons spiking and none; with either
    strategy (on the CPU the parallel one's scatter adds in order too; the native kernel adds
    in order by construction)."""
    import jax
    monkeypatch.setenv("SPARK_PROPAGATION", strategy)
    from spark_snn.components.projection import event_propagate_words, spike_words
    rng = np.random.default_rng(n + spikes)
    fan = 6
    pre = np.repeat(np.arange(n), fan)
    post = rng.integers(0, 500, n * fan)            # few targets: many additions each
    w = rng.standard_normal(n * fan).astype(np.float32)
    t, wt = padded_tables(pre, post, w, n, 500, np.float32)
    s = np.zeros(n, np.float32)
    s[rng.choice(n, spikes, replace=False)] = 1.0
    tj, wj = jnp.asarray(t), jnp.asarray(wt)
    got = jax.jit(lambda x: event_propagate_words(spike_words(x), tj, wj, 500))(s)
    want = np.zeros(501, np.float32)
    for i in np.flatnonzero(s):
        np.add.at(want, t[i], wt[i])
    assert np.array_equal(np.asarray(got), want[:500])


@pytest.mark.parametrize("n_pre,n_post,k,autapses", [(30, 40, 7, True), (30, 30, 29, False),
                                                     (500, 500, 50, False), (2000, 20, 100, True)])
def test_fixed_fan_in_is_k_of_the_allowed_pre_neurons_per_post_neuron(n_pre, n_post, k, autapses):
    """The rule: for each post neuron j in turn, ``rng.choice`` of k distinct entries of the
    list of allowed pre neurons (all, or all but j without autapses), sorted; synapses ordered
    by pre, then post."""
    from spark_snn.components.projection import draw_connectivity
    rng = np.random.default_rng(4)
    want = []
    for j in range(n_post):
        allowed = [i for i in range(n_pre) if autapses or n_pre != n_post or i != j]
        want += [(int(i), j) for i in np.sort(rng.choice(np.array(allowed), size=k,
                                                         replace=False))]
    want.sort()
    cfg = {"connectivity": "fixed_fan_in", "fan_in": k, "autapses": autapses}
    pre, post = draw_connectivity(cfg, n_pre, n_post, np.random.default_rng(4))
    assert list(zip(pre.tolist(), post.tolist())) == want


def test_every_strategy_gives_the_serial_spikes_on_the_benchmark_network(monkeypatch):
    """The 7-pool network (fused projections, 1.6 million synapses), 1,000 steps, float32: the
    strategy a GPU gets and the native CPU kernel change no spike."""
    from pathlib import Path

    from spark_snn import engine
    path = Path(__file__).resolve().parents[1] / "resources" / "examples" / "benchmark_7pools.json"
    runs = {}
    for strategy in ("serial", "parallel", "native"):
        monkeypatch.setenv("SPARK_PROPAGATION", strategy)
        sim = Simulation(engine.load(path), record=[f"pool{i}.spikes" for i in range(7)])
        runs[strategy] = sim.advance(1000, chunk=500)
    total = sum(int(v.sum()) for v in runs["serial"].values())
    assert total > 1000
    for k, v in runs["serial"].items():
        assert np.array_equal(v, runs["parallel"][k]), k
        assert np.array_equal(v, runs["native"][k]), k


def test_an_unknown_strategy_is_refused(monkeypatch):
    from spark_snn.components.projection import propagation_strategy
    monkeypatch.setenv("SPARK_PROPAGATION", "fastest")
    with pytest.raises(ValueError, match="expected auto, native, serial or parallel"):
        propagation_strategy()
    monkeypatch.setenv("SPARK_PROPAGATION", "auto")
    assert propagation_strategy() == "native"          # the CPU backend, with a C++ compiler
    monkeypatch.setenv("SPARK_NATIVE", "0")
    assert propagation_strategy() == "serial"          # the kernels turned off: XLA loops
