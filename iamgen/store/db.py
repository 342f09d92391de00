"""The store file: an SQLite database (the standard library's), its schema,
and every statement iamgen runs on it.

- ``units``: one row per trail file read (its location, its version: size and
  modification time, or ETag; the span of its events), the marker that its
  results are complete;
- ``results``: per file, each kept way of reading it (whole, under given
  account and region filters, with the calls' request context or without;
  or outside a window), under the rules it was made with, as bytes
  (:mod:`.codec`);
- ``aggregates``: results of many files already merged (a reading
  process's, all a run counted, a day's, a block of days': :mod:`.read`),
  with the ids of the results they hold: a later run that needs all of
  those takes the aggregate instead, so a rerun merges a few rows of
  aggregates rather than one result per file;
- ``syntheses``: principals' policies as synthesized, by the hash of what
  they were made from (:mod:`.syntheses`), with when a run last took one;
- ``rules``: the iamgen, catalog and rules versions results were made under;
- ``meta``: what made the file.

Every write is one short transaction (a file's rows and its marker together),
so a run killed at any moment leaves each file complete or absent. The
database runs in WAL mode with a busy timeout: runs sharing a store read
while another writes, and take turns writing; one that waits longer than
:data:`BUSY_SECONDS` fails with a message saying so. A file that is not a
store, or a damaged one, is an :class:`~iamgen.errors.InputError` naming it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError
from .codec import CodecError, decode_ids, encode_ids
from .rules import Rules

APPLICATION_ID = 0x69616D67  # "iamg": what marks an SQLite file as an iamgen store
SCHEMA_VERSION = 1  # PRAGMA user_version: the layout of the tables and of the result bytes
BUSY_SECONDS = 60.0

_SCHEMA = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL UNIQUE,
    iamgen TEXT NOT NULL,
    catalog TEXT NOT NULL
);
CREATE TABLE units (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    location TEXT NOT NULL UNIQUE,
    version TEXT NOT NULL,
    first_event INTEGER,       -- microseconds since 1970 (UTC); NULL: no event to place
    last_event INTEGER,
    missing_since INTEGER      -- when a run found it gone from its source (NULL: it was there)
);
CREATE TABLE results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    unit INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    way TEXT NOT NULL,         -- 'whole' or 'outside'
    filters TEXT NOT NULL,     -- how a whole read was made (plan.filters_key): its filters,
                               -- and whether it left out the request context
    rules INTEGER NOT NULL REFERENCES rules(id),
    events INTEGER NOT NULL,
    outcomes INTEGER NOT NULL, -- tallied outcomes kept
    size INTEGER NOT NULL,     -- bytes of the trail file
    data BLOB NOT NULL,
    UNIQUE (unit, way, filters)
);
CREATE TABLE aggregates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rules INTEGER NOT NULL REFERENCES rules(id),
    size INTEGER NOT NULL,     -- how many results it holds
    members BLOB NOT NULL,     -- their ids, sorted
    data BLOB NOT NULL
);
"""

# Added after format 1 was first written: made in any store that lacks it.
_SYNTHESES = """
CREATE TABLE IF NOT EXISTS syntheses (
    key BLOB PRIMARY KEY,      -- SHA-256 of what the synthesis was made from
    used INTEGER NOT NULL,     -- when a run last made or took it (microseconds since 1970)
    data BLOB NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class UnitRow:
    """A file the store holds."""

    id: int
    location: str
    version: str
    span: tuple[datetime, datetime] | None
    missing_since: datetime | None


@dataclass(frozen=True, slots=True)
class ResultRow:
    """A kept result, without its bytes."""

    id: int
    unit: int
    way: str
    filters: str
    rules: int
    events: int


@dataclass(frozen=True, slots=True)
class PendingResult:
    """A file's result on its way into the store."""

    location: str
    version: str
    span: tuple[datetime, datetime] | None  # of a whole read (else None)
    way: str
    filters: str
    events: int
    outcomes: int
    size: int  # bytes of the trail file
    data: bytes
    counted: bool  # whether the run writing it counts it (for its aggregate)
    replaces: str | None = None  # the filters key of a whole result of the file it replaces


