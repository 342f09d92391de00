"""Management events from the CloudTrail LookupEvents API (last 90 days).

https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
LookupEvents is regional, returns at most 50 events a page, and is limited to
two requests per second per account and region; it takes at most one lookup
attribute. Each record is ``Events[].CloudTrailEvent``, a JSON string.

Which regions are read: those of the ``--region`` filter when it names any,
else the region the AWS settings configure (``AWS_REGION``,
``AWS_DEFAULT_REGION``, the profile's region); with neither, a UsageError
says to set one. A call AWS refuses (no or expired credentials,
AccessDenied) stops the run with :class:`~iamgen.errors.AwsRefusedError`;
other failures of a slice are warnings, and the other slices go on.

The window is read one UTC day at a time (one "file" per region and day), so
memory holds at most one day of events, and each event is kept only in the
day slice its ``EventTime`` falls in, so a record on a slice boundary is never
counted twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import UsageError
from ..model import Filters
from .aws import error_text, refused
from .base import TrailFile
from .decode import json_encode

SCHEME = "lookup:"
LOOKUP_DAYS = 90
PAGE_SIZE = 50
REQUESTS_PER_SECOND = 2.0
# https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupAttribute.html
ATTRIBUTE_KEYS = frozenset({
    "EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName",
    "EventSource", "AccessKeyId",
})
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"
# A day's events are taken as final this long after it ended (CloudTrail
# delivers events to LookupEvents within about 15 minutes).
FINISHED_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class LookupAttribute:
    """The one server-side filter LookupEvents accepts (``EventSource`` etc.)."""

    key: str
    value: str

    def __post_init__(self) -> None:
        if self.key not in ATTRIBUTE_KEYS:
            raise UsageError(f"unknown LookupEvents attribute {self.key!r}: use one of "
                             + ", ".join(sorted(ATTRIBUTE_KEYS)))


@dataclass
class LookupSource:
    """Management events of the last 90 days, read with LookupEvents.

    ``client_factory(region)`` makes a CloudTrail client for a region (None:
    the default region). ``now`` closes an open window (the CLI passes the
    current time; LookupEvents keeps 90 days). ``sleep`` and ``clock`` are
    injectable so tests need not wait.
    """

    client_factory: Callable[[str | None], Any]
    attribute: LookupAttribute | None = None
    now: datetime | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    concurrency: int = 1
    requests: int = 0
    _clients: dict[tuple[str | None, int], Any] = field(default_factory=dict, repr=False)
    _last_call: dict[str | None, float] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_clients"] = {}
        return state

    def files(self, filters: Filters) -> list[TrailFile]:
        """One slice per region and UTC day of the window."""
        now = self.now or datetime.now(UTC)
        since = filters.window.since or now - timedelta(days=LOOKUP_DAYS)
        until = filters.window.until or now
        regions: list[str | None] = sorted(filters.regions) or [self._configured_region()]
        out = []
        for region in regions:
            start = since
            while start <= until:
                next_day = datetime.combine(start.date() + timedelta(days=1),
                                            datetime.min.time(), tzinfo=UTC)
                end = min(next_day, until)
                out.append(TrailFile(_location(region, start, end, last=end == until)))
                if end == until:
                    break
                start = end
        return out

    def read(self, trail_file: TrailFile) -> bytes:
        """Every event of one slice as a ``{"Events": [...]}`` document."""
        from botocore.exceptions import BotoCoreError, ClientError

        region, start, end, last = parse_location(trail_file.location)
        request: dict[str, Any] = {"StartTime": start, "EndTime": end, "MaxResults": PAGE_SIZE}
        if self.attribute is not None:
            request["LookupAttributes"] = [
                {"AttributeKey": self.attribute.key, "AttributeValue": self.attribute.value}
            ]
        events: list[dict[str, str]] = []
        try:
            client = self._client(region)
            while True:
                self._pace(region)
                page = client.lookup_events(**request)
                for event in page.get("Events") or ():
                    moment = event.get("EventTime")
                    if isinstance(moment, datetime):
                        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                        if moment < start or moment > end or (moment == end and not last):
                            continue  # belongs to the neighbouring slice
                    text = event.get("CloudTrailEvent")
                    if isinstance(text, str):
                        events.append({"CloudTrailEvent": text})
                token = page.get("NextToken")
                if not token:
                    break
                request["NextToken"] = token
        except (BotoCoreError, ClientError) as exc:
            failure = refused(f"cloudtrail:LookupEvents in {region or 'the default region'}",
                              exc)
            if failure is not None:
                raise failure from None
            raise OSError(error_text(exc)) from None
        return json_encode({"Events": events})

    def skipped(self) -> dict[str, int]:
        """Nothing is passed over while listing slices."""
        return {}

    def version(self, trail_file: TrailFile) -> str | None:
        """For a whole UTC day that ended at least FINISHED_AFTER ago (its
        events no longer change): ``day``, with the lookup attribute. None for
        any other slice (the first and last of a window, today): never kept."""
        _, start, end, _ = parse_location(trail_file.location)
        now = self.now or datetime.now(UTC)
        if start.time() != datetime.min.time() or end - start != timedelta(days=1) \
                or end > now - FINISHED_AFTER:
            return None
        attribute = self.attribute
        return "day" if attribute is None else f"day {attribute.key}={attribute.value}"

    def identity(self, trail_file: TrailFile) -> str:
        """The slice's location (region and day), as listed."""
        return trail_file.location

    def covers(self, location: str) -> bool:
        """Never: days leave LookupEvents after 90 days, and are not gone for that."""
        return False

    def _configured_region(self) -> str | None:
        """The region a client made without one is in (from the AWS settings);
        UsageError when the settings name none. None when the client does not
        say (a test's fake)."""
        try:
            client = self._client(None)
        except UsageError:
            raise UsageError("LookupEvents is regional and no region is configured: name the "
                             "regions to read with --region (repeatable), or set AWS_REGION"
                             ) from None
        region = getattr(getattr(client, "meta", None), "region_name", None)
        if isinstance(region, str) and region:
            self._clients.setdefault((region, os.getpid()), client)
            return region
        return None

    def _client(self, region: str | None) -> Any:
        key = (region, os.getpid())  # a forked process makes its own clients
        if key not in self._clients:
            self._clients[key] = self.client_factory(region)
        return self._clients[key]

    def _pace(self, region: str | None) -> None:
        """Wait so one region sees at most REQUESTS_PER_SECOND requests a second."""
        gap = 1.0 / REQUESTS_PER_SECOND
        last = self._last_call.get(region)
        if last is not None:
            wait = last + gap - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_call[region] = self.clock()
        self.requests += 1


