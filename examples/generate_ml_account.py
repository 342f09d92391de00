#!/usr/bin/env python3
"""Write the bundled example account: an AI/ML team's CloudTrail and current grants.

Account 111122223333, seven days (2026-11-02 .. 2026-11-08), two regions (us-east-1,
us-west-2). The output is laid out as CloudTrail delivers it to S3 and as the IAM CLI
prints it:

    ml-account/trail/AWSLogs/111122223333/CloudTrail/<region>/YYYY/MM/DD/
        111122223333_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16 chars>.json.gz
    ml-account/trail/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/...   (one digest)
    ml-account/grants/account-authorization-details.json

Everything is derived from one seeded ``random.Random``; nothing reads the clock. gzip
members carry mtime 0 and no file name, so two runs write byte-identical trees.

Usage: python examples/generate_ml_account.py [--output-dir DIR] [--force]

Record shapes follow the CloudTrail user guide ("CloudTrail record contents",
"userIdentity element", "digest file structure") and each service's "Logging ... with
AWS CloudTrail" page. Deliberate gaps, as in a real trail: CloudWatch Logs
PutLogEvents is not logged by CloudTrail, iam:PassRole never appears, SageMaker
InvokeEndpoint is not logged.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import random
import shutil
import string
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

SEED = 20261102
ACCOUNT = "111122223333"
EAST = "us-east-1"
WEST = "us-west-2"
FIRST_DAY = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 7
TRAIL_NAME = "management-and-data"
TRAIL_BUCKET = f"aws-cloudtrail-logs-{ACCOUNT}-5e1f7a3c"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "ml-account"

# Buckets, keys and resource names used by the workloads.
DATASETS = f"ml-datasets-{ACCOUNT}"
ARTIFACTS = f"ml-artifacts-{ACCOUNT}-us-east-1"
PIPELINE_SOURCE = f"ml-pipeline-source-{ACCOUNT}"
ATHENA_RESULTS = f"athena-query-results-{ACCOUNT}-us-east-1"
TRAIN_PREFIX = "churn/features/v3/train/"
VALIDATION_PREFIX = "churn/features/v3/validation/"
TRAIN_OBJECTS = 48
VALIDATION_OBJECTS = 8
TRAINING_REPO = "ml-training/churn-xgboost"
SERVING_REPO = "ml-serving/churn-api"
ENDPOINT = "churn-prod"
CHAT_FUNCTION = "chat-assistant"
SUMMARIZER_FUNCTION = "chat-assistant-summarizer"
CHAT_TABLE = "chat-sessions"
CHAT_INDEX = "user-id-index"
SECRET_NAME = "prod/chat-assistant/api-keys"
DENIED_SECRET = "prod/payments/stripe-api-key"
MISSING_SECRET = "prod/chat-assistant/feature-flags"
GLUE_DATABASE = "ml_curated"
MODEL_PACKAGE_GROUP = "churn-models"

# The AI security evidence (a person with MFA, a role behind a VPC endpoint, a guardrail,
# one logging change): its own random source and its own log files, so every record and
# file of the rest of the account stays as it was.
SECURITY_SEED = SEED + 1
SCORES = f"ml-batch-scores-{ACCOUNT}"
SCORING_VPCE = "vpce-0c4f2a9e71b3d5a68"
GUARDRAIL_ID = "q8w3e7r1t5y9"
GUARDRAIL_VERSION = "3"
GUARDRAIL_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/{GUARDRAIL_ID}"
RESEARCHER_IP = "198.51.100.77"
INVOCATION_LOGS = f"bedrock-invocation-logs-{ACCOUNT}"

CONVERSE_MODEL = {EAST: "anthropic.claude-3-5-haiku-20241022-v1:0",
                  WEST: "anthropic.claude-3-haiku-20240307-v1:0"}
EMBED_MODEL = "amazon.titan-embed-text-v2:0"
PROFILE_MODEL = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
PROFILE_DESTINATIONS = ("us-east-1", "us-east-2", "us-west-2")

UPPER_DIGITS = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits
LOWER_DIGITS = string.ascii_lowercase + string.digits

LAMBDA_SDK = ("Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 "
              "md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython "
              "exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.35.36")
LAMBDA_LOG_WORKER = "awslambda-worker/1.0 rusoto/0.48.0 rust/1.80.1 linux"
SAGEMAKER_PLATFORM = ("aws-sdk-java/1.12.770 Linux/5.10.227-219.884.amzn2.x86_64 "
                      "OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS java/17.0.12 vendor/Amazon.com_Inc. "
                      "cfg/retry-mode/standard")
TRAINING_SCRIPT = ("Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 "
                   "os/linux#5.10.227-219.884.amzn2.x86_64 "
                   "md/arch#x86_64 lang/python#3.10.14 md/pyimpl#CPython cfg/retry-mode#legacy "
                   "Botocore/1.34.131")
DOCKER = ("docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/5.10.228-219.884.amzn2.x86_64 "
          "os/linux arch/amd64 UpstreamClient(Docker-Client/27.3.1 \\(linux\\))")
GLUE_INTERNAL = ("aws-internal/3 aws-sdk-java/1.12.771 Linux/5.10.227 "
                 "OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS")
BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/18.1 Safari/605.1.15")
ANALYST_IP = "203.0.113.42"


def aws_cli(command: str, os_tag: str = "linux#5.10.228-219.884.amzn2.x86_64",
            arch: str = "x86_64", extra: str = "exec-env/AWS_ECS_EC2 ") -> str:
    """An AWS CLI v2 user agent naming the command it ran, as CloudTrail records it."""
    return (f"aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/{os_tag} md/arch#{arch} "
            f"lang/python#3.12.6 md/pyimpl#CPython {extra}cfg/retry-mode#standard "
            f"md/installer#exe md/prompt#off md/command#{command}")


def analyst_cli(command: str) -> str:
    """The analyst's laptop CLI user agent."""
    return aws_cli(command, os_tag="macos#24.1.0", arch="arm64", extra="")


# --------------------------------------------------------------------------- identities


@dataclass(frozen=True)
class Principal:
    """An IAM role or user of the account: its name, path and ARN."""

    kind: ClassVar[str]
    name: str
    path: str

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:{self.kind}{self.path}{self.name}"


@dataclass(frozen=True)
class Role(Principal):
    """An IAM role of the account."""

    kind = "role"
    role_id: str


@dataclass(frozen=True)
class User(Principal):
    """An IAM user of the account, with its long-term access key."""

    kind = "user"
    user_id: str
    access_key: str


@dataclass(frozen=True)
class Session:
    """One assumed-role session: who, since when, from where, with which client."""

    role: Role
    name: str
    access_key: str
    created: datetime
    source_ip: str
    user_agent: str

    def identity(self, invoked_by: str | None = None) -> dict[str, Any]:
        """The userIdentity block of a call made with this session."""
        block: dict[str, Any] = {
            "type": "AssumedRole",
            "principalId": f"{self.role.role_id}:{self.name}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.role.name}/{self.name}",
            "accountId": ACCOUNT,
            "accessKeyId": self.access_key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": self.role.role_id,
                    "arn": self.role.arn,
                    "accountId": ACCOUNT,
                    "userName": self.role.name,
                },
                "attributes": {
                    "creationDate": stamp(self.created),
                    "mfaAuthenticated": "false",
                },
            },
        }
        if invoked_by:
            block["invokedBy"] = invoked_by
        return block


def user_identity(user: User, *, console: bool = False, access_key: str | None = None,
                  invoked_by: str | None = None, since: datetime | None = None) -> dict[str, Any]:
    """The userIdentity block of an IAM user's call (CLI key or console session)."""
    block: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": user.user_id,
        "arn": user.arn,
        "accountId": ACCOUNT,
        "accessKeyId": access_key or user.access_key,
        "userName": user.name,
    }
    if console and since is not None:
        block["sessionContext"] = {
            "attributes": {"creationDate": stamp(since), "mfaAuthenticated": "true"}
        }
    if invoked_by:
        block["invokedBy"] = invoked_by
    return block


def service_identity(service: str) -> dict[str, Any]:
    """The userIdentity block of a call an AWS service made with its own credentials."""
    return {"type": "AWSService", "invokedBy": service}


