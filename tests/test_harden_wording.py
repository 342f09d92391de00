"""How a call that fails a --harden condition is described
(iamgen.synth.harden.ConditionSpec.failure), as explain and backtest print it."""

from __future__ import annotations

from iamgen.synth.harden import ConditionSpec, families


def _spec(family: str, fact: str) -> ConditionSpec:
    return next(s for s in families()[family].conditions if s.fact == fact)


def test_a_condition_with_fixed_values_always_says_what_is_missing() -> None:
    mfa = _spec("mfa", "mfa")
    assert mfa.failure("false") == "without MFA"
    assert mfa.failure("") == "without MFA"


def test_a_condition_on_observed_values_names_the_failing_value() -> None:
    region = _spec("region", "region")
    assert region.failure("") == "with no region"
    assert region.failure("eu-west-1") == "with eu-west-1"
    key = _spec("encryption", "sse_kms_key")
    assert key.failure("alias/scores") == "with alias/scores"
