"""The example account renders in all three formats, each holding the same policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.render import META_SUFFIX
from tests.rendered import (
    cloudformation,
    lint_errors,
    normalized,
    policy_from_data_source,
    terraform_blocks,
)

REPO = Path(__file__).resolve().parent.parent
TRAIL = REPO / "examples" / "ml-account" / "trail"
SUFFIX = {"json": ".json", "terraform": ".tf", "cloudformation": ".yaml"}


def _suggest_all(fmt: str, out: Path) -> None:
    result = CliRunner().invoke(
        build_app(),
        [
            "suggest",
            "--all",
            "--trail",
            str(TRAIL),
            "--format",
            fmt,
            "--output-dir",
            str(out),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.stderr


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("example")
    out = {fmt: base / fmt for fmt in SUFFIX}
    for fmt, folder in out.items():
        _suggest_all(fmt, folder)
    return out


def _principal_policies(json_dir: Path) -> dict[str, list[dict]]:
    policies = {}
    for meta in sorted(json_dir.glob(f"*{META_SUFFIX}")):
        stem = meta.name.removesuffix(META_SUFFIX)
        files = json.loads(meta.read_text("utf-8"))["policies"]
        policies[stem] = [json.loads((json_dir / f).read_text("utf-8")) for f in files]
    return policies


def test_every_principal_has_a_file_in_every_format(rendered: dict[str, Path]) -> None:
    stems = set(_principal_policies(rendered["json"]))
    assert len(stems) >= 3
    for fmt in ("terraform", "cloudformation"):
        assert {p.stem for p in rendered[fmt].iterdir()} == stems
        assert all(p.suffix == SUFFIX[fmt] for p in rendered[fmt].iterdir())


def test_terraform_holds_the_same_policies_and_labels_are_unique_in_the_module(
    rendered: dict[str, Path],
) -> None:
    labels: set[str] = set()
    for stem, policies in _principal_policies(rendered["json"]).items():
        data, resources = terraform_blocks(
            (rendered["terraform"] / f"{stem}.tf").read_text("utf-8")
        )
        assert [normalized(policy_from_data_source(b)) for b in data.values()] == [
            normalized(p) for p in policies
        ]
        assert set(data) == set(resources) and not labels & set(data)
        labels |= set(data)


def test_cloudformation_holds_the_same_policies_and_lints_clean(rendered: dict[str, Path]) -> None:
    for stem, policies in _principal_policies(rendered["json"]).items():
        text = (rendered["cloudformation"] / f"{stem}.yaml").read_text("utf-8")
        resources = cloudformation(text)["Resources"]
        assert [r["Properties"]["PolicyDocument"] for r in resources.values()] == policies
        assert lint_errors(text) == [], stem


def test_rendering_again_gives_byte_identical_files(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    _suggest_all("terraform", tmp_path / "again")
    before = {p.name: p.read_bytes() for p in rendered["terraform"].iterdir()}
    after = {p.name: p.read_bytes() for p in (tmp_path / "again").iterdir()}
    assert before == after
