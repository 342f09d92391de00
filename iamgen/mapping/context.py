"""A record's context: what every ARN is built from (partition, region,
account, request and response objects, ``resources[]`` ARNs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..arn import literal_arn
from .call import Call, call_of
from .reads import ARN_VALUES, NO_TRACKING, ReadTracker, any_case


class RecordContext:
    """The parts of a record every ARN is built from (computed once per record).

    ``request_arns`` and ``response_arns`` (top-level parameter values that
    are ARNs) are computed on first use only.
    """

    __slots__ = (
        "_lowered",
        "_request_arns",
        "_response_arns",
        "account",
        "params",
        "partition",
        "region",
        "resource_arns",
        "response",
        "tracker",
    )

    def __init__(
        self,
        partition: str,
        region: str,
        account: str,
        params: Mapping[str, Any],
        response: Mapping[str, Any],
        resource_arns: tuple[str, ...],
        tracker: ReadTracker = NO_TRACKING,
    ) -> None:
        self.partition = partition
        self.region = region
        self.account = account
        self.params = params
        self.response = response
        self.resource_arns = resource_arns
        self.tracker = tracker
        self._request_arns: tuple[str, ...] | None = None
        self._response_arns: tuple[str, ...] | None = None
        self._lowered: dict[str, Any] | None = None

    def param_any_case(self, name: str) -> Any:
        """The top-level request parameter named ``name`` in any case (the
        last such member, when several differ only in case)."""
        # Only the members of this name (in any case) are looked at.
        members = self.tracker.whole(self.params, any_case(name)).items()
        if self._lowered is None:
            self._lowered = {k.lower(): v for k, v in members if isinstance(k, str)}
        return self._lowered.get(name.lower())

    @property
    def request_arns(self) -> tuple[str, ...]:
        """Top-level request parameter values (or list items) that are ARNs."""
        if self._request_arns is None:
            self._request_arns = _top_level_arns(self.tracker.whole(self.params, ARN_VALUES))
        return self._request_arns

    @property
    def response_arns(self) -> tuple[str, ...]:
        """Top-level response element values (or list items) that are ARNs."""
        if self._response_arns is None:
            self._response_arns = _top_level_arns(self.tracker.whole(self.response,
                                                                     ARN_VALUES))
        return self._response_arns


def context_of(record: Mapping[str, Any]) -> RecordContext:
    """Partition, region, account, parameters and ``resources[]`` ARNs of a record."""
    return context_of_call(call_of(record))


def context_of_call(call: Call, tracker: ReadTracker = NO_TRACKING) -> RecordContext:
    """Partition, region, account, parameters and ``resources[]`` ARNs of a call
    (``tracker`` hears of every whole-object use of its request and response)."""
    caller = call.caller
    region = call.region if isinstance(call.region, str) else ""
    account = call.recipient
    if not isinstance(account, str) or not account:
        account = caller.account if isinstance(caller.account, str) else ""
    if caller.partition is not None:
        partition = caller.partition
    elif region.startswith("cn-"):
        partition = "aws-cn"
    elif region.startswith("us-gov-"):
        partition = "aws-us-gov"
    else:
        partition = "aws"
    arns: list[str] = []
    listed = call.resources
    if isinstance(listed, list):
        for item in listed:
            if isinstance(item, dict):
                value = item.get("ARN") or item.get("arn")
                if isinstance(value, str) and value.startswith("arn:"):
                    arns.append(literal_arn(value))
    params, response = call.params, call.response
    return RecordContext(
        partition=partition,
        region=region,
        account=account,
        params=_unwrapped(params) if isinstance(params, dict) else {},
        response=_unwrapped(response) if isinstance(response, dict) else {},
        resource_arns=tuple(arns),
        tracker=tracker,
    )


def _unwrapped(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """Newer EC2 records wrap parameters: {"DeleteFlowLogsRequest": {...}}."""
    if len(data) == 1:
        (key, inner), = data.items()
        if isinstance(key, str) and key.endswith(("Request", "Response")) and isinstance(inner, dict):
            return inner
    return data


def _top_level_arns(data: Mapping[str, Any]) -> tuple[str, ...]:
    """Top-level values (or list items) of ``data`` that are ARNs."""
    found: list[str] = []
    for value in data.values():
        if isinstance(value, str):
            if value.startswith("arn:"):
                found.append(literal_arn(value))
        elif isinstance(value, list):
            found.extend(literal_arn(v) for v in value if isinstance(v, str) and v.startswith("arn:"))
    return tuple(found)
