"""The first hour at the command line: every failure one line and an exit code, never a
traceback; output checked before reading; options validated in the command line's terms."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iamgen import __version__
from iamgen.cli import COMMANDS, build_app
from iamgen.commands import common
from iamgen.model import Principal, PrincipalKind
from tests.awsserver import _moto_server, aws_endpoint, iam  # noqa: F401
from tests.grant_policies import authorization_details, authorization_details_file
from tests.records import (ACCOUNT, record, role_identity, trail_folder, user_identity,
                           write_trail_file)

MOTO_ACCOUNT = "123456789012"
ROLE = "Trainer"
NARROW = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def one_error(err: str) -> str:
    """The single ``iamgen: error:`` line of ``err`` (and no traceback)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("iamgen: error:")]
    assert len(lines) == 1, err
    return lines[0]


def records(account: str = ACCOUNT) -> list[dict[str, Any]]:
    me = role_identity(ROLE, account=account, path="/service-role/")
    return [
        record(me, "s3.amazonaws.com", "GetObject", {"bucketName": "data", "key": "a.csv"},
               account=account,
               resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::data/a.csv"}],
               eventCategory="Data", managementEvent=False),
        record(me, "ecr.amazonaws.com", "GetAuthorizationToken", {}, account=account),
        record(user_identity("alice", account=account), "dynamodb.amazonaws.com",
               "DescribeTable", {"tableName": "jobs"}, account=account),
    ]


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    return trail_folder(tmp_path, records())


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("x", encoding="utf-8")
    return path


# --- 1. output paths: checked before reading, one line and exit 3 -------------------


# Each writer with an output location under a regular file, and a trail that does
# not exist: the output error must come first (the trail would be read after it).
WRITERS = [
    ("suggest", "--all", "--output-dir", "{file}/sub"),
    ("suggest", "--all", "--output-dir", "{file}"),
    ("review", "--grants", "{grants}", "--output-dir", "{file}/sub"),
    ("review", "--grants", "{grants}", "--chart", "{file}/chart.svg"),
    ("graph", "--output", "{file}/graph.json"),
]


@pytest.mark.parametrize("args", WRITERS, ids=lambda a: " ".join(a[:1] + a[-2:-1]))
def test_output_under_a_file_fails_before_reading(args: tuple[str, ...], a_file: Path,
                                                  tmp_path: Path) -> None:
    grants = authorization_details_file(tmp_path)
    filled = [a.format(file=a_file, grants=grants) for a in args]
    code, out, err = run(*filled, "--trail", str(tmp_path / "no-such-trail"))
    assert code == 3, err
    line = one_error(err)
    assert "cannot write" in line and "no-such-trail" not in line
    assert out == ""


