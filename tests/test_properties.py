"""Properties of synthesis, checked with iamgen's own evaluator.

sound: every observed (action, resource) is allowed under the context that
produced it; tight: nothing else is, beyond the declared folds; deterministic;
stable; within the size limit; round-trips through JSON; only catalog actions;
every resource fits one of its action's ARN formats. Plus the evaluator's own
laws: a definite answer never changes when more context becomes known, a Deny
always wins, a boundary only ever takes away.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from functools import cache

from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    CONDITION_KEYS,
    CONDITION_VALUES,
    ML_ACTIONS,
    permission_lists,
    policies,
    requests,
    s3_object_arns,
    synth_settings,
)

from iamgen.arn import action_matches, resource_matches
from iamgen.catalog import load_catalog
from iamgen.grants.evaluate import Decision, Request, evaluate
from iamgen.model import Condition, Permission, PolicyDocument, Statement
from iamgen.policy import parse_policy, policy_size, render_policy_json
from iamgen.synth import Generalization, SynthResult, SynthSettings, synthesize

CATALOG = load_catalog()


def spelled(action: str) -> str:
    info = CATALOG.action(action)
    assert info is not None
    return info.full_name


def context_of(conditions: tuple[Condition, ...]) -> dict[str, tuple[str, ...]]:
    """A request context that satisfies iamgen's StringEquals conditions."""
    assert all(c.operator == "StringEquals" for c in conditions)
    return {c.key: (c.values[0],) for c in conditions}


def request_for(action: str, resource: str, conditions: tuple[Condition, ...]) -> Request:
    return Request(action, resource, context_of(conditions), complete=True)


def decision(result: SynthResult, request: Request) -> Decision:
    return evaluate(result.documents, request).decision


def observed(perms: Iterable[Permission]) -> set[Permission]:
    return {
        Permission(spelled(p.action), p.resource, tuple(sorted(set(p.conditions)))) for p in perms
    }


def justified(request: Request, evidence: set[Permission], result: SynthResult) -> bool:
    """Whether an allowed request is backed by an observation, a declared fold,
    or a declared name pattern whose names the action was observed on."""
    for perm in evidence:
        if perm.action != request.action:
            continue
        if not all(request.context.get(c.key.lower()) == (c.values[0],) for c in perm.conditions):
            continue
        if perm.resource == "*" or resource_matches(perm.resource, request.resource):
            return True
    for fold in result.folds:
        if (
            request.action in fold.actions
            and resource_matches(fold.pattern, request.resource)
            and all(request.context.get(c.key.lower()) == (c.values[0],) for c in fold.conditions)
        ):
            return True
    for pattern in result.patterns:
        if not resource_matches(pattern.pattern, request.resource):
            continue
        for perm in evidence:
            if (perm.action == request.action and perm.resource in pattern.names
                    and all(request.context.get(c.key.lower()) == (c.values[0],)
                            for c in perm.conditions)):
                return True
    return False


@cache
def _format_regex(arn_format: str) -> re.Pattern[str]:
    parts = re.split(r"\$\{[^}]+\}", arn_format)
    return re.compile(".+".join(re.escape(p) for p in parts))


def fits_catalog_format(action: str, resource: str) -> bool:
    info = CATALOG.action(action)
    assert info is not None
    return any(
        _format_regex(fmt).fullmatch(resource)
        for rtype in info.resource_types
        for fmt in rtype.arn_formats
    )


def expand(documents: Iterable[PolicyDocument]) -> list[Permission]:
    """The permissions a synthesized policy grants, one per (action, resource)."""
    return [
        Permission(action, resource, stmt.conditions)
        for doc in documents
        for stmt in doc.statements
        for action in stmt.actions
        for resource in stmt.resources
    ]


# --- synthesis ----------------------------------------------------------------------


@given(permission_lists, synth_settings)
def test_sound_every_observed_request_is_allowed(
    perms: list[Permission], settings: SynthSettings
) -> None:
    result = synthesize(perms, settings)
    for perm in observed(perms):
        request = request_for(perm.action, perm.resource, perm.conditions)
        assert decision(result, request) is Decision.ALLOW, perm


@given(permission_lists, synth_settings, st.data())
def test_names_kept_exact_are_granted_and_all_kept_exact_is_no_generalization(
    perms: list[Permission], settings: SynthSettings, data: st.DataObject
) -> None:
    """``exact`` (as a diff's proposal uses it) never loses a permission; with
    every name kept exact, synthesis generalizes nothing, as at ``none``."""
    keys = sorted({(p.action.lower(), p.resource) for p in perms})
    exact = data.draw(st.sets(st.sampled_from(keys)) if keys else st.just(set()))
    result = synthesize(perms, settings, exact=exact)
    for perm in observed(perms):
        request = request_for(perm.action, perm.resource, perm.conditions)
        assert decision(result, request) is Decision.ALLOW, perm
    none = replace(settings, generalization=Generalization.NONE)
    everything = synthesize(perms, settings, exact=keys)
    assert everything.documents == synthesize(perms, none).documents
    assert everything.folds == ()