def stamp(when: datetime) -> str:
    """CloudTrail's eventTime format."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def sts_expiration(when: datetime) -> str:
    """The human-readable expiration STS puts in AssumeRole responseElements."""
    hour = when.hour % 12 or 12
    half = "AM" if when.hour < 12 else "PM"
    return f"{when:%b} {when.day}, {when.year}, {hour}:{when:%M:%S} {half}"


# --------------------------------------------------------------------------- the generator


@dataclass
class Account:
    """Accumulates CloudTrail records for the account from one seeded random source."""

    rng: random.Random
    records: list[dict[str, Any]] = field(default_factory=list)
    roles: dict[str, Role] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    kms_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    secret_suffix: str = ""
    broken_file: str = ""

    # ---- random identifiers -------------------------------------------------------------

    def chars(self, count: int, alphabet: str = UPPER_DIGITS) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(count))

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, count: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(count))

    def temp_key(self) -> str:
        return "ASIA" + self.chars(16)

    def token(self) -> str:
        raw = bytes(self.rng.getrandbits(8) for _ in range(72))
        return "IQoJb3JpZ2luX2VjE" + base64.b64encode(raw).decode()

    def amz_id2(self) -> str:
        raw = bytes(self.rng.getrandbits(8) for _ in range(57))
        return base64.b64encode(raw).decode()

    def aws_ip(self) -> str:
        first = self.rng.choice((3, 18, 34, 44, 52, 54))
        second = self.rng.randint(200, 239)
        third = self.rng.randint(0, 255)
        return f"{first}.{second}.{third}.{self.rng.randint(1, 254)}"

    def sha256(self) -> str:
        return "sha256:" + self.hex(64)

    def jitter(self, when: datetime, low: int, high: int) -> datetime:
        """``when`` plus a random number of seconds in [low, high]."""
        return when + timedelta(seconds=self.rng.randint(low, high))

    # ---- set-up ------------------------------------------------------------------------

    def setup(self) -> None:
        """Create the principals and keys every scenario refers to."""
        def role(name: str, path: str) -> Role:
            return Role(name=name, path=path, role_id="AROA" + self.chars(17))

        self.roles = {
            "sagemaker": role("AmazonSageMaker-ExecutionRole-20261014T093512", "/service-role/"),
            "chat": role("chat-assistant-role-q3v8k2lw", "/service-role/"),
            "pipeline": role("ml-deploy-pipeline", "/ci/"),
            "publisher": role("ml-model-registry-publisher", "/"),
            "glue": role("AWSGlueServiceRole-curated-datasets", "/service-role/"),
        }
        self.users = {
            "analyst": User(name="dana.okafor", path="/people/", user_id="AIDA" + self.chars(17),
                            access_key="AKIA" + self.chars(16)),
        }
        self.kms_keys = {
            (EAST, "datasets"): self.uuid(),
            (EAST, "artifacts"): self.uuid(),
        }
        secrets_key = "mrk-" + self.hex(32)
        self.kms_keys[(EAST, "secrets")] = secrets_key
        self.kms_keys[(WEST, "secrets")] = secrets_key
        self.secret_suffix = self.chars(6, ALNUM)

    def key_arn(self, region: str, purpose: str) -> str:
        return f"arn:aws:kms:{region}:{ACCOUNT}:key/{self.kms_keys[(region, purpose)]}"

    def secret_arn(self, region: str) -> str:
        return (f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:"
                f"{SECRET_NAME}-{self.secret_suffix}")

    # ---- one record ------------------------------------------------------------------------

    def emit(self, *, when: datetime, region: str, source: str, name: str,
             identity: dict[str, Any], source_ip: str, user_agent: str,
             request: dict[str, Any] | None = None, response: dict[str, Any] | None = None,
             read_only: bool, data: bool = False, resources: list[dict[str, Any]] | None = None,
             error: tuple[str, str] | None = None, additional: dict[str, Any] | None = None,
             host: str | None = None, request_id: str | None = None, version: str = "1.10",
             api_version: str | None = None, event_type: str = "AwsApiCall",
             shared_event: bool = False, service_details: dict[str, Any] | None = None,
             vpce: str | None = None) -> dict[str, Any]:
        """Append one CloudTrail record (keys in the order CloudTrail writes them)."""
        record: dict[str, Any] = {
            "eventVersion": version,
            "userIdentity": identity,
            "eventTime": stamp(when),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": source_ip,
            "userAgent": user_agent,
        }
        if error:
            record["errorCode"], record["errorMessage"] = error
        record["requestParameters"] = request
        record["responseElements"] = None if error else response
        if additional is not None:
            record["additionalEventData"] = additional
        if event_type != "AwsServiceEvent" or request_id:
            record["requestID"] = request_id or self.uuid()
        record["eventID"] = self.uuid()
        record["readOnly"] = read_only
        if resources:
            record["resources"] = resources
        record["eventType"] = event_type
        if api_version:
            record["apiVersion"] = api_version
        record["managementEvent"] = not data
        record["recipientAccountId"] = ACCOUNT
        if vpce:
            record["vpcEndpointId"] = vpce
            record["vpcEndpointAccountId"] = ACCOUNT
        if shared_event:
            record["sharedEventID"] = self.uuid()
        if service_details is not None:
            record["serviceEventDetails"] = service_details
        record["eventCategory"] = "Data" if data else "Management"
        if host:
            record["tlsDetails"] = {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": host,
            }
        self.records.append(record)
        return record

    # ---- service call helpers ---------------------------------------------------------------

    def service_session(self, when: datetime, region: str, service: str, role: Role,
                        session_name: str, *, source_ip: str | Callable[[], str],
                        user_agent: str) -> Session:
        """An AWS service assuming a role for a workload (the AssumeRole belongs to no
        principal), and the session the workload's calls carry. ``source_ip``: the session's
        address, or how to draw one once the AssumeRole is written."""
        access_key = self.temp_key()
        self.emit(
            when=when, region=region, source="sts.amazonaws.com", name="AssumeRole",
            identity=service_identity(service), source_ip=service, user_agent=service,
            request={"roleArn": role.arn, "roleSessionName": session_name},
            response={
                "credentials": {
                    "accessKeyId": access_key,
                    "sessionToken": self.token(),
                    "expiration": sts_expiration(when + timedelta(hours=1)),
                },
                "assumedRoleUser": {
                    "assumedRoleId": f"{role.role_id}:{session_name}",
                    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.name}/{session_name}",
                },
            },
            read_only=True,
            resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role.arn}],
            shared_event=True, version="1.08",
        )
        return Session(role=role, name=session_name, access_key=access_key, created=when,
                       source_ip=source_ip if isinstance(source_ip, str) else source_ip(),
                       user_agent=user_agent)

    def sagemaker_session(self, start: datetime) -> Session:
        """SageMaker assuming the execution role for a training job's or an endpoint's hosts."""
        return self.service_session(start, EAST, "sagemaker.amazonaws.com",
                                    self.roles["sagemaker"], "SageMaker",
                                    source_ip="sagemaker.amazonaws.com",
                                    user_agent=SAGEMAKER_PLATFORM)

    def s3(self, when: datetime, region: str, name: str, identity: dict[str, Any], *,
           source_ip: str, user_agent: str, bucket: str, key: str | None = None,
           request_extra: dict[str, Any] | None = None, response: dict[str, Any] | None = None,
           read_only: bool, bytes_in: int = 0, bytes_out: int = 0, sse: str | None = None,
           error: tuple[str, str] | None = None, prefix: str | None = None,
           via_service: bool = False, vpce: str | None = None) -> None:
        """An S3 data event (object-level call, or ListObjects on a prefix)."""
        host = f"{bucket}.s3.{region}.amazonaws.com"
        request: dict[str, Any] = {"bucketName": bucket, "Host": host}
        if key is not None:
            request["key"] = key
        if request_extra:
            request.update(request_extra)
        resources: list[dict[str, Any]] = []
        if key is not None:
            resources.append({"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
        elif prefix is not None:
            resources.append({"type": "AWS::S3::Object",
                              "ARNPrefix": f"arn:aws:s3:::{bucket}/{prefix}"})
        resources.append({"accountId": ACCOUNT, "type": "AWS::S3::Bucket",
                          "ARN": f"arn:aws:s3:::{bucket}"})
        additional: dict[str, Any] = {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": bytes_in,
        }
        if sse:
            additional["SSEApplied"] = sse
        additional["AuthenticationMethod"] = "AuthHeader"
        additional["x-amz-id-2"] = self.amz_id2()
        additional["bytesTransferredOut"] = bytes_out
        self.emit(
            when=when, region=region, source="s3.amazonaws.com", name=name, identity=identity,
            source_ip=source_ip, user_agent=user_agent, request=request, response=response,
            read_only=read_only, data=True, resources=resources, error=error,
            additional=additional, host=None if via_service else host,
            request_id=self.chars(16), version="1.10", vpce=vpce,
        )

    def kms_via(self, when: datetime, region: str, session_identity: dict[str, Any],
                service: str, name: str, key_arn: str, context: dict[str, str]) -> None:
        """KMS Decrypt / GenerateDataKey made by a service for the caller (forward access)."""
        request: dict[str, Any]
        if name == "Decrypt":
            request = {"encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        else:
            request = {"keyId": key_arn, "encryptionContext": context, "keySpec": "AES_256"}
        self.emit(
            when=when, region=region, source="kms.amazonaws.com", name=name,
            identity=session_identity, source_ip=service, user_agent=service,
            request=request, response=None, read_only=True,
            resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key_arn}],
        )

    def ecr_pull(self, when: datetime, region: str, session: Session, repo: str, layers: int,
                 invoked_by: str) -> datetime:
        """An image pull: token, manifest, one download URL per layer."""
        identity = session.identity(invoked_by=invoked_by)
        repo_arn = f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repo}"
        self.emit(when=when, region=region, source="ecr.amazonaws.com",
                  name="GetAuthorizationToken", identity=identity, source_ip=invoked_by,
                  user_agent=invoked_by, request={"registryIds": [ACCOUNT]}, response=None,
                  read_only=True, version="1.09")
        when = self.jitter(when, 1, 3)
        self.emit(when=when, region=region, source="ecr.amazonaws.com", name="BatchGetImage",
                  identity=identity, source_ip=invoked_by, user_agent=invoked_by,
                  request={"imageIds": [{"imageTag": "latest"}],
                           "acceptedMediaTypes": [
                               "application/vnd.docker.distribution.manifest.v2+json",
                               "application/vnd.oci.image.manifest.v1+json"],
                           "repositoryName": repo, "registryId": ACCOUNT},
                  response=None, read_only=True,
                  resources=[{"accountId": ACCOUNT, "ARN": repo_arn}], version="1.09")
        for _ in range(layers):
            when = self.jitter(when, 0, 2)
            self.emit(when=when, region=region, source="ecr.amazonaws.com",
                      name="GetDownloadUrlForLayer", identity=identity, source_ip=invoked_by,
                      user_agent=invoked_by,
                      request={"registryId": ACCOUNT, "repositoryName": repo,
                               "layerDigest": self.sha256()},
                      response=None, read_only=True,
                      resources=[{"accountId": ACCOUNT, "ARN": repo_arn}], version="1.09")
        return when

    def create_log_stream(self, when: datetime, region: str, identity: dict[str, Any],
                          source_ip: str, user_agent: str, group: str, stream: str) -> None:
        self.emit(when=when, region=region, source="logs.amazonaws.com", name="CreateLogStream",
                  identity=identity, source_ip=source_ip, user_agent=user_agent,
                  request={"logGroupName": group, "logStreamName": stream}, response=None,
                  read_only=False, api_version="20140328", host=f"logs.{region}.amazonaws.com")

    def sagemaker_call(self, when: datetime, session: Session, name: str,
                       request: dict[str, Any], response: dict[str, Any] | None, *,
                       read_only: bool, command: str,
                       error: tuple[str, str] | None = None) -> None:
        self.emit(when=when, region=EAST, source="sagemaker.amazonaws.com", name=name,
                  identity=session.identity(), source_ip=session.source_ip,
                  user_agent=aws_cli(command), request=request, response=response,
                  read_only=read_only, error=error,
                  host=f"api.sagemaker.{EAST}.amazonaws.com")

    # ---- scenario: the deployment pipeline and the training it starts ---------------------

    def pipeline_run(self, day: int) -> None:
        """One CodeBuild run of the ML deployment pipeline, and the SageMaker work it starts."""
        date = FIRST_DAY + timedelta(days=day)
        pipeline = self.roles["pipeline"]
        start = self.jitter(date.replace(hour=9, minute=5), 0, 1200)
        build = self.uuid()
        session = self.service_session(start, EAST, "codebuild.amazonaws.com", pipeline,
                                       f"AWSCodeBuild-{build}", source_ip=self.aws_ip,
                                       user_agent="")
        ident = session.identity()
        now = self.jitter(start, 20, 40)
        self.emit(when=now, region=EAST, source="sts.amazonaws.com", name="GetCallerIdentity",
                  identity=ident, source_ip=session.source_ip,
                  user_agent=aws_cli("sts.get-caller-identity"), read_only=True,
                  host=f"sts.{EAST}.amazonaws.com")
        now = self.jitter(now, 5, 20)
        source_key = f"churn-pipeline/{date:%Y%m%d}/source.zip"
        self.s3(now, EAST, "GetObject", ident, source_ip=session.source_ip,
                user_agent=aws_cli("s3.cp"), bucket=PIPELINE_SOURCE, key=source_key,
                read_only=True, bytes_out=self.rng.randint(180_000, 260_000), sse="Default_SSE_S3")
        if day == 3:
            now = self.jitter(now, 2, 6)
            self.s3(now, EAST, "GetObject", ident, source_ip=session.source_ip,
                    user_agent=aws_cli("s3.cp"), bucket=ARTIFACTS,
                    key="pipelines/churn/latest/metrics.json", read_only=True,
                    error=("NoSuchKey", "The specified key does not exist."))

        # Container images: training image on days 0 and 3, serving image on days 0, 2, 5.
        if day in (0, 3):
            now = self.ecr_push(self.jitter(now, 30, 90), session, TRAINING_REPO, build)
        if day in (0, 2, 5):
            now = self.ecr_push(self.jitter(now, 30, 90), session, SERVING_REPO, build)

        # Source bundle for the training job.
        now = self.jitter(now, 10, 30)
        code_key = f"pipelines/churn/{build[:8]}/sourcedir.tar.gz"
        self.put_artifact(now, ident, session.source_ip, aws_cli("s3.cp"), code_key)

        # Start training with the SageMaker execution role.
        now = self.jitter(now, 10, 30)
        job = f"churn-xgb-{now:%Y-%m-%d-%H-%M-%S}"
        sm_role = self.roles["sagemaker"]
        self.sagemaker_call(now, session, "CreateTrainingJob", {
            "trainingJobName": job,
            "hyperParameters": {"max_depth": "6", "eta": "0.2", "num_round": "200",
                                "objective": "binary:logistic"},
            "algorithmSpecification": {
                "trainingImage": f"{ACCOUNT}.dkr.ecr.{EAST}.amazonaws.com/{TRAINING_REPO}:latest",
                "trainingInputMode": "File",
                "enableSageMakerMetricsTimeSeries": True,
            },
            "roleArn": sm_role.arn,
            "inputDataConfig": [
                {"channelName": "train", "dataSource": {"s3DataSource": {
                    "s3DataType": "S3Prefix", "s3Uri": f"s3://{DATASETS}/{TRAIN_PREFIX}",
                    "s3DataDistributionType": "FullyReplicated"}},
                 "contentType": "application/x-parquet"},
                {"channelName": "validation", "dataSource": {"s3DataSource": {
                    "s3DataType": "S3Prefix", "s3Uri": f"s3://{DATASETS}/{VALIDATION_PREFIX}",
                    "s3DataDistributionType": "FullyReplicated"}},
                 "contentType": "application/x-parquet"},
            ],
            "outputDataConfig": {"kmsKeyId": self.key_arn(EAST, "artifacts"),
                                 "s3OutputPath": f"s3://{ARTIFACTS}/training-output/"},
            "resourceConfig": {"instanceType": "ml.m5.2xlarge", "instanceCount": 1,
                               "volumeSizeInGB": 50},
            "stoppingCondition": {"maxRuntimeInSeconds": 7200},
            "enableNetworkIsolation": False,
            "enableInterContainerTrafficEncryption": False,
            "enableManagedSpotTraining": False,
        }, {"trainingJobArn": f"arn:aws:sagemaker:{EAST}:{ACCOUNT}:training-job/{job}"},
            read_only=False, command="sagemaker.create-training-job")

        finished = self.training_job(self.jitter(now, 60, 150), job, day)

        # Poll until the job is done.
        poll = now
        while poll < finished:
            poll = self.jitter(poll, 240, 360)
            self.sagemaker_call(poll, session, "DescribeTrainingJob",
                                {"trainingJobName": job}, None, read_only=True,
                                command="sagemaker.describe-training-job")

        # Register the model through the publisher role.
        now = self.jitter(poll, 10, 30)
        now = self.register_model(now, session, job, build)

        # Model, endpoint configuration, endpoint.
        now = self.jitter(now, 10, 30)
        model = f"churn-xgb-{now:%Y-%m-%d-%H-%M-%S}"
        model_data = f"s3://{ARTIFACTS}/training-output/{job}/output/model.tar.gz"
        self.sagemaker_call(now, session, "CreateModel", {
            "modelName": model,
            "primaryContainer": {
                "image": f"{ACCOUNT}.dkr.ecr.{EAST}.amazonaws.com/{SERVING_REPO}:latest",
                "mode": "SingleModel",
                "modelDataUrl": model_data,
                "environment": {"SAGEMAKER_PROGRAM": "serve.py"},
            },
            "executionRoleArn": sm_role.arn,
            "enableNetworkIsolation": False,
        }, {"modelArn": f"arn:aws:sagemaker:{EAST}:{ACCOUNT}:model/{model}"},
            read_only=False, command="sagemaker.create-model")
        now = self.jitter(now, 5, 15)
        config = f"ChurnEndpointConfig-{now:%Y%m%d-%H%M%S}"
        config_request = {
            "endpointConfigName": config,
            "productionVariants": [{
                "variantName": "AllTraffic", "modelName": model, "initialInstanceCount": 1,
                "instanceType": "ml.c5.xlarge", "initialVariantWeight": 1.0,
            }],
            "kmsKeyId": self.key_arn(EAST, "artifacts"),
        }
        if day == 2:
            # The first attempt raced the model creation.
            self.sagemaker_call(now, session, "CreateEndpointConfig", config_request, None,
                                read_only=False, command="sagemaker.create-endpoint-config",
                                error=("ValidationException",
                                       (f"Could not find model \"arn:aws:sagemaker:{EAST}:"
                                        f"{ACCOUNT}:model/{model}\".")))
            now = self.jitter(now, 20, 40)
        self.sagemaker_call(now, session, "CreateEndpointConfig", config_request, {
            "endpointConfigArn":
                f"arn:aws:sagemaker:{EAST}:{ACCOUNT}:endpoint-config/{config.lower()}"},
            read_only=False, command="sagemaker.create-endpoint-config")
        now = self.jitter(now, 5, 15)
        endpoint_arn = f"arn:aws:sagemaker:{EAST}:{ACCOUNT}:endpoint/{ENDPOINT}"
        if day == 0:
            self.sagemaker_call(now, session, "CreateEndpoint",
                                {"endpointName": ENDPOINT, "endpointConfigName": config},
                                {"endpointArn": endpoint_arn}, read_only=False,
                                command="sagemaker.create-endpoint")
        else:
            self.sagemaker_call(now, session, "UpdateEndpoint",
                                {"endpointName": ENDPOINT, "endpointConfigName": config,
                                 "retainAllVariantProperties": False},
                                {"endpointArn": endpoint_arn}, read_only=False,
                                command="sagemaker.update-endpoint")
        self.endpoint_rollout(self.jitter(now, 90, 180), job)
        for _ in range(3):
            now = self.jitter(now, 120, 200)
            self.sagemaker_call(now, session, "DescribeEndpoint", {"endpointName": ENDPOINT},
                                None, read_only=True, command="sagemaker.describe-endpoint")
        if day == 4:
            now = self.jitter(now, 20, 60)
            self.sagemaker_call(now, session, "DeleteEndpoint", {"endpointName": "churn-staging"},
                                None, read_only=False, command="sagemaker.delete-endpoint",
                                error=("AccessDenied",
                                       (f"User: {ident['arn']} is not authorized to perform: "
                                        "sagemaker:DeleteEndpoint on resource: arn:aws:sagemaker:"
                                        f"{EAST}:{ACCOUNT}:endpoint/churn-staging because no "
                                        "permissions boundary allows the sagemaker:DeleteEndpoint "
                                        "action")))

        # The chat Lambda functions ship from the same pipeline.
        if day in (1, 4):
            now = self.jitter(now, 30, 90)
            bundle = f"lambda/{CHAT_FUNCTION}/{build[:8]}.zip"
            self.put_artifact(now, ident, session.source_ip, aws_cli("s3.cp"), bundle)
            for region in (EAST, WEST):
                now = self.jitter(now, 10, 30)
                self.lambda_update_code(now, region, session, CHAT_FUNCTION, bundle)
                now = self.jitter(now, 5, 15)
                self.lambda_publish_version(now, region, session, CHAT_FUNCTION)
        if day == 2:
            now = self.jitter(now, 30, 90)
            bundle = f"lambda/{SUMMARIZER_FUNCTION}/{build[:8]}.zip"
            self.put_artifact(now, ident, session.source_ip, aws_cli("s3.cp"), bundle)
            now = self.jitter(now, 10, 30)
            self.lambda_create_function(now, session, bundle)

    def put_artifact(self, when: datetime, identity: dict[str, Any], source_ip: str,
                     user_agent: str, key: str) -> None:
        """PutObject into the SSE-KMS artifacts bucket, with S3's GenerateDataKey for the caller."""
        key_arn = self.key_arn(EAST, "artifacts")
        self.kms_via(when, EAST, identity | {"invokedBy": "s3.amazonaws.com"},
                     "s3.amazonaws.com", "GenerateDataKey", key_arn,
                     {"aws:s3:arn": f"arn:aws:s3:::{ARTIFACTS}"})
        self.s3(when, EAST, "PutObject", identity, source_ip=source_ip, user_agent=user_agent,
                bucket=ARTIFACTS, key=key, read_only=False,
                bytes_in=self.rng.randint(20_000, 4_000_000), sse="SSE_KMS",
                request_extra={"x-amz-server-side-encryption": "aws:kms"},
                response={"x-amz-server-side-encryption-aws-kms-key-id": key_arn,
                          "x-amz-server-side-encryption": "aws:kms",
                          "x-amz-server-side-encryption-bucket-key-enabled": "true"})

    def ecr_push(self, when: datetime, session: Session, repo: str, build: str) -> datetime:
        """docker push of a new image tag to a private repository."""
        ident = session.identity()
        repo_arn = f"arn:aws:ecr:{EAST}:{ACCOUNT}:repository/{repo}"
        host = f"api.ecr.{EAST}.amazonaws.com"
        resources = [{"accountId": ACCOUNT, "ARN": repo_arn}]
        self.emit(when=when, region=EAST, source="ecr.amazonaws.com",
                  name="GetAuthorizationToken", identity=ident, source_ip=session.source_ip,
                  user_agent=aws_cli("ecr.get-login-password"), request={}, response=None,
                  read_only=True, host=host, version="1.09")
        layers = [self.sha256() for _ in range(3)]
        when = self.jitter(when, 2, 5)
        self.emit(when=when, region=EAST, source="ecr.amazonaws.com",
                  name="BatchCheckLayerAvailability", identity=ident,
                  source_ip=session.source_ip, user_agent=DOCKER,
                  request={"registryId": ACCOUNT, "repositoryName": repo, "layerDigests": layers},
                  response=None, read_only=True, resources=resources, host=host, version="1.09")
        for digest in layers[1:]:
            upload = self.uuid()
            when = self.jitter(when, 1, 3)
            self.emit(when=when, region=EAST, source="ecr.amazonaws.com",
                      name="InitiateLayerUpload", identity=ident, source_ip=session.source_ip,
                      user_agent=DOCKER, request={"registryId": ACCOUNT, "repositoryName": repo},
                      response={"uploadId": upload, "partSize": 10485760}, read_only=False,
                      resources=resources, host=host, version="1.09")
            when = self.jitter(when, 2, 20)
            self.emit(when=when, region=EAST, source="ecr.amazonaws.com", name="UploadLayerPart",
                      identity=ident, source_ip=session.source_ip, user_agent=DOCKER,
                      request={"registryId": ACCOUNT, "repositoryName": repo, "uploadId": upload,
                               "partFirstByte": 0,
                               "partLastByte": self.rng.randint(2_000_000, 40_000_000)},
                      response=None, read_only=False, resources=resources, host=host,
                      version="1.09")
            when = self.jitter(when, 1, 3)
            self.emit(when=when, region=EAST, source="ecr.amazonaws.com",
                      name="CompleteLayerUpload", identity=ident, source_ip=session.source_ip,
                      user_agent=DOCKER,
                      request={"registryId": ACCOUNT, "repositoryName": repo, "uploadId": upload,
                               "layerDigests": [digest]},
                      response={"registryId": ACCOUNT, "repositoryName": repo, "uploadId": upload,
                                "layerDigest": digest}, read_only=False, resources=resources,
                      host=host, version="1.09")
        when = self.jitter(when, 1, 3)
        tag = build[:8]
        self.emit(when=when, region=EAST, source="ecr.amazonaws.com", name="PutImage",
                  identity=ident, source_ip=session.source_ip, user_agent=DOCKER,
                  request={"repositoryName": repo, "imageTag": tag, "registryId": ACCOUNT,
                           "imageManifestMediaType":
                               "application/vnd.docker.distribution.manifest.v2+json"},
                  response={"image": {"repositoryName": repo, "registryId": ACCOUNT,
                                      "imageId": {"imageDigest": self.sha256(), "imageTag": tag}}},
                  read_only=False, resources=resources, host=host, version="1.09")
        return when

    def training_job(self, start: datetime, job: str, day: int) -> datetime:
        """What the SageMaker execution role does during one training job; returns its end."""
        session = self.sagemaker_session(start)
        now = self.ecr_pull(self.jitter(start, 20, 60), EAST, session, TRAINING_REPO, 6,
                            "sagemaker.amazonaws.com")
        ident = session.identity()
        platform_ip = self.aws_ip()
        now = self.jitter(now, 20, 60)
        self.create_log_stream(now, EAST, session.identity(invoked_by="sagemaker.amazonaws.com"),
                               "sagemaker.amazonaws.com", "sagemaker.amazonaws.com",
                               "/aws/sagemaker/TrainingJobs",
                               f"{job}/algo-1-{int(now.timestamp())}")
        datasets_key = self.key_arn(EAST, "datasets")
        channels = ((TRAIN_PREFIX, TRAIN_OBJECTS), (VALIDATION_PREFIX, VALIDATION_OBJECTS))
        for prefix, count in channels:
            now = self.jitter(now, 1, 4)
            self.s3(now, EAST, "ListObjects", ident, source_ip=platform_ip,
                    user_agent=SAGEMAKER_PLATFORM, bucket=DATASETS, prefix=prefix,
                    request_extra={"list-type": "2", "prefix": prefix, "encoding-type": "url"},
                    read_only=True, bytes_out=self.rng.randint(4_000, 16_000))
            self.kms_via(self.jitter(now, 1, 2), EAST,
                         session.identity(invoked_by="s3.amazonaws.com"), "s3.amazonaws.com",
                         "Decrypt", datasets_key, {"aws:s3:arn": f"arn:aws:s3:::{DATASETS}"})
            for index in range(count):
                now = self.jitter(now, 0, 2)
                self.s3(now, EAST, "GetObject", ident, source_ip=platform_ip,
                        user_agent=SAGEMAKER_PLATFORM, bucket=DATASETS,
                        key=f"{prefix}part-{index:05d}.snappy.parquet", read_only=True,
                        bytes_out=self.rng.randint(6_000_000, 9_000_000), sse="SSE_KMS")
        if day in (1, 4):
            # The training script tries to cache features next to the data: the bucket
            # policy only lets the pipeline write there.
            script_ip = self.aws_ip()
            for attempt in range(2):
                now = self.jitter(now, 30 if attempt == 0 else 2, 90 if attempt == 0 else 6)
                self.s3(now, EAST, "PutObject", ident, source_ip=script_ip,
                        user_agent=TRAINING_SCRIPT, bucket=DATASETS,
                        key="churn/features/v3/cache/train-dmatrix.buffer", read_only=False,
                        error=("AccessDenied", "Access Denied"))
        end = self.jitter(now, 1200, 2100)
        output_key = f"training-output/{job}/output/model.tar.gz"
        artifacts_key = self.key_arn(EAST, "artifacts")
        upload_id = base64.urlsafe_b64encode(
            bytes(self.rng.getrandbits(8) for _ in range(48))).decode()
        self.kms_via(end, EAST, session.identity(invoked_by="s3.amazonaws.com"),
                     "s3.amazonaws.com", "GenerateDataKey", artifacts_key,
                     {"aws:s3:arn": f"arn:aws:s3:::{ARTIFACTS}"})
        self.s3(end, EAST, "CreateMultipartUpload", ident, source_ip=platform_ip,
                user_agent=SAGEMAKER_PLATFORM, bucket=ARTIFACTS, key=output_key,
                request_extra={"uploads": "", "x-amz-server-side-encryption": "aws:kms",
                               "x-amz-server-side-encryption-aws-kms-key-id": artifacts_key},
                response={"uploadId": upload_id, "bucket": ARTIFACTS, "key": output_key,
                          "x-amz-server-side-encryption": "aws:kms",
                          "x-amz-server-side-encryption-aws-kms-key-id": artifacts_key},
                read_only=False, sse="SSE_KMS")
        for part in range(1, 4):
            end = self.jitter(end, 1, 4)
            self.s3(end, EAST, "UploadPart", ident, source_ip=platform_ip,
                    user_agent=SAGEMAKER_PLATFORM, bucket=ARTIFACTS, key=output_key,
                    request_extra={"partNumber": str(part), "uploadId": upload_id},
                    read_only=False,
                    bytes_in=8_388_608 if part < 3 else self.rng.randint(1, 8_388_608),
                    sse="SSE_KMS")
        end = self.jitter(end, 1, 3)
        self.s3(end, EAST, "CompleteMultipartUpload", ident, source_ip=platform_ip,
                user_agent=SAGEMAKER_PLATFORM, bucket=ARTIFACTS, key=output_key,
                request_extra={"uploadId": upload_id}, read_only=False, sse="SSE_KMS",
                response={"x-amz-server-side-encryption": "aws:kms",
                          "x-amz-server-side-encryption-aws-kms-key-id": artifacts_key})
        return end

    def endpoint_rollout(self, start: datetime, job: str) -> None:
        """The endpoint's instances starting with the SageMaker execution role."""
        session = self.sagemaker_session(start)
        now = self.ecr_pull(self.jitter(start, 30, 90), EAST, session, SERVING_REPO, 4,
                            "sagemaker.amazonaws.com")
        now = self.jitter(now, 10, 40)
        self.kms_via(now, EAST, session.identity(invoked_by="s3.amazonaws.com"),
                     "s3.amazonaws.com", "Decrypt", self.key_arn(EAST, "artifacts"),
                     {"aws:s3:arn": f"arn:aws:s3:::{ARTIFACTS}"})
        self.s3(now, EAST, "GetObject", session.identity(), source_ip=self.aws_ip(),
                user_agent=SAGEMAKER_PLATFORM, bucket=ARTIFACTS,
                key=f"training-output/{job}/output/model.tar.gz", read_only=True,
                bytes_out=self.rng.randint(17_000_000, 25_000_000), sse="SSE_KMS")
        now = self.jitter(now, 60, 180)
        self.create_log_stream(now, EAST, session.identity(invoked_by="sagemaker.amazonaws.com"),
                               "sagemaker.amazonaws.com", "sagemaker.amazonaws.com",
                               f"/aws/sagemaker/Endpoints/{ENDPOINT}",
                               f"AllTraffic/i-0{self.hex(16)}")

    def register_model(self, when: datetime, pipeline: Session, job: str, build: str) -> datetime:
        """The pipeline assumes the registry publisher role and registers the model package."""
        publisher = self.roles["publisher"]
        session_name = f"register-{build[:8]}"
        key = self.temp_key()
        credentials = {"accessKeyId": key, "sessionToken": self.token(),
                       "expiration": sts_expiration(when + timedelta(minutes=15))}
        session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{publisher.name}/{session_name}"
        self.emit(when=when, region=EAST, source="sts.amazonaws.com", name="AssumeRole",
                  identity=pipeline.identity(), source_ip=pipeline.source_ip,
                  user_agent=aws_cli("sts.assume-role"),
                  request={"roleArn": publisher.arn, "roleSessionName": session_name,
                           "durationSeconds": 900},
                  response={"credentials": credentials,
                            "assumedRoleUser": {
                                "assumedRoleId": f"{publisher.role_id}:{session_name}",
                                "arn": session_arn}},
                  read_only=True,
                  resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role",
                              "ARN": publisher.arn}],
                  host=f"sts.{EAST}.amazonaws.com", version="1.08")
        session = Session(role=publisher, name=session_name, access_key=key, created=when,
                          source_ip=pipeline.source_ip, user_agent="")
        now = self.jitter(when, 2, 6)
        self.sagemaker_call(now, session, "DescribeModelPackageGroup",
                            {"modelPackageGroupName": MODEL_PACKAGE_GROUP}, None, read_only=True,
                            command="sagemaker.describe-model-package-group")
        now = self.jitter(now, 2, 6)
        version = (when - FIRST_DAY).days + 12
        self.sagemaker_call(now, session, "CreateModelPackage", {
            "modelPackageGroupName": MODEL_PACKAGE_GROUP,
            "modelPackageDescription": f"churn model from {job}",
            "inferenceSpecification": {
                "containers": [{
                    "image": f"{ACCOUNT}.dkr.ecr.{EAST}.amazonaws.com/{SERVING_REPO}:latest",
                    "modelDataUrl": f"s3://{ARTIFACTS}/training-output/{job}/output/model.tar.gz"}],
                "supportedContentTypes": ["application/json"],
                "supportedResponseMIMETypes": ["application/json"]},
            "modelApprovalStatus": "PendingManualApproval",
        }, {"modelPackageArn":
            f"arn:aws:sagemaker:{EAST}:{ACCOUNT}:model-package/{MODEL_PACKAGE_GROUP}/{version}"},
            read_only=False, command="sagemaker.create-model-package")
        now = self.jitter(now, 2, 6)
        self.sagemaker_call(now, session, "ListModelPackages",
                            {"modelPackageGroupName": MODEL_PACKAGE_GROUP, "maxResults": 10,
                             "sortBy": "CreationTime", "sortOrder": "Descending"},
                            None, read_only=True, command="sagemaker.list-model-packages")
        return now

    def lambda_update_code(self, when: datetime, region: str, session: Session, function: str,
                           bundle: str) -> None:
        chat_role = self.roles["chat"]
        self.emit(when=when, region=region, source="lambda.amazonaws.com",
                  name="UpdateFunctionCode20150331v2", identity=session.identity(),
                  source_ip=session.source_ip, user_agent=aws_cli("lambda.update-function-code"),
                  request={"functionName": function, "s3Bucket": ARTIFACTS, "s3Key": bundle,
                           "publish": False, "dryRun": False,
                           "fullyQualifiedArn": {
                               "arnPrefix": {"partition": "aws", "region": region,
                                             "account": ACCOUNT},
                               "relativeId": {"functionName": function},
                               "functionQualifier": {}}},
                  response={
                      "functionName": function,
                      "functionArn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function}",
                      "runtime": "python3.12",
                      "role": chat_role.arn,
                      "handler": "app.handler",
                      "codeSize": self.rng.randint(900_000, 1_400_000),
                      "description": "",
                      "timeout": 60,
                      "memorySize": 512,
                      "lastModified": when.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                      "codeSha256": base64.b64encode(
                          bytes(self.rng.getrandbits(8) for _ in range(32))).decode(),
                      "version": "$LATEST",
                      "tracingConfig": {"mode": "PassThrough"},
                      "revisionId": self.uuid(),
                      "state": "Active",
                      "lastUpdateStatus": "InProgress",
                      "lastUpdateStatusReason": "The function is being created.",
                      "lastUpdateStatusReasonCode": "Creating",
                      "packageType": "Zip",
                      "architectures": ["arm64"],
                      "ephemeralStorage": {"size": 512},
                      "loggingConfig": {"logFormat": "Text", "logGroup": f"/aws/lambda/{function}"},
                  },
                  read_only=False, host=f"lambda.{region}.amazonaws.com", version="1.09")

    def lambda_publish_version(self, when: datetime, region: str, session: Session,
                               function: str) -> None:
        self.emit(when=when, region=region, source="lambda.amazonaws.com",
                  name="PublishVersion20150331", identity=session.identity(),
                  source_ip=session.source_ip, user_agent=aws_cli("lambda.publish-version"),
                  request={"functionName": function},
                  response={"functionName": function,
                            "functionArn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function}:"
                                           f"{self.rng.randint(14, 30)}",
                            "version": str(self.rng.randint(14, 30)), "state": "Active"},
                  read_only=False, host=f"lambda.{region}.amazonaws.com", version="1.09")

    def lambda_create_function(self, when: datetime, session: Session, bundle: str) -> None:
        chat_role = self.roles["chat"]
        arn = f"arn:aws:lambda:{EAST}:{ACCOUNT}:function:{SUMMARIZER_FUNCTION}"
        self.emit(when=when, region=EAST, source="lambda.amazonaws.com",
                  name="CreateFunction20150331", identity=session.identity(),
                  source_ip=session.source_ip, user_agent=aws_cli("lambda.create-function"),
                  request={"functionName": SUMMARIZER_FUNCTION, "runtime": "python3.12",
                           "role": chat_role.arn, "handler": "summarize.handler",
                           "code": {"s3Bucket": ARTIFACTS, "s3Key": bundle},
                           "timeout": 120, "memorySize": 1024, "publish": True,
                           "environment": {}, "architectures": ["arm64"]},
                  response={"functionName": SUMMARIZER_FUNCTION, "functionArn": arn,
                            "runtime": "python3.12", "role": chat_role.arn,
                            "handler": "summarize.handler",
                            "codeSize": self.rng.randint(400_000, 700_000), "description": "",
                            "timeout": 120, "memorySize": 1024,
                            "lastModified": when.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                            "version": "1", "state": "Pending",
                            "stateReason": "The function is being created.",
                            "stateReasonCode": "Creating", "packageType": "Zip",
                            "architectures": ["arm64"], "ephemeralStorage": {"size": 512},
                            "loggingConfig": {"logFormat": "Text",
                                              "logGroup": f"/aws/lambda/{SUMMARIZER_FUNCTION}"}},
                  read_only=False, host=f"lambda.{EAST}.amazonaws.com", version="1.09")

    # ---- scenario: the chat assistant Lambda functions calling Bedrock ----------------------

    def chat_traffic(self, day: int, region: str) -> None:
        """A day of chat-assistant invocations in one region."""
        date = FIRST_DAY + timedelta(days=day)
        count = self.rng.randint(24, 32) if region == EAST else self.rng.randint(8, 12)
        times = sorted(self.jitter(date.replace(hour=7), 0, 15 * 3600) for _ in range(count))
        cold_starts = {0} | {self.rng.randrange(count) for _ in range(2)}
        session: Session | None = None
        for index, when in enumerate(times):
            if session is None or index in cold_starts:
                session = self.cold_start(when, region, CHAT_FUNCTION)
                when = self.jitter(when, 1, 2)
            self.chat_invocation(when, region, session, day, index)

    def cold_start(self, when: datetime, region: str, function: str) -> Session:
        """Lambda assumes the role, the runtime opens a log stream, the code reads its secret."""
        session = self.service_session(when, region, "lambda.amazonaws.com", self.roles["chat"],
                                       function, source_ip=self.aws_ip, user_agent=LAMBDA_SDK)
        self.create_log_stream(self.jitter(when, 0, 1), region, session.identity(),
                               session.source_ip, LAMBDA_LOG_WORKER, f"/aws/lambda/{function}",
                               f"{when:%Y/%m/%d}/[$LATEST]{self.hex(32)}")
        now = self.jitter(when, 0, 1)
        self.emit(when=now, region=region, source="secretsmanager.amazonaws.com",
                  name="GetSecretValue", identity=session.identity(), source_ip=session.source_ip,
                  user_agent=LAMBDA_SDK, request={"secretId": SECRET_NAME}, response=None,
                  read_only=True, host=f"secretsmanager.{region}.amazonaws.com", version="1.09")
        self.kms_via(now, region, session.identity(invoked_by="secretsmanager.amazonaws.com"),
                     "secretsmanager.amazonaws.com", "Decrypt", self.key_arn(region, "secrets"),
                     {"SecretARN": self.secret_arn(region), "SecretVersionId": self.uuid()})
        return session

    def chat_invocation(self, when: datetime, region: str, session: Session, day: int,
                        index: int) -> None:
        """One request to the chat assistant: session lookup, a model call, session write."""
        function_arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{CHAT_FUNCTION}"
        if self.rng.random() < 0.3:
            self.emit(when=when, region=region, source="lambda.amazonaws.com", name="Invoke",
                      identity=service_identity("apigateway.amazonaws.com"),
                      source_ip="apigateway.amazonaws.com", user_agent="apigateway.amazonaws.com",
                      request={"functionName": function_arn,
                               "sourceArn": f"arn:aws:execute-api:{region}:{ACCOUNT}:"
                                            f"k7qz2m1x9d/prod/POST/chat"},
                      response=None, read_only=False, data=True,
                      resources=[{"accountId": ACCOUNT, "type": "AWS::Lambda::Function",
                                  "ARN": function_arn}], shared_event=True, version="1.09")
        ident = session.identity()
        now = self.jitter(when, 0, 1)
        self.dynamodb(now, region, session, "GetItem",
                      {"tableName": CHAT_TABLE,
                       "key": {"session_id": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                       "consistentRead": False, "projectionExpression": "#h, #u",
                       "expressionAttributeNames": {"#h": "history", "#u": "user_id"}},
                      read_only=True)
        if self.rng.random() < 0.4:
            self.dynamodb(self.jitter(now, 0, 1), region, session, "Query",
                          {"tableName": CHAT_TABLE, "indexName": CHAT_INDEX,
                           "keyConditionExpression": "#u = :u",
                           "expressionAttributeNames": {"#u": "user_id"},
                           "expressionAttributeValues": {":u": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                           "limit": 20, "scanIndexForward": False},
                          read_only=True)
        now = self.jitter(now, 0, 2)
        draw = self.rng.random()
        error = None
        if day == 3 and region == EAST and index in (5, 6):
            error = ("ThrottlingException", "Too many requests, please wait before trying again.")
        calls = [("Converse", CONVERSE_MODEL[region])]
        if draw < 0.2:
            calls = [("InvokeModel", EMBED_MODEL), ("Converse", CONVERSE_MODEL[region])]
        elif draw < 0.45:
            calls = [("ConverseStream", PROFILE_MODEL)]
        for name, model in calls:
            if error:
                # Throttled, then retried by the SDK a moment later.
                self.bedrock(now, region, ident, session, name, model, error=error)
                now = self.jitter(now, 1, 3)
                error = None
            self.bedrock(now, region, ident, session, name, model)
            now = self.jitter(now, 0, 1)
        now = self.jitter(now, 2, 12)
        conflict = day == 5 and region == WEST and index == 2
        self.dynamodb(now, region, session, "PutItem",
                      {"tableName": CHAT_TABLE,
                       "key": {"session_id": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                       "item": ["session_id", "user_id", "history", "updated_at"],
                       "conditionExpression": "attribute_not_exists(#v) OR #v < :v",
                       "expressionAttributeNames": {"#v": "version"},
                       "expressionAttributeValues": {":v": "HIDDEN_DUE_TO_SECURITY_REASONS"}},
                      read_only=False,
                      error=("ConditionalCheckFailedException", "The conditional request failed")
                      if conflict else None)

    def dynamodb(self, when: datetime, region: str, session: Session, name: str,
                 request: dict[str, Any], *, read_only: bool,
                 error: tuple[str, str] | None = None) -> None:
        table_arn = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{CHAT_TABLE}"
        self.emit(when=when, region=region, source="dynamodb.amazonaws.com", name=name,
                  identity=session.identity(), source_ip=session.source_ip,
                  user_agent=LAMBDA_SDK, request=request, response=None, read_only=read_only,
                  data=True, error=error,
                  resources=[{"accountId": ACCOUNT, "type": "AWS::DynamoDB::Table",
                              "ARN": table_arn}],
                  host=f"dynamodb.{region}.amazonaws.com", request_id=self.chars(52),
                  api_version="2012-08-10", version="1.09")

    def bedrock(self, when: datetime, region: str, identity: dict[str, Any], session: Session,
                name: str, model: str, error: tuple[str, str] | None = None) -> None:
        """A Bedrock runtime call (logged under bedrock.amazonaws.com as a management event)."""
        additional = None
        if model.startswith("us.") and not error:
            additional = {"inferenceRegion": self.rng.choice(PROFILE_DESTINATIONS)}
        self.emit(when=when, region=region, source="bedrock.amazonaws.com", name=name,
                  identity=identity, source_ip=session.source_ip, user_agent=LAMBDA_SDK,
                  request={"modelId": model}, response=None, read_only=True, error=error,
                  additional=additional, host=f"bedrock-runtime.{region}.amazonaws.com")

    def summarizer_traffic(self, day: int) -> None:
        """The summarizer function (created by the pipeline on day 2) runs nightly batches."""
        date = FIRST_DAY + timedelta(days=day)
        when = self.jitter(date.replace(hour=23, minute=10), 0, 900)
        session = self.cold_start(when, EAST, SUMMARIZER_FUNCTION)
        for index in range(self.rng.randint(3, 5)):
            when = self.jitter(when, 5, 60)
            self.dynamodb(when, EAST, session, "Query",
                          {"tableName": CHAT_TABLE, "indexName": CHAT_INDEX,
                           "keyConditionExpression": "#u = :u",
                           "expressionAttributeNames": {"#u": "user_id"},
                           "expressionAttributeValues": {":u": "HIDDEN_DUE_TO_SECURITY_REASONS"}},
                          read_only=True)
            when = self.jitter(when, 1, 3)
            self.bedrock(when, EAST, session.identity(), session, "InvokeModel", PROFILE_MODEL)
        if day == 5:
            when = self.jitter(when, 5, 20)
            message = (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{session.role.name}/"
                       f"{SUMMARIZER_FUNCTION} is not authorized to perform: "
                       f"secretsmanager:GetSecretValue on resource: {DENIED_SECRET} with an "
                       f"explicit deny in a resource-based policy")
            for _ in range(2):
                when = self.jitter(when, 1, 4)
                self.emit(when=when, region=EAST, source="secretsmanager.amazonaws.com",
                          name="GetSecretValue", identity=session.identity(),
                          source_ip=session.source_ip, user_agent=LAMBDA_SDK,
                          request={"secretId": DENIED_SECRET}, read_only=True,
                          error=("AccessDenied", message),
                          host=f"secretsmanager.{EAST}.amazonaws.com", version="1.09")

    def missing_secret(self) -> None:
        """A us-west-2 deployment reads a secret that was never replicated there."""
        when = FIRST_DAY + timedelta(days=5, hours=14, minutes=2, seconds=17)
        session = self.cold_start(when, WEST, CHAT_FUNCTION)
        self.emit(when=self.jitter(when, 1, 2), region=WEST,
                  source="secretsmanager.amazonaws.com", name="GetSecretValue",
                  identity=session.identity(), source_ip=session.source_ip, user_agent=LAMBDA_SDK,
                  request={"secretId": MISSING_SECRET}, read_only=True,
                  error=("ResourceNotFoundException",
                         "Secrets Manager can't find the specified secret."),
                  host=f"secretsmanager.{WEST}.amazonaws.com", version="1.09")

    # ---- noise: an analyst, a Glue crawler, AWS itself ------------------------------------

    def analyst_day(self, day: int) -> None:
        """A weekday of the data analyst: console, Athena queries, a peek at S3."""
        user = self.users["analyst"]
        date = FIRST_DAY + timedelta(days=day)
        login = self.jitter(date.replace(hour=13, minute=30), 0, 1800)
        self.emit(when=login, region=EAST, source="signin.amazonaws.com", name="ConsoleLogin",
                  identity={"type": "IAMUser", "principalId": user.user_id, "arn": user.arn,
                            "accountId": ACCOUNT, "userName": user.name},
                  source_ip=ANALYST_IP, user_agent=BROWSER, request=None,
                  response={"ConsoleLogin": "Success"},
                  additional={"LoginTo": "https://console.aws.amazon.com/console/home?"
                                         "hashArgs=%23&isauthcode=true&state=hashArgsFromTB_"
                                         "us-east-1_3b1c2a7d9e4f5a60",
                              "MobileVersion": "No", "MFAIdentifier":
                                  f"arn:aws:iam::{ACCOUNT}:mfa/dana-yubikey", "MFAUsed": "Yes"},
                  read_only=False, event_type="AwsConsoleSignIn", version="1.09")
        ident = user_identity(user)
        now = self.jitter(login, 300, 900)
        self.emit(when=now, region=EAST, source="sts.amazonaws.com", name="GetCallerIdentity",
                  identity=ident, source_ip=ANALYST_IP,
                  user_agent=analyst_cli("sts.get-caller-identity"), read_only=True,
                  host=f"sts.{EAST}.amazonaws.com")
        for query in range(self.rng.randint(2, 4)):
            now = self.jitter(now, 120, 1200)
            now = self.athena_query(now, user, day, query)
        if day == 1:
            pii_key = "churn/raw/pii/customers-2026-10.parquet"
            for _ in range(2):
                now = self.jitter(now, 5, 30)
                self.s3(now, EAST, "GetObject", ident, source_ip=ANALYST_IP,
                        user_agent=analyst_cli("s3.cp"), bucket=DATASETS, key=pii_key,
                        read_only=True, error=("AccessDenied", "Access Denied"))
        if day == 2:
            now = self.jitter(now, 60, 300)
            self.emit(when=now, region=EAST, source="sagemaker.amazonaws.com",
                      name="ListEndpoints", identity=ident, source_ip=ANALYST_IP,
                      user_agent=analyst_cli("sagemaker.list-endpoints"), request={},
                      read_only=True,
                      error=("AccessDenied",
                             (f"User: {user.arn} is not authorized to perform: "
                              "sagemaker:ListEndpoints because no identity-based policy allows "
                              "the sagemaker:ListEndpoints action")),
                      host=f"api.sagemaker.{EAST}.amazonaws.com")

    def athena_query(self, when: datetime, user: User, day: int, query: int) -> datetime:
        """StartQueryExecution and what Athena does on the analyst's behalf."""
        ident = user_identity(user)
        athena_ident = user_identity(user, invoked_by="athena.amazonaws.com")
        host = f"athena.{EAST}.amazonaws.com"
        execution = self.uuid()
        bad = day == 3 and query == 0
        sql = ("SELECT plan, churned, count(*) FROM churn_features_v3 GROUP BY 1, 2"
               if not bad else "SELECT plan churned count(*) FROM churn_features_v3")
        self.emit(when=when, region=EAST, source="athena.amazonaws.com",
                  name="StartQueryExecution", identity=ident, source_ip=ANALYST_IP,
                  user_agent=analyst_cli("athena.start-query-execution"),
                  request={"queryString": sql, "clientRequestToken": self.uuid(),
                           "queryExecutionContext": {"database": GLUE_DATABASE},
                           "workGroup": "analysts"},
                  response={"queryExecutionId": execution}, read_only=False,
                  error=("InvalidRequestException",
                         "line 1:13: mismatched input 'churned'. Expecting: ',', <EOF>")
                  if bad else None,
                  host=host)
        if bad:
            return when
        now = self.jitter(when, 0, 1)
        for glue_call, params in (("GetDatabase", {"name": GLUE_DATABASE}),
                                  ("GetTable", {"databaseName": GLUE_DATABASE,
                                                "name": "churn_features_v3"})):
            self.emit(when=now, region=EAST, source="glue.amazonaws.com", name=glue_call,
                      identity=athena_ident, source_ip="athena.amazonaws.com",
                      user_agent="athena.amazonaws.com", request=params, response=None,
                      read_only=True)
        self.s3(now, EAST, "ListObjects", athena_ident, source_ip="athena.amazonaws.com",
                user_agent="athena.amazonaws.com", bucket=DATASETS, prefix=TRAIN_PREFIX,
                request_extra={"list-type": "2", "prefix": TRAIN_PREFIX, "delimiter": "/"},
                read_only=True, bytes_out=self.rng.randint(4_000, 16_000), via_service=True)
        self.kms_via(now, EAST, athena_ident | {"invokedBy": "s3.amazonaws.com"},
                     "s3.amazonaws.com", "Decrypt", self.key_arn(EAST, "datasets"),
                     {"aws:s3:arn": f"arn:aws:s3:::{DATASETS}"})
        for index in self.rng.sample(range(TRAIN_OBJECTS), 3):
            self.s3(self.jitter(now, 0, 2), EAST, "GetObject", athena_ident,
                    source_ip="athena.amazonaws.com", user_agent="athena.amazonaws.com",
                    bucket=DATASETS, key=f"{TRAIN_PREFIX}part-{index:05d}.snappy.parquet",
                    request_extra={"range": "bytes=0-1048575"}, read_only=True,
                    bytes_out=1_048_576, sse="SSE_KMS", via_service=True)
        now = self.jitter(now, 3, 9)
        result_key = f"analysts/{execution}.csv"
        self.s3(now, EAST, "PutObject", athena_ident, source_ip="athena.amazonaws.com",
                user_agent="athena.amazonaws.com", bucket=ATHENA_RESULTS, key=result_key,
                read_only=False, bytes_in=self.rng.randint(300, 3000), sse="Default_SSE_S3",
                via_service=True)
        for _ in range(self.rng.randint(1, 3)):
            now = self.jitter(now, 1, 4)
            self.emit(when=now, region=EAST, source="athena.amazonaws.com",
                      name="GetQueryExecution", identity=ident, source_ip=ANALYST_IP,
                      user_agent=analyst_cli("athena.get-query-execution"),
                      request={"queryExecutionId": execution}, response=None, read_only=True,
                      host=host)
        now = self.jitter(now, 1, 4)
        self.emit(when=now, region=EAST, source="athena.amazonaws.com", name="GetQueryResults",
                  identity=ident, source_ip=ANALYST_IP,
                  user_agent=analyst_cli("athena.get-query-results"),
                  request={"queryExecutionId": execution, "maxResults": 1000}, response=None,
                  read_only=True, host=host)
        self.s3(self.jitter(now, 0, 1), EAST, "GetObject", user_identity(user,
                invoked_by="athena.amazonaws.com"), source_ip="athena.amazonaws.com",
                user_agent="athena.amazonaws.com", bucket=ATHENA_RESULTS, key=result_key,
                read_only=True, bytes_out=self.rng.randint(300, 3000), sse="Default_SSE_S3",
                via_service=True)
        return now

    def glue_crawler(self, day: int) -> None:
        """The nightly Glue crawler over the curated feature tables."""
        role = self.roles["glue"]
        date = FIRST_DAY + timedelta(days=day)
        start = self.jitter(date.replace(hour=2), 0, 300)
        session = self.service_session(start, EAST, "glue.amazonaws.com", role, "AWS-Crawler",
                                       source_ip="glue.amazonaws.com", user_agent=GLUE_INTERNAL)
        ident = session.identity()
        now = self.jitter(start, 5, 20)
        self.create_log_stream(now, EAST, ident, "glue.amazonaws.com", GLUE_INTERNAL,
                               "/aws-glue/crawlers", "curated-churn-features")
        self.emit(when=self.jitter(now, 1, 3), region=EAST, source="glue.amazonaws.com",
                  name="GetDatabase", identity=ident, source_ip="glue.amazonaws.com",
                  user_agent=GLUE_INTERNAL, request={"name": GLUE_DATABASE}, response=None,
                  read_only=True)
        for prefix in (TRAIN_PREFIX, VALIDATION_PREFIX):
            now = self.jitter(now, 2, 10)
            self.s3(now, EAST, "ListObjects", ident, source_ip="glue.amazonaws.com",
                    user_agent=GLUE_INTERNAL, bucket=DATASETS, prefix=prefix,
                    request_extra={"list-type": "2", "prefix": prefix},
                    read_only=True, bytes_out=self.rng.randint(4_000, 16_000), via_service=True)
            self.kms_via(now, EAST, session.identity(invoked_by="s3.amazonaws.com"),
                         "s3.amazonaws.com", "Decrypt", self.key_arn(EAST, "datasets"),
                         {"aws:s3:arn": f"arn:aws:s3:::{DATASETS}"})
            for index in self.rng.sample(range(VALIDATION_OBJECTS), 2):
                self.s3(self.jitter(now, 0, 3), EAST, "GetObject", ident,
                        source_ip="glue.amazonaws.com", user_agent=GLUE_INTERNAL,
                        bucket=DATASETS, key=f"{prefix}part-{index:05d}.snappy.parquet",
                        request_extra={"range": "bytes=-65536"}, read_only=True,
                        bytes_out=65_536, sse="SSE_KMS", via_service=True)
            table = ("churn_features_v3" if prefix == TRAIN_PREFIX
                     else "churn_features_v3_validation")
            now = self.jitter(now, 5, 20)
            self.emit(when=now, region=EAST, source="glue.amazonaws.com", name="GetTable",
                      identity=ident, source_ip="glue.amazonaws.com", user_agent=GLUE_INTERNAL,
                      request={"databaseName": GLUE_DATABASE, "name": table}, response=None,
                      read_only=True)
            self.emit(when=self.jitter(now, 1, 3), region=EAST, source="glue.amazonaws.com",
                      name="UpdateTable", identity=ident, source_ip="glue.amazonaws.com",
                      user_agent=GLUE_INTERNAL,
                      request={"databaseName": GLUE_DATABASE,
                               "tableInput": {"name": table, "tableType": "EXTERNAL_TABLE"},
                               "skipArchive": True},
                      response=None, read_only=False)

    def aws_internal(self) -> None:
        """Events AWS itself records in the account (no principal of the account made them)."""
        when = FIRST_DAY + timedelta(days=4, hours=3, minutes=41, seconds=9)
        key_id = self.kms_keys[(EAST, "datasets")]
        self.emit(when=when, region=EAST, source="kms.amazonaws.com", name="RotateKey",
                  identity={"accountId": ACCOUNT, "invokedBy": "AWS Internal"},
                  source_ip="AWS Internal", user_agent="AWS Internal", request=None,
                  response=None, read_only=False,
                  resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                              "ARN": self.key_arn(EAST, "datasets")}],
                  event_type="AwsServiceEvent", service_details={"keyId": key_id})
        for region in (EAST, WEST):
            when = FIRST_DAY + timedelta(days=6, hours=5, minutes=self.rng.randint(0, 59))
            self.emit(when=when, region=region, source="sts.amazonaws.com",
                      name="GetCallerIdentity", identity=service_identity("config.amazonaws.com"),
                      source_ip="config.amazonaws.com", user_agent="config.amazonaws.com",
                      read_only=True, version="1.08")

    # ---- scenario: AI security evidence (its own random source and log files) -------------

    def security_setup(self) -> None:
        """The researcher (an IAM user signing in with MFA) and the batch scoring role."""
        self.users = {
            "researcher": User(name="priya.raman", path="/people/",
                               user_id="AIDA" + self.chars(17), access_key="AKIA" + self.chars(16)),
        }
        self.roles = {
            "scoring": Role(name="ml-batch-scoring", path="/service-role/",
                            role_id="AROA" + self.chars(17)),
        }
        self.kms_keys = {(EAST, "scores"): self.uuid()}

    def researcher_day(self, day: int) -> None:
        """The researcher in the Bedrock console: every call in a session signed in with MFA,
        every model call through the team's guardrail. On day 3 she changes the account's
        model invocation logging so that it no longer delivers prompts and responses as text."""
        user = self.users["researcher"]
        date = FIRST_DAY + timedelta(days=day)
        login = self.jitter(date.replace(hour=10), 0, 1800)
        self.emit(when=login, region=EAST, source="signin.amazonaws.com", name="ConsoleLogin",
                  identity={"type": "IAMUser", "principalId": user.user_id, "arn": user.arn,
                            "accountId": ACCOUNT, "userName": user.name},
                  source_ip=RESEARCHER_IP, user_agent=BROWSER, request=None,
                  response={"ConsoleLogin": "Success"},
                  additional={"LoginTo": "https://console.aws.amazon.com/bedrock/home",
                              "MobileVersion": "No", "MFAIdentifier":
                                  f"arn:aws:iam::{ACCOUNT}:mfa/priya-authenticator",
                              "MFAUsed": "Yes"},
                  read_only=False, event_type="AwsConsoleSignIn", version="1.09")
        ident = user_identity(user, console=True, since=login, access_key=self.temp_key())
        now = self.jitter(login, 30, 120)
        self.emit(when=now, region=EAST, source="bedrock.amazonaws.com",
                  name="ListFoundationModels", identity=ident, source_ip=RESEARCHER_IP,
                  user_agent=BROWSER, request={"byOutputModality": "TEXT"}, response=None,
                  read_only=True, host=f"bedrock.{EAST}.amazonaws.com")
        for _ in range(self.rng.randint(3, 5)):
            now = self.jitter(now, 40, 400)
            self.emit(when=now, region=EAST, source="bedrock.amazonaws.com", name="Converse",
                      identity=ident, source_ip=RESEARCHER_IP, user_agent=BROWSER,
                      request={"modelId": CONVERSE_MODEL[EAST],
                               "guardrailConfig": {"guardrailIdentifier": GUARDRAIL_ARN,
                                                   "guardrailVersion": GUARDRAIL_VERSION}},
                      response=None, read_only=True,
                      host=f"bedrock-runtime.{EAST}.amazonaws.com")
        if day == 3:
            now = self.jitter(now, 60, 300)
            self.emit(when=now, region=EAST, source="bedrock.amazonaws.com",
                      name="PutModelInvocationLoggingConfiguration", identity=ident,
                      source_ip=RESEARCHER_IP, user_agent=BROWSER,
                      request={"loggingConfig": {
                          "s3Config": {"bucketName": INVOCATION_LOGS, "keyPrefix": "bedrock/"},
                          "textDataDeliveryEnabled": False, "imageDataDeliveryEnabled": True,
                          "embeddingDataDeliveryEnabled": False}},
                      response=None, read_only=False, host=f"bedrock.{EAST}.amazonaws.com")

    def scoring_run(self, day: int, datasets_key: str) -> None:
        """A nightly ECS task scores customers: every call through the VPC's endpoints,
        every score file written with SSE-KMS under the scores key."""
        role = self.roles["scoring"]
        date = FIRST_DAY + timedelta(days=day)
        start = self.jitter(date.replace(hour=2), 0, 600)
        session = self.service_session(start, EAST, "ecs-tasks.amazonaws.com", role, self.hex(32),
                                       source_ip=lambda: f"10.40.3.{self.rng.randint(10, 250)}",
                                       user_agent=TRAINING_SCRIPT)
        ident = session.identity()
        now = self.jitter(start, 5, 20)
        self.emit(when=now, region=EAST, source="sagemaker.amazonaws.com",
                  name="DescribeModelPackage", identity=ident, source_ip=session.source_ip,
                  user_agent=TRAINING_SCRIPT,
                  request={"modelPackageName": f"arn:aws:sagemaker:{EAST}:{ACCOUNT}:"
                                               f"model-package/{MODEL_PACKAGE_GROUP}/{day + 3}"},
                  response=None, read_only=True, host=f"api.sagemaker.{EAST}.amazonaws.com",
                  vpce=SCORING_VPCE)
        day_part = f"dt={date:%Y-%m-%d}"
        for part in range(2):
            now = self.jitter(now, 1, 4)
            object_key = f"churn/scoring/{day_part}/part-{part:05d}.snappy.parquet"
            self.s3(now, EAST, "GetObject", ident, source_ip=session.source_ip,
                    user_agent=TRAINING_SCRIPT, bucket=DATASETS, key=object_key, read_only=True,
                    bytes_out=self.rng.randint(2_000_000, 9_000_000), sse="SSE_KMS",
                    vpce=SCORING_VPCE)
            self.kms_via(now, EAST, session.identity(invoked_by="s3.amazonaws.com"),
                         "s3.amazonaws.com", "Decrypt", datasets_key,
                         {"aws:s3:arn": f"arn:aws:s3:::{DATASETS}/{object_key}"})
        now = self.jitter(now, 120, 600)
        scores_key = self.key_arn(EAST, "scores")
        object_key = f"scores/{day_part}/scores.parquet"
        self.s3(now, EAST, "PutObject", ident, source_ip=session.source_ip,
                user_agent=TRAINING_SCRIPT, bucket=SCORES, key=object_key,
                request_extra={"x-amz-server-side-encryption": "aws:kms",
                               "x-amz-server-side-encryption-aws-kms-key-id": scores_key},
                read_only=False, bytes_in=self.rng.randint(200_000, 900_000), sse="SSE_KMS",
                vpce=SCORING_VPCE)
        self.kms_via(now, EAST, session.identity(invoked_by="s3.amazonaws.com"),
                     "s3.amazonaws.com", "GenerateDataKey", scores_key,
                     {"aws:s3:arn": f"arn:aws:s3:::{SCORES}/{object_key}"})

    def security_week(self, datasets_key: str) -> None:
        """The AI security evidence, every day in a fixed order."""
        self.security_setup()
        for day in range(1, DAYS):  # not the first day: its first hour has the digest
            self.scoring_run(day, datasets_key)
            if 1 <= day <= 4:
                self.researcher_day(day)

    # ---- the whole week ---------------------------------------------------------------------

    def week(self) -> None:
        """Every scenario for every day, in a fixed order."""
        self.setup()
        for day in range(DAYS):
            self.glue_crawler(day)
            self.pipeline_run(day)
            self.chat_traffic(day, EAST)
            self.chat_traffic(day, WEST)
            if day >= 2:
                self.summarizer_traffic(day)
            if day < 5:
                self.analyst_day(day)
        self.missing_secret()
        self.aws_internal()


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class TrailFile:
    """One delivered object: its key under trail/, its JSON payload, how it is broken."""

    key: str
    payload: bytes
    records: int
    oldest: str
    newest: str
    truncated: bool = False


def gzip_bytes(payload: bytes) -> bytes:
    """gzip with no file name and mtime 0, so the bytes depend on the payload only."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as out:
        out.write(payload)
    return buffer.getvalue()


def deliver(account: Account, *, break_one: bool = True) -> list[TrailFile]:
    """Group records by region and hour into log files named the way CloudTrail names them
    (``break_one``: cut the first us-west-2 delivery of 2026-11-05 short)."""
    groups: dict[tuple[str, datetime], list[dict[str, Any]]] = {}
    for record in account.records:
        when = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC)
        hour = when.replace(minute=0, second=0)
        groups.setdefault((record["awsRegion"], hour), []).append(record)
    files: list[TrailFile] = []
    for (region, hour) in sorted(groups):
        records = sorted(groups[(region, hour)], key=lambda r: (r["eventTime"], r["eventID"]))
        # CloudTrail log files are not ordered: mix neighbours the way delivery batches do.
        for index in range(len(records) - 1):
            if account.rng.random() < 0.3:
                records[index], records[index + 1] = records[index + 1], records[index]
        delivered = hour + timedelta(hours=1, minutes=account.rng.randint(1, 6))
        name = (f"{ACCOUNT}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_"
                f"{account.chars(16, ALNUM)}.json.gz")
        key = (f"AWSLogs/{ACCOUNT}/CloudTrail/{region}/{delivered:%Y/%m/%d}/{name}")
        payload = json.dumps({"Records": records}, separators=(",", ":")).encode()
        times = [r["eventTime"] for r in records]
        files.append(TrailFile(key=key, payload=payload, records=len(records),
                               oldest=min(times), newest=max(times)))
    # The malformed file: the first us-west-2 delivery on 2026-11-05 arrives cut short.
    if not break_one:
        return files
    broken_day = f"/CloudTrail/{WEST}/2026/11/05/"
    for index, trail_file in enumerate(files):
        if broken_day in trail_file.key:
            files[index] = TrailFile(key=trail_file.key, payload=trail_file.payload,
                                     records=trail_file.records, oldest=trail_file.oldest,
                                     newest=trail_file.newest, truncated=True)
            account.broken_file = trail_file.key
            break
    return files


def file_bytes(trail_file: TrailFile) -> bytes:
    """What lands on disk for one log file (the broken one keeps 55% of its gzip bytes)."""
    compressed = gzip_bytes(trail_file.payload)
    if trail_file.truncated:
        return compressed[: len(compressed) * 55 // 100]
    return compressed


def digest(account: Account, files: list[TrailFile], blobs: dict[str, bytes]) -> tuple[str, bytes]:
    """The digest for the first hour of us-east-1 deliveries (log file validation)."""
    east = [f for f in files if f"/CloudTrail/{EAST}/" in f.key]
    first_hour = min(delivery_time(f.key) for f in east).replace(minute=0, second=0)
    next_hour = first_hour + timedelta(hours=1)
    covered = [f for f in east if first_hour <= delivery_time(f.key) < next_hour]
    end = first_hour + timedelta(hours=1, minutes=account.rng.randint(0, 9),
                                 seconds=account.rng.randint(0, 59))
    name = (f"{ACCOUNT}_CloudTrail-Digest_{EAST}_{TRAIL_NAME}_{EAST}_{end:%Y%m%dT%H%M%SZ}.json.gz")
    key = f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{EAST}/{end:%Y/%m/%d}/{name}"
    document = {
        "awsAccountId": ACCOUNT,
        "digestStartTime": stamp(first_hour),
        "digestEndTime": stamp(end),
        "digestS3Bucket": TRAIL_BUCKET,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": account.hex(32),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": max(f.newest for f in covered),
        "oldestEventTime": min(f.oldest for f in covered),
        "previousDigestS3Bucket": None,
        "previousDigestS3Object": None,
        "previousDigestHashValue": None,
        "previousDigestHashAlgorithm": None,
        "previousDigestSignature": None,
        "logFiles": [
            {"s3Bucket": TRAIL_BUCKET, "s3Object": f.key,
             "hashValue": hashlib.sha256(blobs[f.key]).hexdigest(), "hashAlgorithm": "SHA-256",
             "newestEventTime": f.newest, "oldestEventTime": f.oldest}
            for f in covered
        ],
    }
    return key, gzip_bytes(json.dumps(document, separators=(",", ":")).encode())


def delivery_time(key: str) -> datetime:
    """The delivery time in a log file name."""
    stamp_part = key.rsplit("_", 2)[-2]
    return datetime.strptime(stamp_part, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)


# --------------------------------------------------------------------------- current grants


def statement(sid: str, actions: Iterable[str] | str, resources: Iterable[str] | str,
              condition: dict[str, Any] | None = None, effect: str = "Allow") -> dict[str, Any]:
    block: dict[str, Any] = {"Sid": sid, "Effect": effect}
    block["Action"] = actions if isinstance(actions, str) else list(actions)
    block["Resource"] = resources if isinstance(resources, str) else list(resources)
    if condition:
        block["Condition"] = condition
    return block


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(service: str) -> dict[str, Any]:
    return document({"Effect": "Allow", "Principal": {"Service": service},
                     "Action": "sts:AssumeRole"})


def iso(when: str) -> str:
    """The AWS CLI's timestamp format for IAM dates."""
    return when + "+00:00"


def inline_policy(name: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """A principal's inline policy list holding one policy."""
    return [{"PolicyName": name, "PolicyDocument": doc}]


def managed_policy(name: str, policy_id: str, path: str,
                   *versions: tuple[str, str, dict[str, Any]], created: str | None = None,
                   attachments: int = 1, boundary_uses: int = 0,
                   arn: str | None = None) -> dict[str, Any]:
    """One entry of ``Policies``. ``versions`` are (id, date, document), the default first;
    the policy was created with its oldest version unless ``created`` says otherwise."""
    default_version, updated, _ = versions[0]
    return {
        "PolicyName": name,
        "PolicyId": policy_id,
        "Arn": arn or f"arn:aws:iam::{ACCOUNT}:policy{path}{name}",
        "Path": path,
        "DefaultVersionId": default_version,
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": boundary_uses,
        "IsAttachable": True,
        "CreateDate": iso(created or versions[-1][1]),
        "UpdateDate": iso(updated),
        "PolicyVersionList": [
            {"Document": doc, "VersionId": version, "IsDefaultVersion": version == default_version,
             "CreateDate": iso(date)}
            for version, date, doc in versions
        ],
    }


def user_detail(user: User, created: str, group: str, team: str,
                inline: list[dict[str, Any]]) -> dict[str, Any]:
    """One entry of ``UserDetailList``: a user in one group, with no managed policy."""
    return {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": iso(created),
        "UserPolicyList": inline,
        "GroupList": [group],
        "AttachedManagedPolicies": [],
        "Tags": [{"Key": "team", "Value": team}],
    }


def group_detail(name: str, path: str, group_id: str, created: str,
                 inline: list[dict[str, Any]], managed: list[dict[str, str]]) -> dict[str, Any]:
    """One entry of ``GroupDetailList``."""
    return {
        "Path": path,
        "GroupName": name,
        "GroupId": group_id,
        "Arn": f"arn:aws:iam::{ACCOUNT}:group{path}{name}",
        "CreateDate": iso(created),
        "GroupPolicyList": inline,
        "AttachedManagedPolicies": managed,
    }


def grants(account: Account, security: Account) -> dict[str, Any]:
    """``aws iam get-account-authorization-details`` as the CLI prints it (documents decoded).

    ``security`` holds the principals of the AI security evidence; their identifiers
    come from its own random source, drawn after its records."""
    roles = account.roles
    user = account.users["analyst"]

    def policy_id() -> str:
        return "ANPA" + account.chars(17)

    sagemaker_broad = document(
        statement("SageMakerEverything", "sagemaker:*", "*"),
        statement("SupportingServices", [
            "application-autoscaling:*", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
            "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics",
            "cloudwatch:PutMetricAlarm", "cloudwatch:PutMetricData", "ec2:CreateNetworkInterface",
            "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
            "ec2:DeleteNetworkInterfacePermission", "ec2:DescribeDhcpOptions",
            "ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables",
            "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcEndpoints",
            "ec2:DescribeVpcs", "elasticfilesystem:DescribeFileSystems",
            "elasticfilesystem:DescribeMountTargets", "fsx:DescribeFileSystems",
            "glue:CreateTable", "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable",
            "glue:GetTables", "glue:UpdateTable", "kms:DescribeKey", "kms:ListAliases",
            "lambda:ListFunctions", "secretsmanager:ListSecrets", "sns:ListTopics",
            "tag:GetResources"], "*"),
        statement("ContainerImages", "ecr:*", "*"),
        statement("Logs", "logs:*", "*"),
        statement("AllBuckets", "s3:*", "*"),
        statement("AnyKey", ["kms:CreateGrant", "kms:Decrypt", "kms:Encrypt",
                             "kms:GenerateDataKey", "kms:ReEncrypt*"], "*"),
        statement("PassToSageMaker", "iam:PassRole", "*",
                  {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
    )
    sagemaker_broad_v1 = document(
        statement("SageMakerEverything", "sagemaker:*", "*"),
        statement("AllBuckets", "s3:*", "*"),
        statement("Logs", "logs:*", "*"),
    )
    pipeline_policy = document(
        statement("BuildAndDeploy", ["sagemaker:*", "lambda:*", "ecr:*", "cloudformation:*"], "*"),
        statement("Artifacts", "s3:*", "*"),
        statement("PassAnyRole", "iam:PassRole", "*"),
        statement("AssumeAnything", "sts:AssumeRole", "*"),
        statement("BuildLogs", ["logs:CreateLogGroup", "logs:CreateLogStream",
                                "logs:PutLogEvents"],
                  f"arn:aws:logs:{EAST}:{ACCOUNT}:log-group:/aws/codebuild/*"),
        statement("Keys", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*",
                           "kms:DescribeKey"], "*"),
    )
    pipeline_boundary = document(
        statement("DeliveryServices", [
            "sagemaker:Add*", "sagemaker:Create*", "sagemaker:Describe*", "sagemaker:List*",
            "sagemaker:Update*", "sagemaker:Stop*", "lambda:*", "ecr:*", "s3:*", "logs:*",
            "kms:*", "sts:AssumeRole", "sts:GetCallerIdentity", "iam:PassRole",
            "cloudformation:*"], "*"),
    )
    analyst_read = document(
        statement("ListDatasets", "s3:ListBucket", f"arn:aws:s3:::{DATASETS}"),
        statement("ReadCuratedFeatures", "s3:GetObject",
                  f"arn:aws:s3:::{DATASETS}/churn/features/*"),
        statement("DecryptDatasets", "kms:Decrypt", account.key_arn(EAST, "datasets"),
                  {"StringEquals": {"kms:ViaService": f"s3.{EAST}.amazonaws.com"}}),
    )
    glue_access = document(
        statement("Catalog", "glue:*", "*"),
        statement("Data", ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
                  [f"arn:aws:s3:::{DATASETS}", f"arn:aws:s3:::{DATASETS}/*"]),
        statement("Logs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                  f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws-glue/*"),
        statement("Decrypt", "kms:Decrypt", "*"),
    )
    lambda_basic = document({
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": "*",
    })
    policies = [
        managed_policy("ml-sagemaker-execution-broad", policy_id(), "/ml/",
                       ("v2", "2026-10-14T09:41:02", sagemaker_broad),
                       ("v1", "2026-03-11T16:20:44", sagemaker_broad_v1)),
        managed_policy("ml-deploy-pipeline-policy", policy_id(), "/ci/",
                       ("v1", "2026-05-02T11:03:19", pipeline_policy)),
        managed_policy("ml-pipeline-boundary", policy_id(), "/boundaries/",
                       ("v3", "2026-09-22T08:12:05", pipeline_boundary),
                       created="2026-05-02T10:58:40", attachments=0, boundary_uses=1),
        managed_policy("analyst-read-datasets", policy_id(), "/",
                       ("v1", "2026-06-18T14:27:51", analyst_read)),
        managed_policy("glue-crawler-curated-datasets", policy_id(), "/service-role/",
                       ("v1", "2026-04-07T07:45:12", glue_access)),
        managed_policy("AWSLambdaBasicExecutionRole", policy_id(), "/service-role/",
                       ("v1", "2015-04-09T15:03:43", lambda_basic),
                       arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
    ]
    by_name = {p["PolicyName"]: p for p in policies}

    def attached(*names: str) -> list[dict[str, str]]:
        return [{"PolicyName": n, "PolicyArn": by_name[n]["Arn"]} for n in names]

    def role_detail(role: Role, created: str, trusted: dict[str, Any],
                    inline: list[dict[str, Any]], managed: list[dict[str, str]], last_used: str,
                    last_region: str = EAST, boundary: str | None = None) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "Path": role.path,
            "RoleName": role.name,
            "RoleId": role.role_id,
            "Arn": role.arn,
            "CreateDate": iso(created),
            "AssumeRolePolicyDocument": trusted,
            "InstanceProfileList": [],
            "RolePolicyList": inline,
            "AttachedManagedPolicies": managed,
        }
        if boundary:
            detail["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": by_name[boundary]["Arn"],
            }
        detail["Tags"] = [{"Key": "team", "Value": "ml-platform"}]
        detail["RoleLastUsed"] = {"LastUsedDate": iso(last_used), "Region": last_region}
        return detail

    datasets_arn = f"arn:aws:s3:::{DATASETS}"
    chat_inline = document(
        statement("Models", "bedrock:*", "*"),
        statement("Sessions", "dynamodb:*",
                  f"arn:aws:dynamodb:*:{ACCOUNT}:table/{CHAT_TABLE}*"),
        statement("Secrets", ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
                              "secretsmanager:ListSecrets"], "*"),
        statement("DecryptSecrets", ["kms:Decrypt", "kms:DescribeKey"], "*"),
    )
    training_inline = document(
        statement("TrainingData", ["s3:GetObject", "s3:ListBucket"],
                  [datasets_arn, f"{datasets_arn}/churn/*"]),
    )
    publisher_inline = document(
        statement("Registry", ["sagemaker:*ModelPackage*", "sagemaker:AddTags",
                               "sagemaker:ListTags"], "*"),
        statement("ReadArtifacts", ["s3:GetObject", "s3:ListBucket"], [
            f"arn:aws:s3:::{ARTIFACTS}", f"arn:aws:s3:::{ARTIFACTS}/*"]),
    )
    publisher_trust = document({
        "Effect": "Allow",
        "Principal": {"AWS": roles["pipeline"].arn},
        "Action": "sts:AssumeRole",
    })
    role_list = [
        role_detail(roles["sagemaker"], "2026-10-14T09:35:12", trust("sagemaker.amazonaws.com"),
                    inline_policy("training-data-access", training_inline),
                    attached("ml-sagemaker-execution-broad"), "2026-11-08T10:12:00"),
        role_detail(roles["chat"], "2026-08-27T18:02:33", trust("lambda.amazonaws.com"),
                    inline_policy("chat-assistant-permissions", chat_inline),
                    attached("AWSLambdaBasicExecutionRole"), "2026-11-08T21:40:00"),
        role_detail(roles["pipeline"], "2026-05-02T11:03:20", trust("codebuild.amazonaws.com"), [],
                    attached("ml-deploy-pipeline-policy"), "2026-11-08T09:51:00",
                    boundary="ml-pipeline-boundary"),
        role_detail(roles["publisher"], "2026-05-02T11:10:05", publisher_trust,
                    inline_policy("model-registry", publisher_inline),
                    [], "2026-11-08T09:44:00"),
        role_detail(roles["glue"], "2026-04-07T07:45:13", trust("glue.amazonaws.com"), [],
                    attached("glue-crawler-curated-datasets"), "2026-11-08T02:03:00"),
    ]
    group_policy = document(
        statement("Athena", ["athena:*"],
                  f"arn:aws:athena:{EAST}:{ACCOUNT}:workgroup/analysts"),
        statement("Catalog", ["glue:Get*", "glue:BatchGet*", "glue:SearchTables"], "*"),
        statement("Results", "s3:*", [f"arn:aws:s3:::{ATHENA_RESULTS}",
                                      f"arn:aws:s3:::{ATHENA_RESULTS}/*"]),
        statement("Browse", ["s3:ListAllMyBuckets", "s3:GetBucketLocation"], "*"),
    )
    group_id = "AGPA" + account.chars(17)
    user_inline = document(
        statement("OwnCredentials", ["iam:ChangePassword", "iam:GetUser",
                                     "iam:*AccessKey*", "iam:*MFADevice*"],
                  f"arn:aws:iam::{ACCOUNT}:user/people/${{aws:username}}"),
    )
    # Two principals the trail never shows, granted all the same (a review flags them unused).
    # Their identifiers are drawn last, so the trail and every earlier identifier stay as they
    # were. The SageMaker notebook role of a spring pilot whose notebook is long deleted:
    notebook = Role(name="ml-notebook-pilot", path="/service-role/",
                    role_id="AROA" + account.chars(17))
    notebook_inline = document(
        statement("ReadChurnData", ["s3:GetObject", "s3:ListBucket"],
                  [datasets_arn, f"{datasets_arn}/churn/*"]),
        statement("Browse", ["sagemaker:Describe*", "sagemaker:List*"], "*"),
        statement("NotebookLogs", ["logs:CreateLogGroup", "logs:CreateLogStream",
                                   "logs:PutLogEvents"],
                  f"arn:aws:logs:{EAST}:{ACCOUNT}:log-group:/aws/sagemaker/NotebookInstances:*"),
    )
    role_list.append(role_detail(
        notebook, "2026-04-20T13:02:41", trust("sagemaker.amazonaws.com"),
        inline_policy("pilot-notebook-access", notebook_inline), [],
        "2026-06-30T16:05:00"))
    # ... and the Jenkins user the CodeBuild pipeline replaced, still in a group whose policy
    # deploys anything and passes any role.
    legacy_deploy = document(
        statement("Deploy", ["sagemaker:*", "ecr:*", "lambda:*"], "*"),
        statement("Artifacts", "s3:*", "*"),
        statement("PassRoles", "iam:PassRole", "*"),
    )
    legacy_policy = managed_policy("jenkins-ml-deploy", policy_id(), "/legacy/",
                                   ("v4", "2025-11-19T15:40:08", legacy_deploy),
                                   created="2025-02-03T10:14:27")
    policies.append(legacy_policy)
    by_name[legacy_policy["PolicyName"]] = legacy_policy
    jenkins = User(name="jenkins-ml-deploy", path="/legacy/", user_id="AIDA" + account.chars(17),
                   access_key="AKIA" + account.chars(16))
    legacy_group_id = "AGPA" + account.chars(17)
    # The AI security evidence's principals: the researcher's group may use every model
    # (as teams' grants often do), the scoring role reads models and data and writes scores.
    researcher = security.users["researcher"]
    scoring = security.roles["scoring"]
    research_group_id = "AGPA" + security.chars(17)
    research_policy = document(
        statement("Models", "bedrock:*", "*"),
        statement("Registry", ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                  "*"),
    )
    scores_arn = f"arn:aws:s3:::{SCORES}"
    scoring_inline = document(
        statement("ReadInputs", "s3:GetObject", f"{datasets_arn}/churn/scoring/*"),
        statement("WriteScores", ["s3:PutObject", "s3:GetObject"], f"{scores_arn}/*"),
        statement("Keys", ["kms:Decrypt", "kms:GenerateDataKey"], "*"),
        statement("ModelVersions", ["sagemaker:DescribeModelPackage",
                                    "sagemaker:ListModelPackages"], "*"),
    )
    role_list.append(role_detail(
        scoring, "2026-09-09T08:20:44", trust("ecs-tasks.amazonaws.com"),
        inline_policy("batch-scoring", scoring_inline), [],
        "2026-11-08T02:09:00"))
    return {
        "UserDetailList": [
            user_detail(user, "2026-06-18T14:30:02", "data-analysts", "analytics",
                        inline_policy("manage-own-credentials", user_inline)),
            user_detail(jenkins, "2025-02-03T10:16:55", "legacy-deployers", "ml-platform", []),
            user_detail(researcher, "2026-09-01T09:12:40", "ml-researchers", "applied-science",
                        inline_policy("manage-own-credentials", user_inline)),
        ],
        "GroupDetailList": [
            group_detail("data-analysts", "/", group_id, "2026-06-18T14:28:37",
                         inline_policy("athena-analysts-workgroup", group_policy),
                         attached("analyst-read-datasets")),
            group_detail("legacy-deployers", "/legacy/", legacy_group_id, "2025-02-03T10:15:30",
                         [], attached("jenkins-ml-deploy")),
            group_detail("ml-researchers", "/", research_group_id, "2026-09-01T09:10:02",
                         inline_policy("bedrock-research", research_policy), []),
        ],
        "RoleDetailList": role_list,
        "Policies": policies,
    }


# --------------------------------------------------------------------------- writing


def build(seed: int = SEED) -> tuple[dict[str, bytes], Account, list[TrailFile]]:
    """Every output file (path relative to ml-account/ -> bytes), the account, the log files."""
    account = Account(rng=random.Random(seed))
    account.week()
    files = deliver(account)
    blobs = {f.key: file_bytes(f) for f in files}
    digest_key, digest_blob = digest(account, files, blobs)
    security = Account(rng=random.Random(seed + (SECURITY_SEED - SEED)))
    security.security_week(account.key_arn(EAST, "datasets"))
    security_files = deliver(security, break_one=False)
    blobs.update({f.key: file_bytes(f) for f in security_files})
    outputs = {f"trail/{key}": blob for key, blob in blobs.items()}
    outputs[f"trail/{digest_key}"] = digest_blob
    snapshot = json.dumps(grants(account, security), indent=4) + "\n"
    outputs["grants/account-authorization-details.json"] = snapshot.encode()
    account.records.extend(security.records)
    return outputs, account, [*files, *security_files]


def write_tree(output: Path, outputs: dict[str, bytes]) -> None:
    """Write the files under ``output`` (which must not hold other trail or grants files)."""
    for relative in sorted(outputs):
        target = output / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(outputs[relative])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT,
                        help="where to write (default: examples/ml-account beside this script)")
    parser.add_argument("--force", action="store_true",
                        help="replace the trail/ and grants/ folders already in the output dir")
    args = parser.parse_args(argv)
    output: Path = args.output_dir
    existing = [output / "trail", output / "grants"]
    if any(p.exists() for p in existing):
        if not args.force:
            print(f"{output} already holds trail/ or grants/; pass --force to replace them",
                  file=sys.stderr)
            return 2
        for path in existing:
            if path.exists():
                shutil.rmtree(path)
    outputs, account, _ = build()
    write_tree(output, outputs)
    total = sum(len(blob) for blob in outputs.values())
    print(f"wrote {len(outputs)} files, {len(account.records)} records, {total} bytes "
          f"to {output}; broken file: {account.broken_file}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
