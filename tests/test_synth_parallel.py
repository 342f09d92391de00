"""Synthesis of many principals on two processes gives what one process gives."""

from __future__ import annotations

import pytest

from iamgen.errors import PolicyTooLargeError
from iamgen.model import Permission
from iamgen.synth import SynthSettings, synthesize
from iamgen.synth.parallel import _shares, synthesize_many

SETTINGS = SynthSettings()


def _sets() -> list[tuple[Permission, ...]]:
    sets = []
    for n in range(7):
        objects = tuple(Permission("s3:GetObject", f"arn:aws:s3:::bucket-{n}/data/part-{i:04d}")
                        for i in range(5 + 40 * n))
        sets.append((*objects, Permission("kms:Decrypt", f"arn:aws:kms:us-east-1:111122223333:key/k{n}")))
    return sets


def test_two_processes_give_the_same_results_in_the_same_order() -> None:
    sets = _sets()
    serial = [synthesize(permissions, SETTINGS) for permissions in sets]
    for workers in (1, 2, 3, 16):
        assert synthesize_many(sets, SETTINGS, workers=workers, min_parallel=0) == serial


def test_an_error_takes_its_place_in_order_whichever_process_met_it() -> None:
    too_large = (Permission("s3:GetObject", "arn:aws:s3:::b/" + "k" * 7000),)
    sets = _sets()
    for position in range(len(sets) + 1):
        given = [*sets[:position], too_large, *sets[position:]]
        outcomes = synthesize_many(given, SETTINGS, workers=3, min_parallel=0)
        assert isinstance(outcomes[position], PolicyTooLargeError)
        rest = [o for i, o in enumerate(outcomes) if i != position]
        assert rest == [synthesize(p, SETTINGS) for p in sets]


@pytest.mark.parametrize("sizes", [[5], [9, 1, 1, 1], [3, 3, 3, 3], [10, 9, 8, 1, 1]])
@pytest.mark.parametrize("count", [2, 3])
def test_shares_cover_every_index_once_and_balance(sizes: list[int], count: int) -> None:
    shares = _shares(sizes, count)
    assert len(shares) == count
    assert sorted(i for share in shares for i in share) == list(range(len(sizes)))
    loads = sorted(sum(sizes[i] + 1 for i in share) for share in shares)
    assert loads[-1] - loads[0] <= max(sizes) + 1
