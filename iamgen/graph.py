"""The access graph: who used what, as a networkx MultiDiGraph with typed queries.

Nodes are principals (roles, users, root), keyed by their IAM ARN, and the
resources they touched, keyed by ARN (or ``"*"`` for calls that name none).
Each edge is one observed (action, outcome, conditions) of a principal on a
resource, carrying count, first and last seen, and regions. A role ARN used
as a resource (``sts:AssumeRole``, ``iam:GetRole``) lands on that role's own
principal node, so successful AssumeRole edges chain principals into paths.

This is the only module that imports networkx. Queries return model objects
(or the small frozen results below); the networkx graph never leaves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from itertools import islice, pairwise
from operator import itemgetter
from types import ModuleType
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import ParseError


from .arn import parse_arn, resource_matches, unescape
from .catalog import load_catalog
from .errors import InputError
from .model import Condition, Permission, Principal, PrincipalKind, SortedUsages, Usage

if TYPE_CHECKING:
    import networkx as nx



def _nx() -> ModuleType:
    """networkx, imported on first use: importing it takes ~70 ms, and
    ``suggest``, ``diff`` and ``review`` never need it."""
    import networkx

    return networkx


SCHEMA = "iamgen-access-graph"
SCHEMA_VERSION = 2
"""2 adds ``graph.trail`` (:class:`TrailContext`); version 1 files lack it and are refused."""
GRAPH_FORMATS = ("json", "graphml", "dot")

PRINCIPAL = "principal"
RESOURCE = "resource"
ALLOWED = "allowed"
DENIED = "denied"
WILDCARD = "*"

# Only sts:AssumeRole is made by an IAM identity; AssumeRoleWithSAML and
# AssumeRoleWithWebIdentity are called by federated callers iamgen does not
# attribute to a principal, so they can never start an edge here.
CHAIN_ACTIONS = frozenset({"sts:assumerole"})
MAX_CHAIN_LENGTH = 8
MAX_CHAINS_PER_START = 20


@dataclass(frozen=True, slots=True)
class TrailContext:
    """What results depend on besides the edges: the trail's span and filters, and
    which actions it shows a call of. Saved with the graph, so a command reading a
    saved graph answers as it would reading the trail itself."""

    first_event: datetime | None = None
    last_event: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Every action the trail shows a call of, by anyone (which data events it
    # records); None when not known.
    trail_actions: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Sighting:
    """One principal's use of one action on the resources a ``who`` pattern matched."""

    principal: Principal
    action: str
    denied: bool
    count: int
    first_seen: datetime
    last_seen: datetime
    resources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Hop:
    """One observed, successful AssumeRole from ``source`` into ``target``."""

    source: Principal
    target: Principal
    count: int
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class Chain:
    """A path of AssumeRole hops from a starting principal to a role."""

    hops: tuple[Hop, ...]

    @property
    def start(self) -> Principal:
        """Where the chain begins."""
        return self.hops[0].source

    @property
    def principals(self) -> tuple[Principal, ...]:
        """Every principal on the chain, start first."""
        return (self.hops[0].source, *(hop.target for hop in self.hops))


