"""Parse, build and match ARNs. Pure functions, no catalog needed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Arn:
    """The six colon-separated parts of an ARN."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


_SPECIAL = re.compile(r"[*?]|\$(?=\{)")
_ESCAPED = re.compile(r"\$\{([*?$])\}")


def literal(text: str) -> str:
    """Policy text that matches exactly ``text``: IAM reads ``*`` and ``?`` in a
    Resource as wildcards and ``${`` as the start of a policy variable, so
    those are written ``${*}``, ``${?}`` and ``${$}``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-specialchars).
    ``a*b`` becomes ``a${*}b``; text without them is returned as it is."""
    if "*" not in text and "?" not in text and "${" not in text:
        return text
    return _SPECIAL.sub(lambda found: "${" + found.group(0) + "}", text)


def literal_arn(arn: str) -> str:
    """An ARN as logged, as policy text: it names one resource, so a ``*``,
    ``?`` or ``${`` in its resource part (an S3 key, an alarm name...) is
    literal. AWS's own notation is kept: a log group's ARN ends in ``:*``."""
    if not arn.startswith("arn:") or ("*" not in arn and "?" not in arn and "${" not in arn):
        return arn
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return arn
    resource, notation = parts[5], ""
    if parts[2] == "logs" and resource.startswith("log-group:") and resource.endswith(":*"):
        resource, notation = resource[:-2], ":*"
    return ":".join(parts[:5]) + ":" + literal(resource) + notation


def unescape(text: str) -> str:
    """The text :func:`literal` was given (``${*}`` -> ``*``, and so on): the
    concrete name behind policy text."""
    return _ESCAPED.sub(r"\1", text) if "${" in text else text


def parse_arn(text: str) -> Arn | None:
    """Split an ARN into its parts, or None when ``text`` is not an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def partition_of_region(region: str) -> str:
    """The partition a region belongs to (``cn-north-1`` -> ``aws-cn``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    return "aws"


def _glob(pattern: str, run: str = ".*", one: str = ".") -> str:
    """An IAM glob as a regex body: ``*`` becomes ``run``, ``?`` ``one``, the rest literal."""
    return "".join(run if ch == "*" else one if ch == "?" else re.escape(ch) for ch in pattern)


@lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    # DOTALL: IAM's * and ? match any character, a newline too (S3 keys may hold one).
    return re.compile(_glob(pattern), re.DOTALL if case_sensitive else re.IGNORECASE | re.DOTALL)


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM-style glob: ``*`` matches any run of characters, ``?`` exactly one."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == value if case_sensitive else pattern.lower() == value.lower()
    return _wildcard_regex(pattern, case_sensitive).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Whether a policy's Action element entry matches an action (case-insensitive)."""
    return wildcard_match(pattern, action, case_sensitive=False)


def resource_matches(pattern: str, arn: str) -> bool:
    """Whether a policy's Resource element entry matches an ARN (case-sensitive).

    Each of the first five ARN parts must match within its own segment, as IAM
    does, so ``arn:aws:s3:::*`` never spills into another service.
    """
    if pattern == "*":
        return True
    regex = _resource_regex(pattern)
    if regex is None:
        return wildcard_match(pattern, arn)
    return regex.fullmatch(arn) is not None


@lru_cache(maxsize=16384)
def _resource_regex(pattern: str) -> re.Pattern[str] | None:
    """One regex for a six-part Resource entry that matches as each part
    matching its own segment does (:func:`resource_matches`): in the first
    five parts ``*`` and ``?`` stop at a colon, so the ARN's first five
    colons meet the pattern's; None for a pattern of fewer parts."""
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        return None
    first = [_glob(text, "[^:]*", "[^:]") for text in parts[:5]]
    return re.compile(":".join([*first, _glob(parts[5])]), re.DOTALL)


def _glob_tokens(text: str) -> list[str] | None:
    """A Resource entry as tokens: ``"*"``, ``"?"``, or one literal character
    (``"=c"``); None when it holds a policy variable (its value is not known)."""
    tokens: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("${", index):
            escape = _ESCAPED.match(text, index)  # ${*}, ${?}, ${$}: one literal character
            if escape is None:
                return None
            tokens.append("=" + escape[1])
            index = escape.end()
            continue
        char = text[index]
        tokens.append(char if char in "*?" else "=" + char)
        index += 1
    return tokens


def _glob_within(inner: list[str], outer: list[str]) -> bool:
    """Whether every text ``inner`` matches, ``outer`` matches too (sound: a
    True is always right; a pattern only covered by a coincidence of two
    wildcards, ``a*`` by ``a*a*``..., may be False). Row by row from the
    ends: ``below[j]`` says whether inner's tokens from ``i + 1`` on fall
    within outer's from ``j`` on."""
    size = len(outer)
    below = [False] * size + [True]  # past inner's end: only outer's end (or stars)
    for j in range(size - 1, -1, -1):
        below[j] = outer[j] == "*" and below[j + 1]
    for i in range(len(inner) - 1, -1, -1):
        token = inner[i]
        row = [False] * (size + 1)
        for j in range(size - 1, -1, -1):
            mark = outer[j]
            if mark == "*":  # any run: it may take inner's token, whatever it is
                row[j] = row[j + 1] or below[j]
            elif mark == "?":  # one character: an inner literal or "?"
                row[j] = token != "*" and below[j + 1]
            else:
                row[j] = token == mark and below[j + 1]
        below = row
    return below[0]


@lru_cache(maxsize=16384)  # asked per (pattern, grant) pair in diff's and synthesis's loops
def pattern_within(inner: str, outer: str) -> bool:
    """Whether every resource the Resource entry ``inner`` matches, ``outer``
    matches too, as IAM matches them (each of an ARN's first five parts within
    its own segment). Sound, not complete: False when unsure (a policy
    variable, a pattern of another shape)."""
    if outer == "*":
        return True
    inner_parts, outer_parts = inner.split(":", 5), outer.split(":", 5)
    if len(inner_parts) != 6 or len(outer_parts) != 6:
        return inner == outer
    for mine, theirs in zip(inner_parts, outer_parts, strict=True):
        tokens, over = _glob_tokens(mine), _glob_tokens(theirs)
        if tokens is None or over is None or not _glob_within(tokens, over):
            return False
    return True
