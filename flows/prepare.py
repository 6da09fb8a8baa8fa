"""Read, map and normalize one lead file: the steps every command shares before any target.

Plain functions (no Prefect) so that the CLI, the flows and the tests call the same code;
the flow wraps them in tasks. File-level problems raise ``LeadFileError`` (or its
``MappingError`` subclass) with the file, the problem and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.dnc import ManagedSuppression, read_managed
from connectors.dnc_types import ManagedList
from transforms.columns import AppliedMapping, ColumnMapping, load_mapping, resolve_columns, to_raw_leads
from transforms.countries import resolve_country
from transforms.errors import LeadFileError
from transforms.ingest import IngestedFile, read_lead_file
from transforms.normalize import clean_leads
from transforms.region_inference import infer_region
from transforms.suppress import SuppressionList, read_suppression_file
from transforms.suppress_keys import SuppressionKeys

__all__ = ["PrepareOptions", "PreparedLeads", "file_encoding", "prepare_leads"]


@dataclass(frozen=True)
class PrepareOptions:
    country: str | None = None
    """Default region for national numbers (ISO code or name); the mapping file's otherwise."""
    mapping: Path | None = None
    suppress: tuple[Path, ...] = ()
    source: str | None = None
    """Source name for hashed external ids; the mapping file's, else the file's stem."""
    workers: int | None = None
    encoding: str | None = None
    """The CSV's text encoding as the operator names it (``--encoding cp1250``), decoded strictly
    instead of detected; None detects (UTF-8, cp1252, Latin-1, mixed lines)."""
    ledger: str | None = None
    """The ledger whose do-not-contact store is applied (a SQLite file or a ``postgresql://``
    URL, flows.run.ledger_spec); None applies no store (tests of the steps alone)."""


@dataclass(frozen=True)
class PreparedLeads:
    ingested: IngestedFile
    """The file as detected (path, encoding, delimiter, fingerprint); its frame is emptied."""
    applied: AppliedMapping
    default_region: str | None
    source: str
    clean: pl.DataFrame
    rows: int
    """Data rows in the file; kept when the leads are let go (``without_leads``)."""
    region_source: str | None = None
    """Where ``default_region`` came from: "option" (--country), "mapping", "inferred" (the
    file's international numbers, transforms.region_inference), None (none given or inferred)."""
    region_note: str | None = None
    """What the inference found, inferred or not ("region inferred: US from 412 of 430
    international numbers"); None when a region was given or every row has a country."""
    suppression_lists: tuple[SuppressionList, ...] = ()
    """The do-not-contact lists applied, as run.json records them (an audit of what was
    suppressed against: which file, how many entries, its sha256 and modification time)."""
    dnc_store: str | None = None
    """The do-not-contact store read (file, or URL without password); None when none was given."""
    dnc_lists: tuple[ManagedList, ...] = ()
    """Its lists in force when the run started: name, entries, newest added (run.json)."""
    encoding_given: bool = False
    """Whether the file was read in an encoding the operator named (run.json's ``encoding_source``)."""

    def without_leads(self) -> PreparedLeads:
        """The same description of the file without its leads: all that writing the run
        folder needs once every target's results are built. Letting the million-row frame
        go before the results are written takes 100 MB off the run's peak."""
        return replace(self, clean=self.clean.clear())


def _region_source(options: PrepareOptions, mapping: ColumnMapping | None) -> str | None:
    if options.country:
        return "option"
    return "mapping" if mapping and mapping.default_country else None


def _default_region(path: Path, options: PrepareOptions, mapping: ColumnMapping | None) -> str | None:
    given = options.country or (mapping.default_country if mapping else None)
    if given is None:
        return None
    region = resolve_country(given)
    if region is None:
        raise LeadFileError(
            path,
            f"the default country {given!r} is not a country Leadflow knows",
            "Give an ISO 3166 code such as US, GB or DE (--country, or default_country in the mapping file)",
        )
    return region


