"""The flow's summary artifact says what the file's numbers said of its region."""

from __future__ import annotations

import re

from flows.artifacts import summary_markdown
from flows.verdict import send_facts
from tests.transforms.frames import clean_leads
from transforms.results import build_results
from transforms.summary import summarize


def _summary() -> dict[str, object]:
    results = build_results(
        clean_leads([{"phone1": "+14155550001"}]), run_id="r1", source_file="f.csv", target="validate"
    )
    return {**summarize(results, ["validate"]), "send": send_facts(results)}


def test_the_summary_artifact_names_an_inferred_region_and_stays_silent_when_none_was_inferred() -> None:
    note = "region inferred: US from 412 of 430 international numbers"
    with_note = summary_markdown(
        _summary(), run_dir="out/r1", source="f.csv", dry_run=False, region_note=note
    )
    shown = re.sub(r"\\(.)", r"\1", with_note)  # as the markdown renders, escapes undone
    assert "region inferred: US from 412 of 430 international numbers" in shown
    assert "region" not in summary_markdown(_summary(), run_dir="out/r1", source="f.csv", dry_run=False)
