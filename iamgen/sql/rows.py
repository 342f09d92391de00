"""Rows of the aggregation query -> a :class:`~iamgen.scanning.tally.ScanResult`.

Each row is one call shape and how many calls had it (:mod:`.query`). Its
shape becomes the record the file path would have read (the members
identity, resolution, facts and signals read, nothing else), and the row
adds to the result through the same public methods the file path's
:func:`~iamgen.scanning.plain.scan_record` uses, ``calls`` at a time: so
usages, counts, first and last times come out as reading the files gives them.

:class:`RowReader` resolves each distinct call once (rows that differ only
in who made the call share it), and remembers resolutions as the file path's
fast scan does, under only the request and response members they read (a
KMS ``Decrypt``'s encryption context, a DynamoDB item key: the query keeps
them, as resolution may read any request member, and this memo sees that
it did not).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import msgspec
from msgspec import UNSET

from ..mapping.call import CallerFacts, call_of, caller_facts
from ..mapping.facts import facts_of_call
from ..mapping.identity import principal_of
from ..mapping.resolve import resolve_call
from ..mapping.signals import signal_event_names, signals_of
from ..model import Principal, Resolution
from ..scanning.memo import ShapedMemo
from ..scanning.plain import announce_only, producer_names
from ..scanning.reads import NOTE_TAKER, TrackedObject
from ..scanning.tally import BAD_INPUT_REASONS, ConnectionFacts, ScanResult
from ..sources.decode import UNDECODABLE, json_decode
from .query import BAD_INPUT, COUNTED, SHAPE_FIELDS, SKIPPED

_decode = msgspec.json.decode
MAX_REMEMBERED = 100_000  # entries a RowReader's memo tables hold (then they start afresh)


@dataclass(frozen=True, slots=True)
class ShapeRow:
    """One row of the aggregation query, as an engine returns it (text or
    None for every column but ``calls``)."""

    status: str
    file: str | None
    shape: str | None
    calls: int
    first_time: str | None
    last_time: str | None
    first_event: str | None
    transports: str | None = None

    @classmethod
    def of(cls, values: Sequence[Any]) -> ShapeRow:
        """A row from its columns in query order (``calls`` may be text)."""
        status, file, shape, calls, first, last, first_event, transports = values
        return cls(str(status), file or None, shape or None, int(calls), first or None,
                   last or None, first_event, transports or None)

    def with_file(self, file: str) -> ShapeRow:
        """This row, its file named ``file``."""
        return replace(self, file=file)


def identity_of(values: Sequence[Any]) -> dict[str, Any]:
    """The ``userIdentity`` a shape's values stand for (members absent where NULL)."""
    identity_type, identity_arn, identity_account, invoked_by, issuer_type, issuer_arn, mfa = \
        values[:7]
    identity = _present({"type": identity_type, "arn": identity_arn,
                         "accountId": identity_account, "invokedBy": invoked_by})
    issuer = _present({"type": issuer_type, "arn": issuer_arn})
    attributes = _present({"mfaAuthenticated": mfa})
    context = _present({"sessionIssuer": issuer or None, "attributes": attributes or None})
    if context:
        identity["sessionContext"] = context
    return identity


def record_of(values: Sequence[Any]) -> dict[str, Any]:
    """The record a shape's values (:data:`~.query.SHAPE_FIELDS`, in order)
    stand for: its top-level fields as CloudTrail logs them (absent where
    the shape holds NULL)."""
    event_type, source, name, region, recipient, error, params, response, listed = values[7:]
    arns = _json(listed)
    record = _present({
        "eventType": event_type, "eventSource": source, "eventName": name, "awsRegion": region,
        "recipientAccountId": recipient, "errorCode": error,
        "requestParameters": _json(params), "responseElements": _json(response),
        "resources": [{"ARN": arn} for arn in arns] if isinstance(arns, list) else None,
    })
    record["userIdentity"] = identity_of(values)
    return record


def _present(members: dict[str, Any]) -> dict[str, Any]:
    """The members that are not None."""
    return {key: value for key, value in members.items() if value is not None}


def _json(text: str | None) -> Any:
    """A request or response member's JSON text, decoded as the file path
    decodes it (a number out of msgspec's range too); None when it is none."""
    if text is None:
        return None
    try:
        return json_decode(text)
    except UNDECODABLE:
        return None


def _not_json(text: str | None) -> bool:
    """Whether a request or response member's text is no JSON the file path
    reads: DuckDB's reader takes ``NaN`` and ``Infinity``, which JSON has not
    (decoded only when it may hold one: most texts cannot)."""
    if text is None or ("NaN" not in text and "Infinity" not in text):
        return False
    try:
        json_decode(text)
    except UNDECODABLE:
        return True
    return False


def moment_of(text: str) -> datetime:
    """A time as the query writes it (UTC, no zone) as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _raw(text: str | None) -> Any:
    """A request or response as the memo's shapes take it (its JSON bytes)."""
    return UNSET if text is None else text.encode()


def _tracked(value: Any) -> Any:
    """A request or response object that notes what resolving it reads."""
    return TrackedObject(value) if value.__class__ is dict else value


def _transports(row: ShapeRow) -> list[tuple[Any, Any, int]]:
    """(vpcEndpointId, tlsVersion, calls) of a row: all its calls, by connection."""
    counts = _json(row.transports)
    if not isinstance(counts, dict) or not counts:
        return [(None, None, row.calls)]
    out = []
    for key, count in sorted(counts.items()):
        vpce, tls = _decode(key)
        out.append((vpce, tls, int(count)))
    return out


