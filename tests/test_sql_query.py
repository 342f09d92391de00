"""The aggregation query: valid Athena (Trino) SQL, one definition for both
engines, partitions pruned by the filters, and only what resolution reads
projected out of each event."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from iamgen.errors import InputError, UsageError
from iamgen.mapping.call import call_of
from iamgen.mapping.resolve import resolve_call
from iamgen.mapping.rules import correlation_rules
from iamgen.model import Filters, Window
from iamgen.scanning.plain import parse_event_time
from iamgen.sql.athena import AthenaTarget, estimated_cost
from iamgen.sql.dialects import DUCKDB, TRINO, string
from iamgen.sql.partitions import format_day, scheme_of_table
from iamgen.sql.query import (
    QueryPlan,
    _projected_response,
    build_query,
    response_members,
)
from iamgen.sql.read import athena_query
from tests.athena_tables import DESCRIPTOR, DOC_TABLE, MANUAL_TABLE, ORG_TABLE
from tests.records import record, role_identity

REPO = Path(__file__).resolve().parent.parent
WINDOW = Filters(window=Window(datetime(2026, 11, 2, tzinfo=UTC),
                               datetime(2026, 11, 8, 23, 59, 59, tzinfo=UTC)),
                 accounts=frozenset({"111122223333"}), regions=frozenset({"us-east-1"}))


@pytest.mark.parametrize("filters", [Filters(), WINDOW], ids=["open", "filtered"])
@pytest.mark.parametrize("table", [DOC_TABLE, ORG_TABLE, MANUAL_TABLE,
                                   {"StorageDescriptor": DESCRIPTOR}],
                         ids=["projected", "organization", "manual", "unpartitioned"])
def test_the_athena_query_parses_as_trino(table: dict[str, Any], filters: Filters) -> None:
    sql = athena_query(AthenaTarget("security", "cloudtrail_logs"), table, filters).sql
    for dialect in ("trino", "athena"):
        parsed = sqlglot.parse_one(sql, read=dialect)
        assert parsed.find(sqlglot.exp.Group) is not None
    assert '"security"."cloudtrail_logs"' in sql


def test_the_duckdb_rendering_is_duckdb_and_not_trino() -> None:
    sql = build_query(QueryPlan("cloudtrail", WINDOW), DUCKDB)
    sqlglot.parse_one(sql, read="duckdb")
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one(sql, read="trino")  # the dialect layer does change the text


def test_one_definition_two_renderings() -> None:
    """Outside the dialect's fragments the two texts are the same query."""
    trino = build_query(QueryPlan("t", WINDOW), TRINO)
    duck = build_query(QueryPlan("t", WINDOW), DUCKDB)
    assert trino.count("\n") == duck.count("\n")
    assert trino.splitlines()[-2:] == duck.splitlines()[-2:]  # GROUP BY status, file, shape
    skeleton = re.compile(r"^\s*(WITH|\), \w+ AS \(|SELECT|FROM|WHERE|GROUP BY)")
    def outline(text: str) -> list[str]:
        return [m[0] for m in map(skeleton.match, text.splitlines()) if m]

    assert outline(trino) == outline(duck)
    assert len(outline(trino)) > 10


def test_nothing_unique_per_event_is_grouped_by() -> None:
    sql = build_query(QueryPlan("t"), TRINO)
    grouped = sql.rsplit("GROUP BY", 1)[1]
    assert grouped.split() == ["status,", "file,", "shape"]
    shape = sql[sql.index("AS file,"):sql.index("AS shape")]
    for unique in ("eventid", "requestid", "sharedeventid", "sourceipaddress", "useragent"):
        assert unique not in shape


def test_response_members_come_from_the_rule_data() -> None:
    text = (REPO / "iamgen" / "data" / "resource_params.toml").read_text()
    named = {p.split(".")[1].removesuffix("[]") for p in re.findall(r'"(@response\.[^"]+)"', text)}
    assert named <= response_members()
    for table in correlation_rules():
        assert {r.key for r in table.values() if r.in_response} <= response_members()
    # every member the handlers' code reads of a response
    handlers = (REPO / "iamgen" / "mapping" / "handlers.py").read_text()
    read = set(re.findall(r'ctx\.response\.get\("([^"]+)"\)', handlers))
    read |= set(re.findall(r'ctx\.response\["([^"]+)"\]', handlers))
    assert read and read <= response_members()
    assert not any(m.endswith(("Request", "Response")) for m in response_members())


def projected(responses: list[Any]) -> list[str | None]:
    """The DuckDB rendering of the response projection, on each response."""
    import duckdb

    rows = ", ".join(f"({i}, {string(json.dumps(r)) if r is not None else 'NULL'})"
                     for i, r in enumerate(responses))
    sql = (f"SELECT {_projected_response(DUCKDB)} FROM (SELECT i, responseelements, "
           f"{DUCKDB.json_object_map('responseelements')} AS response_members FROM "
           f"(VALUES {rows}) AS t(i, responseelements)) ORDER BY i")
    return [row[0] for row in duckdb.connect().execute(sql).fetchall()]


