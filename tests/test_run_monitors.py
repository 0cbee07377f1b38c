"""Monitor panels (issue 10 items 11-12, issue 11 items 5-8): emptied on Stop and Reset,
isolated when one fails, the environment drawn from its own render, only the monitors that
apply offered, rasters in the graph's order, exports dark on white at the panel's scale, and
visible check boxes in the Record dialog."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from test_app_run import WAIT, make, pool_graph, two_pool_graph, wait_state  # noqa: F401
from test_simulation_api import NO_RENDERER_ENV, PICTURE_ENV

from spark_snn.app.run.graph_info import MONITORS, GraphInfo, offered_monitors
from spark_snn.app.run.monitors import RasterMonitor, TraceMonitor
from spark_snn.engine import Graph, Node, Simulation, load

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def test_stop_and_reset_empty_every_monitor(qtbot, make):  # noqa: F811
    graph = load(EXAMPLES / "cartpole.json")
    graph.meta.pop("monitors", None)   # only the monitors opened here (not the saved layout)
    win, ctl = make(graph)
    raster = ctl.monitor_spikes("left")
    rates = ctl.monitor_rate("left")
    env = ctl.monitor_environment("cart")
    eps = ctl.monitor_episodes("cart")
    weights = ctl.monitor_weights("w_left")
    trace = ctl.monitor_membrane("left")
    ctl.bar.chunk_box.setValue(1000)
    ctl.run_for(10_000)          # many episodes, and learning changes the weights
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 10_000
                    and getattr(eps, "last_t1", 0) == 10_000, timeout=3 * WAIT)
    initial = Simulation(graph).weights("w_left")
    assert eps.values["cart.episode_length"] and raster.buf.any()
    assert not np.array_equal(weights.matrix, initial) and env.observation is not None
    assert "episode" in eps.info_label.text() and "neurons" in raster.info_label.text()

    ctl.reset()
    qtbot.waitUntil(lambda: ctl.t == 0 and ctl.state == "paused", timeout=WAIT)
    # the panels are empty at once; the weights come back as they are at t = 0
    qtbot.waitUntil(lambda: weights.matrix is not None, timeout=WAIT)
    np.testing.assert_array_equal(weights.matrix, initial)
    assert eps.values["cart.episode_length"] == [] and eps.info_label.text() == "0 episodes"
    assert not raster.buf.any() and raster.info_label.text() in ("", "8 neurons, 0 spikes in "
                                                                  "the last 1000 ms")
    assert rates.data["left"][1].size == 0 and trace.v.size == 0
    assert env.observation is None and env.cart.getData()[0] is None or \
        len(env.cart.getData()[0]) == 0

    ctl.run_for(2000)
    qtbot.waitUntil(lambda: ctl.t == 2000 and getattr(raster, "last_t1", 0) == 2000,
                    timeout=WAIT)
    assert raster.buf.any()
    ctl.stop()
    wait_state(qtbot, ctl, "idle")
    assert not raster.buf.any() and raster.info_label.text() == ""
    assert weights.matrix is None and env.observation is None and not ctl.badges
    assert eps.values["cart.episode_length"] == []


def test_a_failing_monitor_is_isolated(qtbot, make):  # noqa: F811
    win, ctl = make(pool_graph())
    bad = ctl.monitor_membrane("pool")
    good = ctl.monitor_spikes("pool")
    rates = ctl.monitor_rate("pool")

    def broken(frame):
        raise ValueError("cannot draw this on purpose")
    bad.draw = broken
    ctl.run_for(600)
    # the panels draw a frame in slices (app/run/painter.py): wait for both healthy ones
    qtbot.waitUntil(lambda: getattr(good, "last_t1", 0) == 600
                    and rates.data["pool"][1].size >= 1
                    and win.badges.get("pool", "").endswith("Hz"), timeout=WAIT)
    assert bad.error and "on purpose" in bad.error_label.text() and not bad.error_label.isHidden()
    # the pause reaches the GUI as a status message, apart from the frame just drawn
    qtbot.waitUntil(lambda: ctl.state == "paused", timeout=WAIT)
    assert ctl.last_error is None
    # the next run tries the panel again
    bad.draw = TraceMonitor.draw.__get__(bad)
    ctl.reset()
    ctl.run_for(300)
    qtbot.waitUntil(lambda: getattr(bad, "last_t1", 0) == 300, timeout=WAIT)
    assert bad.error is None and bad.v.shape == (300, 3) and bad.error_label.isHidden()


def gym_graph(env_id):
    g = Graph(settings={"dt": 1.0, "seed": 0, "dtype": "float32"})
    g.add_node(Node("env", "gym_env", {"env_id": env_id, "steps_per_env_step": 10}))
    g.add_node(Node("prefs", "host_input", {"size": 2, "kind": "value"}))
    g.add_node(Node("act", "argmax_action", {}))
    g.connect("prefs.out", "act.value")
    g.connect("act.action", "env.action")
    return g


def test_environment_that_is_not_cartpole_draws_its_observation(qtbot, make):  # noqa: F811
    """An environment with 6 observation values and no picture (its renderer is missing):
    bars, no error, and the other monitors go on."""
    win, ctl = make(gym_graph(NO_RENDERER_ENV))
    env = ctl.monitor_environment("env")
    sig = ctl.monitor_signal("env", port="env.observation", elements=(0, 5))
    assert env.mode == "values"
    ctl.run_for(200)
    qtbot.waitUntil(lambda: getattr(sig, "last_t1", 0) == 200, timeout=WAIT)
    qtbot.waitUntil(lambda: env.observation is not None, timeout=WAIT)
    assert env.error is None and env.observation.shape == (6,) and env.mode == "values"
    assert env.observation[[0, 5]].tolist() == pytest.approx(sig.v[-1].tolist())


@pytest.mark.parametrize("env_id", ["Acrobot-v1", "MountainCar-v0"])
def test_classic_control_environment_is_drawn_from_its_render(qtbot, make, env_id):  # noqa: F811
    """With pygame installed (gymnasium[classic-control]) Acrobot and MountainCar are drawn
    from their own rgb_array pictures, which change as the run goes on."""
    win, ctl = make(gym_graph(env_id))
    env = ctl.monitor_environment("env")
    assert env.wants_image and "env" in ctl.request().images
    ctl.run_for(40)
    qtbot.waitUntil(lambda: ctl.state == "paused" and env.frame_image is not None, timeout=WAIT)
    first = np.array(env.frame_image)
    assert env.mode == "image" and first.dtype == np.uint8 and first.ndim == 3
    assert first.shape[2] == 3 and min(first.shape[:2]) >= 400    # Gymnasium's 500x500, 400x600
    assert np.array_equal(env.image.image, first)
    ctl.run_for(2000)       # 200 environment steps later the picture is another
    qtbot.waitUntil(lambda: ctl.state == "paused" and ctl.t == 2040, timeout=WAIT)
    qtbot.waitUntil(lambda: not np.array_equal(env.frame_image, first), timeout=WAIT)
    assert np.count_nonzero(np.any(env.image.image != first, axis=2)) > 100


def test_environment_with_an_rgb_render_shows_its_picture(qtbot, make):  # noqa: F811
    win, ctl = make(gym_graph(PICTURE_ENV))
    env = ctl.monitor_environment("env")
    assert "env" in ctl.request().images
    ctl.run_for(50)       # five environment steps
    qtbot.waitUntil(lambda: ctl.t == 50 and env.frame_image is not None
                    and int(env.frame_image[1, 1, 0]) == 5, timeout=WAIT)
    assert env.mode == "image"
    img = env.image.image
    assert img.shape == (6, 8, 3) and tuple(img[0, 0]) == (1, 2, 3)


def test_only_the_monitors_that_apply_are_offered(qtbot, tmp_path, monkeypatch):
    def offered(t, **p):
        return offered_monitors(Node("x", t, p))
    assert offered("lif") == ["Monitor spikes", "Monitor membrane potential", "Monitor rate"]
    assert offered("cartpole") == ["Monitor output signal", "Show environment",
                                   "Monitor episodes"]
    assert offered("projection") == ["Monitor output signal", "Monitor weights"]
    assert "Monitor weights" in offered("three_factor_projection")
    assert offered("poisson_source") == ["Monitor spikes", "Monitor rate"]
    assert offered("nonexistent_type") == []
    # in the editor: the context menu and the inspector's buttons
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(tmp_path))
    from spark_snn.app.main_window import MainWindow

    win = MainWindow(str(EXAMPLES / "cartpole.json"), check_recovery=False)
    qtbot.addWidget(win)
    try:
        win.menus.context_menu(win.mapToGlobal(win.rect().center()), "left")
        texts = [a.text() for a in win.menus.last_menu.actions()]
        assert "Monitor membrane potential" in texts and "Monitor weights" not in texts
        assert "Show environment" not in texts
        win.menus.last_menu.close()
        win.canvas.select(["cart"])
        win._on_selection()
        shown = {b.text() for b in win.inspector._action_buttons if not b.isHidden()}
        assert shown == {"Monitor output signal", "Show environment", "Monitor episodes"}
        assert set(MONITORS) >= shown
    finally:
        win.run_controller.shutdown()


def test_raster_lists_pools_in_graph_order(qtbot):
    g = Graph()
    for k in range(7):
        g.add_node(Node(f"pool{k}", "lif", {"size": 5}))
    info = GraphInfo(g)
    mon = RasterMonitor(info, ["pool1"])
    qtbot.addWidget(mon)
    for k in (2, 6, 5, 4, 0, 3):
        mon.add_pool(f"pool{k}")
    assert mon.pools == [f"pool{k}" for k in range(7)]
    assert mon.ports == [f"pool{k}.spikes" for k in range(7)]
    ticks = [t[1] for t in mon.plot.getAxis("left")._tickLevels[0]]
    assert ticks == mon.pools


def _svg_text_x(root, text):
    """x of the first <text> element whose content is ``text``, with its group's translation."""
    ns = "{http://www.w3.org/2000/svg}"
    for g in root.iter(f"{ns}g"):
        for t in g.findall(f"{ns}text"):
            if "".join(t.itertext()).strip() == text:
                m = re.search(r"matrix\(([^)]*)\)", g.get("transform", ""))
                vals = [float(v) for v in re.split(r"[ ,]+", m.group(1))] if m else [1, 0, 0, 1,
                                                                                       0, 0]
                return vals[0] * float(t.get("x", 0)) + vals[4], float(t.get("font-size", 10))
    raise AssertionError(f"no text {text!r}")


