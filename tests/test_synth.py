"""Synthesis by example: grouping, conditions, Sids, folding, compression, size."""

from __future__ import annotations

import json
import re
from itertools import pairwise

import pytest

from iamgen.errors import PolicyTooLargeError
from iamgen.grants.evaluate import allows
from iamgen.model import Condition, Permission, PolicyDocument, Statement
from iamgen.policy import MANAGED_POLICY_LIMIT, policy_size, policy_to_dict, render_policy_json
from iamgen.synth import Generalization, SynthSettings, synthesize
from iamgen.synth.group import statement_chars
from iamgen.synth.normalize import writable

PASS_TO_SAGEMAKER = Condition("StringEquals", "iam:PassedToService", ("sagemaker.amazonaws.com",))
PASS_TO_LAMBDA = Condition("StringEquals", "iam:PassedToService", ("lambda.amazonaws.com",))
VIA_S3 = Condition("StringEquals", "kms:ViaService", ("s3.us-east-1.amazonaws.com",))
NONE = SynthSettings(generalization=Generalization.NONE)
DEFAULT = SynthSettings()


def statements(result_documents: tuple[PolicyDocument, ...]) -> list[Statement]:
    return [s for doc in result_documents for s in doc.statements]


def only_document(perms: list[Permission], settings: SynthSettings = DEFAULT) -> dict:
    result = synthesize(perms, settings)
    assert len(result.documents) == 1
    return policy_to_dict(result.documents[0])


def obj(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def test_same_actions_on_several_resources_share_a_statement() -> None:
    perms = [Permission(a, obj("b", k)) for a in ("s3:GetObject", "s3:PutObject") for k in "xyz"]
    doc = only_document(perms)
    assert doc["Statement"] == [
        {
            "Sid": "S3GetObjectPutObject",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [obj("b", "x"), obj("b", "y"), obj("b", "z")],
        }
    ]


def test_same_resources_for_several_actions_share_a_statement() -> None:
    table = "arn:aws:dynamodb:us-east-1:111122223333:table/T"
    perms = [
        Permission(a, table) for a in ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query")
    ]
    doc = only_document(perms)
    (stmt,) = doc["Statement"]
    assert stmt["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    assert stmt["Resource"] == table


def test_grouping_picks_the_shorter_of_the_two_shapes() -> None:
    # GetObject on 3 long ARNs, PutObject on one of them. Grouping by resource repeats
    # GetObject; grouping by action repeats an ARN. Actions are shorter: by resource wins.
    long = [obj("bucket", "some/long/prefix/" + k * 30) for k in "abc"]
    perms = [Permission("s3:GetObject", r) for r in long] + [Permission("s3:PutObject", long[0])]
    doc = only_document(perms, NONE)
    shapes = sorted(
        (
            tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],),
            s["Resource"] if isinstance(s["Resource"], str) else tuple(s["Resource"]),
        )
        for s in doc["Statement"]
    )
    assert shapes == [
        (("s3:GetObject",), tuple(long[1:])),
        (("s3:GetObject", "s3:PutObject"), long[0]),
    ]


def test_actions_come_out_in_catalog_spelling_and_deduplicated() -> None:
    perms = [Permission("S3:getobject", obj("b", "k")), Permission("s3:GetObject", obj("b", "k"))]
    doc = only_document(perms)
    assert doc["Statement"][0]["Action"] == "s3:GetObject"


def test_unknown_actions_are_kept_and_reported() -> None:
    result = synthesize([Permission("madeup:DoThing", "*")])
    assert statements(result.documents)[0].actions == ("madeup:DoThing",)
    assert result.unknown_actions == ("madeup:DoThing",)
    assert any("madeup:DoThing" in note for note in result.notes)


def test_actions_without_resource_use_star() -> None:
    perms = [Permission("ecr:GetAuthorizationToken", "*"), Permission("s3:ListAllMyBuckets", "*")]
    doc = only_document(perms)
    assert doc["Statement"] == [
        {
            "Sid": "EcrGetAuthorizationTokenS3ListAllMyBuckets",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken", "s3:ListAllMyBuckets"],
            "Resource": "*",
        }
    ]


