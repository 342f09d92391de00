"""The pure backtest: learned documents and held-out usages in, figures out."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from iamgen.backtest import (
    Backtest,
    Figures,
    Learned,
    Pair,
    PrincipalBacktest,
    Probe,
    Split,
    backtest,
    check_probe,
    holdout_usages,
    parse_probes,
    replay,
    request_of,
)
from iamgen.model import (
    Condition,
    Permission,
    PolicyDocument,
    Principal,
    PrincipalKind,
    Statement,
    Usage,
)
from iamgen.render.backtest import backtest_dict, render_backtest_json, render_backtest_text
from iamgen.synth.settings import SynthSettings

ROLE = Principal("arn:aws:iam::111122223333:role/Trainer", PrincipalKind.ROLE)
OTHER = Principal("arn:aws:iam::111122223333:user/alice", PrincipalKind.USER)
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA_S3 = Condition("StringEquals", "kms:ViaService", ("s3.us-east-1.amazonaws.com",))
VIA_SQS = Condition("StringEquals", "kms:ViaService", ("sqs.us-east-1.amazonaws.com",))
T0 = datetime(2026, 11, 5, 12, tzinfo=UTC)

POLICY = PolicyDocument((
    Statement(actions=("s3:GetObject",),
              resources=("arn:aws:s3:::data/a.csv", "arn:aws:s3:::data/b.csv")),
    Statement(actions=("kms:Decrypt",), resources=(KEY,), conditions=(VIA_S3,)),
))
LEARNED = Learned((POLICY,), (321,), frozenset({"arn:aws:s3:::data/a.csv",
                                                 "arn:aws:s3:::data/b.csv", KEY}))


def use(action: str, resource: str, count: int = 1, *, principal: Principal = ROLE,
        conditions: tuple[Condition, ...] = (), denied: bool = False,
        when: datetime = T0) -> Usage:
    return Usage(principal, Permission(action, resource, conditions), denied, count, when, when,
                 ("us-east-1",))


def test_calls_in_the_policy_are_allowed_and_the_rest_denied() -> None:
    result = replay(ROLE, LEARNED, [
        use("s3:GetObject", "arn:aws:s3:::data/a.csv", 3),
        use("s3:GetObject", "arn:aws:s3:::data/b.csv", 1),
        use("s3:GetObject", "arn:aws:s3:::data/c.csv", 2),   # a new name, not in the policy
        use("s3:PutObject", "arn:aws:s3:::data/a.csv", 4),   # a known name, another action
        use("s3:GetObject", "arn:aws:s3:::data/d.csv", 9, denied=True),  # AWS denied: not replayed
    ])
    assert result.figures == Figures(calls=10, pairs=4, denied_calls=6, denied_pairs=2,
                                     new_pairs=1, new_allowed_pairs=0)
    assert result.figures.allowed_pairs == 2 and result.figures.allowed_calls == 4
    assert result.denied_examples == (Pair("s3:GetObject", "arn:aws:s3:::data/c.csv"),
                                      Pair("s3:PutObject", "arn:aws:s3:::data/a.csv"))
    assert (result.documents, result.sizes) == (1, (321,))


def test_a_new_name_allowed_by_a_wildcard_counts_as_durable() -> None:
    wide = PolicyDocument((Statement(actions=("s3:GetObject",),
                                     resources=("arn:aws:s3:::data/*",)),))
    learned = Learned((wide,), (100,), frozenset({"arn:aws:s3:::data/a.csv"}))
    result = replay(ROLE, learned, [use("s3:GetObject", "arn:aws:s3:::data/new.csv"),
                                    use("s3:GetObject", "arn:aws:s3:::data/a.csv"),
                                    use("s3:ListAllMyBuckets", "*")])
    assert result.figures.new_pairs == 1  # "*" names nothing: never a new name
    assert result.figures.new_allowed_pairs == 1
    assert result.figures.denied_pairs == 1  # ListAllMyBuckets


def test_a_secret_named_by_its_name_is_the_secret_of_that_name_seen_while_learning() -> None:
    """Learned from calls by full ARN, held out by name (``name-??????``, which
    stands for the one secret of that name): allowed, and not a new name. A
    name never seen stays what it is: denied, and new."""
    base = "arn:aws:secretsmanager:us-east-1:111122223333:secret:"
    policy = PolicyDocument((Statement(actions=("secretsmanager:GetSecretValue",),
                                       resources=(base + "prod/db-AbCdEf",)),))
    learned = Learned((policy,), (100,), frozenset({base + "prod/db-AbCdEf",
                                                    base + "prod/db-other-Zz9Yx8"}))
    result = replay(ROLE, learned, [use("secretsmanager:GetSecretValue", base + "prod/db-??????"),
                                    use("secretsmanager:GetSecretValue", base + "prod/api-??????"),
                                    use("secretsmanager:GetSecretValue", base + "prod/d-??????")])
    assert (result.figures.denied_pairs, result.figures.new_pairs) == (2, 2)
    assert result.denied_examples == (
        Pair("secretsmanager:GetSecretValue", base + "prod/api-??????"),
        Pair("secretsmanager:GetSecretValue", base + "prod/d-??????"))


def test_a_secret_learned_by_name_and_held_out_by_its_arn_is_no_new_name() -> None:
    base = "arn:aws:secretsmanager:us-east-1:111122223333:secret:"
    policy = PolicyDocument((Statement(actions=("secretsmanager:GetSecretValue",),
                                       resources=(base + "prod/db-??????",)),))
    learned = Learned((policy,), (100,), frozenset({base + "prod/db-??????"}))
    result = replay(ROLE, learned, [use("secretsmanager:GetSecretValue", base + "prod/db-AbCdEf"),
                                    use("secretsmanager:GetSecretValue", base + "prod/dbx-AbCdEf")])
    assert (result.figures.new_pairs, result.figures.denied_pairs) == (1, 1)


def test_conditions_of_a_permission_are_its_request_context() -> None:
    via_s3 = use("kms:Decrypt", KEY, 2, conditions=(VIA_S3,))
    via_sqs = use("kms:Decrypt", KEY, 1, conditions=(VIA_SQS,))
    direct = use("kms:Decrypt", KEY, 5)
    assert replay(ROLE, LEARNED, [via_s3]).figures.denied_pairs == 0
    assert replay(ROLE, LEARNED, [via_sqs]).figures.denied_calls == 1
    # No kms:ViaService derived: the call was direct, the key is absent, the condition fails.
    assert replay(ROLE, LEARNED, [direct]).figures.denied_calls == 5
    together = replay(ROLE, LEARNED, [via_s3, via_sqs, direct]).figures
    # One pair, denied because some of its calls are; calls counted one by one.
    assert (together.pairs, together.denied_pairs, together.calls, together.denied_calls) == (
        1, 1, 8, 6)
    unconditional = PolicyDocument((Statement(actions=("kms:Decrypt",), resources=(KEY,)),))
    assert replay(ROLE, Learned((unconditional,)), [via_sqs, direct]).figures.denied_calls == 0


def test_request_of_undoes_escapes_and_merges_values() -> None:
    permission = Permission("s3:GetObject", "arn:aws:s3:::b/odd${*}name",
                            (Condition("StringEquals", "k", ("a",)),
                             Condition("StringLike", "k", ("b",))))
    request = request_of(permission)
    assert request.resource == "arn:aws:s3:::b/odd*name"
    assert request.lookup("k") == ("a", "b")
    assert request.lookup("aws:SourceIp") == ()  # complete: anything else is absent


def test_nothing_learned_denies_everything_and_learning_only_reports_zero() -> None:
    result = backtest({OTHER: LEARNED}, [use("s3:GetObject", "arn:aws:s3:::data/a.csv", 2)])
    by = {entry.principal: entry for entry in result.principals}
    assert by[ROLE].documents == 0
    assert by[ROLE].figures == Figures(calls=2, pairs=1, denied_calls=2, denied_pairs=1,
                                       new_pairs=1, new_allowed_pairs=0)
    assert by[OTHER].figures == Figures()  # seen only while learning
    assert result.total.calls == 2 and result.total.denied_pairs == 1


def test_principals_limits_the_report() -> None:
    result = backtest({ROLE: LEARNED}, [use("s3:GetObject", "arn:aws:s3:::x", principal=OTHER)],
                      principals=[ROLE])
    assert [entry.principal for entry in result.principals] == [ROLE]
    assert result.total.calls == 0


def test_below_compares_the_share_of_allowed_pairs() -> None:
    figures = Figures(calls=10, pairs=4, denied_calls=1, denied_pairs=1)
    assert figures.below(76) and not figures.below(75)
    assert not Figures().below(100)  # nothing replayed: nothing to judge


def test_percentages_are_rounded_down() -> None:
    figures = Figures(calls=2000, pairs=3, denied_calls=1, denied_pairs=1)
    split = Split("1d", T0 - timedelta(days=3), T0, T0 + timedelta(days=1))
    body = backtest_dict(_single(figures), split, SynthSettings(), probes_given=False,
                         catalog_version="c", iamgen_version="v")
    assert body["total"]["allowed_calls_pct"] == 99.95
    assert body["total"]["allowed_pairs_pct"] == 66.66
    text = render_backtest_text(_single(figures), split, SynthSettings(), probes_given=False,
                                catalog_version="c", iamgen_version="v")
    assert "66.6% of pairs, 99.9% of calls" in text


def _single(figures: Figures) -> Backtest:
    return Backtest((PrincipalBacktest(ROLE, 1, (10,), figures, ()),))


def test_holdout_is_the_difference_of_the_two_windows() -> None:
    cut = T0 - timedelta(days=2)
    early = T0 - timedelta(days=4)
    whole = [use("s3:GetObject", "arn:aws:s3:::data/a.csv", 5, when=early),   # 3 before, 2 after
             use("s3:GetObject", "arn:aws:s3:::data/b.csv", 1, when=early),   # before only
             use("s3:GetObject", "arn:aws:s3:::data/c.csv", 2),               # after only
             use("s3:GetObject", "arn:aws:s3:::data/d.csv", 7, denied=True)]  # denied: never
    learning = [use("s3:GetObject", "arn:aws:s3:::data/a.csv", 3, when=early),
                use("s3:GetObject", "arn:aws:s3:::data/b.csv", 1, when=early)]
    held = holdout_usages(whole, learning, cut)
    assert [(u.permission.resource, u.count) for u in held] == [
        ("arn:aws:s3:::data/a.csv", 2), ("arn:aws:s3:::data/c.csv", 2)]
    assert held[0].first_seen == cut  # used before the cut too: its first held-out use is later
    assert held[1].first_seen == T0


def test_holdout_keeps_only_the_facts_counted_after_the_cut() -> None:
    cut = T0 - timedelta(days=2)
    early = T0 - timedelta(days=4)
    a, c = "arn:aws:s3:::data/a.csv", "arn:aws:s3:::data/c.csv"
    whole = [replace(use("s3:GetObject", a, 5, when=early), example_event_id="e-a",
                     context=(("mfa", "false", 1), ("mfa", "true", 4))),
             replace(use("s3:GetObject", c, 2), example_event_id="e-c",
                     context=(("mfa", "true", 2),))]
    learning = [replace(use("s3:GetObject", a, 3, when=early), example_event_id="e-a",
                        context=(("mfa", "true", 3),))]
    held = holdout_usages(whole, learning, cut)
    # The facts beyond the learning window's; a fact none of it counted is kept whole.
    assert [u.context for u in held] == [(("mfa", "false", 1), ("mfa", "true", 1)),
                                         (("mfa", "true", 2),)]
    # The example event is the earliest call's: before the cut, so not a held-out one.
    assert [u.example_event_id for u in held] == ["", "e-c"]


def test_probes_parse_with_bad_lines_counted() -> None:
    text = "\n".join([
        json.dumps({"principal": "Trainer", "action": "s3:DeleteObject",
                    "resource": "arn:aws:s3:::data/a.csv", "why": "no deletes", "ticket": 7}),
        "",
        "{not json",
        '["a list"]',
        '{"principal": "Trainer", "action": "s3:GetObject"}',
        '{"principal": "Trainer", "action": "s3:GetObject", "resource": "r", "why": 3}',
        '{"principal": "Trainer", "action": "s3:GetObject", "resource": "arn:aws:s3:::data/a.csv"}',
    ])
    probes, bad = parse_probes(text)
    assert probes == (
        Probe("Trainer", "s3:DeleteObject", "arn:aws:s3:::data/a.csv", "no deletes", 1),
        Probe("Trainer", "s3:GetObject", "arn:aws:s3:::data/a.csv", "", 7),
    )
    assert [line.line for line in bad] == [3, 4, 5, 6]
    assert "resource" in bad[2].reason


def test_probes_are_asked_of_the_named_principals_policy() -> None:
    learned = {ROLE: LEARNED}
    allowed = check_probe(Probe("Trainer", "s3:GetObject", "arn:aws:s3:::data/a.csv"), learned)
    assert allowed.allowed and allowed.allowed_by == (ROLE,)
    denied = check_probe(Probe(ROLE.arn, "s3:DeleteObject", "arn:aws:s3:::data/a.csv"), learned)
    assert not denied.allowed and denied.matched == (ROLE,)
    stranger = check_probe(Probe("nobody", "s3:GetObject", "arn:aws:s3:::data/a.csv"), learned)
    assert not stranger.allowed and stranger.matched == ()
    # No context in a probe: an Allow under a condition may apply, and counts as allowed.
    conditional = check_probe(Probe("Trainer", "kms:Decrypt", KEY), learned)
    assert conditional.allowed and conditional.conditional_by == (ROLE,)


def test_backtest_lists_allowed_probes_in_file_order() -> None:
    probes = [Probe("Trainer", "s3:DeleteObject", "arn:aws:s3:::data/a.csv", "", 1),
              Probe("Trainer", "s3:GetObject", "arn:aws:s3:::data/b.csv", "read only", 2)]
    result = backtest({ROLE: LEARNED}, [], probes=probes, malformed_probes=1)
    assert [o.probe.line for o in result.allowed_probes] == [2]
    body = backtest_dict(result, Split("1d", None, T0, T0), SynthSettings(), probes_given=True,
                         catalog_version="c", iamgen_version="v")
    assert body["expect_denied"]["checked"] == 2
    assert body["expect_denied"]["malformed_lines"] == 1
    assert body["expect_denied"]["allowed_requests"][0]["why"] == "read only"


def test_same_input_in_any_order_gives_the_same_report() -> None:
    holdout = [use("s3:GetObject", f"arn:aws:s3:::data/{name}.csv", count)
               for count, name in enumerate("abcdefghij", start=1)]
    holdout += [use("kms:Decrypt", KEY, 2, conditions=(VIA_S3,)),
                use("s3:GetObject", "arn:aws:s3:::data/a.csv", 4, principal=OTHER)]
    learned = {ROLE: LEARNED, OTHER: Learned()}
    split = Split("2d", T0 - timedelta(days=5), T0 - timedelta(days=2), T0)
    outputs = set()
    reports = []
    for seed in range(5):
        shuffled = list(holdout)
        random.Random(seed).shuffle(shuffled)
        order = list(learned.items())
        random.Random(seed).shuffle(order)
        result = backtest(dict(order), shuffled)
        reports.append(result)
        for render in (render_backtest_text, render_backtest_json):
            outputs.add(render(result, split, SynthSettings(), probes_given=False,
                               catalog_version="c", iamgen_version="v"))
    assert all(r == reports[0] for r in reports)
    assert len(outputs) == 2  # one text, one JSON


def test_expected_denials_no_json_reader_reads_are_bad_lines() -> None:
    text = "\n".join([
        '{"principal": "T", "action": "s3:X", "resource": "*", "n": ' + "9" * 5000 + "}",
        "[" * 100000,
        '{"principal": "Trainer", "action": "s3:GetObject", "resource": "arn:aws:s3:::d/a"}',
    ])
    probes, bad = parse_probes(text)
    assert [probe.line for probe in probes] == [3]
    assert [line.line for line in bad] == [1, 2]
    assert "nested too deeply" in bad[1].reason


@pytest.mark.parametrize("inside", ["\u2028", "\u2029", "\x85"])
def test_expected_denials_end_a_line_at_a_newline_only(inside: str) -> None:
    """JSON strings may hold U+2028 and the other characters str.splitlines
    ends a line at: the line is one probe, its numbers those of the file."""
    text = ('{"principal": "T", "action": "s3:GetObject", "resource": "arn:aws:s3:::d/a'
            + inside + 'b", "why": "odd key"}\r\n\n'
            + '{"principal": "T", "action": "s3:PutObject", "resource": "*"}\r'
            + '{"principal": "T", "action": "s3:ListBucket", "resource": "*"}\n')
    probes, bad = parse_probes(text)
    assert not bad
    assert [(probe.line, probe.resource) for probe in probes] == [
        (1, f"arn:aws:s3:::d/a{inside}b"), (3, "*"), (4, "*")]