class AccessGraph:
    """A built access graph. Treat as immutable; build with :func:`build_graph`."""

    def __init__(self, graph: nx.MultiDiGraph,
                 usages_by_node: Mapping[str, tuple[Usage, ...]] | None = None,
                 context: TrailContext | None = None) -> None:
        """Wrap ``graph``; ``usages_by_node`` (each principal node's usages, sorted
        as :meth:`usages_of` returns them) saves rebuilding them from edge data."""
        self.context = context if context is not None else TrailContext()
        self._built: nx.MultiDiGraph | None = graph
        self._build: Callable[[], nx.MultiDiGraph] | None = None
        self._by_node = dict(usages_by_node) if usages_by_node is not None else None
        self._events: dict[str, int] | None = None

    @classmethod
    def _deferred(cls, build: Callable[[], nx.MultiDiGraph], principals: Mapping[str, Principal],
                  events: Mapping[str, int],
                  usages_by_node: Mapping[str, tuple[Usage, ...]],
                  context: TrailContext) -> AccessGraph:
        """A graph whose networkx form is built by ``build`` when first needed.

        Per-principal queries (the ones ``suggest``, ``diff`` and ``review``
        ask) are answered from ``principals``, ``events`` and
        ``usages_by_node`` alone; walks, reviewer queries and exports build the
        networkx graph, once.
        """
        access = cls.__new__(cls)
        access.context = context
        access._built = None
        access._build = build
        access._by_node = dict(usages_by_node)
        access._events = dict(events)
        access.__dict__["_principal_of_node"] = dict(principals)
        return access

    @property
    def _graph(self) -> nx.MultiDiGraph:
        """The networkx graph (built now if it was deferred)."""
        if self._built is None:
            assert self._build is not None
            self._built, self._build = self._build(), None
        return self._built

    # -- sizes ------------------------------------------------------------

    @property
    def node_count(self) -> int:
        """How many principals and resources the graph holds."""
        return int(self._graph.number_of_nodes())

    @property
    def edge_count(self) -> int:
        """How many (principal, action, resource, outcome) edges the graph holds."""
        return int(self._graph.number_of_edges())

    # -- principals and their use ------------------------------------------

    def principals(self) -> tuple[Principal, ...]:
        """Every principal that made a call, sorted."""
        return tuple(sorted(self._principal_of_node.values()))

    def events_of(self, principal: Principal) -> int:
        """How many trail events the principal made (including ones needing no grant)."""
        node = self._principal_node(principal)
        if node is None:
            return 0
        if self._events is not None:
            return self._events.get(node, 0)
        return int(self._graph.nodes[node].get("events", 0))

    def usages(self) -> tuple[Usage, ...]:
        """Every usage in the graph, sorted as :meth:`ScanResult.usages` sorts them."""
        by_node = self._usages_by_node()
        return tuple(usage for principal in self.principals()
                     for usage in by_node.get(principal.arn, ()))

    def usages_of(self, principal: Principal) -> tuple[Usage, ...]:
        """The principal's usages, allowed and denied, sorted."""
        node = self._principal_node(principal)
        if node is None:
            return ()
        mine = self._usages_by_node().get(node, ())
        if mine and mine[0].principal != principal:  # asked with another kind of the same ARN
            return tuple(replace(usage, principal=principal) for usage in mine)
        return mine

    def permissions_of(self, principal: Principal) -> tuple[Permission, ...]:
        """The permissions the principal used successfully, sorted and distinct."""
        # usages_of is sorted by (permission, denied) and holds each pair once,
        # so the allowed permissions come out sorted and distinct.
        return tuple(u.permission for u in self.usages_of(principal) if not u.denied)

    def span_of(self, principal: Principal) -> tuple[datetime | None, datetime | None]:
        """The first and last time the principal was seen using a permission."""
        mine = self.usages_of(principal)
        return (min((u.first_seen for u in mine), default=None),
                max((u.last_seen for u in mine), default=None))

    # -- reviewer queries ---------------------------------------------------

    def who(self, pattern: str) -> tuple[Sighting, ...]:
        """Which principals used resources matching an ARN or wildcard pattern.

        One sighting per (principal, action, outcome), newest use first.
        Matching is IAM's: case-sensitive, ``*`` and ``?`` per ARN segment.
        """
        groups: dict[tuple[Principal, str, bool], list[dict[str, Any]]] = {}
        for principal, data in self._edges():
            # Resources are policy text (a literal * is ${*}): match the name itself.
            if resource_matches(pattern, unescape(data["resource"])):
                key = (principal, data["action"], data["outcome"] == DENIED)
                groups.setdefault(key, []).append(data)
        sightings = [
            Sighting(
                principal=principal,
                action=action,
                denied=denied,
                count=sum(d["count"] for d in edges),
                first_seen=min(d["first_seen"] for d in edges),
                last_seen=max(d["last_seen"] for d in edges),
                resources=tuple(sorted({d["resource"] for d in edges})),
            )
            for (principal, action, denied), edges in groups.items()
        ]
        return tuple(sorted(sightings, key=lambda s: (_newest_first(s.last_seen), s.principal,
                                                      s.action.lower(), s.denied)))

    def roles(self) -> tuple[Principal, ...]:
        """Every role in the graph, acting or only assumed, sorted."""
        found = {self._as_principal(node) for node in self._graph.nodes
                 if self._graph.nodes[node]["kind"] in (PrincipalKind.ROLE.value, "iam:role")}
        return tuple(sorted(found))

    def can_reach(self, role: Principal) -> tuple[Chain, ...]:
        """Every observed chain of successful AssumeRole calls that ends in ``role``.

        Chains are networkx simple paths (``shortest_simple_paths``), at most
        MAX_CHAIN_LENGTH hops and MAX_CHAINS_PER_START per starting principal.
        """
        target = self._principal_node(role) or self._role_node_by_name(role)
        chains = self._chain_graph
        if target is None or target not in chains:
            return ()
        found: list[Chain] = []
        for start in sorted(_nx().ancestors(chains, target)):
            paths = _nx().shortest_simple_paths(chains, start, target)
            for path in islice(paths, MAX_CHAINS_PER_START):
                if len(path) - 1 > MAX_CHAIN_LENGTH:
                    break
                found.append(Chain(tuple(
                    Hop(self._as_principal(a), self._as_principal(b),
                        chains.edges[a, b]["count"], chains.edges[a, b]["last_seen"])
                    for a, b in pairwise(path)
                )))
        return tuple(sorted(found, key=lambda c: (len(c.hops), c.principals)))

    # -- internals ----------------------------------------------------------

    @cached_property
    def _principal_of_node(self) -> dict[str, Principal]:
        return {node: Principal(node, PrincipalKind(attrs["kind"]))
                for node, attrs in self._graph.nodes(data=True)
                if attrs["node_type"] == PRINCIPAL}

    @cached_property
    def _chain_graph(self) -> nx.DiGraph:
        chains = _nx().DiGraph()
        for source, target, data in self._graph.edges(data=True):
            if data["action"].lower() in CHAIN_ACTIONS and data["outcome"] == ALLOWED:
                if self._graph.nodes[target]["kind"] not in (PrincipalKind.ROLE.value,
                                                             "iam:role"):
                    continue
                if chains.has_edge(source, target):
                    edge = chains.edges[source, target]
                    edge["count"] += data["count"]
                    edge["last_seen"] = max(edge["last_seen"], data["last_seen"])
                else:
                    chains.add_edge(source, target, count=data["count"],
                                    last_seen=data["last_seen"])
        return chains

    def _principal_node(self, principal: Principal) -> str | None:
        node = principal.arn
        if self._built is None:  # deferred: the principals are known without it
            return node if node in self._principal_of_node else None
        if node in self._graph and self._graph.nodes[node]["node_type"] == PRINCIPAL:
            return node
        return None

    def _role_node_by_name(self, role: Principal) -> str | None:
        if role.kind is not PrincipalKind.ROLE:
            return None
        if role.arn in self._graph:
            return role.arn
        wanted = _identity_key(role.arn)
        hits = sorted(n for n in self._graph.nodes if _identity_key(n) == wanted)
        return hits[0] if hits else None

    def _as_principal(self, node: str) -> Principal:
        known = self._principal_of_node.get(node)
        return known if known is not None else Principal(node, PrincipalKind.ROLE)

    def _usages_by_node(self) -> dict[str, tuple[Usage, ...]]:
        """Each principal node's usages, sorted (from edge data, once, when not given)."""
        if self._by_node is None:
            grouped: dict[str, list[Usage]] = {}
            principal_of = self._principal_of_node
            for source, _, data in self._graph.edges(data=True):
                grouped.setdefault(source, []).append(self._usage(principal_of[source], data))
            self._by_node = {node: tuple(sorted(found, key=_permission_order))
                             for node, found in grouped.items()}
        return self._by_node

    def _edges(self) -> Iterable[tuple[Principal, dict[str, Any]]]:
        principal_of = self._principal_of_node
        for source, _, data in self._graph.edges(data=True):
            yield principal_of[source], data

    @staticmethod
    def _usage(principal: Principal, data: Mapping[str, Any]) -> Usage:
        return Usage(
            principal=principal,
            permission=Permission(data["action"], data["resource"], data["conditions"]),
            denied=data["outcome"] == DENIED,
            count=data["count"],
            first_seen=data["first_seen"],
            last_seen=data["last_seen"],
            regions=data["regions"],
        )


