"""The moto test server runs in a process of its own: tests fork reading workers,
and forking a process that runs a server thread can deadlock."""

from __future__ import annotations

import sys
import traceback
import urllib.request

import pytest

from tests.awsserver import _moto_server  # noqa: F401 - the fixture under test


def test_server_is_another_process_and_answers(request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("_moto_server")  # started now or by an earlier test
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=10) as response:
        assert response.status == 200
    # Whenever it was started, no thread of this process is serving it.
    serving = [
        frame.filename
        for stack in sys._current_frames().values()
        for frame in traceback.extract_stack(stack)
        if "werkzeug" in frame.filename or "moto/server" in frame.filename
        or "socketserver" in frame.filename
    ]
    assert serving == []
