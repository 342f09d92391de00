"""A pure IAM policy evaluator with an honest third answer: unknown.

API
---
``evaluate(policies, request, boundary=None) -> Evaluation``
    ``policies`` are identity policies (:class:`NamedPolicy`, or bare
    :class:`~iamgen.model.PolicyDocument` named ``policy-1``, ``policy-2``...);
    ``boundary`` is the permissions boundary, if any. The result's
    ``decision`` is a :class:`Decision`; ``matched`` lists every statement
    that certainly applies to the request and ``undecided`` every statement
    whose applicability depends on something the request does not say, each as
    a :class:`StatementRef` (policy name, 0-based statement index, Sid,
    effect, whether it sits in the boundary).
``allows(policy, action, resource="*", context=None, boundary=None) -> bool | None``
    True when allowed, False when denied (explicitly or implicitly), None
    when the answer depends on unknown request context.
``Request(action, resource="*", context={}, absent=frozenset(), complete=False)``
    ``context`` maps condition keys (case-insensitive) to their values.
    A key not in ``context`` is *unknown* unless it is listed in ``absent`` or
    ``complete`` is true, in which case it is known to be missing from the
    request. ``resource`` is the ARN the action acts on, or ``"*"``.

Rules implemented (IAM User Guide, "Policy evaluation logic" and "IAM JSON
policy elements" pages):

* An explicit Deny in any identity policy or the boundary wins. Otherwise the
  request is allowed only when an identity policy allows it *and*, when a
  boundary is given, the boundary allows it too (an intersection).
  Anything else is an implicit deny.
* Action/NotAction match case-insensitively with ``*`` and ``?``;
  Resource/NotResource match ARNs case-sensitively, each of the first five
  colon-separated parts on its own (:mod:`iamgen.arn`).
* Conditions: String*, Arn*, Numeric*, Date*, Bool, BinaryEquals,
  IpAddress/NotIpAddress, Null, the ``IfExists`` suffix and the
  ``ForAnyValue:``/``ForAllValues:`` set prefixes. Operators are ANDed,
  keys under one operator ANDed, values of one key ORed (NORed for negated
  operators). A key known to be absent makes positive operators false,
  negated operators true, ``IfExists`` true, ``ForAllValues`` true and
  ``ForAnyValue`` false. An unknown key makes the condition unknown.
* Policy variables (``${aws:username}``, ``${key, 'default'}``) in Resource
  and in string/ARN condition values, for ``Version`` 2012-10-17 only:
  resolved from the context; a variable known to be unresolvable makes that
  entry match nothing; an unknown one makes the match unknown (unless the
  entry cannot match whatever the value). ``${*}``, ``${?}`` and ``${$}``
  are the literal characters.
* An operator iamgen does not know makes its condition unknown, never a
  silent yes or no.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

from ..arn import action_matches, resource_matches, wildcard_match
from ..model import Condition, PolicyDocument, Statement

Tri = bool | None
"""Three-valued truth: True, False, or None for unknown."""

VARIABLES_VERSION = "2012-10-17"


class Decision(StrEnum):
    """The outcome of evaluating a request.

    ``IMPLICIT_DENY`` means certainly not allowed with no Deny certainly
    applying; a Deny listed in ``Evaluation.undecided`` may still apply.
    ``UNKNOWN`` means the request may or may not be allowed.
    """

    ALLOW = "allow"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """A policy document and the name findings should call it by."""

    name: str
    document: PolicyDocument


@dataclass(frozen=True, slots=True)
class Request:
    """One (action, resource) request and what is known of its context."""

    action: str
    resource: str = "*"
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    absent: frozenset[str] = frozenset()
    complete: bool = False

    def __post_init__(self) -> None:
        normalized = {
            key.lower(): (value,) if isinstance(value, str) else tuple(value)
            for key, value in self.context.items()
        }
        object.__setattr__(self, "context", MappingProxyType(normalized))
        object.__setattr__(self, "absent", frozenset(k.lower() for k in self.absent))

    def lookup(self, key: str) -> tuple[str, ...] | None:
        """The key's values; ``()`` when known absent; None when unknown."""
        lowered = key.lower()
        if lowered in self.context:
            return self.context[lowered]
        if self.complete or lowered in self.absent:
            return ()
        return None


