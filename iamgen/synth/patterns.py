"""Name patterns from the evidence: only the parts of names that varied become ``*``.

AI pipelines rename things every run (``churn-xgb-2026-11-02``, a log stream
per cold start, ``transcripts/2026-11-02/<uuid>.json``). A policy holding
only the names seen breaks on the next run; one holding ``*`` grants
everything. This module finds, among the names of one scope, the tokens that
varied, and replaces only those.

* **Scope.** Names are compared only with names of the same partition,
  service, region, account and resource type; an S3 object only with objects
  of its bucket, a log stream only with streams of its log group. Types listed
  ``[[stable]]`` in ``data/name_patterns.toml`` (KMS keys, IAM roles, models...)
  are never generalized.
* **Tokens.** A name splits at ``/ - _ . : = [ ]`` and where letters end and
  digits begin (``run7``). Dates and times in their common spellings, UUIDs,
  hex and base-62 ids, numbers (counters, epoch seconds) and versions are
  *shaped* tokens; anything else is a *word*.
* **Skeleton.** Names are compared only with names of the same skeleton: the
  same separators in the same places and a word or a shaped token in each
  other place. A name with no word keeps its exact form (it would become a
  bare ``*``), unless a data entry declares part of it.
* **What varies.** A shaped token that varies becomes ``*`` (two values are
  evidence enough: dates and ids are made to change); a date, time, UUID or
  epoch, or a hex id of 16 digits or more, seen at one width
  becomes one ``?`` per character (``????-??-??``), so its wildcard cannot
  stretch over the tokens around it. A word that varies
  becomes ``*`` only when at least ``min_variants`` names differ in it and
  agree on every other word; the first word of a name never does, so a
  pattern always keeps a literal word. Names that disagree on a word that may
  not vary are kept apart (``churn-xgb-*`` and ``fraud-lgbm-*``, never
  ``*-*-*``).
* **Data-declared families** (``[[ephemeral]]``): parts a service makes anew
  for every run (a Lambda stream's date and environment id) are ``*`` from
  one observation (one ``?`` per character for a part declared ``masked``).

Every rule only ever adds names as evidence grows: more observations never
remove an allowed name (the property tests say so). IAM's ``*`` also matches
``/``: ``output/churn-*/model.tar.gz`` admits ``output/churn-a/b/model.tar.gz``.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import NamedTuple

from ..arn import pattern_within, resource_matches
from ..model import Condition, Permission

SEPARATORS = frozenset("/-_.:=[]")

# Compound shapes hold separators, so they are found before a name is split:
# each starts at the start of the name or after a separator, and ends at its
# end or before one. Then separators, then runs of anything else.
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_Y, _MO, _D = r"(?:19|20)\d\d", r"(?:0[1-9]|1[0-2])", r"(?:0[1-9]|[12]\d|3[01])"
_H, _MI = r"(?:[01]\d|2[0-3])", r"[0-5]\d"
_SEP = re.escape("".join(sorted(SEPARATORS)))
_TOKEN = re.compile(
    rf"(?<![^{_SEP}])(?:"
    rf"(?P<uuid>{_UUID})"
    # 2026-11-02T09:28:30Z, 2026-11-02-09-28-30(-123), 2026/11/02 09.28.30
    rf"|(?P<datetime>{_Y}(?P<ds>[-_./]){_MO}(?P=ds){_D}[-_T ]{_H}(?P<ts>[-:_.]?){_MI}(?P=ts)"
    rf"{_MI}(?:\.\d{{1,6}}|-\d{{3}})?Z?"
    # 20261102T092830Z, 20261103-094753
    rf"|{_Y}{_MO}{_D}[-_T]?{_H}{_MI}{_MI}(?:\d{{1,3}})?Z?)"
    rf"|(?P<date>{_Y}(?P<dd>[-_./]){_MO}(?P=dd){_D}|{_Y}{_MO}{_D})"
    rf"|(?P<version>[vV]\d+(?:\.\d+)*|\d+(?:\.\d+){{2,}})"
    rf")(?![^{_SEP}])"
    rf"|(?P<sep>[{_SEP}])"
    rf"|(?P<word>[A-Za-z]+)(?![^{_SEP}])"
    rf"|(?P<run>[^{_SEP}]+)"
)
_HEX = re.compile(r"[0-9a-f]{7,}|[0-9A-F]{7,}")
_ID = re.compile(r"[A-Za-z0-9]{8,}")
_WORD_NUMBER = re.compile(r"([A-Za-z]+)(\d+)")
_ESCAPE = re.compile(r"\$\{[*?$]\}")


class Token(NamedTuple):
    """One piece of a name: a separator, a word, a shaped token, or a part a
    data entry declares ephemeral (``declared``). A named tuple: a name makes a
    dozen of them, and synthesis tokenizes every name a principal used."""

    text: str
    kind: str  # "sep", "word", a shape ("date", "uuid", ...) or a declared group name
    declared: bool = False
    masked: bool = False  # declared, of one width: one "?" per character, not "*"

    @property
    def slot(self) -> str:
        """What the skeleton holds for this token."""
        if self.kind == "sep":
            return self.text
        if self.declared:
            return "~"
        return "w" if self.kind == "word" else "#"


def _shape_of_run(run: str) -> list[Token]:
    """Tokens of a run of non-separator characters."""
    if run.isalpha():
        return [Token(run, "word")]
    if run.isdigit():
        kind = "epoch" if len(run) in (10, 13) and run[0] == "1" else "number"
        return [Token(run, kind)]
    if _HEX.fullmatch(run) and any(c.isdigit() for c in run):
        return [Token(run, "hex")]
    if (len(run) >= 6 and run.isalnum() and run.isascii() and any(c.isdigit() for c in run)
            and any(c.isupper() for c in run) and any(c.islower() for c in run)):
        return [Token(run, "id")]  # rMWJuD3: random characters, not a word and a counter
    split = _WORD_NUMBER.fullmatch(run)
    if split:
        return [Token(split[1], "word"), Token(split[2], "number")]
    digits = sum(c.isdigit() for c in run)
    if _ID.fullmatch(run) and digits >= 2 and len(run) - digits >= 2:
        return [Token(run, "id")]
    return [Token(run, "word")]


def tokenize(name: str) -> list[Token]:
    """Split a name into separators, words and shaped tokens."""
    return list(_shaped(name)[0])


def _skeleton(tokens: tuple[Token, ...]) -> tuple[str, ...]:
    """The slot of each token: names are compared only within one skeleton."""
    return tuple(token.slot for token in tokens)


@lru_cache(maxsize=1 << 16)
def _shaped(name: str) -> tuple[tuple[Token, ...], tuple[str, ...]]:
    """A name's tokens and its skeleton, cached: many resources share a name
    (one object key in several buckets, or used by several principals), and
    building the skeleton per resource took a fifth of :func:`infer_patterns`."""
    tokens = _tokenized(name)
    return tokens, _skeleton(tokens)


_SEPARATOR_TOKENS = {char: Token(char, "sep") for char in SEPARATORS}  # half of all tokens


def _tokenized(name: str) -> tuple[Token, ...]:
    tokens: list[Token] = []
    for found in _TOKEN.finditer(name):
        # The group that matched names the kind: the top-level groups are the
        # alternatives, and a compound kind's group closes after those inside it.
        kind = found.lastgroup
        if kind == "sep":
            tokens.append(_SEPARATOR_TOKENS[found.group()])
        elif kind == "run":
            tokens.extend(_shape_of_run(found.group()))
        else:
            tokens.append(Token(found.group(), kind))  # type: ignore[arg-type]  # never None
    return tuple(tokens)


# --- data ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EphemeralFamily:
    """A ``[[ephemeral]]`` entry of ``data/name_patterns.toml``."""

    family: str
    service: str
    resource_type: str
    scope: re.Pattern[str] | None
    name: re.Pattern[str]
    note: str
    source: str
    whole_name: bool = False
    # Groups of ``name`` that always match one width (a UUID, a 12-character
    # id): one "?" per character of what was seen, never "*".
    masked: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class NameRules:
    """What ``data/name_patterns.toml`` says: families and never-generalized types."""

    families: tuple[EphemeralFamily, ...]
    stable: frozenset[tuple[str, str]]

    def is_stable(self, service: str, resource_type: str) -> bool:
        """Whether names of this type are never generalized."""
        return (service, "*") in self.stable or (service, resource_type) in self.stable


@cache
def load_name_rules() -> NameRules:
    """The shipped name rules (read once, on first use)."""
    text = resources.files("iamgen.data").joinpath("name_patterns.toml").read_text("utf-8")
    return parse_name_rules(tomllib.loads(text))


def parse_name_rules(data: Mapping[str, object]) -> NameRules:
    """Name rules from the parsed TOML; a malformed entry raises ValueError."""
    families = []
    for entry in data.get("ephemeral", []):  # type: ignore[union-attr]
        name = re.compile(entry["name"])
        if not name.groupindex:
            raise ValueError(f"ephemeral family {entry['family']!r} names no group to vary")
        whole = bool(entry.get("whole_name", False))
        if whole and (entry["resource_type"] != "log-stream" or not entry.get("scope")):
            raise ValueError(f"ephemeral family {entry['family']!r}: only the streams of "
                             "named log groups may vary as a whole name")
        masked = frozenset(entry.get("masked", ()))
        if not masked <= set(name.groupindex):
            raise ValueError(f"ephemeral family {entry['family']!r} masks a group its name "
                             f"does not have: {', '.join(sorted(masked - set(name.groupindex)))}")
        families.append(EphemeralFamily(
            family=entry["family"], service=entry["service"],
            resource_type=entry["resource_type"],
            scope=re.compile(entry["scope"]) if entry.get("scope") else None,
            name=name, note=entry["note"], source=entry["source"], whole_name=whole,
            masked=masked,
        ))
    stable = frozenset(
        (entry["service"], entry["resource_type"])
        for entry in data.get("stable", [])  # type: ignore[union-attr]
    )
    return NameRules(tuple(families), stable)


# --- scopes -------------------------------------------------------------------


# A named tuple, like Token: synthesis locates every resource a principal used,
# and building a frozen dataclass made locate() a quarter slower.
class Located(NamedTuple):
    """A literal ARN cut into the scope it may be compared within and its name."""

    scope: str  # the ARN up to the name: "arn:aws:s3:::bucket/", "...:training-job/"
    service: str
    resource_type: str
    container: str  # the bucket or log group; "" for other types
    name: str


def locate(resource: str) -> Located | None:
    """Where a resource's name sits, or None when it is no literal name of a
    type that may be generalized (a bucket, a pattern, an ARN with no name part)."""
    if resource == "*" or not resource.startswith("arn:"):
        return None
    if "*" in resource or "?" in resource:
        bare = _ESCAPE.sub("", resource)
        if "*" in bare or "?" in bare:
            return None  # the resolver's own wildcards (a secret's -??????, a log group's :*)
    # parse_arn's split, inlined (without its Arn): this runs once per
    # resource of a principal, and building the Arn took over a quarter of it.
    parts = resource.split(":", 5)
    if len(parts) != 6 or not parts[1] or not parts[2]:
        return None
    _, _, service, region, account, rest = parts
    head = resource[: len(resource) - len(rest)]
    if service == "s3":
        bucket, slash, key = rest.partition("/")
        if not slash or not key or region or account:
            return None
        return Located(f"{head}{bucket}/", "s3", "object", bucket, key)
    if service == "logs":
        group, marker, stream = rest.partition(":log-stream:")
        if not marker or not stream or not group.startswith("log-group:"):
            return None
        return Located(f"{head}{group}{marker}", "logs", "log-stream",
                       group.removeprefix("log-group:"), stream)
    cut = min((i for i in (rest.find("/"), rest.find(":")) if i > 0), default=-1)
    if cut < 0 or cut == len(rest) - 1:
        return None
    return Located(f"{head}{rest[: cut + 1]}", service, rest[:cut], "", rest[cut + 1 :])


_FamilyIndex = dict[tuple[str, str], list[EphemeralFamily]]
"""(service, resource type) -> its families, in file order."""


def _family_index(rules: NameRules) -> _FamilyIndex:
    """The families by type, so a name is tried only against its own type's."""
    index: _FamilyIndex = defaultdict(list)
    for family in rules.families:
        index[(family.service, family.resource_type)].append(family)
    return index


