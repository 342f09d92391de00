"""resolve(): CloudTrail record -> IAM permissions. One test per AWS quirk, each citing its page."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iamgen.catalog import load_catalog
from iamgen.mapping.resolve import resolve
from iamgen.model import Condition

from tests.resolving import ACCOUNT, REGION, actions, assert_granted, grants, record


# ------------------------------------------------------------------ catalog matching


def test_exact_match_is_case_insensitive_and_spelled_as_in_catalog() -> None:
    res = resolve(record("ecr", "getauthorizationtoken"))
    assert actions(res) == {"ecr:GetAuthorizationToken"}


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("CreateFunction20150331", "lambda:CreateFunction"),
        ("UpdateFunctionCode20150331v2", "lambda:UpdateFunctionCode"),
        ("GetFunction20150331v2", "lambda:GetFunction"),
        ("ListFunctions20150331", "lambda:ListFunctions"),
    ],
)
def test_lambda_version_suffix_is_stripped(name: str, action: str) -> None:
    # https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html
    # ("eventName ... might include date and version information")
    res = resolve(record("lambda", name, {"functionName": "fn"}))
    assert actions(res) == {action}
    assert "API version suffix" in res.rules[0]


def test_suffix_is_kept_when_the_full_name_is_an_action() -> None:
    # A regex that strips trailing digits would turn this into RestoreDBClusterFromS.
    res = resolve(record("rds", "RestoreDBClusterFromS3", {"dBClusterIdentifier": "c1"}))
    assert actions(res) == {"rds:RestoreDBClusterFromS3"}


def test_suffix_is_not_stripped_into_a_nonexistent_action() -> None:
    res = resolve(record("lambda", "Frobnicate20150331"))
    assert res.unresolved and not res.permissions


def test_unknown_event_is_unresolved_not_guessed() -> None:
    res = resolve(record("s3", "NoSuchApiCall", {"bucketName": "b"}))
    assert res.unresolved
    assert res.permissions == ()


# ------------------------------------------------------------------ renames (data)

S3_POLICY_ACTIONS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html"


@pytest.mark.parametrize(
    ("name", "action", "resource"),
    [
        ("ListObjects", "s3:ListBucket", "arn:aws:s3:::data"),
        ("ListObjectsV2", "s3:ListBucket", "arn:aws:s3:::data"),
        ("HeadBucket", "s3:ListBucket", "arn:aws:s3:::data"),
        ("HeadObject", "s3:GetObject", "arn:aws:s3:::data/k/x.csv"),
        ("ListObjectVersions", "s3:ListBucketVersions", "arn:aws:s3:::data"),
        ("CreateMultipartUpload", "s3:PutObject", "arn:aws:s3:::data/k/x.csv"),
        ("UploadPart", "s3:PutObject", "arn:aws:s3:::data/k/x.csv"),
        ("CompleteMultipartUpload", "s3:PutObject", "arn:aws:s3:::data/k/x.csv"),
        ("GetBucketLifecycle", "s3:GetLifecycleConfiguration", "arn:aws:s3:::data"),
        ("GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration", "arn:aws:s3:::data"),
        ("PutBucketEncryption", "s3:PutEncryptionConfiguration", "arn:aws:s3:::data"),
        ("DeleteBucketEncryption", "s3:PutEncryptionConfiguration", "arn:aws:s3:::data"),
        ("DeleteBucketReplication", "s3:PutReplicationConfiguration", "arn:aws:s3:::data"),
    ],
)
def test_s3_renames(name: str, action: str, resource: str) -> None:
    # S3_POLICY_ACTIONS; HeadObject: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
    res = resolve(record("s3", name, {"bucketName": "data", "key": "k/x.csv"}))
    assert grants(res) == {(action, resource)}


def test_list_buckets_is_list_all_my_buckets_on_star() -> None:
    # S3_POLICY_ACTIONS: ListBuckets needs s3:ListAllMyBuckets, which takes no resource.
    res = resolve(record("s3", "ListBuckets", {"Host": "s3.amazonaws.com"}))
    assert_granted(res, {("s3:ListAllMyBuckets", "*")})


def test_delete_objects_is_delete_object_on_the_objects() -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
    res = resolve(record("s3", "DeleteObjects", {"bucketName": "data", "delete": ""}))
    assert grants(res) == {("s3:DeleteObject", "arn:aws:s3:::data/*")}


def test_head_object_with_version_needs_get_object_version() -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
    res = resolve(record("s3", "HeadObject", {"bucketName": "b", "key": "k", "versionId": "3"}))
    assert actions(res) == {"s3:GetObjectVersion"}


def test_lambda_invoke_data_event_is_invoke_function() -> None:
    # https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    res = resolve(record("lambda", "Invoke", {"functionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:score"}))
    assert grants(res) == {("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:score")}


@pytest.mark.parametrize(
    ("function_name", "arn"),
    [("score", f"{ACCOUNT}:function:score"), ("score:prod", f"{ACCOUNT}:function:score:prod"),
     (f"{ACCOUNT}:function:score", f"{ACCOUNT}:function:score"),
     (f"{ACCOUNT}:function:score:3", f"{ACCOUNT}:function:score:3"),
     ("444455556666:function:score:live", "444455556666:function:score:live"),
     ("function:score", f"{ACCOUNT}:function:score"),
     # a function named by 12 digits, with an alias: never an account
     ("444455556666:score", f"{ACCOUNT}:function:444455556666:score")],
)
@pytest.mark.parametrize("event", ["Invoke", "InvokeWithResponseStream"])
def test_lambda_function_name_forms(function_name: str, arn: str, event: str) -> None:
    # https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html (name, name:qualifier,
    # partial ARN); https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html
    # (a function's actions are restricted "by function, version, or alias ARN": a call on
    # an alias or version is on its ARN, which the function's own ARN does not match)
    res = resolve(record("lambda", event, {"functionName": function_name}))
    assert grants(res) == {("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{arn}")}


def test_lambda_invoke_qualifier_member_and_other_calls_by_name() -> None:
    """Invoke's Qualifier member names the version or alias too; a call that
    is not an invocation keeps the function's own ARN (as before)."""
    res = resolve(record("lambda", "Invoke", {"functionName": "score", "qualifier": "prod"}))
    assert grants(res) == {("lambda:InvokeFunction",
                            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:score:prod")}
    got = resolve(record("lambda", "GetFunction20150331v2", {"functionName": "score:prod"}))
    assert {r for _, r in grants(got)} == {f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:score"}


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("Converse", "bedrock:InvokeModel"),
        ("ConverseStream", "bedrock:InvokeModelWithResponseStream"),
        ("InvokeModel", "bedrock:InvokeModel"),
        ("InvokeModelWithResponseStream", "bedrock:InvokeModelWithResponseStream"),
    ],
)
def test_bedrock_converse_maps_to_invoke_model(name: str, action: str) -> None:
    # https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
    # ("This operation requires permission for the bedrock:InvokeModel action")
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    res = resolve(record("bedrock", name, {"modelId": model}))
    # Foundation-model ARNs carry no account.
    assert grants(res) == {(action, f"arn:aws:bedrock:{REGION}::foundation-model/{model}")}


@pytest.mark.parametrize(("name", "action", "params"), [
    ("Converse", "bedrock:InvokeModel",
     {"guardrailConfig": {"guardrailIdentifier": "{guardrail}", "guardrailVersion": "1"}}),
    ("ConverseStream", "bedrock:InvokeModelWithResponseStream",
     {"guardrailConfig": {"guardrailIdentifier": "{guardrail}", "guardrailVersion": "DRAFT"}}),
    ("InvokeModel", "bedrock:InvokeModel",
     {"guardrailIdentifier": "{guardrail}", "guardrailVersion": "2"}),
    ("InvokeModelWithResponseStream", "bedrock:InvokeModelWithResponseStream",
     {"guardrailIdentifier": "{guardrail}"}),
])
@pytest.mark.parametrize("by_arn", [False, True])
def test_an_invocation_through_a_guardrail_needs_apply_guardrail_on_it(
        name: str, action: str, params: dict[str, Any], by_arn: bool) -> None:
    # https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-permissions.html
    # ("Permissions for invoking guardrails to filter content": InvokeModel on the
    # model, and bedrock:ApplyGuardrail on arn:aws:bedrock:REGION:ACCOUNT:guardrail/ID)
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    guardrail = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/gr12345abc"
    given = json.loads(json.dumps(params).replace("{guardrail}",
                                                  guardrail if by_arn else "gr12345abc"))
    res = resolve(record("bedrock", name, {"modelId": model, **given}))
    assert grants(res) == {(action, f"arn:aws:bedrock:{REGION}::foundation-model/{model}"),
                           ("bedrock:ApplyGuardrail", guardrail)}


@pytest.mark.parametrize("tags", [[{"key": "team", "value": "ml"}], [], None])
def test_a_sagemaker_create_with_tags_needs_add_tags_on_what_it_creates(tags: Any) -> None:
    # https://docs.aws.amazon.com/sagemaker/latest/dg/security_iam_id-based-policy-examples.html
    # (Create calls with tags need sagemaker:AddTags; key sagemaker:TaggingAction)
    params: dict[str, Any] = {"trainingJobName": "churn-1",
                              "roleArn": f"arn:aws:iam::{ACCOUNT}:role/Trainer"}
    if tags is not None:
        params["tags"] = tags
    job = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/churn-1"
    found = grants(resolve(record("sagemaker", "CreateTrainingJob", params)))
    assert ("sagemaker:CreateTrainingJob", job) in found
    assert (("sagemaker:AddTags", job) in found) == bool(tags)


def test_add_tags_is_only_on_what_a_create_call_makes() -> None:
    """CreateEndpoint names its endpoint config too: the tags go on the new
    endpoint only, so AddTags is not granted on the config it uses."""
    res = resolve(record("sagemaker", "CreateEndpoint", {
        "endpointName": "churn", "endpointConfigName": "churn-cfg",
        "tags": [{"key": "team", "value": "ml"}]}))
    tagged = {r for a, r in grants(res) if a == "sagemaker:AddTags"}
    assert tagged == {f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn"}


def test_an_extra_on_an_undetermined_resource_is_reported() -> None:
    res = resolve(record("sts", "AssumeRole", {"roleSessionName": "s",
                                               "tags": [{"key": "p", "value": "x"}]}))
    assert ("sts:TagSession", "*") in grants(res)
    assert "sts:TagSession" in res.unknown_resource


@pytest.mark.parametrize(("event", "params", "created"), [
    ("CreateAutoMLJobV2", {"autoMLJobName": "aj"}, "automl-job/aj"),
    ("CreateTrial", {"trialName": "t1", "experimentName": "e"}, "experiment-trial/t1"),
    ("CreateDataQualityJobDefinition", {"jobDefinitionName": "dq"},
     "data-quality-job-definition/dq"),
])
def test_add_tags_on_what_creates_spelled_otherwise_make(event: str, params: dict[str, str],
                                                          created: str) -> None:
    found = grants(resolve(record("sagemaker", event,
                                  {**params, "tags": [{"key": "a", "value": "b"}]})))
    assert {r for a, r in found if a == "sagemaker:AddTags"} == {
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{created}"}


@pytest.mark.parametrize(("name", "arn"), [
    ("444455556666:function:f", "444455556666:function:f"),
    ("function:f", f"{ACCOUNT}:function:f"),
    ("123456789012", f"{ACCOUNT}:function:123456789012"),  # a name of 12 digits
    ("123456789012:prod", f"{ACCOUNT}:function:123456789012"),
])
def test_a_partial_function_arn_names_the_account_of_any_lambda_call(name: str, arn: str) -> None:
    got = resolve(record("lambda", "GetFunction20150331v2", {"functionName": name}))
    assert {r for _, r in grants(got)} == {f"arn:aws:lambda:{REGION}:{arn}"}


def test_an_event_source_mapping_stays_the_callers() -> None:
    mapping = resolve(record("lambda", "UpdateEventSourceMapping20150331",
                             {"uUID": "abc-1", "functionName": "444455556666:function:f"}))
    assert grants(mapping) == {("lambda:UpdateEventSourceMapping",
                                f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:abc-1")}


def test_assuming_a_role_with_session_tags_and_a_source_identity() -> None:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html (sts:TagSession)
    role = "arn:aws:iam::444455556666:role/Deployer"
    res = resolve(record("sts", "AssumeRole", {
        "roleArn": role, "roleSessionName": "s", "tags": [{"key": "p", "value": "x"}],
        "sourceIdentity": "alice"}))
    assert grants(res) == {("sts:AssumeRole", role), ("sts:TagSession", role),
                           ("sts:SetSourceIdentity", role)}
    plain = resolve(record("sts", "AssumeRole", {"roleArn": role, "roleSessionName": "s"}))
    assert grants(plain) == {("sts:AssumeRole", role)}


def test_create_secret_with_tags_and_replicas() -> None:
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
    res = resolve(record("secretsmanager", "CreateSecret", {
        "name": "prod/db", "tags": [{"key": "a", "value": "b"}],
        "addReplicaRegions": [{"region": "eu-west-1"}]}))
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-??????"
    assert grants(res) == {("secretsmanager:CreateSecret", secret),
                           ("secretsmanager:TagResource", secret),
                           ("secretsmanager:ReplicateSecretToRegions", secret)}


@pytest.mark.parametrize(("event", "plain", "versioned"), [
    ("DeleteObject", "s3:DeleteObject", "s3:DeleteObjectVersion"),
    ("GetObjectTagging", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    ("PutObjectTagging", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
    ("DeleteObjectTagging", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
    ("GetObjectAcl", "s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    ("PutObjectAcl", "s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
    ("GetObject", "s3:GetObject", "s3:GetObjectVersion"),
])
def test_an_object_call_on_a_named_version_needs_the_version_action(
        event: str, plain: str, versioned: str) -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html and each call's page:
    # on a version (versionId), the ...Version action
    params = {"bucketName": "data", "key": "a.csv"}
    obj = "arn:aws:s3:::data/a.csv"
    assert grants(resolve(record("s3", event, params))) == {(plain, obj)}
    assert grants(resolve(record("s3", event, {**params, "versionId": "3HL4kqtJ"}))) == {
        (versioned, obj)}


def test_delete_objects_deletes_a_version_named_with_its_key() -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
    delete = {"Object": [{"Key": "a.csv"}, {"Key": "b.csv", "VersionId": "3HL4kqtJ"}]}
    res = resolve(record("s3", "DeleteObjects", {"bucketName": "data", "delete": delete}))
    assert grants(res) == {("s3:DeleteObject", "arn:aws:s3:::data/a.csv"),
                           ("s3:DeleteObjectVersion", "arn:aws:s3:::data/b.csv")}


def test_a_bedrock_batch_job_is_granted_on_every_job_id() -> None:
    # https://docs.aws.amazon.com/bedrock/latest/userguide/batch-inference-permissions.html
    # (model-invocation-job/*): each job gets a new id, so tomorrow's is another ARN
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    res = resolve(record("bedrock", "CreateModelInvocationJob", {
        "jobName": "nightly", "modelId": model, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/Batch"},
        responseElements={"jobArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-invocation-job/"
                                    "abcd1234efgh"}))
    assert {r for a, r in grants(res) if a == "bedrock:CreateModelInvocationJob"} == {
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-invocation-job/*",
        f"arn:aws:bedrock:{REGION}::foundation-model/{model}"}


def test_a_bedrock_batch_job_without_its_model_is_undetermined() -> None:
    res = resolve(record("bedrock", "CreateModelInvocationJob", {"jobName": "nightly"}))
    assert ("bedrock:CreateModelInvocationJob", "*") in grants(res)
    assert "bedrock:CreateModelInvocationJob" in res.unknown_resource


@pytest.mark.parametrize("event", ["RetrieveAndGenerate", "RetrieveAndGenerateStream"])
def test_retrieve_and_generate_through_a_guardrail(event: str) -> None:
    config = {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
        "knowledgeBaseId": "KB12345678",
        "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        "generationConfiguration": {"guardrailConfiguration": {"guardrailId": "gr1",
                                                               "guardrailVersion": "1"}}}}
    found = grants(resolve(record("bedrock", event, {"retrieveAndGenerateConfiguration": config})))
    assert ("bedrock:ApplyGuardrail", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/gr1") in found
    assert ("bedrock:Retrieve", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/KB12345678") \
        in found


def test_an_arn_taken_whole_from_a_request_is_policy_text_like_any_other() -> None:
    # a guardrail named by ARN: a * or ${ in it names itself, not a wildcard or variable
    odd = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/g*${{aws:username}}"
    config = {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
        "knowledgeBaseId": "KB12345678",
        "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        "generationConfiguration": {"guardrailConfiguration": {"guardrailId": odd}}}}
    found = grants(resolve(record("bedrock", "RetrieveAndGenerate",
                                  {"retrieveAndGenerateConfiguration": config})))
    assert ("bedrock:ApplyGuardrail",
            f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/g${{*}}${{$}}{{aws:username}}") in found


def test_invoke_flow_is_on_the_flow_alias_it_names() -> None:
    # https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent-runtime_InvokeFlow.html
    # (flowIdentifier, flowAliasIdentifier); SAR: flow-alias flow/${FlowId}/alias/${FlowAliasId}
    res = resolve(record("bedrock", "InvokeFlow", {"flowIdentifier": "FLOW123456",
                                                  "flowAliasIdentifier": "ALIAS12345"}))
    assert grants(res) == {("bedrock:InvokeFlow",
                            f"arn:aws:bedrock:{REGION}:{ACCOUNT}:flow/FLOW123456/alias/ALIAS12345")}


@pytest.mark.parametrize(("flow", "alias"), [
    (f"arn:aws:bedrock:{REGION}:{ACCOUNT}:flow/FLOW123456", "ALIAS12345"),
    ("FLOW123456", "ALIAS12345"),
])
def test_invoke_flow_by_a_flow_arn_and_an_alias_id(flow: str, alias: str) -> None:
    res = resolve(record("bedrock", "InvokeFlow", {"flowIdentifier": flow,
                                                  "flowAliasIdentifier": alias}))
    assert grants(res) == {("bedrock:InvokeFlow",
                            f"arn:aws:bedrock:{REGION}:{ACCOUNT}:flow/FLOW123456/alias/ALIAS12345")}


def test_retrieve_and_generate_from_external_sources_through_a_guardrail() -> None:
    config = {"type": "EXTERNAL_SOURCES", "externalSourcesConfiguration": {
        "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        "generationConfiguration": {"guardrailConfiguration": {"guardrailId": "gr1",
                                                               "guardrailVersion": "1"}}}}
    found = grants(resolve(record("bedrock", "RetrieveAndGenerate",
                                  {"retrieveAndGenerateConfiguration": config})))
    assert ("bedrock:ApplyGuardrail", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/gr1") in found


def test_retrieve_and_generate_needs_retrieve_and_invoke_model() -> None:
    # https://docs.aws.amazon.com/bedrock/latest/userguide/knowledge-base-prereq-permissions-general.html (querying a
    # knowledge base and generating: Retrieve, RetrieveAndGenerate, InvokeModel)
    config = {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
        "knowledgeBaseId": "KB12345678", "modelArn": "us.anthropic.claude-3-5-haiku-20241022-v1:0"}}
    res = resolve(record("bedrock", "RetrieveAndGenerate",
                         {"input": {"text": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                          "retrieveAndGenerateConfiguration": config}))
    found = grants(res)
    assert ("bedrock:RetrieveAndGenerate", "*") in found
    assert ("bedrock:Retrieve", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/KB12345678") in found
    profile = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
    assert ("bedrock:InvokeModel", profile) in found
    assert ("bedrock:InvokeModel", "arn:aws:bedrock:us-west-2::foundation-model/"
            "anthropic.claude-3-5-haiku-20241022-v1:0") in found


# ------------------------------------------------------------------ eventSource aliases


@pytest.mark.parametrize(
    ("source", "action"),
    [
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/logging_cw_api_calls.html
        ("monitoring.amazonaws.com", "cloudwatch:PutMetricAlarm"),
        # https://docs.aws.amazon.com/ses/latest/dg/logging-using-cloudtrail.html
        ("email.amazonaws.com", "ses:SendEmail"),
        # https://docs.aws.amazon.com/sagemaker/latest/dg/logging-using-cloudtrail.html
        ("runtime.sagemaker.amazonaws.com", "sagemaker:InvokeEndpoint"),
        # https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html
        ("bedrock-runtime.amazonaws.com", "bedrock:InvokeModel"),
    ],
)
def test_event_source_aliases(source: str, action: str) -> None:
    # The call is logged under the action's own name, from a source named otherwise.
    name = action.split(":")[1]
    res = resolve(record(source, name, {"modelId": "amazon.titan-embed-text-v2:0", "endpointName": "e"}))
    assert actions(res) == {action}


# ------------------------------------------------------------------ one call, several actions


def test_copy_object_reads_source_and_writes_target() -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
    params = {"bucketName": "dst", "key": "out/a.parquet", "x-amz-copy-source": "src/in/a%20b.parquet"}
    res = resolve(record("s3", "CopyObject", params))
    assert grants(res) == {
        ("s3:GetObject", "arn:aws:s3:::src/in/a b.parquet"),
        ("s3:PutObject", "arn:aws:s3:::dst/out/a.parquet"),
    }


def test_reencrypt_needs_from_on_source_and_to_on_destination() -> None:
    # https://docs.aws.amazon.com/kms/latest/developerguide/ct-reencrypt.html (resources: source, destination)
    src = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1111"
    dst = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/2222"
    rec = record("kms", "ReEncrypt", {"destinationKeyId": "2222"},
                 resources=[{"ARN": src, "type": "AWS::KMS::Key"}, {"ARN": dst, "type": "AWS::KMS::Key"}])
    assert grants(resolve(rec)) == {("kms:ReEncryptFrom", src), ("kms:ReEncryptTo", dst)}


def test_transact_write_items_needs_per_item_actions() -> None:
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
    items = [
        {"operation": "Put", "tableName": "Runs"},
        {"operation": "Update", "tableName": "Runs"},
        {"operation": "ConditionCheck", "tableName": "Models"},
        {"operation": "Delete", "tableName": "Runs"},
    ]
    res = resolve(record("dynamodb", "TransactWriteItems", {"requestItems": items}))
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
    assert grants(res) == {
        ("dynamodb:PutItem", table + "Runs"),
        ("dynamodb:UpdateItem", table + "Runs"),
        ("dynamodb:DeleteItem", table + "Runs"),
        ("dynamodb:ConditionCheckItem", table + "Models"),
    }


def test_transact_write_items_tables_named_either_way() -> None:
    """CloudTrail writes an item's table as ``tableName`` or ``TableName``
    (both in one record of the AWS guide's example); none may be dropped."""
    items = [
        {"operation": "Put", "tableName": "Runs"},
        {"operation": "Delete", "TableName": "Models"},
        {"operation": "ConditionCheck", "TableName": "Quotas", "Key": {"id": {"S": "x"}}},
    ]
    other = "arn:aws:dynamodb:eu-west-1:444455556666:table/Elsewhere"
    res = resolve(record("dynamodb", "TransactWriteItems", {"requestItems": items},
                         resources=[{"ARN": other, "type": "AWS::DynamoDB::Table"}]))
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
    assert grants(res) == {
        ("dynamodb:PutItem", table + "Runs"),
        ("dynamodb:DeleteItem", table + "Models"),
        ("dynamodb:ConditionCheckItem", table + "Quotas"),
    }


@pytest.mark.parametrize(
    ("statement", "action", "suffix"),
    [
        ("SELECT * FROM Music WHERE Artist = 'x'", "dynamodb:PartiQLSelect", "Music"),
        ('select * from "Music"."ByAlbum" where a = 1', "dynamodb:PartiQLSelect", "Music/index/ByAlbum"),
        ("INSERT INTO Music VALUE {'Artist': 'x'}", "dynamodb:PartiQLInsert", "Music"),
        ("UPDATE \"Music\" SET Album = 'y' WHERE Artist = 'x'", "dynamodb:PartiQLUpdate", "Music"),
        ("DELETE FROM Music WHERE Artist = 'x'", "dynamodb:PartiQLDelete", "Music"),
    ],
)
def test_partiql_action_follows_statement_verb(statement: str, action: str, suffix: str) -> None:
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-iam.html
    res = resolve(record("dynamodb", "ExecuteStatement", {"statement": statement}))
    assert grants(res) == {(action, f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{suffix}")}


def test_batch_get_secret_value_needs_get_secret_value_on_each_secret() -> None:
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"
    res = resolve(record("secretsmanager", "BatchGetSecretValue", {"secretIdList": [arn, "api-key"]}))
    assert grants(res) == {
        ("secretsmanager:BatchGetSecretValue", "*"),
        ("secretsmanager:GetSecretValue", arn),
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:api-key-??????"),
    }


def test_batch_get_secret_value_with_filters_needs_list_secrets() -> None:
    # same page: "If you use filters, you must also have secretsmanager:ListSecrets"
    res = resolve(record("secretsmanager", "BatchGetSecretValue", {"filters": [{"key": "tag-key", "values": ["x"]}]}))
    assert actions(res) == {
        "secretsmanager:BatchGetSecretValue", "secretsmanager:GetSecretValue", "secretsmanager:ListSecrets"
    }
    assert "secretsmanager:GetSecretValue" in res.unknown_resource


# ------------------------------------------------------------------ no grant


@pytest.mark.parametrize(
    ("source", "name", "url"),
    [
        ("sts", "GetCallerIdentity", "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"),
        ("sts", "GetSessionToken",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getsessiontoken.html"),
    ],
)
def test_permissionless_calls_need_no_grant(source: str, name: str, url: str) -> None:
    res = resolve(record(source, name))
    assert res.no_grant == "permissionless_call" and res.permissions == ()


def test_console_sign_in_needs_no_grant() -> None:
    # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
    res = resolve(record("signin", "ConsoleLogin", eventType="AwsConsoleSignIn"))
    assert res.no_grant is not None and res.permissions == ()


def test_service_events_need_no_grant() -> None:
    # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/non-api-aws-service-events.html
    rec = record("kms", "RotateKey", eventType="AwsServiceEvent",
                 userIdentity={"accountId": ACCOUNT, "invokedBy": "AWS Internal"})
    res = resolve(rec)
    assert res.no_grant == "service_event" and res.permissions == ()


def test_calls_by_aws_service_principals_need_no_grant() -> None:
    rec = record("sts", "AssumeRole", {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/x"},
                 userIdentity={"type": "AWSService", "invokedBy": "lambda.amazonaws.com"})
    assert resolve(rec).no_grant == "aws_service_caller"


def test_denied_calls_are_still_resolved() -> None:
    rec = record("secretsmanager", "GetSecretValue", {"secretId": "prod/db"}, errorCode="AccessDenied")
    res = resolve(rec)
    assert grants(res) == {
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-??????")
    }


# ------------------------------------------------------------------ what CloudTrail never shows


@pytest.mark.parametrize(
    ("source", "name", "params", "role_key", "passed_to"),
    [
        ("sagemaker", "CreateTrainingJob", {"trainingJobName": "J"}, "roleArn", "sagemaker.amazonaws.com"),
        ("sagemaker", "CreateModel", {"modelName": "M"}, "executionRoleArn", "sagemaker.amazonaws.com"),
        ("lambda", "CreateFunction20150331", {"functionName": "f"}, "role", "lambda.amazonaws.com"),
        ("states", "CreateStateMachine", {"name": "sm"}, "roleArn", "states.amazonaws.com"),
        ("ecs", "RegisterTaskDefinition", {"family": "t"}, "taskRoleArn", "ecs-tasks.amazonaws.com"),
    ],
)
def test_pass_role_for_roles_handed_to_services(
    source: str, name: str, params: dict[str, str], role_key: str, passed_to: str
) -> None:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/Exec"
    res = resolve(record(source, name, {**params, role_key: role}))
    passes = [p for p in res.permissions if p.action == "iam:PassRole"]
    assert [(p.resource, p.conditions) for p in passes] == [
        (role, (Condition("StringEquals", "iam:PassedToService", (passed_to,)),))
    ]


def test_pass_role_found_in_nested_parameters() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/replication"
    params = {"bucketName": "b", "ReplicationConfiguration": {"Role": role, "Rule": []}}
    res = resolve(record("s3", "PutBucketReplication", params))
    assert ("iam:PassRole", role) in grants(res)


def test_assume_role_target_is_a_resource_not_a_pass_role() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/Target"
    res = resolve(record("sts", "AssumeRole", {"roleArn": role, "roleSessionName": "s"}))
    assert grants(res) == {("sts:AssumeRole", role)}


def test_reads_never_pass_roles() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/Exec"
    res = resolve(record("sagemaker", "ListTrainingJobs", {"roleArn": role}))
    assert "iam:PassRole" not in actions(res)


def test_kms_call_made_through_a_service_is_scoped_with_via_service() -> None:
    # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"
    identity = {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/App/s",
                "invokedBy": "secretsmanager.amazonaws.com"}
    rec = record("kms", "Decrypt", {"encryptionContext": {"SecretARN": "x"}},
                 userIdentity=identity, resources=[{"ARN": key, "type": "AWS::KMS::Key"}])
    (perm,) = resolve(rec).permissions
    assert (perm.action, perm.resource) == ("kms:Decrypt", key)
    assert perm.conditions == (
        Condition("StringEquals", "kms:ViaService", (f"secretsmanager.{REGION}.amazonaws.com",)),
    )


def test_kms_call_without_invoked_by_has_no_condition() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"
    (perm,) = resolve(record("kms", "Decrypt", {}, resources=[{"ARN": key}])).permissions
    assert perm.conditions == ()


def test_cross_region_inference_profile_grants_profile_and_models_in_each_region() -> None:
    # https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html
    # ("you must also specify the foundation model in each Region associated with it")
    model = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    res = resolve(record("bedrock", "Converse", {"modelId": model}))
    resources = {p.resource for p in res.permissions}
    assert f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{model}" in resources
    base = model.removeprefix("us.")
    for region in ("us-east-1", "us-east-2", "us-west-2"):
        assert f"arn:aws:bedrock:{region}::foundation-model/{base}" in resources
    assert all(r.startswith("arn:aws:bedrock:us-") for r in resources)
    assert actions(res) == {"bedrock:InvokeModel"}


def test_inference_profile_given_as_arn() -> None:
    profile = f"arn:aws:bedrock:eu-west-1:{ACCOUNT}:inference-profile/eu.meta.llama3-2-3b-instruct-v1:0"
    res = resolve(record("bedrock", "InvokeModel", {"modelId": profile}, awsRegion="eu-west-1"))
    resources = {p.resource for p in res.permissions}
    assert profile in resources
    assert "arn:aws:bedrock:eu-central-1::foundation-model/meta.llama3-2-3b-instruct-v1:0" in resources


# ------------------------------------------------------------------ resources


def test_resources_block_gives_the_object_for_get_object() -> None:
    obj = "arn:aws:s3:::lake/raw/2026/01/part-0.parquet"
    rec = record("s3", "GetObject", {"bucketName": "lake", "key": "raw/2026/01/part-0.parquet"},
                 resources=[{"type": "AWS::S3::Object", "ARN": obj},
                            {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::lake"}])
    assert grants(resolve(rec)) == {("s3:GetObject", obj)}


def test_sagemaker_arns_use_lower_cased_names() -> None:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html
    res = resolve(record("sagemaker", "CreateEndpoint",
                         {"endpointName": "Churn-Prod", "endpointConfigName": "Churn-Cfg"}))
    assert grants(res) == {
        ("sagemaker:CreateEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-prod"),
        ("sagemaker:CreateEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/churn-cfg"),
    }


@pytest.mark.parametrize(("event", "params"), [
    ("GetSecretValue", {"secretId": "{arn}"}),
    ("BatchGetSecretValue", {"secretIdList": ["{arn}"]}),
])
@pytest.mark.parametrize(("given", "granted"), [
    ("prod/partial", "prod/partial-??????"),  # a partial ARN: no six characters
    ("prod/db-AbCdEf", "prod/db-AbCdEf"),  # a full ARN
    ("prod/db-backup-A1b2C3", "prod/db-backup-A1b2C3"),
])
def test_a_partial_secret_arn_ends_in_six_wildcards(event: str, params: dict[str, object],
                                                     given: str, granted: str) -> None:
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html:
    # SecretId takes "the ARN or name of the secret", and a partial ARN is one
    # without the six characters AWS adds; the call is authorized on the full ARN.
    base = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
    filled = json.loads(json.dumps(params).replace("{arn}", base + given))
    res = resolve(record("secretsmanager", event, filled))
    assert ("secretsmanager:GetSecretValue", base + granted) in grants(res)


def test_secret_from_a_bare_name_ends_in_six_wildcards() -> None:
    # https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html
    res = resolve(record("secretsmanager", "GetSecretValue", {"secretId": "prod/db"}))
    assert grants(res) == {
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-??????")
    }


def test_log_group_and_log_stream_arns() -> None:
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html (arn ends in :*)
    group = resolve(record("logs", "DeleteLogGroup", {"logGroupName": "/aws/sagemaker/TrainingJobs"}))
    assert grants(group) == {
        ("logs:DeleteLogGroup", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:*")
    }
    stream = resolve(record("logs", "CreateLogStream", {"logGroupName": "/aws/lambda/f", "logStreamName": "2026/01/01/[$LATEST]ab"}))
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:2026/01/01/[$LATEST]ab"
    # PutLogEvents comes with it: see test_resolve_resources.test_new_log_stream_also_needs_put_log_events
    assert grants(stream) == {("logs:CreateLogStream", arn), ("logs:PutLogEvents", arn)}


@pytest.mark.parametrize(
    ("source", "name", "params", "expected"),
    [
        ("kms", "DescribeKey", {"keyId": "1234"}, f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"),
        ("kms", "DeleteAlias", {"aliasName": "alias/app"}, f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app"),
        ("dynamodb", "Query", {"tableName": "Runs", "indexName": "ByDate"},
         f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Runs/index/ByDate"),
        ("ssm", "GetParameter", {"name": "/ml/threshold"}, f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/ml/threshold"),
        ("ecr", "BatchGetImage", {"repositoryName": "trainer"}, f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/trainer"),
        ("sqs", "SendMessage", {"queueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/jobs"},
         f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"),
        ("sns", "Publish", {"topicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"}, f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"),
        ("states", "StartExecution", {"stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:pipe"},
         f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:pipe"),
        ("glue", "GetTable", {"databaseName": "lake", "name": "events"}, f"arn:aws:glue:{REGION}:{ACCOUNT}:database/lake"),
        ("athena", "StartQueryExecution", {"queryString": "select 1"}, f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/primary"),
        ("iam", "GetRole", {"roleName": "Trainer"}, f"arn:aws:iam::{ACCOUNT}:role/Trainer"),
        ("bedrock", "Retrieve", {"knowledgeBaseId": "KB12345678"},
         f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/KB12345678"),
        ("bedrock", "GetAgent", {"agentId": "AG12345678"}, f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent/AG12345678"),
    ],
)
def test_arns_built_from_request_parameters(source: str, name: str, params: dict[str, Any], expected: str) -> None:
    res = resolve(record(source, name, params))
    assert expected in {p.resource for p in res.permissions}
    assert res.unknown_resource == ()


def test_missing_resource_falls_back_to_star_and_is_reported() -> None:
    res = resolve(record("lambda", "GetFunction", {}))
    assert_granted(res, {("lambda:GetFunction", "*")}, unknown=("lambda:GetFunction",))


def test_no_resource_actions_get_star_without_being_unknown() -> None:
    # ecr:GetAuthorizationToken takes no resource in the Service Authorization Reference.
    res = resolve(record("ecr", "GetAuthorizationToken", {}))
    assert_granted(res, {("ecr:GetAuthorizationToken", "*")})


def test_partition_comes_from_the_identity() -> None:
    rec = record("s3", "GetObject", {"bucketName": "b", "key": "k"}, awsRegion="cn-north-1",
                 userIdentity={"type": "IAMUser", "arn": "arn:aws-cn:iam::111122223333:user/u"})
    assert grants(resolve(rec)) == {("s3:GetObject", "arn:aws-cn:s3:::b/k")}


def test_every_emitted_action_exists_in_the_catalog() -> None:
    catalog = load_catalog()
    records = [
        record("s3", "CopyObject", {"bucketName": "b", "key": "k", "x-amz-copy-source": "a/b"}),
        record("bedrock", "ConverseStream", {"modelId": "eu.amazon.nova-pro-v1:0"}),
        record("lambda", "UpdateFunctionConfiguration20150331v2",
               {"functionName": "f", "layers": [f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:deps:3"]}),
        record("apigateway", "GetResource", {"restApiId": "a1", "resourceId": "r1"}),
    ]
    for rec in records:
        for perm in resolve(rec).permissions:
            assert catalog.has_action(perm.action), perm.action


def test_lambda_layers_need_get_layer_version() -> None:
    # https://docs.aws.amazon.com/lambda/latest/dg/adding-layers.html
    layer = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:deps:3"
    res = resolve(record("lambda", "UpdateFunctionConfiguration20150331v2", {"functionName": "f", "layers": [layer]}))
    assert ("lambda:GetLayerVersion", layer) in grants(res)


def test_api_gateway_management_uses_http_verb_actions() -> None:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagement.html
    res = resolve(record("apigateway", "GetResource", {"restApiId": "a1", "resourceId": "r1"}))
    assert grants(res) == {("apigateway:GET", f"arn:aws:apigateway:{REGION}::/restapis/a1/resources/r1")}


def test_rules_explain_the_decision() -> None:
    res = resolve(record("s3", "ListObjectsV2", {"bucketName": "b"}))
    assert res.rules == ("event_overrides:s3:ListObjectsV2",)


def test_glue_role_given_by_name_is_passed() -> None:
    # https://docs.aws.amazon.com/glue/latest/webapi/API_CreateJob.html ("The name or ARN of the IAM role")
    res = resolve(record("glue", "CreateJob", {"name": "etl", "role": "GlueEtl", "command": {}}))
    passes = {(p.resource, p.conditions) for p in res.permissions if p.action == "iam:PassRole"}
    assert passes == {(f"arn:aws:iam::{ACCOUNT}:role/GlueEtl",
                       (Condition("StringEquals", "iam:PassedToService", ("glue.amazonaws.com",)),))}


@pytest.mark.parametrize(("source", "event", "params", "created", "tagging"), [
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-tags.html: lambda:TagResource
    # for anyone who tags on create
    ("lambda", "CreateFunction20150331", {"functionName": "f", "tags": {"team": "ml"}},
     f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f", "lambda:TagResource"),
    # https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-supported-iam-actions-tagging.html
    ("ecr", "CreateRepository", {"repositoryName": "r", "tags": [{"key": "a", "value": "b"}]},
     f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/r", "ecr:TagResource"),
])
def test_tags_given_at_creation_need_the_tagging_action_on_what_is_created(
        source: str, event: str, params: dict[str, object], created: str, tagging: str) -> None:
    action = f"{source}:{event.removesuffix('20150331')}"
    assert grants(resolve(record(source, event, params))) == {(action, created),
                                                              (tagging, created)}
    untagged = {k: v for k, v in params.items() if k != "tags"}
    assert grants(resolve(record(source, event, untagged))) == {(action, created)}


def test_a_kms_key_created_with_tags_needs_tag_resource_on_every_key_of_its_region() -> None:
    # https://docs.aws.amazon.com/kms/latest/developerguide/manage-tags-api.html: "the
    # permission must cover all KMS keys in the account and Region"
    tagged = resolve(record("kms", "CreateKey", {
        "keyUsage": "ENCRYPT_DECRYPT", "tags": [{"tagKey": "p", "tagValue": "x"}]}))
    assert grants(tagged) == {("kms:CreateKey", "*"),
                              ("kms:TagResource", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*")}
    untagged = resolve(record("kms", "CreateKey", {"keyUsage": "ENCRYPT_DECRYPT", "tags": []}))
    assert grants(untagged) == {("kms:CreateKey", "*")}


def test_a_bedrock_customization_job_is_granted_on_every_job_and_custom_model_id() -> None:
    # https://docs.aws.amazon.com/step-functions/latest/dg/connect-bedrock.html: the
    # CreateModelCustomizationJob example grants custom-model/* and model-customization-job/*
    # (Bedrock gives both new ids; customModelName is no part of the model's ARN)
    role = f"arn:aws:iam::{ACCOUNT}:role/BedrockFineTune"
    res = resolve(record("bedrock", "CreateModelCustomizationJob", {
        "jobName": "ft-7", "customModelName": "support-bot", "roleArn": role,
        "baseModelIdentifier": "amazon.titan-text-express-v1",
        "trainingDataConfig": {"s3Uri": "s3://ml-data/train.jsonl"},
        "outputDataConfig": {"s3Uri": "s3://ml-data/out/"}}))
    where = f"arn:aws:bedrock:{REGION}:{ACCOUNT}"
    assert grants(res) == {
        ("bedrock:CreateModelCustomizationJob", f"{where}:model-customization-job/*"),
        ("bedrock:CreateModelCustomizationJob", f"{where}:custom-model/*"),
        ("bedrock:CreateModelCustomizationJob",
         f"arn:aws:bedrock:{REGION}::foundation-model/amazon.titan-text-express-v1"),
        ("iam:PassRole", role)}