@dataclass(frozen=True, slots=True, order=True)
class StatementRef:
    """Which statement of which policy: ``index`` is 0-based."""

    policy: str
    index: int
    sid: str
    effect: str
    boundary: bool = False


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A decision and the statements behind it."""

    decision: Decision
    matched: tuple[StatementRef, ...] = ()
    undecided: tuple[StatementRef, ...] = ()

    @property
    def allowed(self) -> Tri:
        """True, False, or None when the decision is unknown."""
        if self.decision is Decision.UNKNOWN:
            return None
        return self.decision is Decision.ALLOW

    @property
    def granting(self) -> tuple[StatementRef, ...]:
        """The identity-policy Allow statements that certainly apply."""
        return tuple(r for r in self.matched if r.effect == "Allow" and not r.boundary)


# --- three-valued logic -------------------------------------------------------


def _any(values: Iterable[Tri]) -> Tri:
    unknown = False
    for value in values:
        if value is True:
            return True
        if value is None:
            unknown = True
    return None if unknown else False


def _all(values: Iterable[Tri]) -> Tri:
    unknown = False
    for value in values:
        if value is False:
            return False
        if value is None:
            unknown = True
    return None if unknown else True


def _not(value: Tri) -> Tri:
    return None if value is None else not value


# --- policy variables ---------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_KEY_AND_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?$")
_LITERALS = {"*": "*", "?": "?", "$": "$"}

# A pattern is a tuple of pieces: ("glob", text) is policy text in which * and ?
# may be wildcards; ("lit", text) matches itself; ("any", "") stands for an
# unknown variable value; ("fail", "") makes the entry match nothing.
Piece = tuple[str, str]


def _pieces(pattern: str, request: Request, variables: bool) -> tuple[Piece, ...]:
    if not variables or "${" not in pattern:
        return (("glob", pattern),)
    out: list[Piece] = []
    position = 0
    for found in _VARIABLE.finditer(pattern):
        if found.start() > position:
            out.append(("glob", pattern[position : found.start()]))
        out.append(_resolve(found.group(1), request))
        position = found.end()
    if position < len(pattern):
        out.append(("glob", pattern[position:]))
    return tuple(out)


def _resolve(inner: str, request: Request) -> Piece:
    if inner in _LITERALS:
        return ("lit", _LITERALS[inner])
    parsed = _KEY_AND_DEFAULT.match(inner)
    if parsed is None:
        return ("fail", "")
    key, default = parsed.group(1), parsed.group(2)
    values = request.lookup(key)
    if values is None:
        return ("any", "")
    if len(values) == 1:
        return ("lit", values[0])
    if default is not None:
        return ("lit", default.replace("''", "'"))
    return ("fail", "")


@lru_cache(maxsize=8192)
def _glob_regex(text: str, wildcards: bool) -> str:
    if not wildcards:
        return re.escape(text)
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)


def _regex(pieces: Sequence[Piece], wildcards: bool) -> str:
    parts = []
    for kind, text in pieces:
        if kind == "glob":
            parts.append(_glob_regex(text, wildcards))
        elif kind == "lit":
            parts.append(re.escape(text))
        else:
            parts.append(".*")
    return "".join(parts)


def _arn_segments(pieces: Sequence[Piece]) -> list[list[Piece]]:
    """Split pieces into ARN parts at colons of policy text (six parts at most)."""
    segments: list[list[Piece]] = [[]]
    for kind, text in pieces:
        if kind != "glob" or len(segments) == 6:
            segments[-1].append((kind, text))
            continue
        chunks = text.split(":", 6 - len(segments))
        segments[-1].append(("glob", chunks[0]))
        for chunk in chunks[1:]:
            segments.append([("glob", chunk)])
    return segments


def _match(
    pattern: str,
    value: str,
    request: Request,
    *,
    variables: bool,
    wildcards: bool,
    case_sensitive: bool = True,
    arn: bool = False,
) -> Tri:
    """Whether ``pattern`` (policy text) matches ``value``, in three values."""
    if not variables or "${" not in pattern:
        if arn:
            return resource_matches(pattern, value)
        if wildcards:
            return wildcard_match(pattern, value, case_sensitive=case_sensitive)
        return pattern == value if case_sensitive else pattern.lower() == value.lower()
    pieces = _pieces(pattern, request, variables)
    if any(kind == "fail" for kind, _ in pieces):
        return False
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    if arn and pattern != "*":
        segments = _arn_segments(pieces)
        parts = value.split(":", 5)
        if len(segments) == 6 and len(parts) == 6:
            matched = all(
                re.fullmatch(_regex(seg, wildcards), part, flags) is not None
                for seg, part in zip(segments, parts)
            )
        else:
            matched = re.fullmatch(_regex(pieces, wildcards), value, flags) is not None
    else:
        matched = re.fullmatch(_regex(pieces, wildcards), value, flags) is not None
    if not matched:
        return False
    return None if any(kind == "any" for kind, _ in pieces) else True


# --- condition operators ------------------------------------------------------

Matcher = Callable[[str, str, Request, bool], Tri]
"""(policy value, context value, request, variables allowed) -> match."""


def _string(wildcards: bool, case_sensitive: bool) -> Matcher:
    def match(policy: str, actual: str, request: Request, variables: bool) -> Tri:
        return _match(
            policy,
            actual,
            request,
            variables=variables,
            wildcards=wildcards,
            case_sensitive=case_sensitive,
        )

    return match


def _arn(policy: str, actual: str, request: Request, variables: bool) -> Tri:
    return _match(policy, actual, request, variables=variables, wildcards=True, arn=True)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> Matcher:
    def match(policy: str, actual: str, request: Request, variables: bool) -> Tri:
        want, have = _number(policy), _number(actual)
        if want is None or have is None:
            return False
        return compare(have, want)

    return match


def _date(text: str) -> datetime | None:
    stripped = text.strip()
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", stripped):
            return datetime.fromtimestamp(float(stripped), tz=UTC)
        moment = datetime.fromisoformat(stripped)
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _dated(compare: Callable[[datetime, datetime], bool]) -> Matcher:
    def match(policy: str, actual: str, request: Request, variables: bool) -> Tri:
        want, have = _date(policy), _date(actual)
        if want is None or have is None:
            return False
        return compare(have, want)

    return match


def _bool(policy: str, actual: str, request: Request, variables: bool) -> Tri:
    return policy.strip().lower() == actual.strip().lower()


def _binary(policy: str, actual: str, request: Request, variables: bool) -> Tri:
    return policy == actual


def _ip(policy: str, actual: str, request: Request, variables: bool) -> Tri:
    try:
        network = ipaddress.ip_network(policy.strip(), strict=False)
        address = ipaddress.ip_address(actual.strip())
    except ValueError:
        return False
    return address.version == network.version and address in network


# base operator (lower-case) -> (matcher, negated, takes policy variables)
_OPERATORS: dict[str, tuple[Matcher, bool, bool]] = {
    "stringequals": (_string(False, True), False, True),
    "stringnotequals": (_string(False, True), True, True),
    "stringequalsignorecase": (_string(False, False), False, True),
    "stringnotequalsignorecase": (_string(False, False), True, True),
    "stringlike": (_string(True, True), False, True),
    "stringnotlike": (_string(True, True), True, True),
    "arnequals": (_arn, False, True),
    "arnlike": (_arn, False, True),
    "arnnotequals": (_arn, True, True),
    "arnnotlike": (_arn, True, True),
    "numericequals": (_numeric(lambda a, b: a == b), False, False),
    "numericnotequals": (_numeric(lambda a, b: a == b), True, False),
    "numericlessthan": (_numeric(lambda a, b: a < b), False, False),
    "numericlessthanequals": (_numeric(lambda a, b: a <= b), False, False),
    "numericgreaterthan": (_numeric(lambda a, b: a > b), False, False),
    "numericgreaterthanequals": (_numeric(lambda a, b: a >= b), False, False),
    "dateequals": (_dated(lambda a, b: a == b), False, False),
    "datenotequals": (_dated(lambda a, b: a == b), True, False),
    "datelessthan": (_dated(lambda a, b: a < b), False, False),
    "datelessthanequals": (_dated(lambda a, b: a <= b), False, False),
    "dategreaterthan": (_dated(lambda a, b: a > b), False, False),
    "dategreaterthanequals": (_dated(lambda a, b: a >= b), False, False),
    "bool": (_bool, False, False),
    "binaryequals": (_binary, False, False),
    "ipaddress": (_ip, False, False),
    "notipaddress": (_ip, True, False),
}


def _split_operator(operator: str) -> tuple[str | None, str, bool]:
    """(set prefix "any"/"all"/None, base operator lower-cased, IfExists)."""
    lowered = operator.lower()
    qualifier = None
    for prefix, name in (("foranyvalue:", "any"), ("forallvalues:", "all")):
        if lowered.startswith(prefix):
            qualifier, lowered = name, lowered[len(prefix) :]
    if_exists = lowered.endswith("ifexists")
    if if_exists:
        lowered = lowered[: -len("ifexists")]
    return qualifier, lowered, if_exists


def condition_holds(cond: Condition, request: Request, *, variables: bool = True) -> Tri:
    """Whether one condition clause holds for ``request`` (None: cannot tell)."""
    qualifier, base, if_exists = _split_operator(cond.operator)
    values = request.lookup(cond.key)
    if base == "null" and qualifier is None and not if_exists:
        if values is None:
            return None
        present = len(values) > 0
        return _any((v.strip().lower() == "true") != present for v in cond.values)
    spec = _OPERATORS.get(base)
    if spec is None:
        return None
    matcher, negated, takes_variables = spec
    if values is None:
        return None
    if not values:
        if if_exists or qualifier == "all":
            return True
        if qualifier == "any":
            return False
        return negated

    def positive(actual: str) -> Tri:
        return _any(matcher(p, actual, request, variables and takes_variables) for p in cond.values)

    if qualifier == "all":
        return _all(_not(positive(v)) if negated else positive(v) for v in values)
    if qualifier == "any":
        return _any(_not(positive(v)) if negated else positive(v) for v in values)
    outcome = _any(positive(v) for v in values)
    return _not(outcome) if negated else outcome


# --- statements and policies --------------------------------------------------


def statement_applies(stmt: Statement, request: Request, *, variables: bool = True) -> Tri:
    """Whether a statement's Action, Resource and Condition all match ``request``."""
    if not covers_action(stmt, request.action):
        return False
    return _resource_and_conditions(stmt, request, variables)


