"""Spark's component library: one module per node type (see components/base.py for the contract).

Every module in this package that defines a ``Component`` subclass with a ``type_name`` adds that
node type to the registry, the editor's palette and the graph-file format, with no other change.
"""
