"""Reading grants offline: get-account-authorization-details and plain policy documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from iamgen.catalog import load_catalog
from iamgen.errors import GrantsError
from iamgen.grants.expand import NOT_ACTION, expand_pattern, statement_actions
from iamgen.grants.load import AuthorizationDetails, PolicyFiles, parse_document, read_grants_files
from iamgen.grants.model import PolicyKind
from iamgen.model import Principal, PrincipalKind, Statement
from tests.grant_policies import (
    ACCOUNT,
    BOUNDARY,
    BOUNDARY_ARN,
    BROAD_ARN,
    SAGEMAKER_BROAD,
    TRAINING_DATA_INLINE,
)
from tests.grant_policies import authorization_details as details

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/Trainer"


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("encoded", [False, True], ids=["cli-objects", "api-url-encoded"])
def test_authorization_details_role(tmp_path: Path, encoded: bool) -> None:
    """The IAM API returns policy documents URL-encoded (RFC 3986); the CLI decodes them.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    source = read_grants_files([write(tmp_path, "auth.json", details(encoded))])
    assert isinstance(source, AuthorizationDetails)
    grants = source.grants(Principal(ROLE_ARN, PrincipalKind.ROLE))
    assert [(p.label, p.kind) for p in grants.policies] == [
        ("inline:training-data", PolicyKind.INLINE), ("ml-sagemaker-broad", PolicyKind.MANAGED)]
    broad = grants.policies[1]
    # The default version (v2), never the older, broader v1.
    assert broad.document.statements[0].sid == "AllSageMakerButDomains"
    assert grants.boundary is not None and grants.boundary.label == "boundary:ml-boundary"
    assert grants.source == str(tmp_path / "auth.json")


def test_authorization_details_user_gets_group_policies(tmp_path: Path) -> None:
    source = read_grants_files([write(tmp_path, "auth.json", details())])
    grants = source.grants(Principal(f"arn:aws:iam::{ACCOUNT}:user/people/dana",
                                     PrincipalKind.USER))
    assert sorted(p.label for p in grants.policies) == ["group/analysts:athena",
                                                        "group/analysts:read-datasets"]
    assert {p.group for p in grants.policies} == {"analysts"}
    assert grants.boundary is not None and grants.boundary.arn == BOUNDARY_ARN


def test_role_seen_without_path_matches_and_lookup_by_name(tmp_path: Path) -> None:
    source = read_grants_files([write(tmp_path, "auth.json", details())])
    assert isinstance(source, AuthorizationDetails)
    pathless = Principal(f"arn:aws:iam::{ACCOUNT}:role/Trainer", PrincipalKind.ROLE)
    assert source.grants(pathless).principal.arn == ROLE_ARN
    assert source.lookup("Trainer") == Principal(ROLE_ARN, PrincipalKind.ROLE)
    assert source.lookup("role/service-role/Trainer") == Principal(ROLE_ARN, PrincipalKind.ROLE)
    assert source.lookup("Ghost") is None


def test_principal_missing_from_the_document_is_an_error(tmp_path: Path) -> None:
    source = read_grants_files([write(tmp_path, "auth.json", details())])
    with pytest.raises(GrantsError, match="role arn:aws:iam::111122223333:role/Ghost is not in"):
        source.grants(Principal(f"arn:aws:iam::{ACCOUNT}:role/Ghost", PrincipalKind.ROLE))


def test_attached_policy_missing_from_policies_is_an_error_not_an_empty_grant(
    tmp_path: Path
) -> None:
    data = details()
    data["Policies"] = [p for p in data["Policies"] if p["Arn"] != BROAD_ARN]
    source = read_grants_files([write(tmp_path, "auth.json", data)])
    with pytest.raises(GrantsError, match="ml-sagemaker-broad .*not in the document"):
        source.grants(Principal(ROLE_ARN, PrincipalKind.ROLE))