def _usage_order(usage: Usage) -> tuple[Any, ...]:
    """Usages sort by (principal, permission, denied): the same order as plain
    tuples, which are much cheaper to compare than the dataclasses."""
    principal, permission = usage.principal, usage.permission
    return (principal.arn, principal.kind, permission.action, permission.resource,
            permission.conditions, usage.denied)


def _permission_order(usage: Usage) -> tuple[Any, ...]:
    """:func:`_usage_order` inside one principal."""
    permission = usage.permission
    return (permission.action, permission.resource, permission.conditions, usage.denied)


def _newest_first(moment: datetime) -> float:
    return -moment.timestamp()


# -- building -------------------------------------------------------------------


def build_graph(usages: Iterable[Usage],
                events: Mapping[Principal, int] | None = None,
                context: TrailContext | None = None) -> AccessGraph:
    """The access graph of some usages.

    ``events`` (a principal's total trail events, as ``ScanResult.principal_events``)
    adds principals whose calls needed no grant and keeps event counts for
    provenance; ``context`` (the trail's span, filters and actions) is kept as
    it is and saved with the graph. Duplicate (principal, permission, outcome) usages are merged.
    The result does not depend on the order of ``usages``. The networkx form
    is built when a query first needs it: per-principal queries do not.
    """
    merged: list[Usage] = []
    if isinstance(usages, SortedUsages):  # sorted and distinct already
        merged.extend(usages)
    else:
        last_key: tuple[Any, ...] | None = None
        for key, usage in sorted([(_usage_order(u), u) for u in usages], key=itemgetter(0)):
            if key == last_key:
                merged[-1] = _merge(merged[-1], usage)
            else:
                merged.append(usage)
                last_key = key
    counts = dict(events or {})
    principals = sorted({usage.principal for usage in merged} | set(counts))
    by_node: dict[str, list[Usage]] = {}
    for usage in merged:
        source = usage.principal.arn
        mine = by_node.get(source)
        if mine is None:
            mine = by_node[source] = []
        mine.append(usage)

    def build() -> nx.MultiDiGraph:
        return _networkx_graph(merged, principals, counts)

    context = context if context is not None else TrailContext()
    if len({p.arn for p in principals}) != len(principals):  # one ARN as two kinds
        return AccessGraph(build(), context=context)  # the nodes decide each ARN's kind
    return AccessGraph._deferred(
        build, {p.arn: p for p in principals}, {p.arn: counts.get(p, 0) for p in principals},
        {node: tuple(found) for node, found in by_node.items()}, context)