def _tokens_of(where: Located, families: _FamilyIndex,
               ) -> tuple[tuple[Token, ...], tuple[str, ...], str]:
    """A located name's tokens, with the parts a family declares marked, its
    skeleton, and the family."""
    for family in families.get((where.service, where.resource_type), ()):
        if family.scope is not None and not family.scope.search(where.container):
            continue
        found = family.name.search(where.name)
        if found is None:
            continue
        tokens: list[Token] = []
        at = 0
        spans = sorted((found.span(g), g) for g in family.name.groupindex if found.group(g))
        for (start, stop), group in spans:
            tokens.extend(tokenize(where.name[at:start]) if start > at else ())
            tokens.append(Token(where.name[start:stop], group, declared=True,
                                masked=group in family.masked))
            at = stop
        tokens.extend(tokenize(where.name[at:]) if at < len(where.name) else ())
        marked = tuple(tokens)
        return marked, _skeleton(marked), family.family
    tokens_of_name, skeleton = _shaped(where.name)
    return tokens_of_name, skeleton, ""


# --- inference ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class NamePattern:
    """One generalized ARN and the evidence behind it.

    ``names``: the observed ARNs it stands for (sorted); ``varying``: the kind
    of each token that became ``*`` (``date``, ``uuid``, ``word``..., in name
    order); ``family``: the data entry that declared a part, or "".
    """

    pattern: str
    names: tuple[str, ...]
    varying: tuple[str, ...]
    family: str = ""

    def describe(self) -> str:
        """``first .. last, N names, varying: date`` for notes and ``explain``."""
        count = len(self.names)
        shown = (self.names[0] if count == 1
                 else f"{_short(self.names[0])} .. {_short(self.names[-1])}")
        kinds = ", ".join(dict.fromkeys(self.varying))
        extra = f"; {self.family} (declared per run)" if self.family else ""
        return f"{shown}, {count} name{'s' if count != 1 else ''}, varying: {kinds}{extra}"


