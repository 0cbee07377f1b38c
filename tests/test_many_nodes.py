"""Many small nodes (issue 10): set-up work grows gently with the node count.

Speed itself is measured by benchmarks/bench_many_nodes.py; these tests pin down the structural
reasons it scales: the node order is computed by an algorithm equal to the reference rule
(engine/schedule.py), and many small dense projections run as one fused kernel, so the traced
step does not hold a matrix product and a delay buffer per projection."""
from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path

import jax
import numpy as np

from spark_snn import engine
from spark_snn.engine import compiler
from spark_snn.engine.compiler import FUSE_SMALL_DENSE
from spark_snn.engine.schedule import order_nodes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_many_nodes import many_nodes_graph  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def reference_order(node_ids, latched, deps):
    """The step-semantics rule written the plain way (quadratic): repeatedly take the earliest
    node whose sources have all updated; when none, the earliest waiting node, delaying its
    edges from sources that have not updated."""
    pos = {n: i for i, n in enumerate(node_ids)}
    remaining = [n for n in node_ids if n not in latched]
    ins = {n: {s for s, d in deps if d == n and s in pos and s not in latched}
           for n in remaining}
    done, order, delayed = set(), [], set()
    while remaining:
        ready = [n for n in remaining if all(s in done for s in ins[n])]
        if ready:
            n = min(ready, key=pos.get)
        else:
            n = min(remaining, key=pos.get)
            delayed |= {(s, n) for s in ins[n] if s not in done}
        order.append(n)
        done.add(n)
        remaining.remove(n)
    return order, delayed


def test_node_order_follows_the_reference_rule_on_random_graphs():
    rnd = random.Random(4)
    for _ in range(1500):
        n = rnd.randint(1, 10)
        ids = [f"n{i}" for i in range(n)]
        rnd.shuffle(ids)
        latched = set(rnd.sample(ids, rnd.randint(0, n // 3)))
        deps = [(rnd.choice(ids), rnd.choice(ids)) for _ in range(rnd.randint(0, 3 * n))]
        assert order_nodes(ids, latched, deps) == reference_order(ids, latched, deps)


FEW = 4  # the fusion threshold in these tests (engine.compiler.FUSE_SMALL_DENSE, patched)


def _step_ops(graph: dict) -> Counter:
    sim = engine.Simulation(engine.loads(json.dumps(graph)))
    m = sim.model
    params, consts, state = m.init()
    with m.precision():
        jaxpr = jax.make_jaxpr(lambda p, c, s: m.step(m.prepare(p), c, s))(params, consts,
                                                                           state)
    return Counter(e.primitive.name for e in jaxpr.jaxpr.eqns)


def test_many_small_projections_are_one_kernel_not_one_each(monkeypatch):
    """A ring of one-neuron pools: the projections (dense by their own choice, 1 x 1) are
    fused once there are FUSE_SMALL_DENSE of them, so the step holds no matrix product and no
    per-projection buffer update however many there are."""
    monkeypatch.setattr(compiler, "FUSE_SMALL_DENSE", FEW)
    small, large = (_step_ops(many_nodes_graph(n)) for n in (2 * FEW + 2, 2 * FEW + 40))
    for op in ("dot_general", "scatter", "dynamic_slice"):
        assert small[op] == large[op] <= 2, (op, small[op], large[op])


def test_fused_small_projections_spike_exactly_as_unfused(monkeypatch):
    monkeypatch.setattr(compiler, "FUSE_SMALL_DENSE", FEW)
    graph = engine.loads(json.dumps(many_nodes_graph(2 * FEW + 10, size=1)))
    ring = [f"pool{i}.spikes" for i in range(FEW + 4)]  # every pool of the ring
    fused = engine.Simulation(graph, count=ring)
    plain = engine.Simulation(graph, count=ring, fuse=False)
    assert sum(len(m) for m in fused.model.fused.values()) == FEW + 5
    assert not plain.model.fused
    fused.advance(400)
    plain.advance(400)
    assert sum(int(fused.totals[n].sum()) for n in ring) > 50   # the ring is active
    for n in ring:
        np.testing.assert_array_equal(fused.totals[n], plain.totals[n])


def test_few_small_projections_keep_their_matrix_product(monkeypatch):
    monkeypatch.setattr(compiler, "FUSE_SMALL_DENSE", FEW)
    graph = engine.loads(json.dumps(many_nodes_graph(2 * (FEW - 2) + 2)))
    assert len([n for n in graph.nodes if n.startswith("proj")]) == FEW - 1
    assert not engine.Simulation(graph).model.fused


def test_the_shipped_examples_keep_their_projections_apart():
    """Their numbers (README, benchmarks) stay exactly as measured: none has FUSE_SMALL_DENSE
    small projections of one delay (columns.json, the most, has 16)."""
    m = compiler.compile_graph(engine.load(EXAMPLES / "columns.json"))
    assert not m.fused and FUSE_SMALL_DENSE > 16