def test_plain_documents_in_the_shapes_the_cli_prints(tmp_path: Path) -> None:
    plain = write(tmp_path, "broad.json", SAGEMAKER_BROAD)
    version = write(tmp_path, "v.json", {"PolicyVersion": {
        "Document": TRAINING_DATA_INLINE, "VersionId": "v1", "IsDefaultVersion": True}})
    inline = write(tmp_path, "inline.json", {"RoleName": "Trainer", "PolicyName": "x",
                                             "PolicyDocument": BOUNDARY})
    source = read_grants_files([plain, version, inline])
    assert isinstance(source, PolicyFiles)
    grants = source.grants(Principal(ROLE_ARN, PrincipalKind.ROLE))
    assert [(p.name, p.kind) for p in grants.policies] == [
        ("broad", PolicyKind.DOCUMENT), ("v", PolicyKind.DOCUMENT), ("inline", PolicyKind.DOCUMENT)]
    assert grants.policies[1].document.statements[0].sid == "ReadTrainingData"
    assert grants.policies[2].document.statements[1].effect == "Deny"


def test_managed_policies_of_the_shared_data_parse(shared_data: Path) -> None:
    for path in sorted((shared_data / "managed-policies").glob("*.json")):
        source = read_grants_files([path])
        assert isinstance(source, PolicyFiles)
        assert source.policies[0].document.statements, path.name


@pytest.mark.parametrize("content, message", [
    ("{not json", "not JSON"),
    ('{"Version": "2012-10-17"}', "Statement"),
    ('{"Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]}', "Effect"),
])
def test_bad_grants_files_are_grants_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GrantsError, match=message):
        read_grants_files([path])


def test_missing_file_and_mixed_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(GrantsError, match="cannot read grants file"):
        read_grants_files([tmp_path / "nope.json"])
    auth = write(tmp_path, "auth.json", details())
    plain = write(tmp_path, "plain.json", SAGEMAKER_BROAD)
    with pytest.raises(GrantsError, match="one authorization-details file alone"):
        read_grants_files([auth, plain])


def test_parse_document_accepts_string_forms() -> None:
    doc = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    text = json.dumps(doc)
    assert parse_document(text, "x") == parse_document(doc, "x") == parse_document(quote(text),
                                                                                   "x")


# --- expansion ----------------------------------------------------------------------


def test_expand_patterns_against_the_catalog() -> None:
    catalog = load_catalog()
    gets = expand_pattern("s3:Get*", catalog)
    assert "s3:GetObject" in gets and all(a.startswith("s3:Get") for a in gets)
    assert expand_pattern("S3:GETOBJECT", catalog) == ("s3:GetObject",)
    assert expand_pattern("s3:Nope*", catalog) == ()
    assert expand_pattern("sagemaker:OldAction", catalog) == ("sagemaker:OldAction",)
    assert set(expand_pattern("kms:?ncrypt", catalog)) == {"kms:Encrypt"}
    every = expand_pattern("*", catalog)
    assert len(every) == sum(len(catalog.actions_of(s)) for s in catalog.services())


def test_statement_actions_keeps_the_most_specific_pattern_and_handles_not_action() -> None:
    catalog = load_catalog()
    found = statement_actions(Statement(actions=("s3:*", "s3:GetObject", "s3:Get*"),
                                        resources=("*",)), catalog)
    assert found["s3:GetObject"] == "s3:GetObject"
    assert found["s3:GetBucketPolicy"] == "s3:Get*"
    assert found["s3:PutObject"] == "s3:*"
    everything_but_iam = statement_actions(Statement(not_actions=("iam:*",), resources=("*",)),
                                           catalog)
    assert not any(a.startswith("iam:") for a in everything_but_iam)
    assert everything_but_iam["s3:GetObject"] == NOT_ACTION


@pytest.mark.parametrize("body", [
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",'
    ' "Condition": {"NumericLessThan": {"s3:max-keys": ' + "9" * 5000 + "}}}]}",
    '{"Statement": ' + "[" * 100000 + "}",
])
def test_a_grants_file_no_json_reader_reads_is_a_grants_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "grants.json"
    path.write_text(body)
    with pytest.raises(GrantsError, match=f"{path}: grants file is not JSON"):
        read_grants_files([path])


