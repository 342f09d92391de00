"""End to end, from CloudTrail records: the suggested policy allows every successful
call's permissions and nothing outside what those calls needed.

The records are AI/ML calls with random names, principals, regions and outcomes;
each goes through the same path as ``iamgen suggest`` (sources -> scan -> graph ->
synthesis), and the result is judged with iamgen's own evaluator.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iamgen.arn import unescape
from iamgen.graph import build_graph
from iamgen.grants.evaluate import Decision, Request, evaluate
from iamgen.mapping.identity import principal_of
from iamgen.mapping.resolve import resolve
from iamgen.scanning.scan import scan
from iamgen.model import Filters, Permission, PolicyDocument, Principal, Statement
from iamgen.sources.local import LocalSource
from iamgen.synth import Generalization, SynthSettings, synthesize
from tests.records import ACCOUNT, record, role_identity, user_identity

name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
# Keys may hold characters a policy reads as wildcards or variables (S3 allows any).
key = st.lists(st.sampled_from(["train", "eval", "v1", "part-0.csv", "part-1.csv", "x.bin",
                                "a*b.csv", "a-b.csv", "q?.bin", "q1.bin", "v${x}", "_$folder$"]),
               min_size=1, max_size=3).map("/".join)
regions = st.sampled_from(["us-east-1", "us-west-2", "eu-west-1"])
identities = st.one_of(
    st.sampled_from(["Trainer", "Chat", "Deploy"]).map(
        lambda r: role_identity(r, path="/service-role/")),
    st.just(user_identity("analyst")),
)
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


@st.composite
def calls(draw: st.DrawFn) -> dict[str, Any]:
    """One CloudTrail record of an AI/ML call."""
    who = draw(identities)
    region = draw(regions)
    bucket = draw(st.sampled_from(["ml-data", "ml-models"]))
    kind = draw(st.integers(0, 9))
    if kind == 0:
        arn = f"arn:aws:s3:::{bucket}/{draw(key)}"
        rec = record(who, "s3.amazonaws.com", "GetObject",
                     {"bucketName": bucket, "key": arn.split("/", 1)[1]}, region=region,
                     resources=[{"type": "AWS::S3::Object", "ARN": arn}],
                     eventCategory="Data", managementEvent=False)
    elif kind == 1:
        rec = record(who, "s3.amazonaws.com", "PutObject", {"bucketName": bucket, "key": draw(key)},
                     region=region, eventCategory="Data", managementEvent=False)
    elif kind == 2:
        rec = record(who, "s3.amazonaws.com", "ListObjects", {"bucketName": bucket}, region=region,
                     eventCategory="Data", managementEvent=False)
    elif kind == 3:
        via = draw(st.sampled_from([None, "s3.amazonaws.com", "secretsmanager.amazonaws.com"]))
        ident = who | ({"invokedBy": via} if via else {})
        rec = record(ident, "kms.amazonaws.com", draw(st.sampled_from(["Decrypt", "GenerateDataKey"])),
                     {"keyId": f"arn:aws:kms:{region}:{ACCOUNT}:key/{KEY_ID}"}, region=region,
                     resources=[{"type": "AWS::KMS::Key",
                                 "ARN": f"arn:aws:kms:{region}:{ACCOUNT}:key/{KEY_ID}"}])
    elif kind == 4:
        rec = record(who, "lambda.amazonaws.com", "Invoke", {"functionName": draw(name)},
                     region=region, eventCategory="Data", managementEvent=False)
    elif kind == 5:
        model = draw(st.sampled_from(["anthropic.claude-3-haiku-20240307-v1:0",
                                      "amazon.titan-embed-text-v2:0"]))
        rec = record(who, "bedrock.amazonaws.com",
                     draw(st.sampled_from(["InvokeModel", "Converse", "ConverseStream"])),
                     {"modelId": model}, region=region)
    elif kind == 6:
        rec = record(who, "sagemaker.amazonaws.com", "CreateTrainingJob",
                     {"trainingJobName": draw(name),
                      "roleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/Exec-{draw(name)}"},
                     region=region)
    elif kind == 7:
        rec = record(who, "dynamodb.amazonaws.com", draw(st.sampled_from(["GetItem", "PutItem", "Query"])),
                     {"tableName": draw(name)}, region=region)
    elif kind == 8:
        rec = record(who, "secretsmanager.amazonaws.com", "GetSecretValue",
                     {"secretId": f"prod/{draw(name)}"}, region=region)
    else:
        rec = record(who, "ecr.amazonaws.com", "GetAuthorizationToken", {}, region=region)
    if draw(st.integers(0, 7)) == 0:
        rec["errorCode"] = draw(st.sampled_from(["AccessDenied", "ThrottlingException"]))
    day = draw(st.integers(2, 6))
    rec["eventTime"] = f"2026-11-0{day}T{draw(st.integers(0, 23)):02d}:00:00Z"
    return rec


def context_of(permission: Permission) -> dict[str, tuple[str, ...]]:
    return {c.key: c.values for c in permission.conditions}


def request_of(permission: Permission) -> Request:
    """The request a call made: its resource itself, not the policy text naming it."""
    return Request(permission.action, unescape(permission.resource), context_of(permission))


def wildcards(text: str) -> bool:
    """Whether policy text has a * or ? of its own (not a literal ${*} or ${?})."""
    bare = text.replace("${*}", "").replace("${?}", "")
    return "*" in bare or "?" in bare


def covers(pattern: str, permission: Permission) -> bool:
    """Whether policy text ``pattern`` names the permission's resource (IAM's matching)."""
    policy = PolicyDocument(statements=(Statement(actions=(permission.action,),
                                                  resources=(pattern,)),))
    return evaluate([policy], request_of(permission)).decision is Decision.ALLOW


def suggested(records: list[dict[str, Any]], generalization: Generalization):
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "trail.json.gz"
        path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode(), mtime=0))
        result = scan(LocalSource((str(path),)), Filters(), workers=1)
    graph = build_graph(result.usages(), result.principal_events)
    settings_ = SynthSettings(generalization=generalization)
    return {p: synthesize(graph.permissions_of(p), settings_) for p in graph.principals()}


@settings(max_examples=120)
@given(st.lists(calls(), min_size=1, max_size=40),
       st.sampled_from([Generalization.NONE, Generalization.PREFIX]))
def test_policy_allows_every_successful_call_and_only_what_calls_needed(records, generalization) -> None:
    policies = suggested(records, generalization)
    needed: dict[Principal, set[Permission]] = defaultdict(set)
    refused: dict[Principal, set[Permission]] = defaultdict(set)
    for rec in records:
        who = principal_of(rec)
        resolution = resolve(rec)
        if isinstance(who, str) or not resolution.permissions:
            continue
        (refused if rec.get("errorCode") else needed)[who].update(resolution.permissions)

    assert set(policies) >= set(needed)
    for principal, result in policies.items():
        docs = result.documents
        # Sound: every permission a successful call needed is allowed.
        for perm in needed[principal]:
            decision = evaluate(docs, request_of(perm)).decision
            assert decision is Decision.ALLOW, (principal, perm)
        # Tight on actions: nothing is allowed that no successful call needed.
        granted = {a.lower() for d in docs for s in d.statements for a in s.actions}
        assert granted == {p.action.lower() for p in needed[principal]}
        # Tight on resources: each granted resource is an observed one, or a declared fold.
        folds = {f.pattern for f in result.folds}
        observed = {p.resource for p in needed[principal]}
        for doc in docs:
            for stmt in doc.statements:
                for resource in stmt.resources:
                    assert resource in observed or resource in folds, resource
        # Failed calls never add a grant of their own.
        for perm in refused[principal] - needed[principal]:
            others = {p for p in needed[principal] if p.action == perm.action}
            # Exempt only what a grant may cover by design: the same resource, a
            # resolver's own pattern (a secret's -??????), or a declared fold. A
            # name's own * or ? is literal and must not widen the grant.
            if not any(p.resource == perm.resource or (wildcards(p.resource)
                                                       and covers(p.resource, perm))
                       for p in others) and \
                    not any(covers(f, perm) for f in folds):
                decision = evaluate(docs, request_of(perm)).decision
                assert decision is not Decision.ALLOW, (principal, perm)
