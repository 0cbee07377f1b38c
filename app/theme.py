"""The dark theme: Fusion style, a dark palette, and resources/style/dark.qss on top."""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtGui, QtWidgets

STYLE_DIR = Path(__file__).resolve().parents[1] / "resources" / "style"


def apply_theme(app: QtWidgets.QApplication) -> None:
    """Make ``app`` dark and readable (base font 10 pt)."""
    app.setStyle("Fusion")
    pal = QtGui.QPalette()
    c = QtGui.QColor
    roles = {
        QtGui.QPalette.Window: c(37, 39, 44),
        QtGui.QPalette.WindowText: c(222, 224, 228),
        QtGui.QPalette.Base: c(28, 30, 34),
        QtGui.QPalette.AlternateBase: c(42, 45, 51),
        QtGui.QPalette.ToolTipBase: c(50, 53, 60),
        QtGui.QPalette.ToolTipText: c(230, 230, 230),
        QtGui.QPalette.Text: c(222, 224, 228),
        QtGui.QPalette.Button: c(50, 53, 60),
        QtGui.QPalette.ButtonText: c(222, 224, 228),
        QtGui.QPalette.BrightText: c(255, 90, 90),
        QtGui.QPalette.Highlight: c(60, 120, 200),
        QtGui.QPalette.HighlightedText: c(255, 255, 255),
        QtGui.QPalette.Link: c(110, 170, 255),
        QtGui.QPalette.PlaceholderText: c(130, 134, 142),
    }
    for role, color in roles.items():
        pal.setColor(role, color)
    for role in (QtGui.QPalette.WindowText, QtGui.QPalette.Text, QtGui.QPalette.ButtonText):
        pal.setColor(QtGui.QPalette.Disabled, role, c(120, 123, 130))
    app.setPalette(pal)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
        app.setFont(font)
    qss = STYLE_DIR / "dark.qss"
    if qss.exists():
        app.setStyleSheet(qss.read_text(encoding="utf-8").replace("@STYLE@",
                                                                  STYLE_DIR.as_posix()))