RESPONSES = [
    {"credentials": {"sessionToken": "x1", "expiration": "2026"},
     "assumedRoleUser": {"arn": "arn:aws:sts::1:assumed-role/R/s"}, "packedPolicySize": 3},
    {"trainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/j", "requestId": "r1"},
    {"queryExecutionId": "q-1"},
    {"modelPackageArn": "arn:aws:sagemaker:us-east-1:1:model-package/churn/3", "x": 1},
    {"role": {"arn": "arn:aws:iam::1:role/r", "roleId": "AROA1", "createDate": "now"}},
    {"CreateFlowLogsResponse": {"flowLogIdSet": {"item": "fl-1"}, "requestId": "r"}},
    {"functionArns": ["arn:aws:lambda:us-east-1:1:function:f", "x"], "count": 2},
    {"requestId": "only"},
    ["not", "an", "object"],
    None,
]


def test_the_response_keeps_what_resolution_reads_and_nothing_unique() -> None:
    kept = projected(RESPONSES)
    assert kept[0] is None  # fresh credentials, the session ARN is nested: nothing read
    assert json.loads(kept[1]) == {"trainingJobArn": RESPONSES[1]["trainingJobArn"]}
    assert json.loads(kept[2]) == RESPONSES[2]
    assert json.loads(kept[3]) == {"modelPackageArn": RESPONSES[3]["modelPackageArn"]}
    assert json.loads(kept[4]) == RESPONSES[4]
    assert json.loads(kept[5]) == RESPONSES[5]  # a wrapper: resolution opens it, kept whole
    assert json.loads(kept[6]) == {"functionArns": RESPONSES[6]["functionArns"]}
    assert kept[7:] == [None, None, None]


@pytest.mark.parametrize("name", ["CreateTrainingJob", "CreateModelPackage", "CreateRole",
                                  "StartQueryExecution", "AssumeRole", "CreateFlowLogs"])
def test_a_projected_response_resolves_alike(name: str) -> None:
    sources = {"CreateTrainingJob": "sagemaker", "CreateModelPackage": "sagemaker",
               "CreateRole": "iam", "StartQueryExecution": "athena", "AssumeRole": "sts",
               "CreateFlowLogs": "ec2"}
    me = role_identity("Deployer")
    for response, kept in zip(RESPONSES, projected(RESPONSES), strict=True):
        whole = record(me, f"{sources[name]}.amazonaws.com", name, {"a": "b"},
                       response=response)
        cut = dict(whole, responseElements=None if kept is None else json.loads(kept))
        assert resolve_call(call_of(cut)) == resolve_call(call_of(whole))


