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

Synthesis may try several thresholds for one principal: :func:`find_siblings`
does the per-permission work once (parsing, slots, folder counts) and
:func:`fold_siblings` folds at one threshold from that.
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


_Unit = tuple[str, str, bool]
"""Where a resource sits: its scope's ARN prefix (base), its path inside it, and
whether the scope is flat (no folders: every member is a direct child of the
scope, which may itself be folded at any level but ``none``)."""


def _unit(resource: str) -> _Unit | None:
    """The fold unit of a literal S3 object or log stream ARN, else None."""
    if resource.startswith("arn:") and ":logs:" in resource:
        found = _LOG_STREAM.fullmatch(resource)
        if found is None or _WILD & set(found["group"]) or "*" in found["stream"]:
            return None
        return (resource[: found.start("stream")], found["stream"], True)
    # parse_arn's split, inlined: this runs once per permission of a principal.
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or parts[2] != "s3":
        return None
    if parts[3] or parts[4]:
        return None
    body = parts[5]
    bucket, slash, key = body.partition("/")
    # (a ? stands for a character no policy can hold: synth.normalize.writable; a
    # fold's folder/* covers it as it covers any name there)
    if not slash or not bucket or not key or "*" in body or "$" in body:
        return None
    return (f"arn:{parts[1]}:s3:::{bucket}/", key, False)


# Folders are path prefixes ending in "/" ("a/b/"); "" is the scope's root.


def _ancestors(path: str) -> list[str]:
    """Folders strictly above a path or folder, the root ``""`` first."""
    if not path:
        return []
    inner = path.removesuffix("/")
    return [""] + [inner[: i + 1] for i, ch in enumerate(inner) if ch == "/"]


def _direct_counts(paths: Iterable[str]) -> dict[str, int]:
    """Folder -> how many of ``paths`` it holds directly (never the root)."""
    counts: dict[str, int] = defaultdict(int)
    for path in paths:
        cut = path.rfind("/")
        if cut >= 0:
            counts[path[: cut + 1]] += 1
    return counts


def _children_counts(paths: Iterable[str]) -> dict[str, int]:
    """Folder (the root included) -> how many distinct children (entries and folders) it has."""
    children: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        for folder in _ancestors(path):
            head, slash, _ = path[len(folder) :].partition("/")
            children[folder].add(head + slash)
    return {folder: len(kids) for folder, kids in children.items()}


def _parent(path: str) -> str:
    """The folder a path sits in (a path ending in ``/`` sits in the one above)."""
    inner = path.removesuffix("/")
    return inner[: inner.rfind("/") + 1]


def _covering(parent: str, folders: set[str]) -> str | None:
    """The folder of ``folders`` holding everything in ``parent`` (the folder
    itself or one above it; chosen folders never nest, so there is one at most)."""
    if "" in folders:
        return ""
    cut = parent.find("/")
    while cut >= 0:
        folder = parent[: cut + 1]
        if folder in folders:
            return folder
        cut = parent.find("/", cut + 1)
    return None


_Slot = tuple[tuple[Condition, ...], str, str]
"""(conditions, action, scope base): folds are decided per slot."""


