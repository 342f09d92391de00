"""What a principal is granted today: its policies, each named and typed.

Plain frozen data produced by :mod:`iamgen.grants.load` (from the IAM API or
a file) and read by :mod:`iamgen.diff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..model import PolicyDocument, Principal
from .evaluate import NamedPolicy


class PolicyKind(StrEnum):
    """How a policy reaches the principal."""

    INLINE = "inline"
    """An inline policy embedded in the role or user."""
    MANAGED = "managed"
    """A managed policy attached to the role or user (its default version)."""
    GROUP = "group"
    """An inline or managed policy of a group the user belongs to."""
    BOUNDARY = "boundary"
    """The permissions boundary: it limits, it never grants."""
    DOCUMENT = "document"
    """A plain policy document given on the command line."""


@dataclass(frozen=True, slots=True)
class GrantedPolicy:
    """One policy that applies to a principal.

    ``arn`` is set for managed policies (also those reached through a group);
    ``group`` names the group for :attr:`PolicyKind.GROUP`.
    """

    name: str
    kind: PolicyKind
    document: PolicyDocument
    arn: str | None = None
    group: str | None = None

    @property
    def label(self) -> str:
        """A name unique among one principal's policies, used in every finding.

        Managed policies are called by name; inline ones by ``inline:Name``;
        group policies by ``group/Group:Name``; the boundary by ``boundary:Name``.
        """
        if self.kind is PolicyKind.INLINE:
            return f"inline:{self.name}"
        if self.kind is PolicyKind.GROUP:
            return f"group/{self.group}:{self.name}"
        if self.kind is PolicyKind.BOUNDARY:
            return f"boundary:{self.name}"
        return self.name

    def named(self) -> NamedPolicy:
        """This policy as the evaluator takes it (named by :attr:`label`)."""
        return NamedPolicy(self.label, self.document)


@dataclass(frozen=True, slots=True)
class Grants:
    """Every policy of one principal, as read from ``source``.

    ``policies`` are the identity policies (inline, managed, group, document)
    in a stable order; ``boundary`` is the permissions boundary, if any.
    ``source`` says where they were read: ``iam`` for the live API, or a path.
    """

    principal: Principal
    policies: tuple[GrantedPolicy, ...]
    boundary: GrantedPolicy | None = None
    source: str = "iam"

    def policy(self, label: str) -> GrantedPolicy | None:
        """The policy (or boundary) with this label."""
        for candidate in (*self.policies, *((self.boundary,) if self.boundary else ())):
            if candidate.label == label:
                return candidate
        return None
