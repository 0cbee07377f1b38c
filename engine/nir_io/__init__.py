"""NIR interchange: Spark graphs to and from the Neuromorphic Intermediate Representation.

NIR (the ``nir`` package, an optional dependency: ``pip install 'spark-snn[nir]'``) describes a
network as continuous-time nodes (LIF, CubaLIF, Affine, Linear, Delay, Input, Output, nested
NIRGraph) joined by edges, stored in HDF5. Spark's discrete-time graph maps onto it as follows
(the README's *NIR* section has the equations and the unit rules):

* ``to_nir(graph) -> (nir.NIRGraph, warnings)``: ``lif`` pools become CubaLIF (input through the
  exponential synapse, ``syn``) or LIF (``current`` and ``jump`` inputs), projections become
  Linear (Affine with a bias), followed by a Delay when they delay more than one step, host
  inputs become Input, composite instances nested NIRGraphs. Everything NIR cannot express
  (refractoriness, plasticity, environments, encoders, readouts, random initial potentials)
  is reported node by node in ``warnings`` (``engine.Problem`` with severity "warning").
* ``from_nir(nir_graph, dt=..., time_unit=...) -> (Graph, notes)``: the inverse, with
  ``matrix_projection`` nodes carrying the weight matrices and ``host_input`` nodes for Inputs.
* ``read_nir(path)`` / ``write_nir(path, nir_graph)``: files, with errors naming the node.

No Qt here; the app's File menu and the ``spark export-nir`` / ``import-nir`` commands call these.
"""
from __future__ import annotations


class NIRError(Exception):
    """A NIR file or graph that Spark cannot read or convert; the message names the node."""


class TimeUnitUnknown(NIRError):
    """The file's time constants could be seconds or milliseconds: the caller must say which
    (``from_nir(..., time_unit=...)``; the CLI's --time-unit, the app asks)."""


def require_nir():
    """The ``nir`` module, or NIRError saying how to install it."""
    try:
        import nir
    except ImportError as exc:   # pragma: no cover - the test extra installs it
        raise NIRError("the 'nir' package is not installed: pip install 'spark-snn[nir]' "
                       f"(or pip install nir) ({exc})") from None
    return nir


from .export import to_nir  # noqa: E402
from .files import read_nir, write_nir  # noqa: E402
from .importer import from_nir  # noqa: E402
from .units import detect_time_unit  # noqa: E402

__all__ = ["NIRError", "TimeUnitUnknown", "to_nir", "from_nir", "read_nir", "write_nir", "detect_time_unit",
           "require_nir"]
