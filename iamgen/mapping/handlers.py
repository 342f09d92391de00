"""Calls whose actions or resources depend on the request's content.

``event_overrides.toml`` names the handler for each such call and lists every
action it may emit; the functions here only read the request. Each returns
:class:`ActionNeeded` items: an action plus its resources, or ``None`` resources to let
the generic catalog-driven builder derive them. Every handler takes the
record context and the call's eventName.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..arn import literal, literal_arn
from .context import RecordContext
from .paths import values_at
from .rules import apigateway_rules, inference_geographies
from .transforms import secret_name


@dataclass(frozen=True, slots=True)
class ActionNeeded:
    """One action the call needs.

    ``action`` "" stands for each action the override entry lists;
    ``resources`` None means "derive them from the catalog"; ``note`` names
    the rule that decided, for ``iamgen explain``.
    """

    action: str
    resources: tuple[str, ...] | None = None
    note: str = ""


Handler = Callable[[RecordContext, str], list[ActionNeeded]]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------- S3


# An object call -> (its action, its action on a version the request names).
_VERSIONED = {
    "getobject": ("s3:GetObject", "s3:GetObjectVersion"),
    "headobject": ("s3:GetObject", "s3:GetObjectVersion"),
    "selectobjectcontent": ("s3:GetObject", "s3:GetObjectVersion"),
    "deleteobject": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
    "getobjecttagging": ("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    "putobjecttagging": ("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
    "deleteobjecttagging": ("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
    "getobjectacl": ("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    "putobjectacl": ("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
}


def s3_object_version(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """An object call (GetObject, DeleteObject, GetObjectTagging...): its
    ...Version action when the request names a version (versionId)."""
    plain, versioned = _VERSIONED[event_name.lower()]
    return [ActionNeeded(versioned if _str(ctx.params.get("versionId")) else plain)]


def _object_arn(ctx: RecordContext, bucket: str, key: str) -> str:
    """The ARN of one object, as policy text (a * or ? in its key is literal)."""
    return f"arn:{ctx.partition}:s3:::{bucket}/{literal(key)}"


def s3_copy_object(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """CopyObject: read the source named by x-amz-copy-source, write the target."""
    source = _str(ctx.params.get("x-amz-copy-source")) or _str(ctx.params.get("CopySource"))
    read: ActionNeeded
    if source is None:
        read = ActionNeeded("s3:GetObject", ("*",), "copy source not logged")
    else:
        # The header is URL-encoded, and a ?versionId= may follow: split first,
        # so a ? inside the key (sent as %3F) stays part of the key.
        raw_path, _, query = source.lstrip("/").partition("?")
        bucket, _, key = unquote(raw_path).partition("/")
        versioned = "versionId=" in query
        action = "s3:GetObjectVersion" if versioned else "s3:GetObject"
        if bucket and key:
            read = ActionNeeded(action, (_object_arn(ctx, bucket, key),))
        else:
            read = ActionNeeded(action, ("*",), "copy source not parsable")
    return [read, ActionNeeded("s3:PutObject")]


def s3_delete_objects(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """DeleteObjects: each listed object, else every object of the bucket."""
    bucket = _str(ctx.params.get("bucketName"))
    objects = [o for o in values_at(ctx.params, "delete.Object[]") if isinstance(o, Mapping)]
    keys = [(o["Key"], bool(_str(o.get("VersionId")))) for o in objects
            if isinstance(o.get("Key"), str)]
    arns = [a for a in ctx.resource_arns if a.startswith(f"arn:{ctx.partition}:s3:::") and "/" in a]
    if bucket and keys:
        # An object named with its VersionId is deleted as a version.
        needs = [ActionNeeded(action, arns) for action, arns in (
            ("s3:DeleteObject", tuple(_object_arn(ctx, bucket, k) for k, v in keys if not v)),
            ("s3:DeleteObjectVersion", tuple(_object_arn(ctx, bucket, k) for k, v in keys if v)),
        ) if arns]
        return needs
    if not arns and bucket:
        arns = [f"arn:{ctx.partition}:s3:::{bucket}/*"]  # a wildcard: any of its objects
    return [ActionNeeded("s3:DeleteObject", tuple(arns) if arns else ("*",))]


# ---------------------------------------------------------------- Lambda

_FUNCTION = re.compile(r"^(?:arn:(?P<partition>[^:]+):lambda:(?P<region>[^:]*):)?"
                       r"(?:(?:(?P<account>[0-9]{12}):)?function:)?"
                       r"(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$")


def lambda_invoke(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """Invoke: the function, version or alias invoked, by its own ARN: a call
    on an alias or version (``name:prod``, a qualified ARN, or the
    ``qualifier`` member) is authorized on that ARN, which a grant on the
    function's ARN does not match; a partial ARN names the function's account."""
    given = _str(ctx.params.get("functionName")) or _str(ctx.params.get("FunctionName"))
    found = _FUNCTION.match(given) if given else None
    if found is None:
        return [ActionNeeded("")]  # the catalog's ARN format, as for any call
    qualifier = found["qualifier"] or _str(ctx.params.get("qualifier"))
    arn = (f"arn:{found['partition'] or ctx.partition}:lambda:{found['region'] or ctx.region}:"
           f"{found['account'] or ctx.account}:function:{literal(found['name'])}")
    return [ActionNeeded("", (f"{arn}:{literal(qualifier)}" if qualifier else arn,),
                         "qualifier kept" if qualifier else "")]


# ---------------------------------------------------------------- KMS


def _key_arn(ctx: RecordContext, key: str | None) -> str | None:
    if key is None or key.startswith("alias/") or ":alias/" in key:
        return None
    if key.startswith("arn:"):
        return key
    return f"arn:{ctx.partition}:kms:{ctx.region}:{ctx.account}:key/{key}"


def kms_reencrypt(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """ReEncrypt: ReEncryptFrom on the source key, ReEncryptTo on the destination."""
    keys = [a for a in ctx.resource_arns if ":key/" in a]
    dest = _key_arn(ctx, _str(ctx.params.get("destinationKeyId")))
    src = _key_arn(ctx, _str(ctx.params.get("sourceKeyId")))
    if dest is None:
        dest_ids = [a for a in keys if a.endswith(str(ctx.params.get("destinationKeyId")))]
        dest = dest_ids[0] if dest_ids else None
    if src is None:
        others = [a for a in keys if a != dest]
        src = others[0] if others else (keys[0] if len(keys) == 1 else None)
    return [
        ActionNeeded("kms:ReEncryptFrom", (src,) if src else ("*",)),
        ActionNeeded("kms:ReEncryptTo", (dest,) if dest else ("*",)),
    ]


# ---------------------------------------------------------------- DynamoDB

_TRANSACT_ACTIONS = {
    "put": "dynamodb:PutItem",
    "update": "dynamodb:UpdateItem",
    "delete": "dynamodb:DeleteItem",
    "conditioncheck": "dynamodb:ConditionCheckItem",
    "get": "dynamodb:GetItem",
}


def _table_arn(ctx: RecordContext, table: str) -> str:
    if table.startswith("arn:"):
        return table
    return f"arn:{ctx.partition}:dynamodb:{ctx.region}:{ctx.account}:table/{table}"


def _table_arns_in_record(ctx: RecordContext) -> tuple[str, ...]:
    return tuple(a for a in ctx.resource_arns if ":dynamodb:" in a and ":table/" in a)


def dynamodb_transaction(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """TransactWrite/GetItems: the per-item action on each item's table."""
    items: list[Any] = []
    for path in ("transactItems[]", "requestItems[]"):
        items.extend(values_at(ctx.params, path))
    needs: dict[str, list[str]] = {}
    for item in items:
        if not isinstance(item, Mapping):
            continue
        op = item.get("operation")
        table = item.get("tableName") or item.get("TableName")  # CloudTrail writes both
        if not isinstance(op, str):
            # SDK shape: {"Put": {"TableName": ...}}
            for key, body in item.items():
                if key.lower() in _TRANSACT_ACTIONS and isinstance(body, Mapping):
                    op, table = key, body.get("TableName") or body.get("tableName")
        action = _TRANSACT_ACTIONS.get(op.lower()) if isinstance(op, str) else None
        if action is None:
            continue
        arns = needs.setdefault(action, [])
        if isinstance(table, str) and table:
            arn = _table_arn(ctx, table)
            if arn not in arns:
                arns.append(arn)
    fallback = _table_arns_in_record(ctx) or ("*",)
    return [ActionNeeded(a, tuple(r) if r else fallback) for a, r in needs.items()]


