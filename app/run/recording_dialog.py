"""Dialog choosing what to record to disk; shows the memory the recording will take first."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from spark_snn.components.base import SPIKES

from .graph_info import GraphInfo, human_bytes
from .recording import RecordingPlan


class RecordingDialog(QDialog):
    """Ports (checkable), duration (ms), output file; the memory bound updates as you choose."""

    def __init__(self, info: GraphInfo, path: str = "recording.npz", parent=None,
                 preselect=()):
        super().__init__(parent)
        self.setWindowTitle("Record to disk")
        self.info = info
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Ports to record (every step):"))
        self.ports = QListWidget()
        for name, p in info.ports.items():
            it = QListWidgetItem(f"{name}   ({p.kind}, {p.size})")
            it.setData(Qt.ItemDataRole.UserRole, name)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Checked if name in preselect
                             else Qt.CheckState.Unchecked)
            self.ports.addItem(it)
        lay.addWidget(self.ports, 1)
        form = QFormLayout()
        self.duration = QDoubleSpinBox()
        self.duration.setRange(info.dt, 1e9)
        self.duration.setDecimals(3)
        self.duration.setSuffix(" ms")
        self.duration.setValue(1000.0)
        form.addRow("duration", self.duration)
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 0, 0, 0)
        self.path = QLineEdit(path)
        browse = QPushButton("...")
        browse.clicked.connect(self._browse)
        rl.addWidget(self.path, 1)
        rl.addWidget(browse)
        form.addRow("file (.npz)", row)
        lay.addLayout(form)
        self.memory = QLabel()
        lay.addWidget(self.memory)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.ports.itemChanged.connect(self._update_memory)
        self.duration.valueChanged.connect(self._update_memory)
        self._update_memory()

    def chosen(self) -> list[str]:
        out = []
        for i in range(self.ports.count()):
            it = self.ports.item(i)
            if it.checkState() == Qt.CheckState.Checked:
                out.append(it.data(Qt.ItemDataRole.UserRole))
        return out

    def n_steps(self) -> int:
        return max(1, int(round(self.duration.value() / self.info.dt)))

    def memory_bytes(self) -> int:
        return self.info.record_bytes(self.chosen(), self.n_steps())

    def _update_memory(self, *_):
        self.memory.setText(f"Memory while recording: {human_bytes(self.memory_bytes())} "
                            f"({self.n_steps()} steps x size x bytes per value)")

    def _browse(self):
        from spark_snn.app import dialogs
        path = dialogs.save_file_name(self, "Record to", "", "NumPy archive (*.npz)",
                                      start=self.path.text())
        if path:
            self.path.setText(path)

    def plan(self) -> RecordingPlan:
        ports = tuple(self.chosen())
        return make_plan(self.info, ports, self.n_steps(), self.path.text())


def make_plan(info: GraphInfo, ports, n_steps: int, path: str) -> RecordingPlan:
    """A RecordingPlan for ``ports`` of the graph described by ``info``."""
    ports = tuple(ports)
    return RecordingPlan(ports=ports, n_steps=int(n_steps), path=str(path),
                         sizes={p: info.ports[p].size for p in ports},
                         spikes=tuple(p for p in ports if info.ports[p].kind == SPIKES))
