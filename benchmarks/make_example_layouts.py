"""Give the shipped examples the monitors they open with (the graph file's meta "monitors",
see app/run/layouts.py), so that an example is ready to watch as soon as it is opened:

* cartpole.json: the cart and pole, the episodes, the weights of w_left (right column); the
  spike raster of the state code and both action pools, and the critic's TD error, the
  modulator of the plastic projections (bottom row);
* two_pools.json, minimal.json: a raster of every pool (benchmark_7pools.json gets the same
  from its own generator, benchmarks/make_benchmark_graph.py).

    python benchmarks/make_example_layouts.py      # rewrites those three examples in place

Only ``meta["monitors"]`` changes; the rest of each file is saved back as it was.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spark_snn.engine import load, registry, save  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def pools(graph) -> list[str]:
    return [n for n, node in graph.nodes.items()
            if registry().get(node.type).category == "Neurons"]


def raster(graph) -> dict:
    return {"version": 1, "panels": [{"kind": "raster", "nodes": pools(graph),
                                      "area": "bottom"}]}


CARTPOLE = {"version": 1, "panels": [
    {"kind": "environment", "node": "cart", "area": "right"},
    {"kind": "raster", "nodes": ["boxes", "left", "right"], "area": "bottom"},
    {"kind": "traces", "node": "critic", "port": "td_error", "elements": [0], "area": "bottom"},
    {"kind": "episodes", "node": "cart", "area": "right"},
    {"kind": "weights", "node": "w_left", "area": "right"},
]}


def main() -> int:
    for name, layout in (("cartpole.json", lambda g: CARTPOLE),
                         ("two_pools.json", raster),
                         ("minimal.json", raster)):
        path = EXAMPLES / name
        g = load(path)
        g.meta["monitors"] = layout(g)
        save(g, path)
        print(f"{path}: {len(g.meta['monitors']['panels'])} monitor panel(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