def test_star_makes_other_resources_of_the_same_action_redundant() -> None:
    perms = [Permission("s3:ListBucket", "*"), Permission("s3:ListBucket", "arn:aws:s3:::b")]
    assert only_document(perms)["Statement"][0]["Resource"] == "*"


def test_different_conditions_are_never_merged() -> None:
    role = "arn:aws:iam::111122223333:role/Exec"
    perms = [
        Permission("iam:PassRole", role, (PASS_TO_SAGEMAKER,)),
        Permission("iam:PassRole", role, (PASS_TO_LAMBDA,)),
        Permission("iam:PassRole", "arn:aws:iam::111122223333:role/Other", (PASS_TO_SAGEMAKER,)),
        Permission("kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k", (VIA_S3,)),
        Permission("kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k"),
    ]
    doc = only_document(perms)
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert sorted(by_sid) == [
        "IamPassRoleToLambda",
        "IamPassRoleToSagemaker",
        "KmsDecrypt",
        "KmsDecryptViaS3",
    ]
    assert by_sid["IamPassRoleToSagemaker"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert by_sid["IamPassRoleToSagemaker"]["Resource"] == [
        "arn:aws:iam::111122223333:role/Exec",
        "arn:aws:iam::111122223333:role/Other",
    ]
    assert by_sid["IamPassRoleToLambda"]["Resource"] == role
    assert "Condition" not in by_sid["KmsDecrypt"]
    # The conditioned grant allows only through the named service.
    policy = synthesize(perms).documents[0]
    assert (
        allows(policy, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})
        is True
    )
    assert (
        allows(
            policy,
            "iam:PassRole",
            "arn:aws:iam::111122223333:role/Other",
            {"iam:PassedToService": "lambda.amazonaws.com"},
        )
        is False
    )


def test_sids_are_unique_readable_and_alphanumeric() -> None:
    perms = [
        Permission(f"s3:{a}", obj("b", k))
        for a, k in [
            ("GetObject", "1"),
            ("GetObject", "2"),
            ("PutObject", "2"),
            ("DeleteObject", "3"),
            ("GetObjectTagging", "3"),
            ("PutObjectTagging", "3"),
            ("AbortMultipartUpload", "3"),
        ]
    ]
    sids = [s.sid for s in statements(synthesize(perms, NONE).documents)]
    assert len(set(sids)) == len(sids)
    assert all(sid.isalnum() and sid.isascii() for sid in sids)
    assert "S3AbortMultipartUploadDeleteObjectGetObjectTaggingAnd1More" in sids


def test_equal_names_are_numbered_in_content_order() -> None:
    role = "arn:aws:iam::1:role/"
    perms = [
        Permission("iam:PassRole", role + "a", (PASS_TO_SAGEMAKER,)),
        Permission(
            "iam:PassRole",
            role + "b",
            (
                Condition(
                    "StringEquals",
                    "iam:PassedToService",
                    ("sagemaker.amazonaws.com", "glue.amazonaws.com"),
                ),
            ),
        ),
    ]
    sids = [s.sid for s in statements(synthesize(perms).documents)]
    assert sids == ["IamPassRoleToSagemaker", "IamPassRoleToSagemaker2"]


def test_output_is_sorted_by_sid() -> None:
    perms = [
        Permission("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q"),
        Permission("kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k"),
        Permission("bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/m"),
    ]
    sids = [s.sid for s in statements(synthesize(perms).documents)]
    assert sids == sorted(sids) == ["BedrockInvokeModel", "KmsDecrypt", "SqsSendMessage"]


# --- generalization ---------------------------------------------------------------


def word(i: int) -> str:
    """A name of letters only (0 -> "a", 12 -> "bc"): no date, id or number
    for name patterns to take, so these tests see folding alone."""
    return "".join(chr(ord("a") + int(digit)) for digit in str(i))


FOLDS = SynthSettings(min_variants=1_000_000)
"""Words never vary: with :func:`word` names, only folding generalizes."""


def many(action: str, bucket: str, folder: str, n: int) -> list[Permission]:
    return [Permission(action, obj(bucket, f"{folder}/{word(i)}.parquet")) for i in range(n)]


