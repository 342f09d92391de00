"""The shared text forms (iamgen.render.text): times to the second in UTC, and
values in Markdown that show as themselves (read back with markdown-it, as a
renderer reads them)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from iamgen.render.text import iso_seconds, md_code, md_text, visible


def test_iso_seconds_drops_the_fraction_without_rounding() -> None:
    assert iso_seconds(datetime(2026, 11, 2, 9, 28, 30, 999_999, tzinfo=UTC)) \
        == "2026-11-02T09:28:30Z"


def test_iso_seconds_converts_an_offset_to_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert iso_seconds(datetime(2026, 11, 2, 1, 0, 5, 250_000, tzinfo=plus2)) \
        == "2026-11-01T23:00:05Z"


def _table_cells(source: str) -> list[str]:
    """The cells of a GFM table's one body row, rendered as HTML."""
    html = MarkdownIt("commonmark").enable("table").render(
        "| a | b |\n|---|---|\n" + source + "\n")
    body = html.split("<tbody>", 1)[1]
    return re.findall(r"<td>(.*?)</td>", body, re.DOTALL)


def _visible_html(text: str) -> str:
    return html.escape(visible(text), quote=True)


@settings(max_examples=400)
@example(" a ").via("a span one space each side strips")
@example(" ").via("all spaces: not stripped")
@example("` a `").via("backticks at both ends")
@example("``").via("a backtick run")
@example("a|b").via("a pipe")
@example("a\\|b").via("an escaped pipe")
@example("\n").via("a line break")
@given(st.text(alphabet=st.sampled_from("ab |`\\*_[]()<>&!#~-.:\n\r\t\x00\x7f\u2028"),
               max_size=12))
def test_any_text_shows_as_itself_in_a_table_cell(text: str) -> None:
    """A code span and plain text made of any value show that value (control
    characters as their pictures) in one cell each of one row: no value ends
    the cell or the row, or becomes markup."""
    cells = _table_cells(f"| {md_code(text)} | {md_text(text)} |")
    assert len(cells) == 2
    shown = _visible_html(text)
    code, plain = cells
    assert code == f"<code>{shown}</code>" or (not text.strip() and code in ("", shown))
    assert plain == shown.strip(" ")


def test_code_and_text_on_a_line_of_their_own() -> None:
    html_line = MarkdownIt("commonmark").render(
        f"- {md_code('a|b`c', table=False)}: {md_text('x_y*z* <b>')}")
    assert "<code>a|b`c</code>: x_y*z* &lt;b&gt;" in html_line


def test_control_characters_show_as_their_pictures() -> None:
    assert visible("a\nb\rc\td\x00e\x7ff\u2028g\x85h") == \
        "a\u240ab\u240dc\u2409d\u2400e\u2421f\u2424g\u2424h"
