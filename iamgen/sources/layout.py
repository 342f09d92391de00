"""What the AWS delivery layout tells about a file before it is opened."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from ..model import Filters

_ACCOUNT_REGION = re.compile(
    r"AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
)
_PATH_DATE = re.compile(r"/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/")
_NAME_DATE = re.compile(r"_(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})T\d{4}Z_")

SKIP_MARKERS = {
    "CloudTrail-Digest": "digest_file",
    "CloudTrail-Insight": "insights_file",
}


@dataclass(frozen=True, slots=True)
class PathFacts:
    """Account, region and delivery date read from a key or path, when present."""

    account: str | None
    region: str | None
    day: date | None


# What a trail file's name ends in, in any case: gzip or not, a document or JSON Lines.
_TRAIL_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".gz")
NOT_A_TRAIL_FILE = "not_a_trail_file_name"  # the passed-over reason of other names


def is_trail_file_name(name: str) -> bool:
    """Whether a file's name (or path, or S3 key) is one a trail file may have."""
    return name.lower().endswith(_TRAIL_SUFFIXES)


def path_facts(path: str) -> PathFacts:
    """Read account, region and date from an AWS-layout path (any part may be None)."""
    unix = path.replace("\\", "/")
    where = _ACCOUNT_REGION.search(unix)
    day = None
    for pattern in (_NAME_DATE, _PATH_DATE):
        found = pattern.search(unix)
        if found:
            try:
                day = date(int(found["y"]), int(found["m"]), int(found["d"]))
                break
            except ValueError:
                continue
    return PathFacts(
        account=where["account"] if where else None,
        region=where["region"] if where else None,
        day=day,
    )


def skip_reason(path: str, filters: Filters) -> str | None:
    """Why a file need not be opened (digest, insights, outside filters), or None.

    A file delivered on day D can hold events from the evening before, so the
    date check keeps one day of margin on each side.
    """
    for marker, reason in SKIP_MARKERS.items():
        if marker in path:
            return reason
    facts = path_facts(path)
    if filters.accounts and facts.account and facts.account not in filters.accounts:
        return "other_account"
    if filters.regions and facts.region and facts.region not in filters.regions:
        return "other_region"
    if facts.day is not None:
        window = filters.window
        margin = timedelta(days=1)
        if window.since is not None and facts.day + margin < window.since.date():
            return "outside_window"
        if window.until is not None and facts.day - margin > window.until.date():
            return "outside_window"
    return None
