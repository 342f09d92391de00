"""Hypothesis strategies for iamgen: permissions, ARNs, policies, requests.

Resource ARNs are built from the catalog's own ARN formats for each action, so
every generated permission is one iamgen could really emit. S3 object keys come
from a few buckets and folders so that sibling folding is exercised often.
"""

from __future__ import annotations

import re

from hypothesis import strategies as st

from iamgen.catalog import load_catalog
from iamgen.grants.evaluate import Request
from iamgen.model import Condition, Permission, PolicyDocument, Statement
from iamgen.synth import Generalization, SynthSettings

REGIONS = ("us-east-1", "eu-west-1")
ACCOUNTS = ("111122223333", "444455556666")
BUCKETS = ("ml-data", "ml-models", "Ml-Data")
LOG_GROUPS = ("/aws/lambda/chat", "/aws/sagemaker/TrainingJobs")
FOLDERS = ("", "train", "train/2024", "models/v1", "runs//x")

ML_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:ListAllMyBuckets",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:InvokeEndpoint",
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "lambda:InvokeFunction",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "secretsmanager:GetSecretValue",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "iam:PassRole",
    "cloudwatch:PutMetricData",
)
"""Actions AI/ML workloads use, each in the catalog."""

PASSED_TO = ("sagemaker.amazonaws.com", "lambda.amazonaws.com", "bedrock.amazonaws.com")
VIA = ("s3.us-east-1.amazonaws.com", "secretsmanager.eu-west-1.amazonaws.com")

_VARIABLE = re.compile(r"\$\{([^}]+)\}")

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=10)


@st.composite
def s3_object_arns(draw: st.DrawFn, partition: str = "aws") -> str:
    """An object in one of a few buckets and folders (siblings are common)."""
    bucket = draw(st.sampled_from(BUCKETS))
    folder = draw(st.sampled_from(FOLDERS))
    if draw(st.integers(0, 4)) == 0:
        leaf = draw(names)
    else:
        leaf = f"part-{draw(st.integers(0, 15)):02d}.parquet"
    key = f"{folder}/{leaf}" if folder else leaf
    return f"arn:{partition}:s3:::{bucket}/{key}"


@st.composite
def arn_from_format(draw: st.DrawFn, arn_format: str) -> str:
    """A concrete ARN for one catalog ARN format."""

    def value(name: str) -> str:
        if name == "Partition":
            return "aws"
        if name == "Region":
            return draw(st.sampled_from(REGIONS))
        if name == "Account":
            return draw(st.sampled_from(ACCOUNTS))
        if name == "RoleNameWithPath":
            return draw(st.sampled_from(("", "service-role/"))) + draw(names)
        if name == "SecretId":
            return draw(names) + "-" + draw(st.text("ABCDEFabcdef0123", min_size=6, max_size=6))
        return draw(names)

    return _VARIABLE.sub(lambda m: value(m.group(1)), arn_format)


def _conditions_for(action: str) -> st.SearchStrategy[tuple[Condition, ...]]:
    if action == "iam:PassRole":
        key, values = "iam:PassedToService", PASSED_TO
    elif action.startswith("kms:"):
        key, values = "kms:ViaService", VIA
    else:
        return st.just(())
    return st.one_of(
        st.just(()),
        st.sampled_from(values).map(lambda v: (Condition("StringEquals", key, (v,)),)),
    )


@st.composite
def permissions(draw: st.DrawFn, actions: tuple[str, ...] = ML_ACTIONS) -> Permission:
    """A permission as iamgen's resolver would emit it (any action spelling)."""
    catalog = load_catalog()
    action = draw(st.sampled_from(actions))
    info = catalog.action(action)
    assert info is not None, action
    typed = [rt for rt in info.resource_types if rt.arn_formats]
    if not typed or draw(st.integers(0, 19)) == 0:
        resource = "*"
    else:
        rtype = draw(st.sampled_from(typed))
        if rtype.name == "object":
            resource = draw(s3_object_arns())
        else:
            resource = draw(arn_from_format(rtype.arn_formats[0]))
    spelled = draw(st.sampled_from((action, action.lower(), action.upper())))
    return Permission(spelled, resource, draw(_conditions_for(action)))


