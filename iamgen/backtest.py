"""Backtest a learned policy: would it have allowed the work of the days it never saw? (pure)

The command learns each principal's policy from the early part of a window
and hands this module the learned documents and the later part's (the
holdout's) successful usages. :func:`backtest` replays every held-out
permission against its principal's documents with iamgen's own evaluator
(:mod:`iamgen.grants.evaluate`) and counts what would have been denied.

How a permission is asked
-------------------------
A :class:`~iamgen.model.Permission` becomes one request: its action, its
resource (the name itself: policy-text escapes such as ``${*}`` undone), and
as context each of its derived conditions' key with that condition's values.
The context is taken as complete: a key the permission does not carry is
absent from the request (iamgen derives every key it knows of from the
event), so a learned statement whose condition names another value or
another key does not allow it. Only a certain Allow counts as allowed.

Figures
-------
*Calls* are summed usage counts; a *pair* is a distinct (action, resource),
allowed only when every permission of it (one per set of conditions) is. A
pair is on a *new name* when its resource is not among the resources of the
principal's successful usages in the learning window (``"*"`` names nothing
and is never new): how many of those the learned policy still allows is the
figure that says whether it lasts.

Hardening conditions
--------------------
When the learned documents carry conditions ``--harden`` added
(:mod:`iamgen.synth.harden`), each held-out usage is also asked with its
calls' own contexts, built from the facts its records proved
(``Usage.context``): every combination of the values seen, since the counts
are per fact. A usage one of whose contexts is not allowed is denied; the
reason names each failing fact (``aws:MultiFactorAuthPresent: 3 call(s)
without MFA``), found by asking with that fact alone known, and as many
calls as carried a failing value (all of them when no single fact explains
it) count as denied.

Expect-denied probes (:class:`Probe`, read by :func:`parse_probes` from JSON
Lines) are requests that must not be allowed; each is asked of the learned
policy of every principal it names, with no context known (so an Allow that
depends on a condition counts as *conditionally* allowed, never as denied).
A probe naming no principal of the learning window is denied: nothing was
learned for it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from .arn import unescape
from .grants.evaluate import Decision, Request, evaluate
from .mapping.transforms import secret_name
from .model import Permission, PolicyDocument, Principal, Usage
from .user_json import read_json
from .synth.harden import ConditionSpec, families, hardening_keys, request_contexts

MAX_EXAMPLES = 5
"""Denied pairs listed per principal."""

NO_NAME = "*"


@dataclass(frozen=True, slots=True)
class Split:
    """Where the window was cut: learning from ``learning_from`` (the first
    event read; None when nothing was) up to just before ``cut``, holdout from
    ``cut`` to ``until``, both inclusive. ``holdout`` is the span as asked (``3d``)."""

    holdout: str
    learning_from: datetime | None
    cut: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class Learned:
    """One principal's learned policy and the names it was learned from.

    ``resources`` are the resources of the principal's successful usages in
    the learning window; ``sizes`` the documents' sizes in characters.
    """

    documents: tuple[PolicyDocument, ...] = ()
    sizes: tuple[int, ...] = ()
    resources: frozenset[str] = frozenset()
    keys: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", frozenset(
            c.key.lower() for doc in self.documents for s in doc.statements
            for c in s.conditions))

    @property
    def hardened(self) -> bool:
        """Whether a statement carries a condition ``--harden`` adds."""
        return bool(self.keys & hardening_keys())


@dataclass(frozen=True, slots=True, order=True)
class Pair:
    """A distinct (action, resource) of the holdout."""

    action: str
    resource: str


@dataclass(frozen=True, slots=True)
class Figures:
    """What was replayed and what the learned policy would have denied."""

    calls: int = 0
    pairs: int = 0
    denied_calls: int = 0
    denied_pairs: int = 0
    new_pairs: int = 0
    new_allowed_pairs: int = 0

    @property
    def allowed_calls(self) -> int:
        """Calls the learned policy allows."""
        return self.calls - self.denied_calls

    @property
    def allowed_pairs(self) -> int:
        """Distinct pairs the learned policy allows."""
        return self.pairs - self.denied_pairs

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.calls + other.calls, self.pairs + other.pairs,
                       self.denied_calls + other.denied_calls,
                       self.denied_pairs + other.denied_pairs,
                       self.new_pairs + other.new_pairs,
                       self.new_allowed_pairs + other.new_allowed_pairs)

    def below(self, percent: float) -> bool:
        """Whether the share of allowed pairs is below ``percent`` (never when
        nothing was replayed: there is nothing to judge)."""
        return self.pairs > 0 and self.allowed_pairs * 100 < percent * self.pairs


@dataclass(frozen=True, slots=True)
class PrincipalBacktest:
    """One principal's replay. ``documents`` is 0 when nothing was learned."""

    principal: Principal
    documents: int
    sizes: tuple[int, ...]
    figures: Figures
    denied_examples: tuple[Pair, ...]
    # Why an example was denied, where a hardening condition denied it.
    reasons: tuple[tuple[Pair, str], ...] = ()

    def reason(self, pair: Pair) -> str:
        """Why ``pair`` was denied by a hardening condition ("" otherwise)."""
        return next((why for p, why in self.reasons if p == pair), "")


