"""Small text forms shared by the renderers and the CLI's own output: times to the
second, and values made safe in Markdown."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_seconds(moment: datetime) -> str:
    """``moment`` in UTC to the second, as ``2026-11-02T09:28:30Z`` (naive means local time)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def markdown_safe(text: str) -> str:
    """``text`` for a Markdown table cell or code span: ``\\`` and ``|`` escaped,
    backticks as ``'``."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'")
