"""resolve() never raises, whatever the record looks like, and is deterministic."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from iamgen.catalog import load_catalog
from iamgen.mapping.resolve import resolve
from iamgen.model import Resolution

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
names = st.sampled_from(
    ["GetObject", "CopyObject", "Converse", "ReEncrypt", "TransactWriteItems", "ExecuteStatement",
     "BatchGetSecretValue", "CreateFunction20150331", "CreateTrainingJob", "Decrypt", "GetResource",
     "DeleteObjects", "AssumeRole", "Nope"]
)
sources = st.sampled_from(
    ["s3.amazonaws.com", "bedrock.amazonaws.com", "kms.amazonaws.com", "dynamodb.amazonaws.com",
     "secretsmanager.amazonaws.com", "lambda.amazonaws.com", "sagemaker.amazonaws.com",
     "apigateway.amazonaws.com", "sts.amazonaws.com", "weird"]
)
records = st.fixed_dictionaries(
    {"eventSource": sources | json_values, "eventName": names | json_values},
    optional={
        "requestParameters": json_values,
        "responseElements": json_values,
        "resources": json_values,
        "userIdentity": json_values,
        "awsRegion": json_values,
        "recipientAccountId": json_values,
        "eventType": json_values,
    },
)
params_like = st.dictionaries(
    st.sampled_from(["bucketName", "key", "modelId", "statement", "requestItems", "secretIdList",
                     "x-amz-copy-source", "roleArn", "functionName", "filters", "keyId", "restApiId"]),
    json_values,
    max_size=5,
)


@given(records)
def test_resolve_never_raises_on_arbitrary_json(record: dict[str, Any]) -> None:
    assert isinstance(resolve(record), Resolution)


@given(sources, names, params_like)
def test_resolve_is_total_and_in_catalog_on_odd_parameters(source: str, name: str, params: dict[str, Any]) -> None:
    record = {"eventSource": source, "eventName": name, "requestParameters": params,
              "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
              "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/R/s"}}
    first = resolve(record)
    assert first == resolve(record)
    catalog = load_catalog()
    for perm in first.permissions:
        assert catalog.has_action(perm.action)
        assert perm.resource == "*" or perm.resource.startswith("arn:")
    assert not (first.permissions and (first.unresolved or first.no_grant))


def test_non_mapping_inputs() -> None:
    for value in (None, 3, "text", [], [{"eventName": "GetObject"}]):
        assert resolve(value).unresolved  # type: ignore[arg-type]