@dataclass(frozen=True, slots=True)
class Probe:
    """A request that must not be allowed; ``line`` is its 1-based line in the file."""

    principal: str
    action: str
    resource: str
    why: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class BadLine:
    """A probe line that could not be read, and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """A probe and the learned principals whose policies allow it.

    ``matched`` are the learned principals it names (none: denied, nothing
    learned); ``allowed_by`` those whose policy certainly allows it,
    ``conditional_by`` those that allow it under a condition the probe does
    not state.
    """

    probe: Probe
    matched: tuple[Principal, ...]
    allowed_by: tuple[Principal, ...]
    conditional_by: tuple[Principal, ...]

    @property
    def allowed(self) -> bool:
        """Whether some learned policy allows it, certainly or conditionally."""
        return bool(self.allowed_by or self.conditional_by)


@dataclass(frozen=True, slots=True)
class Backtest:
    """The whole replay: one entry per principal (sorted), and the probes (in file order)."""

    principals: tuple[PrincipalBacktest, ...]
    probes: tuple[ProbeOutcome, ...] = ()
    malformed_probes: int = 0

    @property
    def total(self) -> Figures:
        """Every principal's figures summed."""
        return sum((p.figures for p in self.principals), Figures())

    @property
    def allowed_probes(self) -> tuple[ProbeOutcome, ...]:
        """The probes some learned policy allows."""
        return tuple(p for p in self.probes if p.allowed)

    @property
    def unmatched_lines(self) -> tuple[int, ...]:
        """The lines of probes that name no principal learned."""
        return tuple(p.probe.line for p in self.probes if not p.matched)


# --- the holdout ---------------------------------------------------------------


def holdout_usages(whole: Iterable[Usage], learning: Iterable[Usage],
                   cut: datetime) -> tuple[Usage, ...]:
    """The successful usages of the holdout: the whole window's minus the learning window's.

    A permission whose count is larger over the whole window was used after
    the cut, that many more times, with the facts the whole window counted
    beyond the learning window's (``context``). ``first_seen`` becomes the cut
    when it was also used before; ``regions`` are the whole window's. Sorted by
    (principal, permission).
    """
    before: Counter[tuple[Principal, Permission]] = Counter()
    facts_before: dict[tuple[Principal, Permission], Counter[tuple[str, str]]] = {}
    for usage in learning:
        if not usage.denied:
            key = (usage.principal, usage.permission)
            before[key] += usage.count
            counted = facts_before.setdefault(key, Counter())
            for fact, value, count in usage.context:
                counted[(fact, value)] += count
    out = []
    for usage in whole:
        if usage.denied:
            continue
        key = (usage.principal, usage.permission)
        earlier = before.get(key, 0)
        if usage.count > earlier:
            first = usage.first_seen if not earlier else max(usage.first_seen, cut)
            counted = facts_before.get(key, Counter())
            context = tuple((fact, value, count - counted[(fact, value)])
                            for fact, value, count in usage.context
                            if count > counted[(fact, value)])
            out.append(replace(usage, count=usage.count - earlier, first_seen=first,
                               context=context,
                               example_event_id=usage.example_event_id if not earlier else ""))
    return tuple(sorted(out, key=lambda u: (u.principal, u.permission)))


# --- replay ----------------------------------------------------------------------


def request_of(permission: Permission) -> Request:
    """The request a held-out permission makes: its conditions are the whole context."""
    context: dict[str, tuple[str, ...]] = {}
    for condition in permission.conditions:
        context[condition.key] = (*context.get(condition.key, ()), *condition.values)
    return Request(permission.action, unescape(permission.resource), context, complete=True)


def _specs() -> dict[str, ConditionSpec]:
    return {spec.fact: spec for family in families().values() for spec in family.conditions}


