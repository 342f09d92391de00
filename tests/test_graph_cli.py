"""``iamgen graph``, ``who`` and ``chains`` through typer's CliRunner, and on the example account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.commands import reading
from iamgen.graph import AccessGraph, build_graph, from_graphml, from_json, read_graph
from iamgen.scanning.scan import principals_seen
from iamgen.model import Filters
from iamgen.synth import synthesize
from tests.records import ACCOUNT, record, role_identity, user_identity, write_trail_file

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account"
EXAMPLE_ACCOUNT = "111122223333"
PIPELINE = f"arn:aws:iam::{EXAMPLE_ACCOUNT}:role/ci/ml-deploy-pipeline"
REGISTRY = f"arn:aws:iam::{EXAMPLE_ACCOUNT}:role/ml-model-registry-publisher"
SAGEMAKER = (f"arn:aws:iam::{EXAMPLE_ACCOUNT}:role/service-role/"
             "AmazonSageMaker-ExecutionRole-20261014T093512")
DATASETS = f"arn:aws:s3:::ml-datasets-{EXAMPLE_ACCOUNT}"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def chain_records() -> list[dict]:
    """alice assumes Deployer; Deployer assumes Trainer (ARN logged without its path)."""
    alice = user_identity("alice")
    deployer = role_identity("Deployer", path="/ci/")
    trainer = role_identity("Trainer", path="/service-role/")
    assume = "sts.amazonaws.com"
    return [
        record(alice, assume, "AssumeRole",
               {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/ci/Deployer", "roleSessionName": "a"},
               resources=[{"type": "AWS::IAM::Role",
                           "ARN": f"arn:aws:iam::{ACCOUNT}:role/ci/Deployer"}]),
        record(deployer, assume, "AssumeRole",
               {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/Trainer", "roleSessionName": "d"},
               resources=[{"type": "AWS::IAM::Role",
                           "ARN": f"arn:aws:iam::{ACCOUNT}:role/Trainer"}],
               time="2026-11-03T11:00:00Z"),
        record(alice, assume, "AssumeRole",
               {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/Admin", "roleSessionName": "x"},
               error="AccessDenied"),
        record(trainer, "s3.amazonaws.com", "GetObject",
               {"bucketName": "ml-data", "key": "train/a.csv"},
               resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::ml-data/train/a.csv"}]),
        record(trainer, "s3.amazonaws.com", "PutObject",
               {"bucketName": "ml-data", "key": "train/b.csv"}, error="AccessDenied",
               time="2026-11-03T12:00:00Z"),
    ]


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    root = tmp_path / "trail"
    write_trail_file(root, chain_records())
    return root


def test_graph_json_to_stdout_and_reload(trail: Path) -> None:
    code, out, err = run("graph", "--trail", str(trail), "-q")
    assert code == 0, err
    graph = from_json(out)
    assert {p.name for p in graph.principals()} == {"alice", "Deployer", "Trainer"}
    actions = {(u.principal.name, u.permission.action, u.denied) for u in graph.usages()}
    assert ("Trainer", "s3:PutObject", True) in actions
    assert ("alice", "sts:AssumeRole", True) in actions


@pytest.mark.parametrize("fmt", ["json", "graphml", "dot"])
def test_graph_writes_each_format_to_a_file(trail: Path, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"g.{fmt}"
    code, out, err = run("graph", "--trail", str(trail), "--format", fmt, "--output", str(target))
    assert code == 0, err
    assert out == ""
    assert f"wrote {target}" in err
    assert target.read_text(encoding="utf-8")


def test_graph_rejects_unknown_format_and_both_inputs(trail: Path, tmp_path: Path) -> None:
    code, _, err = run("graph", "--trail", str(trail), "--format", "png")
    assert code == 2 and "unknown --format" in err
    saved = tmp_path / "g.json"
    saved.write_text(run("graph", "--trail", str(trail), "-q")[1], encoding="utf-8")
    code, _, err = run("who", "*", "--trail", str(trail), "--graph", str(saved))
    assert code == 2 and "not both" in err


def test_graph_of_a_damaged_file_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "iamgen-access-graph", "schema_version": 7}', encoding="utf-8")
    code, _, err = run("who", "*", "--graph", str(bad))
    assert code == 3 and "schema version 7" in err
    code, _, err = run("who", "*", "--graph", str(tmp_path / "missing.json"))
    assert code == 3 and "cannot read graph" in err


def test_who_lists_principals_actions_and_last_seen(trail: Path) -> None:
    code, out, err = run("who", "arn:aws:s3:::ml-data/*", "--trail", str(trail), "-q")
    assert code == 0, err
    lines = out.splitlines()
    # too wide for 100 columns: each row's resource goes on its own line under it
    assert lines[0].split() == ["principal", "kind", "action", "outcome", "calls", "last",
                                "seen", "/", "resource"]
    assert max(len(line) for line in lines) <= 100
    assert "PutObject" in lines[2] and "denied" in lines[2]  # newest first
    assert lines[3].startswith("    arn:aws:s3:::ml-data/")
    assert "GetObject" in lines[4] and "2026-11-03T10:00:00Z" in lines[4]


def test_who_json_and_no_match(trail: Path) -> None:
    code, out, _ = run("who", f"arn:aws:iam::{ACCOUNT}:role/*", "--trail", str(trail), "-q",
                       "--format", "json")
    assert code == 0
    found = {(s["principal"].rsplit("/", 1)[-1], s["outcome"], tuple(s["resources"]))
             for s in json.loads(out)["sightings"]}
    assert found == {
        ("alice", "allowed", (f"arn:aws:iam::{ACCOUNT}:role/ci/Deployer",)),
        ("alice", "denied", (f"arn:aws:iam::{ACCOUNT}:role/Admin",)),
        ("Deployer", "allowed", (f"arn:aws:iam::{ACCOUNT}:role/Trainer",)),
    }
    code, out, _ = run("who", "arn:aws:dynamodb:*", "--trail", str(trail), "-q")
    assert code == 0 and out.startswith("no principal")
    code, _, err = run("who", "ml-data", "--trail", str(trail), "-q")
    assert code == 2 and "not an ARN" in err


def test_chains_follow_assume_role_through_a_pathless_arn(trail: Path) -> None:
    code, out, err = run("chains", "Trainer", "--trail", str(trail), "-q", "--format", "json")
    assert code == 0, err
    (entry,) = json.loads(out)
    assert entry["role"] == f"arn:aws:iam::{ACCOUNT}:role/service-role/Trainer"
    paths = {tuple(p.rsplit("/", 1)[-1] for p in c["principals"]) for c in entry["chains"]}
    assert paths == {("Deployer", "Trainer"), ("alice", "Deployer", "Trainer")}
    code, out, _ = run("chains", "Trainer", "--trail", str(trail), "-q")
    assert "alice -> Deployer -> Trainer" in out


def test_chains_of_a_role_only_denied_or_unknown(trail: Path) -> None:
    code, out, _ = run("chains", "Admin", "--trail", str(trail), "-q")
    assert code == 0 and "no observed AssumeRole chain" in out
    code, _, err = run("chains", "Nobody", "--trail", str(trail), "-q")
    assert code == 4 and "Nobody" in err


# -- the example account --------------------------------------------------------------


@pytest.fixture(scope="module")
def example_graph() -> AccessGraph:
    run_ = reading.read_trails([str(EXAMPLE / "trail")], Filters(), workers=1)
    return build_graph(run_.result.usages(), run_.result.principal_events)


def test_example_exports_in_three_formats_and_reloads(tmp_path: Path,
                                                      example_graph: AccessGraph) -> None:
    trail = str(EXAMPLE / "trail")
    expected = set(example_graph.usages())
    for fmt in ("json", "graphml", "dot"):
        target = tmp_path / f"example.{fmt}"
        code, _, err = run("graph", "--trail", trail, "--format", fmt, "-o", str(target), "-q")
        assert code == 0, err
    text = (tmp_path / "example.json").read_text(encoding="utf-8")
    assert set(from_json(text).usages()) == expected
    graphml = (tmp_path / "example.graphml").read_text(encoding="utf-8")
    assert set(from_graphml(graphml).usages()) == expected
    dot = (tmp_path / "example.dot").read_text(encoding="utf-8")
    assert sum(" -> " in line for line in dot.splitlines()) == example_graph.edge_count
    # Both saved forms answer queries from --graph.
    for saved in ("example.json", "example.graphml"):
        code, out, err = run("chains", "ml-model-registry-publisher", "-g",
                             str(tmp_path / saved))
        assert code == 0, err
        assert "ml-deploy-pipeline -> ml-model-registry-publisher" in out


def test_example_loaded_graph_gives_the_same_policies_as_the_trail(
        example_graph: AccessGraph) -> None:
    run_ = reading.read_trails([str(EXAMPLE / "trail")], Filters(), workers=1)
    loaded = read_graph(run("graph", "--trail", str(EXAMPLE / "trail"), "-q")[1])
    assert principals_seen(run_.result) == loaded.principals()
    for principal in loaded.principals():
        from_scan = sorted({u.permission for u in run_.result.usages()
                            if u.principal == principal and not u.denied})
        assert list(loaded.permissions_of(principal)) == from_scan
        assert loaded.events_of(principal) == run_.result.principal_events[principal]
        if from_scan:
            assert synthesize(loaded.permissions_of(principal)).documents == \
                synthesize(from_scan).documents


def test_example_who_answers_about_the_dataset_bucket(example_graph: AccessGraph) -> None:
    sightings = example_graph.who(f"{DATASETS}/*")
    readers = {s.principal.name for s in sightings if s.action == "s3:GetObject"
               and not s.denied}
    assert readers == {"AmazonSageMaker-ExecutionRole-20261014T093512",
                       "AWSGlueServiceRole-curated-datasets", "dana.okafor", "ml-batch-scoring"}
    denied = {(s.principal.name, s.action) for s in sightings if s.denied}
    # The training script's write into the read-only bucket (README: 4 AccessDenied).
    assert ("AmazonSageMaker-ExecutionRole-20261014T093512", "s3:PutObject") in denied
    put = next(s for s in sightings if s.denied and s.action == "s3:PutObject")
    assert put.count == 4


def test_example_chains_only_the_registry_role_is_reached(example_graph: AccessGraph) -> None:
    reached = {role.arn: {c.principals for c in example_graph.chains_into(role)}
               for role in example_graph.roles()}
    assert {arn for arn, chains in reached.items() if chains} == {REGISTRY}
    assert {tuple(p.arn for p in c) for c in reached[REGISTRY]} == {(PIPELINE, REGISTRY)}
    # The registry role's own activity stays its own, not the pipeline's.
    registry = next(p for p in example_graph.principals() if p.arn == REGISTRY)
    pipeline = next(p for p in example_graph.principals() if p.arn == PIPELINE)
    mine = {u.permission.action for u in example_graph.usages_of(registry)}
    assert mine and not mine & {"sts:AssumeRole"}
    assert not {u.permission for u in example_graph.usages_of(registry)} <= \
        {u.permission for u in example_graph.usages_of(pipeline)}
    assert SAGEMAKER not in reached or not reached[SAGEMAKER]


def test_chains_of_a_user_say_it_is_no_role() -> None:
    from typer.testing import CliRunner

    from iamgen.cli import build_app

    example = Path(__file__).resolve().parent.parent / "examples" / "ml-account" / "trail"
    result = CliRunner().invoke(build_app(), ["chains", "priya.raman", "--trail", str(example),
                                              "-q"])
    assert result.exit_code == 2
    assert "priya.raman is not a role" in result.stderr
