"""The fleet review rendered: terminal table, Markdown, JSON and an SVG chart.

Each renderer reads only a :class:`iamgen.review.Review`; the JSON is the
diff's schema (:func:`iamgen.render.report.report_dict`), one entry per
principal, with a ``review`` object added. The AI security lens, when made,
is its own section of the text and Markdown (:mod:`iamgen.render.ai_lens`; left out
when no principal uses AI services and nothing was found), and each principal's
part of it is ``review.ai`` in the JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from ..ai_lens import AiLens
from ..findings import ObservedWindow
from ..review import Review, ReviewEntry
from .ai_lens import markdown_lines as ai_markdown_lines
from .ai_lens import principal_ai
from .ai_lens import text_lines as ai_text_lines
from .json_text import sorted_json
from .report import report_dict
from .text import iso_seconds, md_code, md_text
from .width import FIXED_WIDTH, together, wrap, wrap_cell, wrap_lines

REVIEW_SCHEMA_VERSION = 1
"""Version of the ``review`` object added to each diff report."""


def entry_dict(entry: ReviewEntry, *, catalog_version: str, iamgen_version: str,
               ai: AiLens | None = None) -> dict[str, Any]:
    """The diff's JSON object for one principal, with a ``review`` object added
    (and in it, when the AI lens was made, the principal's part of it as ``ai``)."""
    report = report_dict(entry.result, catalog_version=catalog_version,
                         iamgen_version=iamgen_version)
    report["review"] = {
        "schema_version": REVIEW_SCHEMA_VERSION,
        "rank": entry.rank,
        "unused_principal": entry.unused,
        "seen_in_trail": entry.seen,
        "removable_grants": entry.removable,
        "removed_share": round(entry.share, 4),
        "risk_codes": list(entry.risk_codes),
        "risky_grants": [
            {"code": r.code, "severity": r.severity, "title": r.title, "policy": r.policy,
             "statement": r.statement, "sid": r.sid or None, "actions": list(r.actions),
             "resource": list(r.resources), "conditional": r.conditional}
            for r in entry.risks
        ],
    }
    if ai is not None:
        report["review"]["ai"] = principal_ai(ai, entry.principal.arn)
    return report


def render_review_json(review_: Review, *, catalog_version: str, iamgen_version: str) -> str:
    """A JSON array of diff reports, most excessive first (sorted keys, 2-space indent)."""
    body = [entry_dict(e, catalog_version=catalog_version, iamgen_version=iamgen_version,
                       ai=review_.ai)
            for e in review_.entries]
    return sorted_json(body)


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _status(entry: ReviewEntry) -> str:
    return "UNUSED" if entry.unused else "active"


def _rows(review_: Review) -> list[tuple[str, ...]]:
    return [(str(e.rank), e.principal.name, e.principal.kind.value, _status(e),
             str(e.result.summary.granted_actions), str(e.result.summary.used_actions),
             str(e.removable), _percent(e.share), ", ".join(e.risk_codes) or "-")
            for e in review_.entries]


_MIN_RISK_COLUMN = 24
"""Narrower than this, the risky grants column goes under each row instead."""
_HEADER = ("#", "principal", "kind", "status", "granted", "used", "removable", "removed",
           "risky grants")


def render_review_text(review_: Review, width: int = FIXED_WIDTH) -> str:
    """The terminal table, then the risky grants of each principal, in lines of
    at most ``width`` characters (the last column wraps; an ARN is never cut)."""
    rows = _rows(review_)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(_HEADER)]
    numeric = {0, 4, 5, 6, 7}
    # The last column (risky grants) gets what the others leave, wrapping in it;
    # when that is too little, it goes on its own lines under each row.
    before = sum(widths[:-1]) + 2 * (len(widths) - 1)
    beside = width - before >= _MIN_RISK_COLUMN
    widths[-1] = min(widths[-1], width - before) if beside else 0

    def line(cells: Sequence[str], data: bool = True) -> list[str]:
        *first, last = cells
        head = "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(first, widths)))
        if not beside:
            shown = data and last != "-"
            return [head.rstrip(), *(wrap(f"   {_HEADER[-1]}: {last}", width) if shown else ())]
        parts = wrap_cell(last, widths[-1])
        return [f"{head}  {parts[0]}".rstrip(),
                *(f"{' ' * len(head)}  {part}" for part in parts[1:])]

    lines = [_window_line(review_.window), "", *line(_HEADER, data=False),
             *line(tuple("-" * w for w in widths), data=False),
             *(part for r in rows for part in line(r))]
    for entry in review_.entries:
        if entry.risks:
            lines += ["", f"{entry.rank}. {entry.principal.name}: risky grants"]
            lines += wrap_lines([f"  {r.code} ({r.severity}): {', '.join(r.actions)} on "
                                 f"{', '.join(r.resources)}  "
                                 + together(f"[{r.policy}, statement {r.statement}]")
                                 + ("  (conditional)" if r.conditional else "")
                                 for r in entry.risks], width)
    if review_.ai is not None and (review_.ai.users or review_.ai.findings):
        lines += ai_text_lines(review_.ai, width)
    lines += wrap_lines(_not_reviewed_lines(review_), width)
    lines += ["", "Details per principal: iamgen diff NAME --format markdown"]
    return "\n".join(lines) + "\n"


def _window_line(window: ObservedWindow) -> str:
    if window.first_event is None or window.last_event is None:
        return "trail window: no events"
    return (f"trail window: {iso_seconds(window.first_event)} .. "
            f"{iso_seconds(window.last_event)} ({window.days:.1f} days)")


def _not_reviewed_lines(review_: Review) -> list[str]:
    if not review_.not_reviewed:
        return []
    return ["", "Not reviewed:"] + [f"  {n.principal.arn}: {n.reason}"
                                     for n in review_.not_reviewed]


