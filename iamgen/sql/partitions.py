"""How a CloudTrail table is partitioned, and predicates that prune it by a run's filters.

Read from the table's Glue catalog entry (``glue:GetTable``): its partition
keys and, with partition projection, its ``projection.*`` properties. The
layouts the AWS documentation and organization setups use:

- one date key under projection (``timestamp``, ``projection.timestamp.format``
  ``yyyy/MM/dd``), with or without ``account`` and ``region`` keys
  (https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html);
- ``region``, ``year``, ``month``, ``day`` (manual partitioning, or projection
  on each), with or without an account key.

A key iamgen does not recognize, or a date key whose format is unknown, is
not used: the query then reads those partitions whole (and says so), which
costs more but never loses events. Like the file path's listing, the date
range keeps one day of margin on each side (a file delivered just after
midnight holds the evening before); the window itself is applied to every
row by the query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..model import Filters
from .dialects import string, strings

MARGIN = timedelta(days=1)
MAX_LISTED_DAYS = 400  # a date format that does not sort: days listed one by one, up to this
_ACCOUNT_KEYS = ("account", "accountid", "account_id", "aws_account_id")
_REGION_KEYS = ("region", "awsregion", "aws_region")
_NUMERIC = frozenset({"int", "integer", "bigint", "smallint", "tinyint"})
# Java DateTimeFormatter letters a projected date format may use (and what they are).
_PATTERN_PART = re.compile(r"yyyy|MM|dd|HH|'[^']*'|[^A-Za-z']+")


@dataclass(frozen=True, slots=True)
class PartitionScheme:
    """The partition keys of one table that can prune by the filters."""

    account: str | None = None
    region: str | None = None
    date_key: str | None = None  # one key holding the date, formatted as date_format
    date_format: str | None = None  # a Java DateTimeFormatter pattern (yyyy/MM/dd)
    ymd: tuple[str, str, str] | None = None  # year, month, day keys
    numeric: frozenset[str] = frozenset()  # keys of a numeric type
    unused: tuple[str, ...] = ()  # keys that cannot prune

    def predicates(self, filters: Filters) -> tuple[str, ...]:
        """SQL predicates on the partition keys that keep every partition a
        record inside ``filters`` can be in."""
        out = []
        if self.account is not None and filters.accounts:
            out.append(f"{_ident(self.account)} IN {strings(filters.accounts)}")
        if self.region is not None and filters.regions:
            out.append(f"{_ident(self.region)} IN {strings(filters.regions)}")
        days = _days(filters)
        if days is not None:
            first, last = days
            if self.date_key is not None and self.date_format is not None:
                found = _date_predicate(self.date_key, self.date_format, first, last)
                if found:
                    out.append(found)
            elif self.ymd is not None:
                found = _ymd_predicate(self.ymd, first, last, self.numeric)
                if found:
                    out.append(found)
        return tuple(out)

    def describe(self) -> str:
        """What the scheme prunes by, for the run summary."""
        parts = []
        if self.date_key is not None:
            parts.append(f"day ({self.date_key}, {self.date_format})")
        elif self.ymd is not None:
            parts.append(f"day ({'/'.join(self.ymd)})")
        if self.account is not None:
            parts.append(f"account ({self.account})")
        if self.region is not None:
            parts.append(f"region ({self.region})")
        text = ", ".join(parts) if parts else "nothing (no partition key iamgen can use)"
        if self.unused:
            text += f"; not used: {', '.join(self.unused)}"
        return text


def scheme_of_table(table: Mapping[str, Any]) -> PartitionScheme:
    """The scheme of a Glue ``Table`` (as ``glue:GetTable`` returns it)."""
    keys = [(str(k.get("Name", "")), str(k.get("Type", "string")).lower())
            for k in table.get("PartitionKeys") or ()]
    params = {str(k): str(v) for k, v in (table.get("Parameters") or {}).items()}
    projected = params.get("projection.enabled", "").lower() == "true"
    names = [name for name, _ in keys]
    lowered = {name.lower(): name for name in names}
    numeric = frozenset(name for name, kind in keys if kind in _NUMERIC)
    used: set[str] = set()

    def pick(candidates: Sequence[str]) -> str | None:
        for candidate in candidates:
            if candidate in lowered:
                used.add(lowered[candidate])
                return lowered[candidate]
        return None

    account, region = pick(_ACCOUNT_KEYS), pick(_REGION_KEYS)
    date_key = date_format = None
    for name in names:
        if name in used:
            continue
        kind = params.get(f"projection.{name}.type", "").lower() if projected else ""
        fmt = params.get(f"projection.{name}.format")
        if kind == "date" and fmt and _parse_pattern(fmt) is not None:
            date_key, date_format = name, fmt
            used.add(name)
            break
    ymd = None
    if date_key is None and all(k in lowered for k in ("year", "month", "day")):
        ymd = (lowered["year"], lowered["month"], lowered["day"])
        used.update(ymd)
    unused = tuple(name for name in names if name not in used)
    return PartitionScheme(account, region, date_key, date_format, ymd, numeric, unused)


def columns_of_table(table: Mapping[str, Any]) -> frozenset[str]:
    """The (lower-cased) names of a Glue table's columns, partition keys included."""
    descriptor = table.get("StorageDescriptor") or {}
    columns = [c.get("Name", "") for c in descriptor.get("Columns") or ()]
    columns.extend(k.get("Name", "") for k in table.get("PartitionKeys") or ())
    return frozenset(str(c).lower() for c in columns)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _days(filters: Filters) -> tuple[date | None, date | None] | None:
    window = filters.window
    if window.since is None and window.until is None:
        return None
    first = _day_beyond(window.since, -MARGIN) if window.since else None
    last = _day_beyond(window.until, MARGIN) if window.until else None
    return first, last


