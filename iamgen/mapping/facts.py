"""What one call proves about how it was made: the facts hardening conditions are decided on.

:func:`facts_of_call` reads a :class:`~iamgen.mapping.resources.Call` and
nothing else, so the scanner computes it once per distinct call and counts
its facts into each usage (``Usage.context``). Each fact is a ``(name,
value)`` pair; ``""`` means the call did not carry the fact. Every call has

* ``mfa``: ``userIdentity.sessionContext.attributes.mfaAuthenticated``
  (``"true"``/``"false"``; ``""`` for long-term access keys and callers
  without a session context);
* ``region``: ``awsRegion``, the region the request was sent to;
* ``tls``: ``tlsDetails.tlsVersion`` (``TLSv1.3``);
* ``vpce``: ``vpcEndpointId``, the VPC endpoint the request came through;
* ``recipient``: ``recipientAccountId``, the account whose trail logged it.

Only some calls have the others (``[[applies]]`` of ``data/hardening.toml``
says which); for those calls a missing value is ``""``, so "every call sent
it" is decidable:

* ``sse``, ``sse_kms_key``: the ``x-amz-server-side-encryption`` and
  ``x-amz-server-side-encryption-aws-kms-key-id`` headers of an S3 write;
* ``guardrail``: the guardrail of a Bedrock inference call as IAM's
  ``bedrock:GuardrailIdentifier`` names it: the guardrail ARN, then
  ``:VERSION`` for a numbered version (an id is made an ARN in the call's
  region and account).

Request parameters are read member by member (never iterated whole): the
scanner notes which members a resolution read.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from .call import Call

Facts = tuple[tuple[str, str], ...]

ALWAYS = ("mfa", "recipient", "region", "tls", "vpce")
"""The facts every call has (as ``""`` when it did not carry them)."""

_SSE = "x-amz-server-side-encryption"
_SSE_KEY = "x-amz-server-side-encryption-aws-kms-key-id"


@cache
def _applies() -> Mapping[tuple[str, str], frozenset[str]]:
    """(eventSource, eventName) -> the optional facts its calls carry."""
    text = resources.files("iamgen.data").joinpath("hardening.toml").read_text("utf-8")
    table: dict[tuple[str, str], set[str]] = {}
    for entry in tomllib.loads(text).get("applies", []):
        for name in entry["event_names"]:
            table.setdefault((entry["event_source"], name), set()).update(entry["facts"])
    return {key: frozenset(facts) for key, facts in table.items()}


def optional_facts() -> frozenset[str]:
    """Every fact only some calls have."""
    return frozenset(fact for facts in _applies().values() for fact in facts)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _flag(value: Any) -> str:
    """``mfaAuthenticated`` as logged (a string), or a JSON boolean: ``"true"``/``"false"``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.lower() if isinstance(value, str) else ""


def _guardrail(call: Call, params: Mapping[str, Any] | None) -> str:
    if params is None:
        return ""
    ident, version = params.get("guardrailIdentifier"), params.get("guardrailVersion")
    if not ident:
        config = params.get("guardrailConfig")
        if isinstance(config, dict):
            ident, version = config.get("guardrailIdentifier"), config.get("guardrailVersion")
    if not isinstance(ident, str) or not ident:
        return ""
    arn = ident
    if not ident.startswith("arn:"):
        region, account = _text(call.region), _text(call.recipient)
        if not region or not account:
            return ident  # no ARN can be made; hardening will not use it
        arn = f"arn:{call.caller.partition or 'aws'}:bedrock:{region}:{account}:guardrail/{ident}"
    if isinstance(version, (str, int)) and str(version).isdigit():
        return f"{arn}:{version}"
    return arn


def facts_of_call(call: Call) -> Facts:
    """The call's facts, sorted by name (see the module's docstring)."""
    facts: dict[str, str] = {
        "mfa": _flag(call.caller.mfa),
        "recipient": _text(call.recipient),
        "region": _text(call.region),
        "tls": _text(call.tls_version),
        "vpce": _text(call.vpc_endpoint),
    }
    source, name = call.event_source, call.event_name
    optional = (_applies().get((source, name))
                if isinstance(source, str) and isinstance(name, str) else None)
    if optional:
        params = call.params if isinstance(call.params, dict) else None
        if "sse" in optional:
            facts["sse"] = _text(params.get(_SSE)) if params is not None else ""
        if "sse_kms_key" in optional:
            facts["sse_kms_key"] = _text(params.get(_SSE_KEY)) if params is not None else ""
        if "guardrail" in optional:
            facts["guardrail"] = _guardrail(call, params)
    return tuple(sorted(facts.items()))


TRANSPORT = ("tls", "vpce")
"""The facts of a call's connection rather than its request. The scanner
resolves a call once for many records, whatever connection each came over,
and adds these per record (:func:`with_transport`)."""


def with_transport(facts: Facts, vpc_endpoint: Any, tls_version: Any) -> Facts:
    """``facts`` of a call read without its connection, with the connection's
    ``vpce`` and ``tls`` (as :func:`facts_of_call` gives them for the whole call)."""
    kept = [fact for fact in facts if fact[0] not in TRANSPORT]
    kept.append(("tls", _text(tls_version)))
    kept.append(("vpce", _text(vpc_endpoint)))
    return tuple(sorted(kept))