def test_sibling_objects_above_the_threshold_fold_into_the_prefix() -> None:
    perms = many("s3:GetObject", "data", "train/2024", 11)
    result = synthesize(perms, SynthSettings(fold_threshold=10, min_variants=1_000_000))
    assert statements(result.documents)[0].resources == ("arn:aws:s3:::data/train/2024/*",)
    (fold,) = result.folds
    assert (fold.pattern, fold.actions, fold.observed) == (
        "arn:aws:s3:::data/train/2024/*",
        ("s3:GetObject",),
        11,
    )
    assert any("11 observed" in n and "data/train/2024/*" in n for n in result.notes)


def test_at_the_threshold_nothing_folds() -> None:
    perms = many("s3:GetObject", "data", "train", 10)
    result = synthesize(perms, SynthSettings(fold_threshold=10, min_variants=1_000_000))
    assert len(statements(result.documents)[0].resources) == 10
    assert result.folds == ()


def test_none_keeps_every_arn() -> None:
    perms = many("s3:GetObject", "data", "train", 50)
    result = synthesize(perms, NONE)
    assert len(statements(result.documents)[0].resources) == 50
    assert result.folds == ()


def test_folding_is_per_action() -> None:
    # PutObject was seen on one object only: it must not get the whole prefix.
    perms = many("s3:GetObject", "data", "in", 12) + [
        Permission("s3:PutObject", obj("data", "in/a.parquet"))
    ]
    policy = synthesize(perms, FOLDS).documents[0]
    assert allows(policy, "s3:GetObject", obj("data", "in/new.parquet")) is True
    assert allows(policy, "s3:PutObject", obj("data", "in/new.parquet")) is False
    assert allows(policy, "s3:PutObject", obj("data", "in/a.parquet")) is True


def test_folding_never_crosses_buckets_or_partitions() -> None:
    perms = [Permission("s3:GetObject", obj(f"bucket-{i}", "same/key")) for i in range(30)]
    perms += [Permission("s3:GetObject", f"arn:aws-cn:s3:::cn-bucket/same/{word(i)}")
              for i in range(5)]
    perms += [Permission("s3:GetObject", f"arn:aws:s3:::cn-bucket/same/{word(i)}")
              for i in range(5)]
    result = synthesize(perms, SynthSettings(fold_threshold=6, min_variants=1_000_000))
    assert result.folds == ()
    assert len(statements(result.documents)[0].resources) == 40


def test_prefix_level_does_not_fold_the_bucket_root() -> None:
    perms = [Permission("s3:GetObject", obj("b", f"top-{i}")) for i in range(30)]
    assert synthesize(perms).folds == ()


def test_tree_level_folds_a_crowded_parent() -> None:
    perms = [Permission("s3:GetObject", obj("b", f"runs/{word(i)}/model.tar.gz"))
             for i in range(12)]
    assert synthesize(perms, FOLDS).folds == ()  # each run folder holds one object
    tree = synthesize(perms, SynthSettings(generalization=Generalization.TREE,
                                           min_variants=1_000_000))
    assert [f.pattern for f in tree.folds] == ["arn:aws:s3:::b/runs/*"]
    root = [Permission("s3:GetObject", obj("b", f"top-{word(i)}")) for i in range(30)]
    tree_folds = SynthSettings(generalization="tree", min_variants=1_000_000)
    assert [f.pattern for f in synthesize(root, tree_folds).folds] == [
        "arn:aws:s3:::b/*"
    ]


def test_keys_with_wildcard_characters_are_not_folded() -> None:
    perms = [Permission("s3:GetObject", obj("b", f"odd*/k{i}")) for i in range(20)]
    assert synthesize(perms).folds == ()


def test_only_s3_objects_fold() -> None:
    perms = [
        Permission("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:1:table/t/index/i{i}")
        for i in range(30)
    ]
    assert synthesize(perms).folds == ()


def test_folds_keep_their_conditions() -> None:
    cond = Condition("StringEquals", "s3:ExistingObjectTag/team", ("ml",))
    perms = [Permission(p.action, p.resource, (cond,)) for p in many("s3:GetObject", "d", "x", 11)]
    result = synthesize(perms, FOLDS)
    (stmt,) = statements(result.documents)
    assert stmt.resources == ("arn:aws:s3:::d/x/*",) and stmt.conditions == (cond,)
    assert result.folds[0].conditions == (cond,)


# --- action compression -----------------------------------------------------------


