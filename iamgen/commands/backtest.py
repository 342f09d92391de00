"""``iamgen backtest``: would a policy learned from earlier days deny the later days' work?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from .. import __version__
from ..backtest import Backtest, Learned, Probe, Split, backtest, holdout_usages, parse_probes
from ..catalog import load_catalog
from ..errors import InputError, NothingUsableError, PolicyTooLargeError, UsageError, option_error
from ..graph import build_graph
from ..model import Principal, PrincipalKind, Window
from ..render.backtest import FORMATS, RENDERERS
from ..scanning import gc_tuning
from ..sources.local import STDIN
from ..synth.harden import evidence_of
from ..synth.settings import Generalization, SynthSettings
from . import common, reading
from .synthesis import synthesize_for
from .harden_option import HardenOption, harden_families
from .read_events import read_usable

FAILED = 11
"""Exit code when the learned policy fails the bar: --fail-under, or an allowed probe."""

_TICK = timedelta(microseconds=1)


def parse_span(text: str) -> timedelta:
    """A positive span such as ``3d``, ``36h`` or ``1w`` (s, m, h, d, w)."""
    span = common.relative_span(text)
    if span is None:
        raise UsageError(f"cannot read --holdout {text!r}: use a span such as 3d, 36h or 1w")
    if span <= timedelta(0):
        raise UsageError(f"--holdout {text!r} must be positive")
    return span


def backtest_command(
    principals: common.PrincipalsArgument = None,
    trail: common.TrailOption = [],  # noqa: B006 - typer reads the default, never mutates it
    all_principals: Annotated[
        bool, typer.Option("--all", help="Backtest every role and user seen.")
    ] = False,
    holdout: Annotated[
        str,
        typer.Option("--holdout", help="The last span of the window to replay, never learned "
                     "from: 3d, 36h, 1w (s, m, h, d, w).", show_default=False),
    ] = ...,  # type: ignore[assignment]  # required
    since: common.SinceOption = None,
    until: common.UntilOption = None,
    account: common.AccountOption = None,
    region: common.RegionOption = None,
    generalize: Annotated[
        Generalization,
        typer.Option(case_sensitive=False,
                     help="How far learned policies may generalize resource ARNs "
                     "(none keeps every ARN)."),
    ] = Generalization.PREFIX,
    fold_threshold: common.FoldThresholdOption = SynthSettings().fold_threshold,
    min_variants: common.MinVariantsOption = SynthSettings().min_variants,
    harden: HardenOption = None,
    expect_denied: Annotated[
        Path | None,
        typer.Option("--expect-denied", help="JSON Lines of requests the learned policies must "
                     "not allow: {\"principal\", \"action\", \"resource\", \"why\"}.",
                     dir_okay=False),
    ] = None,
    fmt: Annotated[str, common.format_option(FORMATS)] = "text",
    fail_under: Annotated[
        float | None,
        typer.Option("--fail-under", help="Exit 11 when fewer than PCT percent of the distinct "
                     "held-out (action, resource) pairs are allowed.", metavar="PCT"),
    ] = None,
    source: common.SourceOption = "trail",
    lookup_attribute: common.LookupAttributeOption = None,
    profile: common.AwsProfileOption = None,
    workers: common.WorkersOption = None,
    quiet: common.QuietOption = False,
) -> None:
    """Learn each principal's policy from the window minus its last --holdout span,
    then replay the holdout's successful calls against it.

    The window is --since .. --until; it ends at --until, or at the last event
    read. Learning is what ``suggest`` does (same --generalize and
    --fold-threshold, --harden); replay uses iamgen's own policy evaluator, each call's
    derived conditions and proven facts (MFA, VPC endpoint, TLS, ...) as its request
    context. The trails are read twice (the
    whole window, then the part before the holdout), so stdin (-) is refused.
    Figures go to stdout (text or JSON); the reading summary and notes to stderr.
    A holdout or learning part that holds no event is a usage error (2).
    """
    common.check_subjects(principals, all_principals)
    fmt = common.checked_format(fmt, FORMATS)
    if fail_under is not None and not 0 <= fail_under <= 100:
        raise UsageError(f"--fail-under {fail_under:g} is not a percentage (0 to 100)")
    span = parse_span(holdout)
    try:
        settings = SynthSettings(generalization=generalize, fold_threshold=fold_threshold,
                                 min_variants=min_variants, harden=harden_families(harden))
    except ValueError as exc:
        raise option_error(exc) from None
    if STDIN in trail:
        raise UsageError("backtest reads the trails twice (the whole window, then the part "
                         "before the holdout): give files, directories or s3:// URLs, not -")
    probes, malformed = (_read_probes(expect_denied, quiet) if expect_denied is not None
                         else ((), 0))
    choice = reading.source_choice(source, lookup_attribute, profile, quiet)
    whole = read_usable(trail, since, until, account, region, workers, choice)
    with gc_tuning.cyclic_gc_paused():
        split = _split(whole, whole.filters.window, span, holdout.strip())
        # What the first read found (a discovered trail, its default window) is
        # read again as found, not discovered a second time.
        trail, choice = _as_read(whole, trail, choice)
        learning_filters = replace(whole.filters, window=Window(whole.filters.window.since,
                                                                split.cut - _TICK))
        learning = reading.read_chosen(trail, learning_filters, workers, choice)
        if learning.result.last_event is None:
            raise UsageError(_nothing_to_learn(split.cut, None))
        result = _run(whole, learning, split, principals or [], all_principals, settings,
                      probes, malformed, workers, quiet)
    text = RENDERERS[fmt](result, split, settings, probes_given=expect_denied is not None,
                          catalog_version=load_catalog().version, iamgen_version=__version__)
    typer.echo(text, nl=False)
    if not quiet:
        _notes(result)
    if result.allowed_probes or (fail_under is not None and result.total.below(fail_under)):
        raise typer.Exit(FAILED)


def _as_read(run: reading.Run, trail: list[str],
             choice: reading.SourceChoice) -> tuple[list[str], reading.SourceChoice]:
    """The trails and source a run read, with a discovered trail spelled out."""
    plan = run.discovery
    if plan is None:
        return trail, choice
    if plan.url is None:
        return [], replace(choice, source="lookup", lookup_attribute=None)
    return [plan.url], choice


def _split(whole: reading.Run, window: Window, span: timedelta, label: str) -> Split:
    """Cut the window: the holdout is its last ``span``, ending at --until or the last event."""
    last = whole.result.last_event
    end = window.until if window.until is not None else last
    if end is None or last is None:
        raise NothingUsableError("no event was read in the window")
    covers = (f"--holdout {label} covers the whole window: nothing to learn from; use a "
              "shorter --holdout or an earlier --since")
    try:
        cut = end - span
        learn_until = cut - _TICK
    except OverflowError:
        raise UsageError(covers) from None
    if window.since is not None and window.since > learn_until:
        raise UsageError(covers)
    first = whole.result.first_event
    if first is not None and first >= cut:
        raise UsageError(_nothing_to_learn(cut, first))
    if last < cut:
        raise UsageError(f"no event in the holdout ({cut:%Y-%m-%dT%H:%M:%SZ} .. "
                         f"{end:%Y-%m-%dT%H:%M:%SZ}): the last event read is at "
                         f"{last:%Y-%m-%dT%H:%M:%SZ}; use a longer --holdout or an "
                         "earlier --until")
    return Split(label, first, cut, end)


def _nothing_to_learn(cut: datetime, first: datetime | None) -> str:
    seen = f"; the first event read is at {first:%Y-%m-%dT%H:%M:%SZ}" if first else ""
    return (f"no event before the holdout (which starts at {cut:%Y-%m-%dT%H:%M:%SZ}{seen}): "
            "nothing to learn from; use a shorter --holdout or an earlier --since")


def _run(whole: reading.Run, learning: reading.Run, split: Split, names: Sequence[str],
         all_principals: bool, settings: SynthSettings, probes: Sequence[Probe],
         malformed: int, workers: int | None, quiet: bool) -> Backtest:
    """Learn, then replay: everything after reading."""
    whole_graph = build_graph(whole.result.usages(), whole.result.principal_events)
    learning_graph = build_graph(learning.result.usages(), learning.result.principal_events)
    chosen = common.policy_subjects(whole_graph.principals(), names, all_principals, "backtest")
    # Principals a probe names are learned too, even when not backtested.
    probed = [p for p in learning_graph.principals() if p.kind is not PrincipalKind.ROOT
              and any(common.match_one(probe.principal, p) for probe in probes)]
    to_learn = sorted({*chosen, *probed})
    permissions = {p: learning_graph.permissions_of(p) for p in to_learn}
    granted = [p for p in to_learn if permissions[p]]
    evidence = ([evidence_of(p, learning_graph.usages_of(p)) for p in granted]
                if settings.harden else None)
    outcomes = synthesize_for(learning, [permissions[p] for p in granted], settings,
                              evidence=evidence, workers=workers, quiet=quiet, say_taken=False)
    learned: dict[Principal, Learned] = {}
    for principal, outcome in zip(granted, outcomes, strict=True):
        if isinstance(outcome, PolicyTooLargeError):
            raise PolicyTooLargeError(f"{principal.name}: {outcome}")
        if isinstance(outcome, Exception):
            raise outcome
        learned[principal] = Learned(outcome.documents, outcome.sizes,
                                     frozenset(p.resource for p in permissions[principal]))
    held_out = holdout_usages(whole.result.usages(), learning.result.usages(), split.cut)
    return backtest(learned, held_out, principals=chosen, probes=probes,
                    malformed_probes=malformed, names=common.match_one)


def _read_probes(path: Path, quiet: bool) -> tuple[tuple[Probe, ...], int]:
    """The --expect-denied file's probes, and how many lines were malformed (each warned)."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # (a byte order mark: no text)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read --expect-denied {path}: {exc}") from None
    probes, bad = parse_probes(text)
    if not probes:  # checking nothing would pass for checking every probe
        raise InputError(f"--expect-denied {path}: no probe in it"
                         + (f" ({len(bad)} malformed line(s), the first: line {bad[0].line}: "
                            f"{bad[0].reason})" if bad else " (empty)"))
    if not quiet:
        for line in bad:
            typer.echo(f"warning: {path}: line {line.line}: {line.reason}; skipped", err=True)
    return probes, len(bad)


def _notes(result: Backtest) -> None:
    for outcome in result.probes:
        if not outcome.matched:
            probe = outcome.probe
            typer.echo(f"note: expect-denied line {probe.line}: {probe.principal} was not seen "
                       "before the holdout: nothing learned, so denied", err=True)
    if result.total.pairs == 0:
        typer.echo("note: the holdout holds no successful call of these principals: "
                   "nothing was replayed", err=True)
