"""LookupEvents reading, with botocore's Stubber (moto does not implement it).

Response shape from the API reference:
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
(``Events[]`` of ``EventId``, ``EventName``, ``ReadOnly``, ``AccessKeyId``,
``EventTime``, ``EventSource``, ``Username``, ``Resources[]``,
``CloudTrailEvent`` - the record as a JSON string - and ``NextToken``).
Rate: two requests per second per account and region
(https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from iamgen.errors import UsageError
from iamgen.scanning.scan import scan
from iamgen.model import Filters, Window
from iamgen.sources.aws import ClientFactory
from iamgen.sources.lookup import LookupAttribute, LookupSource, attribute_of_version
from tests.records import record, role_identity

DAY1 = datetime(2026, 11, 1, tzinfo=UTC)
DAY2 = datetime(2026, 11, 2, tzinfo=UTC)
UNTIL = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _event(name: str, when: datetime, **extra: Any) -> dict[str, Any]:
    body = record(role_identity("PipelineRole"), "sagemaker.amazonaws.com", name,
                  {"trainingJobName": "job-1"}, time=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  **extra)
    return {
        "EventId": "6b6bd6d9-9d38-4e02-9a37-8d2d8f1e1a01",
        "EventName": name,
        "ReadOnly": "true",
        "AccessKeyId": "ASIAEXAMPLE",
        "EventTime": when,
        "EventSource": "sagemaker.amazonaws.com",
        "Username": "session",
        "Resources": [{"ResourceType": "AWS::SageMaker::TrainingJob", "ResourceName": "job-1"}],
        "CloudTrailEvent": json.dumps(body),
    }


class FakeClock:
    """A clock that advances only when slept on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def client() -> Any:
    return ClientFactory("cloudtrail", region="us-east-1")()


def _source(client: Any, clock: FakeClock, **kwargs: Any) -> LookupSource:
    return LookupSource(lambda region: client, now=UNTIL, sleep=clock.sleep, clock=clock,
                        **kwargs)


def test_pages_are_followed_and_each_day_is_one_slice(client: Any) -> None:
    clock = FakeClock()
    stub = Stubber(client)
    day1 = {"StartTime": DAY1, "EndTime": DAY2, "MaxResults": 50}
    stub.add_response("lookup_events", {
        "Events": [_event("DescribeTrainingJob", datetime(2026, 11, 1, 9, tzinfo=UTC))],
        "NextToken": "page-2",
    }, day1)
    stub.add_response("lookup_events", {
        "Events": [_event("CreateTrainingJob", datetime(2026, 11, 1, 8, tzinfo=UTC))],
    }, {**day1, "NextToken": "page-2"})
    stub.add_response("lookup_events", {
        "Events": [_event("StopTrainingJob", datetime(2026, 11, 2, 10, tzinfo=UTC))],
    }, {"StartTime": DAY2, "EndTime": UNTIL, "MaxResults": 50})
    source = _source(client, clock)
    with stub:
        result = scan(source, Filters(window=Window(DAY1, UNTIL)), workers=1)
    stub.assert_no_pending_responses()
    assert result.events_read == 3
    assert result.files_read == 2
    assert result.unresolved == {}
    assert source.requests == 3
    names = {u.permission.action for u in result.usages()}
    assert names == {"sagemaker:DescribeTrainingJob", "sagemaker:CreateTrainingJob",
                     "sagemaker:StopTrainingJob"}


def test_requests_are_paced_to_two_a_second(client: Any) -> None:
    clock = FakeClock()
    stub = Stubber(client)
    for page in range(4):
        response: dict[str, Any] = {"Events": []}
        if page < 3:
            response["NextToken"] = f"t{page}"
        stub.add_response("lookup_events", response, None)
    source = _source(client, clock)
    with stub:
        scan(source, Filters(window=Window(DAY2, UNTIL)), workers=1)
    assert source.requests == 4
    assert clock.sleeps == [0.5, 0.5, 0.5]


def test_event_on_a_slice_boundary_is_counted_once(client: Any) -> None:
    clock = FakeClock()
    stub = Stubber(client)
    boundary = _event("DescribeTrainingJob", DAY2)
    # LookupEvents may return an event at EndTime in one slice and at StartTime in the next.
    stub.add_response("lookup_events", {"Events": [boundary]}, None)
    stub.add_response("lookup_events", {"Events": [boundary]}, None)
    with stub:
        result = scan(_source(client, clock), Filters(window=Window(DAY1, UNTIL)), workers=1)
    assert result.events_read == 1


