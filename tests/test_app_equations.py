"""Equation-defined nodes in the editor: the inspector shows the parameters declared by the
node's model text, and the canvas the ports, both following edits of the text."""
from test_app_editor import make_window, temp_settings, win  # noqa: F401  (fixtures)

from spark_snn.engine.equations import LIBRARY


def test_inspector_and_canvas_follow_the_model_text(win):  # noqa: F811
    nid = win.edits.add_node("equation_pool", (0, 0))
    win.select_node(nid)
    rows = list(win.inspector.rows)
    assert rows[:3] == ["size", "method", "model"]
    assert rows[3:] == ["v_rest", "v_reset", "v_th", "tau_m", "t_ref", "tau_syn"]
    tau = win.inspector.row("tau_m")
    assert tau.editor.suffix() == " ms"
    assert "membrane time constant" in tau.editor.toolTip()
    tau.editor.setValue(12.5)
    tau.editor.editingFinished.emit()
    assert win.graph.nodes[nid].params["tau_m"] == 12.5

    # a new text: new parameters and a new output port (w)
    box = win.inspector.row("model").editor  # the model editor (tests/test_app_model_editor.py)
    box.edit.setPlainText(LIBRARY["alif"])
    box.apply()
    assert win.graph.nodes[nid].params["model"] == LIBRARY["alif"]
    assert list(win.inspector.rows)[-2:] == ["tau_w", "b"]
    outs = [p.name() for p in win.canvas.node_for(nid).output_ports()]
    assert outs == ["spikes", "v", "w"]

    # a broken text: the node keeps its fixed parameters, the error is shown on 'model'
    box = win.inspector.row("model").editor
    box.edit.setPlainText(LIBRARY["alif"].replace("dw/dt = -w / tau_w", "dw/dt = -w"))
    box.apply()
    problems = win.validate_now()
    win.inspector.refresh(problems)
    assert list(win.inspector.rows) == ["size", "method", "model"]
    assert any("dw/dt: the left side is mV/ms, the right side is mV" in p.message
               for p in problems if p.node == nid and p.param == "model")
    box = win.inspector.row("model").editor
    assert "dw/dt: the left side is mV/ms, the right side is mV" in box.messages.item(0).text()

    # undo brings the good text and its parameters back
    win.doc.undo.undo()
    win.inspector.refresh(win.validate_now())
    assert list(win.inspector.rows)[-2:] == ["tau_w", "b"]
