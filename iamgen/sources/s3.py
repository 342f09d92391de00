"""Trail files in S3, listed by the delivery layout and read by several threads.

CloudTrail delivers to ``AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/``
(https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html,
organization trails:
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html).
Listing walks that layout with ``Delimiter="/"``, so only the folders the
accounts, regions and time window need are ever listed: accounts and regions
that were given are not discovered but named; days outside the window (one
day of margin each side) are never listed. Digest and Insights folders are
never entered. A prefix outside that layout is listed whole, and each key is
still checked against the filters.

A scan takes the day folders (:meth:`S3Source.folders`) as its units of work:
each process lists the folders it takes, a page at a time, while it reads
their objects, so no process ever holds every key of a long trail.

A listing or a read that AWS refuses (no or expired credentials, AccessDenied)
stops the run with :class:`~iamgen.errors.AwsRefusedError` naming the call; a
folder that cannot be listed otherwise is an InputError; an object that cannot
be fetched otherwise, or is damaged, is a warning.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ..errors import InputError
from ..model import Filters
from .aws import error_text, refused
from .base import TrailFile
from .layout import NOT_A_TRAIL_FILE, is_trail_file_name, skip_reason

SCHEME = "s3://"
_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d+$")
_LAYOUT_PART = re.compile(
    r"^(AWSLogs|CloudTrail|o-[a-z0-9]{10,32}|\d{12}|[a-z]{2,4}(-[a-z]+)+-\d+|\d{4}|\d{2})$"
)
_DAY_FOLDER = re.compile(r"/CloudTrail/[a-z]{2,4}(-[a-z]+)+-\d+/\d{4}/\d{2}/\d{2}/$")
_MARGIN = timedelta(days=1)
# Beyond this many days, list year and month folders instead of naming days.
_MAX_NAMED_DAYS = 400


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix)."""
    if not url.startswith(SCHEME):
        raise InputError(f"{url}: not an s3:// URL")
    bucket, _, prefix = url[len(SCHEME):].partition("/")
    if not bucket:
        raise InputError(f"{url}: no bucket in the S3 URL")
    return bucket, prefix


