"""``--store`` on every command that reads a trail, and ``iamgen store ...``:
the same bytes out as without a store, and one-line errors."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account"
TRAIL = str(EXAMPLE / "trail")
GRANTS = str(EXAMPLE / "grants" / "account-authorization-details.json")
ROLE = "AmazonSageMaker-ExecutionRole-20261014T093512"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def summary_part(err: str) -> str:
    """stderr without the store's own block (``iamgen store: ...`` and its lines)."""
    lines, skipping = [], False
    for line in err.splitlines():
        if line.startswith("iamgen store: "):
            skipping = True
            continue
        if skipping and line.startswith("  "):
            continue
        skipping = False
        lines.append(line)
    return "\n".join(lines)


COMMANDS = [
    ("suggest", "--all", "--format", "terraform", "--output-dir", "{out}"),
    ("suggest", "priya.raman", "--harden", "auto"),
    ("diff", ROLE, "--grants", GRANTS, "--format", "markdown"),
    ("review", "--grants", GRANTS, "--format", "json"),
    ("graph", "--format", "json"),
    ("who", "arn:aws:s3:::ml-datasets-111122223333*"),
    ("chains", "ml-model-registry-publisher"),
    ("backtest", "--all", "--holdout", "2d", "--format", "json"),
    ("suggest", "--all", "--since", "2026-11-04T12:00:00Z", "--until", "2026-11-06T06:00:00Z",
     "--region", "us-east-1", "--output-dir", "{out}"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_the_same_bytes_with_a_store_as_without(command: tuple[str, ...],
                                                tmp_path: Path) -> None:
    store = tmp_path / "store.db"

    def once(*extra: str) -> tuple[str, str, dict[str, bytes]]:
        out = tmp_path / "out"  # one name: "wrote N files to OUT" is part of the output
        shutil.rmtree(out, ignore_errors=True)
        args = [a.format(out=out) for a in command]
        code, stdout, stderr = run(*args, "--trail", TRAIL, "--workers", "2", *extra)
        assert code == 0, stderr
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir())} if out.exists() else {}
        return stdout, stderr, files

    plain = once()
    first = once("--store", str(store))
    again = once("--store", str(store))
    for stdout, stderr, files in (first, again):
        assert stdout == plain[0]
        assert files == plain[2]
        assert summary_part(stderr) == summary_part(plain[1])
        assert "iamgen store: " in stderr
    # Nothing read again but files lying across the window's edge, if it has one.
    listed = re.search(r"files listed: (\d+): (\d+) from the store, (\d+) read(.*)", again[1])
    assert listed is not None
    total, taken, read_again, why = listed.groups()
    assert int(taken) + int(read_again) == int(total)
    assert read_again == "0" or why == f" ({read_again} across the window's edge)"
    # suggest synthesizes once; the run after takes every policy from the store.
    if command[0] == "suggest" and "--harden" not in command:
        made = re.search(r"policies: 0 as synthesized before, (\d+) synthesized", first[1])
        assert made is not None and int(made[1]) > 0
        assert f"policies: {made[1]} as synthesized before, 0 synthesized" in again[1]


def test_a_store_filled_by_runs_that_need_no_context_serves_one_that_does(
        tmp_path: Path) -> None:
    """``suggest`` reads without the calls' request context and keeps none;
    ``--harden`` needs it: those files are read again, once, and said so."""
    store = tmp_path / "store.db"
    code, _, err = run("suggest", "--all", "--trail", TRAIL, "--store", str(store),
                       "--output-dir", str(tmp_path / "out"))
    assert code == 0, err
    code, out, _ = run("store", "info", "--store", str(store))
    assert "170 read whole without request context" in out
    hardened = ("suggest", "priya.raman", "--harden", "auto", "--trail", TRAIL)
    code, with_store, err = run(*hardened, "--store", str(store))
    assert code == 0 and "(170 kept without request context)" in err
    assert with_store == run(*hardened)[1]
    code, out, _ = run("store", "info", "--store", str(store))
    assert "results: 170 read whole;" in out


def test_the_environment_names_the_store(tmp_path: Path) -> None:
    store = tmp_path / "env.db"
    for _ in range(2):
        code, out, err = run("suggest", "priya.raman", "--trail", TRAIL,
                             env={"IAMGEN_STORE": str(store)})
        assert code == 0, err
    assert "170 from the store, 0 read" in err
    code, out, _ = run("store", "info", env={"IAMGEN_STORE": str(store)})
    assert code == 0 and "files: 170 (170 local; " in out


def test_the_sql_sources_take_no_store(tmp_path: Path) -> None:
    code, out, err = run("suggest", "--all", "--trail", TRAIL, "--source", "duckdb",
                         "--store", str(tmp_path / "s.db"))
    assert code == 2 and out == ""
    assert "--store goes with --source trail or lookup" in err
    # A store named only by the environment (exported for the trail runs) is
    # not used by a SQL run, which then runs as it would without it.
    store = tmp_path / "env.db"
    duckdb = ("suggest", "priya.raman", "--trail", TRAIL, "--source", "duckdb")
    code, out, err = run(*duckdb, env={"IAMGEN_STORE": str(store)})
    assert code == 0, err
    assert out == run(*duckdb)[1] and "iamgen store:" not in err and not store.exists()


