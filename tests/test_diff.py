"""``iamgen.diff``: grants against observed use, on hand-built examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from iamgen.catalog import load_catalog
from iamgen.diff import diff, request_of
from iamgen.findings import ObservedWindow, finding_catalog
from iamgen.grants.evaluate import Decision, Request, evaluate
from iamgen.grants.load import parse_document
from iamgen.grants.model import GrantedPolicy, Grants, PolicyKind
from iamgen.model import Condition, Permission, Principal, PrincipalKind, Usage
from iamgen.synth import SynthSettings, synthesize
from iamgen.synth.settings import Generalization
from tests.grant_policies import ACCOUNT, BOUNDARY, SAGEMAKER_BROAD, TRAINING_DATA_INLINE
from tests.strategies import permissions

ROLE = Principal(f"arn:aws:iam::{ACCOUNT}:role/service-role/Trainer", PrincipalKind.ROLE)
OTHER = Principal(f"arn:aws:iam::{ACCOUNT}:role/Other", PrincipalKind.ROLE)
WHEN = datetime(2026, 11, 3, 10, tzinfo=UTC)
MONTHS = ObservedWindow(first_event=WHEN - timedelta(days=90), last_event=WHEN)
TRAINING_JOB = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn-1"
DATA_OBJECT = "arn:aws:s3:::ml-data/train/part-0.parquet"


def use(action: str, resource: str = "*", *, denied: bool = False, who: Principal = ROLE,
        conditions: tuple[Condition, ...] = ()) -> Usage:
    return Usage(who, Permission(action, resource, conditions), denied, 2, WHEN, WHEN,
                 ("us-east-1",))


def managed(name: str, doc: dict) -> GrantedPolicy:
    return GrantedPolicy(name, PolicyKind.MANAGED, parse_document(doc, name),
                         arn=f"arn:aws:iam::{ACCOUNT}:policy/{name}")


def inline(name: str, doc: dict) -> GrantedPolicy:
    return GrantedPolicy(name, PolicyKind.INLINE, parse_document(doc, name))


def training_grants(boundary: bool = False) -> Grants:
    limit = (GrantedPolicy("ml-boundary", PolicyKind.BOUNDARY, parse_document(BOUNDARY, "b"),
                           arn=f"arn:aws:iam::{ACCOUNT}:policy/ml-boundary")
             if boundary else None)
    return Grants(ROLE, (inline("training-data", TRAINING_DATA_INLINE),
                         managed("ml-sagemaker-broad", SAGEMAKER_BROAD)), limit, "test")


def actions_of(findings) -> set[str]:
    return {f.action for f in findings}


def test_used_and_granted_names_policy_and_statement() -> None:
    result = diff(ROLE, [use("sagemaker:CreateTrainingJob", TRAINING_JOB),
                         use("s3:GetObject", DATA_OBJECT)], training_grants(), window=MONTHS)
    by_action = {f.permission.action: f for f in result.used_granted}
    job = by_action["sagemaker:CreateTrainingJob"]
    assert job.code == "USED_GRANTED"
    assert [(g.policy, g.statement, g.sid, g.pattern) for g in job.grants] == [
        ("ml-sagemaker-broad", 0, "AllSageMakerButDomains", "sagemaker:*")]
    data = by_action["s3:GetObject"]
    assert [(g.policy, g.kind, g.sid) for g in data.grants] == [
        ("inline:training-data", "inline", "ReadTrainingData")]
    assert data.grants[0].resources == ("arn:aws:s3:::ml-data", "arn:aws:s3:::ml-data/*")


def test_wildcards_are_expanded_against_the_catalog() -> None:
    catalog = load_catalog()
    result = diff(ROLE, [use("ecr:GetAuthorizationToken")], training_grants(), window=MONTHS)
    unused_ecr = {u.action for u in result.unused_actions if u.service == "ecr"}
    every_ecr = {a.full_name for a in catalog.actions_of("ecr")}
    assert unused_ecr == every_ecr - {"ecr:GetAuthorizationToken"}
    one = next(u for u in result.unused_actions if u.action == "ecr:DeleteRepository")
    assert (one.grants[0].policy, one.grants[0].sid, one.grants[0].pattern) == (
        "ml-sagemaker-broad", "SupportingServices", "ecr:*")
    assert one.access_level == "Write"


def test_services_never_used_are_removable_as_a_whole() -> None:
    result = diff(ROLE, [use("ecr:GetAuthorizationToken")], training_grants(), window=MONTHS)
    services = {s.service: s for s in result.unused_services}
    assert "ecr" not in services  # used
    assert {"glue", "athena", "cloudwatch", "ec2", "secretsmanager"} <= set(services)
    glue = services["glue"]
    assert set(glue.removable) == {a.full_name for a in load_catalog().actions_of("glue")}
    assert glue.policies == ("ml-sagemaker-broad",)
    # A service with a not-observable grant lists it to keep.
    assert services["lambda"].kept == ("lambda:InvokeFunction",)
    assert services["lambda"].removable == ("lambda:ListFunctions",)
    assert result.summary.removable_services == len(result.unused_services)


def test_pass_role_and_invoke_endpoint_are_kept_never_removed() -> None:
    """iam:PassRole is a permission, not an API call: CloudTrail never logs it.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
    SageMaker InvokeEndpoint is not logged as a management event:
    https://docs.aws.amazon.com/sagemaker/latest/dg/logging-using-cloudtrail.html
    """
    result = diff(ROLE, [use("sagemaker:CreateTrainingJob", TRAINING_JOB)], training_grants(),
                  window=MONTHS)
    kept = {f.action: f for f in result.not_observable}
    assert kept["iam:PassRole"].reason == "pass-role"
    assert kept["sagemaker:InvokeEndpoint"].visibility == "never_logged"
    assert kept["iam:PassRole"].source == (
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html")
    removable = actions_of(result.unused_actions)
    assert not removable & set(kept)
    # The proposal keeps them, with the grant's condition.
    proposal = result.proposal
    assert proposal is not None
    assert {"iam:PassRole", "sagemaker:InvokeEndpoint"} <= set(proposal.actions)
    pass_role = [s for d in proposal.documents for s in d.statements
                 if "iam:PassRole" in s.actions]
    assert pass_role and all(
        Condition("StringEquals", "iam:PassedToService", ("sagemaker.amazonaws.com",))
        in s.conditions for s in pass_role)


def test_s3_object_grants_are_kept_while_the_trail_has_no_s3_data_events() -> None:
    """S3 object calls are data events, logged only where turned on.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html
    """
    grants = training_grants()
    blind = diff(ROLE, [use("ecr:GetAuthorizationToken")], grants, window=MONTHS)
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= actions_of(blind.not_observable)
    assert "s3-objects" in blind.unrecorded_data_events
    # Another principal's GetObject proves the trail records S3 reads; writes are
    # recorded apart (ReadWriteType), so PutObject is still not judged.
    reads = diff(ROLE, [use("ecr:GetAuthorizationToken"), use("s3:GetObject", who=OTHER)],
                 grants, trail_actions=["s3:GetObject"], window=MONTHS)
    assert "s3-objects" in reads.recorded_data_events
    assert "s3-objects:write" in reads.unrecorded_halves
    assert "s3-objects:read" not in reads.unrecorded_halves
    assert {"s3:PutObject", "s3:DeleteObject"} <= actions_of(reads.not_observable)
    # and a PutObject proves the writes: now judged.
    seen = diff(ROLE, [use("ecr:GetAuthorizationToken"), use("s3:GetObject", who=OTHER)],
                grants, trail_actions=["s3:GetObject", "s3:PutObject"], window=MONTHS)
    assert {"s3:PutObject", "s3:DeleteObject"} <= actions_of(seen.unused_actions)
    assert not {"s3:PutObject"} & actions_of(seen.not_observable)
    assert not [h for h in seen.unrecorded_halves if h.startswith("s3-objects:")]
    # a group with one half only (Lambda's invocations are writes) has no other half to miss
    invoked = diff(ROLE, [use("ecr:GetAuthorizationToken")], grants,
                   trail_actions=["lambda:InvokeFunction"], window=MONTHS)
    assert "lambda-invoke" in invoked.recorded_data_events
    assert not [h for h in invoked.unrecorded_halves if h.startswith("lambda-invoke:")]


def test_used_not_granted_is_reported_and_left_out_of_the_proposal() -> None:
    bucket = "arn:aws:s3:::shared-models/model.tar.gz"
    result = diff(ROLE, [use("ecr:GetAuthorizationToken"), use("s3:GetObject", bucket)],
                  training_grants(), trail_actions=["s3:GetObject"], window=MONTHS)
    assert [f.permission.resource for f in result.used_not_granted] == [bucket]
    assert result.used_not_granted[0].code == "USED_NOT_GRANTED"
    assert result.proposal is not None
    requests = [request_of(Permission("s3:GetObject", bucket))]
    assert evaluate(list(result.proposal.documents), requests[0]).decision is not Decision.ALLOW
    assert result.summary.used_not_granted_actions == 1


def test_denied_calls_are_evidence_and_block_removal() -> None:
    result = diff(ROLE, [use("glue:DeleteTable", "*", denied=True),
                         use("dynamodb:DeleteTable", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:"
                             "table/t", denied=True)], training_grants(), window=MONTHS)
    denied = {d.permission.action: d for d in result.denied}
    assert denied["glue:DeleteTable"].now == "allow"  # granted today: denied by another layer
    assert denied["glue:DeleteTable"].grants[0].pattern == "glue:*"
    assert denied["dynamodb:DeleteTable"].now == "implicit_deny"
    assert "glue:DeleteTable" not in actions_of(result.unused_actions)
    assert "glue" not in {s.service for s in result.unused_services}
    # Granted and tried (on a table the trail does not name), denied by another layer:
    # kept as today's grants hold it, as the statement lines say (keep), never counted
    # as removed; the ungranted one is never added.
    assert result.proposal is not None
    assert "glue:DeleteTable" in result.proposal.actions
    assert "dynamodb:DeleteTable" not in result.proposal.actions
    assert "glue:DeleteTable" not in actions_of(result.unused_actions)
    assert any("used or tried on a resource the trail does not say" in note
               for note in result.proposal.notes)


def test_a_denied_call_keeps_a_grant_only_where_the_grant_allowed_it() -> None:
    """Denied where today's grants do not reach (other/x): the grant on data/* was
    not exercised, and is removable in every figure. Denied where they do (data/k,
    by a Deny of another policy): kept, on what was tried, as a used call is."""
    data = "arn:aws:s3:::data/*"
    allow = managed("p", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": data}]})
    result = diff(ROLE, [use("s3:GetObject", "arn:aws:s3:::other/x", denied=True)],
                  Grants(ROLE, (allow,)), trail_actions=["s3:GetObject"], window=MONTHS)
    assert result.summary.removable_actions == 1 and result.summary.removed_actions == 1
    assert result.proposal is None  # nothing used, nothing kept: before, "keep" was said
    assert [u.verdict for u in result.statements] == ["delete"]
    guard = managed("guard", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/k",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    tried = "arn:aws:s3:::data/k"
    kept = diff(ROLE, [use("s3:GetObject", tried, denied=True)], Grants(ROLE, (allow, guard)),
                trail_actions=["s3:GetObject"], window=MONTHS)
    assert kept.summary.removable_actions == 0 and kept.summary.removed_actions == 0
    assert kept.proposal is not None
    docs = list(kept.proposal.documents)
    secure = {"aws:SecureTransport": ("true",)}  # (the Deny's condition is carried)
    assert evaluate(docs, Request("s3:GetObject", tried, secure)).decision is Decision.ALLOW
    assert evaluate(docs, Request("s3:GetObject", "arn:aws:s3:::data/other", secure)
                    ).decision is not Decision.ALLOW


def test_boundary_and_deny_make_grants_ineffective() -> None:
    result = diff(ROLE, [use("sagemaker:CreateTrainingJob", TRAINING_JOB)],
                  training_grants(boundary=True), trail_actions=["s3:GetObject"],
                  window=MONTHS)
    by_action = {u.action: u for u in result.unused_actions}
    assert by_action["glue:GetTable"].code == "INEFFECTIVE_GRANT"
    assert by_action["glue:GetTable"].blocked_by == "boundary"
    assert by_action["s3:DeleteObject"].blocked_by == "boundary"  # the boundary's Deny
    assert by_action["ecr:CreateRepository"].code == "UNUSED_ACTION"
    assert result.summary.ineffective_actions == sum(
        1 for u in result.unused_actions if u.code == "INEFFECTIVE_GRANT")


def test_a_condition_iamgen_cannot_decide_is_flagged() -> None:
    tagged = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
        "Condition": {"StringEquals": {"secretsmanager:ResourceTag/team": "ml"}}}]}
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf"
    result = diff(ROLE, [use("secretsmanager:GetSecretValue", secret)],
                  Grants(ROLE, (managed("tagged", tagged),)), window=MONTHS)
    assert [f.code for f in result.used_granted] == ["USED_CONDITIONAL"]
    assert result.used_granted[0].grants[0].conditional
    assert result.proposal is not None
    assert any("condition" in note for note in result.proposal.notes)


def test_not_resource_grants_are_carried_over_verbatim() -> None:
    result = diff(ROLE, [use("ecr:GetAuthorizationToken")], training_grants(), window=MONTHS)
    assert result.proposal is not None
    carried = [s for d in result.proposal.documents for s in d.statements
               if s.sid.startswith("KeepAsGranted")]
    assert len(carried) == 1
    assert "sagemaker:InvokeEndpoint" in carried[0].actions
    assert carried[0].not_resources == tuple(SAGEMAKER_BROAD["Statement"][0]["NotResource"])


def test_a_deny_that_still_decides_is_carried_into_the_proposal() -> None:
    """A Deny under a condition (or on some resources) of the policies the
    proposal replaces still decides calls the proposal allows: it is carried
    over as it stands, so applying the proposal lifts no Deny. A Deny on
    actions the proposal does not allow is left out."""
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"},
        {"Sid": "PlainHttp", "Effect": "Deny", "Action": "sqs:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "NoGlue", "Effect": "Deny", "Action": "glue:DeleteTable", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    result = diff(ROLE, [use("sqs:SendMessage", queue)], Grants(ROLE, (inline("na", doc),)),
                  window=MONTHS)
    assert result.proposal is not None
    denies = [s for d in result.proposal.documents for s in d.statements if s.effect == "Deny"]
    assert [s.sid for s in denies] == ["PlainHttp"]
    plain_http = Request("sqs:SendMessage", queue, {"aws:SecureTransport": ("false",)},
                         complete=True)
    assert evaluate(result.proposal.documents, plain_http).decision is Decision.EXPLICIT_DENY
    assert any("Deny statement" in note for note in result.proposal.notes)
    assert not any(a.startswith("sqs:") and a != "sqs:SendMessage"
                   and a not in result.proposal.kept_not_observable
                   for a in result.proposal.actions)  # a Deny allows nothing


def test_kept_denies_have_sids_of_their_own_and_fit_the_size_limit() -> None:
    """Two console-made policies each with a Deny "VisualEditor1", and Denies
    too many for one document: each kept Deny gets a Sid no other statement
    has, and every document fits IAM's limit."""
    def policy(n: int) -> dict:
        return {"Version": "2012-10-17", "Statement": [
            {"Sid": "VisualEditor0", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
            {"Sid": "VisualEditor1", "Effect": "Deny", "Action": "sqs:SendMessage",
             "Resource": [f"arn:aws:sqs:us-east-1:{ACCOUNT}:q{n}-{i:03}-{'x' * 80}"
                          for i in range(40)]}]}
    grants = Grants(ROLE, (inline("one", policy(1)), inline("two", policy(2))))
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    result = diff(ROLE, [use("sqs:SendMessage", queue)], grants, window=MONTHS)
    assert result.proposal is not None
    sids = [s.sid for d in result.proposal.documents for s in d.statements]
    assert len(sids) == len(set(sids)) and sum(s == "VisualEditor1" for s in sids) == 1
    assert all(size <= 6144 for size in result.proposal.sizes)
    assert len(result.proposal.documents) >= 3


def test_a_derived_action_is_no_proof_that_its_data_events_are_recorded() -> None:
    """ApplyGuardrail, needed by an InvokeModel through a guardrail (a
    management event), is in the Bedrock agents' data-event group: seeing it
    says nothing of whether the trail records that group, so the group's other
    grants stay kept as not observable."""
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "bedrock:InvokeModel", "bedrock:ApplyGuardrail", "bedrock:InvokeAgent",
        "bedrock:Retrieve"], "Resource": "*"}]}
    model = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    guardrail = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/gr1"
    result = diff(ROLE, [use("bedrock:InvokeModel", model), use("bedrock:ApplyGuardrail", guardrail)],
                  Grants(ROLE, (inline("bedrock", doc),)),
                  trail_actions=["bedrock:InvokeModel", "bedrock:ApplyGuardrail"], window=MONTHS)
    assert {"bedrock:InvokeAgent", "bedrock:Retrieve"} <= actions_of(result.not_observable)
    assert not {"bedrock:InvokeAgent", "bedrock:Retrieve"} & actions_of(result.unused_actions)