def _short(arn: str) -> str:
    where = locate(arn)
    return where.name if where is not None else arn


def _free_words(columns: Mapping[int, list[str]], word_positions: list[int],
                min_variants: int) -> set[int]:
    """Word positions that may vary: not the first word, and at least
    ``min_variants`` names differ there while agreeing on every other word.
    ``columns``: each word position -> its text in every name."""
    free: set[int] = set()
    for position in word_positions[1:]:
        here = columns[position]
        if len(set(here)) < min_variants:
            continue  # too few values in all (most words never vary): no need to pair names
        # every other word of each name (never none: the first word is one)
        others = zip(*(columns[p] for p in word_positions if p != position))
        seen: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for key, text in zip(others, here):
            values = seen[key]
            values.add(text)
            if len(values) >= min_variants:
                free.add(position)
                break
    return free


def _leaves_free(columns: Mapping[int, list[str]], words: list[int], indexes: list[int],
                 free: set[int], min_variants: int) -> list[tuple[list[int], set[int]]]:
    """A leaf's names (``indexes``), split until each part's words that may
    vary (of ``free``) do so among the part's own names: a word free among all
    names of the skeleton (``teams/{alpha,beta,gamma}/summary.csv``) is not
    free in a leaf where it takes fewer than ``min_variants`` values
    (``teams/{alpha,beta}/payroll.csv``): that leaf is split by it."""
    if not free:
        return [(indexes, free)]
    own = {p: [columns[p][i] for i in indexes] for p in words}
    kept = (_free_words(own, words, min_variants) & free
            if len(indexes) >= min_variants else set())
    if kept == free:
        return [(indexes, free)]
    fixed = sorted(free - kept)
    parts: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index in indexes:
        parts[tuple(columns[p][index] for p in fixed)].append(index)
    return [split for part in parts.values()
            for split in _leaves_free(columns, words, part, kept, min_variants)]


