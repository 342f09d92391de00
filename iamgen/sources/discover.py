"""Which trail to read, found from the account the AWS credentials are for.

With no ``--trail``, iamgen asks the account itself (every call takes a boto3
client given by the caller; nothing here makes one):

1. ``sts:GetCallerIdentity``: the account.
2. ``cloudtrail:DescribeTrails`` (shadow trails included, so multi-region and
   organization trails made elsewhere are listed), ``GetTrailStatus`` and
   ``GetEventSelectors`` for each: the trails that record this account's
   management events, logging ones first, then multi-region or organization
   trails, then by name. A trail that is not logging is noted.
3. The trail's bucket and key prefix, and CloudTrail's delivery layout
   ``[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/`` (organization trails: the
   organization id comes from ``organizations:DescribeOrganization`` when
   allowed, else from the ``o-...`` folder under ``AWSLogs/``). ``AWSLogs/`` is
   listed one level, which also proves the bucket can be listed.
4. Data events the trail's selectors do not record, per data-event group of
   ``data/not_observable.toml`` (its ``trail_resource_types``).

No usable trail, a DescribeTrails that fails, or a bucket that cannot be
listed: the plan says to read LookupEvents instead (management events of the
last 90 days), and its notes say why and what that cannot show.
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DescribeTrails.html
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_GetEventSelectors.html
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError, NothingUsableError
from ..grants.observable import BlindSpot, Visibility, load_blind_spots
from .aws import error_text, refused
from .s3 import SCHEME

_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_NOT_FOUND = frozenset({"NoSuchEntity", "NoSuchEntityException"})


@dataclass(frozen=True, slots=True)
class TrailPlan:
    """What discovery found, and what to read.

    ``unrecorded`` names the data-event groups the trail does not record (None:
    its selectors could not be read). ``use_lookup``: read LookupEvents instead
    of the bucket (``notes`` say why).
    """

    account: str
    trail_name: str | None = None
    trail_arn: str | None = None
    home_region: str | None = None
    bucket: str | None = None
    prefix: str = ""
    organization_id: str | None = None
    multi_region: bool = False
    regions: tuple[str, ...] = ()
    logging: bool | None = None
    unrecorded: tuple[str, ...] | None = None
    use_lookup: bool = False
    notes: tuple[str, ...] = ()

    @property
    def url(self) -> str | None:
        """``s3://bucket/[prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/``; None for LookupEvents."""
        if self.use_lookup or self.bucket is None:
            return None
        org = f"{self.organization_id}/" if self.organization_id else ""
        return f"{SCHEME}{self.bucket}/{_logs_base(self.prefix)}{org}{self.account}/CloudTrail/"


@dataclass(frozen=True, slots=True)
class _Candidate:
    trail: Mapping[str, Any]
    logging: bool | None
    management: bool
    recorded: frozenset[str] | None
    notes: tuple[str, ...]

    @property
    def broad(self) -> bool:
        return bool(self.trail.get("IsMultiRegionTrail") or self.trail.get("IsOrganizationTrail"))

    @property
    def name(self) -> str:
        return str(self.trail.get("Name") or self.trail.get("TrailARN") or "")


def data_event_groups() -> tuple[BlindSpot, ...]:
    """The data-event groups of ``not_observable.toml``, in file order."""
    return tuple(e for e in load_blind_spots() if e.visibility is Visibility.DATA_EVENT)


def selector_coverage(basic: Sequence[Mapping[str, Any]], advanced: Sequence[Mapping[str, Any]],
                      groups: Sequence[BlindSpot]) -> tuple[bool, frozenset[str]]:
    """(whether the selectors record management events, the data-event group
    ids they record). A trail with no selectors at all records management
    events only (CloudTrail's default)."""
    management = not basic and not advanced
    types: set[str] = set()
    for selector in basic:
        if selector.get("IncludeManagementEvents", True):
            management = True
        for resource in selector.get("DataResources") or ():
            if resource.get("Values"):
                types.add(str(resource.get("Type")))
    for selector in advanced:
        fields = {str(f.get("Field")): f for f in selector.get("FieldSelectors") or ()}
        category = (fields.get("eventCategory") or {}).get("Equals") or ()
        if "Management" in category:
            management = True
        if "Data" in category:
            types.update((fields.get("resources.type") or {}).get("Equals") or ())
    recorded = frozenset(g.id for g in groups if types & set(g.trail_resource_types))
    return management, recorded


