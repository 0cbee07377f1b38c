"""What the run panels need to know about a graph: pools, ports, sizes, environment nodes.

Pure functions over ``engine.analyze`` (no Qt), so they are easy to test and cheap to call.
"""
from __future__ import annotations

from dataclasses import dataclass

from spark_snn.components.base import SPIKES
from spark_snn.engine import Graph, Node, analyze, registry
from spark_snn.engine.validate import check_value

# The monitors, by the name the node context menu shows them with (see ``offered_monitors``).
MONITORS = ("Monitor spikes", "Monitor membrane potential", "Monitor rate",
            "Monitor output signal", "Monitor weights", "Show environment", "Monitor episodes")


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

    def can_render(self, node: str) -> bool:
        """Whether the node may draw itself (a host-side environment, e.g. Gymnasium's)."""
        cls = registry().types.get(self.graph.nodes[node].type) if node in self.graph.nodes \
            else None
        return cls is not None and bool(getattr(cls, "host_side", False)) \
            and hasattr(cls, "host_render")

    def is_cartpole(self, node: str) -> bool:
        """Whether the node's observation is CartPole's (x, x_dot, theta, theta_dot)."""
        n = self.graph.nodes.get(node)
        if n is None or self.observation_port(node) is None:
            return False
        return n.type == "cartpole" or (
            str(n.params.get("env_id", "")).split(":")[-1].startswith("CartPole-")
            and self.ports[self.observation_port(node)].size == 4)

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


def offered_monitors(node: Node) -> list[str]:
    """The monitors (names from ``MONITORS``) that apply to ``node``, from its type's declared
    output ports (parameter values that are invalid count as their defaults): spikes and rate
    for a spike output, the membrane potential for an output 'v', an output signal for any
    other output (but not for a pool's 'v' alone), weights for projections, the environment
    and its episodes for environments."""
    cls = registry().types.get(node.type)
    if cls is None:
        return []
    cfg = {}
    for prm in cls.params:
        v = node.params.get(prm.name, None if prm.required else prm.default)
        cfg[prm.name] = v if v is not None and check_value(prm, v) is None else prm.default
    try:
        _ins, outs = cls.ports(cfg)
    except Exception:
        return []
    names = {p.name: p for p in outs}
    spikes = any(p.kind == SPIKES for p in outs)
    signals = [p for p in outs if p.kind != SPIKES and p.name != "v"]
    env = cls.category == "Environments" and "observation" in names
    out = []
    if spikes:
        out += ["Monitor spikes"]
    if "v" in names:
        out += ["Monitor membrane potential"]
    if spikes:
        out += ["Monitor rate"]
    if signals:
        out += ["Monitor output signal"]
    if "events" in names and cls.category in ("Projections", "Plasticity"):
        out += ["Monitor weights"]
    if env:
        out += ["Show environment"]
    if env and any(p.name.startswith("episode_") or "return" in p.name for p in outs):
        out += ["Monitor episodes"]
    return out
