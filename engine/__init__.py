"""Spark engine: graph files, validation, compilation to JAX, and simulation. No Qt here.

Two JAX settings suit a spiking network's many small per-step operations and are applied here,
at import, because both must be in place before JAX initialises its CPU backend:

* XLA:CPU's thread pool hurts (see BASELINE.md: two threads halved the interrupted speed), so
  unless the user set XLA_FLAGS or SPARK_XLA_THREADS=multi, XLA is asked for single-threaded
  kernels.
* Asynchronous CPU dispatch hands every call to a second thread and back; with a chunk per
  interrupt that hand-off costs about 15 % of the interrupted speed (benchmarks/README.md), so
  calls run synchronously in the calling thread (which still releases the GIL) unless the user
  set JAX_CPU_ENABLE_ASYNC_DISPATCH.

Compiled programs are also kept in JAX's persistent compilation cache (engine/jaxcache.py), so a
graph run before sets up without recompiling.
"""
import os as _os

if "XLA_FLAGS" not in _os.environ and _os.environ.get("SPARK_XLA_THREADS", "") != "multi":
    _os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false"

import jax as _jax  # noqa: E402

if "JAX_CPU_ENABLE_ASYNC_DISPATCH" not in _os.environ:
    _jax.config.update("jax_cpu_enable_async_dispatch", False)

from .jaxcache import configure as _configure_cache  # noqa: E402

_configure_cache(_jax)

from .compiler import Model, compile_graph  # noqa: E402
from .fileio import dumps, load, loads, save  # noqa: E402
from .graph import Edge, Graph, Node  # noqa: E402
from .memory import available as available_memory  # noqa: E402
from .memory import estimate as estimate_memory  # noqa: E402
from .problems import GraphError, Problem  # noqa: E402
from .registry import registry  # noqa: E402
from .simulation import Simulation, SimulationError, StructuralEdit  # noqa: E402
from .operations import OperationError  # noqa: E402
from .partition_sim import PartitionedSimulation  # noqa: E402
from .validate import analyze, validate  # noqa: E402

__all__ = ["Model", "compile_graph", "dumps", "load", "loads", "save", "Edge", "Graph", "Node",
           "available_memory", "estimate_memory",
           "GraphError", "Problem", "registry", "Simulation", "SimulationError", "OperationError",
           "PartitionedSimulation", "StructuralEdit", "analyze", "validate"]
