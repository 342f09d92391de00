"""The AI security lens rendered: the review's section in text, Markdown and JSON.

Reads only an :class:`iamgen.ai_lens.AiLens`; the catalog (titles, notes,
what the trail cannot prove) comes from ``data/ai_lens.toml``. The JSON keys
are documented in ``docs/review-schema.md``.
"""

from __future__ import annotations

from typing import Any

from ..ai_lens import AiFinding, AiLens, lens_catalog
from .json_text import sorted_json
from .text import iso_seconds, md_code, md_text
from .width import together, wrap_lines

AI_LENS_SCHEMA_VERSION = 1
"""Version of the ``ai_lens`` object (``review-ai.json``) and of each ``review.ai``."""

AI_FILE = "review-ai.json"
"""The whole lens, written beside review.json by ``review --output-dir``."""


def finding_dict(finding: AiFinding) -> dict[str, Any]:
    """One finding as JSON."""
    kind = lens_catalog().kinds[finding.code]
    return {
        "code": finding.code,
        "severity": finding.severity,
        "title": kind.title,
        "informational": kind.informational,
        "cannot_prove": kind.cannot_prove or None,
        "principal": finding.principal,
        "subject": finding.subject,
        "detail": finding.detail,
        "evidence": {
            "count": finding.evidence.count,
            "first_seen": iso_seconds(finding.evidence.first_seen),
            "last_seen": iso_seconds(finding.evidence.last_seen),
            "example_event_id": finding.evidence.example_event_id or None,
        },
    }


def lens_dict(lens: AiLens) -> dict[str, Any]:
    """The whole lens as JSON (``review-ai.json``)."""
    kinds = lens_catalog().kinds
    return {
        "schema_version": AI_LENS_SCHEMA_VERSION,
        "facts_recorded": lens.facts_recorded,
        "signals_read": lens.signals_read,
        "services": sorted(lens_catalog().prefixes),
        "users": [{"principal": u.principal.arn, "kind": u.principal.kind.value,
                   "person": u.person, "services": list(u.services), "calls": u.calls}
                  for u in lens.users],
        "findings": [finding_dict(f) for f in lens.findings],
        "catalog": {code: {"title": kinds[code].title, "severity": kinds[code].severity,
                           "note": kinds[code].note, "source": kinds[code].source,
                           "cannot_prove": kinds[code].cannot_prove or None}
                    for code in sorted({f.code for f in lens.findings})},
    }


def render_ai_json(lens: AiLens) -> str:
    """``review-ai.json``: the whole lens (sorted keys, 2-space indent)."""
    return sorted_json(lens_dict(lens))


def principal_ai(lens: AiLens, arn: str) -> dict[str, Any]:
    """One principal's part of the lens, for its entry in review.json."""
    user = next((u for u in lens.users if u.principal.arn == arn), None)
    return {
        "schema_version": AI_LENS_SCHEMA_VERSION,
        "uses_ai_services": user is not None,
        "services": list(user.services) if user else [],
        "calls": user.calls if user else 0,
        "person": user.person if user else None,
        "findings": [finding_dict(f) for f in lens.findings if f.principal == arn],
    }


def _when(finding: AiFinding) -> str:
    evidence = finding.evidence
    first, last = iso_seconds(evidence.first_seen), iso_seconds(evidence.last_seen)
    span = first if first == last else f"{first} .. {last}"
    example = f", e.g. eventID {evidence.example_event_id}" if evidence.example_event_id else ""
    return (f"{evidence.count} call{'' if evidence.count == 1 else 's'}, {span}{example}")


def _caveats(lens: AiLens) -> list[str]:
    out = []
    if not lens.facts_recorded:
        out.append("no call facts recorded (a saved graph): MFA, guardrail, cross-account "
                   "and encryption findings need the trail itself")
    if not lens.signals_read:
        out.append("no trail read (a saved graph): logging changes and resources opened to "
                   "everyone need the trail itself")
    return out


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if arn.startswith("arn:") and "/" in arn else arn


def text_lines(lens: AiLens, width: int) -> list[str]:
    """The section in the terminal table's style (lines of at most ``width``)."""
    kinds = lens_catalog().kinds
    services = sorted({s for u in lens.users for s in u.services})
    lines = ["", f"AI security lens: {len(lens.users)} principal(s) use AI services"
             + (f" ({', '.join(services)})" if services else "")]
    lines += [f"  {_short(u.principal.arn)} ({u.principal.kind.value}"
              f"{', person' if u.person else ''}): {', '.join(u.services)}, {u.calls} calls"
              for u in lens.users]
    lines += [f"  note: {caveat}" for caveat in _caveats(lens)]
    if not lens.findings:
        lines.append("  no AI findings")
    for finding in lens.findings:
        kind = kinds[finding.code]
        lines.append(f"  {finding.severity.upper()} {finding.code}: {kind.title}")
        lines.append(f"    by {finding.principal} on {together(finding.subject)}"
                     + (f": {finding.detail}" if finding.detail else ""))
        lines.append(f"    {_when(finding)}")
        if kind.cannot_prove:
            lines.append(f"    informational: {kind.cannot_prove}")
    return wrap_lines(lines, width)


def markdown_lines(lens: AiLens) -> list[str]:
    """The section as Markdown (a table of AI users, then the findings)."""
    kinds = lens_catalog().kinds
    out = ["", "## AI security lens", ""]
    out.append(f"{len(lens.users)} principal(s) use AI services; "
               f"{len(lens.findings)} finding(s), most severe first. Findings marked "
               "*informational* rest on what the trail cannot show.")
    for caveat in _caveats(lens):
        out += ["", f"Note: {md_text(caveat)}."]
    if lens.users:
        out += ["", "| principal | kind | person | AI services | calls |", "|---|---|---|---|---:|"]
        out += [f"| {md_code(u.principal.name)} | {u.principal.kind.value} | "
                f"{'yes' if u.person else 'no'} | {md_text(', '.join(u.services))} | "
                f"{u.calls} |"
                for u in lens.users]
    if lens.findings:
        out.append("")
        for finding in lens.findings:
            kind = kinds[finding.code]
            line = (f"- **{finding.code}** ({finding.severity}): {md_text(kind.title)}: by "
                    f"{md_code(finding.principal, table=False)} on "
                    f"{md_code(finding.subject, table=False)}"
                    + (f": {md_text(finding.detail)}" if finding.detail else "")
                    + f". {md_text(_when(finding))}.")
            if kind.cannot_prove:
                line += f" *Informational: {md_text(kind.cannot_prove)}.*"
            out.append(line)
    return out
