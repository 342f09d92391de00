"""JSON a user gives: read, or refused in a few words."""

from __future__ import annotations

import json

import pytest

from iamgen.user_json import read_json


def test_what_json_reads_is_read() -> None:
    assert read_json('{"a": [1, 1e999, "\\ud83d\\ude00"]}') == {"a": [1, float("inf"), "😀"]}


@pytest.mark.parametrize(("text", "said"), [
    ('{"a": "\\ud800"}', "lone UTF-16 surrogate"),
    ("[" * 100000, "nested too deeply"),
    ('{"a": ' + "9" * 5000 + "}", "digits"),
])
def test_what_no_report_could_use_is_refused_in_words(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        read_json(text)


def test_bad_syntax_keeps_its_place() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        read_json('{"a": }')
    assert caught.value.colno == 7
