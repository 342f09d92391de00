"""The AI security lens of ``iamgen review``: findings about AI use, from the trail alone (pure).

Two kinds of evidence feed it:

* the principals' usage rows (:class:`~iamgen.model.Usage`, with the facts
  their calls proved in ``context``): people calling AI services without MFA,
  invocations without a guardrail where the account's others use one, AI
  resources and their buckets reached from another account, repeated
  access-denied calls on AI services, S3 writes without the encryption header;
* account-wide signals (:mod:`iamgen.mapping.signals`) with their evidence:
  logging stopped, deleted or narrowed, resources opened to everyone.

Finding codes, titles, severities, the AI services and what the trail cannot
prove are data (``data/ai_lens.toml``). Every finding carries its evidence:
how many calls (counted per permission: a call that needs two permissions
counts twice), first and last time, and one example eventID. A finding that
rests on what the trail cannot show is informational (severity ``info``) and
says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from .arn import parse_arn, unescape
from .mapping.signals import Signal, lens_data
from .model import Evidence, Principal, Usage
from .synth.harden import guardrail_arn, is_person

SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True, slots=True)
class FindingKind:
    """A finding code's catalog entry."""

    code: str
    severity: str
    title: str
    note: str
    source: str
    cannot_prove: str = ""

    @property
    def informational(self) -> bool:
        """Rests on something the trail cannot show."""
        return bool(self.cannot_prove)


@dataclass(frozen=True, slots=True)
class AiService:
    """An AI service by IAM prefix."""

    prefix: str
    name: str
    source: str


@dataclass(frozen=True, slots=True)
class LensCatalog:
    """``data/ai_lens.toml``: services, finding kinds and the probing threshold."""

    services: tuple[AiService, ...]
    kinds: Mapping[str, FindingKind]
    probing_min_denied: int

    @property
    def prefixes(self) -> frozenset[str]:
        """The AI services' IAM prefixes."""
        return frozenset(s.prefix for s in self.services)


@cache
def lens_catalog() -> LensCatalog:
    """The lens's data (read on first use)."""
    data = lens_data()
    services = tuple(AiService(str(s["prefix"]), str(s["name"]), str(s["source"]))
                     for s in data.get("service", []))
    kinds = {str(k["code"]): FindingKind(str(k["code"]), str(k["severity"]), str(k["title"]),
                                         str(k["note"]), str(k["source"]),
                                         str(k.get("cannot_prove", "")))
             for k in data.get("finding", [])}
    return LensCatalog(services, kinds, int(data.get("probing_min_denied", 5)))


@dataclass(frozen=True, slots=True)
class AiFinding:
    """One finding of the lens, with its evidence."""

    code: str
    severity: str
    principal: str  # an ARN, or what the record tells of the caller
    subject: str
    detail: str
    evidence: Evidence

    def sort_key(self) -> tuple[int, str, str, str, str]:
        """Most severe first, then by code, principal, subject and detail."""
        rank = SEVERITIES.index(self.severity) if self.severity in SEVERITIES else len(SEVERITIES)
        return (rank, self.code, self.principal, self.subject, self.detail)


@dataclass(frozen=True, slots=True)
class AiUser:
    """A principal with successful calls of AI services."""

    principal: Principal
    services: tuple[str, ...]
    calls: int
    person: bool


@dataclass(frozen=True, slots=True)
class AiLens:
    """The lens: who uses AI services, and the findings (most severe first).

    ``facts_recorded``: the usages carried their calls' facts (not so for a
    saved graph); ``signals_read``: account-wide signals were read (a trail
    was scanned).
    """

    users: tuple[AiUser, ...]
    findings: tuple[AiFinding, ...]
    facts_recorded: bool = True
    signals_read: bool = True


# --- helpers ----------------------------------------------------------------------------


def _service(usage: Usage) -> str:
    return usage.permission.action.partition(":")[0].lower()