@st.composite
def s3_object_permissions(draw: st.DrawFn) -> Permission:
    """Object-level S3 permissions only: the folding workload."""
    action = draw(st.sampled_from(("s3:GetObject", "s3:PutObject")))
    return Permission(action, draw(s3_object_arns()))


@st.composite
def sibling_objects(draw: st.DrawFn) -> list[Permission]:
    """One action on several objects of one folder: what folding is for."""
    action = draw(st.sampled_from(("s3:GetObject", "s3:PutObject", "s3:DeleteObject")))
    bucket = draw(st.sampled_from(BUCKETS))
    folder = draw(st.sampled_from(FOLDERS[1:] + FOLDERS))
    leaves = draw(st.lists(st.integers(0, 30), min_size=2, max_size=20, unique=True))
    prefix = f"{folder}/" if folder else ""
    return [Permission(action, f"arn:aws:s3:::{bucket}/{prefix}obj-{n}") for n in leaves]


@st.composite
def sibling_log_streams(draw: st.DrawFn) -> list[Permission]:
    """Streams of one log group, as Lambda and SageMaker containers open them."""
    action = draw(st.sampled_from(("logs:CreateLogStream", "logs:PutLogEvents")))
    region = draw(st.sampled_from(REGIONS))
    group = draw(st.sampled_from(LOG_GROUPS))
    streams = draw(st.lists(st.integers(0, 99), min_size=1, max_size=12, unique=True))
    base = f"arn:aws:logs:{region}:{ACCOUNTS[0]}:log-group:{group}:log-stream:"
    return [Permission(action, f"{base}2026/11/0{n % 9}/[$LATEST]{n:08x}") for n in streams]


_mixed_with_siblings = st.tuples(
    st.lists(permissions(), max_size=15),
    st.lists(s3_object_permissions(), max_size=20),
    st.lists(st.one_of(sibling_objects(), sibling_log_streams()), min_size=1, max_size=4),
).map(lambda parts: parts[0] + parts[1] + [p for group in parts[2] for p in group])

permission_lists = st.one_of(
    _mixed_with_siblings,
    st.lists(permissions(), min_size=1, max_size=40),
    _mixed_with_siblings,
    st.lists(s3_object_permissions(), min_size=1, max_size=60),
)
"""Inputs to synthesis: mixed, S3-heavy, or both."""

synth_settings = st.builds(
    SynthSettings,
    generalization=st.sampled_from(tuple(Generalization)),
    fold_threshold=st.integers(1, 4),
    compress_actions=st.just(False),
    size_limit=st.sampled_from((6144, 2000, 900)),
    max_documents=st.sampled_from((1, 2, 3, 10, 40)),
)


# --- policies and requests for evaluator properties ----------------------------

CONDITION_KEYS = (
    "aws:RequestedRegion",
    "aws:PrincipalTag/team",
    "iam:PassedToService",
    "s3:prefix",
)
CONDITION_VALUES = ("us-east-1", "eu-west-1", "ml", "sagemaker.amazonaws.com", "home/*", "x")
OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringEqualsIfExists",
    "ForAnyValue:StringEquals",
    "ForAllValues:StringLike",
    "Null",
    "Bool",
)

action_patterns = st.one_of(
    st.sampled_from(ML_ACTIONS),
    st.sampled_from(("s3:Get*", "s3:*", "*", "kms:*", "sagemaker:Describe*", "s3:?etObject")),
)

resource_patterns = st.one_of(
    st.just("*"),
    s3_object_arns(),
    st.sampled_from(BUCKETS).map(lambda b: f"arn:aws:s3:::{b}/*"),
    st.sampled_from(FOLDERS[1:]).map(lambda f: f"arn:aws:s3:::ml-data/{f}/*"),
    st.just("arn:aws:s3:::ml-data/home/${aws:username}/*"),
    st.just("arn:aws:kms:*:111122223333:key/*"),
    st.just("arn:aws:iam::*:role/*"),
)

