"""The access graph's queries: :class:`AccessGraph` and what it answers with.

Queries return model objects or the small frozen results below; the networkx
graph never leaves the package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from itertools import islice, pairwise
from typing import TYPE_CHECKING, Any

from ..arn import resource_matches, unescape
from ..mapping.signals import Signal
from ..model import Evidence, Permission, Principal, PrincipalKind, Usage
from .schema import ALLOWED, CHAIN_ACTIONS, DENIED, PRINCIPAL, identity_key, load_networkx

if TYPE_CHECKING:
    import networkx as nx

MAX_CHAIN_LENGTH = 8
MAX_CHAINS_PER_START = 20

# A role's node kind: a principal's that acted, or a resource's only assumed.
_ROLE_KINDS = (PrincipalKind.ROLE.value, "iam:role")


@dataclass(frozen=True, slots=True)
class TrailContext:
    """What results depend on besides the edges: the trail's span and filters,
    which actions it shows a call of, and the account-wide signals it raised.
    Saved with the graph, so a command reading a saved graph answers as it would
    reading the trail itself."""

    first_event: datetime | None = None
    last_event: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Every action the trail shows a call of, by anyone (which data events it
    # records); None when not known.
    trail_actions: tuple[str, ...] | None = None
    # Every signal the trail raised (logging changes, resources opened to
    # everyone: ``ScanResult.signals()``), with its evidence; None when not
    # known (a graph file of schema version 2).
    signals: tuple[tuple[Signal, Evidence], ...] | None = None


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
    """A built access graph. Treat as immutable; build with :func:`~.build.build_graph`."""

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
    def deferred(cls, build: Callable[[], nx.MultiDiGraph], principals: Mapping[str, Principal],
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
    def networkx_graph(self) -> nx.MultiDiGraph:
        """The networkx graph (built now if it was deferred). For this package's
        file formats; it never leaves the package."""
        if self._built is None:
            assert self._build is not None
            self._built, self._build = self._build(), None
        return self._built

    @property
    def networkx_built(self) -> bool:
        """Whether the networkx graph exists yet (per-principal queries never build it)."""
        return self._built is not None

    # -- sizes ------------------------------------------------------------

    @property
    def node_count(self) -> int:
        """How many principals and resources the graph holds."""
        return int(self.networkx_graph.number_of_nodes())

    @property
    def edge_count(self) -> int:
        """How many (principal, action, resource, outcome) edges the graph holds."""
        return int(self.networkx_graph.number_of_edges())

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
        return int(self.networkx_graph.nodes[node].get("events", 0))

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
        nodes = self.networkx_graph.nodes
        found = {self._as_principal(node) for node in nodes
                 if nodes[node]["kind"] in _ROLE_KINDS}
        return tuple(sorted(found))

    def chains_into(self, role: Principal) -> tuple[Chain, ...]:
        """Every observed chain of successful AssumeRole calls that ends in ``role``.

        Chains are networkx simple paths (``shortest_simple_paths``), at most
        MAX_CHAIN_LENGTH hops and MAX_CHAINS_PER_START per starting principal.
        """
        target = self._principal_node(role) or self._role_node_by_name(role)
        chains = self._chain_graph
        if target is None or target not in chains:
            return ()
        found: list[Chain] = []
        for start in sorted(load_networkx().ancestors(chains, target)):
            paths = load_networkx().shortest_simple_paths(chains, start, target)
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
                for node, attrs in self.networkx_graph.nodes(data=True)
                if attrs["node_type"] == PRINCIPAL}

    @cached_property
    def _chain_graph(self) -> nx.DiGraph:
        graph = self.networkx_graph
        chains = load_networkx().DiGraph()
        for source, target, data in graph.edges(data=True):
            if data["action"].lower() in CHAIN_ACTIONS and data["outcome"] == ALLOWED:
                if graph.nodes[target]["kind"] not in _ROLE_KINDS:
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
        graph = self.networkx_graph
        if node in graph and graph.nodes[node]["node_type"] == PRINCIPAL:
            return node
        return None

    def _role_node_by_name(self, role: Principal) -> str | None:
        if role.kind is not PrincipalKind.ROLE:
            return None
        if role.arn in self.networkx_graph:
            return role.arn
        wanted = identity_key(role.arn)
        hits = sorted(n for n in self.networkx_graph.nodes if identity_key(n) == wanted)
        return hits[0] if hits else None

    def _as_principal(self, node: str) -> Principal:
        known = self._principal_of_node.get(node)
        return known if known is not None else Principal(node, PrincipalKind.ROLE)

    def _usages_by_node(self) -> dict[str, tuple[Usage, ...]]:
        """Each principal node's usages, sorted (from edge data, once, when not given)."""
        if self._by_node is None:
            grouped: dict[str, list[Usage]] = {}
            principal_of = self._principal_of_node
            for source, _, data in self.networkx_graph.edges(data=True):
                grouped.setdefault(source, []).append(self._usage(principal_of[source], data))
            self._by_node = {node: tuple(sorted(found, key=_permission_order))
                             for node, found in grouped.items()}
        return self._by_node

    def _edges(self) -> Iterable[tuple[Principal, dict[str, Any]]]:
        principal_of = self._principal_of_node
        for source, _, data in self.networkx_graph.edges(data=True):
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
            context=data["context"],
            example_event_id=data["example_event_id"],
        )


def _permission_order(usage: Usage) -> tuple[Any, ...]:
    """Usages of one principal sort by (permission, denied): the same order as
    plain tuples, which are much cheaper to compare than the dataclasses."""
    permission = usage.permission
    return (permission.action, permission.resource, permission.conditions, usage.denied)


def _newest_first(moment: datetime) -> float:
    return -moment.timestamp()
