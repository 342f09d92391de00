"""Policy documents to and from their JSON form, canonically."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import InputError
from .model import Condition, PolicyDocument, Statement
from .user_json import read_json

MANAGED_POLICY_LIMIT = 6144
"""IAM's size limit for a managed policy, in characters without whitespace."""


def _as_tuple(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InputError(f"{what} must be a string or a list of strings")


def _condition_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise InputError(f"condition value {value!r} is not a string, number or boolean")


def parse_conditions(block: Any) -> tuple[Condition, ...]:
    """Parse a statement's ``Condition`` block, sorted by operator and key.

    JSON groups conditions by operator, so sorted is the only order a
    document can round-trip in.
    """
    if block is None:
        return ()
    if not isinstance(block, Mapping):
        raise InputError("Condition must be an object")
    out = []
    for operator, clauses in block.items():
        if not isinstance(clauses, Mapping):
            raise InputError(f"Condition operator {operator} must map keys to values")
        for key, values in clauses.items():
            vals = values if isinstance(values, list) else [values]
            out.append(Condition(operator, key, tuple(_condition_value(v) for v in vals)))
    return tuple(sorted(out))


def parse_statement(raw: Any) -> Statement:
    """Parse one statement object of a policy document."""
    if not isinstance(raw, Mapping):
        raise InputError("a Statement entry must be an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise InputError(f"statement Effect must be Allow or Deny, not {effect!r}")
    stmt = Statement(
        effect=effect,
        actions=_as_tuple(raw.get("Action"), "Action"),
        resources=_as_tuple(raw.get("Resource"), "Resource"),
        not_actions=_as_tuple(raw.get("NotAction"), "NotAction"),
        not_resources=_as_tuple(raw.get("NotResource"), "NotResource"),
        conditions=parse_conditions(raw.get("Condition")),
        sid=str(raw.get("Sid", "")),
    )
    # IAM refuses these (the policy grammar: one of each pair, exactly)
    if not stmt.actions and not stmt.not_actions:
        raise InputError("statement has neither Action nor NotAction")
    if "Action" in raw and "NotAction" in raw:
        raise InputError("statement has both Action and NotAction")
    if "Resource" not in raw and "NotResource" not in raw:
        raise InputError("statement has neither Resource nor NotResource")
    if "Resource" in raw and "NotResource" in raw:
        raise InputError("statement has both Resource and NotResource")
    return stmt


def parse_policy(raw: Any) -> PolicyDocument:
    """Parse a policy document (a dict, or a JSON string of one)."""
    if isinstance(raw, str):
        try:
            raw = read_json(raw)
        except ValueError as exc:
            raise InputError(f"policy is not valid JSON: {exc}") from None
    if not isinstance(raw, Mapping) or "Statement" not in raw:
        raise InputError("a policy document must be an object with a Statement")
    statements = raw["Statement"]
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        raise InputError("Statement must be an object or a list")
    version = raw.get("Version", "2008-10-17")
    if version not in ("2012-10-17", "2008-10-17"):  # the only two IAM knows
        raise InputError(f"policy Version must be 2012-10-17 or 2008-10-17, not {version!r}")
    return PolicyDocument(
        statements=tuple(parse_statement(s) for s in statements),
        version=version,
    )


def _one_or_list(values: tuple[str, ...]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def condition_block(conditions: tuple[Condition, ...]) -> dict[str, dict[str, Any]]:
    """The JSON ``Condition`` object for a tuple of conditions."""
    block: dict[str, dict[str, Any]] = {}
    for cond in conditions:
        block.setdefault(cond.operator, {})[cond.key] = _one_or_list(cond.values)
    return block


def statement_to_dict(stmt: Statement) -> dict[str, Any]:
    """A statement as policy JSON, keys in IAM's customary order."""
    out: dict[str, Any] = {}
    if stmt.sid:
        out["Sid"] = stmt.sid
    out["Effect"] = stmt.effect
    if stmt.actions:
        out["Action"] = _one_or_list(stmt.actions)
    if stmt.not_actions:
        out["NotAction"] = _one_or_list(stmt.not_actions)
    if stmt.resources:
        out["Resource"] = _one_or_list(stmt.resources)
    if stmt.not_resources:
        out["NotResource"] = _one_or_list(stmt.not_resources)
    if stmt.conditions:
        out["Condition"] = condition_block(stmt.conditions)
    return out


def policy_to_dict(doc: PolicyDocument) -> dict[str, Any]:
    """A policy document as a JSON-ready dict."""
    return {"Version": doc.version, "Statement": [statement_to_dict(s) for s in doc.statements]}


def render_policy_json(doc: PolicyDocument) -> str:
    """Canonical, human-readable JSON for a policy (2-space indent, trailing newline)."""
    return json.dumps(policy_to_dict(doc), indent=2, ensure_ascii=False) + "\n"


def policy_size(doc: PolicyDocument) -> int:
    """Characters IAM counts toward the size limit (JSON without whitespace)."""
    return len(json.dumps(policy_to_dict(doc), separators=(",", ":"), ensure_ascii=False))
