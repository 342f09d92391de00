"""Which permissions a trail may not show: ``data/not_observable.toml``.

Loaded lazily (never at import), one entry per reason, each with its note and
AWS source. :func:`blind_spots` resolves the entries against the catalog to a
table from action (lower-cased) to the reason it cannot be judged.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from ..catalog import Catalog


class Visibility(StrEnum):
    """Why CloudTrail may not show a permission's use."""

    NEVER_LOGGED = "never_logged"
    DATA_EVENT = "data_event"
    INDIRECT = "indirect"


@dataclass(frozen=True, slots=True)
class BlindSpot:
    """One entry of ``not_observable.toml``."""

    id: str
    visibility: Visibility
    actions: tuple[str, ...]
    note: str
    source: str
    service: str | None = None
    resource_types: tuple[str, ...] = ()
    trail_resource_types: tuple[str, ...] = ()

    def resolve(self, catalog: Catalog) -> tuple[str, ...]:
        """Every catalog action the entry covers (catalog spelling, sorted)."""
        found = set()
        for name in self.actions:
            info = catalog.action(name)
            found.add(info.full_name if info is not None else name)
        if self.service and self.resource_types:
            wanted = {r.lower() for r in self.resource_types}
            found.update(info.full_name for info in catalog.actions_of(self.service)
                         if any(r.name.lower() in wanted for r in info.resource_types))
        return tuple(sorted(found))


def _entry(raw: Mapping[str, Any], visibility: Visibility) -> BlindSpot:
    return BlindSpot(
        id=str(raw["id"]),
        visibility=visibility,
        actions=tuple(str(a) for a in raw.get("actions", [])),
        note=str(raw["note"]),
        source=str(raw["source"]),
        service=str(raw["service"]) if "service" in raw else None,
        resource_types=tuple(str(r) for r in raw.get("resource_types", [])),
        trail_resource_types=tuple(str(r) for r in raw.get("trail_resource_types", [])),
    )


@cache
def load_blind_spots() -> tuple[BlindSpot, ...]:
    """Every entry of the shipped ``not_observable.toml``, in file order."""
    text = resources.files("iamgen.data").joinpath("not_observable.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return tuple(_entry(raw, visibility) for visibility in Visibility
                 for raw in data.get(visibility.value, []))


def blind_spots(catalog: Catalog,
                entries: Iterable[BlindSpot] | None = None) -> dict[str, BlindSpot]:
    """Action (lower-cased) -> the first entry that covers it."""
    table: dict[str, BlindSpot] = {}
    for entry in entries if entries is not None else load_blind_spots():
        for action in entry.resolve(catalog):
            table.setdefault(action.lower(), entry)
    return table


READ_LEVELS = frozenset({"read", "list"})  # catalog access levels that only read


def data_event_kind(action: str, catalog: Catalog) -> str:
    """``read`` or ``write``: the half of a data-event group a trail records
    apart (an event selector's ReadWriteType, CloudTrail's ``readOnly``): an
    action of access level Read or List is a read, any other (or one the
    catalog does not know) a write."""
    info = catalog.action(action)
    level = info.access_level.lower() if info is not None else ""
    return "read" if level in READ_LEVELS else "write"


def data_event_halves(table: Mapping[str, BlindSpot], catalog: Catalog
                      ) -> list[tuple[str, str]]:
    """(group, kind) of every data-event group's halves that hold an action
    (Lambda's invocations are all writes: it has no read half), sorted."""
    return sorted({(spot.id, data_event_kind(action, catalog)) for action, spot in table.items()
                   if spot.visibility is Visibility.DATA_EVENT})


def recorded_kinds(observed_actions: Iterable[str], table: Mapping[str, BlindSpot],
                   catalog: Catalog, derived: Iterable[str] = ()
                   ) -> frozenset[tuple[str, str]]:
    """(group, kind) of the data events the trail provably records (see
    :func:`recorded_groups`), kind by :func:`data_event_kind`: a trail may
    record a group's writes and not its reads, so seeing a ``PutObject``
    proves nothing of ``GetObject``."""
    return frozenset((spot.id, data_event_kind(action, catalog))
                     for action, spot in _data_events_seen(observed_actions, table, derived))


def recorded_groups(observed_actions: Iterable[str], table: Mapping[str, BlindSpot],
                    derived: Iterable[str] = ()) -> frozenset[str]:
    """Data-event groups the trail provably records: one of their actions was
    seen. ``derived`` are actions a call may need besides its own (Bedrock's
    ApplyGuardrail for an InvokeModel through a guardrail): seeing one proves
    nothing of what the trail records, so they never count."""
    return frozenset(spot.id for _, spot in _data_events_seen(observed_actions, table, derived))


def _data_events_seen(observed_actions: Iterable[str], table: Mapping[str, BlindSpot],
                      derived: Iterable[str]) -> Iterator[tuple[str, BlindSpot]]:
    """Each observed action that is a data event, not a derived one, with its entry."""
    passed_over = {action.lower() for action in derived}
    for action in observed_actions:
        spot = table.get(action.lower())
        if (spot is not None and spot.visibility is Visibility.DATA_EVENT
                and action.lower() not in passed_over):
            yield action, spot
