"""Clean the input permissions: catalog spelling, sorted conditions, names a
policy can hold, no duplicates."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..catalog import Catalog
from ..model import Permission


def catalog_spelling(action: str, catalog: Catalog) -> str | None:
    """``service:Action`` as the catalog spells it, or None when unknown."""
    info = catalog.action(action)
    return info.full_name if info is not None else None


# What an IAM policy document may hold (CreatePolicy's PolicyDocument pattern):
# tab, line feed, carriage return and U+0020-U+00FF. Other control characters
# are written as JSON escapes (ASCII); characters beyond U+00FF cannot be.
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html
_NOT_IN_POLICIES = re.compile("[^\u0000-\u00ff]+")


def writable(resource: str) -> str:
    """``resource`` as a policy can hold it: each run of characters IAM refuses
    in a policy document (beyond U+00FF: an S3 key in another script, an
    emoji) becomes ``?`` per character of the Basic Multilingual Plane, or
    ``*`` when the run holds one beyond it (two UTF-16 units: however IAM
    counts it, ``*`` matches). The name is still allowed; so are the few
    others that differ from it only there."""
    return _NOT_IN_POLICIES.sub(_wildcards, resource)


def _wildcards(run: re.Match[str]) -> str:
    text = run[0]
    return "*" if any(ord(char) > 0xFFFF for char in text) else "?" * len(text)


def normalize_permissions(
    permissions: Iterable[Permission], catalog: Catalog
) -> tuple[frozenset[Permission], tuple[str, ...], tuple[str, ...]]:
    """Deduplicated permissions in catalog spelling, the actions the catalog
    lacks, and the resources a policy cannot hold as they are (see
    :func:`writable`), sorted.

    Unknown actions are kept as given (lower-cased service prefix) so that
    nothing observed is dropped; the caller reports them.
    """
    out: set[Permission] = set()
    unknown: set[str] = set()
    rewritten: set[str] = set()
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
        resource = perm.resource
        if not resource.isascii() and _NOT_IN_POLICIES.search(resource):
            rewritten.add(resource)
            resource = writable(resource)
        if action == perm.action and conditions == perm.conditions and resource == perm.resource:
            out.add(perm)
        else:
            out.add(Permission(action, resource, conditions))
    return frozenset(out), tuple(sorted(unknown)), tuple(sorted(rewritten))
