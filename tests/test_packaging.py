"""The installed package: a wheel built from this tree holds one import package, ``spark_snn``,
with the examples and the style sheet inside, and works from a folder outside the source tree.

The wheel is built from a copy of the sources (so no build/ or egg-info lands in the tree) with
this environment's setuptools (the test extra brings one that builds wheels by itself), and
installed with ``pip install --target`` into a temporary folder. The installed copy is then run
by ``python -S`` with only that folder and this environment's site-packages on the path: -S skips
the site-packages' .pth files, so an editable install of the source tree cannot answer imports
in its place.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from spark_snn.engine.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("spark_snn", "app", "engine", "components")
# what a build needs besides the package folders; everything else at the top stays behind
NOT_SHIPPED = {"tests", "benchmarks", "build", "dist", "out", "train_out"}
EXAMPLE = "minimal.json"
STEPS = 300


def _copy_sources(dst: Path) -> None:
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for p in ROOT.iterdir():
        if p.name.startswith(".") or p.name in NOT_SHIPPED or p.name.endswith(".egg-info"):
            continue
        if p.is_dir():
            shutil.copytree(p, dst / p.name, ignore=skip)
        elif p.is_file():
            shutil.copy2(p, dst / p.name)


def _pip(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    _copy_sources(src)
    dist = tmp_path_factory.mktemp("dist")
    res = _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist),
               str(src))
    assert res.returncode == 0, (
        "building the wheel failed (it needs setuptools>=70.1 in this environment: the test "
        "extra brings it; ./spark.sh reinstalls when pyproject.toml changes)\n"
        + res.stdout[-4000:] + res.stderr[-4000:])
    wheels = list(dist.glob("spark_snn-*.whl"))
    assert len(wheels) == 1, res.stdout
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    res = _pip("install", "--no-deps", "--no-index", "--target", str(target), str(wheel))
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    return target


def _run_installed(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -S ARGS`` with the installed folder and this environment's packages only."""
    paths = [str(target)] + list(dict.fromkeys(
        sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=os.pathsep.join(paths), QT_QPA_PLATFORM="offscreen",
               PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-S", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _source_files(folder: str, *, skip: tuple[str, ...] = ()) -> list[str]:
    base = ROOT / folder
    return sorted(p.relative_to(ROOT).as_posix() for p in base.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
                  and not any(p.relative_to(base).as_posix().startswith(s) for s in skip))


def test_wheel_holds_one_import_package_with_its_resources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {n.split("/")[0] for n in names}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == {"spark_snn"}, sorted(tops)
    assert len(dist_info) == 1 and dist_info.pop().startswith("spark_snn-")
    # every module of the source tree is in the wheel (the package list in pyproject.toml is
    # complete), under spark_snn/ ...
    modules = [f for d in PACKAGE_DIRS for f in _source_files(d) if f.endswith(".py")]
    assert len(modules) > 100
    missing = [f for f in modules
               if (f if f.startswith("spark_snn/") else f"spark_snn/{f}") not in names]
    assert missing == []
    # ... and so is every resource but the README's screenshots
    resources = _source_files("resources", skip=("screenshots/",))
    assert f"resources/examples/{EXAMPLE}" in resources
    assert "resources/style/dark.qss" in resources and "resources/style/check.svg" in resources
    assert [f for f in resources if f"spark_snn/{f}" not in names] == []
    assert not any(n.startswith("spark_snn/resources/screenshots/") for n in names)
    (ep,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    scripts = zipfile.ZipFile(wheel).read(ep).decode()
    assert "spark = spark_snn.engine.cli:main" in scripts


CHECK = r"""
import contextlib, importlib.util, io, json, sys
from pathlib import Path
target, example, steps = Path(sys.argv[1]).resolve(), sys.argv[2], sys.argv[3]
out = {"top_level": {m: importlib.util.find_spec(m) is not None
                     for m in ("app", "engine", "components")}}
import spark_snn.engine
from spark_snn.engine.cli import main
from spark_snn.app import files, main as app_main, theme
out["default_file"] = app_main.default_file()
out["examples"] = [str(p) for p in files.example_files()]
ex = str(Path(app_main.EXAMPLES) / example)
for args in (["validate", ex], ["run", ex, "--steps", steps, "--json"]):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        out[args[0]] = main(args)
    out[args[0] + "_out"] = buf.getvalue()
from PySide6 import QtWidgets
qapp = QtWidgets.QApplication(["spark"])
theme.apply_theme(qapp)
out["style_sheet"] = qapp.styleSheet()
out["registry_errors"] = spark_snn.engine.registry().load_errors
out["node_types"] = len(spark_snn.engine.registry().names())
out["module_files"] = sorted({str(Path(m.__file__).resolve()) for n, m in list(sys.modules.items())
                              if n.split(".")[0] == "spark_snn" and getattr(m, "__file__", None)})
print("RESULT" + json.dumps(out))
"""


def test_installed_wheel_runs_outside_the_source_tree(installed, tmp_path, capsys):
    res = _run_installed(installed, tmp_path, "-c", CHECK, str(installed), EXAMPLE, str(STEPS))
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    out = json.loads(res.stdout.split("RESULT", 1)[1])
    target = installed.resolve()
    # no generic top-level packages: only spark_snn is installed
    assert out["top_level"] == {"app": False, "engine": False, "components": False}
    assert sorted(p.name for p in installed.iterdir()
                  if not p.name.endswith(".dist-info") and p.name != "bin") == ["spark_snn"]
    # every spark_snn module came from the installed folder, none from the source tree
    assert out["module_files"] and all(Path(f).is_relative_to(target) for f in out["module_files"])
    # the app finds the shipped examples (and opens the flagship one) and its style sheet
    assert out["default_file"] and Path(out["default_file"]).is_relative_to(target)
    names = sorted(Path(p).name for p in out["examples"])
    assert names == sorted(p.name for p in (ROOT / "resources" / "examples").glob("*.json"))
    assert all(Path(p).is_relative_to(target) for p in out["examples"])
    qss = (ROOT / "resources" / "style" / "dark.qss").read_text(encoding="utf-8")
    style_dir = (target / "spark_snn" / "resources" / "style").as_posix()
    assert out["style_sheet"] == qss.replace("@STYLE@", style_dir)
    assert out["registry_errors"] == [] and out["node_types"] > 20
    # an example validates and runs, with the same spikes as the source tree gives
    assert out["validate"] == 0 and out["run"] == 0
    installed_run = json.loads(out["run_out"])
    assert cli_main(["run", str(ROOT / "resources" / "examples" / EXAMPLE), "--steps", str(STEPS),
                     "--json"]) == 0
    source_run = json.loads(capsys.readouterr().out)
    assert installed_run["steps"] == STEPS
    assert installed_run["spikes"] == source_run["spikes"] and sum(source_run["spikes"].values()) > 0


def test_installed_spark_command(installed, tmp_path):
    script = installed / "bin" / "spark"
    assert script.is_file()
    assert "from spark_snn.engine.cli import main" in script.read_text()
    example = installed / "spark_snn" / "resources" / "examples" / EXAMPLE
    res = _run_installed(installed, tmp_path, str(script), "validate", str(example))
    assert res.returncode == 0, res.stdout + res.stderr
    assert EXAMPLE in res.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    res = _run_installed(installed, tmp_path, str(script), "validate", str(bad))
    assert res.returncode != 0 and "bad.json" in res.stdout + res.stderr
