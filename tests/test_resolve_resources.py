"""resolve(): resource ARNs for Athena, Glue, SageMaker model packages and log streams.

Each case pins a defect seen on the bundled example account (examples/ml-account) to
the AWS page that decides it.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iamgen.catalog import load_catalog
from iamgen.mapping.resolve import resolve
from iamgen.mapping.templates import templates_of
from tests import resolving
from tests.resolving import assert_granted, grants

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"
GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"
SAGEMAKER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"

ATHENA_GET_QUERY_EXECUTION = "https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryExecution.html"
ATHENA_LIST_QUERY_EXECUTIONS = "https://docs.aws.amazon.com/athena/latest/APIReference/API_ListQueryExecutions.html"
GLUE_ARNS = "https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html"
GLUE_POLICY_EXAMPLES = "https://docs.aws.amazon.com/glue/latest/dg/glue-policy-examples-iam.html"
SAGEMAKER_SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html"
MODEL_REGISTRY = "https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-models.html"
CWL_CLOUDTRAIL = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/logging_cw_api_calls_cwl.html"


def record(source: str, name: str, params: Any = None, response: Any = None) -> dict[str, Any]:
    """A minimal management-event record by an assumed-role session, with a response."""
    return resolving.record(source, name, params, responseElements=response)


# ------------------------------------------------------------------ Athena


@pytest.mark.parametrize(
    "name", ["GetQueryExecution", "GetQueryResults", "StopQueryExecution", "GetQueryRuntimeStatistics"]
)
def test_athena_calls_by_query_id_do_not_guess_the_primary_workgroup(name: str) -> None:
    # ATHENA_GET_QUERY_EXECUTION: "if you have access to the workgroup in which the query
    # ran"; the record names only the query execution id, and the query may have run in any
    # workgroup (the example's ran in "analysts"). "*" for this action, reported.
    res = resolve(record("athena", name, {"queryExecutionId": "a6052ff0-8bc2-4501-aa82-5a38878a9910"}))
    assert_granted(res, {(f"athena:{name}", "*")}, unknown=(f"athena:{name}",))
    assert "resource_params:athena:*:WorkGroupName: no value in this record" in res.rules


def test_athena_workgroup_is_taken_from_the_response_when_it_is_logged() -> None:
    # ATHENA_GET_QUERY_EXECUTION: the response's QueryExecution.WorkGroup is "the name of
    # the workgroup in which the query ran".
    res = resolve(record("athena", "GetQueryExecution", {"queryExecutionId": "q1"},
                         {"queryExecution": {"queryExecutionId": "q1", "workGroup": "analysts"}}))
    assert_granted(res, {("athena:GetQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/analysts")})


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("StartQueryExecution", {"queryString": "select 1"}),
        ("CreateNamedQuery", {"name": "q", "queryString": "select 1", "database": "default"}),
        ("ListQueryExecutions", {}),
        ("ListNamedQueries", {}),
    ],
)
def test_athena_calls_with_an_optional_workgroup_default_to_primary(name: str, params: dict[str, Any]) -> None:
    # ATHENA_LIST_QUERY_EXECUTIONS: "If a workgroup is not specified, ... the primary
    # workgroup"; CreateNamedQuery's "name" is the query's, never a workgroup.
    res = resolve(record("athena", name, params))
    assert grants(res) == {(f"athena:{name}", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/primary")}
    assert any(r.endswith("default primary") for r in res.rules)


def test_athena_named_workgroup_wins_over_the_default() -> None:
    res = resolve(record("athena", "StartQueryExecution", {"queryString": "select 1", "workGroup": "analysts"}))
    assert grants(res) == {("athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/analysts")}


# ------------------------------------------------------------------ Glue


def test_glue_get_database_is_the_root_catalog_and_the_database() -> None:
    # GLUE_ARNS: the Data Catalog is arn:aws:glue:REGION:ACCOUNT:catalog; catalog/<name>
    # is only a child catalog (s3tablescatalog/...), never the database.
    res = resolve(record("glue", "GetDatabase", {"name": "ml_curated"}))
    assert_granted(res, {
        ("glue:GetDatabase", f"{GLUE}:catalog"),
        ("glue:GetDatabase", f"{GLUE}:database/ml_curated"),
    })


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("GetTable", {"databaseName": "ml_curated", "name": "churn_features_v3"}),
        ("DeleteTable", {"databaseName": "ml_curated", "name": "churn_features_v3"}),
        ("GetPartitions", {"databaseName": "ml_curated", "tableName": "churn_features_v3"}),
        ("BatchCreatePartition", {"databaseName": "ml_curated", "tableName": "churn_features_v3",
                                  "partitionInputList": []}),
        ("UpdateTable", {"databaseName": "ml_curated", "tableInput": {"name": "churn_features_v3"}}),
        ("CreateTable", {"databaseName": "ml_curated", "tableInput": {"name": "churn_features_v3"}}),
    ],
)
def test_glue_table_calls_need_catalog_database_and_table(name: str, params: dict[str, Any]) -> None:
    # GLUE_POLICY_EXAMPLES: "to grant Get permission to a table that permission to the
    # catalog and database resources is also required"; table ARN: table/DB/TABLE (GLUE_ARNS).
    res = resolve(record("glue", name, params))
    assert grants(res) == {
        (f"glue:{name}", f"{GLUE}:catalog"),
        (f"glue:{name}", f"{GLUE}:database/ml_curated"),
        (f"glue:{name}", f"{GLUE}:table/ml_curated/churn_features_v3"),
    }


def test_glue_request_value_never_fills_two_placeholders() -> None:
    # DeleteDatabase's name is the database; it deletes every table in it, so the table
    # resource the SAR requires is table/DB/* (GLUE_ARNS), not table/DB/DB.
    res = resolve(record("glue", "DeleteDatabase", {"name": "scratch"}))
    tables = {r for a, r in grants(res) if ":table/" in r}
    assert tables == {f"{GLUE}:table/scratch/*"}
    assert ("glue:DeleteDatabase", f"{GLUE}:database/scratch") in grants(res)


def test_glue_listing_calls_ask_for_every_table_or_database() -> None:
    # GLUE_POLICY_EXAMPLES ("Filter tables by GetTables permission"): GetTables returns only
    # the tables the caller may get; it asked for all of them.
    tables = resolve(record("glue", "GetTables", {"databaseName": "ml_curated"}))
    assert grants(tables) == {
        ("glue:GetTables", f"{GLUE}:catalog"),
        ("glue:GetTables", f"{GLUE}:database/ml_curated"),
        ("glue:GetTables", f"{GLUE}:table/ml_curated/*"),
    }
    databases = resolve(record("glue", "GetDatabases", {}))
    assert grants(databases) == {
        ("glue:GetDatabases", f"{GLUE}:catalog"),
        ("glue:GetDatabases", f"{GLUE}:database/*"),
    }


def test_glue_catalog_of_another_account_carries_that_account() -> None:
    # GLUE_ARNS: "Each AWS account has a single Data Catalog ... with the 12-digit account ID
    # as the catalog ID"; a catalogId of another account names that account's catalog.
    res = resolve(record("glue", "GetTable", {"catalogId": OTHER, "databaseName": "shared", "name": "t"}))
    other = f"arn:aws:glue:{REGION}:{OTHER}"
    assert grants(res) == {
        ("glue:GetTable", f"{other}:catalog"),
        ("glue:GetTable", f"{other}:database/shared"),
        ("glue:GetTable", f"{other}:table/shared/t"),
    }


@pytest.mark.parametrize(("service", "event", "params", "arn"), [
    ("ecr", "BatchGetImage", {"registryId": "{owner}", "repositoryName": "ml/train"},
     "arn:aws:ecr:{region}:{owner}:repository/ml/train"),
    ("sqs", "SendMessage", {"queueUrl": "https://sqs.{region}.amazonaws.com/{owner}/jobs"},
     "arn:aws:sqs:{region}:{owner}:jobs"),
    ("sqs", "GetQueueUrl", {"queueName": "jobs", "queueOwnerAWSAccountId": "{owner}"},
     "arn:aws:sqs:{region}:{owner}:jobs"),
])
@pytest.mark.parametrize("owner", [OTHER, ACCOUNT])
def test_a_resource_of_the_account_a_request_names_carries_that_account(
        service: str, event: str, params: dict[str, str], arn: str, owner: str) -> None:
    """A repository in another account's registry, a queue by another
    account's URL: the ARN names the owner, not the caller's account (the
    call would be denied on the caller's). Without resources[] to say so."""
    filled = {k: v.format(owner=owner, region=REGION) for k, v in params.items()}
    res = resolve(record(service, event, filled))
    assert {r for _, r in grants(res)} == {arn.format(owner=owner, region=REGION)}


@pytest.mark.parametrize("owner", [f"{OTHER}\n", "\u0661" * 12])
def test_an_owner_account_must_be_twelve_ascii_digits(owner: str) -> None:
    res = resolve(record("sqs", "GetQueueUrl",
                         {"queueName": "jobs", "queueOwnerAWSAccountId": owner}))
    assert {r for _, r in grants(res)} == {f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"}


@pytest.mark.parametrize(("event", "params"), [
    ("StartQuery", {"logGroupNames": ["/aws/lambda/infer", "/aws/sagemaker/Endpoints/ep"]}),
    ("StartQuery", {"logGroupIdentifiers": ["/aws/lambda/infer",
                                            "/aws/sagemaker/Endpoints/ep"]}),
    ("FilterLogEvents", {"logGroupIdentifier": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
                                               "/aws/lambda/infer"}),
])
def test_log_groups_named_by_names_or_arns_end_in_any(event: str, params: dict[str, object]
                                                      ) -> None:
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html
    # (the log group ARN with :* is the one to use in IAM policies); API_StartQuery
    # (logGroupNames or logGroupIdentifiers: several groups)
    groups = {f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
              for name in ("/aws/lambda/infer", "/aws/sagemaker/Endpoints/ep")}
    found = {r for _, r in grants(resolve(record("logs", event, params)))}
    assert found and found <= groups
    assert found == groups or event == "FilterLogEvents"


@pytest.mark.parametrize("event", ["TagResource", "UntagResource", "ListTagsForResource"])
def test_log_group_tagging_takes_the_arn_without_any(event: str) -> None:
    # API_LogGroup: TagResource, UntagResource and ListTagsForResource "require the ARN
    # version that doesn't include a trailing :*"
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/x"
    assert {r for _, r in grants(resolve(record("logs", event, {"resourceArn": group})))} == {group}


def test_glue_own_account_catalog_id_is_the_root_catalog() -> None:
    res = resolve(record("glue", "GetDatabase", {"catalogId": ACCOUNT, "name": "ml_curated"}))
    assert {r for _, r in grants(res)} == {f"{GLUE}:catalog", f"{GLUE}:database/ml_curated"}


def test_glue_child_catalog_id_names_the_child_catalog() -> None:
    # GLUE_ARNS: "Federated S3 table bucket catalog (child catalog)
    # arn:aws:glue:region:account-id:catalog/s3tablescatalog/bucket name".
    res = resolve(record("glue", "GetDatabase",
                         {"catalogId": f"{ACCOUNT}:s3tablescatalog/amzn-s3-demo-bucket1", "name": "nsdb1"}))
    assert ("glue:GetDatabase", f"{GLUE}:catalog/s3tablescatalog/amzn-s3-demo-bucket1") in grants(res)
    assert ("glue:GetDatabase", f"{GLUE}:catalog") in grants(res)


# ------------------------------------------------------------------ SageMaker model packages


def test_create_model_package_in_a_group_is_granted_on_the_group_versions() -> None:
    # SAGEMAKER_SAR: CreateModelPackage's resource type is model-package only (not the
    # group). MODEL_REGISTRY: versions of a Model Group are numbered by SageMaker, so the
    # next registration creates .../churn-models/13: the grant names the group's versions.
    res = resolve(record("sagemaker", "CreateModelPackage",
                         {"modelPackageGroupName": "churn-models", "modelApprovalStatus": "PendingManualApproval"},
                         {"modelPackageArn": f"{SAGEMAKER}:model-package/churn-models/12"}))
    assert_granted(res, {("sagemaker:CreateModelPackage", f"{SAGEMAKER}:model-package/churn-models/*")})
    assert "sagemaker_model_package:version assigned by SageMaker" in res.rules


def test_create_model_package_without_response_uses_the_group_name() -> None:
    # SageMaker ARNs use lower-cased names (SAGEMAKER_SAR resource types).
    res = resolve(record("sagemaker", "CreateModelPackage", {"modelPackageGroupName": "Churn-Models"}))
    assert grants(res) == {("sagemaker:CreateModelPackage", f"{SAGEMAKER}:model-package/churn-models/*")}


def test_unversioned_model_package_keeps_its_own_arn() -> None:
    res = resolve(record("sagemaker", "CreateModelPackage", {"modelPackageName": "Scorer"}))
    assert grants(res) == {("sagemaker:CreateModelPackage", f"{SAGEMAKER}:model-package/scorer")}
    arn = f"{SAGEMAKER}:model-package/scorer"
    assert grants(resolve(record("sagemaker", "CreateModelPackage", {"modelPackageName": "Scorer"},
                                 {"modelPackageArn": arn}))) == {("sagemaker:CreateModelPackage", arn)}


def test_versioned_model_package_arn_in_a_request_is_used_as_is() -> None:
    # MODEL_REGISTRY: a versioned package's ARN ends in /<group>/<version>.
    arn = f"{SAGEMAKER}:model-package/churn-models/12"
    res = resolve(record("sagemaker", "DescribeModelPackage", {"modelPackageName": arn}))
    assert_granted(res, {("sagemaker:DescribeModelPackage", arn)})


def test_list_action_with_only_optional_resource_types_gets_star_unreported() -> None:
    # SAGEMAKER_SAR: ListModelPackages lists model-package without "*" (optional): "*" is
    # what the SAR allows for a listing, and nothing went undetermined.
    res = resolve(record("sagemaker", "ListModelPackages",
                         {"modelPackageGroupName": "churn-models", "maxResults": 10}))
    assert_granted(res, {("sagemaker:ListModelPackages", "*")})


def test_optional_only_non_list_action_is_still_reported_when_undetermined() -> None:
    # s3:GetObject's resource types are optional in the catalog too, but a read of an
    # object whose key the record lacks did lose its resource.
    res = resolve(record("s3", "GetObject", {}))
    assert_granted(res, {("s3:GetObject", "*")}, unknown=("s3:GetObject",))


# ------------------------------------------------------------------ CloudWatch Logs


def test_new_log_stream_also_needs_put_log_events() -> None:
    # CWL_CLOUDTRAIL: PutLogEvents is not among the calls CloudTrail logs; a role that
    # opens a stream (Lambda, SageMaker, Glue) writes to it, and fails without it.
    stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/crawlers:log-stream:curated-churn-features"
    res = resolve(record("logs", "CreateLogStream",
                         {"logGroupName": "/aws-glue/crawlers", "logStreamName": "curated-churn-features"}))
    assert grants(res) == {("logs:CreateLogStream", stream), ("logs:PutLogEvents", stream)}


# ------------------------------------------------------------------ the example account


def _example_records(repo_root: Path) -> Iterator[dict[str, Any]]:
    trail = repo_root / "examples" / "ml-account" / "trail"
    for path in sorted(trail.rglob("*_CloudTrail_*.json.gz")):
        try:
            records = json.loads(gzip.decompress(path.read_bytes()))["Records"]
        except (EOFError, OSError, ValueError):
            continue  # the example's deliberately damaged file
        yield from records


def test_example_account_arns_have_their_actions_catalog_shapes(repo_root: Path) -> None:
    """Every ARN derived for the example account fits one of its action's ARN formats,
    and only calls whose records cannot name their resource are reported."""
    catalog = load_catalog()
    seen = 0
    unknown: set[str] = set()
    for rec in _example_records(repo_root):
        res = resolve(rec)
        unknown.update(res.unknown_resource)
        for perm in res.permissions:
            seen += 1
            info = catalog.action(perm.action)
            assert info is not None, perm.action
            if perm.resource == "*" or perm.action == "iam:PassRole":
                continue
            templates = templates_of(info.service, info.resource_types)
            assert any(t.matches(perm.resource) for t in templates), (perm.action, perm.resource)
            assert ":catalog/" not in perm.resource, perm.resource
            assert not perm.resource.endswith(":workgroup/primary"), perm
    assert seen > 1000
    # Only calls whose records cannot name their resource (Athena by query id) are reported.
    assert unknown <= {"athena:GetQueryExecution", "athena:GetQueryResults"}, unknown


# ------------------------------------------------------------------ names with "/"


@pytest.mark.parametrize(
    ("source", "name", "params", "arn"),
    [
        # https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html
        # (secret names may contain /_+=.@-)
        ("secretsmanager", "GetSecretValue",
         {"secretId": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-AbCdEf"},
         f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-AbCdEf"),
        # https://docs.aws.amazon.com/AmazonECR/latest/userguide/Repositories.html (namespaces)
        ("ecr", "BatchGetImage", {"repositoryName": f"arn:aws:ecr:{REGION}:{OTHER}:repository/team/app"},
         f"arn:aws:ecr:{REGION}:{OTHER}:repository/team/app"),
        # https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html
        ("kms", "DeleteAlias", {"aliasName": "alias/team/app"}, f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/team/app"),
    ],
)
def test_resource_names_with_slashes_are_kept(source: str, name: str, params: dict[str, Any], arn: str) -> None:
    res = resolve(record(source, name, params))
    assert_granted(res, {(f"{source}:{name}", arn)})
