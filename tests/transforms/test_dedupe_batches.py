"""Dedupe across batches (transforms.dedupe_batches) decides exactly what the in-memory dedupe
(transforms.dedupe) decides over the whole frame, whatever the batch size."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.frames import clean_leads
from transforms import dedupe_batches
from transforms.dedupe import decide_disposition
from transforms.dedupe_batches import BatchDedupe, KeptRows, SeenValues

_PHONES = [None, "+14155550001", "+14155550002", "+14155550003", "+14155550004"]
_EMAILS = [None, "a@x.com", "A@X.com", "b@x.com", "c@x.com"]
_IDS = [None, "C1", "C2", "C3"]
_EXTENSIONS = [None, None, "12", "34"]

_row = st.fixed_dictionaries(
    {
        "phone1": st.sampled_from(_PHONES),
        "phone2": st.sampled_from(_PHONES),
        "phone3": st.sampled_from(_PHONES),
        "phone1_ext": st.sampled_from(_EXTENSIONS),
        "phone2_ext": st.sampled_from(_EXTENSIONS),
        "phone3_ext": st.sampled_from(_EXTENSIONS),
        "email": st.sampled_from(_EMAILS),
        "file_id": st.sampled_from(_IDS),
    }
)


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Leads from drawn rows (a missing extension is none; an extension only beside a phone)."""
    leads = []
    for number, row in enumerate(rows, start=1):
        lead = {key: value for key, value in row.items() if key != "file_id"}
        lead |= {f"{slot}_ext": None for slot in ("phone1", "phone2", "phone3") if lead.get(slot) is None}
        if row["file_id"] is not None:
            lead |= {"external_id": row["file_id"], "external_id_origin": "file"}
        else:
            lead |= {"external_id": f"lf-{number}"}
        leads.append(lead)
    return clean_leads(leads)


_SUPPRESSED = pl.Series(["+14155550004"])


def _whole(frame: pl.DataFrame) -> pl.DataFrame:
    return decide_disposition(frame, suppressed_phones=_SUPPRESSED)


def _in_batches(frame: pl.DataFrame, size: int) -> pl.DataFrame:
    # rejected (no channel) and suppressed rows are decided before dedupe, as clean_leads does
    frame = decide_disposition(frame, keys=(), suppressed_phones=_SUPPRESSED)
    dedupe = BatchDedupe()
    parts = [dedupe.apply(frame.slice(start, size)) for start in range(0, max(frame.height, 1), size)]
    return pl.concat(parts)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=30), size=st.integers(min_value=1, max_value=31))
def test_batches_of_any_size_mark_the_same_duplicates_as_the_whole_frame(
    rows: list[dict[str, Any]], size: int
) -> None:
    before = _frame(rows)
    assert _in_batches(before, size).equals(_whole(before))


def test_batches_tell_extensions_of_one_number_apart_as_the_whole_frame_does() -> None:
    main = "+14155550001"
    frame = _frame(
        [
            {"phone1": main, "phone1_ext": "12", "email": None, "file_id": None},
            {"phone1": main, "phone1_ext": "34", "email": None, "file_id": None},
            {"phone1": main, "email": None, "file_id": None},
            {"phone2": main, "phone2_ext": "12", "email": None, "file_id": None},
            {"phone3": main, "phone3_ext": "34", "email": None, "file_id": None},
            {"phone1": "+14155550004", "phone1_ext": "7", "email": None, "file_id": None},
        ]
    )
    for size in (1, 2, 6):
        out = _in_batches(frame, size)
        assert out.equals(_whole(frame))
        assert out["disposition"].to_list() == [
            "ready",
            "ready",
            "ready",
            "duplicate",
            "duplicate",
            "suppressed",
        ]
        assert out["duplicate_of"].to_list() == [None, None, None, 1, 2, None]


