"""How wide text output may be: the terminal's width, or a fixed one when piped.

Text renderers take the width as an argument and stay pure; only the CLI asks
:func:`text_width`. Output that is not a terminal always gets FIXED_WIDTH, so a
file or a pipe holds the same bytes on every machine.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from typing import TextIO

FIXED_WIDTH = 100
MIN_WIDTH = 60
CONTINUATION = "    "
"""What a wrapped line's continuation adds to its indent."""


def text_width(stream: TextIO | None = None) -> int:
    """Columns for text written to ``stream`` (default stdout): the terminal's
    width when it is one (at least MIN_WIDTH), else FIXED_WIDTH."""
    stream = sys.stdout if stream is None else stream
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        interactive = False
    if not interactive:
        return FIXED_WIDTH
    columns = shutil.get_terminal_size((FIXED_WIDTH, 24)).columns
    return max(MIN_WIDTH, columns)


_GLUE = "\u00a0"
"""A space :func:`wrap` never breaks at (textwrap breaks at ASCII whitespace only)."""


def together(text: str) -> str:
    """``text`` marked to stay on one line when wrapped (``[policy, statement 3]``)."""
    return text.replace(" ", _GLUE)


def wrap(line: str, width: int) -> list[str]:
    """``line`` broken at spaces to fit ``width``; continuation lines keep its
    indent plus CONTINUATION. A word longer than a line (an ARN) is never cut:
    it gets a line of its own, however long. Text marked by :func:`together`
    moves as one word."""
    if len(line) <= width:
        return [line.replace(_GLUE, " ")]
    body = line.lstrip(" ")
    indent = line[: len(line) - len(body)]
    parts = textwrap.wrap(body, width=width, initial_indent=indent,
                          subsequent_indent=indent + CONTINUATION, break_long_words=False,
                          break_on_hyphens=False) or [line]
    return [part.replace(_GLUE, " ") for part in parts]


def wrap_lines(lines: list[str], width: int) -> list[str]:
    """Every line of ``lines`` wrapped to ``width`` (see :func:`wrap`)."""
    return [part for line in lines for part in wrap(line, width)]


def wrap_cell(text: str, width: int) -> list[str]:
    """A table cell's text in lines of at most ``width`` (long words kept whole)."""
    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width=max(1, width), break_long_words=False,
                         break_on_hyphens=False) or [text]