def covers_action(stmt: Statement, action: str) -> bool:
    """Whether the statement's Action (or NotAction) element covers ``action``
    (case-insensitive; a statement with neither covers nothing)."""
    if stmt.actions:
        return any(action_matches(p, action) for p in stmt.actions)
    if stmt.not_actions:
        return not any(action_matches(p, action) for p in stmt.not_actions)
    return False


def _resource_and_conditions(stmt: Statement, request: Request, variables: bool) -> Tri:
    """:func:`statement_applies` for a statement whose Action element covers the request's."""
    if stmt.resources:
        resource = _any(
            _match(p, request.resource, request, variables=variables, wildcards=True, arn=True)
            for p in stmt.resources
        )
    elif stmt.not_resources:
        resource = _not(
            _any(
                _match(p, request.resource, request, variables=variables, wildcards=True, arn=True)
                for p in stmt.not_resources
            )
        )
    else:
        return False
    if resource is False:
        return False
    conditions = _all(condition_holds(c, request, variables=variables) for c in stmt.conditions)
    return _all((resource, conditions))


class _ActionIndex:
    """Which statements of a policy document cover an action, each action's
    answer worked out once: a review evaluates every usage of a principal
    against the same few documents, and usages share few actions. Keyed by
    the document's identity, holding the document so that no other takes
    its id while it is kept."""

    _LIMIT = 1024  # documents kept; then forgotten all at once

    def __init__(self) -> None:
        self._kept: dict[int, tuple[PolicyDocument, dict[str, tuple[int, ...]]]] = {}

    def statements(self, document: PolicyDocument, action: str) -> tuple[int, ...]:
        """The indexes of ``document``'s statements that cover ``action``."""
        entry = self._kept.get(id(document))
        if entry is None or entry[0] is not document:
            if len(self._kept) >= self._LIMIT:
                self._kept.clear()
            entry = self._kept[id(document)] = (document, {})
        by_action = entry[1]
        found = by_action.get(action)
        if found is None:
            found = by_action[action] = tuple(
                index for index, stmt in enumerate(document.statements)
                if covers_action(stmt, action))
        return found