def _networkx_graph(merged: list[Usage], principals: list[Principal],
                    counts: Mapping[Principal, int]) -> nx.MultiDiGraph:
    """The MultiDiGraph of merged usages (one edge each) and their principals."""
    graph = _nx().MultiDiGraph(schema=SCHEMA, schema_version=SCHEMA_VERSION)
    for principal in principals:
        graph.add_node(principal.arn, **_principal_attrs(principal, counts.get(principal, 0)))
    identities = _identity_index(principals)
    principal_arns = frozenset(p.arn for p in principals)
    targets: dict[str, str] = {}
    on_principals: set[tuple[str, str, str]] = set()
    add_edge = graph.add_edge
    for usage in merged:
        permission = usage.permission
        resource = permission.resource
        target = targets.get(resource)
        if target is None:
            target = targets[resource] = _resource_node(resource, principal_arns, identities)
            if target not in graph:
                graph.add_node(target, **_resource_attrs(target))
        source = usage.principal.arn
        key = _edge_key(permission, usage.denied)
        if target in principal_arns:
            if (source, target, key) in on_principals:
                # Two spellings of one role (with and without its path) on its node:
                # the resource tells the edges apart, so neither overwrites the other.
                key = f"{key} {resource}"
            on_principals.add((source, target, key))
        add_edge(source, target, key, action=permission.action, resource=resource,
                 outcome=DENIED if usage.denied else ALLOWED, conditions=permission.conditions,
                 count=usage.count, first_seen=usage.first_seen, last_seen=usage.last_seen,
                 regions=tuple(usage.regions))
    return graph


