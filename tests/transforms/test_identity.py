from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from tests.transforms.frames import clean_leads
from transforms.identity import assign_external_ids, stable_hash_64

# Values pinned when the hash was defined: ledgers keep these ids, so they must never change.
PINNED = {
    "": "efd01f60ba992926",
    "a": "1aa7aff062d9916e",
    "hello world": "e967891b9967b365",
    "abcdefgh": "3d8b6e43e1db43a2",
}


def test_stable_hash_values_never_change() -> None:
    out = stable_hash_64(pl.Series(list(PINNED))).to_list()
    assert out == list(PINNED.values())


def test_stable_hash_keeps_nulls_and_order() -> None:
    out = stable_hash_64(pl.Series(["b", None, "a"])).to_list()
    assert out[1] is None
    assert out[0] == stable_hash_64(pl.Series(["b"]))[0]
    assert out[2] == PINNED["a"]


@given(st.lists(st.text(max_size=30), min_size=1, max_size=50))
def test_stable_hash_depends_only_on_the_value(values: list[str]) -> None:
    together = stable_hash_64(pl.Series(values)).to_list()
    alone = [stable_hash_64(pl.Series([v]))[0] for v in values]
    assert together == alone


@given(st.sets(st.text(max_size=20), min_size=2, max_size=200))
def test_stable_hash_separates_distinct_values(values: set[str]) -> None:
    # 64 bits: a collision among 200 values would be a defect of the mixing, not bad luck
    assert stable_hash_64(pl.Series(sorted(values))).n_unique() == len(values)


def test_file_ids_are_kept_and_others_hashed_from_source_and_contact() -> None:
    frame = clean_leads(
        [
            {"external_id": " C-1 ", "phone1": "+14155552671"},
            {"external_id": None, "phone1": "+14155552671", "first_name": "Ann"},
            {"external_id": "", "email": "a@x.com"},
        ]
    )
    out = assign_external_ids(frame, source="crm")
    assert out["external_id"][0] == "C-1"
    assert out["external_id_origin"].to_list() == ["file", "hash", "hash"]
    assert all(v.startswith("lf-") for v in out["external_id"][1:])
    again = assign_external_ids(frame, source="crm")
    assert again["external_id"].to_list() == out["external_id"].to_list()
    other_source = assign_external_ids(frame, source="web")
    assert other_source["external_id"][1] != out["external_id"][1]


def test_rows_without_channel_still_get_distinct_ids() -> None:
    frame = clean_leads([{"phone1_raw": "garbage"}, {"phone1_raw": "garbage"}])
    out = assign_external_ids(frame, source="crm")
    assert out["external_id"].null_count() == 0
    assert out["external_id"].n_unique() == 2


_MAIN = "+12125550100"
_SWITCHBOARD: list[dict[str, object]] = [
    {"external_id": None, "phone1": _MAIN},
    {"external_id": None, "phone1": _MAIN, "phone1_ext": "12"},
    {"external_id": None, "phone1": _MAIN, "phone1_ext": "34"},
    {"external_id": None, "phone2": _MAIN, "phone2_ext": "12"},
]
"""Leads without ids at one number: without an extension, at extensions 12 and 34 in the first
slot, and at 12 in the second."""


def test_extensions_of_one_number_get_distinct_ids_and_a_number_without_one_keeps_its_id() -> None:
    frame = clean_leads(_SWITCHBOARD)
    ids = assign_external_ids(frame, source="crm")["external_id"].to_list()
    # pinned before extensions counted: a phone without one keeps the id ledgers hold
    assert ids[0] == "lf-a179575cfcfd9f97"
    assert len({ids[0], ids[1], ids[2]}) == 3
    assert ids[3] == ids[1]  # the first valid phone and its extension, whichever its slot


def test_a_generated_id_whose_first_phone_has_an_extension_keeps_the_id_earlier_versions_gave() -> None:
    frame = clean_leads(
        [
            *_SWITCHBOARD,
            {"external_id": None, "phone1": _MAIN, "phone2": "+12125550199", "phone2_ext": "7"},
            {"external_id": "C-1", "phone1": _MAIN, "phone1_ext": "12"},
            {"external_id": None, "phone1_raw": "garbage", "phone1_ext": "12"},
        ]
    )
    out = assign_external_ids(frame, source="crm")
    # the id of the number without extension, pinned before extensions counted
    old = "lf-a179575cfcfd9f97"
    assert out["legacy_external_id"].to_list() == [None, old, old, old, None, None, None]
    assert out["external_id"][0] == old


_PHONE = st.sampled_from([None, "+12125550100", "+12125550199"])
_EXT = st.sampled_from([None, "12", "34"])
_LEAD = st.fixed_dictionaries(
    {
        "external_id": st.sampled_from([None, None, "C-1"]),
        "phone1": _PHONE,
        "phone1_ext": _EXT,
        "phone2": _PHONE,
        "phone2_ext": _EXT,
        "phone3": _PHONE,
        "phone3_ext": _EXT,
        "email": st.sampled_from([None, "a@x.com"]),
        "first_name": st.sampled_from([None, "Ann"]),
    }
)


@given(st.lists(_LEAD, min_size=1, max_size=20))
def test_the_legacy_id_is_the_id_of_the_same_lead_without_extensions_where_that_differs(
    rows: list[dict[str, object]],
) -> None:
    frame = clean_leads(rows)
    out = assign_external_ids(frame, source="crm")
    bare = frame.with_columns(pl.lit(None, pl.String).alias(f"phone{n}_ext") for n in (1, 2, 3))
    before = assign_external_ids(bare, source="crm")
    assert before["legacy_external_id"].null_count() == frame.height  # no extension: nothing more
    expected = [
        old if origin == "hash" and now != old else None
        for now, old, origin in zip(
            out["external_id"], before["external_id"], out["external_id_origin"], strict=True
        )
    ]
    assert out["legacy_external_id"].to_list() == expected
