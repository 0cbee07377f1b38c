"""Property-based tests (Hypothesis): random mutations of every example graph file through the
loader and the validator. Whatever the mutation (a value of another type, a boundary or
non-finite number, a deleted, added or renamed key, a changed node type, a duplicated or
wrapped entry, or a damaged text), reading gives a graph or a GraphError, validation gives a list
of Problems, a graph that validates compiles, and nothing takes longer than HANG_S (a SIGALRM
turns a hang into a failure). 150 examples a run (about 10 s of CI on 2 cores); a run of
3,000 found nothing more."""
from __future__ import annotations

import copy
import json
import math
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spark_snn import engine
from spark_snn.engine import GraphError, Problem

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "resources" / "examples"
EXAMPLES = {p.name: json.loads(p.read_text()) for p in sorted(EXAMPLES_DIR.glob("*.json"))}
TYPES = sorted(engine.registry().names())
HANG_S = 20

# values a mutation puts anywhere: every JSON type, boundary and non-finite numbers, long
# strings, nested containers
SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-10, max_value=10),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**20, 10**400, -(10**30)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e308, -1e308, 0.5, 1e6]),
    st.text(max_size=12),
    st.sampled_from(TYPES + ["", "lif.", "a.b.c", "x" * 300, "this:Foo-v0", "CartPole-v1"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)


def paths(tree, prefix=()):
    """Every place in ``tree``: tuples of keys and indices."""
    out = []
    items = tree.items() if isinstance(tree, dict) else \
        enumerate(tree) if isinstance(tree, list) else ()
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(paths(v, prefix + (k,)))
    return out


def at(tree, path):
    for k in path:
        tree = tree[k]
    return tree


@st.composite
def mutated_text(draw):
    """(example name, the text of a randomly mutated copy of it)."""
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    data = copy.deepcopy(EXAMPLES[name])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        places = paths(data)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, key = at(data, path[:-1]), path[-1]
        op = draw(st.sampled_from(["value", "value", "delete", "add_key", "rename", "type",
                                   "duplicate", "wrap", "number"]))
        if op == "value":
            parent[key] = draw(VALUES)
        elif op == "delete":
            del parent[key]
        elif op == "add_key":
            target = parent if isinstance(parent, dict) else at(data, path[:-2]) \
                if len(path) > 1 and isinstance(at(data, path[:-2]), dict) else data
            target[draw(st.text(max_size=10))] = draw(VALUES)
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["id", "type", "params", "size", "from", "to", "p",
                                         "delay_steps", "format", "version", "x"]))] = \
                parent.pop(key)
        elif op == "type":
            parent[key] = draw(st.sampled_from(TYPES))
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif op == "wrap":
            parent[key] = draw(st.sampled_from([[parent[key]], {"value": parent[key]}]))
        elif op == "number" and isinstance(parent[key], (int, float)):
            old = parent[key]
            # old + 0.5 of an int beyond float range (after repeated * 1000) would raise here,
            # in the generator, before the engine sees anything
            half = old + 0.5 if abs(old) < 1e300 else old
            parent[key] = draw(st.sampled_from([
                0, -1, -old, old * 1000, half, float("nan"), float("inf"), 10**12]))
    text = json.dumps(data)
    if draw(st.integers(min_value=0, max_value=4)) == 0:  # damage the text itself
        i = draw(st.integers(min_value=0, max_value=len(text)))
        cut = draw(st.sampled_from(["truncate", "insert", "delete", "repeat"]))
        if cut == "truncate":
            text = text[:i]
        elif cut == "insert":
            text = text[:i] + draw(st.text(alphabet='{}[]",:-0123456789.aeNI\\ ', min_size=1,
                                           max_size=6)) + text[i:]
        elif cut == "delete":
            text = text[:i] + text[i + draw(st.integers(min_value=1, max_value=20)):]
        else:
            text = text[:i] + text[i:i + 40] * 3 + text[i + 40:]
    return name, text


class Hung(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hung(f"reading or validating one file took more than {HANG_S} s")


@pytest.fixture
def hang_guard(monkeypatch):
    monkeypatch.delenv("SPARK_ALLOW_IMPORT", raising=False)  # a fuzzed env_id imports nothing
    old = signal.signal(signal.SIGALRM, _alarm)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def check_one(text: str) -> None:
    signal.alarm(HANG_S)
    try:
        try:
            graph = engine.loads(text, "fuzzed.json")
        except GraphError as exc:
            assert exc.problems and all(isinstance(p, Problem) for p in exc.problems)
            assert all(str(p) for p in exc.problems)
            return
        problems = engine.validate(graph)
        assert all(isinstance(p, Problem) for p in problems)
        assert all(len(str(p)) <= 1100 for p in problems)  # long values are shortened
        if not [p for p in problems if p.severity == "error"]:
            engine.compile_graph(graph)  # what validates, builds
            for n in graph.nodes.values():
                assert all(math.isfinite(c) for c in n.position)
    finally:
        signal.alarm(0)


@settings(max_examples=150, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(mutated_text())
def test_mutated_examples_give_problems_never_exceptions(hang_guard, case):
    check_one(case[1])


def test_every_example_is_fuzzed_and_valid_unmutated():
    """The mutations start from valid files (so what they find is the mutation's doing)."""
    assert len(EXAMPLES) >= 8
    for name, data in EXAMPLES.items():
        assert engine.validate(engine.loads(json.dumps(data))) == [], name
