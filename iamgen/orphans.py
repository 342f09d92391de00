"""Worker processes end with the run that started them.

A worker forked for reading, merging or synthesis is ended by its parent when
the run ends; but a parent killed outright (SIGKILL, an out-of-memory kill)
ends nothing, and a worker then waiting to send its result would wait forever.
On Linux the kernel is asked to end the worker when its parent goes
(``PR_SET_PDEATHSIG``); elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def in_worker(parent: int, target: Callable[..., None], *args: Any) -> None:
    """A worker process's target: ``target(*args)`` in a worker that ends
    with process ``parent`` (pass ``os.getpid()`` from the process forking it)."""
    end_with_parent(parent)
    target(*args)


def end_with_parent(parent: int) -> None:
    """Call first thing in a worker forked by process ``parent``: the worker
    is killed when that process ends (at once, if it already has)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl to call: the worker ends as before
        return
    if os.getppid() != parent:  # the parent went before the request was made
        os._exit(1)