class RowReader:
    """Adds query rows to one result, resolving each distinct call once."""

    def __init__(self, result: ScanResult, location: str) -> None:
        """``location`` names where the rows came from (an Athena table, a
        DuckDB input) in warnings about unusable identities."""
        self.result = result
        self.location = location
        self.rows = 0
        self.events = 0  # the events the rows stand for
        self._resolved: dict[tuple[Any, ...], tuple[Resolution, tuple[tuple[str, str], ...]]] = {}
        self._identities: dict[tuple[Any, ...], tuple[Principal | str, CallerFacts]] = {}
        self._fact_counter = ConnectionFacts()
        self._shaped = ShapedMemo(MAX_REMEMBERED)

    def add_all(self, rows: Iterable[ShapeRow]) -> None:
        """Add every row."""
        for row in rows:
            self.add(row)

    def add(self, row: ShapeRow) -> None:
        """Add one row."""
        result = self.result
        calls = row.calls
        self.rows += 1
        self.events += calls
        result.events_read += calls
        if row.status in BAD_INPUT:
            _bad(result, row.file or self.location, row.status, calls,
                 f"{_records(calls)} skipped: {row.status}")
            return
        if row.status in SKIPPED:
            result.skipped[row.status] += calls
            if row.shape is not None:
                values = _decode(row.shape)
                announce_only(result, values[8], values[9], record_of(values))
            return
        if row.status != COUNTED or row.shape is None or row.first_time is None \
                or row.last_time is None:
            raise ValueError(f"unexpected row from the aggregation query: {row!r}")
        values = _decode(row.shape)
        source, name = values[8], values[9]
        first, last = moment_of(row.first_time), moment_of(row.last_time)
        event_id = row.first_event or ""
        if _not_json(values[13]) or _not_json(values[14]):  # as the file path skips it:
            _bad(result, row.file or self.location, "invalid_json", calls,  # no span, no signal
                 f"{name}: request or response is no JSON iamgen reads ({_records(calls)})")
            return
        result.span(first)
        result.span(last)
        lowered = name.lower()
        if lowered in signal_event_names():
            for signal in signals_of(record_of(values)):
                result.add_signal(signal, first, event_id, calls, last=last)
        principal, caller = self._who(values)
        if isinstance(principal, str):
            if principal in BAD_INPUT_REASONS:
                _bad(result, self.location, principal, calls,
                     f"{name}: unusable userIdentity ({_records(calls)})")
            else:
                result.add_other_calls(principal, source, name, calls)
                if lowered in producer_names():
                    announce_only(result, source, name, record_of(values))
            return
        resolution, facts = self._resolution(caller, values)
        region = values[10] if isinstance(values[10], str) else ""
        result.add_calls(principal, resolution, source, name, values[12], region, calls, first,
                         last, facts=self._fact_counter.counts(facts, _transports(row)),
                         first_event_id=event_id)

    def _resolution(self, caller: CallerFacts, values: Sequence[Any]
                    ) -> tuple[Resolution, tuple[tuple[str, str], ...]]:
        """The resolution and facts of a shape's call (who made it aside),
        remembered as the file path's fast scan remembers them: under the
        call's exact text, then under only the request and response members
        resolving it read (:class:`~iamgen.scanning.memo.ShapedMemo`)."""
        exact = (caller, *values[7:12], *values[13:])  # not who made it, nor its errorCode
        known = self._resolved.get(exact)
        if known is not None:
            return known

        def resolve(tracked: bool) -> tuple[Any, Any, Any]:
            call = call_of(record_of(values))
            if not tracked:
                return (resolve_call(call), facts_of_call(call)), None, None
            call = call._replace(params=_tracked(call.params), response=_tracked(call.response))
            return ((resolve_call(call, NOTE_TAKER), facts_of_call(call)),
                    call.params, call.response)

        known = self._shaped.get((values[8], values[9]), (exact[:6], values[15]),
                                 _raw(values[13]), _raw(values[14]), resolve)
        self._remember(self._resolved, exact, known)
        return known

    @staticmethod
    def _remember(table: dict[Any, Any], key: Any, value: Any) -> None:
        if len(table) >= MAX_REMEMBERED:
            table.clear()
        table[key] = value

    def _who(self, values: Sequence[Any]) -> tuple[Principal | str, CallerFacts]:
        """The principal (or why none) and caller facts of a shape's identity."""
        key = tuple(values[:8])  # the identity, and eventType (principal_of reads it)
        known = self._identities.get(key)
        if known is None:
            identity = identity_of(values)
            known = (principal_of({"userIdentity": identity, "eventType": values[7]}),
                     caller_facts(identity))
            self._remember(self._identities, key, known)
        return known


def _records(count: int) -> str:
    return f"{count} record{'s' if count != 1 else ''}"


def _bad(result: ScanResult, location: str, reason: str, count: int, text: str) -> None:
    """``count`` bad records under one reason: one warning line, all counted."""
    result.warn(location, None, reason, text)
    result.skipped[reason] += count - 1


__all__ = ["SHAPE_FIELDS", "RowReader", "ShapeRow", "identity_of", "moment_of",
           "record_of"]