def discover(*, sts: Any, cloudtrail: Any, s3: Any, organizations: Any = None,
             cloudtrail_in: Callable[[str], Any] | None = None,
             groups: Sequence[BlindSpot] | None = None) -> TrailPlan:
    """The plan for reading this account's trail.

    ``cloudtrail_in(region)`` makes a CloudTrail client for a trail's home
    region (status and selectors of a trail are asked there); without it,
    ``cloudtrail`` is asked. An AWS refusal of GetCallerIdentity raises
    AwsRefusedError, any other failure of it InputError; every later failure
    becomes a note (and, where the trail cannot be read, the LookupEvents
    fallback).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    families = data_event_groups() if groups is None else tuple(groups)
    try:
        account = str(sts.get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as exc:
        failure = refused("sts:GetCallerIdentity", exc)
        if failure is not None:
            raise failure from None
        raise InputError(
            f"sts:GetCallerIdentity failed ({error_text(exc)}): cannot tell which account's "
            "trail to read; give --trail PATH or --source lookup") from None
    every = tuple(g.id for g in families)
    try:
        listed = cloudtrail.describe_trails(includeShadowTrails=True).get("trailList") or []
    except (BotoCoreError, ClientError) as exc:
        return _lookup(account, every, f"cloudtrail:DescribeTrails failed ({error_text(exc)})")
    notes: list[str] = []
    candidates = []
    for trail in {str(t.get("TrailARN")): t for t in listed}.values():
        if not trail.get("S3BucketName") or not _logs_account(trail, account):
            continue
        candidate = _inspect(trail, cloudtrail, cloudtrail_in, families)
        if not candidate.management:
            notes.append(f"trail {candidate.name} records no management events: passed over")
            continue
        candidates.append(candidate)
    if not candidates:
        return _lookup(account, every, "no CloudTrail trail that delivers this account's "
                       "management events to S3 was found", tuple(notes))
    candidates.sort(key=lambda c: (c.logging is not True, not c.broad, c.name))
    chosen = candidates[0]
    trail = chosen.trail
    notes.extend(chosen.notes)
    if chosen.logging is False:
        notes.append(f"trail {chosen.name} is not logging (cloudtrail:GetTrailStatus): "
                     "it holds no events since it stopped")
    if len(candidates) > 1:
        notes.append("other trails of this account: "
                     + ", ".join(c.name for c in candidates[1:]))
    bucket = str(trail["S3BucketName"])
    prefix = str(trail.get("S3KeyPrefix") or "").strip("/")
    home = str(trail.get("HomeRegion") or "") or None
    base = f"{SCHEME}{bucket}/{_logs_base(prefix)}"
    try:
        folders = _children(s3, bucket, _logs_base(prefix))
        org = None
        if trail.get("IsOrganizationTrail"):
            org = _organization_id(organizations) or _org_folder(s3, bucket, prefix, folders,
                                                                  account)
        where = f"{_logs_base(prefix)}{org}/" if org else _logs_base(prefix)
        if org and org not in folders or account not in _children(s3, bucket, where):
            raise LookupError(f"{base}{f'{org}/' if org else ''} holds no folder for "
                              f"account {account}")
    except (BotoCoreError, ClientError) as exc:
        return _lookup(account, every, f"s3:ListBucket on {base} failed ({error_text(exc)})",
                       tuple(notes), chosen)
    except LookupError as missing:
        return _lookup(account, every, str(missing), tuple(notes), chosen)
    unrecorded = (None if chosen.recorded is None
                  else tuple(g for g in every if g not in chosen.recorded))
    return TrailPlan(
        account=account, trail_name=chosen.name, trail_arn=str(trail.get("TrailARN") or ""),
        home_region=home, bucket=bucket, prefix=prefix, organization_id=org,
        multi_region=bool(trail.get("IsMultiRegionTrail")),
        regions=() if trail.get("IsMultiRegionTrail") or home is None else (home,),
        logging=chosen.logging, unrecorded=unrecorded, notes=tuple(notes),
    )


def _lookup(account: str, every: tuple[str, ...], reason: str, notes: tuple[str, ...] = (),
            chosen: _Candidate | None = None) -> TrailPlan:
    fallback = (f"{reason}: reading the LookupEvents API instead (management events of the "
                "last 90 days, of the configured region or --region only; it shows no data events)")
    trail = chosen.trail if chosen is not None else {}
    return TrailPlan(
        account=account, trail_name=chosen.name if chosen else None,
        trail_arn=str(trail.get("TrailARN")) if chosen else None,
        home_region=str(trail.get("HomeRegion")) if chosen else None,
        bucket=str(trail.get("S3BucketName")) if chosen else None,
        prefix=str(trail.get("S3KeyPrefix") or "").strip("/"),
        logging=chosen.logging if chosen else None,
        unrecorded=every, use_lookup=True, notes=(*notes, fallback),
    )


def _inspect(trail: Mapping[str, Any], cloudtrail: Any,
             cloudtrail_in: Callable[[str], Any] | None,
             groups: Sequence[BlindSpot]) -> _Candidate:
    """Status and selectors of one trail, asked in its home region."""
    from botocore.exceptions import BotoCoreError, ClientError

    arn = str(trail.get("TrailARN") or trail.get("Name"))
    name = str(trail.get("Name") or arn)
    home = trail.get("HomeRegion")
    client = cloudtrail
    if cloudtrail_in is not None and home and home != _region_of(cloudtrail):
        client = cloudtrail_in(str(home))
    notes = []
    logging: bool | None = None
    try:
        logging = bool(client.get_trail_status(Name=arn).get("IsLogging"))
    except (BotoCoreError, ClientError) as exc:
        notes.append(f"cloudtrail:GetTrailStatus {name} failed ({error_text(exc)}): "
                     "whether it is logging is not known")
    management, recorded = True, None
    try:
        found = client.get_event_selectors(TrailName=arn)
        management, recorded = selector_coverage(found.get("EventSelectors") or [],
                                                 found.get("AdvancedEventSelectors") or [],
                                                 groups)
    except (BotoCoreError, ClientError) as exc:
        notes.append(f"cloudtrail:GetEventSelectors {name} failed ({error_text(exc)}): "
                     "which data events it records is not known")
    return _Candidate(trail, logging, management, recorded, tuple(notes))


def _logs_account(trail: Mapping[str, Any], account: str) -> bool:
    """Whether the trail logs ``account``'s events: its own, or an organization trail."""
    arn_account = str(trail.get("TrailARN") or "").split(":")[4:5]
    return arn_account == [account] or bool(trail.get("IsOrganizationTrail"))


