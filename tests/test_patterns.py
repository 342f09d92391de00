"""Name patterns: only what varied becomes ``*`` (iamgen/synth/patterns.py).

Properties (hypothesis) over names drawn from templates with fixed words,
words drawn from a few, and shaped tokens (dates, UUIDs, hex, counters):
sound, bounded, monotone, no variation no wildcard, never across scopes,
deterministic under shuffling. Each property is a checker returning its
violations, and a planted bug shows each checker can fail.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamgen.arn import resource_matches
from iamgen.catalog import load_catalog
from iamgen.grants.evaluate import allows
from iamgen.model import Permission
from iamgen.synth import SynthSettings, synthesize
from iamgen.synth import patterns as patterns_module
from iamgen.synth.patterns import (
    NamePattern,
    apply_patterns,
    infer_patterns,
    locate,
    parse_name_rules,
    tokenize,
)
from iamgen.synth.synthesize import pattern_pool
from iamgen.synth.settings import Generalization

from tests.strategies import name_families, name_of

Found = dict[str, NamePattern]
Infer = Callable[[Iterable[str]], Found]


def infer(names: Iterable[str]) -> Found:
    return infer_patterns(names, min_variants=3)


def allowed_names(found: Found, names: Iterable[str]) -> Callable[[str], bool]:
    """A predicate: whether the resources after patterning admit ``name``."""
    granted = {found[n].pattern if n in found else n for n in names}
    return lambda name: any(resource_matches(g, name) for g in granted)


# --- checkers -------------------------------------------------------------------------


def unsound(names: list[str], found: Found) -> list[str]:
    """Observed names their own pattern does not admit."""
    return [n for n in names if n in found and not resource_matches(found[n].pattern, n)]


def unbounded(found: Found) -> list[str]:
    """Names admitted although they differ from every observation in a token
    that did not vary (the first character of a constant token changed)."""
    bad = []
    for pattern in set(found.values()):
        rows = [tokenize(locate(n).name) for n in pattern.names]  # type: ignore[union-attr]
        scope = locate(pattern.names[0]).scope  # type: ignore[union-attr]
        for position, token in enumerate(rows[0]):
            if token.kind == "sep" or any(row[position].text != token.text for row in rows):
                continue
            for row in rows:
                texts = [t.text for t in row]
                texts[position] = "Q" + texts[position][1:]
                mutant = scope + "".join(texts)
                if resource_matches(pattern.pattern, mutant):
                    bad.append(mutant)
    return bad


def not_monotone(small: Found, small_names: list[str], big: Found, big_names: list[str],
                 probes: Iterable[str]) -> list[str]:
    """Probes the smaller evidence admits and the larger does not."""
    before, after = allowed_names(small, small_names), allowed_names(big, big_names)
    return [p for p in probes if before(p) and not after(p)]


def wild_without_variation(found: Found) -> list[str]:
    """Patterns made from names that never varied (no data entry declared them)."""
    return [p.pattern for p in set(found.values()) if len(p.names) < 2 and not p.family]


def crossing(found: Found) -> list[str]:
    """Patterns that leave the scope of a name they stand for, or are a bare ``*``."""
    bad = []
    for pattern in set(found.values()):
        for name in pattern.names:
            where = locate(name)
            assert where is not None
            body = pattern.pattern.removeprefix(where.scope)
            if not pattern.pattern.startswith(where.scope) or body.strip("*") == "":
                bad.append(pattern.pattern)
    return bad


# --- properties -------------------------------------------------------------------------


@given(st.lists(name_families(), min_size=1, max_size=3), st.data())
def test_properties_hold(families, data) -> None:  # type: ignore[no-untyped-def]
    names = sorted({name_of(f, data) for f in families for _ in range(data.draw(st.integers(1, 6)))})
    found = infer(names)
    assert unsound(names, found) == []
    assert unbounded(found) == []
    assert wild_without_variation(found) == []
    assert crossing(found) == []
    more = sorted(set(names) | {name_of(f, data) for f in families for _ in range(3)})
    probes = [name_of(f, data) for f in families for _ in range(5)]
    assert not_monotone(found, names, infer(more), more, probes + more) == []
    shuffled = list(names)
    random.Random(data.draw(st.integers(0, 1000))).shuffle(shuffled)
    assert infer(shuffled) == found


@given(st.lists(name_families(), min_size=1, max_size=2), st.data())
def test_synthesis_allows_every_observed_call_on_patterned_names(families, data) -> None:  # type: ignore[no-untyped-def]
    names = sorted({name_of(f, data) for f in families for _ in range(data.draw(st.integers(1, 5)))})
    actions = ("s3:GetObject", "sagemaker:DescribeTrainingJob", "logs:CreateLogStream")
    perms = []
    for name in names:
        action = next(a for a in actions if a.split(":")[0] == name.split(":")[2])
        perms.append(Permission(action, name))
    result = synthesize(perms, SynthSettings(generalization=Generalization.PATTERNS))
    for perm in perms:
        assert allows(list(result.documents), perm.action, perm.resource) is True, perm
    exact = synthesize(perms, SynthSettings(generalization=Generalization.NONE))
    assert exact.patterns == ()


# --- the checkers catch planted bugs ----------------------------------------------------

OBSERVED = [f"arn:aws:sagemaker:us-east-1:1:training-job/churn-xgb-2026-11-0{d}" for d in (2, 3, 4)]


def test_checkers_fail_under_planted_bugs(monkeypatch: pytest.MonkeyPatch) -> None:
    found = infer(OBSERVED)
    assert {p.pattern for p in found.values()} == {
        "arn:aws:sagemaker:us-east-1:1:training-job/churn-xgb-????-??-??"}
    # unsound: a pattern that drops the last token
    broken = {n: NamePattern(p.pattern[:-1] + "x", p.names, p.varying) for n, p in found.items()}
    assert unsound(OBSERVED, broken)
    # unbounded: every word a wildcard too
    wide = {n: NamePattern("arn:aws:sagemaker:us-east-1:1:training-job/*-*-*", p.names,
                           p.varying) for n, p in found.items()}
    assert unbounded(wide)
    # crossing: a whole-name "*"
    bare = {n: NamePattern("arn:aws:sagemaker:us-east-1:1:training-job/*", p.names, p.varying)
            for n, p in found.items()}
    assert crossing(bare)
    # wildcards without variation: every shaped token wild, even alone
    real_leaf = patterns_module._leaf_pattern

    def always_wild(scope, rows, free):  # type: ignore[no-untyped-def]
        pattern, varying = real_leaf(scope, rows + [tuple(
            patterns_module.Token("x", t.kind) if t.kind not in ("sep", "word") else t
            for t in rows[0])], free)
        return pattern, varying

    monkeypatch.setattr(patterns_module, "_leaf_pattern", always_wild)
    assert wild_without_variation(infer(OBSERVED[:1]))
    monkeypatch.undo()
    # not monotone: a cap that keeps big groups exact
    real_infer = patterns_module.infer_patterns

    def capped(names, min_variants=3, rules=None):  # type: ignore[no-untyped-def]
        names = sorted(set(names))
        return {} if len(names) > 3 else real_infer(names, min_variants, rules)

    more = OBSERVED + ["arn:aws:sagemaker:us-east-1:1:training-job/churn-xgb-2026-11-05"]
    probe = "arn:aws:sagemaker:us-east-1:1:training-job/churn-xgb-2026-11-09"
    assert not_monotone(capped(OBSERVED), OBSERVED, capped(more), more, [probe])


# --- examples: the shapes of names AI workloads make -----------------------------------

JOB = "arn:aws:sagemaker:us-east-1:111122223333:training-job/"
BUCKET = "arn:aws:s3:::ml-artifacts/"


def patterns_of(names: list[str], **kwargs: int) -> set[str]:
    return {p.pattern for p in infer_patterns(names, **kwargs).values()}


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([f"{JOB}churn-xgb-2026-11-0{d}-09-28-3{d}" for d in range(2, 9)],
         {f"{JOB}churn-xgb-????-??-??-??-??-??"}),
        ([f"{JOB}churnendpointconfig-2026110{d}-094753" for d in range(2, 5)],
         {f"{JOB}churnendpointconfig-????????-??????"}),
        ([f"{BUCKET}output/churn-xgb-2026-11-0{d}/output/model.tar.gz" for d in range(2, 5)],
         {f"{BUCKET}output/churn-xgb-????-??-??/output/model.tar.gz"}),
        ([f"{BUCKET}transcripts/2026-11-0{d}/{d}b4e28ba-2fa1-11d2-883f-0016d3cca42{d}.json"
          for d in range(2, 5)],
         {f"{BUCKET}transcripts/????-??-??/????????-????-????-????-????????????.json"}),
        ([f"{BUCKET}train/dt=00{d}/part-0000{d}.parquet" for d in range(1, 4)],
         {f"{BUCKET}train/dt=*/part-*.parquet"}),
        ([f"{BUCKET}pipelines/churn/{sha}/sourcedir.tar.gz" for sha in ("1ed3d001", "a15da7a4")],
         {f"{BUCKET}pipelines/churn/*/sourcedir.tar.gz"}),  # a short sha may grow
        ([f"{JOB}churn-v1.2.0", f"{JOB}churn-v1.3.0"], {f"{JOB}churn-*"}),
        ([f"{JOB}run7", f"{JOB}run8"], {f"{JOB}run*"}),
        ([f"{BUCKET}calls/k3j9xq2m7p.json", f"{BUCKET}calls/q8w2e4r6ty.json"],
         {f"{BUCKET}calls/*.json"}),
    ],
)
def test_only_the_varying_tokens_become_wildcards(names: list[str], expected: set[str]) -> None:
    assert patterns_of(names) == expected


def test_a_date_wildcard_cannot_stretch_over_its_neighbours() -> None:
    # With "*" for the date, churn/*-11-* would admit churn/2026-11-01-12-5: a
    # name whose constant "11" became "12". "?" per character cannot stretch.
    names = [f"{BUCKET}churn/2026-11-0{d}-11-{d}" for d in range(1, 4)]
    (pattern,) = patterns_of(names)
    assert pattern == f"{BUCKET}churn/????-??-??-11-*"
    assert not resource_matches(pattern, f"{BUCKET}churn/2026-11-01-12-5")
    assert resource_matches(pattern, f"{BUCKET}churn/2026-12-24-11-9")


def test_two_families_stay_apart() -> None:
    names = [f"{JOB}{family}-2026-11-0{d}" for family in ("churn-xgb", "fraud-lgbm")
             for d in range(2, 5)]
    assert patterns_of(names) == {f"{JOB}churn-xgb-????-??-??", f"{JOB}fraud-lgbm-????-??-??"}


def test_a_word_varies_only_with_enough_evidence() -> None:
    two = [f"{BUCKET}features/{w}_embeddings.parquet" for w in ("user", "item")]
    assert patterns_of(two) == set()
    three = two + [f"{BUCKET}features/ctx_embeddings.parquet"]
    assert patterns_of(three) == {f"{BUCKET}features/*_embeddings.parquet"}
    assert patterns_of(three, min_variants=4) == set()


def test_the_first_word_never_varies() -> None:
    names = [f"{BUCKET}{w}-report.csv" for w in ("acme", "globex", "initech", "umbrella")]
    assert patterns_of(names) == set()


def test_a_name_seen_once_or_never_varying_stays_exact() -> None:
    assert patterns_of([f"{JOB}churn-xgb-2026-11-02"]) == set()
    assert patterns_of([f"{JOB}churn-xgb-2026-11-02"] * 3) == set()


def test_names_without_a_word_stay_exact() -> None:
    # no literal word to keep: even a mask of ids would stand for every resource of
    # the type (knowledge-base/??????????), and a key's "?" at a bucket root spans folders
    keys = [f"{BUCKET}2026-11-0{d}/1ed3d00{d}" for d in range(2, 6)]
    assert patterns_of(keys) == set()
    kbs = [f"arn:aws:bedrock:us-east-1:1:knowledge-base/{kb}" for kb in ("ABCDE12345", "FGHIJ67890")]
    assert patterns_of(kbs) == set()


@pytest.mark.parametrize(("values", "pattern"), [
    (("1730534400", "1730620800"), "??????????"),  # epoch seconds: one width till 2286
    (("9e107d9d372bb6826bd81d3542a419d6", "e4d909c290d0fb1ca068ffaddf22cbd0"),
     "?" * 32),  # a long hex id (an environment, a hash)
    (("Epoch8", "Epoch9"), "*"),  # a word and a counter: Epoch10 is next
    (("ResNet18", "ResNet50"), "*"),  # ResNet101 too
    (("3f2a1bc", "9e8d7c6"), "*"),  # a short git sha grows with its repo
    (("experiment20261101run1", "experiment20261101run2"), "*"),  # run10 is next
    (("2026-11-02T09:28:30.121Z", "2026-11-03T09:28:30.5Z"),
     "????-??-?????:??:??*"),  # a zero fraction is left out: 2026-11-04T09:28:30Z
])
def test_only_shapes_made_at_one_width_take_a_mask(values: tuple[str, str], pattern: str) -> None:
    names = [f"{BUCKET}runs/churn-{value}/model.tar.gz" for value in values]
    assert patterns_of(names) == {f"{BUCKET}runs/churn-{pattern}/model.tar.gz"}


def test_a_masked_family_part_takes_a_mask_and_an_unmasked_one_a_star() -> None:
    entry = {"family": "f", "service": "s3", "resource_type": "object",
             "name": "^x-(?P<a>[0-9]{4})-(?P<b>[0-9]+)$", "masked": ["a"],
             "note": "n", "source": "s"}
    rules = parse_name_rules({"ephemeral": [entry]})
    (found,) = infer_patterns([f"{BUCKET}x-2026-7"], rules=rules).values()
    assert found.pattern == f"{BUCKET}x-????-*"
    with pytest.raises(ValueError, match="masks a group"):
        parse_name_rules({"ephemeral": [{**entry, "masked": ["c"]}]})


def test_patterns_never_cross_buckets_regions_accounts_or_types() -> None:
    names = [f"arn:aws:s3:::bucket-{b}/churn-2026-11-0{d}.csv" for b in "ab" for d in (2, 3)]
    names += [f"arn:aws:sagemaker:{r}:111122223333:model/churn-2026-11-0{d}"
              for r in ("us-east-1", "eu-west-1") for d in (2, 3)]
    names += [f"arn:aws:sagemaker:us-east-1:{a}:endpoint-config/churn-2026-11-0{d}"
              for a in ("111122223333", "444455556666") for d in (2, 3)]
    found = infer_patterns(names)
    assert len({p.pattern for p in found.values()}) == 6
    assert all(len(p.names) == 2 for p in found.values())


@pytest.mark.parametrize("arn", [
    "arn:aws:kms:us-east-1:1:key/{}",
    "arn:aws:iam::1:role/AmazonSageMaker-ExecutionRole-2026110{}T093512",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-2024062{}-v1:0",
    "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-2026-11-0{}",
])
def test_stable_types_are_never_generalized(arn: str) -> None:
    names = [arn.format(d) for d in range(1, 6)]
    assert patterns_of(names) == set()


def test_resolver_wildcards_and_buckets_are_left_alone() -> None:
    names = ["arn:aws:secretsmanager:us-east-1:1:secret:db-2026-11-02-??????",
             "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*",
             "arn:aws:s3:::logs-2026-11-02", "arn:aws:s3:::logs-2026-11-03", "*"]
    assert patterns_of(names) == set()


def test_literal_wildcard_characters_stay_literal() -> None:
    names = [f"{BUCKET}a${{*}}b/2026-11-0{d}.csv" for d in (2, 3)]
    assert patterns_of(names) == {f"{BUCKET}a${{*}}b/????-??-??.csv"}


LAMBDA = "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/summarizer:log-stream:"


@pytest.mark.parametrize(
    ("name", "expected", "family"),
    [
        (f"{LAMBDA}2026/11/02/[$LATEST]{7:032x}", f"{LAMBDA}*/[$LATEST]*", "lambda-log-stream"),
        (f"{LAMBDA}2026/11/02/[12]{7:032x}", f"{LAMBDA}*/[*]*", "lambda-log-stream"),
        ("arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/TrainingJobs:log-stream:"
         "churn-xgb-2026-11-02-09-28-30/algo-1-1730534400",
         "arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/TrainingJobs:log-stream:"
         "churn-xgb-2026-11-02-09-28-30/algo-1-*", "sagemaker-training-log-stream"),
        ("arn:aws:logs:us-east-1:1:log-group:/aws/codebuild/churn:log-stream:"
         "6a2b1c3d-1111-4222-8333-123456789abc",
         "arn:aws:logs:us-east-1:1:log-group:/aws/codebuild/churn:log-stream:*",
         "codebuild-log-stream"),
        ("arn:aws:ecs:us-east-1:1:task/ml/0123456789abcdef0123456789abcdef",
         "arn:aws:ecs:us-east-1:1:task/ml/*", "ecs-task"),
        ("arn:aws:s3:::athena-results/analysts/1b4e28ba-2fa1-11d2-883f-0016d3cca427.csv",
         "arn:aws:s3:::athena-results/analysts/????????-????-????-????-????????????.csv",
         "athena-query-results"),
        ("arn:aws:bedrock:us-east-1:1:model-invocation-job/z0lx9xf26gk7",
         "arn:aws:bedrock:us-east-1:1:model-invocation-job/????????????",
         "bedrock-batch-inference-job"),
        ("arn:aws:states:us-east-1:1:execution:train:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
         "arn:aws:states:us-east-1:1:execution:train:*", "step-functions-execution"),
    ],
)
def test_declared_families_generalize_from_one_observation(name: str, expected: str,
                                                           family: str) -> None:
    (pattern,) = set(infer_patterns([name]).values())
    assert (pattern.pattern, pattern.family) == (expected, family)


def test_a_whole_name_may_vary_only_in_a_named_log_group() -> None:
    entry = {"family": "f", "service": "s3", "resource_type": "object", "name": "(?P<x>.+)",
             "whole_name": True, "note": "n", "source": "s"}
    with pytest.raises(ValueError, match="log group"):
        parse_name_rules({"ephemeral": [entry]})
    with pytest.raises(ValueError, match="no group"):
        parse_name_rules({"ephemeral": [{**entry, "name": "x", "whole_name": False}]})


def test_pooled_across_actions_and_covered_exact_names_dropped() -> None:
    """A job described of those created: the reading gets the pattern the
    creations made (the next run's job will be described too)."""
    perms = [Permission("sagemaker:CreateTrainingJob", f"{JOB}churn-xgb-2026-11-0{d}")
             for d in range(2, 5)]
    perms.append(Permission("sagemaker:DescribeTrainingJob", f"{JOB}churn-xgb-2026-11-03"))
    out, made = apply_patterns(perms, pattern_pool(load_catalog()))
    assert {p.resource for p in out} == {f"{JOB}churn-xgb-????-??-??"}
    assert {p.action for p in out} == {"sagemaker:CreateTrainingJob",
                                       "sagemaker:DescribeTrainingJob"}
    (pattern,) = made
    assert pattern.describe() == ("churn-xgb-2026-11-02 .. churn-xgb-2026-11-04, 3 names, "
                                  "varying: date")


@pytest.mark.parametrize(("wider", "narrow"), [
    ("s3:DeleteObject", "s3:GetObject"),  # a write seen once among many reads
    ("s3:PutObjectAcl", "s3:GetObject"),  # permissions management among reads
    ("s3:PutObjectAcl", "s3:PutObject"),  # ... and among writes
])
def test_a_pattern_never_widens_an_action_that_may_change_more(wider: str, narrow: str) -> None:
    """Reading (or writing) many names is no evidence for deleting them, or
    for changing who may read them: an action keeps its exact name unless
    names of actions of its access level or a higher one vary."""
    names = [f"{BUCKET}a/{n}.csv" for n in (1, 2, 3)]
    perms = [Permission(narrow, name) for name in names] + [Permission(wider, names[0])]
    out, _ = apply_patterns(perms, pattern_pool(load_catalog()))
    assert {p.resource for p in out if p.action == narrow} == {f"{BUCKET}a/*.csv"}
    assert {p.resource for p in out if p.action == wider} == {names[0]}


def test_one_pattern_learned_in_two_pools_is_told_once() -> None:
    """Writes on two dated names and reads on three make the same pattern in
    both pools: it is one pattern, standing for the three names."""
    names = [f"{BUCKET}out/run-2026-11-0{day}.json" for day in (2, 3, 4)]
    perms = [Permission("s3:GetObject", name) for name in names]
    perms += [Permission("s3:PutObject", name) for name in names[:2]]
    out, made = apply_patterns(perms, pattern_pool(load_catalog()))
    (pattern,) = made
    assert pattern.names == tuple(names)
    assert {p.resource for p in out} == {f"{BUCKET}out/run-????-??-??.json"}
    result = synthesize(perms)
    assert sum("stands for" in note for note in result.notes) == 1


def test_an_action_the_catalog_does_not_know_keeps_its_own_names() -> None:
    names = [f"{BUCKET}a/{n}.csv" for n in (1, 2, 3)]
    perms = [Permission("s3:GetObject", name) for name in names]
    perms.append(Permission("s3:NoSuchAction", names[1]))
    out, _ = apply_patterns(perms, pattern_pool(load_catalog()))
    assert {p.resource for p in out if p.action == "s3:NoSuchAction"} == {names[1]}


def test_every_data_entry_has_a_note_and_an_aws_source() -> None:
    rules = patterns_module.load_name_rules()
    assert len(rules.families) >= 8 and rules.stable
    for family in rules.families:
        assert family.note and family.source.startswith("https://docs.aws.amazon.com/")


@given(st.lists(name_families(), min_size=1, max_size=3), st.data(),
       st.sampled_from(tuple(Generalization)), st.integers(1, 4))
def test_synthesis_is_monotone_with_folds_and_patterns(families, data, level,  # type: ignore[no-untyped-def]
                                                       threshold) -> None:
    """More observations never take an allowed call away, whatever the level
    (a name a pattern took still counts for its folder's fold)."""
    def perms_of(names: list[str]) -> list[Permission]:
        return [Permission(next(a for a in ("s3:GetObject", "sagemaker:DescribeTrainingJob",
                                            "logs:CreateLogStream")
                                if a.split(":")[0] == n.split(":")[2]), n) for n in names]

    small = sorted({name_of(f, data) for f in families for _ in range(data.draw(st.integers(1, 5)))})
    big = sorted(set(small) | {name_of(f, data) for f in families for _ in range(4)})
    settings_ = SynthSettings(generalization=level, fold_threshold=threshold)
    before = synthesize(perms_of(small), settings_).documents
    after = synthesize(perms_of(big), settings_).documents
    probes = perms_of(sorted({name_of(f, data) for f in families for _ in range(6)} | set(big)))
    for probe in probes:
        if allows(list(before), probe.action, probe.resource) is True:
            assert allows(list(after), probe.action, probe.resource) is True, probe


def test_a_name_a_pattern_took_still_counts_for_its_folders_fold() -> None:
    # Three objects in d/ fold at threshold 2. A fourth makes a,b,c.csv a name
    # pattern; had the pattern taken them from the fold's count, d/* would go
    # and d/other (allowed before) would be denied with more evidence.
    settings_ = SynthSettings(fold_threshold=2)
    small = [Permission("s3:GetObject", f"arn:aws:s3:::b/d/{key}")
             for key in ("a.csv", "b.csv", "x-1.txt")]
    big = small + [Permission("s3:GetObject", "arn:aws:s3:::b/d/c.csv")]
    for perms in (small, big):
        result = synthesize(perms, settings_)
        assert allows(list(result.documents), "s3:GetObject", "arn:aws:s3:::b/d/other") is True
    (pattern,) = synthesize(big, settings_).patterns
    assert pattern.pattern == "arn:aws:s3:::b/d/*.csv"
    # the fold covers the pattern: one resource, not two
    (stmt,) = synthesize(big, settings_).documents[0].statements
    assert stmt.resources == ("arn:aws:s3:::b/d/*",)


def test_a_word_free_elsewhere_varies_in_a_leaf_only_with_enough_names_there() -> None:
    # "team" varies over three names beside "summary", but over two beside "payroll":
    # teams/*/payroll.csv would admit another team's payroll on two names' evidence
    names = [f"{BUCKET}teams/{team}/summary.csv" for team in ("alpha", "beta", "gamma")]
    payroll = [f"{BUCKET}teams/{team}/payroll.csv" for team in ("alpha", "beta")]
    assert patterns_of(names + payroll) == {f"{BUCKET}teams/*/summary.csv"}
    third = [f"{BUCKET}teams/gamma/payroll.csv"]
    assert patterns_of(names + payroll + third) == {f"{BUCKET}teams/*/summary.csv",
                                                   f"{BUCKET}teams/*/payroll.csv"}


def test_an_athena_result_admits_only_results_beside_it() -> None:
    # one GetObject of a result: never every CSV of the bucket (IAM's * spans /)
    key = "1b4e28ba-2fa1-11d2-883f-0016d3cca427.csv"
    bucket = "arn:aws:s3:::aws-athena-query-results-1-us-east-1/"
    (found,) = infer_patterns([bucket + key]).values()
    assert found.pattern == bucket + "????????-????-????-????-????????????.csv"
    assert not resource_matches(found.pattern, bucket + "hr/salaries/2026.csv")


def test_s3_express_directory_buckets_are_never_generalized() -> None:
    buckets = [f"arn:aws:s3express:us-east-1:1:bucket/ml-cache-{n}--use1-az4--x-s3"
               for n in range(1, 5)]
    assert infer_patterns(buckets) == {}


def test_athena_results_are_a_family_only_where_athena_writes_them() -> None:
    key = "1b4e28ba-2fa1-11d2-883f-0016d3cca427.csv"
    mask = "????????-????-????-????-????????????.csv"
    expected = {
        "hr-data/": None, "tenant-data/exports/": None, "myathenaeum/": None,
        "aws-athena-query-results-1-us-east-1/": "aws-athena-query-results-1-us-east-1/",
        "company-query-results/athena-results/": "company-query-results/athena-results/",
        "q/Unsaved/2026/11/03/": "q/Unsaved/????/??/??/",
    }
    for folder, pattern in expected.items():
        found = {p.pattern for p in infer_patterns([f"arn:aws:s3:::{folder}{key}"]).values()}
        assert found == (set() if pattern is None else {f"arn:aws:s3:::{pattern}{mask}"}), folder


def test_a_pattern_another_covers_is_dropped_and_of_two_alike_one_stays() -> None:
    from iamgen.model import Permission
    from iamgen.synth.patterns import drop_covered

    table = "arn:aws:dynamodb:us-east-1:111122223333:table/"
    narrow, wide = table + "table-*-", table + "table-*-*"
    perms = [Permission("dynamodb:GetItem", narrow), Permission("dynamodb:GetItem", wide),
             Permission("dynamodb:PutItem", narrow),  # another action: nothing covers it
             Permission("dynamodb:GetItem", table + "table-7-x")]  # an exact name under wide
    kept = drop_covered(perms, {narrow, wide})
    assert kept == {Permission("dynamodb:GetItem", wide), Permission("dynamodb:PutItem", narrow)}
    alike = [Permission("s3:GetObject", "arn:aws:s3:::b/a*"),
             Permission("s3:GetObject", "arn:aws:s3:::b/a**")]
    assert drop_covered(alike, {p.resource for p in alike}) == {alike[0]}
