"""Read a principal's current grants: live from IAM, or from a file.

Live reading uses read-only IAM calls on a client the caller passes in
(:func:`iam_client` builds one with the usual profile, region and
``AWS_ENDPOINT_URL`` conventions). Files are either the output of
``aws iam get-account-authorization-details`` or plain policy documents.

Reading fails loudly: AccessDenied, a missing role, user or policy, or a
document that cannot be parsed raises :class:`GrantsError` naming what could
not be read. It never returns an empty grant set in their place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..errors import GrantsError, InputError
from ..model import PolicyDocument, Principal, PrincipalKind, is_access_denied
from ..policy import parse_policy
from ..user_json import read_json
from .model import GrantedPolicy, Grants, PolicyKind

# --- documents ---------------------------------------------------------------


def parse_document(value: Any, where: str) -> PolicyDocument:
    """A policy document given as an object, a JSON string or a URL-encoded JSON string.

    The IAM API returns documents URL-encoded (RFC 3986); the AWS CLI and
    boto3 decode them. Raises GrantsError naming ``where`` when unusable.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            text = unquote(text)
        try:
            value = read_json(text)
        except ValueError:
            try:
                value = read_json(unquote(text))
            except ValueError as exc:
                raise GrantsError(f"{where}: policy document is not JSON ({exc})") from None
    try:
        return parse_policy(value)
    except InputError as exc:
        raise GrantsError(f"{where}: {exc}") from None


def _name_matches(principal: Principal, arn: str, kind: PrincipalKind) -> bool:
    """Whether a role or user ARN from IAM is the principal seen in the trail.

    The trail may have logged the role without its path, so a same-named
    role of the same account also matches.
    """
    if principal.kind is not kind:
        return False
    if arn == principal.arn:
        return True
    parts = arn.split(":", 5)
    return (len(parts) == 6 and parts[4] == principal.account
            and arn.rsplit("/", 1)[-1] == principal.name)


# --- get-account-authorization-details ----------------------------------------

# A role's or user's ARN as IAM gives it: arn:PARTITION:iam::ACCOUNT:role/PATH/NAME
_ENTITY_ARN = {kind: re.compile(rf"arn:[\w-]+:iam::\d+:{kind.value}/.+", re.DOTALL)
               for kind in (PrincipalKind.ROLE, PrincipalKind.USER)}


def is_authorization_details(data: Any) -> bool:
    """Whether ``data`` is a ``get-account-authorization-details`` document."""
    return isinstance(data, Mapping) and any(
        key in data for key in ("RoleDetailList", "UserDetailList", "GroupDetailList")
    )


