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

from ..arn import parse_arn, resource_matches
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


def _prefix_folders(keys: set[str], threshold: int) -> set[str]:
    """Folders (``a/b``) holding more than ``threshold`` of ``keys`` directly."""
    counts: dict[str, int] = defaultdict(int)
    for key in keys:
        folder, slash, _ = key.rpartition("/")
        if slash:
            counts[folder] += 1
    return {folder for folder, n in counts.items() if n > threshold}


def _tree_folders(keys: set[str], threshold: int) -> set[str]:
    """Topmost folders (``""`` is the bucket) with more than ``threshold`` children."""
    children: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        segments = key.split("/")
        for depth in range(len(segments)):
            folder = "/".join(segments[:depth])
            children[folder].add(segments[depth] + ("/" if depth < len(segments) - 1 else ""))
    crowded = {folder for folder, kids in children.items() if len(kids) > threshold}
    return {
        folder
        for folder in crowded
        if not any(_beneath(folder, other) for other in crowded if other != folder)
    }


def _beneath(folder: str, ancestor: str) -> bool:
    return ancestor == "" or folder.startswith(ancestor + "/")


def _pattern(partition: str, bucket: str, folder: str) -> str:
    body = f"{bucket}/{folder}/*" if folder else f"{bucket}/*"
    return f"arn:{partition}:s3:::{body}"


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
    chosen: dict[tuple[tuple[Condition, ...], str], set[str]] = defaultdict(set)
    for (conditions, action, partition, bucket), keys in objects.items():
        if level is Generalization.TREE:
            folders = _tree_folders(keys, threshold)
        else:
            folders = _prefix_folders(keys, threshold)
        for folder in folders:
            if not _WILD & set(folder):
                chosen[(conditions, action)].add(_pattern(partition, bucket, folder))
    if not chosen:
        return perms, ()
    for slot, patterns in chosen.items():
        chosen[slot] = {
            p for p in patterns if not any(q != p and resource_matches(q, p) for q in patterns)
        }
    out: set[Permission] = set()
    replaced: dict[tuple[str, tuple[Condition, ...]], dict[str, set[str]]] = defaultdict(
        lambda: defaultdict(set)
    )
    for perm in perms:
        patterns = chosen.get((perm.conditions, perm.action), ())
        covering = [p for p in patterns if resource_matches(p, perm.resource)]
        if covering:
            replaced[(covering[0], perm.conditions)][perm.action].add(perm.resource)
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
