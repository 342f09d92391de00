"""What `pip install iamgen` brings: the fast gzip by default, the standard library as fallback."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_isal_is_a_default_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [d.split(">")[0].split("<")[0].split("=")[0].strip() for d in project["dependencies"]]
    assert "isal" in names
    assert "fast" in project["optional-dependencies"]  # `iamgen[fast]` still installs


def test_without_isal_the_standard_gzip_is_used() -> None:
    code = ("import sys; sys.modules['isal'] = None; "
            "from iamgen.sources import decode; print(decode._gzip.__name__)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=ROOT).stdout.strip()
    assert shown == "gzip"
