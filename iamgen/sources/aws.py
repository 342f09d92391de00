"""boto3 clients, made at the edge and the same way in every process.

A :class:`ClientFactory` is a small picklable value: sources hold one and call
it lazily in whichever process reads, so worker processes make their own
clients (boto3 clients cannot be pickled). Everything left as None follows
the AWS SDKs' standard settings: ``AWS_PROFILE``, ``AWS_REGION`` (then
``AWS_DEFAULT_REGION``, then the profile's ``region``), ``AWS_ENDPOINT_URL``
and its per-service forms (``AWS_ENDPOINT_URL_S3``, ``_CLOUDTRAIL``, ``_IAM``,
``_STS``: botocore reads these itself since 1.31), the shared config and
credentials files. botocore reads ``AWS_DEFAULT_REGION`` but not
``AWS_REGION``, which the other SDKs and the AWS CLI v2 documentation use:
:func:`session` adds it.

:func:`refused` tells a failure to authenticate or authorize a call (no
credentials, an expired token, AccessDenied) apart from other errors: such a
failure stops a run, where a damaged file is only a warning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from ..errors import AwsRefusedError, InputError, UsageError
from ..model import is_access_denied

# Throttling (SlowDown, ThrottlingException, 503s) is retried by botocore's
# "adaptive" mode, which also slows the client down when throttled:
# https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
RETRY_MODE = "adaptive"
MAX_ATTEMPTS = 10

# Error codes with which AWS services refuse a caller they cannot authenticate
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html,
# the "Common Errors" of each API reference, S3's error responses).
BAD_CREDENTIAL_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
    "UnrecognizedClientException", "InvalidAccessKeyId", "InvalidToken",
    "SignatureDoesNotMatch", "IncompleteSignature", "InvalidSignatureException",
    "MissingAuthenticationToken", "MissingAuthenticationTokenException", "AuthFailure",
    "TokenRefreshRequired",
})
# botocore's errors for credentials it could not find or obtain.
_CREDENTIAL_ERRORS = (
    "NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError",
    "NoAuthTokenError", "TokenRetrievalError", "SSOError", "LoginError",
    "RefreshWithMFAUnsupportedError", "UnknownCredentialError",
)
NO_CREDENTIALS_HINT = ("set AWS_PROFILE or pass --profile, or set AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY")


def session(profile: str | None = None, region: str | None = None) -> Any:
    """A boto3 session: ``profile`` (None: ``AWS_PROFILE``, else the default
    profile) and ``region`` (None: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the
    profile's region, in that order)."""
    import boto3

    region = region or os.environ.get("AWS_REGION") or None
    return boto3.session.Session(profile_name=profile, region_name=region)


@dataclass(frozen=True, slots=True)
class ClientFactory:
    """Makes one boto3 client of ``service``; picklable."""

    service: str
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    max_pool_connections: int = 16

    def __call__(self) -> Any:
        """A new client. UsageError when no region is configured for a
        regional service; InputError when the settings cannot be used."""
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, NoRegionError

        config = Config(
            retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS},
            max_pool_connections=self.max_pool_connections,
            user_agent_extra="iamgen",
        )
        try:
            return session(self.profile, self.region).client(
                self.service, endpoint_url=self.endpoint_url, config=config)
        except NoRegionError:
            raise UsageError(f"no AWS region for {self.service}: set AWS_REGION (or "
                             "AWS_DEFAULT_REGION, or a region in the profile)") from None
        except BotoCoreError as exc:
            raise InputError(f"cannot make an AWS {self.service} client: {exc}") from None

    def in_region(self, region: str | None) -> ClientFactory:
        """The same factory for another region (None keeps this one's)."""
        return self if region is None else replace(self, region=region)

    def regional(self, region: str | None) -> Any:
        """A new client for ``region`` (None: this factory's region)."""
        return self.in_region(region)()


def refusal(exc: BaseException) -> str | None:
    """Why AWS refused a call, when ``exc`` is a failure to authenticate or
    authorize it (no or bad credentials, access denied); None for any other error."""
    from botocore import exceptions

    credential_errors = tuple(getattr(exceptions, name) for name in _CREDENTIAL_ERRORS
                              if hasattr(exceptions, name))
    if isinstance(exc, exceptions.NoCredentialsError):
        return f"no AWS credentials were found ({NO_CREDENTIALS_HINT})"
    if isinstance(exc, credential_errors):
        return f"AWS credentials could not be used ({exc})"
    code = _code(exc)
    if code in BAD_CREDENTIAL_CODES:
        return (f"the AWS credentials are invalid or have expired ({error_text(exc)}); "
                "refresh them, or choose others with AWS_PROFILE or --profile")
    if code is not None and is_access_denied(code):  # the codes CloudTrail logs as denied
        return f"access denied ({error_text(exc)})"
    return None


def refused(call: str, exc: BaseException) -> AwsRefusedError | None:
    """The error that stops a run when AWS refused ``call`` (``s3:GetObject
    s3://bucket/key``); None when ``exc`` is another failure."""
    why = refusal(exc)
    return None if why is None else AwsRefusedError(f"{call}: {why}")


def _code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        return str(code) if code else None
    return None


def error_text(exc: BaseException) -> str:
    """A one-line description of a botocore error (code and message)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = error.get("Code") or "Error"
        message = error.get("Message") or ""
        return f"{code}: {message}".rstrip(": ")
    return str(exc)
