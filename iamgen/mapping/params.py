"""Placeholder filling: the values of an ARN template's placeholders, from a
record's request (and response) parameters as ``iamgen/data/resource_params.toml``
lists them, and the ARNs they make."""

from __future__ import annotations

from typing import Any

from ..arn import literal, literal_arn
from .context import RecordContext
from .paths import values_at
from .rules import ParamSpec, PlaceholderSpecs, placeholder_specs
from .templates import ArnTemplate
from .transforms import ARN_TRANSFORMS, TRANSFORMS

# A default spec's first paths are the placeholder's own names (camelCase, as written).
_OWN_DEFAULT_PATHS = 2


def _clean(raw: Any, spec: ParamSpec) -> str | None:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw:
        return None
    is_arn = raw.startswith("arn:")
    # A name as logged is literal: a *, ? or ${ in it must not act as a wildcard
    # (transforms below may then add wildcards of their own, as a secret's -??????).
    value: str | None = literal_arn(raw) if is_arn else literal(raw)
    for how in spec.transforms:
        if value is None:
            break
        if is_arn and how not in ARN_TRANSFORMS:
            continue
        value = TRANSFORMS[how](value)
    return value


def _param_values(
    ctx: RecordContext,
    spec: ParamSpec,
    single: bool,
    any_case: bool = False,
    taken: set[tuple[bool, str]] | None = None,
    notes: list[str] | None = None,
    own_only: bool = False,
    origin: dict[str, str] | None = None,
) -> list[str]:
    """Values for one placeholder. ``taken`` holds the request paths earlier
    placeholders of the same ARN used: one request value never fills two
    placeholders (Glue DeleteDatabase's ``name`` is the database, not a table).
    The path used is added to it. ``own_only``: only parameters named after
    the placeholder itself (or listed for it in the data), no fallback.
    ``origin`` gets the region and account of a parent's ARN a value was cut
    from (a log group named by its ARN, in another account)."""
    found: list[str] = []
    paths = spec.parsed[:_OWN_DEFAULT_PATHS] if own_only and spec.rule_id == "default" \
        else spec.parsed
    for path in paths:
        if path.optional and not single:
            continue
        if taken and path.where in taken:
            continue
        source = ctx.response if path.response else ctx.params
        if path.key:
            raw = source.get(path.key)
            if raw is None:
                continue
            raws = raw if isinstance(raw, list) else (raw,)
        else:
            raws = values_at(source, path.rest)
        for raw in raws:
            value = _clean(raw, spec)
            if value and value not in found:
                found.append(value)
                if origin is not None and raw.__class__ is str and raw.startswith("arn:") \
                        and not value.startswith("arn:"):
                    parts = raw.split(":", 5)
                    if len(parts) == 6:
                        origin.setdefault("Region", parts[3])
                        origin.setdefault("Account", parts[4])
        if found:
            if taken is not None:
                taken.add(path.where)
            return found
    if own_only:
        return found
    if any_case and spec.rule_id == "default":
        # Parameter names differ in case across services (dBSnapshotIdentifier).
        used = {key.lower() for response, key in taken or () if not response}
        for path in spec.parsed:
            if path.key and path.key.lower() in used:  # any case: the same member
                continue
            if path.key and not path.response and (single or not path.optional):
                value = _clean(ctx.param_any_case(path.key), spec)
                if value:
                    return [value]
    if spec.default is not None:
        found.append(spec.default)
        if notes is not None:
            notes.append(f"{spec.rule_id}: default {spec.default}")
    return found


_MAX_COMBINATIONS = 200


def arns_from_params(
    tpl: ArnTemplate,
    ctx: RecordContext,
    specs: PlaceholderSpecs | None = None,
    any_case: bool = False,
    notes: list[str] | None = None,
) -> list[str]:
    """ARNs built by filling ``tpl`` from request (and response) parameters.

    A parameter that already holds an ARN of this shape is used as it is.
    With ``any_case``, unlisted placeholders also match parameter names that
    differ in case (``dBSnapshotIdentifier``). Returns [] when any
    placeholder cannot be filled. Defaults used are named in ``notes``.
    """
    if specs is None:
        specs = placeholder_specs(tpl.service, tpl.resource_type)
    if not tpl.names:
        owner = specs.account_for({}, ctx.params)
        return [tpl.fill(ctx, {} if owner is None else {"Account": owner})]
    single = len(tpl.names) == 1
    choices: list[tuple[str, list[str]]] = []
    complete = True
    taken: set[tuple[bool, str]] | None = None if single else set()
    claimed: dict[str, list[str]] = {}
    origin: dict[str, str] = {}
    if not single:
        # A parameter named after a placeholder is that placeholder's before any
        # other takes it as a fallback (GetLogEvents' logStreamName is the
        # stream, never the group).
        for name in tpl.names:
            claimed[name] = _param_values(ctx, specs.get(name), single, any_case, taken,
                                          own_only=True, origin=origin)
    for name in tpl.names:
        values = claimed.get(name) or _param_values(ctx, specs.get(name), single, any_case,
                                                    taken, notes, origin=origin)
        full = [v for v in values if v.startswith("arn:")]
        if full:
            # A whole ARN (functionName, secretId, stateMachineArn...) decides alone.
            return [v for v in full if tpl.matches(v)]
        if not values:
            complete = False
        choices.append((name, values))
    if not complete:
        return []
    combos: list[dict[str, str]] = [{}]
    for name, values in choices:
        combos = [{**c, name: v} for c in combos for v in values][:_MAX_COMBINATIONS]
    out = []
    for combo in combos:
        owner = specs.account_for(combo, ctx.params)
        # Where a value was cut from a parent's ARN, the ARN is in that parent's
        # region and account; an owner the data names still decides the account.
        values = {**origin, **combo} if origin else combo
        out.append(tpl.fill(ctx, values if owner is None else {**values, "Account": owner}))
    return out
