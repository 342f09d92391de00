"""Bytes of one trail file -> CloudTrail records, whatever shape they came in.

Shapes: ``{"Records": [...]}`` (S3 delivery, gzipped or plain), ``aws cloudtrail
lookup-events`` output (``Events[].CloudTrailEvent`` JSON strings), JSON Lines
(CloudTrail Lake / Athena exports), a JSON array of records, or one record.
Never raises: problems come back as :class:`BadInput` items.

S3-delivered files also have a fast path (:func:`decode_delivery_typed`):
typed records of only the fields the scan reads (the rest is skipped), used
by :mod:`iamgen.scanning.scan` with the generic decoder as its fallback.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from ..user_json import LONE_SURROGATE, holds_lone_surrogate, may_hold_surrogate

try:  # python-isal inflates gzip faster than zlib (about 1.5x here); optional.
    from isal import igzip as _gzip
    from isal.isal_zlib import error as _isal_error
    # a damaged stream: zlib's error, or isal's (which derives from Exception only)
    INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, _isal_error)
except ImportError:  # pragma: no cover - depends on the install
    import gzip as _gzip  # type: ignore[no-redef]
    INFLATE_ERRORS = (zlib.error,)

_msgspec_decode = msgspec.json.decode


def gzip_reader() -> str:
    """Which library inflates gzip here, with its version (its errors read
    differently): ``isal 1.9.1`` or ``zlib 1.3``."""
    if _gzip.__name__.startswith("isal"):
        from isal import __version__ as isal_version  # the module imported above
        return f"isal {isal_version}"
    return f"zlib {zlib.ZLIB_RUNTIME_VERSION}"

# What decoding JSON raises for text that holds no value it can give: bad
# syntax, or nesting deeper than the decoder recurses.
UNDECODABLE: tuple[type[Exception], ...] = (msgspec.DecodeError, RecursionError)
json_encode = msgspec.json.encode


class LoneSurrogate(msgspec.DecodeError):
    """JSON text that holds a ``\\u`` escape that is no character (a lone
    UTF-16 surrogate, ``"\\ud800"``), which no report could be written in.
    ``value`` is what the text holds, as the standard library reads it, so a
    file of records can still give those that hold none."""

    def __init__(self, value: Any) -> None:
        super().__init__(LONE_SURROGATE)
        self.value = value


def json_decode(text: bytes | str | Raw) -> Any:
    """JSON text as msgspec decodes it; one holding a number out of msgspec's
    range (``1e999``, an integer of thousands of digits) as the standard
    library reads it instead (infinity, a float), so a record holding one
    reads alike whichever path or memo reads it (and as DuckDB reads it).
    Raises one of :data:`UNDECODABLE` for text that is no JSON:
    :class:`LoneSurrogate` for JSON that holds a lone surrogate."""
    try:
        return _msgspec_decode(text)
    except msgspec.ValidationError:  # out of range: the only way valid JSON fails here
        plain = bytes(text) if isinstance(text, Raw) else text
        value = _standard_decode(plain)
        if may_hold_surrogate(plain) and holds_lone_surrogate(value):
            raise LoneSurrogate(value) from None
        return value
    except msgspec.DecodeError as refused:
        # msgspec refuses a lone surrogate as "Input data was truncated" (or
        # "invalid utf-16 surrogate pair"): say what it is instead.
        plain = bytes(text) if isinstance(text, Raw) else text
        if not may_hold_surrogate(plain):
            raise
        try:
            value = _standard_decode(plain)
        except msgspec.DecodeError:
            raise refused from None
        if not holds_lone_surrogate(value):
            raise refused from None
        raise LoneSurrogate(value) from None


def _standard_decode(text: bytes | str) -> Any:
    """JSON text as the standard library reads it, with no ``NaN`` or
    ``Infinity`` (which JSON has not); ``msgspec.DecodeError`` when it is
    no JSON (or RecursionError)."""
    try:
        return json.loads(text, parse_int=_int_or_float, parse_constant=_no_constant)
    except ValueError as exc:
        raise msgspec.DecodeError(str(exc)) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is no JSON value")


def _int_or_float(digits: str) -> int | float:
    """An integer as JSON writes it; one of more digits than ``int()`` reads, a float."""
    return int(digits) if len(digits) < 4000 else float(digits)


@dataclass(frozen=True, slots=True)
class BadInput:
    """A file or record that could not be used: reason code and one-line detail."""

    reason: str
    detail: str
    index: int | None = None


def decompress(data: bytes) -> bytes:
    """Gunzip when the bytes are gzip; otherwise return them unchanged, but
    for a leading UTF-8 byte order mark (some Windows tools write one; JSON
    text has none), which is dropped.

    Raises ``EOFError``/``OSError``/``zlib.error`` for a damaged gzip stream
    (whichever library inflates it).
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = _gzip.decompress(data)
        except INFLATE_ERRORS as exc:  # (isal's error as zlib's: every caller catches that)
            raise zlib.error(str(exc)) from None
    return data[3:] if data[:3] == _BOM else data