@dataclass(frozen=True, slots=True)
class AuthorizationDetails:
    """A parsed ``get-account-authorization-details`` document and where it came from."""

    data: Mapping[str, Any]
    source: str

    def _list(self, key: str) -> list[Mapping[str, Any]]:
        value = self.data.get(key) or []
        if not isinstance(value, list):
            raise GrantsError(f"{self.source}: {key} is not a list")
        return [item for item in value if isinstance(item, Mapping)]

    def principals(self) -> tuple[Principal, ...]:
        """Every role and user the document describes; GrantsError naming an
        entry whose Arn is not a role's (or user's) ARN."""
        found = []
        for key, kind, name in (("RoleDetailList", PrincipalKind.ROLE, "RoleName"),
                                ("UserDetailList", PrincipalKind.USER, "UserName")):
            for entry in self._list(key):
                if "Arn" not in entry:
                    continue
                arn = entry["Arn"]
                if not isinstance(arn, str) or not _ENTITY_ARN[kind].fullmatch(arn):
                    raise GrantsError(f"{self.source}: {key} entry {entry.get(name)!r}: Arn "
                                      f"{arn!r} is not a {kind.value} ARN")
                found.append(Principal(arn, kind))
        return tuple(sorted(found))

    def lookup(self, name: str) -> Principal | None:
        """A role or user of the document by name, ``role/path/name`` or ARN."""
        for principal in self.principals():
            resource = principal.arn.split(":", 5)[-1]
            if name in (principal.arn, resource, principal.name):
                return principal
        return None

    def find(self, principal: Principal) -> Mapping[str, Any]:
        """The role's or user's entry; GrantsError when the document lacks it."""
        key = "RoleDetailList" if principal.kind is PrincipalKind.ROLE else "UserDetailList"
        if principal.kind is PrincipalKind.ROOT:
            raise GrantsError("the root user has every permission: there are no grants to diff")
        hits = [e for e in self._list(key)
                if _name_matches(principal, str(e.get("Arn", "")), principal.kind)]
        exact = [e for e in hits if e.get("Arn") == principal.arn]
        if exact:
            return exact[0]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise GrantsError(f"{self.source}: several {principal.kind.value}s are named "
                              f"{principal.name}; name one by its full ARN")
        raise GrantsError(f"{self.source}: {principal.kind.value} {principal.arn} is not in "
                          "this authorization-details document")

    def managed(self, arn: str, attached_to: str) -> GrantedPolicy:
        """A managed policy's default version, from the document's Policies list."""
        for entry in self._list("Policies"):
            if entry.get("Arn") != arn:
                continue
            default = entry.get("DefaultVersionId")
            versions = entry.get("PolicyVersionList") or []
            chosen = [v for v in versions if isinstance(v, Mapping)
                      and (v.get("IsDefaultVersion") is True or v.get("VersionId") == default)]
            if not chosen:
                raise GrantsError(f"{self.source}: managed policy {arn} has no default version "
                                  "in the document")
            document = parse_document(chosen[0].get("Document"), f"{self.source}: {arn}")
            return GrantedPolicy(str(entry.get("PolicyName") or arn.rsplit("/", 1)[-1]),
                                 PolicyKind.MANAGED, document, arn=arn)
        raise GrantsError(
            f"{self.source}: managed policy {arn} (attached to {attached_to}) is not in the "
            "document's Policies list; export it without a --filter that leaves it out"
        )

    def group(self, name: str) -> Mapping[str, Any]:
        """A group's entry; GrantsError when missing."""
        for entry in self._list("GroupDetailList"):
            if entry.get("GroupName") == name:
                return entry
        raise GrantsError(f"{self.source}: group {name} is not in the document")

    def grants(self, principal: Principal) -> Grants:
        """Every policy of ``principal`` (inline, managed, groups, boundary)."""
        entry = self.find(principal)
        who = str(entry.get("Arn"))
        inline_key = "RolePolicyList" if principal.kind is PrincipalKind.ROLE else "UserPolicyList"
        policies = [self._inline(p, PolicyKind.INLINE, who) for p in entry.get(inline_key) or []]
        policies += [self.managed(str(p.get("PolicyArn")), who)
                     for p in entry.get("AttachedManagedPolicies") or []]
        groups = entry.get("GroupList") or []
        if not isinstance(groups, list):
            raise GrantsError(f"{self.source}: GroupList of {who} is not a list")
        for group_name in sorted(str(name) for name in groups):
            group = self.group(str(group_name))
            policies += [self._inline(p, PolicyKind.GROUP, who, str(group_name))
                         for p in group.get("GroupPolicyList") or []]
            for attached in group.get("AttachedManagedPolicies") or []:
                policy = self.managed(str(attached.get("PolicyArn")), f"group {group_name}")
                policies.append(GrantedPolicy(policy.name, PolicyKind.GROUP, policy.document,
                                              arn=policy.arn, group=str(group_name)))
        boundary = None
        limit = entry.get("PermissionsBoundary")
        if isinstance(limit, Mapping) and limit.get("PermissionsBoundaryArn"):
            policy = self.managed(str(limit["PermissionsBoundaryArn"]), who)
            boundary = GrantedPolicy(policy.name, PolicyKind.BOUNDARY, policy.document,
                                     arn=policy.arn)
        return Grants(_as_principal(who, principal.kind), tuple(policies), boundary, self.source)

    def _inline(self, raw: Any, kind: PolicyKind, who: str,
                group: str | None = None) -> GrantedPolicy:
        if not isinstance(raw, Mapping) or "PolicyName" not in raw:
            raise GrantsError(f"{self.source}: an inline policy of {who} has no PolicyName")
        name = str(raw["PolicyName"])
        document = parse_document(raw.get("PolicyDocument"), f"{self.source}: {who}: {name}")
        return GrantedPolicy(name, kind, document, group=group)


