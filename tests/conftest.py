"""Shared test set-up: headless Qt, and small graph builders."""
import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the user's component library never leaks into the tests: an empty library folder
os.environ.setdefault("SPARK_LIBRARY_PATH", tempfile.mkdtemp(prefix="spark-test-library-"))

import pytest  # noqa: E402

from spark_snn import engine  # noqa: E402,F401  (sets XLA flags before JAX initialises)
from spark_snn.engine import Graph, Node  # noqa: E402


def graph_of(*nodes, edges=(), **settings) -> Graph:
    """A graph from (id, type, params) triples and ("node.port", "node.port") edges."""
    g = Graph()
    g.settings.update(settings)
    for nid, typ, params in nodes:
        g.add_node(Node(nid, typ, params))
    for src, dst in edges:
        g.connect(src, dst)
    return g


def ei_graph(n_exc=40, n_inh=10, amplitude=20.0, seed=3, propagation="event") -> Graph:
    """A small recurrent E/I network used by several tests."""
    g = Graph(settings={"dt": 0.1, "seed": seed, "dtype": "float32"})
    g.add_node(Node("drive", "current_source",
                    {"size": n_exc, "amplitude": amplitude, "heterogeneity": 3.0}, (0, 0)))
    g.add_node(Node("exc", "lif", {"size": n_exc, "v_init": "uniform"}, (200, 0)))
    g.add_node(Node("inh", "lif", {"size": n_inh}, (200, 200)))
    specs = [("ee", "exc", "exc", "excitatory", 0.2, 0.5), ("ei", "exc", "inh", "excitatory", 0.3, 10.0),
             ("ie", "inh", "exc", "inhibitory", 0.4, 1.5)]
    for pid, a, b, sign, p, w in specs:
        g.add_node(Node(pid, "projection", {"p": p, "weight": w, "sign": sign,
                                            "propagation": propagation}, (400, 0)))
        g.connect(f"{a}.spikes", f"{pid}.pre")
        g.connect(f"{pid}.events", f"{b}.syn")
    g.connect("drive.current", "exc.current")
    return g


def overflow_graph() -> Graph:
    """Pool 'a' spikes into pool 'b' through weights so large that b's synaptic current
    overflows to infinity one step after a's first spike."""
    g = Graph()
    g.add_node(Node("src", "current_source", {"size": 4, "amplitude": 30.0}))
    g.add_node(Node("a", "lif", {"size": 4}))
    g.add_node(Node("b", "lif", {"size": 2}))
    g.add_node(Node("p", "projection", {"connectivity": "all_to_all", "weight": 3e38}))
    g.connect("src.current", "a.current")
    g.connect("a.spikes", "p.pre")
    g.connect("p.events", "b.syn")
    return g


def close_windows(windows) -> None:
    """Close test windows without prompts and delete them now: each run stopped, every undo
    stack (definition tabs too) clean. (qtbot.addWidget would close them before a fixture's
    teardown runs.)"""
    from PySide6 import QtCore
    for w in windows:
        ctl = getattr(w, "run_controller", None)
        if ctl is not None:
            ctl.shutdown()
        components = getattr(w, "components", None)
        for tab in list(getattr(components, "open_tabs", ())):
            tab.doc.undo.setClean()
        w.doc.undo.setClean()
        w.close()
        w.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.DeferredDelete)


@pytest.fixture
def small_graph() -> Graph:
    return ei_graph()


@pytest.fixture(autouse=True)
def _no_clipboard_left_behind():
    """Mime data left on the clipboard when the process exits crashes offscreen Qt (a segfault
    after the last test): every test that copied leaves it empty."""
    yield
    import sys
    if "PySide6.QtWidgets" in sys.modules:
        from PySide6 import QtWidgets
        if QtWidgets.QApplication.instance() is not None:
            QtWidgets.QApplication.clipboard().clear()


@pytest.fixture(autouse=True)
def _no_unexpected_modal_question(monkeypatch):
    """A modal message box that no test answers would wait forever offscreen (CI would hang
    until its limit): an unexpected one fails the test at once, naming it. Tests that expect a
    question patch these methods themselves (their patch replaces this one)."""
    import sys
    if "PySide6.QtWidgets" not in sys.modules:
        yield
        return
    from PySide6 import QtWidgets

    def unexpected(kind):
        def fail(*args, **kwargs):
            texts = [a for a in args if isinstance(a, str)][:2]
            pytest.fail(f"unexpected modal QMessageBox.{kind}: {texts}")
        return fail
    for kind in ("question", "warning", "critical", "information"):
        monkeypatch.setattr(QtWidgets.QMessageBox, kind, staticmethod(unexpected(kind)))
    yield