@dataclass
class S3Source:
    """The trail files under one ``s3://bucket/prefix``.

    ``client_factory`` makes an S3 client; it is called lazily, once per
    process, so the source can be pickled to worker processes.
    ``concurrency`` threads download at once in each process.
    """

    url: str
    client_factory: Callable[[], Any]
    concurrency: int = 8
    _skipped: Counter[str] = field(default_factory=Counter)
    _client: Any = field(default=None, repr=False)
    _client_pid: int = field(default=0, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)
    _walked: tuple[Filters, list[str]] | None = field(default=None, repr=False)
    _etags: dict[str, str] = field(default_factory=dict, repr=False)  # by location, from files()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def client(self) -> Any:
        """This process's S3 client (made on first use). A process forked after the
        client was made gets its own: connection pools must not be shared."""
        with self._lock:
            if self._client is None or self._client_pid != os.getpid():
                self._client = self.client_factory()
                self._client_pid = os.getpid()
            return self._client

    # -- listing --------------------------------------------------------------

    def files(self, filters: Filters) -> list[TrailFile]:
        """The trail objects the filters need, sorted by key (every key in
        memory at once: a scan lists :meth:`folders` one by one instead)."""
        folders = self._folder_urls(filters)
        found: set[TrailFile] = set()

        def listing(folder: str) -> tuple[list[tuple[TrailFile, str]], Counter[str]]:
            skipped: Counter[str] = Counter()  # one per thread: += is not atomic
            return list(self._listing(folder, filters, skipped)), skipped

        # One listing per day folder: many small requests, made side by side.
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            for listed, skipped in pool.map(listing, folders):
                for trail_file, etag in listed:
                    found.add(trail_file)
                    self._etags[trail_file.location] = etag
                self._skipped.update(skipped)
        return sorted(found)

    def version(self, trail_file: TrailFile) -> str | None:
        """The object's ETag, as :meth:`files` listed it (None for an object
        it did not list: listed folder by folder, or never)."""
        return self._etags.get(trail_file.location)

    def identity(self, trail_file: TrailFile) -> str:
        """The object's URL, as listed."""
        return trail_file.location

    def covers(self, location: str) -> bool:
        """Whether ``location`` lies under this source's URL."""
        return location.startswith(self.url)

    def folders(self, filters: Filters) -> list[str] | None:
        """The day folders (``s3://bucket/.../YYYY/MM/DD/``) holding the objects
        the filters need, sorted. Only folder names are listed here;
        :meth:`list_folder` lists the objects of one, so no process ever holds
        every key. None when the URL leads outside the delivery layout (a
        partial name, another folder): its objects are then listed whole by
        :meth:`files`, and shared out one by one."""
        urls = self._folder_urls(filters)
        return urls if all(_DAY_FOLDER.search(url) for url in urls) else None

    def _folder_urls(self, filters: Filters) -> list[str]:
        """The walk's folders, as URLs (walked once per filters)."""
        from botocore.exceptions import BotoCoreError, ClientError

        if self._walked is not None and self._walked[0] == filters:
            return self._walked[1]
        bucket, prefix = parse_s3_url(self.url)
        try:
            found = set(self._folders(bucket, prefix, filters))
        except (BotoCoreError, ClientError) as exc:
            raise _listing_error(self.url, exc) from None
        urls = [f"{SCHEME}{bucket}/{folder}" for folder in sorted(found)]
        self._walked = (filters, urls)
        return urls

    def list_folder(self, folder: str, filters: Filters,
                    skipped: Counter[str]) -> Iterator[TrailFile]:
        """The trail objects of one folder from :meth:`folders`, in key order,
        a page at a time; objects passed over are counted in ``skipped``."""
        for trail_file, _ in self._listing(folder, filters, skipped):
            yield trail_file

    def _listing(self, folder: str, filters: Filters,
                 skipped: Counter[str]) -> Iterator[tuple[TrailFile, str]]:
        """:meth:`list_folder`, each object with its ETag."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, prefix = parse_s3_url(folder)
        try:
            for key, etag in self._keys(bucket, prefix):
                if not is_trail_file_name(key):
                    if not key.endswith("/"):  # (a console "folder" is no file)
                        skipped[NOT_A_TRAIL_FILE] += 1  # counted, as on disk
                    continue
                reason = skip_reason(key, filters)
                if reason is not None:
                    skipped[reason] += 1
                else:
                    yield TrailFile(f"{SCHEME}{bucket}/{key}"), etag
        except (BotoCoreError, ClientError) as exc:
            raise _listing_error(folder, exc) from None

    def _folders(self, bucket: str, prefix: str, filters: Filters) -> Iterator[str]:
        """The prefixes to list in full, walking the delivery layout."""
        if prefix and not prefix.endswith("/"):
            if not _LAYOUT_PART.match(prefix.rsplit("/", 1)[-1]):
                yield prefix  # a partial name: list what starts with it
                return
            prefix += "/"  # a folder of the layout named without its slash
        parts = [p for p in prefix.split("/") if p]
        if "AWSLogs" not in parts:
            if f"{prefix}AWSLogs/" in self._children(bucket, prefix):
                yield from self._under_awslogs(bucket, f"{prefix}AWSLogs/", [], filters)
            else:
                yield prefix
            return
        at = parts.index("AWSLogs")
        base = "/".join(parts[: at + 1]) + "/"
        yield from self._under_awslogs(bucket, base, parts[at + 1:], filters)

    def _under_awslogs(self, bucket: str, base: str, rest: list[str],
                       filters: Filters) -> Iterator[str]:
        if not rest:
            for child in self._names(bucket, base):
                if _ORG.match(child):
                    yield from self._accounts(bucket, f"{base}{child}/", filters)
                elif _ACCOUNT.match(child) and (not filters.accounts
                                                or child in filters.accounts):
                    yield from self._regions(bucket, f"{base}{child}/CloudTrail/", filters)
            return
        if _ORG.match(rest[0]):
            base, rest = f"{base}{rest[0]}/", rest[1:]
            if not rest:
                yield from self._accounts(bucket, base, filters)
                return
        if not _ACCOUNT.match(rest[0]):
            yield base + "".join(f"{p}/" for p in rest)
            return
        account, rest = rest[0], rest[1:]
        if filters.accounts and account not in filters.accounts:
            return
        base = f"{base}{account}/"
        if not rest:
            yield from self._regions(bucket, f"{base}CloudTrail/", filters)
            return
        if rest[0] != "CloudTrail":
            yield base + "".join(f"{p}/" for p in rest)  # e.g. a digest folder, asked for
            return
        if len(rest) == 1:
            yield from self._regions(bucket, f"{base}CloudTrail/", filters)
            return
        region = rest[1]
        if filters.regions and region not in filters.regions:
            return
        if len(rest) == 2:
            yield from self._days(bucket, f"{base}CloudTrail/{region}/", filters)
            return
        if len(rest) in (3, 4) and all(p.isdigit() for p in rest[2:]):
            # A year or a month: its day folders in the window, each a unit of work.
            yield from self._days(bucket, f"{base}CloudTrail/{region}/", filters,
                                  within=base + "".join(f"{p}/" for p in rest))
            return
        yield base + "".join(f"{p}/" for p in rest)  # a day, or deeper: list it all

    def _accounts(self, bucket: str, org_base: str, filters: Filters) -> Iterator[str]:
        accounts = sorted(filters.accounts) if filters.accounts else [
            c for c in self._names(bucket, org_base) if _ACCOUNT.match(c)
        ]
        for account in accounts:
            yield from self._regions(bucket, f"{org_base}{account}/CloudTrail/", filters)

    def _regions(self, bucket: str, base: str, filters: Filters) -> Iterator[str]:
        regions = sorted(filters.regions) if filters.regions else [
            c for c in self._names(bucket, base) if _REGION.match(c)
        ]
        for region in regions:
            yield from self._days(bucket, f"{base}{region}/", filters)

    def _days(self, bucket: str, base: str, filters: Filters,
              within: str = "") -> Iterator[str]:
        """Day folders under a region folder that can hold events in the window
        (and, given ``within``, lie in that year or month folder)."""
        since, until = filters.window.since, filters.window.until
        low = since.date() - _MARGIN if since else None
        high = until.date() + _MARGIN if until else None

        def inside(prefix: str) -> bool:
            return prefix.startswith(within) or within.startswith(prefix)

        if low is not None and high is not None and (high - low).days < _MAX_NAMED_DAYS:
            day = low
            while day <= high:
                if inside(folder := f"{base}{day:%Y/%m/%d}/"):
                    yield folder
                day += timedelta(days=1)
            return
        for year in self._names(bucket, base):
            if not year.isdigit() or not _overlaps(int(year), 1, 12, low, high) \
                    or not inside(f"{base}{year}/"):
                continue
            for month in self._names(bucket, f"{base}{year}/"):
                if not month.isdigit() or not _overlaps(int(year), int(month), int(month),
                                                         low, high) \
                        or not inside(f"{base}{year}/{month}/"):
                    continue
                month_base = f"{base}{year}/{month}/"
                # Day folders even for a month wholly inside the window: each
                # is a unit of work, and a month would be too coarse to share.
                for day in self._names(bucket, month_base):
                    try:
                        moment = date(int(year), int(month), int(day))
                    except ValueError:
                        continue
                    if (low is None or low <= moment) and (high is None or moment <= high):
                        yield f"{month_base}{day}/"

    def _children(self, bucket: str, prefix: str) -> list[str]:
        """The sub-folders directly under ``prefix`` (full prefixes)."""
        out = []
        paginator = self.client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            out.extend(p["Prefix"] for p in page.get("CommonPrefixes") or ())
        return out

    def _names(self, bucket: str, prefix: str) -> list[str]:
        """The names of the sub-folders directly under ``prefix``, sorted."""
        return sorted(p[len(prefix):].rstrip("/") for p in self._children(bucket, prefix))

    def _keys(self, bucket: str, prefix: str) -> Iterator[tuple[str, str]]:
        """(key, ETag) of every object under ``prefix``."""
        paginator = self.client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents") or ():
                yield item["Key"], str(item.get("ETag") or "")

    # -- reading --------------------------------------------------------------

    def read(self, trail_file: TrailFile) -> bytes:
        """The object's bytes. Raises OSError when it cannot be fetched, and
        AwsRefusedError when AWS refused the call (credentials, AccessDenied):
        that stops the run, where a missing or damaged object is a warning."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = parse_s3_url(trail_file.location)
        try:
            response = self.client().get_object(Bucket=bucket, Key=key)
            body = response["Body"]
            try:
                return body.read()
            finally:
                body.close()
        except (BotoCoreError, ClientError) as exc:
            failure = refused(f"s3:GetObject {trail_file.location}", exc)
            if failure is not None:
                raise failure from None
            raise OSError(error_text(exc)) from None

    def skipped(self) -> dict[str, int]:
        """Objects listed but passed over, by reason."""
        return dict(self._skipped)


def _listing_error(url: str, exc: Exception) -> Exception:
    """What a failed listing under ``url`` raises: AwsRefusedError when AWS
    refused it, else InputError."""
    return refused(f"s3:ListObjectsV2 on {url}", exc) or InputError(
        f"{url}: cannot list the bucket ({error_text(exc)})")


def _month_span(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _overlaps(year: int, first_month: int, last_month: int, low: date | None,
              high: date | None) -> bool:
    try:
        start = date(year, first_month, 1)
        end = _month_span(year, last_month)[1]
    except ValueError:
        return False
    return (high is None or start <= high) and (low is None or low <= end)
