"""The evaluator against the rules and examples of the IAM User Guide.

Each test names the documentation page its rule or example comes from.
"""

from __future__ import annotations

from typing import Any

import pytest

import iamgen.grants.evaluate as evaluation
from iamgen.grants.evaluate import (
    Decision,
    NamedPolicy,
    Request,
    allows,
    condition_holds,
    evaluate,
)
from iamgen.model import Condition, PolicyDocument, Statement
from iamgen.policy import parse_policy

DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
EVALUATION_LOGIC = DOCS + "reference_policies_evaluation-logic.html"
BOUNDARIES = DOCS + "access_policies_boundaries.html"
ACTION = DOCS + "reference_policies_elements_action.html"
NOT_ACTION = DOCS + "reference_policies_elements_notaction.html"
RESOURCE = DOCS + "reference_policies_elements_resource.html"
NOT_RESOURCE = DOCS + "reference_policies_elements_notresource.html"
OPERATORS = DOCS + "reference_policies_elements_condition_operators.html"
MULTI_VALUE = DOCS + "reference_policies_multi-value-conditions.html"
VARIABLES = DOCS + "reference_policies_variables.html"


def policy(*statements: dict[str, Any], version: str = "2012-10-17") -> PolicyDocument:
    return parse_policy({"Version": version, "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def cond(operator: str, key: str, *values: str) -> Condition:
    return Condition(operator, key, values)


# --- evaluation logic: EVALUATION_LOGIC ---------------------------------------


def test_no_statement_matches_is_an_implicit_deny() -> None:
    # EVALUATION_LOGIC: "By default, all requests are implicitly denied".
    result = evaluate([policy(allow("s3:GetObject"))], Request("s3:PutObject", "arn:aws:s3:::b/k"))
    assert result.decision is Decision.IMPLICIT_DENY
    assert result.matched == ()


def test_no_policies_at_all_is_an_implicit_deny() -> None:
    # EVALUATION_LOGIC: default deny.
    assert evaluate([], Request("s3:GetObject", "arn:aws:s3:::b/k")).decision is (
        Decision.IMPLICIT_DENY
    )


def test_explicit_deny_overrides_any_allow() -> None:
    # EVALUATION_LOGIC: "An explicit deny in any policy overrides any allows".
    grants = [
        NamedPolicy("wide", policy(allow("s3:*"))),
        NamedPolicy("guard", policy(deny("s3:DeleteObject", "arn:aws:s3:::prod/*"))),
    ]
    result = evaluate(grants, Request("s3:DeleteObject", "arn:aws:s3:::prod/x"))
    assert result.decision is Decision.EXPLICIT_DENY
    assert [(r.policy, r.effect) for r in result.matched] == [("wide", "Allow"), ("guard", "Deny")]
    other = evaluate(grants, Request("s3:DeleteObject", "arn:aws:s3:::dev/x"))
    assert other.decision is Decision.ALLOW
    assert [(r.policy, r.index) for r in other.granting] == [("wide", 0)]


def test_allow_names_policy_statement_and_sid() -> None:
    # EVALUATION_LOGIC: an allow in an identity-based policy grants the request.
    doc = policy(
        {"Sid": "Read", **allow("s3:GetObject", "arn:aws:s3:::b/*")},
        {"Sid": "List", **allow("s3:ListBucket", "arn:aws:s3:::b")},
    )
    result = evaluate([NamedPolicy("app", doc)], Request("s3:ListBucket", "arn:aws:s3:::b"))
    assert result.decision is Decision.ALLOW
    (ref,) = result.granting
    assert (ref.policy, ref.index, ref.sid) == ("app", 1, "List")


def test_unnamed_documents_get_positional_names() -> None:
    result = evaluate([policy(allow("s3:GetObject"))] * 2, Request("s3:GetObject", "*"))
    assert [r.policy for r in result.granting] == ["policy-1", "policy-2"]


# --- permissions boundaries: BOUNDARIES ----------------------------------------


def test_boundary_is_an_intersection() -> None:
    # BOUNDARIES: the boundary allows s3:*, cloudwatch:* and ec2:*; an identity
    # policy granting iam:CreateUser does not let the user create users.
    boundary = policy(allow(["s3:*", "cloudwatch:*", "ec2:*"]))
    identity = policy(allow("iam:CreateUser", "arn:aws:iam::111122223333:user/*"), allow("s3:*"))
    request = Request("iam:CreateUser", "arn:aws:iam::111122223333:user/Bob")
    assert evaluate([identity], request).decision is Decision.ALLOW
    assert evaluate([identity], request, boundary).decision is Decision.IMPLICIT_DENY
    s3 = Request("s3:GetObject", "arn:aws:s3:::b/k")
    assert evaluate([identity], s3, boundary).decision is Decision.ALLOW


def test_boundary_alone_grants_nothing() -> None:
    # BOUNDARIES: "A permissions boundary does not grant permissions on its own."
    boundary = policy(allow("s3:*"))
    assert evaluate([], Request("s3:GetObject", "*"), boundary).decision is Decision.IMPLICIT_DENY


def test_deny_in_boundary_is_explicit() -> None:
    # BOUNDARIES / EVALUATION_LOGIC: an explicit deny in any applicable policy wins.
    boundary = policy(allow("*"), deny("s3:DeleteBucket"))
    result = evaluate(
        [policy(allow("s3:*"))], Request("s3:DeleteBucket", "arn:aws:s3:::b"), boundary
    )
    assert result.decision is Decision.EXPLICIT_DENY
    assert any(r.boundary and r.effect == "Deny" for r in result.matched)


def test_boundary_with_unknown_condition_makes_an_allow_unknown() -> None:
    boundary = policy(
        allow("s3:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})
    )
    result = evaluate([policy(allow("s3:*"))], Request("s3:GetObject", "*"), boundary)
    assert result.decision is Decision.UNKNOWN
    assert (
        evaluate(
            [policy(allow("s3:*"))],
            Request("s3:GetObject", "*", {"aws:RequestedRegion": ("eu-west-1",)}),
            boundary,
        ).decision
        is Decision.ALLOW
    )


# --- Action / NotAction: ACTION, NOT_ACTION ------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:GetObject", "S3:getobject", True),  # ACTION: names are case-insensitive
        ("iam:*AccessKey*", "iam:CreateAccessKey", True),  # ACTION: wildcard example
        ("iam:*AccessKey*", "iam:ListAccessKeys", True),
        ("iam:*AccessKey*", "iam:CreateUser", False),
        ("s3:Get*", "s3:GetObjectAcl", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:?etObject", "s3:GetObject", True),  # ? matches exactly one character
        ("s3:?etObject", "s3:GGetObject", False),
        ("*", "kms:Decrypt", True),
        ("s3:*", "s3express:CreateSession", False),  # the prefix is a whole service
    ],
)
def test_action_matching(pattern: str, action: str, expected: bool) -> None:
    assert allows(policy(allow(pattern)), action) is expected


def test_allow_with_not_action_allows_everything_else() -> None:
    # NOT_ACTION: "Allow" + "NotAction": "iam:*" on "*" allows all but IAM actions.
    doc = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert allows(doc, "s3:GetObject", "arn:aws:s3:::b/k") is True
    assert allows(doc, "IAM:CreateUser", "arn:aws:iam::1:user/x") is False


def test_deny_with_not_action_denies_everything_else() -> None:
    # NOT_ACTION: Deny with NotAction denies every action not listed.
    doc = policy(allow("*"), {"Effect": "Deny", "NotAction": ["s3:*", "kms:*"], "Resource": "*"})
    assert allows(doc, "kms:Decrypt", "*") is True
    assert evaluate([doc], Request("ec2:RunInstances", "*")).decision is Decision.EXPLICIT_DENY


# --- Resource / NotResource: RESOURCE, NOT_RESOURCE -----------------------------


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("arn:aws:iam::123456789012:user/*", "arn:aws:iam::123456789012:user/Bob", True),
        # RESOURCE: ARNs are case-sensitive.
        ("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/a", False),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c", True),
        # RESOURCE: wildcards do not span ARN segments (each part is matched alone).
        ("arn:aws:s3:::*", "arn:aws:lambda:us-east-1:1:function:f", False),
        ("arn:aws:dynamodb:*:*:table/T", "arn:aws:dynamodb:eu-west-1:111122223333:table/T", True),
        (
            "arn:aws:dynamodb:us-*:*:table/T",
            "arn:aws:dynamodb:eu-west-1:111122223333:table/T",
            False,
        ),
        (
            "arn:aws:secretsmanager:*:*:secret:db-??????",
            "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf",
            True,
        ),
        (
            "arn:aws:secretsmanager:*:*:secret:db-??????",
            "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdE",
            False,
        ),
        ("*", "arn:aws:kms:us-east-1:1:key/k", True),
    ],
)
def test_resource_matching(pattern: str, arn: str, expected: bool) -> None:
    assert allows(policy(allow("s3:GetObject", pattern)), "s3:GetObject", arn) is expected


