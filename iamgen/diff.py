"""Current grants against observed use: the findings of ``iamgen diff``.

Pure: :func:`diff` takes one principal's usages, its grants and the catalog,
and returns a :class:`DiffResult`. Findings carry stable codes (see
``data/diff_findings.toml``, loaded by :func:`finding_catalog`); rendering
explains them.

What each category means:

* used and granted: a successful call that an identity policy allows today
  (``USED_GRANTED``), or may allow depending on a condition iamgen cannot
  decide (``USED_CONDITIONAL``); each names the granting statements.
* unused: an action an identity policy allows that the principal never
  used, at action level (``UNUSED_ACTION``, or ``INEFFECTIVE_GRANT`` when a
  boundary or Deny blocks it anyway) and at service level (``UNUSED_SERVICE``).
* used, not granted (``USED_NOT_GRANTED``): it succeeded through another path.
* denied (``DENIED``): AccessDenied evidence; never granted.
* not observable (``NOT_OBSERVABLE``): CloudTrail cannot show the use, so
  it is kept and never recommended for removal.

The proposed policy is synthesized from the used-and-granted permissions
plus the not-observable grants as they stand, so applying it never removes a
permission the logs cannot judge and never adds one the principal lacks.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources

from .arn import action_matches, unescape
from .catalog import Catalog, load_catalog
from .errors import PolicyTooLargeError
from .grants.evaluate import Decision, Evaluation, Request, evaluate
from .grants.expand import statement_actions
from .grants.model import GrantedPolicy, Grants
from .grants.observable import BlindSpot, Visibility, blind_spots, recorded_groups
from .model import Permission, PolicyDocument, Principal, Statement, Usage
from .policy import policy_size
from .synth import SynthSettings, synthesize

SHORT_WINDOW_DAYS = 30
"""Below this many days of trail, the diff warns that rare use may be missed."""

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
    statements: tuple[StatementUse, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def removable(self) -> bool:
        """Whether any grant can be removed (the ``--fail-on-unused`` test)."""
        return bool(self.unused_actions)


# --- granted actions -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Granted:
    """Expanded Allow grants: action (lower) -> spelling and the statements granting it."""

    spelling: Mapping[str, str]
    refs: Mapping[str, tuple[GrantRef, ...]]


def _ref(policy: GrantedPolicy, index: int, stmt: Statement, pattern: str) -> GrantRef:
    return GrantRef(
        policy=policy.label,
        kind=policy.kind.value,
        policy_arn=policy.arn or "",
        statement=index,
        sid=stmt.sid,
        pattern=pattern,
        resources=stmt.resources,
        not_resources=stmt.not_resources,
        conditional=bool(stmt.conditions),
    )


def granted_actions(policies: Sequence[GrantedPolicy], catalog: Catalog) -> _Granted:
    """Every action the policies' Allow statements name, with each granting statement."""
    spelling: dict[str, str] = {}
    refs: dict[str, list[GrantRef]] = defaultdict(list)
    for policy in policies:
        for index, stmt in enumerate(policy.document.statements):
            if stmt.effect != "Allow":
                continue
            for action, pattern in statement_actions(stmt, catalog).items():
                key = action.lower()
                spelling.setdefault(key, action)
                refs[key].append(_ref(policy, index, stmt, pattern))
    return _Granted(spelling, {k: tuple(sorted(v)) for k, v in refs.items()})


def _names_action(stmt: Statement, action: str) -> bool:
    if stmt.actions:
        return any(action_matches(p, action) for p in stmt.actions)
    return bool(stmt.not_actions) and not any(action_matches(p, action)
                                              for p in stmt.not_actions)


def _denies_everywhere(stmt: Statement, action: str) -> bool:
    return (stmt.effect == "Deny" and not stmt.conditions and not stmt.not_resources
            and "*" in stmt.resources and _names_action(stmt, action))


def blocked_by(action: str, grants: Grants) -> str | None:
    """``deny`` or ``boundary`` when the action can never be allowed, else None.

    Only certain blocks count: an unconditional Deny on ``"*"``, or a
    boundary with no Allow statement naming the action at all.
    """
    for policy in grants.policies:
        if any(_denies_everywhere(s, action) for s in policy.document.statements):
            return "deny"
    if grants.boundary is not None:
        statements = grants.boundary.document.statements
        if any(_denies_everywhere(s, action) for s in statements):
            return "boundary"
        if not any(s.effect == "Allow" and _names_action(s, action) for s in statements):
            return "boundary"
    return None


