"""File > Import NIR… / Export NIR… in the app (app/nir_actions.py), through pytest-qt."""
from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest
from PySide6 import QtWidgets

from spark_snn.engine.nir_io import read_nir, write_nir
from tests.conftest import close_windows

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # NodeGraphQt's own


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(tmp_path / "settings"))
    # a modal question would hang the test: none is expected here
    monkeypatch.setattr(QtWidgets.QMessageBox, "question",
                        lambda *a, **k: pytest.fail(f"unexpected question: {a[1:3]}"))
    from spark_snn.app.main_window import MainWindow
    w = MainWindow(str(EXAMPLES / "minimal.json"), check_recovery=False, with_run=False)
    w.nir.popups = False
    w.files.popups = False
    yield w
    close_windows([w])
    QtWidgets.QApplication.clipboard().clear()


def test_export_lists_what_nir_cannot_express(win, tmp_path):
    menu = [a.text() for a in win.menuBar().actions()[0].menu().actions()]
    assert "&Import NIR…" in menu and "E&xport NIR…" in menu
    assert win.nir.export_nir(str(tmp_path / "m.nir"))
    g = read_nir(tmp_path / "m.nir")
    assert type(g.nodes["pool"]).__name__ == "CubaLIF" and "recurrent" in g.nodes
    nodes = {p.node for p in win.nir.last_messages}
    assert {"drive", "pool"} <= nodes
    shown = [str(p) for p in win.problems_panel.problems]
    assert any(s.startswith("node 'pool': refractory period t_ref = 2 ms") for s in shown)
    assert "thing(s) NIR cannot express: see Problems" in win.statusBar().currentMessage()


def test_import_asks_the_time_unit_and_keeps_the_graph_on_errors(win, tmp_path):
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                            "w": nir.Linear(weight=np.ones((3, 2))),
                            "lif": nir.LIF(tau=np.full(3, 0.5), r=np.ones(3), v_leak=np.zeros(3),
                                           v_threshold=np.ones(3))},
                     edges=[("in", "w"), ("w", "lif")])
    write_nir(tmp_path / "amb.nir", g)
    asked = []
    win.nir.ask_unit = lambda: asked.append(1) or "ms"
    assert win.nir.import_nir(str(tmp_path / "amb.nir"))
    assert asked == [1] and win.graph.nodes["lif"].params["tau_m"] == 0.5
    assert win.current_path is None and win.doc.dirty
    assert "Imported amb.nir: 3 nodes" in win.statusBar().currentMessage()

    before = win.graph.to_dict()   # unsaved: a bad file is refused before asking to discard
    (tmp_path / "bad.nir").write_text("not hdf5")
    assert not win.nir.import_nir(str(tmp_path / "bad.nir"))
    assert win.graph.to_dict() == before
    assert "not a NIR file" in win.statusBar().currentMessage()
