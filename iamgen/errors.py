"""iamgen's errors. The CLI maps each to a one-line message and an exit code."""

from __future__ import annotations

INTERRUPTED_EXIT = 130  # a run stopped by Ctrl-C (SIGINT), as shells count it


class IamgenError(Exception):
    """Any error iamgen reports to the user as one line, without a traceback."""

    exit_code = 2


class UsageError(IamgenError):
    """The command line asked for something that cannot be done."""

    exit_code = 2


class InputError(IamgenError):
    """An input file or document could not be used at all."""

    exit_code = 3


class NothingUsableError(IamgenError):
    """No record in the input could be used, or a principal was never seen."""

    exit_code = 4


class GrantsError(IamgenError):
    """Current grants could not be read (AccessDenied, missing role, bad file)."""

    exit_code = 5


class PolicyTooLargeError(IamgenError):
    """A single statement cannot fit IAM's size limit even after generalizing."""

    exit_code = 6


class AwsRefusedError(IamgenError):
    """AWS refused a call reading trails: no or bad credentials, or not authorized.

    (Reading grants reports the same failures as GrantsError.)
    """

    exit_code = 7


def option_error(exc: ValueError) -> UsageError:
    """A settings check's message in the command line's terms (``--fold-threshold``,
    not ``fold_threshold``)."""
    words = str(exc).split(" ")
    return UsageError(" ".join(f"--{w.replace('_', '-')}" if "_" in w and w.isidentifier()
                               else w for w in words))