# --- evaluation of observed calls ------------------------------------------------

_CONTEXT_OPERATORS = frozenset({"stringequals", "arnequals", "stringequalsignorecase", "bool"})


def request_of(permission: Permission) -> Request:
    """The evaluator's request for an observed permission.

    Conditions iamgen derived with an equality operator become known
    context values; every other key stays unknown.
    """
    context: dict[str, tuple[str, ...]] = {}
    for cond in permission.conditions:
        if cond.operator.lower() in _CONTEXT_OPERATORS:
            context[cond.key] = cond.values
    # The resource is policy text (a literal * in a key is written ${*}); the
    # request names the resource itself.
    return Request(permission.action, unescape(permission.resource), context)


def _refs_for(evaluation: Evaluation, granted: _Granted, action: str) -> tuple[GrantRef, ...]:
    wanted = {(r.policy, r.index) for r in (*evaluation.matched, *evaluation.undecided)
              if r.effect == "Allow" and not r.boundary}
    return tuple(ref for ref in granted.refs.get(action.lower(), ())
                 if (ref.policy, ref.statement) in wanted)


def _decide(permission: Permission, grants: Grants) -> tuple[str, Evaluation]:
    evaluation = evaluate([p.named() for p in grants.policies], request_of(permission),
                          grants.boundary.named() if grants.boundary else None)
    if evaluation.decision is Decision.ALLOW:
        return "USED_GRANTED", evaluation
    if evaluation.decision is Decision.UNKNOWN:
        return "USED_CONDITIONAL", evaluation
    return "USED_NOT_GRANTED", evaluation


# --- the diff --------------------------------------------------------------------


def _spelled(action: str, catalog: Catalog) -> str:
    info = catalog.action(action)
    return info.full_name if info is not None else action


def _kept_statements(kept: Sequence[NotObservableFinding], grants: Grants
                     ) -> tuple[list[Permission], list[Statement]]:
    """Not-observable grants as they stand: permissions to synthesize, and
    statements with NotResource carried over verbatim (one per source statement)."""
    statements = {(p.label, i): s for p in grants.policies
                  for i, s in enumerate(p.document.statements)}
    permissions: list[Permission] = []
    verbatim: dict[tuple[str, int], list[str]] = defaultdict(list)
    for finding in kept:
        for ref in finding.grants:
            stmt = statements[(ref.policy, ref.statement)]
            if stmt.not_resources or not stmt.resources:
                verbatim[(ref.policy, ref.statement)].append(finding.action)
                continue
            permissions.extend(Permission(finding.action, r, stmt.conditions)
                               for r in stmt.resources)
    carried = []
    for number, key in enumerate(sorted(verbatim), start=1):
        stmt = statements[key]
        carried.append(Statement(effect="Allow", actions=tuple(sorted(set(verbatim[key]))),
                                 not_resources=stmt.not_resources, conditions=stmt.conditions,
                                 sid=f"KeepNotObservable{number}"))
    return permissions, carried


def _propose(permissions: Sequence[Permission], kept: Sequence[NotObservableFinding],
             grants: Grants, settings: SynthSettings, catalog: Catalog,
             conditional: int) -> Proposal | None:
    kept_permissions, carried = _kept_statements(kept, grants)
    wanted = [*permissions, *kept_permissions]
    if not wanted and not carried:
        return None
    kept_actions = tuple(sorted({f.action for f in kept}))
    notes: list[str] = []
    documents: tuple[PolicyDocument, ...] = ()
    if wanted:
        try:
            result = synthesize(wanted, settings, catalog)
        except PolicyTooLargeError as exc:
            return Proposal((), (), (), kept_actions, (f"no proposal: {exc}",))
        documents = result.documents
        notes.extend(result.notes)
    if carried:
        documents = (*documents, PolicyDocument(tuple(carried)))
        notes.append(f"{len(carried)} statement(s) with NotResource carried over unchanged "
                     "for not-observable actions, in the last document")
    if conditional:
        notes.append(f"{conditional} used permission(s) are granted today under a condition "
                     "iamgen cannot decide; the proposal grants them on the observed "
                     "resources without it: check before applying")
    actions = sorted({a for doc in documents for s in doc.statements
                      for a in statement_actions(s, catalog)})
    return Proposal(
        documents=documents,
        sizes=tuple(policy_size(d) for d in documents),
        actions=tuple(actions),
        kept_not_observable=kept_actions,
        notes=tuple(notes),
    )


