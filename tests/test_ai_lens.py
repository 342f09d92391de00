"""The AI security lens (iamgen.ai_lens, iamgen.mapping.signals): findings with codes,
severities and evidence, from record shapes of the AWS API and CloudTrail documentation."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from iamgen.ai_lens import ai_lens, lens_catalog
from iamgen.catalog import load_catalog
from iamgen.mapping.signals import (
    CONDITIONAL_SUFFIX,
    Signal,
    check_names,
    signal_event_names,
    signal_rules,
    signals_of,
)
from iamgen.model import Evidence, Permission, Principal, PrincipalKind, Usage
from iamgen.render.ai_lens import lens_dict, markdown_lines, principal_ai, text_lines
from tests.records import ACCOUNT, record, role_identity, user_identity

OTHER = "444455556666"
T1 = datetime(2026, 11, 3, 10, tzinfo=UTC)
T2 = datetime(2026, 11, 5, 16, tzinfo=UTC)
MODEL = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
GUARDRAIL = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/q8w3e7r1t5y9"
USER = Principal(f"arn:aws:iam::{ACCOUNT}:user/people/priya.raman", PrincipalKind.USER)
CHAT = Principal(f"arn:aws:iam::{ACCOUNT}:role/service-role/chat", PrincipalKind.ROLE)
TRAINER = Principal(f"arn:aws:iam::{ACCOUNT}:role/service-role/trainer", PrincipalKind.ROLE)
PARTNER = Principal(f"arn:aws:iam::{OTHER}:role/partner-eval", PrincipalKind.ROLE)
INVOKE = Permission("bedrock:InvokeModel", MODEL)


def usage(who: Principal, perm: Permission, count: int, *facts: tuple[str, str, int],
          denied: bool = False, event: str = "e-1") -> Usage:
    return Usage(who, perm, denied, count, T1, T2, ("us-east-1",), tuple(sorted(facts)), event)


def codes(lens: Any) -> list[str]:
    return [f.code for f in lens.findings]


# --- findings from usages -------------------------------------------------------------


def test_a_person_using_ai_without_mfa() -> None:
    lens = ai_lens([usage(USER, INVOKE, 10, ("mfa", "true", 7), ("mfa", "", 3))])
    [finding] = lens.findings
    assert finding.code == "AI_PERSON_WITHOUT_MFA" and finding.severity == "high"
    assert finding.principal == USER.arn and finding.subject == "bedrock"
    assert finding.detail == "3 of 10 AI calls without MFA (3 with long-term access keys)"
    assert finding.evidence == Evidence(3, T1, T2, "e-1")


def test_a_person_with_mfa_on_every_call_and_a_service_role_raise_nothing() -> None:
    lens = ai_lens([usage(USER, INVOKE, 10, ("mfa", "true", 10)),
                    usage(CHAT, INVOKE, 40, ("mfa", "false", 40))])
    assert lens.findings == ()
    assert [(u.principal.name, u.person, u.calls) for u in lens.users] == [
        ("chat", False, 40), ("priya.raman", True, 10)]


def test_invocations_without_a_guardrail_while_others_use_one() -> None:
    lens = ai_lens([
        usage(USER, INVOKE, 5, ("guardrail", f"{GUARDRAIL}:3", 5), ("mfa", "true", 5)),
        usage(CHAT, INVOKE, 40, ("guardrail", "", 38), ("guardrail", f"{GUARDRAIL}:3", 2),
              event="e-9"),
    ])
    [finding] = lens.findings
    assert finding.code == "AI_INVOCATION_WITHOUT_GUARDRAIL"
    assert finding.principal == CHAT.arn and finding.subject == "bedrock:InvokeModel"
    assert finding.detail == ("38 of 40 invocations on 1 model named no guardrail; the "
                              f"account's other invocations use {GUARDRAIL}")
    assert finding.evidence.count == 38 and finding.evidence.example_event_id == "e-9"


def test_no_guardrail_anywhere_is_no_finding() -> None:
    assert ai_lens([usage(CHAT, INVOKE, 40, ("guardrail", "", 40))]).findings == ()


def test_model_artifacts_reached_from_another_account() -> None:
    artifact = Permission("s3:GetObject", "arn:aws:s3:::ml-artifacts/churn/model.tar.gz")
    lens = ai_lens([
        usage(TRAINER, Permission("sagemaker:CreateTrainingJob",
                                  f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn"),
              1, ("recipient", ACCOUNT, 1)),
        usage(TRAINER, Permission("s3:PutObject", "arn:aws:s3:::ml-artifacts/churn/model.tar.gz"),
              1, ("recipient", ACCOUNT, 1)),
        usage(PARTNER, artifact, 4, ("recipient", ACCOUNT, 4), event="e-x"),
        usage(PARTNER, Permission("s3:GetObject", "arn:aws:s3:::public-data/a.csv"), 2,
              ("recipient", ACCOUNT, 2)),  # not a bucket the AI principals use
    ])
    [finding] = lens.findings
    assert finding.code == "AI_CROSS_ACCOUNT_ACCESS"
    assert finding.principal == PARTNER.arn and finding.subject == "arn:aws:s3:::ml-artifacts"
    assert finding.detail == f"s3:GetObject from account {OTHER}"
    assert finding.evidence.count == 4


def test_an_ai_resource_of_another_account_named_in_the_arn() -> None:
    package = f"arn:aws:sagemaker:us-east-1:{OTHER}:model-package/churn-models/3"
    lens = ai_lens([usage(TRAINER, Permission("sagemaker:DescribeModelPackage", package), 2,
                          ("recipient", ACCOUNT, 2))])
    assert codes(lens) == ["AI_CROSS_ACCOUNT_ACCESS"]


def test_repeated_access_denied_on_ai_services_is_probing() -> None:
    few = ai_lens([usage(PARTNER, INVOKE, 4, denied=True)])
    assert few.findings == ()  # below probing_min_denied
    many = ai_lens([usage(PARTNER, INVOKE, 4, denied=True),
                    usage(PARTNER, Permission("bedrock:ListFoundationModels", "*"), 3,
                          denied=True)])
    [finding] = many.findings
    assert finding.code == "AI_ACCESS_DENIED_PROBING" and finding.evidence.count == 7
    assert finding.detail == ("7 denied calls of 2 actions: bedrock:InvokeModel, "
                              "bedrock:ListFoundationModels")


def test_writes_without_the_sse_header_are_informational() -> None:
    put = Permission("s3:PutObject", "arn:aws:s3:::ml-artifacts/out/model.tar.gz")
    lens = ai_lens([usage(TRAINER, INVOKE, 1), usage(TRAINER, put, 3, ("sse", "", 2),
                                                      ("sse", "aws:kms", 1))])
    [finding] = lens.findings
    assert finding.code == "AI_S3_WRITE_WITHOUT_SSE_HEADER" and finding.severity == "info"
    kind = lens_catalog().kinds[finding.code]
    assert kind.informational and "bucket's default encryption" in kind.cannot_prove
    assert finding.detail == "2 of 3 writes sent no x-amz-server-side-encryption header"


def test_principals_without_ai_use_are_not_in_the_lens() -> None:
    put = Permission("s3:PutObject", "arn:aws:s3:::ml-artifacts/out/model.tar.gz")
    lens = ai_lens([usage(TRAINER, put, 3, ("sse", "", 3))])
    assert lens.users == () and lens.findings == ()


# --- signals from whole records ----------------------------------------------------------

def signal_codes(rec: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s.code, s.subject, s.detail) for s in signals_of(rec)]


def test_trail_stopped_deleted_updated() -> None:
    me = user_identity("admin")
    assert signal_codes(record(me, "cloudtrail.amazonaws.com", "StopLogging",
                               {"name": "management-and-data"})) == [
        ("AI_TRAIL_STOPPED", "trail management-and-data", "")]
    assert signal_codes(record(me, "cloudtrail.amazonaws.com", "DeleteTrail",
                               {"name": "t"})) == [("AI_TRAIL_DELETED", "trail t", "")]
    assert signal_codes(record(me, "cloudtrail.amazonaws.com", "UpdateTrail",
                               {"name": "t", "isMultiRegionTrail": False,
                                "s3BucketName": "elsewhere"})) == [
        ("AI_TRAIL_UPDATED", "trail t", "set isMultiRegionTrail, s3BucketName")]
    # A failed call changed nothing.
    assert signals_of(record(me, "cloudtrail.amazonaws.com", "StopLogging", {"name": "t"},
                             error="AccessDenied")) == ()
    assert signals_of(record(me, "cloudtrail.amazonaws.com", "StartLogging", {"name": "t"})) == ()


def test_event_selectors_that_drop_data_events() -> None:
    # PutEventSelectors request as in the CloudTrail API reference.
    me = role_identity("admin")
    narrowed = record(me, "cloudtrail.amazonaws.com", "PutEventSelectors",
                      {"trailName": "t", "eventSelectors": [
                          {"readWriteType": "All", "includeManagementEvents": True,
                           "dataResources": [], "excludeManagementEventSources": []}]})
    assert signal_codes(narrowed) == [("AI_TRAIL_EVENTS_NARROWED", "trail t",
                                       "records no data events")]
    kept = record(me, "cloudtrail.amazonaws.com", "PutEventSelectors",
                  {"trailName": "t", "advancedEventSelectors": [
                      {"name": "mgmt", "fieldSelectors": [
                          {"field": "eventCategory", "equals": ["Management"]}]},
                      {"name": "bedrock", "fieldSelectors": [
                          {"field": "eventCategory", "equals": ["Data"]},
                          {"field": "resources.type", "equals": ["AWS::Bedrock::AgentAlias"]}]}]})
    assert signals_of(kept) == ()


def test_bedrock_invocation_logging_deleted_or_changed() -> None:
    me = user_identity("priya.raman")
    assert signal_codes(record(me, "bedrock.amazonaws.com",
                               "DeleteModelInvocationLoggingConfiguration", None)) == [
        ("AI_INVOCATION_LOGGING_DELETED", "model invocation logging in us-east-1", "")]
    changed = record(me, "bedrock.amazonaws.com", "PutModelInvocationLoggingConfiguration",
                     {"loggingConfig": {"s3Config": {"bucketName": "logs"},
                                        "textDataDeliveryEnabled": False,
                                        "imageDataDeliveryEnabled": True}})
    [signal] = signals_of(changed)
    assert signal == Signal("AI_INVOCATION_LOGGING_CHANGED", f"arn:aws:iam::{ACCOUNT}:user/"
                            "priya.raman", "model invocation logging in us-east-1",
                            "no longer delivers text data; delivers to S3")


def test_bucket_policy_granting_everyone() -> None:
    me = role_identity("deployer")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::ml-models/*"},
        {"Sid": "Org", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::ml-models",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}},
        {"Sid": "Mine", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "s3:*", "Resource": "arn:aws:s3:::ml-models/*"}]}
    rec = record(me, "s3.amazonaws.com", "PutBucketPolicy",
                 {"bucketName": "ml-models", "bucketPolicy": policy, "policy": [""]})
    assert signal_codes(rec) == [
        ("AI_RESOURCE_PUBLIC", "ml-models", "grants s3:GetObject to everyone"),
        ("AI_RESOURCE_PUBLIC_CONDITIONAL", "ml-models",
         "grants s3:ListBucket to everyone if aws:PrincipalOrgID")]


def test_resource_policies_as_json_text() -> None:
    me = role_identity("publisher")
    text = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]},
                                      "Action": ["sagemaker:DescribeModelPackage"],
                                      "Resource": "*"}]})
    rec = record(me, "sagemaker.amazonaws.com", "PutModelPackageGroupPolicy",
                 {"modelPackageGroupName": "churn-models", "resourcePolicy": text})
    assert signal_codes(rec) == [("AI_RESOURCE_PUBLIC", "churn-models",
                                  "grants sagemaker:DescribeModelPackage to everyone")]
    broken = record(me, "sagemaker.amazonaws.com", "PutModelPackageGroupPolicy",
                    {"modelPackageGroupName": "churn-models", "resourcePolicy": "{not json"})
    assert signals_of(broken) == ()


def test_function_url_and_permission_for_everyone() -> None:
    me = role_identity("deployer")
    url = record(me, "lambda.amazonaws.com", "CreateFunctionUrlConfig20211031",
                 {"functionName": "chat-assistant", "authType": "NONE"})
    assert signal_codes(url) == [("AI_RESOURCE_PUBLIC", "chat-assistant",
                                  "function URL without authentication (AuthType NONE)")]
    assert signals_of(record(me, "lambda.amazonaws.com", "CreateFunctionUrlConfig20211031",
                             {"functionName": "f", "authType": "AWS_IAM"})) == ()
    permission = record(me, "lambda.amazonaws.com", "AddPermission20150331v2",
                        {"functionName": "chat-assistant", "statementId": "url",
                         "action": "lambda:InvokeFunctionUrl", "principal": "*",
                         "functionUrlAuthType": "NONE"})
    assert [c for c, _, _ in signal_codes(permission)] == ["AI_RESOURCE_PUBLIC"]
    scoped = record(me, "lambda.amazonaws.com", "AddPermission20150331v2",
                    {"functionName": "f", "action": "lambda:InvokeFunction", "principal": "*",
                     "sourceArn": "arn:aws:execute-api:us-east-1:1:api/*"})
    assert [c for c, _, _ in signal_codes(scoped)] == ["AI_RESOURCE_PUBLIC_CONDITIONAL"]


def test_public_acl_and_public_access_block() -> None:
    me = role_identity("deployer")
    assert signal_codes(record(me, "s3.amazonaws.com", "PutBucketAcl",
                               {"bucketName": "b", "x-amz-acl": "public-read"})) == [
        ("AI_RESOURCE_PUBLIC", "b", "canned ACL public-read")]
    assert signal_codes(record(me, "s3.amazonaws.com", "DeleteBucketPublicAccessBlock",
                               {"bucketName": "b", "publicAccessBlock": ""})) == [
        ("AI_PUBLIC_ACCESS_BLOCK_REMOVED", "b", "public access block removed")]
    relaxed = record(me, "s3.amazonaws.com", "PutBucketPublicAccessBlock",
                     {"bucketName": "b", "PublicAccessBlockConfiguration": {
                         "BlockPublicAcls": True, "IgnorePublicAcls": True,
                         "BlockPublicPolicy": False, "RestrictPublicBuckets": False}})
    assert signal_codes(relaxed) == [("AI_PUBLIC_ACCESS_BLOCK_REMOVED", "b",
                                      "turned off BlockPublicPolicy, RestrictPublicBuckets")]


def test_signals_name_any_caller() -> None:
    service = {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}
    [signal] = signals_of(record(service, "cloudtrail.amazonaws.com", "StopLogging",
                                 {"name": "t"}))
    assert signal.principal == "AWS service cloudtrail.amazonaws.com"
    other = {"type": "AWSAccount", "principalId": "AIDAX", "accountId": OTHER}
    [signal] = signals_of(record(other, "cloudtrail.amazonaws.com", "StopLogging",
                                 {"name": "t"}))
    assert signal.principal == f"account {OTHER} (AWSAccount)"


def test_signals_never_raise_on_odd_shapes() -> None:
    for params in (None, [], "x", {"bucketPolicy": 3}, {"eventSelectors": "x"},
                   {"loggingConfig": []}, {"PublicAccessBlockConfiguration": "x"}):
        for rule in signal_rules():
            rec = record({"type": "Root", "arn": f"arn:aws:iam::{ACCOUNT}:root"},
                         rule.event_source, rule.event_names[0], params)  # type: ignore[arg-type]
            signals_of(rec)


def test_signals_become_findings_with_their_evidence() -> None:
    signal = Signal("AI_TRAIL_STOPPED", f"arn:aws:iam::{ACCOUNT}:root", "trail t")
    lens = ai_lens([], [(signal, Evidence(2, T1, T2, "e-7"))])
    [finding] = lens.findings
    assert (finding.code, finding.severity, finding.evidence.count) == (
        "AI_TRAIL_STOPPED", "high", 2)
    assert lens.signals_read and ai_lens([]).signals_read is False


# --- the data -----------------------------------------------------------------------


def test_lens_data_is_consistent_with_the_catalog_and_the_checks() -> None:
    catalog = load_catalog()
    data = tomllib.loads(resources.files("iamgen.data").joinpath("ai_lens.toml")
                         .read_text("utf-8"))
    kinds = lens_catalog().kinds
    for service in lens_catalog().services:
        assert catalog.has_service(service.prefix), service.prefix
        assert service.source.startswith("https://docs.aws.amazon.com/")
    for kind in kinds.values():
        assert kind.severity in ("critical", "high", "medium", "low", "info")
        assert (kind.severity == "info") == kind.informational, kind.code
        assert kind.source.startswith("https://docs.aws.amazon.com/"), kind.code
    for rule in signal_rules():
        assert rule.check in check_names()
        assert rule.code in kinds
        if rule.check in ("policy_document", "lambda_permission"):
            assert rule.code + CONDITIONAL_SUFFIX in kinds
    assert {"stoplogging", "deletetrail", "putmodelinvocationloggingconfiguration"} <= \
        signal_event_names()
    used = {r.code for r in signal_rules()} | {
        "AI_PERSON_WITHOUT_MFA", "AI_INVOCATION_WITHOUT_GUARDRAIL", "AI_CROSS_ACCOUNT_ACCESS",
        "AI_ACCESS_DENIED_PROBING", "AI_S3_WRITE_WITHOUT_SSE_HEADER",
        "AI_RESOURCE_PUBLIC_CONDITIONAL"}
    assert used == set(kinds)
    assert data["probing_min_denied"] >= 2


# --- rendering ------------------------------------------------------------------------


def test_rendered_sections_and_json() -> None:
    lens = ai_lens(
        [usage(USER, INVOKE, 10, ("mfa", "true", 7), ("mfa", "false", 3))],
        [(Signal("AI_TRAIL_STOPPED", USER.arn, "trail t"), Evidence(1, T1, T1, "e-5"))])
    text = "\n".join(text_lines(lens, 100))
    assert "AI security lens: 1 principal(s) use AI services (bedrock)" in text
    assert "HIGH AI_PERSON_WITHOUT_MFA" in text and "e.g. eventID e-1" in text
    assert "1 call, 2026-11-03T10:00:00Z, e.g. eventID e-5" in text
    markdown = "\n".join(markdown_lines(lens))
    assert "## AI security lens" in markdown and "**AI_TRAIL_STOPPED** (high)" in markdown
    body = lens_dict(lens)
    assert body["schema_version"] == 1 and body["signals_read"]
    assert [f["code"] for f in body["findings"]] == ["AI_PERSON_WITHOUT_MFA", "AI_TRAIL_STOPPED"]
    assert body["findings"][0]["evidence"] == {
        "count": 3, "first_seen": "2026-11-03T10:00:00Z", "last_seen": "2026-11-05T16:00:00Z",
        "example_event_id": "e-1"}
    assert set(body["catalog"]) == {"AI_PERSON_WITHOUT_MFA", "AI_TRAIL_STOPPED"}
    mine = principal_ai(lens, USER.arn)
    assert mine["uses_ai_services"] and mine["person"] and len(mine["findings"]) == 2
    assert principal_ai(lens, CHAT.arn)["findings"] == []


def test_informational_findings_say_what_the_trail_cannot_prove() -> None:
    put = Permission("s3:PutObject", "arn:aws:s3:::ml-artifacts/out/model.tar.gz")
    lens = ai_lens([usage(TRAINER, INVOKE, 1), usage(TRAINER, put, 1, ("sse", "", 1))])
    assert "informational: the trail shows the request's headers only" in \
        "\n".join(text_lines(lens, 200))
    assert "*Informational: the trail shows" in "\n".join(markdown_lines(lens))
