"""The three renderings of a diff: terminal text, Markdown, JSON (and its documented schema)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from iamgen.diff import diff
from iamgen.findings import ObservedWindow
from iamgen.grants.load import parse_document
from iamgen.grants.model import GrantedPolicy, Grants, PolicyKind
from iamgen.model import Permission, Principal, PrincipalKind, Usage
from iamgen.render.report import (
    TEXT_LIST_LIMIT,
    render_json,
    render_markdown,
    render_text,
    report_dict,
)
from tests.grant_policies import ACCOUNT, BOUNDARY, SAGEMAKER_BROAD, TRAINING_DATA_INLINE

ROLE = Principal(f"arn:aws:iam::{ACCOUNT}:role/service-role/Trainer", PrincipalKind.ROLE)
WHEN = datetime(2026, 11, 3, 10, tzinfo=UTC)
REQUIRED = {"principal", "window", "used_granted", "unused_granted", "used_not_granted",
            "denied", "not_observable", "proposed_policy", "summary"}


def use(action: str, resource: str = "*", denied: bool = False) -> Usage:
    return Usage(ROLE, Permission(action, resource), denied, 3, WHEN - timedelta(days=2), WHEN,
                 ("us-east-1",))


@pytest.fixture
def report() -> dict:
    grants = Grants(ROLE, (
        GrantedPolicy("training-data", PolicyKind.INLINE,
                      parse_document(TRAINING_DATA_INLINE, "t")),
        GrantedPolicy("ml-sagemaker-broad", PolicyKind.MANAGED,
                      parse_document(SAGEMAKER_BROAD, "b"),
                      arn=f"arn:aws:iam::{ACCOUNT}:policy/ml-sagemaker-broad"),
    ), GrantedPolicy("ml-boundary", PolicyKind.BOUNDARY, parse_document(BOUNDARY, "x"),
                     arn=f"arn:aws:iam::{ACCOUNT}:policy/ml-boundary"), "grants.json")
    result = diff(ROLE, [
        use("sagemaker:CreateTrainingJob", f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:"
            "training-job/churn-1"),
        use("s3:GetObject", "arn:aws:s3:::ml-data/train/a.csv"),
        use("s3:GetObject", "arn:aws:s3:::shared/b.csv"),
        use("glue:DeleteTable", denied=True),
    ], grants, trail_actions=["s3:GetObject"],
        window=ObservedWindow(first_event=WHEN - timedelta(days=40), last_event=WHEN))
    return report_dict(result, catalog_version="test-catalog", iamgen_version="0.0.0")


def test_json_has_the_documented_keys_and_every_finding_names_action_resource_policy(
    report: dict
) -> None:
    parsed = json.loads(render_json([report]))
    assert REQUIRED <= set(parsed)
    assert parsed["principal"]["arn"] == ROLE.arn
    assert parsed["window"]["first_event"] == "2026-09-24T10:00:00Z"
    findings = [*parsed["used_granted"], *parsed["used_not_granted"], *parsed["denied"],
                *parsed["unused_granted"]["actions"], *parsed["not_observable"]]
    assert findings
    for finding in findings:
        assert {"code", "action", "resource", "policy"} <= set(finding), finding
        assert finding["code"] in parsed["findings"]
    used = {f["action"]: f for f in parsed["used_granted"]}
    assert used["sagemaker:CreateTrainingJob"]["policy"] == "ml-sagemaker-broad"
    assert used["sagemaker:CreateTrainingJob"]["grants"][0]["pattern"] == "sagemaker:*"
    assert parsed["used_not_granted"][0]["resource"] == "arn:aws:s3:::shared/b.csv"
    assert parsed["denied"][0]["decision_now"] == "implicit_deny"  # glue is outside the boundary
    unused = {f["action"]: f for f in parsed["unused_granted"]["actions"]}
    assert unused["ecr:DeleteRepository"]["resource"] == ["*"]
    assert unused["ecr:DeleteRepository"]["statement"] == 1
    assert unused["glue:GetTable"]["blocked_by"] == "boundary"
    assert parsed["summary"]["removed_share"] == round(
        parsed["summary"]["removed_actions"] / parsed["summary"]["granted_actions"], 4)
    assert parsed["proposed_policy"]["documents"][0]["Version"] == "2012-10-17"


def test_json_is_deterministic_and_several_principals_make_an_array(report: dict) -> None:
    assert render_json([report]) == render_json([json.loads(render_json([report]))])
    assert isinstance(json.loads(render_json([report, report])), list)


def test_every_top_level_key_is_documented(report: dict, repo_root: Path) -> None:
    doc = (repo_root / "docs" / "diff-schema.md").read_text(encoding="utf-8")
    top = doc.split("## Top level", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for row in top.splitlines():
        if row.startswith("| `"):
            documented.update(re.findall(r"`([a-z_]+)`", row.split("|")[1]))
    assert set(report) == documented
    summary = doc.split("## `summary`", 1)[1].split("\n## ", 1)[0]
    assert set(report["summary"]) == set(re.findall(r"`([a-z_]+)`", summary))


def test_markdown_has_the_sections_a_reviewer_reads(report: dict) -> None:
    text = render_markdown([report])
    headings = re.findall(r"^### (.+)$", text, flags=re.MULTILINE)
    assert headings == [
        "What to change",
        "Current grants",
        "Remove: services never used",
        "Remove: unused actions of services in use",
        "Remove: grants blocked anyway",
        "Keep: not observable",
        "Denied calls",
        "Used, not granted by identity policies",
        "Proposed policy",
    ]
    assert text.startswith("## iamgen diff: role `Trainer`")
    assert "**The proposed policy removes" in text
    assert "`iam:PassRole`" in text.split("### Keep: not observable", 1)[1]
    block = re.search(r"```json\n(.*?)\n```", text, flags=re.DOTALL)
    assert block is not None
    assert json.loads(block.group(1)) == report["proposed_policy"]["documents"][0]
    assert "permissions boundary `ml-boundary`" in text
    assert "IAM catalog test-catalog" in text


def test_markdown_template_can_be_overridden(report: dict, tmp_path: Path) -> None:
    (tmp_path / "diff.md.j2").write_text(
        "{% for r in reports %}{{ r.principal.name }}: {{ r.summary.removable_actions }}"
        "{% endfor %}\n", encoding="utf-8")
    assert render_markdown([report], tmp_path) == (
        f"Trainer: {report['summary']['removable_actions']}\n")


def test_text_table_and_lists(report: dict) -> None:
    text = render_text(report)
    rows = {line.split()[0]: line.split() for line in text.splitlines()
            if line.startswith("  ") and line.split() and line.split()[0] in {"granted", "used",
                                                                               "removable"}}
    s = report["summary"]
    assert rows["granted"][1:] == [str(s["granted_actions"]), str(s["granted_services"])]
    assert rows["removable"][1:] == [str(s["removable_actions"]), str(s["removable_services"])]
    assert "Keep: not observable in CloudTrail" in text
    assert "iam:PassRole (pass-role)" in text
    assert "What to change, statement by statement" in text
    assert re.search(r"narrow +ml-sagemaker-broad statement 1 \(SupportingServices\)", text)
    assert re.search(r"^  s3: \d+ unused \(used: GetObject\)", text, flags=re.MULTILINE)
    many = dict(report, denied=report["denied"] * (TEXT_LIST_LIMIT + 3))
    assert "... and 3 more" in render_text(many)  # long lists are cut in the terminal


def test_markdown_of_an_admin_role_fits_a_pull_request_description() -> None:
    """GitHub caps a pull request body at 65,536 characters; an AdministratorAccess role
    grants every action in the catalog, and the report must still fit."""
    admin = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    grants = Grants(ROLE, (GrantedPolicy("AdministratorAccess", PolicyKind.MANAGED,
                                         parse_document(admin, "a"),
                                         arn="arn:aws:iam::aws:policy/AdministratorAccess"),))
    result = diff(ROLE, [use("s3:GetObject", "arn:aws:s3:::ml-data/a.csv")], grants,
                  window=ObservedWindow(first_event=WHEN - timedelta(days=90), last_event=WHEN))
    assert result.summary.granted_actions > 10000
    report = report_dict(result, catalog_version="c", iamgen_version="v")
    text = render_markdown([report])
    assert len(text) < 65536
    assert "more services (`--format json` lists all)" in text
    assert len(json.loads(render_json([report]))["unused_granted"]["actions"]) == (
        result.summary.removable_actions)


def test_markdown_tables_hold_any_name_each_row_whole() -> None:
    """Resources, policy labels and Sids with a pipe, a backtick, a newline or
    HTML in them: each table row keeps its cells, and each value shows as
    itself (read back with markdown-it, as a renderer reads it)."""
    from markdown_it import MarkdownIt

    odd_key = "arn:aws:s3:::bkt/deny|me`x\nline</td><b>"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Odd", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    label = "pg/a|b`c<i>.json"
    grants = Grants(ROLE, (GrantedPolicy(label, PolicyKind.INLINE, parse_document(policy, "p")),))
    names = [f"arn:aws:s3:::bkt/out/<b>run</b>_<i>x</i>_2026-11-0{n}.json" for n in (1, 2, 3)]
    result = diff(ROLE, [use("s3:GetObject", odd_key), use("s3:PutObject", odd_key, denied=True),
                         *(use("s3:GetObject", name) for name in names)],
                  grants, window=ObservedWindow(first_event=WHEN - timedelta(days=9),
                                                last_event=WHEN))
    text = render_markdown([report_dict(result, catalog_version="c", iamgen_version="v")])
    html = MarkdownIt("commonmark").enable("table").render(text)
    for table in re.findall(r"<table>.*?</table>", html, re.DOTALL):
        widths = {len(re.findall(r"<t[hd]", row)) for row in re.findall(r"<tr>.*?</tr>", table,
                                                                          re.DOTALL)}
        assert len(widths) == 1, table
    assert "<b>" not in html and "<i>" not in html and "<em>" not in html
    assert "<code>arn:aws:s3:::bkt/deny|me`x\u240aline&lt;/td&gt;&lt;b&gt;</code>" in html
    assert "pg/a|b`c&lt;i&gt;.json" in html
    assert "stands for" in html  # a pattern note names the objects, escaped (no <b>, <i>)


def test_a_group_recorded_in_one_half_only_is_named_in_every_rendering(report: dict) -> None:
    # the trail shows S3 reads (GetObject), no write: writes may not be recorded
    assert report["coverage"]["data_event_halves_not_recorded"] == ["s3-objects:write"]
    assert "s3-objects" in report["coverage"]["data_events_recorded"]
    assert "only some data events for: s3-objects (no writes)" in render_text(report, width=200)
    assert "records no s3-objects:write data events" in render_markdown([report])
