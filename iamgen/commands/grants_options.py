"""Where current grants come from, for the commands that hold them against use (diff, review).

The options they share, and :class:`GrantSource`: a ``--grants`` file, or
the IAM API through a client made on first use (the usual profile, region
and ``AWS_ENDPOINT_URL`` conventions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import NothingUsableError
from ..grants.load import (
    AuthorizationDetails,
    GrantsFile,
    PolicyFiles,
    find_live,
    iam_client,
    list_live,
    load_live,
    read_grants_files,
)
from ..grants.model import Grants
from ..model import Principal, PrincipalKind
from ..synth.settings import Generalization
from .common import AwsProfileOption

GrantsFilesOption = Annotated[
    list[Path] | None,
    typer.Option("--grants", help="Read grants from a get-account-authorization-details file "
                 "(which also lists the principals never seen), or from policy documents "
                 "(repeatable), instead of IAM."),
]
ProfileOption = AwsProfileOption  # one --profile for IAM, S3 and LookupEvents
EndpointUrlOption = Annotated[
    str | None,
    typer.Option(help="IAM endpoint URL (default: AWS_ENDPOINT_URL_IAM or AWS_ENDPOINT_URL)."),
]
GeneralizeOption = Annotated[
    Generalization,
    typer.Option(case_sensitive=False,
                 help="How far proposed policies may generalize resource ARNs."),
]


class GrantSource:
    """Grants from ``--grants`` files, or live from IAM (client made on first use)."""

    def __init__(self, grants_files: list[Path] | None, profile: str | None = None,
                 endpoint_url: str | None = None) -> None:
        self.files: GrantsFile | None = read_grants_files(grants_files) if grants_files else None
        self._profile = profile
        self._endpoint_url = endpoint_url
        self._client: Any = None

    @property
    def live(self) -> bool:
        """Whether grants are read from IAM rather than from files."""
        return self.files is None

    @property
    def where(self) -> str:
        """Where the grants come from, for messages."""
        return self.files.source if self.files is not None else "IAM"

    @property
    def client(self) -> Any:
        """The IAM client, made on first use."""
        if self._client is None:
            self._client = iam_client(self._profile, None, self._endpoint_url)
        return self._client

    def grants(self, principal: Principal) -> Grants:
        """The principal's current grants."""
        if self.files is not None:
            return self.files.grants(principal)
        return load_live(self.client, principal)

    def listed(self) -> tuple[Principal, ...] | None:
        """Every role and user the source describes; None for plain policy documents.

        An authorization-details file lists them; live, ListRoles and ListUsers do.
        """
        if isinstance(self.files, AuthorizationDetails):
            return self.files.principals()
        if isinstance(self.files, PolicyFiles):
            return None
        return list_live(self.client)

    def find(self, name: str) -> Principal:
        """A principal the trail never showed, from the grants source."""
        if isinstance(self.files, AuthorizationDetails):
            found = self.files.lookup(name)
            if found is None:
                raise NothingUsableError(f"{name}: neither seen in the trail nor described in "
                                         f"{self.files.source}")
            return found
        if isinstance(self.files, PolicyFiles):
            if name.startswith("arn:"):
                kind = PrincipalKind.ROLE if ":role/" in name else PrincipalKind.USER
                return Principal(name, kind)
            raise NothingUsableError(f"{name}: never seen in the trail; name it by its ARN to "
                                     "diff the given policy documents against no use at all")
        return find_live(self.client, name)