def _day_beyond(moment: datetime, margin: timedelta) -> date | None:
    """The UTC day ``margin`` away from ``moment`` (None: past the years a
    date holds, so no partition lies beyond it)."""
    try:
        return (moment.astimezone(UTC) + margin).date()
    except OverflowError:
        return None


def _parse_pattern(pattern: str) -> list[str] | None:
    """A date format's parts, or None when it uses letters iamgen cannot write."""
    parts = _PATTERN_PART.findall(pattern)
    if "".join(parts) != pattern:
        return None
    return parts


def format_day(pattern: str, day: date, hour: int = 0) -> str:
    """``day`` (at ``hour``) written in a Java DateTimeFormatter ``pattern``."""
    parts = _parse_pattern(pattern)
    if parts is None:
        raise ValueError(f"unsupported date format {pattern!r}")
    out = []
    for part in parts:
        if part == "yyyy":
            out.append(f"{day.year:04d}")
        elif part == "MM":
            out.append(f"{day.month:02d}")
        elif part == "dd":
            out.append(f"{day.day:02d}")
        elif part == "HH":
            out.append(f"{hour:02d}")
        elif part.startswith("'"):
            out.append(part[1:-1])
        else:
            out.append(part)
    return "".join(out)


def _sortable(pattern: str) -> bool:
    """Whether text order of the format is time order (year, month, day, hour in turn)."""
    parts = [p for p in _parse_pattern(pattern) or () if p in ("yyyy", "MM", "dd", "HH")]
    order = ["yyyy", "MM", "dd", "HH"]
    return bool(parts) and parts == order[:len(parts)]


def _date_predicate(key: str, pattern: str, first: date | None, last: date | None) -> str:
    column = _ident(key)
    if _sortable(pattern):
        bounds = []
        if first is not None:
            bounds.append(f"{column} >= {string(format_day(pattern, first, 0))}")
        if last is not None:
            bounds.append(f"{column} <= {string(format_day(pattern, last, 23))}")
        return " AND ".join(bounds)
    if "HH" in pattern or first is None or last is None \
            or (last - first).days > MAX_LISTED_DAYS:
        return ""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return f"{column} IN {strings([format_day(pattern, d) for d in days])}"


def _ymd_predicate(keys: tuple[str, str, str], first: date | None, last: date | None,
                   numeric: frozenset[str]) -> str:
    """Year/month/day keys between two days (either may be open), compared as
    numbers: zero-padded or not, as strings or integers."""
    parts = [_ident(k) if k in numeric else f"CAST({_ident(k)} AS integer)" for k in keys]
    day = f"({parts[0]} * 10000 + {parts[1]} * 100 + {parts[2]})"
    bounds = []
    if first is not None:
        bounds.append(f"{day} >= {first.year * 10000 + first.month * 100 + first.day}")
    if last is not None:
        bounds.append(f"{day} <= {last.year * 10000 + last.month * 100 + last.day}")
    return " AND ".join(bounds)
