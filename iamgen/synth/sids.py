"""Stable, readable statement ids derived from a statement's content.

``S3GetObjectPutObject`` names the actions (three at most, then
``And4More``); a condition adds ``ToSagemaker`` (``iam:PassedToService``),
``ViaS3`` (``kms:ViaService``) or ``If<KeyName>``. Equal names get
``2``, ``3``... in content order. IAM allows only ASCII letters and digits.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..model import Condition, Statement

MAX_SID_LENGTH = 64
"""Longest Sid iamgen emits; size checks reserve room for it."""

SHOWN_ACTIONS = 3
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def _word(text: str) -> str:
    """Letters and digits of ``text``, first letter upper-cased."""
    cleaned = "".join(part[:1].upper() + part[1:] for part in _NOT_ALNUM.split(text) if part)
    return cleaned


def _service_of_endpoint(value: str) -> str:
    """``sagemaker.amazonaws.com`` or ``s3.us-east-1.amazonaws.com`` -> ``Sagemaker``/``S3``."""
    return _word(value.split(".", 1)[0])


def _condition_words(conditions: tuple[Condition, ...]) -> str:
    words = []
    for cond in conditions:
        key = cond.key.lower()
        first = cond.values[0] if cond.values else ""
        if key == "iam:passedtoservice":
            words.append("To" + _service_of_endpoint(first))
        elif key == "kms:viaservice":
            words.append("Via" + _service_of_endpoint(first))
        else:
            words.append("If" + _word(cond.key.partition(":")[2] or cond.key))
    return "".join(words)


def base_sid(stmt: Statement) -> str:
    """The content-derived name of a statement, before disambiguation."""
    actions = stmt.actions or stmt.not_actions
    parts: list[str] = []
    last_service = None
    for action in actions[:SHOWN_ACTIONS]:
        service, _, name = action.partition(":")
        if service != last_service:
            parts.append(_word(service))
            last_service = service
        parts.append(_word(name.replace("*", "All")))
    if len(actions) > SHOWN_ACTIONS:
        parts.append(f"And{len(actions) - SHOWN_ACTIONS}More")
    sid = "".join(parts) + _condition_words(stmt.conditions)
    sid = sid or "Statement"
    return sid[: MAX_SID_LENGTH - 4]


def name_statements(statements: tuple[Statement, ...]) -> tuple[Statement, ...]:
    """Give each statement a unique Sid and sort by it (then by content).

    The order of ``statements`` breaks ties between equal names, so pass them
    in content order for stable output.
    """
    bases = [base_sid(s) for s in statements]
    taken = set(bases)
    used: set[str] = set()
    named = []
    for base, stmt in sorted(zip(bases, statements), key=lambda pair: pair[0]):
        sid = base
        counter = 1
        while sid in used or (sid != base and sid in taken):
            counter += 1
            sid = f"{base}{counter}"
        used.add(sid)
        named.append(replace(stmt, sid=sid))
    return tuple(named)
