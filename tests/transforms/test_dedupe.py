from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from schemas.clean_leads import PHONE_SLOTS
from tests.transforms.frames import clean_leads
from transforms.dedupe import decide_disposition


def _codes(frame: pl.DataFrame) -> list[list[str]]:
    return [[i["code"] for i in issues] for issues in frame["issues"].to_list()]


def test_rows_without_phone_or_email_are_rejected_with_no_channel() -> None:
    out = decide_disposition(clean_leads([{"phone1_raw": "abc"}, {"email": "a@x.com"}]))
    assert out["disposition"].to_list() == ["rejected", "ready"]
    assert _codes(out)[0] == ["NO_CHANNEL"]


def test_first_occurrence_is_kept_and_later_ones_point_at_it() -> None:
    out = decide_disposition(
        clean_leads(
            [
                {"phone1": "+14155550001"},
                {"phone2": "+14155550001"},
                {"email": "A@x.com"},
                {"email": "a@X.com"},
            ]
        )
    )
    assert out["disposition"].to_list() == ["ready", "duplicate", "ready", "duplicate"]
    assert out["duplicate_of"].to_list() == [None, 1, None, 3]
    assert _codes(out)[1] == ["DUPLICATE_PHONE"]
    assert _codes(out)[3] == ["DUPLICATE_EMAIL"]


def test_only_file_external_ids_are_a_dedupe_key() -> None:
    out = decide_disposition(
        clean_leads(
            [
                {"external_id": "C1", "external_id_origin": "file", "phone1": "+14155550001"},
                {"external_id": "C1", "external_id_origin": "file", "phone1": "+14155550002"},
            ]
        )
    )
    assert out["disposition"].to_list() == ["ready", "duplicate"]
    assert _codes(out)[1] == ["DUPLICATE_EXTERNAL_ID"]


def test_dedupe_keys_are_configurable() -> None:
    rows = [{"phone1": "+14155550001", "email": "a@x.com"}, {"phone1": "+14155550001", "email": "b@x.com"}]
    out = decide_disposition(clean_leads(rows), keys=("email",))
    assert out["disposition"].to_list() == ["ready", "ready"]


def test_duplicate_chains_point_at_the_kept_row() -> None:
    out = decide_disposition(
        clean_leads(
            [
                {"phone1": "+14155550001"},
                {"phone1": "+14155550001", "email": "b@x.com"},
                {"email": "b@x.com"},
            ]
        )
    )
    assert out["duplicate_of"].to_list() == [None, 1, 1]


def test_suppression_by_phone_or_email_wins_over_duplicate() -> None:
    out = decide_disposition(
        clean_leads(
            [
                {"phone1": "+14155550001"},
                {"phone1": "+14155550009", "email": "stop@x.com"},
                {"phone1": "+14155550001", "email": "STOP@x.com"},
            ]
        ),
        suppressed_phones=pl.Series(["+14155550009"]),
        suppressed_emails=pl.Series(["stop@x.com"]),
    )
    assert out["disposition"].to_list() == ["ready", "suppressed", "suppressed"]
    assert _codes(out)[1] == ["SUPPRESSED_PHONE", "SUPPRESSED_EMAIL"]
    assert _codes(out)[2] == ["SUPPRESSED_EMAIL"]


phones = st.sampled_from(["+14155550001", "+14155550002", "+14155550003", None])
emails = st.sampled_from(["a@x.com", "b@x.com", None])


@given(st.lists(st.tuples(phones, phones, emails), max_size=40))
def test_every_row_gets_one_disposition_and_pointers_name_kept_earlier_rows(
    rows: list[tuple[str | None, str | None, str | None]],
) -> None:
    frame = clean_leads([{"phone1": p1, "phone2": p2, "email": e} for p1, p2, e in rows])
    out = decide_disposition(frame)
    assert out.height == len(rows)
    assert out["source_row"].to_list() == list(range(1, len(rows) + 1))
    by_row = dict(zip(out["source_row"], out["disposition"], strict=True))
    for row, kept in zip(out["source_row"], out["duplicate_of"], strict=True):
        if kept is not None:
            assert kept < row
            assert by_row[kept] == "ready"
    # no two ready rows share a phone or an email
    owners: dict[str, int] = {}
    for r in out.filter(pl.col("disposition") == "ready").iter_rows(named=True):
        for value in {r["phone1"], r["phone2"], r["email"]} - {None}:
            assert owners.setdefault(value, r["source_row"]) == r["source_row"]


C1 = {"external_id": "C1", "external_id_origin": "file"}


