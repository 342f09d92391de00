"""``iamgen suggest``: a minimal policy per principal from what it did."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import jinja2
import typer

from .. import __version__
from ..catalog import load_catalog
from ..errors import PolicyTooLargeError, UsageError, option_error
from ..graph import AccessGraph, build_graph
from ..model import Principal, Provenance
from ..policy import MANAGED_POLICY_LIMIT
from ..render import FORMATS, META_SUFFIX, RenderedFile, render_policies
from ..render.templates import template_environment
from ..scanning import gc_tuning
from ..synth.harden import evidence_of
from ..synth.settings import Generalization, SynthSettings
from . import common, reading
from .synthesis import synthesize_for
from .harden_option import HardenOption, harden_families
from .read_events import read_usable


def provenance_of(graph: AccessGraph, principal: Principal) -> Provenance:
    """Where a principal's policy came from, for the header of every output."""
    first, last = graph.span_of(principal)
    return Provenance(
        principal=principal,
        first_event=first,
        last_event=last,
        events=graph.events_of(principal),
        catalog_version=load_catalog().version,
        iamgen_version=__version__,
    )


def suggest(
    principals: common.PrincipalsArgument = None,
    trail: common.TrailOption = [],  # noqa: B006 - typer reads the default, never mutates it
    all_principals: Annotated[
        bool, typer.Option("--all", help="Suggest for every role and user seen.")
    ] = False,
    since: common.SinceOption = None,
    until: common.UntilOption = None,
    account: common.AccountOption = None,
    region: common.RegionOption = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(help="Write DIR/<name>.<ext> per principal instead of printing."),
    ] = None,
    fmt: Annotated[str, common.format_option(FORMATS)] = "json",
    templates: Annotated[
        Path | None, typer.Option(help="Folder with your own copies of the templates.")
    ] = None,
    generalize: Annotated[
        Generalization,
        typer.Option(case_sensitive=False,
                     help="How far resource ARNs may be generalized (none keeps every ARN)."),
    ] = Generalization.PREFIX,
    fold_threshold: common.FoldThresholdOption = SynthSettings().fold_threshold,
    min_variants: common.MinVariantsOption = SynthSettings().min_variants,
    compress_actions: Annotated[
        bool,
        typer.Option(help="Allow service:Prefix* where it matches only observed actions."),
    ] = False,
    harden: HardenOption = None,
    source: common.SourceOption = "trail",
    lookup_attribute: common.LookupAttributeOption = None,
    profile: common.AwsProfileOption = None,
    workers: common.WorkersOption = None,
    quiet: common.QuietOption = False,
) -> None:
    """Write a least-privilege policy for each principal from its CloudTrail activity."""
    common.check_subjects(principals, all_principals)
    fmt = common.checked_format(fmt, FORMATS)
    try:
        settings = SynthSettings(generalization=generalize, fold_threshold=fold_threshold,
                                 compress_actions=compress_actions, min_variants=min_variants,
                                 harden=harden_families(harden))
    except ValueError as exc:
        raise option_error(exc) from None
    if output_dir is not None:  # before reading: a long read must not end in this error
        common.check_output_dir(output_dir)
    run = read_usable(trail, since, until, account, region, workers,
                      reading.source_choice(source, lookup_attribute, profile, quiet),
                      principals=principals or [],
                      contexts=bool(settings.harden))  # only hardening reads them
    with gc_tuning.cyclic_gc_paused():
        write_suggestions(run, principals or [], all_principals, output_dir, fmt, templates,
                          settings, quiet, workers=workers)


