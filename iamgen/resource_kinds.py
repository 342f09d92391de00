"""What kind of resource an ARN names (``s3:object``, ``iam:role``), from the
catalog's ARN formats: the most specific format the ARN matches."""

from __future__ import annotations

import re
from functools import lru_cache

from .arn import parse_arn
from .catalog import load_catalog

WILDCARD = "*"  # the resource of a call that names none, its own kind

PLACEHOLDER = re.compile(r"\$\{[^}]*\}")  # an ARN format's ${Name}


@lru_cache(maxsize=256)
def _kind_patterns(service: str) -> tuple[tuple[int, re.Pattern[str], str], ...]:
    """(literal length, compiled resource-part pattern, type name) per catalog ARN format."""
    patterns = []
    for name, formats in load_catalog().resource_arn_formats(service).items():
        for arn_format in formats:
            parts = arn_format.split(":", 5)
            if len(parts) != 6 or parts[2] != service:
                continue
            body = parts[5]
            literal = len(PLACEHOLDER.sub("", body))
            regex = "".join(
                ".+" if piece.startswith("${") else re.escape(piece)
                for piece in re.split(r"(\$\{[^}]*\})", body) if piece
            )
            patterns.append((literal, re.compile(regex, re.DOTALL), name.lower()))
    return tuple(sorted(patterns, key=lambda p: (-p[0], p[2])))


@lru_cache(maxsize=256)
def _kind_matcher(service: str) -> tuple[re.Pattern[str], dict[str, str]] | None:
    """One alternation of a service's ARN formats, most specific first, and the type
    name of each alternative's group: its fullmatch picks what trying each pattern
    in turn would (the first alternative that matches the whole text wins)."""
    patterns = _kind_patterns(service)
    if not patterns:
        return None
    names = {f"k{index}": name for index, (_, _, name) in enumerate(patterns)}
    alternation = "|".join(f"(?P<k{index}>{pattern.pattern})"
                           for index, (_, pattern, _) in enumerate(patterns))
    return re.compile(alternation, re.DOTALL), names


@lru_cache(maxsize=65536)
def resource_kind(resource: str) -> str:
    """``service:type`` of a resource ARN (``s3:object``, ``iam:role``), or ``*``.

    The type is the most specific catalog ARN format the ARN matches; when
    none does, the resource part's first word.
    """
    if resource == WILDCARD:
        return WILDCARD
    parsed = parse_arn(resource)
    if parsed is None:
        return "unknown"
    matcher = _kind_matcher(parsed.service)
    if matcher is not None:
        found = matcher[0].fullmatch(parsed.resource)
        if found is not None and found.lastgroup is not None:
            return f"{parsed.service}:{matcher[1][found.lastgroup]}"
    word = re.split(r"[:/]", parsed.resource, maxsplit=1)[0]
    return f"{parsed.service}:{word or 'resource'}"
