"""Entry point of the desktop app: ``main(argv)`` (called by ``spark app`` and ``python -m spark_snn.app``).

Usage: ``[FILE] [--run] [--allow-import MODULE]...``. Without FILE it opens the flagship example
(resources/examples/cartpole.json, else two_pools.json, else an empty graph). ``--run`` asks the
live-run UI (app/run, when installed) to start the simulation at once.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
FLAGSHIP = ("cartpole.json", "two_pools.json")


def default_file() -> str | None:
    """The example opened when no file is given (None when none is installed)."""
    for name in FLAGSHIP:
        p = EXAMPLES / name
        if p.is_file():
            return str(p)
    return None


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="spark app", description="Spark graph editor")
    ap.add_argument("file", nargs="?", help="graph file to open")
    ap.add_argument("--run", action="store_true", help="start the simulation right away")
    ap.add_argument("--allow-import", action="append", default=[], metavar="MODULE",
                    help="let a Gymnasium environment written 'MODULE:Env-v0' import MODULE")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the app; returns the exit status."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.allow_import:
        from spark_snn.components.gym_env import allow_import
        allow_import(*args.allow_import)
    from . import qtfix  # noqa: F401  (before any widget: see app/qtfix.py)
    from PySide6 import QtWidgets

    from .main_window import MainWindow
    from .theme import apply_theme

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["spark"])
    app.setOrganizationName("Spark")
    app.setApplicationName("Spark")
    apply_theme(app)
    path = args.file if args.file else default_file()
    win = MainWindow(path, autorun=args.run)
    win.show()
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