def _merge(a: Usage, b: Usage) -> Usage:
    return Usage(
        principal=a.principal, permission=a.permission, denied=a.denied,
        count=a.count + b.count,
        first_seen=min(a.first_seen, b.first_seen), last_seen=max(a.last_seen, b.last_seen),
        regions=tuple(sorted(set(a.regions) | set(b.regions))),
    )


def _principal_attrs(principal: Principal, events: int) -> dict[str, Any]:
    return {"node_type": PRINCIPAL, "kind": principal.kind.value,
            "label": principal.name, "events": events}


def _resource_attrs(resource: str) -> dict[str, Any]:
    return {"node_type": RESOURCE, "kind": resource_kind(resource),
            "label": _short_label(resource), "events": 0}


def _edge_key(permission: Permission, denied: bool) -> str:
    key = f"{permission.action} {DENIED if denied else ALLOWED}"
    if permission.conditions:
        key += " " + json.dumps(_conditions_to_json(permission.conditions),
                                sort_keys=True, separators=(",", ":"))
    return key


def _identity_key(arn: str) -> tuple[str, str, str, str] | None:
    """(partition, account, role|user, name) of an IAM role or user ARN; paths ignored."""
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "iam":
        return None
    kind, _, rest = parsed.resource.partition("/")
    if kind not in ("role", "user") or not rest:
        return None
    return (parsed.partition, parsed.account, kind, rest.rsplit("/", 1)[-1])


def _identity_index(principals: Iterable[Principal]) -> dict[tuple[str, str, str, str], str]:
    index: dict[tuple[str, str, str, str], str] = {}
    for principal in sorted(principals):  # with and without path: the first ARN wins
        key = _identity_key(principal.arn)
        if key is not None:
            index.setdefault(key, principal.arn)
    return index


def _resource_node(resource: str, principal_arns: frozenset[str],
                   identities: Mapping[tuple[str, str, str, str], str]) -> str:
    """The node a resource lands on: a role or user's own node when it is one."""
    if resource in principal_arns or ":iam:" not in resource:
        return resource
    key = _identity_key(resource)
    if key is not None and key in identities:
        return identities[key]
    return resource


# -- resource kinds ---------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


@lru_cache(maxsize=256)
def _kind_patterns(service: str) -> tuple[tuple[int, re.Pattern[str], str], ...]:
    """(literal length, compiled resource-part pattern, type name) per catalog ARN format."""
    patterns = []
    for name, formats in load_catalog().resource_arn_formats(service).items():
        for arn_format in formats:
            parts = arn_format.split(":", 5)
            if len(parts) != 6 or parts[2] != service:
                continue
            body = parts[5]
            literal = len(_PLACEHOLDER.sub("", body))
            regex = "".join(
                ".+" if piece.startswith("${") else re.escape(piece)
                for piece in re.split(r"(\$\{[^}]*\})", body) if piece
            )
            patterns.append((literal, re.compile(regex, re.DOTALL), name.lower()))
    return tuple(sorted(patterns, key=lambda p: (-p[0], p[2])))