def test_compression_is_off_by_default() -> None:
    perms = [Permission(f"s3:{a}", "arn:aws:s3:::b") for a in ("GetBucketAcl", "GetBucketCors")]
    assert all("*" not in a for s in statements(synthesize(perms).documents) for a in s.actions)


def test_compression_only_where_the_catalog_has_nothing_unobserved() -> None:
    from iamgen.catalog import load_catalog

    catalog = load_catalog()
    acl = [
        a.full_name for a in catalog.actions_of("s3") if a.name.lower().startswith("getobjectacl")
    ]
    assert len(acl) >= 1
    # Every catalog action starting with "GetObjectVersion" observed: compressible.
    versions = [
        a.full_name for a in catalog.actions_of("s3") if a.name.startswith("GetObjectVersion")
    ]
    assert len(versions) >= 2
    perms = [Permission(a, obj("b", "k")) for a in versions]
    result = synthesize(perms, SynthSettings(compress_actions=True))
    (stmt,) = statements(result.documents)
    wildcards = [a for a in stmt.actions if "*" in a]
    assert wildcards, stmt.actions
    for wildcard in wildcards:
        prefix = wildcard.split(":")[1].rstrip("*").lower()
        covered = [
            a.full_name for a in catalog.actions_of("s3") if a.name.lower().startswith(prefix)
        ]
        assert set(covered) <= set(versions)
    # One missing: that wildcard would grant it, so it must not be used.
    partial = synthesize(perms[1:], SynthSettings(compress_actions=True))
    for s in statements(partial.documents):
        for a in s.actions:
            if "*" in a:
                prefix = a.split(":")[1].rstrip("*").lower()
                assert not versions[0].split(":")[1].lower().startswith(prefix)
    assert result.compressions and all(c.wildcard in wildcards for c in result.compressions)


# --- size ---------------------------------------------------------------------------


def test_large_inputs_split_into_documents_under_the_limit() -> None:
    perms = [
        Permission("s3:GetObject", obj(f"bucket-{i % 9}", f"p{i % 17}/object-{i:05d}.bin"))
        for i in range(3000)
    ]
    result = synthesize(perms, SynthSettings(generalization="none", max_documents=100))
    assert len(result.documents) > 1
    assert all(size <= MANAGED_POLICY_LIMIT for size in result.sizes)
    assert result.sizes == tuple(policy_size(d) for d in result.documents)
    assert min(result.sizes[:-1]) > 0.9 * MANAGED_POLICY_LIMIT  # documents are well filled
    granted = {r for s in statements(result.documents) for r in s.resources}
    assert granted == {p.resource for p in perms}
    sids = [s.sid for s in statements(result.documents)]
    assert len(sids) == len(set(sids))
    assert any(f"split into {len(result.documents)} documents" in n for n in result.notes)


def test_cut_pieces_are_full_even_with_characters_json_escapes() -> None:
    # Keys with quotes, backslashes, control characters and non-ASCII letters take
    # more (or, per byte, fewer) characters in JSON than in the ARN: each piece of a
    # cut statement must still fit, and must be full (one more resource would not).
    odd = ['q"uote', "back\\slash", "new\nline", "t\tab", "\x01ctl", "caf\u00e9", "\U0001f600"]
    perms = [Permission("s3:GetObject", obj("b", f"k/{odd[i % len(odd)]}-{i:03d}"))
             for i in range(120)]
    limit = 1200
    result = synthesize(perms, SynthSettings(generalization="none", size_limit=limit,
                                             max_documents=100))
    pieces = statements(result.documents)
    assert len(pieces) > 2
    assert all(size <= limit for size in result.sizes)
    # (the emoji cannot be in a policy: * takes its place)
    assert sorted(r for s in pieces for r in s.resources) == sorted(
        writable(p.resource) for p in perms)
    room = limit - policy_size(PolicyDocument(statements=())) - len('"Sid":"",') - 64
    ordered = sorted(pieces, key=lambda s: s.resources[0])
    for piece, after in pairwise(ordered):
        bigger = Statement(actions=piece.actions, resources=(*piece.resources, after.resources[0]))
        assert statement_chars(bigger) > room


