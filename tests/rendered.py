"""Reading rendered policies back: Terraform data sources and CloudFormation
YAML decoded as those tools do, cfn-lint's errors, and policies in one
comparable form."""

from __future__ import annotations

import json
from typing import Any

import hcl2
import yaml
from cfnlint.api import ManualArgs, lint

from iamgen.render import META_SUFFIX, RenderedFile


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def normalized(policy: dict[str, Any]) -> dict[str, Any]:
    """A policy with every single-string element spelled as a one-item list."""
    statements = []
    for raw in policy["Statement"]:
        stmt = dict(raw)
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if key in stmt:
                stmt[key] = _as_list(stmt[key])
        if "Condition" in stmt:
            stmt["Condition"] = {
                op: {k: _as_list(v) for k, v in clauses.items()}
                for op, clauses in stmt["Condition"].items()
            }
        statements.append(stmt)
    return {"Version": policy["Version"], "Statement": statements}


def json_policies(fmt_files: tuple[RenderedFile, ...]) -> list[dict[str, Any]]:
    """The policies of the JSON output, in document order (sidecar excluded)."""
    return [json.loads(f.text) for f in fmt_files if not f.filename.endswith(META_SUFFIX)]


_HCL_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def hcl_literal(token: str) -> str:
    """Decode one quoted HCL string as Terraform does, refusing interpolation."""
    assert token.startswith('"') and token.endswith('"') and len(token) >= 2, token
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        if body.startswith("$${", i) or body.startswith("%%{", i):
            out.append(body[i + 1 : i + 3])
            i += 3
        elif body.startswith("${", i) or body.startswith("%{", i):
            raise AssertionError(f"unescaped template sequence in {token!r}")
        elif body[i] == "\\":
            code = body[i + 1]
            if code in _HCL_SIMPLE:
                out.append(_HCL_SIMPLE[code])
                i += 2
            elif code in "uU":
                width = 4 if code == "u" else 8
                out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
                i += 2 + width
            else:
                raise AssertionError(f"unknown escape \\{code} in {token!r}")
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def _unquote_label(label: str) -> str:
    return hcl_literal(label)


def terraform_blocks(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(data sources by label, aws_iam_policy resources by label) of a .tf file."""
    tree = hcl2.loads(text)
    data = _blocks(tree, "data", "aws_iam_policy_document")
    resources = _blocks(tree, "resource", "aws_iam_policy")
    assert set(tree) <= {"data", "resource", "__comments__"}, set(tree)
    return data, resources


def _blocks(tree: dict[str, Any], section: str, kind: str) -> dict[str, Any]:
    """The ``section`` blocks (all of type ``kind``) by label, each label once."""
    found: dict[str, Any] = {}
    for entry in tree.get(section, []):
        for found_kind, blocks in entry.items():
            assert _unquote_label(found_kind) == kind
            for label, body in blocks.items():
                assert _unquote_label(label) not in found, f"duplicate {section} {label}"
                found[_unquote_label(label)] = body
    return found


def policy_from_data_source(body: dict[str, Any]) -> dict[str, Any]:
    """The IAM policy an aws_iam_policy_document block stands for (lists throughout).

    The data source reads every ``&{`` as ``${`` (its spelling of IAM policy
    variables, with no escape for a literal ``&{``), so this does too.
    https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/iam_policy_document
    """
    def value(token: str) -> str:
        return hcl_literal(token).replace("&{", "${")

    statements = []
    for block in body.get("statement", []):
        stmt: dict[str, Any] = {}
        if "sid" in block:
            stmt["Sid"] = value(block["sid"])
        stmt["Effect"] = value(block.get("effect", '"Allow"'))
        for attribute, element in (
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ):
            if attribute in block:
                stmt[element] = [value(v) for v in block[attribute]]
        for cond in block.get("condition", []):
            clauses = stmt.setdefault("Condition", {}).setdefault(value(cond["test"]), {})
            clauses[value(cond["variable"])] = [value(v) for v in cond["values"]]
        statements.append(stmt)
    return {"Version": value(body["version"]), "Statement": statements}


def terraform_policies(text: str) -> list[dict[str, Any]]:
    """The IAM policy of each aws_iam_policy of a .tf file, in order: from the
    data source it names, or from the JSON text it holds."""
    data, resources = terraform_blocks(text)
    policies = []
    for label, body in resources.items():
        if body["policy"] == f"${{data.aws_iam_policy_document.{label}.json}}":
            policies.append(normalized(policy_from_data_source(data.pop(label))))
        else:
            policies.append(normalized(json.loads(hcl_literal(body["policy"]))))
    assert not data, f"data sources no policy uses: {sorted(data)}"
    return policies


class CloudFormationLoader(yaml.SafeLoader):
    """PyYAML's safe loader plus CloudFormation's short-form intrinsic tags."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def cloudformation(text: str) -> dict[str, Any]:
    """A CloudFormation template, short-form tags included."""
    return yaml.load(text, Loader=CloudFormationLoader)  # a SafeLoader subclass


def lint_errors(text: str) -> list[str]:
    """cfn-lint's findings on a template, one line each."""
    matches = lint(text, config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message}" for m in matches]
