"""JAX's persistent compilation cache as Spark sets it up (engine/jaxcache.py): where it lives,
how it is turned off, how it is trimmed, and that a program loaded from it gives exactly the
spikes that compiling it afresh gives (each run in a fresh process, as a user's sessions are)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spark_snn.engine import jaxcache

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys
import jax
events = []
jax.monitoring.register_event_listener(lambda name, **kw: events.append(name))
from spark_snn import engine
from spark_snn.engine import jaxcache
sim = engine.Simulation(engine.load(sys.argv[1]), record=["pool.spikes"])
rec = sim.advance(1000)
spikes = rec["pool.spikes"]
print(json.dumps({"dir": jax.config.jax_compilation_cache_dir,
                  "hits": events.count("/jax/compilation_cache/cache_hits"),
                  "misses": events.count("/jax/compilation_cache/cache_misses"),
                  "spikes": [[int(t), int(i)] for t, i in zip(*spikes.nonzero())]}))
"""


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPARK_CACHE_DIR", "SPARK_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    env.update(extra)
    return env


def _run(env) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD,
                          str(ROOT / "resources" / "examples" / "minimal.json")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_cached_program_gives_the_same_spikes_as_a_fresh_compile(tmp_path):
    cache = tmp_path / "cache"
    off = _run(_env(SPARK_JAX_CACHE="0"))
    first = _run(_env(SPARK_CACHE_DIR=str(cache)))
    second = _run(_env(SPARK_CACHE_DIR=str(cache)))
    assert off["dir"] is None and off["hits"] == 0
    assert first["dir"] == str(cache) and first["misses"] > 0 and first["hits"] == 0
    assert any(cache.iterdir())
    # the second process compiles nothing its predecessor compiled
    assert second["hits"] == first["misses"] and second["misses"] == 0
    assert len(off["spikes"]) > 150
    assert second["spikes"] == first["spikes"] == off["spikes"]


def test_where_the_cache_lives(monkeypatch, tmp_path):
    for k in ("SPARK_CACHE_DIR", "SPARK_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR",
              "XDG_CACHE_HOME"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert jaxcache.cache_dir() == tmp_path / ".cache" / "spark" / "jax"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert jaxcache.cache_dir() == tmp_path / "xdg" / "spark" / "jax"
    monkeypatch.setenv("SPARK_CACHE_DIR", str(tmp_path / "mine"))
    assert jaxcache.cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "jax_own"))
    assert jaxcache.cache_dir() is None          # the user's own JAX setting wins
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR")
    monkeypatch.setenv("SPARK_JAX_CACHE", "0")
    assert jaxcache.cache_dir() is None


def test_a_folder_that_cannot_be_made_leaves_jax_alone(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SPARK_CACHE_DIR", str(blocker / "jax"))
    monkeypatch.delenv("SPARK_JAX_CACHE", raising=False)
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)

    class Config:
        def __init__(self):
            self.set = {}

        def update(self, k, v):
            self.set[k] = v

    class FakeJax:
        config = Config()

    assert jaxcache.configure(FakeJax) is None and FakeJax.config.set == {}


def test_trim_drops_the_least_recently_used_files_first(tmp_path):
    for i in range(5):                 # file i used at time 1000 + i, 100 bytes each
        f = tmp_path / f"entry{i}-cache"
        f.write_bytes(b"x" * 100)
        os.utime(f, (1000 + i, 1000 + i))
    assert jaxcache.trim(tmp_path, 1000) == 0
    assert jaxcache.trim(tmp_path, 250) == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry3-cache", "entry4-cache"]


@pytest.mark.parametrize("bad", ["", "1"])
def test_only_zero_turns_it_off(monkeypatch, tmp_path, bad):
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.setenv("SPARK_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SPARK_JAX_CACHE", bad)
    assert jaxcache.cache_dir() == tmp_path
