"""Hardening conditions from the evidence: a pass over synthesized statements (pure).

A CloudTrail record proves facts about its call (:mod:`iamgen.mapping.facts`):
MFA, VPC endpoint, TLS, region, S3 encryption headers, Bedrock guardrail.
When every successful call a statement stands for carried a value a
condition admits, the condition cannot break the observed use, and it takes
the credentials' value away from anyone who uses them another way. The
families, their condition keys and the AWS pages behind them are data
(``data/hardening.toml``).

:func:`harden_statements` looks at each statement on its own: the usages it
stands for are the permissions (same conditions, an action it names, a
resource it matches) whose call facts were counted (:class:`FactCounts`). A
family's condition is added when

* its condition key applies to every action of the statement (global
  ``aws:`` keys always do; a service key must be among the catalog's
  condition keys of the action, and of every action a wildcard names);
* every call of those permissions carried a value the condition admits;
* for ``region``, some resource leaves the region open (``"*"``, an S3 ARN)
  and no resource names a region no call was made in (cross-region inference).

What each added condition rests on (:class:`Added`) and why each family asked
for was not added (:class:`FamilyOutcome`) are returned for the notes.
Statements keep the Sid they would have without hardening
(:func:`name_hardened`), so a hardened policy differs from the plain one by its
Condition blocks alone.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from itertools import product

from ..arn import action_matches, parse_arn, resource_matches, unescape
from ..catalog import Catalog
from ..grants.expand import expand_pattern
from ..model import (
    MANY_VALUES,
    Condition,
    Permission,
    Principal,
    PrincipalKind,
    Statement,
    Usage,
)
from .sids import name_statements

AUTO = "auto"


@dataclass(frozen=True, slots=True)
class ConditionSpec:
    """One condition a family adds (an entry of ``[[family.condition]]``)."""

    fact: str
    key: str
    operator: str
    admits: tuple[str, ...] | None  # None: any value but ""
    value_prefix: str
    context: str  # "value" or "true_if_present"
    shape: str  # "plain", "fixed_true" or "guardrail"
    missing: str
    actions: tuple[str, ...] = ()

    def admitted(self, value: str) -> bool:
        """Whether a call with this fact value satisfies the condition (never
        for MANY_VALUES: the values are not known one by one)."""
        if not value or value == MANY_VALUES:
            return False
        if self.admits is not None:
            return value in self.admits
        return value.startswith(self.value_prefix)

    def failure(self, value: str) -> str:
        """How a call with this fact value that fails the condition is described:
        the data file's ``missing`` ("without MFA"), or ``with VALUE`` when the
        condition takes observed values and this one fails it (a region the
        policy does not name, a KMS key id that is no ARN)."""
        return self.missing if self.admits is not None or not value else f"with {value}"

    def values(self, seen: Iterable[str]) -> tuple[str, ...]:
        """The condition's values for the observed (admitted) fact values."""
        if self.admits is not None:
            return tuple(sorted(self.admits))
        if self.shape == "fixed_true":
            return ("true",)
        seen = sorted(set(seen))
        if self.shape == "guardrail":
            arns = {guardrail_arn(v) for v in seen}
            return tuple(sorted({*arns, *(f"{arn}:*" for arn in arns)}))
        return tuple(seen)

    def context_value(self, value: str) -> str | None:
        """A call's request-context value of the key (None: the key is absent)."""
        if self.context == "true_if_present":
            return "true" if value else "false"
        return value or None


def guardrail_arn(value: str) -> str:
    """``arn:...:guardrail/ID:3`` -> ``arn:...:guardrail/ID`` (ARNs without a version stay)."""
    head, _, tail = value.rpartition(":")
    return head if head and tail.isdigit() and "guardrail/" in head else value


@dataclass(frozen=True, slots=True)
class Family:
    """A --harden family: its conditions and the AWS page behind them."""

    name: str
    title: str
    note: str
    source: str
    conditions: tuple[ConditionSpec, ...]
    people_only: bool = False
    region_open_only: bool = False


@cache
def families() -> Mapping[str, Family]:
    """The families of ``data/hardening.toml``, in file order (read on first use)."""
    text = resources.files("iamgen.data").joinpath("hardening.toml").read_text("utf-8")
    out: dict[str, Family] = {}
    for raw in tomllib.loads(text).get("family", []):
        specs = tuple(
            ConditionSpec(
                fact=str(c["fact"]), key=str(c["key"]), operator=str(c["operator"]),
                admits=None if c["admits"] == "any" else tuple(map(str, c["admits"])),
                value_prefix=str(c.get("value_prefix", "")), context=str(c["context"]),
                shape=str(c["shape"]), missing=str(c["missing"]),
                actions=tuple(map(str, c.get("actions", ()))))
            for c in raw["condition"])
        out[str(raw["name"])] = Family(
            str(raw["name"]), str(raw["title"]), str(raw["note"]), str(raw["source"]), specs,
            bool(raw.get("people_only", False)), bool(raw.get("region_open_only", False)))
    return out


