"""The fleet review: risky grants, ranking, unused principals, and the four renderings."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iamgen.findings import ObservedWindow
from iamgen.grants.model import GrantedPolicy, Grants, PolicyKind
from iamgen.model import Permission, Principal, PrincipalKind, Usage
from iamgen.policy import parse_policy
from iamgen.render.review import (
    render_excess_svg,
    render_review_json,
    render_review_markdown,
    render_review_text,
)
from iamgen.review import Review, Subject, is_service_linked, review, risky_grants

ACCOUNT = "111122223333"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WINDOW = ObservedWindow(first_event=T0, last_event=T0 + timedelta(days=30))


def role(name: str) -> Principal:
    return Principal(f"arn:aws:iam::{ACCOUNT}:role/{name}", PrincipalKind.ROLE)


def stmt(action: Any, resource: Any = "*", *, effect: str = "Allow", not_action: bool = False,
         not_resource: bool = False, condition: dict | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect,
                           ("NotAction" if not_action else "Action"): action,
                           ("NotResource" if not_resource else "Resource"): resource}
    if condition:
        out["Condition"] = condition
    return out


def grants_of(principal: Principal, *statements: dict[str, Any],
              boundary: list[dict[str, Any]] | None = None) -> Grants:
    policy = GrantedPolicy("p", PolicyKind.INLINE,
                           parse_policy({"Version": "2012-10-17", "Statement": list(statements)}))
    limit = None
    if boundary is not None:
        limit = GrantedPolicy("b", PolicyKind.BOUNDARY,
                              parse_policy({"Version": "2012-10-17", "Statement": boundary}))
    return Grants(principal, (policy,), limit, "test")


def codes(*statements: dict[str, Any], boundary: list[dict[str, Any]] | None = None
          ) -> set[str]:
    return {r.code for r in risky_grants(grants_of(role("R"), *statements, boundary=boundary))}


# -- risky grants ------------------------------------------------------------------


def test_everything_on_everything_is_the_worst() -> None:
    assert codes(stmt("*")) >= {"WILDCARD_ALL", "PASSROLE_ANY_ROLE", "DATA_EVERY_BUCKET",
                                "INVOKE_EVERY_MODEL"}
    assert "WILDCARD_ALL" in codes(stmt("iam:DeleteUser", not_action=True))
    worst = risky_grants(grants_of(role("R"), stmt("*")))[0]
    assert (worst.code, worst.severity) == ("WILDCARD_ALL", "critical")


def test_service_wildcard_on_every_resource_only_for_whole_services() -> None:
    assert "SERVICE_WILDCARD_ALL" in codes(stmt("glue:*"))
    assert codes(stmt(["glue:Get*", "kms:GenerateDataKey*"])) == set()
    # A whole-service wildcard scoped to resources is not "on every resource".
    assert codes(stmt("dynamodb:*", f"arn:aws:dynamodb:*:{ACCOUNT}:table/chat*")) == set()


def test_service_wildcard_whose_writes_the_boundary_blocks_is_not_risky() -> None:
    # The boundary allows only reads: every write s3:* grants is dead text.
    reads_only = [stmt(["s3:List*", "s3:Describe*"])]
    assert "SERVICE_WILDCARD_ALL" not in codes(stmt("s3:*"), boundary=reads_only)
    assert "SERVICE_WILDCARD_ALL" in codes(stmt("s3:*"), boundary=[stmt("s3:*")])


@pytest.mark.parametrize(("statements", "boundary", "absent"), [
    # a Deny of everything, or a boundary of one harmless action: no admin left
    ([stmt("*"), stmt("*", effect="Deny")], None, {"WILDCARD_ALL", "DATA_EVERY_BUCKET"}),
    ([stmt("*")], [stmt("sts:GetCallerIdentity")], {"WILDCARD_ALL", "PASSROLE_ANY_ROLE"}),
    ([stmt("iam:*", not_action=True), stmt("*", effect="Deny")], None, {"WILDCARD_ALL"}),
    # a Deny on every ARN blocks every ARN-scoped grant (a Resource of "*" is not "*")
    ([stmt("*"), stmt("*", "arn:*:*:*:*:*", effect="Deny")], None,
     {"WILDCARD_ALL", "DATA_EVERY_BUCKET", "PASSROLE_ANY_ROLE", "INVOKE_EVERY_MODEL"}),
    # the object probe is denied by a Deny on every bucket, and left out by a boundary
    ([stmt("s3:GetObject"), stmt("s3:*", "arn:aws:s3:::*", effect="Deny")], None,
     {"DATA_EVERY_BUCKET"}),
    ([stmt("s3:*")], [stmt("s3:GetObject", "arn:aws:s3:::one-bucket/*")], {"DATA_EVERY_BUCKET"}),
    # PassRole denied on every role but one
    ([stmt("iam:PassRole"), stmt("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/ok",
                                 effect="Deny", not_resource=True)], None,
     {"PASSROLE_ANY_ROLE"}),
])
def test_a_grant_a_deny_or_the_boundary_blocks_where_it_is_risky_is_not_flagged(
        statements: list[dict[str, Any]], boundary: list[dict[str, Any]] | None,
        absent: set[str]) -> None:
    assert not codes(*statements, boundary=boundary) & absent
    assert absent <= codes(*statements[:1])  # without the block, each is flagged


@pytest.mark.parametrize(("statements", "boundary", "present"), [
    # a Deny of all but IAM and S3 leaves both services whole: not admin, still risky
    ([stmt("*"), stmt(["iam:*", "s3:*"], effect="Deny", not_action=True)], None,
     {"SERVICE_WILDCARD_ALL", "PASSROLE_ANY_ROLE", "DATA_EVERY_BUCKET"}),
    ([stmt("*")], [stmt(["iam:*", "s3:*", "kms:*"])],
     {"SERVICE_WILDCARD_ALL", "PASSROLE_ANY_ROLE", "DECRYPT_EVERY_KEY"}),
    # a Deny of one service leaves every other: still every action
    ([stmt("*"), stmt("ec2:*", effect="Deny")], None, {"WILDCARD_ALL"}),
    # the boundary's "*" narrows nothing
    ([stmt("*")], [stmt("*")], {"WILDCARD_ALL"}),
    # a boundary Allow on some resources still leaves its actions open there
    ([stmt("*")], [stmt("iam:*", f"arn:aws:iam::{ACCOUNT}:*")],
     {"SERVICE_WILDCARD_ALL", "PASSROLE_ANY_ROLE"}),
    # what is left across services reaches IAM's escalation actions: every action's risk
    ([stmt("*"), stmt(["*:Create*", "*:Attach*", "*:Put*"], effect="Deny", not_action=True)],
     None, {"WILDCARD_ALL"}),
    # patterns that overlap without covering each other are both kept, never dropped
    ([stmt("*"), stmt("i*:*", effect="Deny", not_action=True),
      stmt("*am:*", effect="Deny", not_action=True)], None, {"WILDCARD_ALL"}),
    ([stmt("*"), stmt("iam:**", effect="Deny", not_action=True)], None,
     {"SERVICE_WILDCARD_ALL"}),
])
def test_what_a_deny_or_the_boundary_leaves_open_is_still_flagged(
        statements: list[dict[str, Any]], boundary: list[dict[str, Any]] | None,
        present: set[str]) -> None:
    assert present <= codes(*statements, boundary=boundary)


@pytest.mark.parametrize(("statements", "code"), [
    ([stmt("iam:Create*")], "IAM_ESCALATION"),
    ([stmt("iam:*Policy*")], "IAM_ESCALATION"),
    ([stmt(["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"])], "IAM_ESCALATION"),
    ([stmt("*"), stmt("iam:Create*", effect="Deny", not_action=True)], "IAM_ESCALATION"),
    ([stmt("kms:Decrypt"), stmt("kms:Decrypt", f"arn:aws:kms:*:{ACCOUNT}:key/*", effect="Deny")],
     "DECRYPT_EVERY_KEY"),  # other accounts' keys, trusting this one, stay open
    ([stmt("secretsmanager:GetSecretValue"),
      stmt("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:*:secret:*",
           effect="Deny")], "SECRETS_EVERY_SECRET"),  # other regions stay open
])
def test_escalation_and_what_a_narrow_deny_leaves_open(statements: list[dict[str, Any]],
                                                       code: str) -> None:
    assert code in codes(*statements)


def test_escalation_actions_on_ones_own_user_only_are_not_flagged() -> None:
    # the self-service idiom: a user manages its own keys and password
    own = f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"
    assert "IAM_ESCALATION" not in codes(
        stmt(["iam:CreateAccessKey", "iam:UpdateLoginProfile"], own))


def test_patterns_across_services_count_only_where_they_reach_escalation() -> None:
    assert "WILDCARD_ALL" in codes(stmt("*:Create*"))
    assert codes(stmt("*:Describe*")) == set()
    assert codes(stmt("*", not_action=True)) == set()  # every action but every action


def test_a_conditional_deny_or_a_deny_elsewhere_blocks_nothing() -> None:
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}
    assert "WILDCARD_ALL" in codes(stmt("*"), stmt("*", effect="Deny", condition=mfa))
    assert "DATA_EVERY_BUCKET" in codes(
        stmt("s3:GetObject"), stmt("s3:*", "arn:aws:s3:::secret-*", effect="Deny"))


@pytest.mark.parametrize(("action", "resource", "code"), [
    ("iam:*", f"arn:aws:iam::{ACCOUNT}:*", "SERVICE_WILDCARD_ALL"),  # one account is all of it
    ("secretsmanager:*", f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:*", "SERVICE_WILDCARD_ALL"),
    ("kms:Decrypt", "*", "DECRYPT_EVERY_KEY"),
    ("kms:Decrypt", f"arn:aws:kms:*:{ACCOUNT}:key/*", "DECRYPT_EVERY_KEY"),
    ("secretsmanager:GetSecretValue", "*", "SECRETS_EVERY_SECRET"),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:*",
     "SECRETS_EVERY_SECRET"),
])
def test_account_wide_grants_and_keys_and_secrets(action: str, resource: str, code: str) -> None:
    assert code in codes(stmt(action, resource))


@pytest.mark.parametrize(("action", "resource"), [
    ("secretsmanager:*", f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:app/*"),
    ("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:db-*"),
])
def test_scoped_keys_and_secrets_are_not_flagged(action: str, resource: str) -> None:
    assert codes(stmt(action, resource)) == set()


@pytest.mark.parametrize(("resource", "risky"), [
    ("*", True),
    (f"arn:aws:iam::{ACCOUNT}:role/*", True),
    ("arn:aws:iam::*:role/*", True),
    (f"arn:aws:iam::{ACCOUNT}:role/service-role/*", False),
    (f"arn:aws:iam::{ACCOUNT}:role/sagemaker-*", False),
    (f"arn:aws:iam::{ACCOUNT}:role/Trainer", False),
])
def test_passrole_on_every_role(resource: str, risky: bool) -> None:
    # PassRole lets the caller hand a role to a service; on every role it is privilege
    # escalation (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html).
    assert ("PASSROLE_ANY_ROLE" in codes(stmt("iam:PassRole", resource))) is risky


def test_passrole_with_passed_to_service_is_reported_but_not_ranked() -> None:
    condition = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    grants = grants_of(role("R"), stmt("iam:PassRole", "*", condition=condition))
    (risk,) = risky_grants(grants)
    assert risk.code == "PASSROLE_ANY_ROLE" and risk.conditional


def test_passrole_the_boundary_leaves_out_is_not_reported() -> None:
    assert codes(stmt("iam:PassRole"), boundary=[stmt("s3:GetObject")]) == set()


@pytest.mark.parametrize(("action", "resource", "risky"), [
    ("s3:GetObject", "*", True),
    ("s3:PutObject", "arn:aws:s3:::*", True),
    ("s3:Get*", "arn:aws:s3:::*/*", True),
    ("s3:GetObject", "arn:aws:s3:::ml-data/*", False),
    ("s3:GetObject", "arn:aws:s3:::ml-*/*", False),
    ("s3:ListBucket", "*", False),  # listing is not data-plane object access
])
def test_object_access_to_every_bucket(action: str, resource: str, risky: bool) -> None:
    assert ("DATA_EVERY_BUCKET" in codes(stmt(action, resource))) is risky


@pytest.mark.parametrize(("action", "resource", "risky"), [
    ("bedrock:InvokeModel", "*", True),
    ("bedrock:InvokeModel", "arn:aws:bedrock:*::foundation-model/*", True),
    ("bedrock:InvokeModelWithResponseStream", "arn:aws:bedrock:us-east-1::foundation-model/*",
     True),
    ("bedrock:InvokeModel", f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/*", True),
    ("bedrock:InvokeModel",
     "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0", False),
    ("bedrock:InvokeModel", "arn:aws:bedrock:*::foundation-model/amazon.titan-*", False),
    ("sagemaker:InvokeEndpoint", f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/*", True),
    ("sagemaker:InvokeEndpoint", f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/churn", False),
])
def test_invocation_of_every_model(action: str, resource: str, risky: bool) -> None:
    assert ("INVOKE_EVERY_MODEL" in codes(stmt(action, resource))) is risky


def test_not_resource_covers_everything_it_does_not_name() -> None:
    assert "DATA_EVERY_BUCKET" in codes(stmt("s3:GetObject", "arn:aws:s3:::secret/*",
                                             not_resource=True))
    assert "DATA_EVERY_BUCKET" not in codes(stmt("s3:GetObject", "arn:aws:s3:::*",
                                                 not_resource=True))


def test_deny_statements_are_never_risky() -> None:
    assert codes(stmt("*", effect="Deny")) == set()


# -- ranking -------------------------------------------------------------------------

BROAD, MEDIUM, NARROW, IDLE = role("Broad"), role("Medium"), role("Narrow"), role("Idle")
DATA = "arn:aws:s3:::ml-data/train/a.csv"


def use(principal: Principal, action: str, resource: str) -> Usage:
    return Usage(principal, Permission(action, resource), False, 3, T0, T0 + timedelta(days=20),
                 ("us-east-1",))


def subjects() -> list[Subject]:
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/jobs"
    return [
        Subject(BROAD, grants_of(BROAD, stmt("s3:*"), stmt("iam:PassRole")), True),
        Subject(MEDIUM, grants_of(MEDIUM, stmt(["dynamodb:GetItem", "dynamodb:PutItem",
                                                "dynamodb:Query", "dynamodb:DeleteItem"],
                                               table)), True),
        Subject(NARROW, grants_of(NARROW, stmt("s3:GetObject", "arn:aws:s3:::ml-data/*")), True),
        Subject(IDLE, grants_of(IDLE, stmt("s3:GetObject", "arn:aws:s3:::ml-data/*")), False),
    ]


USAGES = [
    use(BROAD, "s3:GetObject", DATA),
    use(MEDIUM, "dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/jobs"),
    use(NARROW, "s3:GetObject", DATA),
    # someone's write: the trail records DynamoDB's write data events, not only its reads
    use(role("Writer"), "dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/log"),
]


@pytest.fixture(scope="module")
def ranked() -> Review:
    return review(subjects(), USAGES, WINDOW)


@pytest.mark.parametrize(("resource", "linked"), [
    ("role/aws-service-role/sagemaker.amazonaws.com/AWSServiceRoleForAmazonSageMakerNotebooks",
     True),
    ("role/service-role/AmazonSageMaker-ExecutionRole-1", False),  # a service role: editable
    ("role/aws-service-role-lookalike", False),
])
def test_service_linked_roles_are_told_apart_by_their_path(resource: str, linked: bool) -> None:
    """Service-linked roles live under /aws-service-role/; IAM refuses edits to their policies.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-permissions.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html
    """
    principal = Principal(f"arn:aws:iam::{ACCOUNT}:{resource}", PrincipalKind.ROLE)
    assert is_service_linked(principal) is linked


def test_risky_first_then_share_then_count(ranked: Review) -> None:
    order = [e.principal for e in ranked.entries]
    assert order == [BROAD, IDLE, MEDIUM, NARROW]
    assert [e.rank for e in ranked.entries] == [1, 2, 3, 4]
    broad, idle, medium, narrow = ranked.entries
    assert set(broad.risk_codes) == {"SERVICE_WILDCARD_ALL", "DATA_EVERY_BUCKET",
                                     "PASSROLE_ANY_ROLE"}
    assert idle.share == 1.0 and idle.removable == 1
    assert medium.share == pytest.approx(0.75) and medium.removable == 3
    assert narrow.share == 0.0 and narrow.removable == 0


def test_never_seen_principal_with_grants_is_flagged_unused(ranked: Review) -> None:
    assert {e.principal for e in ranked.entries if e.unused} == {IDLE}


def test_ranking_does_not_depend_on_input_order() -> None:
    shuffled = subjects()
    random.Random(3).shuffle(shuffled)
    usages = list(USAGES)
    random.Random(4).shuffle(usages)
    again = review(shuffled, usages, WINDOW)
    assert [e.principal for e in again.entries] == [BROAD, IDLE, MEDIUM, NARROW]
    assert render_review_json(again, catalog_version="c", iamgen_version="v") == \
        render_review_json(review(subjects(), USAGES, WINDOW), catalog_version="c",
                           iamgen_version="v")


def test_review_never_recommends_removing_what_was_used(ranked: Review) -> None:
    for entry in ranked.entries:
        used = {f.permission.action.lower() for f in entry.result.used_granted}
        removable = {u.action.lower() for u in entry.result.unused_actions}
        assert not used & removable


# -- renderings ----------------------------------------------------------------------------


def test_json_is_the_diff_schema_one_entry_per_principal_in_rank_order(ranked: Review) -> None:
    body = json.loads(render_review_json(ranked, catalog_version="c", iamgen_version="v"))
    assert [e["principal"]["arn"] for e in body] == [BROAD.arn, IDLE.arn, MEDIUM.arn, NARROW.arn]
    for entry in body:
        assert {"principal", "window", "used_granted", "unused_granted", "used_not_granted",
                "denied", "not_observable", "proposed_policy", "summary"} <= set(entry)
    first = body[0]["review"]
    assert first["rank"] == 1 and first["unused_principal"] is False
    assert {r["code"] for r in first["risky_grants"]} == set(first["risk_codes"])
    assert body[1]["review"]["unused_principal"] is True
    assert body[1]["review"]["removed_share"] == 1.0


def test_text_table_rows_in_rank_order(ranked: Review) -> None:
    text = render_review_text(ranked)
    rows = [line.split() for line in text.splitlines() if line.strip()[:1].isdigit()
            and "role" in line.split()]
    assert [r[1] for r in rows] == ["Broad", "Idle", "Medium", "Narrow"]
    assert rows[1][3] == "UNUSED"
    assert "PASSROLE_ANY_ROLE (high): iam:PassRole on *" in text


def test_markdown_links_the_chart_and_lists_risky_grants_first(ranked: Review) -> None:
    text = render_review_markdown(ranked, chart="review-excess.svg")
    assert "![Removable share of granted actions per principal](review-excess.svg)" in text
    table = [line for line in text.splitlines() if line.startswith("| ") and "role" in line]
    assert ["`Broad`" in table[0], "**unused**" in table[1]] == [True, True]
    broad = text.index("## 1. role `Broad`")
    assert text.index("Risky grants", broad) < text.index("## 2.", broad)
    assert "![" not in render_review_markdown(ranked)


@pytest.mark.parametrize(("chart", "target"), [
    ("review-excess.svg", "review-excess.svg"),
    ("/tmp/my chart (1).svg", "</tmp/my chart (1).svg>"),
    ("a<b>.svg", "<a\\<b\\>.svg>"),
])
def test_the_chart_link_holds_any_path(ranked: Review, chart: str, target: str) -> None:
    text = render_review_markdown(ranked, chart=chart)
    assert f"![Removable share of granted actions per principal]({target})" in text


def test_svg_chart_has_one_bar_per_principal_scaled_by_share(ranked: Review) -> None:
    svg = render_excess_svg(ranked)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for r in root.iter(f"{ns}rect") if r.find(f"{ns}title") is not None]
    assert [b.find(f"{ns}title").text for b in bars] == [BROAD.arn, IDLE.arn, MEDIUM.arn,
                                                        NARROW.arn]
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] == max(widths) and widths[3] == 0.0
    assert widths[2] == pytest.approx(widths[1] * 0.75)
    colors = [b.get("fill") for b in bars]
    assert colors[0] != colors[1] != colors[2]  # risky, unused, plain


@pytest.mark.parametrize(("action", "resource", "code"), [
    ("*:*", "*", "WILDCARD_ALL"),  # every action of every service, as "*"
    ("*", "arn:aws:*:*:*:*", "WILDCARD_ALL"),  # every resource spelled as an ARN
    ("s3:*", "arn:aws:s3:::*", "SERVICE_WILDCARD_ALL"),  # every bucket and object
    ("iam:*", "arn:aws:iam::*:*", "SERVICE_WILDCARD_ALL"),
    ("S3:*", "arn:aws:s3:::*", "SERVICE_WILDCARD_ALL"),  # action prefixes ignore case
])
def test_wildcards_spelled_otherwise_are_the_same_risk(action: str, resource: str,
                                                       code: str) -> None:
    assert code in codes(stmt(action, resource))


def test_an_empty_account_matches_no_iam_arn() -> None:
    assert "SERVICE_WILDCARD_ALL" not in codes(stmt("iam:*", "arn:aws:iam:::*"))


@pytest.mark.parametrize(("action", "resource", "flagged"), [
    ("route53:*", "arn:aws:*::*:*", True),  # every service's ARNs: route53's too
    ("ec2:*", "arn:aws:ec2:::*", False),  # no EC2 ARN has no region and no account
    ("ec2:*", "arn:aws:ec2:*::*", False),  # only AMIs and snapshots have no account
    ("S3:*", "arn:aws:S3:::*", False),  # an ARN's service is lower case: this matches none
])
def test_every_resource_is_judged_by_the_services_arn_formats(action: str, resource: str,
                                                              flagged: bool) -> None:
    assert ("SERVICE_WILDCARD_ALL" in codes(stmt(action, resource))) is flagged