conditions = st.builds(
    Condition,
    operator=st.sampled_from(OPERATORS),
    key=st.sampled_from(CONDITION_KEYS),
    values=st.lists(
        st.sampled_from(CONDITION_VALUES + ("true", "false")), min_size=1, max_size=2
    ).map(tuple),
)


@st.composite
def statements(draw: st.DrawFn) -> Statement:
    """Any statement shape: Action/NotAction, Resource/NotResource, conditions."""
    actions = tuple(draw(st.lists(action_patterns, min_size=1, max_size=3, unique=True)))
    resources = tuple(draw(st.lists(resource_patterns, min_size=1, max_size=3, unique=True)))
    negate_action = draw(st.integers(0, 5)) == 0
    negate_resource = draw(st.integers(0, 5)) == 0
    conds = draw(st.lists(conditions, max_size=2, unique_by=lambda c: (c.operator, c.key)))
    return Statement(
        effect=draw(st.sampled_from(("Allow", "Allow", "Deny"))),
        actions=() if negate_action else actions,
        not_actions=actions if negate_action else (),
        resources=() if negate_resource else resources,
        not_resources=resources if negate_resource else (),
        conditions=tuple(sorted(conds)),  # canonical order: grouped by operator
    )


policies = st.lists(statements(), min_size=1, max_size=5).map(
    lambda s: PolicyDocument(statements=tuple(s))
)


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, tuple[str, ...]]:
    """Some of the condition keys, with one or two values each."""
    keys = draw(
        st.lists(st.sampled_from(CONDITION_KEYS + ("aws:username",)), unique=True, max_size=4)
    )
    return {
        key: tuple(
            draw(st.lists(st.sampled_from(CONDITION_VALUES + ("alice",)), min_size=1, max_size=2))
        )
        for key in keys
    }


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """A request for an ML action on an ARN (or ``*``) with partial context."""
    action = draw(st.sampled_from(ML_ACTIONS))
    resource = draw(
        st.one_of(
            st.just("*"),
            s3_object_arns(),
            st.just("arn:aws:s3:::ml-data/home/alice/x"),
            st.just("arn:aws:kms:us-east-1:111122223333:key/k"),
            st.just("arn:aws:iam::111122223333:role/r"),
        )
    )
    return Request(action, resource, draw(contexts()))


# --- names that change every run (name patterns) ---------------------------------

NAME_WORDS = ("churn", "xgb", "fraud", "output", "model", "train", "part", "summaries", "algo")
NAME_SCOPES = (
    "arn:aws:s3:::ml-data/",
    "arn:aws:s3:::ml-models/",
    "arn:aws:sagemaker:us-east-1:111122223333:training-job/",
    "arn:aws:sagemaker:eu-west-1:111122223333:training-job/",
    "arn:aws:logs:us-east-1:111122223333:log-group:/app/jobs:log-stream:",
)
SHAPE_KINDS = ("date", "datetime", "uuid", "hex", "number")


def _shaped(kind: str, rnd: st.DataObject) -> str:
    day = rnd.draw(st.integers(1, 28))
    if kind == "date":
        return f"2026-11-{day:02d}"
    if kind == "datetime":
        return f"2026-11-{day:02d}-{rnd.draw(st.integers(0, 23)):02d}-{rnd.draw(st.integers(0, 59)):02d}-07"
    if kind == "uuid":
        value = rnd.draw(st.integers(0, 2**128 - 1))
        text = f"{value:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    if kind == "hex":
        return f"{rnd.draw(st.integers(2**31, 2**32 - 1)):08x}"
    return str(rnd.draw(st.integers(0, 99)))


