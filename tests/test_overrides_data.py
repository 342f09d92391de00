"""The resolution data files: every target exists, every entry says why and where AWS says so."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from typing import Any

import pytest

from iamgen.catalog import load_catalog
from iamgen.mapping.handlers import HANDLERS
from iamgen.mapping.templates import template, templates_of
from iamgen.mapping.rules import (
    event_rules,
    inference_geographies,
    pass_role_settings,
    placeholder_specs,
    request_actions,
    service_aliases,
)

DATA_FILES = (
    "event_overrides.toml",
    "service_aliases.toml",
    "resource_params.toml",
    "pass_role.toml",
    "inference_regions.toml",
    "correlations.toml",
)
AWS_SOURCES = ("https://docs.aws.amazon.com/",)


def _load(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("iamgen.data").joinpath(name).read_text(encoding="utf-8"))


def _entries(name: str) -> list[dict[str, Any]]:
    """Every table or array-of-tables entry in a data file."""
    found: list[dict[str, Any]] = []
    for value in _load(name).values():
        if isinstance(value, list):
            found.extend(v for v in value if isinstance(v, dict))
        elif isinstance(value, dict):
            found.append(value)
    return found


@pytest.mark.parametrize("name", DATA_FILES)
def test_every_entry_has_a_note_and_an_aws_source(name: str) -> None:
    entries = _entries(name)
    assert entries
    for entry in entries:
        assert entry.get("note", "").strip(), entry
        assert str(entry.get("source", "")).startswith(AWS_SOURCES), entry


def test_every_override_target_exists_in_the_catalog() -> None:
    catalog = load_catalog()
    rules = event_rules()
    assert rules
    for rule in rules.values():
        for action in rule.actions:
            info = catalog.action(action)
            assert info is not None, f"{rule.rule_id}: {action} is not in the catalog"
            assert info.full_name == action, f"{rule.rule_id}: spell {action} as {info.full_name}"


def test_overrides_say_exactly_one_thing() -> None:
    for rule in event_rules().values():
        assert (rule.no_grant is None) == bool(rule.actions), rule.rule_id
        if rule.handler is not None:
            assert rule.handler in HANDLERS, rule.rule_id


def test_overrides_only_cover_names_the_catalog_gets_wrong() -> None:
    """An entry for a name that is itself the right action would be noise, unless a handler refines it."""
    catalog = load_catalog()
    for (source, name), rule in event_rules().items():
        if rule.handler is None and rule.actions and name != "*":
            same = catalog.action(f"{source.removesuffix('.amazonaws.com')}:{name}")
            assert same is None or (same.full_name,) != rule.actions, rule.rule_id


def test_request_actions_exist_in_the_catalog() -> None:
    catalog = load_catalog()
    for extra in request_actions():
        assert catalog.has_action(extra.action)
        for action in extra.when_actions:
            assert catalog.has_action(action)


def test_aliases_point_to_catalog_services() -> None:
    catalog = load_catalog()
    for source, prefix in service_aliases().items():
        assert source.endswith(".amazonaws.com")
        assert catalog.has_service(prefix), prefix


def test_pass_role_settings_name_service_principals() -> None:
    for setting in pass_role_settings().values():
        assert setting.passed_to is None or setting.passed_to.endswith(".amazonaws.com")


def test_inference_geographies_list_regions() -> None:
    geographies = inference_geographies()
    assert {"us", "eu", "apac"} <= set(geographies)
    for prefix, regions in geographies.items():
        assert regions, prefix
        assert all(r == "*" or r.count("-") >= 2 for r in regions), prefix


def test_resource_param_entries_name_real_placeholders() -> None:
    """Each (service, resource type, placeholder) entry matches an ARN format in the catalog."""
    catalog = load_catalog()
    for entry in _load("resource_params.toml").get("param", []):
        service = entry.get("service", "*")
        if service == "*":
            continue
        rtype = entry.get("resource_type", "*")
        formats = catalog.resource_arn_formats(service)
        assert formats, service
        placeholders = {
            name
            for key, fmts in formats.items()
            if rtype in ("*", key) or rtype.lower() == key.lower()
            for fmt in fmts
            for name in template(service, key, fmt).names
        }
        assert entry["placeholder"] in placeholders, entry


def test_action_scoped_resource_params_name_actions_that_use_the_placeholder() -> None:
    """An entry limited to some actions names catalog actions whose ARN formats have it."""
    catalog = load_catalog()
    scoped = [e for e in _load("resource_params.toml").get("param", []) if "actions" in e]
    assert scoped
    for entry in scoped:
        for action in entry["actions"]:
            info = catalog.action(action)
            assert info is not None and info.full_name == action, action
            names = {
                name
                for tpl in templates_of(info.service, info.resource_types)
                if entry.get("resource_type", tpl.resource_type).lower() == tpl.resource_type.lower()
                for name in tpl.names
            }
            assert entry["placeholder"] in names, (action, entry["placeholder"])


def test_owner_account_entries_name_catalog_services() -> None:
    catalog = load_catalog()
    entries = _load("resource_params.toml").get("owner_account", [])
    assert entries
    for entry in entries:
        assert catalog.has_service(entry["service"]) and entry["paths"], entry
        # a resource type named must be one of the service's (else the entry is dead)
        known = {ref.name.lower() for s in (entry["service"],) for a in catalog.actions_of(s)
                 for ref in a.resource_types}
        assert {t.lower() for t in entry.get("resource_types", [])} <= known, entry
        assert re.compile(entry.get("pattern", "(x)")).groups >= 1, entry


def test_data_is_not_read_at_import() -> None:
    # In a fresh interpreter, so this process's modules (which other tests patch) stay as they are.
    import subprocess
    import sys

    check = (
        "import iamgen.mapping.rules as rules_data\n"
        "assert rules_data._load.cache_info().currsize == 0\n"
        "import iamgen.mapping.resolve\n"
        "assert rules_data._load.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)


def test_templates_compile_for_every_catalog_format_of_the_focus_services() -> None:
    catalog = load_catalog()
    for prefix in ("s3", "kms", "lambda", "sagemaker", "bedrock", "dynamodb", "secretsmanager", "logs", "ecr"):
        for info in catalog.actions_of(prefix):
            for tpl in templates_of(info.service, info.resource_types):
                assert tpl.arn_format.startswith("arn:")
                placeholder_specs(tpl.service, tpl.resource_type)


def test_correlations_pair_up_and_name_catalog_actions_and_types() -> None:
    from iamgen.mapping.resolve import service_prefix
    from iamgen.mapping.rules import correlation_rules

    catalog = load_catalog()
    producers, consumers = correlation_rules()
    assert {r.kind for r in consumers.values()} <= {r.kind for r in producers.values()}
    for (source, name), rule in (*producers.items(), *consumers.items()):
        service = service_prefix(source)
        assert catalog.action(f"{service}:{name}") is not None, (source, name)
    for (source, _), rule in producers.items():
        types = {t.lower() for t in catalog.resource_arn_formats(service_prefix(source))}
        assert rule.resource_type.lower() in types, rule


def test_a_created_only_extra_names_a_type_each_create_action_makes() -> None:
    """on = "created": every Create action listed makes a resource of the type
    its name says (CreateEndpointConfig -> endpoint-config), one the catalog
    lists for it; else the extra would never be granted."""
    from iamgen.mapping.rules import created_type

    catalog = load_catalog()
    for extra in request_actions():
        if not extra.created_only:
            continue
        for action in extra.when_actions:
            info = catalog.action(action)
            assert info is not None
            segments = {re.split(r"[/:]", arn.split(":", 5)[-1], maxsplit=1)[0]
                        for ref in info.resource_types for arn in ref.arn_formats}
            assert created_type(info.full_name) in segments, (action, sorted(segments))
