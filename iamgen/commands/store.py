"""``iamgen store info | prune | rebuild | vacuum``: looking after a store
made with ``--store`` (:mod:`iamgen.store`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ..render.text import iso_seconds
from ..sources.aws import ClientFactory
from ..sources.lookup import LOOKUP_DAYS
from ..store.db import Store
from ..store.maintain import StoreInfo, info, prune, vacuum
from ..store.rebuild import Rebuilt, rebuild
from ..store.rules import current_rules
from ..store.syntheses import KEEP_DAYS
from . import common
from .store_options import ENVIRONMENT

StorePathOption = Annotated[
    Path,
    typer.Option("--store", metavar="PATH", envvar=ENVIRONMENT, show_envvar=True,
                 help="The store (as given to --store on the other commands)."),
]

EXIT_CODES = ("0 done; 2 bad usage; 3 not a store, a damaged store, or one another run "
              "kept busy too long")


def info_command(store: StorePathOption,
                 check: Annotated[bool, typer.Option(
                     "--check", help="Also check every page of the file, and read back every "
                     "result and merged piece as a run would (reads it all).")]
                 = False) -> None:
    """What the store holds: files, events, results and the rules they were made under."""
    with Store.open(store, create=False) as opened:
        for line in info_lines(info(opened, check=check)):
            typer.echo(line)


def info_lines(facts: StoreInfo) -> list[str]:
    """``store info``'s report."""
    current = current_rules()
    span = (f"{iso_seconds(facts.span[0])} .. {iso_seconds(facts.span[1])}" if facts.span
            else "none")
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(facts.by_kind.items()))
    lines = [
        f"store: {facts.path} ({_mb(facts.file_bytes)}; {facts.meta.get('created_by', '?')}, "
        f"{facts.meta.get('created_at', '?')[:10]})",
        f"  files: {facts.units}" + (f" ({kinds}; {_mb(facts.trail_bytes)} as delivered)"
                                     if kinds else "")
        + f", {facts.events:,} events, {span}",
        f"  files gone from their source: {facts.gone}"
        + (" (kept until pruned)" if facts.gone else ""),
        "  results: " + (", ".join(f"{count} {way}" for way, count in
                                   sorted(facts.results.items())) or "none")
        + f"; {_mb(facts.result_bytes)}, {facts.outcomes:,} tallied outcomes",
    ]
    for rules, count in sorted(facts.by_rules.items(), key=lambda kv: kv[0].fingerprint):
        state = "current" if rules == current else "stale: read again by the next run"
        lines.append(f"  made by {rules.describe()}: {count} ({state})")
    if facts.superseded:
        lines.append(f"  results without request context beside the file's with it: "
                     f"{facts.superseded} (`iamgen store vacuum` drops them)")
    lines.append(f"  aggregates: {facts.aggregates}; {_mb(facts.aggregate_bytes)}")
    lines.append(f"  policies kept as synthesized: {facts.syntheses}; "
                 f"{_mb(facts.synthesis_bytes)} (each dropped after {KEEP_DAYS} days unused)")
    if facts.free_bytes:
        lines.append(f"  free space: {_mb(facts.free_bytes)} (`iamgen store vacuum` gives it "
                     "back)")
    if facts.check is not None:
        lines.append(f"  check: {facts.check}")
    return lines


def prune_command(
    store: StorePathOption,
    before: Annotated[str, typer.Option(
        "--before", metavar="WHEN",
        help="Forget files whose events all lie before this: ISO date/time, or relative "
        "(90d, 2w).")],
) -> None:
    """Forget old files (and what was learned from them): history is evidence, so
    nothing is forgotten unless asked. Files gone from their source are kept until
    pruned like the others: by when their events were."""
    moment = common.parse_moment(before, now=datetime.now(UTC))
    with Store.open(store, create=False) as opened:
        files, events = prune(opened, moment)
    typer.echo(f"pruned {files} file(s), {events:,} events, before {iso_seconds(moment)}"
               + (" (`iamgen store vacuum` gives the space back)" if files else ""))


def rebuild_command(store: StorePathOption, workers: common.WorkersOption = None,
                    profile: common.AwsProfileOption = None) -> None:
    """Read every file the store holds again, under this iamgen, its catalog and
    rules (a run does it too, for the files it lists); files gone keep what they had.
    LookupEvents days are asked for again, except those at or near the end of
    the 90 days LookupEvents keeps: they keep what they had."""
    from .reading import default_workers

    # Both factories make a client only when asked for one: a store of local
    # files needs no AWS settings, and one without LookupEvents days no region.
    done = rebuild(store, ClientFactory("s3", profile=profile),
                   workers if workers is not None else default_workers(),
                   lookup_factory=ClientFactory("cloudtrail", profile=profile).regional)
    for line in rebuild_lines(done):
        typer.echo(line)


def rebuild_lines(done: Rebuilt) -> list[str]:
    """``store rebuild``'s report."""
    lines = [f"read again: {done.read} file(s) under {current_rules().describe()}"]
    if done.gone:
        lines.append(f"not found, kept as they were: {len(done.gone)} file(s), e.g. "
                     f"{done.gone[0]}")
    if done.failed:
        lines.append(f"could not be read, kept as they were: {len(done.failed)} file(s), e.g. "
                     f"{done.failed[0]} (a run listing them reads them again, and says why)")
    if done.unlisted:
        lines.append(f"could not be listed, kept as they were: {len(done.unlisted)} file(s), "
                     f"e.g. {done.unlisted[0]} ({done.unlisted_reason})")
    days = done.days
    if days.read:
        lines.append(f"LookupEvents days read again: {days.read}")
    if days.expired:
        lines.append(f"LookupEvents days kept as they were: {len(days.expired)} (at or near "
                     f"the end of the {LOOKUP_DAYS} days LookupEvents keeps), "
                     f"e.g. {days.expired[0]}")
    if days.failed:
        lines.append(f"LookupEvents days that could not be read, kept as they were: "
                     f"{len(days.failed)}, e.g. {days.failed[0]}")
    if days.not_rebuilt:
        why = "" if days.refusal is None else f"{days.refusal}; "
        lines.append(f"LookupEvents days not read again: {len(days.not_rebuilt)} "
                     f"({why}a run listing them reads stale ones again)")
    return lines


def vacuum_command(store: StorePathOption) -> None:
    """Drop merged results no run can use any more, and files' results
    without the request context beside one with it, and give free space back."""
    with Store.open(store, create=False) as opened:
        done = vacuum(opened)
    typer.echo(f"vacuumed: {_mb(done.before)} -> {_mb(done.after)}; {done.aggregates} "
               f"unusable aggregate(s) dropped; {done.results} result(s) without request "
               "context dropped (the file's result with it serves every run)")


def build_store_app(guard: Callable[[Callable[..., None]], Callable[..., None]],
                    epilog: str) -> typer.Typer:
    """The ``store`` command group (each command wrapped by ``guard``)."""
    app = typer.Typer(name="store", no_args_is_help=True, rich_markup_mode=None,
                      help="Look after a store made with --store: info, prune, rebuild, "
                      "vacuum.")
    for name, function in (("info", info_command), ("prune", prune_command),
                           ("rebuild", rebuild_command), ("vacuum", vacuum_command)):
        app.command(name, epilog=epilog)(guard(function))
    return app


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"

