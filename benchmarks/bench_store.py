"""What ``--store`` costs and saves: ``iamgen suggest --all`` on the 1M-event trail.

    python benchmarks/bench_store.py [--events 1000000] [--repeat 3]

Uses the synthetic trail of benchmarks/generate_trail.py (written once under
.bench/), and a copy of it made of hard links under .bench/store/: first the
oldest 90% of its files (by delivery time, every account and region), then
the newest 10% added. Each repetition times, in fresh processes and in this
order (so drifting load hits them alike):

- plain: ``suggest --all`` over the 90%, no store;
- first: the same with ``--store`` on a new store;
- second: with the store, after the newest 10% of files are added;
- rerun: with the store again, nothing new;
- the new files alone: ``suggest --all`` over only the newest 10%, no store:
  the least a second run costs while every run works out every policy from
  the start (it reads those files too; its policies come from all the
  usages, these from a tenth of them);
- moved, moved again: with the store, ``--since`` the trail's second day,
  then its third (a window that moved on, as a weekly ``--since 90d`` does;
  each timed and checked against a run without the store; no target);

and each again for the reading stage alone (``read_trails``, start-up
included, with a store of its own), since what ``suggest`` does after reading
(synthesis, rendering, writing) costs the same with a store or without. That
stage reads the calls' request context, as ``review`` and ``--harden`` do
(``suggest`` and ``diff`` leave it out, and so does a store that no run has
needed it from).

Then a periodic review as teams run it (no target): a trail of 70 days
(0.7 x ``--events``, generated once), reviewed over a 56-day window moved on
a week at a time, a week of new files each time: the first run (days 1-56),
the first week after (the window's start moved: the first run's pieces no
longer fit it), the second week (the steady state), and a rerun; each timed
against ``suggest --all`` without the store over the same files and window
(outputs checked identical).

Every store run's files must equal, byte for byte, those of a run without the
store over the same files (checked each repetition). Prints medians (ranges),
each repetition's first/plain ratio (the pair's runs minutes apart: what the
machine's drift does to the ratio of medians), the store's size per million
events, and exits non-zero naming each target missed, for either stage:
first <= 1.15 x plain; second <= 0.20 x first; rerun < 2 s.
``--workers`` is left at its default (the machine's cores, at most 8).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"

from bench_throughput import bench_arguments, compile_iamgen, spread, trail  # noqa: E402 - run as a script: its folder is on sys.path
WORK = BENCH / "store"
TARGET_FIRST = 1.15
TARGET_SECOND = 0.20
TARGET_RERUN_SECONDS = 2.0
NEW_SHARE = 0.10
# After the rerun: the window moved on a day, then another (a weekly --since
# 90d moves it a week): the first merges file by file what the store's
# aggregates no longer cover and keeps it by day; the second takes days.
MOVED = {"moved": "window moved a day (first time)", "moved again": "moved another day"}
_STAMP = re.compile(r"_(\d{8}T\d{4}Z)_")

READ_ONLY = r"""
import sys
from iamgen.commands.reading import read_trails
from iamgen.model import Filters
run = read_trails([sys.argv[1]], Filters(), progress=False, store=sys.argv[2] or None)
print(run.result.events_read)
"""


def split(source: Path) -> tuple[list[Path], list[Path]]:
    """The trail's files: the oldest 90% and the newest 10% (by delivery time)."""
    files = sorted(source.rglob("*.json.gz"),
                   key=lambda p: ((m := _STAMP.search(p.name)) and m[1] or "", str(p)))
    cut = len(files) - max(1, round(len(files) * NEW_SHARE))
    return files[:cut], files[cut:]


def link(files: list[Path], source: Path, target: Path) -> None:
    """Hard-link ``files`` (under ``source``) into ``target``: same size and mtime."""
    for path in files:
        into = target / path.relative_to(source)
        into.parent.mkdir(parents=True, exist_ok=True)
        if not into.exists():
            os.link(path, into)


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (its worker processes included) of a command."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               cwd=ROOT)
    err = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(command)}\n{err.decode()}")
    return seconds, usage.ru_utime + usage.ru_stime


def suggest(folder: Path, out: Path, store: Path | None, since: str | None = None
            ) -> tuple[float, float]:
    """Wall and CPU seconds of ``iamgen suggest --all`` (outputs in ``out``)."""
    shutil.rmtree(out, ignore_errors=True)
    exe = Path(sys.executable).with_name("iamgen")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "iamgen"]
    command += ["suggest", "--all", "--trail", str(folder), "--output-dir", str(out), "-q"]
    if store is not None:
        command += ["--store", str(store)]
    if since is not None:
        command += ["--since", since]
    return timed(command)


def days_of(files: list[Path]) -> list[str]:
    """The delivery days of ``files``, sorted (``YYYY-MM-DD``)."""
    stamps = {m[1][:8] for p in files if (m := _STAMP.search(p.name))}
    return [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in sorted(stamps)]


