"""The fleet review: every principal's diff in one run, ranked by excess.

Pure: :func:`review` takes each principal's grants, the observed usages and
the window, runs :func:`iamgen.diff.diff` for each, finds risky grants, and
ranks the results. Rendering (terminal table, Markdown, JSON, SVG chart) is
in :mod:`iamgen.render.review` and reads only the :class:`Review`.

Ranking, most excessive first:

1. the number of distinct kinds of risky grant (unconditional ones only):
   ``*`` or ``service:*`` on every resource, ``iam:PassRole`` on every role, object access
   to every bucket, invocation of every model;
2. the share of granted actions the proposed policy removes;
3. the number of removable grants (unused, or blocked anyway);
4. the principal's ARN, so the order is total and stable.

A principal that has grants but made no call in the window is flagged
``unused``: all of its observable grants are removable.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .ai_lens import AiLens
from .arn import action_matches, parse_arn, pattern_within, resource_matches, wildcard_match
from .catalog import Catalog, load_catalog
from .diff import blocked_by, diff
from .findings import DiffResult, ObservedWindow
from .grants.evaluate import covers_action
from .grants.expand import expand_pattern
from .grants.observable import READ_LEVELS
from .resource_kinds import PLACEHOLDER
from .grants.model import Grants
from .model import Principal, Statement, Usage
from .synth import SynthSettings


# --- risky grants ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskKind:
    """A kind of risky grant: its stable code, severity and title, and why (with a source)."""

    code: str
    severity: str
    title: str
    note: str
    source: str


@dataclass(frozen=True, slots=True)
class RiskRule:
    """A kind of grant broad enough to rank a principal first, from ``data/review_risks.toml``.

    The rule applies to an Allow statement that grants one of ``actions``
    on a resource entry matching one of ``probes``. A probe is the resource
    part of an ARN named so that only a pattern covering *every* such
    resource can match it; the statement's own partition, region and
    account are kept, so ``arn:aws:s3:::*/*`` covers it and
    ``arn:aws:s3:::ml-data/*`` does not.
    """

    kind: RiskKind
    actions: tuple[str, ...]
    probes: tuple[tuple[str, str], ...]  # (service, resource part)


@dataclass(frozen=True, slots=True)
class RiskCatalog:
    """The two wildcard kinds (decided in code) and the data-driven rules."""

    wildcards: tuple[RiskKind, ...]
    rules: tuple[RiskRule, ...]

    def wildcard(self, code: str) -> RiskKind:
        """The wildcard kind named ``code``."""
        return next(kind for kind in self.wildcards if kind.code == code)


WILDCARD_ALL = "WILDCARD_ALL"
SERVICE_WILDCARD_ALL = "SERVICE_WILDCARD_ALL"


def _kind(raw: dict[str, Any]) -> RiskKind:
    return RiskKind(str(raw["code"]), str(raw["severity"]), str(raw["title"]), str(raw["note"]),
                    str(raw["source"]))


@cache
def risk_catalog() -> RiskCatalog:
    """The risky-grant kinds and rules of ``data/review_risks.toml`` (read on first use)."""
    text = resources.files("iamgen.data").joinpath("review_risks.toml").read_text("utf-8")
    data = tomllib.loads(text)
    wildcards = tuple(map(_kind, data.get("wildcard", [])))
    missing = {WILDCARD_ALL, SERVICE_WILDCARD_ALL} - {kind.code for kind in wildcards}
    if missing:
        raise ValueError(f"review_risks.toml lacks the wildcard kinds {sorted(missing)}")
    rules = tuple(
        RiskRule(_kind(raw), tuple(str(a) for a in raw["actions"]),
                 tuple((probe.partition(":")[0], probe.partition(":")[2])
                       for probe in map(str, raw["probes"])))
        for raw in data.get("rule", [])
    )
    return RiskCatalog(wildcards, rules)


@dataclass(frozen=True, slots=True, order=True)
class RiskyGrant:
    """One statement that grants something a reviewer should remove first.

    ``conditional`` statements are reported but do not count for ranking: a
    condition (such as ``iam:PassedToService``) may already narrow them.
    """

    code: str
    severity: str
    title: str
    policy: str
    statement: int
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditional: bool


def _grants_action(stmt: Statement, action: str) -> str | None:
    """The Action entry (or ``NotAction``) through which ``stmt`` grants ``action``."""
    if stmt.actions:
        return next((p for p in stmt.actions if action_matches(p, action)), None)
    if stmt.not_actions and not any(action_matches(p, action) for p in stmt.not_actions):
        return "NotAction"
    return None


def _covers_everything(stmt: Statement) -> bool:
    """Whether a statement's Resource matches every resource: ``*``, or an
    ARN of wildcards only past ``arn:`` (``arn:aws:*:*:*:*``, ``arn:*:*:*:*:*``),
    or it names resources by NotResource."""
    return bool(stmt.not_resources) or any(_every_resource(r) for r in stmt.resources)


def _every_resource(entry: str, service: str | None = None,
                    catalog: Catalog | None = None) -> bool:
    """Whether a Resource entry matches every resource (of ``service``, when
    given: ``arn:aws:s3:::*``, ``arn:aws:iam::*:*``). Its service part is
    ``*`` or the service's own (ARNs write it in lower case). An empty region
    or account matches only ARNs that have none: it counts where every ARN
    format of the service (``catalog``) has it empty (IAM's region), and for
    S3's buckets and objects; never otherwise (``arn:aws:iam:::*`` or
    ``arn:aws:ec2:::*`` match no ARN of theirs)."""
    parts = entry.split(":", 5)
    if entry == "*":
        return True
    own = service.lower() if service is not None else None
    if len(parts) != 6 or parts[0] != "arn" or not parts[5]:
        return False
    if parts[5].strip("*"):  # a resource part of text: every resource only if it covers
        return (own is not None and catalog is not None and parts[2] == own  # every format
                and _every_format(entry, own, catalog))
    if not (parts[2] == "*" or (own is not None and parts[2] == own)):
        return False
    empty = (_empty_segments(own, catalog) if own is not None and catalog is not None
             else (False, False))
    region, account = parts[3:5]
    # An account named is every resource of that account (its own, for the
    # principal's grants): arn:aws:iam::111122223333:* is as risky as :*:*.
    return (((region and region.strip("*") == "") or (not region and empty[0]))
            and ((account and (account.strip("*") == ""
                               or _ACCOUNT_ID.fullmatch(account) is not None))
                 or (not account and empty[1])))


_ACCOUNT_ID = re.compile(r"\d{12}")


def _every_format(entry: str, service: str, catalog: Catalog) -> bool:
    """Whether ``entry`` (a wildcard region, and a wildcard or one account)
    matches every ARN of every resource type of ``service`` (Secrets Manager's
    ``arn:aws:secretsmanager:*:111122223333:secret:*``: it has only secrets)."""
    _, partition, _, region, account, _ = entry.split(":", 5)
    if region.strip("*") or not region or not (
            account.strip("*") == "" or _ACCOUNT_ID.fullmatch(account) is not None):
        return False
    formats = [f for arns in catalog.resource_arn_formats(service).values() for f in arns]
    if not formats:
        return False
    for arn_format in formats:
        parts = arn_format.split(":", 5)
        if len(parts) != 6 or parts[2] != service:
            return False
        glob = ":".join(["arn", partition, service, "*" if parts[3] else "",
                         account if parts[4] else "", PLACEHOLDER.sub("*", parts[5])])
        if not pattern_within(glob, entry):
            return False
    return True


def _empty_segments(service: str, catalog: Catalog) -> tuple[bool, bool]:
    """Whether every ARN format of ``service`` has an empty region, and an
    empty account (S3: both, for the buckets and objects that hold its data)."""
    if service == "s3":
        return True, True
    formats = [f.split(":", 5) for arns in catalog.resource_arn_formats(service).values()
               for f in arns]
    formats = [f for f in formats if len(f) == 6 and f[2] == service]  # not another's (a VPC)
    return (bool(formats) and all(not f[3] for f in formats),
            bool(formats) and all(not f[4] for f in formats))


def _probes_covered(stmt: Statement, service: str, resource: str, account: str,
                    catalog: Catalog) -> list[str]:
    """The probe ARNs (``service:resource``) the statement's Resource matches,
    each with a Resource entry's own partition, region and account; where the
    entry has a wildcard there (or is no ARN), two regions, and the principal's
    ``account`` and another, as the service's ARNs have them: a Deny of one
    region or of the own account leaves the others (a key policy may trust this
    account from another), so each is probed."""
    no_region, no_account = _empty_segments(service, catalog)

    def concrete(part: str, usual: tuple[str, ...]) -> list[str]:
        if not any(c in part for c in "*?"):
            return [part]
        fitting = [u for u in usual if wildcard_match(part, u)]
        return fitting or [part.replace("*", "").replace("?", "x")]

    def probes_for(entry: str) -> list[str]:
        parsed = parse_arn(entry)
        partition, region, owner = ((parsed.partition, parsed.region, parsed.account)
                                    if parsed else ("aws", "*", "*"))
        regions = [""] if no_region else concrete(region, _PROBE_REGIONS)
        owners = [""] if no_account else concrete(owner, (account, _OTHER_ACCOUNT))
        return [f"arn:{p}:{service}:{r}:{o}:{resource}" for p in concrete(partition, ("aws",))
                for r in regions for o in owners]

    if stmt.not_resources:
        candidates = {p for e in (*stmt.not_resources, "*") for p in probes_for(e)}
        return sorted(p for p in candidates
                      if not any(resource_matches(e, p) for e in stmt.not_resources))
    return sorted({probe for e in stmt.resources for probe in probes_for(e)
                   if resource_matches(e, probe)})


_PROBE_REGIONS = ("us-east-1", "eu-west-1")
_OTHER_ACCOUNT = "999999999999"


def _left_open(grants: Grants) -> tuple[str, ...] | None:
    """The action patterns an Allow of every action on every resource still
    grants once the unconditional Denies on every resource (identity policies
    and boundary) and the boundary's Allows (on any resource: what they allow
    somewhere is open there) have had their say: None for every action
    (nothing narrows it), else the patterns left (``()``: none). Never less
    than what is open: patterns that may share actions without one covering
    the other (``s3:Get*`` and ``s3:*Object``) are both kept."""
    left: tuple[str, ...] | None = None
    boundary = grants.boundary.document.statements if grants.boundary else ()
    denies = [s for policy in grants.policies for s in policy.document.statements
              if s.effect == "Deny"] + [s for s in boundary if s.effect == "Deny"]
    for stmt in denies:
        if stmt.conditions or stmt.not_resources or not _covers_everything(stmt):
            continue
        if stmt.not_actions:  # denies all but these
            left = _narrowed(left, stmt.not_actions)
        elif any(_every_action(a) for a in stmt.actions):
            return ()
        elif left is not None:
            left = tuple(p for p in left if not any(action_matches(d, p) for d in stmt.actions))
    if grants.boundary is not None:
        allows = [s for s in boundary if s.effect == "Allow"]
        if not any(s.not_actions or any(_every_action(a) for a in s.actions) for s in allows):
            left = _narrowed(left, tuple(a for s in allows for a in s.actions))
    return left


def _every_action(pattern: str) -> bool:
    """``*`` or ``*:*``: every action of every service."""
    return pattern.strip("*:") == "" and pattern.count(":") <= 1


def _narrowed(left: tuple[str, ...] | None, patterns: Sequence[str]) -> tuple[str, ...]:
    """What both ``left`` (None: every action) and ``patterns`` grant, as
    patterns, never less: each of one that the other covers, and both of a
    pair that may share actions (neither covering the other)."""
    if left is None:
        return tuple(sorted(set(patterns)))
    kept: set[str] = set()
    for p in patterns:
        for q in left:
            if action_matches(q, p):
                kept.add(p)
            elif action_matches(p, q):
                kept.add(q)
            elif _may_share(p, q):
                kept.update((p, q))
    return tuple(sorted(kept))


def _may_share(one: str, other: str) -> bool:
    """Whether two action patterns may match a common action: not when both
    name a service outright and the services differ."""
    first, second = (p.partition(":")[0].lower() for p in (one, other))
    plain = not any(c in first + second for c in "*?")
    return not plain or first == second


def _spans_services(pattern: str) -> bool:
    """Whether an action pattern reaches across services (``*:Create*``,
    ``i*:*``) far enough to change permissions: it matches one of IAM's
    escalation actions (creating users and keys, attaching or writing
    policies), as ``*`` does."""
    service, colon, _ = pattern.partition(":")
    return (any(c in (service if colon else pattern) for c in "*?")
            and any(action_matches(pattern, a) for a in _escalation()))


IAM_ESCALATION = "IAM_ESCALATION"


@cache
def _escalation() -> tuple[str, ...]:
    """The IAM actions that let their holder grant itself anything: the
    ``IAM_ESCALATION`` rule's (a pattern across services that matches one is
    as good as "*")."""
    for rule in risk_catalog().rules:
        if rule.kind.code == IAM_ESCALATION:
            return rule.actions
    raise ValueError(f"review_risks.toml lacks the rule {IAM_ESCALATION}")


def _whole_service(pattern: str) -> bool:
    """Whether an action pattern is every action of one service (``s3:*``, ``iam:**``)."""
    service, colon, rest = pattern.partition(":")
    return bool(colon and service and rest) and rest.strip("*") == ""


def _blocked(action: str, resource: str, grants: Grants) -> bool:
    """Whether ``action`` on ``resource`` can never be allowed: an unconditional
    Deny (identity policy or boundary) covers it, or the boundary has no
    Allow (conditional or not) that does."""
    def applies(stmt: Statement) -> bool:
        if not covers_action(stmt, action):
            return False
        if stmt.not_resources:
            return not any(resource_matches(e, resource) for e in stmt.not_resources)
        return any(resource_matches(e, resource) for e in stmt.resources)

    def denies(statements: Iterable[Statement]) -> bool:
        return any(s.effect == "Deny" and not s.conditions and applies(s) for s in statements)

    if any(denies(policy.document.statements) for policy in grants.policies):
        return True
    if grants.boundary is None:
        return False
    statements = grants.boundary.document.statements
    return denies(statements) or not any(s.effect == "Allow" and applies(s) for s in statements)


def _wildcard_risk(stmt: Statement, grants: Grants,
                   catalog: Catalog) -> tuple[str, tuple[str, ...]] | None:
    """(code, triggering entries) of a wildcard-on-everything statement, or None.

    Only whole-service wildcards (``s3:*``) count, and only when some write
    they grant is not blocked anyway; narrower patterns such as ``s3:Get*``
    or ``kms:GenerateDataKey*`` are ordinary policy idiom.
    """
    everything = _covers_everything(stmt)
    patterns: Sequence[str] = stmt.actions
    if any(_every_action(n) for n in stmt.not_actions):
        return None  # every action but every action: nothing
    if everything and (stmt.not_actions or any(_every_action(a) for a in stmt.actions)):
        left = _left_open(grants)
        if left is None or any(_every_action(a) for a in left):
            return WILDCARD_ALL, ("NotAction",) if stmt.not_actions else tuple(
                a for a in stmt.actions if _every_action(a))
        # narrowed by a Deny or the boundary: what is left is judged as if granted
        # itself (the statement's own NotAction taken out); a pattern across
        # services (*:Create*) still reaches IAM's writes: every action's risk
        patterns = [p for p in left if not any(action_matches(n, p) for n in stmt.not_actions)]
        spanning = [p for p in patterns if _spans_services(p)]
        if spanning:
            return WILDCARD_ALL, tuple(spanning)
    elif everything and any(_spans_services(a) for a in stmt.actions):
        return WILDCARD_ALL, tuple(a for a in stmt.actions if _spans_services(a))
    risky = []
    for pattern in patterns:
        service = pattern.partition(":")[0]
        if not _whole_service(pattern) or not (everything or any(
                _every_resource(r, service, catalog) for r in stmt.resources)):
            continue
        writes = [a for a in expand_pattern(pattern, catalog)
                  if (info := catalog.action(a)) is not None
                  and info.access_level.lower() not in READ_LEVELS]
        if any(blocked_by(a, grants) is None for a in writes):
            risky.append(pattern)
    return (SERVICE_WILDCARD_ALL, tuple(risky)) if risky else None


def _risk(kind: RiskKind, policy: str, index: int, stmt: Statement,
          actions: Iterable[str]) -> RiskyGrant:
    entries = stmt.resources or tuple(f"NotResource {r}" for r in stmt.not_resources)
    return RiskyGrant(kind.code, kind.severity, kind.title, policy, index, stmt.sid,
                      tuple(sorted(set(actions))), entries, bool(stmt.conditions))


def risky_grants(grants: Grants, catalog: Catalog | None = None) -> tuple[RiskyGrant, ...]:
    """Every risky grant in the principal's identity policies (not its boundary).

    A grant the boundary or an unconditional Deny blocks for every action
    that makes it risky is not reported: for the rules, on the resource they
    probe (a Deny of ``s3:*`` on ``arn:aws:s3:::*`` leaves no bucket's objects);
    for ``WILDCARD_ALL``, everywhere (a Deny of ``*``, a boundary allowing a
    few actions).
    """
    catalog = catalog if catalog is not None else load_catalog()
    risks = risk_catalog()
    found: set[RiskyGrant] = set()
    for policy in grants.policies:
        for index, stmt in enumerate(policy.document.statements):
            if stmt.effect != "Allow":
                continue
            wildcard = _wildcard_risk(stmt, grants, catalog)
            if wildcard is not None:
                code, entries = wildcard
                found.add(_risk(risks.wildcard(code), policy.label, index, stmt, entries))
            for rule in risks.rules:
                granted = [(action, entry) for action in rule.actions
                           if (entry := _grants_action(stmt, action)) is not None]
                probes = [probe for service, resource in rule.probes if granted
                          for probe in _probes_covered(stmt, service, resource,
                                                       grants.principal.account, catalog)]
                entries = [entry for action, entry in granted
                           if any(not _blocked(action, probe, grants) for probe in probes)]
                if entries:
                    found.add(_risk(rule.kind, policy.label, index, stmt, entries))
    severity = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    return tuple(sorted(found, key=lambda r: (severity.get(r.severity, 9), r.code, r.policy,
                                              r.statement)))


# --- the review -----------------------------------------------------------------------


SERVICE_LINKED_PATH = "role/aws-service-role/"
SERVICE_LINKED_REASON = ("service-linked role: its service defines its permissions, which "
                         "cannot be edited in IAM")


def is_service_linked(principal: Principal) -> bool:
    """Whether ``principal`` is a service-linked role (path ``/aws-service-role/``).

    IAM does not let anyone modify a service-linked role's permissions policy
    (IAM User Guide, "Update permissions for a role"), so there is nothing to
    right-size; its service alone uses it, often without a trace in the trail.
    """
    return principal.arn.split(":", 5)[-1].startswith(SERVICE_LINKED_PATH)


@dataclass(frozen=True, slots=True)
class Subject:
    """A principal to review, its grants, and whether the trail saw it act."""

    principal: Principal
    grants: Grants
    seen: bool


@dataclass(frozen=True, slots=True)
class ReviewEntry:
    """One principal's place in the review."""

    rank: int
    result: DiffResult
    risks: tuple[RiskyGrant, ...]
    seen: bool

    @property
    def principal(self) -> Principal:
        """The principal reviewed."""
        return self.result.principal

    @property
    def unused(self) -> bool:
        """Granted something, yet made no call in the window."""
        return not self.seen and self.result.summary.granted_actions > 0

    @property
    def removable(self) -> int:
        """Grants that can go: unused actions and grants blocked anyway."""
        s = self.result.summary
        return s.removable_actions + s.ineffective_actions

    @property
    def share(self) -> float:
        """Share of granted actions the proposed policy removes (0..1)."""
        return self.result.summary.removed_share

    @property
    def risk_codes(self) -> tuple[str, ...]:
        """Distinct kinds of unconditional risky grant, the first ranking key."""
        return tuple(sorted({r.code for r in self.risks if not r.conditional}))


@dataclass(frozen=True, slots=True)
class NotReviewed:
    """A principal seen in the trail whose grants were not available."""

    principal: Principal
    reason: str


@dataclass(frozen=True, slots=True)
class Review:
    """Every principal, most excessive first; ``ai`` is the AI security lens
    (:mod:`iamgen.ai_lens`) over the same trail, when it was made."""

    entries: tuple[ReviewEntry, ...]
    window: ObservedWindow
    not_reviewed: tuple[NotReviewed, ...] = ()
    ai: AiLens | None = None


def rank_key(entry: ReviewEntry) -> tuple[int, float, int, Principal]:
    """Sort key: risk kinds, removed share, removable count (all descending), then ARN."""
    return (-len(entry.risk_codes), -entry.share, -entry.removable, entry.principal)


def review(subjects: Sequence[Subject], usages: Sequence[Usage], window: ObservedWindow, *,
           not_reviewed: Sequence[NotReviewed] = (), settings: SynthSettings | None = None,
           catalog: Catalog | None = None,
           trail_actions: Sequence[str] | None = None) -> Review:
    """Diff every subject against the usages and rank the results.

    ``trail_actions``: every action the trail shows a call of, by anyone
    (AWS services included); by default, the actions of ``usages``.
    """
    catalog = catalog if catalog is not None else load_catalog()
    settings = settings if settings is not None else SynthSettings()
    if trail_actions is None:
        trail_actions = sorted({u.permission.action for u in usages})
    by_principal: dict[Principal, list[Usage]] = {}
    for usage in usages:
        by_principal.setdefault(usage.principal, []).append(usage)
    unranked = [
        ReviewEntry(0, diff(s.principal, by_principal.get(s.principal, ()), s.grants,
                            trail_actions=trail_actions, window=window, settings=settings,
                            catalog=catalog),
                    risky_grants(s.grants, catalog), s.seen)
        for s in subjects
    ]
    ranked = sorted(unranked, key=rank_key)
    entries = tuple(ReviewEntry(n, e.result, e.risks, e.seen) for n, e in enumerate(ranked, 1))
    return Review(entries, window, tuple(sorted(not_reviewed, key=lambda n: n.principal)))
