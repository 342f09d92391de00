"""The aggregation query's reduction, and the DuckDB path against the file path.

    python benchmarks/bench_sql.py [--events 1000000] [--repeat 1]

Writes (once) the synthetic trail of N events under .bench/
(benchmarks/generate_trail.py, as ``make bench`` does) and a Parquet copy of
it shaped like the Athena table, then, each in a fresh process:

- file path: the reading stage of every command (``read_trails``: list,
  read, resolve, tally) over the delivered files;
- duckdb: the same reading through ``--source duckdb`` (the aggregation
  query run by DuckDB, its rows resolved and tallied) over the same files;
- duckdb parquet: the same over the Parquet copy.

It prints events against the rows the aggregation returned (the reduction:
what Athena would send back instead of the events), the wall time of each,
and peak memory (the largest process's RSS, from wait4; DuckDB's memory is
in the same process). Every path must give the same usages; the benchmark
checks their number and fails otherwise.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"

from bench_throughput import bench_arguments, compile_iamgen, spread, trail  # noqa: E402 - run as a script: its folder is on sys.path

FILE_PATH = r"""
import sys
from iamgen.commands.reading import read_trails
from iamgen.model import Filters
result = read_trails([sys.argv[1]], Filters(), progress=False).result
print(result.events_read, 0, len(result.usages()))
"""

DUCKDB_PATH = r"""
import os, sys
from iamgen.sql.read import read_duckdb
from iamgen.model import Filters
result, report = read_duckdb([sys.argv[1]], Filters(), threads=os.cpu_count())
print(result.events_read, report.rows, len(result.usages()))
"""

PARQUET_COPY = r"""
import sys
from iamgen.model import Filters
from iamgen.sources.local import LocalSource
from iamgen.sql.duckdb_engine import DELIVERY, DuckDBEngine, json_view
files = [f.location for f in LocalSource((sys.argv[1],)).files(Filters())]
with DuckDBEngine() as engine:
    engine.execute(json_view(files, DELIVERY))
    engine.execute(f"COPY (SELECT * EXCLUDE (\"$path\") FROM cloudtrail) TO '{sys.argv[2]}' "
                   "(FORMAT parquet, ROW_GROUP_SIZE 100000)")
"""


@dataclass(frozen=True)
class Run:
    """One timed process."""

    seconds: float
    max_rss_mb: float
    events: int
    rows: int
    usages: int


def timed(script: str, *args: str) -> Run:
    """Run a script in a fresh interpreter: wall time, peak RSS, what it printed."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = process.stdout.read() if process.stdout else b""
    err = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {err.decode()[-2000:]}")
    events, rows, usages = (int(x) for x in out.split())
    return Run(seconds, usage.ru_maxrss / 1024, events, rows, usages)


def parquet(folder: Path) -> Path:
    """A Parquet copy of a trail, shaped like the Athena table (made when missing)."""
    copy = folder.with_name(folder.name + ".parquet")
    stamp = max(p.stat().st_mtime for p in folder.rglob("*.json.gz"))
    if not copy.exists() or copy.stat().st_mtime < stamp:
        subprocess.run([sys.executable, "-c", PARQUET_COPY, str(folder), str(copy)], cwd=ROOT,
                       check=True)
    return copy


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when the paths disagree."""
    args = bench_arguments(__doc__, argv, repeat=1)
    compile_iamgen()
    folder = trail(args.events)
    copy = parquet(folder)
    print(f"machine: {os.cpu_count()} cores; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs: dict[str, list[Run]] = {"file path": [], "duckdb": [], "duckdb parquet": []}
    for _ in range(args.repeat):  # interleaved, so drifting load hits all alike
        runs["file path"].append(timed(FILE_PATH, str(folder)))
        runs["duckdb"].append(timed(DUCKDB_PATH, str(folder)))
        runs["duckdb parquet"].append(timed(DUCKDB_PATH, str(copy)))
    base = runs["file path"][0]
    size = sum(p.stat().st_size for p in folder.rglob("*.json.gz")) / 1e6
    print(f"events: {base.events:,} in {sum(1 for _ in folder.rglob('*.json.gz'))} files "
          f"({size:,.0f} MB gzipped; Parquet copy {copy.stat().st_size / 1e6:,.0f} MB); "
          f"runs: {args.repeat}, wall seconds median (min-max)")
    failed = False
    for name, done in runs.items():
        first = done[0]
        same = all(r.usages == base.usages and r.events == base.events for r in done)
        failed = failed or not same
        rows = (f"rows {first.rows:,} ({first.events / first.rows:.2f} events a row)"
                if first.rows else "no aggregation")
        ratio = statistics.median(r.seconds for r in done) / statistics.median(
            r.seconds for r in runs["file path"])
        print(f"{name:15} {spread([r.seconds for r in done])} s, x{ratio:.2f} the file path; "
              f"peak RSS {max(r.max_rss_mb for r in done):,.0f} MB; {rows}; "
              f"usages {first.usages:,}{'' if same else ' DIFFER'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