@lru_cache(maxsize=256)
def _kind_matcher(service: str) -> tuple[re.Pattern[str], dict[str, str]] | None:
    """One alternation of a service's ARN formats, most specific first, and the type
    name of each alternative's group: its fullmatch picks what trying each pattern
    in turn would (the first alternative that matches the whole text wins)."""
    patterns = _kind_patterns(service)
    if not patterns:
        return None
    names = {f"k{index}": name for index, (_, _, name) in enumerate(patterns)}
    alternation = "|".join(f"(?P<k{index}>{pattern.pattern})"
                           for index, (_, pattern, _) in enumerate(patterns))
    return re.compile(alternation, re.DOTALL), names


@lru_cache(maxsize=65536)
def resource_kind(resource: str) -> str:
    """``service:type`` of a resource ARN (``s3:object``, ``iam:role``), or ``*``.

    The type is the most specific catalog ARN format the ARN matches; when
    none does, the resource part's first word.
    """
    if resource == WILDCARD:
        return WILDCARD
    parsed = parse_arn(resource)
    if parsed is None:
        return "unknown"
    matcher = _kind_matcher(parsed.service)
    if matcher is not None:
        found = matcher[0].fullmatch(parsed.resource)
        if found is not None and found.lastgroup is not None:
            return f"{parsed.service}:{matcher[1][found.lastgroup]}"
    word = re.split(r"[:/]", parsed.resource, maxsplit=1)[0]
    return f"{parsed.service}:{word or 'resource'}"


def _short_label(resource: str) -> str:
    """``service:region:resource`` (``service:resource`` for global ones): the ARN
    without partition and account, so one name in four regions gives four labels."""
    parsed = parse_arn(resource)
    if parsed is None:
        return resource
    if parsed.region:
        return f"{parsed.service}:{parsed.region}:{parsed.resource}"
    return f"{parsed.service}:{parsed.resource}"


# -- saving and loading ------------------------------------------------------------


