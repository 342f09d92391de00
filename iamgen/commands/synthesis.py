"""Synthesizing the policies of a run's principals: through the run's store
when it has one (:mod:`iamgen.store.syntheses`), directly otherwise."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from ..model import Permission
from ..store.syntheses import synthesize_kept
from ..synth.harden import HardenEvidence
from ..synth.parallel import Outcome, synthesize_many
from ..synth.settings import SynthSettings
from . import reading


def synthesize_for(run: reading.Run, permission_sets: Sequence[Sequence[Permission]],
                   settings: SynthSettings, *, evidence: Sequence[HardenEvidence] | None = None,
                   workers: int | None = None, quiet: bool = True) -> list[Outcome]:
    """Each set's synthesis (or error), in order, on ``workers`` processes
    (default: the machine's cores, at most 8). A run read through a store
    takes the syntheses it keeps and keeps the new ones, unless hardened,
    and says how many it took (on stderr, unless ``quiet``)."""
    workers = workers if workers is not None else reading.default_workers()
    if run.store is None or settings.harden:
        return synthesize_many(permission_sets, settings, evidence=evidence, workers=workers)
    outcomes, taken = synthesize_kept(run.store.path, permission_sets, settings,
                                      workers=workers)
    if not quiet:
        typer.echo(f"iamgen store: policies: {taken} as synthesized before, "
                   f"{len(outcomes) - taken} synthesized", err=True)
    return outcomes
