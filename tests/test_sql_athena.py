"""``--source athena`` against moto in server mode on 127.0.0.1 (Athena, Glue, S3),
and a local stand-in for what moto does not do (a FAILED query, paged results).

moto runs no SQL: a test predefines the rows a query returns. Those rows are
the ones the same query gives run by DuckDB over the same trail, so the
command's output must be what reading the trail's files gives."""

from __future__ import annotations

import csv
import gzip
import io
import json
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.errors import AwsRefusedError
from iamgen.model import Filters
from iamgen.sources.local import LocalSource
from iamgen.sql.athena import Athena, AthenaQueryError, AthenaTarget
from iamgen.sql.duckdb_engine import DELIVERY, DuckDBEngine, json_view, kind_of, read_head
from iamgen.sql.query import QueryPlan, build_query
from iamgen.sql.dialects import DUCKDB
from iamgen.sql.read import read_athena
from tests.athena_tables import DOC_TABLE, ORG_TABLE
from tests.awsserver import (  # noqa: F401 - fixtures
    _moto_server,
    answer_json,
    aws_endpoint,
    serve_locally,
)

pytest.importorskip("duckdb")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "ml-account"
TARGET = AthenaTarget("security", "cloudtrail_logs", output_location="s3://query-results/iamgen/")
HEADER = ["status", "file", "shape", "calls", "first_time", "last_time", "first_event",
          "transports"]


def post_json(url: str, body: Any) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # 127.0.0.1 only
        response.read()


def client(name: str, endpoint: str) -> Any:
    return boto3.client(name, endpoint_url=endpoint, region_name="us-east-1")


def athena_of(endpoint: str, **kwargs: Any) -> Athena:
    return Athena(client("athena", endpoint), client("glue", endpoint), client("s3", endpoint),
                  **kwargs)


def create_table(endpoint: str, table: dict[str, Any] = DOC_TABLE) -> None:
    glue = client("glue", endpoint)
    glue.create_database(DatabaseInput={"Name": TARGET.database})
    glue.create_table(DatabaseName=TARGET.database, TableInput={
        "Name": TARGET.table, "StorageDescriptor": table["StorageDescriptor"],
        "PartitionKeys": table["PartitionKeys"], "Parameters": table["Parameters"]})


def predefine(endpoint: str, *results: list[list[str | None]]) -> None:
    """Queue the rows the next queries return (each with the header row first)."""
    post_json(f"{endpoint}/moto-api/static/athena/query-results", {"results": [
        {"rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                  for row in [HEADER, *rows]],
         "column_info": [{"Name": name, "Type": "varchar"} for name in HEADER]}
        for rows in results]})


def transition(endpoint: str, progression: dict[str, Any] | None) -> None:
    """How moto moves a query from QUEUED on (None: at once, its default)."""
    if progression is None:
        post_json(f"{endpoint}/moto-api/state-manager/unset-transition",
                  {"model_name": "athena::execution"})
    else:
        post_json(f"{endpoint}/moto-api/state-manager/set-transition",
                  {"model_name": "athena::execution", "transition": progression})


@pytest.fixture
def slow_queries(aws_endpoint: str) -> Iterator[str]:
    """Queries stay QUEUED for a hundred polls."""
    transition(aws_endpoint, {"progression": "manual", "times": 100})
    try:
        yield aws_endpoint
    finally:
        transition(aws_endpoint, None)


def duckdb_rows(trail: Path, filters: Filters = Filters()) -> list[list[str | None]]:
    """What the aggregation query returns over a trail, as Athena's result holds it (text)."""
    files = [f.location for f in LocalSource((str(trail),)).files(filters)
             if kind_of(f.location, read_head(f.location)) == DELIVERY and _whole(f.location)]
    with DuckDBEngine(threads=1) as engine:
        engine.execute(json_view(files, DELIVERY))
        rows = engine.execute(build_query(QueryPlan("cloudtrail", filters), DUCKDB))
    return [[None if v is None else str(v) for v in row] for row in rows]


def _whole(path: str) -> bool:
    """Whether a file inflates whole (the example holds one cut short: Athena's
    reader would skip it as the file path does)."""
    try:
        gzip.decompress(Path(path).read_bytes())
    except (EOFError, OSError):
        return False
    return True