def to_json(access: AccessGraph) -> str:
    """Node-link JSON (networkx's layout, ``edges`` key) with a schema version."""
    graph = access._graph
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
        document = json.loads(text)
    except ValueError as exc:
        raise InputError(f"graph file is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise InputError("not an iamgen access graph (no \"schema\": \"iamgen-access-graph\")")
    _check_version(document.get("schema_version"))
    graph = _nx().MultiDiGraph(schema=SCHEMA, schema_version=SCHEMA_VERSION)
    try:
        context = _context_from(document["graph"]["trail"])
        for node in document["nodes"]:
            graph.add_node(str(node["id"]), **_node_from(node))
        for edge in document["edges"]:
            _add_loaded_edge(graph, edge, edge["conditions"], edge["regions"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"graph file is damaged: {type(exc).__name__}: {exc}") from None
    return AccessGraph(graph, context=context)


def to_graphml(access: AccessGraph) -> str:
    """GraphML for Gephi and yEd: every attribute a string or an integer."""
    flat = _nx().MultiDiGraph()
    flat.graph.update({"schema": SCHEMA, "schema_version": SCHEMA_VERSION,
                       "trail": json.dumps(_context_json(access.context), sort_keys=True,
                                           separators=(",", ":"))})
    for node, attrs in sorted(access._graph.nodes(data=True)):
        flat.add_node(node, **_node_json(attrs))
    for s, t, k, d in sorted(access._graph.edges(keys=True, data=True),
                             key=lambda e: (e[0], e[1], e[2])):
        attrs = _edge_json(d)
        attrs["regions"] = ",".join(attrs["regions"])
        attrs["conditions"] = (json.dumps(attrs["conditions"], sort_keys=True,
                                          separators=(",", ":"))
                               if attrs["conditions"] else "")
        flat.add_edge(s, t, key=k, **attrs)
    return "\n".join(_nx().generate_graphml(flat, named_key_ids=True)) + "\n"


def from_graphml(text: str) -> AccessGraph:
    """Read a graph written by :func:`to_graphml`."""
    try:
        flat = _nx().parse_graphml(text, force_multigraph=True, edge_key_type=str)
    except (ParseError, _nx().NetworkXError, KeyError, ValueError) as exc:
        raise InputError(f"graph file is not readable GraphML: {exc}") from None
    if flat.graph.get("schema") != SCHEMA:
        raise InputError("not an iamgen access graph (GraphML without schema attribute)")
    _check_version(flat.graph.get("schema_version"))
    graph = _nx().MultiDiGraph(schema=SCHEMA, schema_version=SCHEMA_VERSION)
    try:
        context = _context_from(json.loads(flat.graph["trail"]))
        for node, attrs in flat.nodes(data=True):
            graph.add_node(node, **_node_from(attrs))
        for s, t, k, d in flat.edges(keys=True, data=True):
            regions = [r for r in str(d.get("regions", "")).split(",") if r]
            conditions = json.loads(d["conditions"]) if d.get("conditions") else []
            _add_loaded_edge(graph, {**d, "source": s, "target": t, "key": k},
                             conditions, regions)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"graph file is damaged: {type(exc).__name__}: {exc}") from None
    return AccessGraph(graph, context=context)


def read_graph(text: str) -> AccessGraph:
    """Read a saved graph, JSON or GraphML, whichever ``text`` is."""
    return from_graphml(text) if text.lstrip().startswith("<") else from_json(text)


def to_dot(access: AccessGraph) -> str:
    """Graphviz DOT: principals as boxes, resources as ellipses, denied edges red."""
    graph = access._graph
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
    """A DOT quoted string: backslashes and quotes escaped, line breaks as \\n."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _check_version(version: Any) -> None:
    if version == 1:
        raise InputError(
            "graph schema version 1 (written by an older iamgen) lacks the trail's time "
            "window and which data events it recorded, so results from it would differ "
            "from the trail's: write it again with `iamgen graph --trail ...`")
    if version != SCHEMA_VERSION:
        raise InputError(f"graph schema version {version!r} is not supported "
                         f"(this iamgen reads version {SCHEMA_VERSION})")


def _context_json(context: TrailContext) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return _iso(value) if value is not None else None

    actions = context.trail_actions
    return {"first_event": moment(context.first_event), "last_event": moment(context.last_event),
            "since": moment(context.since), "until": moment(context.until),
            "trail_actions": list(actions) if actions is not None else None}


def _context_from(raw: Mapping[str, Any]) -> TrailContext:
    def moment(key: str) -> datetime | None:
        value = raw[key]
        return _parse_time(value) if value is not None else None

    actions = raw["trail_actions"]
    if actions is not None and not isinstance(actions, list):
        raise TypeError("trail_actions is not a list")
    return TrailContext(moment("first_event"), moment("last_event"), moment("since"),
                        moment("until"),
                        tuple(str(a) for a in actions) if actions is not None else None)


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
        "conditions": _conditions_to_json(data["conditions"]),
    }


def _add_loaded_edge(graph: nx.MultiDiGraph, raw: Mapping[str, Any],
                     conditions: Any, regions: Any) -> None:
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
        conditions=_conditions_from_json(conditions), count=int(raw["count"]),
        first_seen=_parse_time(raw["first_seen"]), last_seen=_parse_time(raw["last_seen"]),
        regions=tuple(sorted(str(r) for r in regions)),
    )


def _conditions_to_json(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    return [{"operator": c.operator, "key": c.key, "values": list(c.values)}
            for c in conditions]


def _conditions_from_json(raw: Any) -> tuple[Condition, ...]:
    return tuple(Condition(str(c["operator"]), str(c["key"]), tuple(str(v) for v in c["values"]))
                 for c in raw)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(text: Any) -> datetime:
    moment = datetime.fromisoformat(str(text))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


__all__ = [
    "GRAPH_FORMATS", "AccessGraph", "Chain", "Hop", "Sighting", "TrailContext", "build_graph", "from_graphml",
    "from_json", "read_graph", "render_graph", "resource_kind", "to_dot", "to_graphml",
    "to_json",
]
