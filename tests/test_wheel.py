"""The built wheel ships the templates (installed in a clean venv, no network)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "iamgen", "templates")


def test_wheel_installs_with_templates(tmp_path: Path) -> None:
    # Build from a copy so the checkout gets no build/ or egg-info.
    src = tmp_path / "src"
    src.mkdir()
    for path in [REPO / name for name in SOURCES] + sorted(REPO.glob("LICENSE*")):
        name = path.name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = dist.glob("iamgen-*.whl")

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    probe = (
        "import json, iamgen.templates\n"
        "from importlib.resources import files\n"
        "t = files('iamgen.templates')\n"
        "found = {p.name: p.read_text('utf-8') for p in t.iterdir() if p.name.endswith('.j2')}\n"
        "print(json.dumps({'where': iamgen.templates.__file__, 'templates': found}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    out = subprocess.run(
        [str(python), "-c", probe],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    found = json.loads(out.stdout)
    assert Path(found["where"]).is_relative_to(venv)
    shipped = {p.name: p.read_text("utf-8") for p in (REPO / "templates").glob("*.j2")}
    assert shipped and found["templates"] == shipped
