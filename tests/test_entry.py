"""The ``iamgen`` script's start and end: a Ctrl-C while it imports, or output that cannot
be written, is one line, not a traceback."""

from __future__ import annotations

import builtins
import sys
from typing import Any

import pytest

from iamgen.__main__ import run


def test_an_interrupt_while_starting_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delitem(sys.modules, "iamgen.cli", raising=False)
    real = builtins.__import__

    def importing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "iamgen.cli":
            raise KeyboardInterrupt  # as Ctrl-C lands while the command line loads
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importing)
    with pytest.raises(SystemExit) as ended:
        run()
    assert ended.value.code == 130
    assert capsys.readouterr().err == "iamgen: interrupted\n"


def test_the_script_runs_the_command_line(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["iamgen", "--version"])
    with pytest.raises(SystemExit) as ended:
        run()
    assert ended.value.code == 0 and "0.1.0" in capsys.readouterr().out


@pytest.mark.parametrize("command", [
    ["suggest", "ml-deploy-pipeline", "-q"],
    ["graph", "--format", "dot", "-q"],
    ["--help"],
    ["suggest", "--help"],
    ["--version"],
])
def test_output_that_cannot_be_written_is_one_line_and_exit_3(command: list[str]) -> None:
    """Standard output on a full disk (/dev/full): the documented exit 3 and
    one line, never a traceback, nor a second failure when the run exits."""
    import os
    import subprocess
    from pathlib import Path

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    trail = Path(__file__).resolve().parent.parent / "examples" / "ml-account" / "trail"
    with open("/dev/full", "w") as full:
        trail_option = ["--trail", str(trail)] if "-q" in command else []
        done = subprocess.run([sys.executable, "-m", "iamgen", *command, *trail_option],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 3
    assert done.stderr == "iamgen: error: cannot write output (No space left on device)\n"
