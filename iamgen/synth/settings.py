"""Settings and results of policy synthesis (plain frozen data)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..model import Condition, PolicyDocument
from ..policy import MANAGED_POLICY_LIMIT, policy_size
from .harden import Added, FamilyOutcome, parse_harden
from .patterns import NamePattern


class Generalization(StrEnum):
    """How far resource ARNs may be generalized beyond what was observed.

    Each level does what the one before it does, and more. ``none`` keeps
    every observed ARN. ``patterns`` replaces the parts of names that varied
    across observations (a date, a run id) by ``*`` (see
    :mod:`iamgen.synth.patterns`). ``prefix`` (the default) also folds sibling
    S3 objects of one folder into ``bucket/folder/*``, and the log streams of
    one log group into ``...:log-group:NAME:log-stream:*``, when one action
    was observed on more than the fold threshold of them. ``tree`` also folds
    a folder whose distinct children (objects and sub-folders) exceed the
    threshold, up to ``bucket/*`` at most. No level ever generalizes across
    buckets, log groups, accounts, regions, partitions or resource types.
    """

    NONE = "none"
    PATTERNS = "patterns"
    PREFIX = "prefix"
    TREE = "tree"


@dataclass(frozen=True, slots=True)
class SynthSettings:
    """Knobs of :func:`iamgen.synth.synthesize`.

    ``fold_threshold``: fold a folder only when *more than* this many distinct
    observed entries sit in it. ``compress_actions``: opt in to replacing
    observed actions by ``service:Prefix*`` where the catalog shows the
    wildcard matches nothing unobserved (off: a wildcard also grants actions
    AWS adds later). ``size_limit``: characters per document, whitespace not
    counted. ``max_documents``: above this many documents synthesis
    generalizes one step further (never beyond ``generalization``) and says so.
    ``min_variants``: a word (a token with no date, id or number shape) becomes
    ``*`` in a name pattern only when at least this many names differ in it.
    ``harden``: the hardening families (``data/hardening.toml``) to add where
    the evidence supports them; none by default.
    """

    generalization: Generalization = Generalization.PREFIX
    fold_threshold: int = 10
    min_variants: int = 3
    compress_actions: bool = False
    size_limit: int = MANAGED_POLICY_LIMIT
    max_documents: int = 10
    harden: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "generalization", Generalization(self.generalization))
        if self.harden:
            object.__setattr__(self, "harden", parse_harden(",".join(self.harden)))
        if self.fold_threshold < 1:
            raise ValueError("fold_threshold must be at least 1")
        if self.min_variants < 2:
            raise ValueError("min_variants must be at least 2")
        if self.size_limit < 200:
            raise ValueError("size_limit is too small to hold any statement")
        if self.max_documents < 1:
            raise ValueError("max_documents must be at least 1")


@dataclass(frozen=True, slots=True, order=True)
class Fold:
    """One declared generalization: observed ARNs replaced by a pattern.

    The pattern is granted for ``actions`` under ``conditions`` only;
    ``observed`` counts the distinct observed ARNs it replaced.
    """

    pattern: str
    actions: tuple[str, ...]
    conditions: tuple[Condition, ...]
    observed: int


@dataclass(frozen=True, slots=True, order=True)
class Compression:
    """One opt-in action wildcard and the observed actions it stands for."""

    wildcard: str
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SynthResult:
    """The synthesized documents and what synthesis did to get there.

    ``documents`` are in order: the first is ``<name>.json``, the next
    ``<name>.2.json`` and so on. ``notes`` are human-readable sentences about
    name patterns, folds, compressions, splits, unknown actions and hardening, in a
    stable order. ``hardened`` lists each hardening condition added (and the calls
    it rests on), ``hardening`` how each family asked for fared.
    """

    documents: tuple[PolicyDocument, ...]
    notes: tuple[str, ...] = ()
    folds: tuple[Fold, ...] = ()
    patterns: tuple[NamePattern, ...] = ()
    compressions: tuple[Compression, ...] = ()
    unknown_actions: tuple[str, ...] = ()
    hardened: tuple[Added, ...] = ()
    hardening: tuple[FamilyOutcome, ...] = ()

    @property
    def sizes(self) -> tuple[int, ...]:
        """Characters (whitespace not counted) of each document."""
        return tuple(policy_size(doc) for doc in self.documents)