def test_svg_and_png_exports_match_the_panel_on_white(qtbot, tmp_path):
    g = Graph()
    g.add_node(Node("pool", "lif", {"size": 4}))
    mon = TraceMonitor(GraphInfo(g), "pool", (0, 1))      # two traces: a legend too
    qtbot.addWidget(mon)
    mon.resize(800, 400)
    mon.show()
    steps = np.arange(0, 2000)
    v = np.linspace(-70.0, -60.0, steps.size)[:, None] + [0.0, 1.0]   # straight lines
    mon.update_frame({"gen": 1, "t0": 0, "t1": 2000, "dt": 0.1,
                      "traces": {"pool.v": (steps, v, np.array([0, 1]))}})
    qtbot.wait(50)
    svg = mon.export(str(tmp_path / "trace.svg"))
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    # no data drawn under a scaling transform (strokes keep their width in every viewer)
    lines = [p for p in root.iter(f"{ns}polyline")]
    assert lines
    curve = max(lines, key=lambda p: len(p.get("points").split()))
    pts = np.array([[float(c) for c in xy.split(",")] for xy in curve.get("points").split()])
    x0, x1 = pts[:, 0].min(), pts[:, 0].max()            # t = -200 ms and t = -0.1 ms
    # the time axis's labels sit where the data of that time are (the old export drew the
    # axes and text at 3/4 of the data's scale)
    for label, t in (("-150", -150.0), ("-50", -50.0)):
        x, size = _svg_text_x(root, label)
        centre = x + 0.3 * size * len(label)
        want = x0 + (t + 200.0) / 199.9 * (x1 - x0)
        assert abs(centre - want) < 0.04 * (x1 - x0), (label, centre, want)
    # white paper, dark ink
    first = next(g for g in root.iter(f"{ns}g") if g.get("fill") not in (None, "none"))
    assert first.get("fill").lower() == "#ffffff"          # drawn first, under everything
    fills = {t.get("fill", "").lower() for t in root.iter(f"{ns}text")}
    assert fills == {"#1e1e1e"}, fills                     # every label dark, legend too
    assert {"#0", "#1"} <= {"".join(t.itertext()).strip() for t in root.iter(f"{ns}text")}
    # PNG: white background, the same dark axis text
    from PySide6.QtGui import QImage
    png = QImage(mon.export(str(tmp_path / "trace.png")))
    assert png.pixelColor(2, 2).name() == "#ffffff"
    assert png.pixelColor(png.width() - 3, png.height() - 3).name() == "#ffffff"
    # and the panel itself is back to its dark style
    assert mon.layout_widget.backgroundBrush().color().lightness() < 60