def _failing(spec: ConditionSpec, value: str, count: int) -> str:
    return f"{spec.key}: {count} call{'' if count == 1 else 's'} {spec.failure(value)}"


def judge(learned: Learned, usage: Usage) -> tuple[int, str]:
    """How many of a held-out usage's calls the learned documents deny, and why
    when a hardening condition denies them ("" otherwise)."""
    base = request_of(usage.permission)
    if not learned.hardened:
        allowed = evaluate(learned.documents, base).decision is Decision.ALLOW
        return (0 if allowed else usage.count), ""
    derived = dict(base.context)
    contexts = request_contexts(usage.context) if usage.context else [({}, frozenset())]
    if all(evaluate(learned.documents, Request(base.action, base.resource,
                                               {**derived, **context}, complete=True)
                    ).decision is Decision.ALLOW for context, _ in contexts):
        return 0, ""
    # Each fact alone known, the other hardening keys unknown: which values fail.
    others = learned.keys - hardening_keys() - set(derived)
    loose = Request(base.action, base.resource, derived, absent=others)
    if evaluate(learned.documents, loose).decision is Decision.IMPLICIT_DENY:
        return usage.count, ""  # not granted, whatever the context
    specs = _specs()
    failing: list[tuple[int, str]] = []
    for fact, value, count in usage.context:
        spec = specs.get(fact)
        if spec is None or spec.key.lower() not in learned.keys or not count:
            continue
        known = spec.context_value(value)
        request = Request(base.action, base.resource,
                          {**derived, **({spec.key: known} if known is not None else {})},
                          absent=others | ({spec.key} if known is None else set()))
        if evaluate(learned.documents, request).decision is Decision.IMPLICIT_DENY:
            failing.append((count, _failing(spec, value, count)))
    if not failing:
        reason = ("the calls' context is not recorded" if not usage.context
                  else "a combination of the calls' contexts")
        return usage.count, reason
    return min(usage.count, sum(c for c, _ in failing)), "; ".join(why for _, why in failing)


_SECRET_SUFFIX = "-??????"


def _name_of_secret(arn: str) -> str | None:
    """``name-??????``, the name a secret's full ARN stands under (as the
    resolver writes a secret named without AWS's six characters); None for
    any other resource."""
    if ":secretsmanager:" not in arn or arn.endswith(_SECRET_SUFFIX) or secret_name(arn) != arn:
        return None
    return arn[:-len(_SECRET_SUFFIX)] + _SECRET_SUFFIX


def secret_seen(resource: str, seen: Iterable[str]) -> str:
    """The secret a held-out call names as ``name-??????`` (by its name, or a
    partial ARN): the ARN of that name seen while learning, if one was, since
    a secret's name is unique in its account and region and AWS authorizes
    the call on its full ARN; else ``resource`` as it is."""
    if not resource.endswith(_SECRET_SUFFIX) or ":secretsmanager:" not in resource:
        return resource
    full = sorted(arn for arn in seen if _name_of_secret(arn) == resource)
    return full[0] if full else resource


def _seen(resource: str, seen: frozenset[str]) -> bool:
    """Whether a held-out resource was named while learning: as it is, or a
    secret's full ARN whose name was named (``name-??????``)."""
    return resource in seen or _name_of_secret(resource) in seen


def replay(principal: Principal, learned: Learned,
           usages: Iterable[Usage]) -> PrincipalBacktest:
    """One principal's held-out usages (successful ones; others are passed over)
    against its learned documents."""
    calls: Counter[Pair] = Counter()
    denied_calls: Counter[Pair] = Counter()
    denied: set[Pair] = set()
    reasons: dict[Pair, list[str]] = {}
    named: dict[Pair, str] = {}
    for usage in usages:
        if usage.denied:
            continue
        permission = usage.permission
        pair = Pair(permission.action, permission.resource)
        calls[pair] += usage.count
        resource = named.setdefault(pair, secret_seen(permission.resource, learned.resources))
        if resource != permission.resource:
            usage = replace(usage, permission=replace(permission, resource=resource))
        refused, why = judge(learned, usage)
        if refused:
            denied.add(pair)
            denied_calls[pair] += refused
            if why:
                reasons.setdefault(pair, []).append(why)
    new = {pair for pair in calls
           if pair.resource != NO_NAME and not _seen(named[pair], learned.resources)}
    figures = Figures(
        calls=sum(calls.values()), pairs=len(calls),
        denied_calls=sum(denied_calls.values()), denied_pairs=len(denied),
        new_pairs=len(new), new_allowed_pairs=len(new - denied),
    )
    examples = tuple(sorted(denied)[:MAX_EXAMPLES])
    return PrincipalBacktest(principal, len(learned.documents), learned.sizes, figures, examples,
                             tuple((pair, "; ".join(reasons[pair])) for pair in examples
                                   if pair in reasons))


