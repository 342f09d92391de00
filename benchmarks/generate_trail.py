"""Write a deterministic synthetic CloudTrail trail in the S3 delivery layout.

    python benchmarks/generate_trail.py --events 1000000 --out .bench/trail-1000000

Records are shaped like real ones (full ``userIdentity`` with session context,
``tlsDetails``, ``additionalEventData``, ``resources[]`` on data events, long
user agents), about 1.2-1.8 KB each, from an AI/ML account mix: SageMaker
training, Bedrock callers, Lambda, S3 data lakes, KMS forward access,
DynamoDB, Secrets Manager, CloudWatch Logs, ECR, plus AWS-service calls,
denied calls and calls that need no grant. The same arguments always give the
same bytes. Synthetic data only: nothing here comes from a real account.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

SEED = 20261101
ACCOUNTS = ("111122223333", "444455556666")
REGIONS = ("us-east-1", "us-west-2")
START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 7
RECORDS_PER_FILE = (300, 1300)
GENERATOR_VERSION = "9"

USER_AGENTS = (
    ("Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#5.10.226-214.880.amzn2.x86_64 "
     "md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.36"),
    ("aws-sdk-java/2.25.60 Linux/5.10.219-208.866.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS "
     "Java/17.0.11 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_FARGATE io/sync http/Apache"),
    ("AWS_Lambda_python3.12 Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.224-233.869 "
     "md/arch#x86_64 lang/python#3.12.5 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12"),
    ("aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.1.102-111.182.amzn2023.x86_64 "
     "md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard command/s3.cp"),
    ("sagemaker-training-toolkit/4.8.1 Boto3/1.34.162 md/Botocore#1.34.162 ua/2.0 os/linux "
     "md/arch#x86_64 lang/python#3.10.14 md/pyimpl#CPython exec-env/AmazonSageMakerTraining"),
)
CIPHERS = ("TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_256_GCM_SHA384")
# Bucket indexes (raw, curated, features, models, artifacts) each role reads and
# writes, and how many keys it works on.
ROLE_BUCKETS = {
    "SageMakerTrainingRole": ((1, 2), (3,), 400),
    "FeaturePipeline": ((0,), (2,), 300),
    "DeployPipelineRole": ((3, 4), (3, 4), 200),
    "ml-analyst": ((1,), (1,), 300),
}
MODELS = (
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "amazon.titan-embed-text-v2:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "cohere.embed-english-v3",
)


@dataclass(frozen=True)
class Role:
    """A principal of the synthetic account and what it tends to do."""

    account: str
    path: str
    name: str
    kind: str  # "AssumedRole" or "IAMUser"
    mix: tuple[tuple[str, int], ...]  # (event kind, weight)
    principal_id: str


def _roles(rng: random.Random) -> list[Role]:
    def pid() -> str:
        return "AROA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(17))

    roles: list[Role] = []
    for account in ACCOUNTS:
        roles += [
            Role(account, "service-role/", "SageMakerTrainingRole", "AssumedRole",
                 (("s3_get", 40), ("s3_put", 10), ("s3_list", 5), ("kms_decrypt", 8),
                  ("logs_stream", 6), ("ecr_pull", 6), ("ecr_token", 2), ("sm_describe", 4)), pid()),
            Role(account, "", "BedrockInvokerLambdaRole", "AssumedRole",
                 (("bedrock_invoke", 40), ("bedrock_converse", 20), ("ddb_get", 15),
                  ("ddb_put", 5), ("secret_get", 8), ("logs_stream", 4), ("caller_id", 2)), pid()),
            Role(account, "", "DeployPipelineRole", "AssumedRole",
                 (("sm_create_training", 3), ("sm_describe", 20), ("sm_create_model", 2),
                  ("lambda_update", 2), ("s3_put", 10), ("s3_get", 10), ("ecr_token", 4),
                  ("sts_assume", 3), ("iam_get_role", 4), ("denied", 3)), pid()),
            Role(account, "", "ApiLambdaRole", "AssumedRole",
                 (("lambda_invoke", 30), ("ddb_query", 25), ("ddb_get", 20), ("secret_get", 5),
                  ("kms_decrypt", 5), ("logs_stream", 3)), pid()),
        ]
        for i in range(1, 13):
            roles.append(Role(account, "teams/", f"DataLakeReader{i:02d}", "AssumedRole",
                              (("s3_get", 50), ("s3_list", 10), ("s3_head", 10),
                               ("kms_decrypt", 12), ("denied", 1)), pid()))
        for i in range(1, 5):
            roles.append(Role(account, "", f"FeaturePipeline{i}", "AssumedRole",
                              (("ddb_put", 20), ("ddb_get", 20), ("s3_put", 20), ("s3_get", 20),
                               ("kms_decrypt", 5), ("bedrock_invoke", 5)), pid()))
        roles.append(Role(account, "", "ml-analyst", "IAMUser",
                          (("sm_describe", 20), ("s3_list", 20), ("s3_get", 20),
                           ("bedrock_invoke", 10), ("caller_id", 5), ("denied", 2)),
                          "AIDA" + pid()[4:]))
    return roles


class Generator:
    """Builds records one by one from a seeded random stream."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.roles = _roles(self.rng)
        rng = self.rng
        self.buckets = [f"ml-datalake-{n}-{a}" for a in ACCOUNTS for n in
                        ("raw", "curated", "features", "models", "artifacts")]
        # Tens of thousands of distinct objects at most.
        self.keys = [f"datasets/{rng.choice(('images', 'text', 'tabular', 'audio'))}/"
                     f"part-{i // 40:04d}/shard-{i:06d}.parquet" for i in range(2500)]
        self.tables = [f"{n}-table" for n in ("sessions", "features", "embeddings", "jobs",
                                               "users", "prompts", "feedback", "runs")]
        self.item_keys = [f"id#{i:05d}" for i in range(1500)]
        self.secrets = [f"prod/ml/{n}" for n in ("openai-key", "db-password", "hf-token",
                                                  "wandb", "slack-webhook", "vector-db")]
        self.functions = [f"ml-{n}" for n in ("embed", "rerank", "chat", "ingest", "score",
                                              "moderate", "summarize", "classify")]
        self.kms_keys = {a: [f"arn:aws:kms:{{region}}:{a}:key/{uuid.UUID(int=rng.getrandbits(128))}"
                             for _ in range(4)] for a in ACCOUNTS}
        self.sessions: dict[tuple[str, int], tuple[str, str, str]] = {}
        self.endpoints = {a: [f"vpce-{self._rid(17).lower()}" for _ in range(3)] for a in ACCOUNTS}

    def _rid(self, n: int = 16) -> str:
        return "".join(self.rng.choice("0123456789ABCDEF") for _ in range(n))

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _session(self, role: Role, moment: datetime) -> tuple[str, str, str]:
        hour = int(moment.timestamp()) // 3600
        key = (role.name + role.account, hour)
        found = self.sessions.get(key)
        if found is None:
            name = f"{role.name[:12].lower()}-{self._rid(10).lower()}"
            access = "ASIA" + "".join(self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                                      for _ in range(16))
            created = datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            found = (name, access, created)
            if len(self.sessions) > 5000:
                self.sessions.clear()
            self.sessions[key] = found
        return found

    def identity(self, role: Role, moment: datetime, invoked_by: str | None) -> dict:
        """A full-size userIdentity for the role's current session."""
        if role.kind == "IAMUser":
            ident = {
                "type": "IAMUser",
                "principalId": role.principal_id,
                "arn": f"arn:aws:iam::{role.account}:user/{role.name}",
                "accountId": role.account,
                "accessKeyId": "AKIA" + self._rid(16),
                "userName": role.name,
            }
        else:
            session, access, created = self._session(role, moment)
            ident = {
                "type": "AssumedRole",
                "principalId": f"{role.principal_id}:{session}",
                "arn": f"arn:aws:sts::{role.account}:assumed-role/{role.name}/{session}",
                "accountId": role.account,
                "accessKeyId": access,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role.principal_id,
                        "arn": f"arn:aws:iam::{role.account}:role/{role.path}{role.name}",
                        "accountId": role.account,
                        "userName": role.name,
                    },
                    "webIdFederationData": {},
                    "attributes": {"creationDate": created, "mfaAuthenticated": "false"},
                },
            }
        if invoked_by:
            ident["invokedBy"] = invoked_by
        return ident

    def record(self, role: Role, kind: str, moment: datetime, region: str) -> dict:
        """One record of the given kind."""
        rng = self.rng
        acct = role.account
        source, name, params, response, resources, extra = self._call(kind, acct, region, role)
        data_event = kind.startswith(("s3_get", "s3_put", "s3_head", "ddb_", "lambda_invoke"))
        invoked_by = "s3.amazonaws.com" if kind == "kms_decrypt" else None
        host = f"{source.split('.')[0]}.{region}.amazonaws.com"
        record: dict = {
            "eventVersion": "1.10" if data_event else "1.09",
            "userIdentity": self.identity(role, moment, invoked_by),
            "eventTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": invoked_by or f"10.{rng.randrange(256)}.{rng.randrange(256)}."
                                              f"{rng.randrange(1, 255)}",
            "userAgent": invoked_by or rng.choice(USER_AGENTS),
        }
        if kind == "denied":
            record["errorCode"] = "AccessDenied"
            record["errorMessage"] = (
                f"User: {record['userIdentity']['arn']} is not authorized to perform: "
                f"{params.pop('_action')} on resource: {params.pop('_resource')} because no "
                "identity-based policy allows the action"
            )
        record["requestParameters"] = params
        record["responseElements"] = response
        if extra:
            record["additionalEventData"] = extra
        record["requestID"] = self._rid(16) if source == "s3.amazonaws.com" else self._uuid()
        record["eventID"] = self._uuid()
        record["readOnly"] = name.startswith(("Get", "Describe", "List", "Head", "Query",
                                             "Decrypt", "Invoke", "Converse", "BatchGet"))
        if resources:
            record["resources"] = resources
        record["eventType"] = "AwsApiCall"
        record["managementEvent"] = not data_event
        record["recipientAccountId"] = acct
        if data_event and rng.random() < 0.5:
            # An endpoint's id names the endpoint, not the request: a few per account.
            record["vpcEndpointId"] = rng.choice(self.endpoints[acct])
            record["vpcEndpointAccountId"] = acct
        if kind == "kms_decrypt":
            record["sharedEventID"] = self._uuid()
        record["eventCategory"] = "Data" if data_event else "Management"
        if not invoked_by:
            record["tlsDetails"] = {
                "tlsVersion": "TLSv1.3" if rng.random() < 0.7 else "TLSv1.2",
                "cipherSuite": rng.choice(CIPHERS),
                "clientProvidedHostHeader": host,
            }
        return record

    def _call(self, kind: str, acct: str, region: str, role: Role) -> tuple:
        rng = self.rng
        own_buckets = [b for b in self.buckets if b.endswith(acct)]
        if role.name.startswith("DataLakeReader"):
            # A team reads its own two buckets and a slice of the datasets.
            team = int(role.name[-2:])
            bucket_index = rng.choice((team % 5, (team + 1) % 5))
            start = (team * 200) % len(self.keys)
            key = self.keys[(start + rng.randrange(600)) % len(self.keys)]
        else:
            # Other roles read and write the buckets of their job, a window of keys each.
            reads, writes, window = ROLE_BUCKETS.get(role.name.rstrip("0123456789"),
                                                     ((1,), (2,), 300))
            bucket_index = rng.choice(writes if kind == "s3_put" else reads)
            start = sum(map(ord, role.name)) * 37 % len(self.keys)
            key = self.keys[(start + rng.randrange(window)) % len(self.keys)]
        if REGIONS[bucket_index % 2] != region:  # a bucket lives, and logs, in one region
            bucket_index += 1 if bucket_index + 1 < len(own_buckets) else -1
        bucket = own_buckets[bucket_index]
        s3_extra = {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789+/") for _ in range(76)),
            "bytesTransferredOut": rng.randrange(1000, 50_000_000),
        }
        object_resources = [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ]
        s3_params = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", "key": key}
        if kind == "s3_get":
            return "s3.amazonaws.com", "GetObject", s3_params, None, object_resources, s3_extra
        if kind == "s3_head":
            return "s3.amazonaws.com", "HeadObject", s3_params, None, object_resources, s3_extra
        if kind == "s3_put":
            s3_extra["bytesTransferredIn"] = rng.randrange(1000, 5_000_000)
            s3_extra["bytesTransferredOut"] = 0
            params = dict(s3_params, **{"x-amz-server-side-encryption": "aws:kms"})
            response = {"x-amz-server-side-encryption": "aws:kms",
                        "x-amz-server-side-encryption-aws-kms-key-id":
                            self.kms_keys[acct][0].format(region=region)}
            return "s3.amazonaws.com", "PutObject", params, response, object_resources, s3_extra
        if kind == "s3_list":
            params = {"list-type": "2", "bucketName": bucket, "encoding-type": "url",
                      "prefix": key.rsplit("/", 2)[0] + "/", "Host": s3_params["Host"]}
            res = [{"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
            return "s3.amazonaws.com", "ListObjects", params, None, res, s3_extra
        if kind == "kms_decrypt":
            key_arn = self.kms_keys[acct][bucket_index % 4].format(region=region)
            params = {"encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}/{key}"},
                      "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
            res = [{"accountId": acct, "type": "AWS::KMS::Key", "ARN": key_arn}]
            return "kms.amazonaws.com", "Decrypt", params, None, res, None
        if kind in ("bedrock_invoke", "bedrock_converse"):
            model = rng.choice(MODELS)
            name = "InvokeModel" if kind == "bedrock_invoke" else "Converse"
            extra = {"inferenceRegion": region} if model.startswith("us.") else None
            return "bedrock.amazonaws.com", name, {"modelId": model}, None, None, extra
        if kind in ("ddb_get", "ddb_put", "ddb_query"):
            table = rng.choice([t for i, t in enumerate(self.tables)  # tables are regional
                                if REGIONS[i % 2] == region])
            res = [{"accountId": acct, "type": "AWS::DynamoDB::Table",
                    "ARN": f"arn:aws:dynamodb:{region}:{acct}:table/{table}"}]
            if kind == "ddb_query":
                params = {"tableName": table, "keyConditionExpression": "pk = :pk",
                          "limit": 50, "consistentRead": False}
                return "dynamodb.amazonaws.com", "Query", params, None, res, None
            params = {"tableName": table, "key": {"pk": rng.choice(self.item_keys)}}
            name = "GetItem" if kind == "ddb_get" else "PutItem"
            return "dynamodb.amazonaws.com", name, params, None, res, None
        if kind == "secret_get":
            secret = rng.choice(self.secrets)
            return "secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": secret}, None, \
                None, None
        if kind == "logs_stream":
            group = "/aws/sagemaker/TrainingJobs" if rng.random() < 0.5 else \
                f"/aws/lambda/{rng.choice(self.functions)}"
            params = {"logGroupName": group, "logStreamName": f"2026/11/0{rng.randrange(1, 8)}/"
                      f"[$LATEST]{self._rid(32).lower()}"}
            return "logs.amazonaws.com", "CreateLogStream", params, None, None, None
        if kind == "ecr_token":
            return "ecr.amazonaws.com", "GetAuthorizationToken", {"registryIds": [acct]}, None, \
                None, None
        if kind == "ecr_pull":
            params = {"repositoryName": rng.choice(("training/pytorch", "inference/vllm")),
                      "registryId": acct, "acceptedMediaTypes": [
                          "application/vnd.docker.distribution.manifest.v2+json",
                          "application/vnd.oci.image.manifest.v1+json"],
                      "imageIds": [{"imageTag": f"v{rng.randrange(1, 30)}"}]}
            return "ecr.amazonaws.com", "BatchGetImage", params, None, None, None
        if kind == "sm_describe":
            job = f"train-{rng.choice(('llm-ft', 'ranker', 'embedder'))}-{rng.randrange(300):04d}"
            return "sagemaker.amazonaws.com", "DescribeTrainingJob", {"trainingJobName": job}, \
                None, None, None
        if kind == "sm_create_training":
            job = f"train-{rng.choice(('llm-ft', 'ranker', 'embedder'))}-{rng.randrange(300):04d}"
            params = {
                "trainingJobName": job,
                "algorithmSpecification": {
                    "trainingImage": f"{acct}.dkr.ecr.{region}.amazonaws.com/training/pytorch:v3",
                    "trainingInputMode": "File", "enableSageMakerMetricsTimeSeries": False},
                "roleArn": f"arn:aws:iam::{acct}:role/service-role/SageMakerTrainingRole",
                "inputDataConfig": [{"channelName": "train", "dataSource": {"s3DataSource": {
                    "s3DataType": "S3Prefix", "s3Uri": f"s3://ml-datalake-curated-{acct}/train/",
                    "s3DataDistributionType": "FullyReplicated"}}}],
                "outputDataConfig": {"s3OutputPath": f"s3://ml-datalake-models-{acct}/out/"},
                "resourceConfig": {"instanceType": "ml.g5.2xlarge", "instanceCount": 1,
                                   "volumeSizeInGB": 100},
                "stoppingCondition": {"maxRuntimeInSeconds": 86400},
            }
            response = {"trainingJobArn": f"arn:aws:sagemaker:{region}:{acct}:training-job/{job}"}
            return "sagemaker.amazonaws.com", "CreateTrainingJob", params, response, None, None
        if kind == "sm_create_model":
            model = f"ranker-{rng.randrange(50)}"
            params = {"modelName": model,
                      "executionRoleArn": f"arn:aws:iam::{acct}:role/service-role/SageMakerTrainingRole",
                      "primaryContainer": {"image": f"{acct}.dkr.ecr.{region}.amazonaws.com/"
                                                    "inference/vllm:v2"}}
            response = {"modelArn": f"arn:aws:sagemaker:{region}:{acct}:model/{model}"}
            return "sagemaker.amazonaws.com", "CreateModel", params, response, None, None
        if kind == "lambda_invoke":
            fn = f"arn:aws:lambda:{region}:{acct}:function:{rng.choice(self.functions)}"
            res = [{"accountId": acct, "type": "AWS::Lambda::Function", "ARN": fn}]
            return "lambda.amazonaws.com", "Invoke", {"functionName": fn, "invocationType":
                                                      "RequestResponse"}, None, res, \
                {"functionVersion": f"{fn}:$LATEST"}
        if kind == "lambda_update":
            fn = rng.choice(self.functions)
            params = {"functionName": fn, "s3Bucket": f"ml-datalake-artifacts-{acct}",
                      "s3Key": f"lambda/{fn}.zip", "publish": True}
            return "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", params, \
                {"functionName": fn, "functionArn":
                 f"arn:aws:lambda:{region}:{acct}:function:{fn}"}, None, None
        if kind == "sts_assume":
            role = f"arn:aws:iam::{acct}:role/DeployTargetRole"
            params = {"roleArn": role, "roleSessionName": f"deploy-{self._rid(8).lower()}",
                      "durationSeconds": 3600}
            response = {"credentials": {"accessKeyId": "ASIA" + self._rid(16),
                                        "sessionToken": self._rid(200),
                                        "expiration": "Nov 1, 2026, 1:00:00 PM"},
                        "assumedRoleUser": {"assumedRoleId": "AROA" + self._rid(17),
                                            "arn": f"arn:aws:sts::{acct}:assumed-role/"
                                                   "DeployTargetRole/deploy"}}
            return "sts.amazonaws.com", "AssumeRole", params, response, \
                [{"accountId": acct, "type": "AWS::IAM::Role", "ARN": role}], None
        if kind == "iam_get_role":
            return "iam.amazonaws.com", "GetRole", {"roleName": "SageMakerTrainingRole"}, None, \
                None, None
        if kind == "caller_id":
            return "sts.amazonaws.com", "GetCallerIdentity", None, None, None, None
        if kind == "denied":
            target = f"arn:aws:iam::{acct}:role/OrganizationAccountAccessRole"
            return "iam.amazonaws.com", "PutRolePolicy", {
                "roleName": "OrganizationAccountAccessRole", "policyName": "escalate",
                "_action": "iam:PutRolePolicy", "_resource": target}, None, None, None
        raise ValueError(kind)

    def service_record(self, moment: datetime, region: str, acct: str) -> dict:
        """A call AWS made itself (belongs to nobody)."""
        return {
            "eventVersion": "1.09",
            "userIdentity": {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"},
            "eventTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRole",
            "awsRegion": region,
            "sourceIPAddress": "sagemaker.amazonaws.com",
            "userAgent": "sagemaker.amazonaws.com",
            "requestParameters": {
                "roleArn": f"arn:aws:iam::{acct}:role/service-role/SageMakerTrainingRole",
                "roleSessionName": f"SageMaker-{self._rid(12)}"},
            "responseElements": {"credentials": {"accessKeyId": "ASIA" + self._rid(16),
                                                 "sessionToken": self._rid(180),
                                                 "expiration": "Nov 1, 2026, 1:00:00 PM"}},
            "requestID": self._uuid(),
            "eventID": self._uuid(),
            "readOnly": True,
            "resources": [{"accountId": acct, "type": "AWS::IAM::Role",
                           "ARN": f"arn:aws:iam::{acct}:role/service-role/SageMakerTrainingRole"}],
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": acct,
            "sharedEventID": self._uuid(),
            "eventCategory": "Management",
        }


def plan_files(events: int, rng: random.Random, days: int = DAYS
               ) -> list[tuple[str, str, datetime, int]]:
    """(account, region, delivery time, record count) per file, summing to ``events``
    over ``days`` days."""
    sizes = []
    left = events
    while left > 0:
        size = min(left, rng.randrange(*RECORDS_PER_FILE))
        sizes.append(size)
        left -= size
    slots = [(a, r) for a in ACCOUNTS for r in REGIONS]
    span = days * 86400
    plan = []
    for i, size in enumerate(sizes):
        account, region = slots[i % len(slots)]
        moment = START + timedelta(seconds=(i * span) // max(1, len(sizes)))
        plan.append((account, region, moment, size))
    return plan


def generate(events: int, out: Path, seed: int = SEED, days: int = DAYS) -> int:
    """Write the trail (``days`` days from START) under ``out``; return the number of files."""
    gen = Generator(seed)
    rng = gen.rng
    plan = plan_files(events, rng, days)
    by_account = {a: [r for r in gen.roles if r.account == a] for a in ACCOUNTS}
    weights = {a: [1 + 5 * (i % 7 == 0) + 2 * (i % 3 == 0) for i, _ in enumerate(by_account[a])]
               for a in ACCOUNTS}
    step = (days * 86400) / max(1, len(plan))
    for account, region, moment, size in plan:
        records = []
        for j in range(size):
            at = moment - timedelta(seconds=step) + timedelta(seconds=(j * step) / size)
            if rng.random() < 0.02:
                records.append(gen.service_record(at, region, account))
                continue
            role = rng.choices(by_account[account], weights[account])[0]
            kinds, kind_weights = zip(*role.mix, strict=True)
            kind = rng.choices(kinds, kind_weights)[0]
            records.append(gen.record(role, kind, at, region))
        stamp = moment.strftime("%Y%m%dT%H%MZ")
        folder = out / "AWSLogs" / account / "CloudTrail" / region / moment.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{account}_CloudTrail_{region}_{stamp}_{gen._rid(16)}.json.gz"
        body = json.dumps({"Records": records}, separators=(",", ":")).encode()
        (folder / name).write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
    return len(plan)


def main(argv: list[str] | None = None) -> int:
    """Command line: --events N --out DIR (skips work when DIR already holds that trail)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--days", type=int, default=DAYS, help=f"days of trail (default {DAYS})")
    args = parser.parse_args(argv)
    stamp = args.out / ".complete"
    wanted = f"{GENERATOR_VERSION} {args.events} {args.seed}" + (
        f" {args.days} days" if args.days != DAYS else "")
    if stamp.is_file() and stamp.read_text() == wanted:
        return 0
    if args.out.exists():
        import shutil

        shutil.rmtree(args.out)
    files = generate(args.events, args.out, args.seed, args.days)
    stamp.write_text(wanted)
    print(f"wrote {args.events} events in {files} files under {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
