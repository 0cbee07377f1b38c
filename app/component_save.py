"""Save an equation-defined node as a component of the user's library (issue 13, item 8).

"Save as library component…" (the node's context menu, and the model editor's button) asks
for a type name, a category and a description (``SaveComponentDialog``), wraps the node in a
one-node definition whose promoted parameters are the node's parameters but its model text
(``engine.composite.node_component``), writes it as ``TYPE.json`` in the first library folder
(``engine.composite.save_to_library``), rescans the registry and rebuilds the palette, where
the new type then appears under its category. The node in the graph stays as it is.
"""
from __future__ import annotations

from PySide6 import QtWidgets

from spark_snn.engine.composite import (CompositeError, check_name, library_file, node_component,
                              save_to_library)
from spark_snn.engine.registry import registry

# the inner node's id in the definition, by model kind ("instance.pool.v" when recording)
INNER_ID = {"neuron": "pool", "synapse": "synapses", "plasticity": "rule"}


def is_equation_node(graph, node_id: str) -> bool:
    node = graph.nodes.get(node_id)
    cls = registry().types.get(node.type) if node is not None else None
    return cls is not None and hasattr(cls, "model_of")


def first_comment(text: str) -> str:
    """The model text's first comment line (its usual one-line description), or ""."""
    for line in str(text).splitlines():
        line = line.strip()
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line:
            return ""
    return ""


def name_problem(name: str) -> str | None:
    """Why a component cannot be saved under ``name`` (None: it can; a component saved
    before under that name by this action is replaced)."""
    reg = registry()
    bad = check_name(name, "type name")
    if bad:
        return bad
    if name in reg.types:
        return f"'{name}' is a built-in node type; choose another name"
    origin = reg.definition_origin.get(name)
    if origin is not None and origin != str(library_file(name)):
        return f"a component '{name}' is already defined by {origin}"
    return None


class SaveComponentDialog(QtWidgets.QDialog):
    """Type name, category and description of the component to save; says what is wrong with
    a name (invalid, a built-in type, already in the library) before OK can be pressed."""

    def __init__(self, parent, node, cls):
        super().__init__(parent)
        self.setWindowTitle("Save as library component")
        self.node = node
        form = QtWidgets.QFormLayout(self)
        self.name = QtWidgets.QLineEdit(node.id if not registry().types.get(node.id)
                                        else f"my_{node.id}")
        self.category = QtWidgets.QComboBox()
        self.category.setEditable(True)
        self.category.addItems(sorted(registry().by_category(definitions=True)))
        self.category.setCurrentText(cls.category)
        self.description = QtWidgets.QLineEdit(first_comment(node.params.get("model", ""))
                                               or cls.description)
        self.where = QtWidgets.QLabel()
        self.where.setObjectName("hint")
        self.where.setWordWrap(True)
        self.error = QtWidgets.QLabel()
        self.error.setObjectName("inlineError")
        self.error.setWordWrap(True)
        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Save
                                                  | QtWidgets.QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow("Type name", self.name)
        form.addRow("Category", self.category)
        form.addRow("Description", self.description)
        form.addRow(self.where)
        form.addRow(self.error)
        form.addRow(self.buttons)
        self.resize(460, self.sizeHint().height())
        self.name.textChanged.connect(self.check)
        self.check()

    def values(self) -> tuple[str, str, str]:
        return (self.name.text().strip(), self.category.currentText().strip() or "Composites",
                self.description.text().strip())

    def check(self) -> None:
        why = name_problem(self.values()[0])
        name = self.values()[0]
        self.error.setText(why or "")
        self.error.setVisible(bool(why))
        self.buttons.button(QtWidgets.QDialogButtonBox.Save).setEnabled(why is None)
        if why is None:
            path = library_file(name)
            self.where.setText(f"Saved to {path}" + (" (replacing the component saved there)"
                                                      if path.exists() else "")
                               + ". Its parameters are the node's, all but the model text.")


def save_node_as_component(window, node_id: str, values=None) -> str | None:
    """Ask for name, category and description (``values`` given: use them, no dialog), save
    the node as a library component and show it in the palette. Returns the type name."""
    shown = window.inspector.model_slot.current if node_id in window.inspector.node_ids \
        else None
    if shown is not None and shown.model is not None and shown.model.errors:
        QtWidgets.QMessageBox.warning(window, "Cannot save the component",
                                      "The model text has errors: fix them first.")
        return None
    window.inspector.apply_pending()
    graph = window.graph
    node = graph.nodes.get(node_id)
    cls = registry().types.get(node.type) if node is not None else None
    if cls is None:
        return None
    if values is None:
        dlg = SaveComponentDialog(window, node, cls)
        if dlg.exec() != QtWidgets.QDialog.Accepted:
            return None
        values = dlg.values()
    name, category, description = values
    try:
        why = name_problem(name)
        if why:
            raise CompositeError(why)
        defn = node_component(graph, node_id, name, category, description,
                              inner_id=INNER_ID.get(getattr(cls, "model_kind", ""), "node"))
        path = save_to_library(defn, replace=True)
    except (CompositeError, OSError) as exc:
        QtWidgets.QMessageBox.warning(window, "Cannot save the component",
                                      f"'{node_id}' was not saved as a component: {exc}")
        return None
    registry(refresh=True)
    window.palette.rebuild(select=name)
    window.status(f"Saved component '{name}' to {path}: it is in the palette under "
                  f"{category}")
    return name


def install(window) -> None:
    """Offer "Save as library component…" on equation-defined nodes (context menu) and in
    their model editor."""
    def save(node_id):
        save_node_as_component(window, node_id)

    window.menus.add_node_action("Save as library component…", save,
                                 lambda n: is_equation_node(window.graph, n))
    window.inspector.save_component_requested.connect(save)
