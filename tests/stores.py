"""Helpers shared by the store tests: the example trail, how two scan results
are compared, and what a sound store file holds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from iamgen.scanning.tally import ScanResult
from iamgen.store import codec

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account" / "trail"


def assert_same(one: ScanResult, other: ScanResult) -> None:
    """Equal totals, usages, signals, warnings and ids never announced."""
    assert one == other
    assert one.usages() == other.usages()
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
