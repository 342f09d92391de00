"""The evidence an access graph keeps besides its edges' counts: each usage's
call facts (``Usage.context``) and earliest eventID, and the trail's signals.

Built, merged, saved (JSON, GraphML) and read back, they stay what the scan
gave: a review from a saved graph sees what one from the trail sees.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.errors import InputError
from iamgen.graph import (
    SCHEMA_VERSION,
    TrailContext,
    build_graph,
    from_graphml,
    from_json,
    read_graph,
    to_dot,
    to_graphml,
    to_json,
)
from iamgen.graph.access import AccessGraph
from iamgen.graph.schema import load_networkx
from iamgen.mapping.signals import Signal
from iamgen.model import MANY_VALUES, MAX_VALUES_PER_FACT, Evidence, Usage
from iamgen.scanning.tally import UsageTotals
from tests.graph_sample import ALICE, KEY, MODEL, OBJECT, PIPELINE, SAMPLE, T0, TRAINER, use

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account"
TRAIL = str(EXAMPLE / "trail")
GRANTS = str(EXAMPLE / "grants" / "account-authorization-details.json")

FACTS = ("mfa", "vpce", "tls", "region", "sse", "guardrail")


def with_evidence(usage: Usage, context: tuple[tuple[str, str, int], ...],
                  event_id: str) -> Usage:
    """``usage`` with a context and an example eventID."""
    return Usage(usage.principal, usage.permission, usage.denied, usage.count,
                 usage.first_seen, usage.last_seen, usage.regions, context, event_id)


@st.composite
def contexts(draw: st.DrawFn) -> tuple[tuple[str, str, int], ...]:
    """A usage's context as a scan gives it: sorted (fact, value, count), each fact
    with at most MAX_VALUES_PER_FACT values, or MANY_VALUES alone."""
    found: list[tuple[str, str, int]] = []
    for fact in draw(st.lists(st.sampled_from(FACTS), unique=True, max_size=4)):
        if draw(st.integers(0, 5)) == 0:
            found.append((fact, MANY_VALUES, draw(st.integers(1, 10_000))))
            continue
        # Any text: commas, quotes, markup and non-ASCII must survive GraphML too.
        values = draw(st.lists(st.text(max_size=12), min_size=1,
                               max_size=draw(st.sampled_from([2, MAX_VALUES_PER_FACT])),
                               unique=True))
        found += [(fact, value, draw(st.integers(1, 10_000))) for value in values
                  if value != MANY_VALUES]
    return tuple(sorted(found))


event_ids = st.one_of(st.just(""), st.uuids().map(str))
signals = st.lists(
    st.tuples(
        st.builds(Signal, st.sampled_from(["AI_INVOCATION_LOGGING_CHANGED", "AI_TRAIL_STOPPED"]),
                  st.sampled_from([ALICE.arn, "AWS service cloudtrail.amazonaws.com"]),
                  st.text(max_size=20), st.text(max_size=20)),
        st.builds(Evidence, st.integers(1, 1000),
                  st.integers(0, 10**6).map(lambda s: T0 + timedelta(seconds=s)),
                  st.integers(0, 10**6).map(lambda s: T0 + timedelta(seconds=s, days=12)),
                  event_ids),
    ),
    max_size=4, unique_by=lambda pair: pair[0],
).map(lambda found: tuple(sorted(found, key=lambda pair: pair[0])))

_with_evidence = st.lists(
    st.tuples(st.sampled_from(SAMPLE), contexts(), event_ids),
    max_size=len(SAMPLE), unique_by=lambda t: (t[0].principal, t[0].permission, t[0].denied),
).map(lambda found: [with_evidence(u, c, e) for u, c, e in found])


def reloads(graph: AccessGraph) -> list[AccessGraph]:
    return [from_json(to_json(graph)), from_graphml(to_graphml(graph))]


@given(_with_evidence, st.one_of(st.none(), signals))
def test_property_saved_graphs_keep_contexts_event_ids_and_signals(
        usages: list[Usage], found: tuple[tuple[Signal, Evidence], ...] | None) -> None:
    context = TrailContext(first_event=T0, trail_actions=("s3:GetObject",), signals=found)
    graph = build_graph(usages, context=context)
    assert set(graph.usages()) == set(usages)
    for loaded in reloads(graph):
        assert loaded.usages() == graph.usages()  # contexts and event ids included
        assert loaded.context == context
    assert to_json(from_json(to_json(graph))) == to_json(graph)
    assert to_graphml(from_graphml(to_graphml(graph))) == to_graphml(graph)


def scan_merge(usages: list[Usage]) -> Usage:
    """Usages of one (principal, permission, outcome) added as a scan adds them."""
    def totals(u: Usage) -> UsageTotals:
        facts = {(fact, value): count for fact, value, count in u.context} or None
        return UsageTotals(u.principal, u.permission, u.denied, u.count, u.first_seen,
                           u.last_seen, u.regions, facts, u.example_event_id)

    first, *rest = usages
    total = totals(first)
    for usage in rest:
        total.add(totals(usage))
    return total.usage()


@given(st.lists(st.tuples(contexts(), event_ids, st.integers(0, 3)), min_size=2, max_size=5),
       st.randoms(use_true_random=False))
def test_property_merged_usages_add_facts_as_a_scan_does(
        parts: list[tuple[tuple[tuple[str, str, int], ...], str, int]],
        rnd: random.Random) -> None:
    usages = [with_evidence(use(TRAINER, "s3:GetObject", OBJECT, count=3, days=day), context,
                            event_id)
              for context, event_id, day in parts]
    (merged,) = build_graph(usages).usages()
    assert merged == scan_merge(usages)
    rnd.shuffle(usages)
    assert build_graph(usages).usages() == (merged,)


def test_merging_collapses_a_fact_of_too_many_values_and_keeps_the_earliest_event() -> None:
    half = MAX_VALUES_PER_FACT // 2 + 1
    a = with_evidence(use(TRAINER, "s3:GetObject", OBJECT, days=1),
                      (("mfa", "true", 4), *((("vpce", f"vpce-a{i:02}", 1)) for i in range(half))),
                      "id-late")
    b = with_evidence(use(TRAINER, "s3:GetObject", OBJECT, days=0),
                      (("mfa", "true", 1), *((("vpce", f"vpce-b{i:02}", 1)) for i in range(half))),
                      "id-b")
    c = with_evidence(use(TRAINER, "s3:GetObject", OBJECT, days=0), (("mfa", "false", 2),),
                      "id-a")
    (merged,) = build_graph([a, b, c]).usages()
    assert merged.context == (("mfa", "false", 2), ("mfa", "true", 5),
                              ("vpce", MANY_VALUES, 2 * half))
    assert merged.example_event_id == "id-a"  # earliest call; a tie goes to the smallest id
    assert merged.first_seen == b.first_seen


def test_files_spell_the_evidence_readably() -> None:
    usage = with_evidence(use(TRAINER, "kms:Decrypt", KEY, count=3),
                          (("mfa", "", 1), ("mfa", "true", 2)), "0f8e-1")
    signal = (Signal("AI_INVOCATION_LOGGING_CHANGED", ALICE.arn, "bedrock", "off"),
              Evidence(1, T0, T0, "9a1c"))
    graph = build_graph([usage], context=TrailContext(signals=(signal,)))
    document = json.loads(to_json(graph))
    assert document["schema_version"] == SCHEMA_VERSION == 3
    [edge] = document["edges"]
    assert edge["context"] == [{"fact": "mfa", "value": "", "count": 1},
                               {"fact": "mfa", "value": "true", "count": 2}]
    assert edge["example_event_id"] == "0f8e-1"
    assert document["graph"]["trail"]["signals"] == [{
        "code": "AI_INVOCATION_LOGGING_CHANGED", "principal": ALICE.arn, "subject": "bedrock",
        "detail": "off", "evidence": {"count": 1, "first_seen": "2026-11-01T09:00:00Z",
                                      "last_seen": "2026-11-01T09:00:00Z",
                                      "example_event_id": "9a1c"}}]
    assert to_dot(graph) == to_dot(build_graph([use(TRAINER, "kms:Decrypt", KEY, count=3)]))


# --- files of schema version 2 ----------------------------------------------------------


def as_version_2_json(graph: AccessGraph) -> str:
    document = json.loads(to_json(graph))
    document["schema_version"] = document["graph"]["schema_version"] = 2
    del document["graph"]["trail"]["signals"]
    for edge in document["edges"]:
        del edge["context"], edge["example_event_id"]
    return json.dumps(document)


def as_version_2_graphml(graph: AccessGraph) -> str:
    nx = load_networkx()
    flat = nx.parse_graphml(to_graphml(graph), force_multigraph=True, edge_key_type=str)
    flat.graph["schema_version"] = 2
    trail = json.loads(flat.graph["trail"])
    del trail["signals"]
    flat.graph["trail"] = json.dumps(trail)
    for *_, data in flat.edges(keys=True, data=True):
        del data["context"], data["example_event_id"]
    return "\n".join(nx.generate_graphml(flat, named_key_ids=True))


EVIDENT = tuple(with_evidence(u, (("mfa", "true", u.count),), f"id-{i}")
                for i, u in enumerate(SAMPLE))
SIGNALS = ((Signal("AI_TRAIL_STOPPED", ALICE.arn, "main-trail"), Evidence(1, T0, T0, "e1")),)


@pytest.mark.parametrize("write", [as_version_2_json, as_version_2_graphml],
                         ids=["json", "graphml"])
def test_version_2_files_are_read_without_facts_or_signals(
        write: Callable[[AccessGraph], str]) -> None:
    graph = build_graph(EVIDENT, context=TrailContext(first_event=T0, signals=SIGNALS))
    old = read_graph(write(graph))
    assert old.context == TrailContext(first_event=T0)  # signals: None, not known
    assert set(old.usages()) == set(SAMPLE)  # no context, no example event
    assert json.loads(to_json(old))["schema_version"] == SCHEMA_VERSION  # written anew as 3


@pytest.mark.parametrize("version", [0, 4, "3", 3.5, True, None])
def test_unknown_versions_are_refused(version: object) -> None:
    document = json.loads(to_json(build_graph(SAMPLE)))
    document["schema_version"] = version
    with pytest.raises(InputError, match="schema version"):
        from_json(json.dumps(document))


@pytest.mark.parametrize("damage", [
    lambda e: e.pop("context"),
    lambda e: e.pop("example_event_id"),
    lambda e: e.update(context={"fact": "mfa"}),
    lambda e: e.update(context=[{"fact": "mfa", "value": "true"}]),
    lambda e: e.update(context=[{"fact": "mfa", "value": "true", "count": 0}]),
    lambda e: e.update(context=[{"fact": "mfa", "value": "true", "count": 1.5}]),
])
def test_version_3_edges_without_their_evidence_are_damaged(
        damage: Callable[[dict[str, object]], object]) -> None:
    document = json.loads(to_json(build_graph(EVIDENT)))
    damage(document["edges"][0])
    with pytest.raises(InputError, match="damaged"):
        from_json(json.dumps(document))


def test_version_3_trail_without_signals_is_damaged() -> None:
    document = json.loads(to_json(build_graph(SAMPLE)))
    del document["graph"]["trail"]["signals"]
    with pytest.raises(InputError, match="damaged"):
        from_json(json.dumps(document))


# --- the review's AI lens, from the trail and from saved graphs ---------------------------


def run(*args: str) -> str:
    result = CliRunner().invoke(build_app(), [*args, "--quiet"])
    assert result.exit_code == 0, result.stderr
    return result.stdout


CAVEATS = ("no trail read (a saved graph)", "no call facts recorded (a saved graph)")


def test_review_of_the_trail_reads_its_signals() -> None:
    """The defect: a review of the trail said no trail was read."""
    text = run("review", "--trail", TRAIL, "--grants", GRANTS)
    assert not any(caveat in text for caveat in CAVEATS)
    assert "AI_INVOCATION_LOGGING_CHANGED" in text


@pytest.mark.parametrize("write", [as_version_2_json, as_version_2_graphml],
                         ids=["json", "graphml"])
def test_review_of_a_version_2_file_says_what_it_lacks(
        write: Callable[[AccessGraph], str], tmp_path: Path) -> None:
    saved = tmp_path / "g"
    run("graph", "--trail", TRAIL, "--format", "json", "--output", str(saved))
    old = tmp_path / "old"
    old.write_text(write(from_json(saved.read_text("utf-8"))), encoding="utf-8")
    text = run("review", "--graph", str(old), "--grants", GRANTS)
    assert all(caveat in text for caveat in CAVEATS)
    assert "AI_INVOCATION_LOGGING_CHANGED" not in text
    assert "AI_INVOCATION_WITHOUT_GUARDRAIL" not in text  # needs the calls' facts
