"""The package boundaries the ``__init__`` docstrings state, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "iamgen"

# package -> the iamgen modules or packages it may import (itself always).
ALLOWED = {
    "mapping": {"model", "catalog", "arn", "data"},
    "scanning": {"model", "mapping", "sources", "catalog", "grants.observable", "errors"},
    "grants": {"model", "catalog", "arn", "policy", "errors", "sources.aws"},
    "sources": {"model", "errors", "grants.observable"},
    "synth": {"model", "catalog", "arn", "policy", "grants.expand", "errors"},
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
