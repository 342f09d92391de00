"""The README says what the code does: its links resolve, and its exit-code table lists
every code a command can end with, once."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from iamgen import errors
from iamgen.commands import backtest, diff

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_relative_links_and_named_readmes_exist() -> None:
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README)
    named = re.findall(r"`([\w./-]+/README\.md)`", README)
    assert links or named
    for target in [*links, *named]:
        assert (ROOT / target).exists(), target


def _table_codes() -> list[int]:
    section = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return [int(code) for code in re.findall(r"^\|\s*(\d+)\s*\|", section, re.MULTILINE)]


def test_exit_code_table_lists_every_code_once() -> None:
    raised = {cls.exit_code for _, cls in inspect.getmembers(errors, inspect.isclass)
              if issubclass(cls, errors.IamgenError)}
    expected = raised | {0, 1, 130, diff.FAIL_ON_UNUSED_EXIT, backtest.FAILED}
    codes = _table_codes()
    assert len(codes) == len(set(codes))
    assert set(codes) == expected


def test_example_readme_explains_the_damaged_file() -> None:
    example = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    assert "on purpose" in example and "damaged gzip data" in example
    assert "damaged" in (ROOT / "Makefile").read_text(encoding="utf-8").split("demo:", 1)[1]
