"""Column contracts between the pipeline stages, as Pandera schemas (polars backend)."""

from schemas.clean_leads import CLEAN_LEADS, CLEAN_LEADS_SCHEMA
from schemas.codes import Disposition, Issue, Status
from schemas.raw_leads import RAW_LEADS, RAW_LEADS_SCHEMA
from schemas.results import RESULTS, RESULTS_SCHEMA

__all__ = [
    "CLEAN_LEADS",
    "CLEAN_LEADS_SCHEMA",
    "RAW_LEADS",
    "RAW_LEADS_SCHEMA",
    "RESULTS",
    "RESULTS_SCHEMA",
    "Disposition",
    "Issue",
    "Status",
]