_BOM = b"\xef\xbb\xbf"


def iter_records(data: bytes) -> Iterator[tuple[int, Any] | BadInput]:
    """Yield ``(index, record)`` for each record, or a BadInput item."""
    try:
        text = decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        yield BadInput("unreadable_file", f"damaged gzip data ({exc})")
        return
    yield from iter_text_records(text)


def iter_text_records(text: bytes) -> Iterator[tuple[int, Any] | BadInput]:
    """Like :func:`iter_records`, for bytes already decompressed."""
    stripped = text.lstrip()
    if not stripped:
        yield BadInput("not_cloudtrail", "file is empty")
        return
    try:
        document = json_decode(text)
    except LoneSurrogate as exc:  # only the records that hold one are bad
        for item in _document_records(exc.value):
            if not isinstance(item, BadInput) and holds_lone_surrogate(item[1]):
                item = BadInput("invalid_json", f"record holds {LONE_SURROGATE}", item[0])
            yield item
        return
    except UNDECODABLE as exc:
        pieces = split_records(text) if isinstance(exc, RecursionError) else None
        if pieces is not None:  # nested too deeply somewhere: only there is bad
            yield from _pieces_records(pieces)
        elif _looks_like_json_lines(stripped):
            yield from _json_lines(text)
        else:
            yield BadInput("invalid_json", f"invalid JSON ({exc})")
        return
    yield from _document_records(document)


# A JSON string (escapes included; possessive, so a string never closed is
# scanned once), a quote that opens one never closed, or a bracket or comma.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*+"|["\[\]{},]')
_RECORDS_KEY = re.compile(rb'\s*:\s*\[')


def split_records(text: bytes) -> list[bytes] | None:
    """Each record's JSON text, told apart without decoding it, in a
    ``{"Records": [...]}`` document (its last ``Records``, as a decoder takes
    it) or a JSON array: for a document no decoder reads whole (a record
    nested deeper than they go). None when the text is no such single
    document: a string never closed, brackets that do not balance, a comma
    with no record after it, or anything after the document."""
    body = text.strip()
    if body[:1] not in (b"[", b"{"):
        return None
    array = body[:1] == b"["
    level = 1 if array else 2  # the depth inside the records' array
    pieces: list[bytes] | None = None
    current: list[bytes] | None = None  # while inside the records' array
    start, key_next, records_next = 0, False, False
    opened: list[bytes] = []  # the closing marks of the brackets open, innermost last
    for token in _TOKEN.finditer(body):
        found = token.group()
        mark = found[:1]
        if mark == b'"':
            if len(found) == 1:
                return None  # a string never closed
            if len(opened) == 1 and key_next:
                records_next = (found == b'"Records"'
                                and _RECORDS_KEY.match(body, token.end()) is not None)
                key_next = False
            continue
        if mark in b"[{":
            opened.append(b"]" if mark == b"[" else b"}")
            if len(opened) == level and (array or records_next):
                current, start = [], token.end()
            key_next = len(opened) == 1 and mark == b"{"
            records_next = False
        elif mark in b"]}":
            if current is not None and len(opened) == level:
                piece = body[start:token.start()].strip()
                if piece:
                    current.append(piece)
                elif current:
                    return None  # a comma with no record after it
                pieces, current = current, None
            if opened.pop() != mark:
                return None  # a bracket closed by the other kind
            if not opened:
                return pieces if token.end() == len(body) else None
        elif current is not None and len(opened) == level:  # a comma between records
            piece = body[start:token.start()].strip()
            if not piece:
                return None
            current.append(piece)
            start = token.end()
        elif len(opened) == 1:
            key_next = True
    return None