@dataclass(frozen=True, slots=True)
class AggregateRow:
    """A merged result of many results, without its bytes."""

    id: int
    rules: int
    members: tuple[int, ...]
    damaged: bool = False  # its member list cannot be read (members empty): dead


def micros(moment: datetime) -> int:
    """``moment`` as microseconds since 1970 (UTC)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def moment_of(value: int | None) -> datetime | None:
    """The datetime :func:`micros` gave ``value`` for."""
    return None if value is None else _EPOCH + timedelta(microseconds=value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Store:
    """An open store. Made with :meth:`open`; one per process (never shared
    with a forked one)."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self._pid = os.getpid()

    # -- opening ----------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True,
             busy_seconds: float | None = None) -> Store:
        """Open the store at ``path``, made empty there when missing and
        ``create``. InputError when it cannot be opened, is not a store, or
        was written by a newer iamgen."""
        path = store_path(path)
        busy_seconds = BUSY_SECONDS if busy_seconds is None else busy_seconds
        if path.is_dir():
            raise InputError(f"{path}: not an iamgen store (a directory)")
        if not path.exists() and not create:
            raise InputError(f"{path}: no such store")
        if not path.parent.is_dir():
            raise InputError(f"{path}: cannot make a store (no such directory: {path.parent})")
        made = not path.exists()
        if not made and not path.is_file():  # a device (/dev/null), a pipe: SQLite would
            # write its journal beside it
            raise InputError(f"{path}: not an iamgen store (not a regular file)")
        _check_writable(path)
        try:
            connection = sqlite3.connect(path, timeout=busy_seconds, isolation_level=None)
        except sqlite3.Error as exc:
            raise InputError(f"{path}: cannot open the store ({exc})") from None
        store = cls(path, connection)
        try:
            with store._errors():
                store._check_or_create(busy_seconds, create)
        except InputError as exc:
            connection.close()
            if made and "busy" not in str(exc):  # (busy: another run may be making it)
                _remove_unmade(path)
            raise
        except BaseException:
            connection.close()
            raise
        return store

    def _check_or_create(self, busy_seconds: float, create: bool) -> None:
        db = self._db
        try:
            application, version = self._identity()
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc) or "encrypted" in str(exc):
                raise InputError(f"{self.path}: not an iamgen store (not an SQLite "
                                 "database)") from None
            raise
        if application == 0 and version == 0:
            with self.transaction():
                application, version = self._identity()  # another process may have made it
                if application == 0 and version == 0:
                    if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                        raise InputError(f"{self.path}: not an iamgen store (an SQLite "
                                         "database of something else)")
                    if not create:  # store info, prune...: an empty file is left as it is
                        raise InputError(f"{self.path}: not a store yet (empty; a run "
                                         "with --store makes it one)")
                    for statement in (*_SCHEMA.split(";\n"), _SYNTHESES):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                   [("created_by", f"iamgen {__version__}"),
                                    ("created_at", datetime.now(UTC).isoformat())])
                    application, version = APPLICATION_ID, SCHEMA_VERSION
        # Checked before any pragma that writes: another program's database
        # (application id 0 and a version of its own, say) is left as it was.
        if application != APPLICATION_ID:
            raise InputError(f"{self.path}: not an iamgen store (an SQLite database of "
                             "something else)")
        if version > SCHEMA_VERSION:
            raise InputError(f"{self.path}: the store was written by a newer iamgen (format "
                             f"{version}; this one reads {SCHEMA_VERSION}): upgrade iamgen")
        if version != SCHEMA_VERSION:
            raise InputError(f"{self.path}: the store's format {version} is no longer read: "
                             "remove the file to start a new store")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise InputError(f"{self.path}: the store cannot be used in WAL mode ({mode}): "
                             "is it on a network file system?")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute(f"PRAGMA busy_timeout = {int(busy_seconds * 1000)}")
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                          "name = 'syntheses'").fetchone():
            with self.transaction():
                db.execute(_SYNTHESES)

    def _identity(self) -> tuple[int, int]:
        db = self._db
        application = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        return int(application), int(version)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors as one-line InputErrors naming the store."""
        if os.getpid() != self._pid:  # SQLite connections must not cross a fork
            raise RuntimeError(f"{self.path}: a store connection was used after a fork")
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise InputError(f"{self.path}: the store is busy: another iamgen run is "
                                 "writing it; try again when that run ends") from None
            raise InputError(f"{self.path}: cannot use the store ({text})") from None
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path}: damaged store ({exc})") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (waits for the write lock, up to the busy timeout)."""
        db = self._db
        with self._errors():
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        with self._errors():
            return self._db.execute(sql, tuple(args)).fetchall()

    # -- reading ----------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """What made the store."""
        return dict(self._query("SELECT key, value FROM meta"))

    def rules_id(self, rules: Rules) -> int:
        """The id of ``rules`` (recorded the first time they are met)."""
        found = self._query("SELECT id FROM rules WHERE fingerprint = ?", (rules.fingerprint,))
        if found:
            return int(found[0][0])
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO rules (fingerprint, iamgen, catalog) "
                       "VALUES (?, ?, ?)", (rules.fingerprint, rules.iamgen, rules.catalog))
            return int(db.execute("SELECT id FROM rules WHERE fingerprint = ?",
                                  (rules.fingerprint,)).fetchone()[0])

    def all_rules(self) -> dict[int, Rules]:
        """Every set of rules results were made under, by id."""
        return {row[0]: Rules(row[2], row[3], row[1]) for row in
                self._query("SELECT id, fingerprint, iamgen, catalog FROM rules")}

    def units(self) -> list[UnitRow]:
        """Every file the store holds."""
        return [UnitRow(row[0], row[1], row[2],
                        None if row[3] is None else (moment_of(row[3]), moment_of(row[4])),
                        moment_of(row[5]))
                for row in self._query("SELECT id, location, version, first_event, "
                                       "last_event, missing_since FROM units")]

    def results(self) -> list[ResultRow]:
        """Every kept result (without its bytes)."""
        return [ResultRow(*row) for row in self._query(
            "SELECT id, unit, way, filters, rules, events FROM results")]

    def aggregates(self) -> list[AggregateRow]:
        """Every aggregate (without its bytes), largest first."""
        out = []
        for row in self._query("SELECT id, rules, CAST(members AS BLOB) FROM aggregates "
                               "ORDER BY size DESC, id DESC"):
            try:
                out.append(AggregateRow(row[0], row[1], tuple(decode_ids(row[2]))))
            except CodecError:  # its members unknown: no run can take it (dead)
                out.append(AggregateRow(row[0], row[1], (), damaged=True))
        return out

    def result_data(self, ids: Iterable[int]) -> Iterator[tuple[int, bytes]]:
        """The bytes of kept results, by id (in no particular order)."""
        for chunk, marks in _chunks(list(ids)):
            # As a BLOB whatever was stored: bytes that hold no result are a damaged store.
            yield from self._query(f"SELECT id, CAST(data AS BLOB) FROM results "
                                   f"WHERE id IN ({marks})", chunk)

    def aggregate_data(self, aggregate: int) -> bytes | None:
        """The bytes of one aggregate (None: another run has dropped it)."""
        found = self._query("SELECT CAST(data AS BLOB) FROM aggregates WHERE id = ?",
                            (aggregate,))
        return bytes(found[0][0]) if found else None

    def syntheses(self, keys: Iterable[bytes]) -> dict[bytes, bytes]:
        """The kept syntheses of ``keys`` that the store holds, as bytes."""
        found: dict[bytes, bytes] = {}
        for chunk, marks in _chunks(sorted(keys)):
            # As a BLOB whatever was stored: bytes that hold no synthesis are made again.
            found.update((bytes(key), bytes(data)) for key, data in self._query(
                f"SELECT key, CAST(data AS BLOB) FROM syntheses WHERE key IN ({marks})", chunk))
        return found

    # -- writing ----------------------------------------------------------------

    def put_results(self, rules: int, results: list[PendingResult]) -> list[int]:
        """Keep files' results in one transaction, each with its file's
        marker: a file first met, or met with another version (its older
        results go), is recorded with its version and (for a whole read) its
        span; the whole result a result ``replaces`` goes. The results' ids."""
        ids = []
        with self.transaction() as db:
            for kept in results:
                found = db.execute("SELECT id, version FROM units WHERE location = ?",
                                   (kept.location,)).fetchone()
                span = kept.span
                first, last = (None, None) if span is None else (micros(span[0]),
                                                                 micros(span[1]))
                if found is None:
                    unit = db.execute("INSERT INTO units (location, version, first_event, "
                                      "last_event) VALUES (?, ?, ?, ?)",
                                      (kept.location, kept.version, first, last)).lastrowid
                else:
                    unit = found[0]
                    if found[1] != kept.version:
                        db.execute("DELETE FROM results WHERE unit = ?", (unit,))
                    elif kept.replaces is not None:
                        db.execute("DELETE FROM results WHERE unit = ? AND way = 'whole' AND "
                                   "filters = ?", (unit, kept.replaces))
                    if found[1] != kept.version or kept.way == "whole":
                        db.execute("UPDATE units SET version = ?, first_event = ?, "
                                   "last_event = ?, missing_since = NULL WHERE id = ?",
                                   (kept.version, first, last, unit))
                ids.append(int(db.execute(
                    "INSERT OR REPLACE INTO results (unit, way, filters, rules, events, outcomes, "
                    "size, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (unit, kept.way, kept.filters, rules, kept.events, kept.outcomes,
                     kept.size, kept.data)).lastrowid))
        return ids

    def put_aggregate(self, rules: int, members: list[int], data: bytes) -> int:
        """Keep results already merged, with the ids of the results they hold;
        the aggregate's id."""
        with self.transaction() as db:
            made = db.execute("INSERT INTO aggregates (rules, size, members, data) "
                              "VALUES (?, ?, ?, ?)",
                              (rules, len(members), encode_ids(members), data)).lastrowid
        return int(made)  # type: ignore[arg-type]  # an INSERT's rowid

    def delete_results(self, ids: Iterable[int]) -> None:
        """Forget results (the aggregates holding them are dead from then on)."""
        wanted = [(i,) for i in ids]
        if wanted:
            with self.transaction() as db:
                db.executemany("DELETE FROM results WHERE id = ?", wanted)

    def delete_aggregates(self, ids: Iterable[int]) -> None:
        """Forget aggregates (some result they hold has gone, or is stale)."""
        wanted = [(i,) for i in ids]
        if wanted:
            with self.transaction() as db:
                db.executemany("DELETE FROM aggregates WHERE id = ?", wanted)

    def mark_missing(self, gone: Iterable[int], back: Iterable[int], when: datetime) -> None:
        """Note that files were found ``gone`` from their source (at ``when``,
        unless already noted), and that files noted so are ``back``."""
        gone_rows = [(micros(when), unit) for unit in gone]
        back_rows = [(unit,) for unit in back]
        if gone_rows or back_rows:
            with self.transaction() as db:
                db.executemany("UPDATE units SET missing_since = ? WHERE id = ? AND "
                               "missing_since IS NULL", gone_rows)
                db.executemany("UPDATE units SET missing_since = NULL WHERE id = ?", back_rows)

    def delete_units(self, units: Iterable[int]) -> None:
        """Forget files, their results, and the aggregates holding any of them
        (and any whose list of results cannot be read: an aggregate only
        merges results kept on their own, so nothing is lost)."""
        wanted = sorted(set(units))
        if not wanted:
            return
        with self.transaction() as db:
            gone: set[int] = set()
            for chunk, marks in _chunks(wanted):
                gone.update(row[0] for row in db.execute(
                    f"SELECT id FROM results WHERE unit IN ({marks})", chunk))
                db.execute(f"DELETE FROM units WHERE id IN ({marks})", chunk)  # results: cascade
            for aggregate, members in db.execute("SELECT id, members FROM aggregates"
                                                 ).fetchall():
                try:
                    held = set(decode_ids(members))
                except CodecError:
                    held = gone
                if gone & held:
                    db.execute("DELETE FROM aggregates WHERE id = ?", (aggregate,))

    def put_syntheses(self, made: dict[bytes, bytes], taken: Iterable[bytes], when: datetime,
                      forget_before: datetime) -> None:
        """Keep syntheses ``made`` and note that those ``taken`` were used, both
        ``when``; forget those last used before ``forget_before``. One transaction."""
        used = micros(when)
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO syntheses (key, used, data) VALUES (?, ?, ?)",
                           [(key, used, data) for key, data in sorted(made.items())])
            db.executemany("UPDATE syntheses SET used = ? WHERE key = ?",
                           [(used, key) for key in sorted(taken)])
            db.execute("DELETE FROM syntheses WHERE used < ?", (micros(forget_before),))

    def vacuum(self) -> None:
        """Give the space of what was deleted back to the file system."""
        with self._errors():
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def check(self) -> str:
        """SQLite's own check of the file ("ok" when sound)."""
        return "; ".join(str(row[0]) for row in self._query("PRAGMA quick_check"))

    def sizes(self) -> dict[str, int]:
        """Counts and byte sizes for ``store info``."""
        out: dict[str, int] = {}
        for name, sql in (
            ("units", "SELECT count(*) FROM units"),
            ("results", "SELECT count(*) FROM results"),
            ("result_bytes", "SELECT coalesce(sum(length(data)), 0) FROM results"),
            ("outcomes", "SELECT coalesce(sum(outcomes), 0) FROM results"),
            # each file's bytes once (its results agree on them)
            ("trail_bytes", "SELECT coalesce(sum(size), 0) FROM "
                            "(SELECT max(size) AS size FROM results GROUP BY unit)"),
            ("aggregates", "SELECT count(*) FROM aggregates"),
            ("aggregate_bytes", "SELECT coalesce(sum(length(data)), 0) FROM aggregates"),
            ("syntheses", "SELECT count(*) FROM syntheses"),
            ("synthesis_bytes", "SELECT coalesce(sum(length(data)), 0) FROM syntheses"),
            ("page_size", "PRAGMA page_size"),
            ("pages", "PRAGMA page_count"),
            ("free_pages", "PRAGMA freelist_count"),
        ):
            out[name] = int(self._query(sql)[0][0])
        return out


