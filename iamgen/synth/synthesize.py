"""Permissions -> the smallest policy documents that allow exactly them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from functools import lru_cache

from ..catalog import Catalog, load_catalog
from ..model import Condition, Permission, PolicyDocument
from ..policy import policy_size
from .compress import compress_actions
from .generalize import Siblings, find_siblings, fold_siblings
from .group import group_permissions, statement_order
from .harden import Added, FamilyOutcome, HardenEvidence, harden_statements, hardening_notes
from .harden import name_hardened
from .normalize import normalize_permissions, writable
from .patterns import NamePattern, Pool, drop_covered, pooled_patterns, widest
from .settings import Compression, Fold, Generalization, SynthResult, SynthSettings
from .sids import name_statements
from .split import cut_oversized, pack


def _generalized(
    siblings: Siblings, named: Mapping[tuple[Pool, str], NamePattern],
    pool: Callable[[str], Pool], threshold: int,
) -> tuple[frozenset[Permission], tuple[Fold, ...]]:
    """Folds and name patterns, each decided on every observed name, together.

    Both are made from all the evidence, so more observations never take an
    allowed name away (a name taken by a pattern still counts for its folder's
    fold). A name either generalizes is dropped; a name pattern a fold of the
    same action and conditions covers (``folder/*`` over ``folder/a-*.csv``) too.
    """
    folded, folds = fold_siblings(siblings, threshold)
    out: set[Permission] = set()
    fold_prefixes: dict[tuple[str, tuple[Condition, ...]], list[str]] = {}
    pinned = siblings.exact
    for perm in folded:
        if (pool(perm.action), perm.resource) in named and perm not in pinned:
            continue  # its name pattern stands for it
        out.add(perm)
        if perm.resource.endswith("*") and perm not in siblings.permissions:
            fold_prefixes.setdefault((perm.action, perm.conditions), []).append(
                perm.resource[:-1])
    # Many names share one pattern (some 1,800 names, a handful of patterns per
    # principal on the benchmark trail): each distinct (action, pattern,
    # conditions) is checked against its folds once, not once per name.
    generalized = {(perm.action, pattern.pattern, perm.conditions)
                   for perm in siblings.permissions
                   if (pattern := named.get((pool(perm.action), perm.resource))) is not None
                   and perm not in pinned}
    for action, pattern_arn, conditions in generalized:
        prefixes = fold_prefixes.get((action, conditions), ())
        if not any(pattern_arn.startswith(prefix) for prefix in prefixes):
            out.add(Permission(action, pattern_arn, conditions))
    return drop_covered(out, {p.pattern for p in named.values()}), folds


_NOT_HARDENED = HardenEvidence(person=False)

# Name patterns: an action's names are pooled with those of actions of its
# access level and every higher one (reading what was written, never writing
# what was read); an action the catalog does not know keeps its own names.
# (The catalog writes "Tagging, Write" and "Permissions management, Write".)
_RANKS = {"list": 0, "read": 0, "write": 1, "tagging": 1, "tagging, write": 1,
          "permissions management": 2, "permissions management, write": 2}


def pattern_pool(catalog: Catalog) -> Callable[[str], Pool]:
    """The pool of an action's names (:func:`~iamgen.synth.patterns.pooled_patterns`):
    its access level's rank, or for an action the catalog does not know, itself."""
    @lru_cache(maxsize=None)
    def pool(action: str) -> Pool:
        info = catalog.action(action)
        rank = _RANKS.get(info.access_level.lower()) if info is not None else None
        return rank if rank is not None else action.lower()
    return pool


def _documents(
    siblings: Siblings,
    named: Mapping[tuple[Pool, str], NamePattern],
    pool: Callable[[str], Pool],
    settings: SynthSettings,
    threshold: int,
    catalog: Catalog,
    evidence: HardenEvidence | None = None,
) -> tuple[tuple[PolicyDocument, ...], tuple[Fold, ...], tuple[Compression, ...],
           tuple[Added, ...], tuple[FamilyOutcome, ...]]:
    folded, folds = _generalized(siblings, named, pool, threshold)
    statements = group_permissions(folded)
    compressions: tuple[Compression, ...] = ()
    if settings.compress_actions:
        statements, compressions = compress_actions(statements, catalog)
    added: tuple[Added, ...] = ()
    outcomes: tuple[FamilyOutcome, ...] = ()
    if settings.harden:  # before cutting: every piece keeps its statement's conditions
        statements, added, outcomes = harden_statements(
            statements, evidence or _NOT_HARDENED, settings.harden, catalog)
    statements = cut_oversized(statements, settings.size_limit)
    ordered = tuple(sorted(statements, key=statement_order))
    statements = name_hardened(ordered) if settings.harden else name_statements(ordered)
    return pack(statements, settings.size_limit), folds, compressions, added, outcomes


def _lower_thresholds(threshold: int, level: Generalization) -> list[int]:
    """Fold thresholds to try, each half the previous, down to 1 (none for ``none``)."""
    steps: list[int] = []
    while level is not Generalization.NONE and threshold > 1:
        threshold = max(1, threshold // 2)
        steps.append(threshold)
    return steps


def _fold_note(fold: Fold) -> str:
    where = f" (under {len(fold.conditions)} condition(s))" if fold.conditions else ""
    return (
        f"generalized {fold.observed} observed ARN(s) into {fold.pattern} "
        f"for {', '.join(fold.actions)}{where}"
    )


DEFAULT_SETTINGS = SynthSettings()


def synthesize(
    permissions: Iterable[Permission],
    settings: SynthSettings = DEFAULT_SETTINGS,
    catalog: Catalog | None = None,
    evidence: HardenEvidence | None = None,
    exact: Collection[tuple[str, str]] = (),
) -> SynthResult:
    """The minimal Allow policy documents for ``permissions``.

    Statements group the same actions on several resources and the same
    resources for several actions; permissions with different conditions
    never share a statement. The parts of names that varied become ``*``
    (name patterns, at every level but ``none``). Crowded S3 folders and log groups are folded per ``settings``; every
    document fits ``settings.size_limit``. When more than
    ``settings.max_documents`` documents are needed, the fold threshold is
    halved (never beyond ``settings.generalization``) until they fit, and a
    note says so; when no threshold makes them fit, nothing is folded further
    and a note says how many documents are needed. Raises PolicyTooLargeError when a single
    action on a single resource cannot fit one document.

    ``exact``: (action lower-cased, resource) of permissions granted as
    asked, never stood for by a name pattern or a fold (their names still
    count as evidence for the patterns of others).

    ``settings.harden`` names the hardening families to add where ``evidence``
    (the calls' facts per permission) fully supports them
    (:mod:`iamgen.synth.harden`); the notes say what each added condition
    rests on and why a family was not added.
    """
    catalog = catalog if catalog is not None else load_catalog()
    perms, unknown, rewritten = normalize_permissions(permissions, catalog)
    notes: list[str] = []
    if not perms:
        return SynthResult(documents=(), notes=("no permissions to grant: no policy written",))
    named: dict[tuple[Pool, str], NamePattern] = {}
    pool = pattern_pool(catalog)
    if settings.generalization is not Generalization.NONE:
        named = pooled_patterns(perms, pool, settings.min_variants)
    # Each pattern stands for many names: hashed once, not once per name (a
    # pattern's hash covers all its names).
    patterns = widest({id(p): p for p in named.values()}.values())
    threshold = settings.fold_threshold
    # (exact names as asked: rewritten, as perms' are, where a policy cannot hold them)
    asked = {(action, writable(resource)) for action, resource in exact}
    pinned = frozenset(p for p in perms if (p.action.lower(), p.resource) in asked)
    # once for every threshold
    siblings = find_siblings(perms, settings.generalization, pinned)
    documents, folds, compressions, added, outcomes = _documents(
        siblings, named, pool, settings, threshold, catalog, evidence)
    if len(documents) > settings.max_documents:
        needed = len(documents)
        for lower in _lower_thresholds(threshold, settings.generalization):
            attempt = _documents(siblings, named, pool, settings, lower, catalog, evidence)
            if len(attempt[0]) <= settings.max_documents:
                notes.append(
                    f"{needed} documents exceed {settings.max_documents}: "
                    f"fold threshold lowered to {lower}"
                )
                threshold = lower
                documents, folds, compressions, added, outcomes = attempt
                break
        else:
            notes.append(
                f"{needed} documents are needed, more than {settings.max_documents} "
                "managed policies a role holds by default; folding further would not help "
                "enough, so the fold threshold stays at "
                f"{threshold}"
            )
    granted = {r for doc in documents for stmt in doc.statements for r in stmt.resources}
    notes.extend(f"pattern {p.pattern} stands for {p.describe()}" for p in patterns
                 if p.pattern in granted)  # (not one a fold, or names kept exact, replaced)
    notes.extend(_fold_note(fold) for fold in folds)
    notes.extend(
        f"compressed {len(c.actions)} actions into {c.wildcard}: {', '.join(c.actions)}"
        for c in compressions
    )
    notes.extend(f"action {a} is not in the IAM catalog; kept as observed" for a in unknown)
    if rewritten:
        notes.append(f"{len(rewritten)} name(s) hold characters an IAM policy cannot (only "
                     "U+0009, U+000A, U+000D and U+0020-U+00FF): each such character is "
                     f"granted as ? (a run with an emoji as *), such as {rewritten[0]} as "
                     f"{writable(rewritten[0])}")
    if settings.harden:
        notes.extend(hardening_notes(
            added, outcomes, [s for doc in documents for s in doc.statements]))
    if len(documents) > 1:
        sizes = ", ".join(str(policy_size(doc)) for doc in documents)
        notes.append(
            f"split into {len(documents)} documents to fit {settings.size_limit} characters "
            f"each (characters without whitespace: {sizes})"
        )
    return SynthResult(
        documents=documents,
        notes=tuple(notes),
        folds=folds,
        patterns=patterns,
        compressions=compressions,
        unknown_actions=unknown,
        hardened=added,
        hardening=outcomes,
    )
