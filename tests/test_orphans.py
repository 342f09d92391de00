"""A worker ends with the run that forked it, even when the run is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from iamgen.orphans import end_with_parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the kernel's parent-death signal is Linux's")

# A run that forks a worker (as iamgen forks its readers), says its pid, and waits.
_RUN = textwrap.dedent("""
    import multiprocessing, os, sys, time
    from iamgen.orphans import in_worker

    def worker():
        time.sleep(60)  # as a worker blocked sending to a parent that is gone

    if __name__ == "__main__":
        fork = multiprocessing.get_context("fork")
        child = (fork.Process(target=in_worker, args=(os.getpid(), worker))
                 if sys.argv[1] == "1" else fork.Process(target=worker))
        child.start()
        print(child.pid, flush=True)
        time.sleep(60)
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("protect", [True, False])
def test_a_worker_whose_run_is_killed_ends(protect: bool) -> None:
    run = subprocess.Popen([sys.executable, "-c", _RUN, "1" if protect else "0"],
                           stdout=subprocess.PIPE, text=True)
    assert run.stdout is not None
    worker = int(run.stdout.readline())
    try:
        run.kill()  # SIGKILL: the run ends nothing itself
        run.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.02)
        # Without the request, the worker outlives its run: the check can fail.
        assert _alive(worker) is not protect
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)


def test_a_worker_whose_run_already_ended_ends_at_once() -> None:
    pid = os.fork()
    if pid == 0:  # the worker, told its parent is one that is not its parent
        end_with_parent(os.getppid() + 1_000_000)
        os._exit(0)  # not reached
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1