def read_only(folder: Path, store: Path | None) -> tuple[float, float]:
    """Wall and CPU seconds of the reading stage alone (``read_trails``, start-up included)."""
    return timed([sys.executable, "-c", READ_ONLY, str(folder), str(store or "")])


PERIODIC_DAYS, WINDOW_DAYS, STEP_DAYS = 70, 56, 7
PERIODIC = {"first": "first run (days 1-56)", "week 1": "a week on (window moved)",
            "week 2": "another week on", "rerun": "rerun, nothing new"}


def periodic(events: int, repeat: int) -> dict[str, dict[str, list[float]]]:
    """Wall seconds of each step of a weekly review, with the store and without."""
    source = trail(events, PERIODIC_DAYS)
    files = sorted(source.rglob("*.json.gz"))
    first_day = min(_day(p) for p in files)
    times: dict[str, dict[str, list[float]]] = {k: {"store": [], "plain": []} for k in PERIODIC}
    for _ in range(repeat):
        folder, store = WORK / "periodic", WORK / "periodic.db"
        shutil.rmtree(folder, ignore_errors=True)
        for path in WORK.glob("periodic.db*"):
            path.unlink()
        since: str | None = None
        for step, name in enumerate(("first", "week 1", "week 2")):
            end = first_day + timedelta(days=WINDOW_DAYS + STEP_DAYS * step)
            link([p for p in files if _day(p) < end], source, folder)
            since = (None if step == 0
                     else (first_day + timedelta(days=STEP_DAYS * step)).isoformat())
            times[name]["store"].append(suggest(folder, WORK / "periodic-store", store, since)[0])
            times[name]["plain"].append(suggest(folder, WORK / "periodic-plain", None, since)[0])
            if outputs(WORK / "periodic-store") != outputs(WORK / "periodic-plain"):
                raise SystemExit(f"periodic {name}: the run with the store differs from one "
                                 "without it")
        times["rerun"]["store"].append(suggest(folder, WORK / "periodic-store", store, since)[0])
        times["rerun"]["plain"].append(times["week 2"]["plain"][-1])
    return times


def _day(path: Path) -> date:
    """The delivery day in a trail file's name."""
    stamp = _STAMP.search(path.name)
    if stamp is None:
        raise SystemExit(f"{path}: no delivery time in the name")
    return date(int(stamp[1][:4]), int(stamp[1][4:6]), int(stamp[1][6:8]))


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def ratio(times: dict[str, list[float]], name: str, against: str) -> str:
    """``name`` over ``against``, of the medians."""
    return f" = {statistics.median(times[name]) / statistics.median(times[against]):.2f} x"


