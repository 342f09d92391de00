"""Parameter transforms: a registry, checked against the rule data at load."""

from __future__ import annotations

import pytest

from iamgen.mapping.rules import param_table, placeholder_specs
from iamgen.mapping.transforms import ARN_TRANSFORMS, TRANSFORMS


def test_an_unknown_transform_in_the_data_is_an_error_at_load() -> None:
    entry = {"service": "s3", "placeholder": "BucketName", "paths": ["bucketName"],
             "transforms": ["lower", "uppercase"]}
    with pytest.raises(ValueError, match="s3:\\*:BucketName: unknown transform 'uppercase'"):
        param_table([entry])


def test_the_bundled_data_names_only_registered_transforms() -> None:
    placeholder_specs("s3", "bucket")  # loads the whole table: raises on an unknown name
    assert ARN_TRANSFORMS <= set(TRANSFORMS)


# A value each transform applies to, and what it makes of it.
APPLIED = {
    "strip_leading_slash": ("/prod/db", "prod/db"),
    "last_path_segment": ("a/b/c/", "c"),
    "secret_name": ("prod/db", "prod/db-??????"),
    "alias_only": ("alias/aws/s3", "alias/aws/s3"),
    "strip_alias_prefix": ("alias/aws/s3", "aws/s3"),
    "log_group_name": ("arn:aws:logs:us-east-1:111122223333:log-group:/aws/x:*", "/aws/x"),
    "log_group_any": ("/aws/x", "/aws/x:*"),
    "before_pipe": ("job|run", "job"),
    "lambda_function_name": ("111122223333:function:embed:live", "embed"),
    "s3_bucket_of_path": ("/bucket/key", "bucket"),
    "glue_child_catalog": ("111122223333:s3tablescatalog/b", "s3tablescatalog/b"),
}
# A value each of these transforms does not apply to: it gives None.
NOT_APPLICABLE = {
    "not_alias": "alias/aws/s3",
    "log_group_name": "arn:aws:logs:us-east-1:111122223333:destination:d",
    "managed_instance_id": "i-123",
    "glue_child_catalog": "111122223333",
}


@pytest.mark.parametrize(("name", "value", "expected"),
                         [(name, *case) for name, case in APPLIED.items()])
def test_each_transform(name: str, value: str, expected: str) -> None:
    assert TRANSFORMS[name](value) == expected


@pytest.mark.parametrize(("name", "value"), NOT_APPLICABLE.items())
def test_a_transform_gives_none_for_a_value_it_does_not_apply_to(name: str, value: str) -> None:
    assert TRANSFORMS[name](value) is None