def test_suggest_output_dir_permission_denied_before_reading(
        trail: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only output directory (os.access says so; root could still write)."""
    read_only = tmp_path / "ro"
    read_only.mkdir()
    real_access = os.access
    monkeypatch.setattr(common.os, "access", lambda path, mode: real_access(path, mode) and not (
        mode & os.W_OK and Path(path) == read_only))
    for target in (read_only, read_only / "sub"):
        code, _, err = run("suggest", "--all", "--trail", str(tmp_path / "no-such-trail"),
                           "--output-dir", str(target))
        assert code == 3
        assert one_error(err) == f"iamgen: error: {target}: cannot write (Permission denied)"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only directories: chmod cannot stop it")
def test_suggest_into_a_read_only_directory(trail: Path, tmp_path: Path) -> None:
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        for target in (read_only, read_only / "sub"):
            code, _, err = run("suggest", "--all", "--trail", str(trail), "--output-dir",
                               str(target))
            assert code == 3
            assert "cannot write (Permission denied)" in one_error(err)
    finally:
        read_only.chmod(0o755)


def test_suggest_write_and_mkdir_failures_are_one_line(
        trail: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the early check cannot foresee (a race, a full disk) still ends in one line."""
    def denied(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", denied)
    code, _, err = run("suggest", "--all", "-q", "--trail", str(trail), "--output-dir",
                       str(tmp_path / "out"))
    assert code == 3
    assert one_error(err).endswith("out: cannot write (Permission denied)")
    monkeypatch.undo()
    (tmp_path / "out").mkdir()
    monkeypatch.setattr(Path, "write_text", denied)
    code, _, err = run("suggest", "--all", "-q", "--trail", str(trail), "--output-dir",
                       str(tmp_path / "out"))
    assert code == 3
    assert "cannot write (Permission denied)" in one_error(err)


def test_graph_output_that_is_a_directory(trail: Path, tmp_path: Path) -> None:
    code, _, err = run("graph", "--trail", str(trail), "--output", str(tmp_path))
    assert code == 3
    assert one_error(err) == f"iamgen: error: {tmp_path}: cannot write (Is a directory)"


# --- 2. diff never reports another account's grants ---------------------------------


def test_diff_refuses_an_authorization_details_file_of_another_account(tmp_path: Path) -> None:
    root = trail_folder(tmp_path, records())
    other = json.dumps(authorization_details()).replace(ACCOUNT, MOTO_ACCOUNT)
    (tmp_path / "other.json").write_text(other, encoding="utf-8")
    for args in (["--all"], [ROLE]):
        code, out, err = run("diff", *args, "--trail", str(root), "--grants",
                             str(tmp_path / "other.json"), "-q")
        assert code == 4 and out == ""
        line = one_error(err)
        assert f"are of account {MOTO_ACCOUNT}, not {ACCOUNT}" in line


def test_diff_refuses_live_grants_of_another_account(iam: Any,  # noqa: F811
                                                     tmp_path: Path) -> None:
    """IAM credentials of account B, a trail of account A, the same role name in both."""
    iam.create_role(RoleName=ROLE, Path="/service-role/", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName=ROLE, PolicyName="narrow", PolicyDocument=json.dumps(NARROW))
    root = trail_folder(tmp_path, records())
    code, out, err = run("diff", ROLE, "--trail", str(root), "-q")
    assert code == 4 and out == "", err
    assert (f"role/service-role/{ROLE}: the grants in IAM are of account {MOTO_ACCOUNT}, "
            f"not {ACCOUNT}") in one_error(err)
    # The same account still diffs.
    same = tmp_path / "same"
    write_trail_file(same, records(MOTO_ACCOUNT), account=MOTO_ACCOUNT)
    code, out, err = run("diff", ROLE, "--trail", str(same), "-q")
    assert code == 0, err


# --- 5. explain says what it could not read ------------------------------------------


def test_explain_warns_about_a_truncated_gzip_and_fails_when_nothing_was_read(
        tmp_path: Path) -> None:
    bad = tmp_path / "cut.json.gz"
    bad.write_bytes(gzip.compress(json.dumps({"Records": records()}).encode())[:40])
    code, out, err = run("explain", "--trail", str(bad))
    assert code == 4 and out == ""
    assert f"warning: {bad}: damaged gzip data" in err
    assert "unreadable input skipped: 1 unreadable_file" in err
    assert one_error(err) == "iamgen: error: nothing usable was read: 1 files, 0 records"


def test_explain_warns_and_counts_but_explains_what_it_could_read(trail: Path) -> None:
    bad = trail / "cut.json.gz"
    bad.write_bytes(b"\x1f\x8b" + b"\0" * 30)
    (trail / "odd.json").write_text(json.dumps([records()[0], 7]), encoding="utf-8")
    code, out, err = run("explain", "--trail", str(trail), "--no-patterns")
    assert code == 0, err
    assert f"warning: {bad}: damaged gzip data" in err
    assert f"{trail / 'odd.json'}: record 1: not a CloudTrail record" in err
    assert "unreadable input skipped: 1 not_a_record, 1 unreadable_file" in err
    assert "4 events explained" in out


def test_explain_principal_never_seen_exits_4_like_suggest(trail: Path) -> None:
    code, out, err = run("explain", "--trail", str(trail), "--principal", "nobody-here")
    assert code == 4 and out == ""
    assert one_error(err) == "iamgen: error: never seen in the trail: nobody-here"
    code, _, _ = run("suggest", "nobody-here", "--trail", str(trail), "-q")
    assert code == 4


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_explain_limit_below_one_is_a_usage_error(trail: Path, limit: str) -> None:
    code, out, err = run("explain", "--trail", str(trail), "--limit", limit)
    assert code == 2 and out == ""
    assert "'--limit'" in one_error(err)


# --- 8. validation in the command line's terms ---------------------------------------

WORKER_COMMANDS = [
    ("suggest", "--all"), ("diff", "--all"), ("graph",), ("who", "*"), ("chains", "x"),
    ("review",), ("backtest", "--all", "--holdout", "1d"),
]


@pytest.mark.parametrize("workers", ["0", "-3"])
@pytest.mark.parametrize("args", WORKER_COMMANDS, ids=lambda a: a[0])
def test_workers_below_one_is_refused_everywhere(args: tuple[str, ...], workers: str,
                                                 trail: Path) -> None:
    code, out, err = run(*args, "--trail", str(trail), "--workers", workers)
    assert code == 2 and out == ""
    assert "'--workers'" in one_error(err)


def test_every_command_with_workers_is_covered() -> None:
    """So a new command with --workers joins the test above."""
    app = build_app()
    from typer.main import get_command

    group = get_command(app)
    having = {name for name, command in group.commands.items()  # type: ignore[attr-defined]
              if any("--workers" in getattr(p, "opts", ()) for p in command.params)}
    assert having == {args[0] for args in WORKER_COMMANDS}
    assert {c for _, _, c in COMMANDS} >= having


@pytest.mark.parametrize("command", [("suggest", "--all"), ("backtest", "--all", "--holdout",
                                                             "1d")])
def test_settings_messages_name_the_options(command: tuple[str, ...], trail: Path) -> None:
    code, _, err = run(*command, "--trail", str(trail), "--fold-threshold", "-1")
    assert code == 2
    assert one_error(err) == "iamgen: error: --fold-threshold must be at least 1"
    code, _, err = run(*command, "--trail", str(trail), "--min-variants", "1")
    assert code == 2
    assert one_error(err) == "iamgen: error: --min-variants must be at least 2"


@pytest.mark.parametrize("args", [("suggest", "--all"), ("diff", "--all"), ("review",),
                                  ("backtest", "--all", "--holdout", "1d")],
                         ids=lambda a: a[0])
def test_a_bad_choice_is_one_line_listing_the_choices(args: tuple[str, ...],
                                                      trail: Path) -> None:
    code, out, err = run(*args, "--trail", str(trail), "--generalize", "bogus")
    assert code == 2 and out == ""
    line = one_error(err)
    assert "'--generalize'" in line and "'bogus'" in line
    assert all(choice in line for choice in ("none", "patterns", "prefix", "tree"))
    assert "╭" not in err and "Usage:" not in err


def test_unknown_option_and_missing_option_are_one_line(trail: Path) -> None:
    code, _, err = run("suggest", "--all", "--trail", str(trail), "--bogus")
    assert code == 2 and "--bogus" in one_error(err)
    code, _, err = run("backtest", "--all", "--trail", str(trail))
    assert code == 2 and "--holdout" in one_error(err)


@pytest.mark.parametrize("args", [
    ("suggest", ROLE, "--format", "JSON"), ("diff", ROLE, "--format", "Markdown"),
    ("graph", "--format", "DOT"), ("who", "*", "--format", "JSON"),
    ("chains", ROLE, "--format", "Json"), ("review", "--format", "JSON"),
    ("backtest", ROLE, "--holdout", "1h", "--format", "JSON"),
    ("suggest", ROLE, "--generalize", "NONE"),
], ids=lambda a: a[0] + " " + a[-1])
def test_format_and_generalize_in_any_case(args: tuple[str, ...], tmp_path: Path) -> None:
    root = tmp_path / "trail"
    write_trail_file(root, records())
    write_trail_file(root, records(), stamp="20261103T1200Z", suffix="Later123456789012",
                     day="2026/11/03")
    grants = authorization_details_file(tmp_path)
    extra = ["--grants", str(grants)] if args[0] in ("diff", "review") else []
    code, _, err = run(*args, "--trail", str(root), *extra, "-q")
    assert "Traceback" not in err and "unknown --format" not in err
    assert code in (0, 2) if args[0] == "backtest" else code == 0, err


@pytest.mark.parametrize("wanted", [
    f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/session",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE.upper()}/botocore-session-1",
    ROLE.lower(), f"role/service-role/{ROLE.lower()}",
    f"arn:aws:iam::{ACCOUNT}:role/{ROLE.lower()}",
])
def test_principal_by_session_arn_or_in_any_case(wanted: str, trail: Path) -> None:
    code, out, err = run("suggest", wanted, "--trail", str(trail), "-q")
    assert code == 0, err
    assert "s3:GetObject" in out


def test_session_arn_of_another_account_or_role_does_not_match() -> None:
    role = Principal(f"arn:aws:iam::{ACCOUNT}:role/service-role/{ROLE}", PrincipalKind.ROLE)
    assert common.match_one(f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/s", role)
    assert not common.match_one(f"arn:aws:sts::{MOTO_ACCOUNT}:assumed-role/{ROLE}/s", role)
    assert not common.match_one(f"arn:aws:sts::{ACCOUNT}:assumed-role/Other/s", role)
    assert not common.match_one(f"user/{ROLE}", role)
    root = Principal(f"arn:aws:iam::{ACCOUNT}:root", PrincipalKind.ROOT)
    assert common.match_one("root", root) and not common.match_one("ROOT", root)


# --- polish: help, version, python -m ------------------------------------------------


@pytest.mark.parametrize("command", sorted({c for _, _, c in COMMANDS}))
def test_help_shows_choices_defaults_and_exit_codes(command: str) -> None:
    result = CliRunner().invoke(build_app(), [command, "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for placeholder in ("<bool>", "<str>", "<int>", "<list[str]>", "<path>", "<float>"):
        assert placeholder not in text
    assert "Exit codes: 0 done; 2 bad usage; 3" in text and "130 interrupted" in text
    assert "[default:" in text
    if command != "explain":
        assert "--source [trail|lookup|athena|duckdb]" in text
        assert "--format [" in text
    if command in ("suggest", "diff", "review", "backtest"):
        assert "--generalize [none|patterns|prefix|tree]" in text


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flags(flag: str) -> None:
    code, out, _ = run(flag)
    assert code == 0 and out == f"iamgen {__version__}\n"


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "iamgen", "-V"], capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0 and done.stdout == f"iamgen {__version__}\n"
    done = subprocess.run([sys.executable, "-m", "iamgen", "suggest", "--workers", "0"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("iamgen: error: ") and done.stderr.count("\n") == 1


def test_review_refuses_grants_of_another_account_only(tmp_path: Path) -> None:
    """Every principal of the other account would read as unused: refused, as diff does."""
    root = trail_folder(tmp_path, records())
    other = json.dumps(authorization_details()).replace(ACCOUNT, MOTO_ACCOUNT)
    (tmp_path / "other.json").write_text(other, encoding="utf-8")
    code, out, err = run("review", "--trail", str(root), "--grants",
                         str(tmp_path / "other.json"), "-q")
    assert code == 4 and out == ""
    assert (f"are of account {MOTO_ACCOUNT}, the trail's principals of {ACCOUNT}"
            in one_error(err))


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_shell_completion_is_offered(monkeypatch: pytest.MonkeyPatch, shell: str) -> None:
    import typer.completion
    from typer.testing import CliRunner

    from iamgen.cli import build_app

    # typer takes the shell from the process tree (shellingham): a test run
    # whose parents are no shell (a CI runner, a background job) finds none.
    monkeypatch.setattr(typer.completion, "_get_shell_name", lambda: shell)
    result = CliRunner().invoke(build_app(), ["--show-completion"])
    assert result.exit_code == 0 and "_iamgen_completion" in result.stdout


def test_no_command_has_an_option_twice() -> None:
    # The group's options (--store, the SQL ones) are added to every reading
    # command; completion options came along with each set, twice in --help.
    import typer

    from iamgen.cli import build_app

    group = typer.main.get_command(build_app())
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        names = [opt for param in command.params for opt in param.opts]
        assert len(names) == len(set(names)), (name, sorted(names))
        assert "--install-completion" not in names  # the group's own option


def test_a_graph_file_in_a_missing_folder_fails_before_reading(tmp_path: Path) -> None:
    # graph --output makes no folders: a missing one is said before the trail is read.
    code, _, err = run("graph", "--trail", str(tmp_path / "missing-trail"),
                       "--output", str(tmp_path / "no-such" / "g.dot"))
    assert code == 3 and "cannot write (No such directory)" in one_error(err)
