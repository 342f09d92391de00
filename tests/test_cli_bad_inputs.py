"""Every command against a table of bad inputs and bad options: the exit code, exactly one
``iamgen: error:`` line on stderr, and never a traceback."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamgen.cli import COMMANDS, build_app
from tests.grant_policies import authorization_details_file
from tests.records import record, role_identity, write_trail_file

# Each command with what it needs besides --trail (a grants file stands for IAM).
COMMAND_ARGS: dict[str, tuple[str, ...]] = {
    "suggest": ("--all",),
    "explain": (),
    "diff": ("--all", "--grants", "{grants}"),
    "graph": (),
    "who": ("*",),
    "chains": ("Trainer",),
    "review": ("--grants", "{grants}"),
    "backtest": ("--all", "--holdout", "1h"),
}


def _missing(tmp: Path) -> Path:
    return tmp / "no-such-file.json"


def _under_a_file(tmp: Path) -> Path:
    (tmp / "plain-file").write_text("x", encoding="utf-8")
    return tmp / "plain-file" / "child"


def _pipe(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.json")  # neither a file nor a folder: never opened (it could block)
    return tmp / "pipe.json"


def _empty(tmp: Path) -> Path:
    (tmp / "empty.json").write_bytes(b"")
    return tmp / "empty.json"


def _not_cloudtrail(tmp: Path) -> Path:
    (tmp / "other.json").write_text(json.dumps({"hello": ["world"]}), encoding="utf-8")
    return tmp / "other.json"


def _truncated_gzip(tmp: Path) -> Path:
    body = gzip.compress(json.dumps({"Records": good_records()}).encode())
    (tmp / "cut.json.gz").write_bytes(body[: len(body) // 2])
    return tmp / "cut.json.gz"


# (name, how to make the bad --trail path, exit code)
BAD_PATHS: list[tuple[str, Callable[[Path], Path], int]] = [
    ("missing file", _missing, 3),
    ("child of a file", _under_a_file, 3),
    ("named pipe", _pipe, 3),
    ("empty file", _empty, 4),
    ("not CloudTrail JSON", _not_cloudtrail, 4),
    ("truncated gzip", _truncated_gzip, 4),
]

# (option and value, the text the error line names): every one is a usage error (2),
# whether the command lacks the option or refuses its value.
BAD_OPTIONS: list[tuple[tuple[str, ...], str]] = [
    (("--workers", "0"), "--workers"),
    (("--limit", "-1"), "--limit"),
    (("--format", "bogus"), "-format"),
    (("--generalize", "bogus"), "--generalize"),
    (("--holdout", "x"), "--holdout"),
]


def good_records() -> list[dict]:
    me = role_identity("Trainer", path="/service-role/")
    return [
        record(me, "s3.amazonaws.com", "GetObject", {"bucketName": "data", "key": "a.csv"},
               resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::data/a.csv"}],
               time=f"2026-11-03T{hour:02d}:00:00Z")
        for hour in (8, 12)
    ]


@pytest.fixture
def grants(tmp_path: Path) -> Path:
    return authorization_details_file(tmp_path)


def invoke(command: str, grants: Path, *extra: str) -> tuple[int, str, str]:
    args = [a.format(grants=grants) for a in COMMAND_ARGS[command]]
    result = CliRunner().invoke(build_app(), [command, *args, *extra])
    return result.exit_code, result.stdout, result.stderr


def assert_one_error(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("iamgen: error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_the_table_covers_every_command() -> None:
    assert set(COMMAND_ARGS) == {command for _, _, command in COMMANDS}


@pytest.mark.parametrize("command", sorted(COMMAND_ARGS))
@pytest.mark.parametrize(("case", "make", "expected"), BAD_PATHS, ids=[b[0] for b in BAD_PATHS])
def test_bad_trail_paths(command: str, case: str, make: Callable[[Path], Path], expected: int,
                         tmp_path: Path, grants: Path) -> None:
    bad = make(tmp_path)
    code, out, err = invoke(command, grants, "--trail", str(bad))
    assert code == expected, err
    line = assert_one_error(err)
    if expected == 3:
        assert str(bad) in line
    assert out == ""


@pytest.mark.parametrize("command", sorted(COMMAND_ARGS))
@pytest.mark.parametrize(("option", "named"), BAD_OPTIONS, ids=[o[0][0] for o in BAD_OPTIONS])
def test_bad_options(command: str, option: tuple[str, ...], named: str, tmp_path: Path,
                     grants: Path) -> None:
    root = tmp_path / "trail"
    write_trail_file(root, good_records())
    code, out, err = invoke(command, grants, "--trail", str(root), *option)
    assert code == 2, err
    assert named in assert_one_error(err)
    assert out == ""


def test_the_trail_used_for_bad_options_is_itself_good(tmp_path: Path, grants: Path) -> None:
    """So each bad-option case fails for its option, not for its trail."""
    root = tmp_path / "trail"
    write_trail_file(root, good_records())
    for command in sorted(COMMAND_ARGS):
        code, _, err = invoke(command, grants, "--trail", str(root), "-q"
                              if command != "explain" else "--no-patterns")
        assert code == 0, (command, err)


def test_a_binary_grants_file_is_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import gzip

    from typer.testing import CliRunner

    from iamgen.cli import build_app
    from tests.records import record, role_identity, write_trail_file

    trail = write_trail_file(tmp_path, [record(role_identity("R"), "s3.amazonaws.com",
                                               "GetObject", {"bucketName": "b", "key": "k"})])
    grants = tmp_path / "grants.json.gz"
    grants.write_bytes(gzip.compress(b"\xff\xfe{}" * 50))
    for command in ("diff", "review"):
        args = [command, "--trail", str(trail), "--grants", str(grants)]
        if command == "diff":
            args.insert(1, "R")
        result = CliRunner().invoke(build_app(), args)
        assert "Traceback" not in result.stderr and result.exception is None or \
            isinstance(result.exception, SystemExit), result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("iamgen: error:")]
        assert len(lines) == 1 and "not UTF-8" in lines[0], result.stderr
        assert result.exit_code == 5


@pytest.mark.parametrize("args", [
    ["suggest", "--all", "--trail", ""],
    ["suggest", "--all", "--trail", "TRAIL", "--output-dir="],
    ["graph", "--trail", "TRAIL", "-o", ""],
    ["who", "-g", "", "*"],  # a short name, found from the option's declaration
])
def test_an_empty_path_is_a_usage_error_not_the_current_folder(args: list[str],
                                                              tmp_path: Path) -> None:
    trail = str(write_trail_file(tmp_path, good_records()))
    result = CliRunner().invoke(build_app(), [a.replace("TRAIL", trail) for a in args])
    assert result.exit_code == 2 and "an empty path" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["suggest", "SomeRole", "--all"], "not both"),
    (["diff", "SomeRole", "--all"], "not both"),
    (["suggest", ""], "an empty role or user name"),
])
def test_names_and_all_together_or_an_empty_name_are_usage_errors(
        args: list[str], message: str, tmp_path: Path) -> None:
    trail = str(write_trail_file(tmp_path, good_records()))
    result = CliRunner().invoke(build_app(), [*args, "--trail", trail, "--grants", "x.json"]
                                if args[0] == "diff" else [*args, "--trail", trail])
    assert result.exit_code == 2 and message in result.stderr


def test_an_error_a_library_words_on_several_lines_is_one_line() -> None:
    # botocore's parameter validation (before any request) words a bad bucket name so
    result = CliRunner().invoke(build_app(), ["suggest", "X", "--trail", "s3://Bad_Bucket!!/x",
                                              "-q"])
    assert result.exit_code != 0
    line = assert_one_error(result.stderr)
    assert result.stderr.strip() == line and "Bad_Bucket" in line
