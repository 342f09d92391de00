"""``iamgen store rebuild`` reads the LookupEvents days a store holds again
(with the lookup attribute they were kept with), except the days LookupEvents
no longer holds and those whose requests fail: those keep what they had."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from iamgen.model import Filters, Window
from iamgen.scanning.scan import scan
from iamgen.sources.local import LocalSource
from iamgen.sources.lookup import LookupAttribute, LookupSource
from iamgen.store import maintain, read
from iamgen.store import rebuild as rebuilding
from iamgen.store.rebuild import DaysRebuilt, Rebuilt, rebuild
from iamgen.store.rules import Rules, current_rules
from tests.stores import EXAMPLE, FakeLookups, assert_same, assert_store_sound

FILLED_AT = datetime(2026, 11, 3, 12, tzinfo=UTC)
FROM_NOV_1 = Filters(window=Window(since=datetime(2026, 11, 1, tzinfo=UTC)))
NOV_1 = "lookup:us-east-1:[2026-11-01T00:00:00.000000Z..2026-11-02T00:00:00.000000Z)"
NOV_2 = "lookup:us-east-1:[2026-11-02T00:00:00.000000Z..2026-11-03T00:00:00.000000Z)"
OTHER_RULES = Rules("0.0.9", "0.1.1", "e" * 64)


def lookup_source(client: FakeLookups, attribute: LookupAttribute | None = None,
                  now: datetime = FILLED_AT) -> LookupSource:
    return LookupSource(lambda region: client, attribute=attribute, now=now,
                        sleep=lambda seconds: None)


def filled(path: Path, attribute: LookupAttribute | None = None) -> None:
    """A store holding the finished days Nov 1 and 2 (today, Nov 3, is not kept)."""
    _, report = read.read_with_store(path, lookup_source(FakeLookups(), attribute), FROM_NOV_1)
    assert dict(report.read) == {"new": 2, "not kept": 1}


def rebuilt(path: Path, client: FakeLookups, now: datetime = FILLED_AT) -> Rebuilt:
    def no_s3() -> Any:
        raise AssertionError("a store of LookupEvents days needs no S3 client")

    return rebuild(path, no_s3, lookup_factory=lambda region: client, now=now,
                   sleep=lambda seconds: None)


def kept_results(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """Each day's whole result: its id, rules id and bytes."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT units.location, results.id, results.rules, "
                                  "results.data FROM results JOIN units ON units.id = "
                                  "results.unit WHERE results.way = 'whole'").fetchall()
    return {location: (result, rules, bytes(data)) for location, result, rules, data in rows}


def make_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on this iamgen's rules are others: what the store holds is stale."""
    assert current_rules() != OTHER_RULES
    monkeypatch.setattr(maintain, "current_rules", lambda: OTHER_RULES)
    monkeypatch.setattr(rebuilding, "current_rules", lambda: OTHER_RULES)
    monkeypatch.setattr(read, "current_rules", lambda: OTHER_RULES)


@pytest.fixture
def stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
          ) -> tuple[Path, dict[str, tuple[int, int, bytes]]]:
    """A filled store whose results are stale, and its days' results as kept."""
    store = tmp_path / "store.db"
    filled(store)
    make_stale(monkeypatch)
    return store, kept_results(store)


def test_stale_days_are_read_again_and_then_taken_from_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store.db"
    filled(store)
    make_stale(monkeypatch)
    client = FakeLookups()
    done = rebuilt(store, client)
    assert client.days_asked() == [1, 2]
    assert done == Rebuilt(0, [], DaysRebuilt(read=2))
    assert_store_sound(store)
    later = FakeLookups()
    result, report = read.read_with_store(store, lookup_source(later), FROM_NOV_1)
    assert report.from_store == 2 and dict(report.read) == {"not kept": 1}
    assert report.stale == ()
    assert later.days_asked() == [3]  # only today, which is never kept
    assert_same(result, scan(lookup_source(FakeLookups()), FROM_NOV_1))


def test_a_rebuild_without_a_lookup_client_leaves_the_days_as_they_were(
        stale: tuple[Path, dict[str, tuple[int, int, bytes]]]) -> None:
    store, before = stale
    done = rebuild(store, lambda: None)
    assert done == Rebuilt(0, [], DaysRebuilt(not_rebuilt=[NOV_1, NOV_2]))
    assert kept_results(store) == before


def test_days_lookup_events_no_longer_holds_are_not_asked_for_and_keep_their_result(
        stale: tuple[Path, dict[str, tuple[int, int, bytes]]]) -> None:
    store, before = stale
    # Nov 1 began less than a day before LookupEvents' limit (it would
    # answer with the day's last hours at best); Nov 2 a day and a half after.
    now = datetime(2026, 11, 1, 12, tzinfo=UTC) + timedelta(days=89)
    client = FakeLookups()
    done = rebuilt(store, client, now)
    assert client.days_asked() == [2]
    assert done == Rebuilt(0, [], DaysRebuilt(read=1, expired=[NOV_1]))
    after = kept_results(store)
    assert after[NOV_1] == before[NOV_1]  # the same result, under the rules it was made with
    assert after[NOV_2][1] != before[NOV_2][1]  # read again under the other rules
    assert_store_sound(store)


