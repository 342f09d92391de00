"""Throughput and memory of ``iamgen suggest --all`` against a bare parse loop.

    python benchmarks/bench_throughput.py [--events 1000000] [--repeat 3]

Writes (once) a synthetic trail of N events and one of N/10 in the S3 layout
under .bench/ (benchmarks/generate_trail.py), then times, in fresh processes:

- bare: a loop a user could script, gunzipping and parsing every file with
  orjson in one process, doing nothing else;
- iamgen: ``iamgen suggest --all --trail DIR --output-dir .bench/out -q``,
  start-up, reading, resolving, synthesis and writing included.

It prints events/s of both, their ratio, the peak memory (RSS of the largest
single process, from wait4, and of the whole process tree: the sum of PSS,
sampled from /proc every 200 ms, so pages forked workers share with their
parent count once; reading smaps_rollup costs about 3 ms a process, and
every 20 ms it took a third of a core from the runs it measured), and how
time grows from N/10 to N events; and exits non-zero,
naming each target missed: ratio >= 1.5, peak RSS <= 300 MB (the largest
process, as getrusage reports it; the tree total is printed beside it),
per-event time at N within 25% of that at N/10.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
TARGET_RATIO = 1.5
TARGET_RSS_MB = 300.0
TARGET_LINEARITY = 1.25
SAMPLE_SECONDS = 0.2

BARE_LOOP = r"""
import gzip, os, sys, orjson
count = 0
for root, dirs, names in os.walk(sys.argv[1]):
    dirs.sort()
    for name in sorted(names):
        if name.endswith(".json.gz"):
            with open(os.path.join(root, name), "rb") as handle:
                count += len(orjson.loads(gzip.decompress(handle.read()))["Records"])
print(count)
"""


@dataclass(frozen=True)
class Run:
    """One timed process."""

    seconds: float
    max_process_mb: float
    tree_mb: float
    output: str


def _tree_rss_kb(pid: int) -> int:
    """Memory of a process and all its descendants, in kB (0 once gone): the
    sum of their PSS, so pages forked workers share with their parent count once."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            with open(f"/proc/{current}/task/{current}/children") as handle:
                pending.extend(int(c) for c in handle.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def timed(command: list[str]) -> Run:
    """Run a command; wall time, peak RSS of its largest process and of its tree."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=ROOT)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(process.pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = process.stdout.read() if process.stdout else b""
    err = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}\n{err.decode()}")
    return Run(seconds, usage.ru_maxrss / 1024, peak[0] / 1024, out.decode())


def trail(events: int, days: int | None = None) -> Path:
    """The synthetic trail of ``events`` events (over ``days`` days; None: the
    generator's default), generated when missing."""
    folder = BENCH / (f"trail-{events}" if days is None else f"trail-{events}-{days}d")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate_trail.py"),
                    "--events", str(events), "--out", str(folder),
                    *(() if days is None else ("--days", str(days)))], check=True)
    return folder


def bare(folder: Path) -> Run:
    """The bare gunzip + orjson loop over a trail."""
    return timed([sys.executable, "-c", BARE_LOOP, str(folder)])


READ_ONLY = r"""
import sys
from iamgen.commands.reading import read_trails
from iamgen.model import Filters
print(read_trails([sys.argv[1]], Filters(), progress=False).result.events_read)
"""


def reading(folder: Path) -> Run:
    """iamgen's reading stage alone (read_trails: list, read, resolve, tally)."""
    return timed([sys.executable, "-c", READ_ONLY, str(folder)])


def iamgen(folder: Path) -> Run:
    """``iamgen suggest --all`` over a trail."""
    out = BENCH / "out"
    shutil.rmtree(out, ignore_errors=True)
    exe = Path(sys.executable).with_name("iamgen")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "iamgen.cli"]
    return timed([*command, "suggest", "--all", "--trail", str(folder),
                  "--output-dir", str(out), "-q"])


