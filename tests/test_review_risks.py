"""The risky-grant data of ``iamgen/data/review_risks.toml``, checked against the IAM catalog."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from iamgen.arn import wildcard_match
from iamgen.catalog import load_catalog
from iamgen.review import SERVICE_WILDCARD_ALL, WILDCARD_ALL, RiskKind, RiskRule, risk_catalog

RULES = risk_catalog().rules
KINDS = [*risk_catalog().wildcards, *(rule.kind for rule in RULES)]
SEVERITIES = {"critical", "high", "medium", "low"}


def resource_part(arn_format: str) -> str:
    """The resource part of a catalog ARN format, its ${placeholders} as ``*``."""
    return re.sub(r"\$\{[^}]+\}", "*", arn_format.split(":", 5)[5])


@pytest.mark.parametrize("kind", KINDS, ids=[k.code for k in KINDS])
def test_every_kind_has_a_stable_code_a_note_and_an_aws_source(kind: RiskKind) -> None:
    assert re.fullmatch(r"[A-Z][A-Z_]+", kind.code)
    assert kind.severity in SEVERITIES
    assert kind.title and len(kind.note) > 40
    assert kind.source.startswith("https://docs.aws.amazon.com/")


def test_codes_are_unique_and_both_wildcard_kinds_are_there() -> None:
    codes = [k.code for k in KINDS]
    assert len(codes) == len(set(codes))
    assert {WILDCARD_ALL, SERVICE_WILDCARD_ALL} <= {k.code for k in risk_catalog().wildcards}


@pytest.mark.parametrize("rule", RULES, ids=[r.kind.code for r in RULES])
def test_every_rule_action_exists_and_some_probe_is_one_of_its_resources(rule: RiskRule) -> None:
    """A misspelt action, or a probe no resource type of the action has, would never fire."""
    catalog = load_catalog()
    for action in rule.actions:
        info = catalog.action(action.lower())
        assert info is not None, f"{action} is not in the catalog"
        formats = [f for rt in info.resource_types for f in rt.arn_formats
                   if f.split(":")[2] == info.service]
        probes = [resource for service, resource in rule.probes if service == info.service]
        assert any(wildcard_match(resource_part(f), probe) for f in formats for probe in probes), (
            f"no probe of {rule.kind.code} is a resource of {action}")


@pytest.mark.parametrize("rule", RULES, ids=[r.kind.code for r in RULES])
def test_every_probe_belongs_to_an_action_of_its_rule(rule: RiskRule) -> None:
    services = {action.split(":")[0].lower() for action in rule.actions}
    assert {service for service, _ in rule.probes} <= services


def test_the_data_file_is_read_on_first_use_not_at_import() -> None:
    code = ("import iamgen.review as r, sys; "
            "sys.exit(r.risk_catalog.cache_info().currsize)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_service_s_arn_formats_are_read_once_and_handed_out_as_copies(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import iamgen.catalog as catalog_module

    catalog = catalog_module.Catalog()
    reads: list[tuple[str, ...]] = []
    real = catalog_module._read
    monkeypatch.setattr(catalog_module, "_read",
                        lambda *parts: reads.append(parts) or real(*parts))
    first = catalog.resource_arn_formats("KMS")
    first.clear()  # a caller's changes stay its own
    assert catalog.resource_arn_formats("kms") == catalog.resource_arn_formats("kms") != {}
    assert reads.count(("resourceTypes", "kms.json")) == 1