def test_carried_not_resource_statements_fit_the_size_limit() -> None:
    """Statements carried over as they stand (NotResource, for not-observable
    actions) are packed into documents within IAM's limit, like the rest."""
    def policy(n: int) -> dict:
        return {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
             "NotResource": [f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/x{n}-{i:03}-"
                             + "y" * 80 for i in range(40)]}]}
    grants = Grants(ROLE, tuple(inline(f"p{n}", policy(n)) for n in range(3)))
    result = diff(ROLE, [use("s3:GetObject", DATA_OBJECT)], grants, window=MONTHS)
    assert result.proposal is not None
    carried = [s for d in result.proposal.documents for s in d.statements if s.not_resources]
    assert len(carried) == 3
    assert all(size <= 6144 for size in result.proposal.sizes)


def test_summary_share_is_what_the_proposal_no_longer_grants() -> None:
    result = diff(ROLE, [use("ecr:GetAuthorizationToken"),
                         use("sagemaker:CreateTrainingJob", TRAINING_JOB)], training_grants(),
                  window=MONTHS)
    s = result.summary
    assert result.proposal is not None
    granted = {a.lower() for a in (*actions_of(result.unused_actions),
                                   *actions_of(result.not_observable))} | {
        "ecr:getauthorizationtoken", "sagemaker:createtrainingjob"}
    assert s.granted_actions == len(granted)
    proposed = {a.lower() for a in result.proposal.actions}
    assert proposed <= granted  # the proposal never adds an action
    assert s.removed_actions == len(granted - proposed)
    assert 0.9 < s.removed_share < 1.0
    assert s.removable_actions + s.not_observable_actions + s.used_actions == s.granted_actions


