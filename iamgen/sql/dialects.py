"""The few things Athena (Trino) and DuckDB spell differently, each written once.

The aggregation query (:mod:`.query`) is one definition; wherever the two
engines differ it asks a :class:`Dialect` for the fragment. Everything else
(CASE, IN, LIKE, ``||``, count/min/max, substr, coalesce) is the same text in
both. ``tests/test_sql_query.py`` parses each rendering with sqlglot in its
own dialect, and the DuckDB rendering is run against the file path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

# What decides whether a member of a JSON object is kept: SQL of (the
# member's name, the member's JSON text) -> a boolean expression.
MemberTest = Callable[[str, str], str]
_IS_ARN = "a LIKE 'arn:%'"


def string(text: str) -> str:
    """A SQL string literal (both engines double a quote inside one)."""
    return "'" + text.replace("'", "''") + "'"


def strings(texts: list[str] | tuple[str, ...] | frozenset[str]) -> str:
    """A parenthesized list of string literals, sorted (for ``IN``)."""
    return "(" + ", ".join(string(t) for t in sorted(texts)) + ")"


# An eventTime the file path reads (datetime.fromisoformat after a strip and
# a space for the T): a date, then optionally a time and a zone. Both engines
# are stricter or looser than Python elsewhere, so only this shape is parsed.
# Years from 0001, hours 00-23, minutes and seconds 00-59 and offsets under a
# day, as Python has them (DuckDB also reads year 0, hour 24 and offsets of a
# day or more). No look-ahead: DuckDB's RE2 has none.
ISO_TIME = (r"^(000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?)?"
            r"(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?$")


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one engine spells the fragments the query needs.

    ``time_width``: the length of :meth:`sortable_time`'s text, a UTC time
    of fixed width, so that text order is time order (``min(t || id)`` then
    gives the earliest event's id, ties going to the smallest).
    """

    name: str  # also the sqlglot dialect the text parses in
    time_width: int

    # -- functions with other names or argument forms -------------------------

    def lambda1(self, param: str, body: str) -> str:
        """A one-argument lambda."""
        raise NotImplementedError

    def regexp_matches(self, text: str, pattern: str) -> str:
        """Whether ``pattern`` (RE2/Java common subset) matches part of ``text``."""
        raise NotImplementedError

    def regexp_replace(self, text: str, pattern: str, group: int) -> str:
        """``text`` with a match of ``pattern`` replaced by its capture ``group``."""
        raise NotImplementedError

    def sortable_time(self, text: str) -> str:
        """``text`` (an eventTime) as ``YYYY-MM-DDTHH:MM:SS.fff...`` in UTC,
        :attr:`time_width` characters, or NULL when it is no ISO time or lies
        outside the years 1 to 9999 once in UTC (as a file's reading skips it)."""
        raise NotImplementedError

    def json_string_array(self, items: list[str]) -> str:
        """A JSON array (as varchar) of varchar expressions; NULL becomes null."""
        raise NotImplementedError

    def json_counts(self, values: str) -> str:
        """An aggregate: how often each non-NULL value of ``values`` (varchar)
        occurs, as a JSON object (varchar); NULL when all are NULL."""
        raise NotImplementedError

    def arn_list(self, resources: str) -> str:
        """The ``arn`` of each item of a ``resources`` array (of structs) that
        is an ARN, in order, as a JSON array (varchar)."""
        raise NotImplementedError

    def json_object_map(self, text: str) -> str:
        """A JSON object's text as a map of member name to member JSON; NULL
        when ``text`` is NULL, not JSON, or not an object."""
        raise NotImplementedError

    def map_single_key(self, members: str) -> str:
        """The one key of a map known to hold exactly one."""
        raise NotImplementedError

    def map_single_value_text(self, members: str) -> str:
        """The JSON text of the one value of a map known to hold exactly one."""
        raise NotImplementedError

    def filtered_json_object(self, members: str, keep: MemberTest) -> str:
        """The members of a map (from :meth:`json_object_map`) that ``keep``
        accepts, as JSON object text."""
        raise NotImplementedError

    def time_text(self, moment: datetime) -> str:
        """A literal of ``moment`` as :meth:`sortable_time` writes it."""
        utc = moment.astimezone(UTC)
        text = utc.strftime("%Y-%m-%dT%H:%M:%S.%f")
        return string(text[: self.time_width])


