"""Fit statements into documents under IAM's size limit.

Sizes count characters without whitespace, as IAM does (see
:func:`iamgen.policy.policy_size`). A statement too big for one document is
cut into statements with the same actions and conditions on fewer resources
(then fewer actions), which allows exactly the same requests. Documents are
filled first-fit in statement order, so related statements stay together.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from itertools import accumulate

from ..errors import PolicyTooLargeError
from ..model import PolicyDocument, Statement
from ..policy import policy_size
from .group import statement_chars
from .sids import MAX_SID_LENGTH

_EMPTY_DOCUMENT = policy_size(PolicyDocument(statements=()))
_SID_ALLOWANCE = len('"Sid":"",') + MAX_SID_LENGTH
# What json.dumps escapes when ensure_ascii is off (everything else is one character).
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


def _room(limit: int) -> int:
    """Characters one unnamed statement may take so that, named, it fits a document."""
    return limit - _EMPTY_DOCUMENT - _SID_ALLOWANCE


def _json_lengths(values: tuple[str, ...]) -> list[int]:
    """Characters each value takes as a JSON string (quotes and escapes included)."""
    if _NEEDS_ESCAPE.search("".join(values)) is None:
        return [len(value) + 2 for value in values]
    return [len(json.dumps(value, ensure_ascii=False)) for value in values]


def _value_chars(prefix: list[int], start: int, end: int) -> int:
    """Characters of the JSON value of ``values[start:end]`` (one string, or a list)."""
    if end - start == 1:
        return prefix[end] - prefix[start]
    return 2 + prefix[end] - prefix[start] + (end - start - 1)


def _cut(stmt: Statement, room: int) -> list[Statement]:
    """``stmt`` as full-as-possible pieces that each fit ``room`` characters.

    Resources are cut first, each piece taking as many leading resources as
    fit; a single resource that cannot fit has its actions cut the same way.
    """
    size = statement_chars(stmt)
    if size <= room:
        return [stmt]
    field = next((f for f in ("resources", "actions") if len(getattr(stmt, f)) > 1), None)
    if field is None:
        # (the document and the longest Sid counted in: its Sid is given later)
        raise PolicyTooLargeError(
            f"a statement for {stmt.actions[0] if stmt.actions else '?'} on "
            f"{stmt.resources[0][:80] if stmt.resources else '?'} needs "
            f"{size + _EMPTY_DOCUMENT + _SID_ALLOWANCE} characters in a policy (with room "
            f"for a {MAX_SID_LENGTH}-character Sid), more than the "
            f"{room + _EMPTY_DOCUMENT + _SID_ALLOWANCE} one can hold"
        )
    values: tuple[str, ...] = getattr(stmt, field)
    prefix = list(accumulate(_json_lengths(values), initial=0))
    rest = size - _value_chars(prefix, 0, len(values))  # the statement but this value
    pieces: list[Statement] = []
    start = 0
    while start < len(values):
        low, high = start + 1, len(values)  # the longest run from start that fits, or one
        while low < high:
            mid = (low + high + 1) // 2
            if rest + _value_chars(prefix, start, mid) <= room:
                low = mid
            else:
                high = mid - 1
        piece = replace(stmt, **{field: values[start:low]})
        if rest + _value_chars(prefix, start, low) <= room:
            pieces.append(piece)
        else:  # one value alone is too large: cut the next field
            pieces.extend(_cut(piece, room))
        start = low
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