def test_too_many_documents_generalize_one_step_further() -> None:
    perms = [
        Permission("s3:GetObject", obj("b", f"{word(i % 60)}/object-with-a-longish-name-{word(i)}"))
        for i in range(600)
    ]
    loose = synthesize(perms, SynthSettings(fold_threshold=20, max_documents=1,
                                            min_variants=1_000_000))
    assert len(loose.documents) == 1
    assert any("fold threshold lowered" in n for n in loose.notes)
    assert loose.folds
    strict = synthesize(perms, SynthSettings(generalization="none", max_documents=1))
    assert len(strict.documents) > 1
    assert any("more than 1 managed policies" in n for n in strict.notes)
    # When folding cannot get under the limit, the threshold is not lowered in vain.
    hopeless = synthesize(perms, SynthSettings(fold_threshold=20, max_documents=1, size_limit=300,
                                               min_variants=1_000_000))
    assert not any("lowered" in n for n in hopeless.notes)
    assert any("stays at 20" in n for n in hopeless.notes)


def test_a_single_permission_too_large_fails_clearly() -> None:
    with pytest.raises(PolicyTooLargeError, match="6144"):
        synthesize([Permission("s3:GetObject", obj("b", "k" * 7000))])
    # just under the limit alone, over it with room for a Sid: the figure said is the latter
    with pytest.raises(PolicyTooLargeError) as raised:
        synthesize([Permission("s3:GetObject", obj("b", "k" * 6040))])
    needed, limit = map(int, re.findall(r"(\d+) characters in a policy.* the (\d+) one",
                                        str(raised.value))[0])
    assert limit == MANAGED_POLICY_LIMIT < needed


def test_size_limit_is_configurable() -> None:
    perms = many("s3:GetObject", "b", "k", 40)
    result = synthesize(
        perms, SynthSettings(generalization="none", size_limit=1000, max_documents=50)
    )
    assert all(size <= 1000 for size in result.sizes)
    assert len(result.documents) > 1


def test_empty_input_writes_no_document() -> None:
    result = synthesize([])
    assert result.documents == () and result.notes


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        SynthSettings(fold_threshold=0)
    with pytest.raises(ValueError):
        SynthSettings(generalization="everything")  # type: ignore[arg-type]


def test_rendering_is_canonical_json() -> None:
    doc = synthesize(many("s3:GetObject", "b", "k", 3)).documents[0]
    text = render_policy_json(doc)
    assert json.loads(text)["Version"] == "2012-10-17"
    assert text.endswith("}\n")


def test_an_empty_folder_name_is_not_the_bucket_root() -> None:
    # S3 keys may start with "/" or hold "//": the folder named "" is not the bucket.
    perms = [Permission("s3:GetObject", obj("b", f"/{word(i)}")) for i in range(12)]
    result = synthesize(perms, FOLDS)
    assert [f.pattern for f in result.folds] == ["arn:aws:s3:::b//*"]
    assert allows(result.documents[0], "s3:GetObject", obj("b", "/new")) is True
    assert allows(result.documents[0], "s3:GetObject", obj("b", "other")) is False


def test_a_folder_marker_object_is_not_its_own_fold() -> None:
    # The console's "create folder" writes an object named "a/b/"; it counts in
    # a/b/ but a fold of a/b/ covers only what lies below it, so it stays exact.
    perms = [Permission("s3:GetObject", obj("b", f"a/b/{word(i)}")) for i in range(11)]
    perms.append(Permission("s3:GetObject", obj("b", "a/b/")))
    result = synthesize(perms, FOLDS)
    (fold,) = result.folds
    assert (fold.pattern, fold.observed) == ("arn:aws:s3:::b/a/b/*", 11)
    (stmt,) = statements(result.documents)
    assert stmt.resources == ("arn:aws:s3:::b/a/b/", "arn:aws:s3:::b/a/b/*")