def test_short_window_warns_that_rare_use_may_be_missed() -> None:
    week = ObservedWindow(first_event=WHEN - timedelta(days=7), last_event=WHEN)
    result = diff(ROLE, [use("ecr:GetAuthorizationToken")], training_grants(), window=week)
    assert any("7.0 days" in note for note in result.notes)
    assert not diff(ROLE, [use("ecr:GetAuthorizationToken")], training_grants(),
                    window=MONTHS).notes


def test_other_principals_usage_is_ignored() -> None:
    result = diff(ROLE, [use("glue:GetTable", who=OTHER)], training_grants(), window=MONTHS)
    assert result.used_granted == ()
    assert "glue:GetTable" in actions_of(result.unused_actions)


def test_every_emitted_code_is_in_the_finding_catalog() -> None:
    result = diff(ROLE, [use("ecr:GetAuthorizationToken"), use("glue:DeleteTable", denied=True),
                         use("s3:GetObject", "arn:aws:s3:::elsewhere/x")],
                  training_grants(boundary=True), window=MONTHS)
    codes = {f.code for f in (*result.used_granted, *result.used_not_granted, *result.denied,
                              *result.unused_services, *result.unused_actions,
                              *result.not_observable)}
    assert codes <= set(finding_catalog())
    assert {"UNUSED_SERVICE", "UNUSED_ACTION", "DENIED", "NOT_OBSERVABLE"} <= codes


