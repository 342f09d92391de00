"""``iamgen diff``: current grants against observed use, for right-sizing reviews."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import __version__
from ..catalog import load_catalog
from ..diff import diff
from ..errors import NothingUsableError, UsageError, option_error
from ..findings import DiffResult, ObservedWindow
from ..grants.model import Grants
from ..graph import build_graph
from ..model import Principal, PrincipalKind
from ..render.report import FORMATS, render_json, render_markdown, render_text, report_dict
from ..render.width import text_width
from ..scanning import coverage, gc_tuning
from ..synth.settings import Generalization, SynthSettings
from . import common, reading
from .grants_options import (
    EndpointUrlOption,
    GeneralizeOption,
    GrantsFilesOption,
    GrantSource,
    ProfileOption,
)
from .read_events import read_usable

FAIL_ON_UNUSED_EXIT = 10
"""Exit code of ``--fail-on-unused`` when removable grants exist (errors use 2-6)."""


def _choose(wanted: list[str], seen: tuple[Principal, ...], source: GrantSource,
            quiet: bool) -> list[Principal]:
    chosen: set[Principal] = set()
    for name in wanted:
        hits = [p for p in seen if common.match_one(name, p)]
        if not hits:
            hits = [source.find(name)]
            if not quiet:
                typer.echo(f"note: {name} was not seen in the trail: every grant counts as "
                           "unused in this window", err=True)
        chosen.update(hits)
    return sorted(chosen)


def same_account_grants(source: GrantSource, principal: Principal) -> Grants:
    """The principal's grants, refused when they describe another account's
    same-named role or user (grants read with another account's credentials,
    or another account's authorization details): never a report for the wrong
    account. Exit 4, as review's "not reviewed" principals."""
    described = None if source.live else source.listed()
    accounts = sorted({p.account for p in described or ()})
    if accounts and principal.account not in accounts:
        raise NothingUsableError(_other_account(principal, source.where, ", ".join(accounts)))
    granted = source.grants(principal)
    if granted.principal.account != principal.account:
        raise NothingUsableError(_other_account(principal, source.where,
                                                granted.principal.account))
    return granted


def _other_account(principal: Principal, where: str, accounts: str) -> str:
    return (f"{principal.arn}: the grants in {where} are of account {accounts}, not "
            f"{principal.account}: read the grants of the trail's account")


def diff_command(
    principals: common.PrincipalsArgument = None,
    trail: common.TrailOption = [],  # noqa: B006 - typer reads the default, never mutates it
    grants_files: GrantsFilesOption = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointUrlOption = None,
    all_principals: Annotated[
        bool, typer.Option("--all", help="Diff every role and user seen in the trail.")
    ] = False,
    fmt: Annotated[str, common.format_option(FORMATS)] = "text",
    fail_on_unused: Annotated[
        bool,
        typer.Option(help=f"Exit with code {FAIL_ON_UNUSED_EXIT} when removable grants exist "
                     "(for CI)."),
    ] = False,
    since: common.SinceOption = None,
    until: common.UntilOption = None,
    account: common.AccountOption = None,
    region: common.RegionOption = None,
    generalize: GeneralizeOption = Generalization.PREFIX,
    min_variants: common.MinVariantsOption = SynthSettings().min_variants,
    templates: Annotated[
        Path | None, typer.Option(help="Folder with your own copy of diff.md.j2.")
    ] = None,
    source: common.SourceOption = "trail",
    lookup_attribute: common.LookupAttributeOption = None,
    workers: common.WorkersOption = None,
    quiet: common.QuietOption = False,
) -> None:
    """Compare current grants with CloudTrail use: what is used, removable, or cannot be judged.

    Reads grants live from IAM (read-only calls) unless --grants is given.
    """
    common.check_subjects(principals, all_principals)
    fmt = common.checked_format(fmt, FORMATS)
    try:
        settings = SynthSettings(generalization=generalize, min_variants=min_variants)
    except ValueError as exc:
        raise option_error(exc) from None
    grants = GrantSource(grants_files, profile, endpoint_url)
    run = read_usable(trail, since, until, account, region, workers,
                      reading.source_choice(source, lookup_attribute, profile, quiet),
                      contexts=False)  # no finding reads the calls' request context
    usages = run.result.usages()
    graph = build_graph(usages, run.result.principal_events)
    seen = graph.principals()
    chosen = list(seen) if all_principals else _choose(principals or [], seen, grants, quiet)
    if not chosen:
        raise NothingUsableError("no role or user was seen in the trail")
    trail_actions = coverage.trail_actions(run.result)
    window = ObservedWindow(run.filters.window.since, run.filters.window.until,
                            run.result.first_event, run.result.last_event)
    catalog = load_catalog()
    with gc_tuning.cyclic_gc_paused():
        results: list[DiffResult] = [
            diff(principal, graph.usages_of(principal), same_account_grants(grants, principal),
                 trail_actions=trail_actions,
                 window=window, settings=settings, catalog=catalog)
            for principal in chosen
            if principal.kind is not PrincipalKind.ROOT or not all_principals
        ]
    reports = [report_dict(r, catalog_version=catalog.version, iamgen_version=__version__)
               for r in results]
    if fmt == "json":
        typer.echo(render_json(reports), nl=False)
    elif fmt == "markdown":
        typer.echo(render_markdown(reports, templates), nl=False)
    else:
        typer.echo("\n".join(render_text(r, text_width()) for r in reports), nl=False)
    if fail_on_unused and any(r.removable for r in results):
        if not quiet:
            count = sum(r.summary.removable_actions + r.summary.ineffective_actions
                        for r in results)
            typer.echo(f"iamgen: {count} removable grant(s) found (--fail-on-unused)", err=True)
        raise typer.Exit(FAIL_ON_UNUSED_EXIT)