def test_help_names_the_option_and_its_variable() -> None:
    code, out, _ = run("suggest", "--help")
    assert code == 0 and "--store PATH" in out and "IAMGEN_STORE" in out
    code, out, _ = run("store", "--help")
    assert code == 0
    for name in ("info", "prune", "rebuild", "vacuum"):
        assert name in out
    code, out, _ = run("store", "prune", "--help")
    assert code == 0 and "Exit codes: 0 done" in " ".join(out.split())


def test_info_prune_rebuild_vacuum(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    code, _, err = run("graph", "--trail", TRAIL, "--store", str(store), "-q")
    assert code == 0, err
    code, out, _ = run("store", "info", "--store", str(store), "--check")
    assert code == 0
    delivered = sum(p.stat().st_size for p in Path(TRAIL).rglob("*.json.gz")
                    if "CloudTrail-Digest" not in p.parts)
    assert (f"files: 170 (170 local; {delivered / 1e6:,.1f} MB as delivered), 2,395 events, "
            "2026-11-02T02:02:54Z .. ") in out
    tallied = re.search(r"results: 170 read whole; [\d.]+ MB, ([\d,]+) tallied outcomes", out)
    # Each file's calls fold into one outcome or more, never more than one a call.
    assert tallied and 170 <= int(tallied[1].replace(",", "")) <= 2_395
    assert "(current)" in out and "check: ok" in out
    code, out, _ = run("store", "rebuild", "--store", str(store), "--workers", "1")
    assert code == 0 and "read again: 170 file(s)" in out
    code, out, _ = run("store", "prune", "--store", str(store), "--before", "2026-11-05")
    assert code == 0 and out.startswith("pruned ") and "vacuum" in out
    code, out, _ = run("store", "vacuum", "--store", str(store))
    assert code == 0 and out.startswith("vacuumed: ")
    code, out, _ = run("store", "info", "--store", str(store))
    assert code == 0 and "files: 170" not in out
    code, again, err = run("graph", "--trail", TRAIL, "--store", str(store))
    assert code == 0 and "from the store" in err
    assert again == run("graph", "--trail", TRAIL)[1]


@pytest.mark.parametrize("command", ["info", "vacuum", "rebuild"])
def test_store_commands_on_what_is_not_a_store(command: str, tmp_path: Path) -> None:
    foreign = tmp_path / "notes.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    code, out, err = run("store", command, "--store", str(foreign))
    assert code == 3 and out == "" and "Traceback" not in err
    assert err.strip() == (f"iamgen: error: {foreign}: not an iamgen store (an SQLite "
                           "database of something else)")
    code, _, err = run("store", command, "--store", str(tmp_path / "missing.db"))
    assert code == 3 and err.strip().endswith("missing.db: no such store")
    code, _, err = run("suggest", "--all", "--trail", TRAIL, "--store", str(foreign))
    assert code == 3 and err.strip().startswith("iamgen: error: ")


def test_an_empty_store_path_means_no_store() -> None:
    code, out, err = run("suggest", "priya.raman", "--trail", TRAIL, "--store", "")
    assert code == 0, err
    assert "iamgen store: " not in err
    assert out == run("suggest", "priya.raman", "--trail", TRAIL)[1]


def test_explain_reads_its_name_patterns_through_the_store(tmp_path: Path) -> None:
    """The records explain shows are read from the trail as given; the pass
    over the whole trail its name patterns need goes through the store."""
    store = tmp_path / "store.db"
    explain = ("explain", "--trail", TRAIL, "--event", "CreateTrainingJob", "--limit", "5")
    code, plain, plain_err = run(*explain)
    assert code == 0 and "name patterns suggest grants" in plain
    assert "iamgen store:" not in plain_err
    code, first, err = run(*explain, "--store", str(store))
    assert code == 0 and first == plain
    assert "files listed: 170: 0 from the store, 170 read (170 new)" in err
    code, again, err = run(*explain, "--store", str(store))
    assert code == 0 and again == plain
    assert "files listed: 170: 170 from the store, 0 read" in err
    # Without the pattern pass, the store is neither read nor made.
    other = tmp_path / "other.db"
    code, _, err = run(*explain, "--no-patterns", "--store", str(other))
    assert code == 0 and not other.exists() and "iamgen store:" not in err


def test_iamgen_is_fingerprinted_before_the_read(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An upgrade landing while the trail is read: what the run synthesizes
    (with the code it loaded) is not kept under the upgraded code's key."""
    from iamgen.commands import reading
    from iamgen.store import syntheses

    read = reading.read_with_store

    def read_then_upgrade(*args: object, **kwargs: object) -> object:
        done = read(*args, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setattr(syntheses, "_files_fingerprint", lambda: b"upgraded meanwhile")
        return done

    monkeypatch.setattr(reading, "read_with_store", read_then_upgrade)
    syntheses.code_fingerprint.cache_clear()
    try:
        store = tmp_path / "store.db"
        code, _, err = run("suggest", "--all", "--trail", TRAIL, "--store", str(store),
                           "--output-dir", str(tmp_path / "out"))
    finally:
        syntheses.code_fingerprint.cache_clear()
    assert code == 0, err
    assert "policies made are not kept: iamgen's files changed during the run" in err
    with sqlite3.connect(store) as connection:
        assert connection.execute("SELECT count(*) FROM syntheses").fetchone()[0] == 0