def _logs_base(prefix: str) -> str:
    return f"{prefix}/AWSLogs/" if prefix else "AWSLogs/"


def _region_of(client: Any) -> str | None:
    region = getattr(getattr(client, "meta", None), "region_name", None)
    return region if isinstance(region, str) else None


def _children(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Names of the folders directly under ``prefix``."""
    names = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix,
                                                              Delimiter="/"):
        names.extend(p["Prefix"][len(prefix):].rstrip("/")
                     for p in page.get("CommonPrefixes") or ())
    return names


def _organization_id(organizations: Any) -> str | None:
    from botocore.exceptions import BotoCoreError, ClientError

    if organizations is None:
        return None
    try:
        found = str(organizations.describe_organization()["Organization"]["Id"])
    except (BotoCoreError, ClientError, KeyError):
        return None
    return found if _ORG.match(found) else None


def _org_folder(s3: Any, bucket: str, prefix: str, folders: Sequence[str],
                account: str) -> str | None:
    """The ``o-...`` folder under AWSLogs/ that holds ``account`` (the only one,
    or the first that does)."""
    orgs = [f for f in folders if _ORG.match(f)]
    if len(orgs) == 1:
        return orgs[0]
    for org in orgs:
        if account in _children(s3, bucket, f"{_logs_base(prefix)}{org}/"):
            return org
    return None


def check_principals(iam: Any, account: str, names: Sequence[str]) -> tuple[str, ...]:
    """Check that each named role or user exists in IAM (``iam:GetRole``,
    ``iam:GetUser``). A name that does not raises NothingUsableError (one
    line); a check AWS refuses is only a note (the trail may still show it).
    Names in other accounts, and ``root``, are not checked."""
    missing: list[str] = []
    notes: list[str] = []
    for wanted in names:
        target = _target(wanted, account)
        if target is None:
            continue
        kinds, name, arn = target
        found, note = _exists(iam, kinds, name, arn)
        if note:
            notes.append(note)
        elif not found:
            missing.append(wanted)
    if missing:
        raise NothingUsableError(
            f"no such role or user in account {account}: {', '.join(missing)} "
            "(iam:GetRole, iam:GetUser)")
    return tuple(notes)


def _target(wanted: str, account: str) -> tuple[tuple[str, ...], str, str | None] | None:
    """(kinds to try, name, full ARN when given with its path) or None: not checkable."""
    if wanted == "root":
        return None
    if wanted.startswith("arn:"):
        parts = wanted.split(":", 5)
        if len(parts) != 6 or parts[4] != account:
            return None
        resource = parts[5]
        if parts[2] == "sts" and resource.startswith("assumed-role/"):
            return ("role",), resource.split("/")[1], None
        kind, _, rest = resource.partition("/")
        if parts[2] != "iam" or kind not in ("role", "user") or not rest:
            return None
        return (kind,), rest.rsplit("/", 1)[-1], wanted if "/" in rest else None
    if "/" in wanted:
        kind, _, rest = wanted.strip("/").partition("/")
        if kind not in ("role", "user") or not rest:
            return None
        return (kind,), rest.rsplit("/", 1)[-1], None
    return ("role", "user"), wanted, None


def _exists(iam: Any, kinds: Sequence[str], name: str,
            arn: str | None) -> tuple[bool, str | None]:
    from botocore.exceptions import BotoCoreError, ClientError

    for kind in kinds:
        call = "iam:GetRole" if kind == "role" else "iam:GetUser"
        try:
            found = (iam.get_role(RoleName=name)["Role"] if kind == "role"
                     else iam.get_user(UserName=name)["User"])
        except ClientError as exc:
            if (exc.response.get("Error") or {}).get("Code") in _NOT_FOUND:
                continue
            return False, (f"{call} {name} failed ({error_text(exc)}): not checked in IAM "
                           "(the trail may still show it)")
        except BotoCoreError as exc:
            return False, f"{call} {name} failed ({exc}): not checked in IAM"
        return arn is None or str(found.get("Arn")) == arn, None
    return False, None
