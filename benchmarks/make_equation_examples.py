"""Write resources/examples/equation_lif.json and equation_stdp.json (run from the repository root)."""
from spark_snn.engine import Graph, Node, fileio
from spark_snn.engine.equations import LIBRARY

g = Graph(settings={"dt": 0.1, "seed": 0, "dtype": "float64"})
g.add_node(Node("drive", "current_source", {"size": 100, "amplitude": 18.0, "heterogeneity": 4.0}, (-300.0, 0.0)))
g.add_node(Node("builtin", "lif", {"size": 100, "tau_m": 20.0, "t_ref": 2.0}, (0.0, -120.0)))
g.add_node(Node("equation", "equation_pool", {"size": 100, "method": "exact", "model": LIBRARY["lif"], "tau_m": 20.0, "t_ref": 2.0}, (0.0, 120.0)))
g.connect("drive.current", "builtin.current")
g.connect("drive.current", "equation.current")
fileio.save(g, "resources/examples/equation_lif.json")

g = Graph(settings={"dt": 0.1, "seed": 1, "dtype": "float32"})
n = 50
g.add_node(Node("common", "poisson_source", {"size": 1, "rate": 10.0}, (-700.0, -200.0)))
g.add_node(Node("noise_a", "poisson_source", {"size": n, "rate": 10.0}, (-700.0, -40.0)))
g.add_node(Node("noise_b", "poisson_source", {"size": n, "rate": 20.0}, (-700.0, 160.0)))
g.add_node(Node("to_a", "projection", {"connectivity": "all_to_all", "weight": 20.0, "delay_steps": 1}, (-480.0, -200.0)))
g.add_node(Node("noise_to_a", "projection", {"connectivity": "one_to_one", "weight": 20.0, "delay_steps": 1}, (-480.0, -40.0)))
g.add_node(Node("noise_to_b", "projection", {"connectivity": "one_to_one", "weight": 20.0, "delay_steps": 1}, (-480.0, 160.0)))
g.add_node(Node("correlated", "lif", {"size": n, "t_ref": 1.0}, (-260.0, -120.0)))
g.add_node(Node("independent", "lif", {"size": n, "t_ref": 1.0}, (-260.0, 160.0)))
g.add_node(Node("inputs", "spike_merge", {"size_a": n, "size_b": n}, (-40.0, 0.0)))
g.add_node(Node("stdp", "equation_plasticity", {"connectivity": "all_to_all", "weight": 2.0, "delay_steps": 1,
                                               "method": "exact", "model": LIBRARY["stdp"],
                                               "a_plus": 0.02, "a_minus": 0.025, "w_max": 4.0}, (180.0, 0.0)))
g.add_node(Node("post", "lif", {"size": 1}, (420.0, 0.0)))
for s, d in [("common.spikes", "to_a.pre"), ("to_a.events", "correlated.jump"),
             ("noise_a.spikes", "noise_to_a.pre"), ("noise_to_a.events", "correlated.jump"),
             ("noise_b.spikes", "noise_to_b.pre"), ("noise_to_b.events", "independent.jump"),
             ("correlated.spikes", "inputs.a"), ("independent.spikes", "inputs.b"),
             ("inputs.spikes", "stdp.pre"), ("stdp.events", "post.syn"), ("post.spikes", "stdp.post")]:
    g.connect(s, d)
fileio.save(g, "resources/examples/equation_stdp.json")
