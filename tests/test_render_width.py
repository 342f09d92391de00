"""Text output fits the terminal, and a fixed width when it is not one (byte-identical)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.render import width as width_module
from iamgen.render.width import FIXED_WIDTH, MIN_WIDTH, text_width, together, wrap

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account"
TRAIL = str(EXAMPLE / "trail")
GRANTS = str(EXAMPLE / "grants" / "account-authorization-details.json")


def run(*args: str) -> str:
    result = CliRunner().invoke(build_app(), [*args, "--quiet"])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def too_wide(text: str, limit: int = FIXED_WIDTH) -> list[str]:
    """Lines over the limit that could have been broken (more than one word)."""
    return [line for line in text.splitlines()
            if len(line) > limit and len(line.split()) > 1]


@pytest.mark.parametrize("command", [
    ("review", "--trail", TRAIL, "--grants", GRANTS),
    ("diff", "--all", "--trail", TRAIL, "--grants", GRANTS),
])
def test_text_output_fits_the_fixed_width_when_not_a_terminal(command: tuple[str, ...]) -> None:
    text = run(*command)
    assert too_wide(text) == []
    assert text == run(*command)  # no terminal: the same bytes every time


def test_review_table_keeps_every_risk_code() -> None:
    text = run("review", "--trail", TRAIL, "--grants", GRANTS)
    first = next(line for line in text.splitlines() if line.lstrip().startswith("1  "))
    assert "jenkins-ml-deploy" in first
    assert ("risky grants: DATA_EVERY_BUCKET, INVOKE_EVERY_MODEL, PASSROLE_ANY_ROLE, "
            "SERVICE_WILDCARD_ALL") in text


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_text_width_is_fixed_off_a_terminal_and_the_terminals_on_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(width_module.shutil, "get_terminal_size",
                        lambda fallback=(0, 0): os.terminal_size((132, 40)))
    assert text_width(_Stream(tty=False)) == FIXED_WIDTH
    assert text_width(_Stream(tty=True)) == 132
    monkeypatch.setattr(width_module.shutil, "get_terminal_size",
                        lambda fallback=(0, 0): os.terminal_size((20, 40)))
    assert text_width(_Stream(tty=True)) == MIN_WIDTH


_words = st.text(alphabet=st.characters(codec="ascii", categories=("L", "N", "P")),
                 min_size=1, max_size=40)


@given(st.lists(_words, min_size=1, max_size=30), st.integers(0, 6), st.integers(20, 120))
def test_wrap_keeps_every_word_whole_and_in_order(words: list[str], indent: int,
                                                   width: int) -> None:
    line = " " * indent + " ".join(words)
    parts = wrap(line, width)
    assert " ".join(" ".join(parts).split()) == " ".join(words)
    assert all(len(p) <= width or len(p.split()) == 1 for p in parts)
    assert all(p.startswith(" " * indent) for p in parts)


def test_together_moves_as_one_and_reads_as_spaces() -> None:
    line = "  PASSROLE_ANY_ROLE (high): iam:PassRole on *  " + together("[policy-x, statement 12]")
    parts = wrap(line, 60)
    assert parts[-1].strip() == "[policy-x, statement 12]"
    assert "\u00a0" not in "".join(parts)
