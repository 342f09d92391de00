"""Names of rendered policies: valid for Terraform, CloudFormation and IAM, and unique."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamgen.errors import UsageError
from iamgen.render.names import (
    check_name,
    cloudformation_logical_id,
    document_stem,
    iam_policy_name,
    terraform_label,
)

# Terraform: "A name must start with a letter or underscore and may contain only
# letters, digits, underscores, and dashes."
# https://developer.hashicorp.com/terraform/language/resources/syntax
TERRAFORM_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# CloudFormation: "The logical ID must be alphanumeric (A-Za-z0-9) and unique within
# the template." https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resources-section-structure.html
LOGICAL_ID = re.compile(r"[A-Za-z][A-Za-z0-9]{0,254}")
# IAM CreatePolicy PolicyName: pattern [\w+=,.@-]+, length 1-128.
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html
IAM_POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)

# Role and user names: up to 64 of [\w+=,.@-].
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
iam_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-",
    min_size=1,
    max_size=64,
).filter(lambda s: s not in (".", ".."))


@pytest.mark.parametrize(
    "name",
    ["SageMakerTrainingRole", "my-role", "My.Role+x", "svc@team=1,2", "9lives", "_", "a" * 64],
)
def test_names_are_valid_for_each_tool(name: str) -> None:
    check_name(name)
    for index in (1, 2, 17):
        stem = document_stem(name, index)
        assert TERRAFORM_LABEL.fullmatch(terraform_label(stem))
        assert LOGICAL_ID.fullmatch(cloudformation_logical_id(name, index))
        assert IAM_POLICY_NAME.fullmatch(iam_policy_name(stem))


def test_plain_names_are_kept_readable() -> None:
    assert terraform_label("SageMakerTrainingRole") == "SageMakerTrainingRole"
    assert terraform_label("deploy-pipeline_role") == "deploy-pipeline_role"
    assert cloudformation_logical_id("sagemaker-training-role", 1) == "SagemakerTrainingRolePolicy"
    assert cloudformation_logical_id("sagemaker-training-role", 3) == "SagemakerTrainingRolePolicy3"
    assert iam_policy_name("deploy.2") == "iamgen-deploy.2"


def test_changed_labels_carry_a_hash_so_they_stay_apart() -> None:
    # "a.b" and "a_b" are different roles; both cannot become the label "a_b".
    assert terraform_label("a_b") == "a_b"
    assert terraform_label("a.b") != "a_b"
    assert terraform_label("a.b").startswith("a_b_")
    # The second document of role "x" is not the first of a role named "x_2".
    assert terraform_label(document_stem("x", 2)) != terraform_label("x_2")


@given(st.lists(iam_names, min_size=2, max_size=6, unique=True), st.integers(1, 4))
def test_labels_and_policy_names_are_unique_across_principals(names: list[str], docs: int) -> None:
    stems = {document_stem(n, i) for n in names for i in range(1, docs + 1)}
    labels = {terraform_label(s) for s in stems}
    policy_names = {iam_policy_name(s) for s in stems}
    assert len(labels) == len(stems)
    assert len(policy_names) == len(stems)
    assert all(TERRAFORM_LABEL.fullmatch(label) for label in labels)
    assert all(IAM_POLICY_NAME.fullmatch(p) for p in policy_names)


@given(iam_names, st.integers(1, 30))
def test_logical_ids_are_unique_within_a_template(name: str, docs: int) -> None:
    ids = [cloudformation_logical_id(name, i) for i in range(1, docs + 1)]
    assert len(set(ids)) == docs
    assert all(LOGICAL_ID.fullmatch(i) for i in ids)


def test_long_names_are_shortened_to_iam_limit_and_stay_distinct() -> None:
    long_a, long_b = "r" * 125 + "a", "r" * 125 + "b"
    names = {iam_policy_name(long_a), iam_policy_name(long_b)}
    assert len(names) == 2
    assert all(len(n) <= 128 and IAM_POLICY_NAME.fullmatch(n) for n in names)


@pytest.mark.parametrize(
    "bad", ["", "a/b", "../x", "..", "role name", "r\u00f4le", "x" * 129, "a\nb"]
)
def test_unsafe_file_names_are_refused(bad: str) -> None:
    with pytest.raises(UsageError):
        check_name(bad)
