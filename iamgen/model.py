"""Plain, frozen data handed between pipeline stages.

Every stage takes and returns these objects; none of them carries I/O,
networkx internals or mutable state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class PrincipalKind(StrEnum):
    """The IAM identities iamgen writes policies for."""

    ROLE = "role"
    USER = "user"
    ROOT = "root"


@dataclass(frozen=True, slots=True, order=True)
class Principal:
    """An IAM role, user or root identity, keyed by its canonical IAM ARN.

    For roles and users the ARN carries the path when CloudTrail logged it
    (``arn:aws:iam::123456789012:role/service-role/Name``).
    """

    arn: str
    kind: PrincipalKind

    @property
    def account(self) -> str:
        """The 12-digit account id in the ARN."""
        return self.arn.split(":")[4]

    @property
    def name(self) -> str:
        """The role or user name, without its path."""
        if self.kind is PrincipalKind.ROOT:
            return "root"
        return self.arn.rsplit("/", 1)[-1]

    @property
    def partition(self) -> str:
        """aws, aws-cn or aws-us-gov."""
        return self.arn.split(":")[1]


@dataclass(frozen=True, slots=True, order=True)
class Condition:
    """One condition clause: ``{operator: {key: values}}`` in policy JSON."""

    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True, order=True)
class Permission:
    """One IAM action on one resource, with the conditions iamgen derived.

    ``action`` is spelled as in the catalog (``s3:GetObject``); ``resource``
    is an ARN, or ``"*"`` when the action takes no resource or none could be
    determined.
    """

    action: str
    resource: str
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Resolution:
    """What one CloudTrail record needed, and why iamgen thinks so.

    ``permissions`` is empty when the call needs no identity-policy grant
    (``no_grant`` then says why) or could not be resolved (``unresolved``).
    ``rules`` names the catalog match or data entries that decided it, for
    ``iamgen explain``. ``unknown_resource`` lists actions whose resource
    should exist but could not be determined, so fell back to ``"*"``.
    """

    permissions: tuple[Permission, ...] = ()
    rules: tuple[str, ...] = ()
    no_grant: str | None = None
    unresolved: bool = False
    unknown_resource: tuple[str, ...] = ()
    # Ids other records refer to (``data/correlations.toml``): (kind, id,
    # resources) this call announces, and (kind, id) whose announced resources
    # its permissions on "*" wait for.
    announces: tuple[str, str, tuple[str, ...]] | None = None
    awaits: tuple[str, str] | None = None


DENIED_CODES = frozenset(
    {
        "accessdenied",
        "accessdeniedexception",
        "allaccessdisabled",
        "client.unauthorizedoperation",
        "unauthorizedoperation",
        "unauthorizedaccess",
        "authorizationerror",
        "authorizationerrorexception",
        "forbidden",
        "forbiddenexception",
        "unauthorizedexception",
    }
)


def in_utc(moment: datetime) -> datetime | None:
    """``moment`` in UTC (one without a zone taken as UTC); None when its
    offset takes it past the years a date holds (0001-01-01T00:30+01:00)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def is_access_denied(error_code: str) -> bool:
    """Whether an ``errorCode`` means the caller lacked a permission."""
    return error_code.lower() in DENIED_CODES


@dataclass(frozen=True, slots=True)
class Usage:
    """Everything observed for one (principal, permission, outcome)."""

    principal: Principal
    permission: Permission
    denied: bool
    count: int
    first_seen: datetime
    last_seen: datetime
    regions: tuple[str, ...]
    # What the calls' records prove about their requests (MFA, VPC endpoint,
    # TLS, SSE headers, guardrail: ``iamgen.mapping.facts``): sorted
    # (fact, value, count), value "" where a call lacked the fact, and
    # MANY_VALUES for every call of a fact seen with more than
    # MAX_VALUES_PER_FACT values (no condition names that many).
    context: tuple[tuple[str, str, int], ...] = ()
    example_event_id: str = ""  # the eventID of the earliest call (ties: the smallest)


MAX_VALUES_PER_FACT = 16
MANY_VALUES = "(many)"


@dataclass(frozen=True, slots=True)
class Evidence:
    """How often something was seen in the trail, when, and one record of it."""

    count: int
    first_seen: datetime
    last_seen: datetime
    example_event_id: str


def usage_key(principal: Principal, permission: Permission, denied: bool
              ) -> tuple[str, str, str, str, tuple[Condition, ...], bool]:
    """What usages are told apart and sorted by: (principal ARN, principal kind,
    action, resource, conditions, denied), as plain values (they hash and
    compare faster than the dataclasses)."""
    return (principal.arn, principal.kind, permission.action, permission.resource,
            permission.conditions, denied)


class SortedUsages(tuple[Usage, ...]):
    """Usages sorted by (principal ARN, principal kind, action, resource,
    conditions, denied), each of those once: as ``ScanResult.usages()`` gives
    them, so the access graph need not sort them again."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, order=True)
class Statement:
    """One policy statement. Empty tuples mean the element is absent."""

    effect: str = "Allow"
    actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    sid: str = ""


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """An IAM policy document."""

    statements: tuple[Statement, ...]
    version: str = "2012-10-17"


@dataclass(frozen=True, slots=True)
class Window:
    """The time span a run was asked to read (either bound may be open)."""

    since: datetime | None = None
    until: datetime | None = None

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside the window (bounds inclusive)."""
        if self.since is not None and moment < self.since:
            return False
        if self.until is not None and moment > self.until:
            return False
        return True


@dataclass(frozen=True, slots=True)
class Filters:
    """Which records a run reads."""

    window: Window = field(default_factory=Window)
    accounts: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()

    def rejects(self, moment: datetime, region: str, account: Callable[[], str | None]
                ) -> str | None:
        """Why a record at ``moment`` in ``region`` is not read (its skip
        reason), or None when it is; ``account()`` is asked only when needed."""
        if not self.window.contains(moment):
            return "outside_window"
        if self.regions and region not in self.regions:
            return "other_region"
        if self.accounts and account() not in self.accounts:
            return "other_account"
        return None


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a generated policy came from; rendered into every output file.

    Holds no wall-clock time, so the same input gives byte-identical output.
    """

    principal: Principal
    first_event: datetime | None
    last_event: datetime | None
    events: int
    catalog_version: str
    iamgen_version: str