def write_suggestions(run: reading.Run, principals: list[str], all_principals: bool,
                      output_dir: Path | None, fmt: str, templates: Path | None,
                      settings: SynthSettings, quiet: bool, *, workers: int | None = None) -> None:
    """Everything ``suggest`` does after reading: graph, synthesis, rendering, writing.

    Principals are synthesized on ``workers`` processes (default: the
    machine's cores, at most 8); output and notes come in the same order either way.
    """
    if settings.harden and not run.contexts:
        raise ValueError("hardening needs the calls' request context: read with contexts=True")
    graph = build_graph(run.result.usages(), run.result.principal_events)
    chosen = common.policy_subjects(graph.principals(), principals, all_principals, "suggest")
    if len(chosen) > 1 and output_dir is None:
        raise UsageError(
            f"{len(chosen)} principals: use --output-dir DIR to write one file set per principal"
        )
    stems = common.file_stems(chosen)
    written: list[RenderedFile] = []
    environment: jinja2.Environment | None = None  # made at the first render, then shared
    permissions_of = {principal: graph.permissions_of(principal) for principal in chosen}
    granted = [principal for principal in chosen if permissions_of[principal]]
    evidence = ([evidence_of(principal, graph.usages_of(principal)) for principal in granted]
                if settings.harden else None)
    outcomes = dict(zip(granted, synthesize_for(
        run, [permissions_of[principal] for principal in granted], settings, evidence=evidence,
        workers=workers, quiet=quiet), strict=True))
    too_large: list[str] = []
    for principal in chosen:
        if not permissions_of[principal]:
            if not quiet:
                typer.echo(f"note: {principal.arn}: no successful call needs a grant; "
                           "no policy written", err=True)
            continue
        synthesized = outcomes[principal]
        if isinstance(synthesized, PolicyTooLargeError) and len(chosen) > 1:
            # one principal's policy cannot be written: the others still are
            typer.echo(f"error: {principal.name}: {synthesized}; no policy written", err=True)
            too_large.append(principal.name)
            continue
        if isinstance(synthesized, PolicyTooLargeError):
            raise PolicyTooLargeError(f"{principal.name}: {synthesized}")
        if isinstance(synthesized, Exception):
            raise synthesized
        if output_dir is None and fmt == "json" and len(synthesized.documents) > 1:
            raise UsageError(
                f"{principal.name}: the policy needs {len(synthesized.documents)} documents "
                f"(IAM's {MANAGED_POLICY_LIMIT:,}-character limit), more than one JSON "
                "document can print: use --output-dir DIR (one file per document) or "
                "--format terraform or cloudformation")
        if not quiet:
            for note in synthesized.notes:
                typer.echo(f"note: {principal.name}: {note}", err=True)
            sizes = ", ".join(f"{size:,}" for size in synthesized.sizes)
            typer.echo(f"{principal.name}: {len(synthesized.documents)} document(s) of "
                       f"{sizes} characters (limit {MANAGED_POLICY_LIMIT:,} each)", err=True)
        if environment is None:
            environment = template_environment(templates)
        files = render_policies(stems[principal], synthesized.documents,
                                provenance_of(graph, principal), fmt, templates,
                                environment=environment)
        if output_dir is None:  # stdout takes the policies; provenance went to the summary
            for rendered in files:
                if not rendered.filename.endswith(META_SUFFIX):
                    typer.echo(rendered.text, nl=False)
        else:
            written.extend(files)
    if output_dir is not None:
        target = common.ensure_output_dir(output_dir)
        common.write_outputs([(target / rendered.filename, rendered.text)
                              for rendered in written])
        if not quiet:
            typer.echo(f"wrote {len(written)} files to {target}", err=True)
            for stale in stale_splits(target, stems.values(), {r.filename for r in written}):
                typer.echo(f"warning: {stale}: left from an earlier run (this run split the "
                           "policy into fewer documents); delete it if it is no longer used",
                           err=True)
            if all_principals:
                for stem in stale_principals(target, stems.values()):
                    typer.echo(f"warning: {target / stem}.*: left from an earlier run, for a "
                               "principal with no call in this one (gone, or idle in the "
                               "window); delete the files if it no longer needs a policy",
                               err=True)
    if too_large:  # (only with --output-dir: one principal alone raises at once)
        names = [path.name for path in target.iterdir()]
        earlier = sorted(name for principal in chosen if principal.name in too_large
                         for name in names if _files_of(stems[principal], name))
        raise PolicyTooLargeError(
            f"{len(too_large)} of {len(chosen)} principals have no policy written, a "
            f"statement too large for any document: {', '.join(too_large)} (the others' "
            "policies were written" + (f"; files an earlier run wrote for them are left as "
                                       f"they were, not this run's: {', '.join(earlier)}"
                                       if earlier else "") + ")")


def _files_of(stem: str, name: str) -> bool:
    """Whether a file name is one a run writes for the principal of ``stem``:
    ``stem.EXT``, ``stem.N.EXT`` or its provenance (not ``stem.v2.json``, another
    principal's)."""
    if name == f"{stem}{META_SUFFIX}":
        return True
    rest = name[len(stem) + 1:] if name.startswith(f"{stem}.") else ""
    parts = rest.split(".")
    return (len(parts) == 1 and parts[0] in _EXTENSIONS) or (
        len(parts) == 2 and parts[0].isdigit() and parts[1] in _EXTENSIONS)


_EXTENSIONS = frozenset({"json", "tf", "yaml"})


def stale_principals(target: Path, stems: Iterable[str]) -> list[str]:
    """The file stems of principals an earlier ``--all`` run wrote into
    ``target`` (their provenance files name them) that this run did not.

    Reported, never deleted: iamgen removes nothing a user has.
    """
    current = set(stems)
    found = (path.name[:-len(META_SUFFIX)] for path in target.glob(f"*{META_SUFFIX}"))
    return sorted(stem for stem in found if stem not in current)


def stale_splits(target: Path, stems: Iterable[str], written: set[str]) -> list[Path]:
    """Extra documents (``<name>.N.<ext>``) an earlier run left that this run did not write.

    They are reported, never deleted: iamgen removes nothing a user has.
    """
    stale = []
    for stem in stems:
        for path in sorted(target.glob(f"{glob.escape(stem)}.*")):
            numbered = path.name[len(stem) + 1:].split(".", 1)[0].isdigit()
            if numbered and _files_of(stem, path.name) and path.name not in written:
                stale.append(path)
    return stale
