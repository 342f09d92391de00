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


# What the result-making code imports from elsewhere in iamgen and may leave
# out of the fingerprint: exception classes, the worker processes' parent
# check, what only reports (data-event coverage, discovery) and the store's
# synthesis cache (left out itself) read.
_IMPORTED_UNHASHED = {"errors", "orphans", "grants", "synth"}


def test_what_result_making_code_imports_from_the_top_is_fingerprinted() -> None:
    root = Path(rules.__file__).resolve().parent.parent
    hashed_packages = {package.split(".")[1] for package, _ in rules._RULE_FILES
                       if package.count(".") == 1}
    top = {name.removesuffix(".py") for package, names in rules._RULE_FILES
           if package == "iamgen" for name in names}
    makers = [path for package, endings in rules._RULE_FILES if package != "iamgen.data"
              for path in sorted(root.joinpath(*package.split(".")[1:]).iterdir())
              if path.name.endswith(endings)
              and path.name not in rules.LEFT_OUT.get(package, frozenset())]
    imported = {line.split()[1].removeprefix("..").split(".")[0]
                for path in makers for line in path.read_text().splitlines()
                if line.strip().startswith("from ..")}
    assert "user_json" in imported  # decoding reads it: which records are bad, and why
    imported.discard("")  # from .. import __version__: in every fingerprint
    assert imported - hashed_packages - top <= _IMPORTED_UNHASHED


def test_another_gzip_reader_makes_results_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    # python-isal and zlib word a damaged file's warning differently
    mine = _fingerprint()
    monkeypatch.setattr(rules, "gzip_reader", lambda: "zlib 0.0")
    assert _fingerprint() != mine
