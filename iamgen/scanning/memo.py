"""Memo tables for the scanner, and memo keys that hold only what a resolution read.

A call's resolution is a pure function of its :class:`~iamgen.mapping.call.Call`,
so the exact JSON of the call's fields is always a correct memo key. It is
also a wasteful one: a KMS ``Decrypt`` names a new S3 object in its
encryption context on every call, a DynamoDB ``GetItem`` a new item key,
and neither changes the permission.

:class:`Shape` keys a call on less. The resolver is run on request
parameters (and response elements) wrapped in
:class:`~iamgen.scanning.reads.TrackedObject`, which notes every member it
reads and every whole-object use of a known kind (ARN-valued members, role
ARNs at any depth, a member's name in any case). A shape (one per
eventSource and eventName) keeps the members that any such note could
depend on, with the number of members, and drops the rest. A resolution is
remembered under a shape only if the shape covers everything that run
noted; otherwise the shape grows to cover it (a new shape, with a new serial
in every key). Two calls with equal keys under a shape then agree on
everything the remembered run looked at, and a pure resolver looks at the
same things and answers the same for both. The shape is learned, not
declared: a resolver that starts reading more stays exact, only its keys
grow.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from msgspec import UNSET

from ..mapping.reads import ARN_VALUES, ROLE_WALK
from .reads import seen

_members = msgspec.json.Decoder(dict[str, msgspec.Raw])
_serials = itertools.count()


class Memo:
    """A bounded memo table: two generations; when the young one is full the
    old one is dropped, so entries still in use survive (they move up)."""

    __slots__ = ("_limit", "_old", "young")

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit // 2)
        self.young: dict[Any, Any] = {}
        self._old: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        """The value remembered for ``key``, or None."""
        found = self.young.get(key)
        if found is None and self._old:
            found = self._old.pop(key, None)
            if found is not None:
                self.put(key, found)
        return found

    def put(self, key: Any, value: Any) -> None:
        """Remember ``value`` (not None) for ``key``."""
        if len(self.young) >= self._limit:
            self._old = self.young
            self.young = {}
        self.young[key] = value

    def __len__(self) -> int:
        return len(self.young) + len(self._old)

    @property
    def limit(self) -> int:
        """How many entries the table holds at most."""
        return 2 * self._limit


def _maybe_arn(value: bytes) -> bool:
    """Whether a member's JSON may be an ARN string or a list (which may hold ARNs)."""
    head = value[:1]
    return head == b"[" or value.startswith(b'"arn:') or (head == b'"' and b"\\" in value)


def _maybe_role(name: str, value: bytes) -> bool:
    """Whether a member may hold a role ARN under a key naming a role, at any depth."""
    if "role" in name.lower():
        return True
    return value[:1] in (b"{", b"[") and (b"role" in value.lower() or b"\\" in value)


class _Side:
    """Which members of one object (the request, or the response) a shape keeps."""

    __slots__ = ("any_case", "arn_values", "names", "role_walk", "whole")

    def __init__(self, names: frozenset[Any] = frozenset(), any_case: frozenset[str] = frozenset(),
                 arn_values: bool = False, role_walk: bool = False, whole: bool = False) -> None:
        self.names = names
        self.any_case = any_case
        self.arn_values = arn_values
        self.role_walk = role_walk
        self.whole = whole

    def key(self, raw: Any) -> Any:
        """The object's part of a memo key: its exact JSON (``bytes``), or
        ``(number of members, ((name, JSON), ...))`` for the members kept."""
        if raw is UNSET:
            return UNSET
        data = bytes(raw)
        if self.whole or data[:1] != b"{":
            return data
        try:
            members = _members.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return data
        if len(members) <= 1:  # one member may be a wrapper the resolver opens
            return data
        names, any_case = self.names, self.any_case
        arn_values, role_walk = self.arn_values, self.role_walk
        kept = []
        for name, member in members.items():
            value = bytes(member)
            if (name in names
                    or (any_case and name.lower() in any_case)
                    or (arn_values and _maybe_arn(value))
                    or (role_walk and _maybe_role(name, value))):
                kept.append((name, value))
        return (len(members), tuple(kept))

    def covers(self, seen: Iterable[Any]) -> bool:
        """Whether every note in ``seen`` is about members this side keeps."""
        for note in seen:
            if note.__class__ is str:
                if note not in self.names:
                    return False
            elif note == ARN_VALUES:
                if not self.arn_values:
                    return False
            elif note == ROLE_WALK:
                if not self.role_walk:
                    return False
            elif note.__class__ is tuple and len(note) == 2 and note[0] == "any_case":
                if note[1] not in self.any_case:
                    return False
            else:  # ALL, or a read of a member whose name is not a string
                return False
        return True

    def grown(self, seen: Iterable[Any]) -> _Side:
        """A side that keeps what this one does and covers ``seen`` too."""
        names, any_case = set(self.names), set(self.any_case)
        arn_values, role_walk, whole = self.arn_values, self.role_walk, self.whole
        for note in seen:
            if note.__class__ is str:
                names.add(note)
            elif note == ARN_VALUES:
                arn_values = True
            elif note == ROLE_WALK:
                role_walk = True
            elif note.__class__ is tuple and len(note) == 2 and note[0] == "any_case":
                any_case.add(note[1])
            else:
                whole = True
        return _Side(frozenset(names), frozenset(any_case), arn_values, role_walk, whole)


