"""Current grants against observed use: the findings of ``iamgen diff``.

Pure: :func:`diff` takes one principal's usages, its grants and the catalog,
and returns a :class:`~iamgen.findings.DiffResult` (the findings model, with
its stable codes, is :mod:`iamgen.findings`).

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

:func:`diff` runs one function per phase: judge the observed calls
(:func:`_judge_calls`), judge the grants never exercised
(:func:`_judge_unexercised`), find the services never touched
(:func:`_unused_services`), propose a policy (:func:`_propose`), count
(:func:`_summarize`), and note what a reader must know (:func:`_notes`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .arn import pattern_within, resource_matches, unescape
from .catalog import Catalog, load_catalog
from .errors import PolicyTooLargeError
from .findings import (
    DeniedFinding,
    DiffResult,
    GrantRef,
    NotObservableFinding,
    ObservedWindow,
    Proposal,
    StatementUse,
    Summary,
    UnusedAction,
    UnusedService,
    UsedFinding,
)
from .grants.evaluate import (
    Decision,
    Evaluation,
    NamedPolicy,
    VARIABLES_VERSION,
    Request,
    covers_action,
    evaluate,
)
from .grants.expand import statement_actions
from .grants.model import GrantedPolicy, Grants
from .grants.observable import (
    BlindSpot,
    Visibility,
    blind_spots,
    data_event_halves,
    data_event_kind,
    recorded_kinds,
)
from .mapping.rules import derived_actions
from .model import Condition, Permission, PolicyDocument, Principal, Statement, Usage
from .policy import policy_size
from .synth import SynthSettings, synthesize
from .synth.settings import Generalization, SynthResult
from .synth.split import pack

SHORT_WINDOW_DAYS = 30
"""Below this many days of trail, the diff warns that rare use may be missed."""


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
    statements = _statements_by_ref(grants)
    calls = _judge_calls(mine, grants, granted, statements, catalog)
    observed = {*(a.lower() for a in trail_actions), *calls.exercised}
    kinds = recorded_kinds(observed, table, catalog, derived_actions())
    recorded = {group for group, _ in kinds}
    unused, kept = _judge_unexercised(granted, calls, grants, table, kinds, catalog)
    services = _unused_services(granted, calls, unused, kept)
    conditional = sum(1 for f in calls.used if f.code == "USED_CONDITIONAL")
    # Granted actions used or tried on a resource the trail does not say, where a
    # NotResource grant (or, tried, any grant) may be what allowed it: kept as they stand.
    kept_whole = [(granted.spelling[key], granted.refs[key]) for key in sorted(calls.kept_whole)]
    proposal = _propose(calls.proposal_permissions, kept, statements, settings, catalog,
                        conditional, kept_whole)
    halves = data_event_halves(table, catalog)
    data_groups = sorted({group for group, _ in halves})
    return DiffResult(
        principal=principal,
        grants=grants,
        window=window,
        used_granted=calls.used,
        used_not_granted=calls.not_granted,
        denied=calls.denied,
        unused_services=services,
        unused_actions=unused,
        not_observable=kept,
        proposal=proposal,
        summary=_summarize(granted, calls, unused, kept, services, proposal),
        recorded_data_events=tuple(g for g in data_groups if g in recorded),
        unrecorded_data_events=tuple(g for g in data_groups if g not in recorded),
        unrecorded_halves=tuple(f"{g}:{kind}" for g, kind in halves
                                if g in recorded and (g, kind) not in kinds),
        statements=_statement_use(granted, calls, unused, kept),
        notes=_notes(window, calls),
    )


# --- granted actions -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GrantedActions:
    """Every action the Allow statements of some policies name, by lower-cased
    action: its catalog spelling, and each statement that grants it."""

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


def granted_actions(policies: Sequence[GrantedPolicy], catalog: Catalog) -> GrantedActions:
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
    return GrantedActions(spelling, {k: tuple(sorted(v)) for k, v in refs.items()})


def _denies_everywhere(stmt: Statement, action: str) -> bool:
    return (stmt.effect == "Deny" and not stmt.conditions and not stmt.not_resources
            and "*" in stmt.resources and covers_action(stmt, action))


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
        if not any(s.effect == "Allow" and covers_action(s, action) for s in statements):
            return "boundary"
    return None


def _statements_by_ref(grants: Grants) -> dict[tuple[str, int], Statement]:
    """Every statement of the identity policies, by (policy label, index): what a
    GrantRef names; each as the proposal (Version 2012-10-17) must write it to
    mean what it means in its own policy (:func:`_as_2012`)."""
    return {(p.label, i): _as_2012(s, p.document.version)
            for p in grants.policies for i, s in enumerate(p.document.statements)}


def _as_2012(stmt: Statement, version: str) -> Statement:
    """``stmt`` of a policy of ``version``, written for a 2012-10-17 document:
    before that version ``${...}`` is literal text, which 2012-10-17 reads as
    a policy variable, so its ``$`` is escaped (``${$}``)."""
    if version == VARIABLES_VERSION:
        return stmt

    def literal(text: str) -> str:
        return text.replace("${", "${$}{")

    return replace(
        stmt, resources=tuple(map(literal, stmt.resources)),
        not_resources=tuple(map(literal, stmt.not_resources)),
        conditions=tuple(replace(c, values=tuple(map(literal, c.values)))
                         for c in stmt.conditions))


# --- phase 1: the observed calls -----------------------------------------------------

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


@dataclass(frozen=True, slots=True)
class _JudgedCalls:
    """The observed calls, judged against the grants (actions lower-cased)."""

    used: tuple[UsedFinding, ...]
    not_granted: tuple[UsedFinding, ...]
    denied: tuple[DeniedFinding, ...]
    used_actions: frozenset[str]
    # actions tried and denied that today's grants allow there (another layer
    # denied them): exercised, and kept in the proposal on what was tried
    attempted: frozenset[str]
    proposal_permissions: tuple[Permission, ...]
    # actions used or tried on a resource the trail does not say, whose grants (some with
    # NotResource, or all, for a denied call) are kept as they stand
    kept_whole: frozenset[str]

    @property
    def exercised(self) -> frozenset[str]:
        """Actions used or attempted."""
        return self.used_actions | self.attempted


def _judge_calls(mine: Sequence[Usage], grants: Grants, granted: GrantedActions,
                 statements: Mapping[tuple[str, int], Statement],
                 catalog: Catalog) -> _JudgedCalls:
    """Phase 1: each observed call as granted, conditional, not granted or denied."""
    used: list[UsedFinding] = []
    not_granted: list[UsedFinding] = []
    denied: list[DeniedFinding] = []
    used_actions: set[str] = set()
    attempted: set[str] = set()
    kept_whole: set[str] = set()
    proposal_permissions: list[Permission] = []
    policies = [p.named() for p in grants.policies]
    boundary = grants.boundary.named() if grants.boundary else None
    for usage in mine:
        action = _spelled(usage.permission.action, catalog)
        permission = Permission(action, usage.permission.resource, usage.permission.conditions)
        code, evaluation = _decide(permission, policies, boundary)
        refs = _refs_for(evaluation, granted, action)
        if usage.denied:
            denied.append(DeniedFinding(permission, usage.count, usage.first_seen,
                                        usage.last_seen, usage.regions,
                                        evaluation.decision.value, refs))
            unknown = _resource_unknown(permission, catalog) and granted.refs.get(action.lower())
            if unknown and blocked_by(action, grants) is None:
                attempted.add(action.lower())  # on what, unknown: its grants kept whole
                kept_whole.add(action.lower())
            elif not unknown and code != "USED_NOT_GRANTED":
                # (a blocked one is dead text, judged so in phase 2)  # allowed here today: denied by another layer
                attempted.add(action.lower())
                proposal_permissions.extend(_with_allow_conditions(permission, code, refs,
                                                                   statements))
            continue
        used_actions.add(action.lower())
        unknown = _resource_unknown(permission, catalog) and bool(granted.refs.get(action.lower()))
        if unknown:
            # The trail did not say which resource: the statements that allow "*" (or, not
            # granted there, any naming the action) keep their resources, never "*" by
            # itself (a NotResource statement allows "*" but not all); those with
            # NotResource are carried as they stand.
            if code == "USED_NOT_GRANTED" or not refs:
                code, refs = "USED_CONDITIONAL", granted.refs[action.lower()]
            if any(statements[(r.policy, r.statement)].not_resources
                   or not statements[(r.policy, r.statement)].resources for r in refs):
                kept_whole.add(action.lower())
            else:
                proposal_permissions.extend(_on_granted_resources(permission, refs, statements))
        finding = UsedFinding(code, permission, usage.count, usage.first_seen, usage.last_seen,
                              usage.regions, refs)
        if code == "USED_NOT_GRANTED":
            not_granted.append(finding)
        else:
            used.append(finding)
            if not unknown:
                proposal_permissions.extend(_with_allow_conditions(permission, code, refs,
                                                                   statements))
    return _JudgedCalls(tuple(used), tuple(not_granted), tuple(denied), frozenset(used_actions),
                        frozenset(attempted), tuple(proposal_permissions),
                        frozenset(kept_whole))


def _with_allow_conditions(permission: Permission, code: str, refs: Sequence[GrantRef],
                           statements: Mapping[tuple[str, int], Statement]
                           ) -> list[Permission]:
    """A used permission as the proposal grants it: as observed, unless only
    Allow statements under a condition iamgen cannot decide grant it
    (``USED_CONDITIONAL``): then once per such statement, with its
    conditions, so that the proposal allows it only when today's grants do
    (an MFA or source-IP condition is never dropped). A Deny's condition is
    kept with the Deny (:func:`_denies_kept`)."""
    if code != "USED_CONDITIONAL":
        return [permission]
    granting = [statements[(ref.policy, ref.statement)] for ref in refs]
    if not granting or any(not stmt.conditions for stmt in granting):
        return [permission]  # an Allow without conditions grants it
    return [Permission(permission.action, permission.resource,
                       _merged(permission.conditions, stmt.conditions))
            for stmt in granting]


def _merged(own: Sequence[Condition], theirs: Sequence[Condition]) -> tuple[Condition, ...]:
    """A call's own (derived) conditions with a granting statement's. Of one
    operator and key (one statement cannot hold two), the call's: it is an
    equality on the value the call had, which the statement's admits (the
    statement was judged to apply), so it is the narrower."""
    mine = {(c.operator.lower(), c.key.lower()) for c in own}
    return tuple(sorted({*own, *(c for c in theirs
                                 if (c.operator.lower(), c.key.lower()) not in mine)}))


def _spelled(action: str, catalog: Catalog) -> str:
    info = catalog.action(action)
    return info.full_name if info is not None else action


def _decide(permission: Permission, policies: Sequence[NamedPolicy],
            boundary: NamedPolicy | None) -> tuple[str, Evaluation]:
    evaluation = evaluate(policies, request_of(permission), boundary)
    if evaluation.decision is Decision.ALLOW:
        return "USED_GRANTED", evaluation
    if evaluation.decision is Decision.UNKNOWN:
        return "USED_CONDITIONAL", evaluation
    return "USED_NOT_GRANTED", evaluation


def _refs_for(evaluation: Evaluation, granted: GrantedActions,
              action: str) -> tuple[GrantRef, ...]:
    wanted = {(r.policy, r.index) for r in (*evaluation.matched, *evaluation.undecided)
              if r.effect == "Allow" and not r.boundary}
    return tuple(ref for ref in granted.refs.get(action.lower(), ())
                 if (ref.policy, ref.statement) in wanted)


def _resource_unknown(permission: Permission, catalog: Catalog) -> bool:
    """The resolver fell back to "*" for an action that does act on resources."""
    info = catalog.action(permission.action)
    return permission.resource == "*" and info is not None and info.takes_resource


def _on_granted_resources(permission: Permission, refs: Sequence[GrantRef],
                          statements: Mapping[tuple[str, int], Statement]
                          ) -> list[Permission]:
    """A used permission of unknown resource, on the resources its grants
    (each with Resource) name today."""
    out: list[Permission] = []
    for ref in refs:
        stmt = statements[(ref.policy, ref.statement)]
        conditions = _merged(permission.conditions, stmt.conditions)
        out.extend(Permission(permission.action, r, conditions) for r in stmt.resources)
    return out


# --- phase 2: grants never exercised -----------------------------------------------------


def _judge_unexercised(granted: GrantedActions, calls: _JudgedCalls, grants: Grants,
                       table: Mapping[str, BlindSpot], recorded: frozenset[tuple[str, str]],
                       catalog: Catalog
                       ) -> tuple[tuple[UnusedAction, ...], tuple[NotObservableFinding, ...]]:
    """Phase 2: each granted action neither used nor attempted, as unused
    (removable, or blocked anyway) or not observable (kept). A data-event
    action is judged only when the trail records its group's half (reads or
    writes: ``recorded``, :func:`~iamgen.grants.observable.recorded_kinds`)."""
    unused: list[UnusedAction] = []
    kept: list[NotObservableFinding] = []
    exercised = calls.exercised
    for key in sorted(granted.spelling):
        if key in exercised:
            continue
        action = granted.spelling[key]
        refs = granted.refs[key]
        spot = table.get(key)
        block = blocked_by(action, grants)  # blocked everywhere: dead text, observable or not
        if block is None and spot is not None and (
                spot.visibility is not Visibility.DATA_EVENT
                or (spot.id, data_event_kind(action, catalog)) not in recorded):
            kept.append(NotObservableFinding(action, spot.id, spot.visibility.value, spot.note,
                                             spot.source, refs))
            continue
        info = catalog.action(action)
        unused.append(UnusedAction("INEFFECTIVE_GRANT" if block else "UNUSED_ACTION", action,
                                   info.access_level if info else "unknown", refs, block))
    return tuple(unused), tuple(kept)


# --- phase 3: services never touched -------------------------------------------------------


def _unused_services(granted: GrantedActions, calls: _JudgedCalls,
                     unused: Sequence[UnusedAction], kept: Sequence[NotObservableFinding]
                     ) -> tuple[UnusedService, ...]:
    """Phase 3: granted services none of whose actions was used or attempted,
    with something removable."""
    touched = {k.partition(":")[0] for k in calls.exercised}
    by_service: dict[str, list[str]] = defaultdict(list)
    for key in granted.spelling:
        by_service[key.partition(":")[0]].append(key)
    services: list[UnusedService] = []
    unused_keys = {u.action.lower() for u in unused}
    kept_keys = {k.action.lower() for k in kept}
    for service in sorted(by_service):
        if service in touched:
            continue
        keys = by_service[service]
        removable = tuple(sorted(granted.spelling[k] for k in keys if k in unused_keys))
        if not removable:
            continue
        kept_here = tuple(sorted(granted.spelling[k] for k in keys if k in kept_keys))
        policies = tuple(sorted({r.policy for k in keys for r in granted.refs[k]}))
        services.append(UnusedService(service, removable, kept_here, policies))
    return tuple(services)


# --- phase 4: the proposal -----------------------------------------------------------------


def _propose(permissions: Sequence[Permission], kept: Sequence[NotObservableFinding],
             statements: Mapping[tuple[str, int], Statement], settings: SynthSettings,
             catalog: Catalog, conditional: int,
             kept_whole: Sequence[tuple[str, tuple[GrantRef, ...]]] = ()) -> Proposal | None:
    """Phase 4: the policy to apply instead: the used-and-granted permissions,
    and the not-observable grants, and those of actions used or tried on a
    resource the trail does not say (``kept_whole``: action and grants), as
    they stand (``statements``: today's, by reference, :func:`_statements_by_ref`)."""
    kept_permissions, carried = _kept_statements(
        [*((f.action, f.grants) for f in kept), *kept_whole], statements)
    wanted = [*permissions, *kept_permissions]
    if not wanted and not carried:
        return None
    kept_actions = tuple(sorted({f.action for f in kept}))
    notes: list[str] = []
    documents: tuple[PolicyDocument, ...] = ()
    if wanted:
        try:
            result, outside, every = _within_grants(wanted, statements, settings, catalog)
            if outside:  # a proposal never adds to today's grants
                action, pattern = outside[0]
                notes.append(
                    f"names kept exact: {len(outside)} name pattern(s) would allow more than "
                    f"today's grants for an action (such as {pattern} for {action}); "
                    + ("every name is granted by name" if every else
                       "the names they stood for are granted by name for that action, "
                       "other patterns stay"))
        except PolicyTooLargeError as exc:
            return Proposal((), (), (), kept_actions, (f"no proposal: {exc}",))
        documents = result.documents
        notes.extend(result.notes)
    # Statements carried over as they stand, each kind in documents of its own
    # within the size limit: NotResource ones, then the Denies that still decide.
    try:
        kept_documents = pack(tuple(carried), settings.size_limit) if carried else ()
        denies = _denies_kept(statements, (*documents, *kept_documents), catalog)
        deny_documents = pack(denies, settings.size_limit) if denies else ()
    except PolicyTooLargeError as exc:
        return Proposal((), (), (), kept_actions,
                        (f"no proposal: a statement to carry over: {exc}",))
    documents = (*documents, *kept_documents, *deny_documents)
    if carried:
        notes.append(f"{len(carried)} statement(s) with NotResource carried over unchanged "
                     f"for actions kept as granted (not observable, or only denied), in "
                     f"{len(kept_documents)} document(s) of their own")
    if denies:
        notes.append(f"{len(denies)} Deny statement(s) of the current grants carried over "
                     f"unchanged, in the last {len(deny_documents)} document(s): they still "
                     "restrict what the proposal allows")
    if kept_whole:
        notes.append(f"{len(kept_whole)} action(s) used or tried on a resource the trail "
                     f"does not say ({', '.join(a for a, _ in kept_whole)}): kept as "
                     "today's grants hold them")
    if conditional:
        notes.append(f"{conditional} used permission(s) depend today on a condition iamgen "
                     "cannot decide (an Allow's, or a Deny's that may apply); the proposal "
                     "grants them on the observed resources under the conditions of the Allow "
                     "statements that grant them (a Deny's stays with the Deny): check "
                     "before applying")
    actions = sorted({a for doc in documents for s in doc.statements if s.effect == "Allow"
                      for a in statement_actions(s, catalog)})
    return Proposal(
        documents=documents,
        sizes=tuple(policy_size(d) for d in documents),
        actions=tuple(actions),
        kept_not_observable=kept_actions,
        notes=tuple(notes),
    )


# Syntheses a proposal tries, each with more names kept exact, before it
# keeps every name exact.
_EXACT_ROUNDS = 4


def _within_grants(wanted: Sequence[Permission], statements: Mapping[tuple[str, int], Statement],
                   settings: SynthSettings, catalog: Catalog
                   ) -> tuple[SynthResult, list[tuple[str, str]], bool]:
    """The synthesis of ``wanted`` with no name pattern or fold beyond today's
    grants (:func:`_beyond_grants`), the (action, pattern) pairs it gave up,
    and whether it had to keep every name exact.
    Each pattern beyond them has the names it stood for kept exact, and the
    rest synthesized again (the names left may make other patterns), until
    none is beyond; after a few rounds, or when a pattern stands for no name
    asked for, every name is kept exact."""
    result = synthesize(wanted, settings, catalog)
    exact: set[tuple[str, str]] = set()
    given_up: set[tuple[str, str]] = set()
    for round_ in range(_EXACT_ROUNDS + 1):
        outside = _beyond_grants(result.documents, wanted, statements, catalog)
        if not outside:
            return result, sorted(given_up), False
        given_up.update(outside)
        named = {(p.action.lower(), p.resource) for p in wanted
                 for action, pattern in outside
                 if p.action.lower() == action.lower() and resource_matches(pattern, p.resource)}
        if named <= exact or round_ == _EXACT_ROUNDS:
            break
        exact |= named
        result = synthesize(wanted, settings, catalog, exact=exact)
    return (synthesize(wanted, replace(settings, generalization=Generalization.NONE), catalog),
            sorted(given_up), True)


def _beyond_grants(documents: Sequence[PolicyDocument], wanted: Sequence[Permission],
                   statements: Mapping[tuple[str, int], Statement],
                   catalog: Catalog) -> list[tuple[str, str]]:
    """(action, resource) of each resource of ``documents`` that synthesis
    made for an action (a name pattern or a folder's ``/*``, not what
    ``wanted`` asks for that action) and that cannot be shown to fall within
    a Resource of one of today's Allow statements for that action whose
    conditions the statement carries too (:func:`~iamgen.arn.pattern_within`,
    sound: unsure is beyond), sorted."""
    asked = {(p.action.lower(), p.resource, frozenset(p.conditions)) for p in wanted}
    allows = [stmt for stmt in statements.values() if stmt.effect == "Allow" and stmt.resources]
    beyond: set[tuple[str, str]] = set()
    for document in documents:
        for stmt in document.statements:
            if stmt.effect != "Allow":
                continue
            held = frozenset(stmt.conditions)
            for resource in stmt.resources:
                for action in statement_actions(stmt, catalog):
                    if (action.lower(), resource, held) in asked:
                        continue  # a name (or grant) the proposal was asked for, as asked
                    # covered by an Allow whose conditions this statement also has (an
                    # Allow under MFA covers nothing a statement without MFA allows)
                    if not any(covers_action(grant, action) and held.issuperset(grant.conditions)
                               and any(pattern_within(resource, r) for r in grant.resources)
                               for grant in allows):
                        beyond.add((action, resource))
    return sorted(beyond)


def _denies_kept(statements: Mapping[tuple[str, int], Statement],
                 documents: Sequence[PolicyDocument], catalog: Catalog
                 ) -> tuple[Statement, ...]:
    """The Deny statements of the principal's identity policies that touch an
    action the proposal allows, as they stand: replacing the policies with the
    proposal must not lift a Deny (one under a condition, or on some resources,
    still decides calls the proposal allows)."""
    # The actions allowed, as named and as the catalog expands them; a Deny is
    # matched against them as IAM matches it (an action the catalog does not
    # list yet is still denied by s3:*).
    allowed = {a for doc in documents for stmt in doc.statements if stmt.effect == "Allow"
               for a in (*stmt.actions, *statement_actions(stmt, catalog))}
    kept: list[Statement] = []
    for stmt in statements.values():
        if stmt.effect == "Deny" and stmt not in kept and any(
                covers_action(stmt, action) for action in allowed):
            kept.append(stmt)
    # A policy's Sids are unique: each kept Deny gets one no other statement has.
    taken = {stmt.sid for doc in documents for stmt in doc.statements if stmt.sid}
    named: list[Statement] = []
    for number, stmt in enumerate(kept, start=1):
        sid = stmt.sid if stmt.sid and stmt.sid not in taken else f"KeepDeny{number}"
        while sid in taken:
            sid += "x"
        taken.add(sid)
        named.append(replace(stmt, sid=sid))
    return tuple(named)


def _kept_statements(kept: Sequence[tuple[str, Sequence[GrantRef]]],
                     statements: Mapping[tuple[str, int], Statement]
                     ) -> tuple[list[Permission], list[Statement]]:
    """Grants kept as they stand (each action with its grants): permissions to
    synthesize, and statements with NotResource carried over verbatim (one
    per source statement)."""
    permissions: list[Permission] = []
    verbatim: dict[tuple[str, int], list[str]] = defaultdict(list)
    for action, grants in kept:
        for ref in grants:
            stmt = statements[(ref.policy, ref.statement)]
            if stmt.not_resources or not stmt.resources:
                verbatim[(ref.policy, ref.statement)].append(action)
                continue
            permissions.extend(Permission(action, r, stmt.conditions)
                               for r in stmt.resources)
    carried = []
    for number, key in enumerate(sorted(verbatim), start=1):
        stmt = statements[key]
        carried.append(Statement(effect="Allow", actions=tuple(sorted(set(verbatim[key]))),
                                 not_resources=stmt.not_resources, conditions=stmt.conditions,
                                 sid=f"KeepAsGranted{number}"))
    return permissions, carried


# --- phase 5: the counts -------------------------------------------------------------------


def _summarize(granted: GrantedActions, calls: _JudgedCalls, unused: Sequence[UnusedAction],
               kept: Sequence[NotObservableFinding], services: Sequence[UnusedService],
               proposal: Proposal | None) -> Summary:
    """Phase 5: the numbers a reviewer reads first."""
    proposed = {a.lower() for a in proposal.actions} if proposal else set()
    return Summary(
        granted_actions=len(granted.spelling),
        granted_services=len({k.partition(":")[0] for k in granted.spelling}),
        used_actions=len(calls.used_actions),
        used_services=len({k.partition(":")[0] for k in calls.used_actions}),
        removable_actions=sum(1 for u in unused if u.code == "UNUSED_ACTION"),
        removable_services=len(services),
        ineffective_actions=sum(1 for u in unused if u.code == "INEFFECTIVE_GRANT"),
        not_observable_actions=len(kept),
        denied_actions=len({d.permission.action.lower() for d in calls.denied}),
        used_not_granted_actions=len({f.permission.action.lower() for f in calls.not_granted}),
        proposed_actions=len(proposed),
        removed_actions=len(set(granted.spelling) - proposed),
    )


def _statement_use(granted: GrantedActions, calls: _JudgedCalls,
                   unused: Sequence[UnusedAction], kept: Sequence[NotObservableFinding]
                   ) -> tuple[StatementUse, ...]:
    """Phase 5 too: how much of each Allow statement was used, removable or kept."""
    removable = {u.action.lower() for u in unused}
    kept_keys = {k.action.lower() for k in kept}
    counts: dict[tuple[str, int], dict[str, int]] = {}
    sids: dict[tuple[str, int], str] = {}
    for key, refs in granted.refs.items():
        for ref in refs:
            where = (ref.policy, ref.statement)
            sids[where] = ref.sid
            tally = counts.setdefault(where, dict.fromkeys(
                ("granted", "used", "removable", "kept", "denied"), 0))
            tally["granted"] += 1
            tally["used"] += key in calls.used_actions
            tally["removable"] += key in removable
            tally["kept"] += key in kept_keys
            tally["denied"] += key in calls.attempted  # denied where today's grants allow it
    return tuple(StatementUse(policy, index, sids[(policy, index)], **tally)
                 for (policy, index), tally in sorted(counts.items()))


# --- phase 6: what a reader must know ------------------------------------------------------


def _notes(window: ObservedWindow, calls: _JudgedCalls) -> tuple[str, ...]:
    """Phase 6: a short window, and used permissions the proposal leaves out."""
    notes = []
    days = window.days
    if days is not None and days < SHORT_WINDOW_DAYS:
        notes.append(f"the trail covers {days:.1f} days: actions used less often (monthly "
                     "jobs, quarterly key rotation, incident runbooks) look unused; "
                     f"prefer {SHORT_WINDOW_DAYS} days or more before removing grants")
    if calls.not_granted:
        notes.append(f"{len(calls.not_granted)} observed permission(s) succeeded without an "
                     "identity grant (resource policy or another path): left out of the proposal")
    return tuple(notes)
