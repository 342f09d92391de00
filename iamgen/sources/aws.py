"""boto3 clients, made at the edge and the same way in every process.

A :class:`ClientFactory` is a small picklable value: sources hold one and call
it lazily in whichever process reads, so worker processes make their own
clients (boto3 clients cannot be pickled). Everything left as None follows
boto3's usual conventions: ``AWS_PROFILE``, ``AWS_REGION`` /
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``, the
shared config and credentials files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..errors import InputError

# Throttling (SlowDown, ThrottlingException, 503s) is retried by botocore's
# "adaptive" mode, which also slows the client down when throttled:
# https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
RETRY_MODE = "adaptive"
MAX_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class ClientFactory:
    """Makes one boto3 client of ``service``; picklable."""

    service: str
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    max_pool_connections: int = 16

    def __call__(self) -> Any:
        """A new client."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        config = Config(
            retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS},
            max_pool_connections=self.max_pool_connections,
            user_agent_extra="iamgen",
        )
        try:
            session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
            return session.client(self.service, endpoint_url=self.endpoint_url, config=config)
        except BotoCoreError as exc:
            raise InputError(f"cannot make an AWS {self.service} client: {exc}") from None

    def in_region(self, region: str | None) -> ClientFactory:
        """The same factory for another region (None keeps this one's)."""
        return self if region is None else replace(self, region=region)

    def regional(self, region: str | None) -> Any:
        """A new client for ``region`` (None: this factory's region)."""
        return self.in_region(region)()


def error_text(exc: BaseException) -> str:
    """A one-line description of a botocore error (code and message)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = error.get("Code") or "Error"
        message = error.get("Message") or ""
        return f"{code}: {message}".rstrip(": ")
    return str(exc)
