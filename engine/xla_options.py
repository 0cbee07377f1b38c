"""Which XLA options the engine compiles a program with (``Model.jit``).

On the CPU, XLA emits each fused kernel either with its MLIR fusion emitters (its default) or
with its classic loop emitter (``xla_cpu_use_fusion_emitters=False``). A network step compiles
into many small kernels (cartpole.json: about 100), and on one core the MLIR emitters spend
about 15 ms of compile time on each: with the classic emitter cartpole.json compiles in 0.86 s
instead of 1.86 s and the 7-pool benchmark network in 0.21 s instead of 0.40 s, and both run as
fast (benchmarks/README.md, "Compile time: XLA's two emitters"). The classic emitter is slower
to run where XLA's own loops do the heavy work, so the engine keeps XLA's default for:

- vmapped and sharded programs (training, sweeps, a partitioned network: ``spark train`` ran 25
  cartpole agents 1.31x faster with the MLIR emitters; their compile time is spent once);
- networks without the native CPU kernels (components/native: ``SPARK_NATIVE=0`` or no C++
  compiler), whose per-spike propagation loop ran 30 % slower with the classic emitter;
- large networks (a node port over ``CLASSIC_MAX_SIZE`` values), where a run's time outweighs
  the compile time (10^5 neurons ran 3-8 % slower);
- other backends, and whenever the user's ``XLA_FLAGS`` name the option or
  ``SPARK_XLA_EMITTERS=fusion`` asks for XLA's default (``SPARK_XLA_EMITTERS=classic`` asks for
  the classic emitter wherever the CPU runs the program).

The two emitters may round a reduction differently (a last bit): spikes agree, and cartpole.json
gave the same spikes for 30,000 steps and the same learning results (tests/test_compile_options.py).
"""
from __future__ import annotations

import os

import jax

ENV = "SPARK_XLA_EMITTERS"
CLASSIC = {"xla_cpu_use_fusion_emitters": False}
CLASSIC_MAX_SIZE = 65_536


def compiler_options(largest: int = 0, throughput: bool = False) -> dict | None:
    """``jax.jit``'s ``compiler_options`` for a program of a network whose largest node port has
    ``largest`` values (``throughput``: vmapped or sharded); None leaves every choice to XLA."""
    choice = os.environ.get(ENV, "")
    if (jax.default_backend() != "cpu" or choice == "fusion"
            or "xla_cpu_use_fusion_emitters" in os.environ.get("XLA_FLAGS", "")):
        return None
    if choice == "classic":
        return dict(CLASSIC)
    if throughput or largest > CLASSIC_MAX_SIZE:
        return None
    from spark_snn.components import native
    return dict(CLASSIC) if native.available() else None
