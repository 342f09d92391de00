"""What the networkx graph holds, shared by building, queries and files:
node types, edge outcomes, the saved-file schema, and networkx itself,
imported on first use.

Nodes carry ``node_type`` (PRINCIPAL or RESOURCE), ``kind``, ``label`` and
``events``; edges carry ``action``, ``resource``, ``outcome`` (ALLOWED or
DENIED), ``conditions``, ``count``, ``first_seen``, ``last_seen``,
``regions``, ``context`` (the usage's sorted (fact, value, count), as
:attr:`~iamgen.model.Usage.context`) and ``example_event_id``.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any

from ..arn import parse_arn
from ..model import Condition

SCHEMA = "iamgen-access-graph"
SCHEMA_VERSION = 3
"""2 adds ``graph.trail`` (:class:`~.access.TrailContext`); version 1 files lack it
and are refused. 3 adds each edge's ``context`` and ``example_event_id`` and the
trail's ``signals`` with their evidence; version 2 files are read without them
(no facts, no example event, signals unknown)."""
OLDEST_READ_VERSION = 2

PRINCIPAL = "principal"
RESOURCE = "resource"
ALLOWED = "allowed"
DENIED = "denied"

# Only sts:AssumeRole is made by an IAM identity; AssumeRoleWithSAML and
# AssumeRoleWithWebIdentity are called by federated callers iamgen does not
# attribute to a principal, so they can never start an edge here.
CHAIN_ACTIONS = frozenset({"sts:assumerole"})


def load_networkx() -> ModuleType:
    """networkx, imported on first use: importing it takes ~70 ms, and
    ``suggest``, ``diff`` and ``review`` never need it."""
    import networkx

    return networkx


def identity_key(arn: str) -> tuple[str, str, str, str] | None:
    """(partition, account, role|user, name) of an IAM role or user ARN; paths ignored."""
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "iam":
        return None
    kind, _, rest = parsed.resource.partition("/")
    if kind not in ("role", "user") or not rest:
        return None
    return (parsed.partition, parsed.account, kind, rest.rsplit("/", 1)[-1])


def conditions_to_json(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    """An edge's conditions as JSON values (saved files, and edge keys)."""
    return [{"operator": c.operator, "key": c.key, "values": list(c.values)}
            for c in conditions]


def conditions_from_json(raw: Any) -> tuple[Condition, ...]:
    """Conditions read back from :func:`conditions_to_json`'s form."""
    return tuple(Condition(str(c["operator"]), str(c["key"]), tuple(str(v) for v in c["values"]))
                 for c in raw)