# --- properties -------------------------------------------------------------------


def _usages(perms: list[Permission]) -> list[Usage]:
    return [Usage(ROLE, p, False, 1, WHEN, WHEN, ("us-east-1",)) for p in perms]


EXTRA_GRANTS = st.lists(st.sampled_from([
    ("ecr:*", "*"), ("s3:Get*", "*"), ("sagemaker:Describe*", "*"), ("logs:*", "*"),
    ("kms:*", "*"), ("iam:PassRole", "*"), ("glue:GetTable", "*"), ("s3:*", "arn:aws:s3:::*"),
]), max_size=4)


@given(st.lists(permissions(), min_size=1, max_size=12), EXTRA_GRANTS)
def test_property_nothing_used_is_ever_recommended_for_removal(perms, extra) -> None:
    """Diff of a policy against its own observed use: nothing used is removable, and the
    proposal still allows every observed request."""
    own = synthesize(perms).documents
    extra_statements = [{"Effect": "Allow", "Action": a, "Resource": r} for a, r in extra]
    policies = [GrantedPolicy(f"own-{i}", PolicyKind.MANAGED, doc)
                for i, doc in enumerate(own)]
    if extra_statements:
        policies.append(inline("extra", {"Version": "2012-10-17",
                                         "Statement": extra_statements}))
    result = diff(ROLE, _usages(perms), Grants(ROLE, tuple(policies)), window=MONTHS)
    used = {p.action.lower() for p in perms}
    assert not used & {u.action.lower() for u in result.unused_actions}
    assert not used & {k.action.lower() for k in result.not_observable}
    assert result.used_not_granted == ()
    assert not {s.service for s in result.unused_services} & {a.split(":")[0] for a in used}
    assert result.proposal is not None
    docs = list(result.proposal.documents)
    for perm in perms:
        assert evaluate(docs, request_of(perm)).decision is Decision.ALLOW, perm