def family_names() -> tuple[str, ...]:
    """Every family, in the order of the data file."""
    return tuple(families())


def hardening_keys() -> frozenset[str]:
    """Every condition key a family may add (lower-cased)."""
    return frozenset(c.key.lower() for f in families().values() for c in f.conditions)


def parse_harden(text: str | None) -> tuple[str, ...]:
    """``mfa,vpce`` -> the families asked for, in data order; ``auto`` is every family.

    Raises ValueError naming the unknown word and the choices.
    """
    if text is None or not text.strip():
        return ()
    known = family_names()
    asked: set[str] = set()
    for word in (w.strip().lower() for w in text.split(",")):
        if not word:
            continue
        if word == AUTO:
            asked.update(known)
        elif word in known:
            asked.add(word)
        else:
            raise ValueError(f"unknown --harden family {word!r}: choose from "
                             f"{', '.join((*known, AUTO))}")
    return tuple(name for name in known if name in asked)


# --- the evidence -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactCounts:
    """The successful calls of one permission and the facts they carried.

    ``facts`` are sorted ``(fact, value, count)``: for each call, each fact it
    has adds its count (``Usage.context``).
    """

    calls: int
    facts: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class HardenEvidence:
    """What hardening one principal's statements rests on.

    ``person``: the principal is a person's (an IAM user, root, or a role some
    call of which had MFA); ``facts``: per permission, its calls' facts.
    """

    person: bool
    facts: Mapping[Permission, FactCounts] = field(default_factory=dict, hash=False)


SSO_ROLE_PREFIX = "AWSReservedSSO_"
"""IAM Identity Center's roles: the sign-in's MFA is not recorded in their sessions."""


def is_person(principal: Principal, usages: Iterable[Usage]) -> bool:
    """IAM users and root are people; so is a role some call of which had MFA (not an
    IAM Identity Center role: whether its sign-in had MFA, the trail does not say)."""
    if principal.kind in (PrincipalKind.USER, PrincipalKind.ROOT):
        return True
    if principal.name.startswith(SSO_ROLE_PREFIX):
        return False
    return any(fact == "mfa" and value == "true" and count
               for usage in usages for fact, value, count in usage.context)


def evidence_of(principal: Principal, usages: Iterable[Usage]) -> HardenEvidence:
    """The principal's successful usages as hardening evidence (merged per permission)."""
    mine = [u for u in usages if not u.denied and u.principal == principal]
    calls: Counter[Permission] = Counter()
    facts: dict[Permission, Counter[tuple[str, str]]] = {}
    for usage in mine:
        calls[usage.permission] += usage.count
        counted = facts.setdefault(usage.permission, Counter())
        for fact, value, count in usage.context:
            counted[(fact, value)] += count
    table = {
        perm: FactCounts(calls[perm], tuple(sorted((f, v, c) for (f, v), c in facts[perm].items()
                                                   if c)))
        for perm in calls
    }
    return HardenEvidence(is_person(principal, mine), table)


def request_contexts(facts: Sequence[tuple[str, str, int]], limit: int = 256
                     ) -> list[tuple[dict[str, str], frozenset[str]]]:
    """The request contexts the calls behind ``facts`` may have had.

    Counts are per fact, not per combination, so every combination of the
    values seen is one context (at most ``limit``; past it, each value is
    varied alone against the first value of every other fact). Each is
    ``(context, absent)``: the hardening keys' values, and the hardening keys
    known to be absent.
    """
    by_fact: dict[str, list[str]] = {}
    for fact, value, count in facts:
        if count > 0:
            by_fact.setdefault(fact, []).append(value)
    names = sorted(by_fact)
    combos: list[dict[str, str]] = []
    size = 1
    for name in names:
        size *= len(by_fact[name])
    if size <= limit:
        combos = [dict(zip(names, values)) for values in product(*(by_fact[n] for n in names))]
    else:
        base = {name: by_fact[name][0] for name in names}
        combos = [base] + [{**base, name: value} for name in names
                           for value in by_fact[name][1:]]
    return [context_of(combo) for combo in combos]


def context_of(facts: Mapping[str, str]) -> tuple[dict[str, str], frozenset[str]]:
    """One call's facts as request context: (hardening key -> value, keys absent).

    A key whose fact the call does not have at all is absent too.
    """
    context: dict[str, str] = {}
    absent: set[str] = set()
    for family in families().values():
        for spec in family.conditions:
            value = spec.context_value(facts.get(spec.fact, ""))
            if value is None:
                absent.add(spec.key)
            else:
                context[spec.key] = value
    return context, frozenset(absent)


