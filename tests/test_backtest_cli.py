"""``iamgen backtest`` end to end through typer's CliRunner, on trails built like AWS's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app
from tests.records import record, role_identity, user_identity, write_trail_file

ROLE = "TrainingRole"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account" / "trail"
A_CSV = "arn:aws:s3:::data/train/a.csv"
NEW_CSV = "arn:aws:s3:::data/train/new.csv"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def get_object(identity: dict, key: str, time: str, **extra: object) -> dict:
    return record(identity, "s3.amazonaws.com", "GetObject", {"bucketName": "data", "key": key},
                  time=time, resources=[{"type": "AWS::S3::Object",
                                         "ARN": f"arn:aws:s3:::data/{key}"}], **extra)


def day_records(day: int) -> list[dict]:
    """One day of work: TrainingRole reads a.csv every day, new.csv on the last;
    alice works only on the first day. The last event (day 5, 12:00) sets the
    window's end, so --holdout 2d cuts at day 3, 12:00: days 4 and 5 are held out."""
    me = role_identity(ROLE)
    at = f"2026-11-0{day}T09:00:00Z"
    out = [get_object(me, "train/a.csv", at)]
    if day == 1:
        out.append(record(user_identity("alice"), "dynamodb.amazonaws.com", "DescribeTable",
                          {"tableName": "jobs"}, time=at))
    if day == 5:
        out.append(get_object(me, "train/new.csv", "2026-11-05T12:00:00Z"))
        out.append(get_object(me, "train/secret.csv", "2026-11-05T11:00:00Z",
                              error="AccessDenied"))
    return out


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    root = tmp_path / "trail"
    for day in range(1, 6):
        write_trail_file(root, day_records(day), day=f"2026/11/0{day}",
                         stamp=f"2026110{day}T0900Z")
    return root


def trail_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.json.gz"))


def test_same_names_are_allowed_and_a_new_name_denied(trail: Path) -> None:
    code, out, err = run("backtest", "--all", "--trail", str(trail), "--holdout", "2d",
                         "--generalize", "none")
    assert code == 0, err
    assert "holdout 2d" in out and "replayed 2026-11-03T12:00:00Z .. 2026-11-05T12:00:00Z" in out
    role_block, alice_block = out.split("\n\n")[1:3]
    assert role_block.startswith(f"arn:aws:iam::111122223333:role/{ROLE}")
    # a.csv twice in the holdout (days 4, 5; not the 3 learned calls), new.csv once;
    # the denied secret.csv is not replayed.
    assert "replayed: 3 calls on 2 pairs" in role_block
    assert "denied:   1 calls on 1 pairs" in role_block
    assert "allowed:  50.0% of pairs, 66.6% of calls" in role_block
    assert "new names: 1 pairs, 0 allowed" in role_block
    assert f"e.g. denied: s3:GetObject {NEW_CSV}" in role_block
    assert A_CSV not in role_block
    assert alice_block.startswith("arn:aws:iam::111122223333:user/alice")
    assert "replayed: 0 calls on 0 pairs" in alice_block
    assert "allowed:  - of pairs, - of calls" in alice_block
    assert out.splitlines()[-1].startswith("total: 2 principal(s); replayed 3 calls on 2 pairs")
    assert "iamgen summary" in err


def test_json_output(trail: Path) -> None:
    code, out, err = run("backtest", ROLE, "--trail", str(trail), "--holdout", "48h",
                         "--generalize", "none", "--format", "json", "-q")
    assert code == 0, err
    assert err == ""
    body = json.loads(out)
    assert body["schema"] == "iamgen-backtest" and body["schema_version"] == 1
    assert body["window"] == {"holdout": "48h", "learning_from": "2026-11-01T09:00:00Z",
                              "cut": "2026-11-03T12:00:00Z", "until": "2026-11-05T12:00:00Z"}
    assert body["settings"] == {"generalize": "none", "fold_threshold": 10}
    (entry,) = body["principals"]
    assert entry["name"] == ROLE and entry["documents"] == 1 and len(entry["sizes"]) == 1
    assert {k: entry[k] for k in ("calls", "pairs", "denied_calls", "denied_pairs",
                                  "allowed_pairs_pct", "allowed_calls_pct", "new_name_pairs",
                                  "new_name_pairs_allowed")} == {
        "calls": 3, "pairs": 2, "denied_calls": 1, "denied_pairs": 1,
        "allowed_pairs_pct": 50.0, "allowed_calls_pct": 66.66, "new_name_pairs": 1,
        "new_name_pairs_allowed": 0}
    assert entry["denied_examples"] == [{"action": "s3:GetObject", "resource": NEW_CSV}]
    assert body["total"]["principals"] == 1 and body["total"]["pairs"] == 2
    assert body["expect_denied"] is None