_PARTIQL_VERBS = {
    "SELECT": "dynamodb:PartiQLSelect",
    "EXISTS": "dynamodb:PartiQLSelect",
    "INSERT": "dynamodb:PartiQLInsert",
    "UPDATE": "dynamodb:PartiQLUpdate",
    "DELETE": "dynamodb:PartiQLDelete",
}
_PARTIQL_TABLE = re.compile(
    r"""(?:\bFROM|\bINTO|^\s*UPDATE)\s+("[^"]+"|[A-Za-z0-9_.-]+)(?:\s*\.\s*"([^"]+)")?""",
    re.IGNORECASE,
)


def dynamodb_partiql(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """PartiQL: PartiQLSelect/Insert/Update/Delete by each statement's verb."""
    statements: list[Any] = []
    for path in ("statement", "statements[].statement", "requestItems[].statement",
                 "transactStatements[].statement"):
        statements.extend(values_at(ctx.params, path))
    needs: dict[str, list[str]] = {}
    for text in statements:
        if not isinstance(text, str) or not text.strip():
            continue
        verb = text.split(None, 1)[0].upper()
        action = _PARTIQL_VERBS.get(verb)
        if action is None:
            continue
        arns = needs.setdefault(action, [])
        match = _PARTIQL_TABLE.search(text)
        if match:
            table = match.group(1).strip('"')
            arn = _table_arn(ctx, table)
            if match.group(2):
                arn = f"{arn}/index/{match.group(2)}"
            if arn not in arns:
                arns.append(arn)
    fallback = _table_arns_in_record(ctx) or ("*",)
    return [ActionNeeded(a, tuple(r) if r else fallback) for a, r in needs.items()]


# ---------------------------------------------------------------- Secrets Manager


def _secret_arn(ctx: RecordContext, secret: str) -> str:
    if secret.startswith("arn:"):
        return secret_name(secret)  # a partial ARN gets its "-??????"
    return f"arn:{ctx.partition}:secretsmanager:{ctx.region}:{ctx.account}:secret:{secret}-??????"


def secrets_batch_get(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """BatchGetSecretValue: GetSecretValue on every secret; ListSecrets with filters."""
    ids = [s for s in values_at(ctx.params, "secretIdList[]") if isinstance(s, str) and s]
    needs = [ActionNeeded("secretsmanager:BatchGetSecretValue", ("*",))]
    if ids:
        needs.append(ActionNeeded("secretsmanager:GetSecretValue", tuple(_secret_arn(ctx, s) for s in ids)))
    else:
        needs.append(ActionNeeded("secretsmanager:GetSecretValue", ("*",), "secrets chosen by filters"))
    if values_at(ctx.params, "filters"):
        needs.append(ActionNeeded("secretsmanager:ListSecrets", ("*",)))
    return needs


# ---------------------------------------------------------------- Bedrock


def bedrock_model_arns(ctx: RecordContext, model: str) -> tuple[tuple[str, ...], str]:
    """ARNs a model invocation is authorized on, and the rule that decided them.

    A cross-region inference profile id (``us.anthropic...``) needs the profile
    and the foundation model in every region of its geography.
    """
    if model.startswith("arn:"):
        parts = model.split(":", 5)
        resource = parts[5] if len(parts) == 6 else ""
        if resource.startswith("inference-profile/"):
            return _profile_arns(ctx, resource.split("/", 1)[1], model)
        return (model,), "bedrock:model_arn"
    return _profile_arns(ctx, model, None)


def _profile_arns(ctx: RecordContext, model: str, profile_arn: str | None) -> tuple[tuple[str, ...], str]:
    prefix, dot, base = model.partition(".")
    geographies = inference_geographies()
    if dot and prefix in geographies:
        profile = profile_arn or (
            f"arn:{ctx.partition}:bedrock:{ctx.region}:{ctx.account}:inference-profile/{model}"
        )
        regions = geographies[prefix]
        if "*" not in regions and ctx.region and ctx.region not in regions:
            regions = (ctx.region, *regions)  # the source Region is always granted too
        models = tuple(
            f"arn:{ctx.partition}:bedrock:{region}::foundation-model/{base}" for region in regions
        )
        return (profile, *models), f"inference_regions:{prefix}"
    return (f"arn:{ctx.partition}:bedrock:{ctx.region}::foundation-model/{model}",), "bedrock:foundation_model"


def bedrock_model(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """InvokeModel/Converse(+Stream): the model or inference profile and its models."""
    model = _str(ctx.params.get("modelId")) or _str(ctx.params.get("modelIdentifier"))
    if model is None:
        return [ActionNeeded("", ("*",), "model not logged")]
    arns, rule = bedrock_model_arns(ctx, model)
    return [ActionNeeded("", arns, rule)]


def bedrock_invocation_job(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """CreateModelInvocationJob: Bedrock names each batch job itself (a new
    random id in the response's jobArn), so the grant is on every job of the
    account and region (``model-invocation-job/*``, as AWS's own examples
    write it), with the model the job invokes."""
    model = _str(ctx.params.get("modelId"))
    if model is None:
        return [ActionNeeded("", ("*",), "model not logged")]
    jobs = (f"arn:{ctx.partition}:bedrock:{ctx.region}:{ctx.account}:model-invocation-job/*",)
    return [ActionNeeded("", (*jobs, *bedrock_model_arns(ctx, model)[0]),
                         "job id assigned by Bedrock")]


def bedrock_customization_job(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """CreateModelCustomizationJob: Bedrock names the job and the custom model
    it makes itself (new ids in the response's ARNs; the request's names are
    not in them), so the grant is on every job and custom model of the
    account and region (``model-customization-job/*``, ``custom-model/*``, as
    AWS's own examples write it), with the base model it customizes."""
    base = _str(ctx.params.get("baseModelIdentifier"))
    if base is None:
        return [ActionNeeded("", ("*",), "base model not logged")]
    where = f"arn:{ctx.partition}:bedrock:{ctx.region}:{ctx.account}"
    made = (f"{where}:model-customization-job/*", f"{where}:custom-model/*")
    return [ActionNeeded("", (*made, *bedrock_model_arns(ctx, base)[0]),
                         "job and model ids assigned by Bedrock")]


def bedrock_retrieve_and_generate(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """RetrieveAndGenerate(Stream): the call itself, bedrock:Retrieve on the
    knowledge base it queries, bedrock:InvokeModel on the model that
    generates and bedrock:ApplyGuardrail on the guardrail it generates through."""
    config = ctx.params.get("retrieveAndGenerateConfiguration")
    config = config if isinstance(config, Mapping) else {}
    needs = [ActionNeeded("bedrock:RetrieveAndGenerate", ("*",))]
    base = config.get("knowledgeBaseConfiguration")
    base = base if isinstance(base, Mapping) else {}
    base_id = _str(base.get("knowledgeBaseId"))
    bases = tuple(a for a in ctx.resource_arns if ":knowledge-base/" in a)
    if base_id and not base_id.startswith("arn:"):
        bases = (f"arn:{ctx.partition}:bedrock:{ctx.region}:{ctx.account}:knowledge-base/{base_id}",)
    if bases:
        needs.append(ActionNeeded("bedrock:Retrieve", bases))
    sources = config.get("externalSourcesConfiguration")
    sources = sources if isinstance(sources, Mapping) else {}
    model = _str(base.get("modelArn")) or _str(sources.get("modelArn"))
    if model:
        arns, rule = bedrock_model_arns(ctx, model)
        needs.append(ActionNeeded("bedrock:InvokeModel", arns, rule))
    generation = base.get("generationConfiguration") or sources.get("generationConfiguration")
    guardrail = generation.get("guardrailConfiguration") if isinstance(generation, Mapping) \
        else None
    guardrail_id = _str(guardrail.get("guardrailId")) if isinstance(guardrail, Mapping) else None
    if guardrail_id:
        needs.append(ActionNeeded("bedrock:ApplyGuardrail", (
            literal_arn(guardrail_id) if guardrail_id.startswith("arn:") else
            f"arn:{ctx.partition}:bedrock:{ctx.region}:{ctx.account}:guardrail/"
            f"{literal(guardrail_id)}",)))
    return needs


# ---------------------------------------------------------------- SageMaker

_VERSIONED_PACKAGE = re.compile(r"^(?P<base>arn:[^:]+:sagemaker:[^:]*:[^:]*:model-package/[^/]+)/\d+$")
_PACKAGE_GROUP_ARN = re.compile(r"^arn:(?P<partition>[^:]+):sagemaker:(?P<region>[^:]*):(?P<account>[^:]*):model-package-group/(?P<name>.+)$")


def sagemaker_model_package(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """CreateModelPackage: the package created; a versioned one as ``<group>/*``.

    SageMaker numbers the versions of a model group itself (1, 2, 3...), so
    the ARN the response returns (``model-package/churn-models/12``) is not
    the one the next registration creates; the grant names every version of
    the group instead. An unversioned package keeps its own ARN.
    """
    created = _str(ctx.response.get("modelPackageArn"))
    if created is not None:
        versioned = _VERSIONED_PACKAGE.match(created)
        if versioned:
            return [ActionNeeded("", (f"{versioned['base']}/*",), "version assigned by SageMaker")]
        return [ActionNeeded("", (created,), "modelPackageArn from the response")]
    group = _str(ctx.params.get("modelPackageGroupName"))
    if group is not None:
        named = _PACKAGE_GROUP_ARN.match(group)
        if named:
            arn = (f"arn:{named['partition']}:sagemaker:{named['region']}:{named['account']}:"
                   f"model-package/{named['name'].lower()}/*")
        else:
            arn = f"arn:{ctx.partition}:sagemaker:{ctx.region}:{ctx.account}:model-package/{group.lower()}/*"
        return [ActionNeeded("", (arn,), "version assigned by SageMaker")]
    return [ActionNeeded("")]  # unversioned: the name, from the catalog's ARN format


# ---------------------------------------------------------------- API Gateway


def apigateway_http_verb(ctx: RecordContext, event_name: str) -> list[ActionNeeded]:
    """REST API management: the HTTP-verb action on the /restapis/... path."""
    verbs, segments = apigateway_rules()
    verb = next((v for prefix, v in verbs.items() if event_name.startswith(prefix)), None)
    if verb is None:
        return []
    path = ""
    for param, segment in segments:
        value = _str(ctx.params.get(param))
        if value is None:
            break
        path += f"/{segment}/{value}"
    arn = f"arn:{ctx.partition}:apigateway:{ctx.region}::{path}" if path else "*"
    return [ActionNeeded(f"apigateway:{verb}", (arn,), f"{event_name}->{verb}")]


HANDLERS: Mapping[str, Handler] = {
    "s3_object_version": s3_object_version,
    "s3_copy_object": s3_copy_object,
    "s3_delete_objects": s3_delete_objects,
    "kms_reencrypt": kms_reencrypt,
    "dynamodb_transaction": dynamodb_transaction,
    "dynamodb_partiql": dynamodb_partiql,
    "secrets_batch_get": secrets_batch_get,
    "bedrock_model": bedrock_model,
    "lambda_invoke": lambda_invoke,
    "bedrock_retrieve_and_generate": bedrock_retrieve_and_generate,
    "bedrock_invocation_job": bedrock_invocation_job,
    "bedrock_customization_job": bedrock_customization_job,
    "apigateway_http_verb": apigateway_http_verb,
    "sagemaker_model_package": sagemaker_model_package,
}