def _pieces_records(pieces: list[bytes]) -> Iterator[tuple[int, Any] | BadInput]:
    """Each record of :func:`split_records`'s pieces, decoded alone: one
    that cannot be is bad, the others count."""
    for index, piece in enumerate(pieces):
        try:
            yield index, json_decode(piece)
        except LoneSurrogate:
            yield BadInput("invalid_json", f"record holds {LONE_SURROGATE}", index)
        except UNDECODABLE as exc:
            yield BadInput("invalid_json", f"invalid JSON ({exc})", index)


def _looks_like_json_lines(text: bytes) -> bool:
    """Whether ``text`` is lines of JSON objects, by its first line that a
    decoder can read (one nested too deeply is a bad line, not no lines)."""
    newline = text.find(b"\n")
    if newline < 0 or _NON_SPACE.search(text, newline + 1) is None:  # one line: no lines
        return False
    for line in _lines(text):  # lazily: the first line read decides, not the whole file
        if not line.strip():
            continue
        try:
            return isinstance(json_decode(line), dict)
        except LoneSurrogate as exc:  # a record no report can hold: still a line of records
            return isinstance(exc.value, dict)
        except RecursionError:
            continue
        except UNDECODABLE:
            return False
    return False


_NON_SPACE = re.compile(rb"\S")


def _lines(text: bytes) -> Iterator[bytes]:
    """The lines of ``text`` (at LF; a CR before it is whitespace to JSON), one by one."""
    at = 0
    while at < len(text):
        end = text.find(b"\n", at)
        end = len(text) if end < 0 else end
        yield text[at:end]
        at = end + 1


def _document_records(document: Any) -> Iterator[tuple[int, Any] | BadInput]:
    if isinstance(document, dict):
        if isinstance(document.get("Records"), list):
            yield from enumerate(document["Records"])
        elif isinstance(document.get("Events"), list):
            yield from _lookup_events(document["Events"])
        elif "eventName" in document or "eventVersion" in document:
            yield 0, document
        else:
            yield BadInput("not_cloudtrail", "JSON document is not CloudTrail (no Records or Events)")
    elif isinstance(document, list):
        yield from enumerate(document)
    else:
        yield BadInput("not_cloudtrail", "JSON document is not CloudTrail")


def _lookup_events(events: list[Any]) -> Iterator[tuple[int, Any] | BadInput]:
    for index, event in enumerate(events):
        raw = event.get("CloudTrailEvent") if isinstance(event, dict) else None
        if not isinstance(raw, str):
            yield BadInput("not_cloudtrail", "lookup event without CloudTrailEvent", index)
            continue
        try:
            yield index, json_decode(raw)
        except UNDECODABLE as exc:
            yield BadInput("invalid_json", f"CloudTrailEvent is not valid JSON ({exc})", index)


def _json_lines(text: bytes) -> Iterator[tuple[int, Any] | BadInput]:
    index = -1
    for line in text.splitlines():
        if not line.strip():
            continue
        index += 1
        try:
            record = json_decode(line)
        except UNDECODABLE as exc:
            yield BadInput("invalid_json", f"invalid JSON line ({exc})", index)
            continue
        if isinstance(record, dict) and isinstance(record.get("CloudTrailEvent"), str):
            try:
                record = json_decode(record["CloudTrailEvent"])
            except UNDECODABLE as exc:
                yield BadInput("invalid_json", f"CloudTrailEvent is not valid JSON ({exc})", index)
                continue
        yield index, record


