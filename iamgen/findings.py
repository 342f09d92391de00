"""What ``iamgen diff`` finds for one principal: frozen dataclasses, no logic
beyond a few derived properties.

Each finding carries a stable code; :func:`finding_catalog` explains the
codes (title, description, severity) from ``data/diff_findings.toml``, so
code emits codes and rendering explains them. :mod:`iamgen.diff` makes these,
:mod:`iamgen.review` ranks them, :mod:`iamgen.render.report` renders them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources

from .grants.model import Grants
from .model import Permission, PolicyDocument, Principal

# --- the finding catalog -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class FindingKind:
    """A finding code's title, description and severity."""

    code: str
    severity: str
    title: str
    description: str


@cache
def finding_catalog() -> dict[str, FindingKind]:
    """Code -> its explanation, from ``data/diff_findings.toml``."""
    text = resources.files("iamgen.data").joinpath("diff_findings.toml").read_text("utf-8")
    return {
        raw["code"]: FindingKind(raw["code"], raw["severity"], raw["title"], raw["description"])
        for raw in tomllib.loads(text)["finding"]
    }


# --- findings ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class GrantRef:
    """A statement that grants an action: which policy, which statement, how.

    ``statement`` is the 0-based index in the policy; ``pattern`` the Action
    entry that names the action (``NotAction`` for an Allow with NotAction);
    ``resources`` the statement's Resource (or NotResource, in
    ``not_resources``); ``conditional`` whether the statement has a Condition.
    """

    policy: str
    kind: str
    policy_arn: str
    statement: int
    sid: str
    pattern: str
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditional: bool = False


@dataclass(frozen=True, slots=True)
class UsedFinding:
    """An observed successful call and how the current grants treat it."""

    code: str
    permission: Permission
    count: int
    first_seen: datetime
    last_seen: datetime
    regions: tuple[str, ...]
    grants: tuple[GrantRef, ...] = ()


@dataclass(frozen=True, slots=True)
class DeniedFinding:
    """Calls AWS refused, and whether the current grants would allow them."""

    permission: Permission
    count: int
    first_seen: datetime
    last_seen: datetime
    regions: tuple[str, ...]
    now: str
    grants: tuple[GrantRef, ...] = ()
    code: str = "DENIED"


@dataclass(frozen=True, slots=True)
class UnusedAction:
    """A granted action never used; ``blocked_by`` is set when it is dead text anyway."""

    code: str
    action: str
    access_level: str
    grants: tuple[GrantRef, ...]
    blocked_by: str | None = None

    @property
    def service(self) -> str:
        """The action's service prefix."""
        return self.action.partition(":")[0]


@dataclass(frozen=True, slots=True)
class UnusedService:
    """A service none of whose granted actions was used or attempted."""

    service: str
    removable: tuple[str, ...]
    kept: tuple[str, ...]
    policies: tuple[str, ...]
    code: str = "UNUSED_SERVICE"


@dataclass(frozen=True, slots=True)
class NotObservableFinding:
    """A granted, unobserved action the logs cannot judge: kept."""

    action: str
    reason: str
    visibility: str
    note: str
    source: str
    grants: tuple[GrantRef, ...]
    code: str = "NOT_OBSERVABLE"


@dataclass(frozen=True, slots=True, order=True)
class StatementUse:
    """How much of one Allow statement was used: the reviewer's unit of change.

    Counts are of distinct actions the statement names. ``verdict`` is
    ``delete`` when nothing it grants was used, attempted or must be kept;
    ``narrow`` when some of it is removable; ``keep`` otherwise.
    """

    policy: str
    statement: int
    sid: str
    granted: int
    used: int
    removable: int
    kept: int
    denied: int

    @property
    def verdict(self) -> str:
        """``delete``, ``narrow`` or ``keep``."""
        if self.removable == 0:
            return "keep"
        if self.used == 0 and self.kept == 0 and self.denied == 0:
            return "delete"
        return "narrow"


@dataclass(frozen=True, slots=True)
class ObservedWindow:
    """The span asked for (``since``/``until``) and the span the trail covered."""

    since: datetime | None = None
    until: datetime | None = None
    first_event: datetime | None = None
    last_event: datetime | None = None

    @property
    def days(self) -> float | None:
        """Days between the first and last event of the trail, or None."""
        if self.first_event is None or self.last_event is None:
            return None
        return (self.last_event - self.first_event).total_seconds() / 86400


@dataclass(frozen=True, slots=True)
class Proposal:
    """The proposed replacement policy and what it keeps."""

    documents: tuple[PolicyDocument, ...]
    sizes: tuple[int, ...]
    actions: tuple[str, ...]
    kept_not_observable: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    """The numbers a reviewer reads first (actions are distinct catalog names)."""

    granted_actions: int
    granted_services: int
    used_actions: int
    used_services: int
    removable_actions: int
    removable_services: int
    ineffective_actions: int
    not_observable_actions: int
    denied_actions: int
    used_not_granted_actions: int
    proposed_actions: int
    removed_actions: int

    @property
    def removed_share(self) -> float:
        """Share of granted actions the proposed policy no longer grants (0..1)."""
        return self.removed_actions / self.granted_actions if self.granted_actions else 0.0


@dataclass(frozen=True, slots=True)
class DiffResult:
    """Everything ``iamgen diff`` reports for one principal."""

    principal: Principal
    grants: Grants
    window: ObservedWindow
    used_granted: tuple[UsedFinding, ...]
    used_not_granted: tuple[UsedFinding, ...]
    denied: tuple[DeniedFinding, ...]
    unused_services: tuple[UnusedService, ...]
    unused_actions: tuple[UnusedAction, ...]
    not_observable: tuple[NotObservableFinding, ...]
    proposal: Proposal | None
    summary: Summary
    recorded_data_events: tuple[str, ...] = ()
    unrecorded_data_events: tuple[str, ...] = ()
    # "group:read" or "group:write": the half of a recorded group with no event
    # (a trail's selectors record reads and writes apart)
    unrecorded_halves: tuple[str, ...] = ()
    statements: tuple[StatementUse, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def removable(self) -> bool:
        """Whether any grant can be removed (the ``--fail-on-unused`` test)."""
        return bool(self.unused_actions)