def _leaf_pattern(scope: str, rows: list[tuple[Token, ...]],
                  free: set[int]) -> tuple[str, tuple[str, ...]]:
    """The pattern of names that may share one, and the kinds that became ``*``."""
    parts: list[str] = []
    varying: list[str] = []
    for position, token in enumerate(rows[0]):
        if token.kind == "sep":
            parts.append(token.text)
            continue
        values = {row[position].text for row in rows}
        wild = token.declared or (
            len(values) > 1 and (token.kind != "word" or position in free))
        if not wild:
            parts.append(token.text)
            continue
        kinds = {row[position].kind for row in rows}
        varying.append(token.kind if len(kinds) == 1 else "id")
        if token.kind == "datetime" and any("." in v for v in values):
            # A fraction of a second is written or not (a zero one is left out):
            # its width varies, the time before it does not.
            heads = {v.split(".", 1)[0] for v in values}
            head = _fixed_width(heads) if len(kinds) == 1 else None
            mask = None if head is None else head + "*"
        else:
            mask = (_fixed_width(values) if token.masked or (
                len(kinds) == 1 and not token.declared and _made_at_one_width(token.kind, values))
                else None)
        if mask is not None:
            parts.append(mask)
        elif not (parts and parts[-1].endswith("*")):
            parts.append("*")
    return scope + "".join(parts), tuple(varying)


