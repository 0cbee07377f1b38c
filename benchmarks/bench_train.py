"""Measure the cartpole trainer (``spark train``'s ``engine.train.train``): the learning bar,
and its throughput in agent-environment steps per second.

The bar (N agents x E episodes in one vmapped program):

    taskset -c 0 .venv/bin/python benchmarks/bench_train.py [--agents 25] [--episodes 100]
        [--seed 0]

prints agents solved, median solve episode and wall time (the bar: >= 20 of 25 solved within
100 episodes, for seeds 0-24 and 1000-1024, in at most 15 minutes on a 2-core CPU), then the
same run's set-up/compile time and its steady throughput.

Throughput, source trees and environment variants compared in one invocation:

    nice -n 5 .venv/bin/python benchmarks/bench_train.py --throughput [--agents 25]
        [--env-steps 10000] [--chunk 500] [--repeats 5]
        [--trees before=/tmp/spark-before,after=.] [--env-variant [TREE:]LABEL=VAR=VAL[,VAR=VAL]]

Every run is a fresh process that imports the trainer of its own tree (``spark_snn.engine``, or
``engine`` in trees from before the package rename) and trains the agents for a fixed number of
environment steps (not until solved), timing every call of the trainer's vmapped chunk. A run's
set-up is the import, the model build and the first chunk's tracing and compilation; its steady
part is everything after the first chunk (the chunks and the host's work between them). The
variants take turns (A B, B A, ...); every figure is the median over the repeats. An untimed
warm-up run of one chunk per variant first fills JAX's persistent compilation cache where the
tree has one (add a variant with ``SPARK_JAX_CACHE=0`` for cold set-up figures).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GRAPH = ROOT / "resources" / "examples" / "cartpole.json"
sys.path.insert(0, str(HERE))

from machine import load_average, machine  # noqa: E402  benchmarks/machine.py


# --- one tree's trainer, timed (runs inside the worker process) ----------------------------------
def import_trainer(tree: Path):
    """(load, train module) of the source tree ``tree``: ``spark_snn.engine`` where the tree has
    the package, else the top-level ``engine`` of older trees. Refuses a module that came from
    somewhere else (the shared venv has main's ``spark_snn`` installed in editable mode)."""
    tree = Path(tree).resolve()
    sys.path.insert(0, str(tree))
    if (tree / "spark_snn").is_dir():
        from spark_snn.engine import load, train as tr
    else:
        from engine import load, train as tr
    if not Path(tr.__file__).resolve().is_relative_to(tree):
        raise RuntimeError(f"the trainer was imported from {tr.__file__}, not from {tree}")
    return load, tr


def shape_of(x):
    """``jax.ShapeDtypeStruct`` of an array (or of a Python number)."""
    import jax
    dtype = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    return jax.ShapeDtypeStruct(np.shape(x), dtype)


class ChunkClock:
    """Start and end (``time.perf_counter``) of every call of the trainer's jitted chunk, the
    outputs waited for. Installed by wrapping ``compile_graph`` in the train module, so the tree's
    own trainer runs unchanged."""

    def __init__(self):
        self.calls: list[tuple[float, float]] = []
        self.program = self.arg_shapes = None

    def install(self, tr) -> None:
        import jax
        compile_graph = tr.compile_graph

        def timed_model(*args, **kwargs):
            model = compile_graph(*args, **kwargs)
            jit = model.jit

            def timed_jit(fn, **options):  # options: the tree's own (throughput=...)
                compiled = jit(fn, **options)

                def call(*a):
                    if self.program is None:
                        self.program = compiled
                        self.arg_shapes = jax.tree_util.tree_map(shape_of, a)
                    t = time.perf_counter()
                    out = jax.block_until_ready(compiled(*a))
                    self.calls.append((t, time.perf_counter()))
                    return out
                return call
            model.jit = timed_jit
            return model
        tr.compile_graph = timed_model


def program_figures(clock: ChunkClock) -> dict:
    """The chunk's compiled XLA program: a digest of its optimised HLO without source locations
    (equal digests: the same machine code, whatever the source tree) and XLA's cost analysis
    (flops and bytes per chunk: figures that do not depend on the machine's load)."""
    import jax
    with jax.enable_x64(bool(getattr(clock.program, "x64", False))):
        compiled = clock.program.lower(*clock.arg_shapes).compile()
    text = "\n".join(line for line in compiled.as_text().splitlines()
                     if not re.match(r'\d+ (\{.*\}|".*")$', line))
    text = re.sub(r", metadata=\{[^}]*\}", "", text)
    cost = compiled.cost_analysis()
    cost = (cost[0] if isinstance(cost, (list, tuple)) else cost) or {}
    return {"digest": hashlib.sha1(text.encode()).hexdigest()[:12],
            "flops": cost.get("flops"), "bytes": cost.get("bytes accessed")}


def episodes_digest(lengths) -> str:
    """A short hash of every agent's episode lengths (equal digests: the same episodes)."""
    return hashlib.sha1(json.dumps([list(map(int, x)) for x in lengths]).encode()).hexdigest()[:12]


def timed_training(tree, graph, agents: int, env_steps: int, chunk: int, seed: int,
                   episodes: int | None = None) -> dict:
    """Train ``agents`` agents of ``graph`` with ``tree``'s trainer for ``env_steps`` environment
    steps (or until each finished ``episodes``); the raw times of :func:`run_figures`."""
    t0 = time.perf_counter()
    load, tr = import_trainer(tree)
    t_import = time.perf_counter()
    g = load(str(graph))
    clock = ChunkClock()
    clock.install(tr)
    t_start = time.perf_counter()
    lengths, info = tr.train(g, agents, episodes if episodes is not None else 10**9, seed,
                             chunk_env_steps=chunk, progress=False,
                             max_env_steps=None if episodes is not None else env_steps)
    t_end = time.perf_counter()
    per = int(info["model"].rnodes[tr.find_env(info["model"].graph)].comp
              .config["steps_per_env_step"])
    return {"import_s": t_import - t0, "start": t_start, "end": t_end, "calls": clock.calls,
            "agents": agents, "chunk": chunk, "steps_per_env_step": per,
            "env_steps": info["network_steps"] // per, "lengths": lengths,
            "episodes": sum(len(x) for x in lengths), "digest": episodes_digest(lengths),
            "trainer": tr.__file__, "wall_s": info["wall_s"], "clock": clock}


def run_figures(raw: dict) -> dict:
    """Set-up and steady figures of one timed run (``timed_training``'s dict):

    * set-up s: import + build (train() called until its first chunk starts) + compile (the
      first chunk's call less a steady chunk's median time: tracing and XLA compilation);
    * steady s: from the end of the first chunk to the end of training; agent-environment and
      network steps per second over it; host s: the part of it outside the chunk calls;
    * the fastest steady chunk, as agent-environment steps per second (the least disturbed by
      other programs on a shared machine)."""
    calls = raw["calls"]
    if len(calls) < 2:
        raise ValueError("a throughput run needs at least two chunks (raise --env-steps)")
    chunk_s = [b - a for a, b in calls[1:]]
    median_chunk = statistics.median(chunk_s)
    build = calls[0][0] - raw["start"]
    compile_s = max(calls[0][1] - calls[0][0] - median_chunk, 0.0)
    steady = raw["end"] - calls[0][1]
    steady_env = raw["chunk"] * len(chunk_s)
    agent_steps = raw["agents"] * steady_env / steady
    return {"import_s": raw["import_s"], "build_s": build, "compile_s": compile_s,
            "setup_s": raw["import_s"] + build + compile_s, "steady_s": steady,
            "agent_env_steps_per_s": agent_steps,
            "network_steps_per_s": agent_steps * raw["steps_per_env_step"],
            "chunk_ms": 1000 * median_chunk, "best_chunk_ms": 1000 * min(chunk_s),
            "best_agent_env_steps_per_s": raw["agents"] * raw["chunk"] / min(chunk_s),
            "host_s": steady - sum(chunk_s),
            "host_share": (steady - sum(chunk_s)) / steady}


def worker(spec: str) -> None:
    """``--worker JSON``: one timed run, its figures printed as one JSON line."""
    a = json.loads(spec)
    raw = timed_training(a["tree"], a["graph"], a["agents"], a["env_steps"], a["chunk"], a["seed"])
    out = run_figures(raw)
    out.update({k: raw[k] for k in ("episodes", "digest", "env_steps", "steps_per_env_step",
                                    "trainer")})
    out["env_seen"] = {k: os.environ.get(k) for k in a.get("env_keys", [])}
    if a.get("program"):
        out["program"] = program_figures(raw["clock"])
    print("RESULT " + json.dumps(out))


# --- the comparison (runs in the calling process) ------------------------------------------------
def parse_trees(text: str) -> dict[str, Path]:
    """``before=/tmp/spark-before,after=.`` -> {label: resolved folder}, in order."""
    trees = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        label, sep, folder = item.partition("=")
        if not sep or not label or not folder:
            raise ValueError(f"--trees: expected LABEL=FOLDER, got {item!r}")
        if label in trees:
            raise ValueError(f"--trees: label {label!r} given twice")
        trees[label] = Path(folder).expanduser().resolve()
    if not trees:
        raise ValueError("--trees: no tree given")
    return trees


def parse_env_variant(text: str, trees: dict) -> tuple[str, str, dict[str, str]]:
    """``[TREE:]LABEL=VAR=VAL[,VAR=VAL...]`` -> (label, tree label, {VAR: VAL}); the tree defaults
    to the last of ``trees``."""
    head, sep, assigns = text.partition("=")
    tree, _, label = head.rpartition(":")
    tree = tree or list(trees)[-1]
    if not sep or not label or not assigns:
        raise ValueError(f"--env-variant: expected [TREE:]LABEL=VAR=VAL[,VAR=VAL], got {text!r}")
    if tree not in trees:
        raise ValueError(f"--env-variant {text!r}: unknown tree {tree!r} "
                         f"(trees: {', '.join(trees)})")
    env = {}
    for item in assigns.split(","):
        var, eq, val = item.partition("=")
        if not eq or not var.strip():
            raise ValueError(f"--env-variant {text!r}: expected VAR=VAL, got {item!r}")
        env[var.strip()] = val
    return label, tree, env


def variants(trees: dict, env_variants: list[str]) -> list[dict]:
    """Every tree as it is, then every ``--env-variant``: [{label, tree, folder, env}]."""
    out = [{"label": t, "tree": t, "folder": f, "env": {}} for t, f in trees.items()]
    for text in env_variants:
        label, tree, env = parse_env_variant(text, trees)
        if label in {v["label"] for v in out}:
            raise ValueError(f"--env-variant: label {label!r} is already taken")
        out.append({"label": label, "tree": tree, "folder": trees[tree], "env": env})
    return out


def run_variant(v: dict, a, env_steps: int, program: bool = False) -> dict:
    """One run of variant ``v`` in a fresh process (``program``: also the compiled chunk's
    digest and cost, after the timing)."""
    spec = json.dumps({"tree": str(v["folder"]), "graph": str(a.graph), "agents": a.agents,
                       "env_steps": env_steps, "chunk": a.chunk, "seed": a.seed,
                       "env_keys": sorted(v["env"]), "program": program})
    env = {**os.environ, **v["env"]}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", spec],
                          cwd=v["folder"], env=env, capture_output=True, text=True,
                          timeout=a.timeout)
    lines = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"variant {v['label']} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    out = json.loads(lines[-1][len("RESULT "):])
    if out["env_seen"] != v["env"]:
        raise RuntimeError(f"variant {v['label']}: the worker saw {out['env_seen']}, "
                           f"not {v['env']}")
    return out


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(vs: list[dict], runs: dict, a, load0: str, programs: dict) -> None:
    first = next(iter(runs.values()))[0]
    print(f"Cartpole trainer throughput: {Path(a.graph).name}, {a.agents} agents x "
          f"{a.env_steps:,} environment steps (chunks of {a.chunk}; the first, with the "
          f"compilation, is set-up), seeds {a.seed}-{a.seed + a.agents - 1}; medians of "
          f"{a.repeats} alternating runs, each a fresh process")
    print(f"machine: {machine()}, affinity {sorted(os.sched_getaffinity(0))}, "
          f"nice {os.nice(0)}; load average {load0} at the start, {load_average()} at the end")
    print(f"steady part: {first['env_steps'] - a.chunk:,} environment steps per agent; "
          f"agent-network steps/s = agent-env steps/s x {first['steps_per_env_step']} network "
          f"steps per environment step (the vmapped program runs 1/{a.agents} of that)\n")
    print("| variant | env | set-up s (import + build + compile) | steady s "
          "| agent-env steps/s | agent-network steps/s | chunk ms "
          "| fastest chunk: agent-env steps/s | host between chunks | episodes (digest) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for v in vs:
        rs = runs[v["label"]]
        env = " ".join(f"{k}={x}" for k, x in v["env"].items()) or "-"
        print(f"| {v['label']} | {env} | {median_of(rs, 'setup_s'):.2f} "
              f"({median_of(rs, 'import_s'):.2f} + {median_of(rs, 'build_s'):.2f} + "
              f"{median_of(rs, 'compile_s'):.2f}) | {median_of(rs, 'steady_s'):.2f} | "
              f"{median_of(rs, 'agent_env_steps_per_s'):,.0f} | "
              f"{median_of(rs, 'network_steps_per_s'):,.0f} | {median_of(rs, 'chunk_ms'):.0f} | "
              f"{median_of(rs, 'best_agent_env_steps_per_s'):,.0f} | "
              f"{100 * median_of(rs, 'host_share'):.1f} % | {rs[0]['episodes']} "
              f"({rs[0]['digest']}) |")
    print("\nall runs, agent-env steps/s (fastest chunk's; set-up s):")
    for v in vs:
        print(f"  {v['label']:<12} " + "  ".join(
            f"{r['agent_env_steps_per_s']:,.0f} ({r['best_agent_env_steps_per_s']:,.0f}; "
            f"{r['setup_s']:.1f})" for r in runs[v["label"]]))
    print("\ncompiled chunk (a digest of the optimised HLO without source locations; XLA's cost "
          "analysis):")
    for v in vs:
        p = programs[v["label"]]
        print(f"  {v['label']:<12} digest {p['digest']}, {p['flops'] or 0:,.0f} flops, "
              f"{p['bytes'] or 0:,.0f} bytes accessed (a loop's body counted once)")
    same = len({programs[v["label"]]["digest"] for v in vs}) == 1
    print("the same compiled chunk in every variant: " + ("yes" if same else "no"))
    digests = {r["digest"] for rs in runs.values() for r in rs}
    print("episodes identical in every run of every variant: "
          + ("yes" if len(digests) == 1 else f"no ({len(digests)} different)"))
    if len(vs) > 1:
        for key, what in (("agent_env_steps_per_s", "steady"),
                          ("best_agent_env_steps_per_s", "fastest chunk")):
            base = median_of(runs[vs[0]["label"]], key)
            print(f"throughput against {vs[0]['label']} ({what}): " + ", ".join(
                f"{v['label']} {median_of(runs[v['label']], key) / base:.2f}x" for v in vs[1:]))


def throughput(a) -> None:
    vs = variants(parse_trees(a.trees or f"this={ROOT}"), a.env_variant)
    load0 = load_average()
    programs = {}
    if not a.no_warmup:
        for v in vs:
            programs[v["label"]] = run_variant(v, a, 2 * a.chunk, program=True)["program"]
    runs = {v["label"]: [] for v in vs}
    for r in range(a.repeats):
        for v in (vs if r % 2 == 0 else vs[::-1]):
            runs[v["label"]].append(run_variant(v, a, a.env_steps,
                                                program=v["label"] not in programs))
            programs.setdefault(v["label"], runs[v["label"]][-1].get("program"))
            print(f"  round {r + 1}, {v['label']}: "
                  f"{runs[v['label']][-1]['agent_env_steps_per_s']:,.0f} agent-env steps/s",
                  file=sys.stderr, flush=True)
    report(vs, runs, a, load0, programs)


# --- the learning bar (this tree, in this process) -----------------------------------------------
def bar(a) -> None:
    load0 = load_average()
    raw = timed_training(ROOT, a.graph, a.agents, 0, a.chunk, a.seed, episodes=a.episodes)
    _, tr = import_trainer(ROOT)   # (imported already: the timed import was the first)
    wall = raw["end"] - raw["start"]
    s = tr.summarize(raw["lengths"], list(range(a.seed, a.seed + a.agents)), a.episodes, wall)
    print(f"machine: {machine()}, affinity {sorted(os.sched_getaffinity(0))}; "
          f"load average {load0} at the start, {load_average()} at the end")
    print(f"seeds {a.seed}-{a.seed + a.agents - 1}: {s['agents_solved']}/{a.agents} solved, "
          f"median solve episode {s['median_solve_episode']}, wall {wall:.1f} s "
          f"(model build and compilation included; the trainer's own timer, which spark train "
          f"prints, {raw['wall_s']:.1f} s), "
          f"{raw['env_steps'] * raw['steps_per_env_step']} network steps per agent")
    print("solve episode per seed:", " ".join(f"{k}:{v if v is not None else '-'}"
                                               for k, v in s["solved_episode"].items()))
    if len(raw["clock"].calls) < 2:
        print("throughput: one chunk only (set-up and steady part cannot be told apart)")
        return
    f = run_figures(raw)
    print(f"set-up {f['setup_s']:.2f} s (import {f['import_s']:.2f}, build {f['build_s']:.2f}, "
          f"compile {f['compile_s']:.2f}); steady {f['steady_s']:.2f} s: "
          f"{f['agent_env_steps_per_s']:,.0f} agent-environment steps/s, "
          f"{f['network_steps_per_s']:,.0f} agent-network steps/s, chunk {f['chunk_ms']:.0f} ms, "
          f"host work between chunks {100 * f['host_share']:.1f} %")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=25)
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--graph", default=str(GRAPH))
    ap.add_argument("--chunk", type=int, default=500, help="environment steps per chunk")
    ap.add_argument("--throughput", action="store_true",
                    help="compare trees / environment variants at a fixed number of steps")
    ap.add_argument("--env-steps", type=int, default=10000,
                    help="environment steps per agent and run (--throughput)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--trees", default="", help="LABEL=FOLDER,... (default: this tree)")
    ap.add_argument("--env-variant", action="append", default=[],
                    metavar="[TREE:]LABEL=VAR=VAL[,VAR=VAL]",
                    help="a variant running TREE (default: the last tree) with these "
                         "environment variables, e.g. native=SPARK_NATIVE=1")
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        worker(a.worker)
    elif a.throughput:
        a.graph = str(Path(a.graph).resolve())
        throughput(a)
    else:
        bar(a)


if __name__ == "__main__":
    main()
