"""A real HTTP server speaking the AWS APIs (moto in server mode) for tests.

Import the fixtures into a test module::

    from awsserver import aws_endpoint, iam  # noqa: F401

``aws_endpoint`` starts ``moto.server.ThreadedMotoServer`` on 127.0.0.1 with
a free port once per module, stops it afterwards, resets its state for each
test and points ``AWS_ENDPOINT_URL`` at it (tests/conftest.py has already
removed every other ``AWS_*`` variable and set fake credentials). ``iam`` is
a boto3 IAM client on that endpoint. Nothing here can reach AWS.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer


@pytest.fixture(scope="module")
def _moto_server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _post(url: str, body: bytes = b"") -> None:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:  # 127.0.0.1 only
        response.read()


@pytest.fixture
def aws_endpoint(_moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The endpoint URL of a fresh moto server state; AWS_ENDPOINT_URL points at it."""
    _post(f"{_moto_server}/moto-api/reset")
    monkeypatch.setenv("AWS_ENDPOINT_URL", _moto_server)
    try:
        yield _moto_server
    finally:
        enforce_auth(_moto_server, False)


def enforce_auth(endpoint: str, on: bool) -> None:
    """Make the server check IAM permissions of every later request (or stop checking).

    moto's ``/moto-api/reset-auth`` takes the number of requests to let
    through before checking starts: 0 turns checking on at once.
    """
    _post(f"{endpoint}/moto-api/reset-auth", b"0" if on else b"inf")


@pytest.fixture
def iam(aws_endpoint: str) -> object:
    """A boto3 IAM client talking to the test server."""
    return boto3.client("iam", endpoint_url=aws_endpoint, region_name="us-east-1")
