"""The call model: everything resolving a record reads of it.

A :class:`Call` holds a record's values as logged; two records with equal
calls need the same permissions, which is what lets the scanner resolve each
distinct call once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


class CallerFacts(NamedTuple):
    """What resolving a call reads of its ``userIdentity``, and nothing more.

    The JSON values as logged (``None`` when absent or when ``userIdentity``
    is not an object), except the ARN, of which only its partition matters
    (``None`` when it is not an ARN). Immutable (a named tuple: one is built
    for every call resolved; :mod:`iamgen.scanning` says what that costs).
    """

    type: Any = None
    invoked_by: Any = None
    account: Any = None
    partition: str | None = None
    mfa: Any = None  # sessionContext.attributes.mfaAuthenticated ("true"/"false")


NO_CALLER = CallerFacts()


def caller_facts(identity: Any) -> CallerFacts:
    """The :class:`CallerFacts` of a ``userIdentity`` value."""
    if not isinstance(identity, dict):
        return NO_CALLER
    arn = identity.get("arn")
    partition = (arn.split(":", 2)[1] or "aws") if isinstance(arn, str) and arn.startswith("arn:") \
        else None
    return CallerFacts(identity.get("type"), identity.get("invokedBy"), identity.get("accountId"),
                       partition, _mfa(identity))


def _mfa(identity: dict[str, Any]) -> Any:
    """``sessionContext.attributes.mfaAuthenticated`` (None when absent)."""
    context = identity.get("sessionContext")
    attributes = context.get("attributes") if isinstance(context, dict) else None
    return attributes.get("mfaAuthenticated") if isinstance(attributes, dict) else None


class Call(NamedTuple):
    """Everything :func:`iamgen.mapping.resolve.resolve` (and
    :func:`iamgen.mapping.facts.facts_of_call`) reads of a record.

    Fields hold the record's values as logged (``None`` when absent). The
    resolver sees a record only through this, so two records with equal
    calls always resolve alike (which lets a scanner resolve each distinct
    call once). A named tuple for the reason given at :class:`CallerFacts`.
    """

    caller: CallerFacts
    event_type: Any = None
    event_source: Any = None
    event_name: Any = None
    region: Any = None  # awsRegion
    recipient: Any = None  # recipientAccountId
    params: Any = None  # requestParameters
    response: Any = None  # responseElements
    resources: Any = None
    vpc_endpoint: Any = None  # vpcEndpointId
    tls_version: Any = None  # tlsDetails.tlsVersion


def call_of(record: Mapping[str, Any]) -> Call:
    """The :class:`Call` of a record (a mapping of its top-level fields)."""
    get = record.get
    return Call(
        caller_facts(get("userIdentity")), get("eventType"), get("eventSource"),
        get("eventName"), get("awsRegion"), get("recipientAccountId"),
        get("requestParameters"), get("responseElements"), get("resources"),
        get("vpcEndpointId"), tls_version(get("tlsDetails")),
    )


def tls_version(details: Any) -> Any:
    """``tlsDetails.tlsVersion`` of a record (None when absent)."""
    return details.get("tlsVersion") if isinstance(details, dict) else None
