"""``iamgen diff`` results as a terminal table, a Markdown report, or JSON.

The JSON form (:func:`report_dict`) is the single source: the Markdown
template reads it, and ``docs/diff-schema.md`` documents it. Output depends on
the input alone (sorted, no clock).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from ..findings import (
    DeniedFinding,
    DiffResult,
    GrantRef,
    NotObservableFinding,
    UnusedAction,
    UsedFinding,
    finding_catalog,
)
from ..grants.model import GrantedPolicy
from ..policy import MANAGED_POLICY_LIMIT, condition_block, policy_to_dict
from .json_text import sorted_json
from .templates import render_template, template_environment
from .text import iso_seconds, md_code, md_text
from .width import FIXED_WIDTH, together, wrap_lines

FORMATS = ("text", "markdown", "json")
"""The output formats of ``iamgen diff``."""

SCHEMA_VERSION = 1
"""Bumped only when a key changes meaning or disappears (adding keys is compatible)."""

TEXT_LIST_LIMIT = 12
"""How many entries each list shows in the terminal before "... and N more"."""

MARKDOWN_ROW_LIMIT = 60
"""Rows per Markdown table: keeps a report inside a pull request description (65,536
characters on GitHub) for most principals; JSON always lists everything."""


def _iso(moment: datetime | None) -> str | None:
    """:func:`iso_seconds`, or None (JSON null) for no time."""
    return None if moment is None else iso_seconds(moment)


def _grant(ref: GrantRef) -> dict[str, Any]:
    return {
        "policy": ref.policy,
        "kind": ref.kind,
        "policy_arn": ref.policy_arn or None,
        "statement": ref.statement,
        "sid": ref.sid or None,
        "pattern": ref.pattern,
        "resource": list(ref.resources),
        "not_resource": list(ref.not_resources),
        "conditional": ref.conditional,
    }


def _first_policy(grants: Sequence[GrantRef]) -> tuple[str | None, int | None]:
    if not grants:
        return None, None
    return grants[0].policy, grants[0].statement


def _used(finding: UsedFinding) -> dict[str, Any]:
    policy, statement = _first_policy(finding.grants)
    return {
        "code": finding.code,
        "action": finding.permission.action,
        "resource": finding.permission.resource,
        "conditions": condition_block(finding.permission.conditions) or None,
        "policy": policy,
        "statement": statement,
        "count": finding.count,
        "first_seen": _iso(finding.first_seen),
        "last_seen": _iso(finding.last_seen),
        "regions": list(finding.regions),
        "grants": [_grant(g) for g in finding.grants],
    }


def _denied(finding: DeniedFinding) -> dict[str, Any]:
    policy, statement = _first_policy(finding.grants)
    return {
        "code": finding.code,
        "action": finding.permission.action,
        "resource": finding.permission.resource,
        "count": finding.count,
        "first_seen": _iso(finding.first_seen),
        "last_seen": _iso(finding.last_seen),
        "regions": list(finding.regions),
        "decision_now": finding.now,
        "policy": policy,
        "statement": statement,
        "grants": [_grant(g) for g in finding.grants],
    }


def _resources(grants: Sequence[GrantRef]) -> list[str]:
    seen: list[str] = []
    for ref in grants:
        for entry in (*ref.resources, *(f"NotResource {r}" for r in ref.not_resources)):
            if entry not in seen:
                seen.append(entry)
    return seen


def _unused(finding: UnusedAction) -> dict[str, Any]:
    policy, statement = _first_policy(finding.grants)
    return {
        "code": finding.code,
        "action": finding.action,
        "service": finding.service,
        "access_level": finding.access_level,
        "resource": _resources(finding.grants),
        "policy": policy,
        "statement": statement,
        "blocked_by": finding.blocked_by,
        "grants": [_grant(g) for g in finding.grants],
    }


def _kept(finding: NotObservableFinding) -> dict[str, Any]:
    policy, statement = _first_policy(finding.grants)
    return {
        "code": finding.code,
        "action": finding.action,
        "reason": finding.reason,
        "visibility": finding.visibility,
        "note": finding.note,
        "source": finding.source,
        "resource": _resources(finding.grants),
        "policy": policy,
        "statement": statement,
        "grants": [_grant(g) for g in finding.grants],
    }


def _policy(policy: GrantedPolicy) -> dict[str, Any]:
    return {"name": policy.name, "label": policy.label, "kind": policy.kind.value,
            "arn": policy.arn, "group": policy.group,
            "statements": len(policy.document.statements)}


def report_dict(result: DiffResult, *, catalog_version: str,
                iamgen_version: str) -> dict[str, Any]:
    """One principal's diff as the documented JSON object (see docs/diff-schema.md)."""
    s = result.summary
    proposal = result.proposal
    codes = sorted({f.code for f in (*result.used_granted, *result.used_not_granted,
                                     *result.denied, *result.unused_services,
                                     *result.unused_actions, *result.not_observable)})
    kinds = finding_catalog()
    return {
        "schema_version": SCHEMA_VERSION,
        "iamgen_version": iamgen_version,
        "catalog_version": catalog_version,
        "principal": {"arn": result.principal.arn, "kind": result.principal.kind.value,
                      "name": result.principal.name},
        "grants": {
            "source": result.grants.source,
            "policies": [_policy(p) for p in result.grants.policies],
            "boundary": _policy(result.grants.boundary) if result.grants.boundary else None,
        },
        "window": {
            "since": _iso(result.window.since),
            "until": _iso(result.window.until),
            "first_event": _iso(result.window.first_event),
            "last_event": _iso(result.window.last_event),
            "days": round(result.window.days, 1) if result.window.days is not None else None,
        },
        "coverage": {
            "data_events_recorded": list(result.recorded_data_events),
            "data_events_not_recorded": list(result.unrecorded_data_events),
            "data_event_halves_not_recorded": list(result.unrecorded_halves),
        },
        "statements": [
            {"policy": u.policy, "statement": u.statement, "sid": u.sid or None,
             "granted_actions": u.granted, "used_actions": u.used,
             "removable_actions": u.removable, "kept_actions": u.kept,
             "denied_actions": u.denied, "verdict": u.verdict}
            for u in result.statements
        ],
        "used_granted": [_used(f) for f in result.used_granted],
        "unused_granted": {
            "services": [
                {"code": u.code, "service": u.service, "removable_actions": list(u.removable),
                 "kept_actions": list(u.kept), "policies": list(u.policies)}
                for u in result.unused_services
            ],
            "actions": [_unused(f) for f in result.unused_actions],
        },
        "used_not_granted": [_used(f) for f in result.used_not_granted],
        "denied": [_denied(f) for f in result.denied],
        "not_observable": [_kept(f) for f in result.not_observable],
        "proposed_policy": None if proposal is None else {
            "documents": [policy_to_dict(d) for d in proposal.documents],
            "sizes": list(proposal.sizes),
            "size_limit": MANAGED_POLICY_LIMIT,
            "actions": list(proposal.actions),
            "kept_not_observable": list(proposal.kept_not_observable),
            "notes": list(proposal.notes),
        },
        "summary": {
            "granted_actions": s.granted_actions,
            "granted_services": s.granted_services,
            "used_actions": s.used_actions,
            "used_services": s.used_services,
            "removable_actions": s.removable_actions,
            "removable_services": s.removable_services,
            "ineffective_actions": s.ineffective_actions,
            "not_observable_actions": s.not_observable_actions,
            "denied_actions": s.denied_actions,
            "used_not_granted_actions": s.used_not_granted_actions,
            "proposed_actions": s.proposed_actions,
            "removed_actions": s.removed_actions,
            "removed_share": round(s.removed_share, 4),
        },
        "findings": {
            code: {"title": kinds[code].title, "severity": kinds[code].severity,
                   "description": kinds[code].description}
            for code in codes
        },
        "notes": list(result.notes),
    }


