"""The fingerprint a kept result is made under: what changes it."""

from __future__ import annotations

import types

import msgspec
import pytest

from iamgen.store import rules


def _fingerprint() -> str:
    return rules.current_rules.__wrapped__().fingerprint  # not the process's cached one


def test_the_same_iamgen_gives_the_same_fingerprint() -> None:
    assert _fingerprint() == _fingerprint() == rules.current_rules().fingerprint


def test_another_python_or_msgspec_makes_results_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both parse the records (event times, JSON): a result made under another
    # might not be the one this iamgen would make.
    mine = _fingerprint()
    monkeypatch.setattr(rules, "sys", types.SimpleNamespace(version_info=(3, 99, 0)))
    other_python = _fingerprint()
    monkeypatch.undo()
    monkeypatch.setattr(rules, "msgspec", types.SimpleNamespace(
        __version__=msgspec.__version__ + ".post1"))
    other_msgspec = _fingerprint()
    assert len({mine, other_python, other_msgspec}) == 3


def test_a_changed_rule_file_makes_results_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = _fingerprint()
    monkeypatch.setattr(rules, "_RULE_FILES", (*rules._RULE_FILES, ("iamgen", ("cli.py",))))
    assert _fingerprint() != mine