def test_a_later_batch_duplicate_points_at_the_kept_row_through_a_chain() -> None:
    # row 1 keeps the phone; row 2 shares row 1's phone and brings an email; row 4 (a later
    # batch) shares only row 2's email: it is a duplicate of row 1, the kept row
    frame = _frame(
        [
            {"phone1": "+14155550001", "phone2": None, "phone3": None, "email": None, "file_id": None},
            {"phone1": "+14155550001", "phone2": None, "phone3": None, "email": "b@x.com", "file_id": None},
            {"phone1": "+14155550003", "phone2": None, "phone3": None, "email": None, "file_id": None},
            {"phone1": None, "phone2": None, "phone3": None, "email": "B@x.com", "file_id": None},
        ]
    )
    out = _in_batches(frame, 2)
    assert out["disposition"].to_list() == ["ready", "duplicate", "ready", "duplicate"]
    assert out["duplicate_of"].to_list() == [None, 1, None, 1]
    assert out["duplicate_on"].to_list() == [None, "phone1", None, "email"]


@pytest.mark.parametrize(
    ("largest", "packed_from", "spread"),
    [
        (1 << 22, 1 << 21, False),
        (1_000, 1 << 21, False),
        # packed runs: hashes all under 2**45 (one top-16-bit value, top 32 bits shared by
        # neighbours), and spread over the whole 64 bits as polars' are
        (3_000, 1_500, False),
        (3_000, 1_500, True),
    ],
)
def test_seen_values_find_every_first_row_across_merged_runs(
    largest: int, packed_from: int, spread: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    monkeypatch.setattr(dedupe_batches, "_MERGED_AT_MOST", largest)
    monkeypatch.setattr(dedupe_batches, "_PACKED_AT_LEAST", packed_from)
    seen = SeenValues()
    rng = np.random.default_rng(3)
    if spread:
        hashes = np.unique(rng.integers(0, np.iinfo(np.uint64).max, 5_000, dtype=np.uint64, endpoint=True))
        highest = np.iinfo(np.uint64).max - np.arange(4, dtype=np.uint64)
        hashes = rng.permutation(np.concatenate([hashes[:4_996], highest]))
    else:
        hashes = rng.permutation(np.arange(1, 5_001, dtype=np.uint64) * np.uint64(2654435761))
    for start in range(0, 5_000, 700):
        chunk = hashes[start : start + 700]
        seen.add(chunk, np.arange(start + 1, start + 1 + len(chunk), dtype=np.int64))
    assert len(seen) == 5_000
    if packed_from < 5_000:
        assert len(seen._packed) > 1
    else:
        assert (len(seen._runs) > 4) == (largest < 5_000)
        assert not seen._packed
    assert (seen.lookup(hashes) == np.arange(1, 5_001)).all()
    missing = np.array([7, 9, hashes[0] + 1, hashes[1] - 1, np.iinfo(np.uint64).max - 5], dtype=np.uint64)
    missing = missing[~np.isin(missing, hashes)]
    assert (seen.lookup(missing) == -1).all()


@pytest.mark.parametrize("largest", [1 << 22, 1_000])
def test_kept_rows_resolve_every_recorded_duplicate_across_merged_runs(
    largest: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    monkeypatch.setattr(dedupe_batches, "_MERGED_AT_MOST", largest)
    kept = KeptRows()
    rows = np.arange(2, 20_002, 2, dtype=np.int64)  # the even rows are duplicates of row // 2
    for start in range(0, len(rows), 700):
        chunk = rows[start : start + 700]
        kept.add(chunk, chunk // 2)
    assert len(kept) == len(rows)
    assert (len(kept._runs) > 4) == (largest < len(rows))
    pointers = np.arange(1, 20_003, dtype=np.int64)
    expected = np.where(pointers % 2 == 0, pointers // 2, pointers)
    expected[-1] = pointers[-1]  # 20_002 was never recorded
    assert (kept.resolved(pointers) == expected).all()
    assert kept.resolved(pointers).dtype == np.int64
