"""The fingerprint a kept result is made under: what changes it."""

from __future__ import annotations

import types
from pathlib import Path

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


def test_data_files_left_out_are_read_by_no_code_that_makes_results() -> None:
    root = Path(rules.__file__).resolve().parent.parent
    makers = [path for package, endings in rules._RULE_FILES if package != "iamgen.data"
              for path in sorted(root.joinpath(*package.split(".")[1:]).iterdir())
              if path.name.endswith(endings) and path != Path(rules.__file__).resolve()]
    assert len(makers) > 20
    for path in makers:
        text = path.read_text()
        for name in rules.LEFT_OUT["iamgen.data"]:
            assert name not in text, f"{path.name} reads {name}: it shapes results"
    data = {p.name for p in (root / "data").glob("*.toml")}
    left_out = rules.LEFT_OUT["iamgen.data"]
    assert left_out < data  # each still exists, and most data is fingerprinted
    assert {"event_overrides.toml", "hardening.toml", "ai_lens.toml"} <= data - left_out


def test_a_file_left_out_is_not_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = _fingerprint()
    monkeypatch.setattr(rules, "LEFT_OUT", {**rules.LEFT_OUT, "iamgen.data":
                                            rules.LEFT_OUT["iamgen.data"] - {"review_risks.toml"}})
    assert _fingerprint() != mine  # hashed once it counts: so left out, editing it is free


def test_store_code_left_out_is_imported_by_no_code_that_makes_results() -> None:
    root = Path(rules.__file__).resolve().parent.parent
    makers = [path for package, endings in rules._RULE_FILES if package != "iamgen.data"
              for path in sorted(root.joinpath(*package.split(".")[1:]).iterdir())
              if path.name.endswith(endings)
              and path.name not in rules.LEFT_OUT.get(package, frozenset())]
    store = {p.name for p in (root / "store").glob("*.py")}
    assert rules.LEFT_OUT["iamgen.store"] < store
    for path in makers:
        text = path.read_text()
        for name in rules.LEFT_OUT["iamgen.store"]:
            module = name.removesuffix(".py")
            assert f"from .{module} import" not in text and f"store.{module}" not in text, \
                f"{path.name} imports {module}: it would shape results"


def test_store_code_left_out_is_not_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = _fingerprint()
    monkeypatch.setattr(rules, "LEFT_OUT", {**rules.LEFT_OUT, "iamgen.store": frozenset()})
    assert _fingerprint() != mine
