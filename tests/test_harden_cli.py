"""``--harden`` on suggest, backtest and explain, and the AI lens of review, end to end
through typer's CliRunner: on the bundled example account and on trails built like AWS's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app
from tests.records import ACCOUNT, record, write_trail_file

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account"
TRAIL = str(EXAMPLE / "trail")
GRANTS = str(EXAMPLE / "grants" / "account-authorization-details.json")
GUARDRAIL = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/q8w3e7r1t5y9"
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
TLS = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
       "clientProvidedHostHeader": "bedrock-runtime.us-east-1.amazonaws.com"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def conditions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s.get("Condition", {}) for s in document["Statement"]}


# --- the example account -------------------------------------------------------------


def test_example_person_gets_mfa_tls_and_guardrail_conditions() -> None:
    code, out, err = run("suggest", "priya.raman", "--trail", TRAIL, "--harden", "auto", "-q")
    assert code == 0, err
    found = conditions(json.loads(out))
    invoke = found["BedrockInvokeModel"]
    assert invoke["Bool"] == {"aws:MultiFactorAuthPresent": "true", "aws:SecureTransport": "true"}
    assert invoke["StringLike"] == {"bedrock:GuardrailIdentifier": [GUARDRAIL, f"{GUARDRAIL}:*"]}
    # Without --harden, the same policy without a Condition, Sids and all.
    code, plain, err = run("suggest", "priya.raman", "--trail", TRAIL, "-q")
    assert code == 0, err
    assert set(conditions(json.loads(plain))) == set(found)
    assert all(not c for c in conditions(json.loads(plain)).values())


def test_example_notes_say_what_each_condition_rests_on() -> None:
    code, _, err = run("suggest", "priya.raman", "--trail", TRAIL, "--harden", "mfa,vpce")
    assert code == 0, err
    assert ("note: priya.raman: harden mfa: Bool aws:MultiFactorAuthPresent true on "
            "BedrockApplyGuardrail (17 calls), BedrockInvokeModel (17 calls)") in err
    assert "note: priya.raman: harden vpce: not added: 39 of 39 call(s) not through a VPC " \
           "endpoint" in err


def test_example_role_behind_a_vpc_endpoint() -> None:
    code, out, err = run("suggest", "ml-batch-scoring", "--trail", TRAIL, "--harden", "auto", "-q")
    assert code == 0, err
    found = conditions(json.loads(out))
    put = found["S3PutObject"]["StringEquals"]
    assert put["aws:SourceVpce"] == "vpce-0c4f2a9e71b3d5a68"
    assert put["s3:x-amz-server-side-encryption"] == "aws:kms"
    assert put["s3:x-amz-server-side-encryption-aws-kms-key-id"].startswith("arn:aws:kms:")
    # S3 called KMS for the role: those calls came through no endpoint of the role's.
    assert "aws:SourceVpce" not in found["KmsGenerateDataKeyViaS3"].get("StringEquals", {})


def test_bad_harden_value_is_a_usage_error() -> None:
    code, out, err = run("suggest", "priya.raman", "--trail", TRAIL, "--harden", "mfa,tsl")
    assert code == 2 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("iamgen: error:")]
    assert lines == ["iamgen: error: unknown --harden family 'tsl': choose from mfa, vpce, tls, "
                     "region, encryption, guardrail, auto"]
    assert "Traceback" not in err


def test_example_review_has_its_ai_section() -> None:
    code, out, err = run("review", "--trail", TRAIL, "--grants", GRANTS, "-q")
    assert code == 0, err
    assert "AI security lens: 5 principal(s) use AI services (bedrock, sagemaker)" in out
    # calls counted per permission: 17 of the 22 went through a guardrail (ApplyGuardrail too)
    assert "priya.raman (user, person): bedrock, 39 calls" in out
    assert "MEDIUM AI_INVOCATION_WITHOUT_GUARDRAIL" in out
    code, out, err = run("review", "--trail", TRAIL, "--grants", GRANTS, "-q", "--format",
                         "json")
    assert code == 0, err
    by_name = {e["principal"]["name"]: e["review"]["ai"] for e in json.loads(out)}
    chat = by_name["chat-assistant-role-q3v8k2lw"]
    assert chat["uses_ai_services"] and not chat["person"]
    [finding] = chat["findings"]
    assert finding["code"] == "AI_INVOCATION_WITHOUT_GUARDRAIL"
    assert set(finding["evidence"]) == {"count", "first_seen", "last_seen", "example_event_id"}
    assert by_name["dana.okafor"] == {"schema_version": 1, "uses_ai_services": False,
                                      "services": [], "calls": 0, "person": None,
                                      "findings": []}


def test_example_review_shows_the_logging_change(tmp_path: Path) -> None:
    code, _, err = run("review", "--trail", TRAIL, "--grants", GRANTS, "-q", "--output-dir",
                       str(tmp_path))
    assert code == 0, err
    lens = json.loads((tmp_path / "review-ai.json").read_text(encoding="utf-8"))
    assert lens["signals_read"] and lens["facts_recorded"]
    changed = [f for f in lens["findings"] if f["code"] == "AI_INVOCATION_LOGGING_CHANGED"]
    assert [(f["principal"].rsplit("/", 1)[-1], f["detail"]) for f in changed] == [
        ("priya.raman", "no longer delivers text, embedding data; delivers to S3")]
    assert "## AI security lens" in (tmp_path / "review.md").read_text(encoding="utf-8")


# --- backtest and explain on a trail built like AWS's ----------------------------------


def researcher(mfa: str) -> dict[str, Any]:
    return {
        "type": "AssumedRole", "principalId": "AROAEXAMPLEID:priya",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Researcher/priya", "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLE",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID",
                              "arn": f"arn:aws:iam::{ACCOUNT}:role/Researcher",
                              "accountId": ACCOUNT, "userName": "Researcher"},
            "attributes": {"creationDate": "2026-11-01T08:00:00Z", "mfaAuthenticated": mfa}},
    }


def converse(day: int, mfa: str, guardrail: bool = True) -> dict[str, Any]:
    params: dict[str, Any] = {"modelId": MODEL}
    if guardrail:
        params["guardrailConfig"] = {"guardrailIdentifier": GUARDRAIL, "guardrailVersion": "3"}
    return record(researcher(mfa), "bedrock.amazonaws.com", "Converse", params,
                  time=f"2026-11-0{day}T09:00:00Z", tlsDetails=TLS)


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    """Days 1-3 with MFA; on day 5 one call without MFA (the holdout of --holdout 2d)."""
    root = tmp_path / "trail"
    for day in (1, 2, 3, 5):
        write_trail_file(root, [converse(day, "false" if day == 5 else "true")],
                         day=f"2026/11/0{day}", stamp=f"2026110{day}T0900Z")
    return root


def test_backtest_counts_a_held_out_call_that_fails_a_condition(trail: Path) -> None:
    code, out, err = run("backtest", "Researcher", "--trail", str(trail), "--holdout", "2d",
                         "--harden", "mfa", "--format", "json", "-q")
    assert code == 0, err
    body = json.loads(out)
    [entry] = body["principals"]
    assert body["settings"]["harden"] == ["mfa"]
    # The one call went through a guardrail: InvokeModel and ApplyGuardrail, both denied.
    assert entry["denied_calls"] == 2 and entry["denied_pairs"] == 2
    assert [e["reason"] for e in entry["denied_examples"]] == [
        "aws:MultiFactorAuthPresent: 1 call without MFA"] * 2
    code, text, err = run("backtest", "Researcher", "--trail", str(trail), "--holdout", "2d",
                          "--harden", "mfa", "-q")
    assert code == 0, err
    assert "(aws:MultiFactorAuthPresent: 1 call without MFA)" in text
    # Without --harden the same call is allowed, and nothing new is said.
    code, out, err = run("backtest", "Researcher", "--trail", str(trail), "--holdout", "2d",
                         "--format", "json", "-q")
    body = json.loads(out)
    assert body["principals"][0]["denied_calls"] == 0 and "harden" not in body["settings"]


def test_explain_says_what_each_call_supports(trail: Path) -> None:
    code, out, err = run("explain", "--trail", str(trail), "--harden", "mfa,tls,guardrail",
                         "--no-patterns")
    assert code == 0, err
    assert out.count("harden mfa: supports aws:MultiFactorAuthPresent (true)") == 3
    assert "harden mfa: does not support aws:MultiFactorAuthPresent (without MFA)" in out
    assert "harden tls: supports aws:SecureTransport (TLSv1.3)" in out
    assert f"harden guardrail: supports bedrock:GuardrailIdentifier ({GUARDRAIL}:3)" in out
    code, plain, _ = run("explain", "--trail", str(trail), "--no-patterns")
    assert "harden" not in plain