def store_bytes(store: Path) -> int:
    """The store's size on disk (its WAL included)."""
    return sum(p.stat().st_size for p in (store, Path(f"{store}-wal")) if p.exists())


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a target is missed."""
    args = bench_arguments(__doc__, argv, repeat=3)
    compile_iamgen()
    source = trail(args.events)
    old, new = split(source)
    print(f"machine: {os.cpu_count()} cores; --workers default; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"trail: {args.events:,} events, {len(old) + len(new)} files; first runs read "
          f"{len(old)}, the second run adds {len(new)}")
    plain_full = WORK / "plain-full"
    suggest(source, plain_full, None)  # the output every run over the whole trail must give
    expected_full = outputs(plain_full)
    names = ("plain", "first", "second", "rerun", "new")
    new_only = WORK / "new-only"  # the newest 10% alone
    shutil.rmtree(new_only, ignore_errors=True)
    link(new, source, new_only)
    runs: dict[str, list[tuple[float, float]]] = {
        k: [] for k in (*names, *MOVED, *(f"{name} plain" for name in MOVED))}
    written = 0  # files the run over the new 10% alone wrote
    moved = days_of(old + new)[1:3]
    reads: dict[str, list[tuple[float, float]]] = {k: [] for k in names}
    sizes: list[int] = []
    for _ in range(args.repeat):
        folder, store, read_store = WORK / "trail", WORK / "store.db", WORK / "read.db"
        shutil.rmtree(folder, ignore_errors=True)
        for path in [*WORK.glob("store.db*"), *WORK.glob("read.db*")]:
            path.unlink()
        link(old, source, folder)
        runs["plain"].append(suggest(folder, WORK / "plain", None))
        reads["plain"].append(read_only(folder, None))
        runs["first"].append(suggest(folder, WORK / "first", store))
        reads["first"].append(read_only(folder, read_store))
        if outputs(WORK / "first") != outputs(WORK / "plain"):
            raise SystemExit("the first run with the store differs from the run without it")
        link(new, source, folder)
        runs["second"].append(suggest(folder, WORK / "second", store))
        reads["second"].append(read_only(folder, read_store))
        runs["new"].append(suggest(new_only, WORK / "new", None))
        written = len(outputs(WORK / "new"))
        reads["new"].append(read_only(new_only, None))
        runs["rerun"].append(suggest(folder, WORK / "rerun", store))
        reads["rerun"].append(read_only(folder, read_store))
        for name in ("second", "rerun"):
            if outputs(WORK / name) != expected_full:
                raise SystemExit(f"the {name} run with the store differs from a run without it")
        sizes.append(store_bytes(store))
        for name, since in (("moved", moved[0]), ("moved again", moved[1])):
            runs[name].append(suggest(folder, WORK / name, store, since))
            runs[f"{name} plain"].append(suggest(folder, WORK / "plain-moved", None, since))
            if outputs(WORK / name) != outputs(WORK / "plain-moved"):
                raise SystemExit(f"the {name} run with the store differs from a run without it")

    weekly = periodic(round(args.events * 0.7), args.repeat)
    size = statistics.median(sizes)
    print(f"runs: {args.repeat}, seconds, median (min-max); outputs identical to runs "
          "without the store")
    relative = {"first": "plain", "second": "first", "new": "first"}
    for title, table in (("iamgen suggest --all", runs),
                         ("reading alone, with request context (as review)", reads)):
        walls = {k: [w for w, _ in v] for k, v in table.items()}
        cpus = {k: [c for _, c in v] for k, v in table.items()}
        print(f"  {title}:{'wall':>{max(5, 46 - len(title))}}{'':26}CPU (all processes)")
        for name, label in (("plain", "plain (90% of files, no store)"),
                            ("first", "first run with --store"),
                            ("second", "second run (+10% of files)"),
                            ("rerun", "rerun, nothing new"),
                            ("new", "the new 10% alone, no store")):
            against = relative.get(name)
            wall = spread(walls[name]) + (ratio(walls, name, against) + f" {against}"
                                          if against else "")
            cpu = spread(cpus[name]) + (ratio(cpus, name, against) + f" {against}"
                                        if against else "")
            print(f"    {label:<32} {wall:<36} {cpu}")
        pairs = [first / plain for plain, first in zip(walls["plain"], walls["first"],
                                                        strict=True)]
        print(f"    first / plain, each repetition's pair (minutes apart): "
              f"{' '.join(f'{x:.2f}' for x in pairs)}; median {statistics.median(pairs):.2f}")
    print(f"  the run over the new 10% alone wrote {written} files, "
          f"the second run {len(expected_full)}")
    walls = {k: [w for w, _ in v] for k, v in runs.items()}
    print(f"  a window that moved on (--since {moved[0]}, then {moved[1]}; no target):")
    for name, label in MOVED.items():
        print(f"    {label:<32} {spread(walls[name]):<36} without the store: "
              f"{spread(walls[f'{name} plain'])}{ratio(walls, name, f'{name} plain')}")
    print(f"  a periodic review: {PERIODIC_DAYS} days of trail "
          f"({round(args.events * 0.7):,} events), a {WINDOW_DAYS}-day window moved on "
          f"{STEP_DAYS} days at a time (no target):")
    for name, label in PERIODIC.items():
        with_store, without = weekly[name]["store"], weekly[name]["plain"]
        factor = statistics.median(with_store) / statistics.median(without)
        print(f"    {label:<32} {spread(with_store):<36} without the store: "
              f"{spread(without)} ({factor:.2f} x)")
    print(f"  targets: first <= {TARGET_FIRST} x plain, second <= {TARGET_SECOND} x first, "
          f"rerun < {TARGET_RERUN_SECONDS:.0f} s (judged on medians of wall time)")
    print(f"  store size: {size / 1e6:,.1f} MB for {args.events:,} events = "
          f"{size / 1e6 / (args.events / 1e6):,.1f} MB per million events")
    med = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    red = {k: statistics.median(w for w, _ in v) for k, v in reads.items()}
    missed = []
    for stage, times in (("suggest --all", med), ("reading", red)):
        if times["first"] > TARGET_FIRST * times["plain"]:
            missed.append(f"{stage}: first run {times['first'] / times['plain']:.2f} x plain "
                          f"> {TARGET_FIRST}")
        if times["second"] > TARGET_SECOND * times["first"]:
            missed.append(f"{stage}: second run {times['second'] / times['first']:.2f} x "
                          f"first > {TARGET_SECOND} (the new files alone, without a store: "
                          f"{times['new'] / times['first']:.2f} x first)")
        if times["rerun"] >= TARGET_RERUN_SECONDS:
            missed.append(f"{stage}: rerun {times['rerun']:.2f} s >= "
                          f"{TARGET_RERUN_SECONDS:.0f} s")
    for line in missed:
        print(f"target missed: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
