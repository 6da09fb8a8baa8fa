"""Small literal frames for transform tests, shaped like the stage contracts."""

from __future__ import annotations

from typing import Any

import polars as pl

from schemas.clean_leads import CLEAN_LEADS
from schemas.codes import Disposition


def clean_leads(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A CLEAN_LEADS frame from partial rows; unspecified columns get neutral values."""
    defaults: dict[str, Any] = {
        "external_id_origin": "hash",
        "timezone_source": "none",
        "timezone_candidates": [],
        "attributes": [],
        "issues": [],
        "disposition": Disposition.READY.value,
    }
    full = []
    for i, row in enumerate(rows, start=1):
        merged = dict.fromkeys(CLEAN_LEADS) | defaults | {"source_row": i, "external_id": f"id-{i}"}
        merged |= row
        full.append(merged)
    return pl.DataFrame(full, schema=CLEAN_LEADS)
