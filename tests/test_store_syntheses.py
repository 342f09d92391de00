"""Syntheses kept in the store: a kept one is what synthesizing again gives,
it is taken only for the same permissions, settings and code, and a run with
nothing new synthesizes nothing."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamgen.errors import PolicyTooLargeError
from iamgen.model import Permission
from iamgen.store import syntheses
from iamgen.store.db import Store
from iamgen.synth import Generalization, SynthSettings, synthesize
from iamgen.synth.parallel import Outcome, synthesize_many
from tests.strategies import permissions, sibling_log_streams, sibling_objects

SETTINGS = SynthSettings()


def _sets() -> list[tuple[Permission, ...]]:
    return [tuple(Permission("s3:GetObject", f"arn:aws:s3:::bucket-{n}/runs/run-{i:04d}/out")
                  for i in range(3 + 5 * n))
            + (Permission("kms:Decrypt", f"arn:aws:kms:us-east-1:111122223333:key/k{n}"),)
            for n in range(4)]


class Counting:
    """synthesize_many, noting each set it is given."""

    def __init__(self) -> None:
        self.given: list[Sequence[Permission]] = []

    def __call__(self, sets: Sequence[Sequence[Permission]], settings: SynthSettings,
                 workers: int = 2) -> list[Outcome]:
        self.given.extend(sets)
        return synthesize_many(sets, settings, workers=workers)


SPY = Counting()


@pytest.fixture(autouse=True)
def counting(monkeypatch: pytest.MonkeyPatch) -> Counting:
    SPY.given.clear()
    monkeypatch.setattr(syntheses, "synthesize_many", SPY)
    return SPY


def _kept(store: Path, sets: Sequence[Sequence[Permission]], chosen: SynthSettings,
          workers: int = 1) -> list[Outcome]:
    """The outcomes of synthesize_kept, checking the count it says it took."""
    given = len(SPY.given)
    kept = syntheses.synthesize_kept(store, sets, chosen, workers=workers)
    assert kept.taken == len(sets) - (len(SPY.given) - given)
    assert kept.problem is None
    return kept.outcomes


def _store(path: Path) -> Path:
    Store.open(path).close()
    return path


def test_a_second_run_takes_every_synthesis_and_gets_the_same(tmp_path: Path,
                                                               counting: Counting) -> None:
    store = _store(tmp_path / "s.db")
    sets = _sets()
    expected = [synthesize(s, SETTINGS) for s in sets]
    assert _kept(store, sets, SETTINGS, workers=1) == expected
    assert counting.given == sets
    counting.given.clear()
    assert _kept(store, sets, SETTINGS, workers=1) == expected
    assert counting.given == []


def test_only_the_changed_set_is_synthesized_again(tmp_path: Path, counting: Counting) -> None:
    store = _store(tmp_path / "s.db")
    sets = _sets()
    _kept(store, sets, SETTINGS, workers=1)
    counting.given.clear()
    changed = (*sets[2], Permission("s3:GetObject", "arn:aws:s3:::bucket-2/runs/new/out"))
    sets[2] = changed
    assert _kept(store, sets, SETTINGS, workers=1) == [
        synthesize(s, SETTINGS) for s in sets]
    assert counting.given == [changed]


@pytest.mark.parametrize("other", [
    SynthSettings(generalization=Generalization.NONE),
    SynthSettings(fold_threshold=2),
    SynthSettings(min_variants=2),
    SynthSettings(compress_actions=True),
    SynthSettings(size_limit=3000),
    SynthSettings(max_documents=1),
])
def test_other_settings_are_another_key(other: SynthSettings) -> None:
    sets = _sets()
    assert syntheses.synthesis_keys(sets, other) != syntheses.synthesis_keys(sets, SETTINGS)
    assert len(set(syntheses.synthesis_keys(sets, SETTINGS))) == len(sets)


def test_other_code_is_another_key(monkeypatch: pytest.MonkeyPatch) -> None:
    sets = _sets()
    before = syntheses.synthesis_keys(sets, SETTINGS)
    monkeypatch.setattr(syntheses, "code_fingerprint", lambda: b"another iamgen")
    assert not set(before) & set(syntheses.synthesis_keys(sets, SETTINGS))


def test_the_code_fingerprint_covers_every_file_but_compiled_ones(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "__pycache__").mkdir()
    for name in ("a.py", "data/rules.toml", "__pycache__/a.cpython-311.pyc", "b.pyc"):
        (tmp_path / name).write_text(name)
    found = [name for name, _ in syntheses._package_files(tmp_path, "pkg")]
    assert found == ["pkg/a.py", "pkg/data/rules.toml"]
    assert len(syntheses.code_fingerprint()) == 32


def test_files_that_are_not_regular_files_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a")
    (tmp_path / ".#a.py").symlink_to("root@host.1234:1700000000")  # an editor's lock
    assert [name for name, _ in syntheses._package_files(tmp_path, "pkg")] == ["pkg/a.py"]


class _Unreadable:
    name = "x.py"

    def read_bytes(self) -> bytes:
        raise PermissionError("denied")


def test_iamgen_files_that_cannot_be_read_keep_nothing_and_say_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(tmp_path / "s.db")
    monkeypatch.setattr(syntheses, "_package_files", lambda *_: [("iamgen/x.py", _Unreadable())])
    syntheses.code_fingerprint.cache_clear()
    try:
        kept = syntheses.synthesize_kept(store, _sets(), SETTINGS, workers=1)
    finally:
        syntheses.code_fingerprint.cache_clear()
    assert kept.outcomes == [synthesize(s, SETTINGS) for s in _sets()] and kept.taken == 0
    assert kept.problem is not None and "own files cannot all be read" in kept.problem
    with sqlite3.connect(store) as connection:
        assert connection.execute("SELECT count(*) FROM syntheses").fetchone()[0] == 0


def test_iamgen_changed_during_the_run_keeps_nothing(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The fingerprint is taken when the run starts; files that differ when
    # it would keep what it made (an upgrade meanwhile) keep nothing.
    store = _store(tmp_path / "s.db")
    syntheses.code_fingerprint()
    monkeypatch.setattr(syntheses, "_files_fingerprint", lambda: b"an upgraded iamgen")
    kept = syntheses.synthesize_kept(store, _sets(), SETTINGS, workers=1)
    assert kept.outcomes == [synthesize(s, SETTINGS) for s in _sets()]
    assert kept.problem == "the policies made are not kept: iamgen's files changed during the run"
    with sqlite3.connect(store) as connection:
        assert connection.execute("SELECT count(*) FROM syntheses").fetchone()[0] == 0


def test_a_store_gone_or_damaged_at_synthesis_synthesizes_as_without(tmp_path: Path) -> None:
    gone = tmp_path / "gone.db"  # removed after the run read through it
    kept = syntheses.synthesize_kept(gone, _sets(), SETTINGS, workers=1)
    assert kept.outcomes == [synthesize(s, SETTINGS) for s in _sets()] and kept.taken == 0
    assert kept.problem is not None
    assert kept.problem.startswith("policies neither taken from the store nor kept: ")
    assert str(gone) not in kept.problem  # the warning names the store once, before it
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"not a database at all, " * 100)
    kept = syntheses.synthesize_kept(damaged, _sets(), SETTINGS, workers=1)
    assert kept.outcomes == [synthesize(s, SETTINGS) for s in _sets()]
    assert kept.problem is not None and not gone.exists()


def test_a_store_busy_when_keeping_keeps_nothing_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(tmp_path / "s.db")
    monkeypatch.setattr("iamgen.store.db.BUSY_SECONDS", 0.1)
    holder = sqlite3.connect(store, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another run writing
        kept = syntheses.synthesize_kept(store, _sets(), SETTINGS, workers=1)
    finally:
        holder.close()
    assert kept.outcomes == [synthesize(s, SETTINGS) for s in _sets()]
    assert kept.problem is not None and "busy" in kept.problem
    assert kept.problem.startswith("the policies made are not kept: ")


def test_an_error_takes_its_place_and_is_not_kept(tmp_path: Path, counting: Counting) -> None:
    store = _store(tmp_path / "s.db")
    too_large = (Permission("s3:GetObject", "arn:aws:s3:::b/" + "k" * 7000),)
    sets = [*_sets()[:2], too_large]
    for _ in range(2):
        counting.given.clear()
        outcomes = _kept(store, sets, SETTINGS, workers=1)
        assert isinstance(outcomes[2], PolicyTooLargeError)
        assert outcomes[:2] == [synthesize(s, SETTINGS) for s in sets[:2]]
    assert counting.given == [too_large]


def test_a_kept_synthesis_that_cannot_be_read_is_made_again(tmp_path: Path,
                                                            counting: Counting) -> None:
    store = _store(tmp_path / "s.db")
    sets = _sets()
    _kept(store, sets, SETTINGS, workers=1)
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE syntheses SET data = x'00ff' WHERE rowid = "
                           "(SELECT min(rowid) FROM syntheses)")
        connection.execute("UPDATE syntheses SET data = 'text' WHERE rowid = "
                           "(SELECT max(rowid) FROM syntheses)")
    counting.given.clear()
    assert _kept(store, sets, SETTINGS, workers=1) == [
        synthesize(s, SETTINGS) for s in sets]
    assert len(counting.given) == 2
    counting.given.clear()
    _kept(store, sets, SETTINGS, workers=1)
    assert counting.given == []  # replaced


def test_syntheses_unused_for_the_keeping_days_are_dropped(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.db")
    sets = _sets()
    _kept(store, sets[:2], SETTINGS, workers=1)
    old = datetime.now(UTC) - timedelta(days=syntheses.KEEP_DAYS, hours=1)
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE syntheses SET used = ?",
                           (int(old.timestamp() * 1_000_000),))
    _kept(store, sets[1:], SETTINGS, workers=1)  # takes sets[1] again
    with Store.open(store, create=False) as opened:
        held = opened.syntheses(syntheses.synthesis_keys(sets, SETTINGS))
    assert set(held) == set(syntheses.synthesis_keys(sets[1:], SETTINGS))


def test_hardened_syntheses_are_not_kept(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not kept"):
        _kept(_store(tmp_path / "s.db"), _sets(),
                                  SynthSettings(harden=("auto",)))


def test_a_store_made_before_syntheses_were_kept_gains_their_table(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.db")
    with sqlite3.connect(store) as connection:
        connection.execute("DROP TABLE syntheses")
    assert _kept(store, _sets(), SETTINGS, workers=1) == [
        synthesize(s, SETTINGS) for s in _sets()]
    with sqlite3.connect(store) as connection:
        assert connection.execute("SELECT count(*) FROM syntheses").fetchone()[0] == 4


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sets=st.lists(st.one_of(st.lists(permissions(), min_size=1, max_size=12),
                               sibling_objects(), sibling_log_streams()),
                     min_size=1, max_size=4),
       generalization=st.sampled_from(Generalization),
       fold_threshold=st.integers(1, 4))
def test_what_the_store_gives_is_what_synthesis_gives(
        sets: list[list[Permission]], generalization: Generalization,
        fold_threshold: int) -> None:
    chosen = SynthSettings(generalization=generalization, fold_threshold=fold_threshold)
    expected = [_outcome(s, chosen) for s in sets]
    with tempfile.TemporaryDirectory() as folder:
        store = _store(Path(folder) / "s.db")
        for _ in range(2):  # made, then taken from the store
            got = _kept(store, sets, chosen, workers=1)
            assert [_comparable(o) for o in got] == [_comparable(o) for o in expected]


def _outcome(permissions: Sequence[Permission], chosen: SynthSettings) -> Outcome:
    try:
        return synthesize(permissions, chosen)
    except PolicyTooLargeError as exc:
        return exc


def _comparable(outcome: Outcome) -> object:
    return (type(outcome).__name__, str(outcome)) if isinstance(outcome, Exception) else outcome
