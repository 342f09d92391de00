"""``iamgen diff``: current grants against observed use, for right-sizing reviews."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .. import __version__
from ..catalog import load_catalog
from ..diff import DiffResult, ObservedWindow, diff
from ..errors import NothingUsableError, UsageError
from ..grants.load import (
    AuthorizationDetails,
    GrantsFile,
    PolicyFiles,
    find_live,
    iam_client,
    load_live,
    read_grants_files,
)
from ..grants.model import Grants
from ..ingest.scan import principals_seen
from ..model import Principal, PrincipalKind
from ..render.report import FORMATS, render_json, render_markdown, render_text, report_dict
from ..synth.settings import Generalization, SynthSettings
from . import common

FAIL_ON_UNUSED_EXIT = 10
"""Exit code of ``--fail-on-unused`` when removable grants exist (errors use 2-6)."""


class _GrantReader:
    """Where grants come from: a file, or the IAM API (client made on first use)."""

    def __init__(self, files: GrantsFile | None, profile: str | None,
                 endpoint_url: str | None) -> None:
        self.files = files
        self._profile = profile
        self._endpoint_url = endpoint_url
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = iam_client(self._profile, None, self._endpoint_url)
        return self._client

    def find(self, name: str) -> Principal:
        """A principal the trail never showed, from the grants source."""
        if isinstance(self.files, AuthorizationDetails):
            found = self.files.lookup(name)
            if found is None:
                raise NothingUsableError(f"{name}: neither seen in the trail nor described in "
                                         f"{self.files.source}")
            return found
        if isinstance(self.files, PolicyFiles):
            if name.startswith("arn:"):
                kind = PrincipalKind.ROLE if ":role/" in name else PrincipalKind.USER
                return Principal(name, kind)
            raise NothingUsableError(f"{name}: never seen in the trail; name it by its ARN to "
                                     "diff the given policy documents against no use at all")
        return find_live(self.client, name)

    def grants(self, principal: Principal) -> Grants:
        """The principal's current grants."""
        if self.files is not None:
            return self.files.grants(principal)
        return load_live(self.client, principal)


def _choose(wanted: list[str], seen: tuple[Principal, ...], reader: _GrantReader,
            quiet: bool) -> list[Principal]:
    chosen: set[Principal] = set()
    for name in wanted:
        hits = [p for p in seen if common.match_one(name, p)]
        if not hits:
            hits = [reader.find(name)]
            if not quiet:
                typer.echo(f"note: {name} was not seen in the trail: every grant counts as "
                           "unused in this window", err=True)
        chosen.update(hits)
    return sorted(chosen)


def diff_command(
    principals: Annotated[
        list[str] | None,
        typer.Argument(help="Role or user names or ARNs (paths included).", show_default=False),
    ] = None,
    trail: common.TrailOption = [],  # noqa: B006 - typer reads the default, never mutates it
    grants_files: Annotated[
        list[Path] | None,
        typer.Option("--grants", help="Read grants from a get-account-authorization-details "
                     "file, or from policy documents (repeatable), instead of IAM."),
    ] = None,
    all_principals: Annotated[
        bool, typer.Option("--all", help="Diff every role and user seen in the trail.")
    ] = False,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"Output format: {', '.join(FORMATS)}.")
    ] = "text",
    fail_on_unused: Annotated[
        bool,
        typer.Option(help=f"Exit with code {FAIL_ON_UNUSED_EXIT} when removable grants exist "
                     "(for CI)."),
    ] = False,
    profile: Annotated[
        str | None, typer.Option(help="AWS profile for reading IAM (default: AWS_PROFILE).")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(help="IAM endpoint URL (default: AWS_ENDPOINT_URL_IAM or AWS_ENDPOINT_URL)."),
    ] = None,
    since: common.SinceOption = None,
    until: common.UntilOption = None,
    account: common.AccountOption = None,
    region: common.RegionOption = None,
    generalize: Annotated[
        Generalization,
        typer.Option(help="How far the proposed policy may generalize resource ARNs."),
    ] = Generalization.PREFIX,
    templates: Annotated[
        Path | None, typer.Option(help="Folder with your own copy of diff.md.j2.")
    ] = None,
    workers: common.WorkersOption = None,
    quiet: common.QuietOption = False,
) -> None:
    """Compare current grants with CloudTrail use: what is used, removable, or cannot be judged.

    Reads grants live from IAM (read-only calls) unless --grants is given.
    Exit codes: 0 done; 2 usage; 3 bad input; 4 nothing usable; 5 grants
    unreadable; 10 removable grants found with --fail-on-unused.
    """
    if not principals and not all_principals:
        raise UsageError("name at least one role or user, or use --all")
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}: choose one of {', '.join(FORMATS)}")
    settings = SynthSettings(generalization=generalize)
    files = read_grants_files(grants_files) if grants_files else None
    run = common.read_trails(trail, common.build_filters(since, until, account, region), workers)
    common.report(run, quiet)
    common.require_usable(run)
    reader = _GrantReader(files, profile, endpoint_url)
    seen = principals_seen(run.result)
    chosen = list(seen) if all_principals else _choose(principals or [], seen, reader, quiet)
    if not chosen:
        raise NothingUsableError("no role or user was seen in the trail")
    usages = run.result.usages()
    trail_actions = sorted({u.permission.action for u in usages})
    window = ObservedWindow(run.filters.window.since, run.filters.window.until,
                            run.result.first_event, run.result.last_event)
    catalog = load_catalog()
    results: list[DiffResult] = [
        diff(principal, usages, reader.grants(principal), trail_actions=trail_actions,
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
        typer.echo("\n".join(render_text(r) for r in reports), nl=False)
    if fail_on_unused and any(r.removable for r in results):
        if not quiet:
            count = sum(r.summary.removable_actions + r.summary.ineffective_actions
                        for r in results)
            typer.echo(f"iamgen: {count} removable grant(s) found (--fail-on-unused)", err=True)
        raise typer.Exit(FAIL_ON_UNUSED_EXIT)