@pytest.mark.parametrize("text", [
    "2026-11-03T10:00:00Z", "2026-11-03T10:00:00.250Z", "2026-11-03T12:00:00+02:00",
    "2026-11-03 10:00:00", "2026-11-03", " 2026-11-03T10:00:00Z ", "2026-11-03T10:00Z",
    "11/03/2026 10:00", "2026-13-45T10:00:00Z", "", "yesterday", "2026-02-30T10:00:00Z",
    "2026-11-3T10:00:00Z",
])
def test_event_times_read_as_the_file_path_reads_them(text: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    got = con.execute(f"SELECT {DUCKDB.sortable_time(string(text))}").fetchone()[0]
    moment = parse_event_time(text)
    if moment is None:  # a time the file path warns about is never counted
        assert got is None
    elif got is not None:  # (DuckDB files with a time it cannot read go to the file path)
        assert got == DUCKDB.time_text(moment).strip("'")


def test_the_window_compares_as_the_query_writes_times() -> None:
    moment = datetime(2026, 11, 2, 9, 5, 7, 250000, tzinfo=UTC)
    assert DUCKDB.time_text(moment) == "'2026-11-02T09:05:07.250000'"
    assert TRINO.time_text(moment) == "'2026-11-02T09:05:07.250'"
    assert len(TRINO.time_text(moment)) == TRINO.time_width + 2


# -- partitions ------------------------------------------------------------------


def test_the_documented_table_prunes_by_day_with_a_margin() -> None:
    scheme = scheme_of_table(DOC_TABLE)
    assert scheme.date_key == "timestamp"
    assert scheme.predicates(WINDOW) == (
        "\"timestamp\" >= '2026/11/01' AND \"timestamp\" <= '2026/11/09'",)
    assert scheme.predicates(Filters()) == ()


def test_a_window_at_the_ends_of_the_calendar_prunes_on_its_other_side_only() -> None:
    scheme = scheme_of_table(DOC_TABLE)
    earliest = Filters(window=Window(datetime(1, 1, 1, tzinfo=UTC),
                                     datetime(2026, 11, 8, tzinfo=UTC)))
    assert scheme.predicates(earliest) == ("\"timestamp\" <= '2026/11/09'",)
    latest = Filters(window=Window(datetime(2026, 11, 2, tzinfo=UTC),
                                   datetime(9999, 12, 31, 23, 59, tzinfo=UTC)))
    assert scheme.predicates(latest) == ("\"timestamp\" >= '2026/11/01'",)


def test_an_organization_table_prunes_by_account_region_and_day() -> None:
    assert scheme_of_table(ORG_TABLE).predicates(WINDOW) == (
        "\"account\" IN ('111122223333')",
        "\"region\" IN ('us-east-1')",
        "\"timestamp\" >= '2026/11/01' AND \"timestamp\" <= '2026/11/09'",
    )


def test_year_month_day_partitions_compare_as_numbers() -> None:
    predicates = scheme_of_table(MANUAL_TABLE).predicates(WINDOW)
    assert predicates[0] == "\"region\" IN ('us-east-1')"
    assert ">= 20261101" in predicates[1] and "<= 20261109" in predicates[1]
    assert 'CAST("month" AS integer)' in predicates[1]


def test_unknown_keys_and_formats_are_not_used() -> None:
    table = {"PartitionKeys": [{"Name": "dt", "Type": "string"},
                               {"Name": "acct", "Type": "string"}],
             "Parameters": {"projection.enabled": "true", "projection.dt.type": "date",
                            "projection.dt.format": "EEE, d MMM yyyy"}}
    scheme = scheme_of_table(table)
    assert scheme.predicates(WINDOW) == ()
    assert "not used: dt, acct" in scheme.describe()


def test_a_date_format_that_does_not_sort_lists_the_days() -> None:
    table = {"PartitionKeys": [{"Name": "day", "Type": "string"}],
             "Parameters": {"projection.enabled": "true", "projection.day.type": "date",
                            "projection.day.format": "dd-MM-yyyy"}}
    (predicate,) = scheme_of_table(table).predicates(WINDOW)
    assert predicate.startswith('"day" IN (') and "'05-11-2026'" in predicate
    assert format_day("yyyy/MM/dd/HH", datetime(2026, 1, 2).date(), 7) == "2026/01/02/07"


def test_an_unsorted_date_format_by_the_hour_or_over_long_spans_is_not_pruned() -> None:
    def table(fmt: str) -> dict[str, Any]:
        return {"PartitionKeys": [{"Name": "day", "Type": "string"}],
                "Parameters": {"projection.enabled": "true", "projection.day.type": "date",
                               "projection.day.format": fmt}}

    assert scheme_of_table(table("dd-MM-yyyy-HH")).predicates(WINDOW) == ()
    long = Filters(window=Window(datetime(2025, 1, 1, tzinfo=UTC),
                                 datetime(2026, 6, 1, tzinfo=UTC)))
    assert scheme_of_table(table("dd-MM-yyyy")).predicates(long) == ()
    assert scheme_of_table(table("dd-MM-yyyy")).predicates(
        Filters(window=Window(datetime(2026, 11, 2, tzinfo=UTC), None))) == ()


def test_a_table_without_the_columns_the_query_reads_is_refused() -> None:
    table = {"StorageDescriptor": {"Columns": [{"Name": "eventname"}]}}
    with pytest.raises(InputError, match="no column useridentity"):
        athena_query(AthenaTarget("db", "t"), table, Filters())


def test_older_tables_without_vpc_endpoint_or_tls_columns_still_work() -> None:
    columns = ["eventversion", "useridentity", "eventtime", "eventsource", "eventname",
               "awsregion", "errorcode", "requestparameters", "responseelements", "eventid",
               "resources", "eventtype", "recipientaccountid"]
    table = {"StorageDescriptor": {"Columns": [{"Name": c} for c in columns]}}
    sql = athena_query(AthenaTarget("db", "t"), table, Filters()).sql
    assert "tlsdetails" not in sql and "CAST(NULL AS varchar) AS vpcendpointid" in sql
    sqlglot.parse_one(sql, read="trino")


def test_targets_and_costs() -> None:
    assert AthenaTarget.parse("security.cloudtrail").sql_name == '"security"."cloudtrail"'
    for bad in ("nodot", "a.b.c", ".t", "db."):
        with pytest.raises(UsageError):
            AthenaTarget.parse(bad)
    with pytest.raises(UsageError):
        AthenaTarget.parse("a.b", output_location="bucket/prefix")
    assert estimated_cost(0) == pytest.approx(10 / 1e6 * 5)  # 10 MB minimum
    assert estimated_cost(10**12) == pytest.approx(5.0)
    assert estimated_cost(10**12 + 1) == pytest.approx(5.0 + 5e-6)  # rounded up to the MB
