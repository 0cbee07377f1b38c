"""Composite components in the editor (the engine's model: engine/composite).

* typeinfo.py          node types once composites exist: ports of an instance, promoted defaults
* make_dialog.py       the Make Component dialog (name, ports, promoted parameters)
* definition_tab.py    a definition's inside in its own canvas tab, saved back into the network
* interface_dialog.py  the Ports and Parameters dialog of a definition
* library_ui.py        saving to the component library; embedded copies that differ from it
* manager.py           ComponentsUI: the commands, menus, shortcuts and tabs

``install(window)`` adds it all to a MainWindow and returns the ComponentsUI.
"""
from __future__ import annotations


def install(window):
    """Add the composite-component commands and the definition tabs to ``window``."""
    from .manager import ComponentsUI
    return ComponentsUI(window)


__all__ = ["install"]
