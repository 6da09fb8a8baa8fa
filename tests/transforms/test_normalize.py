"""clean_leads appends every stage's issues at once: the same rows, columns and issue order as
the stages' public functions applied one after the other."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sample_data.generate import messy_lead_frame
from schemas.clean_leads import CLEAN_LEADS
from schemas.raw_leads import RAW_LEADS
from transforms.columns import resolve_columns, to_raw_leads
from transforms.dedupe import decide_disposition
from transforms.emails import normalize_emails
from transforms.identity import assign_external_ids
from transforms.ingest import read_lead_file
from transforms.names import normalize_names
from transforms.normalize import clean_leads
from transforms.phones import normalize_phones

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


def _raw(path: Path) -> pl.DataFrame:
    ingested = read_lead_file(path)
    return to_raw_leads(ingested, resolve_columns(ingested.headers, None))


def _stage_by_stage(
    raw: pl.DataFrame, region: str | None, suppressed: tuple[pl.Series, pl.Series] | None
) -> pl.DataFrame:
    frame = normalize_phones(normalize_names(raw).collect(), region)
    frame = assign_external_ids(normalize_emails(frame), source="leads")
    phones, emails = suppressed if suppressed else (None, None)
    frame = decide_disposition(frame, suppressed_phones=phones, suppressed_emails=emails)
    return frame.select(list(CLEAN_LEADS)).cast(CLEAN_LEADS)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["us_crm_export.csv", "de_kunden_cp1252.csv", "latam_leads.parquet"])
def test_sample_files_clean_as_the_stages_applied_one_by_one(name: str) -> None:
    raw = _raw(SAMPLES / name)
    assert_frame_equal(
        clean_leads(raw, default_region="US", source="leads"), _stage_by_stage(raw, "US", None)
    )


def test_messy_file_with_suppression_keeps_each_rows_issue_order(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    messy_lead_frame(3_000, seed=5).write_csv(path)
    raw = _raw(path)
    unsuppressed = _stage_by_stage(raw, "US", None)
    suppressed = (  # some of the file's own contacts are on the list
        unsuppressed.get_column("phone1").drop_nulls().head(40),
        unsuppressed.get_column("email").drop_nulls().tail(40),
    )
    cleaned = clean_leads(raw, default_region="US", source="leads", suppression=suppressed)
    assert_frame_equal(cleaned, _stage_by_stage(raw, "US", suppressed))
    # the comparison means something: rows with findings of several stages are there
    codes = cleaned.select(pl.col("issues").list.eval(pl.element().struct.field("code"))).to_series()
    assert codes.list.len().max() >= 3  # type: ignore[operator]
    assert codes.list.contains("SUPPRESSED_PHONE").any()
    assert codes.list.contains("SUPPRESSED_EMAIL").any()
    assert codes.list.contains("DUPLICATE_PHONE").any()


def test_a_rows_issues_come_in_stage_order() -> None:
    ragged = {"code": "RAGGED_ROW", "column": "", "value": "3 fields, header has 4"}
    row = dict.fromkeys(RAW_LEADS) | {
        "source_row": 1,
        "phone1": "12",
        "email": "not-an-email",
        "attributes": [],
        "issues": [ragged],
    }
    cleaned = clean_leads(pl.DataFrame([row], schema=RAW_LEADS), default_region="US", source="leads")
    assert cleaned.get_column("issues").to_list()[0] == [
        ragged,
        {"code": "PHONE_INVALID", "column": "phone1", "value": "12"},
        {"code": "EMAIL_INVALID", "column": "email", "value": "not-an-email"},
        {"code": "NO_CHANNEL", "column": "", "value": None},
    ]