def _link_target(path: str) -> str:
    """A path as a Markdown link's destination: as it is, or in ``<...>`` when
    it holds a space, a parenthesis or an angle bracket (CommonMark)."""
    if not any(ch.isspace() or ch in "()<>\\" for ch in path):
        return path
    escaped = "".join("\\" + ch if ch in "<>\\" else "%0A" if ch in "\r\n" else ch
                      for ch in path)
    return f"<{escaped}>"


def render_review_markdown(review_: Review, chart: str | None = None) -> str:
    """A Markdown report: the ranking table, the chart (linked), risky grants first."""
    out = ["# IAM right-sizing review", "", _window_line(review_.window) + ".", ""]
    unused = [e for e in review_.entries if e.unused]
    risky = [e for e in review_.entries if e.risk_codes]
    out.append(f"{len(review_.entries)} principals reviewed: {len(risky)} with risky grants, "
               f"{len(unused)} unused (granted, never seen in the window). Ranked by kinds "
               "of risky grant, then the share of granted actions the proposed policy "
               "removes, then the number of removable grants.")
    out.append("")
    if chart:
        out += [f"![Removable share of granted actions per principal]({_link_target(chart)})", ""]
    out.append("| " + " | ".join(_HEADER) + " |")
    out.append("|" + "|".join("---:" if i in (0, 4, 5, 6, 7) else "---"
                              for i in range(len(_HEADER))) + "|")
    for entry, row in zip(review_.entries, _rows(review_)):
        cells = list(row)
        cells = [cells[0], md_code(entry.principal.name), *(md_text(c) for c in cells[2:])]
        cells[3] = "**unused**" if entry.unused else "active"
        out.append("| " + " | ".join(cells) + " |")
    for entry in review_.entries:
        s = entry.result.summary
        out += ["", f"## {entry.rank}. {entry.principal.kind.value} "
                    f"{md_code(entry.principal.name, table=False)}",
                "", md_code(entry.principal.arn, table=False) + (": **unused** in this window, every "
                                                   "observable grant is removable"
                                                   if entry.unused else "")]
        out += ["", (f"Removes {s.removed_actions} of {s.granted_actions} granted actions "
                    f"({_percent(entry.share)}); {entry.removable} removable grants; "
                    f"{s.not_observable_actions} kept as not observable.")]
        if entry.risks:
            out += ["", "Risky grants, remove or narrow first:", ""]
            out += [f"- **{r.code}** ({r.severity}): {r.title}: "
                    f"{md_code(', '.join(r.actions), table=False)} on "
                    f"{md_code(', '.join(r.resources), table=False)} in "
                    f"{md_code(r.policy, table=False)} statement "
                    f"{r.statement}" + (f" ({md_code(r.sid, table=False)})" if r.sid else "")
                    + (", conditional" if r.conditional else "") for r in entry.risks]
        services = entry.result.unused_services
        if services:
            names = ", ".join(md_code(u.service, table=False) for u in services[:15])
            more = f" and {len(services) - 15} more" if len(services) > 15 else ""
            out += ["", f"Services granted and never used: {names}{more}."]
        command = f"iamgen diff {entry.principal.name} --format markdown"
        out += ["", f"Details: {md_code(command, table=False)}."]
    if review_.ai is not None and (review_.ai.users or review_.ai.findings):
        out += ai_markdown_lines(review_.ai)
    if review_.not_reviewed:
        out += ["", "## Not reviewed", ""]
        out += [f"- {md_code(n.principal.arn, table=False)}: {md_text(n.reason)}"
                for n in review_.not_reviewed]
    return "\n".join(out) + "\n"


CHART_WIDTH = 800
_ROW = 24
_LABEL = 320
_BAR = 300
_LEGEND = (("#c62828", "risky grants"), ("#f9a825", "no risky grant"), ("#9e9e9e", "unused"))


def render_excess_svg(review_: Review) -> str:
    """A horizontal bar chart of the removable share per principal, in rank order.

    Bars of principals with risky grants are red, unused principals grey,
    the rest amber. Plain SVG 1.1, no scripts, no external references.
    """
    entries = review_.entries
    height = 40 + _ROW * max(1, len(entries)) + 10
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="12">'),
        "<title>Removable share of granted actions per principal</title>",
        '<text x="8" y="20" font-weight="bold">Removable share of granted actions</text>',
        f'<line x1="{_LABEL}" y1="30" x2="{_LABEL}" y2="{height - 10}" stroke="#999"/>',
    ]
    for offset, (color, meaning) in enumerate(_LEGEND):
        x = 390 + offset * 140
        parts += [f'<rect x="{x}" y="10" width="10" height="10" fill="{color}"/>',
                  f'<text x="{x + 14}" y="19">{meaning}</text>']
    for row, entry in enumerate(entries):
        y = 36 + row * _ROW
        width = round(_BAR * entry.share, 1)
        color = _LEGEND[2][0] if entry.unused else _LEGEND[0][0] if entry.risk_codes \
            else _LEGEND[1][0]
        name = entry.principal.name
        label = name if len(name) <= 40 else name[:39] + "\u2026"
        note = (f"{_percent(entry.share)}, {entry.removable} removable"
                + (", unused" if entry.unused else ""))
        parts += [
            (f'<text x="{_LABEL - 6}" y="{y + 13}" text-anchor="end">'
            f"{xml_escape(f'{entry.rank}. {label}')}</text>"),
            (f'<rect x="{_LABEL}" y="{y + 2}" width="{width}" height="{_ROW - 8}" fill="{color}">'
            f"<title>{xml_escape(entry.principal.arn)}</title></rect>"),
            f'<text x="{_LABEL + width + 6}" y="{y + 13}">{xml_escape(note)}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
