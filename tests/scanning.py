"""The two scan paths side by side, for tests that compare them.

:func:`plain_scan` is the reference: every record decoded generically and
added by :func:`~iamgen.scanning.plain.scan_record`. :func:`fast_scan` is the
fast path as the scanner runs it.
"""

from __future__ import annotations

import json
from typing import Any

from iamgen.model import Filters
from iamgen.scanning.fast import FastScanner
from iamgen.scanning.plain import scan_record
from iamgen.scanning.tally import ScanResult
from iamgen.sources.base import RecordSource
from iamgen.sources.decode import BadInput, iter_records
from tests.fakes import MemorySource

FIELDS = ("files_read", "events_read", "events_used", "bytes_read", "files_skipped", "skipped",
          "warnings_dropped", "principal_events", "denied_actions", "failed_actions",
          "unresolved", "unknown_resource", "other_calls", "first_event", "last_event")


def plain_scan(source: RecordSource, filters: Filters = Filters()) -> ScanResult:
    """The reference scan of every file of ``source``."""
    result = ScanResult()
    for trail_file in source.files(filters):
        data = source.read(trail_file)
        result.files_read += 1
        result.bytes_read += len(data)
        for item in iter_records(data):
            if isinstance(item, BadInput):
                result.warn(trail_file.location, item.index, item.reason, item.detail)
            else:
                scan_record(result, trail_file.location, item[0], item[1], filters)
    return result


def fast_scan(source: RecordSource, filters: Filters = Filters()
              ) -> tuple[ScanResult, FastScanner]:
    """The fast path over every file of ``source``, and the scanner (for its memo counts)."""
    scanner = FastScanner(filters)
    for trail_file in source.files(filters):
        scanner.add_file(trail_file.location, source.read(trail_file))
    return scanner.finish(), scanner


def one_file(records: list[Any]) -> MemorySource:
    """A source of one file holding ``records`` (as ``f.json``)."""
    return MemorySource({"f.json": json.dumps({"Records": records}).encode()})


def assert_same(fast: ScanResult, plain: ScanResult) -> None:
    """Both results hold the same totals, usages, signals and warnings."""
    for name in FIELDS:
        assert getattr(fast, name) == getattr(plain, name), name
    assert fast.usages() == plain.usages()
    assert fast.signals() == plain.signals()
    assert sorted(fast.warnings) == sorted(plain.warnings)