@dataclass(frozen=True, slots=True)
class _Members:
    """One slot's permissions, ready to fold at any threshold.

    ``sizes``: each folder that may fold (no wildcard characters) -> the
    count the threshold is compared with. ``groups``: parent folder -> the
    permissions on entries directly in it, and their resources.
    """

    flat: bool
    sizes: dict[str, int]
    groups: dict[str, tuple[tuple[Permission, ...], tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class Siblings:
    """Permissions sorted into fold slots for one generalization level, once,
    to be folded at any threshold. ``unfoldable``: permissions on anything but
    a literal S3 object or log stream, and those granted exactly as asked
    (``exact``: no fold, no name pattern stands for them)."""

    permissions: frozenset[Permission]
    level: Generalization
    unfoldable: tuple[Permission, ...]
    slots: dict[_Slot, _Members]
    exact: frozenset[Permission] = frozenset()


def find_siblings(permissions: Iterable[Permission], level: Generalization,
                  exact: frozenset[Permission] = frozenset()) -> Siblings:
    """Group the permissions on literal S3 objects and log streams by fold
    slot (those in ``exact`` aside: never folded)."""
    perms = frozenset(permissions)
    if level in (Generalization.NONE, Generalization.PATTERNS):
        return Siblings(permissions=perms, level=level, unfoldable=tuple(perms), slots={},
                        exact=exact)
    unfoldable: list[Permission] = []
    found: dict[_Slot, dict[str, Permission]] = {}
    flat: dict[str, bool] = {}
    units: dict[str, _Unit | None] = {}
    for perm in perms:
        if perm in exact:
            unfoldable.append(perm)
            continue
        resource = perm.resource
        if resource in units:
            unit = units[resource]
        else:
            unit = units[resource] = _unit(resource)
        if unit is None:
            unfoldable.append(perm)
            continue
        base, path, is_flat = unit
        flat[base] = is_flat
        slot = (perm.conditions, perm.action, base)
        members = found.get(slot)
        if members is None:
            found[slot] = {path: perm}
        else:
            members[path] = perm
    slots = {slot: _members(flat[slot[2]], by_path, level) for slot, by_path in found.items()}
    return Siblings(permissions=perms, level=level, unfoldable=tuple(unfoldable), slots=slots,
                    exact=exact)


def _members(flat: bool, by_path: dict[str, Permission], level: Generalization) -> _Members:
    if flat:
        return _Members(flat=True, sizes={"": len(by_path)},
                        groups={"": (tuple(by_path.values()),
                                     tuple(p.resource for p in by_path.values()))})
    sizes = _children_counts(by_path) if level is Generalization.TREE else _direct_counts(by_path)
    sizes = {folder: n for folder, n in sizes.items() if not _WILD & set(folder)}
    grouped: dict[str, list[Permission]] = defaultdict(list)
    for path, perm in by_path.items():
        grouped[_parent(path)].append(perm)
    groups = {parent: (tuple(perms), tuple(p.resource for p in perms))
              for parent, perms in grouped.items()}
    return _Members(flat=False, sizes=sizes, groups=groups)


def _chosen_folders(members: _Members, threshold: int) -> set[str]:
    """The folders of a slot that fold at ``threshold``, none inside another."""
    found = {folder for folder, n in members.sizes.items() if n > threshold}
    if members.flat or len(found) < 2:
        return found
    return {f for f in found if not any(a in found for a in _ancestors(f))}


def fold_siblings(
    siblings: Siblings, threshold: int
) -> tuple[tuple[Permission, ...], tuple[Fold, ...]]:
    """Permissions with crowded folders folded, and the folds made.

    The permissions are distinct but for a fold's pattern that was also
    observed as written (grouping merges the two).
    """
    kept: list[Permission] = list(siblings.unfoldable)
    replaced: dict[tuple[str, tuple[Condition, ...]], dict[str, set[str]]] = defaultdict(
        lambda: defaultdict(set)
    )
    for (conditions, action, base), members in siblings.slots.items():
        folders = _chosen_folders(members, threshold)
        for parent, (perms, resources) in members.groups.items():
            folder = _covering(parent, folders) if folders else None
            if folder is None:
                kept.extend(perms)
            else:
                replaced[(f"{base}{folder}*", conditions)][action].update(resources)
    if not replaced:
        return tuple(siblings.permissions), ()
    folds = []
    for (pattern, conditions), by_action in replaced.items():
        for action in by_action:
            kept.append(Permission(action, pattern, conditions))
        folds.append(
            Fold(
                pattern=pattern,
                actions=tuple(sorted(by_action, key=lambda a: (a.lower(), a))),
                conditions=conditions,
                observed=len(set().union(*by_action.values())),
            )
        )
    return tuple(kept), tuple(sorted(folds))


def fold_objects(
    permissions: Iterable[Permission], level: Generalization, threshold: int
) -> tuple[frozenset[Permission], tuple[Fold, ...]]:
    """Permissions with crowded folders folded, and the folds made."""
    folded, folds = fold_siblings(find_siblings(permissions, level), threshold)
    return frozenset(folded), folds