def test_a_day_whose_requests_fail_keeps_its_result_and_is_said(
        stale: tuple[Path, dict[str, tuple[int, int, bytes]]]) -> None:
    store, before = stale
    client = FakeLookups(failing=frozenset({2}))
    done = rebuilt(store, client)
    assert client.days_asked() == [1, 2]
    assert done == Rebuilt(0, [], DaysRebuilt(read=1, failed=[NOV_2]))
    after = kept_results(store)
    assert after[NOV_2] == before[NOV_2]
    assert after[NOV_1][1] != before[NOV_1][1]
    assert_store_sound(store)
    # The day kept is stale, so the next run asks for it again, and gives
    # what a run without the store gives.
    result, report = read.read_with_store(store, lookup_source(FakeLookups()), FROM_NOV_1)
    assert report.from_store == 1 and dict(report.read) == {"stale": 1, "not kept": 1}
    assert_same(result, scan(lookup_source(FakeLookups()), FROM_NOV_1))


def test_the_lookup_attribute_a_day_was_kept_with_is_sent_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store.db"
    attribute = LookupAttribute("EventSource", "s3.amazonaws.com")
    filled(store, attribute)
    make_stale(monkeypatch)
    client = FakeLookups()
    done = rebuilt(store, client)
    assert done.days.read == 2 and client.days_asked() == [1, 2]
    for request in client.requests:
        assert request["LookupAttributes"] == [
            {"AttributeKey": "EventSource", "AttributeValue": "s3.amazonaws.com"}]
    with sqlite3.connect(store) as connection:
        versions = {row[0] for row in connection.execute("SELECT version FROM units")}
    assert versions == {"day EventSource=s3.amazonaws.com"}
    later = FakeLookups()
    _, report = read.read_with_store(store, lookup_source(later, attribute), FROM_NOV_1)
    assert report.from_store == 2 and later.days_asked() == [3]


def test_a_store_of_local_files_is_rebuilt_and_reports_no_days(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = tuple(sorted(str(p) for p in EXAMPLE.rglob("*.gz") if "/11/04/" in str(p)))
    store = tmp_path / "store.db"
    _, first = read.read_with_store(store, LocalSource(files), Filters())
    kept = first.read["new"]  # the digest files among them are not trail files
    assert kept > 0
    make_stale(monkeypatch)

    def no_client(region: str | None) -> Any:
        raise AssertionError("a store of local files needs no CloudTrail client")

    done = rebuild(store, lambda: None, lookup_factory=no_client,
                   now=datetime.now(UTC))
    assert done.read == kept and done.gone == []
    assert done.days == DaysRebuilt()
    _, report = read.read_with_store(store, LocalSource(files), Filters())
    assert report.from_store == kept and not report.read


def test_aws_refusing_the_caller_leaves_the_days_as_they_were_and_the_files_rebuilt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials or no access: the days cannot be read, so none is asked
    for again after the refusal; they keep what they had, and the files of
    the same store are rebuilt all the same."""
    store = tmp_path / "store.db"
    filled(store)
    files = tuple(sorted(str(p) for p in EXAMPLE.rglob("*.gz") if "/11/04/" in str(p)))
    _, report = read.read_with_store(store, LocalSource(files), Filters())
    make_stale(monkeypatch)
    before = kept_results(store)
    client = FakeLookups(refusing=True)
    done = rebuilt(store, client)
    assert len(client.requests) == 1  # the first refusal stops the asking
    assert done.read == report.read["new"] and done.days.read == 0
    assert done.days.not_rebuilt == [NOV_1, NOV_2] and not done.days.failed
    refusal = done.days.refusal
    assert refusal is not None and "cloudtrail:LookupEvents" in refusal
    after = kept_results(store)
    assert after[NOV_1] == before[NOV_1] and after[NOV_2] == before[NOV_2]
    assert all(after[f][1] != before[f][1] for f in after if f not in (NOV_1, NOV_2))
    assert_store_sound(store)


def test_the_rebuild_command_reads_the_days_again_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from iamgen.cli import build_app
    from iamgen.commands import store as store_command

    now = datetime.now(UTC)
    day = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    store = tmp_path / "store.db"
    since = Filters(window=Window(since=day - timedelta(days=3)))
    read.read_with_store(store, lookup_source(FakeLookups(), now=now), since)
    with sqlite3.connect(store) as connection:
        days = connection.execute("SELECT count(*) FROM units").fetchone()[0]
    assert days >= 2  # yesterday too, unless it ended less than an hour ago
    client = FakeLookups()

    class Factory:
        """Stands in for the CLI's ClientFactory: only CloudTrail is wanted."""

        def __init__(self, service: str, profile: str | None = None) -> None:
            assert service in ("s3", "cloudtrail")
            self.service = service

        def __call__(self) -> Any:
            raise AssertionError("no S3 client is wanted")

        def regional(self, region: str | None) -> Any:
            assert self.service == "cloudtrail"
            return client

    monkeypatch.setattr(store_command, "ClientFactory", Factory)
    result = CliRunner().invoke(build_app(), ["store", "rebuild", "--store", str(store)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [f"LookupEvents days read again: {days}"]
    assert len(client.requests) == days
