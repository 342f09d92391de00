"""Every bundled example runs through the CLI and gives valid, size-limited policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.policy import MANAGED_POLICY_LIMIT, parse_policy, policy_size

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TRAILS = sorted(p / "trail" for p in EXAMPLES.iterdir() if (p / "trail").is_dir())


def test_there_are_examples() -> None:
    assert TRAILS, "examples/ should hold at least one account with a trail/ folder"


@pytest.mark.parametrize("trail", TRAILS, ids=[t.parent.name for t in TRAILS])
def test_suggest_all_writes_a_valid_policy_per_principal(trail: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        build_app(), ["suggest", "--all", "--trail", str(trail), "--output-dir", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    policies = sorted(p for p in out.glob("*.json") if not p.name.endswith(".meta.json"))
    metas = sorted(out.glob("*.meta.json"))
    assert policies and len(metas) <= len(policies)
    for path in policies:
        doc = parse_policy(path.read_text())
        assert doc.statements, path
        assert policy_size(doc) <= MANAGED_POLICY_LIMIT, path
    principals = {json.loads(m.read_text())["principal"] for m in metas}
    seen_line = next(line for line in result.stderr.splitlines() if "principals seen" in line)
    assert len(principals) <= int(seen_line.rsplit(" ", 1)[-1])


@pytest.mark.parametrize("fmt", ["json", "terraform", "cloudformation"])
@pytest.mark.parametrize("trail", TRAILS, ids=[t.parent.name for t in TRAILS])
def test_suggest_is_byte_identical_across_runs(trail: Path, fmt: str, tmp_path: Path) -> None:
    texts = []
    for run in range(2):
        out = tmp_path / f"out{run}"
        result = CliRunner().invoke(build_app(), [
            "suggest", "--all", "--trail", str(trail), "--output-dir", str(out), "--format", fmt,
            "--quiet", "--workers", str(run + 1),
        ])
        assert result.exit_code == 0, result.stderr
        texts.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert texts[0] == texts[1]
