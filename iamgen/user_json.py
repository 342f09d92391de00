"""JSON text a user gives iamgen (grants, policy documents, saved graphs,
expected denials), read with the standard library, refused in a few words
when it holds no value iamgen can use: bad syntax, an integer of more digits
than Python reads, nesting deeper than the reader recurses, or a ``\\u``
escape that is no character (a lone UTF-16 surrogate, which no report could
be written in)."""

from __future__ import annotations

import json
from typing import Any

LONE_SURROGATE = "a \\u escape that is no character (a lone UTF-16 surrogate)"


def read_json(text: str) -> Any:
    """The value ``text`` holds; ValueError saying what is wrong, else
    (a :class:`json.JSONDecodeError` for bad syntax, with its place)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if may_hold_surrogate(text) and holds_lone_surrogate(value):
        raise ValueError(LONE_SURROGATE)
    return value


def may_hold_surrogate(text: str | bytes) -> bool:
    """Whether JSON text holds a ``\\u`` escape of a UTF-16 surrogate (any
    case): only then can what it holds be a lone surrogate."""
    return ("\\ud" if isinstance(text, str) else b"\\ud") in text.lower()


def holds_lone_surrogate(value: Any) -> bool:
    """Whether a value read from JSON holds a string no UTF-8 can encode."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
