"""Synthesis of many principals' policies on two processes.

Each principal's policy depends on its own permissions only, so the work
splits by principal. A forked child process (it shares every permission
with this one, nothing is copied up front) synthesizes one share and sends
the results back; this process does the other share. The results, and any
error, come out in the order of the input, exactly as one process would give
them.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Sequence
from typing import Any

from ..model import Permission
from .settings import SynthResult, SynthSettings
from .synthesize import synthesize

# Below this many permissions in all, forking costs more than it saves.
MIN_PARALLEL_PERMISSIONS = 20_000

Outcome = SynthResult | Exception


def synthesize_many(permission_sets: Sequence[Sequence[Permission]], settings: SynthSettings,
                    workers: int = 2,
                    min_parallel: int = MIN_PARALLEL_PERMISSIONS) -> list[Outcome]:
    """:func:`synthesize` for each set, in order; an error (such as
    :class:`~iamgen.errors.PolicyTooLargeError`) takes its set's place.

    With ``workers`` of 2 or more, at least ``min_parallel`` permissions in
    all and a platform that can fork, a child process takes about half of
    the work (by permission count).
    """
    total = sum(len(p) for p in permission_sets)
    if (workers < 2 or len(permission_sets) < 2 or total < min_parallel
            or "fork" not in multiprocessing.get_all_start_methods()):
        return [_outcome(permissions, settings) for permissions in permission_sets]
    mine, theirs = _halves([len(p) for p in permission_sets])
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(permission_sets, theirs, settings, sender),
                            daemon=True)
    child.start()
    sender.close()
    try:
        outcomes: dict[int, Outcome] = {i: _outcome(permission_sets[i], settings) for i in mine}
        try:
            kind, payload = receiver.recv()
        except EOFError:
            raise RuntimeError("a synthesis worker process died") from None
        if kind == "error":
            raise RuntimeError(f"a synthesis worker failed:\n{payload}")
        outcomes.update(payload)
    finally:
        receiver.close()
        child.join()
    return [outcomes[i] for i in range(len(permission_sets))]


def _outcome(permissions: Sequence[Permission], settings: SynthSettings) -> Outcome:
    try:
        return synthesize(permissions, settings)
    except Exception as exc:  # noqa: BLE001 - handed back in order; the caller raises it
        return exc


def _halves(sizes: Sequence[int]) -> tuple[list[int], list[int]]:
    """Indexes split into two shares of about equal total size, largest first."""
    shares: tuple[list[int], list[int]] = ([], [])
    loads = [0, 0]
    for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        lighter = 0 if loads[0] <= loads[1] else 1
        shares[lighter].append(index)
        loads[lighter] += sizes[index] + 1
    return shares


def _child(permission_sets: Sequence[Sequence[Permission]], indexes: list[int],
           settings: SynthSettings, sender: Any) -> None:
    try:
        sender.send(("done", {i: _outcome(permission_sets[i], settings) for i in indexes}))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        sender.send(("error", traceback.format_exc()))
    finally:
        sender.close()