# -- the fast path: S3-delivered files decoded into typed records -------------


class TlsDetails(Struct, gc=False):
    """The part of a record's ``tlsDetails`` the scan reads."""

    tlsVersion: str | None | UnsetType = UNSET


class DeliveredRecord(Struct, gc=False):
    """The top-level fields of a CloudTrail record that the scan reads.

    The fields read on every record are typed; ``userIdentity`` and the
    request, response and ``resources`` stay :class:`msgspec.Raw` (undecoded
    JSON) until asked for. Every other field is skipped undecoded (that is
    most of a record's bytes): what reads a record through the scanner's fast
    path reads these fields and gets the whole record decoded before reading
    any other. Missing fields are ``UNSET``; a field of another type (an
    ``eventName`` that is a number) makes the record not fit, and it takes the
    generic path. It holds only strings and undecoded bytes, so it cannot be
    part of a reference cycle and is kept out of the garbage collector's way
    (``gc=False``).
    Fields: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
    """

    eventTime: str | None | UnsetType = UNSET
    eventSource: str | None | UnsetType = UNSET
    eventName: str | None | UnsetType = UNSET
    awsRegion: str | None | UnsetType = UNSET
    errorCode: str | None | UnsetType = UNSET
    recipientAccountId: str | None | UnsetType = UNSET
    eventType: str | None | UnsetType = UNSET
    eventID: str | None | UnsetType = UNSET
    vpcEndpointId: str | None | UnsetType = UNSET
    userIdentity: Raw = UNSET  # type: ignore[assignment]
    requestParameters: Raw = UNSET  # type: ignore[assignment]
    responseElements: Raw = UNSET  # type: ignore[assignment]
    resources: Raw = UNSET  # type: ignore[assignment]
    tlsDetails: TlsDetails | None | UnsetType = UNSET


class _Delivery(Struct):
    Records: list[Raw]


class _TypedDelivery(Struct):
    Records: list[DeliveredRecord]


_delivery_decoder = msgspec.json.Decoder(_Delivery)
_typed_delivery_decoder = msgspec.json.Decoder(_TypedDelivery)
_record_decoder = msgspec.json.Decoder(DeliveredRecord)


def decode_delivery_typed(text: bytes) -> list[DeliveredRecord] | None:
    """Every record of a ``{"Records": [...]}`` file, typed, in one pass; None
    when any record does not fit (see :func:`decode_delivery`)."""
    try:
        return _typed_delivery_decoder.decode(text).Records
    except UNDECODABLE:
        return None


def decode_delivery(text: bytes) -> list[Raw] | None:
    """Each record's exact JSON in a ``{"Records": [...]}`` file; None when the
    file is anything else (another shape, bad JSON), for the generic decoder
    to handle and report."""
    try:
        return _delivery_decoder.decode(text).Records
    except UNDECODABLE:
        return None


def decode_typed(raw: Raw) -> DeliveredRecord | None:
    """One record, typed; None when it has an unknown field or an odd type."""
    try:
        return _record_decoder.decode(raw)
    except UNDECODABLE:
        return None


def decode_json_lines_typed(text: bytes) -> tuple[list[DeliveredRecord], list[bytes]] | None:
    """Every record of a JSON Lines file (CloudTrail Lake, Athena), typed, with
    each record's line; None unless the generic decoder would read the file
    as JSON Lines and every line fits the typed shape."""
    stripped = text.lstrip()
    if not _looks_like_json_lines(stripped):
        return None
    try:
        json_decode(text)
    except UNDECODABLE:
        pass
    else:
        return None  # one JSON document, not lines
    lines = [line for line in text.splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(_record_decoder.decode(line))
        except UNDECODABLE:
            return None
    return records, lines
