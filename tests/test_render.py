"""Rendered policies round-trip: what Terraform and CloudFormation files hold is
the policy the JSON output holds, and cfn-lint finds no errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import hcl2
import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from iamgen.model import Condition, PolicyDocument, Principal, PrincipalKind, Provenance, Statement
from iamgen.policy import parse_policy, render_policy_json
from iamgen.render import FORMATS, render_policies
from iamgen.render.escape import hcl_string, yaml_key, yaml_string
from tests.rendered import (
    cloudformation,
    hcl_literal,
    json_policies,
    lint_errors,
    normalized,
    policy_from_data_source,
    terraform_blocks,
    terraform_policies,
)
from tests.sample_policies import (
    ACCOUNT,
    DYNAMO_POLICY,
    FIRST,
    LAST,
    ML_POLICY,
    ODD_POLICY,
    ROLE,
    SPLIT,
    render_sample,
)

# ---------------------------------------------------------------- JSON


def test_json_files_are_canonical_policies_plus_a_provenance_sidecar() -> None:
    files = render_sample("json")
    names = [f.filename for f in files]
    assert names == [
        "SageMakerTrainingRole.json",
        "SageMakerTrainingRole.2.json",
        "SageMakerTrainingRole.3.json",
        "SageMakerTrainingRole.meta.json",
    ]
    for doc, rendered in zip(SPLIT, files, strict=False):
        assert rendered.text == render_policy_json(doc)
        assert parse_policy(rendered.text) == doc
        # IAM: "ID is allowed in resource-based policies, but not in identity-based
        # policies." https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_id.html
        assert "Id" not in json.loads(rendered.text)
    meta = json.loads(files[-1].text)
    assert meta == {
        "catalog_version": "0.1.202610271",
        "events": 1234,
        "first_event": "2026-11-02T08:15:00Z",
        "generator": "iamgen 0.1.0",
        "last_event": "2026-11-08T17:45:30Z",
        "policies": names[:-1],
        "principal": ROLE.arn,
    }


def test_single_document_gives_one_policy_file() -> None:
    files = render_sample("json", (DYNAMO_POLICY,))
    assert [f.filename for f in files] == [
        "SageMakerTrainingRole.json",
        "SageMakerTrainingRole.meta.json",
    ]


# ---------------------------------------------------------------- Terraform


@pytest.mark.parametrize("documents", [SPLIT, (ODD_POLICY,)], ids=["split", "odd-values"])
def test_terraform_holds_the_json_policies(documents: tuple[PolicyDocument, ...]) -> None:
    (tf,) = render_sample("terraform", documents)
    assert tf.filename == "SageMakerTrainingRole.tf"
    data, resources = terraform_blocks(tf.text)
    assert len(data) == len(documents) == len(resources)
    from_tf = [normalized(policy_from_data_source(body)) for body in data.values()]
    from_json = [normalized(p) for p in json_policies(render_sample("json", documents))]
    assert from_tf == from_json
    for label, body in resources.items():
        # The resource uses the data source of the same label.
        assert body["policy"] == f"${{data.aws_iam_policy_document.{label}.json}}"
    policy_names = [hcl_literal(body["name"]) for body in resources.values()]
    assert (
        policy_names
        == [
            "iamgen-SageMakerTrainingRole",
            "iamgen-SageMakerTrainingRole.2",
            "iamgen-SageMakerTrainingRole.3",
        ][: len(documents)]
    )


@pytest.mark.parametrize("odd", ["c&{aws:username}/z", "&{", "a&&{b}"])
def test_terraform_holds_a_literal_ampersand_brace(odd: str) -> None:
    """aws_iam_policy_document reads "&{" as "${" (a policy variable) and
    cannot hold a literal one: such a document's policy is its JSON text, and
    the other documents keep their data sources."""
    doc = PolicyDocument((
        Statement(actions=("s3:GetObject",), resources=(f"arn:aws:s3:::bkt/{odd}",)),
        Statement(actions=("s3:PutObject",), resources=("arn:aws:s3:::bkt/x",),
                  conditions=(Condition("StringEquals", "aws:SourceVpce", (f"vpce-{odd}",)),)),
    ))
    documents = (doc, DYNAMO_POLICY)
    (tf,) = render_sample("terraform", documents)
    from_json = [normalized(p) for p in json_policies(render_sample("json", documents))]
    assert terraform_policies(tf.text) == from_json
    data, _ = terraform_blocks(tf.text)
    assert len(data) == 1  # DYNAMO_POLICY's


def test_terraform_escapes_iam_policy_variables() -> None:
    # "$${" is a literal "${" in a Terraform string; an unescaped one would be
    # interpolated. https://developer.hashicorp.com/terraform/language/expressions/strings
    (tf,) = render_sample("terraform", (ML_POLICY,))
    assert '"arn:aws:s3:::ml-training-data/$${aws:PrincipalTag/team}/*"' in tf.text
    assert "/${aws:" not in tf.text


def test_terraform_value_cannot_inject_blocks() -> None:
    evil = 'x"]\n}\nresource "aws_iam_user" "pwned" {\n  name = "y'
    doc = PolicyDocument((Statement(actions=("s3:GetObject",), resources=(evil,)),))
    (tf,) = render_sample("terraform", (doc,))
    data, resources = terraform_blocks(tf.text)
    assert len(resources) == 1
    (body,) = data.values()
    assert policy_from_data_source(body)["Statement"][0]["Resource"] == [evil]


# ---------------------------------------------------------------- CloudFormation


@pytest.mark.parametrize("documents", [SPLIT, (ODD_POLICY,)], ids=["split", "odd-values"])
def test_cloudformation_holds_the_json_policies(documents: tuple[PolicyDocument, ...]) -> None:
    (cfn,) = render_sample("cloudformation", documents)
    assert cfn.filename == "SageMakerTrainingRole.yaml"
    template = cloudformation(cfn.text)
    resources = template["Resources"]
    assert all(r["Type"] == "AWS::IAM::ManagedPolicy" for r in resources.values())
    from_cfn = [r["Properties"]["PolicyDocument"] for r in resources.values()]
    # Not normalized: the YAML keeps each element's exact JSON shape.
    assert from_cfn == json_policies(render_sample("json", documents))
    assert [o["Value"] for o in template["Outputs"].values()] == [{"Ref": lid} for lid in resources]


def test_cloudformation_passes_cfn_lint() -> None:
    (cfn,) = render_sample("cloudformation")
    assert lint_errors(cfn.text) == []


def test_cfn_lint_would_catch_a_broken_template() -> None:
    # Guards the check above: the same template without its PolicyDocument fails.
    (cfn,) = render_sample("cloudformation", (DYNAMO_POLICY,))
    broken = cfn.text.replace("PolicyDocument:", "PolicyDocumentX:")
    assert any(e.startswith("E") for e in lint_errors(broken))


def test_cloudformation_agrees_with_cfn_lint_decoder() -> None:
    from cfnlint.decode.cfn_yaml import loads

    (cfn,) = render_sample("cloudformation")
    assert json.loads(json.dumps(loads(cfn.text))) == json.loads(
        json.dumps(cloudformation(cfn.text))
    )


@pytest.mark.parametrize("name", ["My.Role+x", "svc@team=1,2", "9lives", "_x-y", "a" * 64])
def test_odd_principal_names_render_valid_files(name: str) -> None:
    json_files = render_sample("json", name=name)
    assert [f.filename for f in json_files][:2] == [f"{name}.json", f"{name}.2.json"]
    (tf,) = render_sample("terraform", name=name)
    assert tf.filename == f"{name}.tf"
    data, resources = terraform_blocks(tf.text)
    assert set(data) == set(resources) and len(data) == 3
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", label) for label in data)
    (cfn,) = render_sample("cloudformation", name=name)
    assert cfn.filename == f"{name}.yaml"
    assert lint_errors(cfn.text) == []
    logical_ids = list(cloudformation(cfn.text)["Resources"])
    assert len(logical_ids) == 3 and all(
        re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", i) for i in logical_ids
    )


# ---------------------------------------------------------------- provenance


@pytest.mark.parametrize("fmt", ["terraform", "cloudformation"])
def test_header_comment_carries_provenance(fmt: str) -> None:
    (rendered,) = render_sample(fmt)
    header = []
    for line in rendered.text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    text = "\n".join(header)
    for fact in (
        ROLE.arn,
        "2026-11-02T08:15:00Z",
        "2026-11-08T17:45:30Z",
        "1234 ",
        "0.1.202610271",
        "iamgen 0.1.0",
        "3 managed policies",
    ):
        assert fact in text, fact
    assert len(header) <= 5


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_other_timestamps_than_the_observed_window(fmt: str) -> None:
    text = "".join(f.text for f in render_sample(fmt))
    stamps = set(re.findall(r"\d{4}-\d\d-\d\dT[\d:]+", text))
    assert stamps == {"2026-11-02T08:15:00", "2026-11-08T17:45:30"}


def test_window_is_written_in_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    prov = Provenance(
        ROLE, datetime(2026, 11, 2, 10, 0, tzinfo=plus2), datetime(2026, 11, 3), 5, "v", "0.1.0"
    )
    meta = json.loads(render_policies("r", (DYNAMO_POLICY,), prov)[-1].text)
    assert (meta["first_event"], meta["last_event"]) == (
        "2026-11-02T08:00:00Z",
        "2026-11-03T00:00:00Z",
    )


def test_unknown_window_is_said_so() -> None:
    prov = Provenance(ROLE, None, None, 0, "v", "0.1.0")
    (tf,) = render_policies("r", (DYNAMO_POLICY,), prov, "terraform")
    assert "unknown .. unknown" in tf.text


def test_control_characters_in_the_arn_cannot_leave_the_comment() -> None:
    odd = Principal(f'arn:aws:iam::{ACCOUNT}:role/x\nresource "evil" "e" {{}}', PrincipalKind.ROLE)
    prov = Provenance(odd, FIRST, LAST, 1, "v", "0.1.0")
    (tf,) = render_policies("x", (DYNAMO_POLICY,), prov, "terraform")
    _, resources = terraform_blocks(tf.text)
    assert len(resources) == 1
    (cfn,) = render_policies("x", (DYNAMO_POLICY,), prov, "cloudformation")
    assert set(cloudformation(cfn.text)) == {
        "AWSTemplateFormatVersion",
        "Description",
        "Resources",
        "Outputs",
    }


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_input_gives_byte_identical_files(fmt: str) -> None:
    assert render_sample(fmt) == render_sample(fmt)


def test_output_does_not_depend_on_hash_seed() -> None:
    script = (
        "import sys\n"
        "from iamgen.render import FORMATS\n"
        "from tests.sample_policies import render_sample\n"
        "for fmt in FORMATS:\n"
        "    for f in render_sample(fmt): sys.stdout.write(f.filename + '\\n' + f.text)\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
            cwd=str(__import__("pathlib").Path(__file__).parent.parent),
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert outputs.pop() == "".join(
        f.filename + "\n" + f.text for fmt in FORMATS for f in render_sample(fmt)
    )


# ---------------------------------------------------------------- escaping, property-based


def _python_hcl2_parses(value: str) -> bool:
    """python-hcl2 rejects an escaped ``$${``/``%%{`` with no ``}`` after it, which
    Terraform reads as literal text; such values are checked by
    test_unbalanced_template_markers_are_escaped instead."""
    return all("}" in value[i:] for i in range(len(value)) if value.startswith(("${", "%{"), i))


any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


def test_unbalanced_template_markers_are_escaped() -> None:
    assert hcl_string("a${b") == '"a$${b"'
    assert hcl_string("%{") == '"%%{"'
    assert hcl_literal(hcl_string("x$${y%{")) == "x$${y%{"


@given(any_text.filter(_python_hcl2_parses))
def test_hcl_string_round_trips_through_python_hcl2(value: str) -> None:
    tree = hcl2.loads(f"x = {hcl_string(value)}\n")
    assert hcl_literal(tree["x"]) == value


@given(any_text)
@example("true")
@example("No")
@example("null")
@example("~")
@example("aws:SourceIp")
@example("StringLike")
@example("2012-10-17")
@example("a: b")
@example("arn:aws:s3:::b/\ufffe")  # noncharacters: outside YAML's printable set
@example("\uffff")
def test_yaml_string_and_key_round_trip(value: str) -> None:
    assert yaml.safe_load(f"k: {yaml_string(value)}\n") == {"k": value}
    assert yaml.safe_load(f"{yaml_key(value)}: 1\n") == {value: 1}


policy_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12).filter(
    _python_hcl2_parses
)
words = st.lists(policy_text, min_size=1, max_size=3)
statements = st.builds(
    Statement,
    effect=st.sampled_from(["Allow", "Deny"]),
    actions=words.map(tuple),
    resources=words.map(tuple),
    conditions=st.lists(
        st.builds(
            Condition,
            st.sampled_from(["StringEquals", "StringLike", "ArnLike"]),
            policy_text,
            words.map(tuple),
        ),
        max_size=2,
        unique_by=lambda c: (c.operator, c.key),
    ).map(tuple),
    sid=st.from_regex(r"[A-Za-z0-9]{0,8}", fullmatch=True),
)
documents = st.lists(
    st.builds(PolicyDocument, st.lists(statements, min_size=1, max_size=3).map(tuple)),
    min_size=1,
    max_size=3,
).map(tuple)


@settings(max_examples=40)
@given(documents)
def test_any_policy_round_trips_through_terraform_and_cloudformation(
    docs: tuple[PolicyDocument, ...],
) -> None:
    expected = json_policies(render_sample("json", docs))
    (tf,) = render_sample("terraform", docs)
    data, _ = terraform_blocks(tf.text)
    assert [normalized(policy_from_data_source(b)) for b in data.values()] == [
        normalized(p) for p in expected
    ]
    (cfn,) = render_sample("cloudformation", docs)
    resources = cloudformation(cfn.text)["Resources"]
    assert [r["Properties"]["PolicyDocument"] for r in resources.values()] == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_files_are_tidy(fmt: str) -> None:
    for documents in (SPLIT, (ODD_POLICY,)):
        for rendered in render_sample(fmt, documents):
            lines = rendered.text.split("\n")
            assert rendered.text.endswith("\n") and not rendered.text.endswith("\n\n")
            assert all(line == line.rstrip() for line in lines), rendered.filename
            assert "\n\n\n" not in rendered.text
