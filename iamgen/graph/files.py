"""Saving and reading access graphs: node-link JSON and GraphML (both read
back, schema-versioned: the current version and the one before it), and
Graphviz DOT (written only)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import ParseError

from ..errors import InputError
from ..mapping.signals import Signal
from ..model import Evidence, PrincipalKind, in_utc
from ..user_json import read_json
from .access import AccessGraph, TrailContext
from .schema import (
    ALLOWED,
    CHAIN_ACTIONS,
    DENIED,
    OLDEST_READ_VERSION,
    PRINCIPAL,
    RESOURCE,
    SCHEMA,
    SCHEMA_VERSION,
    conditions_from_json,
    conditions_to_json,
    load_networkx,
)

if TYPE_CHECKING:
    import networkx as nx

GRAPH_FORMATS = ("json", "graphml", "dot")


def to_json(access: AccessGraph) -> str:
    """Node-link JSON (networkx's layout, ``edges`` key) with a schema version."""
    graph = access.networkx_graph
    document = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "directed": True,
        "multigraph": True,
        "graph": {"schema": SCHEMA, "schema_version": SCHEMA_VERSION,
                  "trail": _context_json(access.context)},
        "nodes": [{"id": node, **_node_json(attrs)}
                  for node, attrs in sorted(graph.nodes(data=True))],
        "edges": sorted(
            ({"source": s, "target": t, "key": k, **_edge_json(d)}
             for s, t, k, d in graph.edges(keys=True, data=True)),
            key=lambda e: (e["source"], e["target"], e["key"]),
        ),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def from_json(text: str) -> AccessGraph:
    """Read a graph written by :func:`to_json`. Raises InputError on anything else."""
    try:
        document = read_json(text)
    except ValueError as exc:
        raise InputError(f"graph file is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise InputError("not an iamgen access graph (no \"schema\": \"iamgen-access-graph\")")
    version = _check_version(document.get("schema_version"))
    graph = load_networkx().MultiDiGraph(schema=SCHEMA, schema_version=SCHEMA_VERSION)
    try:
        context = _context_from(document["graph"]["trail"], version)
        for node in document["nodes"]:
            graph.add_node(str(node["id"]), **_node_from(node))
        for edge in document["edges"]:
            facts, example = ((edge["context"], edge["example_event_id"])
                              if version >= 3 else ([], ""))
            _add_loaded_edge(graph, edge, edge["conditions"], edge["regions"], facts, example)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # (Infinity as a count)
        raise InputError(f"graph file is damaged: {type(exc).__name__}: {exc}") from None
    return AccessGraph(graph, context=context)


def to_graphml(access: AccessGraph) -> str:
    """GraphML for Gephi and yEd: every attribute a string or an integer.
    InputError (output that cannot be written) for a name holding a character
    XML 1.0 cannot hold, escaped or not (a control character)."""
    graph = access.networkx_graph
    flat = load_networkx().MultiDiGraph()
    flat.graph.update({"schema": SCHEMA, "schema_version": SCHEMA_VERSION,
                       "trail": json.dumps(_context_json(access.context), sort_keys=True,
                                           separators=(",", ":"))})
    for node, attrs in sorted(graph.nodes(data=True)):
        flat.add_node(node, **_node_json(attrs))
    for s, t, k, d in sorted(graph.edges(keys=True, data=True),
                             key=lambda e: (e[0], e[1], e[2])):
        attrs = _edge_json(d)
        attrs["regions"] = ",".join(attrs["regions"])
        for name in ("conditions", "context"):  # a JSON list, "" when empty
            attrs[name] = (json.dumps(attrs[name], sort_keys=True, separators=(",", ":"))
                           if attrs[name] else "")
        flat.add_edge(s, t, key=k, **attrs)
    text = "\n".join(load_networkx().generate_graphml(flat, named_key_ids=True)) + "\n"
    unfit = _NOT_XML.search(text)
    if unfit:
        where = text[max(0, unfit.start() - 40):unfit.start()].rsplit(">", 1)[-1]
        raise InputError(f"cannot write GraphML: a name or value holds U+{ord(unfit.group()):04X} "
                         f"(after {where!r}), which XML cannot hold: write --format json")
    return text


def from_graphml(text: str) -> AccessGraph:
    """Read a graph written by :func:`to_graphml`."""
    try:
        flat = load_networkx().parse_graphml(text, force_multigraph=True, edge_key_type=str)
    except (ParseError, load_networkx().NetworkXError, KeyError, ValueError) as exc:
        raise InputError(f"graph file is not readable GraphML: {exc}") from None
    if flat.graph.get("schema") != SCHEMA:
        raise InputError("not an iamgen access graph (GraphML without schema attribute)")
    version = _check_version(flat.graph.get("schema_version"))
    graph = load_networkx().MultiDiGraph(schema=SCHEMA, schema_version=SCHEMA_VERSION)
    try:
        context = _context_from(json.loads(flat.graph["trail"]), version)
        for node, attrs in flat.nodes(data=True):
            graph.add_node(node, **_node_from(attrs))
        for s, t, k, d in flat.edges(keys=True, data=True):
            regions = [r for r in str(d.get("regions", "")).split(",") if r]
            conditions = json.loads(d["conditions"]) if d.get("conditions") else []
            facts, example = ((json.loads(d["context"]) if d["context"] else [],
                               d["example_event_id"]) if version >= 3 else ([], ""))
            _add_loaded_edge(graph, {**d, "source": s, "target": t, "key": k},
                             conditions, regions, facts, example)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"graph file is damaged: {type(exc).__name__}: {exc}") from None
    return AccessGraph(graph, context=context)


def read_graph(text: str) -> AccessGraph:
    """Read a saved graph, JSON or GraphML, whichever ``text`` is."""
    return from_graphml(text) if text.lstrip().startswith("<") else from_json(text)


def to_dot(access: AccessGraph) -> str:
    """Graphviz DOT: principals as boxes, resources as ellipses, denied edges red."""
    graph = access.networkx_graph
    lines = ["digraph iamgen_access {", "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for node, attrs in sorted(graph.nodes(data=True)):
        shape = "box" if attrs["node_type"] == PRINCIPAL else "ellipse"
        label = f"{attrs['label']}\n[{attrs['kind']}]"
        lines.append(f"  {_dot_quote(node)} [shape={shape}, label={_dot_quote(label)}];")
    for s, t, k, d in sorted(graph.edges(keys=True, data=True), key=lambda e: e[:3]):
        label = f"{d['action']} x{d['count']}"
        style = ', color="red", fontcolor="red"' if d["outcome"] == DENIED else ""
        if d["action"].lower() in CHAIN_ACTIONS and d["outcome"] == ALLOWED:
            style = ', color="blue", penwidth=2'
        lines.append(f"  {_dot_quote(s)} -> {_dot_quote(t)} [label={_dot_quote(label)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_graph(access: AccessGraph, fmt: str) -> str:
    """The graph in one of GRAPH_FORMATS."""
    writers = {"json": to_json, "graphml": to_graphml, "dot": to_dot}
    if fmt not in writers:
        raise ValueError(f"unknown graph format {fmt!r}")
    return writers[fmt](access)


def _dot_quote(text: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped, line breaks as
    \\n, other control characters as \\uXXXX (Graphviz drops them: two
    names that differ only in one would be one node)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    escaped = _CONTROL.sub(lambda found: f"\\u{ord(found.group()):04x}", escaped)
    return f'"{escaped}"'


_CONTROL = re.compile("[\x00-\x1f\x7f]")
# What XML 1.0 cannot hold, even as a character reference.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _check_version(version: Any) -> int:
    """The file's schema version when this iamgen reads it; InputError otherwise."""
    if version == 1:
        raise InputError(
            "graph schema version 1 (written by an older iamgen) lacks the trail's time "
            "window and which data events it recorded, so results from it would differ "
            "from the trail's: write it again with `iamgen graph --trail ...`")
    if type(version) is not int or not OLDEST_READ_VERSION <= version <= SCHEMA_VERSION:
        raise InputError(f"graph schema version {version!r} is not supported "
                         f"(this iamgen reads versions {OLDEST_READ_VERSION} to "
                         f"{SCHEMA_VERSION})")
    return version


def _context_json(context: TrailContext) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return _iso(value) if value is not None else None

    actions = context.trail_actions
    signals = context.signals
    return {"first_event": moment(context.first_event), "last_event": moment(context.last_event),
            "since": moment(context.since), "until": moment(context.until),
            "trail_actions": list(actions) if actions is not None else None,
            "signals": ([_signal_json(signal, evidence) for signal, evidence in signals]
                        if signals is not None else None)}


def _context_from(raw: Mapping[str, Any], version: int) -> TrailContext:
    def moment(key: str) -> datetime | None:
        value = raw[key]
        return _parse_time(value) if value is not None else None

    actions = raw["trail_actions"]
    if actions is not None and not isinstance(actions, list):
        raise TypeError("trail_actions is not a list")
    signals = raw["signals"] if version >= 3 else None  # version 2 did not keep them
    if signals is not None and not isinstance(signals, list):
        raise TypeError("signals is not a list")
    return TrailContext(moment("first_event"), moment("last_event"), moment("since"),
                        moment("until"),
                        tuple(str(a) for a in actions) if actions is not None else None,
                        tuple(_signal_from(s) for s in signals) if signals is not None else None)


def _signal_json(signal: Signal, evidence: Evidence) -> dict[str, Any]:
    return {"code": signal.code, "principal": signal.principal, "subject": signal.subject,
            "detail": signal.detail,
            "evidence": {"count": evidence.count, "first_seen": _iso(evidence.first_seen),
                         "last_seen": _iso(evidence.last_seen),
                         "example_event_id": evidence.example_event_id}}


def _signal_from(raw: Mapping[str, Any]) -> tuple[Signal, Evidence]:
    evidence = raw["evidence"]
    return (Signal(str(raw["code"]), str(raw["principal"]), str(raw["subject"]),
                   str(raw["detail"])),
            Evidence(_count(evidence["count"]), _parse_time(evidence["first_seen"]),
                     _parse_time(evidence["last_seen"]), str(evidence["example_event_id"])))


def _facts_json(context: tuple[tuple[str, str, int], ...]) -> list[dict[str, Any]]:
    """An edge's context (sorted (fact, value, count)) as JSON values."""
    return [{"fact": fact, "value": value, "count": count} for fact, value, count in context]


def _facts_from(raw: Any) -> tuple[tuple[str, str, int], ...]:
    if not isinstance(raw, list):
        raise TypeError("context is not a list")
    return tuple(sorted((str(f["fact"]), str(f["value"]), _count(f["count"])) for f in raw))


def _count(raw: Any) -> int:
    """A count read back: a whole number, at least 1 (ValueError otherwise)."""
    count = int(raw)
    if count != raw or count < 1:
        raise ValueError(f"count {raw!r} is not a whole number of at least 1")
    return count


def _node_json(attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {"node_type": attrs["node_type"], "kind": attrs["kind"],
            "label": attrs["label"], "events": attrs["events"]}


def _node_from(raw: Mapping[str, Any]) -> dict[str, Any]:
    node_type = str(raw["node_type"])
    kind = str(raw["kind"])
    if node_type not in (PRINCIPAL, RESOURCE):
        raise ValueError(f"unknown node_type {node_type!r}")
    if node_type == PRINCIPAL:
        PrincipalKind(kind)  # raises ValueError for anything else
    return {"node_type": node_type, "kind": kind, "label": str(raw["label"]),
            "events": int(raw["events"])}


def _edge_json(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "action": data["action"],
        "resource": data["resource"],
        "outcome": data["outcome"],
        "count": data["count"],
        "first_seen": _iso(data["first_seen"]),
        "last_seen": _iso(data["last_seen"]),
        "regions": list(data["regions"]),
        "conditions": conditions_to_json(data["conditions"]),
        "context": _facts_json(data["context"]),
        "example_event_id": data["example_event_id"],
    }


def _add_loaded_edge(graph: nx.MultiDiGraph, raw: Mapping[str, Any],
                     conditions: Any, regions: Any, facts: Any, example_event_id: Any) -> None:
    source, target = str(raw["source"]), str(raw["target"])
    if source not in graph or graph.nodes[source]["node_type"] != PRINCIPAL:
        raise ValueError(f"edge from {source!r}, which is not a principal node")
    if target not in graph:
        raise ValueError(f"edge to {target!r}, which is not a node")
    outcome = str(raw["outcome"])
    if outcome not in (ALLOWED, DENIED):
        raise ValueError(f"unknown outcome {outcome!r}")
    graph.add_edge(
        source, target, key=str(raw["key"]),
        action=str(raw["action"]), resource=str(raw["resource"]), outcome=outcome,
        conditions=conditions_from_json(conditions), count=int(raw["count"]),
        first_seen=_parse_time(raw["first_seen"]), last_seen=_parse_time(raw["last_seen"]),
        regions=tuple(sorted(str(r) for r in regions)),
        context=_facts_from(facts), example_event_id=str(example_event_id),
    )



def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(text: Any) -> datetime:
    moment = in_utc(datetime.fromisoformat(str(text)))
    if moment is None:
        raise ValueError(f"time {text!r} lies outside the years a date holds in UTC")
    return moment
