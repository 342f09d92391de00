"""A store under faults: a run killed at any moment leaves every file complete
or absent, and runs sharing a store at once both finish with the right output."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.stores import EXAMPLE, assert_store_sound

COPIES = 4


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example trail four times over (680 files, each copy its own files)."""
    root = tmp_path_factory.mktemp("trail")
    for copy in range(COPIES):
        shutil.copytree(EXAMPLE, root / f"copy{copy}")
    return root


def _command(trail: Path, out: Path, store: Path | None) -> list[str]:
    args = [sys.executable, "-m", "iamgen", "suggest", "--all", "--trail", str(trail),
            "--output-dir", str(out), "--workers", "2", "-q"]
    return args + (["--store", str(store)] if store is not None else [])


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def expected(trail: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("plain")
    subprocess.run(_command(trail, out, None), check=True, timeout=300)
    return _outputs(out)


def _units(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as connection:
            return int(connection.execute("SELECT count(*) FROM units").fetchone()[0])
    except sqlite3.Error:  # not made yet
        return 0


@pytest.mark.parametrize("after", [1, 60, 300])
def test_a_run_killed_while_writing_leaves_files_complete_or_absent(
        trail: Path, expected: dict[str, bytes], tmp_path: Path, after: int) -> None:
    store = tmp_path / "store.db"
    child = subprocess.Popen(_command(trail, tmp_path / "killed", store),
                             start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while _units(store) < after and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)  # the run and its worker process, at once
        child.wait(timeout=60)
    held = _units(store)
    if child.returncode == 0:
        pytest.skip(f"the run ended before it could be killed ({held} files kept)")
    assert child.returncode == -signal.SIGKILL
    assert held < 170 * COPIES
    assert_store_sound(store)
    out = tmp_path / "again"
    done = subprocess.run(_command(trail, out, store), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert _outputs(out) == expected
    assert _units(store) == 170 * COPIES
    assert_store_sound(store)


def test_two_runs_on_one_store_at_once(trail: Path, expected: dict[str, bytes],
                                       tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    runs = [subprocess.Popen(_command(trail, tmp_path / f"out{n}", store),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for n in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    for n in range(2):
        assert _outputs(tmp_path / f"out{n}") == expected
    assert _units(store) == 170 * COPIES
    assert_store_sound(store)
