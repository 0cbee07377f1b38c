"""Spark: draw, run and watch spiking neural networks.

The one import package of an installed Spark: ``spark_snn.engine`` (graph files, validation,
compiler, simulation, CLI), ``spark_snn.components`` (the node library), ``spark_snn.app`` (the Qt
desktop app) and ``spark_snn/resources`` (example graphs, style sheet: package data).

In the repository these live in the top-level folders ``engine/``, ``components/``, ``app/`` and
``resources/``; pyproject.toml maps them under ``spark_snn`` for a wheel. Run from a source tree
(tests, benchmarks, ``python -m spark_snn.app``), this package looks for its subpackages in the
folder above it as well, so ``import spark_snn.engine`` finds ``engine/`` without an install.
Either way ``resources`` sits beside ``app`` and ``engine``, which is how the app finds it.
"""
from pathlib import Path as _Path

_here = _Path(__file__).resolve().parent
if not (_here / "engine").is_dir() and (_here.parent / "engine" / "__init__.py").is_file():
    __path__.append(str(_here.parent))  # noqa: F821  (a package's __path__)