@pytest.mark.parametrize(("percent", "code"), [("60", 11), ("50", 0), ("0", 0)])
def test_fail_under(trail: Path, percent: str, code: int) -> None:
    got, out, err = run("backtest", "--all", "--trail", str(trail), "--holdout", "2d",
                        "--generalize", "none", "--fail-under", percent, "-q")
    assert got == code, err
    assert "total:" in out  # the report is printed either way


def test_expect_denied(trail: Path, tmp_path: Path) -> None:
    probes = tmp_path / "must-deny.jsonl"
    probes.write_text("\n".join([
        json.dumps({"principal": ROLE, "action": "s3:GetObject", "resource": A_CSV,
                    "why": "training data is not secret", "owner": "ml"}),
        "{this is not json",
        json.dumps({"principal": f"arn:aws:iam::111122223333:role/{ROLE}",
                    "action": "s3:DeleteObject", "resource": A_CSV, "why": "never delete"}),
        json.dumps({"principal": "ghost", "action": "s3:GetObject", "resource": A_CSV}),
    ]) + "\n")
    code, out, err = run("backtest", ROLE, "--trail", str(trail), "--holdout", "2d",
                         "--expect-denied", str(probes))
    assert code == 11
    assert f"warning: {probes}: line 2: not JSON" in err
    assert "line 4: ghost was not seen before the holdout" in err
    assert ("expect-denied: 3 request(s) checked (1 malformed line(s) skipped): 1 allowed; "
            "1 name no principal learned (line(s) 4): denied, nothing learned") in out
    allowed = [line for line in out.splitlines() if "ALLOWED" in line]
    assert allowed == [f"  ALLOWED line 1: s3:GetObject {A_CSV} for "
                       f"arn:aws:iam::111122223333:role/{ROLE}: training data is not secret"]
    code, out, _ = run("backtest", ROLE, "--trail", str(trail), "--holdout", "2d",
                       "--expect-denied", str(probes), "--format", "json", "-q")
    assert code == 11
    expect = json.loads(out)["expect_denied"]
    assert (expect["checked"], expect["allowed"], expect["malformed_lines"]) == (3, 1, 1)
    assert expect["unmatched_lines"] == [4]  # with -q too: the check it did not make is said
    assert [r["line"] for r in expect["allowed_requests"]] == [1]


def test_only_denied_probes_pass(trail: Path, tmp_path: Path) -> None:
    probes = tmp_path / "must-deny.jsonl"
    probes.write_text(json.dumps({"principal": ROLE, "action": "s3:DeleteObject",
                                  "resource": A_CSV, "why": "never delete"}) + "\n")
    code, out, err = run("backtest", ROLE, "--trail", str(trail), "--holdout", "2d",
                         "--expect-denied", str(probes))
    assert code == 0, err
    assert "expect-denied: 1 request(s) checked: 0 allowed" in out


def test_a_principal_seen_only_in_the_holdout_has_every_call_denied(trail: Path) -> None:
    bob = user_identity("bob")
    write_trail_file(trail, [record(bob, "dynamodb.amazonaws.com", "DescribeTable",
                                    {"tableName": "jobs"}, time="2026-11-05T10:00:00Z")],
                     day="2026/11/05", stamp="20261105T1000Z", suffix="Bob0000000000000")
    code, out, err = run("backtest", "bob", "--trail", str(trail), "--holdout", "2d", "-q")
    assert code == 0, err
    assert "learned:  nothing" in out
    assert "denied:   1 calls on 1 pairs" in out


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("args", [
    ["--holdout", "10d"],                              # the holdout swallows the window
    ["--holdout", "2d", "--since", "2026-11-04"],      # likewise, with --since
])
def test_an_empty_learning_window_is_one_clean_error(trail: Path, args: list[str]) -> None:
    code, out, err = run("backtest", "--all", "--trail", str(trail), "-q", *args)
    assert code == 2
    assert out == ""
    line = one_error_line(err)
    assert line.startswith("iamgen: error: ") and "nothing to learn from" in line
    code, _, err = run("backtest", "--all", "--trail", str(trail), *args)  # not quiet
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("iamgen: error:")


def test_an_empty_holdout_is_one_clean_error(trail: Path) -> None:
    code, _, err = run("backtest", "--all", "--trail", str(trail), "-q", "--holdout", "1d",
                       "--until", "2026-11-09")
    assert code == 2
    assert "no event in the holdout" in one_error_line(err)


