"""Several processes or machines for ``spark train`` (and ``spark run --partition``: see
engine/partition.py), with JAX's own distributed runtime.

Every process runs ``spark train`` with the same arguments plus ``--coordinator HOST:PORT
--num-processes P --process-id I`` (I = 0 .. P-1; on a cluster whose scheduler JAX knows, such as
SLURM, ``--distributed`` alone lets JAX find them). ``jax.distributed.initialize`` joins them
(on CPUs through the gloo collectives). The agents are shared out in order, as evenly as they
go (5 agents on 2 processes: agents 0-2 and 3-4), each with its own seed as in a
single-process run, on all of its local devices; the episode lengths (and
returns) are then gathered with a collective, process 0 writes the results, and every process
writes the final states of its own agents (so ``--out`` should be a shared folder on a cluster).
Agent a's episodes are those of a single-process run (tested with two processes on localhost).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np


@dataclass
class Share:
    """Process ``index`` of ``count``: its agents are ``first`` .. ``first + agents - 1``; every
    process holds room for ``per`` agents in the gathered arrays."""
    index: int = 0
    count: int = 1
    first: int = 0
    agents: int = 0
    per: int = 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("several processes or machines (jax.distributed)")
    g.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                   help="address of process 0, the same for every process")
    g.add_argument("--num-processes", type=int, default=None, metavar="P")
    g.add_argument("--process-id", type=int, default=None, metavar="I", help="0 .. P-1")
    g.add_argument("--distributed", action="store_true",
                   help="let JAX find the processes from the cluster's scheduler (e.g. SLURM)")


def wanted(args) -> bool:
    return bool(args.distributed or args.coordinator is not None
                or args.num_processes is not None or args.process_id is not None)


def check(args) -> str | None:
    """What is wrong with the distributed options, or None."""
    if args.distributed:
        return None
    given = [args.coordinator is not None, args.num_processes is not None,
             args.process_id is not None]
    if not all(given):
        return "--coordinator, --num-processes and --process-id go together"
    if args.num_processes < 1:
        return "--num-processes must be at least 1"
    if not 0 <= args.process_id < args.num_processes:
        return f"--process-id must be 0 .. {args.num_processes - 1}"
    host, _, port = args.coordinator.rpartition(":")
    if not host or not port.isdigit():
        return f"--coordinator {args.coordinator!r}: expected HOST:PORT"
    if getattr(args, "agents", None) is not None and args.agents < args.num_processes:
        return (f"--agents {args.agents} is fewer than --num-processes {args.num_processes}: "
                "every process needs an agent")
    return None


def initialize(args) -> None:
    """Join the processes (before anything else uses JAX)."""
    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")   # for CPU processes
    if args.distributed:
        jax.distributed.initialize()
    else:
        jax.distributed.initialize(args.coordinator, num_processes=args.num_processes,
                                   process_id=args.process_id)


def share(agents: int) -> Share:
    """This process's share of ``agents`` agents (everything, without jax.distributed)."""
    import jax
    index, count = jax.process_index(), jax.process_count()
    sizes = [agents // count + (1 if i < agents % count else 0) for i in range(count)]
    return Share(index, count, sum(sizes[:index]), sizes[index], max(sizes))


def gather(share: Share, lengths, returns, episodes: int, agents: int):
    """Every agent's episode lengths (and returns, or None) from every process, in agent
    order: each process sends a (per x episodes) block padded with -1 / NaN."""
    if share.count == 1:
        return lengths, returns
    from jax.experimental import multihost_utils

    def block(rows, fill, dtype):
        out = np.full((share.per, episodes), fill, dtype)
        for a, xs in enumerate(rows):
            out[a, :len(xs)] = xs[:episodes]
        return out

    got = np.asarray(multihost_utils.process_allgather(block(lengths, -1, np.int64)))
    all_lengths = [[int(v) for v in row if v >= 0]
                   for row in got.reshape(-1, episodes)[:agents]]
    if returns is None:
        return all_lengths, None
    got = np.asarray(multihost_utils.process_allgather(block(returns, np.nan, np.float64)))
    all_returns = [[float(v) for v in row if not np.isnan(v)]
                   for row in got.reshape(-1, episodes)[:agents]]
    return all_lengths, all_returns


def total(share: Share, value: float, how: str = "sum") -> float:
    """``value`` summed (or maximised) over the processes."""
    if share.count == 1:
        return value
    from jax.experimental import multihost_utils
    got = np.asarray(multihost_utils.process_allgather(np.array([value], np.float64)))
    return float(got.max() if how == "max" else got.sum())