def same_name(wanted: str, principal: Principal) -> bool:
    """The plainest reading of a probe's principal: its ARN or its name."""
    return wanted in (principal.arn, principal.name)


def check_probe(probe: Probe, learned: Mapping[Principal, Learned],
                names: Callable[[str, Principal], bool] = same_name) -> ProbeOutcome:
    """Ask a probe of the learned policy of every principal it names."""
    matched = tuple(sorted(p for p in learned if names(probe.principal, p)))
    request = Request(probe.action, probe.resource)
    decisions = {p: evaluate(learned[p].documents, request).decision for p in matched}
    return ProbeOutcome(
        probe, matched,
        allowed_by=tuple(p for p in matched if decisions[p] is Decision.ALLOW),
        conditional_by=tuple(p for p in matched if decisions[p] is Decision.UNKNOWN),
    )


def backtest(learned: Mapping[Principal, Learned], holdout: Iterable[Usage], *,
             principals: Iterable[Principal] | None = None, probes: Sequence[Probe] = (),
             malformed_probes: int = 0,
             names: Callable[[str, Principal], bool] = same_name) -> Backtest:
    """Replay the holdout against the learned policies.

    ``principals`` are the ones to report (default: every one learned or
    with held-out usages); held-out usages of others are passed over, and a
    reported principal with nothing learned has every call denied.
    ``probes`` are matched to learned principals by ``names`` (by default
    ARN or name; the command passes its own command-line matching).
    """
    by_principal: dict[Principal, list[Usage]] = {}
    for usage in holdout:
        by_principal.setdefault(usage.principal, []).append(usage)
    chosen = (sorted(set(principals)) if principals is not None
              else sorted({*learned, *by_principal}))
    return Backtest(
        principals=tuple(replay(p, learned.get(p, Learned()), by_principal.get(p, ()))
                         for p in chosen),
        probes=tuple(check_probe(probe, learned, names) for probe in probes),
        malformed_probes=malformed_probes,
    )


# --- the probe file ---------------------------------------------------------------

_PROBE_FIELDS = ("principal", "action", "resource")


_LINE_END = re.compile(r"\r\n|\r|\n")


def parse_probes(text: str) -> tuple[tuple[Probe, ...], tuple[BadLine, ...]]:
    """Probes from JSON Lines text, and the lines that could not be read.

    Each line is an object with string ``principal``, ``action`` and
    ``resource`` (none empty) and optionally a string ``why``; other keys are
    ignored. Blank lines are passed over silently. Lines end at LF, CR LF or
    CR only: JSON strings may hold U+2028 and the other characters
    ``splitlines`` would also end a line at.
    """
    probes: list[Probe] = []
    bad: list[BadLine] = []
    for number, line in enumerate(_LINE_END.split(text), start=1):
        if not line.strip():
            continue
        try:
            raw = read_json(line)
        except json.JSONDecodeError as exc:
            bad.append(BadLine(number, f"not JSON ({exc.msg} at column {exc.colno})"))
            continue
        except ValueError as exc:  # a 5,000-digit number, deep nesting, a lone surrogate
            bad.append(BadLine(number, f"not JSON ({exc})"))
            continue
        if not isinstance(raw, dict):
            bad.append(BadLine(number, "not a JSON object"))
            continue
        missing = [k for k in _PROBE_FIELDS if not (isinstance(raw.get(k), str) and raw[k])]
        if missing:
            bad.append(BadLine(number, f"needs a non-empty string {', '.join(missing)}"))
            continue
        why = raw.get("why", "")
        if not isinstance(why, str):
            bad.append(BadLine(number, "why is not a string"))
            continue
        probes.append(Probe(raw["principal"], raw["action"], raw["resource"], why, number))
    return tuple(probes), tuple(bad)


__all__ = [
    "MAX_EXAMPLES", "Backtest", "BadLine", "Figures", "Learned", "Pair", "PrincipalBacktest",
    "Probe", "ProbeOutcome", "Split", "backtest", "check_probe", "holdout_usages", "judge",
    "parse_probes", "replay", "request_of", "same_name", "secret_seen",
]
