"""The one aggregation query: CloudTrail rows in, one row per distinct call shape out.

It reads a table shaped like the one the AWS documentation has Athena users
create for CloudTrail (``useridentity`` and ``resources`` as structs,
``requestparameters`` and ``responseelements`` as JSON text) and returns, per
group, ``status``, ``file``, ``shape``, ``calls``, ``first_time``,
``last_time``, ``first_event`` and ``transports``:

- ``status`` ``counted``: records inside the filters. ``shape`` is a JSON
  array of exactly what identity and resolution read of them
  (:data:`SHAPE_FIELDS`); :mod:`.rows` turns it back into a record and the
  usual resolution counts ``calls`` of it, seen from ``first_time`` to
  ``last_time`` (UTC text), the earliest having eventID ``first_event``;
  ``transports`` counts them by the connection they came over
  (:data:`TRANSPORT_FIELDS`, a JSON object of JSON arrays to counts).
- ``status`` one of :data:`SKIPPED` (outside the window, region, account):
  counted only. Successful calls that announce an id
  (``data/correlations.toml``) keep their shape: the file path takes their
  ids even outside the filters, and so does :mod:`.rows`.
- ``status`` one of :data:`BAD_INPUT`: records the file path warns about,
  counted per file (``file``, Athena's ``"$path"``).

Nothing unique to one event reaches the GROUP BY unless resolution reads it:
an assumed-role session's name is cut from its ARN (only the role name and
partition are read; calls that may raise a signal keep it, as signals name
the caller), the response keeps only the members the rules read
(:func:`response_members`, ARN-valued members, an EC2-style wrapper whole),
and calls that failed for a reason other than authorization keep no request,
response, resources or connection (they are counted, never granted). The request
parameters are kept whole: the resolver may read any member of them.

Partition predicates (:mod:`.partitions`) prune what Athena reads; the
window, accounts and regions are applied to every row as the file path
applies them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ..errors import InputError
from ..mapping.rules import correlation_rules
from ..mapping.signals import signal_event_names
from ..model import DENIED_CODES, Filters
from .dialects import Dialect, string, strings

COUNTED = "counted"
SKIPPED = ("outside_window", "other_region", "other_account")
BAD_INPUT = ("missing_eventName", "missing_eventSource", "missing_userIdentity", "bad_eventTime")

SHAPE_FIELDS = (
    "identity_type",  # userIdentity.type
    "identity_arn",  # userIdentity.arn, an assumed-role session's name cut off
    "identity_account",  # userIdentity.accountId
    "invoked_by",  # userIdentity.invokedBy
    "issuer_type",  # userIdentity.sessionContext.sessionIssuer.type
    "issuer_arn",  # userIdentity.sessionContext.sessionIssuer.arn
    "mfa",  # userIdentity.sessionContext.attributes.mfaAuthenticated
    "event_type",
    "event_source",
    "event_name",
    "region",  # awsRegion
    "recipient",  # recipientAccountId
    "error_code",
    "params",  # requestParameters, JSON text (NULL for calls failed otherwise than denied)
    "response",  # responseElements projected, JSON text
    "resources",  # the ARNs of resources[], a JSON array
)
"""The members of ``shape``, in order."""

TRANSPORT_FIELDS = ("vpc_endpoint", "tls_version")
"""What ``transports`` counts calls by: vpcEndpointId, tlsDetails.tlsVersion.
The connection a call came over decides no permission, only facts: keeping
it out of the shape keeps calls that differ only in it in one row."""

# What the resolver reads of an EC2-style wrapped response ({"XResponse": {...}}):
# all of it, unwrapped; such a response is kept whole.
_WRAPPER = r"(Request|Response)$"
# An assumed-role session ARN, up to the role name: what identity reads of it.
_SESSION = r"(?s)^([^:]*:[^:]*:[^:]*:[^:]*:[^:]*:assumed-role/[^/]*/).*$"
# Members the resolver's code (not its data) reads of a response:
# handlers.sagemaker_model_package.
_HANDLER_RESPONSE_MEMBERS = ("modelPackageArn",)


@cache
def response_members() -> frozenset[str]:
    """Names of the response members the rules read by name: the first step
    of every ``@response.`` path of ``resource_params.toml``, the correlation
    ids, and the handlers' own reads. (Members whose value is an ARN, or a
    list holding one, are kept besides, whatever their name.)"""
    text = resources.files("iamgen.data").joinpath("resource_params.toml").read_text("utf-8")
    names = set(_HANDLER_RESPONSE_MEMBERS)
    for entry in tomllib.loads(text).get("param", []):
        for path in entry.get("paths", ()):
            path = path.lstrip("?")
            if path.startswith("@response."):
                names.add(path.removeprefix("@response.").split(".")[0].removesuffix("[]"))
    for table in correlation_rules():
        names.update(rule.key.split(".")[0] for rule in table.values() if rule.in_response)
    return frozenset(names)


def _producers() -> list[tuple[str, str]]:
    """(eventSource, lower-cased eventName) of calls that announce ids."""
    return sorted(correlation_rules()[0])


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """What one query reads: a table (SQL reference, quoted as needed), the
    run's filters, and predicates on the table's partition columns that
    prune by those filters (:func:`iamgen.sql.partitions.PartitionScheme.predicates`)."""

    table: str
    filters: Filters = Filters()
    partition_predicates: tuple[str, ...] = ()
    columns: frozenset[str] | None = None  # the table's (lower-cased); None: all it needs


REQUIRED_COLUMNS = ("useridentity", "eventtime", "eventsource", "eventname", "awsregion",
                    "errorcode", "requestparameters", "responseelements", "eventid",
                    "resources", "eventtype", "recipientaccountid")
"""Columns the query reads that every CloudTrail table of the AWS documentation has."""

OPTIONAL_COLUMNS = ("vpcendpointid", "tlsdetails")
"""Columns later versions of the table added; NULL where a table lacks them."""


def build_query(plan: QueryPlan, dialect: Dialect) -> str:
    """The aggregation query for ``plan`` in ``dialect``."""
    d = dialect
    filters = plan.filters
    if plan.columns is not None:
        missing = [c for c in REQUIRED_COLUMNS if c not in plan.columns]
        if missing:
            raise InputError(f"{plan.table} is not a CloudTrail table as the AWS documentation "
                             f"creates it: it has no column {', '.join(missing)}")
    present = plan.columns if plan.columns is not None else frozenset(OPTIONAL_COLUMNS)
    vpc_endpoint = "vpcendpointid" if "vpcendpointid" in present else "CAST(NULL AS varchar)"
    tls_version = "tlsdetails.tlsversion" if "tlsdetails" in present \
        else "CAST(NULL AS varchar)"
    where = " AND ".join(f"({p})" for p in plan.partition_predicates) or "TRUE"
    producer = " OR ".join(f"(eventsource = {string(s)} AND lower(eventname) = {string(n)})"
                           for s, n in _producers()) or "FALSE"
    no_error = "(errorcode IS NULL OR errorcode = '')"
    failed = f"(NOT {no_error} AND lower(errorcode) NOT IN {strings(DENIED_CODES)})"

    tests = [
        ("eventname IS NULL OR eventname = ''", "missing_eventName"),
        ("eventsource IS NULL OR eventsource = ''", "missing_eventSource"),
        ("NOT has_identity", "missing_userIdentity"),
        ("t IS NULL", "bad_eventTime"),
    ]
    window = filters.window
    if window.since is not None:
        tests.append((f"t < {d.time_text(window.since)}", "outside_window"))
    if window.until is not None:
        tests.append((f"t > {d.time_text(window.until)}", "outside_window"))
    if filters.regions:
        tests.append((f"coalesce(awsregion, '') NOT IN {strings(filters.regions)}",
                      "other_region"))
    if filters.accounts:
        tests.append((f"coalesce(recipientaccountid, identity_account, '') NOT IN "
                      f"{strings(filters.accounts)}", "other_account"))
    status = "CASE " + " ".join(f"WHEN {test} THEN {string(reason)}" for test, reason in tests) \
        + f" ELSE {string(COUNTED)} END"

    keep = (f"status = {string(COUNTED)} OR "
            f"(status IN {strings(SKIPPED)} AND ({producer}) AND {no_error})")

    def when_full(expr: str) -> str:
        return f"CASE WHEN NOT failed_call THEN {expr} END"

    shape = d.json_string_array([
        "identity_type", "identity_arn", "identity_account", "invoked_by", "issuer_type",
        "issuer_arn", "mfa", "eventtype", "eventsource", "eventname", "awsregion",
        "recipientaccountid", "errorcode", when_full("requestparameters"),
        when_full(_projected_response(d)),
        when_full(f"nullif({d.arn_list('resources')}, '[]')"),
    ])
    transport = d.json_string_array(["vpcendpointid", "tls_version"])
    return _layout(f"""
