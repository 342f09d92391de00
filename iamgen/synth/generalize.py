"""Fold many sibling resources into one ``prefix*`` pattern, inside the evidence.

Two kinds of resources fold:

* S3 objects (``arn:<partition>:s3:::<bucket>/<key>``): objects of one folder
  become ``bucket/folder/*``; a fold never leaves its bucket, and only the
  ``tree`` level may fold a whole bucket (``bucket/*``).
* CloudWatch Logs streams (``...:log-group:<group>:log-stream:<stream>``):
  streams of one log group become ``...:log-group:<group>:log-stream:*``
  (Lambda and SageMaker open a new stream per container, so yesterday's
  stream names never come back). A fold never leaves its log group.

Decisions are made per (conditions, action): an action observed on many
objects of a folder gets the folder's pattern; another action observed there
only once keeps its exact ARN. Partitions, regions, accounts and resource
types are part of every fold's scope, so no fold crosses them. Every fold is
returned as a :class:`~iamgen.synth.settings.Fold` so callers can say what
was generalized, and tests can check nothing else was.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..model import Condition, Permission
from .settings import Fold, Generalization

_WILD = frozenset("*?$")
_LOG_STREAM = re.compile(
    r"arn:(?P<partition>[^:]+):logs:(?P<region>[^:]+):(?P<account>[^:]+):"
    r"log-group:(?P<group>[^:]+):log-stream:(?P<stream>[^:]+)"
)


@dataclass(frozen=True, slots=True)
class _Unit:
    """Where a resource sits: its scope's ARN prefix and its path inside it.

    ``flat`` scopes have no folders: every member is a direct child of the
    scope, which may itself be folded at any level but ``none``.
    """

    base: str
    path: str
    flat: bool


def _unit(resource: str) -> _Unit | None:
    """The fold unit of a literal S3 object or log stream ARN, else None."""
    if resource.startswith("arn:") and ":logs:" in resource:
        found = _LOG_STREAM.fullmatch(resource)
        if found is None or _WILD & set(found["group"]) or "*" in found["stream"]:
            return None
        base = resource[: found.start("stream")]
        return _Unit(base=base, path=found["stream"], flat=True)
    # parse_arn's split, inlined: this runs once per permission of a principal.
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or parts[2] != "s3":
        return None
    if parts[3] or parts[4]:
        return None
    body = parts[5]
    bucket, slash, key = body.partition("/")
    if not slash or not bucket or not key or "*" in body or "?" in body or "$" in body:
        return None
    return _Unit(base=f"arn:{parts[1]}:s3:::{bucket}/", path=key, flat=False)


# Folders are path prefixes ending in "/" ("a/b/"); "" is the scope's root.


def _ancestors(path: str) -> list[str]:
    """Folders strictly above a path or folder, the root ``""`` first."""
    if not path:
        return []
    inner = path.removesuffix("/")
    return [""] + [inner[: i + 1] for i, ch in enumerate(inner) if ch == "/"]


def _prefix_folders(paths: set[str], threshold: int) -> set[str]:
    """Folders holding more than ``threshold`` of ``paths`` directly (never the root)."""
    counts: dict[str, int] = defaultdict(int)
    for path in paths:
        cut = path.rfind("/")
        if cut >= 0:
            counts[path[: cut + 1]] += 1
    return {folder for folder, n in counts.items() if n > threshold}


def _tree_folders(paths: set[str], threshold: int) -> set[str]:
    """Folders (the root included) with more than ``threshold`` distinct children."""
    children: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        for folder in _ancestors(path):
            head, slash, _ = path[len(folder) :].partition("/")
            children[folder].add(head + slash)
    return {folder for folder, kids in children.items() if len(kids) > threshold}


def _folders(paths: set[str], flat: bool, level: Generalization, threshold: int) -> set[str]:
    if flat:
        return {""} if len(paths) > threshold else set()
    if level is Generalization.TREE:
        found = _tree_folders(paths, threshold)
    else:
        found = _prefix_folders(paths, threshold)
    found = {f for f in found if not _WILD & set(f)}
    return {f for f in found if not any(a in found for a in _ancestors(f))}


def _covering(path: str, folders: set[str]) -> str | None:
    """The folder of ``folders`` above ``path`` (the shallowest; folders never nest)."""
    if "" in folders:
        return ""
    inner = path.removesuffix("/")
    cut = inner.find("/")
    while cut >= 0:
        folder = inner[: cut + 1]
        if folder in folders:
            return folder
        cut = inner.find("/", cut + 1)
    return None


_Slot = tuple[tuple[Condition, ...], str, str]
"""(conditions, action, scope base): folds are decided per slot."""


@dataclass(frozen=True, slots=True)
class Siblings:
    """Permissions sorted into fold slots, once, to be folded at any threshold.

    ``slots`` maps each (conditions, action, base) to whether its scope is
    flat and its members: path inside the scope -> the permission on it.
    """

    permissions: frozenset[Permission]
    slots: dict[_Slot, tuple[bool, dict[str, Permission]]]


def find_siblings(permissions: Iterable[Permission]) -> Siblings:
    """Group the permissions on literal S3 objects and log streams by fold slot."""
    perms = frozenset(permissions)
    slots: dict[_Slot, tuple[bool, dict[str, Permission]]] = {}
    units: dict[str, _Unit | None] = {}
    for perm in perms:
        resource = perm.resource
        if resource in units:
            unit = units[resource]
        else:
            unit = units[resource] = _unit(resource)
        if unit is None:
            continue
        slot = (perm.conditions, perm.action, unit.base)
        found = slots.get(slot)
        if found is None:
            found = slots[slot] = (unit.flat, {})
        found[1][unit.path] = perm
    return Siblings(permissions=perms, slots=slots)


def fold_siblings(
    siblings: Siblings, level: Generalization, threshold: int
) -> tuple[frozenset[Permission], tuple[Fold, ...]]:
    """Permissions with crowded folders folded, and the folds made."""
    perms = siblings.permissions
    if level is Generalization.NONE:
        return perms, ()
    folded: set[Permission] = set()
    replaced: dict[tuple[str, tuple[Condition, ...]], dict[str, set[str]]] = defaultdict(
        lambda: defaultdict(set)
    )
    for (conditions, action, base), (flat, members) in siblings.slots.items():
        folders = _folders(set(members), flat, level, threshold)
        if not folders:
            continue
        for path, perm in members.items():
            folder = _covering(path, folders)
            if folder is not None:
                replaced[(f"{base}{folder}*", conditions)][action].add(perm.resource)
                folded.add(perm)
    if not replaced:
        return perms, ()
    out = set(perms - folded)
    folds = []
    for (pattern, conditions), by_action in replaced.items():
        for action in by_action:
            out.add(Permission(action, pattern, conditions))
        folds.append(
            Fold(
                pattern=pattern,
                actions=tuple(sorted(by_action, key=lambda a: (a.lower(), a))),
                conditions=conditions,
                observed=len(set().union(*by_action.values())),
            )
        )
    return frozenset(out), tuple(sorted(folds))


def fold_objects(
    permissions: Iterable[Permission], level: Generalization, threshold: int
) -> tuple[frozenset[Permission], tuple[Fold, ...]]:
    """Permissions with crowded folders folded, and the folds made."""
    return fold_siblings(find_siblings(permissions), level, threshold)
