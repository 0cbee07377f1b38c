"""What the run panels need to know about a graph: pools, ports, sizes, environment nodes.

Pure functions over ``engine.analyze`` (no Qt), so they are easy to test and cheap to call.
"""
from __future__ import annotations

from dataclasses import dataclass

from components.base import SPIKES
from engine import Graph, analyze, registry


@dataclass(frozen=True)
class PortInfo:
    """One output port of a node: "node.port", its signal kind, size and dtype item size."""

    name: str
    kind: str
    size: int

    @property
    def node(self) -> str:
        return self.name.rsplit(".", 1)[0]

    @property
    def port(self) -> str:
        return self.name.rsplit(".", 1)[1]

    @property
    def itemsize(self) -> int:
        """Bytes per recorded value: spikes are recorded as bool, everything else as float32/64."""
        return 1 if self.kind == SPIKES else 4


class GraphInfo:
    """Output ports of every valid node of a graph, and which nodes are pools / environments."""

    def __init__(self, graph: Graph):
        self.graph = graph
        analysis = analyze(graph)
        self.problems = analysis.errors
        if analysis.flat is not None:  # composites: the inner nodes under their dotted ids
            graph = analysis.flat.graph
        self.ports: dict[str, PortInfo] = {}
        self.node_ports: dict[str, list[PortInfo]] = {}
        reg = registry()
        self.categories: dict[str, str] = {}
        for nid, info in analysis.nodes.items():
            if nid not in graph.nodes:
                continue  # a composite instance: its inner nodes are listed instead
            node = graph.nodes[nid]
            self.categories[nid] = reg.get(node.type).category if node.type in reg else ""
            lst = []
            for pname, port in info.outputs.items():
                size = info.port_size(port)
                if size is None:
                    continue
                p = PortInfo(f"{nid}.{pname}", port.kind, int(size))
                self.ports[p.name] = p
                lst.append(p)
            self.node_ports[nid] = lst
        dtype = graph.settings.get("dtype", "float32")
        self.float_size = 8 if dtype == "float64" else 4

    @property
    def dt(self) -> float:
        return float(self.graph.settings.get("dt", 0.1))

    def itemsize(self, port: str) -> int:
        p = self.ports[port]
        return 1 if p.kind == SPIKES else self.float_size

    def spike_port(self, node: str) -> str | None:
        """The node's spike output ("node.spikes", or its only spikes-kind port), or None."""
        ports = [p for p in self.node_ports.get(node, []) if p.kind == SPIKES]
        for p in ports:
            if p.port == "spikes":
                return p.name
        return ports[0].name if ports else None

    def pools(self) -> list[str]:
        """Neuron pools (category 'Neurons' with a spikes output), in graph order."""
        return [nid for nid in self.graph.nodes
                if self.categories.get(nid) == "Neurons" and self.spike_port(nid)]

    def v_port(self, node: str) -> str | None:
        name = f"{node}.v"
        return name if name in self.ports else None

    def signal_ports(self, node: str) -> list[str]:
        """Every output of ``node`` that is not spikes (values, currents, modulators, ...),
        the modulator and value ones first: what a signal trace can plot."""
        order = {"modulator": 0, "value": 1}
        ports = [p for p in self.node_ports.get(node, []) if p.kind != SPIKES]
        return [p.name for p in sorted(ports, key=lambda p: order.get(p.kind, 2))]

    def is_projection(self, node: str) -> bool:
        """A node with synapses (input 'pre', output 'events'), whose weights can be shown:
        static projections and the plastic ones (STDP, three-factor) alike."""
        names = {p.port for p in self.node_ports.get(node, [])}
        return "events" in names and self.categories.get(node) in ("Projections", "Plasticity")

    def observation_port(self, node: str) -> str | None:
        """"node.observation" when the node has one (an environment), else None."""
        name = f"{node}.observation"
        return name if name in self.ports else None

    def episode_ports(self, node: str) -> list[str]:
        """Scalar outputs of ``node`` describing the last finished episode: names starting with
        'episode_' (episode_length, episode_return, ...) or containing 'return'."""
        return [p.name for p in self.node_ports.get(node, [])
                if p.size == 1 and (p.port.startswith("episode_") or "return" in p.port)]

    def episode_counter(self, node: str) -> str | None:
        """"node.episode" (number of finished episodes) when the node has it, else None."""
        name = f"{node}.episode"
        return name if name in self.ports and self.ports[name].size == 1 else None

    def record_bytes(self, ports, n_steps: int) -> int:
        """Memory needed to record ``ports`` for ``n_steps`` steps: steps x size x itemsize."""
        return sum(int(n_steps) * self.ports[p].size * self.itemsize(p) for p in ports)


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} GiB"  # pragma: no cover
