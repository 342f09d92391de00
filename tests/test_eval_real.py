"""`make eval` on the real labelled records in ../shared/data (skipped when absent)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _eval_module(repo_root: Path) -> ModuleType:
    path = repo_root / "benchmarks" / "eval_resolution.py"
    spec = importlib.util.spec_from_file_location("eval_resolution", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_resolution_meets_the_targets_on_real_records(shared_data: Path, repo_root: Path) -> None:
    module = _eval_module(repo_root)
    report = module.score_cases(module.load_cases(shared_data / "cloudtrail-real.jsonl"))
    roles, users = report.ok["role"], report.ok["user"]
    assert roles.records > 50 and users.records > 50
    assert roles.actions.value >= 0.98, module.render(report)
    assert users.actions.value >= 0.98, module.render(report)
    assert report.all_ok().resources_high.value >= 0.90, module.render(report)
    assert sum(report.invalid_actions.values()) == 0, report.invalid_actions
    assert report.negatives.total > 20
    assert report.negatives.hits == report.negatives.total, report.negative_misses


def test_eval_script_skips_cleanly_without_shared_data(repo_root: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    module = _eval_module(repo_root)
    monkeypatch.setattr(module, "DATA", tmp_path / "absent.jsonl")
    assert module.main() == 0
    assert "eval skipped" in capsys.readouterr().out
