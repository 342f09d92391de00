"""The durability bar on the ten-day AI workload (benchmarks/generate_workload.py).

Learn from days 1-7, replay days 8-10 with ``iamgen backtest``: at least 99% of
the held-out distinct (action, resource) pairs allowed, and none of the
out-of-pattern probes (another job family, log group, bucket, prefix, deletes).
Exact names (``--generalize none``) fail the first half of that bar, so the
test would notice if name patterns stopped working.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app

GENERATOR = Path(__file__).resolve().parent.parent / "benchmarks" / "generate_workload.py"


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("workload")
    subprocess.run([sys.executable, str(GENERATOR), "--output-dir", str(out)], check=True,
                   capture_output=True)
    return out


def backtest(workload: Path, *extra: str) -> tuple[int, dict]:
    result = CliRunner().invoke(build_app(), [
        "backtest", "--all", "--trail", str(workload / "trail"), "--until", "2026-11-11",
        "--holdout", "3d", "--expect-denied", str(workload / "probes.jsonl"),
        "--format", "json", "--quiet", "--workers", "1", *extra])
    return result.exit_code, json.loads(result.stdout)


def test_policies_learned_from_a_week_keep_working_and_stay_tight(workload: Path) -> None:
    code, report = backtest(workload, "--fail-under", "99")
    total = report["total"]
    assert total["pairs"] >= 400 and total["new_name_pairs"] >= 300
    allowed = total["pairs"] - total["denied_pairs"]
    assert allowed * 100 >= 99 * total["pairs"], total
    assert report["expect_denied"]["checked"] >= 30
    assert report["expect_denied"]["allowed"] == 0, report["expect_denied"]["allowed_requests"]
    assert code == 0


def test_exact_names_break_the_next_days(workload: Path) -> None:
    code, report = backtest(workload, "--generalize", "none", "--fail-under", "99")
    total = report["total"]
    assert total["new_name_pairs_allowed"] == 0
    assert (total["pairs"] - total["denied_pairs"]) * 100 < 50 * total["pairs"]
    assert code == 11