# --- the pass -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Added:
    """One condition added to one statement, and the calls it rests on."""

    family: str
    condition: Condition
    calls: int
    statement: Statement  # as hardened, before cutting and naming


@dataclass(frozen=True, slots=True)
class FamilyOutcome:
    """How one family asked for fared over a principal's statements.

    ``applicable``: statements its keys apply to; ``added``: those it was
    added to; ``lacking``/``calls``: over the applicable statements it was not
    added to, the calls without an admitted value and all their calls;
    ``reasons``: other reasons (counted by statement); ``partial``: conditions
    of the family left out of statements that got its others.
    """

    family: str
    statements: int
    applicable: int
    added: int
    lacking: int
    calls: int
    missing: str
    reasons: tuple[tuple[str, int], ...] = ()
    partial: tuple[str, ...] = ()


def _key_applies(key: str, actions: Sequence[str], catalog: Catalog) -> bool:
    if key.lower().startswith("aws:"):
        return True
    wanted = key.lower()
    for pattern in actions:
        names = expand_pattern(pattern, catalog)
        if not names:
            return False
        for name in names:
            info = catalog.action(name)
            if info is None or wanted not in {k.lower() for k in info.condition_keys}:
                return False
    return True


def _regions(resources_: Sequence[str]) -> tuple[bool, set[str]]:
    """(some resource leaves the region open, the regions resources name)."""
    open_ = False
    named: set[str] = set()
    for resource in resources_:
        parsed = parse_arn(resource) if resource != "*" else None
        if parsed is None or not parsed.region or "*" in parsed.region or "?" in parsed.region:
            open_ = True
        else:
            named.add(parsed.region)
    return open_, named


def _covered(stmt: Statement, by_action: Mapping[str, list[Permission]]) -> list[Permission]:
    """The evidence's permissions ``stmt`` stands for."""
    found: list[Permission] = []
    for pattern in stmt.actions:
        if "*" in pattern or "?" in pattern:
            candidates = [p for action, perms in by_action.items()
                          if action_matches(pattern, action) for p in perms]
        else:
            candidates = by_action.get(pattern.lower(), [])
        for perm in candidates:
            if perm.conditions != stmt.conditions:
                continue
            if perm.resource in stmt.resources or any(
                    resource_matches(r, unescape(perm.resource)) for r in stmt.resources):
                found.append(perm)
    return found


@dataclass
class _Tally:
    applicable: int = 0
    added: int = 0
    lacking: int = 0
    calls: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    partial: list[str] = field(default_factory=list)


def harden_statements(statements: Sequence[Statement], evidence: HardenEvidence,
                      asked: Sequence[str], catalog: Catalog
                      ) -> tuple[tuple[Statement, ...], tuple[Added, ...], tuple[FamilyOutcome, ...]]:
    """Add every asked family's conditions each statement's evidence fully supports."""
    by_action: dict[str, list[Permission]] = {}
    for perm in evidence.facts:
        by_action.setdefault(perm.action.lower(), []).append(perm)
    chosen = [families()[name] for name in asked]
    tallies = {family.name: _Tally() for family in chosen}
    out: list[Statement] = []
    added: list[Added] = []
    for stmt in statements:
        covered = _covered(stmt, by_action) if stmt.effect == "Allow" else []
        calls = sum(evidence.facts[p].calls for p in covered)
        seen: Counter[tuple[str, str]] = Counter()
        for perm in covered:
            for fact, value, count in evidence.facts[perm].facts:
                seen[(fact, value)] += count
        new: list[Condition] = []
        for family in chosen:
            tally = tallies[family.name]
            if not stmt.actions or not all(_key_applies(c.key, stmt.actions, catalog)
                                           for c in family.conditions):
                continue  # the keys do not apply here: not a statement of this family
            if family.region_open_only:
                open_, named = _regions(stmt.resources)
                if not open_:
                    continue  # every resource names its region: nothing to add
            tally.applicable += 1
            if not covered or calls == 0:
                tally.reasons["no call context recorded"] += 1
                continue
            if family.people_only and not evidence.person:
                tally.reasons["not a person's session (no call had MFA)"] += 1
                continue
            conditions: list[tuple[ConditionSpec, tuple[str, ...]]] = []
            short = 0
            left_out: list[tuple[ConditionSpec, int]] = []
            for spec in family.conditions:
                values = {v: c for (f, v), c in seen.items() if f == spec.fact and c}
                good = sum(c for v, c in values.items() if spec.admitted(v))
                if good == calls:
                    conditions.append((spec, spec.values(values)))
                else:
                    if spec is family.conditions[0]:  # the family's headline condition
                        short = calls - good
                    left_out.append((spec, calls - good))
            if family.region_open_only and conditions:
                regions = {v for (f, v), c in seen.items() if f == "region" and c}
                if not named <= regions:
                    tally.reasons["a resource is in a region no call was made in "
                                  "(cross-region inference)"] += 1
                    continue
            if not conditions:
                tally.lacking += short
                tally.calls += calls
                continue
            tally.added += 1
            tally.partial.extend(f"{spec.key} not added to a statement of "
                                 f"{', '.join(stmt.actions)}: {lacking} of {calls} call(s) "
                                 f"{spec.missing}" for spec, lacking in left_out)
            for spec, values in conditions:
                condition = Condition(spec.operator, spec.key, values)
                new.append(condition)
                added.append(Added(family.name, condition, calls, stmt))
        if new:
            hardened = replace(stmt, conditions=tuple(sorted({*stmt.conditions, *new})))
            added[len(added) - len(new):] = [replace(a, statement=hardened)
                                             for a in added[len(added) - len(new):]]
            out.append(hardened)
        else:
            out.append(stmt)
    outcomes = tuple(
        FamilyOutcome(family.name, len(statements), tallies[family.name].applicable,
                      tallies[family.name].added, tallies[family.name].lacking,
                      tallies[family.name].calls, family.conditions[0].missing,
                      tuple(sorted(tallies[family.name].reasons.items())),
                      tuple(tallies[family.name].partial))
        for family in chosen)
    return tuple(out), tuple(added), outcomes


