"""What a CloudTrail record proves about its call (iamgen.mapping.facts), from records
shaped as the CloudTrail user guide shows them ("CloudTrail record contents": tlsDetails,
vpcEndpointId; "userIdentity element": sessionContext.attributes.mfaAuthenticated)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iamgen.mapping.call import call_of
from iamgen.mapping.facts import ALWAYS, facts_of_call, optional_facts
from tests.records import ACCOUNT, record, role_identity, user_identity

GUARDRAIL = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/q8w3e7r1t5y9"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TLS = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
       "clientProvidedHostHeader": "bedrock-runtime.us-east-1.amazonaws.com"}


def facts(rec: dict[str, Any]) -> dict[str, str]:
    return dict(facts_of_call(call_of(rec)))


def mfa_identity(flag: str) -> dict[str, Any]:
    identity = role_identity("researcher")
    identity["sessionContext"]["attributes"]["mfaAuthenticated"] = flag
    return identity


def test_every_call_has_the_always_facts_sorted() -> None:
    rec = record(role_identity("Trainer"), "sagemaker.amazonaws.com", "ListModels", {})
    pairs = facts_of_call(call_of(rec))
    assert [name for name, _ in pairs] == sorted(ALWAYS)
    assert dict(pairs) == {"mfa": "false", "recipient": ACCOUNT, "region": "us-east-1",
                           "tls": "", "vpce": ""}


def test_mfa_from_the_session_context_and_absent_for_long_term_keys() -> None:
    assert facts(record(mfa_identity("true"), "bedrock.amazonaws.com", "ListFoundationModels",
                        {}))["mfa"] == "true"
    assert facts(record(mfa_identity("false"), "bedrock.amazonaws.com",
                        "ListFoundationModels", {}))["mfa"] == "false"
    # An IAM user's access key (AKIA...) has no session context: the key is absent.
    assert facts(record(user_identity("alice"), "bedrock.amazonaws.com", "ListFoundationModels",
                        {}))["mfa"] == ""


def test_tls_vpc_endpoint_and_region_as_logged() -> None:
    rec = record(role_identity("Scorer"), "s3.amazonaws.com", "GetObject",
                 {"bucketName": "data", "key": "a.csv"}, region="eu-west-1",
                 tlsDetails=TLS, vpcEndpointId="vpce-0c4f2a9e71b3d5a68",
                 vpcEndpointAccountId=ACCOUNT)
    found = facts(rec)
    assert found["tls"] == "TLSv1.3"
    assert found["vpce"] == "vpce-0c4f2a9e71b3d5a68"
    assert found["region"] == "eu-west-1"
    assert "sse" not in found  # a read carries no encryption header fact


def test_s3_writes_record_the_sse_headers_or_their_absence() -> None:
    kms = record(role_identity("Scorer"), "s3.amazonaws.com", "PutObject",
                 {"bucketName": "scores", "key": "a.parquet",
                  "x-amz-server-side-encryption": "aws:kms",
                  "x-amz-server-side-encryption-aws-kms-key-id": KEY})
    assert facts(kms)["sse"] == "aws:kms" and facts(kms)["sse_kms_key"] == KEY
    plain = record(role_identity("Scorer"), "s3.amazonaws.com", "PutObject",
                   {"bucketName": "scores", "key": "a.parquet"})
    assert facts(plain)["sse"] == "" and facts(plain)["sse_kms_key"] == ""
    start = record(role_identity("Scorer"), "s3.amazonaws.com", "CreateMultipartUpload",
                   {"bucketName": "scores", "key": "m.tar.gz",
                    "x-amz-server-side-encryption": "aws:kms"})
    assert facts(start)["sse"] == "aws:kms"


def test_upload_part_carries_no_sse_fact() -> None:
    # UploadPart is authorized by s3:PutObject but never sends the SSE headers: without
    # the fact, a statement it stands for can never be given the encryption condition.
    part = record(role_identity("Trainer"), "s3.amazonaws.com", "UploadPart",
                  {"bucketName": "models", "key": "m.tar.gz", "partNumber": "1",
                   "uploadId": "abc"})
    assert "sse" not in facts(part)


def test_invoke_model_guardrail_header_becomes_arn_and_version() -> None:
    rec = record(role_identity("chat"), "bedrock.amazonaws.com", "InvokeModel",
                 {"modelId": "amazon.titan-embed-text-v2:0", "guardrailIdentifier": GUARDRAIL,
                  "guardrailVersion": "3"})
    assert facts(rec)["guardrail"] == f"{GUARDRAIL}:3"


def test_converse_guardrail_config_and_an_id_made_an_arn() -> None:
    rec = record(role_identity("chat"), "bedrock.amazonaws.com", "Converse",
                 {"modelId": "anthropic.claude-3-haiku-20240307-v1:0",
                  "guardrailConfig": {"guardrailIdentifier": "q8w3e7r1t5y9",
                                      "guardrailVersion": "DRAFT"}})
    # The DRAFT version is the guardrail ARN without a version.
    assert facts(rec)["guardrail"] == GUARDRAIL


def test_invocation_without_guardrail_records_it() -> None:
    rec = record(role_identity("chat"), "bedrock.amazonaws.com", "Converse",
                 {"modelId": "anthropic.claude-3-haiku-20240307-v1:0"})
    assert facts(rec)["guardrail"] == ""
    other = record(role_identity("chat"), "bedrock.amazonaws.com", "ListFoundationModels", {})
    assert "guardrail" not in facts(other)


def test_optional_facts_are_the_data_files() -> None:
    assert optional_facts() == {"sse", "sse_kms_key", "guardrail"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=10)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["userIdentity", "eventSource", "eventName",
                                        "awsRegion", "recipientAccountId",
                                        "requestParameters", "tlsDetails", "vpcEndpointId"]),
                       json_values),
       st.sampled_from(["PutObject", "Converse", "InvokeModel", "GetObject"]))
def test_never_raises_and_values_are_text(rec: dict[str, Any], name: str) -> None:
    rec = {**rec, "eventName": rec.get("eventName", name)}
    pairs = facts_of_call(call_of(rec))
    assert pairs == tuple(sorted(pairs))
    assert all(isinstance(n, str) and isinstance(v, str) for n, v in pairs)


def test_reads_request_members_by_name_only() -> None:
    # The scanner keys a resolution on the request members it read: facts must never make
    # the whole request a dependency (iamgen.scanning.reads).
    from iamgen.scanning.reads import TrackedObject

    for name, params in (
        ("PutObject", {"bucketName": "b", "key": "k", "x-amz-server-side-encryption": "AES256",
                       "x-amz-acl": "private"}),
        ("Converse", {"modelId": "m", "guardrailConfig": {"guardrailIdentifier": "g",
                                                          "guardrailVersion": "1"}}),
    ):
        source = "s3.amazonaws.com" if name == "PutObject" else "bedrock.amazonaws.com"
        tracked = TrackedObject(params)
        call = call_of(record(role_identity("r"), source, name, tracked))
        facts_of_call(call)
        assert not tracked.opaque
        assert "x-amz-acl" not in tracked.seen and "modelId" not in tracked.seen