def test_duplicate_on_names_the_field_of_the_duplicate_that_matched() -> None:
    out = decide_disposition(
        clean_leads(
            [
                C1 | {"phone1": "+14155550001", "email": "a@x.com"},
                {"phone1": "+14155550009", "phone2": "+14155550001"},
                {"phone1": "+14155550008", "phone3": "+14155550001"},
                {"phone1": "+14155550007", "email": "A@X.com"},
                C1 | {"phone1": "+14155550006"},
                {"phone1": "+14155550005"},
            ]
        )
    )
    assert out["duplicate_of"].to_list() == [None, 1, 1, 1, 1, None]
    assert out["duplicate_on"].to_list() == [None, "phone2", "phone3", "email", "external_id", None]


def test_duplicate_on_prefers_the_earliest_kept_row_then_the_first_key() -> None:
    out = decide_disposition(
        clean_leads(
            [
                {"phone1": "+14155550001"},
                {"phone1": "+14155550002", "email": "b@x.com"},
                # matches row 2 by phone1 and row 1 by phone2: the earlier row's field wins
                {"phone1": "+14155550002", "phone2": "+14155550001"},
                # matches row 1 by external id, phone1 and email: external_id is the first key
                C1 | {"phone1": "+14155550003", "email": "c@x.com"},
                C1 | {"phone1": "+14155550003", "email": "c@x.com"},
            ]
        )
    )
    assert out["duplicate_of"].to_list() == [None, None, 1, None, 4]
    assert out["duplicate_on"].to_list() == [None, None, "phone2", None, "external_id"]


@given(st.lists(st.tuples(phones, phones, emails), max_size=40))
def test_duplicate_on_is_set_exactly_for_duplicates_and_its_value_occurs_in_an_earlier_row(
    rows: list[tuple[str | None, str | None, str | None]],
) -> None:
    out = decide_disposition(clean_leads([{"phone1": p1, "phone2": p2, "email": e} for p1, p2, e in rows]))
    earlier: set[str] = set()
    for row in out.iter_rows(named=True):
        on = row["duplicate_on"]
        assert (on is not None) == (row["disposition"] == "duplicate")
        if on is not None:
            assert row[on] in earlier
        earlier |= {row["phone1"], row["phone2"], row["email"]} - {None}


def test_two_extensions_of_one_number_are_two_leads_and_a_repeated_extension_a_duplicate() -> None:
    out = decide_disposition(
        clean_leads(
            [
                {"phone1": "+12125550100", "phone1_ext": "12"},
                {"phone1": "+12125550100", "phone1_ext": "34"},
                {"phone1": "+12125550100"},
                {"phone2": "+12125550100", "phone2_ext": "12"},
                {"phone1": "+12125550100"},
            ]
        )
    )
    assert out["disposition"].to_list() == ["ready", "ready", "ready", "duplicate", "duplicate"]
    assert out["duplicate_of"].to_list() == [None, None, None, 1, 3]
    assert out["duplicate_on"].to_list() == [None, None, None, "phone2", "phone1"]
    dup = out["issues"][3].to_list()
    assert dup == [{"code": "DUPLICATE_PHONE", "column": "phone2", "value": "+12125550100;ext=12"}]


def test_extensions_tell_leads_apart_but_a_listed_main_number_suppresses_every_extension() -> None:
    out = decide_disposition(
        clean_leads(
            [
                {"phone1": "+12125550100", "phone1_ext": "12"},
                {"phone1": "+12125550100", "phone1_ext": "34"},
                {"phone1": "+12125550100"},
                {"phone1": "+12125550101", "phone1_ext": "12"},
                {"phone1": "+12125550101", "phone1_ext": "34"},
            ]
        ),
        suppressed_phones=pl.Series(["+12125550100"]),
    )
    assert out["disposition"].to_list() == ["suppressed", "suppressed", "suppressed", "ready", "ready"]
    assert _codes(out)[:3] == [["SUPPRESSED_PHONE"]] * 3


_EXTENSION = st.one_of(st.none(), st.text(alphabet="0123456789", min_size=1, max_size=6))


@given(st.lists(_EXTENSION, min_size=2, max_size=12, unique=True), st.sampled_from(PHONE_SLOTS))
def test_rows_of_one_number_with_different_extensions_are_never_duplicates(
    extensions: list[str | None], slot: str
) -> None:
    rows = [{slot: "+12125550100", f"{slot}_ext": ext} for ext in extensions]
    out = decide_disposition(clean_leads(rows + rows[:1]))
    assert out["disposition"].to_list() == ["ready"] * len(extensions) + ["duplicate"]
    assert out["duplicate_of"][-1] == 1
