"""Amazon Athena: run the aggregation query where the trail is, read back its rows.

Clients are passed in (Athena, Glue, S3: boto3 clients or stand-ins); nothing
here makes one. A query is started (StartQueryExecution), polled with
backoff (GetQueryExecution) until it ends, and its result read from the
CSV object Athena writes to the output location: one GetObject, however
many rows, where GetQueryResults would take a call per 1,000 rows. Where
that object cannot be read (no s3:GetObject on the results bucket, a
stand-in that writes none) the rows are paged through GetQueryResults.

A query that FAILED or was CANCELLED stops the run with Athena's reason;
an interrupt (Ctrl-C) while it runs cancels it (StopQueryExecution) first.
Refusals (no or bad credentials, AccessDenied) stop the run as on every
other AWS read (:func:`iamgen.sources.aws.refused`).

Cost: Athena bills the bytes a query scans, $5 per TB in most regions, at
least 10 MB a query (https://aws.amazon.com/athena/pricing/).
"""

from __future__ import annotations

import codecs
import csv
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import InputError, UsageError
from ..sources.aws import error_text, refused
from ..sources.s3 import parse_s3_url

PRICE_PER_TB = 5.0
MINIMUM_BYTES = 10 * 1000**2  # billed at least 10 MB a query
TB = 1000**4
FIRST_POLL = 0.25  # seconds; each wait is longer by BACKOFF, up to MAX_POLL
BACKOFF = 1.5
MAX_POLL = 5.0
_RUNNING = frozenset({"QUEUED", "RUNNING"})