def attribute_of_version(version: str) -> LookupAttribute | None:
    """The lookup attribute a kept day was read with, from its version
    (``day``: none; ``day KEY=VALUE``, as :meth:`LookupSource.version` gives).
    ValueError for any other version."""
    if version == "day":
        return None
    prefix, _, attribute = version.partition(" ")
    key, equals, value = attribute.partition("=")
    if prefix != "day" or not equals or key not in ATTRIBUTE_KEYS:
        raise ValueError(f"not a LookupEvents day's version: {version!r}")
    return LookupAttribute(key, value)


def _location(region: str | None, start: datetime, end: datetime, *, last: bool) -> str:
    closing = "]" if last else ")"
    return f"{SCHEME}{region or 'default'}:[{start:{_STAMP}}..{end:{_STAMP}}{closing}"


def parse_location(location: str) -> tuple[str | None, datetime, datetime, bool]:
    """A slice's region (None: the configured one), start, end, and whether
    its end is included (the window's last slice); ValueError when
    ``location`` is no slice's."""
    region, _, span = location[len(SCHEME):].partition(":[")
    first, _, rest = span.partition("..")
    last = rest.endswith("]")
    start = datetime.strptime(first, _STAMP).replace(tzinfo=UTC)
    end = datetime.strptime(rest[:-1], _STAMP).replace(tzinfo=UTC)
    return (None if region == "default" else region), start, end, last
