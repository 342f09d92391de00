"""Opt-in action compression: ``s3:GetObject*`` where the catalog allows it.

A wildcard is used only when every catalog action it matches was observed
in the same statement, so today it grants nothing unobserved. It still
grants actions AWS adds later, which is why this is off by default.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from ..catalog import Catalog
from ..model import Statement
from .group import action_sort_key
from .settings import Compression


def _service_wildcards(names: set[str], known: list[str]) -> dict[str, set[str]]:
    """Prefix (catalog spelling) -> observed names it covers, for one service."""
    observed = {n.lower() for n in names}
    known_lower = [k.lower() for k in known]
    chosen: dict[str, str] = {}
    for name in sorted(names, key=action_sort_key):
        for length in range(1, len(name) + 1):
            prefix = name[:length].lower()
            matching = {k for k in known_lower if k.startswith(prefix)}
            if len(matching) >= 2 and matching <= observed:
                chosen.setdefault(prefix, name[:length])
                break
    keep = {
        p: spelled
        for p, spelled in chosen.items()
        if not any(q != p and p.startswith(q) for q in chosen)
    }
    return {spelled: {n for n in names if n.lower().startswith(p)} for p, spelled in keep.items()}


def compress_statement(stmt: Statement, catalog: Catalog) -> tuple[Statement, list[Compression]]:
    """One statement with its action list compressed where the catalog allows."""
    by_service: dict[str, set[str]] = defaultdict(set)
    for action in stmt.actions:
        service, _, name = action.partition(":")
        if catalog.action(action) is not None:
            by_service[service].add(name)
    actions = set(stmt.actions)
    made: list[Compression] = []
    for service, names in by_service.items():
        known = [a.name for a in catalog.actions_of(service)]
        for prefix, covered in _service_wildcards(names, known).items():
            wildcard = f"{service}:{prefix}*"
            full = tuple(sorted((f"{service}:{n}" for n in covered), key=action_sort_key))
            actions.difference_update(full)
            actions.add(wildcard)
            made.append(Compression(wildcard=wildcard, actions=full))
    if not made:
        return stmt, []
    return replace(stmt, actions=tuple(sorted(actions, key=action_sort_key))), made


def compress_actions(
    statements: tuple[Statement, ...], catalog: Catalog
) -> tuple[tuple[Statement, ...], tuple[Compression, ...]]:
    """Every statement compressed; the distinct compressions made, sorted."""
    out = []
    made: set[Compression] = set()
    for stmt in statements:
        new, comps = compress_statement(stmt, catalog)
        out.append(new)
        made.update(comps)
    return tuple(out), tuple(sorted(made))
