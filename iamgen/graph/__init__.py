"""The access graph: who used what, as a networkx MultiDiGraph with typed queries.

Nodes are principals (roles, users, root), keyed by their IAM ARN, and the
resources they touched, keyed by ARN (or ``"*"`` for calls that name none).
Each edge is one observed (action, outcome, conditions) of a principal on a
resource, carrying count, first and last seen, regions, what the calls' records
proved (``Usage.context``) and the earliest call's eventID. A role ARN used
as a resource (``sts:AssumeRole``, ``iam:GetRole``) lands on that role's own
principal node, so successful AssumeRole edges chain principals into paths.

:mod:`.build` makes a graph from usages, :mod:`.access` answers queries,
:mod:`.files` saves and reads it (JSON, GraphML; DOT out), and :mod:`.schema`
names what nodes and edges hold. This package is the only one that imports
networkx; queries return model objects or small frozen results, and the
networkx graph never leaves it.

May import: ``iamgen.model``, ``iamgen.arn``, ``iamgen.resource_kinds``,
``iamgen.errors``, ``iamgen.mapping.signals`` (the :class:`Signal` a trail
context keeps) and ``iamgen.scanning.tally`` (only ``add_facts``: merged
usages add their facts as a scan does). Nothing later in the pipeline.
"""

from .access import AccessGraph, Chain, Hop, Sighting, TrailContext
from .build import build_graph
from .files import GRAPH_FORMATS, from_graphml, from_json, read_graph, render_graph
from .files import to_dot, to_graphml, to_json
from .schema import SCHEMA_VERSION

__all__ = [
    "GRAPH_FORMATS", "SCHEMA_VERSION", "AccessGraph", "Chain", "Hop", "Sighting", "TrailContext",
    "build_graph", "from_graphml", "from_json", "read_graph", "render_graph", "to_dot",
    "to_graphml", "to_json",
]