@st.composite
def name_families(draw: st.DrawFn) -> tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """A scope and a name template: each slot is a fixed word ("word", (w,)),
    a word drawn from a few ("words", (w1, w2...)), a shape ("shape", (kind,)) or
    a separator ("sep", (c,)). The first slot is always a fixed word."""
    scope = draw(st.sampled_from(NAME_SCOPES))
    slots: list[tuple[str, tuple[str, ...]]] = [("word", (draw(st.sampled_from(NAME_WORDS)),))]
    for _ in range(draw(st.integers(1, 4))):
        slots.append(("sep", (draw(st.sampled_from("/-_.=")),)))
        kind = draw(st.sampled_from(("word", "words", "shape", "shape")))
        if kind == "word":
            slots.append(("word", (draw(st.sampled_from(NAME_WORDS)),)))
        elif kind == "words":
            choices = draw(st.lists(st.sampled_from(NAME_WORDS), min_size=2, max_size=5,
                                    unique=True))
            slots.append(("words", tuple(choices)))
        else:
            slots.append(("shape", (draw(st.sampled_from(SHAPE_KINDS)),)))
    return scope, tuple(slots)


def name_of(family: tuple[str, tuple[tuple[str, tuple[str, ...]], ...]],
            rnd: st.DataObject) -> str:
    """One ARN of a family, its varying slots filled at random."""
    scope, slots = family
    parts = []
    for kind, values in slots:
        if kind in ("word", "sep"):
            parts.append(values[0])
        elif kind == "words":
            parts.append(rnd.draw(st.sampled_from(values)))
        else:
            parts.append(_shaped(values[0], rnd))
    return scope + "".join(parts)


# --- hardening evidence --------------------------------------------------------------

HARDEN_VALUES: dict[str, tuple[str, ...]] = {
    "mfa": ("true", "true", "false", ""),
    "vpce": ("vpce-0a1b2c3d", "vpce-0e5f6a7b", ""),
    "tls": ("TLSv1.3", "TLSv1.2", ""),
    "region": REGIONS,
    "sse": ("aws:kms", "AES256", ""),
    "sse_kms_key": (f"arn:aws:kms:us-east-1:{ACCOUNTS[0]}:key/1234abcd", "alias/scores", ""),
    "guardrail": (f"arn:aws:bedrock:us-east-1:{ACCOUNTS[0]}:guardrail/q8w3e7r1t5y9:3",
                  f"arn:aws:bedrock:us-east-1:{ACCOUNTS[0]}:guardrail/q8w3e7r1t5y9", ""),
}
"""Fact values hardening decides on, a few per fact (the empty value: the call lacked it)."""

HARDEN_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:ListAllMyBuckets", "kms:Decrypt",
                  "bedrock:InvokeModel", "bedrock:ListFoundationModels", "iam:PassRole")


@st.composite
def fact_counts(draw: st.DrawFn, action: str) -> tuple[int, tuple[tuple[str, str, int], ...]]:
    """(calls, facts) of one permission: each fact a few values whose counts sum to the
    calls (the optional facts only for the actions whose calls carry them, and sometimes
    on part of the calls only, as UploadPart among PutObjects)."""
    calls = draw(st.integers(1, 6))
    facts: list[tuple[str, str, int]] = []
    optional = {"s3:PutObject": ("sse", "sse_kms_key"), "bedrock:InvokeModel": ("guardrail",)}
    for fact, values in HARDEN_VALUES.items():
        if fact in ("sse", "sse_kms_key", "guardrail") and fact not in optional.get(action, ()):
            continue
        # Mostly one value on every call, so that conditions are often added.
        if draw(st.integers(0, 2)):
            facts.append((fact, draw(st.sampled_from(values)), calls))
            continue
        carried = calls if fact in ("mfa", "vpce", "tls", "region") else draw(
            st.integers(0, calls))
        left = carried
        for value in draw(st.lists(st.sampled_from(values), min_size=1, max_size=3,
                                   unique=True)):
            if left == 0:
                break
            count = draw(st.integers(1, left))
            facts.append((fact, value, count))
            left -= count
        if left:
            facts.append((fact, values[0], left))
    merged: dict[tuple[str, str], int] = {}
    for fact, value, count in facts:
        merged[(fact, value)] = merged.get((fact, value), 0) + count
    return calls, tuple(sorted((f, v, c) for (f, v), c in merged.items()))
