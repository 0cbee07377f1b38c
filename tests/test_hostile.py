"""The hostile corpus (tests/hostile, written by tests/hostile/make_corpus.py): broken and hostile
graph files are refused cleanly by ``spark validate`` and ``spark run``: exit status 1, no
traceback, a message naming the node, key or parameter, within 30 s and 2 GB each (the
subprocess limits its own address space to 2 GB with RLIMIT_AS before anything else, so a file
that made Spark allocate more would fail with an error instead of passing).

``spark validate`` runs once for all files (one process: the JAX import is paid once); the
sample for ``spark run`` goes through the same command-line entry point (engine.cli.main) in one
driver process that times each file and turns anything escaping it into a failure.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "hostile"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text())
LIMIT_AS = 2 * 2**30
PER_FILE_S = 30.0


# first thing in the child (no preexec_fn: forking this JAX-threaded process is unsafe)
LIMIT = (f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({LIMIT_AS}, {LIMIT_AS}))\n")
SPARK = LIMIT + "import sys\nfrom spark_snn.engine.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def _env():
    env = dict(os.environ)
    env.pop("SPARK_ALLOW_IMPORT", None)
    env.pop("SPARK_MEMORY_CHECK", None)
    return env


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, str]:
    """Files too big for the repository, made here: name -> fragment their refusal names."""
    d = tmp_path_factory.mktemp("hostile_big")
    huge = d / "huge_file.json"
    with open(huge, "wb") as fh:  # 17 MiB, sparse: refused by its size before it is read
        fh.write(b'{"format": "spark-graph", "version": 2, "meta": {"pad": "')
        fh.truncate(17 * 2**20)
    many = d / "long_list_param.json"
    many.write_text(json.dumps({
        "format": "spark-graph", "version": 2,
        "nodes": [{"id": "pc", "type": "place_cell_encoder",
                   "params": {"low": ["x"] + [0.0] * 500_000, "high": [1.0]}}]}))
    (d / "a_folder.json").mkdir()
    return {str(huge): "too large", str(many): "node 'pc', parameter 'low'",
            str(d / "a_folder.json"): "cannot read the file"}


def _blocks(stderr: str, paths: list[str]) -> dict[str, str]:
    """stderr of ``spark validate`` split into each file's report."""
    starts = sorted((stderr.find(f"{p}:"), p) for p in paths if stderr.find(f"{p}:") >= 0)
    out = {}
    for k, (i, p) in enumerate(starts):
        out[p] = stderr[i:starts[k + 1][0] if k + 1 < len(starts) else len(stderr)]
    return out


def test_spark_validate_refuses_every_hostile_file(generated):
    files = {str(HOSTILE / name): frag for name, frag in EXPECTED["files"].items()}
    files.update(generated)
    assert len(files) >= 100
    paths = sorted(files)
    out = subprocess.run([sys.executable, "-c", SPARK, "validate", *paths], cwd=ROOT,
                         capture_output=True, text=True, timeout=PER_FILE_S * 4, env=_env())
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    assert out.stdout == ""  # no file was found valid
    blocks = _blocks(out.stderr, paths)
    missing = [p for p in paths if p not in blocks or files[p] not in blocks[p]]
    assert not missing, "\n".join(f"{p}: wanted {files[p]!r}, got {blocks.get(p, '')[:300]!r}"
                                  for p in missing)


DRIVER = r"""
import contextlib, io, json, sys, time, traceback
from spark_snn.engine.cli import main
out = {}
for path in sys.argv[1:]:
    err = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(["run", path, "--steps", "100"])
        except SystemExit as exc:
            rc = exc.code
        except BaseException:
            rc, _ = "escaped", err.write(traceback.format_exc())
    out[path] = {"rc": rc, "stderr": err.getvalue(), "s": time.perf_counter() - t0}
print(json.dumps(out))
"""


def test_spark_run_refuses_a_sample(generated):
    files = {str(HOSTILE / name): EXPECTED["files"][name] for name in EXPECTED["run_sample"]}
    files.update(generated)
    out = subprocess.run([sys.executable, "-c", LIMIT + DRIVER, *files], cwd=ROOT,
                         capture_output=True, text=True, timeout=PER_FILE_S * len(files),
                         env=_env())
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    for path, frag in files.items():
        r = got[path]
        assert r["rc"] == 1, (path, r)
        assert "Traceback" not in r["stderr"], (path, r["stderr"][-2000:])
        assert frag in r["stderr"], (path, frag, r["stderr"][:500])
        assert r["s"] < PER_FILE_S, (path, r["s"])
