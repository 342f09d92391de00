"""Templates: shipped in iamgen.templates, overridable per file with --templates DIR."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import pytest

from iamgen.errors import UsageError
from iamgen.model import PolicyDocument, Principal, PrincipalKind, Provenance, Statement
from iamgen.render import FORMATS, render_policies
from iamgen.render.templates import template_environment

ROLE = Principal("arn:aws:iam::123456789012:role/deploy-pipeline", PrincipalKind.ROLE)
PROVENANCE = Provenance(ROLE, None, None, 3, "0.1.202610271", "0.1.0")
DOC = PolicyDocument((Statement(actions=("ecr:GetAuthorizationToken",), resources=("*",)),))
SHIPPED = ("policy.json.j2", "policy.tf.j2", "policy.yaml.j2")


def _copy_shipped(target: Path) -> Path:
    target.mkdir()
    for name in SHIPPED:
        (target / name).write_text(
            files("iamgen.templates").joinpath(name).read_text("utf-8"), "utf-8"
        )
    return target


def _user_templates(tmp_path: Path, name: str, body: str | bytes) -> Path:
    """A --templates folder holding one template, ``name``."""
    custom = tmp_path / "tpl"
    custom.mkdir()
    if isinstance(body, bytes):
        (custom / name).write_bytes(body)
    else:
        (custom / name).write_text(body, "utf-8")
    return custom


def test_every_format_has_a_shipped_template() -> None:
    shipped = {p.name for p in files("iamgen.templates").iterdir()}
    assert set(SHIPPED) <= shipped
    assert len(FORMATS) == len(SHIPPED)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unchanged_copies_render_the_same(tmp_path: Path, fmt: str) -> None:
    custom = _copy_shipped(tmp_path / "tpl")
    assert render_policies("deploy-pipeline", (DOC,), PROVENANCE, fmt, custom) == render_policies(
        "deploy-pipeline", (DOC,), PROVENANCE, fmt
    )


def test_a_changed_copy_is_used_and_others_fall_back_to_shipped(tmp_path: Path) -> None:
    custom = tmp_path / "tpl"
    custom.mkdir()
    shipped_tf = files("iamgen.templates").joinpath("policy.tf.j2").read_text("utf-8")
    changed = shipped_tf.replace(
        "  policy      = data.", '  path        = "/iamgen/"\n  policy      = data.'
    )
    assert changed != shipped_tf
    (custom / "policy.tf.j2").write_text(changed, "utf-8")
    (tf,) = render_policies("deploy-pipeline", (DOC,), PROVENANCE, "terraform", custom)
    assert '  path        = "/iamgen/"\n' in tf.text
    # No policy.yaml.j2 in the folder: the shipped one is used.
    assert render_policies("deploy-pipeline", (DOC,), PROVENANCE, "cloudformation", custom) == (
        render_policies("deploy-pipeline", (DOC,), PROVENANCE, "cloudformation")
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_shared_environment_renders_as_a_fresh_one(tmp_path: Path, fmt: str) -> None:
    # suggest --all renders every principal with one environment (templates compile once).
    custom = _user_templates(tmp_path, "policy.tf.j2", "custom {{ name }}\n")
    shared = template_environment(custom)
    other = Principal("arn:aws:iam::123456789012:role/other", PrincipalKind.ROLE)
    for name, provenance in (("deploy-pipeline", PROVENANCE), ("other", Provenance(
            other, None, None, 1, "0.1.202610271", "0.1.0"))):
        assert render_policies(name, (DOC,), provenance, fmt, custom, environment=shared) == (
            render_policies(name, (DOC,), provenance, fmt, custom))


def test_json_template_can_be_overridden(tmp_path: Path) -> None:
    custom = _user_templates(tmp_path, "policy.json.j2", '{"policy": {{ document.policy_json }}}')
    first = render_policies("deploy-pipeline", (DOC,), PROVENANCE, "json", custom)[0]
    assert first.text.startswith('{"policy": {\n  "Version"')


def test_missing_templates_dir_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a directory"):
        render_policies("deploy-pipeline", (DOC,), PROVENANCE, "terraform", tmp_path / "absent")


def test_broken_template_is_a_usage_error_naming_file_and_line(tmp_path: Path) -> None:
    custom = _user_templates(tmp_path, "policy.tf.j2", "# ok\n{% for x in documents %}\n")
    with pytest.raises(UsageError, match=r"policy\.tf\.j2 line \d"):
        render_policies("deploy-pipeline", (DOC,), PROVENANCE, "terraform", custom)


def test_undefined_variable_in_template_is_a_usage_error(tmp_path: Path) -> None:
    custom = _user_templates(tmp_path, "policy.yaml.j2", "{{ no_such_thing }}\n")
    with pytest.raises(UsageError, match="no_such_thing"):
        render_policies("deploy-pipeline", (DOC,), PROVENANCE, "cloudformation", custom)


@pytest.mark.parametrize(("body", "message"), [
    (b"{{ 1 / 0 }}\n", "ZeroDivisionError"),
    (b"{{ none + 1 }}\n", "TypeError"),
    (b"{{ [].pop() }}\n", "IndexError"),
    (b"{% include 'policy.tf.j2' %}\n", "RecursionError"),
    (b"\xff\xfe not utf-8\n", "not UTF-8 text"),
])
def test_a_template_that_fails_while_rendering_is_a_usage_error(
        tmp_path: Path, body: bytes, message: str) -> None:
    custom = _user_templates(tmp_path, "policy.tf.j2", body)
    with pytest.raises(UsageError, match=f"policy.tf.j2.*{message}"):
        render_policies("deploy-pipeline", (DOC,), PROVENANCE, "terraform", custom)


@pytest.mark.parametrize("kind", ["folder", "dangling link", "unreadable"])
def test_a_template_of_the_users_that_cannot_be_read_is_a_usage_error(
        tmp_path: Path, kind: str) -> None:
    """Never a silent fall back to the shipped template, nor a traceback."""
    custom = tmp_path / "tpl"
    custom.mkdir()
    entry = custom / "policy.tf.j2"
    if kind == "folder":
        entry.mkdir()
    elif kind == "dangling link":
        entry.symlink_to(tmp_path / "absent.j2")
    elif os.access("/proc/self/mem", os.F_OK):  # a file whose reading fails, as root too
        entry.symlink_to("/proc/self/mem")
    else:  # no /proc: a file this user may not read (not as root: see above)
        entry.write_text("# mine\n", "utf-8")
        entry.chmod(0)
    with pytest.raises(UsageError, match=r"template .*policy\.tf\.j2: (not a file|cannot read)"):
        render_policies("deploy-pipeline", (DOC,), PROVENANCE, "terraform", custom)


def test_a_template_a_users_template_includes_that_is_missing_is_named(tmp_path: Path) -> None:
    custom = _user_templates(tmp_path, "policy.tf.j2", "{% include 'nope.j2' %}\n")
    with pytest.raises(UsageError, match=r"^template nope\.j2 not found \(included by policy\.tf\.j2\)$"):
        render_policies("deploy-pipeline", (DOC,), PROVENANCE, "terraform", custom)


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="json, terraform, cloudformation"):
        render_policies("deploy-pipeline", (DOC,), PROVENANCE, "pulumi")


def test_unsafe_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        render_policies("../etc/passwd", (DOC,), PROVENANCE)


def test_no_documents_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        render_policies("deploy-pipeline", (), PROVENANCE)
