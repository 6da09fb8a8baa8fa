"""flows.report.exact_json: run.json read without pydantic gives what pydantic's lax validation gives."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from flows.report.exact_json import exact, validated
from flows.report.runs import RunMeta, load_run

WRITTEN: dict[str, Any] = {
    "run_id": "20261205T105315Z-096794a0d",
    "source_file": "/tmp/one.csv",
    "dropped_as": None,
    "fingerprint": "0844fa71",
    "started_at": "2026-12-05T10:53:15+00:00",
    "default_country": "US",
    "default_country_source": "inferred",
    "region_inference": None,
    "mapping": {"country": "country", "phone1": "phone"},
    "unmapped": ["notes"],
    "targets": [
        {"name": "validate", "kind": "validate"},
        {"name": "obi", "kind": "sinch_obi", "compliance": "us-tcpa", "frequency": {"max_contacts": 3}},
        {"name": "mail", "kind": "ucontact_email", "compliance": {"days": [1, 2]}, "frequency": None},
    ],
    "rows": 1,
    "dry_run": False,
    "finished_at": "2026-12-05T10:53:15+00:00",
    "suppression_lists": [{"path": "dnc.csv", "entries": 2, "phones": 1, "emails": 1, "sha256": "ab"}],
    "dnc_store": "/tmp/o2/ledger.sqlite",
    "dnc_lists": [{"name": "global", "entries": 5, "newest_added": None}],
    "written_by": "a key no field names",
}


def _changed(**fields: Any) -> dict[str, Any]:
    return {**copy.deepcopy(WRITTEN), **fields}


def _lax(data: object) -> RunMeta:
    return TypeAdapter(RunMeta).validate_python(data)


EXACT = [
    WRITTEN,
    {"run_id": "r", "source_file": "f", "fingerprint": "x"},
    _changed(rows=None, mapping={}, targets=[], dnc_lists=[]),
    _changed(targets=[{"name": "t", "kind": "k", "extra": 1}]),
]
"""Data of exactly the fields' types: read without pydantic."""

COERCED = [
    _changed(rows="5"),
    _changed(rows=5.0),
    _changed(rows=True),
    _changed(dry_run="yes"),
    _changed(dry_run=1),
    _changed(suppression_lists=[{"path": "p", "entries": "7"}]),
]
"""Data pydantic coerces: handed to it."""

REFUSED = [
    [WRITTEN],
    "run",
    None,
    _changed(rows=5.5),
    _changed(rows="many"),
    _changed(mapping={"a": 1}),
    _changed(targets=[{"name": "t"}]),
    _changed(targets=[{"name": "t", "kind": "k", "frequency": {1: 2}}]),
    {"run_id": "r", "source_file": "f"},
]
"""Data pydantic refuses: a ValidationError (a ValueError), as before."""


@pytest.mark.parametrize("data", EXACT)
def test_data_of_the_fields_own_types_is_read_as_pydantic_reads_it(data: dict[str, Any]) -> None:
    meta = exact(RunMeta, data)

    assert meta is not None
    assert meta == _lax(data)
    assert validated(RunMeta, data) == meta


@pytest.mark.parametrize("data", COERCED)
def test_data_pydantic_would_coerce_is_left_to_pydantic(data: dict[str, Any]) -> None:
    assert exact(RunMeta, data) is None
    assert validated(RunMeta, data) == _lax(data)


@pytest.mark.parametrize("data", REFUSED)
def test_data_pydantic_refuses_is_refused_as_pydantic_refuses_it(data: object) -> None:
    assert exact(RunMeta, data) is None
    with pytest.raises(ValidationError):
        validated(RunMeta, data)


def test_a_run_json_with_a_value_to_coerce_still_reads(run_dir: Path) -> None:
    meta_path = run_dir / "run.json"
    written = json.loads(meta_path.read_text(encoding="utf-8"))
    meta_path.write_text(json.dumps({**written, "rows": str(written["rows"])}), encoding="utf-8")

    run = load_run(run_dir)

    assert run.meta is not None
    assert run.meta.rows == written["rows"]
    assert run.meta_problem is None
