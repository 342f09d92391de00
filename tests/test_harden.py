"""Hardening conditions from the evidence (iamgen.synth.harden): a condition only where every
call of a statement supports it, each key checked against the catalog, Sids unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from iamgen.catalog import load_catalog
from iamgen.errors import UsageError
from iamgen.grants.evaluate import Decision, Request, evaluate
from iamgen.model import Condition, Permission, Principal, PrincipalKind, Statement, Usage
from iamgen.synth import SynthSettings, synthesize
from iamgen.synth.harden import (
    FactCounts,
    HardenEvidence,
    context_of,
    evidence_of,
    families,
    harden_statements,
    parse_harden,
    request_contexts,
)

ACCOUNT = "111122223333"
MODEL = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
GUARDRAIL = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/q8w3e7r1t5y9"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
INVOKE = Permission("bedrock:InvokeModel", MODEL)
LIST_MODELS = Permission("bedrock:ListFoundationModels", "*")
PUT = Permission("s3:PutObject", "arn:aws:s3:::scores/2026/scores.parquet")
GET = Permission("s3:GetObject", "arn:aws:s3:::scores/2026/scores.parquet")
USER = Principal(f"arn:aws:iam::{ACCOUNT}:user/people/priya.raman", PrincipalKind.USER)
ROLE = Principal(f"arn:aws:iam::{ACCOUNT}:role/service-role/scoring", PrincipalKind.ROLE)
T = datetime(2026, 11, 3, 10, tzinfo=UTC)


def counts(calls: int, **facts: dict[str, int] | str) -> FactCounts:
    """FactCounts of ``calls`` calls: fact=value (every call) or fact={value: count}."""
    out: list[tuple[str, str, int]] = []
    for name, value in facts.items():
        spread = {value: calls} if isinstance(value, str) else value
        out.extend((name, v, c) for v, c in spread.items())
    return FactCounts(calls, tuple(sorted(out)))


def conditions(result, action: str) -> dict[str, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    [stmt] = [s for d in result.documents for s in d.statements if action in s.actions]
    return {f"{c.operator} {c.key}": c.values for c in stmt.conditions}


def hardened(evidence: HardenEvidence, *families_: str):  # type: ignore[no-untyped-def]
    return synthesize(list(evidence.facts), SynthSettings(harden=families_ or ("auto",)),
                      evidence=evidence)


BASE = {"mfa": "true", "region": "us-east-1", "tls": "TLSv1.3", "vpce": ""}


def test_default_adds_nothing_and_output_is_unchanged() -> None:
    evidence = HardenEvidence(True, {INVOKE: counts(41, **BASE)})
    plain = synthesize([INVOKE])
    assert synthesize([INVOKE], evidence=evidence) == plain
    assert not plain.notes or not any("harden" in n for n in plain.notes)


def test_mfa_on_every_call_adds_bool_true() -> None:
    result = hardened(HardenEvidence(True, {INVOKE: counts(41, **BASE)}), "mfa")
    assert conditions(result, "bedrock:InvokeModel") == {
        "Bool aws:MultiFactorAuthPresent": ("true",)}
    assert any("harden mfa: Bool aws:MultiFactorAuthPresent true on BedrockInvokeModel "
               "(41 calls): every call supports it" == n for n in result.notes)


def test_one_call_without_mfa_adds_no_mfa_condition() -> None:
    evidence = HardenEvidence(True, {INVOKE: counts(41, **{**BASE,
                                                            "mfa": {"true": 40, "false": 1}})})
    result = hardened(evidence, "mfa")
    assert conditions(result, "bedrock:InvokeModel") == {}
    assert "harden mfa: not added: 1 of 41 call(s) without MFA" in result.notes


def test_long_term_access_keys_carry_no_mfa_so_no_condition() -> None:
    # aws:MultiFactorAuthPresent is absent for access keys: Bool true would deny them.
    evidence = HardenEvidence(True, {INVOKE: counts(3, **{**BASE, "mfa": ""})})
    result = hardened(evidence, "mfa")
    assert conditions(result, "bedrock:InvokeModel") == {}
    assert "harden mfa: not added: 3 of 3 call(s) without MFA" in result.notes


def test_mfa_is_not_asked_of_a_service_role() -> None:
    evidence = HardenEvidence(False, {INVOKE: counts(9, **{**BASE, "mfa": "false"})})
    result = hardened(evidence, "mfa")
    assert conditions(result, "bedrock:InvokeModel") == {}
    assert "harden mfa: not added: not a person's session (no call had MFA)" in result.notes


def test_mfa_operator_denies_long_term_keys_in_the_evaluator() -> None:
    result = hardened(HardenEvidence(True, {INVOKE: counts(2, **BASE)}), "mfa")
    context, absent = context_of({"mfa": ""})
    request = Request("bedrock:InvokeModel", MODEL, context, absent=absent, complete=True)
    assert evaluate(result.documents, request).decision is Decision.IMPLICIT_DENY


def test_vpce_lists_the_endpoints_seen() -> None:
    facts = {**BASE, "vpce": {"vpce-0a": 3, "vpce-0b": 2}}
    result = hardened(HardenEvidence(False, {GET: counts(5, **facts)}), "vpce")
    assert conditions(result, "s3:GetObject") == {"StringEquals aws:SourceVpce":
                                                  ("vpce-0a", "vpce-0b")}


def test_tls_needs_tls_details_on_every_call() -> None:
    ok = hardened(HardenEvidence(False, {GET: counts(5, **BASE)}), "tls")
    assert conditions(ok, "s3:GetObject") == {"Bool aws:SecureTransport": ("true",)}
    short = hardened(HardenEvidence(False, {GET: counts(5, **{**BASE,
                                                               "tls": {"TLSv1.2": 4, "": 1}})}),
                     "tls")
    assert conditions(short, "s3:GetObject") == {}
    assert "harden tls: not added: 1 of 5 call(s) without TLS details" in short.notes


def test_region_only_where_a_resource_leaves_it_open() -> None:
    evidence = HardenEvidence(False, {INVOKE: counts(4, **BASE), LIST_MODELS: counts(2, **BASE),
                                      GET: counts(3, **BASE)})
    result = hardened(evidence, "region")
    assert conditions(result, "bedrock:InvokeModel") == {}  # the model ARN names its region
    assert conditions(result, "bedrock:ListFoundationModels") == {
        "StringEquals aws:RequestedRegion": ("us-east-1",)}
    assert conditions(result, "s3:GetObject") == {  # S3 ARNs name no region
        "StringEquals aws:RequestedRegion": ("us-east-1",)}


def test_region_left_off_cross_region_inference() -> None:
    # One call in us-east-1 through an inference profile needs the model in us-west-2 too:
    # a statement open to any region that also names us-west-2 gets no us-east-1 condition.
    west = "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    evidence = HardenEvidence(False, {Permission("bedrock:InvokeModel", west): counts(2, **BASE),
                                      INVOKE: counts(2, **BASE)})
    stmt = Statement(actions=("bedrock:InvokeModel",), resources=(west, "arn:aws:bedrock:*::*"))
    out, added, [outcome] = harden_statements([stmt], evidence, ["region"], load_catalog())
    assert out == (stmt,) and added == ()
    assert outcome.reasons == (("a resource is in a region no call was made in "
                                "(cross-region inference)", 1),)
    # Through synthesis every resource names its region: nothing to add, nothing said.
    result = hardened(evidence, "region")
    assert all(not s.conditions for d in result.documents for s in d.statements)


def test_encryption_on_writes_that_always_sent_the_headers() -> None:
    facts = {**BASE, "sse": "aws:kms", "sse_kms_key": KEY}
    result = hardened(HardenEvidence(False, {PUT: counts(6, **facts)}), "encryption")
    assert conditions(result, "s3:PutObject") == {
        "StringEquals s3:x-amz-server-side-encryption": ("aws:kms",),
        "StringEquals s3:x-amz-server-side-encryption-aws-kms-key-id": (KEY,)}


def test_a_key_named_by_alias_keeps_only_the_header_condition() -> None:
    facts = {**BASE, "sse": "aws:kms", "sse_kms_key": {KEY: 5, "alias/scores": 1}}
    result = hardened(HardenEvidence(False, {PUT: counts(6, **facts)}), "encryption")
    assert conditions(result, "s3:PutObject") == {
        "StringEquals s3:x-amz-server-side-encryption": ("aws:kms",)}
    assert any("s3:x-amz-server-side-encryption-aws-kms-key-id not added" in n
               and "1 of 6 call(s)" in n for n in result.notes)


def test_upload_parts_keep_the_encryption_condition_out() -> None:
    # 1 CreateMultipartUpload with the header, 3 UploadPart and 1 Complete without the fact.
    facts = {**BASE, "sse": {"aws:kms": 1}}
    result = hardened(HardenEvidence(False, {PUT: counts(5, **facts)}), "encryption")
    assert conditions(result, "s3:PutObject") == {}
    assert any("4 of 5 call(s) without the x-amz-server-side-encryption header" in n
               for n in result.notes)


def test_encryption_keys_are_checked_against_the_catalog() -> None:
    # s3:GetObject takes no x-amz-server-side-encryption key: a statement with it is left alone.
    facts = {**BASE, "sse": "aws:kms", "sse_kms_key": KEY}
    evidence = HardenEvidence(False, {PUT: counts(2, **facts), GET: counts(2, **facts)})
    result = hardened(evidence, "encryption")
    statements = [s for d in result.documents for s in d.statements]
    assert [s.actions for s in statements] == [("s3:GetObject", "s3:PutObject")]
    assert not statements[0].conditions
    assert "harden encryption: not added: no statement it applies to" in result.notes


def test_guardrail_pins_the_guardrail_not_its_version() -> None:
    facts = {**BASE, "guardrail": {f"{GUARDRAIL}:3": 5, f"{GUARDRAIL}:4": 2}}
    result = hardened(HardenEvidence(False, {INVOKE: counts(7, **facts)}), "guardrail")
    assert conditions(result, "bedrock:InvokeModel") == {
        "StringLike bedrock:GuardrailIdentifier": (GUARDRAIL, f"{GUARDRAIL}:*")}
    for version in ("3", "5"):  # a later version still passes; another guardrail does not
        context, _ = context_of({"guardrail": f"{GUARDRAIL}:{version}"})
        assert evaluate(result.documents, Request("bedrock:InvokeModel", MODEL, context,
                                                  complete=True)).allowed
    context, _ = context_of({"guardrail": f"{GUARDRAIL}x:1"})
    assert not evaluate(result.documents, Request("bedrock:InvokeModel", MODEL, context,
                                                  complete=True)).allowed


def test_one_invocation_without_guardrail_adds_none() -> None:
    facts = {**BASE, "guardrail": {f"{GUARDRAIL}:3": 5, "": 1}}
    result = hardened(HardenEvidence(False, {INVOKE: counts(6, **facts)}), "guardrail")
    assert conditions(result, "bedrock:InvokeModel") == {}
    assert "harden guardrail: not added: 1 of 6 call(s) without a guardrail" in result.notes


def test_conditions_are_per_statement() -> None:
    # The writes came through the endpoint, the reads of another bucket did not.
    other = Permission("s3:GetObject", "arn:aws:s3:::inputs/a.csv")
    evidence = HardenEvidence(False, {
        PUT: counts(3, **{**BASE, "vpce": "vpce-0a"}),
        other: counts(4, **BASE),
    })
    result = hardened(evidence, "vpce")
    assert conditions(result, "s3:PutObject") == {"StringEquals aws:SourceVpce": ("vpce-0a",)}
    assert conditions(result, "s3:GetObject") == {}
    assert ("harden vpce: added to 1 of 2 statement(s) it applies to; not to the others: "
            "4 of 4 call(s) not through a VPC endpoint") in result.notes


def test_hardening_changes_no_sid() -> None:
    evidence = HardenEvidence(True, {INVOKE: counts(4, **BASE), LIST_MODELS: counts(2, **BASE),
                                      PUT: counts(2, **{**BASE, "sse": "AES256"})})
    plain = synthesize(list(evidence.facts))
    result = hardened(evidence)
    sids = [s.sid for d in plain.documents for s in d.statements]
    assert [s.sid for d in result.documents for s in d.statements] == sids
    assert all(s.conditions for d in result.documents for s in d.statements)


def test_derived_conditions_stay_and_separate_statements() -> None:
    via = Condition("StringEquals", "kms:ViaService", ("s3.us-east-1.amazonaws.com",))
    decrypt = Permission("kms:Decrypt", KEY, (via,))
    result = hardened(HardenEvidence(False, {decrypt: counts(2, **BASE)}), "tls")
    [stmt] = [s for d in result.documents for s in d.statements]
    assert via in stmt.conditions
    assert Condition("Bool", "aws:SecureTransport", ("true",)) in stmt.conditions
    assert stmt.sid == "KmsDecryptViaS3"


def test_evidence_of_merges_usages_and_skips_denied() -> None:
    usages = [
        Usage(USER, INVOKE, False, 3, T, T, ("us-east-1",), (("mfa", "true", 3),), "e1"),
        Usage(USER, INVOKE, True, 2, T, T, ("us-east-1",), (("mfa", "false", 2),), "e2"),
        Usage(ROLE, GET, False, 1, T, T, ("us-east-1",), (("mfa", "false", 1),), "e3"),
    ]
    evidence = evidence_of(USER, usages)
    assert evidence.person
    assert evidence.facts == {INVOKE: FactCounts(3, (("mfa", "true", 3),))}
    assert not evidence_of(ROLE, usages).person
    sso = Principal(f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/"
                    "AWSReservedSSO_Admin_0123456789abcdef", PrincipalKind.ROLE)
    assert not evidence_of(sso, [Usage(sso, GET, False, 1, T, T, ("us-east-1",),
                                       (("mfa", "true", 1),), "e4")]).person


def test_parse_harden() -> None:
    assert parse_harden(None) == ()
    assert parse_harden("tls, MFA") == ("mfa", "tls")  # data order, any case
    assert parse_harden("auto") == tuple(families())
    with pytest.raises(ValueError, match="unknown --harden family 'tsl': choose from mfa, "
                                         "vpce, tls, region, encryption, guardrail, auto"):
        parse_harden("mfa,tsl")
    with pytest.raises(ValueError):
        SynthSettings(harden=("nope",))
    from iamgen.commands.harden_option import harden_families
    with pytest.raises(UsageError):
        harden_families("everything")


def test_family_keys_apply_to_their_actions_in_the_catalog() -> None:
    catalog = load_catalog()
    for family in families().values():
        for spec in family.conditions:
            for action in spec.actions:
                info = catalog.action(action)
                assert info is not None, action
                assert spec.key.lower() in {k.lower() for k in info.condition_keys}, \
                    (family.name, spec.key, action)
            if not spec.key.startswith("aws:"):
                assert spec.actions, f"{spec.key}: name the actions it applies to"
        assert family.source.startswith("https://docs.aws.amazon.com/")


def test_request_contexts_past_the_limit_vary_one_value_at_a_time() -> None:
    facts = [("region", "us-east-1", 1), ("region", "eu-west-1", 1),
             ("vpce", "vpce-1", 1), ("vpce", "vpce-2", 1), ("vpce", "", 0)]
    assert len(request_contexts(facts)) == 4  # every combination (zero counts left out)
    contexts = [context for context, _ in request_contexts(facts, limit=3)]
    regions = [c["aws:RequestedRegion"] for c in contexts]
    endpoints = [c["aws:SourceVpce"] for c in contexts]
    assert list(zip(regions, endpoints)) == [("us-east-1", "vpce-1"), ("eu-west-1", "vpce-1"),
                                             ("us-east-1", "vpce-2")]
