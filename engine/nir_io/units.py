"""Time units of NIR files: NIR stores time constants and delays as plain numbers without a
unit, and frameworks disagree (snnTorch, Norse and Spark write seconds; others milliseconds).

``detect_time_unit`` reads the unit from the magnitudes only where that is unambiguous for
membrane and synaptic time constants and delays:

* every value <= 0.1: seconds. In milliseconds they would all be 0.1 ms or shorter, which no
  membrane or synapse has (and which is a single time step of most simulations);
* every value >= 1: milliseconds. In seconds they would all be a second or longer;
* anything else (e.g. 0.5, or 0.02 next to 20): None, and the caller must be told the unit.
"""
from __future__ import annotations

import math

SECONDS_AT_MOST = 0.1
MILLISECONDS_AT_LEAST = 1.0
UNITS = {"s": 1000.0, "ms": 1.0}   # unit -> milliseconds per unit


def detect_time_unit(values) -> str | None:
    """'s', 'ms', or None when the magnitudes of ``values`` (positive times) do not tell."""
    vals = [abs(float(v)) for v in values if float(v) != 0.0 and math.isfinite(float(v))]
    if not vals:
        return "s"   # nothing depends on the unit
    if max(vals) <= SECONDS_AT_MOST:
        return "s"
    if min(vals) >= MILLISECONDS_AT_LEAST:
        return "ms"
    return None


def clean(x: float) -> float:
    """``x`` rounded to 12 significant digits: 0.005 s * 1000 gives back exactly 5.0 ms, so a
    graph written to NIR and read back has the very same parameter values."""
    return float(f"{float(x):.12g}")


def to_ms(x: float, unit: str) -> float:
    return clean(float(x) * UNITS[unit])


def from_ms(x: float, unit: str = "s") -> float:
    return clean(float(x) / UNITS[unit])
