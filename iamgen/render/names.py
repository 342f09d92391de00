"""Names for rendered policies: file stems, Terraform labels, CloudFormation
logical IDs and IAM policy names, each valid for its tool.

All of them derive from one *stem* per policy document: the principal's
file-safe name for the first document, ``<name>.<n>`` for the n-th. Stems are
unique because file names must be, and each derivation below keeps them
unique: a stem that is already valid is used as it is; one that had to be
changed gets a short hash of the original appended.
"""

from __future__ import annotations

import hashlib
import re

from ..errors import UsageError

IAM_NAME_MAX = 128
"""IAM's length limit for a managed policy name."""

_FILE_SAFE = re.compile(r"[\w+=,.@-]+", re.ASCII)
_TERRAFORM_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NOT_TERRAFORM = re.compile(r"[^A-Za-z0-9_-]")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_POLICY_PREFIX = "iamgen-"


def short_hash(text: str) -> str:
    """Eight hex digits of ``text``'s SHA-256: what keeps a changed name unique."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def check_name(name: str) -> str:
    """Return ``name`` if it is safe as a file name stem, else raise UsageError.

    Allowed: IAM's name characters (letters, digits, ``+=,.@_-``), at most
    128 of them, which also rules out path separators.
    """
    if len(name) > IAM_NAME_MAX:
        raise UsageError(f"cannot name output files after {name[:40]!r}...: "
                         f"longer than {IAM_NAME_MAX} characters")
    if not _FILE_SAFE.fullmatch(name) or name in (".", ".."):
        raise UsageError(
            f"cannot name output files after {name!r}: use letters, digits and +=,.@_- only"
        )
    return name


def document_stem(name: str, index: int) -> str:
    """The stem of the ``index``-th (1-based) document: ``name``, ``name.2``, ..."""
    return name if index == 1 else f"{name}.{index}"


def terraform_label(stem: str) -> str:
    """A Terraform block label (``[A-Za-z_][A-Za-z0-9_-]*``) unique per stem."""
    if _TERRAFORM_LABEL.fullmatch(stem):
        return stem
    cleaned = _NOT_TERRAFORM.sub("_", stem)
    if not _TERRAFORM_LABEL.match(cleaned):
        cleaned = "_" + cleaned
    return f"{cleaned}_{short_hash(stem)}"


def cloudformation_logical_id(name: str, index: int) -> str:
    """An alphanumeric CloudFormation logical ID for the ``index``-th document.

    Unique within one template (one principal): ``<Name>Policy``,
    ``<Name>Policy2``, ... It starts with a letter.
    """
    parts = [p for p in _NOT_ALNUM.split(name) if p]
    camel = "".join(p[0].upper() + p[1:] for p in parts)
    if not camel or not camel[0].isalpha():
        camel = "Iamgen" + camel
    return f"{camel}Policy{index if index > 1 else ''}"


def iam_policy_name(stem: str) -> str:
    """The IAM managed policy name: ``iamgen-<stem>``, at most 128 characters."""
    full = _POLICY_PREFIX + stem
    if len(full) <= IAM_NAME_MAX:
        return full
    digest = short_hash(stem)
    return f"{full[: IAM_NAME_MAX - len(digest) - 1]}-{digest}"
