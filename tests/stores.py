"""Helpers shared by the store tests: the example trail, a LookupEvents
stand-in, how two scan results are compared, and what a sound store file holds."""

from __future__ import annotations

import copy
import json
import sqlite3
from dataclasses import fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from iamgen.scanning.tally import ScanResult
from iamgen.store import codec
from tests.records import record, role_identity

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account" / "trail"


def _warnings_sorted(result: ScanResult) -> ScanResult:
    """A shallow copy of ``result`` with its warnings in order: the order
    they came in is not part of any output (:meth:`ScanResult.sorted_warnings`)."""
    copied = copy.copy(result)
    copied.warnings = sorted(result.warnings)
    return copied


def assert_same(one: ScanResult, other: ScanResult) -> None:
    """Equal totals, usages, signals, warnings and ids never announced."""
    assert _warnings_sorted(one) == _warnings_sorted(other)
    assert one.usages() == other.usages()
    assert one.signals() == other.signals()
    assert one.sorted_warnings() == other.sorted_warnings()
    assert one.uncorrelated() == other.uncorrelated()


def assert_same_without_contexts(one: ScanResult, other: ScanResult) -> None:
    """As :func:`assert_same`, the calls' request context aside (for runs
    that need none: either result may hold it)."""
    bare = [[replace(usage, context=()) for usage in result.usages()] for result in (one, other)]
    assert bare[0] == bare[1]
    public = [f.name for f in fields(ScanResult) if not f.name.startswith("_")]
    one, other = _warnings_sorted(one), _warnings_sorted(other)
    assert [getattr(one, name) for name in public] == [getattr(other, name) for name in public]
    assert one.signals() == other.signals()
    assert one.sorted_warnings() == other.sorted_warnings()
    assert one.uncorrelated() == other.uncorrelated()


def assert_store_sound(path: Path) -> None:
    """Every file held has a result, and every result reads."""
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM units WHERE id NOT IN "
                                  "(SELECT unit FROM results)").fetchone()[0] == 0
        for (blob,) in connection.execute("SELECT data FROM results"):
            codec.decode_unit(blob).result()
        for (blob,) in connection.execute("SELECT data FROM aggregates"):
            codec.decode(blob)


class FakeLookups:
    """A CloudTrail client's ``lookup_events``: one event at half past every
    hour of the window asked for; the requests it was sent are kept, the
    days in ``failing`` (by day of the month) answer with a service error,
    and with ``refusing`` every request is denied."""

    class meta:  # noqa: N801 - the shape of a boto3 client's ``meta``
        region_name = "us-east-1"

    def __init__(self, failing: frozenset[int] = frozenset(), refusing: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failing = failing
        self.refusing = refusing

    def lookup_events(self, **request: Any) -> dict[str, Any]:
        self.requests.append(dict(request))
        start, end = request["StartTime"], request["EndTime"]
        if self.refusing:
            raise ClientError({"Error": {"Code": "AccessDeniedException",
                                         "Message": "not authorized"}}, "LookupEvents")
        if start.day in self.failing:
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "try later"}},
                              "LookupEvents")
        events = []
        moment = start.replace(minute=30, second=0, microsecond=0)
        while moment <= end:
            if moment >= start:
                body = record(role_identity("Nightly"), "s3.amazonaws.com", "ListBuckets", {},
                              time=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
                events.append({"EventTime": moment, "CloudTrailEvent": json.dumps(body)})
            moment += timedelta(hours=1)
        return {"Events": events}

    def days_asked(self) -> list[int]:
        return [request["StartTime"].day for request in self.requests]
