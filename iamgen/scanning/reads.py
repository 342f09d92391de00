"""Read tracking: which parts of a JSON object a resolution depended on.

:class:`TrackedObject` is a real dict that notes every member read (present
or not) and every whole-object use. The scanner wraps the request and
response of a call in it before resolving (so :mod:`.memo` can key the
resolution on only what was read), and the record around a ``userIdentity``
before deciding its principal (so the principal is memoized only when it
depended on ``userIdentity`` alone). Mapping code names its deliberate
whole-object uses through :data:`NOTE_TAKER` (:mod:`iamgen.mapping.reads`);
any other whole use notes :data:`~iamgen.mapping.reads.ALL`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..mapping.reads import ALL


class TrackedObject(dict[str, Any]):
    """A JSON object that notes how it is read, in ``seen``: member names,
    and kinds of whole-object use (:mod:`iamgen.mapping.reads`).

    ``counted``: the member count is part of the memo key already, so
    ``len()`` is not a whole use. It may start partial: ``complete`` then
    gives the whole object, and is called (once) before any read of a member
    that is neither held nor listed in ``absent``, and before any whole use,
    so every answer is exact. It refuses changes: resolving is pure.
    """

    __slots__ = ("_absent", "_complete", "counted", "seen")

    def __init__(self, data: Mapping[str, Any], *, counted: bool = True,
                 complete: Callable[[], dict[str, Any]] | None = None,
                 absent: frozenset[str] = frozenset()) -> None:
        super().__init__(data)
        self.seen: set[Any] = set()
        self.counted = counted
        self._complete = complete
        self._absent = absent

    @property
    def opaque(self) -> bool:
        """Whether some use depended on the whole object."""
        return ALL in self.seen

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self._read(key)
        return dict.get(self, key, default)

    def __getitem__(self, key: str) -> Any:
        self._read(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        self._read(key)
        return dict.__contains__(self, key)

    def __len__(self) -> int:
        if not self.counted:
            self._all()
        return dict.__len__(self)

    def whole(self, kind: Any) -> dict[str, Any]:
        """A plain copy, for a whole-object use of kind ``kind``."""
        self.seen.add(kind)
        self._fill()
        return dict(dict.items(self))

    def _read(self, key: object) -> None:
        self.seen.add(key)
        if self._complete is not None and not dict.__contains__(self, key) \
                and key not in self._absent:
            self._fill()

    def _fill(self) -> None:
        complete, self._complete = self._complete, None
        if complete is None:
            return
        held = dict(dict.items(self))
        dict.clear(self)
        for key, value in complete().items():
            dict.__setitem__(self, key, held.get(key, value))

    def _all(self) -> dict[str, Any]:
        return self.whole(ALL)

    def __iter__(self) -> Any:
        return iter(self._all())

    def keys(self) -> Any:  # type: ignore[override]
        return self._all().keys()

    def values(self) -> Any:  # type: ignore[override]
        return self._all().values()

    def items(self) -> Any:  # type: ignore[override]
        return self._all().items()

    def copy(self) -> dict[str, Any]:
        return self._all()

    def __eq__(self, other: object) -> bool:
        return self._all() == other

    def __ne__(self, other: object) -> bool:
        return self._all() != other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._all())

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self._all().__reduce_ex__(protocol)

    def __or__(self, other: Any) -> Any:
        return self._all() | other

    def __ror__(self, other: Any) -> Any:
        return other | self._all()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a record is read-only while resolving")

    __setitem__ = __delitem__ = __ior__ = _refuse
    pop = popitem = setdefault = update = clear = _refuse  # type: ignore[assignment]


class _NoteTaker:
    """The scanner's :class:`~iamgen.mapping.reads.ReadTracker`: a whole-object
    use of a tracked object is noted under its kind."""

    def whole(self, data: Mapping[str, Any], kind: Any) -> Mapping[str, Any]:
        return data.whole(kind) if data.__class__ is TrackedObject else data  # type: ignore[attr-defined]


NOTE_TAKER = _NoteTaker()


def seen(data: Any) -> Any:
    """What was noted of a request or response (nothing for a non-object)."""
    return data.seen if data.__class__ is TrackedObject else ()
