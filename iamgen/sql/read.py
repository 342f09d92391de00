"""Reading a trail through SQL: Athena where the trail is, DuckDB on this machine.

Both run the one aggregation query (:mod:`.query`) and add its rows to a
:class:`~iamgen.scanning.tally.ScanResult` (:mod:`.rows`); what comes back
is that result and a :class:`SqlReport` of how the reading went. Clients
and sources are passed in: nothing here reads AWS settings.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import Filters
from ..scanning.scan import scan_file
from ..scanning.tally import ScanResult
from ..sources.base import listing_warnings, read_files
from ..sources.local import LocalSource
from ..sources.s3 import S3Source
from .athena import Athena, AthenaTarget, QueryStats
from .dialects import TRINO
from .duckdb_engine import (
    PARQUET_SUFFIX,
    DuckDBEngine,
    DuckDBRun,
    LocalFile,
    duckdb_query,
    scan_local_files,
)
from .partitions import PartitionScheme, columns_of_table, scheme_of_table
from .query import QueryPlan, build_query
from .rows import RowReader, ShapeRow

# S3 objects are fetched into a spool folder and read by DuckDB this many
# (compressed) bytes at a time.
SPOOL_BYTES = 256 * 1024**2


@dataclass
class SqlReport:
    """How a SQL reading went: the engine, the query, what came back."""

    engine: str  # "athena" or "duckdb"
    sql: str = ""
    rows: int = 0  # rows the aggregation returned
    events: int = 0  # events they stand for
    seconds: float = 0.0
    query_id: str | None = None
    scanned_bytes: int | None = None
    cost: float | None = None
    pruning: str = ""
    files: int = 0  # files DuckDB read
    fallback: list[str] = field(default_factory=list)  # files read by the file path


# -- Athena --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AthenaQuery:
    """The query for one table and run, and the scheme that pruned it."""

    sql: str
    scheme: PartitionScheme


def athena_query(target: AthenaTarget, table: dict[str, Any], filters: Filters) -> AthenaQuery:
    """The aggregation query over ``target``, pruned by its partitions."""
    columns = columns_of_table(table)
    scheme = scheme_of_table(table)
    plan = QueryPlan(target.sql_name, filters, scheme.predicates(filters), columns or None)
    return AthenaQuery(build_query(plan, TRINO), scheme)


def read_athena(athena: Athena, target: AthenaTarget, filters: Filters,
                on_poll: Callable[[str, float], None] | None = None
                ) -> tuple[ScanResult, SqlReport]:
    """Run the query in Athena and read its rows into a result."""
    started = time.monotonic()
    query = athena_query(target, athena.table(target), filters)
    query_id = athena.start(query.sql, target)
    stats: QueryStats = athena.wait(query_id, on_poll)
    result = ScanResult()
    reader = RowReader(result, f"athena:{target.database}.{target.table}")
    for values in athena.rows(stats):
        reader.add(ShapeRow.of(values))
    report = SqlReport("athena", query.sql, reader.rows, reader.events,
                       time.monotonic() - started, query_id, stats.scanned_bytes, stats.cost,
                       query.scheme.describe())
    return result, report


# -- DuckDB --------------------------------------------------------------------


def read_duckdb(trails: Sequence[str], filters: Filters, *, threads: int | None = None,
                s3_factory: Callable[[], Any] | None = None,
                spool_bytes: int = SPOOL_BYTES) -> tuple[ScanResult, SqlReport]:
    """Read local files and folders (JSON, gzipped or not; Parquet copies of
    the Athena table) and ``s3://`` URLs with DuckDB into a result."""
    started = time.monotonic()
    local = [t for t in trails if not t.startswith("s3://")]
    urls = [t for t in dict.fromkeys(trails) if t.startswith("s3://")]
    if "-" in local:
        raise InputError("--source duckdb reads files and s3:// URLs, not standard input")
    result = ScanResult()
    run = DuckDBRun()
    with DuckDBEngine(threads=threads) as engine:
        if local:
            source = LocalSource(tuple(local))
            files = [LocalFile(f.location, f.location) for f in source.files(filters)
                     if not f.location.endswith(PARQUET_SUFFIX)]
            files.extend(_parquet_files(local))
            scan_local_files(engine, files, filters, result, run)
            result.files_skipped.update(source.skipped())
            result.listing_warnings(listing_warnings(source))
        for url in urls:
            if s3_factory is None:
                raise InputError(f"{url}: no S3 client to read it with")
            _read_s3(engine, S3Source(url, s3_factory), filters, result, run, spool_bytes)
    report = SqlReport("duckdb", duckdb_query(filters), run.rows, run.events,
                       time.monotonic() - started, files=run.files, fallback=run.fallback)
    return result, report


def _parquet_files(paths: Sequence[str]) -> list[LocalFile]:
    found: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file() and raw.endswith(PARQUET_SUFFIX):
            found.append(raw)
        elif path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs.sort()
                found.extend(os.path.join(root, n) for n in names if n.endswith(PARQUET_SUFFIX))
    return [LocalFile(p, p) for p in sorted(set(found))]


def _read_s3(engine: DuckDBEngine, source: S3Source, filters: Filters, result: ScanResult,
             run: DuckDBRun, spool_bytes: int) -> None:
    """Fetch an S3 trail's files into a spool folder, a batch at a time, and
    read each batch with DuckDB (objects that cannot be fetched: the file path)."""
    spool = tempfile.mkdtemp(prefix="iamgen-duckdb-")
    try:
        batch: list[LocalFile] = []
        size = 0
        for index, (trail_file, data) in enumerate(read_files(source, source.files(filters))):
            if isinstance(data, OSError):
                result.merge(scan_file(source, trail_file, filters))
                continue
            path = os.path.join(spool, f"{index:08d}-{os.path.basename(trail_file.location)}")
            with open(path, "wb") as handle:
                handle.write(data)
            batch.append(LocalFile(trail_file.location, path))
            size += len(data)
            if size >= spool_bytes:
                _flush(engine, batch, filters, result, run)
                batch, size = [], 0
        _flush(engine, batch, filters, result, run)
        result.files_skipped.update(source.skipped())
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _flush(engine: DuckDBEngine, batch: list[LocalFile], filters: Filters, result: ScanResult,
           run: DuckDBRun) -> None:
    if not batch:
        return
    scan_local_files(engine, batch, filters, result, run)
    for local in batch:
        try:
            os.remove(local.path)
        except OSError:
            pass
