#!/usr/bin/env python3
"""Write a ten-day AI/ML workload trail and the probes a learned policy must deny.

    python benchmarks/generate_workload.py --output-dir DIR [--days 10]

A policy-durability backtest learns a policy from the first seven days and checks it
against the rest. This writes, for account 444455556666 in us-east-1 from 2026-11-02:

    DIR/trail/AWSLogs/444455556666/CloudTrail/us-east-1/YYYY/MM/DD/
        444455556666_CloudTrail_us-east-1_<YYYYMMDDTHHMMZ>_<16 chars>.json.gz
    DIR/probes.jsonl   one {"principal", "action", "resource", "why"} per line, sorted

Four roles run a daily churn-model pipeline and a transcript summarizer. Every run
names new things the way real pipelines do (timestamped jobs, models and endpoint
configs, git-sha artifact keys, one new dataset partition a day, new log streams,
per-request object ids), next to resources that never change. Days after the
seventh follow the same naming patterns; out-of-pattern requests exist only as probes.

Everything comes from one seeded ``random.Random``; nothing reads the clock. gzip
members carry mtime 0 and no file name, so two runs write byte-identical trees.
Calls that need no grant and calls AWS services make with their own credentials
(the AssumeRole that starts each session) are left out, so every record resolves to
a principal's permissions. Synthetic data only.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import string
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 444455556666
ACCOUNT = "444455556666"
REGION = "us-east-1"
FIRST_DAY = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 10
LEARNING_DAYS = 7

# Stable resources.
DATASETS = f"ml-datasets-{ACCOUNT}"
ARTIFACTS = f"sagemaker-{REGION}-{ACCOUNT}"
CALLS = f"call-analytics-{ACCOUNT}"
PIPELINE_SOURCE = f"codepipeline-{REGION}-{ACCOUNT}"
ATHENA_RESULTS = f"aws-athena-query-results-{ACCOUNT}-{REGION}"
TRAINING_REPO = "ml-training/churn-xgboost"
SERVING_REPO = "ml-serving/churn-xgboost-inference"
PROCESSING_REPO = "ml-processing/churn-features"
ENDPOINT = "churn-prod"
PIPELINE_PROJECT = "churn-pipeline"
PIPELINE_PARAMETER = "/ml/churn/pipeline-config"
FUNCTION = "transcribe-summarizer"
TABLE = "summary-jobs"
SECRET_NAME = "prod/transcribe-summarizer/webhook-signing-key"
MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
GLUE_DATABASE = "churn_lake"
GLUE_TABLE = "churn_train"
WORKGROUP = "churn-features"
VALIDATION_KEY = "churn/validation/holdout-v3.parquet"

HEX = "0123456789abcdef"
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits

CODEBUILD_CLI = ("aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/linux#5.10.228-219.884.amzn2.x86_64 "
                 "md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython exec-env/AWS_ECS_EC2 "
                 "cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#")
SAGEMAKER_SDK = ("Boto3/1.35.60 md/Botocore#1.35.60 ua/2.0 os/linux#5.10.228-219.884.amzn2.x86_64 "
                 "md/arch#x86_64 lang/python#3.11.10 md/pyimpl#CPython exec-env/AWS_ECS_EC2 "
                 "cfg/retry-mode#legacy Botocore/1.35.60 sagemaker-python-sdk/2.235.2")
SAGEMAKER_PLATFORM = ("aws-sdk-java/1.12.770 Linux/5.10.227-219.884.amzn2.x86_64 "
                      "OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS java/17.0.12 "
                      "vendor/Amazon.com_Inc. cfg/retry-mode/standard")
CONTAINER_SDK = ("Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 "
                 "os/linux#5.10.227-219.884.amzn2.x86_64 "
                 "md/arch#x86_64 lang/python#3.10.14 md/pyimpl#CPython "
                 "exec-env/AmazonSageMakerProcessing cfg/retry-mode#legacy Botocore/1.34.131")
LAMBDA_SDK = ("Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 "
              "md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython "
              "exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.35.36")
LAMBDA_LOG_WORKER = "awslambda-worker/1.0 rusoto/0.48.0 rust/1.80.1 linux"


def stamp(when: datetime) -> str:
    """CloudTrail's eventTime format."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def day_start(day: int) -> datetime:
    """Midnight UTC of day ``day`` (0-based) of the workload."""
    return FIRST_DAY + timedelta(days=day)


# --------------------------------------------------------------------------- identities


@dataclass(frozen=True)
class Role:
    """An IAM role of the account."""

    name: str
    path: str
    role_id: str

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role{self.path}{self.name}"


@dataclass(frozen=True)
class Session:
    """One assumed-role session: which role, its session name and key, from where."""

    role: Role
    name: str
    access_key: str
    created: datetime
    source_ip: str

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
                "attributes": {"creationDate": stamp(self.created), "mfaAuthenticated": "false"},
            },
        }
        if invoked_by:
            block["invokedBy"] = invoked_by
        return block


# --------------------------------------------------------------------------- the workload


