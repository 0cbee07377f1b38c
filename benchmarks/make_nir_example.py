"""Write resources/examples/snntorch_style.nir: a small network as snnTorch exports one to NIR,
for trying ``spark import-nir`` and File > Import NIR…

    Input (3) -> Affine (8 x 3) -> CubaLIF (8) -> Affine (2 x 8) -> CubaLIF (2) -> Output (2)

Written the way snnTorch's exporter writes ``Synaptic`` layers (its dt fixed at 1e-4 s):
tau_syn = dt / (1 - alpha), tau_mem = dt / (1 - beta), r = tau_mem / dt, w_in = tau_syn / dt,
v_leak 0, threshold 1, weights (out, in) with biases. alpha = 0.9 and beta = 0.95 give 1 ms and
2 ms. The weights are drawn from a fixed seed.

    python benchmarks/make_nir_example.py
    spark import-nir resources/examples/snntorch_style.nir -o snn.json --dt 0.1
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spark_snn.engine.nir_io import require_nir, write_nir  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "resources" / "examples" / "snntorch_style.nir"
DT = 1e-4


def synaptic(n: int, alpha: float, beta: float):
    nir = require_nir()
    tau_syn, tau_mem = DT / (1 - alpha), DT / (1 - beta)
    return nir.CubaLIF(tau_syn=np.full(n, tau_syn), tau_mem=np.full(n, tau_mem),
                       r=np.full(n, tau_mem / DT), v_leak=np.zeros(n), v_threshold=np.ones(n),
                       v_reset=np.zeros(n), w_in=np.full(n, tau_syn / DT))


def build():
    nir = require_nir()
    rng = np.random.default_rng(0)
    w1 = rng.uniform(0.0, 0.01, (8, 3)).astype(np.float32)
    w2 = rng.uniform(-0.01, 0.03, (2, 8)).astype(np.float32)
    nodes = {"input": nir.Input(input_type={"input": np.array([3])}),
             "fc1": nir.Affine(weight=w1, bias=np.full(8, 0.001, np.float32)),
             "lif1": synaptic(8, 0.9, 0.95),
             "fc2": nir.Affine(weight=w2, bias=np.zeros(2, np.float32)),
             "lif2": synaptic(2, 0.9, 0.95),
             "output": nir.Output(output_type={"output": np.array([2])})}
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
             ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


if __name__ == "__main__":
    write_nir(OUT, build())
    print(f"{OUT}: written")
