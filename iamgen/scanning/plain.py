"""The plain path of a scan: one generically decoded record at a time.

:func:`scan_record` is what every record the fast path (:mod:`.fast`) cannot
vouch for takes, and the reference the fast path is tested against
(tests/test_scan_fast.py): both add to a :class:`~.tally.ScanResult` through
the same public methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from ..mapping.call import call_of
from ..mapping.facts import facts_of_call
from ..mapping.identity import principal_of
from ..mapping.resolve import resolve, resolve_call
from ..mapping.rules import correlation_rules
from ..mapping.signals import signal_event_names, signals_of
from ..model import Filters, in_utc
from .tally import BAD_INPUT_REASONS, ScanResult


def parse_event_time(value: Any) -> datetime | None:
    """CloudTrail's ``eventTime`` as an aware UTC datetime, or None when unreadable."""
    if value.__class__ is str and len(value) == 20 and value[19] == "Z":
        try:  # the form CloudTrail writes: 2026-11-02T09:28:30Z
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, str) or len(value) < 10:
        return None
    text = value.strip().replace(" ", "T", 1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return in_utc(moment)


def record_account(record: Mapping[str, Any]) -> str | None:
    """The account a record belongs to: its recipient, else its caller's."""
    account = record.get("recipientAccountId")
    if isinstance(account, str):
        return account
    identity = record.get("userIdentity")
    if isinstance(identity, Mapping) and isinstance(identity.get("accountId"), str):
        return identity["accountId"]
    return None


def event_id(record: Mapping[str, Any]) -> str:
    """A record's ``eventID`` ("" when it has none)."""
    value = record.get("eventID")
    return value if isinstance(value, str) else ""


def scan_record(result: ScanResult, location: str, index: int, record: Any,
                filters: Filters) -> None:
    """Fold one decoded record into ``result``."""
    result.events_read += 1
    if not isinstance(record, Mapping):
        result.warn(location, index, "not_a_record", "record is not a JSON object")
        return
    name = record.get("eventName")
    if not isinstance(name, str) or not name:
        result.warn(location, index, "missing_eventName",
                    "a whole {\"Records\": [...]} document where a record was expected "
                    "(one document a file, as CloudTrail delivers them)"
                    if "eventName" not in record and isinstance(record.get("Records"), list)
                    else "record has no eventName")
        return
    source = record.get("eventSource")
    if not isinstance(source, str) or not source:
        result.warn(location, index, "missing_eventSource", f"{name}: record has no eventSource")
        return
    if not isinstance(record.get("userIdentity"), Mapping):
        result.warn(location, index, "missing_userIdentity", f"{name}: record has no userIdentity")
        return
    moment = parse_event_time(record.get("eventTime"))
    if moment is None:
        result.warn(location, index, "bad_eventTime",
                    f"{name}: unreadable eventTime {record.get('eventTime')!r}")
        return
    region = record.get("awsRegion") if isinstance(record.get("awsRegion"), str) else ""
    rejected = filters.rejects(moment, region, lambda: record_account(record))
    if rejected is not None:
        result.skipped[rejected] += 1
        announce_only(result, source, name, record)
        return
    result.span(moment)
    if name.lower() in signal_event_names():
        add_signals(result, record, moment)
    principal = principal_of(record)
    if isinstance(principal, str):
        if principal in BAD_INPUT_REASONS:
            result.warn(location, index, principal, f"{name}: unusable userIdentity")
        else:
            result.add_other_calls(principal, source, name, 1)
            announce_only(result, source, name, record)
        return
    call = call_of(record)
    result.add_calls(principal, resolve_call(call), source, name, record.get("errorCode"),
                     region, 1, moment, moment, facts=dict.fromkeys(facts_of_call(call), 1),
                     first_event_id=event_id(record))


def add_signals(result: ScanResult, record: Mapping[str, Any], moment: datetime) -> None:
    """Add the signals one counted record gives (:mod:`iamgen.mapping.signals`)."""
    for signal in signals_of(record):
        result.add_signal(signal, moment, event_id(record))


@cache
def producer_names() -> frozenset[str]:
    """Lower-cased eventNames of calls that announce ids (``data/correlations.toml``)."""
    return frozenset(name for _, name in correlation_rules()[0])


def announce_only(result: ScanResult, source: str, name: str, record: Mapping[str, Any]) -> None:
    """Take the ids a record announces even though it is not counted (outside
    the filters, or by a caller that is no principal here): the query it
    started ran in that workgroup all the same."""
    if name.lower() not in producer_names() or record.get("errorCode"):
        return
    announces = resolve(record).announces
    if announces is not None:
        kind, found, resources = announces
        result.announce((kind, found), resources)
