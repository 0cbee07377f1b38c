"""The ``spark`` command line: validate, run, train, app.

    spark validate FILE...            exit 0 when every file is valid, else list every problem, exit 1
    spark run FILE --steps N [--chunk K] [--seed S] [--record node.port ...] [--out run.npz]
              [--dtype float64] [--json] [--load-state S] [--save-state S] [--until COND ...]
              [--partition N] [--coordinator HOST:PORT --num-processes P --process-id I]
    spark sweep FILE --param node.param=lo:hi:n ... --steps N [--out DIR] [--measure node.port]
    spark train FILE --agents N --episodes E [--seed S] [--out DIR]
    spark flatten FILE -o OUT         write FILE without composite components (dotted ids)
    spark export-nir FILE -o OUT.nir  write FILE as a NIR graph; list what NIR cannot express
    spark import-nir IN.nir -o OUT.json [--dt MS] [--time-unit s|ms]
    spark app [FILE] [--run]          the desktop app (the only command that loads Qt)

Every command takes ``--allow-import MODULE`` (repeatable): the user's consent for a Gymnasium
environment written "MODULE:Env-v0" to import MODULE; a graph file alone never imports anything.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_validate(args) -> int:
    from spark_snn import engine

    status = EXIT_OK
    for path in args.files:
        try:
            graph = engine.load(path)
        except engine.GraphError as exc:
            _err(str(exc))
            status = EXIT_PROBLEMS
            continue
        problems = engine.validate(graph)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            status = EXIT_PROBLEMS
            _err(str(engine.GraphError(problems, path)))
        else:
            print(f"{path}: valid ({len(graph.nodes)} nodes, {len(graph.edges)} edges)")
    return status


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        frac = done / total if total else 1.0
        bar = "#" * int(30 * frac)
        rate = done / max(now - self.t0, 1e-9)
        eta = (total - done) / rate if rate > 0 else 0.0
        sys.stderr.write(f"\r[{bar:<30}] {100 * frac:5.1f}%  {done}/{total} steps  "
                         f"{rate:,.0f} steps/s  ETA {eta:5.1f} s ")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_run(args) -> int:
    import numpy as np

    from spark_snn import engine
    from spark_snn.components.base import SPIKES
    from spark_snn.engine import memory
    from spark_snn.engine import partition_sim
    from spark_snn.engine.breakpoints import ConditionError
    from spark_snn.engine.state import StateError

    parted = partition_sim.wanted(args)
    if parted:
        problem = partition_sim.start(args)
        if problem:
            _err(problem)
            return EXIT_USAGE
    try:
        graph = engine.load(args.file)
        if args.seed is not None:
            graph.settings["seed"] = args.seed
        analysis = engine.analyze(graph)
        if analysis.errors:
            raise engine.GraphError(analysis.errors, args.file)
        # the network with what --record will hold after --steps, before anything is built
        too_big = memory.problems(
            engine.estimate_memory(analysis, graph, args.dtype, args.record, args.steps),
            "this run")
        if too_big:
            raise engine.GraphError(too_big, args.file)
        flat = analysis.flat.graph if analysis.flat is not None else graph
        pools = [f"{nid}.spikes" for nid, node in flat.nodes.items()
                 if "spikes" in analysis.nodes[nid].outputs
                 and analysis.nodes[nid].outputs["spikes"].kind == SPIKES
                 and engine.registry().get(node.type).category == "Neurons"]
        t0 = time.perf_counter()
        if parted:
            sim = partition_sim.PartitionedSimulation(
                graph, args.partition, dtype=args.dtype, record=args.record, count=pools,
                chunk=args.chunk, source=args.file)
        else:
            sim = engine.Simulation(graph, dtype=args.dtype, record=args.record, count=pools,
                                    chunk=args.chunk, source=args.file, breakpoints=args.until)
        loaded = sim.load_state(args.load_state) if args.load_state else None
        if args.steps >= args.chunk:
            sim.compile(args.chunk)
        compile_t = time.perf_counter() - t0
        if loaded is not None and not args.json:
            print(f"loaded {loaded}")
        prog = Progress(args.steps, sys.stderr.isatty() and not args.json)
        t_start = sim.t
        t1 = time.perf_counter()
        recs = sim.advance(args.steps, chunk=args.chunk, progress=prog)
        wall = time.perf_counter() - t1
        ran = sim.t - t_start
        if args.save_state:
            sim.save_state(args.save_state, meta={"graph": str(args.file)})
    except (engine.GraphError, StateError, ConditionError) as exc:
        _err(str(exc))
        return EXIT_PROBLEMS
    except engine.SimulationError as exc:
        _err(f"{args.file}: run failed: {exc}")
        return EXIT_PROBLEMS
    except OSError as exc:
        _err(f"{args.save_state}: cannot write: {exc.strerror or exc}")
        return EXIT_PROBLEMS
    seconds = ran * sim.model.dt / 1000.0
    rates = {name.rsplit(".", 1)[0]: (float(sim.totals[name].sum()) / sim.totals[name].size
                                      / seconds if seconds > 0 else 0.0)
             for name in pools}
    summary = {
        "file": args.file, "steps": ran, "chunk": args.chunk, "dt_ms": sim.model.dt,
        "simulated_ms": ran * sim.model.dt, "seed": sim.seed, "dtype": sim.model.dtype_name,
        "t": sim.t, "time_ms": sim.time_ms,
        "setup_s": round(compile_t, 3), "wall_s": round(wall, 3),
        "steps_per_s": round(ran / wall, 1) if wall > 0 else None,
        "rates_hz": {k: round(v, 3) for k, v in rates.items()},
        "spikes": {k.rsplit(".", 1)[0]: int(v.sum()) for k, v in sim.totals.items()},
    }
    if loaded is not None:
        summary["loaded_state"] = {"path": loaded.path, "t": loaded.t,
                                   "param_differences": loaded.param_differences}
    if args.until:
        hit = sim.hit
        summary["stopped"] = None if hit is None else {
            "t": hit.t, "time_ms": hit.time_ms, "conditions": [c.text for c in hit.conditions],
            "node": hit.node}
    if args.save_state:
        summary["saved_state"] = args.save_state
    if parted:
        summary.update(partition_sim.summary(sim))
        if summary["process"] != 0:   # process 0 reports and writes for all
            return EXIT_OK
    if args.out:
        arrays = {k.replace(".", "__"): v for k, v in recs.items()}
        np.savez_compressed(args.out, **arrays)
        summary["out"] = args.out
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{args.file}: {ran} steps of {sim.model.dt:g} ms "
              f"({summary['simulated_ms']:g} ms simulated, now t = {sim.time_ms:g} ms), "
              f"seed {sim.seed}, {sim.model.dtype_name}")
        if args.until:
            print(f"  {sim.hit}" if sim.hit is not None else
                  f"  no breakpoint condition became true in {args.steps} steps")
        if ran:
            print(f"  wall time {wall:.3f} s ({summary['steps_per_s']:,.0f} steps/s, chunk "
                  f"{args.chunk}); set-up and compilation {compile_t:.2f} s")
        if parted:
            print(f"  {partition_sim.describe(summary)}")
        for k, v in rates.items():
            print(f"  {k:<24} {v:9.2f} Hz  ({summary['spikes'][k]} spikes)")
        if args.out:
            print(f"  recorded {', '.join(args.record) or 'nothing'} -> {args.out}")
        if args.save_state:
            print(f"  state at step {sim.t} saved -> {args.save_state}")
    return EXIT_OK


def cmd_sweep(args) -> int:
    from spark_snn import engine
    from spark_snn.engine.sweep import SweepCancelled, parse_param, sweep

    try:
        params = [parse_param(p) for p in args.param]
    except ValueError as exc:
        _err(f"--param {exc}")
        return EXIT_USAGE
    n = 1
    for p in params:
        n *= len(p.values)
    prog = Progress(n * args.steps, sys.stderr.isatty() and not args.json)
    try:
        graph = engine.load(args.file)
        result = sweep(graph, params, args.steps, chunk=args.chunk, measures=args.measure,
                       dtype=args.dtype, seed=args.seed, batch=args.batch,
                       progress=prog)
    except engine.GraphError as exc:
        _err(str(exc if exc.source else engine.GraphError(exc.problems, args.file)))
        return EXIT_PROBLEMS
    except (ValueError, SweepCancelled) as exc:
        _err(f"{args.file}: {exc}")
        return EXIT_PROBLEMS
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result.write_csv(out / "sweep.csv")
    meta = {"file": args.file, "steps": args.steps, "dt_ms": result.dt,
            "combinations": int(result.grid.shape[0]), "params": {
                p.label: [float(v) for v in p.values] for p in params},
            "measures": list(result.measures), "wall_s": round(result.wall_s, 3),
            "first_chunk_s": round(result.compile_s, 3), "batch": result.batch,
            "devices": result.devices, "failed_rows": result.failed}
    (out / "sweep.json").write_text(json.dumps(meta, indent=2) + "\n")
    if args.json:
        print(json.dumps(meta))
        return EXIT_OK
    print(f"{args.file}: {meta['combinations']} combinations x {args.steps} steps in one "
          f"program ({result.batch} per batch, {result.devices} device(s)): "
          f"{result.wall_s:.2f} s (first chunk with compilation {result.compile_s:.2f} s)")
    cols = result.columns()
    shown = cols[:len(params) + 4]
    print("  " + "  ".join(f"{c:>16}" for c in shown) + ("  ..." if len(cols) > len(shown)
                                                          else ""))
    for i in range(min(result.grid.shape[0], 12)):
        row = [f"{result.grid[i, j]:16.6g}" for j in range(len(params))]
        row += [f"{result.measures[c][i]:16.6g}" for c in shown[len(params):]]
        print("  " + "  ".join(row))
    if result.grid.shape[0] > 12:
        print(f"  ... ({result.grid.shape[0] - 12} more rows)")
    if result.failed:
        print(f"  {len(result.failed)} combination(s) became NaN or infinite (measures NaN)")
    print(f"  -> {out / 'sweep.csv'}")
    return EXIT_OK


def cmd_flatten(args) -> int:
    from spark_snn import engine
    from spark_snn.engine.composite import flatten

    try:
        graph = engine.load(args.file)
        analysis = engine.analyze(graph)
        if analysis.errors:
            raise engine.GraphError(analysis.errors, args.file)
        flat = flatten(graph)
        engine.save(flat, args.out)
    except engine.GraphError as exc:
        _err(str(exc))
        return EXIT_PROBLEMS
    except OSError as exc:
        _err(f"{args.out}: cannot write: {exc.strerror or exc}")
        return EXIT_PROBLEMS
    n = len(analysis.flat.instances) if analysis.flat is not None else 0
    print(f"{args.out}: {len(flat.nodes)} nodes, {len(flat.edges)} edges "
          f"({n} component instance{'s' if n != 1 else ''} expanded)")
    return EXIT_OK


def cmd_export_nir(args) -> int:
    from spark_snn import engine
    from spark_snn.engine.nir_io import NIRError, to_nir, write_nir

    try:
        graph = engine.load(args.file)
        nir_graph, warnings = to_nir(graph, source=args.file)
        write_nir(args.out, nir_graph)
    except (engine.GraphError, NIRError) as exc:
        _err(str(exc))
        return EXIT_PROBLEMS
    except OSError as exc:
        _err(f"{args.out}: cannot write: {exc.strerror or exc}")
        return EXIT_PROBLEMS
    for w in warnings:
        _err(f"warning: {w}")
    n = len(nir_graph.nodes)
    print(f"{args.out}: {n} NIR nodes, {len(nir_graph.edges)} edges"
          + (f"; {len(warnings)} warning{'s' if len(warnings) != 1 else ''} (above)"
             if warnings else ""))
    return EXIT_OK


def cmd_import_nir(args) -> int:
    from spark_snn import engine
    from spark_snn.engine.nir_io import NIRError, from_nir, read_nir

    try:
        graph, notes = from_nir(read_nir(args.file), dt=args.dt, time_unit=args.time_unit,
                                source=args.file)
        engine.save(graph, args.out)
    except NIRError as exc:
        _err(str(exc))
        return EXIT_PROBLEMS
    except OSError as exc:
        _err(f"{args.out}: cannot write: {exc.strerror or exc}")
        return EXIT_PROBLEMS
    for n in notes:
        _err(f"note: {n}")
    print(f"{args.out}: {len(graph.nodes)} nodes, {len(graph.edges)} edges, dt "
          f"{graph.settings['dt']:g} ms")
    return EXIT_OK


def cmd_app(args) -> int:
    # The only place the engine's CLI reaches up into the app layer: loaded on demand, so
    # headless commands never import Qt.
    import importlib

    app_main = importlib.import_module("spark_snn.app.main")
    argv = ([args.file] if args.file else []) + (["--run"] if args.run else [])
    for module in args.allow_import:
        argv += ["--allow-import", module]
    return app_main.main(argv)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="spark", description="Spark spiking neural networks")
    sub = ap.add_subparsers(dest="command", required=True)
    # consent to imports a graph file asks for (components/gym_env.py): never the file's say-so
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--allow-import", action="append", default=[], metavar="MODULE",
                        help="let a Gymnasium environment written 'MODULE:Env-v0' import "
                             "MODULE (repeat for several; also SPARK_ALLOW_IMPORT=a,b)")

    v = sub.add_parser("validate", help="check graph files; list every problem",
                       parents=[common])
    v.add_argument("files", nargs="+")
    v.set_defaults(fn=cmd_validate)

    r = sub.add_parser("run", help="run a graph headless", parents=[common])
    r.add_argument("file")
    r.add_argument("--steps", type=int, required=True, help="number of time steps")
    r.add_argument("--chunk", type=int, default=1000, help="steps per compiled chunk (K)")
    r.add_argument("--seed", type=int, default=None, help="override the graph's seed")
    r.add_argument("--record", nargs="+", default=[], metavar="NODE.PORT",
                   help="ports to record every step")
    r.add_argument("--out", default=None, help="write recordings to this .npz")
    r.add_argument("--dtype", choices=("float32", "float64"), default=None)
    r.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    r.add_argument("--load-state", default=None, metavar="STATE",
                   help="continue from a saved state (of this graph's structure)")
    r.add_argument("--save-state", default=None, metavar="STATE",
                   help="write the complete state after the run (.npz)")
    r.add_argument("--until", action="append", default=[], metavar="CONDITION",
                   help="stop at the step where the condition becomes true, e.g. "
                        "'exc.rate > 50', 'out.v crosses -50', 'episode', 'nan', 't >= 120 ms' "
                        "(repeatable: the first to become true stops the run)")
    r.add_argument("--partition", type=int, default=None, metavar="N",
                   help="split the network's neurons over N devices (default with "
                        "--coordinator or --distributed: every device of every process)")
    from spark_snn.engine import distributed as _distributed
    _distributed.add_arguments(r)
    r.set_defaults(fn=cmd_run)

    t = sub.add_parser("train", help="train N agents in parallel (cartpole, gym_env)",
                       parents=[common])
    try:
        from spark_snn.engine import train as _train
        _train.add_arguments(t)
        t.set_defaults(fn=_train.run)
    except ImportError:  # pragma: no cover - until the trainer exists
        t.set_defaults(fn=lambda a: (_err("training is not available"), EXIT_USAGE)[1])

    w = sub.add_parser("sweep", help="run every combination of live parameters in one "
                                     "compiled program", parents=[common])
    w.add_argument("file")
    w.add_argument("--param", action="append", required=True, metavar="NODE.PARAM=LO:HI:N",
                   help="a live parameter and its values (lo:hi:n, or v1,v2,...); repeatable")
    w.add_argument("--steps", type=int, required=True, help="steps per combination")
    w.add_argument("--out", required=True, help="folder for sweep.csv and sweep.json")
    w.add_argument("--measure", action="append", default=[], metavar="NODE.PORT",
                   help="also measure the mean of this output (repeatable)")
    w.add_argument("--chunk", type=int, default=1000, help="steps per compiled chunk")
    w.add_argument("--batch", type=int, default=None,
                   help="combinations per batch (default: as many as 512 MiB of state allow)")
    w.add_argument("--seed", type=int, default=None, help="override the graph's seed")
    w.add_argument("--dtype", choices=("float32", "float64"), default=None)
    w.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    w.set_defaults(fn=cmd_sweep)

    f = sub.add_parser("flatten", help="write a graph without composite components",
                       parents=[common])
    f.add_argument("file")
    f.add_argument("-o", "--out", required=True, help="the flat graph file to write")
    f.set_defaults(fn=cmd_flatten)

    x = sub.add_parser("export-nir", help="write a graph as NIR (HDF5); list what NIR cannot "
                                          "express", parents=[common])
    x.add_argument("file")
    x.add_argument("-o", "--out", required=True, help="the .nir file to write")
    x.set_defaults(fn=cmd_export_nir)

    m = sub.add_parser("import-nir", help="read a NIR file into a Spark graph file",
                       parents=[common])
    m.add_argument("file")
    m.add_argument("-o", "--out", required=True, help="the graph file (.json) to write")
    m.add_argument("--dt", type=float, default=None, metavar="MS",
                   help="time step in ms (default: the file's own, else 0.1)")
    m.add_argument("--time-unit", choices=("s", "ms"), default=None,
                   help="unit of the file's time constants and delays (default: the file's "
                        "metadata, else read from their magnitudes where unambiguous)")
    m.set_defaults(fn=cmd_import_nir)

    a = sub.add_parser("app", help="open the desktop app", parents=[common])
    a.add_argument("file", nargs="?", default=None)
    a.add_argument("--run", action="store_true", help="start running at once")
    a.set_defaults(fn=cmd_app)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "steps", 1) is not None and getattr(args, "steps", 1) < 0:
        _err("--steps must be >= 0")
        return EXIT_USAGE
    if getattr(args, "chunk", 1) < 1:
        _err("--chunk must be >= 1")
        return EXIT_USAGE
    if (args.command in ("run", "flatten", "export-nir", "import-nir") and args.out
            and not Path(args.out).parent.exists()):
        _err(f"--out: folder {Path(args.out).parent} does not exist")
        return EXIT_USAGE
    if getattr(args, "allow_import", None):
        from spark_snn.components.gym_env import allow_import
        allow_import(*args.allow_import)
    save = getattr(args, "save_state", None)
    if save and not Path(save).parent.exists():
        _err(f"--save-state: folder {Path(save).parent} does not exist")
        return EXIT_USAGE
    return int(args.fn(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