def test_a_specific_resource_does_not_grant_a_request_for_any_resource() -> None:
    # RESOURCE: an action that takes no resource needs "*".
    doc = policy(allow("ecr:GetAuthorizationToken", "arn:aws:ecr:us-east-1:1:repository/r"))
    assert allows(doc, "ecr:GetAuthorizationToken", "*") is False


def test_not_resource_allows_everything_but_the_listed() -> None:
    # NOT_RESOURCE: Allow s3:* on everything except one bucket's objects.
    doc = policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::HRBucket/*"})
    assert allows(doc, "s3:GetObject", "arn:aws:s3:::Other/x") is True
    assert allows(doc, "s3:GetObject", "arn:aws:s3:::HRBucket/payroll") is False


def test_statement_without_resource_matches_nothing() -> None:
    doc = PolicyDocument(statements=(Statement(effect="Allow", actions=("s3:*",)),))
    assert allows(doc, "s3:GetObject", "arn:aws:s3:::b/k") is False


# --- condition operators: OPERATORS ------------------------------------------


@pytest.mark.parametrize(
    ("operator", "key", "value", "seen", "expected"),
    [
        # OPERATORS, string operators: StringEquals is case-sensitive ...
        ("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin",
         "iamuser-admin", True),
        ("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin",
         "IAMUser-Admin", False),
        # ... StringEqualsIgnoreCase is not.
        ("StringEqualsIgnoreCase", "aws:PrincipalTag/job-category", "iamuser-admin",
         "IAMUser-Admin", True),
        ("StringNotEquals", "aws:RequestedRegion", "us-east-1",
         "eu-west-1", True),
        ("StringNotEqualsIgnoreCase", "aws:RequestedRegion", "US-EAST-1",
         "us-east-1", False),
        # StringLike takes * and ? wildcards; StringEquals does not.
        ("StringLike", "s3:prefix", "home/*",
         "home/alice/x", True),
        ("StringEquals", "s3:prefix", "home/*",
         "home/alice/x", False),
        ("StringNotLike", "s3:prefix", "home/*",
         "tmp/x", True),
        # Numeric operators.
        ("NumericLessThanEquals", "s3:max-keys", "10",
         "10", True),
        ("NumericLessThanEquals", "s3:max-keys", "10",
         "11", False),
        ("NumericLessThan", "s3:max-keys", "10",
         "10", False),
        ("NumericGreaterThan", "s3:max-keys", "10",
         "10.5", True),
        ("NumericGreaterThanEquals", "s3:max-keys", "10",
         "9", False),
        ("NumericEquals", "s3:max-keys", "10",
         "10.0", True),
        ("NumericNotEquals", "s3:max-keys", "10",
         "10", False),
        ("NumericEquals", "s3:max-keys", "10",
         "ten", False),
        # Date operators take ISO 8601 dates and epoch seconds.
        ("DateGreaterThan", "aws:TokenIssueTime", "2020-01-01T00:00:01Z",
         "2021-06-01T00:00:00Z", True),
        ("DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z",
         "2021-06-01T00:00:00Z", False),
        ("DateLessThanEquals", "aws:EpochTime", "1577836800",
         "2020-01-01T00:00:00Z", True),
        ("DateEquals", "aws:CurrentTime", "2020-01-01",
         "2020-01-01T00:00:00+00:00", True),
        ("DateNotEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z",
         "2020-01-01T00:00:00Z", False),
        ("DateGreaterThanEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z",
         "2019-12-31T23:59:59Z", False),
        # Bool.
        ("Bool", "aws:SecureTransport", "true",
         "true", True),
        ("Bool", "aws:SecureTransport", "false",
         "true", False),
        ("Bool", "aws:MultiFactorAuthPresent", "true",
         "TRUE", True),
        # BinaryEquals compares the base-64 text.
        ("BinaryEquals", "key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==",
         "QmluYXJ5VmFsdWVJbkJhc2U2NA==", True),
        # IP address operators take CIDR blocks, IPv4 and IPv6.
        ("IpAddress", "aws:SourceIp", "203.0.113.0/24",
         "203.0.113.7", True),
        ("IpAddress", "aws:SourceIp", "203.0.113.0/24",
         "198.51.100.1", False),
        ("IpAddress", "aws:SourceIp", "2001:DB8:1234:5678::/64",
         "2001:db8:1234:5678::1", True),
        ("IpAddress", "aws:SourceIp", "203.0.113.0/24",
         "2001:db8::1", False),
        ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24",
         "198.51.100.1", True),
        # ARN operators: case-sensitive, wildcards per ARN part.
        ("ArnLike", "aws:SourceArn", "arn:aws:sns:*:123456789012:*",
         "arn:aws:sns:us-east-1:123456789012:topic", True),
        ("ArnEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic",
         "arn:aws:sns:us-east-1:123456789012:Topic", False),
        ("ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:123456789012:*",
         "arn:aws:sns:us-east-1:999999999999:topic", True),
        ("ArnNotEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:1:t",
         "arn:aws:sns:us-east-1:1:t", False),
    ],
)
def test_condition_operators(operator: str, key: str, value: str, seen: str,
                             expected: bool) -> None:
    """The condition ``key`` ``operator`` ``value`` on a request whose ``key`` is ``seen``."""
    request = Request("s3:GetObject", "*", {key: (seen,)})
    assert condition_holds(cond(operator, key, value), request) is expected


def test_condition_key_names_are_case_insensitive() -> None:
    condition = cond("StringEquals", "AWS:RequestedRegion", "us-east-1")
    request = Request("s3:GetObject", "*", {"aws:requestedregion": ("us-east-1",)})
    assert condition_holds(condition, request) is True


def test_several_values_of_one_key_are_ored() -> None:
    # MULTI_VALUE: "values are evaluated using a logical OR".
    c = cond("StringEquals", "aws:RequestedRegion", "us-east-1", "eu-west-1")
    assert condition_holds(c, Request("x:Y", "*", {"aws:RequestedRegion": ("eu-west-1",)})) is True


def test_several_values_of_a_negated_operator_are_nored() -> None:
    # MULTI_VALUE: a negated operator's values are evaluated using a logical NOR.
    c = cond("StringNotEquals", "aws:RequestedRegion", "us-east-1", "eu-west-1")
    assert condition_holds(c, Request("x:Y", "*", {"aws:RequestedRegion": ("eu-west-1",)})) is False
    assert condition_holds(c, Request("x:Y", "*", {"aws:RequestedRegion": ("ap-south-1",)})) is True


def test_operators_and_keys_are_anded() -> None:
    # MULTI_VALUE: several operators, and several keys under one operator, are ANDed.
    doc = policy(
        allow(
            "s3:GetObject",
            Condition={
                "StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": "1"},
                "Bool": {"aws:SecureTransport": "true"},
            },
        )
    )
    full = {
        "aws:RequestedRegion": "us-east-1",
        "aws:PrincipalAccount": "1",
        "aws:SecureTransport": "true",
    }
    assert allows(doc, "s3:GetObject", "*", full) is True
    assert allows(doc, "s3:GetObject", "*", {**full, "aws:SecureTransport": "false"}) is False
    assert allows(doc, "s3:GetObject", "*", {**full, "aws:PrincipalAccount": "2"}) is False


# --- absent and unknown keys: OPERATORS ("Important" box), MULTI_VALUE -------


def test_absent_key_makes_positive_operators_false_and_negated_true() -> None:
    # OPERATORS: "If the key ... is not present in the request context, the values do
    # not match and the condition is false. If the policy condition requires that the key
    # is not matched, such as StringNotLike or ArnNotLike, ... the condition is true."
    absent = Request("s3:GetObject", "*", complete=True)
    assert condition_holds(cond("StringEquals", "aws:PrincipalTag/team", "ml"), absent) is False
    assert condition_holds(cond("StringNotLike", "aws:PrincipalTag/team", "ml"), absent) is True
    assert condition_holds(cond("ArnNotLike", "aws:SourceArn", "arn:*"), absent) is True
    assert condition_holds(cond("NumericLessThan", "s3:max-keys", "5"), absent) is False


def test_if_exists_is_true_when_the_key_is_absent() -> None:
    # OPERATORS, ...IfExists: "If the policy key is present in the context of the request,
    # process the key as specified in the policy. If the key is not present, evaluate the
    # condition element as true." Example: StringLikeIfExists ec2:InstanceType t1.*.
    c = cond("StringLikeIfExists", "ec2:InstanceType", "t1.*", "t2.*", "m3.*")
    assert (
        condition_holds(c, Request("ec2:RunInstances", "*", absent=frozenset({"ec2:InstanceType"})))
        is True
    )
    present = Request("ec2:RunInstances", "*", {"ec2:InstanceType": ("m5.large",)})
    assert condition_holds(c, present) is False
    assert condition_holds(c, Request("ec2:RunInstances", "*", {"ec2:InstanceType": ("t2.micro",)}))


def test_null_checks_presence() -> None:
    # OPERATORS, Null: "true" means the key must be absent; "false", present.
    temporary = cond("Null", "aws:TokenIssueTime", "true")
    assert condition_holds(temporary, Request("x:Y", "*", complete=True)) is True
    assert (
        condition_holds(temporary, Request("x:Y", "*", {"aws:TokenIssueTime": ("2020",)})) is False
    )
    assert (
        condition_holds(
            cond("Null", "aws:TokenIssueTime", "false"),
            Request("x:Y", "*", {"aws:TokenIssueTime": ("2020",)}),
        )
        is True
    )


@pytest.mark.parametrize(
    "operator",
    [
        "StringEquals",
        "StringNotEquals",
        "StringLikeIfExists",
        "Null",
        "Bool",
        "ForAllValues:StringEquals",
        "ForAnyValue:StringLike",
        "IpAddress",
        "ArnLike",
    ],
)
def test_unknown_key_gives_unknown_never_a_silent_answer(operator: str) -> None:
    c = cond(operator, "aws:PrincipalTag/team", "true")
    assert condition_holds(c, Request("s3:GetObject", "*")) is None


def test_unknown_condition_makes_the_decision_unknown_and_names_the_statement() -> None:
    doc = policy(
        {
            "Sid": "Pass",
            **allow(
                "iam:PassRole",
                "arn:aws:iam::1:role/*",
                Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
        }
    )
    result = evaluate([NamedPolicy("p", doc)], Request("iam:PassRole", "arn:aws:iam::1:role/r"))
    assert result.decision is Decision.UNKNOWN
    assert [r.sid for r in result.undecided] == ["Pass"]
    assert result.allowed is None


def test_unknown_deny_makes_a_certain_allow_unknown_but_not_a_certain_deny() -> None:
    doc = policy(
        allow("s3:GetObject"), deny("s3:*", Condition={"Bool": {"aws:SecureTransport": "false"}})
    )
    assert allows(doc, "s3:GetObject") is None
    assert allows(doc, "s3:PutObject") is False  # denied whichever way the deny goes
    assert allows(doc, "s3:GetObject", context={"aws:SecureTransport": "true"}) is True
    assert (
        evaluate([doc], Request("s3:GetObject", "*", {"aws:SecureTransport": ("false",)})).decision
        is Decision.EXPLICIT_DENY
    )


def test_unknown_operator_is_unknown() -> None:
    c = cond("StringSoundsLike", "aws:username", "bob")
    assert condition_holds(c, Request("x:Y", "*", {"aws:username": ("bob",)})) is None


# --- set operators: MULTI_VALUE --------------------------------------------------


def test_for_all_values_requires_every_request_value_in_the_policy_set() -> None:
    # MULTI_VALUE example: ForAllValues:StringEquals aws:TagKeys [environment, cost-center].
    c = cond("ForAllValues:StringEquals", "aws:TagKeys", "environment", "cost-center")
    ok = Request("ec2:CreateTags", "*", {"aws:TagKeys": ("environment",)})
    extra = Request("ec2:CreateTags", "*", {"aws:TagKeys": ("environment", "owner")})
    assert condition_holds(c, ok) is True
    assert condition_holds(c, extra) is False


def test_for_all_values_is_true_without_the_key() -> None:
    # MULTI_VALUE: ForAllValues "also returns true if there are no context keys in the
    # request"; ForAnyValue returns false then.
    none = Request("ec2:CreateTags", "*", complete=True)
    assert condition_holds(cond("ForAllValues:StringEquals", "aws:TagKeys", "a"), none) is True
    assert condition_holds(cond("ForAnyValue:StringEquals", "aws:TagKeys", "a"), none) is False


def test_for_any_value_needs_one_match() -> None:
    # MULTI_VALUE: ForAnyValue returns true if at least one request value matches.
    c = cond("ForAnyValue:StringLike", "aws:TagKeys", "env*")
    assert (
        condition_holds(c, Request("x:Y", "*", {"aws:TagKeys": ("owner", "environment")})) is True
    )
    assert condition_holds(c, Request("x:Y", "*", {"aws:TagKeys": ("owner",)})) is False


def test_negated_set_operators() -> None:
    # MULTI_VALUE: ForAllValues:StringNotEquals holds when no request value is listed.
    c = cond("ForAllValues:StringNotEquals", "aws:TagKeys", "secret")
    assert condition_holds(c, Request("x:Y", "*", {"aws:TagKeys": ("a", "b")})) is True
    assert condition_holds(c, Request("x:Y", "*", {"aws:TagKeys": ("a", "secret")})) is False
    any_not = cond("ForAnyValue:StringNotEquals", "aws:TagKeys", "secret")
    assert condition_holds(any_not, Request("x:Y", "*", {"aws:TagKeys": ("a", "secret")})) is True


# --- policy variables: VARIABLES ---------------------------------------------------


HOME = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/home/${aws:username}/*"))


def test_variable_in_resource_resolves_from_context() -> None:
    # VARIABLES: "${aws:username}" is replaced with the requester's user name.
    key = "arn:aws:s3:::bucket/home/alice/notes.txt"
    assert allows(HOME, "s3:GetObject", key, {"aws:username": "alice"}) is True
    assert allows(HOME, "s3:GetObject", key, {"aws:username": "bob"}) is False


def test_variable_unknown_in_context_is_unknown_unless_it_cannot_match() -> None:
    assert allows(HOME, "s3:GetObject", "arn:aws:s3:::bucket/home/alice/notes.txt") is None
    # Whatever the user name, this resource is outside bucket/home/.
    assert allows(HOME, "s3:GetObject", "arn:aws:s3:::other/home/alice/x") is False


def test_variable_known_absent_matches_nothing_unless_defaulted() -> None:
    # VARIABLES, "Policy variables with no value" and "Specifying default values".
    key = "arn:aws:s3:::bucket/home/alice/x"
    assert allows(HOME, "s3:GetObject", key, complete=True) is False
    defaulted = policy(
        allow("s3:GetObject", "arn:aws:s3:::bucket/home/${aws:username, 'shared'}/*")
    )
    assert (
        allows(defaulted, "s3:GetObject", "arn:aws:s3:::bucket/home/shared/x", complete=True)
        is True
    )
    assert (
        allows(
            defaulted,
            "s3:GetObject",
            "arn:aws:s3:::bucket/home/shared/x",
            {"aws:username": "alice"},
        )
        is False
    )


def test_special_character_variables_are_literals() -> None:
    # VARIABLES, "Special characters": ${*}, ${?} and ${$} stand for the literal characters.
    doc = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/star${*}"))
    assert allows(doc, "s3:GetObject", "arn:aws:s3:::bucket/star*", complete=True) is True
    assert allows(doc, "s3:GetObject", "arn:aws:s3:::bucket/starry", complete=True) is False


def test_variables_need_policy_version_2012_10_17() -> None:
    # VARIABLES: variables were introduced in version 2012-10-17; in older policies the
    # text is literal.
    old = policy(
        allow("s3:GetObject", "arn:aws:s3:::bucket/home/${aws:username}/*"), version="2008-10-17"
    )
    assert (
        allows(old, "s3:GetObject", "arn:aws:s3:::bucket/home/alice/x", {"aws:username": "alice"})
        is False
    )
    assert allows(old, "s3:GetObject", "arn:aws:s3:::bucket/home/${aws:username}/x") is True


def test_variable_in_condition_value() -> None:
    # VARIABLES: variables may be used in condition values of string and ARN operators.
    c = cond("StringEquals", "aws:ResourceAccount", "${aws:PrincipalAccount}")
    same = Request(
        "s3express:CreateSession",
        "*",
        {"aws:ResourceAccount": ("111122223333",), "aws:PrincipalAccount": ("111122223333",)},
    )
    other = Request(
        "s3express:CreateSession",
        "*",
        {"aws:ResourceAccount": ("111122223333",), "aws:PrincipalAccount": ("999",)},
    )
    unknown = Request("s3express:CreateSession", "*", {"aws:ResourceAccount": ("111122223333",)})
    assert condition_holds(c, same) is True
    assert condition_holds(c, other) is False
    assert condition_holds(c, unknown) is None


# --- the per-document action index ---------------------------------------------


def test_the_action_index_answers_as_each_statement_does() -> None:
    parsed = policy(allow("s3:Get*"), allow(["kms:Decrypt", "s3:PutObject"]),
                    {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"})
    # A statement with neither Action nor NotAction (parsing refuses one) covers nothing.
    doc = PolicyDocument((*parsed.statements, Statement(resources=("*",))), parsed.version)
    index = evaluation._ActionIndex()
    for action in ("s3:GetObject", "S3:getobject", "s3:PutObject", "kms:Decrypt",
                   "ec2:RunInstances"):
        expected = tuple(i for i, s in enumerate(doc.statements)
                         if evaluation.statement_applies(s, Request(action)) is not False)
        assert index.statements(doc, action) == expected
        assert index.statements(doc, action) == expected  # and again, as kept


def test_the_action_index_never_answers_for_another_document_of_the_same_id() -> None:
    first, second = policy(allow("s3:GetObject")), policy(allow("kms:Decrypt"))
    index = evaluation._ActionIndex()
    # As if ``first`` had been freed and ``second`` given its id.
    index._kept[id(second)] = (first, {"kms:Decrypt": ()})
    assert index.statements(second, "kms:Decrypt") == (0,)
    assert evaluate([second], Request("kms:Decrypt")).decision is Decision.ALLOW


def test_the_action_index_forgets_past_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluation._ActionIndex, "_LIMIT", 2)
    index = evaluation._ActionIndex()
    docs = [policy(allow(f"s3:Get{n}")) for n in range(5)]
    for n, doc in enumerate(docs):
        assert index.statements(doc, f"s3:Get{n}") == (0,)
        assert len(index._kept) <= 2
    assert index.statements(docs[0], "s3:Get1") == ()
