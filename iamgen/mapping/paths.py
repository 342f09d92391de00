"""The path language of the rule data: dotted paths into request and response objects."""

from __future__ import annotations

from typing import Any


def values_at(data: Any, path: str) -> list[Any]:
    """The values at a dotted path; ``[]`` after a key walks every list item.

    ``values_at(p, "instancesSet.items[].instanceId")`` -> every instance id.
    Never raises: wrong types yield no values.
    """
    current: list[Any] = [data]
    for step in path.split("."):
        many = step.endswith("[]")
        key = step[:-2] if many else step
        found: list[Any] = []
        for node in current:
            if not isinstance(node, dict):
                continue
            value = node.get(key)
            if value is None:
                continue
            if many:
                if isinstance(value, list):
                    found.extend(v for v in value if v is not None)
                else:
                    found.append(value)
            else:
                found.append(value)
        current = found
        if not current:
            return []
    return current
