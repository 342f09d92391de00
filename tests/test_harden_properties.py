"""Properties of hardening (hypothesis): every observed call is still allowed with its own
context; a request whose context violates an added condition is denied."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from iamgen.backtest import request_of
from iamgen.grants.evaluate import Decision, Request, evaluate, statement_applies
from iamgen.model import Permission
from iamgen.synth import SynthSettings, synthesize
from iamgen.synth.harden import (
    FactCounts,
    HardenEvidence,
    context_of,
    families,
    request_contexts,
    strip_hardening,
)
from tests.strategies import HARDEN_ACTIONS, fact_counts, permissions

# A value no observation had, per fact: it fails every condition decided on that fact.
UNSEEN = {
    "mfa": "false",
    "vpce": "vpce-0ffffffffffffffff",
    "tls": "",
    "region": "ap-south-2",
    "sse": "aws:kms:dsse",
    "sse_kms_key": "arn:aws:kms:us-east-1:111122223333:key/ffffffff",
    "guardrail": "arn:aws:bedrock:us-east-1:111122223333:guardrail/zz9zz9zz9zz9:1",
}
SPEC_OF = {spec.key.lower(): spec for family in families().values()
           for spec in family.conditions}


@st.composite
def evidence(draw: st.DrawFn) -> HardenEvidence:
    perms = draw(st.lists(permissions(HARDEN_ACTIONS), min_size=1, max_size=8,
                          unique_by=lambda p: (p.action.lower(), p.resource, p.conditions)))
    table: dict[Permission, FactCounts] = {}
    for perm in perms:
        action = next(a for a in HARDEN_ACTIONS if a.lower() == perm.action.lower())
        calls, facts = draw(fact_counts(action))
        table[perm] = FactCounts(calls, facts)
    return HardenEvidence(draw(st.booleans()), table)


def request(perm: Permission, facts: dict[str, str]) -> Request:
    base = request_of(perm)
    context, absent = context_of(facts)
    return Request(base.action, base.resource, {**base.context, **context}, complete=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evidence())
def test_every_observed_call_is_still_allowed(ev: HardenEvidence) -> None:
    result = synthesize(list(ev.facts), SynthSettings(harden=("auto",)), evidence=ev)
    for perm, counted in ev.facts.items():
        for context, _ in request_contexts(counted.facts):
            base = request_of(perm)
            asked = Request(base.action, base.resource, {**base.context, **context},
                            complete=True)
            assert evaluate(result.documents, asked).decision is Decision.ALLOW, (perm, context)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evidence(), st.data())
def test_a_context_that_violates_an_added_condition_is_denied(
        ev: HardenEvidence, data: st.DataObject) -> None:
    result = synthesize(list(ev.facts), SynthSettings(harden=("auto",)), evidence=ev)
    statements = [s for d in result.documents for s in d.statements]
    for perm, counted in ev.facts.items():
        observed = {fact: value for fact, value, count in counted.facts if count}
        plain = request(perm, observed)
        # The statements that grant the permission at all, conditions aside.
        granting = [s for s in statements
                    if statement_applies(strip_hardening(s), plain) is not False]
        if not granting:
            continue
        # A hardening key every granting statement carries: violating it must deny.
        shared = set.intersection(*({c.key.lower() for c in s.conditions
                                     if c.key.lower() in SPEC_OF} for s in granting))
        if not shared:
            continue
        key = data.draw(st.sampled_from(sorted(shared)))
        event(f"violated {key}")
        fact = SPEC_OF[key].fact
        assert evaluate(result.documents, request(perm, {**observed, fact: UNSEEN[fact]})
                        ).decision is Decision.IMPLICIT_DENY, (perm, key)