def _suppression(
    paths: tuple[Path, ...], region: str | None
) -> tuple[SuppressionKeys | None, tuple[SuppressionList, ...]]:
    """The keys of the phones and emails to suppress, and what each list was (for run.json's
    audit). Each list is read in chunks and held as keys (transforms.suppress)."""
    if not paths:
        return None, ()
    keys: SuppressionKeys | None = None
    applied: list[SuppressionList] = []
    for path in paths:
        listed, audit = read_suppression_file(path, region)
        keys = listed if keys is None else keys.joined(listed)
        applied.append(audit)
    return keys, tuple(applied)


def with_managed(
    suppression: SuppressionKeys | None, ledger: str | None
) -> tuple[SuppressionKeys | None, ManagedSuppression]:
    """The ``--suppress`` lists' keys joined with those of the managed do-not-contact store's
    entries in force now (connectors.dnc), and the store as read (its lists for run.json,
    its erasure matcher)."""
    managed = read_managed(ledger, datetime.now(UTC))
    if managed.phones.len() or managed.emails.len():
        store = SuppressionKeys(managed.phones, managed.emails)
        suppression = store if suppression is None else suppression.joined(store)
        # the keys live on in ``suppression`` only: not a second copy held by the store's record
        empty = SuppressionKeys()
        managed = replace(managed, phones=empty.phones, emails=empty.emails)
    return suppression, managed


def file_encoding(path: Path, options: PrepareOptions, mapping: ColumnMapping | None) -> str | None:
    """The encoding to read ``path`` with (``--encoding``, else the mapping file's), checked: an
    unknown name is a ``LeadFileError`` listing common ones; None to detect it."""
    given = options.encoding or (mapping.encoding if mapping else None)
    if given is None:
        return None
    from transforms.encodings import checked_encoding

    return checked_encoding(path, given)


def prepare_leads(path: Path, options: PrepareOptions | None = None) -> PreparedLeads:
    """Ingest -> map columns -> (infer the default region) -> normalize -> dedupe/suppress, for one file.

    With no default region given (``--country``, the mapping's ``default_country``), the
    file's rows without a country get the region their international numbers clearly agree
    on, if any (transforms.region_inference); the finding is kept in ``region_note``."""
    options = options or PrepareOptions()
    mapping = load_mapping(options.mapping) if options.mapping else None
    region = _default_region(path, options, mapping)
    encoding = file_encoding(path, options, mapping)
    ingested = read_lead_file(path, encoding)
    applied = resolve_columns(ingested.headers, mapping)
    # a list so the raw leads can be handed over below rather than kept (clean_leads drops
    # them as it goes, which frees the columns it replaces: 100 MB for a million rows)
    raw = [to_raw_leads(ingested, applied)]
    # keep what was detected about the file, not its million-row frame: raw has the data now
    ingested = replace(ingested, frame=ingested.frame.clear())
    # the file's columns were Arrow buffers (pyarrow.csv); hand their pages back to the OS now
    # rather than carry a few hundred MB of freed-but-kept memory through the rest of the run
    pa.default_memory_pool().release_unused()
    source = options.source or (mapping.source if mapping and mapping.source else None) or path.stem
    region_source, note = _region_source(options, mapping), None
    if region is None:
        inferred = infer_region(raw[0])
        if inferred is not None:
            region, note = inferred.region, inferred.note
            region_source = "inferred" if region is not None else None
    suppression, lists = _suppression(options.suppress, region)
    suppression, managed = with_managed(suppression, options.ledger)
    clean = clean_leads(
        raw.pop(),
        default_region=region,
        source=source,
        suppression=suppression,
        erased=managed.erased,
        workers=options.workers,
    )
    return PreparedLeads(
        ingested,
        applied,
        region,
        source,
        clean,
        clean.height,
        region_source=region_source,
        region_note=note,
        suppression_lists=lists,
        dnc_store=managed.store,
        dnc_lists=managed.lists,
        encoding_given=encoding is not None,
    )
