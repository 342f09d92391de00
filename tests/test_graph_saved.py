"""A saved graph answers as the trail does: every command that takes --graph gives
byte-identical output from the graph file and from the trail it was written from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.graph import SCHEMA_VERSION, TrailContext, build_graph, from_graphml, from_json
from iamgen.graph import to_graphml, to_json
from iamgen.mapping.signals import Signal
from iamgen.model import Evidence
from tests.graph_sample import SAMPLE

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account"
TRAIL = str(EXAMPLE / "trail")
GRANTS = str(EXAMPLE / "grants" / "account-authorization-details.json")

# Every command with a --graph option (`iamgen <cmd> --help`); suggest, diff,
# backtest and explain read trails only.
QUERIES = [
    ("review", "--grants", GRANTS, "--format", "json"),
    ("review", "--grants", GRANTS, "--format", "text"),
    ("review", "--grants", GRANTS, "--format", "markdown"),
    ("who", "arn:aws:lambda:*", "--format", "json"),
    ("who", "*"),
    ("chains", "ml-model-registry-publisher", "--format", "json"),
    ("graph", "--format", "dot"),
    ("graph", "--format", "json"),
]


def run(*args: str) -> str:
    result = CliRunner().invoke(build_app(), [*args, "--quiet"])
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module", params=["json", "graphml"])
def saved(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("graph") / f"g.{request.param}"
    run("graph", "--trail", TRAIL, "--format", request.param, "--output", str(path))
    return path


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "-".join(q[:1] + q[-1:]))
def test_saved_graph_answers_as_the_trail(saved: Path, query: tuple[str, ...]) -> None:
    command, *rest = query
    assert run(command, "--graph", str(saved), *rest) == run(command, "--trail", TRAIL, *rest)


def test_review_of_saved_graph_keeps_window_and_recorded_data_events(saved: Path) -> None:
    """The defect: Lambda invoke turned "not observable" and the window moved."""
    text = run("review", "--graph", str(saved), "--grants", GRANTS, "--format", "json")
    assert '"reason": "lambda-invoke"' not in text  # the trail records Lambda Invoke
    assert run("review", "--graph", str(saved), "--grants", GRANTS, "--format", "json") == \
        run("review", "--trail", TRAIL, "--grants", GRANTS, "--format", "json")


def test_review_output_dir_from_saved_graph_is_identical(saved: Path, tmp_path: Path) -> None:
    run("review", "--trail", TRAIL, "--grants", GRANTS, "--output-dir", str(tmp_path / "a"))
    run("review", "--graph", str(saved), "--grants", GRANTS, "--output-dir", str(tmp_path / "b"))
    for name in ("review.md", "review.json", "review-excess.svg", "review-ai.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


CONTEXT = TrailContext(
    first_event=SAMPLE[0].first_seen, last_event=SAMPLE[-1].last_seen,
    since=SAMPLE[0].first_seen.replace(hour=0, minute=0, second=0, microsecond=0),
    until=SAMPLE[-1].last_seen.replace(hour=23, minute=59, second=59, microsecond=999999),
    trail_actions=("lambda:InvokeFunction", "s3:GetObject"),
    signals=((Signal("AI_INVOCATION_LOGGING_CHANGED", SAMPLE[0].principal.arn, "bedrock",
                     "no longer delivers text"),
              Evidence(2, SAMPLE[0].first_seen, SAMPLE[-1].last_seen, "3f2a")),),
)


@pytest.mark.parametrize("context", [CONTEXT, TrailContext()], ids=["full", "unknown"])
def test_context_round_trips(context: TrailContext) -> None:
    graph = build_graph(SAMPLE, context=context)
    assert from_json(to_json(graph)).context == context
    assert from_graphml(to_graphml(graph)).context == context
    assert to_json(from_json(to_json(graph))) == to_json(graph)


def test_version_1_file_is_refused_with_the_way_out(tmp_path: Path) -> None:
    document = json.loads(to_json(build_graph(SAMPLE)))
    document["schema_version"] = 1
    del document["graph"]["trail"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["who", "*", "--graph", str(old)])
    assert result.exit_code == 3
    assert "schema version 1" in result.stderr and "iamgen graph --trail" in result.stderr
    assert SCHEMA_VERSION == 3


@pytest.mark.parametrize("moment", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_time_past_the_years_a_date_holds_is_a_bad_graph_file(tmp_path: Path,
                                                                  moment: str) -> None:
    text = to_json(build_graph(SAMPLE))
    first = SAMPLE[0].first_seen.isoformat().replace("+00:00", "Z")
    assert first in text
    bad = tmp_path / "bad.json"
    bad.write_text(text.replace(first, moment, 1), encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["who", "*", "--graph", str(bad)])
    assert result.exit_code == 3 and "Traceback" not in result.stderr
    assert str(bad) in result.stderr and "outside the years a date holds" in result.stderr


@pytest.mark.parametrize("damage", ["infinite count", "nested too deeply", "lone surrogate"])
def test_a_graph_file_no_reader_reads_is_one_error_line(tmp_path: Path, damage: str) -> None:
    document = json.loads(to_json(build_graph(SAMPLE)))
    bad = tmp_path / "bad.json"
    if damage == "infinite count":
        document["edges"][0]["count"] = float("inf")  # written as Infinity
        bad.write_text(json.dumps(document), encoding="utf-8")
    elif damage == "lone surrogate":
        document["edges"][0]["resource"] = "arn:aws:s3:::b/\ud800"
        bad.write_text(json.dumps(document), encoding="utf-8")  # (as an escape: ASCII)
    else:
        bad.write_text("[" * 100000, encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["who", "*", "--graph", str(bad)])
    assert result.exit_code == 3 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"iamgen: error: {bad}: graph file is")


def test_a_graph_file_that_is_no_text_is_named_in_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "g.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xd0\xff")
    result = CliRunner().invoke(build_app(), ["who", "*", "--graph", str(binary)])
    assert result.exit_code == 3
    assert result.stderr == f"iamgen: error: {binary}: not an iamgen access graph (not UTF-8 text)\n"


def test_dot_labels_tell_regions_apart() -> None:
    """One model in four regions: four different labels, each naming its region."""
    from iamgen.graph import to_dot
    from tests.graph_sample import TRAINER, use

    regions = ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1")
    model = "foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    graph = build_graph([use(TRAINER, "bedrock:InvokeModel", f"arn:aws:bedrock:{r}::{model}")
                         for r in regions])
    labels = [line.split("label=", 1)[1] for line in to_dot(graph).splitlines()
              if "shape=ellipse" in line]
    assert len(set(labels)) == 4
    for region in regions:
        assert sum(f"bedrock:{region}:{model}" in label for label in labels) == 1
    assert any('label="s3:b/1' in line for line in to_dot(build_graph(
        [use(TRAINER, "s3:GetObject", "arn:aws:s3:::b/1")])).splitlines())
