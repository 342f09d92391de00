"""Time parsing, principal matching, file names and spans used by every command."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamgen.commands.common import build_filters, file_stems, match_principals, parse_moment
from iamgen.errors import NothingUsableError, UsageError
from iamgen.model import Principal, PrincipalKind
from iamgen.render.names import check_name

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_relative_and_iso_times() -> None:
    assert parse_moment("90d", now=NOW) == datetime(2026, 8, 28, 12, 0, tzinfo=UTC)
    assert parse_moment("12h", now=NOW) == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    assert parse_moment("2026-11-01", now=NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    until = parse_moment("2026-11-01", now=NOW, end_of_day=True)
    assert until.date().isoformat() == "2026-11-01" and until.hour == 23
    assert parse_moment("2026-11-01T05:00:00+02:00", now=NOW) == datetime(2026, 11, 1, 3, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_moment("soon", now=NOW)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-02:00",
                                  "1000000d"])
def test_a_time_past_the_years_a_date_holds_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="out of the years|too long a span"):
        parse_moment(text, now=NOW)


def test_filters_validate() -> None:
    with pytest.raises(UsageError):
        build_filters("2026-11-02", "2026-11-01", None, None, now=NOW)
    with pytest.raises(UsageError):
        build_filters(None, None, ["12345"], None, now=NOW)


@pytest.mark.parametrize("region", ["us-east-1,us-west-2", "", "US-EAST-1", "us-east-1;x",
                                    "regions=us-east-1", "east"])
def test_a_region_that_cannot_be_one_is_refused(region: str) -> None:
    # Each would match no event; in a store's key some would also read as
    # other filters ("a,b" as two regions).
    with pytest.raises(UsageError, match="is not a region name"):
        build_filters(None, None, None, [region], now=NOW)


def test_region_names_are_taken() -> None:
    names = ["us-east-1", "us-gov-west-1", "cn-northwest-1", "eu-isoe-west-1", "il-central-1"]
    assert build_filters(None, None, None, names, now=NOW).regions == frozenset(names)


ROLE = Principal("arn:aws:iam::111122223333:role/service-role/Trainer", PrincipalKind.ROLE)
OTHER = Principal("arn:aws:iam::444455556666:role/Trainer", PrincipalKind.ROLE)
USER = Principal("arn:aws:iam::111122223333:user/Trainer", PrincipalKind.USER)


def test_match_by_name_takes_every_principal_of_that_name() -> None:
    assert match_principals(["Trainer"], [ROLE, OTHER, USER]) == sorted([ROLE, OTHER, USER])
    assert match_principals(["user/Trainer"], [ROLE, OTHER, USER]) == [USER]
    assert match_principals([ROLE.arn], [ROLE, OTHER, USER]) == [ROLE]
    with pytest.raises(NothingUsableError, match="Nobody"):
        match_principals(["Nobody"], [ROLE])


def test_file_names_are_unique_on_clash() -> None:
    stems = file_stems([ROLE, OTHER, USER])
    assert len(set(stems.values())) == 3
    assert file_stems([ROLE]) == {ROLE: "Trainer"}


def _role(arn: str) -> Principal:
    return Principal(arn, PrincipalKind.ROLE if ":role/" in arn else PrincipalKind.USER)


@pytest.mark.parametrize("arns", [
    # one role seen with its path and once without (no sessionContext): same kind and account
    ["arn:aws:iam::111122223333:role/service-role/etl", "arn:aws:iam::111122223333:role/etl"],
    # a user ARN as IAM writes it and as STS does
    ["arn:aws:iam::111122223333:user/Mary", "arn:aws:sts::111122223333:user/Mary"],
    # names alike but for case (across accounts: IAM keeps names unique within one only)
    ["arn:aws:iam::111122223333:role/Etl", "arn:aws:iam::444455556666:role/etl"],
    # one name is another's split part or sidecar
    ["arn:aws:iam::111122223333:role/etl", "arn:aws:iam::111122223333:role/etl.2",
     "arn:aws:iam::111122223333:role/ETL.meta"],
    # one name is another's qualified one
    ["arn:aws:iam::111122223333:role/etl", "arn:aws:iam::444455556666:role/etl",
     "arn:aws:iam::111122223333:role/etl-role-444455556666"],
])
def test_no_principals_files_can_overwrite_anothers(arns: list[str]) -> None:
    principals = [_role(arn) for arn in arns]
    stems = file_stems(principals)
    _assert_apart(stems)
    assert stems == file_stems(list(reversed(principals)))


def _assert_apart(stems: dict[Principal, str]) -> None:
    names = {}
    for principal, stem in stems.items():
        for suffix in (".json", ".2.json", ".3.json", ".meta.json", ".tf", ".yaml"):
            name = (stem + suffix).casefold()
            assert names.setdefault(name, principal) == principal, (stem, suffix)


_NAME = st.text(alphabet="aAbB.2-_", min_size=1, max_size=6).filter(lambda n: n not in (".", ".."))


@given(st.lists(st.tuples(st.sampled_from(["111122223333", "444455556666"]),
                          st.sampled_from(["role/", "role/p/", "user/"]), _NAME),
                min_size=1, max_size=8))
def test_file_names_never_clash_property(triples: list[tuple[str, str, str]]) -> None:
    principals = list({_role(f"arn:aws:iam::{account}:{kind}{name}"): None
                       for account, kind, name in triples})
    stems = file_stems(principals)
    _assert_apart(stems)
    for principal, stem in stems.items():
        check_name(stem)
        if not any(other != principal and other.name.casefold() == principal.name.casefold()
                   for other in principals) and "." not in principal.name:
            assert stem == principal.name  # a name that cannot clash is kept


def test_one_span_reader_for_since_and_holdout() -> None:
    from datetime import timedelta

    import pytest

    from iamgen.commands.backtest import parse_span
    from iamgen.commands.common import relative_span
    from iamgen.errors import UsageError

    assert relative_span(" 36h ") == timedelta(hours=36) == parse_span("36h")
    assert relative_span("2026-11-01") is None
    for text in ("99999999999999d",):
        with pytest.raises(UsageError, match="too long"):
            relative_span(text)
        with pytest.raises(UsageError, match="too long"):
            parse_span(text)
    with pytest.raises(UsageError, match="must be positive"):
        parse_span("0d")


def test_a_span_of_more_digits_than_a_number_holds_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="too long a span"):
        parse_moment("9" * 5000 + "d", now=NOW)


def test_in_utc() -> None:
    from iamgen.model import in_utc

    assert in_utc(datetime(2026, 11, 1, 5)) == datetime(2026, 11, 1, 5, tzinfo=UTC)
    assert in_utc(datetime.fromisoformat("2026-11-01T05:00:00+02:00")) == \
        datetime(2026, 11, 1, 3, tzinfo=UTC)
    assert in_utc(datetime.fromisoformat("0001-01-01T00:30:00+01:00")) is None
    assert in_utc(datetime.fromisoformat("9999-12-31T23:30:00-01:00")) is None


@pytest.mark.parametrize("name", ["..", ".", "x" * 140])
def test_a_name_no_file_can_have_gets_one(name: str) -> None:
    """IAM's name pattern allows "..", and a damaged record may name a
    principal at any length: each gets a file name of its own, so one odd
    principal never ends a --all run."""
    odd, other = _role(f"arn:aws:iam::111122223333:role/{name}"), _role(ROLE.arn)
    stems = file_stems([odd, other])
    check_name(stems[odd])
    assert stems[other] == "Trainer" and len(stems[odd]) <= 64
