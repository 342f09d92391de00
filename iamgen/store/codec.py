"""Results as bytes, and back, deflated: a file's as its outcomes
(:class:`~iamgen.scanning.outcomes.UnitOutcomes`), an aggregate's as rows
(:class:`~iamgen.scanning.tally.ResultRows`, MessagePack through msgspec).

Decoding is typed: bytes that are not a result in this format (a damaged or
foreign store) raise :class:`CodecError`, never something half-read. Deflate
is python-isal's where it is installed (about eight times zlib's speed here,
twice for inflating), else zlib's; both write and read the same zlib streams.

Measured on the 1M-event bench trail: a file (780 events, 560 tallied
outcomes) packs into about 250 KB of MessagePack and deflates to 33 KB in
0.2 ms; a file's result kept as rows instead cost about 1.5 ms to make and
encode, which put a first run with a store 40% over one without. An
aggregate decodes at about 4 µs a usage, most of it the calls per fact of
each usage (dicts keyed by tuples): those are decoded when first read
(:class:`KeptFacts`), which a run that leaves out the request context never
does (a rerun of ``suggest``: 0.15-0.25 s of 0.3-0.4 s to decode).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, NamedTuple, get_type_hints, overload

import msgspec

from ..errors import InputError
from ..sources.decode import INFLATE_ERRORS
from ..scanning.outcomes import UnitOutcomes
from ..scanning.tally import ResultRows

try:  # python-isal deflates about 8x faster than zlib at level 1, inflates ~2x; optional.
    from isal import isal_zlib as _deflate
except ImportError:  # pragma: no cover - depends on the install
    _deflate = zlib  # type: ignore[assignment,unused-ignore]

LEVEL = 1  # deflate level: level 2 or 3 keep 2% less, for more time

# ResultRows as encoded, its calls-per-fact tables left as they are (KeptFacts).
_LazyRows = NamedTuple("_LazyRows", [  # type: ignore[misc]
    (name, msgspec.Raw if name == "facts" else kind)
    for name, kind in get_type_hints(ResultRows).items()])
_DECODER = msgspec.msgpack.Decoder(_LazyRows)
_FACTS = msgspec.msgpack.Decoder(list[dict[tuple[str, str], int]])
_IDS = msgspec.msgpack.Decoder(list[int])


class CodecError(ValueError):
    """Bytes that do not hold what they should."""


def damaged_store(where: object, detail: object) -> InputError:
    """The error for a store whose kept bytes do not hold a result."""
    return InputError(f"{where}: damaged store (a result cannot be read: {detail}); "
                      "`iamgen store rebuild` reads its files again")


class KeptFacts(Sequence[dict[tuple[str, str], int]]):
    """A kept result's calls-per-(fact, value) tables (``ResultRows.facts``),
    decoded when first read; bytes that do not hold them are then a
    :func:`damaged_store` at ``where``."""

    __slots__ = ("_raw", "_tables", "_where")

    def __init__(self, raw: msgspec.Raw, where: object) -> None:
        # A copy: the Raw holds the whole decompressed aggregate in memory.
        self._raw: bytes | None = bytes(raw)
        self._tables: list[dict[tuple[str, str], int]] = []
        self._where = where

    def _decoded(self) -> list[dict[tuple[str, str], int]]:
        if self._raw is not None:
            try:
                self._tables = _FACTS.decode(self._raw)
            except (msgspec.DecodeError, ValueError, TypeError) as exc:
                raise damaged_store(self._where, exc) from None
            self._raw = None
        return self._tables

    @overload
    def __getitem__(self, index: int) -> dict[tuple[str, str], int]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[tuple[str, str], int]]: ...

    def __getitem__(self, index: Any) -> Any:
        return self._decoded()[index]

    def __len__(self) -> int:
        return len(self._decoded())


def _plain(value: Any) -> Any:
    if isinstance(value, KeptFacts):
        return list(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


_ENCODER = msgspec.msgpack.Encoder(enc_hook=_plain)


def encode(rows: ResultRows) -> bytes:
    """A result's rows as bytes."""
    return deflate(_ENCODER.encode(rows))


def decode(blob: bytes, where: object = "store") -> ResultRows:
    """The rows :func:`encode` made ``blob`` of (kept in a store at
    ``where``); their facts are :class:`KeptFacts`."""
    try:
        lazy = _DECODER.decode(_deflate.decompress(blob))
    except (*INFLATE_ERRORS, msgspec.DecodeError, ValueError, TypeError) as exc:
        raise CodecError(str(exc)) from None
    return ResultRows(*lazy._replace(facts=KeptFacts(lazy.facts, where)))


def encode_unit(unit: UnitOutcomes) -> bytes:
    """A file's outcomes as bytes."""
    return deflate(unit.data)


def decode_unit(blob: bytes) -> UnitOutcomes:
    """The outcomes :func:`encode_unit` made ``blob`` of (only inflated here:
    outcomes that are not a file's are found when read,
    :class:`~iamgen.scanning.tally.DamagedRows`)."""
    return UnitOutcomes.unpack(inflate(blob))


def deflate(raw: bytes) -> bytes:
    """Bytes deflated as every kept blob is."""
    return _deflate.compress(raw, LEVEL)


def inflate(blob: bytes) -> bytes:
    """The bytes :func:`deflate` made ``blob`` of (CodecError: it made none)."""
    try:
        return _deflate.decompress(blob)
    except INFLATE_ERRORS as exc:
        raise CodecError(str(exc)) from None


def encode_ids(ids: list[int]) -> bytes:
    """A sorted list of ids as bytes."""
    return _ENCODER.encode(sorted(ids))


def decode_ids(blob: bytes) -> list[int]:
    """The ids :func:`encode_ids` made ``blob`` of."""
    try:
        return _IDS.decode(blob)
    except (msgspec.DecodeError, ValueError, TypeError) as exc:
        raise CodecError(str(exc)) from None
