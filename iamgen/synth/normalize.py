"""Clean the input permissions: catalog spelling, sorted conditions, no duplicates."""

from __future__ import annotations

from collections.abc import Iterable

from ..catalog import Catalog
from ..model import Permission


def catalog_spelling(action: str, catalog: Catalog) -> str | None:
    """``service:Action`` as the catalog spells it, or None when unknown."""
    info = catalog.action(action)
    return info.full_name if info is not None else None


def normalize_permissions(
    permissions: Iterable[Permission], catalog: Catalog
) -> tuple[frozenset[Permission], tuple[str, ...]]:
    """Deduplicated permissions in catalog spelling, and the actions the catalog lacks.

    Unknown actions are kept as given (lower-cased service prefix) so that
    nothing observed is dropped; the caller reports them.
    """
    out: set[Permission] = set()
    unknown: set[str] = set()
    spelled: dict[str, str] = {}  # as given -> as written; a principal uses few actions
    for perm in permissions:
        action = spelled.get(perm.action)
        if action is None:
            action = catalog_spelling(perm.action, catalog)
            if action is None:
                prefix, _, name = perm.action.partition(":")
                action = f"{prefix.lower()}:{name}"
                unknown.add(action)
            spelled[perm.action] = action
        conditions = perm.conditions
        if len(conditions) > 1:
            conditions = tuple(sorted(set(conditions)))
        if action == perm.action and conditions == perm.conditions:
            out.add(perm)
        else:
            out.add(Permission(action, perm.resource, conditions))
    return frozenset(out), tuple(sorted(unknown))
