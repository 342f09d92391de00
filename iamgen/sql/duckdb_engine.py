"""DuckDB, the embedded engine: the aggregation query over CloudTrail files on this machine.

The files are shown to the query as a view named ``cloudtrail`` shaped like
the Athena table (:mod:`.query` reads only that shape):

- ``{"Records": [...]}`` files as CloudTrail delivers them (gzipped or not),
  and JSON Lines exports of records, are parsed by DuckDB's JSON reader;
- a Parquet copy of the Athena table (``CREATE TABLE ... AS SELECT``, many
  teams keep one to cut Athena's cost) is read as it is.

What DuckDB cannot read exactly as the file path does goes to the file path
(:func:`iamgen.scanning.scan.scan_file`), so broken files get what they get
there (one warning naming the file, counted) and odd ones the same
treatment: any other shape (LookupEvents output, a single record, a JSON
array), a file DuckDB fails on (damaged gzip, invalid JSON), and a file
holding a value of another type where the query reads a string (an
``eventName`` that is a number: the view raises an error naming the file).
The results add up in one :class:`~iamgen.scanning.tally.ScanResult`.

``duckdb`` is an optional dependency (``pip install 'iamgen[sql]'``); it is
imported only when this engine runs.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ..errors import InputError
from ..model import Filters
from ..scanning.scan import scan_file
from ..scanning.tally import ScanResult
from ..sources.base import TrailFile
from .dialects import DUCKDB, ISO_TIME, string
from .query import REQUIRED_COLUMNS, QueryPlan, build_query
from .rows import RowReader, ShapeRow

VIEW = "cloudtrail"
DELIVERY, LINES, PARQUET, OTHER = "delivery", "lines", "parquet", "other"
PARQUET_SUFFIX = ".parquet"
FETCH_ROWS = 10_000
FILES_PER_QUERY = 5_000  # a query's file list is part of its text: longer lists run in turn
_HEAD_BYTES = 1 << 16
_MAX_OBJECT = 2**31 - 1
_FALLBACK = "iamgen-fallback"
_NAMED_FILE = re.compile(r'(?:file|in) "([^"]+)"')
_DELIVERY_HEAD = re.compile(rb'^\s*\{\s*"Records"\s*:\s*\[')

# The record members the query reads, as the view's JSON reader types them:
# each stays JSON text until the view checks its type.
_MEMBERS = ("userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "errorCode",
            "requestParameters", "responseElements", "eventID", "resources", "eventType",
            "recipientAccountId", "vpcEndpointId", "tlsDetails")
_IDENTITY_PATHS = ("$.type", "$.arn", "$.accountId", "$.invokedBy",
                   "$.sessionContext.sessionIssuer.type", "$.sessionContext.sessionIssuer.arn",
                   "$.sessionContext.attributes.mfaAuthenticated")


def missing_duckdb() -> InputError:
    """The error for a run that needs DuckDB where it is not installed."""
    return InputError("--source duckdb needs DuckDB: pip install 'iamgen[sql]' (or duckdb)")


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise missing_duckdb() from None
    return duckdb


# -- what kind of file is this -------------------------------------------------


def kind_of(location: str, head: bytes) -> str:
    """How DuckDB reads a file, from its name and first bytes (decompressed):
    :data:`DELIVERY`, :data:`LINES`, :data:`PARQUET` or :data:`OTHER` (the file path)."""
    if location.endswith(PARQUET_SUFFIX):
        return PARQUET
    if _DELIVERY_HEAD.match(head):
        return DELIVERY
    first, newline, rest = head.lstrip().partition(b"\n")
    if not newline or not rest.strip():
        return OTHER
    try:
        record = msgspec.json.decode(first)
    except msgspec.DecodeError:
        return OTHER
    if isinstance(record, dict) and ("eventName" in record or "eventVersion" in record) \
            and "CloudTrailEvent" not in record:
        return LINES
    return OTHER


def head_of(data: bytes) -> bytes:
    """The first bytes of a file's text (gunzipped as needed; a damaged
    stream gives what could be inflated)."""
    if data[:2] != b"\x1f\x8b":
        return data[:_HEAD_BYTES]
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, _HEAD_BYTES)
    except zlib.error:
        return b""


def read_head(path: str) -> bytes:
    """:func:`head_of` a file on disk (b"" when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return head_of(handle.read(_HEAD_BYTES))
    except OSError:
        return b""


# -- the view ------------------------------------------------------------------


def _text(json_text: str, where: str) -> str:
    """A JSON value that must be a string (or null) as VARCHAR; any other
    type fails the query naming the file (which then goes to the file path)."""
    v = f"CAST({json_text} AS VARCHAR)"
    return (f"CASE WHEN {v} IS NULL OR {v} = 'null' THEN NULL "
            f"WHEN {v} LIKE '\"%' THEN CASE WHEN strpos({v}, chr(92)) = 0 THEN {v}[2:-2] "
            f"ELSE json_extract_string({v}, '$') END "
            f"ELSE error('{_FALLBACK}: a value of another type in \"' || {where} || '\"') END")


def _json_text(json_text: str) -> str:
    v = f"CAST({json_text} AS VARCHAR)"
    return f"CASE WHEN {v} IS NULL OR {v} = 'null' THEN NULL ELSE {v} END"


def _athena_shaped(member: Callable[[str], str], where: str, guard: str = "") -> str:
    """The columns of the Athena table the query reads, from a record's members.

    A record the file path would warn about (no eventName, eventSource or
    userIdentity object, an eventTime it cannot read), and ``guard`` (an
    expression that is NULL or fails), fail the query naming the file, which
    the file path then reads: such files get exactly its warnings.
    """
    ids = "ids"
    identity = f"CAST({member('userIdentity')} AS VARCHAR)"
    name, source, moment = (_text(member(m), where)
                            for m in ("eventName", "eventSource", "eventTime"))
    trimmed = f"trim({moment})"
    unusable = " OR ".join(filter(None, [
        f"{guard} IS NOT NULL" if guard else "",
        f"coalesce({name}, '') = ''",
        f"coalesce({source}, '') = ''",
        f"coalesce({identity}, '') NOT LIKE '{{%'",
        f"NOT coalesce(regexp_full_match({trimmed}, {string(ISO_TIME)}), false)",
        f"TRY_CAST({trimmed} AS TIMESTAMPTZ) IS NULL",
    ]))
    fields = [
        f"CASE WHEN {unusable} THEN error('{_FALLBACK}: a record the file path warns about "
        f"in \"' || {where} || '\"') ELSE {name} END AS eventname",
        f"{source} AS eventsource",
        f"{moment} AS eventtime",
        f"CASE WHEN {identity} LIKE '{{%' THEN struct_pack("
        f"type := {_text(f'{ids}[1]', where)}, arn := {_text(f'{ids}[2]', where)}, "
        f"accountid := {_text(f'{ids}[3]', where)}, invokedby := {_text(f'{ids}[4]', where)}, "
        f"sessioncontext := struct_pack("
        f"sessionissuer := struct_pack(type := {_text(f'{ids}[5]', where)}, "
        f"arn := {_text(f'{ids}[6]', where)}), "
        f"attributes := struct_pack(mfaauthenticated := {_text(f'{ids}[7]', where)}))) "
        f"END AS useridentity",
    ]
    for member_name in ("awsRegion", "errorCode", "eventID", "eventType", "recipientAccountId",
                        "vpcEndpointId"):
        fields.append(f"{_text(member(member_name), where)} AS {member_name.lower()}")
    for member_name in ("requestParameters", "responseElements"):
        fields.append(f"{_json_text(member(member_name))} AS {member_name.lower()}")
    resources = f"CAST({member('resources')} AS VARCHAR)"
    fields.append(
        f"CASE WHEN strpos({resources}, '\"arn\":') > 0 "
        f"THEN error('{_FALLBACK}: a lower-case arn in resources in \"' || {where} || '\"') "
        f"WHEN {resources} LIKE '[%' THEN list_transform(json_extract_string({resources}, "
        f"'$[*].ARN'), lambda a: struct_pack(arn := a)) END AS resources")
    tls = f"CAST({member('tlsDetails')} AS VARCHAR)"
    version = _text(f"json_extract({tls}, '$.tlsVersion')", where)
    fields.append(f"struct_pack(tlsversion := CASE WHEN {tls} LIKE '{{%' THEN {version} END) "
                  f"AS tlsdetails")
    fields.append(f'{where} AS "$path"')
    return ",\n  ".join(fields)


def _identity_list(member: Callable[[str], str]) -> str:
    paths = ", ".join(string(p) for p in _IDENTITY_PATHS)
    identity = f"CAST({member('userIdentity')} AS VARCHAR)"
    return f"CASE WHEN {identity} LIKE '{{%' THEN json_extract({identity}, [{paths}]) END"


def _files_list(paths: Sequence[str]) -> str:
    return "[" + ", ".join(string(p) for p in paths) + "]"


def json_view(paths: Sequence[str], kind: str) -> str:
    """The ``cloudtrail`` view over delivery files or JSON Lines exports."""
    members = ", ".join(f'"{m}" JSON' for m in _MEMBERS)
    options = f"filename = true, maximum_object_size = {_MAX_OBJECT}"
    guard = ""
    if kind == DELIVERY:
        source = (f"SELECT filename, unnest(Records) AS r FROM read_json("
                  f"{_files_list(paths)}, columns = {{'Records': 'STRUCT({members})[]'}}, "
                  f"format = 'auto', {options})")

        def member(name: str) -> str:
            return f'r."{name}"'
    elif kind == LINES:
        columns = ", ".join(f"'{m}': 'JSON'" for m in (*_MEMBERS, "CloudTrailEvent"))
        source = (f"SELECT * FROM read_json({_files_list(paths)}, columns = {{{columns}}}, "
                  f"format = 'newline_delimited', {options})")
        guard = '"CloudTrailEvent"'  # a line that wraps its record: the file path reads it

        def member(name: str) -> str:
            return f'"{name}"'
    else:
        raise ValueError(kind)
    return f"""CREATE OR REPLACE TEMP VIEW {VIEW} AS
WITH records AS (
  {source}
), identified AS (
  SELECT *, {_identity_list(member)} AS ids FROM records
)
SELECT
  {_athena_shaped(member, "filename", guard)}
FROM identified
"""


_OPTIONAL_PARQUET_COLUMNS = {
    "vpcendpointid": "CAST(NULL AS VARCHAR)",
    "tlsdetails": "struct_pack(tlsversion := CAST(NULL AS VARCHAR))",
}


def parquet_view(paths: Sequence[str], present: set[str]) -> str:
    """The ``cloudtrail`` view over a Parquet copy of the Athena table
    (``present``: its columns, lower-cased; optional ones may be missing)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        raise InputError(f"{paths[0]}: not a copy of the CloudTrail table (no column "
                         f"{', '.join(missing)})")
    columns = list(REQUIRED_COLUMNS)
    for name, empty in _OPTIONAL_PARQUET_COLUMNS.items():
        columns.append(name if name in present else f"{empty} AS {name}")
    return (f"CREATE OR REPLACE TEMP VIEW {VIEW} AS SELECT {', '.join(columns)}, "
            f'filename AS "$path" FROM read_parquet({_files_list(paths)}, filename = true, '
            f"union_by_name = true)\n")


# -- running -------------------------------------------------------------------


def duckdb_query(filters: Filters) -> str:
    """The aggregation query as DuckDB runs it (over the ``cloudtrail`` view)."""
    return build_query(QueryPlan(VIEW, filters), DUCKDB)


@dataclass
class DuckDBRun:
    """What one DuckDB reading did, beside its result: files it read, files
    handed to the file path, and the rows the aggregation returned."""

    files: int = 0
    fallback: list[str] = field(default_factory=list)
    rows: int = 0
    events: int = 0  # the events the rows stand for


class DuckDBEngine:
    """One DuckDB connection that runs the aggregation query over files.

    ``threads`` bounds DuckDB's worker threads (None: DuckDB's default, the
    machine's cores); ``memory_limit`` its memory (``"2GB"``; None: its default).
    """

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        config: dict[str, Any] = {"preserve_insertion_order": False}
        if threads is not None:
            config["threads"] = max(1, threads)
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        self._con = _duckdb().connect(config=config)
        self._con.execute("SET TimeZone = 'UTC'")
        self._con.execute("SET enable_progress_bar = false")  # it writes to stdout

    def close(self) -> None:
        """Close the connection."""
        self._con.close()

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement; its rows."""
        return self._con.execute(sql).fetchall()

    def columns_of_parquet(self, path: str) -> set[str]:
        """The (lower-cased) column names of a Parquet file."""
        rows = self._con.execute(
            f"SELECT name FROM parquet_schema({string(path)})").fetchall()
        return {str(name).lower() for (name,) in rows}

    def rows(self, view: str, filters: Filters) -> Iterator[ShapeRow]:
        """Create ``view`` and run the aggregation over it, a batch of rows at a time."""
        self._con.execute(view)
        cursor = self._con.execute(duckdb_query(filters))
        while True:
            batch = cursor.fetchmany(FETCH_ROWS)
            if not batch:
                return
            for values in batch:
                yield ShapeRow.of(values)

    def file_errors(self) -> tuple[type[BaseException], ...]:
        """What a query raises over files it cannot read (malformed or damaged
        data, a value the view refuses): not a failure of DuckDB or of the query."""
        duckdb = _duckdb()
        return (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException)

    def failure(self, exc: BaseException) -> BaseException:
        """What any other DuckDB error becomes: an interrupt stays one."""
        if isinstance(exc, _duckdb().InterruptException):
            return KeyboardInterrupt()
        return InputError(f"DuckDB could not run the query: {' '.join(str(exc).split())}")


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file DuckDB reads: where warnings say it is, and its path here."""

    location: str
    path: str


class _PathSource:
    """A record source over :class:`LocalFile` s, for the file path's fallback."""

    def __init__(self, files: Sequence[LocalFile]) -> None:
        self._paths = {f.location: f.path for f in files}

    def read(self, trail_file: TrailFile) -> bytes:
        with open(self._paths[trail_file.location], "rb") as handle:
            return handle.read()

    def files(self, filters: Filters) -> list[TrailFile]:
        return [TrailFile(location) for location in sorted(self._paths)]

    def skipped(self) -> dict[str, int]:
        return {}


def scan_local_files(engine: DuckDBEngine, files: Sequence[LocalFile], filters: Filters,
                     result: ScanResult, run: DuckDBRun) -> None:
    """Read ``files`` into ``result``: DuckDB where it reads them as the
    file path would, the file path for the rest."""
    by_kind: dict[str, list[LocalFile]] = {}
    for local in files:
        by_kind.setdefault(kind_of(local.location, b"" if local.path.endswith(PARQUET_SUFFIX)
                                   else read_head(local.path)), []).append(local)
    fallback = list(by_kind.pop(OTHER, []))
    for kind, group in sorted(by_kind.items()):
        for start in range(0, len(group), FILES_PER_QUERY):
            chunk = group[start:start + FILES_PER_QUERY]
            fallback.extend(_run_group(engine, kind, chunk, filters, result, run))
    if fallback:
        source = _PathSource(fallback)
        for local in sorted(fallback, key=lambda f: f.location):
            run.fallback.append(local.location)
            result.merge(scan_file(source, TrailFile(local.location), filters))


def _run_group(engine: DuckDBEngine, kind: str, files: list[LocalFile], filters: Filters,
               result: ScanResult, run: DuckDBRun) -> list[LocalFile]:
    """Run the query over files of one kind into ``result``; the files it
    could not read (each named in DuckDB's error, or found by halving)."""
    pending = [files]
    refused: list[LocalFile] = []
    bad_files = engine.file_errors()
    duckdb_error = _duckdb().Error
    while pending:
        group = pending.pop()
        if not group:
            continue
        partial = ScanResult()  # merged only when the whole group was read
        try:
            rows, events = _group_rows(engine, kind, group, filters, partial)
        except bad_files as exc:
            if kind == PARQUET:  # no file path reads Parquet
                more = f" (or one of {len(group) - 1} more)" if len(group) > 1 else ""
                raise InputError(f"{group[0].location}{more}: not a copy of the CloudTrail "
                                 f"table DuckDB can read ({' '.join(str(exc).split())})") \
                    from None
            named = _named_file(str(exc), group)
            if named is not None:
                refused.append(named)
                pending.append([f for f in group if f is not named])
            elif len(group) == 1:
                refused.append(group[0])
            else:
                half = len(group) // 2
                pending.extend((group[:half], group[half:]))
            continue
        except duckdb_error as exc:  # not the files: DuckDB, or an interrupt
            raise engine.failure(exc) from None
        partial.files_read = len(group)
        partial.bytes_read = sum(_size(f.path) for f in group)
        result.merge(partial)
        run.rows += rows
        run.events += events
        run.files += len(group)
    return refused


def _group_rows(engine: DuckDBEngine, kind: str, group: list[LocalFile], filters: Filters,
                result: ScanResult) -> tuple[int, int]:
    """Add the query's rows over one group of files to ``result``; how many
    rows, standing for how many events."""
    paths = [f.path for f in group]
    locations = {f.path: f.location for f in group}
    if kind == PARQUET:
        view = parquet_view(paths, engine.columns_of_parquet(paths[0]))
    else:
        view = json_view(paths, kind)
    reader = RowReader(result, f"duckdb:{kind}")
    for row in engine.rows(view, filters):
        reader.add(row if row.file is None else row.with_file(locations.get(row.file, row.file)))
    return reader.rows, reader.events


def _named_file(message: str, group: Sequence[LocalFile]) -> LocalFile | None:
    by_path = {f.path: f for f in group}
    for found in _NAMED_FILE.findall(message):
        if found in by_path:
            return by_path[found]
    return None


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
