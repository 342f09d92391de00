"""``iamgen review``: every principal's grants against its use, ranked by excess."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from .. import __version__
from ..ai_lens import ai_lens
from ..catalog import load_catalog
from ..errors import NothingUsableError, option_error
from ..findings import ObservedWindow
from ..model import Principal, PrincipalKind
from ..render.ai_lens import AI_FILE, render_ai_json
from ..render.review import (
    render_excess_svg,
    render_review_json,
    render_review_markdown,
    render_review_text,
)
from ..render.width import text_width
from ..review import SERVICE_LINKED_REASON, NotReviewed, Subject, is_service_linked, review
from ..synth.settings import Generalization, SynthSettings
from . import common, reading
from .grants_options import (
    EndpointUrlOption,
    GeneralizeOption,
    GrantsFilesOption,
    GrantSource,
    ProfileOption,
)
from .graph import GraphFileOption, load_access

FORMATS = ("text", "markdown", "json")
REPORT_FILES = ("review.md", "review.json", "review-excess.svg", AI_FILE)
"""What --output-dir writes: the Markdown report, the JSON, the chart it links, and
the AI security lens as JSON."""


def _subjects(seen: tuple[Principal, ...], source: GrantSource
              ) -> tuple[list[Subject], list[NotReviewed], bool]:
    """Who to review and their grants; the flag says whether unseen principals were listed.

    An authorization-details file or the live account lists every role and
    user, so principals never seen in the trail are reviewed too (as unused).
    Plain policy documents list no one: only the principals seen are reviewed.
    """
    skipped = [NotReviewed(p, "the root user has no identity policies to right-size")
               for p in seen if p.kind is PrincipalKind.ROOT]
    # A service-linked role, seen or not: nothing in IAM to right-size.
    skipped += [NotReviewed(p, SERVICE_LINKED_REASON) for p in seen if is_service_linked(p)]
    acting = [p for p in seen if p.kind is not PrincipalKind.ROOT and not is_service_linked(p)]
    described = source.listed()
    if described is None:
        return [Subject(p, source.grants(p), True) for p in acting], skipped, False
    accounts = {d.account for d in described}
    trail_accounts = {p.account for p in acting}
    if accounts and trail_accounts and not accounts & trail_accounts:
        # Every principal of the grants would be flagged unused: a wrong account, not news.
        raise NothingUsableError(
            f"the grants in {source.where} are of account {', '.join(sorted(accounts))}, "
            f"the trail's principals of {', '.join(sorted(trail_accounts))}: read the grants "
            "of the trail's account")
    subjects: list[Subject] = []
    matched: set[Principal] = set()
    for principal in acting:
        hits = [d for d in described if common.match_one(principal.arn, d)]
        if hits:
            matched.update(hits)
            subjects.append(Subject(principal, source.grants(principal), True))
        elif not source.live:
            skipped.append(NotReviewed(principal, f"not described in {source.where}"))
        elif accounts and principal.account not in accounts:
            skipped.append(NotReviewed(principal, f"account {principal.account} is not the "
                                       f"account IAM was read in ({', '.join(sorted(accounts))})"))
        else:  # listed by no one yet in this account: reading it fails loudly if it is gone
            subjects.append(Subject(principal, source.grants(principal), True))
    for principal in described:
        if principal in matched or any(common.match_one(p.arn, principal) for p in seen
                                       if is_service_linked(p)):
            continue
        if is_service_linked(principal):
            skipped.append(NotReviewed(principal, SERVICE_LINKED_REASON))
        else:
            subjects.append(Subject(principal, source.grants(principal), False))
    return subjects, skipped, True


def review_command(
    trail: common.TrailOption = [],  # noqa: B006 - typer reads the default, never mutates it
    graph_file: GraphFileOption = None,
    grants_files: GrantsFilesOption = None,
    profile: ProfileOption = None,
    endpoint_url: EndpointUrlOption = None,
    fmt: Annotated[str, common.format_option(FORMATS)] = "text",
    output_dir: Annotated[
        Path | None,
        typer.Option(help="Write review.md, review.json and review-excess.svg (the chart "
                     "review.md shows) to DIR instead of printing."),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(help="Also write the excess chart (SVG) to FILE; --format markdown "
                     "links it by this path."),
    ] = None,
    since: common.SinceOption = None,
    until: common.UntilOption = None,
    account: common.AccountOption = None,
    region: common.RegionOption = None,
    generalize: GeneralizeOption = Generalization.PREFIX,
    min_variants: common.MinVariantsOption = SynthSettings().min_variants,
    source: common.SourceOption = "trail",
    lookup_attribute: common.LookupAttributeOption = None,
    workers: common.WorkersOption = None,
    quiet: common.QuietOption = False,
) -> None:
    """Review every principal at once: ranked by excess, risky grants first, unused flagged.

    Reads grants live from IAM (read-only calls: ListRoles and ListUsers find
    the principals never seen) unless --grants is given.
    """
    fmt = common.checked_format(fmt, FORMATS)
    try:
        settings = SynthSettings(generalization=generalize, min_variants=min_variants)
    except ValueError as exc:
        raise option_error(exc) from None
    # Before reading: a long read must not end in "cannot write".
    if output_dir is not None:
        common.check_output_dir(output_dir)
    if chart is not None:
        common.check_output_file(chart)
    grants = GrantSource(grants_files, profile, endpoint_url)
    access = load_access(trail, graph_file, since, until, account, region, workers,
                         reading.source_choice(source, lookup_attribute, profile, quiet))
    subjects, skipped, listed_unseen = _subjects(access.principals(), grants)
    if not subjects:
        raise NothingUsableError("no principal to review: none seen in the trail has grants "
                                 "to read" + (f" ({len(skipped)} not reviewed)" if skipped else ""))
    if not listed_unseen and not quiet:
        typer.echo("note: principals never seen in the trail are not listed; read IAM live or "
                   "pass --grants with get-account-authorization-details output to flag "
                   "unused ones", err=True)
    context = access.context  # the trail's span, window, actions and signals
    window = ObservedWindow(context.since, context.until, context.first_event,
                            context.last_event)
    catalog = load_catalog()
    usages = access.usages()
    result = review(subjects, usages, window, not_reviewed=skipped,
                    settings=settings, catalog=catalog, trail_actions=context.trail_actions)
    # The AI lens reads every principal's usages and the account-wide signals (a graph
    # file of schema version 2 kept neither the calls' facts nor the signals).
    lens = ai_lens(usages, context.signals)
    result = replace(result, ai=lens)
    if not quiet:
        for entry in skipped:
            typer.echo(f"note: not reviewed: {entry.principal.arn}: {entry.reason}", err=True)
    versions = {"catalog_version": catalog.version, "iamgen_version": __version__}
    if output_dir is not None:
        target = common.ensure_output_dir(output_dir)
        texts = (render_review_markdown(result, chart=REPORT_FILES[2]),
                 render_review_json(result, **versions), render_excess_svg(result),
                 render_ai_json(lens))
        common.write_outputs([(target / name, text)
                              for name, text in zip(REPORT_FILES, texts, strict=True)])
        if not quiet:
            typer.echo(f"wrote {', '.join(REPORT_FILES)} to {target}", err=True)
    if chart is not None:
        common.write_output(chart, render_excess_svg(result))
    if output_dir is not None:
        return
    if fmt == "json":
        typer.echo(render_review_json(result, **versions), nl=False)
    elif fmt == "markdown":
        typer.echo(render_review_markdown(result, chart=str(chart) if chart else None), nl=False)
    else:
        typer.echo(render_review_text(result, text_width()), nl=False)