def store_path(path: str | Path) -> Path:
    """``path`` as a Path; InputError when it is text ending in a slash (a
    folder's path, which Path() would make a file's)."""
    if isinstance(path, str) and path.endswith(("/", os.sep)):
        raise InputError(f"{path}: not an iamgen store (a directory's path)")
    return Path(path)


def _remove_unmade(path: Path) -> None:
    """Remove the file a failed open made at ``path`` (a full disk leaves an
    empty one), unless something is in it or another run is writing it
    (an SQLite journal or WAL file beside it)."""
    try:
        if path.stat().st_size == 0 and not any(
                path.with_name(path.name + end).exists() for end in ("-journal", "-wal")):
            path.unlink()
    except OSError:
        pass


def _check_writable(path: Path) -> None:
    """InputError unless the store, its folder and SQLite's files beside it
    (``-wal``, ``-shm``) can be written: SQLite would otherwise make those
    files read-only like the store, or fail later with an unclear message."""
    for beside in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if beside.exists() and not os.access(beside, os.W_OK):
            raise InputError(f"{path}: the store cannot be written ({beside.name} is "
                             "read-only): iamgen writes what it reads to it")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise InputError(f"{path}: the store cannot be written (its folder is read-only; "
                         "SQLite keeps its -wal and -shm files beside it)")


def _chunks(ids: list[Any]) -> Iterator[tuple[list[Any], str]]:
    """``ids`` (or keys) a few hundred at a time, each run with its ``?`` marks (SQLite
    limits the parameters of one statement)."""
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        yield chunk, ",".join("?" * len(chunk))
