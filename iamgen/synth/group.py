"""Group permissions into as few, short statements as the evidence allows.

Permissions are first partitioned by their exact condition set: statements
with different conditions are never merged. Inside one partition two
groupings are built and the shorter kept (ties go to the first):

* by resource: resources used by the same set of actions share a statement;
* by action: actions used on the same set of resources share a statement.

Both are exact: the statements allow precisely the input (action, resource)
pairs, nothing more.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from ..errors import InputError
from ..model import Condition, Permission, Statement
from ..policy import statement_to_dict


def action_sort_key(action: str) -> tuple[str, str]:
    """Sort actions case-insensitively, then by spelling, for stable output."""
    return (action.lower(), action)


def statement_chars(stmt: Statement) -> int:
    """Characters a statement takes in a document, whitespace not counted."""
    return len(json.dumps(statement_to_dict(stmt), separators=(",", ":"), ensure_ascii=False))


def _check_conditions(conditions: tuple[Condition, ...]) -> None:
    seen: set[tuple[str, str]] = set()
    for cond in conditions:
        slot = (cond.operator, cond.key)
        if slot in seen:
            raise InputError(
                f"two {cond.operator} conditions on {cond.key} cannot share one statement"
            )
        seen.add(slot)


def _make(
    actions: Iterable[str], resources: Iterable[str], conditions: tuple[Condition, ...]
) -> Statement:
    return Statement(
        effect="Allow",
        actions=tuple(sorted(set(actions), key=action_sort_key)),
        resources=tuple(sorted(set(resources))),
        conditions=conditions,
    )


def _by_resource(pairs: dict[str, set[str]], conditions: tuple[Condition, ...]) -> list[Statement]:
    """pairs: resource -> actions."""
    groups: dict[frozenset[str], set[str]] = defaultdict(set)
    for resource, actions in pairs.items():
        groups[frozenset(actions)].add(resource)
    return [_make(actions, resources, conditions) for actions, resources in groups.items()]


def _by_action(pairs: dict[str, set[str]], conditions: tuple[Condition, ...]) -> list[Statement]:
    """pairs: action -> resources."""
    groups: dict[frozenset[str], set[str]] = defaultdict(set)
    for action, resources in pairs.items():
        groups[frozenset(resources)].add(action)
    return [_make(actions, resources, conditions) for resources, actions in groups.items()]


def statement_order(stmt: Statement) -> tuple[object, ...]:
    """Content order of statements (before Sids exist)."""
    return (
        tuple(action_sort_key(a) for a in stmt.actions),
        stmt.resources,
        stmt.conditions,
    )


def group_permissions(permissions: Iterable[Permission]) -> tuple[Statement, ...]:
    """Allow statements that grant exactly ``permissions``, sorted by content.

    An action granted on ``"*"`` under some conditions makes its other
    resources under the same conditions redundant; they are dropped.
    """
    partitions: dict[tuple[Condition, ...], set[tuple[str, str]]] = defaultdict(set)
    for perm in permissions:
        partitions[perm.conditions].add((perm.action, perm.resource))
    statements: list[Statement] = []
    for conditions, pairs in partitions.items():
        _check_conditions(conditions)
        anywhere = {action for action, resource in pairs if resource == "*"}
        by_resource: dict[str, set[str]] = defaultdict(set)
        by_action: dict[str, set[str]] = defaultdict(set)
        for action, resource in pairs:
            if action in anywhere and resource != "*":
                continue
            by_resource[resource].add(action)
            by_action[action].add(resource)
        first = _by_resource(by_resource, conditions)
        second = _by_action(by_action, conditions)
        size_first = sum(statement_chars(s) for s in first)
        size_second = sum(statement_chars(s) for s in second)
        statements.extend(second if size_second < size_first else first)
    return tuple(sorted(statements, key=statement_order))
