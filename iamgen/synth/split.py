"""Fit statements into documents under IAM's size limit.

Sizes count characters without whitespace, as IAM does (see
:func:`iamgen.policy.policy_size`). A statement too big for one document is
cut into statements with the same actions and conditions on fewer resources
(then fewer actions), which allows exactly the same requests. Documents are
filled first-fit in statement order, so related statements stay together.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import PolicyTooLargeError
from ..model import PolicyDocument, Statement
from ..policy import policy_size
from .group import statement_chars
from .sids import MAX_SID_LENGTH

_EMPTY_DOCUMENT = policy_size(PolicyDocument(statements=()))
_SID_ALLOWANCE = len('"Sid":"",') + MAX_SID_LENGTH


def _room(limit: int) -> int:
    """Characters one unnamed statement may take so that, named, it fits a document."""
    return limit - _EMPTY_DOCUMENT - _SID_ALLOWANCE


def _largest_fit(stmt: Statement, field: str, room: int) -> int:
    """Most leading entries of ``field`` a copy of ``stmt`` can keep within ``room``."""
    values = getattr(stmt, field)
    low, high = 0, len(values)
    while low < high:
        mid = (low + high + 1) // 2
        if statement_chars(replace(stmt, **{field: values[:mid]})) <= room:
            low = mid
        else:
            high = mid - 1
    return low


def _cut(stmt: Statement, room: int) -> list[Statement]:
    """``stmt`` as full-as-possible pieces that each fit ``room`` characters."""
    pieces: list[Statement] = []
    pending = [stmt]
    while pending:
        current = pending.pop()
        if statement_chars(current) <= room:
            pieces.append(current)
            continue
        field = next((f for f in ("resources", "actions") if len(getattr(current, f)) > 1), None)
        if field is None:
            raise PolicyTooLargeError(
                f"a statement for {current.actions[0] if current.actions else '?'} on "
                f"{current.resources[0][:80] if current.resources else '?'} needs "
                f"{statement_chars(current)} characters, more than a "
                f"{room + _EMPTY_DOCUMENT + _SID_ALLOWANCE}-character policy can hold"
            )
        values = getattr(current, field)
        keep = max(1, _largest_fit(current, field, room))
        pending.append(replace(current, **{field: values[keep:]}))
        pending.append(replace(current, **{field: values[:keep]}))
    return pieces


def cut_oversized(statements: tuple[Statement, ...], limit: int) -> tuple[Statement, ...]:
    """Cut every statement too large for one document into pieces that fit.

    Raises PolicyTooLargeError when a single action on a single resource
    cannot fit (an ARN or condition of thousands of characters).
    """
    room = _room(limit)
    out: list[Statement] = []
    for stmt in statements:
        out.extend(_cut(stmt, room))
    return tuple(out)


def pack(statements: tuple[Statement, ...], limit: int) -> tuple[PolicyDocument, ...]:
    """Named statements, first-fit into as few documents as the limit allows."""
    bins: list[list[Statement]] = []
    used: list[int] = []
    for stmt in statements:
        size = statement_chars(stmt)
        if _EMPTY_DOCUMENT + size > limit:
            raise PolicyTooLargeError(
                f"statement {stmt.sid} needs {size} characters, more than a "
                f"{limit}-character policy can hold"
            )
        for index, filled in enumerate(used):
            extra = size + (1 if bins[index] else 0)
            if filled + extra <= limit:
                bins[index].append(stmt)
                used[index] = filled + extra
                break
        else:
            bins.append([stmt])
            used.append(_EMPTY_DOCUMENT + size)
    documents = tuple(PolicyDocument(statements=tuple(b)) for b in bins)
    for doc in documents:
        assert policy_size(doc) <= limit, "size accounting disagrees with policy_size"
    return documents
