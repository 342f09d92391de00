"""A Resource entry against an ARN: each of the first five parts within its own
segment (IAM's rule), matched by one regex per entry."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgen.arn import pattern_within, resource_matches, wildcard_match


def _part_by_part(pattern: str, arn: str) -> bool:
    """The rule as IAM states it: split both at their first five colons and
    match each part on its own (the whole text when either has fewer)."""
    if pattern == "*":
        return True
    parts, values = pattern.split(":", 5), arn.split(":", 5)
    if len(parts) != 6 or len(values) != 6:
        return wildcard_match(pattern, arn)
    return all(wildcard_match(p, v) for p, v in zip(parts, values, strict=True))


_TEXT = st.text(alphabet="ab:*?\n/.-", max_size=16)


@settings(max_examples=3000)
@given(pattern=_TEXT, arn=_TEXT, prefixed=st.booleans())
def test_one_regex_matches_as_each_part_on_its_own(pattern: str, arn: str,
                                                  prefixed: bool) -> None:
    if prefixed:  # most entries and ARNs start so
        pattern, arn = "arn:aws:s3:::" + pattern, "arn:aws:s3:::" + arn
    assert resource_matches(pattern, arn) == _part_by_part(pattern, arn)


def test_parts_stay_in_their_segments() -> None:
    assert resource_matches("arn:aws:s3:::*", "arn:aws:s3:::bucket/key:with:colons")
    assert resource_matches("arn:aws:s3:*", "arn:aws:s3:::bucket")  # fewer parts: the whole
    assert resource_matches("arn:aws:*", "arn:aws:s3:::bucket")
    assert not resource_matches("arn:aws:*:::b", "arn:aws:s3:us-east-1::b")
    assert resource_matches("arn:aws:logs:us-east-1:1:log-group:/a:*",
                            "arn:aws:logs:us-east-1:1:log-group:/a:log-stream:x")
    assert resource_matches("*", "anything")


def test_a_wildcard_matches_a_newline_too() -> None:
    """IAM's ``*`` matches any run of characters and ``?`` any one: an S3 key
    may hold a newline, and a grant on ``bkt/*`` covers it."""
    assert resource_matches("arn:aws:s3:::bkt/*", "arn:aws:s3:::bkt/nl\nkey")
    assert resource_matches("arn:aws:s3:::a?", "arn:aws:s3:::a\n")
    assert wildcard_match("dir/*", "dir/new\nline.txt")
    assert wildcard_match("DIR/?", "dir/\n", case_sensitive=False)
    assert resource_matches("*", "anything")


P = "arn:aws:ssm:us-east-1:111122223333:parameter/app/"


@pytest.mark.parametrize(("inner", "outer", "within"), [
    (P + "cfg*", P + "cfg01", False),
    (P + "cfg0?", P + "cfg*", True),
    (P + "cfg*", "*", True),
    (P + "cfg*", P + "c*g*", True),
    (P + "c?g", P + "c*g", True),
    (P + "*", P + "cfg*", False),
    (P + "a${*}", P + "a?", True),  # a literal * is one character
    (P + "${aws:username}", P + "*", False),  # a variable: unsure, so no
    ("arn:aws:logs:us-east-1:1:log-group:g:*", "arn:aws:logs:*:*:log-group:g:*", True),
    ("arn:aws:s3:::b/x/*", "arn:aws:s3:::b/*", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/*", False),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::*", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3*", False),  # no six parts: only equal texts
])
def test_pattern_within(inner: str, outer: str, within: bool) -> None:
    assert pattern_within(inner, outer) is within


@given(st.text(alphabet="ab*?/", max_size=8), st.text(alphabet="ab*?/", max_size=8),
       st.text(alphabet="ab/", max_size=10))
def test_pattern_within_is_sound(inner: str, outer: str, name: str) -> None:
    """When it says within, every name the inner pattern matches, the outer matches too."""
    inner_arn, outer_arn, arn = (f"arn:aws:s3:::b/{text}" for text in (inner, outer, name))
    if pattern_within(inner_arn, outer_arn) and resource_matches(inner_arn, arn):
        assert resource_matches(outer_arn, arn)


@given(st.sampled_from(["us-east-1", "us-*", "*", "eu-?est-1", ""]),
       st.sampled_from(["us-east-1", "us-*", "*", "eu-west-1", ""]),
       st.text(alphabet="ab*?:/", max_size=6), st.text(alphabet="ab*?:/", max_size=6),
       st.sampled_from(["us-east-1", "eu-west-1", "us-west-2", ""]),
       st.text(alphabet="ab:/", max_size=6))
def test_pattern_within_is_sound_across_segments(
        inner_region: str, outer_region: str, inner: str, outer: str,
        region: str, name: str) -> None:
    """As above, with a region segment that may be a pattern (matched within
    its segment) and colons in the resource part. (The escapes of literal *,
    ? and $ are the parametrized cases': resource_matches reads policy text
    without them.)"""
    inner_arn = f"arn:aws:sqs:{inner_region}:111122223333:{inner}"
    outer_arn = f"arn:aws:sqs:{outer_region}:111122223333:{outer}"
    arn = f"arn:aws:sqs:{region}:111122223333:{name}"
    if pattern_within(inner_arn, outer_arn) and resource_matches(inner_arn, arn):
        assert resource_matches(outer_arn, arn), (inner_arn, outer_arn, arn)
