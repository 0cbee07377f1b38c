"""Build the composite examples: resources/examples/columns.json and cartpole_composite.json.

columns.json is a network of excitatory-inhibitory columns.
The "column" component (two LIF pools, four projections, a drive) is made with
``engine.composite.make_component`` from a hand-built column, so the file shows what the editor
produces. An "area" component holds two columns joined by a projection (a component nested in
another); the network is one area and two more columns, each column with its own drive,
inhibition and membrane time constant, wired in a loop:

    area1 (col_a -> col_b)  ->  c3  ->  c4  ->  back into area1

cartpole_composite.json is resources/examples/cartpole.json with its actor (the two action pools,
their plastic and inhibitory projections, the bias, the spike count and the action choice) made
into the component "actor"; it spikes exactly like cartpole.json.

    python benchmarks/make_composite_examples.py              # writes both examples
    python benchmarks/make_composite_examples.py OUT --columns N

``--columns N`` writes a chain of N top-level columns instead (the composite benchmark's graph).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spark_snn.engine import Graph, Node, load, save  # noqa: E402
from spark_snn.engine.composite import Promoted, make_component  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"
ACTOR = ["w_left", "w_right", "bias", "left", "right", "inhibit_right", "inhibit_left", "merge",
         "count", "act"]
N_EXC, N_INH = 80, 20


def column_graph() -> Graph:
    """One E-I column as plain nodes, with an input projection from an outside pool."""
    g = Graph(settings={"dt": 0.1, "seed": 7, "dtype": "float32"})
    g.add_node(Node("source", "poisson_source", {"size": N_EXC, "rate": 20.0}, (-300, 0)))
    g.add_node(Node("feed", "projection", {"p": 0.1, "weight": 1.0, "delay_steps": 20},
                    (-150, 0)))
    g.add_node(Node("drive", "current_source",
                    {"size": N_EXC, "amplitude": 16.0, "heterogeneity": 3.0}, (0, -150)))
    g.add_node(Node("exc", "lif", {"size": N_EXC, "v_init": "uniform"}, (150, 0)))
    g.add_node(Node("inh", "lif", {"size": N_INH, "v_init": "uniform", "tau_m": 10.0},
                    (150, 200)))
    specs = [("ee", "exc", "exc", "excitatory", 0.1, 0.5, (300, -100)),
             ("ei", "exc", "inh", "excitatory", 0.3, 5.0, (300, 100)),
             ("ie", "inh", "exc", "inhibitory", 0.3, 2.0, (0, 100)),
             ("ii", "inh", "inh", "inhibitory", 0.2, 1.0, (0, 300))]
    for pid, a, b, sign, p, w, pos in specs:
        g.add_node(Node(pid, "projection", {"p": p, "weight": w, "sign": sign,
                                            "delay_steps": 15}, pos))
        g.connect(f"{a}.spikes", f"{pid}.pre")
        g.connect(f"{pid}.events", f"{b}.syn")
    g.add_node(Node("out", "rate_readout", {"groups": 1}, (450, 0)))
    g.connect("drive.current", "exc.current")
    g.connect("source.spikes", "feed.pre")
    g.connect("feed.events", "exc.syn")
    g.connect("exc.spikes", "out.spikes")
    return g


COLUMN_PARAMS = [
    Promoted("drive", ["drive.amplitude"], None, help="mean drive of the excitatory pool"),
    Promoted("g_inh", ["ie.weight"], None, help="weight of inhibition onto the excitatory pool"),
    Promoted("tau_exc", ["exc.tau_m"], None, help="membrane time constant of the excitatory pool"),
]


def column_definition():
    g, column = make_component(column_graph(), ["drive", "exc", "inh", "ee", "ei", "ie", "ii"],
                               "column", category="Columns",
                               description="Excitatory-inhibitory column: 80 excitatory and 20 "
                                           "inhibitory LIF neurons, recurrent projections, "
                                           "a tonic drive",
                               port_names={"syn": "in", "spikes": "spikes"},
                               promoted=COLUMN_PARAMS)
    return column


def projection(g: Graph, pid: str, src: str, dst: str, pos, weight=1.0) -> None:
    g.add_node(Node(pid, "projection", {"p": 0.1, "weight": weight, "delay_steps": 20}, pos))
    g.connect(src, f"{pid}.pre")
    g.connect(f"{pid}.events", dst)


def area_definition(column):
    """Two columns, the first feeding the second, made into the component "area"."""
    g = Graph(definitions={"column": column})
    g.add_node(Node("src", "poisson_source", {"size": N_EXC, "rate": 10.0}, (-300, 0)))
    projection(g, "feed", "src.spikes", "col_a.in", (-150, 0))
    g.add_node(Node("col_a", "column", {"drive": 16.0}, (0, 0)))
    g.add_node(Node("col_b", "column", {"drive": 15.5, "g_inh": 3.0}, (400, 0)))
    g.add_node(Node("sink", "rate_readout", {"groups": 1}, (700, 0)))
    projection(g, "ab", "col_a.spikes", "col_b.in", (200, 0), weight=1.5)
    g.connect("col_b.spikes", "sink.spikes")
    _, area = make_component(g, ["col_a", "ab", "col_b"], "area", category="Columns",
                             description="Two columns in a row: the first drives the second",
                             port_names={"in": "in", "spikes": "spikes"},
                             promoted=[Promoted("drive_a", ["col_a.drive"], None,
                                                help="drive of the first column")])
    return area


def build(columns: int | None = None) -> Graph:
    column = column_definition()
    g = Graph(settings={"dt": 0.1, "seed": 7, "dtype": "float32"},
              definitions={"column": column})
    if columns:
        g.add_node(Node("source", "poisson_source", {"size": N_EXC, "rate": 20.0}, (0, 0)))
        prev = "source.spikes"
        for i in range(1, columns + 1):
            g.add_node(Node(f"c{i}", "column", {"drive": 13.0 + (i % 3)}, (400 * i, 0)))
            projection(g, f"p{i}", prev, f"c{i}.in", (400 * i - 200, 0))
            prev = f"c{i}.spikes"
        return g
    area = area_definition(column)
    g.definitions["area"] = area
    g.add_node(Node("source", "poisson_source", {"size": N_EXC, "rate": 10.0}, (-400, 0)))
    projection(g, "feed", "source.spikes", "area1.in", (-200, 0))
    g.add_node(Node("area1", "area", {"drive_a": 17.0}, (0, 0)))
    g.add_node(Node("c3", "column", {"drive": 16.5, "tau_exc": 15.0}, (400, 0)))
    g.add_node(Node("c4", "column", {"drive": 17.0, "g_inh": 4.0}, (800, 0)))
    projection(g, "to_c3", "area1.spikes", "c3.in", (200, 0))
    projection(g, "to_c4", "c3.spikes", "c4.in", (600, 0))
    projection(g, "back", "c4.spikes", "area1.in", (400, 250), weight=0.5)
    g.add_node(Node("rates", "rate_readout", {"groups": 4}, (1100, 0)))
    g.connect("c4.spikes", "rates.spikes")
    return g


def cartpole_composite() -> Graph:
    """cartpole.json with its actor made into a component."""
    g, _ = make_component(
        load(EXAMPLES / "cartpole.json"), ACTOR, "actor", category="Agents",
        description="Two competing action pools learning by a three-factor rule; spike counts "
                    "over a window choose the action",
        port_names={"pre": "features", "modulator": "modulator", "action": "action"},
        promoted=[Promoted("lr", ["w_left.lr", "w_right.lr"], None,
                           help="learning rate of both plastic projections"),
                  Promoted("bias", ["bias.amplitude"], None,
                           help="tonic drive of the action pools")],
        instance_id="actor")
    g.meta.pop("monitors", None)   # cartpole.json's monitor layout names the actor's inner nodes
    return g


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=None)
    ap.add_argument("--columns", type=int, default=None)
    args = ap.parse_args(argv)
    if args.out is None and args.columns is None:
        outs = [(EXAMPLES / "columns.json", build()),
                (EXAMPLES / "cartpole_composite.json", cartpole_composite())]
    else:
        outs = [(args.out or str(EXAMPLES / "columns.json"), build(args.columns))]
    for path, graph in outs:
        save(graph, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
