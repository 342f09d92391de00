"""Synthesis of many principals' policies on several processes.

Each principal's policy depends on its own permissions only, so the work
splits by principal. Forked child processes (they share every permission
with this one, nothing is copied up front) each synthesize a share and send
the results back; this process does one share too. The results, and any
error, come out in the order of the input, exactly as one process would give
them.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Sequence
from typing import Any

from ..model import Permission
from ..orphans import in_worker
from .harden import HardenEvidence
from .settings import SynthResult, SynthSettings
from .synthesize import synthesize

# Below this many permissions in all, forking costs more than it saves.
MIN_PARALLEL_PERMISSIONS = 20_000

Outcome = SynthResult | Exception


def synthesize_many(permission_sets: Sequence[Sequence[Permission]], settings: SynthSettings,
                    workers: int = 2,
                    min_parallel: int = MIN_PARALLEL_PERMISSIONS,
                    evidence: Sequence[HardenEvidence | None] | None = None) -> list[Outcome]:
    """:func:`synthesize` for each set, in order; an error (such as
    :class:`~iamgen.errors.PolicyTooLargeError`) takes its set's place.
    ``evidence`` (one per set, for hardening) is handed to each synthesis.

    With ``workers`` of 2 or more, at least ``min_parallel`` permissions in
    all and a platform that can fork, ``workers - 1`` child processes take
    shares of the work (balanced by permission count) beside this one.
    """
    total = sum(len(p) for p in permission_sets)
    workers = min(workers, len(permission_sets))
    if (workers < 2 or total < min_parallel
            or "fork" not in multiprocessing.get_all_start_methods()):
        return [_outcome(permissions, settings, _nth(evidence, i))
                for i, permissions in enumerate(permission_sets)]
    mine, *theirs = _shares([len(p) for p in permission_sets], workers)
    context = multiprocessing.get_context("fork")
    children = []
    for share in theirs:
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=in_worker,
                                args=(os.getpid(), _child, permission_sets, share, settings,
                                      sender, evidence),
                                daemon=True)
        child.start()
        sender.close()
        children.append((child, receiver))
    try:
        outcomes: dict[int, Outcome] = {
            i: _outcome(permission_sets[i], settings, _nth(evidence, i)) for i in mine}
        for _, receiver in children:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                raise RuntimeError("a synthesis worker process died") from None
            if kind == "error":
                raise RuntimeError(f"a synthesis worker failed:\n{payload}")
            outcomes.update(payload)
    finally:
        for child, receiver in children:
            receiver.close()
            if child.is_alive():  # done sending (or failed): nothing left for it to do
                child.terminate()
            child.join()
    return [outcomes[i] for i in range(len(permission_sets))]


def _nth(evidence: Sequence[HardenEvidence | None] | None, index: int) -> HardenEvidence | None:
    return evidence[index] if evidence is not None else None


def _outcome(permissions: Sequence[Permission], settings: SynthSettings,
             evidence: HardenEvidence | None = None) -> Outcome:
    try:
        return synthesize(permissions, settings, evidence=evidence)
    except Exception as exc:  # noqa: BLE001 - handed back in order; the caller raises it
        return exc


def _shares(sizes: Sequence[int], count: int) -> list[list[int]]:
    """Indexes split into ``count`` shares of about equal total size, largest first."""
    shares: list[list[int]] = [[] for _ in range(count)]
    loads = [0] * count
    for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        lightest = loads.index(min(loads))
        shares[lightest].append(index)
        loads[lightest] += sizes[index] + 1
    return shares


def _child(permission_sets: Sequence[Sequence[Permission]], indexes: list[int],
           settings: SynthSettings, sender: Any,
           evidence: Sequence[HardenEvidence | None] | None = None) -> None:
    try:
        sender.send(("done", {i: _outcome(permission_sets[i], settings, _nth(evidence, i))
                              for i in indexes}))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        sender.send(("error", traceback.format_exc()))
    finally:
        sender.close()