# Shapes made at one width: dates, times, UUIDs and epoch seconds (ten
# digits until 2286), and hex of LONG_HEX digits or more (a hash, an
# instance or environment id). Not a short hex (a git sha grows with its
# repo) nor other ids, which may hold a counter (experiment20261101run1, then
# run10; ResNet18, then ResNet101).
_FIXED_WIDTH = frozenset({"date", "datetime", "uuid", "epoch"})
LONG_HEX = 16


def _made_at_one_width(kind: str, values: set[str]) -> bool:
    """Whether a shaped token of ``kind`` taking ``values`` is of a shape made
    at one width, so one ``?`` per character stands for its next value."""
    return kind in _FIXED_WIDTH or (kind == "hex" and all(len(v) >= LONG_HEX for v in values))


def _fixed_width(values: set[str]) -> str | None:
    """``????-??-??`` for values all of one width (:func:`_made_at_one_width`,
    or a part a family declares ``masked``): ``?`` for each character, the
    separators inside kept. A ``*`` there could stretch
    over the separators of the tokens around it and admit a name that differs
    in a token that never varied; ``?`` matches exactly one character."""
    first = next(iter(values))
    if any(len(v) != len(first) for v in values):
        return None
    mask = []
    for index, char in enumerate(first):
        same = all(v[index] == char for v in values)
        mask.append(char if same and char in SEPARATORS else "?")
    return "".join(mask)


def infer_patterns(resources: Iterable[str], min_variants: int = 3,
                   rules: NameRules | None = None) -> dict[str, NamePattern]:
    """Each literal ARN that a pattern stands for -> that pattern.

    ARNs that keep their exact form are not in the result.
    """
    if min_variants < 2:
        raise ValueError("min_variants must be at least 2")
    rules = rules if rules is not None else load_name_rules()
    return _infer(_shapes(set(resources), rules), min_variants, rules)


# A name that may be generalized, cut up: (scope, skeleton, tokens, family).
_Shape = tuple[str, tuple[str, ...], tuple[Token, ...], str]


def _shapes(resources: set[str], rules: NameRules) -> dict[str, _Shape]:
    """Each of ``resources`` that a pattern may stand for -> its shape (done
    once per name: :func:`pooled_patterns` infers from several pools of the
    same names)."""
    families = _family_index(rules)
    shapes: dict[str, _Shape] = {}
    for resource in resources:
        where = locate(resource)
        if where is None or rules.is_stable(where.service, where.resource_type):
            continue
        tokens, slots, family = _tokens_of(where, families)
        if "w" not in slots and "~" not in slots:
            continue  # no literal word to keep: it would be a bare "*" (or, of ids, all)
        shapes[resource] = (where.scope, slots, tokens, family)
    return shapes


def _infer(shapes: dict[str, _Shape], min_variants: int,
           rules: NameRules) -> dict[str, NamePattern]:
    """:func:`infer_patterns` of the names ``shapes`` holds."""
    whole = {f.family for f in rules.families if f.whole_name}
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[str, tuple[Token, ...], str]]] = (
        defaultdict(list))
    for resource in sorted(shapes):
        scope, slots, tokens, family = shapes[resource]
        groups[(scope, slots)].append((resource, tokens, family))
    found: dict[str, NamePattern] = {}
    for (scope, slots), members in groups.items():
        rows = [tokens for _, tokens, _ in members]
        words = [p for p, slot in enumerate(slots) if slot == "w"]
        # Column by column: a list per word is cheaper than a tuple per name.
        columns = {p: [row[p].text for row in rows] for p in words}
        free = _free_words(columns, words, min_variants) if len(rows) >= min_variants else set()
        fixed = [p for p in words if p not in free]
        leaves: dict[tuple[str, ...], list[int]] = defaultdict(list)
        # no fixed word only when there is no word (a declared part): one leaf
        keys = zip(*(columns[p] for p in fixed)) if fixed else [()] * len(rows)
        for index, key in enumerate(keys):
            leaves[key].append(index)
        for indexes, leaf_free in (split for leaf in leaves.values()
                                   for split in _leaves_free(columns, words, leaf, free,
                                                             min_variants)):
            leaf_rows = [rows[i] for i in indexes]
            pattern, varying = _leaf_pattern(scope, leaf_rows, leaf_free)
            if not varying:
                continue
            family = next((members[i][2] for i in indexes if members[i][2]), "")
            if pattern.removeprefix(scope).strip("*") == "" and family not in whole:
                continue  # never a bare "*" for a whole name, but a declared log stream's
            names = tuple(sorted(members[i][0] for i in indexes))
            generalized = NamePattern(pattern, names, varying, family)
            for name in names:
                found[name] = generalized
    return found


