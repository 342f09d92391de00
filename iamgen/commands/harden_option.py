"""``--harden``: the option ``suggest``, ``backtest`` and ``explain`` share."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import UsageError
from ..synth.harden import AUTO, family_names, parse_harden

HardenOption = Annotated[
    str | None,
    typer.Option(
        "--harden", metavar="FAMILY[,FAMILY...]",
        help="Add the conditions every observed call of a statement satisfied: "
             f"{', '.join(family_names())}, or {AUTO} (every family the evidence supports). "
             "None by default."),
]


def harden_families(value: str | None) -> tuple[str, ...]:
    """The families ``--harden`` names, in data order; a usage error for an unknown one."""
    try:
        return parse_harden(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
