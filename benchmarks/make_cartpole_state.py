"""Write resources/states/cartpole_agent.npz: a trained agent of resources/examples/cartpole.json.

    .venv/bin/python benchmarks/make_cartpole_state.py [--agents 4] [--episodes 60] [--seed 0]

Trains ``--agents`` agents with ``spark train`` (the same code: engine.train), keeps the agent
whose last 10 episodes were longest (the lowest seed among equals), copies its final state to
``resources/states/cartpole_agent.npz`` and then measures what it is for: the episode lengths
of the saved agent loaded into a fresh Simulation of the example, against the untrained agent
of the file's own seed (both run for ``--check-steps`` network steps). The first episode of the
loaded agent continues the one that was running when training stopped; its length counts the
steps before the save too, so it is reported apart.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GRAPH = ROOT / "resources" / "examples" / "cartpole.json"
TARGET = ROOT / "resources" / "states" / "cartpole_agent.npz"


def episode_lengths(sim, steps: int) -> list[int]:
    """Lengths of the episodes that end within the next ``steps`` steps of ``sim``."""
    recs = sim.advance(steps, 2000)
    done = np.asarray(recs["cart.done"])[:, 0] > 0
    return [int(v) for v in np.asarray(recs["cart.episode_length"])[:, 0][done]]


def check(state: Path | None, steps: int) -> list[int]:
    from spark_snn.engine import Simulation, load
    sim = Simulation(load(GRAPH), record=("cart.done", "cart.episode_length"))
    if state is not None:
        sim.load_state(state)
    return episode_lengths(sim, steps)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=4)
    ap.add_argument("--episodes", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check-steps", type=int, default=100_000,
                    help="network steps run to measure episode lengths (100,000: 5,000 "
                         "environment steps, at least 10 episodes of the 500-step limit)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "spark_snn.engine.cli", "train", str(GRAPH),
                        "--agents", str(args.agents), "--episodes", str(args.episodes),
                        "--seed", str(args.seed), "--out", tmp, "--quiet"], check=True, cwd=ROOT)
        summary = json.loads((Path(tmp) / "summary.json").read_text())
        last10 = summary["mean_length_last_10"]
        best = max(range(len(last10)), key=lambda a: (last10[a], -a))
        seed = summary["seeds"][best]
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / "states" / f"agent{best}_seed{seed}.npz", TARGET)
    print(f"agent {best} (seed {seed}), mean of its last 10 training episodes "
          f"{last10[best]:g} -> {TARGET.relative_to(ROOT)}")
    loaded = check(TARGET, args.check_steps)
    fresh = check(None, args.check_steps)
    print(f"loaded agent, {args.check_steps:,} steps: the episode running at the save ended at "
          f"{loaded[0] if loaded else '-'}; then {len(loaded) - 1} episodes: {loaded[1:]}")
    print(f"untrained agent (the file's seed), same steps: {len(fresh)} episodes, first 10: "
          f"{fresh[:10]}, mean {np.mean(fresh) if fresh else 0:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
