"""The shared text forms (iamgen.render.text): times to the second in UTC, and
Markdown-safe values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from iamgen.render.text import iso_seconds, markdown_safe


def test_iso_seconds_drops_the_fraction_without_rounding() -> None:
    assert iso_seconds(datetime(2026, 11, 2, 9, 28, 30, 999_999, tzinfo=UTC)) \
        == "2026-11-02T09:28:30Z"


def test_iso_seconds_converts_an_offset_to_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert iso_seconds(datetime(2026, 11, 2, 1, 0, 5, 250_000, tzinfo=plus2)) \
        == "2026-11-01T23:00:05Z"


def test_markdown_safe_escapes_backslash_first_then_pipes_and_replaces_backticks() -> None:
    assert markdown_safe("a|b`c\\d") == "a\\|b'c\\\\d"
    assert markdown_safe("\\|") == "\\\\\\|"
    assert markdown_safe("plain-text_*") == "plain-text_*"
