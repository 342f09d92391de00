"""The package boundaries the ``__init__`` docstrings state, and the rule that no
test module imports another, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "iamgen"

# package -> the iamgen modules or packages it may import (itself always).
ALLOWED = {
    "mapping": {"model", "catalog", "arn", "data"},
    "scanning": {"model", "mapping", "sources", "catalog", "grants.observable", "errors",
                 "orphans"},
    "grants": {"model", "catalog", "arn", "policy", "user_json", "errors", "sources.aws"},
    "sources": {"model", "errors", "grants.observable", "user_json"},
    "synth": {"model", "catalog", "arn", "policy", "grants.expand", "errors", "orphans"},
    "render": {"model", "policy", "synth", "findings", "review", "ai_lens", "backtest",
               "grants.model", "errors"},
}


def _imports(path: Path, package: str) -> set[str]:
    """The iamgen modules one file imports, as dotted names below ``iamgen``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.startswith("iamgen."):
                    found.add(node.module.removeprefix("iamgen."))
                continue
            base = [package] if node.level == 1 else []
            name = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(name)
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("iamgen.") for a in node.names
                         if a.name.startswith("iamgen."))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_its_docstring_allows(package: str) -> None:
    allowed = ALLOWED[package] | {package}
    for path in sorted((PACKAGE / package).glob("*.py")):
        for name in _imports(path, package):
            assert any(name == ok or name.startswith(f"{ok}.") for ok in allowed), \
                f"{path.name} imports iamgen.{name}"


def test_mapping_code_knows_nothing_of_memo_tables_or_read_tracking() -> None:
    for path in sorted((PACKAGE / "mapping").glob("*.py")):
        text = path.read_text()
        for word in ("TrackedObject", "Observed", "memo", "µs"):
            assert word not in text, f"{path.name} mentions {word}"


def _test_modules_imported(path: Path) -> set[str]:
    """The ``tests/test_*.py`` modules one file imports, whatever the form:
    ``import tests.test_x``, ``from tests.test_x import y``, ``from tests import
    test_x``, ``from .test_x import y``, ``from . import test_x``, ``import test_x``."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level <= 1:
            module = node.module or ""
            if node.level == 1:
                module = f"tests.{module}" if module else "tests"
            if module == "tests":  # the names imported are modules of tests/
                names += [f"tests.{alias.name}" for alias in node.names]
            else:
                names.append(module)
    found = set()
    for name in names:
        first = name.removeprefix("tests.").split(".")[0]
        if first.startswith("test_") and (TESTS / f"{first}.py").is_file():
            found.add(first)
    return found


def test_no_test_module_imports_another() -> None:
    """What tests share lives in helper modules (tests/records.py, tests/stores.py,
    ...): importing a test module runs its module-level code and ties the two
    modules' tests together."""
    found = [f"{path.name} imports {name}"
             for path in sorted(TESTS.glob("test_*.py"))
             for name in sorted(_test_modules_imported(path))]
    assert found == []