@given(permission_lists, synth_settings, st.data())
def test_tight_nothing_unobserved_is_allowed(
    perms: list[Permission], settings: SynthSettings, data: st.DataObject
) -> None:
    result = synthesize(perms, settings)
    evidence = observed(perms)
    contexts = {p.conditions for p in evidence} | {()}
    resources = sorted({p.resource for p in evidence} | {"*"})
    probes = [data.draw(s3_object_arns()) for _ in range(3)]
    probes += [r + "x" for r in resources[:3] if r != "*"]
    for action in ML_ACTIONS:
        for resource in resources + probes:
            for conds in contexts:
                request = request_for(spelled(action), resource, conds)
                if decision(result, request) is Decision.ALLOW:
                    assert justified(request, evidence, result), request


@given(permission_lists, synth_settings, st.randoms(use_true_random=False))
def test_deterministic_under_shuffling(
    perms: list[Permission], settings: SynthSettings, rnd
) -> None:  # type: ignore[no-untyped-def]
    first = synthesize(perms, settings)
    shuffled = list(perms)
    rnd.shuffle(shuffled)
    second = synthesize(shuffled + perms[: len(perms) // 2], settings)  # duplicates change nothing
    assert [render_policy_json(d) for d in first.documents] == [
        render_policy_json(d) for d in second.documents
    ]
    assert first.notes == second.notes and first.folds == second.folds
    assert first.patterns == second.patterns


@given(permission_lists, synth_settings)
def test_stable_on_its_own_output(perms: list[Permission], settings: SynthSettings) -> None:
    first = synthesize(perms, settings)
    again = synthesize(expand(first.documents), settings)
    assert [render_policy_json(d) for d in again.documents] == [
        render_policy_json(d) for d in first.documents
    ]


@given(permission_lists, synth_settings)
def test_documents_fit_and_round_trip(perms: list[Permission], settings: SynthSettings) -> None:
    result = synthesize(perms, settings)
    assert result.documents
    for doc in result.documents:
        assert policy_size(doc) <= settings.size_limit
        assert parse_policy(render_policy_json(doc)) == doc
    sids = [s.sid for doc in result.documents for s in doc.statements]
    assert len(sids) == len(set(sids))
    assert all(re.fullmatch(r"[A-Za-z0-9]{1,64}", sid) for sid in sids)


@given(permission_lists, synth_settings)
def test_actions_in_catalog_and_resources_fit_their_formats(
    perms: list[Permission], settings: SynthSettings
) -> None:
    result = synthesize(perms, settings)
    star_actions = {spelled(p.action) for p in perms if p.resource == "*"}
    for doc in result.documents:
        for stmt in doc.statements:
            assert stmt.effect == "Allow" and not stmt.not_actions and not stmt.not_resources
            assert list(stmt.actions) == sorted(stmt.actions, key=lambda a: (a.lower(), a))
            assert list(stmt.resources) == sorted(stmt.resources)
            for action in stmt.actions:
                info = CATALOG.action(action)
                assert info is not None and info.full_name == action
                for resource in stmt.resources:
                    if resource == "*":
                        assert action in star_actions
                    else:
                        assert fits_catalog_format(action, resource), (action, resource)


def effective_threshold(result: SynthResult, settings: SynthSettings) -> int:
    """The fold threshold synthesis ended with (lowered when documents overflowed)."""
    lowered = [
        int(m.group(1)) for n in result.notes for m in [re.search(r"lowered to (\d+)", n)] if m
    ]
    return lowered[-1] if lowered else settings.fold_threshold


@given(permission_lists, synth_settings)
def test_folds_stay_inside_one_bucket_and_are_backed_by_evidence(
    perms: list[Permission], settings: SynthSettings
) -> None:
    result = synthesize(perms, settings)
    evidence = observed(perms)
    if settings.generalization in (Generalization.NONE, Generalization.PATTERNS):
        assert result.folds == ()
    threshold = effective_threshold(result, settings)
    for fold in result.folds:
        assert fold.pattern.endswith("*") and not {"*", "?"} & set(fold.pattern[:-1])
        backing = {
            p.resource
            for p in evidence
            if p.action in fold.actions
            and p.conditions == fold.conditions
            and resource_matches(fold.pattern, p.resource)
        }
        assert len(backing) == fold.observed
        if ":logs:" in fold.pattern:
            # all streams of one log group, never more than one group
            assert fold.pattern.endswith(":log-stream:*") and fold.pattern.count(":log-group:") == 1
            for action in fold.actions:
                mine = {
                    p.resource
                    for p in evidence
                    if p.action == action
                    and p.conditions == fold.conditions
                    and resource_matches(fold.pattern, p.resource)
                }
                assert len(mine) > threshold, (action, fold.pattern)
            continue
        bucket_and_prefix = fold.pattern.split(":::", 1)[1]
        assert bucket_and_prefix.endswith("/*")
        folder = bucket_and_prefix[:-2]
        if settings.generalization is Generalization.PREFIX:
            assert "/" in folder  # never a whole bucket
        for action in fold.actions:
            mine = {
                p.resource.split(":::", 1)[1]
                for p in evidence
                if p.action == action
                and p.conditions == fold.conditions
                and resource_matches(fold.pattern, p.resource)
            }
            if settings.generalization is Generalization.PREFIX:
                # more than the threshold of objects directly in the folder, for this action
                direct = {r for r in mine if r.rpartition("/")[0] == folder}
                assert len(direct) > threshold, (action, fold.pattern)
            else:
                # more than the threshold of distinct children (objects or sub-folders)
                children = {r[len(folder) + 1 :].split("/", 1)[0] for r in mine}
                assert len(children) > threshold, (action, fold.pattern)


@given(
    st.lists(
        st.sampled_from(
            [
                "s3:GetObjectVersion",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
                "s3:GetObjectVersionAttributes",
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionTorrent",
                "s3:GetObjectAcl",
                "s3:GetObject",
                "s3:PutObject",
            ]
        ),
        min_size=1,
        unique=True,
    )
)
def test_compressed_wildcards_match_only_observed_actions(actions: list[str]) -> None:
    perms = [Permission(a, "arn:aws:s3:::b/k") for a in actions]
    result = synthesize(perms, SynthSettings(compress_actions=True))
    for doc in result.documents:
        for stmt in doc.statements:
            for pattern in stmt.actions:
                granted = {
                    a.full_name
                    for a in CATALOG.actions_of("s3")
                    if action_matches(pattern, a.full_name)
                }
                assert granted and granted <= set(actions), pattern
    for action in actions:
        assert (
            decision(result, Request(action, "arn:aws:s3:::b/k", complete=True)) is Decision.ALLOW
        )


# --- the evaluator's own laws -----------------------------------------------------


def _extend(request: Request, values: dict[str, tuple[str, ...]], complete: bool) -> Request:
    return Request(
        request.action, request.resource, {**values, **request.context}, complete=complete
    )


@given(
    policies,
    requests(),
    st.dictionaries(
        st.sampled_from(CONDITION_KEYS + ("aws:username",)),
        st.sampled_from(CONDITION_VALUES).map(lambda v: (v,)),
    ),
    st.booleans(),
)
def test_definite_answers_survive_more_context(
    policy: PolicyDocument, request: Request, extra: dict[str, tuple[str, ...]], complete: bool
) -> None:
    before = evaluate([policy], request)
    after = evaluate([policy], _extend(request, extra, complete))
    if before.allowed is not None:
        assert after.allowed is before.allowed
    if before.decision in (Decision.ALLOW, Decision.EXPLICIT_DENY):
        assert after.decision is before.decision
    # An implicit deny may turn out explicit once an undecided Deny is decided.
    if before.decision is Decision.IMPLICIT_DENY and after.decision is Decision.EXPLICIT_DENY:
        assert any(r.effect == "Deny" for r in before.undecided)


@given(policies, requests())
def test_a_matching_deny_always_wins(policy: PolicyDocument, request: Request) -> None:
    guard = PolicyDocument(
        statements=(Statement(effect="Deny", actions=(request.action,), resources=("*",)),)
    )
    assert evaluate([policy, guard], request).decision is Decision.EXPLICIT_DENY


@given(policies, policies, requests())
def test_a_boundary_only_takes_away(
    policy: PolicyDocument, boundary: PolicyDocument, request: Request
) -> None:
    alone = evaluate([policy], request).decision
    bounded = evaluate([policy], request, boundary).decision
    if bounded is Decision.ALLOW:
        assert alone is Decision.ALLOW
    if alone in (Decision.IMPLICIT_DENY, Decision.EXPLICIT_DENY):
        assert bounded in (Decision.IMPLICIT_DENY, Decision.EXPLICIT_DENY)
    everything = PolicyDocument(statements=(Statement(actions=("*",), resources=("*",)),))
    assert evaluate([policy], request, everything).decision is alone


@given(policies)
def test_policies_round_trip_through_json(policy: PolicyDocument) -> None:
    assert parse_policy(render_policy_json(policy)) == policy
