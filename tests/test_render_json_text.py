"""The reports' JSON text: what ``json.dumps`` (sorted, indented) writes, faster."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from iamgen.render.json_text import sorted_json


def _reference(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# Floats as reports hold them: shares, days and percentages, rounded.
_FLOATS = st.one_of(
    st.floats(min_value=0, max_value=1).map(lambda f: round(f, 4)),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda f: round(f, 1)),
    st.floats(min_value=1e-4, max_value=1e15),
)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**64),
                     _FLOATS, st.text())
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=30,
)


@given(_VALUES)
def test_the_text_is_what_json_dumps_writes(value: Any) -> None:
    assert sorted_json(value) == _reference(value)


class _Kind(StrEnum):
    ROLE = "role"


def test_quirks_of_the_text() -> None:
    value = {"é": "\u2028\x1f\"\\/ü", "b": [], "a": {}, "kind": _Kind.ROLE, "n": [1, [2, {}]]}
    assert sorted_json(value) == _reference(value)
    assert sorted_json({"b": 1, "a": 2}).startswith('{\n  "a": 2,\n  "b": 1\n}')
    # Outside the reports' floats the texts differ, both valid JSON
    assert json.loads(sorted_json({"tiny": 1e-05, "huge": 1e22})) == {"tiny": 1e-05, "huge": 1e22}
    assert sorted_json(float("nan")) == "null\n"