def test_folds_of_one_folder_list_their_actions_case_insensitively() -> None:
    perms = [Permission(action, obj("b", f"k/{word(i)}"))
             for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject") for i in range(11)]
    (fold,) = synthesize(perms, FOLDS).folds
    assert fold.actions == ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")
    assert fold.observed == 11


def test_log_streams_of_one_group_fold_and_never_across_groups() -> None:
    group = "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/summarizer"
    perms = [
        Permission("logs:CreateLogStream", f"{group}:log-stream:{word(i)}") for i in range(12)
    ]
    other = "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/other:log-stream:s"
    perms.append(Permission("logs:CreateLogStream", other))
    result = synthesize(perms, FOLDS)
    assert [f.pattern for f in result.folds] == [f"{group}:log-stream:*"]
    (stmt,) = statements(result.documents)
    assert stmt.resources == (other, f"{group}:log-stream:*")
    policy = result.documents[0]
    assert allows(policy, "logs:CreateLogStream", f"{group}:log-stream:tomorrow") is True
    assert allows(policy, "logs:CreateLogStream", other[:-1] + "t") is False
    assert synthesize(perms, NONE).folds == ()
    assert synthesize(perms[:10] + [perms[-1]], FOLDS).folds == ()


def test_lambda_log_streams_are_a_declared_family() -> None:
    # One stream per cold start, YYYY/MM/DD/[version]<32 hex>: one observation
    # is enough to know the date and the id change; the version stays.
    group = "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/summarizer"
    seen = f"{group}:log-stream:2026/11/02/[$LATEST]{7:032x}"
    result = synthesize([Permission("logs:CreateLogStream", seen)])
    (pattern,) = result.patterns
    assert pattern.pattern == f"{group}:log-stream:*/[$LATEST]*"
    assert pattern.family == "lambda-log-stream" and pattern.varying == ("date", "environment")
    policy = result.documents[0]
    tomorrow = f"{group}:log-stream:2026/11/03/[$LATEST]{9:032x}"
    assert allows(policy, "logs:CreateLogStream", tomorrow) is True
    assert allows(policy, "logs:CreateLogStream", tomorrow.replace("$LATEST", "3")) is False
    assert allows(policy, "logs:CreateLogStream", tomorrow.replace("summarizer", "x")) is False
    assert synthesize([Permission("logs:CreateLogStream", seen)], NONE).patterns == ()


@pytest.mark.parametrize("settings", [NONE, DEFAULT])
def test_names_a_policy_cannot_hold_are_granted_with_wildcards_in_their_place(
        settings: SynthSettings) -> None:
    """IAM refuses a policy document with a character beyond U+00FF (CreatePolicy's
    PolicyDocument pattern): such a run becomes ? per character, or * when it
    holds one beyond the Basic Multilingual Plane; the names are still allowed."""
    keys = ["reports/日本語.pdf", "x/emoji😀.png", "café/menu.txt", "a\u2028b"]
    perms = [Permission("s3:GetObject", obj("b", key)) for key in keys]
    result = synthesize(perms, settings)
    text = "".join(render_policy_json(doc) for doc in result.documents)
    assert re.fullmatch("[\t\n\r\u0020-\u00ff]*", text)
    assert "arn:aws:s3:::b/café/menu.txt" in text  # Latin-1 stays as it is
    for perm in perms:
        assert allows(list(result.documents), perm.action, perm.resource), perm
    assert not allows(list(result.documents), "s3:GetObject", obj("b", "reports/abcd.pdf"))
    [note] = [note for note in result.notes if "an IAM policy cannot" in note]
    assert note.startswith("3 name(s) hold characters")
    # a folder of such names folds as any other (a fold's folder/* covers a ?)
    many = [Permission("s3:GetObject", obj("b", f"up/img-{n}-\u0100.png")) for n in range(40)]
    folded = synthesize(many, DEFAULT)
    assert [s.resources for s in statements(folded.documents)] == [("arn:aws:s3:::b/up/*",)]


def test_a_pattern_note_is_only_for_a_pattern_the_policy_grants() -> None:
    names = [f"arn:aws:ssm:us-east-1:111122223333:parameter/app/run-2026-11-0{d}" for d in
             range(1, 5)]
    perms = [Permission("ssm:GetParameter", n) for n in names]
    assert any(note.startswith("pattern ") for note in synthesize(perms).notes)
    exact = synthesize(perms, exact={("ssm:getparameter", n) for n in names})
    assert not any(note.startswith("pattern ") for note in exact.notes)


def test_a_name_kept_exact_is_kept_so_when_a_policy_cannot_hold_it_as_it_is() -> None:
    perms = [Permission("s3:GetObject", obj("b", f"up/img-{n}-\u0100.png")) for n in range(40)]
    kept = synthesize(perms, exact={("s3:getobject", p.resource) for p in perms})
    assert len([r for s in statements(kept.documents) for r in s.resources]) == 40  # no fold
