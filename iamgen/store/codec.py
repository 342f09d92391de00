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
each usage (dicts keyed by tuples).
"""

from __future__ import annotations

import zlib

import msgspec

from ..scanning.outcomes import UnitOutcomes
from ..scanning.tally import ResultRows

try:  # python-isal deflates about 8x faster than zlib at level 1, inflates ~2x; optional.
    from isal import isal_zlib as _deflate
    _INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, _deflate.error)
except ImportError:  # pragma: no cover - depends on the install
    _deflate = zlib  # type: ignore[assignment,unused-ignore]
    _INFLATE_ERRORS = (zlib.error,)

LEVEL = 1  # deflate level: level 2 or 3 keep 2% less, for more time

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(ResultRows)
_IDS = msgspec.msgpack.Decoder(list[int])


class CodecError(ValueError):
    """Bytes that do not hold what they should."""


def encode(rows: ResultRows) -> bytes:
    """A result's rows as bytes."""
    return _deflate.compress(_ENCODER.encode(rows), LEVEL)


def decode(blob: bytes) -> ResultRows:
    """The rows :func:`encode` made ``blob`` of."""
    try:
        return _DECODER.decode(_deflate.decompress(blob))
    except (*_INFLATE_ERRORS, msgspec.DecodeError, ValueError, TypeError) as exc:
        raise CodecError(str(exc)) from None


def encode_unit(unit: UnitOutcomes) -> bytes:
    """A file's outcomes as bytes."""
    return _deflate.compress(unit.data, LEVEL)


def decode_unit(blob: bytes) -> UnitOutcomes:
    """The outcomes :func:`encode_unit` made ``blob`` of."""
    try:
        return UnitOutcomes.unpack(_deflate.decompress(blob))
    except (*_INFLATE_ERRORS, ValueError) as exc:
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