def csv_of(rows: list[list[str | None]]) -> bytes:
    """A result object as Athena writes it: every value quoted, NULL an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for row in [HEADER, *rows]:
        out.write(",".join("" if v is None else _quoted(v) for v in row) + "\n")
    del writer
    return out.getvalue().encode()


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


# -- success ---------------------------------------------------------------------


def test_the_query_runs_and_its_result_object_is_read(aws_endpoint: str) -> None:
    create_table(aws_endpoint)
    client("s3", aws_endpoint).create_bucket(Bucket="query-results")
    rows = duckdb_rows(EXAMPLE / "trail")
    predefine(aws_endpoint, rows)
    athena = athena_of(aws_endpoint)
    query_id = athena.start("SELECT 1", TARGET)
    stats = athena.wait(query_id)
    assert stats.state == "SUCCEEDED"
    assert stats.output_location == f"s3://query-results/iamgen/{query_id}.csv"
    # moto writes the object without CSV quoting; Athena quotes every value
    client("s3", aws_endpoint).put_object(Bucket="query-results",
                                          Key=f"iamgen/{query_id}.csv", Body=csv_of(rows))
    assert list(athena.rows(stats)) == rows


def test_suggest_through_athena_equals_reading_the_files(aws_endpoint: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    create_table(aws_endpoint)
    predefine(aws_endpoint, duckdb_rows(EXAMPLE / "trail"))
    # no results bucket: moto writes no object, the rows are paged through GetQueryResults
    code, _, err = run_cli("suggest", "--all", "--source", "athena", "--athena-table",
                           "security.cloudtrail_logs", "--output-location", "s3://nowhere/x/",
                           "--output-dir", str(tmp_path / "athena"))
    assert code == 0, err
    assert "athena query" in err and "estimated cost $" in err
    assert "partitions pruned by: day (timestamp, yyyy/MM/dd)" in err
    code, _, err = run_cli("suggest", "--all", "--trail", str(EXAMPLE / "trail"), "-q",
                           "--output-dir", str(tmp_path / "files"))
    assert code == 0, err
    left = {p.name: p.read_bytes() for p in sorted((tmp_path / "athena").iterdir())}
    right = {p.name: p.read_bytes() for p in sorted((tmp_path / "files").iterdir())}
    assert left == right and left


def test_the_query_is_pruned_by_the_tables_partitions(aws_endpoint: str) -> None:
    create_table(aws_endpoint, ORG_TABLE)
    predefine(aws_endpoint, [])
    filters = Filters(accounts=frozenset({"111122223333"}), regions=frozenset({"us-east-1"}))
    result, report = read_athena(athena_of(aws_endpoint), TARGET, filters)
    query = client("athena", aws_endpoint).get_query_execution(
        QueryExecutionId=report.query_id)["QueryExecution"]["Query"]
    assert "\"account\" IN ('111122223333')" in query
    assert "\"region\" IN ('us-east-1')" in query
    assert report.pruning.startswith("account (account), region (region)") or \
        "account (account)" in report.pruning
    assert result.events_read == 0


def test_show_sql_prints_the_athena_query_and_starts_none(aws_endpoint: str) -> None:
    create_table(aws_endpoint)
    code, out, err = run_cli("suggest", "--all", "--source", "athena", "--athena-table",
                             "security.cloudtrail_logs", "--since", "2026-11-02", "--show-sql")
    assert code == 0, err
    assert out.startswith("WITH events AS") and "FROM \"security\".\"cloudtrail_logs\"" in out
    assert "\"timestamp\" >= '2026/11/01'" in out
    executions = client("athena", aws_endpoint).list_query_executions()
    assert executions["QueryExecutionIds"] == []


# -- failure, cancellation, empty results, refusals ---------------------------------


def test_a_query_cancelled_elsewhere_stops_the_run(slow_queries: str) -> None:
    athena_client = client("athena", slow_queries)
    cancelled = []

    def sleep(seconds: float) -> None:
        if not cancelled:
            athena_client.stop_query_execution(QueryExecutionId=query_id)
            cancelled.append(seconds)

    athena = athena_of(slow_queries, sleep=sleep)
    query_id = athena.start("SELECT 1", TARGET)
    with pytest.raises(AthenaQueryError, match=f"query {query_id} was cancelled"):
        athena.wait(query_id)


def test_an_interrupt_cancels_the_query(slow_queries: str) -> None:
    polls: list[str] = []

    def sleep(seconds: float) -> None:
        if len(polls) == 3:
            raise KeyboardInterrupt

    athena = athena_of(slow_queries, sleep=sleep)
    query_id = athena.start("SELECT 1", TARGET)
    with pytest.raises(KeyboardInterrupt):
        athena.wait(query_id, on_poll=lambda state, _: polls.append(state))
    assert polls == ["QUEUED", "QUEUED", "QUEUED"]
    state = client("athena", slow_queries).get_query_execution(
        QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"]
    assert state == "CANCELLED"


def test_polling_backs_off(slow_queries: str) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 10:
            raise KeyboardInterrupt

    athena = athena_of(slow_queries, sleep=sleep)
    with pytest.raises(KeyboardInterrupt):
        athena.wait(athena.start("SELECT 1", TARGET))
    assert waits[0] == pytest.approx(0.25)
    assert all(b >= a for a, b in zip(waits, waits[1:]))
    assert waits[-1] == pytest.approx(5.0)


def test_empty_results_are_nothing_usable(aws_endpoint: str) -> None:
    create_table(aws_endpoint)
    code, _, err = run_cli("suggest", "--all", "--source", "athena", "--athena-table",
                           "security.cloudtrail_logs")
    assert code == 4
    assert "nothing usable was read" in err
    assert "athena: 0 rows for 0 events" in err


def test_a_missing_table_is_one_line(aws_endpoint: str) -> None:
    code, _, err = run_cli("suggest", "--all", "--source", "athena", "--athena-table",
                           "security.nosuch")
    assert code == 3
    assert err.startswith("iamgen: error: cannot describe security.nosuch in the Glue catalog")


class _StandIn(BaseHTTPRequestHandler):
    """Athena and Glue as moto does not play them: a FAILED query, paged results."""

    pages: list[list[list[str | None]]]
    state: str = "SUCCEEDED"
    seen: list[dict[str, Any]]
    deny: str = ""  # an action refused with AccessDeniedException

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        action = (self.headers.get("X-Amz-Target") or "").split(".")[-1]
        self.seen.append({"action": action, **body})
        if action == self.deny:
            denied = json.dumps({"__type": "AccessDeniedException", "Message": "User: "
                                 "arn:aws:iam::111122223333:user/u is not authorized to "
                                 f"perform: {action}"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(denied)))
            self.end_headers()
            self.wfile.write(denied)
            return
        if action == "GetTable":
            answer = {"Table": {"Name": "t", "StorageDescriptor": DOC_TABLE["StorageDescriptor"],
                                "PartitionKeys": DOC_TABLE["PartitionKeys"]}}
        elif action == "StartQueryExecution":
            answer = {"QueryExecutionId": "q-1"}
        elif action == "GetQueryExecution":
            status: dict[str, Any] = {"State": self.state}
            if self.state == "FAILED":
                status["StateChangeReason"] = ("COLUMN_NOT_FOUND: line 4:5: Column 'useridentity' "
                                               "cannot be resolved")
                status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1006}
            answer = {"QueryExecution": {"QueryExecutionId": "q-1", "Status": status,
                                         "Statistics": {"DataScannedInBytes": 123456789},
                                         "ResultConfiguration": {}}}
        elif action == "GetQueryResults":
            index = int(body.get("NextToken") or 0)
            rows = ([HEADER] if index == 0 else []) + self.pages[index]
            answer = {"ResultSet": {"Rows": [
                {"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                for row in rows]}}
            if index + 1 < len(self.pages):
                answer["NextToken"] = str(index + 1)
        else:
            answer = {}
        answer_json(self, json.dumps(answer).encode())

    def log_message(self, *_: Any) -> None:
        pass


def stand_in(**members: Any) -> type[_StandIn]:
    return type("Handler", (_StandIn,), {"pages": [[]], "seen": [], **members})


def test_a_failed_query_stops_the_run_with_athenas_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    handler = stand_in(state="FAILED")
    with serve_locally(handler) as url:
        with pytest.raises(AthenaQueryError, match="q-1 failed: COLUMN_NOT_FOUND: line 4:5"):
            read_athena(athena_of(url), TARGET, Filters())
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        code, _, err = run_cli("suggest", "--all", "--source", "athena", "--athena-table",
                               "security.cloudtrail_logs")
    assert code == 3
    assert err == ("iamgen: error: Athena query q-1 failed: COLUMN_NOT_FOUND: line 4:5: "
                   "Column 'useridentity' cannot be resolved\n")


def test_results_are_paged_through_when_no_object_can_be_read() -> None:
    rows = duckdb_rows(EXAMPLE / "trail")
    pages = [rows[:250], rows[250:500], rows[500:]]
    handler = stand_in(pages=pages)
    with serve_locally(handler) as url:
        result, report = read_athena(athena_of(url), TARGET, Filters())
    assert report.rows == len(rows) and report.scanned_bytes == 123456789
    assert report.cost == pytest.approx(0.00062)  # 124 MB at $5 per TB
    tokens = [s.get("NextToken") for s in handler.seen if s["action"] == "GetQueryResults"]
    assert tokens == [None, "1", "2"]
    from iamgen.scanning.scan import scan

    files = scan(LocalSource((str(EXAMPLE / "trail"),)), Filters(), workers=1)
    assert result.usages() == files.usages()
    assert result.principal_events == files.principal_events


@pytest.mark.parametrize(("action", "call"), [("GetTable", "glue:GetTable"),
                                              ("StartQueryExecution", "athena:StartQueryExecution"),
                                              ("GetQueryExecution", "athena:GetQueryExecution"),
                                              ("GetQueryResults", "athena:GetQueryResults")])
def test_refusals_stop_the_run_naming_the_call(action: str, call: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with serve_locally(stand_in(deny=action)) as url:
        with pytest.raises(AwsRefusedError, match=f"{call}.*access denied"):
            read_athena(athena_of(url), TARGET, Filters())
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        code, _, err = run_cli("suggest", "--all", "--source", "athena", "--athena-table",
                               "security.cloudtrail_logs")
    assert code == 7 and call in err