@dataclass
class Workload:
    """Accumulates the account's CloudTrail records from one seeded random source."""

    rng: random.Random
    records: list[dict[str, Any]] = field(default_factory=list)
    roles: dict[str, Role] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    secret_suffix: str = ""
    parts: list[int] = field(default_factory=list)  # train partition files written per day

    # ---- random identifiers -----------------------------------------------------------

    def chars(self, count: int, alphabet: str = UPPER_DIGITS) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(count))

    def hex(self, count: int) -> str:
        return self.chars(count, HEX)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def aws_ip(self) -> str:
        first = self.rng.choice((3, 18, 34, 44, 52, 54))
        rest = (self.rng.randint(200, 239), self.rng.randint(0, 255), self.rng.randint(1, 254))
        return ".".join(str(part) for part in (first, *rest))

    def jitter(self, when: datetime, low: int, high: int) -> datetime:
        """``when`` plus a random whole number of seconds in [low, high]."""
        return when + timedelta(seconds=self.rng.randint(low, high))

    def session(self, role: str, name: str, when: datetime, source_ip: str) -> Session:
        return Session(role=self.roles[role], name=name, access_key="ASIA" + self.chars(16),
                       created=when, source_ip=source_ip)

    # ---- set-up -----------------------------------------------------------------------

    def setup(self) -> None:
        """The roles, KMS keys and secret suffix every day refers to."""
        def role(name: str, path: str) -> Role:
            return Role(name=name, path=path, role_id="AROA" + self.chars(17))

        self.roles = {
            "pipeline": role(PIPELINE_PROJECT, "/ci/"),
            "training": role("AmazonSageMaker-ExecutionRole-20261014T093512", "/service-role/"),
            "processing": role("churn-feature-processing", "/service-role/"),
            "summarizer": role("transcribe-summarizer-role-ab12cd34", "/service-role/"),
        }
        self.keys = {name: self.uuid() for name in ("datasets", "artifacts", "secrets")}
        self.secret_suffix = self.chars(6, ALNUM)

    def key_arn(self, purpose: str) -> str:
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{self.keys[purpose]}"

    def secret_arn(self) -> str:
        return (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
                f"{SECRET_NAME}-{self.secret_suffix}")

    # ---- one record -------------------------------------------------------------------

    def emit(self, *, when: datetime, source: str, name: str, identity: dict[str, Any],
             source_ip: str, user_agent: str, request: dict[str, Any] | None,
             response: dict[str, Any] | None = None, read_only: bool, data: bool = False,
             resources: list[dict[str, Any]] | None = None,
             additional: dict[str, Any] | None = None, host: str | None = None,
             request_id: str | None = None, api_version: str | None = None,
             version: str = "1.09") -> None:
        """Append one CloudTrail record, keys in the order CloudTrail writes them."""
        record: dict[str, Any] = {
            "eventVersion": version,
            "userIdentity": identity,
            "eventTime": stamp(when),
            "eventSource": source,
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": source_ip,
            "userAgent": user_agent,
            "requestParameters": request,
            "responseElements": response,
        }
        if additional is not None:
            record["additionalEventData"] = additional
        record["requestID"] = request_id or self.uuid()
        record["eventID"] = self.uuid()
        record["readOnly"] = read_only
        if resources:
            record["resources"] = resources
        record["eventType"] = "AwsApiCall"
        if api_version:
            record["apiVersion"] = api_version
        record["managementEvent"] = not data
        record["recipientAccountId"] = ACCOUNT
        record["eventCategory"] = "Data" if data else "Management"
        if host:
            record["tlsDetails"] = {"tlsVersion": "TLSv1.3",
                                    "cipherSuite": "TLS_AES_128_GCM_SHA256",
                                    "clientProvidedHostHeader": host}
        self.records.append(record)

    # ---- service call helpers ---------------------------------------------------------

    def s3(self, when: datetime, name: str, identity: dict[str, Any], *, source_ip: str,
           user_agent: str, bucket: str, key: str | None = None, prefix: str | None = None,
           extra: dict[str, Any] | None = None, response: dict[str, Any] | None = None,
           read_only: bool, bytes_in: int = 0, bytes_out: int = 0,
           sse: str | None = None) -> None:
        """An S3 data event on an object, or a listing of a prefix."""
        host = f"{bucket}.s3.{REGION}.amazonaws.com"
        request: dict[str, Any] = {"bucketName": bucket, "Host": host}
        if key is not None:
            request["key"] = key
        request.update(extra or {})
        resources: list[dict[str, Any]] = []
        if key is not None:
            resources.append({"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
        elif prefix is not None:
            resources.append({"type": "AWS::S3::Object",
                              "ARNPrefix": f"arn:aws:s3:::{bucket}/{prefix}"})
        resources.append({"accountId": ACCOUNT, "type": "AWS::S3::Bucket",
                          "ARN": f"arn:aws:s3:::{bucket}"})
        additional: dict[str, Any] = {"SignatureVersion": "SigV4",
                                      "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                      "bytesTransferredIn": bytes_in}
        if sse:
            additional["SSEApplied"] = sse
        additional["AuthenticationMethod"] = "AuthHeader"
        additional["x-amz-id-2"] = self.chars(76, ALNUM + "+/")
        additional["bytesTransferredOut"] = bytes_out
        via_service = "invokedBy" in identity
        self.emit(when=when, source="s3.amazonaws.com", name=name, identity=identity,
                  source_ip=source_ip, user_agent=user_agent, request=request, response=response,
                  read_only=read_only, data=True, resources=resources, additional=additional,
                  host=None if via_service else host, request_id=self.chars(16), version="1.10")

    def kms_via(self, when: datetime, session: Session, service: str, name: str, purpose: str,
                context: dict[str, str]) -> None:
        """KMS Decrypt or GenerateDataKey that S3 or Secrets Manager makes for the caller."""
        key_arn = self.key_arn(purpose)
        request: dict[str, Any] = {"encryptionContext": context}
        if name == "Decrypt":
            request["encryptionAlgorithm"] = "SYMMETRIC_DEFAULT"
        else:
            request = {"keyId": key_arn, **request, "keySpec": "AES_256"}
        self.emit(when=when, source="kms.amazonaws.com", name=name,
                  identity=session.identity(invoked_by=service), source_ip=service,
                  user_agent=service, request=request, read_only=True,
                  resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key_arn}])

    def s3_kms(self, when: datetime, session: Session, name: str, bucket: str,
               purpose: str) -> None:
        """S3's forward call to KMS for an SSE-KMS object of ``bucket``."""
        self.kms_via(when, session, "s3.amazonaws.com", name, purpose,
                     {"aws:s3:arn": f"arn:aws:s3:::{bucket}"})

    def log_stream(self, when: datetime, session: Session, group: str, stream: str, *,
                   service: str | None = None, source_ip: str = "", user_agent: str = "") -> None:
        """CreateLogStream for the session's role: by ``service`` (from the service itself),
        or else by the role's own runtime from ``source_ip``."""
        self.emit(when=when, source="logs.amazonaws.com", name="CreateLogStream",
                  identity=session.identity(invoked_by=service), source_ip=service or source_ip,
                  user_agent=service or user_agent,
                  request={"logGroupName": group, "logStreamName": stream},
                  read_only=False, api_version="20140328", host=f"logs.{REGION}.amazonaws.com")

    def ecr_pull(self, when: datetime, session: Session, repo: str, layers: int) -> datetime:
        """A SageMaker host pulling an image: token, manifest, one URL per layer."""
        service = "sagemaker.amazonaws.com"
        identity = session.identity(invoked_by=service)
        repo_arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repo}"
        resources = [{"accountId": ACCOUNT, "ARN": repo_arn}]
        self.emit(when=when, source="ecr.amazonaws.com", name="GetAuthorizationToken",
                  identity=identity, source_ip=service, user_agent=service,
                  request={"registryIds": [ACCOUNT]}, read_only=True)
        when = self.jitter(when, 1, 3)
        self.emit(when=when, source="ecr.amazonaws.com", name="BatchGetImage", identity=identity,
                  source_ip=service, user_agent=service,
                  request={"imageIds": [{"imageTag": "latest"}],
                           "acceptedMediaTypes": [
                               "application/vnd.docker.distribution.manifest.v2+json",
                               "application/vnd.oci.image.manifest.v1+json"],
                           "repositoryName": repo, "registryId": ACCOUNT},
                  read_only=True, resources=resources)
        for _ in range(layers):
            when = self.jitter(when, 0, 2)
            self.emit(when=when, source="ecr.amazonaws.com", name="GetDownloadUrlForLayer",
                      identity=identity, source_ip=service, user_agent=service,
                      request={"registryId": ACCOUNT, "repositoryName": repo,
                               "layerDigest": "sha256:" + self.hex(64)},
                      read_only=True, resources=resources)
        return when

    def job_start(self, role: str, start: datetime, job: str, repo: str, layers: int,
                  log_group: str) -> tuple[Session, datetime]:
        """A SageMaker job's host starting with ``role``: its image pulled, its log stream
        opened; the session and the time it is ready."""
        session = self.session(role, "SageMaker", start, "sagemaker.amazonaws.com")
        now = self.ecr_pull(self.jitter(start, 20, 60), session, repo, layers)
        now = self.jitter(now, 20, 60)
        self.log_stream(now, session, log_group, f"{job}/algo-1-{int(now.timestamp())}",
                        service="sagemaker.amazonaws.com")
        return session, now

    def sagemaker(self, when: datetime, session: Session, name: str, request: dict[str, Any],
                  response: dict[str, Any] | None = None, *, read_only: bool) -> None:
        self.emit(when=when, source="sagemaker.amazonaws.com", name=name,
                  identity=session.identity(), source_ip=session.source_ip,
                  user_agent=SAGEMAKER_SDK, request=request, response=response,
                  read_only=read_only, host=f"api.sagemaker.{REGION}.amazonaws.com")

    def multipart_put(self, when: datetime, session: Session, source_ip: str, bucket: str,
                      key: str, parts: int) -> datetime:
        """CreateMultipartUpload, UploadPart per part, CompleteMultipartUpload (SSE-KMS)."""
        ident = session.identity()
        key_arn = self.key_arn("artifacts")
        upload_id = self.chars(64, ALNUM + "._-")
        self.s3_kms(when, session, "GenerateDataKey", bucket, "artifacts")
        self.s3(when, "CreateMultipartUpload", ident, source_ip=source_ip,
                user_agent=SAGEMAKER_PLATFORM, bucket=bucket, key=key,
                extra={"uploads": "", "x-amz-server-side-encryption": "aws:kms",
                       "x-amz-server-side-encryption-aws-kms-key-id": key_arn},
                response={"uploadId": upload_id, "bucket": bucket, "key": key,
                          "x-amz-server-side-encryption": "aws:kms",
                          "x-amz-server-side-encryption-aws-kms-key-id": key_arn},
                read_only=False, sse="SSE_KMS")
        for part in range(1, parts + 1):
            when = self.jitter(when, 1, 4)
            self.s3(when, "UploadPart", ident, source_ip=source_ip, user_agent=SAGEMAKER_PLATFORM,
                    bucket=bucket, key=key, extra={"partNumber": str(part), "uploadId": upload_id},
                    read_only=False, sse="SSE_KMS",
                    bytes_in=8_388_608 if part < parts else self.rng.randint(1, 8_388_608))
        when = self.jitter(when, 1, 3)
        self.s3(when, "CompleteMultipartUpload", ident, source_ip=source_ip,
                user_agent=SAGEMAKER_PLATFORM, bucket=bucket, key=key,
                extra={"uploadId": upload_id}, read_only=False, sse="SSE_KMS",
                response={"x-amz-server-side-encryption": "aws:kms",
                          "x-amz-server-side-encryption-aws-kms-key-id": key_arn})
        return when

    # ---- role 1: the CodeBuild pipeline -----------------------------------------------

    def pipeline_run(self, day: int) -> None:
        """One CodeBuild run: features, training, model, endpoint config, endpoint update."""
        start = self.jitter(day_start(day).replace(hour=8, minute=40), 0, 1200)
        build = self.uuid()
        session = self.session("pipeline", f"AWSCodeBuild-{build}", start, self.aws_ip())
        ident = session.identity()
        codebuild = "codebuild.amazonaws.com"
        self.log_stream(self.jitter(start, 2, 8), session, f"/aws/codebuild/{PIPELINE_PROJECT}",
                        build, service=codebuild)
        now = self.jitter(start, 8, 15)
        self.s3(now, "GetObject", session.identity(invoked_by=codebuild), source_ip=codebuild,
                user_agent=codebuild, bucket=PIPELINE_SOURCE,
                key=f"{PIPELINE_PROJECT}/SourceArti/{self.chars(7, ALNUM)}", read_only=True,
                bytes_out=self.rng.randint(180_000, 260_000), sse="Default_SSE_S3")
        now = self.jitter(now, 30, 60)
        self.emit(when=now, source="ssm.amazonaws.com", name="GetParameter", identity=ident,
                  source_ip=session.source_ip, user_agent=CODEBUILD_CLI + "ssm.get-parameter",
                  request={"name": PIPELINE_PARAMETER}, read_only=True,
                  host=f"ssm.{REGION}.amazonaws.com")
        sha = self.hex(8)
        now = self.jitter(now, 10, 40)
        self.s3_kms(now, session, "GenerateDataKey", ARTIFACTS, "artifacts")
        self.s3(now, "PutObject", ident, source_ip=session.source_ip, user_agent=SAGEMAKER_SDK,
                bucket=ARTIFACTS, key=f"pipelines/churn/{sha}/sourcedir.tar.gz", read_only=False,
                bytes_in=self.rng.randint(20_000, 90_000), sse="SSE_KMS",
                extra={"x-amz-server-side-encryption": "aws:kms"},
                response={"x-amz-server-side-encryption": "aws:kms",
                          "x-amz-server-side-encryption-aws-kms-key-id": self.key_arn("artifacts")})
        now = self.processing(self.jitter(now, 10, 30), session, day, sha)
        job, now = self.training(self.jitter(now, 20, 60), session, day, sha)
        self.deploy(self.jitter(now, 10, 30), session, job)

    def poll(self, start: datetime, end: datetime, session: Session, name: str,
             request: dict[str, Any]) -> datetime:
        """Describe calls every few minutes until ``end``; returns the last call's time."""
        when = start
        while when < end:
            when = self.jitter(when, 180, 300)
            self.sagemaker(when, session, name, request, read_only=True)
        return when

    def processing(self, now: datetime, session: Session, day: int, sha: str) -> datetime:
        """CreateProcessingJob for today's features, and polling until it ends."""
        job = f"churn-features-{now:%Y-%m-%d-%H-%M-%S}"
        date = f"{day_start(day):%Y-%m-%d}"
        self.sagemaker(now, session, "CreateProcessingJob", {
            "processingJobName": job,
            "processingInputs": [
                {"inputName": "raw", "s3Input": {
                    "s3Uri": f"s3://{DATASETS}/churn/raw/dt={date}/", "localPath":
                    "/opt/ml/processing/input", "s3DataType": "S3Prefix", "s3InputMode": "File"}},
                {"inputName": "code", "s3Input": {
                    "s3Uri": f"s3://{ARTIFACTS}/pipelines/churn/{sha}/sourcedir.tar.gz",
                    "localPath": "/opt/ml/processing/input/code", "s3DataType": "S3Prefix",
                    "s3InputMode": "File"}}],
            "processingResources": {"clusterConfig": {
                "instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGB": 30}},
            "stoppingCondition": {"maxRuntimeInSeconds": 3600},
            "appSpecification": {
                "imageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{PROCESSING_REPO}:latest",
                "containerEntrypoint": ["python3", "/opt/ml/processing/input/code/features.py"],
                "containerArguments": ["--dt", date]},
            "environment": {"GLUE_TABLE": f"{GLUE_DATABASE}.{GLUE_TABLE}"},
            "roleArn": self.roles["processing"].arn,
        }, {"processingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{job}"},
            read_only=False)
        end = self.processing_job(self.jitter(now, 90, 180), job, day, sha)
        return self.poll(now, end, session, "DescribeProcessingJob", {"processingJobName": job})

    def training(self, now: datetime, session: Session, day: int,
                 sha: str) -> tuple[str, datetime]:
        """CreateTrainingJob on every partition so far, and polling until it ends."""
        job = f"churn-xgb-{now:%Y-%m-%d-%H-%M-%S}"
        self.sagemaker(now, session, "CreateTrainingJob", {
            "trainingJobName": job,
            "hyperParameters": {"max_depth": "6", "eta": "0.2", "num_round": "200",
                                "sagemaker_program": "train.py",
                                "sagemaker_submit_directory":
                                    f"s3://{ARTIFACTS}/pipelines/churn/{sha}/sourcedir.tar.gz"},
            "algorithmSpecification": {
                "trainingImage": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{TRAINING_REPO}:latest",
                "trainingInputMode": "File", "enableSageMakerMetricsTimeSeries": True},
            "roleArn": self.roles["training"].arn,
            "inputDataConfig": [
                {"channelName": "train", "dataSource": {"s3DataSource": {
                    "s3DataType": "S3Prefix", "s3Uri": f"s3://{DATASETS}/churn/train/",
                    "s3DataDistributionType": "FullyReplicated"}},
                 "contentType": "application/x-parquet"},
                {"channelName": "validation", "dataSource": {"s3DataSource": {
                    "s3DataType": "S3Prefix", "s3Uri": f"s3://{DATASETS}/{VALIDATION_KEY}",
                    "s3DataDistributionType": "FullyReplicated"}},
                 "contentType": "application/x-parquet"}],
            "outputDataConfig": {"kmsKeyId": self.key_arn("artifacts"),
                                 "s3OutputPath": f"s3://{ARTIFACTS}/output/"},
            "resourceConfig": {"instanceType": "ml.m5.2xlarge", "instanceCount": 1,
                               "volumeSizeInGB": 50},
            "stoppingCondition": {"maxRuntimeInSeconds": 7200},
            "enableNetworkIsolation": False,
            "enableManagedSpotTraining": False,
        }, {"trainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job}"},
            read_only=False)
        end = self.training_job(self.jitter(now, 90, 180), job, day, sha)
        return job, self.poll(now, end, session, "DescribeTrainingJob", {"trainingJobName": job})

    def deploy(self, now: datetime, session: Session, job: str) -> None:
        """CreateModel, CreateEndpointConfig, UpdateEndpoint on the one endpoint, then watch it."""
        model = f"churn-xgb-{now:%Y-%m-%d-%H-%M-%S}"
        training_role = self.roles["training"]
        self.sagemaker(now, session, "DescribeTrainingJob", {"trainingJobName": job},
                       read_only=True)
        now = self.jitter(now, 3, 10)
        self.sagemaker(now, session, "CreateModel", {
            "modelName": model,
            "primaryContainer": {
                "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{SERVING_REPO}:latest",
                "mode": "SingleModel",
                "modelDataUrl": f"s3://{ARTIFACTS}/output/{job}/output/model.tar.gz",
                "environment": {"SAGEMAKER_PROGRAM": "inference.py",
                                "SAGEMAKER_REGION": REGION}},
            "executionRoleArn": training_role.arn,
            "enableNetworkIsolation": False,
        }, {"modelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{model}"}, read_only=False)
        now = self.jitter(now, 3, 10)
        config = f"ChurnEndpointConfig-{now:%Y%m%d-%H%M%S}"
        self.sagemaker(now, session, "CreateEndpointConfig", {
            "endpointConfigName": config,
            "productionVariants": [{"variantName": "AllTraffic", "modelName": model,
                                    "initialInstanceCount": 1, "instanceType": "ml.c5.xlarge",
                                    "initialVariantWeight": 1.0}],
            "kmsKeyId": self.key_arn("artifacts"),
        }, {"endpointConfigArn":
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/{config.lower()}"},
            read_only=False)
        now = self.jitter(now, 3, 10)
        endpoint_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}"
        self.sagemaker(now, session, "DescribeEndpoint", {"endpointName": ENDPOINT},
                       read_only=True)
        now = self.jitter(now, 1, 4)
        self.sagemaker(now, session, "UpdateEndpoint",
                       {"endpointName": ENDPOINT, "endpointConfigName": config,
                        "retainAllVariantProperties": False},
                       {"endpointArn": endpoint_arn}, read_only=False)
        self.endpoint_rollout(self.jitter(now, 90, 180), job)
        for _ in range(self.rng.randint(3, 6)):
            now = self.jitter(now, 60, 150)
            self.sagemaker(now, session, "DescribeEndpoint", {"endpointName": ENDPOINT},
                           read_only=True)
        self.sagemaker(self.jitter(now, 2, 8), session, "DescribeEndpointConfig",
                       {"endpointConfigName": config}, read_only=True)

    # ---- role 2: the SageMaker execution role (training and hosting) -------------------

    def training_job(self, start: datetime, job: str, day: int, sha: str) -> datetime:
        """The execution role's calls during one training job; returns when it ends."""
        session, now = self.job_start("training", start, job, TRAINING_REPO, 6,
                                      "/aws/sagemaker/TrainingJobs")
        ident = session.identity()
        host_ip = self.aws_ip()
        now = self.source_bundle(self.jitter(now, 1, 4), session, host_ip, sha)
        self.s3(now, "ListObjects", ident, source_ip=host_ip, user_agent=SAGEMAKER_PLATFORM,
                bucket=DATASETS, prefix="churn/train/",
                extra={"list-type": "2", "prefix": "churn/train/", "encoding-type": "url"},
                read_only=True, bytes_out=self.rng.randint(4_000, 16_000))
        self.s3_kms(self.jitter(now, 1, 2), session, "Decrypt", DATASETS, "datasets")
        for past in range(day + 1):
            for part in range(self.parts[past]):
                now = self.jitter(now, 0, 2)
                self.s3(now, "GetObject", ident, source_ip=host_ip,
                        user_agent=SAGEMAKER_PLATFORM, bucket=DATASETS,
                        key=f"churn/train/dt={day_start(past):%Y-%m-%d}/part-{part:05d}.parquet",
                        read_only=True, bytes_out=self.rng.randint(6_000_000, 9_000_000),
                        sse="SSE_KMS")
        now = self.jitter(now, 0, 2)
        self.s3(now, "GetObject", ident, source_ip=host_ip, user_agent=SAGEMAKER_PLATFORM,
                bucket=DATASETS, key=VALIDATION_KEY, read_only=True,
                bytes_out=self.rng.randint(2_000_000, 3_000_000), sse="SSE_KMS")
        end = self.jitter(now, 1200, 2100)
        return self.multipart_put(end, session, host_ip, ARTIFACTS,
                                  f"output/{job}/output/model.tar.gz", 3)

    def endpoint_rollout(self, start: datetime, job: str) -> None:
        """The endpoint's new instance: image pull, model download, its log stream."""
        session = self.session("training", "SageMaker", start, "sagemaker.amazonaws.com")
        now = self.ecr_pull(self.jitter(start, 30, 90), session, SERVING_REPO, 4)
        now = self.jitter(now, 10, 40)
        self.s3_kms(now, session, "Decrypt", ARTIFACTS, "artifacts")
        self.s3(now, "GetObject", session.identity(), source_ip=self.aws_ip(),
                user_agent=SAGEMAKER_PLATFORM, bucket=ARTIFACTS,
                key=f"output/{job}/output/model.tar.gz", read_only=True,
                bytes_out=self.rng.randint(17_000_000, 25_000_000), sse="SSE_KMS")
        now = self.jitter(now, 60, 180)
        self.log_stream(now, session, f"/aws/sagemaker/Endpoints/{ENDPOINT}",
                        f"AllTraffic/i-0{self.hex(16)}", service="sagemaker.amazonaws.com")

    # ---- role 3: the feature processing role ------------------------------------------

    def source_bundle(self, now: datetime, session: Session, source_ip: str,
                      sha: str) -> datetime:
        """The job's host downloading the pipeline's code bundle (SSE-KMS artifacts)."""
        self.s3_kms(now, session, "Decrypt", ARTIFACTS, "artifacts")
        self.s3(now, "GetObject", session.identity(), source_ip=source_ip,
                user_agent=SAGEMAKER_PLATFORM, bucket=ARTIFACTS,
                key=f"pipelines/churn/{sha}/sourcedir.tar.gz", read_only=True,
                bytes_out=self.rng.randint(20_000, 90_000), sse="SSE_KMS")
        return self.jitter(now, 1, 4)

    def processing_job(self, start: datetime, job: str, day: int, sha: str) -> datetime:
        """Raw events of the day -> one train partition, registered in Glue, checked by Athena."""
        session, now = self.job_start("processing", start, job, PROCESSING_REPO, 5,
                                      "/aws/sagemaker/ProcessingJobs")
        ident = session.identity()
        date = f"{day_start(day):%Y-%m-%d}"
        host_ip = self.aws_ip()
        raw_prefix = f"churn/raw/dt={date}/"
        now = self.source_bundle(self.jitter(now, 1, 4), session, host_ip, sha)
        self.s3(now, "ListObjects", ident, source_ip=host_ip, user_agent=SAGEMAKER_PLATFORM,
                bucket=DATASETS, prefix=raw_prefix,
                extra={"list-type": "2", "prefix": raw_prefix, "encoding-type": "url"},
                read_only=True, bytes_out=self.rng.randint(2_000, 6_000))
        self.s3_kms(self.jitter(now, 1, 2), session, "Decrypt", DATASETS, "datasets")
        for part in range(self.rng.randint(6, 10)):
            now = self.jitter(now, 0, 2)
            self.s3(now, "GetObject", ident, source_ip=host_ip, user_agent=SAGEMAKER_PLATFORM,
                    bucket=DATASETS, key=f"{raw_prefix}events-{part:05d}.json.gz", read_only=True,
                    bytes_out=self.rng.randint(20_000_000, 40_000_000), sse="SSE_KMS")
        container_ip = self.aws_ip()
        now = self.jitter(now, 600, 900)
        for part in range(self.parts[day]):
            now = self.jitter(now, 1, 5)
            self.s3_kms(now, session, "GenerateDataKey", DATASETS, "datasets")
            self.s3(now, "PutObject", ident, source_ip=container_ip, user_agent=CONTAINER_SDK,
                    bucket=DATASETS, key=f"churn/train/dt={date}/part-{part:05d}.parquet",
                    read_only=False, bytes_in=self.rng.randint(6_000_000, 9_000_000),
                    sse="SSE_KMS", extra={"x-amz-server-side-encryption": "aws:kms"})
        now = self.jitter(now, 2, 6)
        self.emit(when=now, source="glue.amazonaws.com", name="CreatePartition", identity=ident,
                  source_ip=container_ip, user_agent=CONTAINER_SDK,
                  request={"databaseName": GLUE_DATABASE, "tableName": GLUE_TABLE,
                           "partitionInput": {"values": [date], "storageDescriptor": {
                               "location": f"s3://{DATASETS}/churn/train/dt={date}/"}}},
                  read_only=False, host=f"glue.{REGION}.amazonaws.com")
        return self.athena_check(self.jitter(now, 2, 6), session, container_ip, date)

    def athena_check(self, now: datetime, session: Session, source_ip: str, date: str) -> datetime:
        """A row-count query on the new partition, and what Athena does for the caller."""
        ident = session.identity()
        athena = "athena.amazonaws.com"
        via = session.identity(invoked_by=athena)
        execution = self.uuid()
        output = f"s3://{ATHENA_RESULTS}/athena-results/"
        self.emit(when=now, source=athena, name="StartQueryExecution", identity=ident,
                  source_ip=source_ip, user_agent=CONTAINER_SDK,
                  request={"queryString": f"SELECT count(*) FROM {GLUE_TABLE} WHERE dt = '{date}'",
                           "clientRequestToken": self.uuid(),
                           "queryExecutionContext": {"database": GLUE_DATABASE},
                           "resultConfiguration": {"outputLocation": output},
                           "workGroup": WORKGROUP},
                  response={"queryExecutionId": execution}, read_only=False,
                  host=f"athena.{REGION}.amazonaws.com")
        now = self.jitter(now, 0, 1)
        for name, params in (("GetDatabase", {"name": GLUE_DATABASE}),
                             ("GetTable", {"databaseName": GLUE_DATABASE, "name": GLUE_TABLE}),
                             ("GetPartitions", {"databaseName": GLUE_DATABASE,
                                                "tableName": GLUE_TABLE,
                                                "expression": f"dt = '{date}'"})):
            self.emit(when=now, source="glue.amazonaws.com", name=name, identity=via,
                      source_ip=athena, user_agent=athena, request=params, read_only=True)
        prefix = f"churn/train/dt={date}/"
        self.s3(now, "ListObjects", via, source_ip=athena, user_agent=athena, bucket=DATASETS,
                prefix=prefix, extra={"list-type": "2", "prefix": prefix, "delimiter": "/"},
                read_only=True, bytes_out=self.rng.randint(1_000, 4_000))
        self.kms_via(now, session, "s3.amazonaws.com", "Decrypt", "datasets",
                     {"aws:s3:arn": f"arn:aws:s3:::{DATASETS}"})
        now = self.jitter(now, 3, 9)
        for suffix in (".csv", ".csv.metadata"):
            self.s3(now, "PutObject", via, source_ip=athena, user_agent=athena,
                    bucket=ATHENA_RESULTS, key=f"athena-results/{execution}{suffix}",
                    read_only=False, bytes_in=self.rng.randint(20, 400), sse="Default_SSE_S3")
        for _ in range(self.rng.randint(1, 3)):
            now = self.jitter(now, 1, 3)
            self.emit(when=now, source=athena, name="GetQueryExecution", identity=ident,
                      source_ip=source_ip, user_agent=CONTAINER_SDK,
                      request={"queryExecutionId": execution}, read_only=True,
                      host=f"athena.{REGION}.amazonaws.com")
        now = self.jitter(now, 1, 3)
        self.emit(when=now, source=athena, name="GetQueryResults", identity=ident,
                  source_ip=source_ip, user_agent=CONTAINER_SDK,
                  request={"queryExecutionId": execution, "maxResults": 1000}, read_only=True,
                  host=f"athena.{REGION}.amazonaws.com")
        self.s3(self.jitter(now, 0, 1), "GetObject", via, source_ip=athena, user_agent=athena,
                bucket=ATHENA_RESULTS, key=f"athena-results/{execution}.csv", read_only=True,
                bytes_out=self.rng.randint(20, 400), sse="Default_SSE_S3")
        return self.jitter(now, 30, 90)

    # ---- role 4: the Lambda summarizer -------------------------------------------------

    def summarizer_day(self, day: int) -> None:
        """A day of transcript summaries, with a few cold starts."""
        count = self.rng.randint(30, 45)
        begin = day_start(day).replace(hour=7)
        times = sorted(self.jitter(begin, 0, 15 * 3600) for _ in range(count))
        cold = {0} | {self.rng.randrange(count) for _ in range(self.rng.randint(1, 3))}
        session: Session | None = None
        for index, when in enumerate(times):
            if session is None or index in cold:
                session = self.cold_start(when)
                when = self.jitter(when, 1, 2)
            self.summarize(when, session)

    def cold_start(self, when: datetime) -> Session:
        """A new execution environment: its log stream, then the secret it reads at init."""
        session = self.session("summarizer", FUNCTION, when, self.aws_ip())
        self.log_stream(self.jitter(when, 0, 1), session, f"/aws/lambda/{FUNCTION}",
                        f"{when:%Y/%m/%d}/[$LATEST]{self.hex(32)}", source_ip=self.aws_ip(),
                        user_agent=LAMBDA_LOG_WORKER)
        now = self.jitter(when, 0, 1)
        self.emit(when=now, source="secretsmanager.amazonaws.com", name="GetSecretValue",
                  identity=session.identity(), source_ip=session.source_ip,
                  user_agent=LAMBDA_SDK, request={"secretId": SECRET_NAME}, read_only=True,
                  host=f"secretsmanager.{REGION}.amazonaws.com")
        self.kms_via(now, session, "secretsmanager.amazonaws.com", "Decrypt", "secrets",
                     {"SecretARN": self.secret_arn(), "SecretVersionId": self.uuid()})
        return session

    def summarize(self, when: datetime, session: Session) -> None:
        """One invocation: read a transcript, call the model, write the summary and job row."""
        ident = session.identity()
        call_id = self.uuid()
        date = f"{when:%Y-%m-%d}"
        self.dynamodb(when, session, "GetItem",
                      {"tableName": TABLE, "key": {"call_id": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                       "consistentRead": True}, read_only=True)
        now = self.jitter(when, 0, 1)
        self.s3(now, "GetObject", ident, source_ip=session.source_ip, user_agent=LAMBDA_SDK,
                bucket=CALLS, key=f"transcripts/{date}/{call_id}.json", read_only=True,
                bytes_out=self.rng.randint(8_000, 60_000), sse="Default_SSE_S3")
        now = self.jitter(now, 0, 1)
        name = "Converse" if self.rng.random() < 0.7 else "InvokeModel"
        self.emit(when=now, source="bedrock.amazonaws.com", name=name, identity=ident,
                  source_ip=session.source_ip, user_agent=LAMBDA_SDK,
                  request={"modelId": MODEL_ID}, read_only=True,
                  host=f"bedrock-runtime.{REGION}.amazonaws.com")
        now = self.jitter(now, 2, 12)
        self.s3(now, "PutObject", ident, source_ip=session.source_ip, user_agent=LAMBDA_SDK,
                bucket=CALLS, key=f"summaries/{date}/{call_id}.json", read_only=False,
                bytes_in=self.rng.randint(800, 4_000), sse="Default_SSE_S3")
        self.dynamodb(self.jitter(now, 0, 1), session, "PutItem",
                      {"tableName": TABLE, "key": {"call_id": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                       "item": ["call_id", "status", "summary_key", "model_id", "updated_at"]},
                      read_only=False)

    def dynamodb(self, when: datetime, session: Session, name: str, request: dict[str, Any], *,
                 read_only: bool) -> None:
        self.emit(when=when, source="dynamodb.amazonaws.com", name=name,
                  identity=session.identity(), source_ip=session.source_ip, user_agent=LAMBDA_SDK,
                  request=request, read_only=read_only, data=True,
                  resources=[{"accountId": ACCOUNT, "type": "AWS::DynamoDB::Table",
                              "ARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"}],
                  host=f"dynamodb.{REGION}.amazonaws.com", request_id=self.chars(52),
                  api_version="2012-08-10", version="1.09")

    # ---- every day --------------------------------------------------------------------

    def run(self, days: int) -> None:
        """Every role's work for every day, in a fixed order."""
        self.parts = [self.rng.randint(3, 5) for _ in range(days)]
        for day in range(days):
            self.pipeline_run(day)
            self.summarizer_day(day)


# --------------------------------------------------------------------------- probes


def s3_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def stream_arn(group: str, stream: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{stream}"


def probes(workload: Workload) -> list[dict[str, str]]:
    """Requests outside every naming pattern of the trail, one per line of probes.jsonl."""
    rng = workload.rng
    day8 = day_start(LEARNING_DAYS)
    date = f"{day8:%Y-%m-%d}"
    stamp8 = f"{date}-09-{rng.randint(10, 59):02d}-{rng.randint(10, 59):02d}"
    epoch = int(day8.timestamp()) + 9 * 3600 + rng.randint(0, 3599)
    sm = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
    job = f"churn-xgb-{stamp8}"
    call_id = workload.uuid()
    partition = f"churn/train/dt={date}/part-00000.parquet"
    raw = f"churn/raw/dt={date}/events-00000.json.gz"
    by_role: dict[str, list[tuple[str, str, str]]] = {
        # The CodeBuild pipeline role.
        "pipeline": [
            ("sagemaker:CreateTrainingJob", f"{sm}:training-job/fraud-lgbm-{stamp8}",
             "Another model family's training job: the role only ever trained churn-xgb-*."),
            ("sagemaker:CreateProcessingJob",
             f"{sm}:processing-job/fraud-features-{stamp8}",
             "Another family's processing job: the role only ran churn-features-*."),
            ("sagemaker:CreateModel", f"{sm}:model/fraud-lgbm-{stamp8}",
             "A model of another family: the role only created churn-xgb-* models."),
            ("sagemaker:CreateEndpointConfig",
             f"{sm}:endpoint-config/fraudendpointconfig-{day8:%Y%m%d}-094753",
             "An endpoint config of another family: only churnendpointconfig-* were created."),
            ("sagemaker:UpdateEndpoint", f"{sm}:endpoint/churn-staging",
             "A different endpoint: the role only ever updated churn-prod."),
            ("sagemaker:DeleteEndpoint", f"{sm}:endpoint/{ENDPOINT}",
             "Deleting the production endpoint: the role never deleted anything."),
            ("sagemaker:DeleteModel", f"{sm}:model/churn-xgb-2026-11-05-09-12-44",
             "Deleting a model: the role only creates models."),
            ("sagemaker:DeleteEndpointConfig",
             f"{sm}:endpoint-config/churnendpointconfig-20261105-091530",
             "Deleting an endpoint config: the role only creates them."),
            ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin/OrganizationAdmin",
             "Passing an admin role: the role only passed the two SageMaker execution roles."),
            ("s3:PutObject",
             s3_arn(ARTIFACTS, f"pipelines/fraud/{workload.hex(8)}/sourcedir.tar.gz"),
             "Another pipeline's source bundle: only pipelines/churn/<sha>/ was written."),
            ("s3:PutObject", s3_arn(DATASETS, partition),
             "Writing training data: the pipeline role only writes to the artifacts bucket."),
            ("logs:CreateLogStream",
             stream_arn("/aws/codebuild/fraud-pipeline", workload.uuid()),
             "Another CodeBuild project's log group."),
            ("ssm:GetParameter",
             f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/ml/fraud/pipeline-config",
             "Another parameter: the role only read /ml/churn/pipeline-config."),
        ],
        # The SageMaker execution role (training jobs and the endpoint's instances).
        "training": [
            ("logs:CreateLogStream",
             stream_arn("/aws/sagemaker/ProcessingJobs",
                        f"churn-features-{stamp8}/algo-1-{epoch}"),
             "Another log group: this role's streams are in TrainingJobs and "
             "Endpoints/churn-prod."),
            ("logs:CreateLogStream",
             stream_arn("/aws/sagemaker/Endpoints/fraud-prod", f"AllTraffic/i-0{workload.hex(16)}"),
             "Another endpoint's log group: only churn-prod's instances ran with this role."),
            ("s3:GetObject", s3_arn(DATASETS, raw),
             "Raw events: training read only the churn/train/ prefix and the validation file."),
            ("s3:GetObject", s3_arn(DATASETS, "churn/train/other.csv"),
             "Not a dt=<date>/part-<n>.parquet partition object."),
            ("s3:GetObject", s3_arn(DATASETS, f"fraud/train/dt={date}/part-00000.parquet"),
             "Another dataset in the same bucket."),
            ("s3:GetObject", s3_arn(CALLS, f"transcripts/{date}/{call_id}.json"),
             "Another bucket: the training role never read call transcripts."),
            ("s3:PutObject", s3_arn(DATASETS, partition),
             "Writing the dataset: the training role only reads it."),
            ("s3:PutObject",
             s3_arn(ARTIFACTS, f"output/fraud-lgbm-{stamp8}/output/model.tar.gz"),
             "Output of another family's job: only churn-xgb-* outputs were written."),
            ("s3:DeleteObject", s3_arn(ARTIFACTS, f"output/{job}/output/model.tar.gz"),
             "Deleting a model artifact: the role never deletes."),
            ("ecr:BatchGetImage",
             f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/ml-training/fraud-lgbm",
             "Another image repository: only the churn training and serving images were pulled."),
            ("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{workload.uuid()}",
             "Another KMS key."),
        ],
        # The feature processing role.
        "processing": [
            ("s3:PutObject", s3_arn(DATASETS, raw),
             "Writing raw events: the processing role only reads churn/raw/."),
            ("s3:DeleteObject", s3_arn(DATASETS, partition),
             "Deleting a partition: the role only writes new ones."),
            ("s3:GetObject",
             s3_arn(DATASETS, f"fraud/raw/dt={date}/events-00000.json.gz"),
             "Another dataset's raw events."),
            ("glue:DeleteTable", f"{glue}:table/{GLUE_DATABASE}/{GLUE_TABLE}",
             "Dropping the table: the role only adds partitions."),
            ("glue:CreatePartition", f"{glue}:table/{GLUE_DATABASE}/fraud_train",
             "Another table: only churn_lake.churn_train got partitions."),
            ("athena:StartQueryExecution",
             f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/primary",
             "Another workgroup: queries ran only in churn-features."),
            ("logs:CreateLogStream",
             stream_arn("/aws/sagemaker/TrainingJobs", f"{job}/algo-1-{epoch}"),
             "The training jobs' log group: this role only logs processing jobs."),
            ("s3:PutObject", s3_arn(ARTIFACTS, f"athena-results/{call_id}.csv"),
             "Query results in another bucket."),
            ("s3:GetObject", s3_arn(ARTIFACTS, f"output/{job}/output/model.tar.gz"),
             "Model artifacts: the processing role only reads its code bundle from this bucket."),
        ],
        # The Lambda summarizer role.
        "summarizer": [
            ("bedrock:InvokeModel",
             f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-opus-20240229-v1:0",
             "Another foundation model: the function only called Claude 3.5 Haiku."),
            ("bedrock:InvokeModelWithResponseStream",
             f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL_ID}",
             "Streaming invocation: the function never streamed."),
            ("dynamodb:DeleteTable", f"{table}/{TABLE}", "Deleting the job table."),
            ("dynamodb:Scan", f"{table}/{TABLE}",
             "A full-table read: the function only gets and puts single items."),
            ("dynamodb:GetItem", f"{table}/billing-ledger", "Another DynamoDB table."),
            ("secretsmanager:GetSecretValue",
             f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
             "prod/payments/stripe-api-key-Xq81Zr",
             "Another secret."),
            ("logs:CreateLogStream",
             stream_arn("/aws/lambda/payments-webhook",
                        f"{day8:%Y/%m/%d}/[$LATEST]{workload.hex(32)}"),
             "Another Lambda function's log group."),
            ("s3:GetObject", s3_arn(CALLS, f"recordings/{date}/{call_id}.wav"),
             "Another prefix of the same bucket: only transcripts/ is read."),
            ("s3:PutObject", s3_arn(CALLS, f"transcripts/{date}/{call_id}.json"),
             "Overwriting a transcript: transcripts/ is only read."),
            ("s3:DeleteObject", s3_arn(CALLS, f"summaries/{date}/{call_id}.json"),
             "Deleting a summary: the function only writes them."),
            ("s3:GetObject", s3_arn(DATASETS, partition),
             "Another bucket: the function never touched the ML datasets."),
        ],
    }
    lines = [{"principal": workload.roles[role].arn, "action": action, "resource": resource,
              "why": why}
             for role, requests in by_role.items() for action, resource, why in requests]
    return sorted(lines, key=lambda p: (p["principal"], p["action"], p["resource"]))


# --------------------------------------------------------------------------- delivery


def gzip_bytes(payload: bytes) -> bytes:
    """gzip with no file name and mtime 0, so the bytes depend on the payload only."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as out:
        out.write(payload)
    return buffer.getvalue()


def deliver(workload: Workload) -> dict[str, bytes]:
    """Hourly log files named and laid out the way CloudTrail delivers them to S3."""
    groups: dict[datetime, list[dict[str, Any]]] = {}
    for record in workload.records:
        when = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        groups.setdefault(when.replace(minute=0, second=0), []).append(record)
    files: dict[str, bytes] = {}
    for hour in sorted(groups):
        records = sorted(groups[hour], key=lambda r: (r["eventTime"], r["eventID"]))
        # Log files are not strictly ordered: swap neighbours the way delivery batches do.
        for index in range(len(records) - 1):
            if workload.rng.random() < 0.3:
                records[index], records[index + 1] = records[index + 1], records[index]
        delivered = hour + timedelta(hours=1, minutes=workload.rng.randint(1, 6))
        name = (f"{ACCOUNT}_CloudTrail_{REGION}_{delivered:%Y%m%dT%H%MZ}_"
                f"{workload.chars(16, ALNUM)}.json.gz")
        key = f"trail/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{delivered:%Y/%m/%d}/{name}"
        files[key] = gzip_bytes(json.dumps({"Records": records}, separators=(",", ":")).encode())
    return files


def build(days: int = DAYS, seed: int = SEED) -> tuple[dict[str, bytes], Workload]:
    """Every output file (path relative to the output dir -> bytes), and the workload."""
    workload = Workload(rng=random.Random(seed))
    workload.setup()
    probe_lines = probes(workload)
    workload.run(days)
    outputs = deliver(workload)
    outputs["probes.jsonl"] = "".join(
        json.dumps(line) + "\n" for line in probe_lines).encode()
    return outputs, workload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output-dir", type=Path, required=True, help="where to write")
    parser.add_argument("--days", type=int, default=DAYS, help=f"days of trail (default {DAYS})")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    output: Path = args.output_dir
    if (output / "trail").exists() or (output / "probes.jsonl").exists():
        print(f"{output} already holds trail/ or probes.jsonl; choose an empty folder",
              file=sys.stderr)
        return 2
    outputs, workload = build(args.days)
    for relative in sorted(outputs):
        target = output / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(outputs[relative])
    print(f"wrote {len(outputs)} files, {len(workload.records)} records to {output}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
