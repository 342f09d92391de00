"""Calls that name their resource only by an id another call returned.

Athena's GetQueryExecution, GetQueryResults, StopQueryExecution... take only a
QueryExecutionId, and are authorized on the workgroup the query ran in
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonathena.html);
StartQueryExecution's record names that workgroup and returns the id
(https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html).
The id is matched anywhere in the trail, whatever the file order or the
process that read it; an id never announced leaves "*", reported as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iamgen.scanning.scan import scan
from iamgen.model import Filters
from iamgen.sources.local import LocalSource
from tests.records import ACCOUNT, record, role_identity, user_identity, write_trail_file

ANALYST = user_identity("analyst")
PIPELINE = role_identity("Pipeline")
WORKGROUP = f"arn:aws:athena:us-east-1:{ACCOUNT}:workgroup/analysts"


def _start(who: dict, query: str, workgroup: str = "analysts", **extra: object) -> dict:
    return record(who, "athena.amazonaws.com", "StartQueryExecution",
                  {"queryString": "select 1", "workGroup": workgroup},
                  response={"queryExecutionId": query}, **extra)


def _get(who: dict, name: str, query: str, **extra: object) -> dict:
    return record(who, "athena.amazonaws.com", name, {"queryExecutionId": query}, **extra)


def _grants(result, who: str) -> set[tuple[str, str]]:
    return {(u.permission.action, u.permission.resource) for u in result.usages()
            if u.principal.name == who and not u.denied}


def _trail(tmp_path: Path) -> Path:
    # The results are read in a file delivered before the one holding the start,
    # and by another principal than the one that started the query.
    write_trail_file(tmp_path, [
        _get(ANALYST, "GetQueryExecution", "q-1"),
        _get(PIPELINE, "GetQueryResults", "q-1"),
        _get(PIPELINE, "GetQueryResults", "q-unknown"),
        _get(ANALYST, "StopQueryExecution", "q-2", error="AccessDenied"),
    ], stamp="20261103T0900Z", suffix="First00000000001")
    write_trail_file(tmp_path, [_start(ANALYST, "q-1"), _start(ANALYST, "q-2", "etl")],
                     stamp="20261103T1000Z", suffix="Second0000000002")
    return tmp_path


@pytest.mark.parametrize("workers", [1, 2])
def test_query_ids_take_the_workgroup_their_query_ran_in(tmp_path: Path, workers: int) -> None:
    result = scan(LocalSource((str(_trail(tmp_path)),)), Filters(), workers=workers)
    assert _grants(result, "analyst") == {("athena:GetQueryExecution", WORKGROUP),
                                          ("athena:StartQueryExecution", WORKGROUP),
                                          ("athena:StartQueryExecution",
                                           WORKGROUP.replace("analysts", "etl"))}
    assert _grants(result, "Pipeline") == {("athena:GetQueryResults", WORKGROUP),
                                           ("athena:GetQueryResults", "*")}  # q-unknown
    [denied] = [u for u in result.usages() if u.denied]
    assert denied.permission.resource == WORKGROUP.replace("analysts", "etl")
    # Only the call whose id was never announced is reported as granted on "*".
    assert result.uncorrelated() == {"athena:GetQueryResults": 1}
    assert not result.unknown_resource


def test_both_scan_paths_and_every_file_order_agree(tmp_path: Path) -> None:
    from tests.scanning import assert_same, plain_scan

    source = LocalSource((str(_trail(tmp_path)),))
    fast = scan(source, Filters(), workers=1)
    plain = plain_scan(source, Filters())
    assert_same(fast, plain)
    assert fast.uncorrelated() == plain.uncorrelated()


def test_a_failed_start_announces_nothing(tmp_path: Path) -> None:
    write_trail_file(tmp_path, [
        record(ANALYST, "athena.amazonaws.com", "StartQueryExecution",
               {"queryString": "select 1", "workGroup": "analysts"},
               error="InvalidRequestException"),
        _get(ANALYST, "GetQueryResults", "q-9"),
    ])
    result = scan(LocalSource((str(tmp_path),)), Filters(), workers=1)
    assert ("athena:GetQueryResults", "*") in _grants(result, "analyst")


def test_sessions_take_their_workgroup(tmp_path: Path) -> None:
    # https://docs.aws.amazon.com/athena/latest/APIReference/API_StartSession.html
    write_trail_file(tmp_path, [
        record(ANALYST, "athena.amazonaws.com", "StartSession", {"workGroup": "notebooks"},
               response={"sessionId": "s-1", "state": "CREATED"}),
        record(ANALYST, "athena.amazonaws.com", "TerminateSession", {"sessionId": "s-1"},
               response={"state": "TERMINATING"}),
    ])
    result = scan(LocalSource((str(tmp_path),)), Filters(), workers=1)
    notebooks = WORKGROUP.replace("analysts", "notebooks")
    assert ("athena:TerminateSession", notebooks) in _grants(result, "analyst")
    assert not result.uncorrelated()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_start_outside_the_filters_or_by_no_principal_still_announces(
        tmp_path: Path, workers: int) -> None:
    saml = {"type": "SAMLUser", "principalId": "idp:alice", "userName": "alice"}
    write_trail_file(tmp_path, [
        _start(saml, "q-saml"),  # a federated user: no principal here
        _start(ANALYST, "q-early", time="2026-11-02T23:00:00Z"),  # before --since
        _start(ANALYST, "q-west", region="us-west-2"),  # another region than --region
        _start(ANALYST, "q-failed", time="2026-11-02T23:30:00Z", error="InternalServerException"),
    ], stamp="20261103T0900Z", suffix="Starts0000000001")
    write_trail_file(tmp_path, [
        _get(PIPELINE, "GetQueryResults", "q-saml"),
        _get(PIPELINE, "GetQueryResults", "q-early"),
        _get(PIPELINE, "GetQueryResults", "q-west"),
        _get(PIPELINE, "GetQueryResults", "q-failed"),  # a failed start announces nothing
    ], stamp="20261103T1000Z", suffix="Reads00000000002")
    from datetime import UTC, datetime

    from iamgen.model import Window
    filters = Filters(window=Window(since=datetime(2026, 11, 3, tzinfo=UTC)),
                      regions=frozenset({"us-east-1"}))
    result = scan(LocalSource((str(tmp_path),)), filters, workers=workers)
    west = WORKGROUP.replace("us-east-1", "us-west-2")
    assert _grants(result, "Pipeline") == {("athena:GetQueryResults", WORKGROUP),
                                           ("athena:GetQueryResults", west),
                                           ("athena:GetQueryResults", "*")}
    assert result.uncorrelated() == {"athena:GetQueryResults": 1}
    from tests.scanning import plain_scan
    assert plain_scan(LocalSource((str(tmp_path),)), filters) == result
