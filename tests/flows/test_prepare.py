from __future__ import annotations

from flows.prepare import PrepareOptions, prepare_leads
from tests.conftest import SAMPLE_DATA


def test_letting_the_leads_go_keeps_what_the_run_folder_needs() -> None:
    path = sorted(SAMPLE_DATA.glob("*.csv"))[0]
    prepared = prepare_leads(path, PrepareOptions(country="US"))
    rows = prepared.clean.height
    assert rows > 0

    described = prepared.without_leads()

    assert described.clean.height == 0
    assert described.clean.schema == prepared.clean.schema
    assert described.rows == rows
    assert (described.ingested, described.applied, described.default_region, described.source) == (
        prepared.ingested,
        prepared.applied,
        prepared.default_region,
        prepared.source,
    )
