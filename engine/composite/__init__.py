"""Composite components: a subgraph made into a reusable node type. No Qt here.

* model.py    Definition (inner nodes and edges, boundary ports, promoted parameters) and its
              file layout; an instance is a plain node whose ``type`` names a definition.
* types.py    what a type name means in a graph (built-in, embedded, library), and
              DefinitionType: a definition read like a component class.
* flatten.py  instances -> plain nodes with dotted ids (``col1.exc``), and where each came from.
* check.py    validation of graphs with composites (``engine.analyze`` calls it).
* edit.py     the editor's operations, each returning a new Graph (one undo step each).
* library.py  library files, the user library folder, package entry points, and the
              differences between embedded copies and the library.
* single.py   one node (an equation-defined model) made into a library component.

The engine compiles a composite graph by flattening it first (engine/compiler.py), so a
composite costs nothing at run time and every inner node stays addressable by its dotted id.
"""
from .check import analyze_definition, definitions_closure, used_definitions
from .edit import (current_value, definition_graph, embed_used, flatten, infer_boundary,
                   instantiate, make_component, merge_definitions, unpack, update_definition,
                   with_body)
from .flatten import Flat, Instance, flatten_level
from .library import (LIBRARY_TAG, LibraryDifference, describe_changes, library_differences,
                      library_dirs, library_dumps, load_library, loads_library, save_library,
                      scan_library, set_library_dirs, take_from_library, user_library_dir)
from .model import (COMPOSITE_CATEGORY, BoundaryPort, CompositeError, Definition, Promoted,
                    check_name)
from .single import library_file, node_component, save_to_library
from .types import DefinitionType, Types, node_type, types_by_category

__all__ = [
    "analyze_definition", "types_by_category",
    "BoundaryPort", "COMPOSITE_CATEGORY", "CompositeError", "Definition", "DefinitionType",
    "Flat", "Instance", "LIBRARY_TAG", "LibraryDifference", "Promoted", "Types", "check_name",
    "current_value", "definition_graph", "definitions_closure", "describe_changes",
    "embed_used", "flatten", "flatten_level", "infer_boundary", "instantiate",
    "library_differences", "library_dirs", "library_dumps", "load_library", "loads_library",
    "make_component", "merge_definitions", "node_type", "save_library", "scan_library",
    "set_library_dirs", "take_from_library", "unpack", "update_definition",
    "used_definitions", "user_library_dir", "with_body",
    "library_file", "node_component", "save_to_library",
]