def render_json(reports: Sequence[dict[str, Any]]) -> str:
    """One report as an object, several as an array; sorted keys, 2-space indent."""
    body: Any = reports[0] if len(reports) == 1 else list(reports)
    return sorted_json(body)


# --- text ------------------------------------------------------------------------


def _halves(halves: list[str]) -> str:
    """``group:read`` entries as the text report says them: ``group (no reads)``."""
    return ", ".join(f"{group} (no {kind}s)" for group, _, kind in
                     (half.rpartition(":") for half in halves))


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _listing(title: str, entries: Sequence[str], limit: int = TEXT_LIST_LIMIT) -> list[str]:
    if not entries:
        return []
    lines = [title]
    lines += [f"  {e}" for e in entries[:limit]]
    if len(entries) > limit:
        lines.append(f"  ... and {len(entries) - limit} more (--format markdown or json "
                     "lists all)")
    return lines


def _where(entry: dict[str, Any]) -> str:
    if entry.get("policy") is None:
        return ""
    sid = next((g["sid"] for g in entry["grants"] if g["sid"]), None)
    statement = f"statement {entry['statement']}" + (f" ({sid})" if sid else "")
    return "  " + together(f"[{entry['policy']}, {statement}]")


_DENIED_NOW = {
    "allow": "granted (another layer denied it: resource policy, SCP, session policy?)",
    "implicit_deny": "not granted",
    "explicit_deny": "denied by a Deny statement",
    "unknown": "depends on a condition",
}


