"""Results merge to the same totals however they are split, shipped or pickled."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamgen.scanning.plain import scan_record
from iamgen.scanning.tally import ScanResult, UsageTotals
from iamgen.model import (
    MANY_VALUES,
    MAX_VALUES_PER_FACT,
    Filters,
    Permission,
    Principal,
    PrincipalKind,
    SortedUsages,
)
from tests.records import record, role_identity, user_identity

FILTERS = Filters()


def _records() -> list[dict]:
    trainer, alice = role_identity("Trainer", path="/service-role/"), user_identity("alice")
    out = []
    for n in range(40):
        who = trainer if n % 3 else alice
        region = "eu-west-1" if n % 4 == 0 else "us-east-1"
        out.append(record(who, "s3.amazonaws.com", "GetObject",
                          {"bucketName": "data", "key": f"k{n % 7}"}, region=region,
                          time=f"2026-11-0{1 + n % 8}T1{n % 10}:00:00Z"))
        out.append(record(who, "kms.amazonaws.com", "Decrypt", {}, region=region,
                          time=f"2026-11-0{1 + n % 5}T0{n % 9}:30:00Z",
                          error="AccessDenied" if n % 11 == 0 else None))
    out.append(record({"type": "AWSService", "invokedBy": "apigateway.amazonaws.com"},
                      "lambda.amazonaws.com", "Invoke", {"functionName": "f"}))
    return out


def _result(records: list[dict]) -> ScanResult:
    result = ScanResult()
    for index, rec in enumerate(records):
        scan_record(result, "f", index, rec, FILTERS)
    return result


@pytest.mark.parametrize("seed", range(5))
def test_shipped_parts_give_what_one_scan_gives(seed: int) -> None:
    records = _records()
    random.Random(seed).shuffle(records)
    whole = _result(records)
    cuts = sorted(random.Random(seed + 100).sample(range(1, len(records)), 2))
    parts = [records[:cuts[0]], records[cuts[0]:cuts[1]], records[cuts[1]:]]
    merged = _result(parts[0])
    for part in parts[1:]:
        merged.merge_shipment(_result(part).ship())
    assert len(merged._shipped) == 2  # both stay rows until usages() merges them in order
    assert isinstance(merged.usages(), SortedUsages)
    assert merged.usages() == whole.usages()  # merged in order, keys shared across parts
    assert merged == whole
    assert pickle.loads(pickle.dumps(merged)) == whole
    assert merged.usages() == whole.usages()  # still right once absorbed


def test_a_result_with_shipments_pending_merges_and_records_like_any_other() -> None:
    records = _records()
    first, second = _result(records[:30]), _result(records[30:60])
    first.merge_shipment(second.ship())
    first.merge(_result(records[60:]))
    assert first.usages() == _result(records).usages()
    pending = _result(records[:30])
    pending.merge_shipment(_result(records[30:]).ship())
    scan_record(pending, "g", 0, records[0], FILTERS)  # the slow path adds to the table
    assert pending.usages() == _result([*records, records[0]]).usages()


PRINCIPAL = Principal("arn:aws:iam::111122223333:role/r", PrincipalKind.ROLE)
PERMISSION = Permission("s3:GetObject", "arn:aws:s3:::b/k")
WHEN = datetime(2026, 11, 2, tzinfo=UTC)


# -- fact counts: bounded, and the same whatever the order ---------------------------

_FACT_SETS = st.lists(
    st.tuples(st.sampled_from(["vpce", "tls"]),
              st.sampled_from([f"v{i}" for i in range(24)] + [""]),
              st.integers(1, 5)),
    min_size=1, max_size=60)


@given(_FACT_SETS, st.randoms(use_true_random=False), st.integers(1, 6))
def test_fact_counts_do_not_depend_on_order_or_grouping(
        calls: list[tuple[str, str, int]], rng: random.Random, groups: int) -> None:
    """Calls added one by one, or in shuffled groups merged afterwards, give the
    same context; a fact of more than MAX_VALUES_PER_FACT values is one
    MANY_VALUES entry holding all its calls."""
    def totals(part: list[tuple[str, str, int]]) -> UsageTotals:
        first = UsageTotals(PRINCIPAL, PERMISSION, False, 0, WHEN, WHEN, ("us-east-1",))
        for fact, value, count in part:
            first.add(UsageTotals(PRINCIPAL, PERMISSION, False, count, WHEN, WHEN,
                                  ("us-east-1",), {(fact, value): count}))
        return first

    whole = totals(calls).usage().context
    shuffled = list(calls)
    rng.shuffle(shuffled)
    parts = [shuffled[i::groups] for i in range(groups)]
    merged = totals(parts[0])
    for part in parts[1:]:
        merged.add(totals(part))
    assert merged.usage().context == whole
    for fact in ("vpce", "tls"):
        values = {value for f, value, _ in calls if f == fact}
        mine = [(value, count) for f, value, count in whole if f == fact]
        if len(values) > MAX_VALUES_PER_FACT:
            assert mine == [(MANY_VALUES, sum(c for f, _, c in calls if f == fact))]
        else:
            assert sorted(value for value, _ in mine) == sorted(values)


def test_usages_made_early_follow_later_merges() -> None:
    """A result whose usages were made ahead of time (prepare_usages, as the
    main process does while its workers finish) still gives what one scan
    gives once more is merged into it: the usages made early are not reused."""
    records = _records()
    whole = _result(records)
    half = len(records) // 2  # both halves call the same actions on the same keys
    early = _result(records[:half])
    early.prepare_usages()
    made_early = early.usages()
    early.merge(_result(records[half:]))
    assert early.usages() == whole.usages()
    assert early.usages() != made_early


_ROW_PRINCIPALS = (PRINCIPAL, Principal("arn:aws:iam::111122223333:user/alice", PrincipalKind.USER))
_MOMENTS = st.sampled_from([datetime(2026, 11, day, hour, tzinfo=UTC)
                            for day in (1, 2) for hour in (0, 12)])
_ROWS = st.lists(st.tuples(
    st.integers(0, 1),  # principal
    st.sampled_from(["s3:GetObject", "kms:Decrypt"]),
    st.sampled_from(["arn:aws:s3:::data/a", "arn:aws:s3:::data/b"]),
    st.booleans(),  # denied
    st.integers(1, 5), _MOMENTS, _MOMENTS,
    st.lists(st.sampled_from(["eu-west-1", "us-east-1", "us-west-2"]), min_size=1,
             max_size=3, unique=True).map(lambda r: tuple(sorted(r))),
    st.one_of(st.none(), st.dictionaries(
        st.tuples(st.sampled_from(["vpce", "tls"]), st.sampled_from(["v1", "v2", "v3"])),
        st.integers(1, 3), max_size=3)),
    st.sampled_from(["e1", "e2", "e3"])), max_size=30)


@given(st.lists(_ROWS, min_size=1, max_size=4))
def test_shipped_rows_add_up_as_their_totals_do(pieces: list[list[tuple[Any, ...]]]) -> None:
    """Pieces of rows (as a store keeps them) merged and exported: the rows
    added up as rows are those added up as totals (UsageTotals.add)."""
    from iamgen.scanning import tally

    parts = []
    for rows in pieces:
        tables: list[dict[tuple[str, str], int]] = []
        shipped = []
        for who, action, resource, denied, count, one, two, regions, facts, eid in rows:
            which = -1
            if facts is not None:
                which = len(tables)
                tables.append(facts)
            shipped.append((who, action, resource, (), denied, count, min(one, two),
                            max(one, two), regions, which, eid))
        # one row per usage in a piece, sorted, as a piece holds them
        unique = {(r[0], r[1], r[2], r[4]): r for r in shipped}
        shipment = tally.Shipment(ScanResult(), _ROW_PRINCIPALS, tables, sorted(
            unique.values(), key=lambda r: (_ROW_PRINCIPALS[r[0]].arn,
                                            _ROW_PRINCIPALS[r[0]].kind, *r[1:5])))
        parts.extend(shipment.keyed_rows())
    parts.sort(key=lambda part: part[0])
    as_rows = tally._rows_of(parts, {}, tally.FactTables())
    principals: dict[Principal, int] = {}
    facts = tally.FactTables()
    as_totals = [tally._row_of(principals, facts, tally._added_up(parts[start:end]))
                 for start, end in tally._runs(parts)]
    assert as_rows == as_totals
