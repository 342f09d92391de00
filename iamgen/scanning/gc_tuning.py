"""How iamgen tunes Python's cyclic garbage collector, in one place.

Reading a trail makes millions of long-lived containers (tallies, memo
tables, graph edges) and none of them form cycles, so collections are pure
cost there: each walks everything still alive. Reference counting frees all
that is not in a cycle whatever is set here; these only decide how often,
and over what, the cyclic collector walks.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Generation thresholds while reading: a first-generation collection every
# 50,000 allocations instead of 700 (the default costs ~25% of a worker
# process's time).
RARE_COLLECTION_THRESHOLDS = (50_000, 20, 100)

# A read this large is frozen once done (see freeze_large_read).
FREEZE_AFTER_EVENTS = 100_000


@contextmanager
def collecting_rarely() -> Iterator[None]:
    """Collect at RARE_COLLECTION_THRESHOLDS for a while, then restore the thresholds."""
    thresholds = gc.get_threshold()
    gc.set_threshold(*RARE_COLLECTION_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def freeze_and_collect_rarely() -> None:
    """For a worker process, once at its start: leave what it inherited out
    of every collection, and collect rarely from then on.

    Most objects made in a worker live until it ends (tallies, memo tables)
    and none form cycles.
    """
    gc.freeze()
    gc.set_threshold(*RARE_COLLECTION_THRESHOLDS)


def freeze_large_read(events_read: int) -> None:
    """After a read of at least FREEZE_AFTER_EVENTS events, leave everything
    alive now out of every later collection.

    What was read lives until the command ends and holds no cycles: this keeps
    the collector from walking it again and again. Small runs (as in tests
    reading many times in one process) are left alone.
    """
    if events_read >= FREEZE_AFTER_EVENTS:
        gc.freeze()


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off for a while (a caller's own pause
    is left as it was).

    The stages after reading allocate some 10^5 containers (graph edges,
    permissions, statements) that hold no cycles; every collection they trigger
    would walk all of them, and the whole access graph, again: a third of the
    time after reading on a 1M-event trail.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