def test_record_dialog_check_boxes_are_visible(qtbot):
    from PySide6.QtWidgets import QApplication

    from spark_snn.app.run.recording_dialog import RecordingDialog
    from spark_snn.app.theme import apply_theme

    app = QApplication.instance()
    old_style, old_sheet, old_palette = app.style().name(), app.styleSheet(), app.palette()
    apply_theme(app)
    try:
        dlg = RecordingDialog(GraphInfo(pool_graph()), "rec.npz", preselect=("pool.spikes",))
        qtbot.addWidget(dlg)
        dlg.resize(500, 400)
        dlg.show()
        qtbot.waitExposed(dlg)
        lst = dlg.ports
        names = [lst.item(i).data(0x0100) for i in range(lst.count())]
        img = lst.viewport().grab().toImage()

        def brightest(row):
            r = lst.visualItemRect(lst.item(row))
            return max(img.pixelColor(x, y).lightness()
                       for x in range(r.left(), r.left() + 22)
                       for y in range(r.top(), r.bottom()))
        bg = img.pixelColor(lst.viewport().width() - 3, lst.viewport().height() - 3).lightness()
        unchecked = names.index("src.current")
        assert brightest(unchecked) - bg > 80        # the empty box's frame shows
        assert brightest(names.index("pool.spikes")) - bg > 80
    finally:
        app.setStyleSheet(old_sheet)
        app.setStyle(old_style)
        app.setPalette(old_palette)