@pytest.mark.parametrize("holdout", ["abc", "0d", "-3d", "3 days", "99999999999999w"])
def test_a_bad_holdout_is_one_clean_error(trail: Path, holdout: str) -> None:
    code, out, err = run("backtest", "--all", "--trail", str(trail), "--holdout", holdout)
    assert code == 2
    assert out == ""
    assert one_error_line(err).startswith("iamgen: error: ")


@pytest.mark.parametrize("args", [
    ["--all"],                                           # no --holdout
    ["--all", "--holdout", "2d", "--fail-under", "101"],
    ["--all", "--holdout", "2d", "--format", "yaml"],
    ["--holdout", "2d"],                                 # no principal
])
def test_usage_errors(trail: Path, args: list[str]) -> None:
    code, _, err = run("backtest", "--trail", str(trail), *args)
    assert code == 2
    assert "Traceback" not in err


def test_stdin_is_refused(trail: Path) -> None:
    code, _, err = run("backtest", "--all", "--trail", "-", "--holdout", "2d")
    assert code == 2
    assert "not -" in one_error_line(err)


def test_a_missing_probe_file_is_bad_input(trail: Path, tmp_path: Path) -> None:
    code, _, err = run("backtest", "--all", "--trail", str(trail), "--holdout", "2d",
                       "--expect-denied", str(tmp_path / "nope.jsonl"))
    assert code == 3
    assert "Traceback" not in err


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_output_is_byte_identical_whatever_the_file_order(trail: Path, fmt: str) -> None:
    files = trail_files(trail)
    outputs = set()
    for order in (files, files[::-1], files[2:] + files[:2]):
        args = [arg for path in order for arg in ("--trail", str(path))]
        code, out, err = run("backtest", "--all", *args, "--holdout", "2d", "--format", fmt,
                             "-q")
        assert code == 0, err
        outputs.add(out)
    assert len(outputs) == 1


def test_the_bundled_example_runs() -> None:
    code, out, err = run("backtest", "--all", "--trail", str(EXAMPLE), "--holdout", "2d")
    assert code == 0, err
    assert "holdout 2d" in out
    total = out.splitlines()[-1]
    assert total.startswith("total: ") and "% of pairs" in total
    assert "replayed: " in out and "new names: " in out
    code, out, err = run("backtest", "--all", "--trail", str(EXAMPLE), "--holdout", "2d",
                         "--generalize", "none", "--format", "json", "-q", "--workers", "1")
    assert code == 0, err
    body = json.loads(out)
    assert body["total"]["pairs"] > 0
    # Exact names only: no name first used in the holdout can be allowed.
    assert body["total"]["new_name_pairs"] > 0
    assert body["total"]["new_name_pairs_allowed"] == 0


def test_probes_naming_nobody_are_listed_up_to_ten_lines(trail: Path, tmp_path: Path) -> None:
    probes = tmp_path / "must-deny.jsonl"
    probes.write_text("".join(json.dumps({"principal": f"ghost{n}", "action": "s3:GetObject",
                                          "resource": A_CSV}) + "\n" for n in range(12)))
    code, out, err = run("backtest", ROLE, "--trail", str(trail), "--holdout", "2d",
                         "--expect-denied", str(probes), "-q")
    assert code == 0, err
    assert ("12 name no principal learned (line(s) 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more)"
            in out)


@pytest.mark.parametrize("content, says", [
    ("", "(empty)"),
    ("{not json\n[1, 2]\n", "2 malformed line(s), the first: line 1"),
])
def test_a_probe_file_with_no_probe_is_an_error_not_a_pass(trail: Path, tmp_path: Path,
                                                           content: str, says: str) -> None:
    probes = tmp_path / "must-deny.jsonl"
    probes.write_text(content)
    code, _, err = run("backtest", ROLE, "--trail", str(trail), "--holdout", "2d",
                       "--expect-denied", str(probes), "-q")
    assert code == 3 and "no probe in it" in err and says in err


def test_a_byte_order_mark_starts_no_probe_line_badly(trail: Path, tmp_path: Path) -> None:
    probes = tmp_path / "must-deny.jsonl"
    probes.write_text("\ufeff" + json.dumps({"principal": ROLE, "action": "s3:DeleteObject",
                                             "resource": A_CSV}) + "\n", encoding="utf-8")
    code, out, err = run("backtest", ROLE, "--trail", str(trail), "--holdout", "2d",
                         "--expect-denied", str(probes))
    assert code == 0, err
    assert "expect-denied: 1 request(s) checked: 0 allowed" in out
