"""The bundled example account: deterministic, laid out and shaped as AWS writes it.

The generator (examples/generate_ml_account.py) is the source of truth for
examples/ml-account/. Two runs must write byte-identical trees, and the committed tree
must hold exactly what the generator writes. gzip bytes depend on the zlib build, so the
committed tree is compared by payload (decompressed JSON); the digest's hashes are
checked against the committed files themselves.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from iamgen.policy import parse_policy

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "ml-account"
GENERATOR = REPO / "examples" / "generate_ml_account.py"
ACCOUNT = "111122223333"

# Log file names: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/
# cloudtrail-log-file-examples.html ("CloudTrail log file name format").
LOG_KEY = re.compile(
    r"^trail/AWSLogs/(?P<account>\d{12})/CloudTrail/(?P<region>[a-z]{2}-[a-z]+-\d)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_CloudTrail_(?P=region)_(?P<stamp>(?P<ny>\d{4})(?P<nm>\d{2})(?P<nd>\d{2})"
    r"T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$"
)
# Digest files: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/
# cloudtrail-log-file-validation-digest-file-structure.html ("Digest file location").
DIGEST_KEY = re.compile(
    r"^trail/AWSLogs/(?P<account>\d{12})/CloudTrail-Digest/(?P<region>[a-z]{2}-[a-z]+-\d)/"
    r"\d{4}/\d{2}/\d{2}/(?P=account)_CloudTrail-Digest_(?P=region)_[A-Za-z0-9_.-]+_"
    r"(?P=region)_\d{8}T\d{6}Z\.json\.gz$"
)
GRANTS = "grants/account-authorization-details.json"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_ml_account", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve string annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def gunzip(blob: bytes) -> bytes | None:
    """The decompressed bytes, or None when the gzip stream is damaged."""
    try:
        return gzip.decompress(blob)
    except (EOFError, OSError, zlib.error):
        return None


def partial_gunzip(blob: bytes) -> bytes:
    """As much of a (possibly cut) gzip stream as can be decompressed."""
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(blob)


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="module")
def fresh(generator: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("example-a")
    assert generator.main(["--output-dir", str(out)]) == 0
    return read_tree(out)


@pytest.fixture(scope="module")
def committed() -> dict[str, bytes]:
    return read_tree(EXAMPLE)


@pytest.fixture(scope="module")
def built(generator: ModuleType) -> Any:
    """(outputs, account, trail files) straight from build(), without touching the disk."""
    return generator.build()


@pytest.fixture(scope="module")
def records(committed: dict[str, bytes]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path, blob in committed.items():
        if LOG_KEY.match(path):
            payload = gunzip(blob)
            if payload is not None:
                found.extend(json.loads(payload)["Records"])
    return found


@pytest.fixture(scope="module")
def snapshot(committed: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(committed[GRANTS])


def test_two_runs_write_byte_identical_trees(
    generator: ModuleType, fresh: dict[str, bytes], tmp_path: Path
) -> None:
    assert generator.main(["--output-dir", str(tmp_path)]) == 0
    again = read_tree(tmp_path)
    assert sorted(again) == sorted(fresh)
    assert [p for p in fresh if fresh[p] != again[p]] == []


def test_generator_refuses_to_overwrite_without_force(
    generator: ModuleType, tmp_path: Path
) -> None:
    assert generator.main(["--output-dir", str(tmp_path)]) == 0
    marker = tmp_path / "trail" / "stale.json.gz"
    marker.write_bytes(b"stale")
    assert generator.main(["--output-dir", str(tmp_path)]) == 2
    assert marker.exists()
    assert generator.main(["--output-dir", str(tmp_path), "--force"]) == 0
    assert not marker.exists()


def test_gzip_members_carry_no_name_and_no_mtime(fresh: dict[str, bytes]) -> None:
    # RFC 1952: FLG at byte 3 (FNAME = 0x08), MTIME little-endian at bytes 4..7.
    gz = [blob for path, blob in fresh.items() if path.endswith(".gz")]
    assert gz
    for blob in gz:
        assert blob[:2] == b"\x1f\x8b"
        assert blob[3] & 0x08 == 0
        assert blob[4:8] == b"\x00\x00\x00\x00"


def test_committed_tree_is_what_the_generator_writes(
    fresh: dict[str, bytes], committed: dict[str, bytes], built: Any
) -> None:
    _, account, _ = built
    assert sorted(committed) == sorted(fresh)
    assert committed[GRANTS] == fresh[GRANTS]
    broken = f"trail/{account.broken_file}"
    for path, blob in committed.items():
        if path == GRANTS:
            continue
        if path == broken:
            assert gunzip(blob) is None
            assert gunzip(fresh[path]) is None
            continue
        mine, theirs = gunzip(blob), gunzip(fresh[path])
        assert mine is not None, path
        if "CloudTrail-Digest" in path:
            mine_doc, theirs_doc = json.loads(mine), json.loads(theirs or b"{}")
            for doc in (mine_doc, theirs_doc):
                for entry in doc["logFiles"]:
                    entry.pop("hashValue")
            assert mine_doc == theirs_doc
        else:
            assert mine == theirs, path


def test_broken_file_is_a_cut_copy_of_a_real_delivery(
    committed: dict[str, bytes], built: Any
) -> None:
    _, account, files = built
    [intended] = [f for f in files if f.key == account.broken_file]
    assert intended.truncated
    blob = committed[f"trail/{account.broken_file}"]
    assert gunzip(blob) is None
    salvaged = partial_gunzip(blob)
    assert 0 < len(salvaged) < len(intended.payload)
    assert intended.payload.startswith(salvaged)
    assert json.loads(intended.payload)["Records"]


def test_every_log_file_but_the_broken_one_parses(
    committed: dict[str, bytes], built: Any
) -> None:
    _, account, _ = built
    damaged = []
    for path, blob in committed.items():
        match = LOG_KEY.match(path)
        if not match:
            continue
        payload = gunzip(blob)
        if payload is None:
            damaged.append(path)
            continue
        document = json.loads(payload)
        assert list(document) == ["Records"], path
        assert document["Records"], path
        for record in document["Records"]:
            for key in ("eventVersion", "userIdentity", "eventTime", "eventSource",
                        "eventName", "eventID", "eventType", "recipientAccountId"):
                assert key in record, (path, key)
            assert record["awsRegion"] == match["region"]
            assert record["recipientAccountId"] == match["account"]
    assert damaged == [f"trail/{account.broken_file}"]


def test_layout_follows_aws_naming(committed: dict[str, bytes]) -> None:
    logs = digests = 0
    for path, blob in committed.items():
        if path == GRANTS:
            continue
        match = LOG_KEY.match(path)
        if match:
            logs += 1
            # The folder date is the delivery date in the file name.
            assert (match["y"], match["m"], match["d"]) == (match["ny"], match["nm"], match["nd"])
            payload = gunzip(blob)
            if payload is not None:
                delivered = match["stamp"]
                for record in json.loads(payload)["Records"]:
                    event = record["eventTime"].replace("-", "").replace(":", "")[:13] + "Z"
                    assert event <= delivered, (path, record["eventTime"])
            continue
        assert DIGEST_KEY.match(path), f"unexpected file {path}"
        digests += 1
    assert logs > 100
    assert digests == 1
    regions = {LOG_KEY.match(p)["region"] for p in committed if LOG_KEY.match(p)}
    assert regions == {"us-east-1", "us-west-2"}
    days = {LOG_KEY.match(p)["d"] for p in committed if LOG_KEY.match(p)}
    assert {"02", "08"} <= days


def test_digest_lists_delivered_files_with_their_hashes(committed: dict[str, bytes]) -> None:
    [path] = [p for p in committed if DIGEST_KEY.match(p)]
    document = json.loads(gunzip(committed[path]) or b"{}")
    assert document["awsAccountId"] == ACCOUNT
    assert f"trail/{document['digestS3Object']}" == path
    assert document["logFiles"]
    for entry in document["logFiles"]:
        blob = committed[f"trail/{entry['s3Object']}"]
        assert entry["hashAlgorithm"] == "SHA-256"
        assert entry["hashValue"] == hashlib.sha256(blob).hexdigest()
        assert entry["oldestEventTime"] <= entry["newestEventTime"]


def test_event_ids_are_unique_uuids(records: list[dict[str, Any]]) -> None:
    ids = [r["eventID"] for r in records]
    assert len(ids) == len(set(ids))
    pattern = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(pattern.match(i) for i in ids)


def test_size_stays_small(committed: dict[str, bytes], records: list[dict[str, Any]]) -> None:
    assert sum(len(blob) for blob in committed.values()) < 1_000_000
    assert 1_500 <= len(records) <= 5_000


def issuer(record: dict[str, Any]) -> str | None:
    identity = record["userIdentity"]
    if identity.get("type") == "AssumedRole":
        return identity["sessionContext"]["sessionIssuer"]["arn"]
    if identity.get("type") == "IAMUser":
        return identity["arn"]
    return None


def test_workloads_the_readme_describes_are_in_the_trail(
    records: list[dict[str, Any]], snapshot: dict[str, Any]
) -> None:
    roles = {r["RoleName"]: r["Arn"] for r in snapshot["RoleDetailList"]}
    training = roles["AmazonSageMaker-ExecutionRole-20261014T093512"]
    chat = roles["chat-assistant-role-q3v8k2lw"]
    pipeline = roles["ml-deploy-pipeline"]
    assert ":role/service-role/AmazonSageMaker-ExecutionRole-" in training

    def by(arn: str) -> list[dict[str, Any]]:
        return [r for r in records if issuer(r) == arn and "errorCode" not in r]

    # Training role: many objects under one prefix, model output, logs, ECR, KMS through S3.
    train_objects = {r["requestParameters"]["key"] for r in by(training)
                     if r["eventName"] == "GetObject"
                     and r["requestParameters"]["key"].startswith("churn/features/v3/train/")}
    assert len(train_objects) >= 40
    training_calls = {(r["eventSource"], r["eventName"]) for r in by(training)}
    assert {("s3.amazonaws.com", "CompleteMultipartUpload"),
            ("logs.amazonaws.com", "CreateLogStream"),
            ("ecr.amazonaws.com", "GetAuthorizationToken"),
            ("ecr.amazonaws.com", "BatchGetImage"),
            ("ecr.amazonaws.com", "GetDownloadUrlForLayer")} <= training_calls
    assert {r["eventName"] for r in by(training) if r["eventSource"] == "kms.amazonaws.com"
            and r["userIdentity"].get("invokedBy") == "s3.amazonaws.com"} == {
        "Decrypt", "GenerateDataKey"}

    # Lambda role: Bedrock (one cross-region inference profile), secrets, DynamoDB.
    chat_calls = {(r["eventSource"], r["eventName"]) for r in by(chat)}
    assert {("bedrock.amazonaws.com", n) for n in ("InvokeModel", "Converse", "ConverseStream")} \
        <= chat_calls
    assert {("dynamodb.amazonaws.com", n) for n in ("GetItem", "PutItem", "Query")} <= chat_calls
    assert ("secretsmanager.amazonaws.com", "GetSecretValue") in chat_calls
    models = {r["requestParameters"]["modelId"] for r in by(chat)
              if r["eventSource"] == "bedrock.amazonaws.com"}
    assert [m for m in models if m.startswith("us.")] == [
        "us.anthropic.claude-3-5-sonnet-20241022-v2:0"]

    # Pipeline: passes both roles, deploys, pushes images, assumes another role.
    pipeline_calls = by(pipeline)
    passed = {(r["eventName"], json.dumps(r["requestParameters"])) for r in pipeline_calls}
    assert any(n == "CreateTrainingJob" and training in p for n, p in passed)
    assert any(n == "CreateModel" and training in p for n, p in passed)
    assert any(n == "CreateFunction20150331" and chat in p for n, p in passed)
    names = {r["eventName"] for r in pipeline_calls}
    assert {"CreateEndpointConfig", "CreateEndpoint", "UpdateEndpoint",
            "UpdateFunctionCode20150331v2", "PutImage", "PutObject", "AssumeRole"} <= names


def test_noise_is_in_the_trail(records: list[dict[str, Any]]) -> None:
    service_calls = [r for r in records if r["userIdentity"].get("type") == "AWSService"]
    assert {r["userIdentity"]["invokedBy"] for r in service_calls} >= {
        "sagemaker.amazonaws.com", "lambda.amazonaws.com", "apigateway.amazonaws.com"}
    assert any(r["eventType"] == "AwsServiceEvent" for r in records)
    assert any(r["eventName"] == "GetCallerIdentity" and issuer(r) for r in records)
    assert any(r["eventType"] == "AwsConsoleSignIn" for r in records)
    denied = [r for r in records if r.get("errorCode") == "AccessDenied"]
    assert len({issuer(r) for r in denied}) >= 3
    # IAM denials carry AWS's wording; S3 data events say "Access Denied".
    for record in denied:
        message = record["errorMessage"]
        assert message == "Access Denied" or re.match(
            r"^User: arn:aws:(iam|sts)::\d{12}:\S+ is not authorized to perform: [a-z0-9-]+:\w+ "
            r"(on resource: \S+ )?(because no (identity-based|permissions boundary) polic(y|ies)"
            r" allows? the [a-z0-9-]+:\w+ action|because no permissions boundary allows the "
            r"[a-z0-9-]+:\w+ action|with an explicit deny in a resource-based policy)$", message), \
            message
    other_errors = {r["errorCode"] for r in records if r.get("errorCode", "AccessDenied")
                    != "AccessDenied"}
    assert len(other_errors) >= 3


# Granted but absent from the trail (README: "Granted, never seen"), for review to flag.
UNUSED = {f"arn:aws:iam::{ACCOUNT}:role/service-role/ml-notebook-pilot",
          f"arn:aws:iam::{ACCOUNT}:user/legacy/jenkins-ml-deploy"}


def test_every_principal_in_the_trail_has_grants_and_two_granted_never_act(
    records: list[dict[str, Any]], snapshot: dict[str, Any]
) -> None:
    known = {r["Arn"] for r in snapshot["RoleDetailList"]} | {
        u["Arn"] for u in snapshot["UserDetailList"]}
    seen = {issuer(r) for r in records} - {None}
    assert seen == known - UNUSED
    assert UNUSED <= known
    named = {r.get("userIdentity", {}).get("arn") for r in records}
    text = json.dumps(records)
    for arn in UNUSED:  # not even as a session, a target or a passed role
        assert arn not in named
        assert arn.rsplit("/", 1)[-1] not in text


def test_grants_snapshot_has_the_cli_shape(snapshot: dict[str, Any]) -> None:
    # https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    assert list(snapshot) == ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"]
    policies = {p["Arn"]: p for p in snapshot["Policies"]}
    for policy in snapshot["Policies"]:
        defaults = [v for v in policy["PolicyVersionList"] if v["IsDefaultVersion"]]
        assert [v["VersionId"] for v in defaults] == [policy["DefaultVersionId"]]
        for version in policy["PolicyVersionList"]:
            assert isinstance(version["Document"], dict)  # the CLI prints it decoded
            parse_policy(version["Document"])
        assert policy["Arn"].endswith(f"policy{policy['Path']}{policy['PolicyName']}")
    boundaries = 0
    for role in snapshot["RoleDetailList"]:
        assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role{role['Path']}{role['RoleName']}"
        assert re.match(r"^AROA[A-Z0-9]{17}$", role["RoleId"])
        trust = role["AssumeRolePolicyDocument"]  # a resource policy: Principal, no Resource
        assert trust["Version"] == "2012-10-17"
        assert all(stmt["Effect"] == "Allow" and "Principal" in stmt and "Resource" not in stmt
                   and str(stmt["Action"]).startswith("sts:AssumeRole")
                   for stmt in trust["Statement"])
        for inline in role["RolePolicyList"]:
            parse_policy(inline["PolicyDocument"])
        for attached in role["AttachedManagedPolicies"]:
            assert attached["PolicyArn"] in policies
        if "PermissionsBoundary" in role:
            boundaries += 1
            assert role["PermissionsBoundary"]["PermissionsBoundaryType"] == "Policy"
            assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] in policies
    assert boundaries == 1
    groups = {g["GroupName"]: g for g in snapshot["GroupDetailList"]}
    for user in snapshot["UserDetailList"]:
        assert user["GroupList"]
        for name in user["GroupList"]:
            assert groups[name]["GroupPolicyList"] or groups[name]["AttachedManagedPolicies"]
    for group in groups.values():
        for attached in group["AttachedManagedPolicies"]:
            assert attached["PolicyArn"] in policies


def test_grants_are_realistically_over_broad(snapshot: dict[str, Any]) -> None:
    def actions(document: dict[str, Any]) -> set[str]:
        found: set[str] = set()
        for statement in document["Statement"]:
            value = statement.get("Action", [])
            found |= {value} if isinstance(value, str) else set(value)
        return found

    granted: set[str] = set()
    for policy in snapshot["Policies"]:
        for version in policy["PolicyVersionList"]:
            if version["IsDefaultVersion"]:
                granted |= actions(version["Document"])
    for role in snapshot["RoleDetailList"]:
        for inline in role["RolePolicyList"]:
            granted |= actions(inline["PolicyDocument"])
    assert {"s3:*", "bedrock:*", "sagemaker:*", "iam:PassRole"} <= granted