def _blocked_by_service(blocked: Sequence[dict[str, Any]]) -> list[str]:
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in blocked:
        grouped.setdefault((entry["service"], entry["blocked_by"]), []).append(entry)
    lines = []
    for (service, by), entries in sorted(grouped.items()):
        policies = sorted({e["policy"] for e in entries if e["policy"]})
        lines.append(f"{service}: {len(entries)} actions blocked by the {by}"
                     + (f"  [{', '.join(policies)}]" if policies else ""))
    return lines


def _statement_line(use: dict[str, Any]) -> str:
    sid = f" ({use['sid']})" if use["sid"] else ""
    head = f"{use['verdict']:6} {use['policy']} statement {use['statement']}{sid}: "
    parts = [f"{use['used_actions']} of {use['granted_actions']} actions used"]
    if use["removable_actions"]:
        parts.append(f"{use['removable_actions']} removable")
    if use["kept_actions"]:
        parts.append(f"{use['kept_actions']} not observable")
    if use["denied_actions"]:
        parts.append(f"{use['denied_actions']} denied")
    return head + ", ".join(parts)


def _by_service(unused: Sequence[dict[str, Any]], report: dict[str, Any]) -> list[str]:
    """One line per service: how many unused actions, and which were used."""
    used: dict[str, set[str]] = {}
    for entry in report["used_granted"]:
        service, _, name = entry["action"].partition(":")
        used.setdefault(service, set()).add(name)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in unused:
        grouped.setdefault(entry["service"], []).append(entry)
    lines = []
    for service in sorted(grouped):
        entries = grouped[service]
        policies = sorted({e["policy"] for e in entries if e["policy"]})
        names = sorted(used.get(service, ()))
        shown = ", ".join(names[:4]) + (f", +{len(names) - 4}" if len(names) > 4 else "")
        lines.append(f"{service}: {len(entries)} unused"
                     + (f" (used: {shown})" if names else "")
                     + (f"  [{', '.join(policies)}]" if policies else ""))
    return lines


