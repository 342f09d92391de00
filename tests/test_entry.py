"""The ``iamgen`` script's start: a Ctrl-C while it imports is one line, not a traceback."""

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
