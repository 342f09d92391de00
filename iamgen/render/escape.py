"""Quoting text for the formats iamgen writes (Jinja2 filters).

Policy values come from CloudTrail records, which iamgen does not control: a
value must never be able to end its string or comment and inject code.
"""

from __future__ import annotations

import re

_HCL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0/C1 controls, DEL, the characters YAML and editors treat as line or
# byte-order marks, and the noncharacters U+FFFE and U+FFFF (outside YAML's
# printable set: a YAML reader refuses them written as themselves).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
# What IAM accepts in a policy description.
_NOT_IAM_DESCRIPTION = re.compile(r"[^\t\n\r\x20-\x7e\xa1-\xff]")


def _escape_unicode(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


# Every character either format writes other than as itself: the escapes
# above and _UNPRINTABLE. One pass finds them; most values have none.
_SPECIAL = re.compile(r'["\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]')


def _hcl_escape(found: re.Match[str]) -> str:
    char = found.group()
    return _HCL_ESCAPES.get(char) or _escape_unicode(char)


def _yaml_escape(found: re.Match[str]) -> str:
    char = found.group()
    return _YAML_ESCAPES.get(char) or _escape_unicode(char)


def hcl_string(value: str) -> str:
    """A Terraform (HCL) quoted string literal holding ``value`` verbatim.

    Besides backslash escapes, ``${`` and ``%{`` are written ``$${`` and
    ``%%{`` so IAM policy variables such as ``${aws:username}`` are not taken
    as Terraform interpolation
    (https://developer.hashicorp.com/terraform/language/expressions/strings).
    """
    text = _SPECIAL.sub(_hcl_escape, value).replace("${", "$${").replace("%{", "%%{")
    return f'"{text}"'


def yaml_string(value: str) -> str:
    """A YAML double-quoted scalar holding ``value`` verbatim.

    Always quoted, so values such as ``*``, ``true``, ``2012-10-17`` or
    ``!Ref`` stay strings.
    """
    return '"' + _SPECIAL.sub(_yaml_escape, value) + '"'


# A key that YAML 1.1 and 1.2 both read as this very string when unquoted.
_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_:./-]*[A-Za-z0-9]|[A-Za-z]")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})


def yaml_key(value: str) -> str:
    """A YAML mapping key: plain when unambiguous (``Effect``, ``aws:SourceIp``), else quoted."""
    if _PLAIN_KEY.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return yaml_string(value)


def comment_text(value: str) -> str:
    """``value`` made safe inside a one-line ``#`` comment (controls become ``?``)."""
    return _UNPRINTABLE.sub("?", value)


def iam_description(value: str, limit: int = 1000) -> str:
    """``value`` restricted to what IAM accepts in a policy description."""
    return _NOT_IAM_DESCRIPTION.sub("?", value)[:limit]
