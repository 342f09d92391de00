"""``iamgen graph``, ``iamgen who`` and ``iamgen chains``: the access graph and its queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import InputError, UsageError
from ..graph import GRAPH_FORMATS, AccessGraph, Chain, Sighting, TrailContext, build_graph
from ..graph import read_graph
from ..graph import render_graph as render_access_graph
from ..render.text import iso_seconds
from ..render.width import text_width
from ..scanning import coverage, gc_tuning
from . import common, reading
from .read_events import read_usable

GraphFileOption = Annotated[
    Path | None,
    typer.Option("--graph", "-g", help="Read a graph saved by `iamgen graph` (JSON or GraphML) "
                 "instead of trails."),
]
QueryFormat = Annotated[str, common.format_option(("text", "json"))]


def load_access(trail: list[str], graph_file: Path | None, since: str | None,
                until: str | None, account: list[str] | None, region: list[str] | None,
                workers: int | None, choice: reading.SourceChoice) -> AccessGraph:
    """The access graph from trails (scanned now) or from a saved graph file; its
    ``context`` holds what else the trail showed (saved with a graph file)."""
    if graph_file is not None:
        if trail or choice.source != "trail":
            raise UsageError("give either --trail/--source or --graph, not both")
        if since or until or account or region:
            raise UsageError("--since, --until, --account and --region filter trails; "
                             "a saved graph is read as it is")
        try:
            text = graph_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{graph_file}: cannot read graph ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise InputError(f"{graph_file}: not an iamgen access graph (not UTF-8 text)"
                             ) from None
        try:
            return read_graph(text)
        except InputError as exc:
            raise InputError(f"{graph_file}: {exc}") from None
    run = read_usable(trail, since, until, account, region, workers, choice)
    with gc_tuning.cyclic_gc_paused():
        context = TrailContext(run.result.first_event, run.result.last_event,
                               run.filters.window.since, run.filters.window.until,
                               tuple(coverage.trail_actions(run.result)),
                               run.result.signals())
        return build_graph(run.result.usages(), run.result.principal_events, context)


def graph(
    trail: common.TrailOption = [],  # noqa: B006 - typer reads the default, never mutates it
    graph_file: GraphFileOption = None,
    fmt: Annotated[str, common.format_option(GRAPH_FORMATS)] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    since: common.SinceOption = None,
    until: common.UntilOption = None,
    account: common.AccountOption = None,
    region: common.RegionOption = None,
    source: common.SourceOption = "trail",
    lookup_attribute: common.LookupAttributeOption = None,
    profile: common.AwsProfileOption = None,
    workers: common.WorkersOption = None,
    quiet: common.QuietOption = False,
) -> None:
    """Write the access graph: principals, the resources they used, and AssumeRole chains.

    JSON (node-link, reloadable with --graph), GraphML (Gephi, yEd) or DOT (Graphviz).
    """
    fmt = common.checked_format(fmt, GRAPH_FORMATS)
    if output is not None:  # before reading: a long read must not end in "cannot write"
        common.check_output_file(output)
    access = load_access(trail, graph_file, since, until, account, region, workers,
                         reading.source_choice(source, lookup_attribute, profile, quiet))
    text = render_access_graph(access, fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    common.write_output(output, text)
    if not quiet:
        typer.echo(f"wrote {output} ({fmt}: {access.node_count} nodes, "
                   f"{access.edge_count} edges)", err=True)


def who(
    pattern: Annotated[
        str, typer.Argument(help="A resource ARN, or a pattern with * and ? (per ARN part, "
                            "case-sensitive, as IAM matches).", show_default=False)
    ],
    trail: common.TrailOption = [],  # noqa: B006 - typer reads the default, never mutates it
    graph_file: GraphFileOption = None,
    fmt: QueryFormat = "text",
    since: common.SinceOption = None,
    until: common.UntilOption = None,
    account: common.AccountOption = None,
    region: common.RegionOption = None,
    source: common.SourceOption = "trail",
    lookup_attribute: common.LookupAttributeOption = None,
    profile: common.AwsProfileOption = None,
    workers: common.WorkersOption = None,
    quiet: common.QuietOption = False,
) -> None:
    """Which principals used a resource, with which actions, and when last (newest first)."""
    if pattern != "*" and not pattern.startswith("arn:"):
        raise UsageError(f"{pattern!r} is not an ARN: give one (arn:aws:s3:::bucket/*), "
                         "or * for every resource")
    fmt = _check_query_format(fmt)
    access = load_access(trail, graph_file, since, until, account, region, workers,
                         reading.source_choice(source, lookup_attribute, profile, quiet))
    sightings = access.who(pattern)
    if fmt == "json":
        typer.echo(json.dumps({"pattern": pattern, "sightings": [_sighting(s) for s in sightings]},
                              indent=2, sort_keys=True))
        return
    if not sightings:
        typer.echo(f"no principal in the graph used a resource matching {pattern}")
        return
    rows = [(s.principal.name, s.principal.kind.value, s.action,
             "denied" if s.denied else "allowed", str(s.count), iso_seconds(s.last_seen),
             s.resources[0] if len(s.resources) == 1 else f"{len(s.resources)} resources")
            for s in sightings]
    typer.echo(_table(("principal", "kind", "action", "outcome", "calls", "last seen",
                       "resource"), rows), nl=False)


def chains(
    role: Annotated[str, typer.Argument(help="Role name or ARN (paths included).",
                                        show_default=False)],
    trail: common.TrailOption = [],  # noqa: B006 - typer reads the default, never mutates it
    graph_file: GraphFileOption = None,
    fmt: QueryFormat = "text",
    since: common.SinceOption = None,
    until: common.UntilOption = None,
    account: common.AccountOption = None,
    region: common.RegionOption = None,
    source: common.SourceOption = "trail",
    lookup_attribute: common.LookupAttributeOption = None,
    profile: common.AwsProfileOption = None,
    workers: common.WorkersOption = None,
    quiet: common.QuietOption = False,
) -> None:
    """Which principals reached a role through observed, successful AssumeRole chains."""
    fmt = _check_query_format(fmt)
    access = load_access(trail, graph_file, since, until, account, region, workers,
                         reading.source_choice(source, lookup_attribute, profile, quiet))
    roles = access.roles()
    others = [p for p in access.principals() if p not in roles]
    if not any(common.match_one(role, p) for p in roles) and any(
            common.match_one(role, p) for p in others):
        raise UsageError(f"{role} is not a role: chains end at roles (AssumeRole), users "
                         "and root only start them")
    chosen = common.match_principals([role], roles)
    found = [(target, access.chains_into(target)) for target in chosen]
    if fmt == "json":
        typer.echo(json.dumps([{"role": target.arn, "chains": [_chain(c) for c in reached]}
                               for target, reached in found], indent=2, sort_keys=True))
        return
    lines: list[str] = []
    for target, reached in found:
        if not reached:
            lines.append(f"{target.arn}: no observed AssumeRole chain reaches it")
            continue
        starts = sorted({c.start.name for c in reached})
        lines.append(f"{target.arn}: reached from {len(starts)} principal(s) "
                     f"by {len(reached)} chain(s)")
        for chain in reached:
            path = " -> ".join(p.name for p in chain.principals)
            last = ", ".join(iso_seconds(h.last_seen) for h in chain.hops)
            calls = ", ".join(str(h.count) for h in chain.hops)
            lines.append(f"  {path}  (calls per hop: {calls}; last seen per hop: {last})")
    typer.echo("\n".join(lines))


def _check_query_format(fmt: str) -> str:
    """The --format of who and chains, lower-cased; UsageError when unknown."""
    if fmt.lower() not in ("text", "json"):
        raise UsageError(f"unknown --format {fmt!r}: choose text or json")
    return fmt.lower()


def _sighting(s: Sighting) -> dict[str, Any]:
    return {"principal": s.principal.arn, "kind": s.principal.kind.value, "action": s.action,
            "outcome": "denied" if s.denied else "allowed", "count": s.count,
            "first_seen": iso_seconds(s.first_seen), "last_seen": iso_seconds(s.last_seen),
            "resources": list(s.resources)}


def _chain(chain: Chain) -> dict[str, Any]:
    return {"principals": [p.arn for p in chain.principals],
            "hops": [{"from": h.source.arn, "to": h.target.arn, "count": h.count,
                      "last_seen": iso_seconds(h.last_seen)} for h in chain.hops]}


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Aligned columns; when they would not fit the width, the last column
    (the resource) goes on its own indented line under each row."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    if sum(widths) + 2 * (len(widths) - 1) <= text_width():
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in (header, tuple("-" * w for w in widths), *rows)]
        return "\n".join(lines) + "\n"
    head = widths[:-1]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(header[:-1], head)).rstrip()
             + f" / {header[-1]}", "  ".join("-" * w for w in head)]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], head)).rstrip())
        lines.append(f"    {row[-1]}")
    return "\n".join(lines) + "\n"

