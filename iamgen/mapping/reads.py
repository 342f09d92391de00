"""The one thing mapping code says about how it reads a request: whole-object uses.

Resolving reads named members of a call's request and response objects
(``params.get("bucketName")``), and a few uses of a whole object: every
top-level value that is an ARN, role ARNs under keys naming a role at any
depth, the members whose name is X in any case. Such a use goes through
:meth:`ReadTracker.whole`, naming its kind. Plain resolution passes
:data:`NO_TRACKING`; the scanner passes a tracker that remembers what each
resolution depended on (:mod:`iamgen.scanning.reads`). Mapping code never
needs to know which it got.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# The kinds of whole-object use.
ARN_VALUES = ("arn_values",)  # every top-level value that is an ARN (or a list)
ROLE_WALK = ("role_walk",)  # role ARNs under keys naming a role, at any depth
ALL = ("all",)  # anything else: the whole object


def any_case(name: str) -> tuple[str, str]:
    """The kind of a look-up of the members whose name is ``name`` in any case."""
    return ("any_case", name.lower())


class ReadTracker(Protocol):
    """Hears of every whole-object use a resolution makes."""

    def whole(self, data: Mapping[str, Any], kind: Any) -> Mapping[str, Any]:
        """``data`` for a use of kind ``kind`` of the whole object (a plain mapping)."""
        ...


class _NoTracking:
    """A tracker that does nothing: ``data`` as it is."""

    def whole(self, data: Mapping[str, Any], kind: Any) -> Mapping[str, Any]:
        return data


NO_TRACKING: ReadTracker = _NoTracking()