def estimated_cost(scanned: int) -> float:
    """What Athena bills for a query that scanned ``scanned`` bytes (US dollars)."""
    billed = max(scanned, MINIMUM_BYTES)
    billed = -(-billed // 1000**2) * 1000**2  # rounded up to the megabyte
    return billed / TB * PRICE_PER_TB


@dataclass(frozen=True, slots=True)
class AthenaTarget:
    """Where the query runs: the table (``DATABASE.TABLE``), the workgroup,
    and where results go (None: the workgroup's output location)."""

    database: str
    table: str
    workgroup: str | None = None
    output_location: str | None = None
    catalog: str = "AwsDataCatalog"

    @classmethod
    def parse(cls, table: str, workgroup: str | None = None,
              output_location: str | None = None) -> AthenaTarget:
        """From ``--athena-table DB.TABLE`` and the other options."""
        database, dot, name = table.partition(".")
        if not dot or not database or not name or "." in name:
            raise UsageError(f"--athena-table {table!r}: use DATABASE.TABLE")
        if output_location is not None and not output_location.startswith("s3://"):
            raise UsageError(f"--output-location {output_location!r}: use s3://bucket/prefix/")
        return cls(database, name, workgroup, output_location)

    @property
    def sql_name(self) -> str:
        """The table as the query names it."""
        return f'"{_unquoted(self.database)}"."{_unquoted(self.table)}"'


def _unquoted(name: str) -> str:
    if '"' in name:
        raise UsageError(f"{name!r}: a name with a double quote")
    return name


@dataclass(frozen=True, slots=True)
class QueryStats:
    """How one query ran."""

    query_id: str
    state: str
    scanned_bytes: int
    output_location: str | None
    engine_ms: int = 0

    @property
    def cost(self) -> float:
        """The estimated cost of the bytes scanned (US dollars)."""
        return estimated_cost(self.scanned_bytes)


class AthenaQueryError(InputError):
    """A query that ended FAILED or CANCELLED (the message holds Athena's reason)."""


class Athena:
    """Runs queries through an Athena client (results read through an S3
    client; tables described through a Glue client)."""

    def __init__(self, athena: Any, glue: Any = None, s3: Any = None, *,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._athena = athena
        self._glue = glue
        self._s3 = s3
        self._sleep = sleep
        self._clock = clock

    # -- the table -------------------------------------------------------------

    def table(self, target: AthenaTarget) -> dict[str, Any]:
        """The Glue catalog entry of the target table (``glue:GetTable``)."""
        if self._glue is None:
            raise UsageError("no Glue client to describe the table with")
        try:
            found = self._glue.get_table(DatabaseName=target.database, Name=target.table)
        except Exception as exc:  # botocore's ClientError and friends
            failure = refused(f"glue:GetTable {target.database}.{target.table}", exc)
            if failure is not None:
                raise failure from None
            raise InputError(f"cannot describe {target.database}.{target.table} in the Glue "
                             f"catalog: {error_text(exc)}") from None
        return dict(found.get("Table") or {})

    # -- a query ---------------------------------------------------------------

    def start(self, sql: str, target: AthenaTarget) -> str:
        """Start ``sql``; its QueryExecutionId."""
        request: dict[str, Any] = {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": target.database, "Catalog": target.catalog},
        }
        if target.workgroup:
            request["WorkGroup"] = target.workgroup
        if target.output_location:
            request["ResultConfiguration"] = {"OutputLocation": target.output_location}
        try:
            return str(self._athena.start_query_execution(**request)["QueryExecutionId"])
        except Exception as exc:
            failure = refused("athena:StartQueryExecution", exc)
            if failure is not None:
                raise failure from None
            raise InputError(f"Athena did not start the query: {error_text(exc)}") from None

    def wait(self, query_id: str, on_poll: Callable[[str, float], None] | None = None
             ) -> QueryStats:
        """Poll until the query ends; its stats. FAILED and CANCELLED raise
        :class:`AthenaQueryError` with Athena's reason; an interrupt cancels
        the query, then goes on. ``on_poll(state, seconds)`` hears of each poll."""
        delay = FIRST_POLL
        started = self._clock()
        try:
            while True:
                execution = self._execution(query_id)
                status = execution.get("Status") or {}
                state = str(status.get("State", ""))
                if on_poll is not None:
                    on_poll(state, self._clock() - started)
                if state not in _RUNNING:
                    break
                self._sleep(delay)
                delay = min(MAX_POLL, delay * BACKOFF)
        except KeyboardInterrupt:
            self.cancel(query_id)
            raise
        stats = _stats(query_id, state, execution)
        if state == "SUCCEEDED":
            return stats
        reason = str(status.get("StateChangeReason") or "")
        error = status.get("AthenaError") or {}
        if not reason and error.get("ErrorMessage"):
            reason = str(error["ErrorMessage"])
        what = "failed" if state == "FAILED" else "was cancelled" if state == "CANCELLED" \
            else f"ended {state or 'in an unknown state'}"
        raise AthenaQueryError(f"Athena query {query_id} {what}" + (f": {reason}" if reason
                                                                     else ""))

    def cancel(self, query_id: str) -> None:
        """Stop a query (StopQueryExecution); a failure to is not an error here."""
        try:
            self._athena.stop_query_execution(QueryExecutionId=query_id)
        except Exception:  # noqa: BLE001 - interrupted anyway; the query may be done
            pass

    def _execution(self, query_id: str) -> dict[str, Any]:
        try:
            found = self._athena.get_query_execution(QueryExecutionId=query_id)
        except Exception as exc:
            failure = refused("athena:GetQueryExecution", exc)
            if failure is not None:
                raise failure from None
            raise InputError(f"cannot follow Athena query {query_id}: {error_text(exc)}") \
                from None
        return dict(found.get("QueryExecution") or {})

    # -- its rows --------------------------------------------------------------

    def rows(self, stats: QueryStats) -> Iterator[list[str | None]]:
        """The result's rows (header left out): from its CSV object in S3,
        else paged through GetQueryResults. In the CSV, NULL is an empty
        field and '' a quoted one; both come back as None here."""
        body = self._result_object(stats.output_location)
        if body is None:
            yield from self._paged(stats.query_id)
            return
        reader = csv.reader(codecs.getreader("utf-8")(body))
        next(reader, None)
        for row in reader:
            yield [value if value != "" else None for value in row]

    def _result_object(self, location: str | None) -> Any:
        """The result object's body (a stream), or None when it cannot be read."""
        if self._s3 is None or not location or not location.startswith("s3://"):
            return None
        bucket, key = parse_s3_url(location)
        try:
            return self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        except Exception:  # noqa: BLE001 - paged through GetQueryResults instead
            return None

    def _paged(self, query_id: str) -> Iterator[list[str | None]]:
        token: str | None = None
        first = True
        while True:
            request: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": 1000}
            if token:
                request["NextToken"] = token
            try:
                page = self._athena.get_query_results(**request)
            except Exception as exc:
                failure = refused("athena:GetQueryResults", exc)
                if failure is not None:
                    raise failure from None
                raise InputError(f"cannot read the results of Athena query {query_id}: "
                                 f"{error_text(exc)}") from None
            rows = (page.get("ResultSet") or {}).get("Rows") or []
            for index, row in enumerate(rows):
                if first and index == 0:
                    continue  # the header row: the first row of the first page
                yield [cell.get("VarCharValue") for cell in row.get("Data") or ()]
            first = False
            token = page.get("NextToken")
            if not token:
                return


def _stats(query_id: str, state: str, execution: dict[str, Any]) -> QueryStats:
    statistics = execution.get("Statistics") or {}
    result = execution.get("ResultConfiguration") or {}
    return QueryStats(query_id, state, int(statistics.get("DataScannedInBytes") or 0),
                      result.get("OutputLocation"),
                      int(statistics.get("EngineExecutionTimeInMillis") or 0))
