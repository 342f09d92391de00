"""Usages -> an :class:`~.access.AccessGraph`: merge duplicates, place each
resource on its node (a role or user used as a resource lands on its own
principal node), and defer the networkx form until a query needs it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from ..arn import parse_arn
from ..model import Permission, Principal, SortedUsages, Usage, usage_key
from ..resource_kinds import resource_kind
from ..scanning.tally import add_facts
from .access import AccessGraph, TrailContext
from .schema import (
    ALLOWED,
    DENIED,
    PRINCIPAL,
    RESOURCE,
    SCHEMA,
    SCHEMA_VERSION,
    conditions_to_json,
    identity_key,
    load_networkx,
)

if TYPE_CHECKING:
    import networkx as nx


def build_graph(usages: Iterable[Usage],
                events: Mapping[Principal, int] | None = None,
                context: TrailContext | None = None) -> AccessGraph:
    """The access graph of some usages.

    ``events`` (a principal's total trail events, as ``ScanResult.principal_events``)
    adds principals whose calls needed no grant and keeps event counts for
    provenance; ``context`` (the trail's span, filters, actions and signals) is
    kept as it is and saved with the graph. Duplicate (principal, permission, outcome) usages are merged.
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
    return AccessGraph.deferred(
        build, {p.arn: p for p in principals}, {p.arn: counts.get(p, 0) for p in principals},
        {node: tuple(found) for node, found in by_node.items()}, context)


def _networkx_graph(merged: list[Usage], principals: list[Principal],
                    counts: Mapping[Principal, int]) -> nx.MultiDiGraph:
    """The MultiDiGraph of merged usages (one edge each) and their principals."""
    graph = load_networkx().MultiDiGraph(schema=SCHEMA, schema_version=SCHEMA_VERSION)
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
                 regions=tuple(usage.regions), context=usage.context,
                 example_event_id=usage.example_event_id)
    return graph


def _merge(a: Usage, b: Usage) -> Usage:
    """Two usages of one (principal, permission, outcome) as one: calls and
    facts added as a scan adds them, and the earliest call's event kept (ties:
    the smallest id)."""
    first_seen, example = min((a.first_seen, a.example_event_id),
                              (b.first_seen, b.example_event_id))
    return Usage(
        principal=a.principal, permission=a.permission, denied=a.denied,
        count=a.count + b.count,
        first_seen=first_seen, last_seen=max(a.last_seen, b.last_seen),
        regions=tuple(sorted(set(a.regions) | set(b.regions))),
        context=_add_context(a.context, b.context),
        example_event_id=example,
    )


def _add_context(a: tuple[tuple[str, str, int], ...], b: tuple[tuple[str, str, int], ...]
                 ) -> tuple[tuple[str, str, int], ...]:
    """Two usages' facts added per (fact, value), a fact of too many values
    collapsed (:func:`~iamgen.scanning.tally.add_facts`), sorted."""
    if not b:
        return a
    if not a:
        return b
    mine = {(fact, value): count for fact, value, count in a}
    add_facts(mine, {(fact, value): count for fact, value, count in b})
    return tuple((fact, value, count) for (fact, value), count in sorted(mine.items()))


def _principal_attrs(principal: Principal, events: int) -> dict[str, Any]:
    return {"node_type": PRINCIPAL, "kind": principal.kind.value,
            "label": principal.name, "events": events}


def _resource_attrs(resource: str) -> dict[str, Any]:
    return {"node_type": RESOURCE, "kind": resource_kind(resource),
            "label": _short_label(resource), "events": 0}


def _edge_key(permission: Permission, denied: bool) -> str:
    key = f"{permission.action} {DENIED if denied else ALLOWED}"
    if permission.conditions:
        key += " " + json.dumps(conditions_to_json(permission.conditions),
                                sort_keys=True, separators=(",", ":"))
    return key


def _identity_index(principals: Iterable[Principal]) -> dict[tuple[str, str, str, str], str]:
    index: dict[tuple[str, str, str, str], str] = {}
    for principal in sorted(principals):  # with and without path: the first ARN wins
        key = identity_key(principal.arn)
        if key is not None:
            index.setdefault(key, principal.arn)
    return index


def _resource_node(resource: str, principal_arns: frozenset[str],
                   identities: Mapping[tuple[str, str, str, str], str]) -> str:
    """The node a resource lands on: a role or user's own node when it is one."""
    if resource in principal_arns or ":iam:" not in resource:
        return resource
    key = identity_key(resource)
    if key is not None and key in identities:
        return identities[key]
    return resource


def _usage_order(usage: Usage) -> tuple[Any, ...]:
    """Usages sort by (principal, permission, denied), as :func:`usage_key` spells it."""
    return usage_key(usage.principal, usage.permission, usage.denied)


def _short_label(resource: str) -> str:
    """``service:region:resource`` (``service:resource`` for global ones): the ARN
    without partition and account, so one name in four regions gives four labels."""
    parsed = parse_arn(resource)
    if parsed is None:
        return resource
    if parsed.region:
        return f"{parsed.service}:{parsed.region}:{parsed.resource}"
    return f"{parsed.service}:{parsed.resource}"
