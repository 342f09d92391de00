"""The access graph: building, typed queries, role chains, save and reload.

Graph assertions compare sets of edges, never lists.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamgen.errors import InputError
from iamgen.graph import (
    AccessGraph,
    build_graph,
    from_graphml,
    from_json,
    read_graph,
    render_graph,
    to_dot,
    to_graphml,
    to_json,
)
from iamgen.model import Condition, Principal, PrincipalKind, Usage
from tests.graph_sample import (
    ACCOUNT,
    ALICE,
    BUCKET,
    DEPLOYER,
    KEY,
    MODEL,
    OBJECT,
    PIPELINE,
    SAMPLE,
    T0,
    TRAINER,
    role,
    use,
)


def edges(graph: AccessGraph) -> set[tuple[str, str, str, bool]]:
    """(principal ARN, resource, action, denied) of every edge."""
    return {(u.principal.arn, u.permission.resource, u.permission.action, u.denied)
            for u in graph.usages()}


@pytest.fixture
def graph() -> AccessGraph:
    return build_graph(SAMPLE, events={TRAINER: 90, PIPELINE: 10, ALICE: 3, DEPLOYER: 0})


def test_every_usage_is_an_edge_and_nothing_else(graph: AccessGraph) -> None:
    assert edges(graph) == {(u.principal.arn, u.permission.resource, u.permission.action,
                             u.denied) for u in SAMPLE}
    assert set(graph.usages()) == set(SAMPLE)
    assert graph.edge_count == len(SAMPLE)


def test_principals_include_those_with_events_only(graph: AccessGraph) -> None:
    assert set(graph.principals()) == {TRAINER, PIPELINE, ALICE, DEPLOYER}
    assert graph.events_of(TRAINER) == 90
    assert graph.events_of(role("Unknown")) == 0
    assert graph.usages_of(DEPLOYER) == ()


def test_permissions_of_are_successful_sorted_distinct(graph: AccessGraph) -> None:
    permissions = graph.permissions_of(TRAINER)
    assert list(permissions) == sorted(set(permissions))
    assert {p.action for p in permissions} == {
        "s3:GetObject", "s3:ListBucket", "kms:Decrypt", "ecr:GetAuthorizationToken"}
    decrypt = next(p for p in permissions if p.action == "kms:Decrypt")
    assert decrypt.conditions[0].key == "kms:ViaService"


def test_usages_of_keeps_denied_and_only_that_principal(graph: AccessGraph) -> None:
    mine = graph.usages_of(TRAINER)
    assert {u.principal for u in mine} == {TRAINER}
    assert {u.permission.action for u in mine if u.denied} == {"s3:PutObject"}
    assert set(mine) == {u for u in SAMPLE if u.principal == TRAINER}


def test_duplicate_usages_merge_counts_times_and_regions() -> None:
    a = use(TRAINER, "s3:GetObject", OBJECT, count=2, days=0, regions=("us-east-1",))
    b = use(TRAINER, "s3:GetObject", OBJECT, count=5, days=3, regions=("eu-west-1",))
    (merged,) = build_graph([a, b]).usages()
    assert merged.count == 7
    assert (merged.first_seen, merged.last_seen) == (a.first_seen, b.last_seen)
    assert merged.regions == ("eu-west-1", "us-east-1")


def test_shuffled_input_gives_identical_graph() -> None:
    shuffled = list(SAMPLE)
    random.Random(7).shuffle(shuffled)
    assert to_json(build_graph(shuffled)) == to_json(build_graph(SAMPLE))
    assert to_dot(build_graph(shuffled)) == to_dot(build_graph(SAMPLE))


def test_role_arn_without_path_lands_on_the_roles_own_node(graph: AccessGraph) -> None:
    # The edge keeps the resource as logged; the node is Trainer's principal node.
    document = json.loads(to_json(graph))
    assume = [e for e in document["edges"] if e["source"] == PIPELINE.arn
              and e["action"] == "sts:AssumeRole"]
    assert {(e["target"], e["resource"]) for e in assume} == {
        (TRAINER.arn, f"arn:aws:iam::{ACCOUNT}:role/Trainer")}
    ids = {n["id"] for n in document["nodes"]}
    assert f"arn:aws:iam::{ACCOUNT}:role/Trainer" not in ids


def test_both_spellings_of_a_role_stay_two_edges_on_its_node() -> None:
    # GetRole on Trainer with and without its path: one node, two edges, two permissions.
    bare = f"arn:aws:iam::{ACCOUNT}:role/Trainer"
    usages = [use(PIPELINE, "iam:GetRole", bare), use(PIPELINE, "iam:GetRole", TRAINER.arn),
              use(PIPELINE, "iam:GetRole", TRAINER.arn, denied=True)]
    graph = build_graph(usages, events={TRAINER: 1})
    assert graph.edge_count == 3
    assert {p.resource for p in graph.permissions_of(PIPELINE)} == {bare, TRAINER.arn}
    for reloaded in (from_json(to_json(graph)), from_graphml(to_graphml(graph))):
        assert reloaded.usages() == graph.usages()


def test_chains_into_follows_successful_assume_role_paths(graph: AccessGraph) -> None:
    chains = {c.principals for c in graph.chains_into(TRAINER)}
    assert chains == {(PIPELINE, TRAINER), (ALICE, PIPELINE, TRAINER)}
    # The assumed role's own activity stays its own: Alice used nothing of Trainer's.
    assert {u.permission.action for u in graph.usages_of(ALICE)} == {"sts:AssumeRole"}


def test_chains_into_ignores_denied_assume_role_and_other_sts_actions(
        graph: AccessGraph) -> None:
    assert graph.chains_into(DEPLOYER) == ()
    only_tag = build_graph([use(PIPELINE, "sts:TagSession", TRAINER.arn)])
    assert only_tag.chains_into(TRAINER) == ()


def test_chains_into_a_role_by_arn_without_its_path(graph: AccessGraph) -> None:
    pathless = role("Trainer")
    assert {c.start for c in graph.chains_into(pathless)} == {PIPELINE, ALICE}


def test_chains_into_survives_cycles_and_counts_hops() -> None:
    a, b, c = role("A"), role("B"), role("C")
    cyclic = build_graph([use(a, "sts:AssumeRole", b.arn, count=3),
                          use(b, "sts:AssumeRole", a.arn),
                          use(b, "sts:AssumeRole", c.arn)])
    chains = cyclic.chains_into(c)
    assert {ch.principals for ch in chains} == {(b, c), (a, b, c)}
    first_hop = next(ch for ch in chains if ch.start == a).hops[0]
    assert first_hop.count == 3


def test_who_matches_arns_and_wildcards_case_sensitively(graph: AccessGraph) -> None:
    exact = graph.who(OBJECT)
    assert {(s.principal, s.action) for s in exact} == {
        (TRAINER, "s3:GetObject"), (PIPELINE, "s3:GetObject")}
    assert exact[0].principal == PIPELINE  # newest use first
    everything_in_bucket = graph.who("arn:aws:s3:::ml-data*")
    assert {s.action for s in everything_in_bucket} == {"s3:GetObject", "s3:ListBucket"}
    assert graph.who("arn:aws:s3:::ML-DATA*") == ()
    denied = graph.who("arn:aws:s3:::other/*")
    assert [(s.principal, s.denied) for s in denied] == [(TRAINER, True)]


def test_who_sighting_aggregates_resources() -> None:
    g = build_graph([use(TRAINER, "s3:GetObject", f"arn:aws:s3:::b/{i}", count=2, days=i)
                     for i in range(5)])
    (sighting,) = g.who("arn:aws:s3:::b/*")
    assert sighting.count == 10
    assert len(sighting.resources) == 5
    assert sighting.last_seen == T0 + timedelta(days=4, hours=2)


def test_who_a_role_shows_who_assumed_it(graph: AccessGraph) -> None:
    assert {(s.principal, s.denied) for s in graph.who(DEPLOYER.arn)} == {(ALICE, True)}


def test_nodes_carry_kinds(graph: AccessGraph) -> None:
    nodes = {n["id"]: n for n in json.loads(to_json(graph))["nodes"]}
    assert nodes[TRAINER.arn]["node_type"] == "principal"
    assert nodes[TRAINER.arn]["kind"] == "role"
    assert nodes[ALICE.arn]["kind"] == "user"
    assert nodes["*"]["node_type"] == "resource"
    assert nodes[DEPLOYER.arn]["kind"] == "role"
    assert nodes[OBJECT]["kind"] == "s3:object"


# -- save and reload --------------------------------------------------------------


def test_json_round_trip_keeps_every_usage_and_event_count(graph: AccessGraph) -> None:
    text = to_json(graph)
    loaded = from_json(text)
    assert set(loaded.usages()) == set(graph.usages())
    assert {p: loaded.events_of(p) for p in loaded.principals()} == {
        p: graph.events_of(p) for p in graph.principals()}
    assert to_json(loaded) == text
    assert {c.principals for c in loaded.chains_into(TRAINER)} == {
        c.principals for c in graph.chains_into(TRAINER)}


def test_json_is_node_link_with_schema_version(graph: AccessGraph) -> None:
    document = json.loads(to_json(graph))
    assert document["schema"] == "iamgen-access-graph"
    assert document["schema_version"] == 3
    assert document["directed"] and document["multigraph"]
    edge = next(e for e in document["edges"] if e["action"] == "kms:Decrypt")
    assert edge["outcome"] == "allowed"
    assert edge["count"] == 40
    assert edge["first_seen"] == "2026-11-01T09:00:00Z"
    assert edge["conditions"] == [{"key": "kms:ViaService", "operator": "StringEquals",
                                   "values": ["s3.us-east-1.amazonaws.com"]}]


def test_graphml_round_trip_with_scalar_attributes(graph: AccessGraph) -> None:
    text = to_graphml(graph)
    assert "<graphml" in text
    loaded = from_graphml(text)
    assert set(loaded.usages()) == set(graph.usages())
    assert read_graph(text).edge_count == graph.edge_count
    import xml.etree.ElementTree as ET

    root = ET.fromstring(text)
    types = {k.get("attr.type") for k in root.iter("{http://graphml.graphdrawing.org/xmlns}key")}
    assert types <= {"string", "int", "long"}


def test_dot_is_balanced_and_names_every_node_and_edge(graph: AccessGraph) -> None:
    text = to_dot(graph)
    assert text.startswith("digraph ") and text.rstrip().endswith("}")
    node_lines = [line for line in text.splitlines() if "[shape=" in line]
    edge_lines = [line for line in text.splitlines() if " -> " in line]
    assert len(node_lines) == graph.node_count
    assert len(edge_lines) == graph.edge_count
    assert any("color=\"red\"" in line for line in edge_lines)  # the denied calls
    # Every quote inside an ID or label is escaped: an even count of bare quotes per line.
    for line in node_lines + edge_lines:
        assert line.replace('\\"', "").count('"') % 2 == 0


def test_dot_escapes_quotes_and_backslashes() -> None:
    odd = use(TRAINER, "s3:GetObject", 'arn:aws:s3:::b/we"ird\\key')
    line = next(line for line in to_dot(build_graph([odd])).splitlines() if " -> " in line)
    assert '\\"' in line and "\\\\" in line


def test_dot_keeps_names_that_differ_in_a_control_character_apart() -> None:
    one = use(TRAINER, "s3:GetObject", "arn:aws:s3:::b/ctl\x01x")
    two = use(TRAINER, "s3:GetObject", "arn:aws:s3:::b/ctlx")
    text = to_dot(build_graph([one, two]))
    nodes = [line for line in text.splitlines() if "[shape=ellipse" in line]
    assert len(nodes) == 2 and not any(ch in text for ch in "\x01")
    assert '"arn:aws:s3:::b/ctl\\u0001x"' in text


def test_graphml_refuses_what_xml_cannot_hold_in_one_line() -> None:
    odd = use(TRAINER, "s3:GetObject", "arn:aws:s3:::b/ctl\x01x")
    with pytest.raises(InputError, match=r"cannot write GraphML: .*U\+0001.*--format json"):
        to_graphml(build_graph([odd]))
    tabbed = build_graph([use(TRAINER, "s3:GetObject", "arn:aws:s3:::b/tab\tkey")])
    assert set(from_graphml(to_graphml(tabbed)).usages()) == set(tabbed.usages())


def test_render_graph_knows_three_formats(graph: AccessGraph) -> None:
    for fmt in ("json", "graphml", "dot"):
        assert render_graph(graph, fmt)
    with pytest.raises(ValueError):
        render_graph(graph, "png")


@pytest.mark.parametrize("text", [
    "not json",
    '{"schema": "something-else"}',
    '{"schema": "iamgen-access-graph", "schema_version": 99, "nodes": [], "edges": []}',
    ('{"schema": "iamgen-access-graph", "schema_version": 2, "graph": {"trail": '
     '{"first_event": null, "last_event": null, "since": null, "until": null, '
     '"trail_actions": null}}, "nodes": [{"id": "x"}], "edges": []}'),
    ('{"schema": "iamgen-access-graph", "schema_version": 2, "graph": {"trail": '
     '{"first_event": null, "last_event": null, "since": null, "until": null, '
     '"trail_actions": null}}, "nodes": [], "edges": [{"source": "a", "target": "b"}]}'),
    ('{"schema": "iamgen-access-graph", "schema_version": 2, "graph": {"trail": '
     '{"first_event": "not a time", "last_event": null, "since": null, "until": null, '
     '"trail_actions": null}}, "nodes": [], "edges": []}'),
    ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="directed">'
    '<node id="a"/></graph></graphml>'),
    "<graphml>broken",
])
def test_loading_anything_else_fails_loudly(text: str) -> None:
    with pytest.raises(InputError):
        read_graph(text)


# -- properties ----------------------------------------------------------------------

_principals = st.sampled_from([TRAINER, PIPELINE, ALICE, role("X", "/a/b/"),
                               Principal(f"arn:aws:iam::{ACCOUNT}:root", PrincipalKind.ROOT)])
_resources = st.sampled_from(["*", BUCKET, OBJECT, KEY, MODEL, PIPELINE.arn, TRAINER.arn,
                              f"arn:aws:iam::{ACCOUNT}:role/Trainer", 'arn:aws:s3:::q/"<&>'])
_actions = st.sampled_from(["s3:GetObject", "s3:ListBucket", "sts:AssumeRole", "kms:Decrypt",
                            "iam:GetRole"])
_conditions = st.lists(st.builds(Condition, st.sampled_from(["StringEquals", "StringLike"]),
                                 st.sampled_from(["kms:ViaService", "iam:PassedToService"]),
                                 st.lists(st.text(min_size=1, max_size=5), min_size=1,
                                          max_size=2).map(tuple)),
                       max_size=1).map(tuple)
_usages = st.lists(
    st.builds(
        lambda p, a, r, c, d, n, day, regions: use(p, a, r, denied=d, count=n, days=day,
                                                   regions=regions, conditions=c),
        _principals, _actions, _resources, _conditions, st.booleans(),
        st.integers(1, 1000), st.integers(0, 90),
        st.lists(st.sampled_from(["us-east-1", "eu-west-1"]), min_size=1, max_size=2,
                 unique=True).map(lambda r: tuple(sorted(r))),
    ),
    max_size=25,
    unique_by=lambda u: (u.principal, u.permission, u.denied),
)


@given(_usages)
def test_property_saved_graphs_reload_to_the_same_usages(usages: list[Usage]) -> None:
    graph = build_graph(usages)
    assert set(graph.usages()) == set(usages)
    assert set(from_json(to_json(graph)).usages()) == set(usages)
    assert set(from_graphml(to_graphml(graph)).usages()) == set(usages)
    reloaded = from_json(to_json(graph))  # queries answered from edge data, not the index
    for principal in graph.principals():
        expected = {u.permission for u in usages if u.principal == principal and not u.denied}
        assert set(graph.permissions_of(principal)) == expected
        assert graph.permissions_of(principal) == tuple(sorted(expected))
        assert graph.usages_of(principal) == reloaded.usages_of(principal)
        assert graph.span_of(principal) == reloaded.span_of(principal)
    assert graph.usages() == reloaded.usages()


def _per_principal_answers(graph: AccessGraph) -> list[object]:
    probes = [*graph.principals(), role("Unknown"), role("Trainer")]
    return [graph.principals(), graph.usages(),
            *((graph.events_of(p), graph.usages_of(p), graph.permissions_of(p), graph.span_of(p))
              for p in probes)]


def test_per_principal_queries_need_no_networkx_and_agree_with_it() -> None:
    """build_graph defers the networkx form; per-principal answers must be the
    same before it exists, after it is built, and from a reloaded copy (built
    from nodes and edges alone)."""
    deferred = build_graph(SAMPLE, events={TRAINER: 90, PIPELINE: 10, ALICE: 3, DEPLOYER: 0})
    before = _per_principal_answers(deferred)
    assert not deferred.networkx_built  # suggest, diff and review never pay for networkx
    assert deferred.edge_count == len(SAMPLE)  # builds it
    assert deferred.networkx_built
    assert _per_principal_answers(deferred) == before
    assert _per_principal_answers(from_json(to_json(deferred))) == before


def test_who_matches_names_not_the_policy_text_of_literal_characters() -> None:
    """A key holding * is stored as policy text (${*}); who() matches the object's name."""
    star = "arn:aws:s3:::ml-data/reports/a${*}b.csv"
    graph = build_graph([use(TRAINER, "s3:GetObject", star)])
    assert [s.resources for s in graph.who("arn:aws:s3:::ml-data/reports/a*")] == [(star,)]
    assert [s.resources for s in graph.who("arn:aws:s3:::ml-data/reports/a?b.csv")] == [(star,)]
