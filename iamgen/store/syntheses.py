"""Policies already synthesized, kept in the store by what they were made from.

A principal's synthesis (its :class:`~iamgen.synth.settings.SynthResult`)
follows from its permissions, the synthesis settings and iamgen itself: its
code and data files, the IAM catalog, and the Python and msgspec it runs on.
The key of a kept synthesis is the SHA-256 of all of those, so a run that
finds its key takes what the same code made from the same input: the output
is the one synthesizing again would give, byte for byte. A run with nothing
new (a rerun) then synthesizes no principal again, and a run after new files
only the principals whose permissions changed.

The fingerprint of iamgen is taken once per process, as early as the run
can (:func:`code_fingerprint`, before a long read), and again before keeping
what was made: files that changed in between (an upgrade during the run)
keep nothing, since the code that ran may be neither. The kept syntheses are
a cache: when the store cannot be read or written at that point (gone, busy,
damaged), or iamgen's own files cannot all be read, the run synthesizes as
without a store and says why (:attr:`Kept.problem`).

Hardened syntheses are not kept (their evidence is each call's request
context, too much to key). A kept synthesis no run has made or taken for
:data:`KEEP_DAYS` days is dropped when a run writes (one made by an iamgen
since upgraded is never taken again). One that cannot be read is
synthesized again and replaced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import msgspec

from ..errors import InputError
from ..model import Permission
from ..synth.parallel import Outcome, synthesize_many
from ..synth.settings import SynthResult, SynthSettings
from .codec import CodecError, deflate, inflate
from .db import Store
from .rules import hash_files, versions

KEEP_DAYS = 30

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(SynthResult)


@dataclass(frozen=True, slots=True)
class Kept:
    """What :func:`synthesize_kept` gives."""

    outcomes: list[Outcome]  # each set's synthesis (or error), in order
    taken: int  # how many were taken from the store
    problem: str | None = None  # why the store was not used, or what was made not kept


def synthesize_kept(path: str | Path, permission_sets: Sequence[Sequence[Permission]],
                    settings: SynthSettings, workers: int = 2) -> Kept:
    """:func:`~iamgen.synth.parallel.synthesize_many` through the store at
    ``path``: each set whose synthesis the store keeps is taken from it, the
    others are synthesized (on ``workers`` processes) and kept. An error
    (a policy too large) takes its set's place and is not kept."""
    if settings.harden:
        raise ValueError("hardened syntheses are not kept: synthesize them directly")
    fingerprint = code_fingerprint()
    if fingerprint is None:
        return Kept(synthesize_many(permission_sets, settings, workers=workers), 0,
                    "policies neither taken from the store nor kept: iamgen's own files "
                    "cannot all be read")
    keys = synthesis_keys(permission_sets, settings)
    try:
        # Closed before synthesis forks: an SQLite connection must never cross a fork.
        with Store.open(path, create=False) as store:
            kept = {key: result for key, data in store.syntheses(set(keys)).items()
                    if (result := _decoded(data)) is not None}
    except InputError as exc:
        return Kept(synthesize_many(permission_sets, settings, workers=workers), 0,
                    f"policies neither taken from the store nor kept: {_reason(exc, path)}")
    missing = [i for i, key in enumerate(keys) if key not in kept]
    made = dict(zip(missing, synthesize_many([permission_sets[i] for i in missing], settings,
                                             workers=workers), strict=True))
    outcomes = [made[i] if i in made else kept[key] for i, key in enumerate(keys)]
    taken = len(keys) - len(made)
    if _files_fingerprint() != fingerprint:
        return Kept(outcomes, taken, "the policies made are not kept: iamgen's files changed "
                                     "during the run")
    new = {keys[i]: deflate(_ENCODER.encode(outcome)) for i, outcome in made.items()
           if isinstance(outcome, SynthResult)}
    now = datetime.now(UTC)
    try:
        with Store.open(path, create=False) as store:
            store.put_syntheses(new, set(kept), now, now - timedelta(days=KEEP_DAYS))
    except InputError as exc:
        return Kept(outcomes, taken, f"the policies made are not kept: {_reason(exc, path)}")
    return Kept(outcomes, taken)


def _reason(error: InputError, path: str | Path) -> str:
    """The store's error, without the store's name it starts with."""
    return str(error).removeprefix(f"{path}: ")


def synthesis_keys(permission_sets: Sequence[Sequence[Permission]],
                   settings: SynthSettings) -> list[bytes]:
    """Each set's key: what its synthesis under ``settings`` follows from, hashed."""
    fingerprint = code_fingerprint()
    if fingerprint is None:
        raise ValueError("iamgen's own files cannot all be read: no key can be made")
    base = hashlib.sha256(fingerprint)
    base.update(_ENCODER.encode(settings))
    keys = []
    for permissions in permission_sets:
        digest = base.copy()
        digest.update(_ENCODER.encode(permissions))
        keys.append(digest.digest())
    return keys


@cache
def code_fingerprint() -> bytes | None:
    """The SHA-256 of this iamgen: its version, every file of its package
    (code and data, released or not), and the catalog, Python and msgspec
    versions; None when a file cannot be read. Taken once per process: a run
    through a store takes it before it reads, as near as it can to the code
    it loaded."""
    return _files_fingerprint()


def _files_fingerprint() -> bytes | None:
    """:func:`code_fingerprint` of the files as they are now."""
    digest = hashlib.sha256(versions().encode())
    try:
        hash_files(digest, _package_files(resources.files("iamgen"), "iamgen"))
    except OSError:
        return None
    return digest.digest()


def _package_files(folder: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    """Every regular file under ``folder`` (compiled caches aside: an
    editor's lock file, a link to nothing, is no file), by name, sorted."""
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        name = f"{prefix}/{entry.name}"
        if entry.is_dir():
            if entry.name != "__pycache__":
                found.extend(_package_files(entry, name))
        elif entry.is_file() and not entry.name.endswith((".pyc", ".pyo")):
            found.append((name, entry))
    return found


def _decoded(data: bytes) -> SynthResult | None:
    """A kept synthesis (None: the bytes do not hold one)."""
    try:
        return _DECODER.decode(inflate(data))
    except (CodecError, msgspec.DecodeError, ValueError, TypeError):
        return None