def test_lookup_attribute_is_sent(client: Any) -> None:
    clock = FakeClock()
    stub = Stubber(client)
    stub.add_response("lookup_events", {"Events": []}, {
        "StartTime": DAY2, "EndTime": UNTIL, "MaxResults": 50,
        "LookupAttributes": [{"AttributeKey": "EventSource",
                              "AttributeValue": "sagemaker.amazonaws.com"}],
    })
    source = _source(client, clock,
                     attribute=LookupAttribute("EventSource", "sagemaker.amazonaws.com"))
    with stub:
        scan(source, Filters(window=Window(DAY2, UNTIL)), workers=1)
    stub.assert_no_pending_responses()


def test_unknown_attribute_is_refused() -> None:
    with pytest.raises(UsageError, match="EventSource"):
        LookupAttribute("Principal", "x")


def test_open_window_covers_ninety_days_per_region() -> None:
    source = LookupSource(lambda region: None, now=UNTIL)
    files = source.files(Filters(regions=frozenset({"us-east-1", "eu-west-1"})))
    assert len(files) == 2 * 91  # a partial first day, 89 whole days, today so far
    assert files[0].location.startswith("lookup:eu-west-1:[2026-08-04T12:00:00")
    assert files[-1].location.endswith("2026-11-02T12:00:00.000000Z]")


def test_api_error_is_a_warning_and_other_slices_go_on(client: Any) -> None:
    # A refused call (AccessDenied, expired token) stops the run instead:
    # tests/test_aws_settings.py.
    clock = FakeClock()
    stub = Stubber(client)
    stub.add_client_error("lookup_events", service_error_code="InvalidNextTokenException",
                          service_message="the token is not valid", http_status_code=400)
    stub.add_response("lookup_events", {
        "Events": [_event("DescribeTrainingJob", datetime(2026, 11, 2, 1, tzinfo=UTC))]})
    with stub:
        result = scan(_source(client, clock), Filters(window=Window(DAY1, UNTIL)), workers=1)
    assert result.events_read == 1
    assert result.files_skipped["unreadable_file"] == 1
    [line] = result.sorted_warnings()
    assert "InvalidNextTokenException" in line and line.startswith("warning: lookup:us-east-1:[")


def test_invalid_cloudtrail_event_string_is_warned(client: Any) -> None:
    clock = FakeClock()
    stub = Stubber(client)
    bad = _event("DescribeTrainingJob", datetime(2026, 11, 2, 1, tzinfo=UTC))
    bad["CloudTrailEvent"] = "{not json"
    good = _event("CreateTrainingJob", datetime(2026, 11, 2, 2, tzinfo=UTC))
    stub.add_response("lookup_events", {"Events": [bad, good]})
    with stub:
        result = scan(_source(client, clock), Filters(window=Window(DAY2, UNTIL)), workers=1)
    assert result.skipped["invalid_json"] == 1
    assert result.events_used == 1
    assert "record 0: CloudTrailEvent is not valid JSON" in result.sorted_warnings()[0]


@pytest.mark.parametrize("attribute", [None, LookupAttribute("EventSource", "s3.amazonaws.com"),
                                       LookupAttribute("Username", "a b=c")])
def test_a_kept_days_version_gives_back_its_lookup_attribute(attribute: Any) -> None:
    source = LookupSource(lambda region: None, attribute=attribute,
                          now=datetime(2026, 11, 10, tzinfo=UTC))
    day = next(f for f in source.files(Filters(window=Window(
        since=datetime(2026, 11, 3, tzinfo=UTC), until=datetime(2026, 11, 6, tzinfo=UTC))))
        if source.version(f) is not None)
    assert attribute_of_version(source.version(day) or "") == attribute


@pytest.mark.parametrize("version", ["", "days", "day ", "day EventSource", "day Nope=x",
                                     "week EventSource=x"])
def test_a_version_no_kept_day_has_is_refused(version: str) -> None:
    with pytest.raises(ValueError):
        attribute_of_version(version)