def render_text(report: dict[str, Any], width: int = FIXED_WIDTH) -> str:
    """The terminal summary of one principal: a table, then the lists that matter,
    in lines of at most ``width`` characters (an ARN is never cut)."""
    s = report["summary"]
    window = report["window"]
    principal = report["principal"]
    span = (f"{window['first_event']} .. {window['last_event']}"
            f" ({window['days']} days)" if window["first_event"] else "no events")
    grants = report["grants"]
    held = [f"{p['label']} ({p['kind']})" for p in grants["policies"]]
    if grants["boundary"]:
        held.append(f"{grants['boundary']['label']} (permissions boundary)")
    services = report["unused_granted"]["services"]
    unused = report["unused_granted"]["actions"]
    removable_in_used = [u for u in unused if u["code"] == "UNUSED_ACTION"
                         and u["service"] not in {v["service"] for v in services}]
    rows = [
        ("granted", s["granted_actions"], s["granted_services"]),
        ("used", s["used_actions"], s["used_services"]),
        ("removable", s["removable_actions"], s["removable_services"]),
        ("blocked anyway", s["ineffective_actions"], None),
        ("keep: not observable", s["not_observable_actions"], None),
        ("denied calls", s["denied_actions"], None),
        ("used, not granted", s["used_not_granted_actions"], None),
    ]
    lines = [
        f"{principal['kind']} {principal['name']}  {principal['arn']}",
        f"  trail window: {span}",
        f"  grants ({grants['source']}): {', '.join(held) if held else 'none'}",
        f"  IAM catalog {report['catalog_version']}, iamgen {report['iamgen_version']}",
        "",
        f"  {'':22} {'actions':>8} {'services':>9}",
    ]
    for label, actions, count in rows:
        lines.append(f"  {label:22} {actions:>8} {'' if count is None else count:>9}")
    proposal = report["proposed_policy"]
    lines.append("")
    if proposal and proposal["documents"]:
        sizes = ", ".join(f"{n:,}" for n in proposal["sizes"])
        lines.append(
            f"  proposed policy: {len(proposal['documents'])} document(s), {sizes} characters; "
            f"removes {s['removed_actions']} of {s['granted_actions']} granted actions "
            f"({_percent(s['removed_share'])})"
        )
    else:
        lines.append("  proposed policy: none (nothing used needs a grant)")
    coverage = report["coverage"]["data_events_not_recorded"]
    if coverage:
        lines.append(f"  trail records no data events for: {', '.join(coverage)}")
    halves = report["coverage"]["data_event_halves_not_recorded"]
    if halves:
        lines.append(f"  trail records only some data events for: {_halves(halves)}")
    lines.append("")
    lines += _listing("What to change, statement by statement",
                      [_statement_line(u) for u in report["statements"]])
    lines += _listing("Remove: services never used",
                      [f"{v['service']} ({len(v['removable_actions'])} actions"
                       + (f"; keep {', '.join(v['kept_actions'])}" if v["kept_actions"] else "")
                       + f")  [{', '.join(v['policies'])}]" for v in services])
    lines += _listing("Remove: unused actions of services in use",
                      _by_service(removable_in_used, report))
    lines += _listing("Remove: grants blocked anyway (boundary or Deny)",
                      _blocked_by_service([u for u in unused if u["code"] == "INEFFECTIVE_GRANT"]))
    lines += _listing("Keep: not observable in CloudTrail",
                      [f"{k['action']} ({k['reason']}){_where(k)}"
                       for k in report["not_observable"]])
    lines += _listing("Denied calls (never granted by iamgen)",
                      [f"{d['action']} on {d['resource']} x{d['count']}; today: "
                       + _DENIED_NOW.get(d["decision_now"], d["decision_now"])
                       for d in report["denied"]])
    lines += _listing("Used, not granted by identity policies (another path allowed it)",
                      [f"{u['action']} on {u['resource']} x{u['count']}"
                       for u in report["used_not_granted"]])
    conditional = [u for u in report["used_granted"] if u["code"] == "USED_CONDITIONAL"]
    lines += _listing("Used; grant depends on a condition iamgen cannot decide",
                      [f"{u['action']} on {u['resource']}{_where(u)}" for u in conditional])
    if proposal:
        lines += _listing("Proposal notes", list(proposal["notes"]))
    lines += _listing("Notes", list(report["notes"]))
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(wrap_lines(lines, width)) + "\n"


# --- markdown --------------------------------------------------------------------


def unused_by_service(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Unused actions of services in use, one row per service (for the Markdown report)."""
    whole = {v["service"] for v in report["unused_granted"]["services"]}
    used: dict[str, set[str]] = {}
    for entry in report["used_granted"]:
        used.setdefault(entry["action"].partition(":")[0], set()).add(entry["action"])
    rows: dict[str, dict[str, Any]] = {}
    for entry in report["unused_granted"]["actions"]:
        if entry["code"] != "UNUSED_ACTION" or entry["service"] in whole:
            continue
        row = rows.setdefault(entry["service"], {"service": entry["service"], "actions": [],
                                                 "used": sorted(used.get(entry["service"], ())),
                                                 "policies": set()})
        row["actions"].append(entry)
        row["policies"].update(f"{g['policy']} statement {g['statement']}"
                               for g in entry["grants"])
    return [dict(row, policies=sorted(row["policies"])) for _, row in sorted(rows.items())]


def blocked_by_service(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Grants blocked by the boundary or a Deny, one row per (service, blocker)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in report["unused_granted"]["actions"]:
        if entry["code"] != "INEFFECTIVE_GRANT":
            continue
        row = rows.setdefault((entry["service"], entry["blocked_by"]), {
            "service": entry["service"], "blocked_by": entry["blocked_by"], "count": 0,
            "policies": set()})
        row["count"] += 1
        row["policies"].update(g["policy"] for g in entry["grants"])
    return [dict(row, policies=sorted(row["policies"])) for _, row in sorted(rows.items())]


def render_markdown(reports: Sequence[dict[str, Any]], templates: Path | None = None) -> str:
    """A Markdown report for a pull request (template ``diff.md.j2``)."""
    env = template_environment(templates)
    env.globals["unused_by_service"] = unused_by_service
    env.globals["blocked_by_service"] = blocked_by_service
    env.globals["limit"] = MARKDOWN_ROW_LIMIT
    env.filters["percent"] = _percent
    env.filters["code"] = md_code  # in a table cell
    env.filters["code_line"] = partial(md_code, table=False)
    env.filters["text"] = md_text
    env.filters["policy_json"] = lambda doc: json.dumps(doc, indent=2, ensure_ascii=False)
    return render_template(env, "diff.md.j2", {"reports": list(reports)})