def test_a_lone_surrogate_in_a_grants_file_is_a_grants_error(tmp_path: Path) -> None:
    """Text no output can be written in (the report would fail half-written)."""
    path = tmp_path / "grants.json"
    path.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                    '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/\\ud800"}]}')
    with pytest.raises(GrantsError, match="lone UTF-16 surrogate"):
        read_grants_files([path])
    paired = tmp_path / "paired.json"  # a pair is one character: read as any other
    paired.write_text(path.read_text().replace("\\ud800", "\\ud83d\\ude00"))
    read_grants_files([paired])


def test_a_lone_surrogate_in_an_encoded_policy_document_is_a_grants_error() -> None:
    encoded = quote('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                    '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/\\ud800"}]}')
    with pytest.raises(GrantsError, match="role X: policy document is not JSON .*lone UTF-16"):
        parse_document(encoded, "role X")


@pytest.mark.parametrize("statement, message", [
    ({"Effect": "Allow", "Action": "s3:*"}, "neither Resource nor NotResource"),
    ({"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"},
     "both Action and NotAction"),
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "NotResource": "arn:aws:s3:::b"},
     "both Resource and NotResource"),
])
def test_statements_iam_refuses_are_grants_errors(tmp_path: Path, statement: dict,
                                                  message: str) -> None:
    path = write(tmp_path, "bad.json", {"Version": "2012-10-17", "Statement": [statement]})
    with pytest.raises(GrantsError, match=message):
        read_grants_files([path])


@pytest.mark.parametrize("version", ["2099-01-01", 2012])
def test_a_version_iam_does_not_know_is_a_grants_error(tmp_path: Path, version: Any) -> None:
    path = write(tmp_path, "bad.json", {"Version": version, "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    with pytest.raises(GrantsError, match="Version must be"):
        read_grants_files([path])


def test_an_entry_whose_arn_is_no_arn_is_named(tmp_path: Path) -> None:
    data = details()
    data["RoleDetailList"].append({"RoleName": "extra", "Arn": "not-an-arn"})
    source = read_grants_files([write(tmp_path, "auth.json", data)])
    assert isinstance(source, AuthorizationDetails)
    with pytest.raises(GrantsError, match="RoleDetailList entry 'extra': Arn 'not-an-arn'"):
        source.principals()


def test_a_byte_order_mark_and_a_group_list_that_is_no_list(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_text("\ufeff" + json.dumps(details()), encoding="utf-8")
    source = read_grants_files([path])  # read, as trail files with a BOM are
    assert isinstance(source, AuthorizationDetails)
    data = details()
    for user in data["UserDetailList"]:
        user["GroupList"] = "analysts"
    source = read_grants_files([write(tmp_path, "auth.json", data)])
    with pytest.raises(GrantsError, match="GroupList of .* is not a list"):
        source.grants(Principal(f"arn:aws:iam::{ACCOUNT}:user/people/dana", PrincipalKind.USER))


def test_a_grants_path_that_is_no_regular_file_is_refused_before_reading(tmp_path: Path) -> None:
    import os

    pipe = tmp_path / "grants.json"
    os.mkfifo(pipe)  # reading it would wait for a writer forever
    with pytest.raises(GrantsError, match="not a regular file"):
        read_grants_files([pipe])
    with pytest.raises(GrantsError, match="not a regular file"):
        read_grants_files([tmp_path])
    # a pipe from the shell (<(aws iam get-account-authorization-details ...)) is read
    reader, writer = os.pipe()
    os.write(writer, json.dumps(details()).encode())
    os.close(writer)
    try:
        assert isinstance(read_grants_files([Path(f"/dev/fd/{reader}")]), AuthorizationDetails)
    finally:
        os.close(reader)