class _Trino(Dialect):
    def lambda1(self, param: str, body: str) -> str:
        return f"({param}) -> {body}"

    def regexp_matches(self, text: str, pattern: str) -> str:
        return f"regexp_like({text}, {string(pattern)})"

    def regexp_replace(self, text: str, pattern: str, group: int) -> str:
        return f"regexp_replace({text}, {string(pattern)}, {string(f'${group}')})"

    def sortable_time(self, text: str) -> str:
        trimmed = f"trim({text})"
        utc = f"try(from_iso8601_timestamp(replace({trimmed}, ' ', 'T'))) AT TIME ZONE 'UTC'"
        return (f"CASE WHEN {self.regexp_matches(trimmed, ISO_TIME)} AND "
                f"year({utc}) BETWEEN 1 AND 9999 THEN "
                f"format_datetime({utc}, 'yyyy-MM-dd''T''HH:mm:ss.SSS') END")

    def json_string_array(self, items: list[str]) -> str:
        return f"json_format(CAST(ARRAY[{', '.join(items)}] AS JSON))"

    def json_counts(self, values: str) -> str:
        return f"json_format(CAST(histogram({values}) AS JSON))"

    def arn_list(self, resources: str) -> str:
        arns = (f"filter(transform({resources}, {self.lambda1('r', 'r.arn')}), "
                f"{self.lambda1('a', _IS_ARN)})")
        return f"json_format(CAST({arns} AS JSON))"

    def json_object_map(self, text: str) -> str:
        return f"try(CAST(json_parse({text}) AS map(varchar, json)))"

    def map_single_key(self, members: str) -> str:
        return f"element_at(map_keys({members}), 1)"

    def map_single_value_text(self, members: str) -> str:
        return f"json_format(element_at(map_values({members}), 1))"

    def filtered_json_object(self, members: str, keep: MemberTest) -> str:
        kept = f"map_filter({members}, (k, v) -> {keep('k', 'json_format(v)')})"
        return f"json_format(CAST({kept} AS JSON))"


class _DuckDB(Dialect):
    def lambda1(self, param: str, body: str) -> str:
        return f"lambda {param}: {body}"

    def regexp_matches(self, text: str, pattern: str) -> str:
        return f"regexp_matches({text}, {string(pattern)})"

    def regexp_replace(self, text: str, pattern: str, group: int) -> str:
        return f"regexp_replace({text}, {string(pattern)}, {string(chr(92) + str(group))})"

    def sortable_time(self, text: str) -> str:
        trimmed = f"trim({text})"
        utc = f"TRY_CAST({trimmed} AS TIMESTAMPTZ) AT TIME ZONE 'UTC'"
        return (f"CASE WHEN {self.regexp_matches(trimmed, ISO_TIME)} AND "
                f"year({utc}) BETWEEN 1 AND 9999 THEN "
                f"strftime({utc}, '%Y-%m-%dT%H:%M:%S.%f') END")

    def json_string_array(self, items: list[str]) -> str:
        return f"CAST(to_json([{', '.join(f'CAST({i} AS VARCHAR)' for i in items)}]) AS VARCHAR)"

    def json_counts(self, values: str) -> str:
        return f"CAST(to_json(histogram({values})) AS VARCHAR)"

    def arn_list(self, resources: str) -> str:
        arns = (f"list_filter(list_transform({resources}, {self.lambda1('r', 'r.arn')}), "
                f"{self.lambda1('a', _IS_ARN)})")
        return f"CAST(to_json({arns}) AS VARCHAR)"

    def json_object_map(self, text: str) -> str:
        return f"TRY_CAST(TRY_CAST({text} AS JSON) AS MAP(VARCHAR, JSON))"

    def map_single_key(self, members: str) -> str:
        return f"map_keys({members})[1]"

    def map_single_value_text(self, members: str) -> str:
        return f"CAST(map_values({members})[1] AS VARCHAR)"

    def filtered_json_object(self, members: str, keep: MemberTest) -> str:
        test = keep("e.key", "CAST(e.value AS VARCHAR)")
        kept = f"list_filter(map_entries({members}), lambda e: {test})"
        return f"CAST(to_json(map_from_entries({kept})) AS VARCHAR)"


TRINO: Dialect = _Trino("trino", 23)
"""Amazon Athena (engine version 3 is Trino)."""

DUCKDB: Dialect = _DuckDB("duckdb", 26)
"""DuckDB, embedded."""
