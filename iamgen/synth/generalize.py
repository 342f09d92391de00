"""Fold many sibling S3 objects into a ``bucket/prefix/*`` pattern.

Only S3 object ARNs (``arn:<partition>:s3:::<bucket>/<key>``) are folded, and
a fold never leaves its bucket. Decisions are made per (conditions, action):
an action observed on many objects of a folder gets the folder's pattern;
another action observed there only once keeps its exact ARN. Every fold is
returned as a :class:`~iamgen.synth.settings.Fold` so callers can say what
was generalized, and tests can check nothing else was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ..arn import parse_arn
from ..model import Condition, Permission
from .settings import Fold, Generalization

_WILD = frozenset("*?$")


def _object_key(resource: str) -> tuple[str, str, str] | None:
    """(partition, bucket, key) of a literal S3 object ARN, else None."""
    arn = parse_arn(resource)
    if arn is None or arn.service != "s3" or arn.region or arn.account:
        return None
    bucket, slash, key = arn.resource.partition("/")
    if not slash or not bucket or not key or _WILD & set(arn.resource):
        return None
    return arn.partition, bucket, key


# Folders are key prefixes ending in "/" ("a/b/"); "" is the bucket root.


def _ancestors(path: str) -> list[str]:
    """Folders strictly above a key or folder, the bucket root ``""`` first."""
    if not path:
        return []
    inner = path[:-1] if path.endswith("/") else path
    return [""] + [inner[: i + 1] for i, ch in enumerate(inner) if ch == "/"]


def _prefix_folders(keys: set[str], threshold: int) -> set[str]:
    """Folders holding more than ``threshold`` of ``keys`` directly (never the root)."""
    counts: dict[str, int] = defaultdict(int)
    for key in keys:
        cut = key.rfind("/")
        if cut >= 0:
            counts[key[: cut + 1]] += 1
    return {folder for folder, n in counts.items() if n > threshold}


def _tree_folders(keys: set[str], threshold: int) -> set[str]:
    """Folders (the root included) with more than ``threshold`` distinct children."""
    children: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        for folder in _ancestors(key):
            rest = key[len(folder) :]
            head, slash, _ = rest.partition("/")
            children[folder].add(head + slash)
    return {folder for folder, kids in children.items() if len(kids) > threshold}


def _pattern(partition: str, bucket: str, folder: str) -> str:
    return f"arn:{partition}:s3:::{bucket}/{folder}*"


def fold_objects(
    permissions: Iterable[Permission], level: Generalization, threshold: int
) -> tuple[frozenset[Permission], tuple[Fold, ...]]:
    """Permissions with crowded S3 folders folded, and the folds made."""
    perms = frozenset(permissions)
    if level is Generalization.NONE:
        return perms, ()
    objects: dict[tuple[tuple[Condition, ...], str, str, str], set[str]] = defaultdict(set)
    for perm in perms:
        parts = _object_key(perm.resource)
        if parts is not None:
            partition, bucket, key = parts
            objects[(perm.conditions, perm.action, partition, bucket)].add(key)
    # (conditions, action, partition, bucket) -> folders to fold ("" is the whole bucket)
    chosen: dict[tuple[tuple[Condition, ...], str, str, str], set[str]] = {}
    for slot, keys in objects.items():
        if level is Generalization.TREE:
            folders = _tree_folders(keys, threshold)
        else:
            folders = _prefix_folders(keys, threshold)
        folders = {f for f in folders if not _WILD & set(f)}
        topmost = {f for f in folders if not any(a in folders for a in _ancestors(f))}
        if topmost:
            chosen[slot] = topmost
    if not chosen:
        return perms, ()
    out: set[Permission] = set()
    replaced: dict[tuple[str, tuple[Condition, ...]], dict[str, set[str]]] = defaultdict(
        lambda: defaultdict(set)
    )
    for perm in perms:
        parts = _object_key(perm.resource)
        if parts is not None:
            partition, bucket, key = parts
            folders = chosen.get((perm.conditions, perm.action, partition, bucket), set())
            covering = [f for f in _ancestors(key) if f in folders]
            if covering:
                pattern = _pattern(partition, bucket, covering[0])
                replaced[(pattern, perm.conditions)][perm.action].add(perm.resource)
                continue
        out.add(perm)
    folds = []
    for (pattern, conditions), by_action in replaced.items():
        for action in by_action:
            out.add(Permission(action, pattern, conditions))
        folds.append(
            Fold(
                pattern=pattern,
                actions=tuple(sorted(by_action, key=str.lower)),
                conditions=conditions,
                observed=len(set().union(*by_action.values())),
            )
        )
    return frozenset(out), tuple(sorted(folds))
