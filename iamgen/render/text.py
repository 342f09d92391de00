"""Small text forms shared by the renderers and the CLI's own output: times to the
second, and values made safe in Markdown."""

from __future__ import annotations

import re
from datetime import UTC, datetime


def iso_seconds(moment: datetime) -> str:
    """``moment`` in UTC to the second, as ``2026-11-02T09:28:30Z`` (naive means local time)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def md_code(text: str, *, table: bool = True) -> str:
    """``text`` as a Markdown code span, shown as it is: a fence of more
    backticks than any run in it, control characters and line breaks as their
    visible symbols (a table row is one line), and, in a table cell (GFM),
    ``|`` escaped (the one escape a code span in a table takes)."""
    if not text:
        return ""  # no code span can be empty
    shown = visible(text)
    if table:
        shown = shown.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    # One space each side is stripped from a span that starts and ends with
    # one (and is not all spaces), and needed where it starts or ends with `.
    pad = " " if ("`" in (shown[:1], shown[-1:])
                  or (shown[:1] == shown[-1:] == " " and shown.strip(" "))) else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def md_text(text: str) -> str:
    """``text`` as plain Markdown text, in a table cell or a line: control
    characters and line breaks as their visible symbols, and every character
    Markdown or HTML could read as markup backslash-escaped."""
    return _MARKUP.sub(r"\\\g<0>", visible(text))


_MARKUP = re.compile(r"[\\`*_\[\]<>|~&!#]")


def visible(text: str) -> str:
    """``text`` on one line: C0 controls and DEL as Unicode's control pictures
    (``\\n`` as ``\u240a``), other line and paragraph separators as ``\u2424``."""
    return _INVISIBLE.sub(_picture, text)


_INVISIBLE = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def _picture(found: re.Match[str]) -> str:
    code = ord(found.group())
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\u2424"
