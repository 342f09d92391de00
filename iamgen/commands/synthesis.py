"""Synthesizing the policies of a run's principals: through the run's store
when it has one (:mod:`iamgen.store.syntheses`), directly otherwise."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from ..model import Permission
from ..scanning.tally import warning_line
from ..store.syntheses import synthesize_kept
from ..synth.harden import HardenEvidence
from ..synth.parallel import Outcome, synthesize_many
from ..synth.settings import SynthSettings
from . import reading


def synthesize_for(run: reading.Run, permission_sets: Sequence[Sequence[Permission]],
                   settings: SynthSettings, *, evidence: Sequence[HardenEvidence] | None = None,
                   workers: int | None = None, quiet: bool = False,
                   say_taken: bool = True) -> list[Outcome]:
    """Each set's synthesis (or error), in order, on ``workers`` processes
    (default: the machine's cores, at most 8). A run read through a store
    takes the syntheses it keeps and keeps the new ones, unless hardened,
    and says how many it took when ``say_taken`` (on stderr, unless
    ``quiet``), and why the store could not serve, when it could not (a
    warning: the policies are synthesized as without it)."""
    workers = workers if workers is not None else reading.default_workers()
    if run.store is None or settings.harden:
        return synthesize_many(permission_sets, settings, evidence=evidence, workers=workers)
    kept = synthesize_kept(run.store.path, permission_sets, settings, workers=workers)
    if kept.problem is not None and not quiet:
        typer.echo(warning_line(str(run.store.path), None, kept.problem), err=True)
    if say_taken and not quiet:
        typer.echo(f"iamgen store: policies: {kept.taken} as synthesized before, "
                   f"{len(kept.outcomes) - kept.taken} synthesized", err=True)
    return kept.outcomes
