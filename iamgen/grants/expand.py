"""Expand a policy's action patterns into the catalog actions they grant.

``sagemaker:*`` becomes every SageMaker action the catalog knows; ``s3:Get*``
every S3 action starting with Get; ``NotAction`` in an Allow statement every
catalog action it does not name. Pure functions over a :class:`Catalog`.
"""

from __future__ import annotations

from ..arn import action_matches, wildcard_match
from ..catalog import Catalog
from ..model import Statement

NOT_ACTION = "NotAction"
"""The pattern reported for actions granted through an Allow with NotAction."""


def _services(pattern: str, catalog: Catalog) -> tuple[str, ...]:
    prefix = pattern.partition(":")[0]
    if "*" in prefix or "?" in prefix:
        return tuple(sorted(s for s in catalog.services()
                            if wildcard_match(prefix, s, case_sensitive=False)))
    return (prefix.lower(),) if catalog.has_service(prefix) else ()


def expand_pattern(pattern: str, catalog: Catalog) -> tuple[str, ...]:
    """Catalog actions (``service:Action`` in catalog spelling) an Action entry matches.

    A literal action the catalog does not know is returned as written (with a
    lower-case service prefix), so a grant is never silently dropped; a
    wildcard that matches nothing returns ``()``.
    """
    if pattern == "*":
        return tuple(info.full_name for service in sorted(catalog.services())
                     for info in catalog.actions_of(service))
    if "*" not in pattern and "?" not in pattern:
        info = catalog.action(pattern)
        if info is not None:
            return (info.full_name,)
        prefix, _, name = pattern.partition(":")
        return (f"{prefix.lower()}:{name}",)
    return tuple(info.full_name for service in _services(pattern, catalog)
                 for info in catalog.actions_of(service)
                 if action_matches(pattern, info.full_name))


def statement_actions(stmt: Statement, catalog: Catalog) -> dict[str, str]:
    """Every action a statement names, each with the pattern that names it.

    For ``NotAction`` the result is every catalog action it leaves out, each
    with the pattern :data:`NOT_ACTION`. When several patterns name one action,
    the most specific (the literal name, else the longest pattern) is kept.
    """
    found: dict[str, str] = {}
    if stmt.actions:
        for pattern in stmt.actions:
            for action in expand_pattern(pattern, catalog):
                held = found.get(action)
                if held is None or _more_specific(pattern, held):
                    found[action] = pattern
        return found
    if stmt.not_actions:
        for service in sorted(catalog.services()):
            for info in catalog.actions_of(service):
                if not any(action_matches(p, info.full_name) for p in stmt.not_actions):
                    found[info.full_name] = NOT_ACTION
    return found


def _more_specific(candidate: str, held: str) -> bool:
    literal = "*" not in candidate and "?" not in candidate
    held_literal = "*" not in held and "?" not in held
    if literal != held_literal:
        return literal
    return (len(candidate), candidate) > (len(held), held)


def service_of(action: str) -> str:
    """The service prefix of ``service:Action``, lower-cased."""
    return action.partition(":")[0].lower()
