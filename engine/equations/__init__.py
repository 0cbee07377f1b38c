"""The model-text language of equation-defined nodes: parse -> check units -> translate to JAX.

Public API (used by the node types in ``nodes.py`` and by the editor):

* ``check_model(text, kind, reserved=()) -> Model``: parse and check a text for node kind
  ``"neuron"``, ``"synapse"`` or ``"plasticity"``. Never raises for a bad text.
  ``Model.errors`` is a list of ``ModelError`` (``line``, ``column``, ``end_column`` (1-based,
  end exclusive), ``message``, ``term``: the offending text), sorted by position;
  ``Model.declared()`` the declared names as ``Symbol`` (``name``, ``role``, ``unit``,
  ``help``, ``span``), in text order; ``Model.symbols`` every name the text may use.
* ``vocabulary() -> dict``: the reserved words, functions and units, for highlighting and
  completion.
* ``LIBRARY``: shipped model texts (equation versions of lif, alif, adex, izhikevich, an
  exponential synapse, stdp and a three-factor rule).

No Qt here; nothing in a model text is ever evaluated as Python.
"""
from __future__ import annotations

from .check import KINDS, Model, Symbol, check_model
from .defaults import LIBRARY
from .functions import FUNCTIONS
from .parser import ASSIGN_OPS, BLOCKS, DECL_WORDS, DIRECTIVES, INPUT_KINDS, KEYWORDS, PHASES
from .syntax import ModelError
from .translate import METHODS
from .units import UNITS

__all__ = ["KINDS", "LIBRARY", "METHODS", "Model", "ModelError", "Symbol", "check_model",
           "vocabulary"]


def vocabulary() -> dict[str, list[str]]:
    """Words with a fixed meaning in every model text, by group (for highlighting/completion)."""
    return {"keywords": sorted(KEYWORDS | set(DECL_WORDS) | set(BLOCKS) | set(DIRECTIVES)
                               | {"on", "after", *PHASES}),
            "kinds": list(INPUT_KINDS), "functions": sorted(FUNCTIONS),
            "units": sorted(UNITS), "builtins": ["t", "dt"], "operators": list(ASSIGN_OPS),
            "methods": list(METHODS)}