_ACTION_INDEX = _ActionIndex()


def _named(policies: Sequence[NamedPolicy | PolicyDocument]) -> list[NamedPolicy]:
    return [
        p if isinstance(p, NamedPolicy) else NamedPolicy(f"policy-{i}", p)
        for i, p in enumerate(policies, start=1)
    ]


def _scan(
    policy: NamedPolicy, request: Request, boundary: bool
) -> Iterable[tuple[StatementRef, Tri]]:
    document = policy.document
    variables = document.version == VARIABLES_VERSION
    for index in _ACTION_INDEX.statements(document, request.action):
        stmt = document.statements[index]
        applies = _resource_and_conditions(stmt, request, variables)
        if applies is not False:
            yield StatementRef(policy.name, index, stmt.sid, stmt.effect, boundary), applies


def evaluate(
    policies: Sequence[NamedPolicy | PolicyDocument],
    request: Request,
    boundary: NamedPolicy | PolicyDocument | None = None,
) -> Evaluation:
    """Evaluate ``request`` against identity policies and an optional boundary."""
    found: list[tuple[StatementRef, Tri]] = []
    for policy in _named(policies):
        found.extend(_scan(policy, request, boundary=False))
    if boundary is not None:
        named = boundary if isinstance(boundary, NamedPolicy) else NamedPolicy("boundary", boundary)
        found.extend(_scan(named, request, boundary=True))
    matched = tuple(ref for ref, applies in found if applies)
    undecided = tuple(ref for ref, applies in found if applies is None)

    def allowed_by(in_boundary: bool) -> Tri:
        return _any(
            applies
            for ref, applies in found
            if ref.effect == "Allow" and ref.boundary is in_boundary
        )

    if any(ref.effect == "Deny" for ref in matched):
        return Evaluation(Decision.EXPLICIT_DENY, matched, undecided)
    allowed = allowed_by(False)
    if boundary is not None:
        allowed = _all((allowed, allowed_by(True)))
    if allowed is False:
        return Evaluation(Decision.IMPLICIT_DENY, matched, undecided)
    if allowed is None or any(ref.effect == "Deny" for ref in undecided):
        return Evaluation(Decision.UNKNOWN, matched, undecided)
    return Evaluation(Decision.ALLOW, matched, undecided)


def allows(
    policy: NamedPolicy | PolicyDocument | Sequence[NamedPolicy | PolicyDocument],
    action: str,
    resource: str = "*",
    context: Mapping[str, str | Sequence[str]] | None = None,
    *,
    boundary: NamedPolicy | PolicyDocument | None = None,
    complete: bool = False,
) -> Tri:
    """True if allowed, False if denied, None if it depends on unknown context."""
    policies = [policy] if isinstance(policy, (NamedPolicy, PolicyDocument)) else list(policy)
    values = {
        key: (value,) if isinstance(value, str) else tuple(value)
        for key, value in (context or {}).items()
    }
    request = Request(action, resource, values, complete=complete)
    return evaluate(policies, request, boundary).allowed