def spread(values: list[float]) -> str:
    """Median and range, e.g. ``12.3 s (11.9-13.0)``."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def bench_arguments(doc: str, argv: list[str] | None, *, repeat: int) -> argparse.Namespace:
    """The options every benchmark takes: ``--events`` (default $BENCH_EVENTS, else 1M) and
    ``--repeat``; ``doc``'s first line describes the command."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--events", type=int,
                        default=int(os.environ.get("BENCH_EVENTS") or 1_000_000))
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser.parse_args(argv)


def compile_iamgen() -> None:
    """Compile iamgen's modules once, as an install does, so no timed run pays
    for it (with PYTHONDONTWRITEBYTECODE set, as on some CI machines, every
    process would compile some 90 modules again: 0.15 s each run)."""
    compileall.compile_dir(ROOT / "iamgen", quiet=1)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a target is missed."""
    args = bench_arguments(__doc__, argv, repeat=3)
    compile_iamgen()
    large = args.events
    small = max(1000, large // 10)
    big_trail, small_trail = trail(large), trail(small)
    print(f"machine: {os.cpu_count()} cores, {_cpu_model()}; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    bare_runs, ours_runs, small_runs, read_runs = [], [], [], []
    for _ in range(args.repeat):  # interleaved, so drifting load hits both alike
        bare_runs.append(bare(big_trail))
        ours_runs.append(iamgen(big_trail))
        small_runs.append(iamgen(small_trail))
        read_runs.append(reading(big_trail))
    counted = int(bare_runs[0].output.strip())
    if counted != large:
        raise SystemExit(f"the bare loop counted {counted} events, expected {large}")

    bare_rates = [large / r.seconds for r in bare_runs]
    ours_rates = [large / r.seconds for r in ours_runs]
    ratios = [o / b for o, b in zip(ours_rates, bare_rates, strict=True)]
    per_event_large = statistics.median(r.seconds for r in ours_runs) / large
    per_event_small = statistics.median(r.seconds for r in small_runs) / small
    linearity = per_event_large / per_event_small
    rss_tree = max(r.tree_mb for r in ours_runs)
    rss_process = max(r.max_process_mb for r in ours_runs)

    print(f"events: {large:,} in {sum(1 for _ in big_trail.rglob('*.json.gz'))} files "
          f"({_size_mb(big_trail):,.0f} MB gzipped); runs: {args.repeat}, median (min-max)")
    print(f"bare gunzip+orjson loop, 1 process: {spread(bare_rates)} events/s; "
          f"peak RSS {max(r.max_process_mb for r in bare_runs):.0f} MB")
    print(f"iamgen suggest --all:               {spread(ours_rates)} events/s; "
          f"wall {spread([r.seconds for r in ours_runs])} s")
    print(f"ratio iamgen / bare: {spread(ratios)} (target >= {TARGET_RATIO})")
    read_rates = [large / r.seconds for r in read_runs]
    print(f"  of which the reading stage alone (read_trails): {spread(read_rates)} events/s, "
          f"ratio {spread([r / b for r, b in zip(read_rates, bare_rates, strict=True)])}")
    print(f"iamgen peak RSS: {rss_process:.0f} MB largest process (target <= "
          f"{TARGET_RSS_MB:.0f} MB); all its processes together: {rss_tree:.0f} MB (PSS)")
    print(f"linearity: {small:,} events {spread([r.seconds for r in small_runs])} s, "
          f"{large:,} events {spread([r.seconds for r in ours_runs])} s; per-event time "
          f"at {large:,} / at {small:,} = {linearity:.2f} (target <= {TARGET_LINEARITY})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    missed = []
    if statistics.median(ratios) < TARGET_RATIO:
        missed.append(f"speed: ratio {statistics.median(ratios):.2f} < {TARGET_RATIO}")
    if rss_process > TARGET_RSS_MB:
        missed.append(f"memory: peak RSS {rss_process:.0f} MB > {TARGET_RSS_MB:.0f} MB")
    if linearity > TARGET_LINEARITY:
        missed.append(f"linearity: {linearity:.2f} > {TARGET_LINEARITY}")
    for line in missed:
        print(f"MISSED {line}", file=sys.stderr)
    if not missed:
        print("all targets met")
    return 1 if missed else 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*.json.gz")) / 1e6


if __name__ == "__main__":
    sys.exit(main())
