"""Spark engine: graph files, validation, compilation to JAX, and simulation. No Qt here.

XLA:CPU's thread pool hurts the many small per-step operations of a spiking network (see
BASELINE.md: two threads halved the interrupted speed), so unless the user set XLA_FLAGS or
SPARK_XLA_THREADS=multi, the engine asks XLA for single-threaded CPU kernels. This must happen
before JAX initialises its backend, hence here, at import.
"""
import os as _os

if "XLA_FLAGS" not in _os.environ and _os.environ.get("SPARK_XLA_THREADS", "") != "multi":
    _os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

from .compiler import Model, compile_graph  # noqa: E402
from .fileio import dumps, load, loads, save  # noqa: E402
from .graph import Edge, Graph, Node  # noqa: E402
from .problems import GraphError, Problem  # noqa: E402
from .registry import registry  # noqa: E402
from .simulation import Simulation, SimulationError, StructuralEdit  # noqa: E402
from .validate import analyze, validate  # noqa: E402

__all__ = ["Model", "compile_graph", "dumps", "load", "loads", "save", "Edge", "Graph", "Node",
           "GraphError", "Problem", "registry", "Simulation", "SimulationError",
           "StructuralEdit", "analyze", "validate"]
