"""The moto test server runs in a process of its own: tests fork reading workers,
and forking a process that runs a server thread can deadlock."""

from __future__ import annotations

import threading
import urllib.request

import pytest

from tests.awsserver import _moto_server  # noqa: F401 - the fixture under test


def test_server_is_another_process_and_answers(request: pytest.FixtureRequest) -> None:
    before = set(threading.enumerate())
    url = request.getfixturevalue("_moto_server")
    assert set(threading.enumerate()) <= before  # no server thread in this process
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=10) as response:
        assert response.status == 200