def _as_principal(arn: str, kind: PrincipalKind) -> Principal:
    return Principal(arn, kind)


# --- files ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyFiles:
    """Plain policy documents given on the command line; they apply to every principal."""

    policies: tuple[GrantedPolicy, ...]
    source: str

    def grants(self, principal: Principal) -> Grants:
        """The documents as ``principal``'s identity policies."""
        return Grants(principal, self.policies, None, self.source)


GrantsFile = AuthorizationDetails | PolicyFiles


def _plain_document(data: Any) -> Any:
    """The policy inside the shapes the AWS CLI prints for one policy."""
    if isinstance(data, Mapping):
        if isinstance(data.get("PolicyVersion"), Mapping):  # get-policy-version
            return data["PolicyVersion"].get("Document")
        if "PolicyDocument" in data and "Statement" not in data:  # get-role-policy & co.
            return data["PolicyDocument"]
    return data


def read_grants_files(paths: Sequence[Path]) -> GrantsFile:
    """One authorization-details file, or one or more plain policy documents."""
    loaded: list[tuple[Path, Any]] = []
    for path in paths:
        if path.is_dir() or (path.is_fifo() and not str(path).startswith(("/dev/", "/proc/"))):
            # a folder; a named pipe no one may write to (it would wait for ever), not
            # <(aws iam get-account-authorization-details) or /dev/stdin, which are
            raise GrantsError(f"{path}: cannot read grants file (not a regular file)")
        try:
            text = path.read_text(encoding="utf-8-sig")  # a leading byte order mark is dropped
        except OSError as exc:
            raise GrantsError(f"{path}: cannot read grants file ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise GrantsError(f"{path}: grants file is not UTF-8 text (a JSON document is "
                              "expected; is it compressed?)") from None
        try:
            loaded.append((path, read_json(text)))
        except ValueError as exc:
            raise GrantsError(f"{path}: grants file is not JSON ({exc})") from None
    if not loaded:
        raise GrantsError("no grants file given")
    details = [(p, d) for p, d in loaded if is_authorization_details(d)]
    if details:
        if len(loaded) > 1:
            raise GrantsError("give one authorization-details file alone, not with other "
                              "--grants files")
        path, data = details[0]
        return AuthorizationDetails(data, str(path))
    policies = []
    for path, data in loaded:
        document = parse_document(_plain_document(data), str(path))
        policies.append(GrantedPolicy(path.name.removesuffix(".json"), PolicyKind.DOCUMENT,
                                      document))
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise GrantsError("two --grants files share a name: " + ", ".join(sorted(names)))
    return PolicyFiles(tuple(policies), ", ".join(str(p) for p, _ in loaded))


# --- live IAM ------------------------------------------------------------------


def iam_client(profile: str | None = None, region: str | None = None,
               endpoint_url: str | None = None) -> Any:
    """An IAM client from the usual AWS configuration.

    ``profile`` and ``region`` default to ``AWS_PROFILE`` / the configured
    region (``AWS_REGION`` first, see :func:`iamgen.sources.aws.session`);
    ``endpoint_url`` defaults to ``AWS_ENDPOINT_URL_IAM`` or
    ``AWS_ENDPOINT_URL`` (boto3 reads those itself).
    """
    from botocore.exceptions import BotoCoreError

    from ..sources.aws import session

    try:
        return session(profile, region).client("iam", endpoint_url=endpoint_url or None)
    except BotoCoreError as exc:
        raise GrantsError(f"cannot set up an IAM client: {exc}") from None


@contextmanager
def _reading(what: str, call: str) -> Iterator[None]:
    """Turn AWS errors into a GrantsError that names what could not be read and
    the call (``call``, e.g. ``GetRole``, for errors that do not name it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ..sources.aws import refusal

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "error")
        message = error.get("Message", "")
        operation = exc.operation_name or call
        if code == "NoSuchEntity":
            raise GrantsError(f"cannot read {what}: it does not exist "
                              f"(iam:{operation} said NoSuchEntity: {message})") from None
        if is_access_denied(code):
            raise GrantsError(f"cannot read {what}: iam:{operation} was denied ({code}); "
                              "the caller needs read access to IAM (for example "
                              "the IAMReadOnlyAccess policy)") from None
        why = refusal(exc)
        if why is not None:
            raise GrantsError(f"cannot read {what}: iam:{operation}: {why}") from None
        raise GrantsError(f"cannot read {what}: iam:{operation} failed ({code}: {message})"
                          ) from None
    except BotoCoreError as exc:
        why = refusal(exc) or str(exc)
        raise GrantsError(f"cannot read {what}: iam:{call}: {why}") from None


PAGE_SIZE = 100
"""Items asked for per IAM list call (IAM's own default and maximum is 100/1000)."""


def _pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    pages = client.get_paginator(operation).paginate(
        PaginationConfig={"PageSize": PAGE_SIZE}, **params)
    for page in pages:
        items.extend(page.get(key) or [])
    return items


def _managed_live(client: Any, arn: str) -> GrantedPolicy:
    with _reading(f"managed policy {arn}", "GetPolicy"):
        policy = client.get_policy(PolicyArn=arn)["Policy"]
        version = client.get_policy_version(PolicyArn=arn,
                                            VersionId=policy["DefaultVersionId"])
    document = parse_document(version["PolicyVersion"]["Document"], f"managed policy {arn}")
    return GrantedPolicy(str(policy["PolicyName"]), PolicyKind.MANAGED, document, arn=arn)


def _group_live(client: Any, group: str) -> list[GrantedPolicy]:
    out = []
    with _reading(f"policies of group {group}", "ListGroupPolicies"):
        names = _pages(client, "list_group_policies", "PolicyNames", GroupName=group)
        attached = _pages(client, "list_attached_group_policies", "AttachedPolicies",
                          GroupName=group)
    for name in sorted(names):
        with _reading(f"inline policy {name} of group {group}", "GetGroupPolicy"):
            raw = client.get_group_policy(GroupName=group, PolicyName=name)["PolicyDocument"]
        out.append(GrantedPolicy(name, PolicyKind.GROUP,
                                 parse_document(raw, f"group {group}: {name}"), group=group))
    for entry in sorted(attached, key=lambda a: a["PolicyArn"]):
        policy = _managed_live(client, entry["PolicyArn"])
        out.append(GrantedPolicy(policy.name, PolicyKind.GROUP, policy.document,
                                 arn=policy.arn, group=group))
    return out


def load_live(client: Any, principal: Principal) -> Grants:
    """Read a role's or user's policies through read-only IAM calls.

    Roles: GetRole, ListRolePolicies/GetRolePolicy, ListAttachedRolePolicies,
    GetPolicy/GetPolicyVersion (default version). Users also ListGroupsForUser
    and each group's inline and attached policies. Every list is paginated.
    """
    if principal.kind is PrincipalKind.ROOT:
        raise GrantsError("the root user has every permission: there are no grants to diff")
    is_role = principal.kind is PrincipalKind.ROLE
    kind, name = principal.kind.value, principal.name
    what = f"{kind} {name}"
    with _reading(what, "GetRole" if is_role else "GetUser"):
        entity = (client.get_role(RoleName=name)["Role"] if is_role
                  else client.get_user(UserName=name)["User"])
    with _reading(f"inline policies of {what}",
                  "ListRolePolicies" if is_role else "ListUserPolicies"):
        inline_names = (_pages(client, "list_role_policies", "PolicyNames", RoleName=name)
                        if is_role else
                        _pages(client, "list_user_policies", "PolicyNames", UserName=name))
    policies = []
    for policy_name in sorted(inline_names):
        with _reading(f"inline policy {policy_name} of {what}",
                      "GetRolePolicy" if is_role else "GetUserPolicy"):
            raw = (client.get_role_policy(RoleName=name, PolicyName=policy_name) if is_role
                   else client.get_user_policy(UserName=name, PolicyName=policy_name))
        policies.append(GrantedPolicy(policy_name, PolicyKind.INLINE,
                                      parse_document(raw["PolicyDocument"],
                                                     f"{what}: {policy_name}")))
    with _reading(f"managed policies attached to {what}",
                  "ListAttachedRolePolicies" if is_role else "ListAttachedUserPolicies"):
        attached = (_pages(client, "list_attached_role_policies", "AttachedPolicies",
                           RoleName=name) if is_role else
                    _pages(client, "list_attached_user_policies", "AttachedPolicies",
                           UserName=name))
    policies += [_managed_live(client, a["PolicyArn"])
                 for a in sorted(attached, key=lambda a: a["PolicyArn"])]
    if not is_role:
        with _reading(f"groups of {what}", "ListGroupsForUser"):
            groups = _pages(client, "list_groups_for_user", "Groups", UserName=name)
        for group in sorted(g["GroupName"] for g in groups):
            policies += _group_live(client, group)
    boundary = None
    limit = entity.get("PermissionsBoundary") or {}
    if limit.get("PermissionsBoundaryArn"):
        policy = _managed_live(client, limit["PermissionsBoundaryArn"])
        boundary = GrantedPolicy(policy.name, PolicyKind.BOUNDARY, policy.document,
                                 arn=policy.arn)
    return Grants(Principal(str(entity["Arn"]), principal.kind), tuple(policies), boundary,
                  "iam")


def list_live(client: Any) -> tuple[Principal, ...]:
    """Every role and user of the client's account, through ListRoles and ListUsers.

    Read-only and paginated. A denied or failed list call raises GrantsError
    naming it: a partial listing would flag principals as unused, or hide them.
    """
    with _reading("the account's roles", "ListRoles"):
        roles = _pages(client, "list_roles", "Roles")
    with _reading("the account's users", "ListUsers"):
        users = _pages(client, "list_users", "Users")
    found = {Principal(str(r["Arn"]), PrincipalKind.ROLE) for r in roles}
    found |= {Principal(str(u["Arn"]), PrincipalKind.USER) for u in users}
    return tuple(sorted(found))


def find_live(client: Any, name: str) -> Principal:
    """A role (or else a user) by name or ARN, for principals the trail never showed."""
    if name.startswith("arn:"):
        kind = PrincipalKind.ROLE if ":role/" in name else PrincipalKind.USER
        return Principal(name, kind)
    bare = name.rsplit("/", 1)[-1]
    if not name.startswith("user/"):
        try:
            with _reading(f"role {bare}", "GetRole"):
                return Principal(str(client.get_role(RoleName=bare)["Role"]["Arn"]),
                                 PrincipalKind.ROLE)
        except GrantsError as exc:
            if "does not exist" not in str(exc) or name.startswith("role/"):
                raise
    with _reading(f"role or user {bare}", "GetUser"):
        return Principal(str(client.get_user(UserName=bare)["User"]["Arn"]),
                         PrincipalKind.USER)