def test_gymnasium_node_hides_its_host_written_outputs(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(tmp_path))
    from spark_snn.app.main_window import MainWindow

    win = MainWindow(None, check_recovery=False)
    qtbot.addWidget(win)
    win.files.maybe_discard = lambda *a: True
    try:
        nid = win.edits.add_node("gym_env")
        settings = {"env_id", "steps_per_env_step", "feedback_mode", "actions"}
        assert set(win.graph.nodes[nid].params) == settings
        win.canvas.select([nid])
        win._on_selection()
        assert set(win.inspector.rows) == settings
    finally:
        win.run_controller.shutdown()


def test_export_and_record_dialogs_start_in_the_last_folder(qtbot, make, tmp_path,  # noqa: F811
                                                            monkeypatch):
    """Issue 11.13: a monitor's Export opened in the working directory; it, and the Record
    dialog's Browse, start in the folder of the last file opened, saved or exported."""
    from PySide6.QtWidgets import QFileDialog

    from spark_snn.app import session
    from spark_snn.app.run.recording_dialog import RecordingDialog
    monkeypatch.setenv("SPARK_SETTINGS_DIR", str(tmp_path / "settings"))
    last = tmp_path / "figures"
    last.mkdir()
    session.remember_folder(str(last / "earlier.png"))
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda parent, caption, start, filters: asked.append(start) or ("", ""))
    win, ctl = make(pool_graph())
    raster = ctl.monitor_spikes("pool")
    raster._export_dialog()
    assert asked[-1] == str(last.resolve() / "raster.png")
    dlg = RecordingDialog(GraphInfo(win.graph), str(last / "rec.npz"), win)
    dlg._browse()
    assert asked[-1] == str(last / "rec.npz")
    # a folder chosen in a dialog becomes the next start
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(other / "r.svg"), ""))
    raster._export_dialog()
    assert (other / "r.svg").exists() and session.last_folder() == str(other.resolve())
    dlg.close()