def _resource_unknown(permission: Permission, catalog: Catalog) -> bool:
    """The resolver fell back to "*" for an action that does act on resources."""
    info = catalog.action(permission.action)
    return permission.resource == "*" and info is not None and info.takes_resource


def _on_granted_resources(permission: Permission, refs: Sequence[GrantRef],
                          grants: Grants) -> tuple[list[Permission], list[str]]:
    """A used permission of unknown resource, on the resources its grants name today."""
    statements = {(p.label, i): s for p in grants.policies
                  for i, s in enumerate(p.document.statements)}
    out: list[Permission] = []
    skipped: list[str] = []
    for ref in refs:
        stmt = statements[(ref.policy, ref.statement)]
        if stmt.not_resources or not stmt.resources:
            skipped.append(permission.action)
            continue
        conditions = tuple(sorted({*permission.conditions, *stmt.conditions}))
        out.extend(Permission(permission.action, r, conditions) for r in stmt.resources)
    return out, skipped


def _statement_use(granted: _Granted, used: set[str], attempted: set[str],
                   removable: set[str], kept: set[str]) -> tuple[StatementUse, ...]:
    counts: dict[tuple[str, int], dict[str, int]] = {}
    sids: dict[tuple[str, int], str] = {}
    for key, refs in granted.refs.items():
        for ref in refs:
            where = (ref.policy, ref.statement)
            sids[where] = ref.sid
            tally = counts.setdefault(where, dict.fromkeys(
                ("granted", "used", "removable", "kept", "denied"), 0))
            tally["granted"] += 1
            tally["used"] += key in used
            tally["removable"] += key in removable
            tally["kept"] += key in kept
            tally["denied"] += key in attempted
    return tuple(StatementUse(policy, index, sids[(policy, index)], **tally)
                 for (policy, index), tally in sorted(counts.items()))


