"""Policies already synthesized, kept in the store by what they were made from.

A principal's synthesis (its :class:`~iamgen.synth.settings.SynthResult`)
follows from its permissions, the synthesis settings and iamgen itself: its
code and data files, the IAM catalog, and the Python and msgspec it runs on.
The key of a kept synthesis is the SHA-256 of all of those, so a run that
finds its key takes what the same code made from the same input: the output
is the one synthesizing again would give, byte for byte. A run with nothing
new (a rerun, or ``diff`` after ``suggest``) then synthesizes no principal
again, and a run after new files only the principals whose permissions
changed.

Hardened syntheses are not kept (their evidence is each call's request
context, too much to key). A kept synthesis no run has made or taken for
:data:`KEEP_DAYS` days is dropped when a run writes (one made by an iamgen
since upgraded is never taken again). One that cannot be read is
synthesized again and replaced.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import msgspec

from .. import __version__
from ..catalog import load_catalog
from ..model import Permission
from ..synth.parallel import Outcome, synthesize_many
from ..synth.settings import SynthResult, SynthSettings
from .codec import CodecError, deflate, inflate
from .db import Store

KEEP_DAYS = 30

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(SynthResult)


def synthesize_kept(path: str | Path, permission_sets: Sequence[Sequence[Permission]],
                    settings: SynthSettings, workers: int = 2) -> tuple[list[Outcome], int]:
    """:func:`~iamgen.synth.parallel.synthesize_many` through the store at
    ``path``: each set whose synthesis the store keeps is taken from it, the
    others are synthesized (on ``workers`` processes) and kept. An error
    (a policy too large) takes its set's place and is not kept. The
    outcomes, and how many sets were taken from the store."""
    if settings.harden:
        raise ValueError("hardened syntheses are not kept: synthesize them directly")
    keys = synthesis_keys(permission_sets, settings)
    # Closed before synthesis forks: an SQLite connection must never cross a fork.
    with Store.open(path, create=False) as store:
        kept = {key: result for key, data in store.syntheses(set(keys)).items()
                if (result := _decoded(data)) is not None}
    missing = [i for i, key in enumerate(keys) if key not in kept]
    made = dict(zip(missing, synthesize_many([permission_sets[i] for i in missing], settings,
                                             workers=workers), strict=True))
    new = {keys[i]: deflate(_ENCODER.encode(outcome)) for i, outcome in made.items()
           if isinstance(outcome, SynthResult)}
    now = datetime.now(UTC)
    with Store.open(path, create=False) as store:
        store.put_syntheses(new, set(kept), now, now - timedelta(days=KEEP_DAYS))
    outcomes = [made[i] if i in made else kept[key] for i, key in enumerate(keys)]
    return outcomes, len(keys) - len(made)


def synthesis_keys(permission_sets: Sequence[Sequence[Permission]],
                   settings: SynthSettings) -> list[bytes]:
    """Each set's key: what its synthesis under ``settings`` follows from, hashed."""
    base = hashlib.sha256(code_fingerprint())
    base.update(_ENCODER.encode(settings))
    keys = []
    for permissions in permission_sets:
        digest = base.copy()
        digest.update(_ENCODER.encode(permissions))
        keys.append(digest.digest())
    return keys


@cache
def code_fingerprint() -> bytes:
    """The SHA-256 of this iamgen: its version, every file of its package
    (code and data, released or not), and the catalog, Python and msgspec
    versions (read once per process)."""
    python = "{}.{}".format(*sys.version_info[:2])
    digest = hashlib.sha256(f"iamgen {__version__}\0catalog {load_catalog().version}\0"
                            f"python {python}\0msgspec {msgspec.__version__}\0".encode())
    for name, entry in _package_files(resources.files("iamgen"), "iamgen"):
        digest.update(f"{name}\0".encode())
        digest.update(entry.read_bytes())
        digest.update(b"\0")
    return digest.digest()


def _package_files(folder: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    """Every file under ``folder`` (compiled caches aside), by name, sorted."""
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        name = f"{prefix}/{entry.name}"
        if entry.is_dir():
            if entry.name != "__pycache__":
                found.extend(_package_files(entry, name))
        elif not entry.name.endswith((".pyc", ".pyo")):
            found.append((name, entry))
    return found


def _decoded(data: bytes) -> SynthResult | None:
    """A kept synthesis (None: the bytes do not hold one)."""
    try:
        return _DECODER.decode(inflate(data))
    except (CodecError, msgspec.DecodeError, ValueError, TypeError):
        return None
