"""benchmarks/generate_workload.py: byte-identical runs, ten days of trail, probes on its roles."""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import sys
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from iamgen.catalog import load_catalog

GENERATOR = Path(__file__).resolve().parent.parent / "benchmarks" / "generate_workload.py"
LOG_FILE = re.compile(
    r"trail/AWSLogs/444455556666/CloudTrail/us-east-1/\d{4}/\d{2}/\d{2}/"
    r"444455556666_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz"
)


def load_generator() -> ModuleType:
    """Import the script from its path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("benchmarks_generate_workload", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    spec.loader.exec_module(module)
    return module


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Two runs of the generator's command line into two empty folders."""
    generator = load_generator()
    outputs = []
    for name in ("first", "second"):
        folder = tmp_path_factory.mktemp(name)
        assert generator.main(["--output-dir", str(folder)]) == 0
        outputs.append(tree(folder))
    return outputs[0], outputs[1]


@pytest.fixture(scope="module")
def records(runs: tuple[dict[str, bytes], dict[str, bytes]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path, blob in runs[0].items():
        if path.startswith("trail/"):
            found.extend(json.loads(gzip.decompress(blob))["Records"])
    return found


def probes(runs: tuple[dict[str, bytes], dict[str, bytes]]) -> list[dict[str, str]]:
    return [json.loads(line) for line in runs[0]["probes.jsonl"].decode().splitlines()]


def test_two_runs_write_byte_identical_trees(
        runs: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    first, second = runs
    assert sorted(first) == sorted(second)
    assert all(first[path] == second[path] for path in first)


def test_trail_is_laid_out_as_cloudtrail_delivers_it(
        runs: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    logs = [path for path in runs[0] if path != "probes.jsonl"]
    assert len(logs) > 50
    assert all(LOG_FILE.fullmatch(path) for path in logs)


def test_trail_spans_ten_days(records: list[dict[str, Any]]) -> None:
    days = {record["eventTime"][:10] for record in records}
    first = date(2026, 11, 2)
    assert days == {(first + timedelta(days=n)).isoformat() for n in range(10)}


def test_every_record_is_a_role_session(records: list[dict[str, Any]]) -> None:
    issuers = {r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] for r in records}
    assert len(issuers) >= 3
    assert all(arn.startswith("arn:aws:iam::444455556666:role/") for arn in issuers)


def test_probes_are_well_formed_and_sorted(
        runs: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    lines = probes(runs)
    assert len(lines) >= 30
    assert all(set(line) == {"principal", "action", "resource", "why"} for line in lines)
    assert all(line["resource"].startswith("arn:aws:") for line in lines)
    keys = [(line["principal"], line["action"], line["resource"]) for line in lines]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_probes_name_principals_of_the_trail(
        runs: tuple[dict[str, bytes], dict[str, bytes]], records: list[dict[str, Any]]) -> None:
    issuers = {r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] for r in records}
    assert {line["principal"] for line in probes(runs)} <= issuers


def test_probe_actions_are_spelled_as_the_catalog_spells_them(
        runs: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    catalog = load_catalog()
    for line in probes(runs):
        info = catalog.action(line["action"])
        assert info is not None and info.full_name == line["action"], line["action"]