def diff(
    principal: Principal,
    usages: Iterable[Usage],
    grants: Grants,
    *,
    trail_actions: Iterable[str] = (),
    window: ObservedWindow = ObservedWindow(),
    settings: SynthSettings | None = None,
    catalog: Catalog | None = None,
    blind: Mapping[str, BlindSpot] | None = None,
) -> DiffResult:
    """Compare ``principal``'s observed use with its current ``grants``.

    ``usages`` may include other principals' usages (they are ignored).
    ``trail_actions`` are every action observed in the trail by anyone: they
    show which data-event groups the trail records. ``blind`` overrides the
    shipped not-observable table (for tests).
    """
    catalog = catalog if catalog is not None else load_catalog()
    settings = settings if settings is not None else SynthSettings()
    table = blind if blind is not None else blind_spots(catalog)
    mine = sorted((u for u in usages if u.principal == principal),
                  key=lambda u: (u.permission, u.denied))
    granted = granted_actions(grants.policies, catalog)

    used: list[UsedFinding] = []
    not_granted: list[UsedFinding] = []
    denied: list[DeniedFinding] = []
    used_actions: set[str] = set()
    attempted: set[str] = set()
    proposal_permissions: list[Permission] = []
    unknown_resource: set[str] = set()
    for usage in mine:
        action = _spelled(usage.permission.action, catalog)
        permission = Permission(action, usage.permission.resource, usage.permission.conditions)
        code, evaluation = _decide(permission, grants)
        refs = _refs_for(evaluation, granted, action)
        if usage.denied:
            attempted.add(action.lower())
            denied.append(DeniedFinding(permission, usage.count, usage.first_seen,
                                        usage.last_seen, usage.regions,
                                        evaluation.decision.value, refs))
            continue
        used_actions.add(action.lower())
        unknown = _resource_unknown(permission, catalog) and code == "USED_NOT_GRANTED"
        if unknown and granted.refs.get(action.lower()):
            # The trail did not say which resource: any statement naming the action may be
            # the one that allowed it. Keep those statements' resources, never widen to "*".
            code, refs = "USED_CONDITIONAL", granted.refs[action.lower()]
            carried, skipped = _on_granted_resources(permission, refs, grants)
            proposal_permissions.extend(carried)
            unknown_resource.update(skipped)
        finding = UsedFinding(code, permission, usage.count, usage.first_seen, usage.last_seen,
                              usage.regions, refs)
        if code == "USED_NOT_GRANTED":
            not_granted.append(finding)
        else:
            used.append(finding)
            if not unknown:
                proposal_permissions.append(permission)

    observed = {*(a.lower() for a in trail_actions), *used_actions, *attempted}
    recorded = recorded_groups(observed, table)
    unused: list[UnusedAction] = []
    keep: list[NotObservableFinding] = []
    for key in sorted(granted.spelling):
        if key in used_actions or key in attempted:
            continue
        action = granted.spelling[key]
        refs = granted.refs[key]
        spot = table.get(key)
        block = blocked_by(action, grants)  # blocked everywhere: dead text, observable or not
        if block is None and spot is not None and (
                spot.visibility is not Visibility.DATA_EVENT or spot.id not in recorded):
            keep.append(NotObservableFinding(action, spot.id, spot.visibility.value, spot.note,
                                             spot.source, refs))
            continue
        info = catalog.action(action)
        unused.append(UnusedAction("INEFFECTIVE_GRANT" if block else "UNUSED_ACTION", action,
                                   info.access_level if info else "unknown", refs, block))

    touched = {k.partition(":")[0] for k in (*used_actions, *attempted)}
    by_service: dict[str, list[str]] = defaultdict(list)
    for key in granted.spelling:
        by_service[key.partition(":")[0]].append(key)
    services: list[UnusedService] = []
    unused_keys = {u.action.lower() for u in unused}
    keep_keys = {k.action.lower() for k in keep}
    for service in sorted(by_service):
        if service in touched:
            continue
        keys = by_service[service]
        removable = tuple(sorted(granted.spelling[k] for k in keys if k in unused_keys))
        if not removable:
            continue
        kept = tuple(sorted(granted.spelling[k] for k in keys if k in keep_keys))
        policies = tuple(sorted({r.policy for k in keys for r in granted.refs[k]}))
        services.append(UnusedService(service, removable, kept, policies))

    statement_use = _statement_use(granted, used_actions, attempted, unused_keys, keep_keys)
    conditional = sum(1 for f in used if f.code == "USED_CONDITIONAL")
    proposal = _propose(proposal_permissions, keep, grants, settings, catalog, conditional)
    proposed = {a.lower() for a in proposal.actions} if proposal else set()
    granted_services = {k.partition(":")[0] for k in granted.spelling}
    summary = Summary(
        granted_actions=len(granted.spelling),
        granted_services=len(granted_services),
        used_actions=len(used_actions),
        used_services=len({k.partition(":")[0] for k in used_actions}),
        removable_actions=sum(1 for u in unused if u.code == "UNUSED_ACTION"),
        removable_services=len(services),
        ineffective_actions=sum(1 for u in unused if u.code == "INEFFECTIVE_GRANT"),
        not_observable_actions=len(keep),
        denied_actions=len({d.permission.action.lower() for d in denied}),
        used_not_granted_actions=len({f.permission.action.lower() for f in not_granted}),
        proposed_actions=len(proposed),
        removed_actions=len(set(granted.spelling) - proposed),
    )
    data_groups = sorted({s.id for s in table.values() if s.visibility is Visibility.DATA_EVENT})
    notes = []
    days = window.days
    if days is not None and days < SHORT_WINDOW_DAYS:
        notes.append(f"the trail covers {days:.1f} days: actions used less often (monthly "
                     "jobs, quarterly key rotation, incident runbooks) look unused; "
                     f"prefer {SHORT_WINDOW_DAYS} days or more before removing grants")
    if unknown_resource:
        notes.append("the trail does not show which resource was used by "
                     f"{', '.join(sorted(unknown_resource))}, and its grant uses NotResource: "
                     "the proposal leaves it out; add it by hand")
    if not_granted:
        notes.append(f"{len(not_granted)} observed permission(s) succeeded without an identity "
                     "grant (resource policy or another path): left out of the proposal")
    return DiffResult(
        principal=principal,
        grants=grants,
        window=window,
        used_granted=tuple(used),
        used_not_granted=tuple(not_granted),
        denied=tuple(denied),
        unused_services=tuple(services),
        unused_actions=tuple(unused),
        not_observable=tuple(keep),
        proposal=proposal,
        summary=summary,
        recorded_data_events=tuple(g for g in data_groups if g in recorded),
        unrecorded_data_events=tuple(g for g in data_groups if g not in recorded),
        statements=statement_use,
        notes=tuple(notes),
    )
