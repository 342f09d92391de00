"""The garbage-collector settings: each is undone, or left as the caller had it."""

from __future__ import annotations

import gc

import pytest

from iamgen.scanning.gc_tuning import (
    FREEZE_AFTER_EVENTS,
    RARE_COLLECTION_THRESHOLDS,
    collecting_rarely,
    cyclic_gc_paused,
    freeze_large_read,
)


def test_cyclic_gc_is_paused_and_restored_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # a caller's own pause is left as it was
    finally:
        gc.enable()


def test_rare_collection_restores_the_thresholds_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), collecting_rarely():
        assert gc.get_threshold() == RARE_COLLECTION_THRESHOLDS
        raise RuntimeError("boom")
    assert gc.get_threshold() == before


def test_only_a_large_read_is_frozen() -> None:
    gc.unfreeze()
    freeze_large_read(FREEZE_AFTER_EVENTS - 1)
    assert gc.get_freeze_count() == 0
    try:
        freeze_large_read(FREEZE_AFTER_EVENTS)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
