"""JSON text of the reports: keys sorted, 2-space indent, one trailing newline.

A fleet review is tens of megabytes of JSON; the standard library writes
indented JSON in Python, msgspec in C, about ten times faster.
"""

from __future__ import annotations

from typing import Any

import msgspec


def sorted_json(value: Any) -> str:
    """``value`` as indented JSON text, keys sorted, non-ASCII characters as
    they are, one trailing newline: the text of ``json.dumps(value, indent=2,
    sort_keys=True, ensure_ascii=False)``, but for floats below 1e-4 or from
    1e16, written without exponent signs (``0.00001``, ``1e16``), and NaN or
    infinity, written as null (valid JSON). The reports' floats are shares and
    percentages rounded to 1-4 places."""
    return msgspec.json.format(msgspec.json.encode(value, order="sorted"), indent=2
                               ).decode() + "\n"