class Shape:
    """What the memo key of one kind of call keeps of its request and response."""

    __slots__ = ("hits", "request", "response", "serial", "tries")

    def __init__(self, request: _Side | None = None, response: _Side | None = None) -> None:
        self.request = request or _Side()
        self.response = response or _Side()
        self.serial = next(_serials)
        self.tries = 0  # look-ups under this kind of call's keys (any shape of it)
        self.hits = 0

    def key(self, request_raw: Any, response_raw: Any) -> tuple[int, Any, Any]:
        """This shape's key for a call's request and response JSON (or UNSET)."""
        return (self.serial, self.request.key(request_raw), self.response.key(response_raw))

    def covers(self, key: tuple[int, Any, Any], request_seen: Iterable[Any],
               response_seen: Iterable[Any]) -> bool:
        """Whether ``key`` (from :meth:`key`) holds everything a run noted."""
        _, request, response = key
        return ((_whole(request) or self.request.covers(request_seen))
                and (_whole(response) or self.response.covers(response_seen)))

    def grown(self, request_seen: Iterable[Any], response_seen: Iterable[Any]) -> Shape:
        """A new shape covering this one and the notes of one more run."""
        shape = Shape(self.request.grown(request_seen), self.response.grown(response_seen))
        shape.tries, shape.hits = self.tries, self.hits
        return shape


def _whole(part: Any) -> bool:
    """Whether a side's key part is the object's whole JSON (or its absence)."""
    return part.__class__ is bytes or part is UNSET


# The shaped table is asked for a kind of call (eventSource, eventName) until
# it has been asked SHAPE_TRIAL times and found less than one in
# SHAPE_HIT_RATE: keeping what a resolution read then costs more than it saves.
SHAPE_TRIAL = 256
SHAPE_HIT_RATE = 64


class ShapedMemo:
    """Resolutions remembered under only what resolving read: one
    :class:`Shape` per kind of call, learned as calls are resolved.

    :meth:`get` answers from the table, or asks ``resolve`` and remembers
    the answer under the key of a shape that covers what that run noted.
    Kinds of call whose keys (almost) never repeat (each GetObject names a
    new object) soon stop being remembered: ``resolve`` is then asked
    untracked.
    """

    def __init__(self, limit: int) -> None:
        self._shapes: dict[tuple[str, str], Shape] = {}
        self._table = Memo(limit)

    def forget(self) -> None:
        """Drop the remembered values (the shapes learned stay)."""
        self._table = Memo(self._table.limit)

    def shape_of(self, kind: tuple[str, str]) -> Shape | None:
        """The shape learned for a kind of call (None: not asked yet)."""
        return self._shapes.get(kind)

    def get(self, kind: tuple[str, str], head: Any, request_raw: Any, response_raw: Any,
            resolve: Callable[[bool], tuple[Any, Any, Any]]) -> Any:
        """The value remembered for a call of ``kind`` whose other fields are
        ``head`` and whose request and response JSON are ``*_raw`` (or UNSET),
        else ``resolve(tracked)`` -> (value, request, response): tracked, the
        request and response it was given are
        :class:`~iamgen.scanning.reads.TrackedObject` (or not objects)."""
        shape = self._shapes.get(kind)
        if shape is None:
            shape = self._shapes[kind] = Shape()
        if shape.tries > SHAPE_TRIAL and shape.hits * SHAPE_HIT_RATE < shape.tries:
            return resolve(False)[0]
        shape.tries += 1
        shaped = shape.key(request_raw, response_raw)
        value = self._table.get((head, shaped))
        if value is not None:
            shape.hits += 1
            return value
        value, request, response = resolve(True)
        request_seen, response_seen = seen(request), seen(response)
        if not shape.covers(shaped, request_seen, response_seen):
            shape = self._shapes[kind] = shape.grown(request_seen, response_seen)
            shaped = shape.key(request_raw, response_raw)
        self._table.put((head, shaped), value)
        return value
