"""A hand-built sample of usages, and helpers to write more, for the access-graph tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from iamgen.model import Condition, Permission, Principal, PrincipalKind, Usage

ACCOUNT = "111122223333"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def role(name: str, path: str = "/", account: str = ACCOUNT) -> Principal:
    """A role named ``name`` at ``path``."""
    return Principal(f"arn:aws:iam::{account}:role{path}{name}", PrincipalKind.ROLE)


def user(name: str) -> Principal:
    """A user of ACCOUNT."""
    return Principal(f"arn:aws:iam::{ACCOUNT}:user/{name}", PrincipalKind.USER)


def use(principal: Principal, action: str, resource: str = "*", *, denied: bool = False,
        count: int = 1, days: int = 0, regions: tuple[str, ...] = ("us-east-1",),
        conditions: tuple[Condition, ...] = ()) -> Usage:
    """A usage first seen ``days`` after T0 and last seen two hours later."""
    first = T0 + timedelta(days=days)
    return Usage(principal, Permission(action, resource, conditions), denied, count,
                 first, first + timedelta(hours=2), regions)


TRAINER = role("Trainer", "/service-role/")
PIPELINE = role("Pipeline")
DEPLOYER = role("Deployer")
ALICE = user("alice")
BUCKET = "arn:aws:s3:::ml-data"
OBJECT = "arn:aws:s3:::ml-data/train/a.csv"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MODEL = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"

SAMPLE = (
    use(TRAINER, "s3:GetObject", OBJECT, count=40),
    use(TRAINER, "s3:ListBucket", BUCKET, count=3, days=2),
    use(TRAINER, "kms:Decrypt", KEY, count=40,
        conditions=(Condition("StringEquals", "kms:ViaService", ("s3.us-east-1.amazonaws.com",)),)),
    use(TRAINER, "s3:PutObject", "arn:aws:s3:::other/x", denied=True),
    use(TRAINER, "ecr:GetAuthorizationToken", "*"),
    use(PIPELINE, "bedrock:InvokeModel", MODEL, count=7, days=5),
    use(PIPELINE, "s3:GetObject", OBJECT, days=6, regions=("eu-west-1", "us-east-1")),
    # Alice assumes Pipeline, which assumes Trainer; the logged role ARN lacks Trainer's path.
    use(ALICE, "sts:AssumeRole", PIPELINE.arn, count=2, days=1),
    use(PIPELINE, "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/Trainer", days=1),
    use(PIPELINE, "sts:TagSession", f"arn:aws:iam::{ACCOUNT}:role/Trainer", days=1),
    # A denied AssumeRole is evidence, not a chain.
    use(ALICE, "sts:AssumeRole", DEPLOYER.arn, denied=True),
)
