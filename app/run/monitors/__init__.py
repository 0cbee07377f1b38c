"""Monitor panels: dock widgets with pyqtgraph plots fed by the worker's frames.

Every monitor says which data it needs (``contribute(request, info)``), draws a frame
(``update_frame(frame)``), empties itself on ``reset_view()``, follows a node rename
(``rename_node``) and exports its plots as PNG or SVG (``export(path)``, dark on white).
Monitors keep only bounded history (their time window). One module per kind of panel:
raster.py, traces.py (traces, rates), weights.py, environment.py (environment, episodes);
base.py holds the shared base class, export.py the PNG/SVG export.
"""
from .base import Monitor, StickyRange, paint_seconds, pool_colour
from .environment import EnvironmentMonitor, EpisodeMonitor
from .export import export_view
from .raster import RasterMonitor
from .traces import RateMonitor, TraceMonitor
from .weights import WeightsMonitor, block_reduce

__all__ = ["Monitor", "StickyRange", "paint_seconds", "pool_colour", "EnvironmentMonitor",
           "EpisodeMonitor", "export_view", "RasterMonitor", "RateMonitor", "TraceMonitor",
           "WeightsMonitor", "block_reduce"]
