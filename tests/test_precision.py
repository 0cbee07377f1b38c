"""A result depends only on the graph, the seed and the dtype, never on what ran before in the
process: a float64 run must not leave JAX in 64-bit mode for the float32 runs that follow."""
import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

from spark_snn import engine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"

# (graph file, steps, recorded ports): the cartpole example (its physics, PRNG draws of the
# initial states, integer counters) and the 7-pool benchmark network (grouped LIF pools, fused
# event projections, host inputs)
RUNS = [("cartpole.json", 2000, ["cart.observation", "left.v", "right.spikes", "critic.value"]),
        ("benchmark_7pools.json", 300, ["pool0.v", "pool6.spikes"])]

SCRIPT = """
import json, sys
import numpy as np
from spark_snn import engine
runs = json.loads(sys.argv[1])
out = {}
for name, steps, rec in runs:
    sim = engine.Simulation(engine.load(sys.argv[2] + "/" + name), record=rec)
    if name.startswith("benchmark"):
        sim.set_input("stim0", np.full(1024, 4.0)); sim.set_input("stim1", np.full(1024, 3.0))
    r = sim.advance(steps, chunk=100)
    for k, v in r.items():
        out[name + ":" + k] = v
np.savez(sys.argv[3], **out)
"""


def _float32_runs():
    out = {}
    for name, steps, rec in RUNS:
        sim = engine.Simulation(engine.load(EXAMPLES / name), record=rec)
        if name.startswith("benchmark"):
            sim.set_input("stim0", np.full(1024, 4.0))
            sim.set_input("stim1", np.full(1024, 3.0))
        r = sim.advance(steps, chunk=100)
        out.update({name + ":" + k: v for k, v in r.items()})
    return out


def test_float32_after_float64_is_bit_identical_to_a_fresh_process(tmp_path):
    fresh = tmp_path / "fresh.npz"
    subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(RUNS), str(EXAMPLES), str(fresh)],
                   check=True, cwd=ROOT, timeout=1800)
    # a float64 run of the same graph first, in this process
    cart = EXAMPLES / "cartpole.json"
    first64 = engine.Simulation(engine.load(cart), dtype="float64",
                                record=["cart.observation"]).advance(100)["cart.observation"]
    assert first64.dtype == np.float64
    assert not jax.config.jax_enable_x64  # the process is left as it was
    got = _float32_runs()
    ref = np.load(fresh)
    assert sorted(ref.files) == sorted(got)
    for k in ref.files:
        assert got[k].dtype == ref[k].dtype, k
        assert np.array_equal(got[k], ref[k]), k
    # float64 again afterwards: the same float64 result as before the float32 runs
    again = engine.Simulation(engine.load(cart), dtype="float64",
                              record=["cart.observation"]).advance(100)["cart.observation"]
    np.testing.assert_array_equal(again, first64)