@given(st.lists(permissions(), min_size=1, max_size=12))
def test_property_a_policy_made_from_the_use_has_nothing_to_remove(perms) -> None:
    """synthesize(use) diffed against the same use: no unused grant at all."""
    own = synthesize(perms).documents
    policies = tuple(GrantedPolicy(f"own-{i}", PolicyKind.MANAGED, d) for i, d in enumerate(own))
    result = diff(ROLE, _usages(perms), Grants(ROLE, policies), window=MONTHS)
    assert result.unused_actions == ()
    assert result.unused_services == ()
    assert result.not_observable == ()
    assert result.summary.removed_actions == 0


def test_a_not_observable_grant_the_boundary_blocks_is_dead_text_not_kept() -> None:
    """A boundary intersects: what it never allows, no identity grant can give.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    """
    result = diff(ROLE, [use("sagemaker:CreateTrainingJob", TRAINING_JOB)],
                  training_grants(boundary=True), window=MONTHS)
    by_action = {u.action: u for u in result.unused_actions}
    assert by_action["lambda:InvokeFunction"].blocked_by == "boundary"
    assert "lambda:InvokeFunction" not in actions_of(result.not_observable)
    assert "iam:PassRole" in actions_of(result.not_observable)  # the boundary allows it
    assert result.proposal is not None
    assert "lambda:InvokeFunction" not in result.proposal.actions