WITH events AS (
  SELECT
    useridentity IS NOT NULL AS has_identity,
    useridentity.type AS identity_type,
    CASE WHEN lower(eventname) IN {strings(signal_event_names())} THEN useridentity.arn
      ELSE {d.regexp_replace("useridentity.arn", _SESSION, 1)} END AS identity_arn,
    useridentity.accountid AS identity_account,
    useridentity.invokedby AS invoked_by,
    useridentity.sessioncontext.sessionissuer.type AS issuer_type,
    useridentity.sessioncontext.sessionissuer.arn AS issuer_arn,
    useridentity.sessioncontext.attributes.mfaauthenticated AS mfa,
    eventtype, eventsource, eventname, awsregion, recipientaccountid, errorcode,
    requestparameters,
    {d.json_object_map("responseelements")} AS response_members,
    responseelements,
    resources,
    {vpc_endpoint} AS vpcendpointid,
    {tls_version} AS tls_version,
    eventid,
    "$path" AS path,
    {d.sortable_time("eventtime")} AS t
  FROM {plan.table}
  WHERE {where}
), marked AS (
  SELECT *, {status} AS status
  FROM events
), flagged AS (
  SELECT *,
    {keep} AS keep_shape,
    status = {string(COUNTED)} AND {failed} AS failed_call
  FROM marked
), shaped AS (
  SELECT
    status,
    CASE WHEN status IN {strings(BAD_INPUT)} THEN path END AS file,
    CASE WHEN keep_shape THEN {shape} END AS shape,
    CASE WHEN status = {string(COUNTED)} AND NOT failed_call THEN {transport} END AS transport,
    t,
    eventid
  FROM flagged
)
SELECT
  status,
  file,
  shape,
  count(*) AS calls,
  min(t) AS first_time,
  max(t) AS last_time,
  substr(min(t || coalesce(eventid, '')), {d.time_width + 1}) AS first_event,
  {d.json_counts("transport")} AS transports
FROM shaped
GROUP BY status, file, shape
""")


def _projected_response(d: Dialect) -> str:
    """responseElements as resolution reads it: a wrapped response whole;
    else the members :func:`response_members` names and those holding an
    ARN (a string, or a list with one); NULL when nothing is left."""
    members = "response_members"
    named = strings(response_members())

    def kept(key: str, text: str) -> str:
        return (f"{key} IN {named} OR {text} LIKE '\"arn:%' OR "
                f"({text} LIKE '[%' AND strpos({text}, '\"arn:') > 0)")

    wrapped = (f"cardinality({members}) = 1 AND "
               f"{d.regexp_matches(d.map_single_key(members), _WRAPPER)} AND "
               f"{d.map_single_value_text(members)} LIKE '{{%'")
    return (f"CASE WHEN {wrapped} THEN responseelements "
            f"ELSE nullif({d.filtered_json_object(members, kept)}, '{{}}') END")


def _layout(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"
