"""The read every command that takes ``--source`` starts with: its options
turned into one call."""

from __future__ import annotations

from collections.abc import Sequence

from ..scanning import gc_tuning
from . import common, reading, summary


def read_usable(trail: Sequence[str], since: str | None, until: str | None,
                accounts: Sequence[str] | None, regions: Sequence[str] | None,
                workers: int | None, choice: reading.SourceChoice,
                principals: Sequence[str] = (), *, contexts: bool = True) -> reading.Run:
    """Read the events the options name (the filters of
    :func:`~.common.build_filters`, from where ``choice`` says), print the run
    summary on stderr unless quiet, and fail when nothing usable was read.
    ``contexts``: see :func:`~.reading.read_trails`."""
    filters = common.build_filters(since, until, accounts, regions)
    run = reading.read_chosen(trail, filters, workers, choice, principals=principals,
                              contexts=contexts)
    with gc_tuning.cyclic_gc_paused():  # the summary goes over every usage
        summary.print_run_summary(run, choice.quiet)
        reading.require_usable(run)
    return run