def _fact_counts(usage: Usage, fact: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value, count in usage.context:
        if name == fact and count:
            out[value] = out.get(value, 0) + count
    return out


def _evidence(parts: Iterable[tuple[int, Usage]]) -> Evidence | None:
    """Evidence of ``count`` calls from each usage (those with a count above 0)."""
    chosen = [(count, usage) for count, usage in parts if count > 0]
    if not chosen:
        return None
    first = min(chosen, key=lambda p: (p[1].first_seen, p[1].example_event_id))[1]
    return Evidence(count=sum(c for c, _ in chosen), first_seen=first.first_seen,
                    last_seen=max(u.last_seen for _, u in chosen),
                    example_event_id=first.example_event_id)


def _finding(kind: FindingKind, principal: str, subject: str, detail: str,
             evidence: Evidence | None) -> list[AiFinding]:
    if evidence is None:
        return []
    return [AiFinding(kind.code, kind.severity, principal, subject, detail, evidence)]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _bucket(resource: str) -> str | None:
    parsed = parse_arn(unescape(resource))
    if parsed is None or parsed.service != "s3" or not parsed.resource:
        return None
    return parsed.resource.split("/", 1)[0] or None


# --- the findings from usages -----------------------------------------------------------


def _without_mfa(kind: FindingKind, user: AiUser, ai: Sequence[Usage]) -> list[AiFinding]:
    if not user.person:
        return []
    parts: list[tuple[int, Usage]] = []
    keys = 0
    for usage in ai:
        values = _fact_counts(usage, "mfa")
        if not values:
            continue
        parts.append((usage.count - values.get("true", 0), usage))
        keys += values.get("", 0)
    evidence = _evidence(parts)
    if evidence is None:
        return []
    total = sum(u.count for u in ai)
    detail = f"{evidence.count} of {_plural(total, 'AI call')} without MFA"
    if keys:
        detail += f" ({keys} with long-term access keys)"
    return _finding(kind, user.principal.arn, ", ".join(user.services), detail, evidence)


def _without_guardrail(kind: FindingKind, usages: Sequence[Usage]) -> list[AiFinding]:
    invocations = [u for u in usages if not u.denied and _fact_counts(u, "guardrail")]
    guarded: dict[str, set[str]] = {}  # account -> guardrails its calls used
    for usage in invocations:
        for value in _fact_counts(usage, "guardrail"):
            if value:
                guarded.setdefault(usage.principal.account, set()).add(value)
    found: list[AiFinding] = []
    by_principal: dict[Principal, list[Usage]] = {}
    for usage in invocations:
        by_principal.setdefault(usage.principal, []).append(usage)
    for principal, mine in sorted(by_principal.items()):
        used = guarded.get(principal.account)
        if not used:
            continue
        parts = [(_fact_counts(u, "guardrail").get("", 0), u) for u in mine]
        evidence = _evidence(parts)
        if evidence is None:
            continue
        total = sum(sum(_fact_counts(u, "guardrail").values()) for u in mine)
        actions = sorted({u.permission.action for count, u in parts if count})
        models = {u.permission.resource for count, u in parts if count}
        others = sorted({guardrail_arn(g) for g in used})
        detail = (f"{evidence.count} of {_plural(total, 'invocation')} on "
                  f"{_plural(len(models), 'model')} named no guardrail; the account's other "
                  f"invocations use {', '.join(others)}")
        found += _finding(kind, principal.arn, ", ".join(actions), detail, evidence)
    return found


def _cross_account(kind: FindingKind, usages: Sequence[Usage], prefixes: frozenset[str],
                   ai_principals: set[Principal]) -> list[AiFinding]:
    ai_buckets = {bucket for u in usages
                  if u.principal in ai_principals and not u.denied
                  and _service(u) == "s3" and (bucket := _bucket(u.permission.resource))
                  and not _foreign_calls(u)}
    grouped: dict[tuple[Principal, str], list[tuple[int, Usage]]] = {}
    for usage in usages:
        if usage.denied:
            continue
        service = _service(usage)
        if service in prefixes:
            subject = usage.permission.resource
        elif service == "s3" and (bucket := _bucket(usage.permission.resource)) in ai_buckets:
            subject = f"arn:aws:s3:::{bucket}"
        else:
            continue
        parsed = parse_arn(unescape(usage.permission.resource))
        owner = parsed.account if parsed is not None else ""
        count = _foreign_calls(usage)
        if owner and owner != usage.principal.account and "*" not in owner:
            count = usage.count
        if count:
            grouped.setdefault((usage.principal, subject), []).append((count, usage))
    found: list[AiFinding] = []
    for (principal, subject), parts in sorted(grouped.items()):
        evidence = _evidence(parts)
        actions = sorted({u.permission.action for _, u in parts})
        detail = (f"{', '.join(actions)} from account {principal.account}")
        found += _finding(kind, principal.arn, subject, detail, evidence)
    return found


def _foreign_calls(usage: Usage) -> int:
    """Calls of the usage logged by another account's trail than the caller's."""
    return sum(count for value, count in _fact_counts(usage, "recipient").items()
               if value and value != usage.principal.account)


def _probing(kind: FindingKind, usages: Sequence[Usage], prefixes: frozenset[str],
             threshold: int) -> list[AiFinding]:
    denied: dict[Principal, list[Usage]] = {}
    for usage in usages:
        if usage.denied and _service(usage) in prefixes:
            denied.setdefault(usage.principal, []).append(usage)
    found: list[AiFinding] = []
    for principal, mine in sorted(denied.items()):
        evidence = _evidence((u.count, u) for u in mine)
        if evidence is None or evidence.count < threshold:
            continue
        actions = sorted({u.permission.action for u in mine})
        services = sorted({_service(u) for u in mine})
        detail = (f"{_plural(evidence.count, 'denied call')} of {_plural(len(actions), 'action')}"
                  f": {', '.join(actions[:4])}" + (" ..." if len(actions) > 4 else ""))
        found += _finding(kind, principal.arn, ", ".join(services), detail, evidence)
    return found


def _writes_without_sse(kind: FindingKind, usages: Sequence[Usage],
                        ai_principals: set[Principal]) -> list[AiFinding]:
    by_principal: dict[Principal, list[tuple[int, Usage]]] = {}
    totals: dict[Principal, int] = {}
    for usage in usages:
        if usage.denied or usage.principal not in ai_principals:
            continue
        values = _fact_counts(usage, "sse")
        if not values:
            continue
        totals[usage.principal] = totals.get(usage.principal, 0) + sum(values.values())
        by_principal.setdefault(usage.principal, []).append((values.get("", 0), usage))
    found: list[AiFinding] = []
    for principal, parts in sorted(by_principal.items()):
        evidence = _evidence(parts)
        if evidence is None:
            continue
        buckets = sorted({b for count, u in parts if count
                          and (b := _bucket(u.permission.resource))})
        detail = (f"{evidence.count} of {_plural(totals[principal], 'write')} sent no "
                  "x-amz-server-side-encryption header")
        found += _finding(kind, principal.arn, ", ".join(buckets), detail, evidence)
    return found


# --- the lens ---------------------------------------------------------------------------


def ai_lens(usages: Sequence[Usage],
            signals: Sequence[tuple[Signal, Evidence]] | None = None) -> AiLens:
    """The lens over every principal's usages and the account-wide signals.

    ``signals`` is None when none were read (a saved graph): the section then
    says that logging and exposure events need a trail.
    """
    catalog = lens_catalog()
    kinds = catalog.kinds
    prefixes = catalog.prefixes
    by_principal: dict[Principal, list[Usage]] = {}
    for usage in usages:
        by_principal.setdefault(usage.principal, []).append(usage)
    users: list[AiUser] = []
    findings: list[AiFinding] = []
    for principal, mine in sorted(by_principal.items()):
        ai = [u for u in mine if not u.denied and _service(u) in prefixes]
        if not ai:
            continue
        user = AiUser(principal, tuple(sorted({_service(u) for u in ai})),
                      sum(u.count for u in ai), is_person(principal, mine))
        users.append(user)
        findings += _without_mfa(kinds["AI_PERSON_WITHOUT_MFA"], user, ai)
    ai_principals = {user.principal for user in users}
    findings += _without_guardrail(kinds["AI_INVOCATION_WITHOUT_GUARDRAIL"], usages)
    findings += _cross_account(kinds["AI_CROSS_ACCOUNT_ACCESS"], usages, prefixes, ai_principals)
    findings += _probing(kinds["AI_ACCESS_DENIED_PROBING"], usages, prefixes,
                         catalog.probing_min_denied)
    findings += _writes_without_sse(kinds["AI_S3_WRITE_WITHOUT_SSE_HEADER"], usages,
                                    ai_principals)
    for signal, evidence in signals or ():
        kind = kinds.get(signal.code)
        if kind is not None:
            findings += _finding(kind, signal.principal, signal.subject, signal.detail, evidence)
    return AiLens(
        users=tuple(users),
        findings=tuple(sorted(findings, key=AiFinding.sort_key)),
        facts_recorded=any(u.context for u in usages) or not usages,
        signals_read=signals is not None,
    )