Pool = int | str
"""Where an action's names are pooled (see :func:`pooled_patterns`)."""


def pooled_patterns(permissions: Iterable[Permission], pool: Callable[[str], Pool],
                    min_variants: int = 3, rules: NameRules | None = None,
                    ) -> dict[tuple[Pool, str], NamePattern]:
    """``(pool, name) -> pattern`` for the names of ``permissions``.

    ``pool(action)`` is a rank (a number: the higher, the more an action may
    change) or a pool of its own (a text). The names of a rank's actions are
    pooled with those of every higher rank: a pattern learned from many
    calls' names serves every action observed on one of them, if it may
    change no more than the calls the names came from (reading names of runs
    that were created is evidence for reading the next one; reading many
    names is none for deleting them).
    """
    names: dict[Pool, set[str]] = defaultdict(set)
    for perm in permissions:
        names[pool(perm.action)].add(perm.resource)
    if min_variants < 2:
        raise ValueError("min_variants must be at least 2")
    rules = rules if rules is not None else load_name_rules()
    shapes = _shapes(set().union(*names.values()), rules)
    found: dict[tuple[Pool, str], NamePattern] = {}
    for group in sorted(names, key=repr):
        pooled = names[group] if isinstance(group, str) else set().union(
            *(seen for other, seen in names.items() if isinstance(other, int) and other >= group))
        pooled_shapes = {name: shapes[name] for name in pooled if name in shapes}
        for name, pattern in _infer(pooled_shapes, min_variants, rules).items():
            if name in names[group]:
                found[(group, name)] = pattern
    return found


def widest(patterns: Iterable[NamePattern]) -> tuple[NamePattern, ...]:
    """One pattern per pattern text, sorted: of one text learned in several
    pools (:func:`pooled_patterns`), the one standing for the most names
    (a higher pool's names are among a lower one's)."""
    chosen: dict[str, NamePattern] = {}
    for pattern in sorted(set(patterns)):
        held = chosen.get(pattern.pattern)
        if held is None or len(pattern.names) > len(held.names):
            chosen[pattern.pattern] = pattern
    return tuple(chosen[text] for text in sorted(chosen))


def apply_patterns(permissions: Iterable[Permission], pool: Callable[[str], Pool],
                   min_variants: int = 3, rules: NameRules | None = None,
                   ) -> tuple[frozenset[Permission], tuple[NamePattern, ...]]:
    """Permissions with each generalized name replaced by its pattern (see
    :func:`pooled_patterns`), and the patterns used."""
    perms = frozenset(permissions)
    found = pooled_patterns(perms, pool, min_variants, rules)
    if not found:
        return perms, ()
    out = {
        Permission(p.action, pattern.pattern, p.conditions)
        if (pattern := found.get((pool(p.action), p.resource))) is not None else p
        for p in perms
    }
    return drop_covered(out, {g.pattern for g in found.values()}), widest(found.values())


def drop_covered(permissions: Iterable[Permission],
                 patterns: set[str]) -> frozenset[Permission]:
    """Without the exact names a name pattern of the same action and
    conditions covers (a name of another shape the pattern also admits), nor
    the patterns another one covers (``table-*-`` under ``table-*-*``; of
    two that cover each other, the first in sort order stays)."""
    perms = frozenset(permissions)
    by_slot: dict[tuple[str, tuple[Condition, ...]], list[str]] = defaultdict(list)
    for perm in perms:
        if perm.resource in patterns:
            by_slot[(perm.action, perm.conditions)].append(perm.resource)
    if not by_slot:
        return perms

    def covered(perm: Permission) -> bool:
        others = by_slot.get((perm.action, perm.conditions), ())
        if perm.resource not in patterns:
            return any(resource_matches(pattern, perm.resource) for pattern in others)
        return any(other != perm.resource and pattern_within(perm.resource, other)
                   and (other < perm.resource or not pattern_within(other, perm.resource))
                   for other in others)

    return frozenset(p for p in perms if not covered(p))
