"""What a scan's totals say about the trail as a whole: every action it shows
a call of, and the data-event groups it shows none of."""

from __future__ import annotations

from ..catalog import load_catalog
from ..grants.observable import Visibility, blind_spots, recorded_groups
from ..mapping.resolve import actions_of_event
from ..mapping.rules import derived_actions
from .tally import ScanResult


def trail_actions(result: ScanResult) -> list[str]:
    """Every IAM action the trail shows a call of, by anyone: what principals
    used or tried (allowed, denied or failed), and what calls of AWS services
    and other callers would need."""
    actions = {u.permission.action for u in result.usages()}
    actions.update(result.failed_actions)
    for source, name in result.other_calls:
        actions.update(actions_of_event(source, name))
    return sorted(actions)


def data_event_groups_unseen(result: ScanResult) -> list[str]:
    """Data-event groups (S3 objects, Lambda invoke, ...) with no event in the trail.

    CloudTrail records data events only where a trail enables them, so their
    absence means "perhaps not recorded", not "not used". Calls by anyone
    count, AWS services included (API Gateway invoking a function is a Lambda
    data event).
    """
    table = blind_spots(load_catalog())
    groups = {spot.id for spot in table.values() if spot.visibility is Visibility.DATA_EVENT}
    seen = recorded_groups(trail_actions(result), table, derived_actions())
    return sorted(groups - seen)