def strip_hardening(stmt: Statement) -> Statement:
    """``stmt`` without the conditions hardening adds."""
    keys = hardening_keys()
    if not any(c.key.lower() in keys for c in stmt.conditions):
        return stmt
    return replace(stmt, conditions=tuple(c for c in stmt.conditions
                                          if c.key.lower() not in keys))


def name_hardened(statements: tuple[Statement, ...]) -> tuple[Statement, ...]:
    """:func:`~iamgen.synth.sids.name_statements`, each statement named as it would be
    without its hardening conditions: hardening changes no Sid."""
    stripped = [strip_hardening(s) for s in statements]
    if all(a is b for a, b in zip(stripped, statements)):
        return name_statements(statements)
    named = name_statements(tuple(stripped))
    sids = {replace(s, sid=""): s.sid for s in named}
    out = [replace(stmt, sid=sids[replace(plain, sid="")])
           for stmt, plain in zip(statements, stripped)]
    return tuple(sorted(out, key=lambda s: s.sid))


# --- what to say ----------------------------------------------------------------------


def _operator_text(condition: Condition) -> str:
    return f"{condition.operator} {condition.key} {', '.join(condition.values)}"


def hardening_notes(added: Sequence[Added], outcomes: Sequence[FamilyOutcome],
                    final: Sequence[Statement]) -> tuple[str, ...]:
    """Per family asked, in data order: each condition added, with the statements
    (by Sid) it landed in and the calls each rests on; then why the family, or one
    of its conditions, was not added where it applies."""
    order = {name: index for index, name in enumerate(family_names())}
    grouped: dict[tuple[str, Condition], list[tuple[str, int]]] = {}
    for item in added:
        plain = strip_hardening(item.statement)
        for sid in sorted({s.sid for s in final
                           if item.condition in s.conditions and s.actions == plain.actions
                           and strip_hardening(s).conditions == plain.conditions
                           and set(s.resources) <= set(plain.resources)}):
            grouped.setdefault((item.family, item.condition), []).append((sid, item.calls))
    notes: list[str] = []
    for outcome in sorted(outcomes, key=lambda o: order.get(o.family, len(order))):
        for (family, condition), where in sorted(grouped.items()):
            if family != outcome.family:
                continue
            spots = ", ".join(f"{sid} ({calls} call{'s' if calls != 1 else ''})"
                              for sid, calls in sorted(where))
            notes.append(f"harden {family}: {_operator_text(condition)} on {spots}: "
                         "every call supports it")
        notes.extend(_family_notes(outcome))
    return tuple(notes)


def _family_notes(outcome: FamilyOutcome) -> list[str]:
    head = f"harden {outcome.family}:"
    if outcome.applicable == 0:
        return [f"{head} not added: no statement it applies to"]
    notes = [f"{head} {partial}" for partial in outcome.partial]
    if outcome.added == outcome.applicable:
        return notes
    parts: list[str] = []
    if outcome.calls:
        parts.append(f"{outcome.lacking} of {outcome.calls} call(s) {outcome.missing}")
    parts.extend(f"{reason} ({count} statement(s))" if count > 1 else reason
                 for reason, count in outcome.reasons)
    if outcome.added == 0:
        return [f"{head} not added: {'; '.join(parts)}", *notes]
    return [f"{head} added to {outcome.added} of {outcome.applicable} statement(s) it applies "
            f"to; not to the others: {'; '.join(parts)}", *notes]