def test_used_action_of_unknown_resource_keeps_the_granted_resources() -> None:
    """When the trail does not name the resource (iamgen falls back to "*"), any statement
    naming the action may have allowed it: the proposal keeps its resources, never "*"."""
    registry = {"Version": "2012-10-17", "Statement": [{
        "Sid": "Registry", "Effect": "Allow", "Action": "sagemaker:CreateModelPackage",
        "Resource": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/churn*"}]}
    result = diff(ROLE, [use("sagemaker:CreateModelPackage", "*")],
                  Grants(ROLE, (inline("registry", registry),)), window=MONTHS)
    assert result.used_not_granted == ()
    assert [f.code for f in result.used_granted] == ["USED_CONDITIONAL"]
    assert result.used_granted[0].grants[0].sid == "Registry"
    assert result.proposal is not None
    resources = {r for d in result.proposal.documents for s in d.statements
                 for r in s.resources}
    assert resources == {f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/churn*"}


def _ssm(name: str) -> str:
    return f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/{name}"


def test_a_proposal_never_generalizes_beyond_todays_grants() -> None:
    # cfg01 and cfg02 are granted by name: cfg* would allow cfg13 and cfg-admin
    names = [f"cfg0{n}" for n in range(1, 4)]
    exact = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": [_ssm(n) for n in names]}]}
    usages = [use("ssm:GetParameter", _ssm(n)) for n in names]
    result = diff(ROLE, usages, Grants(ROLE, (managed("exact", exact),)), window=MONTHS)
    assert result.proposal is not None
    docs = list(result.proposal.documents)
    assert evaluate(docs, Request("ssm:GetParameter", _ssm("cfg-admin"))).decision \
        is not Decision.ALLOW
    assert all(evaluate(docs, Request("ssm:GetParameter", _ssm(n))).decision is Decision.ALLOW
               for n in names)
    assert any("names kept exact" in note for note in result.proposal.notes)
    # under a grant on every parameter, the pattern stays: it allows nothing more than today
    broad = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": _ssm("*")}]}
    wide = diff(ROLE, usages, Grants(ROLE, (managed("broad", broad),)), window=MONTHS)
    assert wide.proposal is not None
    assert evaluate(list(wide.proposal.documents),
                    Request("ssm:GetParameter", _ssm("cfg04"))).decision is Decision.ALLOW


def test_a_pattern_beyond_todays_grants_keeps_only_its_own_names_exact() -> None:
    """Training jobs are granted on every name, parameters by name: the
    parameters' pattern is given up, the jobs' stays (tomorrow's job is
    still allowed, as it is today)."""
    jobs = [f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn-2026-11-0{d}-10-00-00"
            for d in range(1, 5)]
    names = [f"cfg0{n}" for n in range(1, 4)]
    grants = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sagemaker:DescribeTrainingJob",
         "Resource": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/*"},
        {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": [_ssm(n) for n in names]}]}
    usages = ([use("sagemaker:DescribeTrainingJob", job) for job in jobs]
              + [use("ssm:GetParameter", _ssm(n)) for n in names])
    result = diff(ROLE, usages, Grants(ROLE, (managed("mixed", grants),)), window=MONTHS)
    assert result.proposal is not None
    docs = list(result.proposal.documents)
    tomorrow = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn-2026-11-05-10-00-00"
    assert evaluate(docs, Request("sagemaker:DescribeTrainingJob", tomorrow)).decision \
        is Decision.ALLOW
    assert evaluate(docs, Request("ssm:GetParameter", _ssm("cfg-admin"))).decision \
        is not Decision.ALLOW
    assert all(evaluate(docs, Request("ssm:GetParameter", _ssm(n))).decision is Decision.ALLOW
               for n in names)
    assert all(evaluate(docs, Request("sagemaker:DescribeTrainingJob", j)).decision
               is Decision.ALLOW for j in jobs)
    assert any("names kept exact: 1 name pattern(s)" in note and "cfg" in note
               and "ssm:GetParameter" in note and "other patterns stay" in note
               for note in result.proposal.notes)


def test_a_call_granted_only_under_an_undecided_condition_keeps_that_condition() -> None:
    # an Allow under MFA: the proposal must not allow the call without MFA
    mfa = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iam:DeleteRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    role = f"arn:aws:iam::{ACCOUNT}:role/old"
    result = diff(ROLE, [use("iam:DeleteRole", role)], Grants(ROLE, (managed("mfa", mfa),)),
                  window=MONTHS)
    assert [f.code for f in result.used_granted] == ["USED_CONDITIONAL"]
    assert result.proposal is not None
    docs = list(result.proposal.documents)
    without = Request("iam:DeleteRole", role, {"aws:MultiFactorAuthPresent": ("false",)})
    with_mfa = Request("iam:DeleteRole", role, {"aws:MultiFactorAuthPresent": ("true",)})
    assert evaluate(docs, without).decision is Decision.IMPLICIT_DENY
    assert evaluate(docs, with_mfa).decision is Decision.ALLOW


@given(st.lists(permissions(), max_size=8),
       st.sets(st.integers(1, 28), min_size=3, max_size=6),
       st.sampled_from(["x", "-admin", "9", "/other", "0"]))
def test_property_a_proposal_allows_nothing_todays_grants_deny(perms, days, tweak) -> None:
    """Today's grants name exactly what was used; the proposal (patterns on)
    must deny every name they deny: siblings of each name, and the next
    day's run of a family of dated names (which a pattern would admit)."""
    runs = [Permission("s3:GetObject", f"arn:aws:s3:::ml-data/run-2026-11-{d:02d}/out.csv")
            for d in sorted(days)]
    perms = [*perms, *runs]
    current = synthesize(perms, SynthSettings(generalization=Generalization.NONE)).documents
    policies = tuple(GrantedPolicy(f"now-{i}", PolicyKind.MANAGED, d)
                     for i, d in enumerate(current))
    result = diff(ROLE, _usages(perms), Grants(ROLE, policies), window=MONTHS)
    assert result.proposal is not None
    proposal = list(result.proposal.documents)
    probes = [Permission("s3:GetObject", f"arn:aws:s3:::ml-data/run-2026-11-{d:02d}/out.csv")
              for d in range(1, 29) if d not in days]
    for probe in probes:
        if evaluate(list(current), request_of(probe)).decision is not Decision.ALLOW:
            assert evaluate(proposal, request_of(probe)).decision is not Decision.ALLOW, probe
    for perm in perms:
        for sibling in (perm.resource + tweak, perm.resource[:-1] + tweak):
            request = Request(perm.action, sibling, dict(request_of(perm).context))
            if evaluate(list(current), request).decision is not Decision.ALLOW:
                assert evaluate(proposal, request).decision is not Decision.ALLOW, sibling


def test_a_groups_writes_recorded_prove_nothing_of_its_reads() -> None:
    # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html:
    # selectors record read and write data events apart (ReadWriteType, readOnly)
    doc = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": "arn:aws:s3:::ml-data/*"}]}
    grants = Grants(ROLE, (inline("data", doc),))
    writes_only = diff(ROLE, [use("s3:PutObject", DATA_OBJECT)], grants, window=MONTHS)
    assert "s3:GetObject" in actions_of(writes_only.not_observable)
    assert "s3:GetObject" not in actions_of(writes_only.unused_actions)
    someone_reads = diff(ROLE, [use("s3:PutObject", DATA_OBJECT)], grants, window=MONTHS,
                         trail_actions=["s3:GetObject"])
    assert "s3:GetObject" in actions_of(someone_reads.unused_actions)


def test_a_variable_of_a_2008_policy_stays_literal_text_in_the_proposal() -> None:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html:
    # before Version 2012-10-17, ${aws:username} is literal text; kept as it stands in a
    # 2012-10-17 proposal it would become a variable and grant home/alice/* to alice
    old = {"Statement": [  # no Version: 2008-10-17
        {"Effect": "Allow", "Action": "sagemaker:CreateTrainingJob", "Resource": TRAINING_JOB},
        {"Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::home/${aws:username}/*"}]}
    result = diff(ROLE, [use("sagemaker:CreateTrainingJob", TRAINING_JOB)],
                  Grants(ROLE, (inline("old", old),)), window=MONTHS)
    assert result.proposal is not None
    as_alice = Request("s3:GetObject", "arn:aws:s3:::home/alice/x", {"aws:username": ("alice",)})
    assert evaluate(list(result.proposal.documents), as_alice).decision is not Decision.ALLOW


def test_a_2008_notresource_and_condition_keep_their_variable_text_literal() -> None:
    # the same for what a proposal carries as it stands: a NotResource statement and
    # a condition value (a grant kept because a call on an unknown resource used it)
    old = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                          "NotResource": "arn:aws:s3:::home/${aws:username}/*",
                          "Condition": {"StringLike": {"s3:prefix": "${aws:username}/*"}}}]}
    result = diff(ROLE, [use("s3:GetObject", "*")], Grants(ROLE, (inline("old", old),)),
                  window=MONTHS)
    assert result.proposal is not None
    [carried] = [s for d in result.proposal.documents for s in d.statements if s.not_resources]
    assert carried.not_resources == ("arn:aws:s3:::home/${$}{aws:username}/*",)
    assert carried.conditions[0].values == ("${$}{aws:username}/*",)


def test_a_pattern_is_within_todays_grants_only_under_their_conditions() -> None:
    # cfg* fits the Resource of an MFA-only statement: without MFA it allows more than today
    names = [f"cfg{n:02d}" for n in range(1, 13)]
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": [_ssm(n) for n in names]},
        {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": _ssm("*"),
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    result = diff(ROLE, [use("ssm:GetParameter", _ssm(n)) for n in names],
                  Grants(ROLE, (managed("mixed", doc),)), window=MONTHS)
    assert result.proposal is not None
    without_mfa = Request("ssm:GetParameter", _ssm("cfg99-admin"),
                          {"aws:MultiFactorAuthPresent": ("false",)})
    assert evaluate(list(result.proposal.documents), without_mfa).decision is not Decision.ALLOW


def test_a_resource_kept_for_one_action_is_no_licence_for_another() -> None:
    # GetObject's data/in/* is kept as granted; PutObject was granted on exact keys only
    keys = [f"arn:aws:s3:::data/in/part-{n:02d}.bin" for n in range(15)]
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/in/*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": keys}]}
    result = diff(ROLE, [use("s3:PutObject", k) for k in keys],
                  Grants(ROLE, (managed("data", doc),)), window=MONTHS)
    assert result.proposal is not None
    other = Request("s3:PutObject", "arn:aws:s3:::data/in/other-file.bin")
    assert evaluate(list(result.proposal.documents), other).decision is not Decision.ALLOW


def test_a_grant_kept_under_mfa_is_no_licence_for_the_same_resource_without_it() -> None:
    # 15 keys granted plainly, their folder only under MFA (kept: no S3 data events):
    # folding the keys into data/in/* without MFA would allow every other key
    keys = [f"arn:aws:s3:::data/in/part-{n:02d}.bin" for n in range(15)]
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": keys},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/in/*",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
        {"Effect": "Allow", "Action": "sagemaker:CreateTrainingJob", "Resource": TRAINING_JOB}]}
    result = diff(ROLE, [use("sagemaker:CreateTrainingJob", TRAINING_JOB)],
                  Grants(ROLE, (managed("data", doc),)), window=MONTHS)
    assert result.proposal is not None
    other = Request("s3:GetObject", "arn:aws:s3:::data/in/secret.bin",
                    {"aws:MultiFactorAuthPresent": ("false",)})
    assert evaluate(list(result.proposal.documents), other).decision is not Decision.ALLOW


def test_a_derived_condition_and_the_grants_on_one_key_make_one_clause() -> None:
    # PassRole to ec2, granted for ec2 or lambda and a tag iamgen cannot decide: one
    # StringEquals on iam:PassedToService (two cannot share a statement), the call's own
    role = f"arn:aws:iam::{ACCOUNT}:role/app"
    doc = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iam:PassRole", "Resource": role,
        "Condition": {"StringEquals": {
            "iam:PassedToService": ["ec2.amazonaws.com", "lambda.amazonaws.com"],
            "aws:ResourceTag/team": "ml"}}}]}
    passed = (Condition("StringEquals", "iam:PassedToService", ("ec2.amazonaws.com",)),)
    result = diff(ROLE, [use("iam:PassRole", role, conditions=passed)],
                  Grants(ROLE, (managed("pass", doc),)), window=MONTHS)
    assert result.proposal is not None
    (stmt,) = [s for d in result.proposal.documents for s in d.statements]
    assert [c.key for c in stmt.conditions] == ["aws:ResourceTag/team", "iam:PassedToService"]
    assert stmt.conditions[1].values == ("ec2.amazonaws.com",)


def test_a_deny_is_carried_for_an_action_the_catalog_does_not_list_yet() -> None:
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:RenameObject2099", "Resource": "arn:aws:s3:::data/*"},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    result = diff(ROLE, [use("s3:RenameObject2099", "arn:aws:s3:::data/k.bin")],
                  Grants(ROLE, (managed("new", doc),)), window=MONTHS)
    assert result.proposal is not None
    plain = Request("s3:RenameObject2099", "arn:aws:s3:::data/k.bin",
                    {"aws:SecureTransport": ("false",)}, complete=True)
    assert evaluate(list(result.proposal.documents), plain).decision is Decision.EXPLICIT_DENY


def test_a_call_of_unknown_resource_keeps_one_clause_per_key_too() -> None:
    # the resolver did not say which role was passed: the grant's roles are kept, with the
    # call's own iam:PassedToService clause in place of the grant's (one per key)
    doc = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*",
        "Condition": {"StringEquals": {
            "iam:PassedToService": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}}}]}
    passed = (Condition("StringEquals", "iam:PassedToService", ("ec2.amazonaws.com",)),)
    result = diff(ROLE, [use("iam:PassRole", "*", conditions=passed)],
                  Grants(ROLE, (managed("pass", doc),)), window=MONTHS)
    assert result.proposal is not None
    (stmt,) = [s for d in result.proposal.documents for s in d.statements]
    assert stmt.conditions == passed


def test_a_call_on_an_unknown_resource_under_notresource_never_widens_the_proposal() -> None:
    """Granted by NotResource secret/*, used (or tried) on a resource the trail does
    not say: "*" alone would allow secret/x, which today's grants deny. The
    statement is carried as it stands instead: used, kept; never wider."""
    grants = Grants(ROLE, (managed("p", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]}),))
    for denied in (False, True):
        result = diff(ROLE, [use("s3:GetObject", "*", denied=denied)], grants,
                      trail_actions=["s3:GetObject"], window=MONTHS)
        assert result.proposal is not None, denied
        docs = list(result.proposal.documents)
        assert evaluate(docs, Request("s3:GetObject", "arn:aws:s3:::secret/x")).decision \
            is not Decision.ALLOW
        assert evaluate(docs, Request("s3:GetObject", "arn:aws:s3:::data/x")).decision \
            is Decision.ALLOW


def test_a_denied_call_on_an_unknown_resource_keeps_no_grant_a_boundary_blocks() -> None:
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/*"
    grants = Grants(ROLE, (managed("p", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:DeleteTable", "dynamodb:GetItem"],
         "Resource": table}]}),), GrantedPolicy("b", PolicyKind.BOUNDARY, parse_document(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}]}, "b")))
    result = diff(ROLE, [use("dynamodb:DeleteTable", "*", denied=True)], grants,
                  window=MONTHS)
    assert "dynamodb:DeleteTable" in {u.action for u in result.unused_actions
                                      if u.code == "INEFFECTIVE_GRANT"}
    assert result.proposal is None or "dynamodb:DeleteTable" not in result.proposal.actions


_GRANT_RESOURCES = ["arn:aws:s3:::data/*", "arn:aws:s3:::data/k", "arn:aws:s3:::logs/*", "*",
                    "arn:aws:s3:::data/a*"]
_CALL_RESOURCES = ["arn:aws:s3:::data/k", "arn:aws:s3:::data/ab", "arn:aws:s3:::logs/x",
                   "arn:aws:s3:::other/x", "*"]
_CONDITIONS = [None, {"Bool": {"aws:SecureTransport": "false"}},
               {"Bool": {"aws:MultiFactorAuthPresent": "true"}}]


@st.composite
def _statements(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
        "Action": draw(st.lists(st.sampled_from(["s3:GetObject", "s3:PutObject", "s3:Get*",
                                                 "s3:*"]), min_size=1, max_size=2,
                                unique=True))}
    if draw(st.integers(0, 4)) == 0:
        out["NotResource"] = draw(st.sampled_from(_GRANT_RESOURCES[:3]))
    else:
        out["Resource"] = draw(st.lists(st.sampled_from(_GRANT_RESOURCES), min_size=1,
                                        max_size=2, unique=True))
    condition = draw(st.sampled_from(_CONDITIONS))
    if condition:
        out["Condition"] = condition
    return out


@given(st.lists(_statements(), min_size=1, max_size=3),
       st.lists(st.tuples(st.sampled_from(["s3:GetObject", "s3:PutObject"]),
                          st.sampled_from(_CALL_RESOURCES), st.booleans()),
                min_size=1, max_size=3))
def test_property_calls_of_any_kind_never_make_a_proposal_wider_than_today(
        statements: list[dict[str, Any]], calls: list[tuple[str, str, bool]]) -> None:
    """Used and denied calls, on known resources or on "*" (the trail did not
    say), under Allows and Denies with Resource or NotResource and conditions:
    the proposal allows nothing today's grants do not, nothing used is
    removable, and no statement said to be deleted was used or tried."""
    grants = Grants(ROLE, (managed("p", {"Version": "2012-10-17", "Statement": statements}),))
    result = diff(ROLE, [use(a, r, denied=d) for a, r, d in calls], grants,
                  trail_actions=["s3:GetObject", "s3:PutObject"], window=MONTHS)
    today = [p.document for p in grants.policies]
    proposal = list(result.proposal.documents) if result.proposal else []
    contexts = [{}, {"aws:SecureTransport": ("true",), "aws:MultiFactorAuthPresent": ("true",)},
                {"aws:SecureTransport": ("false",), "aws:MultiFactorAuthPresent": ("false",)}]
    for action in ("s3:GetObject", "s3:PutObject"):
        for resource in [*_CALL_RESOURCES[:-1], "arn:aws:s3:::data/zz"]:
            for context in contexts:
                if proposal and evaluate(proposal, Request(action, resource, context)).decision \
                        is Decision.ALLOW:
                    assert evaluate(today, Request(action, resource, context)).decision \
                        is Decision.ALLOW, (action, resource, context)
    used = {f.permission.action.lower() for f in result.used_granted}
    assert not used & {u.action.lower() for u in result.unused_actions}
    assert not [u for u in result.statements if u.verdict == "delete" and (u.used or u.denied)]


def test_when_names_kept_exact_do_not_bring_a_proposal_within_grants_every_name_is(
        monkeypatch: Any) -> None:
    import iamgen.diff as diff_module

    monkeypatch.setattr(diff_module, "_EXACT_ROUNDS", 0)  # no round to pin names in
    names = [f"cfg0{n}" for n in range(1, 4)]
    exact = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": [_ssm(n) for n in names]}]}
    result = diff(ROLE, [use("ssm:GetParameter", _ssm(n)) for n in names],
                  Grants(ROLE, (managed("exact", exact),)), window=MONTHS)
    assert result.proposal is not None
    assert {r for d in result.proposal.documents for s in d.statements
            for r in s.resources} == {_ssm(n) for n in names}
    assert any("every name is granted by name" in note for note in result.proposal.notes)
