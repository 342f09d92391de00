"""A real HTTP server speaking the AWS APIs (moto in server mode) for tests.

Import the fixtures into a test module::

    from awsserver import aws_endpoint, iam  # noqa: F401

``aws_endpoint`` starts moto's server (``python -m moto.server``) in a process
of its own on 127.0.0.1 with a free port once per module, waits until it
answers, stops it afterwards, resets its state for each test and points
``AWS_ENDPOINT_URL`` at it (tests/conftest.py has already removed every other
``AWS_*`` variable and set fake credentials). ``iam`` is a boto3 IAM client on
that endpoint. Nothing here can reach AWS.

A process, not a thread: the tests fork reading workers, and forking a process
whose other threads hold locks (a server thread, its logging) can deadlock.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import IO, Any

import boto3
import pytest

START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_answering(url: str, server: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"moto server exited with {server.returncode}: {output[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2) as response:
                response.read()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto server at {url} did not answer in "
                                   f"{START_TIMEOUT:.0f} s") from None
            time.sleep(0.05)


@pytest.fixture(scope="module")
def _moto_server() -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EC2_METADATA_DISABLED": "true"})
    url = f"http://127.0.0.1:{port}"
    # The request log goes to a temporary file (shown if the server fails to start).
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_until_answering(url, server, log)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


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


def answer_json(handler: Any, body: bytes) -> None:
    """Answer an AWS JSON-protocol request from a test's own http.server handler."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/x-amz-json-1.1")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextlib.contextmanager
def serve_locally(handler: type) -> Iterator[str]:
    """A stand-in AWS endpoint on 127.0.0.1 for what moto lacks (LookupEvents),
    answered by ``handler`` (an http.server handler class) on a thread; its URL.
    The commands run against it read with one process: nothing forks under it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
